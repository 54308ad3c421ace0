// The controllers against a real API server and bus, in one process: the API server commits
// to a RocksDB log and publishes on inproc:// sockets; the controller manager follows the bus
// and sends commands back. Then the log is checked as a whole: no overshoot at any seq, and
// every controller decision replays to the same command from the state it was made on.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <zmq.hpp>

#include "bus/bus.h"
#include "components/apiserver/api_server.h"
#include "components/controllers/endpoints.h"
#include "components/controllers/garbage_collector.h"
#include "components/controllers/manager.h"
#include "components/controllers/replication.h"
#include "core/codec.h"
#include "storage/event_log.h"
#include "tests/apiserver/http_client.h"
#include "tests/integration/cluster.h"

namespace korc {
namespace {

using json = nlohmann::json;
using korc::testing::Http;
using korc::testing::HttpResult;

std::string Rc(const std::string& name, int replicas, const std::string& app) {
  return R"({"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":")" + name +
         R"("},"spec":{"replicas":)" + std::to_string(replicas) + R"(,"selector":{"app":")" + app +
         R"("},"template":{"metadata":{"labels":{"app":")" + app +
         R"("}},"spec":{"containers":[{"name":"c","image":"busybox","ports":[{"name":"http",)"
         R"("containerPort":8080}]}]}}}})";
}

class ControllersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    controllers::ControllerManagerOptions mo;
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

  json List(const std::string& resource, const std::string& selector = {}) {
    auto r = Call("GET", "/api/v1/namespaces/default/" + resource +
                             (selector.empty() ? "" : "?labelSelector=" + selector));
    EXPECT_EQ(r.code, 200) << r.body;
    return json::parse(r.body)["items"];
  }

  // Waits (up to 60 s) until `done` holds.
  template <class F>
  bool WaitFor(F done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  }

  size_t CountPods(const std::string& app) { return List("pods", "app%3D" + app).size(); }

  // Every event of the log, in order.
  std::vector<Event> History() {
    std::vector<Event> out;
    EXPECT_TRUE(log_->ReadEvents(1, 0,
                                 [&](Event& e) {
                                   out.push_back(std::move(e));
                                   return true;
                                 })
                    .ok());
    return out;
  }

  korc::testing::TestCluster cluster_;
  storage::EventLog* log_ = nullptr;
  controllers::ControllerManager* manager_ = nullptr;
  uint16_t port_ = 0;
};

// The most Pods labelled app=`app` alive (not terminal, not terminating) at any seq.
size_t MaxLivePods(const std::vector<Event>& history, const std::string& app) {
  std::set<std::string> live;
  size_t max = 0;
  for (const Event& e : history) {
    if (e.kind != "Pod") continue;
    auto d = DecodeJson(e.object);
    if (!d.ok()) continue;
    const auto& pod = std::get<api::Pod>(d->object);
    auto it = pod.metadata.labels.find("app");
    bool alive = e.type != EventType::kDeleted && it != pod.metadata.labels.end() &&
                 it->second == app && pod.metadata.deletion_timestamp.empty() &&
                 pod.status.phase != "Succeeded" && pod.status.phase != "Failed";
    if (alive) {
      live.insert(e.name);
    } else {
      live.erase(e.name);
    }
    max = std::max(max, live.size());
  }
  return max;
}

TEST_F(ControllersTest, ThousandReplicasNeverOvershootAndScaleToZeroAndBack) {
  auto started = std::chrono::steady_clock::now();
  ASSERT_EQ(
      Call("POST", "/api/v1/namespaces/default/replicationcontrollers", Rc("big", 1000, "big"))
          .code,
      201);
  ASSERT_TRUE(WaitFor([&] { return CountPods("big") == 1000; })) << CountPods("big");
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "[ figure ] RC create -> 1000 Pod objects: " << seconds << " s\n";
  // Status catches up: replicas 1000, observedGeneration 1.
  ASSERT_TRUE(WaitFor([&] {
    auto rc =
        json::parse(Call("GET", "/api/v1/namespaces/default/replicationcontrollers/big").body);
    return rc["status"]["replicas"] == 1000 && rc["status"]["observedGeneration"] == 1;
  }));

  const std::string scale = "/api/v1/namespaces/default/replicationcontrollers/big/scale";
  ASSERT_EQ(Call("PATCH", scale, R"({"spec":{"replicas":0}})", "application/merge-patch+json").code,
            200);
  ASSERT_TRUE(WaitFor([&] { return CountPods("big") == 0; })) << CountPods("big");
  ASSERT_EQ(Call("PATCH", scale, R"({"spec":{"replicas":7}})", "application/merge-patch+json").code,
            200);
  ASSERT_TRUE(WaitFor([&] { return CountPods("big") == 7; })) << CountPods("big");
  // Settled: nothing more is created.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(CountPods("big"), 7u);

  EXPECT_LE(MaxLivePods(History(), "big"), 1000u);

  // The controller said what it did: SuccessfulCreate events on the RC.
  bool created_event = false;
  for (const auto& ev : List("events")) {
    if (ev["involvedObject"]["name"] == "big" && ev["reason"] == "SuccessfulCreate") {
      created_event = true;
    }
  }
  EXPECT_TRUE(created_event);
}

TEST_F(ControllersTest, DeletionWithEachPropagationPolicy) {
  const std::string rcs = "/api/v1/namespaces/default/replicationcontrollers";
  // Background (kubectl's default): the RC goes at once, the collector deletes its Pods.
  ASSERT_EQ(Call("POST", rcs, Rc("bg", 3, "bg")).code, 201);
  ASSERT_TRUE(WaitFor([&] { return CountPods("bg") == 3; }));
  ASSERT_EQ(Call("DELETE", rcs + "/bg", R"({"propagationPolicy":"Background"})").code, 200);
  EXPECT_EQ(Call("GET", rcs + "/bg").code, 404);
  ASSERT_TRUE(WaitFor([&] { return CountPods("bg") == 0; })) << CountPods("bg");

  // Foreground: the RC stays (deletionTimestamp) until its Pods are gone.
  ASSERT_EQ(Call("POST", rcs, Rc("fg", 3, "fg")).code, 201);
  ASSERT_TRUE(WaitFor([&] { return CountPods("fg") == 3; }));
  auto d = Call("DELETE", rcs + "/fg", R"({"propagationPolicy":"Foreground"})");
  ASSERT_EQ(d.code, 200);
  EXPECT_EQ(json::parse(d.body)["metadata"]["finalizers"][0], "foregroundDeletion");
  ASSERT_TRUE(WaitFor([&] { return Call("GET", rcs + "/fg").code == 404; }));
  EXPECT_EQ(CountPods("fg"), 0u);
  // The RC was removed only after its last Pod.
  uint64_t last_pod = 0, rc_gone = 0;
  for (const Event& e : History()) {
    if (e.kind == "Pod" && e.type == EventType::kDeleted && e.name.starts_with("fg-")) {
      last_pod = e.seq;
    }
    if (e.kind == "ReplicationController" && e.name == "fg" && e.type == EventType::kDeleted) {
      rc_gone = e.seq;
    }
  }
  EXPECT_GT(rc_gone, last_pod);

  // Orphan: the RC goes; its Pods stay, released.
  ASSERT_EQ(Call("POST", rcs, Rc("or", 2, "or")).code, 201);
  ASSERT_TRUE(WaitFor([&] { return CountPods("or") == 2; }));
  ASSERT_EQ(Call("DELETE", rcs + "/or", R"({"propagationPolicy":"Orphan"})").code, 200);
  ASSERT_TRUE(WaitFor([&] { return Call("GET", rcs + "/or").code == 404; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto pods = List("pods", "app%3Dor");
  ASSERT_EQ(pods.size(), 2u);
  for (const auto& p : pods) EXPECT_FALSE(p["metadata"].contains("ownerReferences")) << p.dump();
}

TEST_F(ControllersTest, EndpointsFollowReadiness) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/services",
                 R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"web"},
                     "spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":"http"}]}})")
                .code,
            201);
  ASSERT_EQ(
      Call("POST", "/api/v1/namespaces/default/replicationcontrollers", Rc("web", 2, "web")).code,
      201);
  ASSERT_TRUE(WaitFor([&] { return CountPods("web") == 2; }));
  // A kubelet would report these; here the test does, through the status subresource.
  auto set_ready = [&](const json& pod, const std::string& ip, bool ready) {
    json p = pod;
    p["spec"]["nodeName"] = "n1";
    p["status"]["podIP"] = ip;
    p["status"]["phase"] = "Running";
    p["status"]["conditions"] = json::array(
        {{{"type", "Ready"}, {"status", ready ? "True" : "False"}, {"lastProbeTime", nullptr}}});
    const std::string name = pod["metadata"]["name"];
    auto r = Call("PUT", "/api/v1/namespaces/default/pods/" + name + "/status", p.dump());
    ASSERT_EQ(r.code, 200) << r.body;
  };
  auto pods = List("pods", "app%3Dweb");
  set_ready(pods[0], "10.1.0.2", true);
  set_ready(pods[1], "10.1.0.3", false);
  auto endpoints = [&] {
    auto r = Call("GET", "/api/v1/namespaces/default/endpoints/web");
    return r.code == 200 ? json::parse(r.body) : json();
  };
  auto addresses = [&](const std::string& field) {
    std::set<std::string> ips;
    json ep = endpoints();
    if (ep.is_null() || !ep.contains("subsets")) return ips;
    for (const auto& s : ep["subsets"]) {
      if (!s.contains(field)) continue;
      for (const auto& a : s[field]) ips.insert(a["ip"]);
    }
    return ips;
  };
  ASSERT_TRUE(WaitFor([&] {
    return addresses("addresses") == std::set<std::string>{"10.1.0.2"} &&
           addresses("notReadyAddresses") == std::set<std::string>{"10.1.0.3"};
  })) << endpoints().dump();
  EXPECT_EQ(endpoints()["subsets"][0]["ports"][0]["port"], 8080);  // "http" resolved

  pods = List("pods", "app%3Dweb");
  set_ready(pods[1], "10.1.0.3", true);
  ASSERT_TRUE(WaitFor([&] {
    return addresses("addresses") == std::set<std::string>{"10.1.0.2", "10.1.0.3"};
  })) << endpoints().dump();
}

// DESIGN.md: running the same reducer on the state at a change's basis, with the recorded
// time, gives the same command with the same id.
TEST_F(ControllersTest, EveryControllerDecisionReplaysFromItsBasis) {
  const std::string rcs = "/api/v1/namespaces/default/replicationcontrollers";
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/services",
                 R"({"apiVersion":"v1","kind":"Service","metadata":{"name":"r"},
                     "spec":{"selector":{"app":"r"},"ports":[{"port":80}]}})")
                .code,
            201);
  ASSERT_EQ(Call("POST", rcs, Rc("r", 40, "r")).code, 201);
  ASSERT_TRUE(WaitFor([&] { return CountPods("r") == 40; }));
  ASSERT_EQ(
      Call("PATCH", rcs + "/r/scale", R"({"spec":{"replicas":5}})", "application/merge-patch+json")
          .code,
      200);
  ASSERT_TRUE(WaitFor([&] { return CountPods("r") == 5; }));
  ASSERT_EQ(Call("DELETE", rcs + "/r", R"({"propagationPolicy":"Foreground"})").code, 200);
  ASSERT_TRUE(WaitFor([&] { return Call("GET", rcs + "/r").code == 404; }));
  ASSERT_TRUE(manager_->Stop().ok());

  controllers::ReplicationReducer replication;
  controllers::EndpointsReducer endpoints;
  controllers::GarbageCollectorReducer gc;
  std::map<std::string, const reactor::Reducer*, std::less<>> reducers = {
      {std::string(replication.name()), &replication},
      {std::string(endpoints.name()), &endpoints},
      {std::string(gc.name()), &gc}};

  std::vector<Event> history = History();
  // The first change of each command, by basis (one forward fold serves them all).
  std::vector<const Event*> decisions;
  std::set<std::string> seen;
  for (const Event& e : history) {
    if (!e.command.empty() && seen.insert(e.command).second) decisions.push_back(&e);
  }
  std::stable_sort(decisions.begin(), decisions.end(),
                   [](const Event* a, const Event* b) { return a->basis < b->basis; });
  ASSERT_GT(decisions.size(), 50u);
  reactor::View view;
  size_t next = 0, checked = 0;
  std::map<std::string, size_t> per_reducer;
  for (const Event* e : decisions) {
    while (next < history.size() && history[next].seq <= e->basis) {
      ASSERT_TRUE(view.Apply(history[next++]).ok());
    }
    std::string reducer_name, key;
    uint64_t cause = 0;
    size_t index = 0;
    ASSERT_TRUE(reactor::Runtime::ParseCommandId(e->command, &reducer_name, &cause, &index, &key))
        << e->command;
    auto it = reducers.find(reducer_name);
    ASSERT_NE(it, reducers.end()) << e->command;
    EXPECT_EQ(e->actor, reducer_name);
    EXPECT_EQ(cause, e->cause);
    reactor::Decision d = it->second->Reconcile(view, key, e->basis_time_ns);
    ASSERT_LT(index, d.commands.size()) << e->command << " at basis " << e->basis;
    const reactor::Command& c = d.commands[index];
    EXPECT_EQ(reactor::Runtime::CommandId(reducer_name, cause, index, key), e->command);
    EXPECT_EQ(c.ns, e->ns) << e->command;
    if (c.verb == reactor::Verb::kCreate && c.name.empty()) {
      auto body = DecodeJson(c.body);
      ASSERT_TRUE(body.ok());
      EXPECT_TRUE(e->name.starts_with(api::Meta(body->object).generate_name)) << e->command;
    } else {
      EXPECT_EQ(c.kind, e->kind) << e->command;
      EXPECT_EQ(c.name, e->name) << e->command;
    }
    EXPECT_EQ(c.reason.empty() ? d.reason : c.reason, e->reason) << e->command;
    ++checked;
    ++per_reducer[reducer_name];
  }
  EXPECT_EQ(checked, decisions.size());
  EXPECT_GT(per_reducer[std::string(replication.name())], 0u);
  EXPECT_GT(per_reducer[std::string(endpoints.name())], 0u);
  EXPECT_GT(per_reducer[std::string(gc.name())], 0u);
}

}  // namespace
}  // namespace korc
