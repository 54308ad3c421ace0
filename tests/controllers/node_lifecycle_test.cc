#include "components/controllers/node_lifecycle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/defaults.h"
#include "core/validation.h"
#include "tests/controllers/fold.h"

namespace korc::controllers {
namespace {

using reactor::Command;
using reactor::Decision;
using std::chrono::nanoseconds;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'800'000'000 * kSec;  // the last heartbeat, a whole second
constexpr int64_t kCreated = kT0 - 3600 * kSec;

// ---- small local builders ----

api::Node MakeNode(std::string name = "n1", std::string ready = "True", int64_t heartbeat = kT0,
                   int64_t transition = kCreated) {
  api::Node n;
  n.metadata.name = name;
  n.metadata.uid = "uid-" + name;
  n.metadata.resource_version = "1";
  n.metadata.creation_timestamp.unix_ns = kCreated;
  n.spec.taints = {{"dedicated", "db", "NoSchedule", {}}};
  std::string reason = ready == "True" ? "KubeletReady" : "KubeletNotReady";
  n.status.conditions = {
      {"MemoryPressure", "False", {heartbeat}, {kCreated}, "KubeletHasSufficientMemory", ""},
      {"DiskPressure", "False", {heartbeat}, {kCreated}, "KubeletHasNoDiskPressure", ""},
      {"PIDPressure", "False", {heartbeat}, {kCreated}, "KubeletHasSufficientPID", ""},
      {"Ready", ready, {heartbeat}, {transition}, reason, "kubelet is posting ready status"},
  };
  return n;
}

// n1 as the controller leaves it when the heartbeat stopped and it noticed at `at`.
api::Node UnknownNode(int64_t at, bool tainted) {
  api::Node n = MakeNode();
  for (api::NodeCondition& c : n.status.conditions) {
    c.status = "Unknown";
    c.reason = "NodeStatusUnknown";
    c.message = "Kubelet stopped posting node status.";
    c.last_transition_time.unix_ns = at;
  }
  if (tainted) n.spec.taints.push_back({std::string(kTaintUnreachable), "", "NoExecute", {at}});
  return n;
}

api::Pod MakePod(std::string name, std::string node = "n1", bool ready = true) {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = "default";
  p.metadata.uid = "uid-" + name;
  p.metadata.resource_version = "1";
  api::Container c;
  c.name = "app";
  c.image = "busybox";
  p.spec.containers = {c};
  p.spec.node_name = std::move(node);
  p.status.phase = "Running";
  p.status.pod_ip = "10.1.0.1";
  p.status.conditions = {{"Initialized", "True", {}, {kCreated}, "", ""},
                         {"Ready", ready ? "True" : "False", {}, {kCreated}, "", ""}};
  return p;
}

// The Lease its kubelet renews, last at `renew` (a MicroTime), in `ns`.
api::Lease MakeLease(std::string node, int64_t renew, std::string ns = "kube-node-lease") {
  api::Lease l;
  l.metadata.name = node;
  l.metadata.namespace_ = std::move(ns);
  l.metadata.uid = "uid-lease-" + node;
  l.metadata.resource_version = "1";
  l.spec.holder_identity = std::move(node);
  l.spec.lease_duration_seconds = 40;
  l.spec.renew_time.unix_ns = renew;
  return l;
}

api::Pod Tolerating(api::Pod p, std::string key, std::optional<int64_t> seconds,
                    std::string op = "Exists", std::string effect = "NoExecute") {
  p.spec.tolerations.push_back({std::move(key), std::move(op), "", std::move(effect), seconds});
  return p;
}

api::Pod NotReady(api::Pod p, int64_t at) {
  p.status.conditions[1].status = "False";
  p.status.conditions[1].last_transition_time.unix_ns = at;
  return p;
}

Command MarkNotReady(const api::Pod& p, int64_t at, std::string why = "unreachable") {
  return Command::UpdateStatus(
      NotReady(p, at), "mark pod default/" + p.metadata.name + " not ready: node n1 " + why);
}

Command Evict(const std::string& pod, std::string how_long, std::string why = "unreachable") {
  return Command::Delete("Pod", "default", pod, "uid-" + pod,
                         "evicted: node n1 " + why + " for " + how_long);
}

// The Event recorded at `at` (whole seconds) about `about`, filed in `ns`.
Command RecordedEvent(api::ObjectReference about, std::string ns, std::string reason,
                      std::string message, int64_t at) {
  api::KubeEvent e;
  e.api_version = "v1";
  e.kind = "Event";
  e.metadata.generate_name = about.name + ".";
  e.metadata.namespace_ = std::move(ns);
  e.involved_object = std::move(about);
  e.reason = reason;
  e.message = message;
  e.source.component = "node-controller";
  e.first_timestamp.unix_ns = at;
  e.last_timestamp.unix_ns = at;
  e.count = 1;
  e.type = "Normal";
  e.reporting_component = "node-controller";
  return Command::Create(e, "record event " + reason + ": " + message);
}

// NodeNotReady about n1, as the controller records it when it marks the node Unknown.
Command NodeNotReadyEvent(int64_t at) {
  return RecordedEvent({"Node", "", "n1", "uid-n1", "v1", "", ""}, "default", "NodeNotReady",
                       "Node n1 status is now: NodeNotReady", at);
}

// TaintManagerEviction about default/`pod`, recorded just before its eviction.
Command EvictionEvent(const std::string& pod, int64_t at) {
  return RecordedEvent({"Pod", "default", pod, "uid-" + pod, "v1", "", ""}, "default",
                       "TaintManagerEviction", "Marking for deletion Pod default/" + pod, at);
}

// The Event a Create command carries, checked as the API server will: it decodes with no
// unknown field and validates after defaulting.
api::KubeEvent DecodeValidEvent(const Command& c) {
  EXPECT_EQ(c.verb, reactor::Verb::kCreate);
  EXPECT_EQ(c.kind, "Event");
  auto decoded = DecodeJson(c.body);
  EXPECT_TRUE(decoded.ok()) << c.body;
  if (!decoded.ok()) return {};
  EXPECT_THAT(decoded->unknown_fields, ::testing::IsEmpty());
  api::Object object = decoded->object;
  ApplyDefaults(object);
  EXPECT_THAT(Validate(object), ::testing::IsEmpty()) << c.body;
  const auto* e = std::get_if<api::KubeEvent>(&decoded->object);
  EXPECT_NE(e, nullptr) << c.body;
  return e ? *e : api::KubeEvent{};
}

class Cluster : public testing::Fold {
 public:
  Cluster() : Fold(NodeLifecycleReducer().kinds()) {}
  void Apply(const Command& c) { Fold::Apply(c, std::string(NodeLifecycleReducer().name())); }
};

// ---- given these objects at this time, expect these commands ----

struct Case {
  std::string name;
  std::vector<api::Object> objects;
  int64_t now;
  std::vector<Command> want;
  std::optional<nanoseconds> requeue_after;
  std::string reason;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  const int64_t kGrace = 40 * kSec;
  cases.push_back({"FreshHeartbeatRequeuesAtGraceExpiry",
                   {MakeNode(), MakePod("a")},
                   kT0 + 10 * kSec,
                   {},
                   nanoseconds(30 * kSec),
                   "node n1: Ready=True, heartbeat 10s ago; next check in 30s"});
  cases.push_back({"JustBeforeGraceExpiry",
                   {MakeNode()},
                   kT0 + kGrace - 1,
                   {},
                   nanoseconds(1),
                   "node n1: Ready=True, heartbeat 39s ago; next check in 1s"});
  {
    // The grace period is over: conditions Unknown, pods of n1 not ready (not those of n2,
    // nor one that is not ready already), eviction five minutes from now.
    const int64_t now = kT0 + 41 * kSec + 250'000'000;
    const int64_t now_s = kT0 + 41 * kSec;
    api::Pod a = MakePod("a"), b = MakePod("b"), c = MakePod("c", "n2");
    api::Pod d = NotReady(MakePod("d"), kCreated);
    cases.push_back(
        {"GraceExpiredMarksUnknownAndPodsNotReady",
         {MakeNode(), MakeNode("n2", "True", now), a, b, c, d},
         now,
         {Command::UpdateStatus(UnknownNode(now_s, false),
                                "mark node n1 Ready=Unknown: no heartbeat for 41s"),
          NodeNotReadyEvent(now_s), MarkNotReady(a, now_s), MarkNotReady(b, now_s)},
         nanoseconds(300 * kSec - 250'000'000),
         "node n1: no heartbeat for 41s, marking Ready=Unknown; 2 pods marked not ready; next "
         "check in 5m0s"});
  }
  {
    api::Node never = MakeNode();
    never.status.conditions.clear();
    const int64_t now = kCreated + kGrace;
    api::Node want = never;
    for (std::string type : {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}) {
      want.status.conditions.push_back({type,
                                        "Unknown",
                                        {kCreated},
                                        {now},
                                        "NodeStatusNeverUpdated",
                                        "Kubelet never posted node status."});
    }
    cases.push_back(
        {"NeverPostedStatus",
         {never},
         now,
         {Command::UpdateStatus(want, "mark node n1 Ready=Unknown: no heartbeat for 40s"),
          NodeNotReadyEvent(now)},
         std::nullopt,  // no pods: nothing is due until something changes
         "node n1: no heartbeat for 40s, marking Ready=Unknown"});
  }
  {
    // The status write woke the node again: now the spec gets the unreachable taint.
    const int64_t at = kT0 + 41 * kSec, now = at + 2 * kSec;
    api::Node untainted = UnknownNode(at, false);
    api::Node tainted = UnknownNode(at, false);
    tainted.spec.taints.push_back({std::string(kTaintUnreachable), "", "NoExecute", {now}});
    cases.push_back(
        {"UnknownNodeGetsUnreachableTaint",
         {untainted, NotReady(MakePod("a"), at)},
         now,
         {Command::Update(tainted,
                          "add taint node.kubernetes.io/unreachable:NoExecute on node n1")},
         nanoseconds(298 * kSec),
         "node n1: unreachable for 2s; add taint node.kubernetes.io/unreachable:NoExecute; next "
         "check in 4m58s"});
  }
  {
    const int64_t at = kT0 + 41 * kSec;
    api::Node node = UnknownNode(at, true);
    api::Pod plain = NotReady(MakePod("a"), at);
    api::Pod ten_minutes =
        Tolerating(NotReady(MakePod("b"), at), "node.kubernetes.io/unreachable", 600);
    api::Pod forever = Tolerating(NotReady(MakePod("c"), at), "", std::nullopt);
    api::Pod terminating = NotReady(MakePod("d"), at);
    terminating.metadata.deletion_timestamp.unix_ns = at + 30 * kSec;
    // Tolerates other taints only: the default timeout applies.
    api::Pod other = Tolerating(NotReady(MakePod("e"), at), "node.kubernetes.io/not-ready", 1);
    other = Tolerating(other, "node.kubernetes.io/unreachable", 1, "Exists", "NoSchedule");
    std::vector<api::Object> objects = {node, plain, ten_minutes, forever, terminating, other};

    cases.push_back({"WaitsForTheEvictionTimeout",
                     objects,
                     at + 300 * kSec - 1,
                     {},
                     nanoseconds(1),
                     "node n1: unreachable for 4m59s; 1 pod tolerating it indefinitely; next "
                     "check in 1s"});
    cases.push_back({"EvictsAfterTheEvictionTimeout",
                     objects,
                     at + 300 * kSec,
                     {EvictionEvent("a", at + 300 * kSec), Evict("a", "5m0s"),
                      EvictionEvent("e", at + 300 * kSec), Evict("e", "5m0s")},
                     nanoseconds(300 * kSec),
                     "node n1: unreachable for 5m0s; 2 pods evicted; 1 pod tolerating it "
                     "indefinitely; next check in 5m0s"});
    cases.push_back({"TolerationSecondsWaitThatLong",
                     objects,
                     at + 600 * kSec,
                     {EvictionEvent("a", at + 600 * kSec), Evict("a", "10m0s"),
                      EvictionEvent("b", at + 600 * kSec), Evict("b", "10m0s"),
                      EvictionEvent("e", at + 600 * kSec), Evict("e", "10m0s")},
                     std::nullopt,
                     "node n1: unreachable for 10m0s; 3 pods evicted; 1 pod tolerating it "
                     "indefinitely"});
  }
  {
    // Several matching tolerations: the smallest limit wins; a negative one means now.
    const int64_t at = kT0 + 41 * kSec;
    api::Pod two = Tolerating(NotReady(MakePod("a"), at), "node.kubernetes.io/unreachable", 900);
    two = Tolerating(two, "", 120, "Exists", "");
    api::Pod negative =
        Tolerating(NotReady(MakePod("b"), at), "node.kubernetes.io/unreachable", -5, "Equal");
    cases.push_back({"SmallestTolerationSecondsWins",
                     {UnknownNode(at, true), two, negative},
                     at + 60 * kSec,
                     {EvictionEvent("b", at + 60 * kSec), Evict("b", "1m0s")},
                     nanoseconds(60 * kSec),
                     "node n1: unreachable for 1m0s; 1 pod evicted; next check in 1m0s"});
  }
  {
    // The kubelet is alive but reports NotReady: not-ready taint, pods marked, evicted later;
    // the grace deadline is the earlier requeue.
    const int64_t at = kT0 - 20 * kSec, now = kT0 + 5 * kSec;
    api::Node node = MakeNode("n1", "False", kT0, at);
    api::Node tainted = node;
    tainted.spec.taints.push_back({std::string(kTaintNotReady), "", "NoExecute", {now}});
    api::Pod a = MakePod("a");
    cases.push_back(
        {"KubeletReportsNotReady",
         {node, a},
         now,
         {Command::Update(tainted, "add taint node.kubernetes.io/not-ready:NoExecute on node n1"),
          MarkNotReady(a, now, "not ready")},
         nanoseconds(35 * kSec),
         "node n1: Ready=False, heartbeat 5s ago; add taint "
         "node.kubernetes.io/not-ready:NoExecute; "
         "1 pod marked not ready; next check in 35s"});
  }
  {
    // The kubelet is back: Ready=True with a fresh heartbeat. Only the controller's taint
    // goes; the others stay.
    api::Node back = MakeNode("n1", "True", kT0, kT0);
    back.spec.taints.push_back({std::string(kTaintUnreachable), "", "NoExecute", {kCreated}});
    api::Node want = MakeNode("n1", "True", kT0, kT0);
    cases.push_back({"NodeBackRemovesTheTaint",
                     {back, NotReady(MakePod("a"), kT0)},
                     kT0 + kSec,
                     {Command::Update(
                         want, "remove taint node.kubernetes.io/unreachable:NoExecute on node n1")},
                     nanoseconds(39 * kSec),
                     "node n1: Ready=True, heartbeat 1s ago; remove taint "
                     "node.kubernetes.io/unreachable:NoExecute; next check in 39s"});
  }
  cases.push_back({"NodeGone", {MakePod("a")}, kT0, {}, std::nullopt, "node n1: gone"});
  {
    // The kubelet posts Node status rarely and renews its Lease often: the Lease is the
    // heartbeat (renewTime keeps its microseconds).
    const int64_t renew = kT0 + 100 * kSec + 123'456'000;
    cases.push_back({"RenewedLeaseKeepsTheNodeHealthy",
                     {MakeNode(), MakeLease("n1", renew), MakePod("a")},
                     kT0 + 120 * kSec,
                     {},
                     nanoseconds(40 * kSec - (kT0 + 120 * kSec - renew)),
                     "node n1: Ready=True, heartbeat 19s ago; next check in 21s"});
    // A status heartbeat newer than the Lease still counts.
    cases.push_back({"NewerStatusHeartbeatThanLease",
                     {MakeNode("n1", "True", kT0 + 110 * kSec), MakeLease("n1", renew)},
                     kT0 + 120 * kSec,
                     {},
                     nanoseconds(30 * kSec),
                     "node n1: Ready=True, heartbeat 10s ago; next check in 30s"});
  }
  {
    // The Lease stopped being renewed at kT0 (the Node status long before): Unknown once the
    // grace period after the last renewal is over.
    const int64_t now = kT0 + 41 * kSec + 250'000'000, now_s = kT0 + 41 * kSec;
    api::Node node = MakeNode("n1", "True", kT0 - 300 * kSec);
    api::Node unknown = node;
    for (api::NodeCondition& c : unknown.status.conditions) {
      c.status = "Unknown";
      c.reason = "NodeStatusUnknown";
      c.message = "Kubelet stopped posting node status.";
      c.last_transition_time.unix_ns = now_s;
    }
    cases.push_back(
        {"StoppedLeaseMarksTheNodeUnknown",
         {node, MakeLease("n1", kT0)},
         now,
         {Command::UpdateStatus(unknown, "mark node n1 Ready=Unknown: no heartbeat for 41s"),
          NodeNotReadyEvent(now_s)},
         std::nullopt,
         "node n1: no heartbeat for 41s, marking Ready=Unknown"});
    cases.push_back({"StillRenewedJustBefore",
                     {node, MakeLease("n1", kT0 + 2 * kSec)},
                     now,
                     {},
                     nanoseconds(750'000'000),
                     "node n1: Ready=True, heartbeat 39s ago; next check in 1s"});
    // A Lease of the same name elsewhere (leader election, say) is not the node's.
    cases.push_back(
        {"LeaseInAnotherNamespaceIsNotAHeartbeat",
         {node, MakeLease("n1", kT0 + 40 * kSec, "kube-system")},
         now,
         {Command::UpdateStatus(unknown, "mark node n1 Ready=Unknown: no heartbeat for 5m41s"),
          NodeNotReadyEvent(now_s)},
         std::nullopt,
         "node n1: no heartbeat for 5m41s, marking Ready=Unknown"});
  }
  return cases;
}

// Failures name the case, not its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class NodeLifecycleTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(NodeLifecycleTableTest, ExpectCommands) {
  const Case& c = GetParam();
  Cluster cluster;
  for (const api::Object& o : c.objects) cluster.Put(o);
  Decision d = NodeLifecycleReducer().Reconcile(cluster.view(), "n1", c.now);
  ASSERT_EQ(d.commands.size(), c.want.size()) << d.reason;
  for (size_t i = 0; i < c.want.size(); ++i) {
    EXPECT_EQ(d.commands[i].body, c.want[i].body) << i;
    EXPECT_EQ(d.commands[i], c.want[i]) << i;
    if (d.commands[i].kind == "Event") DecodeValidEvent(d.commands[i]);
  }
  EXPECT_EQ(d.requeue_after, c.requeue_after);
  EXPECT_EQ(d.reason, c.reason);
}

INSTANTIATE_TEST_SUITE_P(NodeLifecycle, NodeLifecycleTableTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

// ---- a node's whole story, following requeue_after ----

TEST(NodeLifecycleReducerTest, HeartbeatStopsPodsEvictedNodeComesBack) {
  NodeLifecycleReducer r;
  Cluster cluster;
  cluster.Put(MakeNode());
  cluster.Put(MakePod("a"));
  cluster.Put(Tolerating(MakePod("b"), "node.kubernetes.io/unreachable", 400));

  int64_t now = kT0 + 5 * kSec;
  Decision d = r.Reconcile(cluster.view(), "n1", now);
  EXPECT_TRUE(d.commands.empty());
  ASSERT_EQ(d.requeue_after, nanoseconds(35 * kSec));

  now += d.requeue_after->count();  // the grace period ends
  d = r.Reconcile(cluster.view(), "n1", now);
  // Node status, its NodeNotReady event, then both pods not ready.
  ASSERT_EQ(d.commands.size(), 4u) << d.reason;
  EXPECT_EQ(d.commands[0].verb, reactor::Verb::kUpdateStatus);
  EXPECT_EQ(d.commands[1], NodeNotReadyEvent(now));
  for (const Command& c : d.commands) cluster.Apply(c);
  EXPECT_EQ(d.requeue_after, nanoseconds(300 * kSec));
  const int64_t unknown_at = now;

  now += kSec;  // woken by the status write: the taint
  d = r.Reconcile(cluster.view(), "n1", now);
  ASSERT_EQ(d.commands.size(), 1u) << d.reason;
  EXPECT_EQ(d.commands[0].verb, reactor::Verb::kUpdate);
  cluster.Apply(d.commands[0]);
  d = r.Reconcile(cluster.view(), "n1", now);
  EXPECT_TRUE(d.commands.empty()) << d.reason;  // nothing more until the eviction time
  EXPECT_EQ(d.requeue_after, nanoseconds(299 * kSec));

  now += d.requeue_after->count();
  d = r.Reconcile(cluster.view(), "n1", now);
  ASSERT_EQ(d.commands.size(), 2u) << d.reason;
  EXPECT_EQ(d.commands[0], EvictionEvent("a", now));
  EXPECT_EQ(d.commands[1], Evict("a", "5m0s"));
  for (const Command& c : d.commands) cluster.Apply(c);
  EXPECT_EQ(d.requeue_after, nanoseconds(100 * kSec));  // b tolerates 400 s

  // The kubelet comes back before b's time is up.
  now += 50 * kSec;
  api::Node back = std::get<api::Node>(cluster.view().Find("Node", "", "n1")->object);
  EXPECT_EQ(back.status.conditions[3].last_transition_time.unix_ns, unknown_at);
  back.status = MakeNode("n1", "True", now, now).status;
  cluster.Put(back, "system:node:n1");
  d = r.Reconcile(cluster.view(), "n1", now);
  ASSERT_EQ(d.commands.size(), 1u) << d.reason;
  cluster.Apply(d.commands[0]);
  const api::Node* node = cluster.view().Get<api::Node>("", "n1");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->spec.taints, MakeNode().spec.taints);
  EXPECT_NE(cluster.view().Get<api::Pod>("default", "b"), nullptr);
  d = r.Reconcile(cluster.view(), "n1", now);
  EXPECT_TRUE(d.commands.empty()) << d.reason;
  EXPECT_EQ(d.requeue_after, nanoseconds(40 * kSec));
}

TEST(NodeLifecycleReducerTest, OptionsChangeTheDeadlines) {
  NodeLifecycleReducer r({std::chrono::seconds(10), std::chrono::seconds(30)});
  Cluster cluster;
  cluster.Put(MakeNode());
  EXPECT_EQ(r.Reconcile(cluster.view(), "n1", kT0 + kSec).requeue_after, nanoseconds(9 * kSec));
  cluster.Put(UnknownNode(kT0 + 10 * kSec, true));
  cluster.Put(MakePod("a", "n1", false));
  EXPECT_EQ(r.Reconcile(cluster.view(), "n1", kT0 + 20 * kSec).requeue_after,
            nanoseconds(20 * kSec));
  EXPECT_EQ(r.Reconcile(cluster.view(), "n1", kT0 + 40 * kSec).commands,
            (std::vector<Command>{EvictionEvent("a", kT0 + 40 * kSec), Evict("a", "30s")}));
}

// What `kubectl describe node` and `describe pod` find: events about the object (kind, name,
// uid) from the node controller, valid as the API server will check them.
TEST(NodeLifecycleReducerTest, EventsAreValidAndDescribeTheirObject) {
  NodeLifecycleReducer r;
  Cluster cluster;
  cluster.Put(MakeNode());
  cluster.Put(MakePod("a"));
  const int64_t now = kT0 + 41 * kSec + 500'000'000, now_s = kT0 + 41 * kSec;
  Decision d = r.Reconcile(cluster.view(), "n1", now);
  ASSERT_EQ(d.commands.size(), 3u) << d.reason;
  EXPECT_EQ(d.commands[1].ns, "default");
  EXPECT_EQ(d.commands[1].name, "");
  EXPECT_EQ(d.commands[1].reason, "record event NodeNotReady: Node n1 status is now: NodeNotReady");
  api::KubeEvent e = DecodeValidEvent(d.commands[1]);
  EXPECT_EQ(e.metadata.generate_name, "n1.");
  EXPECT_EQ(e.metadata.namespace_, "default");
  EXPECT_EQ(e.involved_object, (api::ObjectReference{"Node", "", "n1", "uid-n1", "v1", "", ""}));
  EXPECT_EQ(e.reason, "NodeNotReady");
  EXPECT_EQ(e.message, "Node n1 status is now: NodeNotReady");
  EXPECT_EQ(e.type, "Normal");
  EXPECT_EQ(e.source.component, "node-controller");
  EXPECT_EQ(e.count, 1);
  EXPECT_EQ(e.first_timestamp.unix_ns, now_s);
  EXPECT_EQ(e.last_timestamp.unix_ns, now_s);

  for (const Command& c : d.commands) cluster.Apply(c);
  d = r.Reconcile(cluster.view(), "n1", now + 300 * kSec);
  std::vector<Command> events;
  for (const Command& c : d.commands) {
    if (c.kind == "Event") events.push_back(c);
  }
  ASSERT_EQ(events.size(), 1u) << d.reason;
  EXPECT_EQ(events[0].ns, "default");
  e = DecodeValidEvent(events[0]);
  EXPECT_EQ(e.metadata.generate_name, "a.");
  EXPECT_EQ(e.metadata.namespace_, "default");
  EXPECT_EQ(e.involved_object,
            (api::ObjectReference{"Pod", "default", "a", "uid-a", "v1", "", ""}));
  EXPECT_EQ(e.reason, "TaintManagerEviction");
  EXPECT_EQ(e.message, "Marking for deletion Pod default/a");
  EXPECT_EQ(e.type, "Normal");
  EXPECT_EQ(e.source.component, "node-controller");
  EXPECT_EQ(e.first_timestamp.unix_ns, now_s + 300 * kSec);
}

// The kubelet records NodeReady; the controller records nothing when it only removes its
// taint, nor when it taints an Unknown node.
TEST(NodeLifecycleReducerTest, NoEventForTaintChanges) {
  NodeLifecycleReducer r;
  Cluster cluster;
  cluster.Put(UnknownNode(kT0 + 41 * kSec, false));
  Decision d = r.Reconcile(cluster.view(), "n1", kT0 + 42 * kSec);
  ASSERT_EQ(d.commands.size(), 1u) << d.reason;
  EXPECT_EQ(d.commands[0].verb, reactor::Verb::kUpdate);
  api::Node back = MakeNode("n1", "True", kT0 + 50 * kSec, kT0 + 50 * kSec);
  back.spec.taints.push_back({std::string(kTaintUnreachable), "", "NoExecute", {kT0}});
  cluster.Put(back);
  d = r.Reconcile(cluster.view(), "n1", kT0 + 51 * kSec);
  ASSERT_EQ(d.commands.size(), 1u) << d.reason;
  EXPECT_EQ(d.commands[0].verb, reactor::Verb::kUpdate);
}

TEST(NodeLifecycleReducerTest, Deterministic) {
  NodeLifecycleReducer r;
  std::vector<api::Pod> pods;
  for (int i = 0; i < 8; ++i) {
    api::Pod p = MakePod("p" + std::to_string(i));
    if (i % 3 == 0) p = Tolerating(p, "node.kubernetes.io/unreachable", 30 * i);
    pods.push_back(p);
  }
  Cluster forward, backward;
  forward.Put(MakeNode());
  backward.Put(MakeNode());
  for (const auto& p : pods) forward.Put(p);
  for (auto it = pods.rbegin(); it != pods.rend(); ++it) backward.Put(*it);
  for (int64_t now : {kT0, kT0 + 45 * kSec, kT0 + 400 * kSec}) {
    Decision a = r.Reconcile(forward.view(), "n1", now);
    Decision b = r.Reconcile(backward.view(), "n1", now);
    EXPECT_EQ(a.commands, b.commands);
    EXPECT_EQ(a.requeue_after, b.requeue_after);
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(r.Reconcile(forward.view(), "n1", now).commands, a.commands);
  }
}

TEST(NodeLifecycleReducerTest, WakeAndAllKeys) {
  NodeLifecycleReducer r;
  Cluster c;
  std::vector<std::string> keys;
  r.Wake(c.view(), c.Put(MakeNode("n1")), c.before(), &keys);
  r.Wake(c.view(), c.Put(MakeNode("n2")), c.before(), &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"n1", "n2"}));

  keys.clear();
  r.Wake(c.view(), c.Put(MakePod("a", "")), c.before(), &keys);  // unscheduled
  EXPECT_TRUE(keys.empty());
  r.Wake(c.view(), c.Put(MakePod("a", "n1")), c.before(), &keys);  // bound
  EXPECT_EQ(keys, std::vector<std::string>{"n1"});
  keys.clear();
  r.Wake(c.view(), c.Put(MakePod("a", "n2")), c.before(), &keys);  // moved (not in Kubernetes)
  EXPECT_EQ(keys, (std::vector<std::string>{"n1", "n2"}));
  keys.clear();
  r.Wake(c.view(), c.Remove(MakePod("a", "n2")), c.before(), &keys);
  EXPECT_EQ(keys, std::vector<std::string>{"n2"});

  keys.clear();
  r.AllKeys(c.view(), &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"n1", "n2"}));
  EXPECT_EQ(r.name(), "system:controller:node-lifecycle");
  EXPECT_EQ(r.kinds(), (std::vector<std::string>{"Node", "Pod", "Lease"}));

  // A node's Lease wakes it; a Lease in another namespace does not.
  keys.clear();
  r.Wake(c.view(), c.Put(MakeLease("n1", kT0)), c.before(), &keys);
  r.Wake(c.view(), c.Put(MakeLease("n1", kT0 + 10 * kSec)), c.before(), &keys);
  r.Wake(c.view(), c.Put(MakeLease("n2", kT0, "kube-system")), c.before(), &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"n1", "n1"}));
}

TEST(NodeLifecycleReducerTest, LastHeartbeat) {
  Cluster c;
  api::Node n = MakeNode("n1", "True", kT0 + 7 * kSec);
  EXPECT_EQ(LastHeartbeatNs(c.view(), n), kT0 + 7 * kSec);
  n.status.conditions.clear();
  EXPECT_EQ(LastHeartbeatNs(c.view(), n), kCreated);
  c.Put(MakeLease("n1", kT0 + 9 * kSec + 1000));
  EXPECT_EQ(LastHeartbeatNs(c.view(), n), kT0 + 9 * kSec + 1000);
  n = MakeNode("n1", "True", kT0 + 10 * kSec);
  EXPECT_EQ(LastHeartbeatNs(c.view(), n), kT0 + 10 * kSec);
}

}  // namespace
}  // namespace korc::controllers
