// The coordination.k8s.io/v1 Lease over real HTTP, and the Node rules node IPAM relies on:
// routing under /apis, discovery, every verb, preconditions, field errors, tables, watch.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "components/apiserver/api_server.h"
#include "storage/event_log.h"
#include "tests/apiserver/http_client.h"

namespace korc::apiserver {
namespace {

using korc::testing::Http;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr const char* kLeases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
constexpr const char* kTableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io";

std::string Lease(const std::string& name, const std::string& renew = "2026-11-28T06:00:00.123456Z",
                  const std::string& extra_spec = "") {
  return R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":")" + name +
         R"("},"spec":{"holderIdentity":")" + name +
         R"(","leaseDurationSeconds":40,"renewTime":")" + renew + "\"" + extra_spec + "}}";
}

std::vector<json> Lines(const std::string& body) {
  std::vector<json> out;
  std::stringstream ss(body);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/korc-lease-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto log = storage::OpenRocksDbEventLog(dir_ + "/log");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    ApiServerOptions o;
    o.port = 0;
    auto s = ApiServer::Start(*log_, nullptr, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  korc::testing::HttpResult Call(const std::string& method, const std::string& target,
                                 const std::string& body = {},
                                 const std::string& ct = "application/json",
                                 const std::string& accept = "application/json") {
    return Http(server_->port(), method, target, body, ct, accept);
  }

  std::string dir_;
  std::unique_ptr<storage::EventLog> log_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(LeaseTest, DiscoveryListsTheGroupAndItsResources) {
  auto groups = json::parse(Call("GET", "/apis").body);
  EXPECT_EQ(groups["kind"], "APIGroupList");
  ASSERT_EQ(groups["groups"].size(), 1u) << groups.dump();
  EXPECT_EQ(groups["groups"][0]["name"], "coordination.k8s.io");
  EXPECT_EQ(groups["groups"][0]["preferredVersion"]["groupVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(groups["groups"][0]["versions"][0]["version"], "v1");

  auto group = json::parse(Call("GET", "/apis/coordination.k8s.io").body);
  EXPECT_EQ(group["kind"], "APIGroup");
  EXPECT_EQ(group["name"], "coordination.k8s.io");

  auto list = json::parse(Call("GET", "/apis/coordination.k8s.io/v1").body);
  EXPECT_EQ(list["groupVersion"], "coordination.k8s.io/v1");
  ASSERT_EQ(list["resources"].size(), 1u);
  EXPECT_EQ(list["resources"][0]["name"], "leases");
  EXPECT_EQ(list["resources"][0]["kind"], "Lease");
  EXPECT_EQ(list["resources"][0]["namespaced"], true);
  EXPECT_THAT(list["resources"][0]["verbs"].get<std::vector<std::string>>(),
              ::testing::Contains("watch"));

  // The core group does not list it, and it is not served under /api/v1.
  auto core = json::parse(Call("GET", "/api/v1").body);
  for (auto& r : core["resources"]) EXPECT_NE(r["name"], "leases");
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/kube-node-lease/leases").code, 404);
  EXPECT_EQ(Call("GET", "/apis/coordination.k8s.io/v1/namespaces/default/pods").code, 404);
  EXPECT_EQ(Call("GET", "/apis/apps/v1/namespaces/default/leases").code, 404);
  EXPECT_EQ(Call("GET", "/apis/nope.io").code, 404);
}

TEST_F(LeaseTest, CreateGetListUpdatePatchDelete) {
  auto created = Call("POST", kLeases, Lease("n1"));
  ASSERT_EQ(created.code, 201) << created.body;
  auto lease = json::parse(created.body);
  EXPECT_EQ(lease["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(lease["kind"], "Lease");
  EXPECT_EQ(lease["metadata"]["namespace"], "kube-node-lease");
  EXPECT_EQ(lease["spec"]["renewTime"], "2026-11-28T06:00:00.123456Z");  // MicroTime
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 40);
  EXPECT_FALSE(lease["spec"].contains("acquireTime"));
  EXPECT_EQ(Call("POST", kLeases, Lease("n1")).code, 409);

  auto got = Call("GET", std::string(kLeases) + "/n1");
  ASSERT_EQ(got.code, 200);
  EXPECT_EQ(json::parse(got.body), lease);
  auto list = json::parse(Call("GET", kLeases).body);
  EXPECT_EQ(list["kind"], "LeaseList");
  EXPECT_EQ(list["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(list["items"].size(), 1u);
  auto all = json::parse(Call("GET", "/apis/coordination.k8s.io/v1/leases").body);
  EXPECT_EQ(all["items"].size(), 1u);

  // Renewal with the resourceVersion as precondition; a stale one conflicts.
  std::string rv = lease["metadata"]["resourceVersion"];
  lease["spec"]["renewTime"] = "2026-11-28T06:00:10.000001Z";
  auto renewed = Call("PUT", std::string(kLeases) + "/n1", lease.dump());
  ASSERT_EQ(renewed.code, 200) << renewed.body;
  EXPECT_EQ(json::parse(renewed.body)["spec"]["renewTime"], "2026-11-28T06:00:10.000001Z");
  EXPECT_NE(json::parse(renewed.body)["metadata"]["resourceVersion"], rv);
  auto stale = Call("PUT", std::string(kLeases) + "/n1", lease.dump());
  EXPECT_EQ(stale.code, 409) << stale.body;

  auto patched = Call("PATCH", std::string(kLeases) + "/n1",
                      R"({"spec":{"holderIdentity":"other","leaseTransitions":1}})",
                      "application/merge-patch+json");
  ASSERT_EQ(patched.code, 200) << patched.body;
  EXPECT_EQ(json::parse(patched.body)["spec"]["holderIdentity"], "other");
  EXPECT_EQ(json::parse(patched.body)["spec"]["leaseTransitions"], 1);

  auto deleted = Call("DELETE", std::string(kLeases) + "/n1");
  ASSERT_EQ(deleted.code, 200) << deleted.body;
  EXPECT_EQ(json::parse(deleted.body)["details"]["group"], "coordination.k8s.io");
  EXPECT_EQ(Call("GET", std::string(kLeases) + "/n1").code, 404);
}

TEST_F(LeaseTest, BodiesOfAnotherVersionOrInvalidFieldsAreRefused) {
  std::string core = Lease("n1");
  core.replace(core.find("coordination.k8s.io/v1"), 22, "v1");
  auto wrong = Call("POST", kLeases, core);
  EXPECT_EQ(wrong.code, 400) << wrong.body;

  auto invalid =
      Call("POST", kLeases, Lease("n1", "2026-11-28T06:00:00Z", R"(,"leaseTransitions":-1)"));
  ASSERT_EQ(invalid.code, 422) << invalid.body;
  auto status = json::parse(invalid.body);
  EXPECT_EQ(status["details"]["kind"], "Lease");
  EXPECT_EQ(status["details"]["causes"][0]["field"], "spec.leaseTransitions");

  std::string zero = Lease("n2");
  zero.replace(zero.find("40"), 2, "0");
  auto bad_duration = Call("POST", kLeases, zero);
  ASSERT_EQ(bad_duration.code, 422) << bad_duration.body;
  EXPECT_THAT(bad_duration.body, HasSubstr("spec.leaseDurationSeconds"));
}

TEST_F(LeaseTest, TableHasNameHolderAge) {
  ASSERT_EQ(Call("POST", kLeases, Lease("n1")).code, 201);
  auto table = json::parse(Call("GET", kLeases, {}, "", kTableAccept).body);
  ASSERT_EQ(table["kind"], "Table");
  std::vector<std::string> columns;
  for (auto& c : table["columnDefinitions"]) columns.push_back(c["name"]);
  EXPECT_THAT(columns, ::testing::ElementsAre("Name", "Holder", "Age"));
  ASSERT_EQ(table["rows"].size(), 1u);
  EXPECT_EQ(table["rows"][0]["cells"][0], "n1");
  EXPECT_EQ(table["rows"][0]["cells"][1], "n1");
}

TEST_F(LeaseTest, WatchFollowsRenewals) {
  ASSERT_EQ(Call("POST", kLeases, Lease("n1")).code, 201);
  korc::testing::HttpResult stream;
  std::thread watcher([&] {
    stream = Http(server_->port(), "GET",
                  "/apis/coordination.k8s.io/v1/watch/namespaces/kube-node-lease/leases"
                  "?timeoutSeconds=2");
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Call("GET", "/metrics").body.find("korc_apiserver_watches 1") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  auto patched = Call("PATCH", std::string(kLeases) + "/n1",
                      R"({"spec":{"renewTime":"2026-11-28T06:00:10.000000Z"}})",
                      "application/merge-patch+json");
  ASSERT_EQ(patched.code, 200) << patched.body;
  watcher.join();
  ASSERT_EQ(stream.code, 200) << stream.body;
  auto lines = Lines(stream.body);
  ASSERT_EQ(lines.size(), 2u) << stream.body;
  EXPECT_EQ(lines[0]["type"], "ADDED");
  EXPECT_EQ(lines[1]["type"], "MODIFIED");
  EXPECT_EQ(lines[1]["object"]["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(lines[1]["object"]["spec"]["renewTime"], "2026-11-28T06:00:10.000000Z");

  // The audit log knows the kind by its resource name too.
  auto log = Lines(Call("GET", "/korc/v1/log?kind=leases").body);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1]["kind"], "Lease");
  EXPECT_EQ(log[1]["namespace"], "kube-node-lease");
}

// Kubernetes lets a Node's podCIDR be set once (by node IPAM) and never changed after.
TEST_F(LeaseTest, NodePodCidrIsSetOnceThenImmutable) {
  auto created = Call("POST", "/api/v1/nodes", R"({"apiVersion":"v1","kind":"Node",
      "metadata":{"name":"n1"},"spec":{}})");
  ASSERT_EQ(created.code, 201) << created.body;
  auto set = Call("PATCH", "/api/v1/nodes/n1", R"({"spec":{"podCIDR":"10.244.3.0/24"}})",
                  "application/merge-patch+json");
  ASSERT_EQ(set.code, 200) << set.body;
  auto node = json::parse(set.body);
  EXPECT_EQ(node["spec"]["podCIDR"], "10.244.3.0/24");
  EXPECT_EQ(node["spec"]["podCIDRs"], json::array({"10.244.3.0/24"}));  // kept in step

  auto change = Call("PATCH", "/api/v1/nodes/n1",
                     R"({"spec":{"podCIDR":"10.244.4.0/24","podCIDRs":["10.244.4.0/24"]}})",
                     "application/merge-patch+json");
  ASSERT_EQ(change.code, 422) << change.body;
  auto status = json::parse(change.body);
  EXPECT_EQ(status["details"]["causes"][0]["field"], "spec.podCIDR");
  EXPECT_THAT(status["message"].get<std::string>(), HasSubstr("may not change podCIDR"));

  auto garbage = Call("POST", "/api/v1/nodes", R"({"apiVersion":"v1","kind":"Node",
      "metadata":{"name":"n2"},"spec":{"podCIDR":"10.244.300.0/24"}})");
  ASSERT_EQ(garbage.code, 422) << garbage.body;
  EXPECT_THAT(garbage.body, HasSubstr("spec.podCIDR"));
}

}  // namespace
}  // namespace korc::apiserver
