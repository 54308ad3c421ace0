// End-to-end tests of the korc binary's offline verbs: import and replay.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "storage/event_log.h"
#include "storage/replay.h"

namespace korc {
namespace {

using ::testing::HasSubstr;

struct Outcome {
  int code;
  std::string out;  // stdout and stderr together
};

Outcome Korc(const std::string& args) {
  std::string cmd = std::string(KORC_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/korc-cli-XXXXXX";
    dir_ = mkdtemp(tmpl);
    data_ = dir_ + "/data";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  uint64_t Head() {
    storage::EventLogOptions o;
    o.create_if_missing = false;
    auto log = storage::OpenRocksDbEventLog(data_, o);
    return log.ok() ? (*log)->Head() : 0;
  }

  std::string dir_, data_;
};

TEST_F(CliTest, ImportThenReplayShowsTheSeed) {
  Outcome r = Korc("import --data-dir " + data_ + " -f " KORC_SOURCE "/examples/seed.yaml");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("replicationcontroller/mysql created"));
  EXPECT_THAT(r.out, HasSubstr("service/mysql created"));
  Outcome t = Korc("replay --data-dir " + data_);
  ASSERT_EQ(t.code, 0) << t.out;
  EXPECT_THAT(t.out, HasSubstr("ReplicationController   default     mysql"));
  Outcome j = Korc("replay --data-dir " + data_ + " -o json --kind rc");
  EXPECT_THAT(j.out, HasSubstr("\"MYSQL_ROOT_PASSWORD\""));
  EXPECT_THAT(j.out, Not(HasSubstr("\"Service\"")));
}

TEST_F(CliTest, ReimportRecordsOnlyRealChangesAndDiffShowsFields) {
  ASSERT_EQ(Korc("import --data-dir " + data_ + " -f " KORC_SOURCE "/examples/seed.yaml").code, 0);
  Outcome r = Korc("import --data-dir " + data_ + " -f " KORC_SOURCE "/examples/seed-scaled.yaml -f " KORC_SOURCE "/examples/seed.yaml");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("service/mysql unchanged"));
  EXPECT_EQ(Head(), 4u);  // 2 creates, 1 scale, and the re-import of replicas: 1
  Outcome d = Korc("replay --data-dir " + data_ + " --diff 2..3");
  ASSERT_EQ(d.code, 0) << d.out;
  EXPECT_THAT(d.out, HasSubstr("changed  ReplicationController default/mysql (seq 1 → 3)"));
  EXPECT_THAT(d.out, HasSubstr("~ spec.replicas: 1 → 3"));
  EXPECT_THAT(d.out, HasSubstr("~ metadata.generation: 1 → 2"));
  Outcome old = Korc("replay --data-dir " + data_ + " --at 3 -o yaml --kind rc");
  EXPECT_THAT(old.out, HasSubstr("replicas: 3"));
}

TEST_F(CliTest, BadManifestsNameFileLineAndFieldAndWriteNothing) {
  ASSERT_EQ(Korc("import --data-dir " + data_ + " -f " KORC_SOURCE "/examples/seed.yaml").code, 0);
  const std::string good = "apiVersion: v1\nkind: Namespace\nmetadata: {name: fine}\n";
  struct Case {
    std::string text;
    std::string expected;
  } cases[] = {
      {good + "---\napiVersion: v1\nkind: ReplicationController\nmetadata: {name: r}\nspec:\n"
              "  replicas: -1\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n"
              "      containers: [{name: c, image: i}]\n",
       "bad.yaml:5: error: ReplicationController \"r\" is invalid: spec.replicas: Invalid "
       "value: -1: must be greater than or equal to 0"},
      {good + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - "
              "name: c\n    image: i\n    ports: [{containerPort: x}]\n",
       "line 12, column 29: spec.containers[0].ports[0].containerPort: expected a 32-bit "
       "integer"},
      {good + "---\nkind: Pod\napiVersion: v1\nmetadata: {name: [\n", "malformed YAML at line"},
      {good + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
       "no kind \"Deployment\" is registered for version \"apps/v1\""},
  };
  for (const auto& c : cases) {
    std::string path = Write("bad.yaml", c.text);
    Outcome r = Korc("import --data-dir " + data_ + " -f " + path);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_THAT(r.out, HasSubstr(c.expected));
    EXPECT_THAT(r.out, HasSubstr("nothing was written"));
    EXPECT_EQ(Head(), 2u) << c.text;
  }
  // Strict field validation refuses unknown fields; the default warns and goes on.
  std::string unknown = Write("unknown.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, colour: red}\n");
  Outcome strict = Korc("import --validate strict --data-dir " + data_ + " -f " + unknown);
  EXPECT_EQ(strict.code, 1);
  EXPECT_THAT(strict.out, HasSubstr("strict decoding error: unknown field \"metadata.colour\""));
  EXPECT_EQ(Head(), 2u);
  Outcome warn = Korc("import --data-dir " + data_ + " -f " + unknown);
  EXPECT_EQ(warn.code, 0) << warn.out;
  EXPECT_THAT(warn.out, HasSubstr("warning: unknown field \"metadata.colour\""));
  EXPECT_EQ(Head(), 3u);
}

TEST_F(CliTest, ClearErrorsForBadFlagsAndMissingLogs) {
  Outcome missing = Korc("replay --data-dir " + dir_ + "/nothing-here");
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.out, HasSubstr("nothing-here"));
  ASSERT_EQ(Korc("import --data-dir " + data_ + " -f " KORC_SOURCE "/examples/seed.yaml").code, 0);
  Outcome beyond = Korc("replay --data-dir " + data_ + " --at 99");
  EXPECT_EQ(beyond.code, 1);
  EXPECT_THAT(beyond.out, HasSubstr("beyond the log's head"));
  Outcome when = Korc("replay --data-dir " + data_ + " --at yesterday");
  EXPECT_THAT(when.out, HasSubstr("neither a seq nor an RFC 3339 time"));
  Outcome kind = Korc("replay --data-dir " + data_ + " --kind deployments");
  EXPECT_EQ(kind.code, 2);
  EXPECT_THAT(kind.out, HasSubstr("\"deployments\" is not served"));
  Outcome diff = Korc("replay --data-dir " + data_ + " --diff 3");
  EXPECT_THAT(diff.out, HasSubstr("--diff takes A..B"));
  Outcome nofile = Korc("import --data-dir " + data_ + " -f " + dir_ + "/absent.yaml");
  EXPECT_EQ(nofile.code, 1);
  EXPECT_THAT(nofile.out, HasSubstr("absent.yaml\" does not exist"));
}

// Replay rebuilds state from the log, which holds Secrets' data; what it prints shows each
// value as "<N bytes>", and a diff still shows that a value changed.
TEST_F(CliTest, ReplayNeverShowsSecretValues) {
  auto secret = [&](const std::string& password) {
    return Write("secret.yaml",
                 "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\n"
                 "stringData: {password: " +
                     password +
                     "}\n"
                     "data: {user: YWRtaW4=}\n");
  };
  Outcome first = Korc("import --data-dir " + data_ + " -f " + secret("hunter2-value"));
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_THAT(first.out, HasSubstr("secret/db created"));
  ASSERT_EQ(Korc("import --data-dir " + data_ + " -f " + secret("hunter3-value")).code, 0);
  ASSERT_EQ(Head(), 2u);
  std::vector<Outcome> outs = {
      Korc("replay --data-dir " + data_),
      Korc("replay --data-dir " + data_ + " -o json"),
      Korc("replay --data-dir " + data_ + " -o yaml --at 1"),
      Korc("replay --data-dir " + data_ + " --diff 1..2"),
      Korc("replay --data-dir " + data_ + " --diff 0..2"),
  };
  for (const auto& o : outs) {
    EXPECT_EQ(o.code, 0) << o.out;
    for (const char* hidden : {"hunter2", "hunter3", "aHVudGVy", "YWRtaW4="}) {
      EXPECT_THAT(o.out, Not(HasSubstr(hidden))) << o.out;
    }
  }
  EXPECT_THAT(outs[0].out, HasSubstr("Opaque, 2 data keys"));
  EXPECT_THAT(outs[1].out, HasSubstr("\"password\": \"<13 bytes>\""));
  EXPECT_THAT(outs[2].out, HasSubstr("user: \"<5 bytes>\""));
  EXPECT_THAT(outs[3].out, HasSubstr("changed  Secret default/db (seq 1 → 2)"));
  EXPECT_THAT(outs[3].out, HasSubstr("~ data.password: \"<13 bytes>\" → \"<13 bytes>\""));
  EXPECT_THAT(outs[4].out, HasSubstr("added    Secret default/db"));
}

TEST_F(CliTest, ReplayAtATime) {
  ASSERT_EQ(Korc("import --data-dir " + data_ + " -f " KORC_SOURCE "/examples/seed.yaml").code, 0);
  Outcome before = Korc("replay --data-dir " + data_ + " --at 2000-01-01T00:00:00Z");
  ASSERT_EQ(before.code, 0) << before.out;
  EXPECT_THAT(before.out, HasSubstr("cluster state at seq 0"));
  Outcome after = Korc("replay --data-dir " + data_ + " --at 2200-01-01T00:00:00Z");
  EXPECT_THAT(after.out, HasSubstr("cluster state at seq 2"));
}

}  // namespace
}  // namespace korc
