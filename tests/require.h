// Tests that need root, namespaces or a tool that may be missing: outside CI they skip with
// the reason; in CI (CI=true) they fail instead, so CI never silently skips the real thing.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace korc::testing {

inline bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

inline bool IsRoot() { return geteuid() == 0; }

}  // namespace korc::testing

#define KORC_REQUIRE(cond, reason)                                     \
  do {                                                                 \
    if (!(cond)) {                                                     \
      if (::korc::testing::InCi()) FAIL() << (reason) << " (CI=true)"; \
      GTEST_SKIP() << (reason);                                        \
    }                                                                  \
  } while (0)
