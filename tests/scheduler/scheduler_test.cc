#include "components/scheduler/scheduler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "components/scheduler/node_info.h"
#include "core/codec.h"
#include "tests/controllers/fold.h"
#include "tests/scheduler/builders.h"

namespace korc::scheduler {
namespace {

using reactor::Command;
using reactor::Decision;
using reactor::Verb;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using namespace korc::scheduler::testing;
using namespace std::chrono_literals;

korc::testing::Fold NewFold() { return korc::testing::Fold({"Pod", "Node", "Service"}); }

Decision Decide(const korc::testing::Fold& f, SchedulerOptions options = {}, int64_t now = kNow) {
  return SchedulerReducer(options).Reconcile(f.view(), "queue", now);
}

// pod name -> node name, from the decision's binds.
std::map<std::string, std::string> Bindings(const Decision& d) {
  std::map<std::string, std::string> out;
  for (const Command& c : d.commands) {
    if (c.verb != Verb::kBind) continue;
    auto j = nlohmann::json::parse(c.body);
    out[c.name] = j["target"]["name"];
  }
  return out;
}

std::vector<std::string> Shape(const Decision& d) {
  std::vector<std::string> out;
  for (const Command& c : d.commands) {
    std::string s = std::string(reactor::VerbName(c.verb)) + " " + c.kind;
    if (!c.name.empty()) s += "/" + c.name;
    out.push_back(s);
  }
  return out;
}

template <class T>
T Decode(const Command& c) {
  auto d = DecodeJson(c.body);
  EXPECT_TRUE(d.ok()) << c.body;
  return std::get<T>(d->object);
}

std::vector<api::KubeEvent> Events(const Decision& d) {
  std::vector<api::KubeEvent> out;
  for (const Command& c : d.commands) {
    if (c.verb == Verb::kCreate && c.kind == "Event") out.push_back(Decode<api::KubeEvent>(c));
  }
  return out;
}

std::vector<api::Pod> Statuses(const Decision& d) {
  std::vector<api::Pod> out;
  for (const Command& c : d.commands) {
    if (c.verb == Verb::kUpdateStatus) out.push_back(Decode<api::Pod>(c));
  }
  return out;
}

const api::PodCondition* Scheduled(const api::Pod& p) {
  for (const auto& c : p.status.conditions) {
    if (c.type == "PodScheduled") return &c;
  }
  return nullptr;
}

// Plays a decision's binds and status updates back into the view, as the API server would.
void Apply(korc::testing::Fold& f, const Decision& d) {
  for (const auto& [pod, node] : Bindings(d)) {
    const api::Pod* p = f.view().Get<api::Pod>("default", pod);
    ASSERT_NE(p, nullptr) << pod;
    api::Pod next = *p;
    next.spec.node_name = node;
    std::erase_if(next.status.conditions, [](auto& c) { return c.type == "PodScheduled"; });
    next.status.conditions.insert(next.status.conditions.begin(),
                                  {"PodScheduled", "True", {}, {kNow}, "", ""});
    f.Put(next);
  }
  for (api::Pod& p : Statuses(d)) f.Put(p);
}

std::map<std::string, int> PodsPerNode(const korc::testing::Fold& f) {
  std::map<std::string, int> out;
  for (const api::Pod* p : f.view().ListAs<api::Pod>()) {
    if (!p->spec.node_name.empty()) ++out[p->spec.node_name];
  }
  return out;
}

// ---- binding ----

TEST(SchedulerTest, BindsPendingPodAndRecordsScheduledEvent) {
  auto f = NewFold();
  f.Put(MakeNode("n1"));
  f.Put(MakePod("web-1", "100m", "64Mi"));
  Decision d = Decide(f);

  EXPECT_THAT(Shape(d), ElementsAre("bind Pod/web-1", "create Event"));
  EXPECT_EQ(d.reason, "bound 1 pod to 1 node");
  EXPECT_EQ(d.requeue_after, std::nullopt);
  EXPECT_EQ(Bindings(d), (std::map<std::string, std::string>{{"web-1", "n1"}}));
  EXPECT_THAT(d.commands[0].reason, StartsWith("bind to n1: score "));
  EXPECT_THAT(d.commands[0].reason, HasSubstr("least allocated"));
  EXPECT_THAT(d.commands[0].reason, HasSubstr("best of 1 feasible node"));
  api::KubeEvent e = Events(d).at(0);
  EXPECT_EQ(e.reason, "Scheduled");
  EXPECT_EQ(e.message, "Successfully assigned default/web-1 to n1");
  EXPECT_EQ(e.type, "Normal");
  EXPECT_EQ(e.source.component, "default-scheduler");
  EXPECT_EQ(e.reporting_component, "default-scheduler");
  EXPECT_EQ(e.involved_object.kind, "Pod");
  EXPECT_EQ(e.involved_object.name, "web-1");
  EXPECT_EQ(e.involved_object.uid, "uid-web-1");
  EXPECT_EQ(e.metadata.namespace_, "default");
  EXPECT_EQ(e.metadata.generate_name, "web-1.");

  // Once bound, nothing is left to do.
  Apply(f, d);
  Decision again = Decide(f);
  EXPECT_THAT(again.commands, IsEmpty());
  EXPECT_EQ(again.reason, "no pods to schedule");
}

TEST(SchedulerTest, ScheduledEventsCanBeTurnedOff) {
  auto f = NewFold();
  f.Put(MakeNode("n1"));
  f.Put(MakePod("web-1"));
  SchedulerOptions o;
  o.scheduled_events = false;
  EXPECT_THAT(Shape(Decide(f, o)), ElementsAre("bind Pod/web-1"));
}

TEST(SchedulerTest, PrefersLeastAllocatedNode) {
  auto f = NewFold();
  f.Put(MakeNode("n1"));
  f.Put(MakeNode("n2"));
  f.Put(BoundTo(MakePod("busy", "3", "6Gi"), "n1"));
  f.Put(MakePod("web-1", "500m", "1Gi"));
  EXPECT_EQ(Bindings(Decide(f))["web-1"], "n2");
}

TEST(SchedulerTest, BalancedAllocationDecidesBetweenEquallyFreeNodes) {
  auto f = NewFold();
  f.Put(MakeNode("a", "4000m", "4000Mi"));
  f.Put(MakeNode("b", "4000m", "4000Mi"));
  // Both half free on average (least allocated 75), but a is all cpu, b evenly used.
  f.Put(BoundTo(MakePod("on-a", "2000m", "0"), "a"));
  f.Put(BoundTo(MakePod("on-b", "1000m", "1000Mi"), "b"));
  f.Put(MakePod("p", "0", "0"));
  Decision d = Decide(f);
  EXPECT_EQ(Bindings(d)["p"], "b");
  EXPECT_THAT(d.commands[0].reason,
              HasSubstr("score 375 (least allocated 75, balanced allocation 100, spreading 100"));
}

TEST(SchedulerTest, SpreadsReplicasOfTheSameController) {
  auto f = NewFold();
  f.Put(MakeNode("n1"));
  f.Put(MakeNode("n2"));
  f.Put(BoundTo(OwnedBy(MakePod("x-1", "100m", "100Mi"), "x"), "n1"));
  f.Put(BoundTo(OwnedBy(MakePod("x-2", "100m", "100Mi"), "x"), "n1"));
  f.Put(BoundTo(OwnedBy(MakePod("y-1", "100m", "100Mi"), "y"), "n2"));
  f.Put(BoundTo(OwnedBy(MakePod("y-2", "100m", "100Mi"), "y"), "n2"));
  f.Put(OwnedBy(MakePod("x-3", "100m", "100Mi", 20), "x"));
  f.Put(OwnedBy(MakePod("y-3", "100m", "100Mi", 10), "y"));
  Decision d = Decide(f);
  EXPECT_EQ(Bindings(d), (std::map<std::string, std::string>{{"x-3", "n2"}, {"y-3", "n1"}}));
}

TEST(SchedulerTest, SpreadsPodsOfTheSameService) {
  auto f = NewFold();
  f.Put(MakeNode("n1"));
  f.Put(MakeNode("n2"));
  for (const char* app : {"a", "b"}) {
    api::Service s;
    s.metadata.name = std::string("svc-") + app;
    s.metadata.namespace_ = "default";
    s.metadata.uid = std::string("uid-svc-") + app;
    s.spec.selector = {{"app", app}};
    f.Put(s);
  }
  auto labeled = [](api::Pod p, const char* app) {
    p.metadata.labels = {{"app", app}};
    return p;
  };
  f.Put(BoundTo(labeled(MakePod("a-1", "100m"), "a"), "n1"));
  f.Put(BoundTo(labeled(MakePod("a-2", "100m"), "a"), "n1"));
  f.Put(BoundTo(labeled(MakePod("b-1", "100m"), "b"), "n2"));
  f.Put(BoundTo(labeled(MakePod("b-2", "100m"), "b"), "n2"));
  f.Put(labeled(MakePod("a-3", "100m", "", 20), "a"));
  f.Put(labeled(MakePod("b-3", "100m", "", 10), "b"));
  Decision d = Decide(f);
  EXPECT_EQ(Bindings(d), (std::map<std::string, std::string>{{"a-3", "n2"}, {"b-3", "n1"}}));
}

TEST(SchedulerTest, OneBatchSpreadsItsOwnReplicas) {
  auto f = NewFold();
  for (int i = 1; i <= 4; ++i) f.Put(MakeNode("n" + std::to_string(i)));
  for (int i = 1; i <= 8; ++i) {
    f.Put(OwnedBy(MakePod("web-" + std::to_string(i), "100m", "100Mi", 100 - i), "web"));
  }
  Decision d = Decide(f);
  ASSERT_EQ(Bindings(d).size(), 8u);
  Apply(f, d);
  EXPECT_EQ(PodsPerNode(f),
            (std::map<std::string, int>{{"n1", 2}, {"n2", 2}, {"n3", 2}, {"n4", 2}}));
}

TEST(SchedulerTest, TiesGoToTheSmallerHashOfPodAndNode) {
  std::set<std::string> chosen;
  for (int i = 0; i < 20; ++i) {
    const std::string name = "p" + std::to_string(i);
    const uint64_t pod_hash = Fnv1a("uid-" + name);
    const std::string expected =
        Fnv1a("n1", Fnv1a("/", pod_hash)) < Fnv1a("n2", Fnv1a("/", pod_hash)) ? "n1" : "n2";
    for (bool nodes_first : {true, false}) {
      auto f = NewFold();
      if (!nodes_first) f.Put(MakePod(name, "100m"));
      f.Put(MakeNode("n2"));
      f.Put(MakeNode("n1"));
      if (nodes_first) f.Put(MakePod(name, "100m"));
      EXPECT_EQ(Bindings(Decide(f))[name], expected) << name;
    }
    chosen.insert(expected);
  }
  EXPECT_EQ(chosen.size(), 2u) << "the hash should send some pods to each node";
}

// ---- unschedulable ----

TEST(SchedulerTest, UnschedulableMessageIsKubernetesText) {
  auto f = NewFold();
  for (const char* n : {"n1", "n2", "n3"}) {
    f.Put(With<api::Node>(MakeNode(n, "1"), [](auto& n) { n.metadata.labels["disk"] = "ssd"; }));
  }
  for (const char* n : {"n4", "n5"}) {
    f.Put(With<api::Node>(MakeNode(n, "8"), [](auto& n) { n.metadata.labels["disk"] = "hdd"; }));
  }
  f.Put(With<api::Pod>(MakePod("big", "2"), [](auto& p) {
    p.spec.node_selector = {{"disk", "ssd"}};
  }));
  Decision d = Decide(f);

  const std::string message =
      "0/5 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, "
      "3 Insufficient cpu.";
  EXPECT_THAT(Shape(d), ElementsAre("status Pod/big", "create Event"));
  EXPECT_EQ(d.reason, "1 unschedulable");
  api::Pod status = Statuses(d).at(0);
  const api::PodCondition* c = Scheduled(status);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, "False");
  EXPECT_EQ(c->reason, "Unschedulable");
  EXPECT_EQ(c->message, message);
  EXPECT_EQ(c->last_transition_time.unix_ns, kNow);
  EXPECT_EQ(status.metadata.resource_version,
            std::to_string(f.view().Find("Pod", "default", "big")->seq));
  EXPECT_THAT(d.commands[0].reason, HasSubstr(message));
  api::KubeEvent e = Events(d).at(0);
  EXPECT_EQ(e.reason, "FailedScheduling");
  EXPECT_EQ(e.type, "Warning");
  EXPECT_EQ(e.message, message);
  EXPECT_EQ(e.source.component, "default-scheduler");
}

TEST(SchedulerTest, ReasonsAreSortedAsKubeSchedulerSortsThem) {
  auto f = NewFold();
  // 10 nodes too small, 2 not ready: "10 Insufficient cpu" sorts before "2 node(s)...".
  for (int i = 0; i < 12; ++i) {
    api::Node n = MakeNode("n" + std::to_string(i), "1");
    if (i >= 10) n.status.conditions[0].status = "False";
    f.Put(n);
  }
  f.Put(MakePod("big", "2"));
  EXPECT_EQ(Scheduled(Statuses(Decide(f)).at(0))->message,
            "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were not ready.");
}

TEST(SchedulerTest, NoNodesAtAll) {
  auto f = NewFold();
  f.Put(MakePod("p"));
  EXPECT_EQ(Scheduled(Statuses(Decide(f)).at(0))->message, "no nodes available to schedule pods");
}

TEST(SchedulerTest, UnchangedUnschedulableStatusIsNotRewritten) {
  auto f = NewFold();
  f.Put(MakeNode("n1", "1"));
  f.Put(MakePod("big", "2"));
  Decision first = Decide(f);
  ASSERT_EQ(Statuses(first).size(), 1u);
  Apply(f, first);

  Decision again = Decide(f, {}, kNow + 30 * kSec);
  EXPECT_THAT(again.commands, IsEmpty());
  EXPECT_EQ(again.reason, "1 unschedulable");

  // A different reason is written, with a new Event, keeping when it became unschedulable.
  f.Put(With<api::Node>(MakeNode("n2", "4"), [](auto& n) { n.spec.unschedulable = true; }));
  Decision changed = Decide(f, {}, kNow + 60 * kSec);
  EXPECT_THAT(Shape(changed), ElementsAre("status Pod/big", "create Event"));
  const api::Pod status = Statuses(changed).at(0);
  const api::PodCondition* c = Scheduled(status);
  EXPECT_EQ(c->message,
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable.");
  EXPECT_EQ(c->last_transition_time.unix_ns, kNow);
  EXPECT_EQ(changed.reason, "1 unschedulable");
}

TEST(SchedulerTest, NodeBecomingReadyWakesTheQueueAndBindsWaitingPods) {
  const SchedulerReducer reducer;
  auto f = NewFold();
  api::Node n1 = MakeNode("n1");
  n1.status.conditions[0].status = "False";
  f.Put(n1);
  f.Put(MakePod("web-1"));
  Decision d = reducer.Reconcile(f.view(), "queue", kNow);
  EXPECT_EQ(Scheduled(Statuses(d).at(0))->message,
            "0/1 nodes are available: 1 node(s) were not ready.");
  Apply(f, d);

  n1.status.conditions[0].status = "True";
  Event e = f.Put(n1, "system:node:n1");
  std::vector<std::string> keys;
  reducer.Wake(f.view(), e, f.before(), &keys);
  EXPECT_THAT(keys, ElementsAre("queue"));
  d = reducer.Reconcile(f.view(), "queue", kNow);
  EXPECT_EQ(Bindings(d), (std::map<std::string, std::string>{{"web-1", "n1"}}));
}

TEST(SchedulerTest, HostPortsKeepPodsApart) {
  auto f = NewFold();
  f.Put(MakeNode("n1"));
  f.Put(MakeNode("n2"));
  auto with_port = [](api::Pod p) {
    p.spec.containers[0].ports = {{"http", 8080, 80, "TCP", ""}};
    return p;
  };
  f.Put(with_port(MakePod("a", "", "", 30)));
  f.Put(with_port(MakePod("b", "", "", 20)));
  f.Put(with_port(MakePod("c", "", "", 10)));
  Decision d = Decide(f);
  auto b = Bindings(d);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_NE(b["a"], b["b"]);
  EXPECT_EQ(Scheduled(Statuses(d).at(0))->message,
            "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod "
            "ports.");
}

// ---- batches ----

TEST(SchedulerTest, NoOvercommitWhenManyPodsArriveAtOnce) {
  auto f = NewFold();
  f.Put(MakeNode("n1", "2"));
  f.Put(MakeNode("n2", "1"));
  f.Put(MakeNode("n3", "1"));
  for (int i = 0; i < 10; ++i) f.Put(MakePod("p" + std::to_string(i), "1", "", 100 - i));
  Decision d = Decide(f);

  EXPECT_EQ(Bindings(d).size(), 4u);
  EXPECT_EQ(Statuses(d).size(), 6u);
  EXPECT_EQ(d.reason, "bound 4 pods to 3 nodes; 6 unschedulable");
  // The oldest pods are placed first.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(Bindings(d).count("p" + std::to_string(i))) << i;
  for (const api::Pod& p : Statuses(d)) {
    EXPECT_EQ(Scheduled(p)->message, "0/3 nodes are available: 3 Insufficient cpu.");
  }
  Apply(f, d);
  EXPECT_EQ(PodsPerNode(f), (std::map<std::string, int>{{"n1", 2}, {"n2", 1}, {"n3", 1}}));
  Decision again = Decide(f);
  EXPECT_THAT(again.commands, IsEmpty());
  EXPECT_EQ(again.reason, "6 unschedulable");
}

TEST(SchedulerTest, NoOvercommitOfPodSlots) {
  auto f = NewFold();
  for (const char* n : {"n1", "n2", "n3"}) f.Put(MakeNode(n, "4", "8Gi", "2"));
  for (int i = 0; i < 10; ++i) f.Put(MakePod("p" + std::to_string(i), "", "", 100 - i));
  Decision d = Decide(f);
  EXPECT_EQ(Bindings(d).size(), 6u);
  EXPECT_EQ(Scheduled(Statuses(d).at(0))->message, "0/3 nodes are available: 3 Too many pods.");
}

TEST(SchedulerTest, CappedBatchTakesOldestAndRequeues) {
  auto f = NewFold();
  f.Put(MakeNode("n1"));
  // Names in the opposite order of age: age decides.
  for (int i = 0; i < 5; ++i) f.Put(MakePod("p" + std::to_string(i), "", "", 10 + i));
  SchedulerOptions o;
  o.batch_size = 3;
  Decision d = Decide(f, o);
  EXPECT_EQ(Bindings(d),
            (std::map<std::string, std::string>{{"p4", "n1"}, {"p3", "n1"}, {"p2", "n1"}}));
  EXPECT_EQ(d.requeue_after, SchedulerReducer::kCappedRequeue);
  EXPECT_EQ(d.reason, "bound 3 pods to 1 node; 2 more pending");
  Apply(f, d);
  d = Decide(f, o);
  EXPECT_EQ(Bindings(d), (std::map<std::string, std::string>{{"p1", "n1"}, {"p0", "n1"}}));
  EXPECT_EQ(d.requeue_after, std::nullopt);
}

TEST(SchedulerTest, SameCreationTimeOrdersByNamespaceThenName) {
  auto f = NewFold();
  f.Put(MakeNode("n1", "1"));
  f.Put(MakePod("b", "1"));
  f.Put(MakePod("a", "1"));
  EXPECT_EQ(Bindings(Decide(f)), (std::map<std::string, std::string>{{"a", "n1"}}));
}

TEST(SchedulerTest, FreshPodsGoBeforeRetriesAndRetriesRotate) {
  auto f = NewFold();
  f.Put(MakeNode("n1", "1"));
  // Three old pods found unschedulable with a stale message, so a retry rewrites it.
  for (int i = 0; i < 3; ++i) {
    f.Put(With<api::Pod>(MakePod("old" + std::to_string(i), "2", "", 1000 - i), [](auto& p) {
      p.status.conditions = {
          {"PodScheduled", "False", {}, {kNow - 999 * kSec}, "Unschedulable", "stale"}};
    }));
  }
  f.Put(MakePod("new", "500m"));
  SchedulerOptions o;
  o.batch_size = 2;
  std::set<std::string> retried;
  for (int tick = 0; tick < 3; ++tick) {
    Decision d = Decide(f, o, kNow + tick * SchedulerReducer::kRetryWindow.count());
    EXPECT_EQ(Bindings(d), (std::map<std::string, std::string>{{"new", "n1"}})) << tick;
    ASSERT_EQ(Statuses(d).size(), 1u);
    retried.insert(Statuses(d)[0].metadata.name);
    EXPECT_EQ(d.requeue_after, SchedulerReducer::kCappedRequeue);
  }
  EXPECT_EQ(retried, (std::set<std::string>{"old0", "old1", "old2"}));
}

TEST(SchedulerTest, CappedBatchWithNothingToDoWaitsForTheNextRetryWindow) {
  auto f = NewFold();
  f.Put(MakeNode("n1", "1"));
  f.Put(MakePod("a", "2"));
  f.Put(MakePod("b", "2"));
  Decision d = Decide(f);
  Apply(f, d);
  SchedulerOptions o;
  o.batch_size = 1;
  d = Decide(f, o);
  EXPECT_THAT(d.commands, IsEmpty());
  EXPECT_EQ(d.requeue_after, SchedulerReducer::kRetryWindow);
}

// ---- determinism ----

TEST(SchedulerTest, SameViewSameDecisionWhateverTheInsertionOrder) {
  std::vector<api::Object> objects;
  for (int i = 0; i < 30; ++i) {
    objects.emplace_back(MakeNode("n" + std::to_string(i), std::to_string(1 + i % 3)));
  }
  for (int i = 0; i < 60; ++i) {
    objects.emplace_back(
        OwnedBy(MakePod("p" + std::to_string(i), "1", "256Mi", i % 7), i % 2 ? "odd" : "even"));
  }
  objects.emplace_back(BoundTo(MakePod("running", "1"), "n4"));
  auto decide = [&](const std::vector<api::Object>& order) {
    auto f = NewFold();
    for (const auto& o : order) f.Put(o);
    return Decide(f);
  };
  Decision a = decide(objects);
  EXPECT_EQ(Bindings(a).size(), 59u) << a.reason;  // 60 cpu in all, 1 taken
  Decision a2 = decide(objects);
  EXPECT_EQ(a.commands, a2.commands);
  std::vector<api::Object> reversed(objects.rbegin(), objects.rend());
  std::vector<api::Object> shuffled = objects;
  std::mt19937 rng(7);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (const auto* order : {&reversed, &shuffled}) {
    Decision b = decide(*order);
    EXPECT_EQ(Bindings(a), Bindings(b));
    std::vector<std::string> ra, rb;
    for (const Command& c : a.commands) ra.push_back(c.reason);
    for (const Command& c : b.commands) rb.push_back(c.reason);
    EXPECT_EQ(ra, rb);
  }
}

// ---- what is left alone ----

TEST(SchedulerTest, IgnoresBoundTerminatingTerminalAndOtherSchedulersPods) {
  auto f = NewFold();
  f.Put(MakeNode("n1", "2"));
  f.Put(BoundTo(MakePod("bound", "1"), "n1"));
  f.Put(With<api::Pod>(MakePod("terminating"),
                       [](auto& p) { p.metadata.deletion_timestamp.unix_ns = kNow; }));
  f.Put(With<api::Pod>(MakePod("failed"), [](auto& p) { p.status.phase = "Failed"; }));
  f.Put(With<api::Pod>(MakePod("other"), [](auto& p) { p.spec.scheduler_name = "my-scheduler"; }));
  // A finished pod on n1 no longer takes room; a terminating one still does.
  f.Put(With<api::Pod>(BoundTo(MakePod("done", "1"), "n1"),
                       [](auto& p) { p.status.phase = "Succeeded"; }));
  f.Put(MakePod("fits", "1", "", 10));
  f.Put(MakePod("too-much", "1", "", 5));
  Decision d = Decide(f);
  EXPECT_EQ(Bindings(d), (std::map<std::string, std::string>{{"fits", "n1"}}));
  EXPECT_THAT(Shape(d),
              ElementsAre("bind Pod/fits", "status Pod/too-much", "create Event", "create Event"));

  auto g = NewFold();
  g.Put(MakeNode("n1", "1"));
  g.Put(With<api::Pod>(BoundTo(MakePod("leaving", "1"), "n1"),
                       [](auto& p) { p.metadata.deletion_timestamp.unix_ns = kNow; }));
  g.Put(MakePod("waiting", "1"));
  EXPECT_THAT(Bindings(Decide(g)), IsEmpty());
}

// ---- wake ----

TEST(SchedulerTest, WakeTable) {
  const SchedulerReducer reducer;
  auto f = NewFold();
  auto wakes = [&](const Event& e) {
    std::vector<std::string> keys;
    reducer.Wake(f.view(), e, f.before(), &keys);
    return !keys.empty();
  };
  EXPECT_TRUE(wakes(f.Put(MakeNode("n1")))) << "node added";
  EXPECT_TRUE(wakes(f.Put(With<api::Node>(
      MakeNode("n1"),
      [](auto& n) { n.status.conditions[0].last_heartbeat_time.unix_ns += kSec; }))))
      << "any node change";
  api::Pod p = MakePod("p", "1");
  EXPECT_TRUE(wakes(f.Put(p))) << "new unbound pod";
  p.status.conditions = {{"PodScheduled", "False", {}, {kNow}, "Unschedulable", "0/1 nodes"}};
  EXPECT_FALSE(wakes(f.Put(p))) << "status only";
  p.metadata.labels = {{"app", "x"}};
  EXPECT_FALSE(wakes(f.Put(p))) << "labels only";
  p.spec.tolerations = {{"", "Exists", "", "", std::nullopt}};
  EXPECT_TRUE(wakes(f.Put(p))) << "spec changed";
  p.spec.node_name = "n1";
  EXPECT_TRUE(wakes(f.Put(p))) << "bound";
  p.status.phase = "Running";
  EXPECT_FALSE(wakes(f.Put(p))) << "running";
  p.status.phase = "Succeeded";
  EXPECT_TRUE(wakes(f.Put(p))) << "terminal";
  EXPECT_FALSE(wakes(f.Remove(p))) << "a terminal pod deleted frees nothing more";
  api::Pod q = BoundTo(MakePod("q"), "n1");
  EXPECT_TRUE(wakes(f.Put(q))) << "created bound";
  q.metadata.deletion_timestamp.unix_ns = kNow;
  EXPECT_TRUE(wakes(f.Put(q))) << "being deleted";
  EXPECT_TRUE(wakes(f.Remove(q))) << "bound pod deleted";
  api::Pod r = MakePod("r");
  f.Put(r);
  EXPECT_FALSE(wakes(f.Remove(r))) << "unbound pod deleted";
  api::Service s;
  s.metadata.name = "svc";
  s.metadata.namespace_ = "default";
  EXPECT_FALSE(wakes(f.Put(s))) << "services only feed spreading";

  std::vector<std::string> all;
  reducer.AllKeys(f.view(), &all);
  EXPECT_THAT(all, ElementsAre("queue"));
  EXPECT_EQ(reducer.Reconcile(f.view(), "other", kNow).reason, "unknown key other");
}

// ---- how many nodes are tried ----

TEST(SchedulerTest, NumFeasibleNodesToFindTable) {
  struct Row {
    size_t nodes;
    int percentage;
    size_t want;
  };
  for (const Row& r : std::vector<Row>{{0, 0, 0},
                                       {50, 0, 50},
                                       {99, 0, 99},
                                       {100, 0, 100},
                                       {150, 0, 100},
                                       {1000, 0, 420},
                                       {5000, 0, 500},
                                       {6000, 0, 300},
                                       {10000, 0, 500},
                                       {5000, 20, 1000},
                                       {5000, 1, 100},
                                       {5000, 100, 5000}}) {
    EXPECT_EQ(NumFeasibleNodesToFind(r.nodes, r.percentage), r.want)
        << r.nodes << " nodes, " << r.percentage << "%";
  }
}

TEST(SchedulerTest, StopsAfterEnoughFeasibleNodes) {
  auto f = NewFold();
  for (int i = 0; i < 300; ++i) f.Put(MakeNode("n" + std::to_string(i)));
  f.Put(MakePod("p"));
  // 300 nodes: max(5, 50 - 300/125 = 48)% = 144.
  EXPECT_THAT(Decide(f).commands.at(0).reason, HasSubstr("best of 144 feasible nodes"));
  SchedulerOptions all;
  all.percentage_of_nodes_to_score = 100;
  EXPECT_THAT(Decide(f, all).commands.at(0).reason, HasSubstr("best of 300 feasible nodes"));
}

}  // namespace
}  // namespace korc::scheduler
