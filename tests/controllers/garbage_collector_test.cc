#include "components/controllers/garbage_collector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "tests/controllers/fold.h"

namespace korc::controllers {
namespace {

using reactor::Command;
using reactor::Decision;
using Json = nlohmann::json;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'800'000'000 * kSec;

// ---- small local builders ----

api::ObjectMeta Meta(std::string name, std::vector<api::OwnerReference> refs = {}) {
  api::ObjectMeta m;
  m.name = name;
  m.namespace_ = "default";
  m.uid = "uid-" + name;
  m.resource_version = "5";
  m.creation_timestamp.unix_ns = kT0;
  m.owner_references = std::move(refs);
  return m;
}

api::ReplicationController MakeRc(std::string name, std::vector<api::OwnerReference> refs = {}) {
  api::ReplicationController rc;
  rc.metadata = Meta(std::move(name), std::move(refs));
  rc.spec.replicas = 1;
  rc.spec.selector = {{"app", "web"}};
  return rc;
}

// An owner being deleted, waiting on the garbage collector for `finalizer`.
template <class T>
T Deleting(T o, std::string finalizer = std::string(kFinalizerForeground)) {
  o.metadata.deletion_timestamp.unix_ns = kT0 + 60 * kSec;
  if (!finalizer.empty()) o.metadata.finalizers = {finalizer};
  return o;
}

api::Pod MakePod(std::string name, std::vector<api::OwnerReference> refs = {},
                 std::string phase = "Running") {
  api::Pod p;
  p.metadata = Meta(std::move(name), std::move(refs));
  api::Container c;
  c.name = "app";
  c.image = "busybox";
  p.spec.containers = {c};
  p.status.phase = std::move(phase);
  return p;
}

api::OwnerReference Ref(std::string kind, std::string name, bool block = true) {
  return {"v1", std::move(kind), name, "uid-" + name, true, block};
}
api::OwnerReference RcRef(std::string name, bool block = true) {
  return Ref("ReplicationController", std::move(name), block);
}

Json RefJson(const std::string& name, bool block = true) {
  return {{"apiVersion", "v1"}, {"kind", "ReplicationController"},
          {"name", name},       {"uid", "uid-" + name},
          {"controller", true}, {"blockOwnerDeletion", block}};
}

Command DeletePod(const std::string& name, std::string reason, std::string propagation) {
  return Command::Delete("Pod", "default", name, "uid-" + name, std::move(reason),
                         std::move(propagation));
}

class Cluster : public testing::Fold {
 public:
  Cluster() : Fold(GarbageCollectorReducer().kinds()) {}
};

// Patch bodies are compared as JSON; everything else exactly.
void ExpectCommand(const Command& got, const Command& want) {
  EXPECT_EQ(got.verb, want.verb);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.ns, want.ns);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.reason, want.reason);
  if (want.verb == reactor::Verb::kPatch) {
    EXPECT_EQ(Json::parse(got.body), Json::parse(want.body)) << got.body;
  } else {
    EXPECT_EQ(got.body, want.body);
  }
}

// ---- given these objects, reconciling this key, expect these commands ----

struct Case {
  std::string name;
  std::vector<api::Object> objects;
  std::string key;
  std::vector<Command> want;
  std::string reason;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  const std::string pod_a = "Pod/default/a";
  const std::string rc_web = "ReplicationController/default/web";

  // (a) background
  cases.push_back({"OwnerAliveNothingToDo",
                   {MakeRc("web"), MakePod("a", {RcRef("web")})},
                   pod_a,
                   {},
                   "gc Pod/default/a: owners alive"});
  cases.push_back(
      {"NoOwnersNothingToDo", {MakePod("a")}, pod_a, {}, "gc Pod/default/a: no owners"});
  cases.push_back(
      {"AllOwnersGoneDeletesInBackground",
       {MakePod("a", {RcRef("web")})},
       pod_a,
       {DeletePod("a", "delete Pod default/a: its owner ReplicationController web is gone",
                  "Background")},
       "gc Pod/default/a: every owner is gone (ReplicationController web), deleting it"});
  {
    api::ReplicationController reborn = MakeRc("web");
    reborn.metadata.uid = "uid-web-2";  // same name, another object
    cases.push_back(
        {"OwnerNameReusedCountsAsGone",
         {reborn, MakePod("a", {RcRef("web")})},
         pod_a,
         {DeletePod("a", "delete Pod default/a: its owner ReplicationController web is gone",
                    "Background")},
         "gc Pod/default/a: every owner is gone (ReplicationController web), deleting it"});
  }
  {
    api::Service svc;
    svc.metadata = Meta("web");
    svc.metadata.uid = "uid-other";  // a Service named web is not the RC web
    cases.push_back(
        {"OwnerKindMustMatch",
         {svc, MakePod("a", {RcRef("web")})},
         pod_a,
         {DeletePod("a", "delete Pod default/a: its owner ReplicationController web is gone",
                    "Background")},
         "gc Pod/default/a: every owner is gone (ReplicationController web), deleting "
         "it"});
  }
  cases.push_back(
      {"SomeOwnersGoneDropsDanglingReferences",
       {MakeRc("web"), MakePod("a", {RcRef("old"), RcRef("web")})},
       pod_a,
       {Command::Patch("Pod", "default", "a",
                       Json{{"metadata",
                             {{"ownerReferences", Json::array({RefJson("web")})},
                              {"resourceVersion", "5"},
                              {"uid", "uid-a"}}}}
                           .dump(),
                       "remove ownerReferences to ReplicationController old (gone) from Pod "
                       "default/a")},
       "gc Pod/default/a: dropping references to ReplicationController old (gone)"});
  cases.push_back({"OwnersOutsideTheViewAreNeverDangling",
                   {MakePod("a", {Ref("Node", "n1")})},
                   pod_a,
                   {},
                   "gc Pod/default/a: owners alive"});
  cases.push_back({"TerminatingDependentLeftAlone",
                   {Deleting(MakePod("a", {RcRef("web")}), "")},
                   pod_a,
                   {},
                   "gc Pod/default/a: being deleted, no garbage-collector finalizer"});

  // (b) foreground
  const api::ReplicationController fg_web = Deleting(MakeRc("web"));
  cases.push_back({"ForegroundOwnerDependentsDeleted",
                   {fg_web, MakePod("a", {RcRef("web", false)})},
                   pod_a,
                   {DeletePod("a",
                              "delete Pod default/a: its owner ReplicationController web is being "
                              "deleted in the foreground",
                              "Background")},
                   "gc Pod/default/a: owner ReplicationController web is being deleted in the "
                   "foreground"});
  {
    api::Service front;
    front.metadata = Meta("front");
    front.metadata.deletion_timestamp.unix_ns = kT0 + 60 * kSec;
    front.metadata.finalizers = {std::string(kFinalizerForeground)};
    cases.push_back(
        {"ForegroundDependentThatOwnsIsDeletedInForeground",
         {front, MakeRc("web", {Ref("Service", "front")}), MakePod("a", {RcRef("web")})},
         rc_web,
         {Command::Delete("ReplicationController", "default", "web", "uid-web",
                          "delete ReplicationController default/web: its owner Service front is "
                          "being deleted in the foreground",
                          "Foreground")},
         "gc ReplicationController/default/web: owner Service front is being deleted in the "
         "foreground"});
  }
  cases.push_back(
      {"ForegroundDependentWithALiveOwnerOnlyLetsGo",
       {fg_web, MakeRc("keeper"), MakePod("a", {RcRef("web"), RcRef("keeper")})},
       pod_a,
       {Command::Patch("Pod", "default", "a",
                       Json{{"metadata",
                             {{"ownerReferences", Json::array({RefJson("keeper")})},
                              {"resourceVersion", "5"},
                              {"uid", "uid-a"}}}}
                           .dump(),
                       "remove ownerReferences to ReplicationController web (being deleted) from "
                       "Pod default/a")},
       "gc Pod/default/a: dropping references to ReplicationController web (being deleted)"});
  cases.push_back({"ForegroundOwnerWaitsForBlockingDependents",
                   {fg_web, MakePod("a", {RcRef("web", true)}), MakePod("b", {RcRef("web", false)}),
                    MakePod("c", {RcRef("web", true)})},
                   rc_web,
                   {},
                   "gc ReplicationController/default/web: foreground deletion waiting for 2 "
                   "blocking dependents (Pod default/a, Pod default/c)"});
  {
    api::ReplicationController released = fg_web;
    released.metadata.finalizers.clear();
    cases.push_back({"ForegroundOwnerReleasedWhenNoBlockingDependentLeft",
                     {fg_web, MakePod("b", {RcRef("web", false)})},
                     rc_web,
                     {Command::Update(released,
                                      "remove finalizer foregroundDeletion from "
                                      "ReplicationController default/web: no blocking dependents "
                                      "left")},
                     "gc ReplicationController/default/web: remove finalizer foregroundDeletion "
                     "from ReplicationController default/web"});
  }

  // (c) orphan
  const api::ReplicationController orphaning = Deleting(MakeRc("web"), "orphan");
  cases.push_back(
      {"OrphanDependentDropsTheReference",
       {orphaning, MakePod("a", {RcRef("web")})},
       pod_a,
       {Command::Patch(
           "Pod", "default", "a",
           Json{{"metadata",
                 {{"ownerReferences", nullptr}, {"resourceVersion", "5"}, {"uid", "uid-a"}}}}
               .dump(),
           "remove ownerReferences to ReplicationController web (orphaning) from Pod "
           "default/a")},
       "gc Pod/default/a: dropping references to ReplicationController web (orphaning)"});
  cases.push_back({"OrphanOwnerWaitsForItsDependents",
                   {orphaning, MakePod("a", {RcRef("web")}), MakePod("b", {RcRef("web")})},
                   rc_web,
                   {},
                   "gc ReplicationController/default/web: orphaning 2 dependents"});
  {
    api::ReplicationController released = orphaning;
    released.metadata.finalizers.clear();
    cases.push_back({"OrphanOwnerReleasedOnceNothingRefersToIt",
                     {orphaning, MakePod("a")},
                     rc_web,
                     {Command::Update(released,
                                      "remove finalizer orphan from ReplicationController "
                                      "default/web: no dependents left")},
                     "gc ReplicationController/default/web: remove finalizer orphan from "
                     "ReplicationController default/web"});
  }
  cases.push_back({"Gone", {}, pod_a, {}, "gc Pod/default/a: gone"});
  return cases;
}

// Failures name the case, not its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class GarbageCollectorTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(GarbageCollectorTableTest, ExpectCommands) {
  const Case& c = GetParam();
  Cluster cluster;
  for (const api::Object& o : c.objects) cluster.Put(o);
  Decision d = GarbageCollectorReducer().Reconcile(cluster.view(), c.key, 0);
  ASSERT_EQ(d.commands.size(), c.want.size()) << d.reason;
  for (size_t i = 0; i < c.want.size(); ++i) ExpectCommand(d.commands[i], c.want[i]);
  EXPECT_EQ(d.reason, c.reason);
  EXPECT_FALSE(d.requeue_after.has_value());
}

INSTANTIATE_TEST_SUITE_P(GarbageCollector, GarbageCollectorTableTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

// ---- stories: wake-ups and decisions until nothing is left to do ----

// Runs every woken key until no decision has commands; patches drop references the way the
// server's merge patch would. Returns the commands in the order they were decided.
std::vector<Command> RunUntilQuiet(Cluster& cluster, std::vector<std::string> keys) {
  GarbageCollectorReducer r;
  std::vector<Command> all;
  for (int round = 0; round < 20 && !keys.empty(); ++round) {
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    std::vector<std::string> next;
    for (const std::string& key : keys) {
      for (const Command& c : r.Reconcile(cluster.view(), key, 0).commands) {
        all.push_back(c);
        Event e;
        if (c.verb == reactor::Verb::kPatch) {
          const reactor::ViewItem* item = cluster.view().Find(c.kind, c.ns, c.name);
          api::Object patched = item->object;
          auto refs = Json::parse(c.body)["metadata"]["ownerReferences"];
          auto& mine = api::Meta(patched).owner_references;
          std::erase_if(mine, [&](const api::OwnerReference& ref) {
            if (refs.is_null()) return true;
            return std::none_of(refs.begin(), refs.end(),
                                [&](const Json& j) { return j["uid"] == ref.uid; });
          });
          e = cluster.Put(patched, std::string(r.name()));
        } else if (c.verb == reactor::Verb::kDelete) {
          e = cluster.Remove(cluster.view().Find(c.kind, c.ns, c.name)->object);
        } else {
          cluster.Apply(c, std::string(r.name()));
          continue;  // the finalizer is gone: the server would now remove the owner
        }
        r.Wake(cluster.view(), e, cluster.before(), &next);
      }
    }
    keys = std::move(next);
  }
  return all;
}

TEST(GarbageCollectorTest, BackgroundOwnerDeletedThenDependents) {
  Cluster cluster;
  api::ReplicationController rc = MakeRc("web");
  cluster.Put(rc);
  cluster.Put(MakePod("a", {RcRef("web")}));
  cluster.Put(MakePod("b", {RcRef("web")}));
  cluster.Put(MakePod("c", {RcRef("other-rc")}));  // not woken by web's deletion
  GarbageCollectorReducer r;
  std::vector<std::string> keys;
  r.Wake(cluster.view(), cluster.Remove(rc), cluster.before(), &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"ReplicationController/default/web", "Pod/default/a",
                                            "Pod/default/b"}));
  std::vector<Command> done = RunUntilQuiet(cluster, keys);
  ASSERT_EQ(done.size(), 2u);
  EXPECT_EQ(done[0].name, "a");
  EXPECT_EQ(done[1].name, "b");
  EXPECT_EQ(done[0].body, R"({"preconditions":{"uid":"uid-a"},"propagationPolicy":"Background"})");
}

TEST(GarbageCollectorTest, ForegroundFinalizerRemovedOnlyAfterBlockingDependentsGone) {
  Cluster cluster;
  GarbageCollectorReducer r;
  cluster.Put(MakeRc("web"));
  cluster.Put(MakePod("a", {RcRef("web", true)}));
  cluster.Put(MakePod("b", {RcRef("web", false)}));

  // DELETE with propagationPolicy=Foreground: the server sets the deletion timestamp and the
  // finalizer; that event wakes the owner and its dependents.
  std::vector<std::string> keys;
  r.Wake(cluster.view(), cluster.Put(Deleting(MakeRc("web"))), cluster.before(), &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"ReplicationController/default/web", "Pod/default/a",
                                            "Pod/default/b"}));
  // The owner waits while a, which blocks it, is there.
  Decision d = r.Reconcile(cluster.view(), "ReplicationController/default/web", 0);
  EXPECT_TRUE(d.commands.empty());
  cluster.Remove(cluster.view().Find("Pod", "default", "b")->object);
  d = r.Reconcile(cluster.view(), "ReplicationController/default/web", 0);
  EXPECT_TRUE(d.commands.empty()) << d.reason;

  cluster.Put(MakePod("b", {RcRef("web", false)}));
  std::vector<Command> done = RunUntilQuiet(cluster, keys);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0].verb, reactor::Verb::kDelete);
  EXPECT_EQ(done[1].verb, reactor::Verb::kDelete);
  EXPECT_EQ((std::vector<std::string>{done[0].name, done[1].name}),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(done[2].verb, reactor::Verb::kUpdate);  // once a is gone
  EXPECT_EQ(done[2].name, "web");
  EXPECT_TRUE(cluster.view()
                  .Get<api::ReplicationController>("default", "web")
                  ->metadata.finalizers.empty());
}

TEST(GarbageCollectorTest, OrphanDependentsKeptWithoutTheReference) {
  Cluster cluster;
  GarbageCollectorReducer r;
  cluster.Put(MakeRc("web"));
  cluster.Put(MakePod("a", {RcRef("web")}));
  cluster.Put(MakePod("b", {RcRef("web"), RcRef("keeper")}));
  cluster.Put(MakeRc("keeper"));
  std::vector<std::string> keys;
  r.Wake(cluster.view(), cluster.Put(Deleting(MakeRc("web"), "orphan")), cluster.before(), &keys);
  std::vector<Command> done = RunUntilQuiet(cluster, keys);
  ASSERT_EQ(done.size(), 3u);
  EXPECT_EQ(done[0].verb, reactor::Verb::kPatch);
  EXPECT_EQ(done[1].verb, reactor::Verb::kPatch);
  EXPECT_EQ(done[2].verb, reactor::Verb::kUpdate);
  EXPECT_TRUE(cluster.view().Get<api::Pod>("default", "a")->metadata.owner_references.empty());
  EXPECT_EQ(cluster.view().Get<api::Pod>("default", "b")->metadata.owner_references,
            std::vector{RcRef("keeper")});
}

// ---- wake-ups ----

std::vector<std::string> Wake(const Cluster& c, const Event& e) {
  std::vector<std::string> keys;
  GarbageCollectorReducer().Wake(c.view(), e, c.before(), &keys);
  return keys;
}

TEST(GarbageCollectorTest, WakeOnlyWhatAnEventConcerns) {
  Cluster c;
  Wake(c, c.Put(MakeRc("web")));
  Wake(c, c.Put(MakeRc("db")));
  EXPECT_EQ(Wake(c, c.Put(MakePod("a", {RcRef("web")}))),
            std::vector<std::string>{"Pod/default/a"});
  // A status change: only the pod itself.
  api::Pod a = MakePod("a", {RcRef("web")});
  a.status.pod_ip = "10.1.0.1";
  EXPECT_EQ(Wake(c, c.Put(a)), std::vector<std::string>{"Pod/default/a"});
  // Adopted by another owner: both owners.
  a.metadata.owner_references = {RcRef("db")};
  EXPECT_EQ(Wake(c, c.Put(a)),
            (std::vector<std::string>{"Pod/default/a", "ReplicationController/default/web",
                                      "ReplicationController/default/db"}));
  // Terminated: the terminated-pod collection too.
  a.status.phase = "Failed";
  EXPECT_EQ(Wake(c, c.Put(a)), (std::vector<std::string>{"Pod/default/a", "terminated-pods"}));
  // Deleted: its owner, which may be waiting for it.
  EXPECT_EQ(Wake(c, c.Remove(a)),
            (std::vector<std::string>{"Pod/default/a", "ReplicationController/default/db"}));
  // An owner's deletion wakes its dependents.
  c.Put(MakePod("b", {RcRef("db")}));
  EXPECT_EQ(Wake(c, c.Remove(MakeRc("db"))),
            (std::vector<std::string>{"ReplicationController/default/db", "Pod/default/b"}));
  // Kinds the collector does not watch.
  Event node;
  node.kind = "Node";
  node.name = "n1";
  EXPECT_TRUE(Wake(c, node).empty());
}

TEST(GarbageCollectorTest, AllKeysAndIdentity) {
  Cluster c;
  c.Put(MakeRc("web"));
  c.Put(MakePod("a", {RcRef("web")}));
  GarbageCollectorReducer r;
  std::vector<std::string> keys;
  r.AllKeys(c.view(), &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"Pod/default/a", "ReplicationController/default/web",
                                            "terminated-pods"}));
  EXPECT_EQ(r.name(), "system:controller:garbage-collector");
  EXPECT_EQ(r.kinds(),
            (std::vector<std::string>{"Endpoints", "Pod", "ReplicationController", "Service"}));
  EXPECT_EQ(r.Reconcile(c.view(), "nonsense", 0).reason, "gc: ignoring malformed key \"nonsense\"");
}

// ---- (d) terminated pods ----

api::Pod Terminated(std::string name, int64_t created, std::string phase = "Succeeded") {
  api::Pod p = MakePod(std::move(name), {}, std::move(phase));
  p.metadata.creation_timestamp.unix_ns = created;
  return p;
}

TEST(GarbageCollectorTest, TerminatedPodsAboveThresholdOldestDeleted) {
  GarbageCollectorReducer r({.terminated_pod_threshold = 3});
  std::vector<api::Pod> pods = {
      Terminated("e", kT0 + 5 * kSec), Terminated("d", kT0 + 1 * kSec, "Failed"),
      Terminated("c", kT0 + 1 * kSec), Terminated("b", kT0 + 9 * kSec),
      Terminated("a", kT0 + 7 * kSec), MakePod("running")};
  pods.back().metadata.creation_timestamp.unix_ns = kT0;  // oldest, but running
  Cluster forward, backward;
  for (const auto& p : pods) forward.Put(p);
  for (auto it = pods.rbegin(); it != pods.rend(); ++it) backward.Put(*it);
  Decision d = r.Reconcile(forward.view(), "terminated-pods", 0);
  const std::string why = ": 5 terminated pods exceed the threshold of 3";
  ASSERT_EQ(d.commands.size(), 2u);
  ExpectCommand(d.commands[0],
                DeletePod("c", "delete terminated pod default/c" + why, "Background"));
  ExpectCommand(d.commands[1],
                DeletePod("d", "delete terminated pod default/d" + why, "Background"));
  EXPECT_EQ(d.reason,
            "gc terminated pods: 5 terminated pods over the threshold of 3, deleting the 2 oldest");
  EXPECT_EQ(r.Reconcile(backward.view(), "terminated-pods", 0).commands, d.commands);

  // One of the oldest is already being deleted: counted, not deleted again.
  forward.Put(Deleting(Terminated("c", kT0 + 1 * kSec), ""));
  d = r.Reconcile(forward.view(), "terminated-pods", 0);
  ASSERT_EQ(d.commands.size(), 1u);
  EXPECT_EQ(d.commands[0].name, "d");
}

TEST(GarbageCollectorTest, TerminatedPodsAtOrBelowThresholdKept) {
  Cluster c;
  c.Put(Terminated("a", kT0));
  c.Put(Terminated("b", kT0));
  Decision d = GarbageCollectorReducer({.terminated_pod_threshold = 2})
                   .Reconcile(c.view(), "terminated-pods", 0);
  EXPECT_TRUE(d.commands.empty());
  EXPECT_EQ(d.reason, "gc terminated pods: 2 terminated pods, threshold 2");
  // 0 turns the collection off (as --terminated-pod-gc-threshold=0 does).
  EXPECT_TRUE(GarbageCollectorReducer({.terminated_pod_threshold = 0})
                  .Reconcile(c.view(), "terminated-pods", 0)
                  .commands.empty());
  EXPECT_EQ(GarbageCollectorOptions().terminated_pod_threshold, 12500);
}

TEST(GarbageCollectorTest, DeterministicWhateverTheEventOrder) {
  std::vector<api::Object> objects = {
      Deleting(MakeRc("web")),       MakeRc("keeper"),
      MakePod("a", {RcRef("web")}),  MakePod("b", {RcRef("gone"), RcRef("keeper")}),
      MakePod("c", {RcRef("gone")}), MakePod("d", {RcRef("web"), RcRef("keeper")})};
  Cluster forward, backward;
  for (const auto& o : objects) forward.Put(o);
  for (auto it = objects.rbegin(); it != objects.rend(); ++it) backward.Put(*it);
  GarbageCollectorReducer r;
  std::vector<std::string> keys_f, keys_b;
  r.AllKeys(forward.view(), &keys_f);
  r.AllKeys(backward.view(), &keys_b);
  ASSERT_EQ(keys_f, keys_b);
  for (const std::string& key : keys_f) {
    Decision a = r.Reconcile(forward.view(), key, 0);
    Decision b = r.Reconcile(backward.view(), key, 0);
    EXPECT_EQ(a.commands, b.commands) << key;
    EXPECT_EQ(a.reason, b.reason);
  }
}

}  // namespace
}  // namespace korc::controllers
