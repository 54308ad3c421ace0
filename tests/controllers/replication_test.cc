#include "components/controllers/replication.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/codec.h"
#include "core/defaults.h"
#include "core/validation.h"

namespace korc::controllers {
namespace {

using reactor::Command;
using reactor::Decision;
using reactor::Verb;
using reactor::View;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
using namespace std::chrono_literals;

constexpr int64_t kSec = 1'000'000'000;
// "Now" in every test: whole seconds, since metav1.Time is serialized to the second.
constexpr int64_t kNow = 1'800'000'000 * kSec;
// When objects were written unless a test says otherwise: long before any failure window.
constexpr int64_t kLongAgo = kNow - 3600 * kSec;

// ---- builders ----

api::ReplicationController Rc(std::string name = "web", int32_t replicas = 3) {
  api::ReplicationController rc;
  rc.metadata.name = name;
  rc.metadata.namespace_ = "default";
  rc.metadata.uid = "uid-" + name;
  rc.metadata.generation = 1;
  rc.metadata.creation_timestamp.unix_ns = kLongAgo;
  rc.spec.replicas = replicas;
  rc.spec.selector = {{"app", name}};
  api::PodTemplateSpec t;
  t.metadata.labels = {{"app", name}, {"tier", "front"}};
  t.metadata.annotations = {{"korc.io/note", "from the template"}};
  api::Container c;
  c.name = "app";
  c.image = "busybox:1.36";
  c.command = {"httpd", "-f"};
  t.spec.containers = {c};
  t.spec.restart_policy = "Always";
  rc.spec.template_ = t;
  return rc;
}

// A running, ready pod that `rc` controls, on node-1.
api::Pod Pod(std::string name, const api::ReplicationController& rc) {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = rc.metadata.namespace_;
  p.metadata.uid = "uid-" + name;
  p.metadata.creation_timestamp.unix_ns = kNow - 600 * kSec;
  p.metadata.labels = rc.spec.template_->metadata.labels;
  p.metadata.owner_references = {
      {"v1", "ReplicationController", rc.metadata.name, rc.metadata.uid, true, true}};
  p.spec = rc.spec.template_->spec;
  p.spec.node_name = "node-1";
  p.status.phase = "Running";
  p.status.conditions = {{"Ready", "True", {}, {kNow - 500 * kSec}, "", ""}};
  return p;
}

api::Pod Orphan(std::string name, const api::ReplicationController& rc) {
  api::Pod p = Pod(std::move(name), rc);
  p.metadata.owner_references.clear();
  return p;
}

api::Pod With(api::Pod p, const std::function<void(api::Pod&)>& change) {
  change(p);
  return p;
}

void SetReady(api::Pod& p, const char* status, int64_t since_ns = kNow - 500 * kSec) {
  p.status.conditions = {{"Ready", status, {}, {since_ns}, "", ""}};
}

// An event log for a test: each Put is the next seq, and the object's resourceVersion.
class Log {
 public:
  void Put(api::Object o, int64_t time_ns = kLongAgo) {
    api::ObjectMeta& m = api::Meta(o);
    Event e;
    e.seq = events_.size() + 1;
    e.time_ns = time_ns;
    m.resource_version = std::to_string(e.seq);
    e.kind = KindOf(o).kind;
    e.ns = m.namespace_;
    e.name = m.name;
    e.uid = m.uid;
    e.type = seen_.insert(ObjectKey(e.kind, e.ns, e.name)).second ? EventType::kAdded
                                                                  : EventType::kModified;
    e.object = EncodeJson(o);
    events_.push_back(std::move(e));
  }
  void Remove(api::Object o, int64_t time_ns = kLongAgo) {
    Put(std::move(o), time_ns);
    events_.back().type = EventType::kDeleted;
    seen_.erase(ObjectKey(events_.back().kind, events_.back().ns, events_.back().name));
  }
  View Build() const { return Fold(events_); }
  static View Fold(const std::vector<Event>& events) {
    View v;
    v.KeepKinds({"ReplicationController", "Pod"});
    for (const Event& e : events) EXPECT_TRUE(v.Apply(e).ok());
    return v;
  }
  const std::vector<Event>& events() const { return events_; }
  const Event& last() const { return events_.back(); }

 private:
  std::vector<Event> events_;
  std::set<std::string> seen_;
};

const ReplicationReducer kReducer;

Decision Decide(const Log& log, int64_t now = kNow, const std::string& key = "default/web") {
  return kReducer.Reconcile(log.Build(), key, now);
}

// ---- reading decisions ----

// "create Pod", "patch Pod/web-1", "delete Pod/web-2", "create Event", "status
// ReplicationController/web": the shape of a decision at a glance.
std::vector<std::string> Shape(const Decision& d) {
  std::vector<std::string> out;
  for (const Command& c : d.commands) {
    std::string s = std::string(reactor::VerbName(c.verb)) + " " + c.kind;
    if (!c.name.empty()) s += "/" + c.name;
    out.push_back(s);
  }
  return out;
}

std::vector<const Command*> Select(const Decision& d, Verb verb, std::string_view kind) {
  std::vector<const Command*> out;
  for (const Command& c : d.commands) {
    if (c.verb == verb && c.kind == kind) out.push_back(&c);
  }
  return out;
}

template <class T>
T Decode(const Command& c) {
  auto d = DecodeJson(c.body);
  EXPECT_TRUE(d.ok()) << c.body;
  EXPECT_THAT(d->unknown_fields, IsEmpty());
  return std::get<T>(d->object);
}

std::vector<std::string> DeletedPods(const Decision& d) {
  std::vector<std::string> out;
  for (const Command* c : Select(d, Verb::kDelete, "Pod")) out.push_back(c->name);
  return out;
}

std::vector<std::string> EventMessages(const Decision& d) {
  std::vector<std::string> out;
  for (const Command* c : Select(d, Verb::kCreate, "Event")) {
    auto e = Decode<api::KubeEvent>(*c);
    out.push_back(e.reason + ": " + e.message);
  }
  return out;
}

// ---- scale up ----

TEST(ReplicationTest, CreatesMissingReplicasFromTemplate) {
  Log log;
  auto rc = Rc("web", 3);
  log.Put(rc);
  log.Put(Pod("web-a", rc));
  Decision d = Decide(log);

  EXPECT_THAT(Shape(d), ElementsAre("create Pod", "create Pod", "create Event",
                                    "status ReplicationController/web"));
  EXPECT_THAT(d.reason, StartsWith("scale up: 2 of 3 replicas missing"));
  EXPECT_EQ(d.requeue_after, std::nullopt);
  for (const Command* c : Select(d, Verb::kCreate, "Pod")) {
    EXPECT_EQ(c->ns, "default");
    EXPECT_THAT(c->reason, HasSubstr("from the template"));
    auto pod = Decode<api::Pod>(*c);
    EXPECT_EQ(pod.metadata.name, "");
    EXPECT_EQ(pod.metadata.generate_name, "web-");
    EXPECT_EQ(pod.metadata.namespace_, "default");
    EXPECT_EQ(pod.metadata.labels, rc.spec.template_->metadata.labels);
    EXPECT_EQ(pod.metadata.annotations, rc.spec.template_->metadata.annotations);
    EXPECT_THAT(pod.metadata.owner_references,
                ElementsAre(api::OwnerReference{"v1", "ReplicationController", "web", "uid-web",
                                                true, true}));
    EXPECT_EQ(pod.spec, rc.spec.template_->spec);
    api::Object object(pod);
    ApplyDefaults(object);
    EXPECT_THAT(Validate(object), IsEmpty());
  }
}

TEST(ReplicationTest, EventsAreValidAndDescribeTheRc) {
  Log log;
  log.Put(Rc("web", 2));
  Decision d = Decide(log);
  auto events = Select(d, Verb::kCreate, "Event");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]->ns, "default");
  auto e = Decode<api::KubeEvent>(*events[0]);
  api::Object object(e);
  ApplyDefaults(object);
  EXPECT_THAT(Validate(object), IsEmpty());
  EXPECT_EQ(e.metadata.generate_name, "web.");
  EXPECT_EQ(e.metadata.namespace_, "default");
  EXPECT_EQ(e.involved_object, (api::ObjectReference{"ReplicationController", "default", "web",
                                                     "uid-web", "v1", "1", ""}));
  EXPECT_EQ(e.reason, "SuccessfulCreate");
  EXPECT_EQ(e.message, "Created 2 pods from template");
  EXPECT_EQ(e.type, "Normal");
  EXPECT_EQ(e.source.component, "replication-controller");
  EXPECT_EQ(e.count, 1);
  EXPECT_EQ(e.first_timestamp.unix_ns, kNow);
  EXPECT_EQ(e.last_timestamp.unix_ns, kNow);
}

TEST(ReplicationTest, CapsCreatesAtBurstAndRequeues) {
  Log log;
  log.Put(Rc("web", 1200));
  Decision d = Decide(log);
  EXPECT_EQ(Select(d, Verb::kCreate, "Pod").size(), 500u);
  EXPECT_EQ(d.requeue_after, ReplicationReducer::kBurstRequeue);
  EXPECT_THAT(d.reason, StartsWith("scale up: 1200 of 1200 replicas missing, creating 500 now"));
  EXPECT_THAT(EventMessages(d), ElementsAre("SuccessfulCreate: Created 500 pods from template"));
}

TEST(ReplicationTest, TerminalAndTerminatingPodsAreReplaced) {
  Log log;
  auto rc = Rc("web", 3);
  log.Put(rc);
  log.Put(Pod("web-a", rc));
  log.Put(With(Pod("web-b", rc), [](api::Pod& p) { p.status.phase = "Succeeded"; }));
  log.Put(With(Pod("web-c", rc), [](api::Pod& p) { p.metadata.deletion_timestamp = {kNow}; }));
  log.Put(With(Pod("web-d", rc), [](api::Pod& p) { p.status.phase = "Failed"; }));
  Decision d = Decide(log);
  EXPECT_EQ(Select(d, Verb::kCreate, "Pod").size(), 2u);
  EXPECT_THAT(DeletedPods(d), IsEmpty());
  auto status = Select(d, Verb::kUpdateStatus, "ReplicationController");
  ASSERT_EQ(status.size(), 1u);
  EXPECT_EQ(Decode<api::ReplicationController>(*status[0]).status.replicas, 1);
}

TEST(ReplicationTest, NoCreatesWhenTemplateLabelsMissTheSelector) {
  Log log;
  auto rc = Rc("web", 2);
  rc.spec.template_->metadata.labels = {{"app", "other"}};
  log.Put(rc);
  Decision d = Decide(log);
  EXPECT_THAT(Select(d, Verb::kCreate, "Pod"), IsEmpty());
  EXPECT_THAT(d.reason, HasSubstr("do not match selector app=web"));
}

// ---- claiming ----

TEST(ReplicationTest, AdoptsMatchingOrphanKeepingItsReferences) {
  Log log;
  auto rc = Rc("web", 2);
  log.Put(rc);
  log.Put(Pod("web-a", rc));
  log.Put(With(Orphan("stray", rc), [](api::Pod& p) {
    p.metadata.owner_references = {{"v1", "Service", "svc", "uid-svc", std::nullopt, {}}};
  }));
  log.Put(With(Orphan("other-app", rc), [](api::Pod& p) { p.metadata.labels = {{"app", "db"}}; }));
  log.Put(With(Pod("someone-elses", rc),
               [](api::Pod& p) { p.metadata.owner_references[0].uid = "uid-another-web"; }));
  Decision d = Decide(log);

  EXPECT_THAT(Shape(d), ElementsAre("patch Pod/stray", "status ReplicationController/web"));
  EXPECT_THAT(d.reason, StartsWith("adopted 1 orphan"));
  const Command& patch = d.commands[0];
  EXPECT_THAT(patch.reason, HasSubstr("adopt orphan pod stray"));
  auto body = nlohmann::json::parse(patch.body);
  EXPECT_EQ(body, nlohmann::json::parse(R"({"metadata":{
      "uid":"uid-stray","resourceVersion":"3",
      "ownerReferences":[
        {"apiVersion":"v1","kind":"Service","name":"svc","uid":"uid-svc"},
        {"apiVersion":"v1","kind":"ReplicationController","name":"web","uid":"uid-web",
         "controller":true,"blockOwnerDeletion":true}]}})"));
}

TEST(ReplicationTest, DoesNotAdoptTerminatingOrTerminalPods) {
  Log log;
  auto rc = Rc("web", 1);
  log.Put(rc);
  log.Put(With(Orphan("going", rc), [](api::Pod& p) { p.metadata.deletion_timestamp = {kNow}; }));
  log.Put(With(Orphan("done", rc), [](api::Pod& p) { p.status.phase = "Succeeded"; }));
  Decision d = Decide(log);
  EXPECT_THAT(Select(d, Verb::kPatch, "Pod"), IsEmpty());
  EXPECT_EQ(Select(d, Verb::kCreate, "Pod").size(), 1u);
}

TEST(ReplicationTest, DeletingRcNeitherAdoptsNorCreatesNorDeletes) {
  Log log;
  auto rc = Rc("web", 1);
  rc.metadata.deletion_timestamp = {kNow - 5 * kSec};
  log.Put(rc);
  log.Put(Orphan("stray", rc));
  log.Put(Pod("web-a", rc));
  log.Put(Pod("web-b", rc));
  log.Put(With(Pod("moved", rc), [](api::Pod& p) { p.metadata.labels = {{"app", "db"}}; }));
  Decision d = Decide(log);
  EXPECT_THAT(Shape(d), ElementsAre("status ReplicationController/web"));
  EXPECT_THAT(d.reason, StartsWith("being deleted"));
}

TEST(ReplicationTest, ReleasesPodWhoseLabelsChanged) {
  Log log;
  auto rc = Rc("web", 2);
  log.Put(rc);
  log.Put(Pod("web-a", rc));
  log.Put(With(Pod("web-b", rc), [](api::Pod& p) {
    p.metadata.labels = {{"app", "debug"}};
    p.metadata.owner_references.push_back({"v1", "Service", "svc", "uid-svc", false, {}});
  }));
  log.Put(With(Pod("web-c", rc), [](api::Pod& p) { p.metadata.labels = {{"app", "debug"}}; }));
  Decision d = Decide(log);

  EXPECT_THAT(Shape(d), ElementsAre("patch Pod/web-b", "patch Pod/web-c", "create Pod",
                                    "create Event", "status ReplicationController/web"));
  EXPECT_THAT(d.reason, StartsWith("released 2 pods; scale up: 1 of 2 replicas missing"));
  EXPECT_EQ(nlohmann::json::parse(d.commands[0].body), nlohmann::json::parse(R"({"metadata":{
      "uid":"uid-web-b","resourceVersion":"3",
      "ownerReferences":[{"apiVersion":"v1","kind":"Service","name":"svc","uid":"uid-svc",
                          "controller":false}]}})"));
  EXPECT_EQ(nlohmann::json::parse(d.commands[1].body), nlohmann::json::parse(R"({"metadata":{
      "uid":"uid-web-c","resourceVersion":"4","ownerReferences":null}})"));
  EXPECT_THAT(d.commands[1].reason, HasSubstr("no longer match selector app=web"));
}

// ---- scale down ----

struct RankCase {
  std::string name;
  std::function<void(api::Pod&)> first;   // the pod expected to go
  std::function<void(api::Pod&)> second;  // the pod expected to stay
};

// Each case differs in one criterion only (and, for the earlier criteria, also in every later
// one the other way, to show the earlier one wins).
TEST(ReplicationTest, ScaleDownRanksPodsAsKubernetes) {
  auto noop = [](api::Pod&) {};
  auto older = [](api::Pod& p) { p.metadata.creation_timestamp = {kNow - 900 * kSec}; };
  std::vector<RankCase> cases = {
      {"unassigned first",
       [](api::Pod& p) {
         p.spec.node_name.clear();
         p.metadata.creation_timestamp = {kNow - 900 * kSec};
       },
       noop},
      {"pending before running", [](api::Pod& p) { p.status.phase = "Pending"; }, noop},
      {"unknown before running", [](api::Pod& p) { p.status.phase = "Unknown"; }, noop},
      {"pending before unknown",
       [](api::Pod& p) {
         p.status.phase = "Pending";
         SetReady(p, "True");
       },
       [](api::Pod& p) { p.status.phase = "Unknown"; }},
      {"not ready before ready",
       [](api::Pod& p) {
         SetReady(p, "False");
         p.metadata.creation_timestamp = {kNow - 900 * kSec};
       },
       noop},
      {"ready more recently first",
       [](api::Pod& p) {
         SetReady(p, "True", kNow - 10 * kSec);
         p.metadata.creation_timestamp = {kNow - 900 * kSec};
       },
       noop},
      {"ready time unset first", [](api::Pod& p) { SetReady(p, "True", 0); }, noop},
      {"more restarts first",
       [](api::Pod& p) {
         p.status.container_statuses = {{"app", {}, {}, true, 4, "busybox:1.36", "", "", {}}};
         p.metadata.creation_timestamp = {kNow - 900 * kSec};
       },
       [](api::Pod& p) {
         p.status.container_statuses = {{"app", {}, {}, true, 1, "busybox:1.36", "", "", {}}};
       }},
      {"newer first", noop, older},
      {"creation time unset first", [](api::Pod& p) { p.metadata.creation_timestamp = {}; }, noop},
  };
  for (const RankCase& c : cases) {
    for (bool first_named_first : {true, false}) {
      SCOPED_TRACE(c.name + (first_named_first ? " (a goes)" : " (b goes)"));
      Log log;
      auto rc = Rc("web", 1);
      log.Put(rc);
      std::string go = first_named_first ? "web-a" : "web-b";
      std::string stay = first_named_first ? "web-b" : "web-a";
      log.Put(With(Pod(go, rc), c.first));
      log.Put(With(Pod(stay, rc), c.second));
      Decision d = Decide(log);
      EXPECT_THAT(DeletedPods(d), ElementsAre(go));
      EXPECT_THAT(d.reason, StartsWith("scale down: 2 replicas, 1 desired"));
    }
  }
}

TEST(ReplicationTest, ScaleDownPrefersNodesCrowdedWithItsPods) {
  Log log;
  auto rc = Rc("web", 2);
  log.Put(rc);
  log.Put(Pod("web-a", rc));  // node-1
  log.Put(Pod("web-b", rc));  // node-1
  // Newer and recently ready, but alone on its node: the node count comes first.
  log.Put(With(Pod("web-c", rc), [](api::Pod& p) {
    p.spec.node_name = "node-2";
    p.metadata.creation_timestamp = {kNow - 5 * kSec};
    SetReady(p, "True", kNow - 2 * kSec);
  }));
  Decision d = Decide(log);
  EXPECT_THAT(DeletedPods(d), ElementsAre("web-a"));  // a and b tie; uid-web-a < uid-web-b
}

TEST(ReplicationTest, ScaleDownTieBreaksByUid) {
  Log log;
  auto rc = Rc("web", 1);
  log.Put(rc);
  log.Put(With(Pod("web-a", rc), [](api::Pod& p) { p.metadata.uid = "uid-z"; }));
  log.Put(With(Pod("web-b", rc), [](api::Pod& p) { p.metadata.uid = "uid-m"; }));
  log.Put(With(Pod("web-c", rc), [](api::Pod& p) { p.metadata.uid = "uid-q"; }));
  Decision d = Decide(log);
  EXPECT_THAT(Shape(d), ElementsAre("delete Pod/web-b", "delete Pod/web-c", "create Event",
                                    "create Event", "status ReplicationController/web"));
  EXPECT_EQ(nlohmann::json::parse(d.commands[0].body),
            nlohmann::json::parse(R"({"preconditions":{"uid":"uid-m"}})"));
  EXPECT_EQ(d.commands[0].reason, "delete surplus replica web-b");
  EXPECT_THAT(EventMessages(d), ElementsAre("SuccessfulDelete: Deleted pod: web-b",
                                            "SuccessfulDelete: Deleted pod: web-c"));
}

TEST(ReplicationTest, ScaleDownCountsAdoptedOrphans) {
  Log log;
  auto rc = Rc("web", 1);
  log.Put(rc);
  log.Put(Pod("web-a", rc));
  log.Put(With(Orphan("stray", rc), [](api::Pod& p) { p.status.phase = "Pending"; }));
  Decision d = Decide(log);
  EXPECT_THAT(Shape(d), ElementsAre("patch Pod/stray", "delete Pod/stray", "create Event",
                                    "status ReplicationController/web"));
}

// ---- failed pods: back-off and pruning ----

api::Pod FailedPod(std::string name, const api::ReplicationController& rc) {
  return With(Pod(std::move(name), rc), [](api::Pod& p) {
    p.status.phase = "Failed";
    SetReady(p, "False");
  });
}

struct BackoffCase {
  std::string name;
  std::vector<int64_t> failed_ago_s;                // seconds before now each pod failed
  std::optional<std::chrono::nanoseconds> requeue;  // nullopt: creates now
};

TEST(ReplicationTest, BacksOffReplacingFailedPods) {
  std::vector<BackoffCase> cases = {
      {"no failure", {}, std::nullopt},
      {"k=1: 10s after the failure", {4}, 6s},
      {"k=1: wait over", {10}, std::nullopt},
      {"k=2: 20s", {100, 5}, 15s},
      {"k=2: wait over", {100, 25}, std::nullopt},
      {"k=3: 40s", {300, 200, 1}, 39s},
      {"k=5: 160s", {500, 400, 300, 200, 10}, 150s},
      {"k=7: 640s capped at 5m", {550, 500, 400, 300, 200, 100, 1}, 299s},
      {"failures over 10m ago do not count", {700, 601, 3}, 7s},
      {"a failure exactly 10m ago does not count", {600, 3}, 7s},
      {"only old failures", {900, 650}, std::nullopt},
  };
  for (const BackoffCase& c : cases) {
    SCOPED_TRACE(c.name);
    Log log;
    auto rc = Rc("web", 2);
    rc.spec.template_->spec.restart_policy = "Never";
    log.Put(rc);
    log.Put(Pod("web-ok", rc));
    for (size_t i = 0; i < c.failed_ago_s.size(); ++i) {
      log.Put(FailedPod("web-f" + std::to_string(i), rc), kNow - c.failed_ago_s[i] * kSec);
    }
    Decision d = Decide(log);
    EXPECT_EQ(d.requeue_after, c.requeue);
    EXPECT_EQ(Select(d, Verb::kCreate, "Pod").size(), c.requeue ? 0u : 1u);
    if (c.requeue) {
      EXPECT_THAT(d.reason, HasSubstr("backing off"));
    }
  }
}

TEST(ReplicationTest, BackoffReasonSaysWhy) {
  Log log;
  auto rc = Rc("web", 1);
  log.Put(rc);
  log.Put(FailedPod("web-f1", rc), kNow - 30 * kSec);
  log.Put(FailedPod("web-f2", rc), kNow - 20 * kSec);
  log.Put(FailedPod("web-f3", rc), kNow - 10 * kSec);
  Decision d = Decide(log);
  EXPECT_EQ(d.reason,
            "scale up: 1 of 1 replicas missing; backing off 30s (40s after the last failure): 3 "
            "pods failed in the last 10m0s; status: 0/1 ready");
  EXPECT_EQ(d.requeue_after, 30s);
}

TEST(ReplicationTest, PrunesFailedPodsBeyondTheNewestFive) {
  Log log;
  auto rc = Rc("web", 1);
  log.Put(rc);
  log.Put(Pod("web-ok", rc));
  // Failed long ago (no back-off), in an order unlike their names.
  for (int i : {3, 7, 1, 6, 2, 5, 4}) {
    log.Put(FailedPod("web-f" + std::to_string(i), rc), kLongAgo + i * kSec);
  }
  log.Put(
      With(FailedPod("web-f0", rc), [](api::Pod& p) { p.metadata.deletion_timestamp = {kNow}; }));
  Decision d = Decide(log);
  EXPECT_THAT(DeletedPods(d), ElementsAre("web-f2", "web-f1"));
  EXPECT_THAT(d.reason, StartsWith("deleted 2 failed pods beyond the 5 most recent failures"));
  EXPECT_THAT(d.commands[0].reason, HasSubstr("only the 5 most recent failures are kept"));
  EXPECT_THAT(EventMessages(d), ElementsAre("SuccessfulDelete: Deleted pod: web-f2",
                                            "SuccessfulDelete: Deleted pod: web-f1"));
}

// ---- status ----

TEST(ReplicationTest, ComputesStatusWithMinReadySeconds) {
  Log log;
  auto rc = Rc("web", 4);
  rc.metadata.generation = 4;
  rc.spec.min_ready_seconds = 30;
  rc.status.conditions = {{"ReplicaFailure", "False", {}, "", ""}};
  log.Put(rc);
  log.Put(With(Pod("web-a", rc), [](api::Pod& p) { SetReady(p, "True", kNow - 60 * kSec); }));
  log.Put(With(Pod("web-b", rc), [](api::Pod& p) { SetReady(p, "True", kNow - 10 * kSec); }));
  log.Put(With(Pod("web-c", rc), [](api::Pod& p) {
    SetReady(p, "True", kNow - 25 * kSec);
    p.metadata.labels = {{"app", "web"}};  // matches the selector, not all template labels
  }));
  log.Put(With(Pod("web-d", rc), [](api::Pod& p) { SetReady(p, "False"); }));
  log.Put(With(Pod("web-e", rc), [](api::Pod& p) { p.status.phase = "Failed"; }));
  Decision d = Decide(log);

  EXPECT_THAT(Shape(d), ElementsAre("status ReplicationController/web"));
  auto next = Decode<api::ReplicationController>(d.commands[0]);
  EXPECT_EQ(next.metadata.resource_version, "1");  // the precondition: the RC as viewed
  EXPECT_EQ(next.spec, rc.spec);
  api::ReplicationControllerStatus want;
  want.replicas = 4;
  want.fully_labeled_replicas = 3;
  want.ready_replicas = 3;
  want.available_replicas = 1;
  want.observed_generation = 4;
  want.conditions = rc.status.conditions;
  EXPECT_EQ(next.status, want);
  EXPECT_EQ(d.requeue_after, 5s);  // web-c is available at now + 5s
  EXPECT_EQ(d.reason, "status: 3/4 ready, 1 available");
}

TEST(ReplicationTest, AvailableOnceReadyForMinReadySeconds) {
  Log log;
  auto rc = Rc("web", 1);
  rc.spec.min_ready_seconds = 30;
  log.Put(rc);
  log.Put(With(Pod("web-a", rc), [](api::Pod& p) { SetReady(p, "True", kNow - 30 * kSec); }));
  Decision d = Decide(log);
  EXPECT_EQ(Decode<api::ReplicationController>(d.commands[0]).status.available_replicas, 1);
  EXPECT_EQ(d.requeue_after, std::nullopt);
}

TEST(ReplicationTest, NoStatusWriteWhenUnchanged) {
  Log log;
  auto rc = Rc("web", 2);
  rc.metadata.generation = 3;
  rc.status = {2, 2, 2, 2, 3, {}};
  log.Put(rc);
  log.Put(Pod("web-a", rc));
  log.Put(Pod("web-b", rc));
  Decision d = Decide(log);
  EXPECT_THAT(d.commands, IsEmpty());
  EXPECT_EQ(d.reason, "in sync: 2 of 2 replicas, 2/2 ready");
  EXPECT_EQ(d.requeue_after, std::nullopt);
}

TEST(ReplicationTest, GoneRcDecidesNothing) {
  Log log;
  auto rc = Rc("web", 2);
  log.Put(rc);
  log.Put(Pod("web-a", rc));
  log.Remove(rc);
  Decision d = Decide(log);
  EXPECT_THAT(d.commands, IsEmpty());
  EXPECT_THAT(d.reason, HasSubstr("gone"));
}

// ---- wake ----

struct WakeCase {
  std::string name;
  std::function<void(Log&)> change;  // the last event it writes is the one under test
  std::vector<std::string> keys;
};

TEST(ReplicationTest, WakeMapsEventsToControllers) {
  auto web = Rc("web", 1);
  auto web2 = Rc("web2", 1);
  web2.spec.selector = {{"app", "web"}};  // overlaps web
  auto db = Rc("db", 1);
  auto elsewhere = Rc("web", 1);
  elsewhere.metadata.namespace_ = "team-b";
  elsewhere.metadata.uid = "uid-web-team-b";

  std::vector<WakeCase> cases = {
      {"rc event", [&](Log& l) { l.Put(db); }, {"default/db"}},
      {"owned pod: its controller only",
       [&](Log& l) { l.Put(Pod("web-a", web)); },
       {"default/web"}},
      {"owned pod status change",
       [&](Log& l) {
         l.Put(Pod("web-a", web));
         l.Put(With(Pod("web-a", web), [](api::Pod& p) { SetReady(p, "False"); }));
       },
       {"default/web"}},
      {"owned pod deleted",
       [&](Log& l) {
         l.Put(Pod("web-a", web));
         l.Remove(Pod("web-a", web));
       },
       {"default/web"}},
      {"orphan: every matching rc of its namespace",
       [&](Log& l) { l.Put(Orphan("x", web)); },
       {"default/web", "default/web2"}},
      {"label change: old and new matching rcs",
       [&](Log& l) {
         l.Put(Pod("web-a", web));
         l.Put(With(Pod("web-a", web), [](api::Pod& p) { p.metadata.labels = {{"app", "db"}}; }));
       },
       {"default/db", "default/web", "default/web2"}},
      {"controller changed: old and new controller",
       [&](Log& l) {
         l.Put(Pod("x", web));
         l.Put(With(Pod("x", web2),
                    [&](api::Pod& p) { p.metadata.labels = Pod("x", web).metadata.labels; }));
       },
       {"default/web", "default/web2"}},
      {"stale controller reference, not an orphan",
       [&](Log& l) {
         l.Put(
             With(Pod("x", web), [](api::Pod& p) { p.metadata.owner_references[0].uid = "old"; }));
       },
       {}},
  };
  for (const WakeCase& c : cases) {
    SCOPED_TRACE(c.name);
    Log log;
    for (const auto& rc : {web, web2, db, elsewhere}) log.Put(rc);
    c.change(log);
    std::vector<Event> all = log.events();
    std::vector<Event> prior(all.begin(), all.end() - 1);
    View view = Log::Fold(prior);
    std::optional<api::Object> before;
    if (const reactor::ViewItem* item =
            view.Find(all.back().kind, all.back().ns, all.back().name)) {
      before = item->object;
    }
    ASSERT_TRUE(view.Apply(all.back()).ok());
    std::vector<std::string> keys;
    kReducer.Wake(view, all.back(), before ? &*before : nullptr, &keys);
    EXPECT_EQ(keys, c.keys);
  }
}

TEST(ReplicationTest, AllKeysListsEveryRc) {
  Log log;
  auto a = Rc("web", 1);
  auto b = Rc("db", 1);
  b.metadata.namespace_ = "team-b";
  log.Put(a);
  log.Put(b);
  log.Put(Pod("web-a", a));
  std::vector<std::string> keys;
  kReducer.AllKeys(log.Build(), &keys);
  EXPECT_THAT(keys, ElementsAre("default/web", "team-b/db"));
}

// ---- determinism ----

// The resourceVersions in bodies are log positions, which differ with insertion order.
std::vector<Command> WithoutResourceVersions(std::vector<Command> commands) {
  for (Command& c : commands) {
    if (c.body.empty()) continue;
    auto j = nlohmann::json::parse(c.body);
    if (j.contains("metadata")) j["metadata"].erase("resourceVersion");
    if (j.contains("involvedObject")) j["involvedObject"].erase("resourceVersion");
    c.body = j.dump();
  }
  return commands;
}

TEST(ReplicationTest, SameViewSameDecisionWhateverTheEventOrder) {
  auto rc = Rc("web", 3);
  std::vector<api::Object> objects = {rc};
  for (std::string n : {"p1", "p2", "p3", "p4"}) objects.push_back(Pod("web-" + n, rc));
  objects.push_back(With(Pod("web-p5", rc), [](api::Pod& p) { p.spec.node_name = "node-2"; }));
  objects.push_back(With(Orphan("stray", rc), [](api::Pod& p) { p.status.phase = "Pending"; }));
  objects.push_back(With(Pod("web-moved", rc), [](api::Pod& p) {
    p.metadata.labels = {{"app", "x"}};
  }));
  for (int i = 0; i < 7; ++i) objects.push_back(FailedPod("web-f" + std::to_string(i), rc));

  auto build = [&](const std::vector<size_t>& order) {
    Log log;
    for (size_t i : order) log.Put(objects[i]);
    return log;
  };
  std::vector<size_t> order(objects.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  Log first = build(order);
  View view = first.Build();
  Decision want = kReducer.Reconcile(view, "default/web", kNow);
  Decision again = kReducer.Reconcile(view, "default/web", kNow);
  EXPECT_EQ(again.commands, want.commands);
  EXPECT_EQ(again.reason, want.reason);
  EXPECT_EQ(again.requeue_after, want.requeue_after);
  EXPECT_THAT(want.reason, StartsWith("adopted 1 orphan; released 1 pod; scale down: 6 "
                                      "replicas, 3 desired; deleted 2 failed pods"));

  std::vector<std::vector<size_t>> orders;
  orders.push_back(std::vector<size_t>(order.rbegin(), order.rend()));
  for (size_t shift : {3u, 7u, 11u}) {
    std::vector<size_t> o = order;
    std::rotate(o.begin(), o.begin() + shift, o.end());
    orders.push_back(o);
  }
  for (const auto& o : orders) {
    Decision d = Decide(build(o));
    EXPECT_EQ(WithoutResourceVersions(d.commands), WithoutResourceVersions(want.commands));
    EXPECT_EQ(d.reason, want.reason);
    EXPECT_EQ(d.requeue_after, want.requeue_after);
  }
}

}  // namespace
}  // namespace korc::controllers
