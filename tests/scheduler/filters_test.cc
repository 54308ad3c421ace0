#include "components/scheduler/filters.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/scheduler/builders.h"

namespace korc::scheduler {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using namespace korc::scheduler::testing;

std::vector<std::string> Check(FilterFn f, const api::Pod& pod, const api::Node& node,
                               const std::vector<api::Pod>& bound = {}) {
  PodInfo p = MakePodInfo(pod);
  NodeInfo n = MakeNodeInfo(node);
  for (const api::Pod& b : bound) AddPod(MakePodInfo(b), &n);
  Reasons r;
  f(p, n, &r);
  return {r.begin(), r.end()};
}

api::Toleration Tol(std::string key, std::string op, std::string value, std::string effect) {
  return {std::move(key), std::move(op), std::move(value), std::move(effect), std::nullopt};
}

// ---- toleration matching ----

TEST(TolerationTest, MatchingTable) {
  struct Row {
    const char* name;
    api::Toleration toleration;
    api::Taint taint;
    bool tolerates;
  };
  const api::Taint db_no_schedule{"dedicated", "db", "NoSchedule", {}};
  const std::vector<Row> rows = {
      {"Equal, same key, value and effect", Tol("dedicated", "Equal", "db", "NoSchedule"),
       db_no_schedule, true},
      {"Equal, other value", Tol("dedicated", "Equal", "web", "NoSchedule"), db_no_schedule, false},
      {"no operator means Equal", Tol("dedicated", "", "db", "NoSchedule"), db_no_schedule, true},
      {"no operator, other value", Tol("dedicated", "", "web", "NoSchedule"), db_no_schedule,
       false},
      {"Exists ignores the value", Tol("dedicated", "Exists", "", "NoSchedule"), db_no_schedule,
       true},
      {"Exists, other key", Tol("gpu", "Exists", "", "NoSchedule"), db_no_schedule, false},
      {"Exists with empty key and effect tolerates everything", Tol("", "Exists", "", ""),
       db_no_schedule, true},
      {"Exists with empty key, effect given and equal", Tol("", "Exists", "", "NoSchedule"),
       db_no_schedule, true},
      {"Exists with empty key, other effect", Tol("", "Exists", "", "NoExecute"), db_no_schedule,
       false},
      {"no effect matches every effect",
       Tol("dedicated", "Equal", "db", ""),
       {"dedicated", "db", "NoExecute", {}},
       true},
      {"other effect", Tol("dedicated", "Equal", "db", "NoExecute"), db_no_schedule, false},
      {"Equal with empty key compares values only (upstream)", Tol("", "Equal", "db", ""),
       db_no_schedule, true},
      {"Equal, empty values",
       Tol("dedicated", "Equal", "", "NoSchedule"),
       {"dedicated", "", "NoSchedule", {}},
       true},
      {"unknown operator", Tol("dedicated", "Matches", "db", "NoSchedule"), db_no_schedule, false},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(ToleratesTaint(r.toleration, r.taint), r.tolerates) << r.name;
  }
  EXPECT_FALSE(TolerationsTolerateTaint({}, db_no_schedule));
  EXPECT_TRUE(TolerationsTolerateTaint(
      {Tol("gpu", "Exists", "", ""), Tol("dedicated", "Exists", "", "")}, db_no_schedule));
}

// ---- each filter and its reason ----

TEST(FiltersTest, NodeReady) {
  api::Pod pod = MakePod("p");
  EXPECT_THAT(Check(NodeReady, pod, MakeNode("n1")), IsEmpty());
  for (const char* status : {"False", "Unknown"}) {
    api::Node n =
        With<api::Node>(MakeNode("n1"), [&](auto& n) { n.status.conditions[0].status = status; });
    EXPECT_THAT(Check(NodeReady, pod, n), ElementsAre("node(s) were not ready")) << status;
  }
  api::Node no_condition =
      With<api::Node>(MakeNode("n1"), [](auto& n) { n.status.conditions.clear(); });
  EXPECT_THAT(Check(NodeReady, pod, no_condition), ElementsAre("node(s) were not ready"));
}

TEST(FiltersTest, NodeUnschedulable) {
  api::Node cordoned =
      With<api::Node>(MakeNode("n1"), [](auto& n) { n.spec.unschedulable = true; });
  EXPECT_THAT(Check(NodeUnschedulable, MakePod("p"), MakeNode("n1")), IsEmpty());
  EXPECT_THAT(Check(NodeUnschedulable, MakePod("p"), cordoned),
              ElementsAre("node(s) were unschedulable"));
  api::Pod tolerant = With<api::Pod>(MakePod("p"), [](auto& p) {
    p.spec.tolerations = {Tol("node.kubernetes.io/unschedulable", "Exists", "", "NoSchedule")};
  });
  EXPECT_THAT(Check(NodeUnschedulable, tolerant, cordoned), IsEmpty());
}

TEST(FiltersTest, TaintToleration) {
  api::Node tainted = With<api::Node>(MakeNode("n1"), [](auto& n) {
    n.spec.taints = {{"soft", "x", "PreferNoSchedule", {}},
                     {"dedicated", "db", "NoSchedule", {}},
                     {"node.kubernetes.io/not-ready", "", "NoExecute", {}}};
  });
  EXPECT_THAT(Check(TaintToleration, MakePod("p"), MakeNode("n1")), IsEmpty());
  // PreferNoSchedule is not a filter; the first untolerated hard taint is the reason.
  EXPECT_THAT(Check(TaintToleration, MakePod("p"), tainted),
              ElementsAre("node(s) had untolerated taint {dedicated: db}"));
  api::Pod db = With<api::Pod>(MakePod("p"), [](auto& p) {
    p.spec.tolerations = {Tol("dedicated", "Equal", "db", "NoSchedule")};
  });
  EXPECT_THAT(Check(TaintToleration, db, tainted),
              ElementsAre("node(s) had untolerated taint {node.kubernetes.io/not-ready: }"));
  db.spec.tolerations.push_back(Tol("node.kubernetes.io/not-ready", "Exists", "", "NoExecute"));
  EXPECT_THAT(Check(TaintToleration, db, tainted), IsEmpty());
  api::Pod everything = With<api::Pod>(
      MakePod("p"), [](auto& p) { p.spec.tolerations = {Tol("", "Exists", "", "")}; });
  EXPECT_THAT(Check(TaintToleration, everything, tainted), IsEmpty());
}

TEST(FiltersTest, NodeAffinityIsTheNodeSelector) {
  api::Node ssd = With<api::Node>(MakeNode("n1"), [](auto& n) {
    n.metadata.labels["disk"] = "ssd";
    n.metadata.labels["zone"] = "a";
  });
  auto selecting = [](api::StringMap sel) {
    return With<api::Pod>(MakePod("p"), [&](auto& p) { p.spec.node_selector = sel; });
  };
  const std::string reason = "node(s) didn't match Pod's node affinity/selector";
  EXPECT_THAT(Check(NodeAffinity, selecting({}), ssd), IsEmpty());
  EXPECT_THAT(Check(NodeAffinity, selecting({{"disk", "ssd"}}), ssd), IsEmpty());
  EXPECT_THAT(Check(NodeAffinity, selecting({{"disk", "ssd"}, {"zone", "a"}}), ssd), IsEmpty());
  EXPECT_THAT(Check(NodeAffinity, selecting({{"disk", "hdd"}}), ssd), ElementsAre(reason));
  EXPECT_THAT(Check(NodeAffinity, selecting({{"gpu", "yes"}}), ssd), ElementsAre(reason));
  EXPECT_THAT(Check(NodeAffinity, selecting({{"disk", "ssd"}, {"zone", "b"}}), ssd),
              ElementsAre(reason));
}

TEST(FiltersTest, HostPortConflictTable) {
  struct Row {
    HostPort want, used;
    bool conflict;
  };
  const std::vector<Row> rows = {
      {{"0.0.0.0", "TCP", 80}, {"0.0.0.0", "TCP", 80}, true},
      {{"0.0.0.0", "TCP", 80}, {"0.0.0.0", "TCP", 81}, false},
      {{"0.0.0.0", "TCP", 80}, {"0.0.0.0", "UDP", 80}, false},
      {{"10.0.0.1", "TCP", 80}, {"0.0.0.0", "TCP", 80}, true},
      {{"0.0.0.0", "TCP", 80}, {"10.0.0.1", "TCP", 80}, true},
      {{"10.0.0.1", "TCP", 80}, {"10.0.0.1", "TCP", 80}, true},
      {{"10.0.0.1", "TCP", 80}, {"10.0.0.2", "TCP", 80}, false},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(HostPortsConflict(r.want, r.used), r.conflict)
        << r.want.ip << ":" << r.want.port << "/" << r.want.protocol << " vs " << r.used.ip << ":"
        << r.used.port << "/" << r.used.protocol;
  }
}

api::Pod WithHostPort(api::Pod p, int32_t port, std::string protocol = "", std::string ip = "") {
  p.spec.containers[0].ports.push_back({"", port, 8080, std::move(protocol), std::move(ip)});
  return p;
}

TEST(FiltersTest, NodePorts) {
  const std::string reason = "node(s) didn't have free ports for the requested pod ports";
  api::Pod other = BoundTo(WithHostPort(MakePod("other"), 80), "n1");
  EXPECT_THAT(Check(NodePorts, WithHostPort(MakePod("p"), 80), MakeNode("n1"), {other}),
              ElementsAre(reason));
  EXPECT_THAT(Check(NodePorts, WithHostPort(MakePod("p"), 81), MakeNode("n1"), {other}), IsEmpty());
  EXPECT_THAT(Check(NodePorts, WithHostPort(MakePod("p"), 80, "UDP"), MakeNode("n1"), {other}),
              IsEmpty());
  // An empty protocol is TCP; an empty hostIP is every address.
  EXPECT_THAT(
      Check(NodePorts, WithHostPort(MakePod("p"), 80, "TCP", "10.0.0.1"), MakeNode("n1"), {other}),
      ElementsAre(reason));
  // A pod without host ports never conflicts; container ports alone are not host ports.
  api::Pod container_port_only = With<api::Pod>(MakePod("p"), [](auto& p) {
    p.spec.containers[0].ports.push_back({"", 0, 80, "TCP", ""});
  });
  EXPECT_THAT(Check(NodePorts, container_port_only, MakeNode("n1"), {other}), IsEmpty());
  // On the host network, the container port is the host port.
  container_port_only.spec.host_network = true;
  EXPECT_THAT(Check(NodePorts, container_port_only, MakeNode("n1"), {other}), ElementsAre(reason));
}

TEST(FiltersTest, NodeResourcesFit) {
  api::Node node = MakeNode("n1", "2", "4Gi", "3");
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p", "2", "4Gi"), node), IsEmpty());
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p", "2500m"), node),
              ElementsAre("Insufficient cpu"));
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p", "", "5Gi"), node),
              ElementsAre("Insufficient memory"));
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p", "3", "5Gi"), node),
              ElementsAre("Insufficient cpu", "Insufficient memory"));
  // Bound pods take their requests and a pod slot each.
  std::vector<api::Pod> bound = {BoundTo(MakePod("a", "1500m", "1Gi"), "n1"),
                                 BoundTo(MakePod("b"), "n1")};
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p", "500m", "3Gi"), node, bound), IsEmpty());
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p", "501m"), node, bound),
              ElementsAre("Insufficient cpu"));
  bound.push_back(BoundTo(MakePod("c"), "n1"));
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p", "3", "5Gi"), node, bound),
              UnorderedElementsAre("Too many pods", "Insufficient cpu", "Insufficient memory"));
  // A pod that requests nothing needs only a pod slot, even on a full node.
  bound.pop_back();
  bound.push_back(BoundTo(MakePod("c", "500m", "3Gi"), "n1"));
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p"), node, bound), ElementsAre("Too many pods"));
  bound.pop_back();
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p"), node, bound), IsEmpty());
  // Several containers add up.
  api::Pod two = With<api::Pod>(MakePod("p", "1"), [](auto& p) {
    p.spec.containers.push_back(p.spec.containers[0]);
    p.spec.containers[1].name = "sidecar";
  });
  EXPECT_THAT(Check(NodeResourcesFit, two, node), IsEmpty());
  EXPECT_THAT(Check(NodeResourcesFit, two, node, {BoundTo(MakePod("a", "1m"), "n1")}),
              ElementsAre("Insufficient cpu"));
  // ephemeral-storage, when requested, must be there.
  api::Pod scratch = With<api::Pod>(MakePod("p"), [](auto& p) {
    p.spec.containers[0].resources.requests["ephemeral-storage"] = Q("1Gi");
  });
  EXPECT_THAT(Check(NodeResourcesFit, scratch, node),
              ElementsAre("Insufficient ephemeral-storage"));
}

TEST(FiltersTest, AllocatableFallsBackToCapacity) {
  api::Node node = MakeNode("n1", "2", "4Gi", "10");
  node.status.allocatable = {{"cpu", Q("1")}};  // memory and pods only in capacity
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p", "1", "4Gi"), node), IsEmpty());
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p", "1500m"), node),
              ElementsAre("Insufficient cpu"));
  // A node that reports no pod capacity takes no pods, as in Kubernetes.
  node.status.capacity.erase("pods");
  EXPECT_THAT(Check(NodeResourcesFit, MakePod("p"), node), ElementsAre("Too many pods"));
}

TEST(FiltersTest, TableOrderAndFirstFailureDecides) {
  std::vector<std::string_view> names;
  for (const Filter& f : kFilters) names.push_back(f.name);
  EXPECT_THAT(names, ElementsAre("NodeReady", "NodeUnschedulable", "TaintToleration",
                                 "NodeAffinity", "NodePorts", "NodeResourcesFit"));
  api::Node node = With<api::Node>(MakeNode("n1", "1"), [](auto& n) {
    n.spec.taints = {{"dedicated", "db", "NoSchedule", {}}};
  });
  PodInfo pod = MakePodInfo(With<api::Pod>(MakePod("p", "2"), [](auto& p) {
    p.spec.node_selector = {{"disk", "ssd"}};
  }));
  NodeInfo info = MakeNodeInfo(node);
  Reasons r;
  EXPECT_FALSE(RunFilters(pod, info, &r));
  EXPECT_THAT(std::vector<std::string_view>(r.begin(), r.end()),
              ElementsAre("node(s) had untolerated taint {dedicated: db}"));
  info.ready = false;
  EXPECT_FALSE(RunFilters(pod, info, &r));
  EXPECT_THAT(std::vector<std::string_view>(r.begin(), r.end()),
              ElementsAre("node(s) were not ready"));
  EXPECT_TRUE(RunFilters(MakePodInfo(MakePod("q")), MakeNodeInfo(MakeNode("n2")), &r));
  EXPECT_TRUE(r.empty());
}

}  // namespace
}  // namespace korc::scheduler
