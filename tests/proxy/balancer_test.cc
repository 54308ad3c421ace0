#include "components/proxy/balancer.h"

#include <gtest/gtest.h>

#include <map>

namespace korc::proxy {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

std::vector<Backend> Three() {
  return {{"10.0.0.1", 80, "a"}, {"10.0.0.2", 80, "b"}, {"10.0.0.3", 80, "c"}};
}

TEST(BalancerTest, RoundRobinInTurn) {
  Balancer b;
  b.SetBackends(Three());
  std::vector<std::string> got;
  for (int i = 0; i < 6; ++i) got.push_back(b.Pick("1.1.1.1", 0)->pod);
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "c", "a", "b", "c"}));
}

TEST(BalancerTest, SkipsBackendsAlreadyTriedAndRunsOut) {
  Balancer b;
  b.SetBackends(Three());
  std::vector<Backend> tried = {Three()[0], Three()[1]};
  EXPECT_EQ(b.Pick("x", 0, tried)->pod, "c");
  tried.push_back(Three()[2]);
  EXPECT_FALSE(b.Pick("x", 0, tried).has_value());
}

TEST(BalancerTest, NoBackendsNoPick) {
  Balancer b;
  EXPECT_FALSE(b.Pick("x", 0).has_value());
  b.SetBackends(Three());
  b.SetBackends({});
  EXPECT_FALSE(b.Pick("x", 0).has_value());
}

TEST(BalancerTest, AffinityKeepsAClientOnItsBackendWithinTheTimeout) {
  Balancer b;
  b.SetBackends(Three());
  b.SetAffinity(true, 10);
  std::string first = b.Pick("1.1.1.1", 0)->pod;
  EXPECT_EQ(b.Pick("1.1.1.1", 5 * kSecond)->pod, first);
  EXPECT_EQ(b.Pick("1.1.1.1", 14 * kSecond)->pod, first);  // each use renews it
  EXPECT_NE(b.Pick("2.2.2.2", 14 * kSecond)->pod, first);
  EXPECT_NE(b.Pick("1.1.1.1", 30 * kSecond)->pod, first);  // quiet for 16 s: expired
}

TEST(BalancerTest, AFailedStickyBackendMovesTheClient) {
  Balancer b;
  b.SetBackends(Three());
  b.SetAffinity(true, 100);
  Backend first = *b.Pick("1.1.1.1", 0);
  Backend next = *b.Pick("1.1.1.1", 0, {first});
  EXPECT_NE(next.pod, first.pod);
  EXPECT_EQ(b.Pick("1.1.1.1", 0)->pod, next.pod);
}

TEST(BalancerTest, NewBackendsKeepAffinitiesThatStillExist) {
  Balancer b;
  b.SetBackends(Three());
  b.SetAffinity(true, 100);
  std::map<std::string, std::string> sticky;
  for (std::string c : {"c1", "c2", "c3"}) sticky[c] = b.Pick(c, 0)->pod;
  auto two = Three();
  two.erase(two.begin());  // "a" goes
  b.SetBackends(two);
  for (auto& [client, pod] : sticky) {
    std::string now = b.Pick(client, 0)->pod;
    if (pod != "a") {
      EXPECT_EQ(now, pod);
    } else {
      EXPECT_NE(now, "a");
    }
  }
}

TEST(BalancerTest, AffinityOffForgetsClients) {
  Balancer b;
  b.SetBackends(Three());
  b.SetAffinity(true, 100);
  b.Pick("1.1.1.1", 0);
  EXPECT_EQ(b.affinity_entries(), 1u);
  b.SetAffinity(false, 100);
  EXPECT_EQ(b.affinity_entries(), 0u);
  EXPECT_EQ(b.Pick("1.1.1.1", 0)->pod, "b");
  EXPECT_EQ(b.Pick("1.1.1.1", 0)->pod, "c");
}

}  // namespace
}  // namespace korc::proxy
