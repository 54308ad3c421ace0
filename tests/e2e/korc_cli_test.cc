// The korc CLI's client verbs against a running `korc apiserver`, and mixed with kubectl's
// apply on the same object.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/e2e/harness.h"

namespace korc::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

class KorcCliTest : public ::testing::Test, public ServerFixture {
 protected:
  void SetUp() override { StartServer("korc-cli"); }
  void TearDown() override { StopServer(); }

  Outcome Korc(std::vector<std::string> args) {
    args.insert(args.begin(), KORC_BIN);
    return RunCommand(args, ChildEnv({"KORC_SERVER=" + server_.url()}, {"KUBECONFIG"}), 60s);
  }
  std::string Ok(std::vector<std::string> args) {
    Outcome o = Korc(args);
    EXPECT_EQ(o.code, 0) << o;
    return o.out;
  }
  std::string Seed() { return std::string(KORC_SOURCE) + "/examples/seed.yaml"; }
};

TEST_F(KorcCliTest, ApplyCreatesThenConfiguresOnlyWhatChanged) {
  EXPECT_THAT(Ok({"apply", "-f", Seed()}), HasSubstr("replicationcontroller/mysql created"));
  EXPECT_THAT(Ok({"apply", "-f", Seed()}), HasSubstr("replicationcontroller/mysql unchanged"));
  std::string scaled = std::string(KORC_SOURCE) + "/examples/seed-scaled.yaml";
  EXPECT_THAT(Ok({"apply", "-f", scaled}), HasSubstr("replicationcontroller/mysql configured"));
  json rc = json::parse(Ok({"get", "rc", "mysql", "-o", "json"}));
  EXPECT_EQ(rc["spec"]["replicas"], 3);
  EXPECT_EQ(rc["metadata"]["generation"], 2);
  EXPECT_THAT(rc["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
                  .get<std::string>(),
              HasSubstr("\"replicas\":3"));
}

TEST_F(KorcCliTest, ApplyRemovesWhatTheManifestNoLongerSays) {
  std::string with_label = Write("a.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: web, labels: {tier: front}}
spec: {selector: {app: web}, ports: [{port: 80}]}
)");
  Ok({"apply", "-f", with_label});
  std::string without = Write("b.yaml", R"(apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
)");
  EXPECT_THAT(Ok({"apply", "-f", without}), HasSubstr("service/web configured"));
  json svc = json::parse(Ok({"get", "svc", "web", "-o", "json"}));
  EXPECT_FALSE(svc["metadata"].contains("labels")) << svc.dump();
}

TEST_F(KorcCliTest, GetPrintsServerTables) {
  Ok({"apply", "-f", Seed()});
  std::string table = Ok({"get", "rc"});
  EXPECT_THAT(RowStartingWith(table, {"NAME", "DESIRED", "CURRENT", "READY", "AGE"}),
              Not(::testing::IsEmpty()))
      << table;
  EXPECT_THAT(RowStartingWith(table, {"mysql", "1"}), Not(::testing::IsEmpty())) << table;
  EXPECT_THAT(Ok({"get", "rc", "-o", "wide"}), HasSubstr("SELECTOR"));
  EXPECT_THAT(Ok({"get", "svc", "-A"}), HasSubstr("NAMESPACE"));
  EXPECT_THAT(Ok({"get", "ns", "-o", "name"}), HasSubstr("namespace/kube-system"));
  EXPECT_THAT(Ok({"get", "rc", "mysql", "-o", "yaml"}), HasSubstr("MYSQL_ROOT_PASSWORD"));
  EXPECT_THAT(Ok({"get", "svc", "-l", "app=nope"}), Not(HasSubstr("mysql")));
  Outcome missing = Korc({"get", "rc", "nope"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.out,
              HasSubstr("Error from server (NotFound): replicationcontrollers \"nope\" not found"));
  Outcome kind = Korc({"get", "deployments"});
  EXPECT_EQ(kind.code, 1);
  EXPECT_THAT(kind.out, HasSubstr("doesn't have a resource type \"deployments\""));
}

TEST_F(KorcCliTest, ScaleDeleteAndTheAuditTrail) {
  Ok({"apply", "-f", Seed()});
  EXPECT_THAT(Ok({"scale", "rc", "mysql", "--replicas", "4"}), HasSubstr("scaled"));
  EXPECT_EQ(json::parse(Ok({"get", "rc", "mysql", "-o", "json"}))["spec"]["replicas"], 4);
  EXPECT_THAT(Ok({"delete", "-f", Seed()}), HasSubstr("service/mysql deleted"));
  EXPECT_EQ(Korc({"get", "rc", "mysql"}).code, 1);
  std::string events = Ok({"events", "--kind", "rc"});
  EXPECT_THAT(RowStartingWith(events, {"SEQ", "TIME", "TYPE", "OBJECT"}),
              Not(::testing::IsEmpty()));
  EXPECT_THAT(events, HasSubstr("ADDED"));
  EXPECT_THAT(events, HasSubstr("DELETED"));
  EXPECT_THAT(events, HasSubstr("anonymous (korc/"));
  std::string lines = Ok({"events", "-o", "json", "--name", "mysql", "--kind", "svc"});
  std::stringstream ss(lines);
  std::string line;
  int n = 0;
  while (std::getline(ss, line)) {
    json e = json::parse(line);
    EXPECT_EQ(e["kind"], "Service");
    ++n;
  }
  EXPECT_EQ(n, 2);  // created, deleted
}

TEST_F(KorcCliTest, BadInputNamesFileLineAndField) {
  std::string bad = Write("bad.yaml", R"(apiVersion: v1
kind: ReplicationController
metadata: {name: r}
spec:
  replicas: -1
  selector: {app: r}
  template:
    metadata: {labels: {app: r}}
    spec: {containers: [{name: c, image: i}]}
)");
  Outcome o = Korc({"apply", "-f", bad});
  EXPECT_EQ(o.code, 1);
  EXPECT_THAT(o.out, HasSubstr("spec.replicas: Invalid value: -1"));
  EXPECT_THAT(o.out, HasSubstr("bad.yaml:1"));
  Outcome none = Korc({"get"});
  EXPECT_EQ(none.code, 2);
  Outcome noserver = RunCommand({KORC_BIN, "get", "pods"},
                                ChildEnv({"HOME=" + dir_}, {"KORC_SERVER", "KUBECONFIG"}), 30s);
  EXPECT_EQ(noserver.code, 1);
  EXPECT_THAT(noserver.out, HasSubstr("no API server to talk to"));
}

}  // namespace
}  // namespace korc::e2e
