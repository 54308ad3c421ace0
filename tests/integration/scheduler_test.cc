// Placement end to end, in one process: the API server, the replication controller, the
// scheduler and 100 hollow nodes (kubelets that only report) over inproc:// sockets. An RC of
// 1,000 replicas ends with every Pod bound within its node's capacity, spread across the
// nodes, and Running.
#include "components/scheduler/scheduler.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <zmq.hpp>

#include "bus/bus.h"
#include "components/apiserver/api_server.h"
#include "components/controllers/manager.h"
#include "components/hollow/hollow_nodes.h"
#include "components/reactor/runtime.h"
#include "storage/event_log.h"
#include "tests/apiserver/http_client.h"
#include "tests/integration/cluster.h"

namespace korc {
namespace {

using json = nlohmann::json;
using korc::testing::Http;

TEST(SchedulerIntegrationTest, ThousandReplicasOnHundredHollowNodes) {
  {
    korc::testing::TestCluster cluster;
    controllers::ControllerManagerOptions mo;
    mo.controllers = {"replication"};
    ASSERT_TRUE(cluster.Start(&mo).ok());
    const uint16_t port = cluster.port();
    zmq::context_t& ctx = cluster.ctx();
    storage::EventLog* log = &cluster.log();
    const reactor::RuntimeOptions& ro = cluster.runtime_options();
    scheduler::SchedulerReducer scheduler;
    hollow::HollowNodesOptions ho;
    ho.count = 100;
    hollow::HollowNodesReducer nodes(ho);
    reactor::Runtime scheduler_rt(ctx, scheduler, ro), nodes_rt(ctx, nodes, ro);
    std::atomic<bool> stop{false};
    std::thread t1([&] { EXPECT_TRUE(scheduler_rt.Run(stop).ok()); });
    std::thread t2([&] { EXPECT_TRUE(nodes_rt.Run(stop).ok()); });

    auto list = [&](const std::string& path) {
      auto r = Http(port, "GET", path, "", "application/json", "application/json");
      EXPECT_EQ(r.code, 200) << r.body;
      return json::parse(r.body)["items"];
    };
    auto wait_for = [&](auto done) {
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
      while (!done() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      return done();
    };
    ASSERT_TRUE(wait_for([&] { return list("/api/v1/nodes").size() == 100; }));

    const std::string rc = R"({"apiVersion":"v1","kind":"ReplicationController",
      "metadata":{"name":"spread"},"spec":{"replicas":1000,"selector":{"app":"spread"},
      "template":{"metadata":{"labels":{"app":"spread"}},"spec":{"containers":[{"name":"c",
      "image":"busybox","resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]}}}})";
    auto started = std::chrono::steady_clock::now();
    ASSERT_EQ(Http(port, "POST", "/api/v1/namespaces/default/replicationcontrollers", rc,
                   "application/json", "application/json")
                  .code,
              201);
    json pods;
    ASSERT_TRUE(wait_for([&] {
      pods = list("/api/v1/namespaces/default/pods?labelSelector=app%3Dspread");
      if (pods.size() != 1000) return false;
      for (const auto& p : pods) {
        if (p["status"].value("phase", "") != "Running") return false;
      }
      return true;
    })) << pods.size()
        << " pods";
    std::cout << "[ figure ] RC of 1000 on 100 hollow nodes -> all Running: "
              << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
              << " s\n";

    std::map<std::string, int> per_node;
    for (const auto& p : pods) per_node[p["spec"]["nodeName"]]++;
    // 4 cpu per node at 100m each fits 40; spreading and least-allocated scoring keep the
    // load near the mean of 10.
    ASSERT_EQ(per_node.size(), 100u) << "every node got Pods";
    for (const auto& [node, n] : per_node) {
      EXPECT_LE(n, 40) << node << " is over its cpu capacity";
      EXPECT_GE(n, 5) << node;
      EXPECT_LE(n, 15) << node;
    }
    // Every binding was the scheduler's, and no Pod was bound twice.
    std::map<std::string, int> binds;
    std::map<std::string, std::string> node_of;
    ASSERT_TRUE(log->ReadEvents(1, 0,
                                [&](Event& e) {
                                  if (e.kind != "Pod" || e.type == EventType::kDeleted) return true;
                                  std::string node =
                                      json::parse(e.object)["spec"].value("nodeName", "");
                                  if (!node.empty() && node_of[e.name] != node) {
                                    ++binds[e.name];
                                    EXPECT_EQ(e.actor, "system:scheduler") << e.name;
                                  }
                                  node_of[e.name] = node;
                                  return true;
                                })
                    .ok());
    EXPECT_EQ(binds.size(), 1000u);
    for (const auto& [pod, n] : binds) EXPECT_EQ(n, 1) << pod;

    stop.store(true);
    t1.join();
    t2.join();
    EXPECT_TRUE(cluster.manager()->Stop().ok());
  }
}

}  // namespace
}  // namespace korc
