// The node lifecycle controller against a real API server and bus, in one process, with the
// replication controller beside it: a node stops heartbeating, its pods are marked not ready
// and evicted, the RC replaces them, and the node comes back. The test plays the kubelet (node
// heartbeats, pod status) and the scheduler (bindings) over HTTP.
#include "components/controllers/node_lifecycle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "bus/bus.h"
#include "components/apiserver/api_server.h"
#include "components/controllers/manager.h"
#include "core/values.h"
#include "storage/event_log.h"
#include "tests/apiserver/http_client.h"
#include "tests/integration/cluster.h"

namespace korc {
namespace {

using json = nlohmann::json;
using korc::testing::Http;
using korc::testing::HttpResult;
using namespace std::chrono_literals;

constexpr auto kGracePeriod = 2s;
constexpr auto kEvictionTimeout = 3s;
constexpr int64_t kSec = 1'000'000'000;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Rc(const std::string& name, int replicas, const std::string& app) {
  return R"({"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":")" + name +
         R"("},"spec":{"replicas":)" + std::to_string(replicas) + R"(,"selector":{"app":")" + app +
         R"("},"template":{"metadata":{"labels":{"app":")" + app +
         R"("}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}})";
}

// A Node as its kubelet posts it: Ready=True, heartbeat now (RFC 3339, UTC).
json NodeReady(const std::string& name) {
  const std::string now = api::FormatRfc3339(NowNs());
  json conditions = json::array();
  for (const char* type : {"MemoryPressure", "DiskPressure", "PIDPressure"}) {
    conditions.push_back({{"type", type},
                          {"status", "False"},
                          {"lastHeartbeatTime", now},
                          {"lastTransitionTime", now}});
  }
  conditions.push_back({{"type", "Ready"},
                        {"status", "True"},
                        {"lastHeartbeatTime", now},
                        {"lastTransitionTime", now},
                        {"reason", "KubeletReady"},
                        {"message", "kubelet is posting ready status"}});
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata", {{"name", name}}},
          {"status", {{"conditions", conditions}}}};
}

const json* Condition(const json& object, const std::string& type) {
  if (!object.contains("status") || !object["status"].contains("conditions")) return nullptr;
  for (const json& c : object["status"]["conditions"]) {
    if (c["type"] == type) return &c;
  }
  return nullptr;
}

bool Terminating(const json& pod) { return pod["metadata"].contains("deletionTimestamp"); }

class NodeLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    controllers::ControllerManagerOptions mo;
    mo.node_lifecycle.grace_period = kGracePeriod;
    mo.node_lifecycle.eviction_timeout = kEvictionTimeout;
    ASSERT_TRUE(cluster_.Start(&mo).ok());
    log_ = &cluster_.log();
    manager_ = cluster_.manager();
    port_ = cluster_.port();
  }

  void TearDown() override {
    if (manager_) {
      EXPECT_TRUE(manager_->Stop().ok());
    }
  }

  HttpResult Call(const std::string& method, const std::string& target,
                  const std::string& body = {}, const std::string& ct = "application/json") {
    return Http(port_, method, target, body, ct, "application/json");
  }

  json Get(const std::string& target) {
    auto r = Call("GET", target);
    return r.code == 200 ? json::parse(r.body) : json();
  }

  json List(const std::string& resource, const std::string& selector = {}) {
    auto r = Call("GET", "/api/v1/namespaces/default/" + resource +
                             (selector.empty() ? "" : "?labelSelector=" + selector));
    EXPECT_EQ(r.code, 200) << r.body;
    return json::parse(r.body)["items"];
  }

  // Waits until `done` holds, up to `timeout`; `each` runs between polls (a heartbeat).
  template <class F, class G>
  bool WaitFor(std::chrono::milliseconds timeout, F done, G each) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      each();
      std::this_thread::sleep_for(20ms);
    }
    return done();
  }
  template <class F>
  bool WaitFor(std::chrono::milliseconds timeout, F done) {
    return WaitFor(timeout, done, [] {});
  }

  // The kubelet's status update: Ready=True, heartbeat now.
  void Heartbeat(const std::string& node) {
    auto r = Call("PUT", "/api/v1/nodes/" + node + "/status", NodeReady(node).dump());
    ASSERT_EQ(r.code, 200) << r.body;
  }

  korc::testing::TestCluster cluster_;
  storage::EventLog* log_ = nullptr;
  controllers::ControllerManager* manager_ = nullptr;
  uint16_t port_ = 0;
};

TEST_F(NodeLifecycleTest, SilentNodeIsMarkedItsPodsEvictedAndReplacedThenItComesBack) {
  const std::string pods_path = "/api/v1/namespaces/default/pods/";
  auto created = Call("POST", "/api/v1/nodes", NodeReady("n1").dump());
  ASSERT_EQ(created.code, 201) << created.body;
  const std::string node_uid = json::parse(created.body)["metadata"]["uid"];
  // The kubelet posts its status every 500 ms while the test waits for something else.
  auto posted = std::chrono::steady_clock::now();
  auto keep_posting = [&] {
    if (std::chrono::steady_clock::now() - posted < 500ms) return;
    Heartbeat("n1");
    posted = std::chrono::steady_clock::now();
  };
  ASSERT_EQ(
      Call("POST", "/api/v1/namespaces/default/replicationcontrollers", Rc("web", 3, "web")).code,
      201);
  ASSERT_TRUE(WaitFor(
      10s, [&] { return List("pods", "app%3Dweb").size() == 3; }, keep_posting));

  // Scheduled on n1 and running: the scheduler's binding, then the kubelet's status. The node
  // keeps heartbeating meanwhile, however slow the machine.
  std::set<std::string> originals;
  for (const json& pod : List("pods", "app%3Dweb")) {
    Heartbeat("n1");
    const std::string name = pod["metadata"]["name"];
    originals.insert(name);
    auto bound =
        Call("POST", pods_path + name + "/binding", R"({"target":{"kind":"Node","name":"n1"}})");
    ASSERT_EQ(bound.code, 201) << bound.body;
    json p = Get(pods_path + name);
    p["metadata"].erase("resourceVersion");
    p["status"]["phase"] = "Running";
    p["status"]["podIP"] = "10.1.0.2";
    p["status"]["conditions"].push_back({{"type", "Ready"},
                                         {"status", "True"},
                                         {"lastProbeTime", nullptr},
                                         {"lastTransitionTime", api::FormatRfc3339(NowNs())}});
    auto r = Call("PUT", pods_path + name + "/status", p.dump());
    ASSERT_EQ(r.code, 200) << r.body;
  }

  // The last heartbeat. Heartbeats are stored to the second, so the node may look up to 1 s
  // older than this; the controller notices within the grace period after that.
  const auto last_heartbeat = std::chrono::steady_clock::now();
  Heartbeat("n1");
  auto node = [&] { return Get("/api/v1/nodes/n1"); };
  auto ready_status = [&](const json& object) {
    const json* c = Condition(object, "Ready");
    return c ? std::string((*c)["status"]) : std::string();
  };
  ASSERT_TRUE(WaitFor(kGracePeriod + 3s, [&] { return ready_status(node()) == "Unknown"; }))
      << node().dump();
  EXPECT_GE(std::chrono::steady_clock::now() - last_heartbeat, kGracePeriod - 1s);
  json n1 = node();
  EXPECT_EQ((*Condition(n1, "Ready"))["reason"], "NodeStatusUnknown");
  EXPECT_EQ((*Condition(n1, "Ready"))["message"], "Kubelet stopped posting node status.");
  const std::optional<int64_t> unknown_since =
      api::ParseRfc3339(std::string((*Condition(n1, "Ready"))["lastTransitionTime"]));
  ASSERT_TRUE(unknown_since.has_value());

  // Its pods are not ready any more, the node is tainted, and the controller said why.
  for (const std::string& name : originals) {
    EXPECT_TRUE(WaitFor(3s, [&] { return ready_status(Get(pods_path + name)) == "False"; }))
        << Get(pods_path + name).dump();
  }
  auto tainted = [&] {
    json spec = node()["spec"];
    if (!spec.contains("taints")) return false;
    for (const json& t : spec["taints"]) {
      if (t["key"] == controllers::kTaintUnreachable && t["effect"] == "NoExecute") return true;
    }
    return false;
  };
  EXPECT_TRUE(WaitFor(3s, tainted)) << node().dump();
  auto events = [&](const std::string& reason) {
    std::vector<json> out;
    for (const json& e : List("events")) {
      if (e["reason"] == reason) out.push_back(e);
    }
    return out;
  };
  ASSERT_TRUE(WaitFor(3s, [&] { return !events("NodeNotReady").empty(); }));
  json not_ready = events("NodeNotReady")[0];
  EXPECT_EQ(not_ready["involvedObject"]["kind"], "Node");
  EXPECT_EQ(not_ready["involvedObject"]["name"], "n1");
  EXPECT_EQ(not_ready["involvedObject"]["uid"], node_uid);
  EXPECT_EQ(not_ready["message"], "Node n1 status is now: NodeNotReady");
  EXPECT_EQ(not_ready["source"]["component"], "node-controller");
  EXPECT_EQ(events("NodeNotReady").size(), 1u);

  // After the eviction timeout the pods are deleted. Bound pods are deleted gracefully: the
  // API server sets deletionTimestamp and waits for a kubelet that is not there.
  auto evicted = [&](const std::string& name) {
    auto r = Call("GET", pods_path + name);
    return r.code == 404 || (r.code == 200 && Terminating(json::parse(r.body)));
  };
  ASSERT_TRUE(WaitFor(kEvictionTimeout + 5s, [&] {
    for (const std::string& name : originals) {
      if (!evicted(name)) return false;
    }
    return true;
  }));
  for (const std::string& name : originals) {
    json pod = Get(pods_path + name);
    if (pod.is_null()) continue;  // removed outright
    // Not before its time: the deletion was requested (deletionTimestamp minus its grace) at
    // least the eviction timeout after the node became Unknown.
    auto deletion = api::ParseRfc3339(std::string(pod["metadata"]["deletionTimestamp"]));
    ASSERT_TRUE(deletion.has_value());
    int64_t requested =
        *deletion - pod["metadata"]["deletionGracePeriodSeconds"].get<int64_t>() * kSec;
    EXPECT_GE(requested, *unknown_since + kEvictionTimeout / 1s * kSec) << pod.dump();
  }
  ASSERT_TRUE(WaitFor(3s, [&] { return events("TaintManagerEviction").size() == 3; }));
  std::set<std::string> evicted_names;
  for (const json& e : events("TaintManagerEviction")) {
    EXPECT_EQ(e["involvedObject"]["kind"], "Pod");
    evicted_names.insert(e["involvedObject"]["name"]);
  }
  EXPECT_EQ(evicted_names, originals);

  // The RC replaces them: three new, unbound, not terminating pods.
  auto replacements = [&] {
    std::set<std::string> names;
    for (const json& pod : List("pods", "app%3Dweb")) {
      const std::string name = pod["metadata"]["name"];
      const bool bound = pod["spec"].contains("nodeName") && pod["spec"]["nodeName"] != "";
      if (!Terminating(pod) && !bound && !originals.contains(name)) names.insert(name);
    }
    return names;
  };
  ASSERT_TRUE(WaitFor(5s, [&] { return replacements().size() == 3; }))
      << List("pods", "app%3Dweb").dump();
  size_t active = 0;
  for (const json& pod : List("pods", "app%3Dweb")) active += Terminating(pod) ? 0 : 1;
  EXPECT_EQ(active, 3u);

  // The kubelet is back: Ready=True with a fresh heartbeat; the taint goes. It keeps posting
  // (the grace period is short), as a kubelet would.
  Heartbeat("n1");
  posted = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitFor(
      5s, [&] { return !tainted(); }, keep_posting))
      << node().dump();
  EXPECT_EQ(ready_status(node()), "True");
}

}  // namespace
}  // namespace korc
