#include "components/controllers/replication.h"

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/selector.h"

namespace korc::controllers {
namespace {

using reactor::Command;
using reactor::Decision;
using reactor::View;
using reactor::ViewItem;
using Rc = api::ReplicationController;

constexpr std::string_view kRcKind = "ReplicationController";
constexpr std::string_view kPodKind = "Pod";
constexpr std::string_view kComponent = "replication-controller";

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

// "40s", "2m40s", "1h0m5s", "250ms": Go's time.Duration style, rounded up to whole seconds
// from one second on (a wait shown as "0s" would read as no wait).
std::string FormatDuration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns < 1'000'000'000) return std::to_string((ns + 999'999) / 1'000'000) + "ms";
  int64_t s = (ns + 999'999'999) / 1'000'000'000;
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s >= 60) out += std::to_string(s / 60 % 60) + "m";
  return out + std::to_string(s % 60) + "s";
}

const api::OwnerReference* ControllerRef(const api::ObjectMeta& m) {
  for (const auto& ref : m.owner_references) {
    if (ref.controller.value_or(false)) return &ref;
  }
  return nullptr;
}

// The RC in the view that controls `pod` (same name and uid), or nullptr.
const Rc* ControllerOf(const View& view, const api::Pod& pod) {
  const api::OwnerReference* ref = ControllerRef(pod.metadata);
  if (!ref || ref->kind != kRcKind) return nullptr;
  const Rc* rc = view.Get<Rc>(pod.metadata.namespace_, ref->name);
  return rc && rc->metadata.uid == ref->uid ? rc : nullptr;
}

// Every key=value of `required` is in `labels` (an RC selector or template labels are sets,
// as Kubernetes' labels.SelectorFromSet).
bool HasAll(const api::StringMap& required, const api::StringMap& labels) {
  for (const auto& [k, v] : required) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

// An empty selector would match everything. Validation forbids it; claiming every pod of the
// namespace would be far worse than claiming none.
bool SelectorMatches(const Rc& rc, const api::StringMap& labels) {
  return !rc.spec.selector.empty() && HasAll(rc.spec.selector, labels);
}

std::string SelectorText(const Rc& rc) {
  return LabelSelector::FromMap(rc.spec.selector).ToString();
}

bool IsTerminal(const api::Pod& p) {
  return p.status.phase == "Succeeded" || p.status.phase == "Failed";
}
bool IsTerminating(const api::Pod& p) { return !p.metadata.deletion_timestamp.empty(); }
bool IsActive(const api::Pod& p) { return !IsTerminal(p) && !IsTerminating(p); }

const api::PodCondition* ReadyCondition(const api::Pod& p) {
  for (const auto& c : p.status.conditions) {
    if (c.type == "Ready") return &c;
  }
  return nullptr;
}
bool IsReady(const api::Pod& p) {
  const api::PodCondition* c = ReadyCondition(p);
  return c && c->status == "True";
}

int PhaseOrdinal(const std::string& phase) {
  if (phase == "Unknown") return 1;
  if (phase == "Running") return 2;
  return 0;  // Pending (and anything unset), as Kubernetes' podPhaseToOrdinal
}

int32_t MaxRestarts(const api::Pod& p) {
  int32_t n = 0;
  for (const auto& cs : p.status.container_statuses) n = std::max(n, cs.restart_count);
  return n;
}

// Kubernetes' afterOrZero: an unset time sorts first, then the later time.
bool AfterOrZero(const api::Time& a, const api::Time& b) {
  if (a.empty() || b.empty()) return a.empty();
  return a > b;
}

api::OwnerReference OwnRef(const Rc& rc) {
  return {std::string(kApiVersion),
          std::string(kRcKind),
          rc.metadata.name,
          rc.metadata.uid,
          true,
          true};
}

nlohmann::json RefJson(const api::OwnerReference& r) {
  nlohmann::json j = {
      {"apiVersion", r.api_version}, {"kind", r.kind}, {"name", r.name}, {"uid", r.uid}};
  if (r.controller) j["controller"] = *r.controller;
  if (r.block_owner_deletion) j["blockOwnerDeletion"] = *r.block_owner_deletion;
  return j;
}

struct PodItem {
  const api::Pod* pod;
  const ViewItem* item;
};

// A merge patch setting the pod's ownerReferences. It replaces the whole list, so it carries
// the pod's uid and resourceVersion: the server refuses it if the pod changed meanwhile.
std::string OwnerRefsPatch(const PodItem& p, const std::vector<api::OwnerReference>& refs) {
  const api::ObjectMeta& m = p.pod->metadata;
  nlohmann::json list = nullptr;
  if (!refs.empty()) {
    list = nlohmann::json::array();
    for (const auto& r : refs) list.push_back(RefJson(r));
  }
  std::string rv = m.resource_version.empty() ? std::to_string(p.item->seq) : m.resource_version;
  nlohmann::json patch = {
      {"metadata", {{"ownerReferences", list}, {"uid", m.uid}, {"resourceVersion", rv}}}};
  return patch.dump();
}

// One reconciliation of one RC: the steps of the header, each appending its commands.
class RcSync {
 public:
  RcSync(const View& view, const ViewItem& item, const Rc& rc, int64_t now_ns)
      : view_(view), item_(item), rc_(rc), now_(now_ns) {}

  Decision Run() {
    Claim();
    if (Deleting()) {
      reasons_.push_back("being deleted: its pods are left to the garbage collector");
    } else {
      ManageReplicas();
      PruneFailed();
    }
    UpdateStatus();
    Decision d;
    for (auto* list : {&adopt_, &release_, &create_, &delete_, &events_, &status_}) {
      for (auto& c : *list) d.commands.push_back(std::move(c));
    }
    d.requeue_after = requeue_;
    if (reasons_.empty()) reasons_.push_back(InSync());
    for (size_t i = 0; i < reasons_.size(); ++i) d.reason += (i ? "; " : "") + reasons_[i];
    return d;
  }

 private:
  bool Deleting() const { return !rc_.metadata.deletion_timestamp.empty(); }
  int32_t Desired() const { return rc_.spec.replicas.value_or(1); }

  void Requeue(std::chrono::nanoseconds after) {
    if (!requeue_ || after < *requeue_) requeue_ = after;
  }

  // ControllerRefManager.ClaimPods over the active pods, as syncReplicaSet calls it; the
  // failed pods we control are collected on the way for the back-off.
  void Claim() {
    size_t adopted = 0, released = 0;
    for (const ViewItem* item : view_.List(kPodKind, rc_.metadata.namespace_)) {
      const auto* pod = std::get_if<api::Pod>(&item->object);
      if (!pod) continue;
      PodItem p{pod, item};
      const api::OwnerReference* ref = ControllerRef(pod->metadata);
      if (ref && ref->uid != rc_.metadata.uid) continue;  // another controller's
      if (ref && pod->status.phase == "Failed") failed_.push_back(p);
      if (!IsActive(*pod)) continue;
      bool matches = SelectorMatches(rc_, pod->metadata.labels);
      if (ref) {
        if (matches) {
          active_.push_back(p);
        } else if (!Deleting()) {
          std::vector<api::OwnerReference> rest;
          for (const auto& r : pod->metadata.owner_references) {
            if (r.uid != rc_.metadata.uid) rest.push_back(r);
          }
          release_.push_back(Command::Patch(std::string(kPodKind), pod->metadata.namespace_,
                                            pod->metadata.name, OwnerRefsPatch(p, rest),
                                            "release pod " + pod->metadata.name +
                                                ": its labels no longer match selector " +
                                                SelectorText(rc_)));
          ++released;
        }
      } else if (matches && !Deleting()) {
        std::vector<api::OwnerReference> refs = pod->metadata.owner_references;
        refs.push_back(OwnRef(rc_));
        adopt_.push_back(Command::Patch(
            std::string(kPodKind), pod->metadata.namespace_, pod->metadata.name,
            OwnerRefsPatch(p, refs),
            "adopt orphan pod " + pod->metadata.name + " matching selector " + SelectorText(rc_)));
        active_.push_back(p);
        ++adopted;
      }
    }
    if (adopted) reasons_.push_back("adopted " + Plural(adopted, "orphan", "orphans"));
    if (released) reasons_.push_back("released " + Plural(released, "pod", "pods"));
  }

  void ManageReplicas() {
    const int64_t diff = static_cast<int64_t>(active_.size()) - Desired();
    if (diff < 0) ScaleUp(static_cast<size_t>(-diff));
    if (diff > 0) ScaleDown(static_cast<size_t>(diff));
  }

  void ScaleUp(size_t missing) {
    std::string what = "scale up: " + std::to_string(missing) + " of " + std::to_string(Desired()) +
                       " replicas missing";
    if (!rc_.spec.template_) {
      reasons_.push_back(what + ", but the controller has no pod template");
      return;
    }
    const api::PodTemplateSpec& t = *rc_.spec.template_;
    if (!SelectorMatches(rc_, t.metadata.labels)) {
      reasons_.push_back(what + ", but the template's labels do not match selector " +
                         SelectorText(rc_) + ": not creating pods that would never count");
      return;
    }
    if (auto wait = BackoffWait()) {
      reasons_.push_back(what + "; " + *wait);
      return;
    }
    const size_t n = std::min<size_t>(missing, ReplicationReducer::kBurstReplicas);
    if (n < missing) {
      what += ", creating " + std::to_string(n) + " now";
      Requeue(ReplicationReducer::kBurstRequeue);
    }
    reasons_.push_back(what);
    api::Pod pod;
    pod.api_version = kApiVersion;
    pod.kind = kPodKind;
    pod.metadata.generate_name = rc_.metadata.name + "-";
    pod.metadata.namespace_ = rc_.metadata.namespace_;
    pod.metadata.labels = t.metadata.labels;
    pod.metadata.annotations = t.metadata.annotations;
    pod.metadata.finalizers = t.metadata.finalizers;
    pod.metadata.owner_references = {OwnRef(rc_)};
    pod.spec = t.spec;
    const api::Object object(std::move(pod));
    for (size_t i = 0; i < n; ++i) {
      create_.push_back(Command::Create(object, "create replica " + std::to_string(i + 1) + " of " +
                                                    std::to_string(n) + " from the template"));
    }
    events_.push_back(
        RecordEvent("SuccessfulCreate", "Created " + Plural(n, "pod", "pods") + " from template"));
  }

  // When our pods failed recently: why creation waits, after asking to be requeued for it.
  std::optional<std::string> BackoffWait() {
    const int64_t window = ReplicationReducer::kFailureWindow.count();
    int64_t k = 0, latest = std::numeric_limits<int64_t>::min();
    for (const PodItem& p : failed_) {
      if (p.item->time_ns <= now_ - window) continue;
      ++k;
      latest = std::max(latest, p.item->time_ns);
    }
    if (k == 0) return std::nullopt;
    const int64_t cap = ReplicationReducer::kFailureBackoffCap.count();
    int64_t delay = ReplicationReducer::kFailureBackoffBase.count();
    for (int64_t i = 1; i < k && delay < cap; ++i) delay *= 2;
    delay = std::min(delay, cap);
    const int64_t until = latest + delay;
    if (now_ >= until) return std::nullopt;
    const std::chrono::nanoseconds wait(until - now_);
    Requeue(wait);
    return "backing off " + FormatDuration(wait) + " (" +
           FormatDuration(std::chrono::nanoseconds(delay)) +
           " after the last failure): " + Plural(k, "pod", "pods") + " failed in the last " +
           FormatDuration(ReplicationReducer::kFailureWindow);
  }

  void ScaleDown(size_t surplus) {
    std::map<std::string, int> on_node;  // our active pods per node ("" = unassigned)
    for (const PodItem& p : active_) ++on_node[p.pod->spec.node_name];
    std::vector<const api::Pod*> ranked;
    for (const PodItem& p : active_) ranked.push_back(p.pod);
    auto rank = [&](const api::Pod* p) { return on_node[p->spec.node_name]; };
    // True when `a` is to be deleted before `b` (Kubernetes' ActivePodsWithRanks.Less).
    auto before = [&](const api::Pod* a, const api::Pod* b) {
      if (a->spec.node_name.empty() != b->spec.node_name.empty()) return a->spec.node_name.empty();
      int pa = PhaseOrdinal(a->status.phase), pb = PhaseOrdinal(b->status.phase);
      if (pa != pb) return pa < pb;
      bool ra = IsReady(*a), rb = IsReady(*b);
      if (ra != rb) return !ra;
      if (rank(a) != rank(b)) return rank(a) > rank(b);
      if (ra && rb) {
        const api::Time& ta = ReadyCondition(*a)->last_transition_time;
        const api::Time& tb = ReadyCondition(*b)->last_transition_time;
        if (ta != tb) return AfterOrZero(ta, tb);
      }
      if (MaxRestarts(*a) != MaxRestarts(*b)) return MaxRestarts(*a) > MaxRestarts(*b);
      const api::Time& ca = a->metadata.creation_timestamp;
      const api::Time& cb = b->metadata.creation_timestamp;
      if (ca != cb) return AfterOrZero(ca, cb);
      if (a->metadata.uid != b->metadata.uid) return a->metadata.uid < b->metadata.uid;
      return a->metadata.name < b->metadata.name;
    };
    std::sort(ranked.begin(), ranked.end(), before);
    const size_t n = std::min<size_t>(surplus, ReplicationReducer::kBurstReplicas);
    std::string what = "scale down: " + std::to_string(active_.size()) + " replicas, " +
                       std::to_string(Desired()) + " desired";
    if (n < surplus) {
      what += ", deleting " + std::to_string(n) + " now";
      Requeue(ReplicationReducer::kBurstRequeue);
    }
    reasons_.push_back(what);
    for (size_t i = 0; i < n; ++i) {
      Delete(*ranked[i], "delete surplus replica " + ranked[i]->metadata.name);
    }
  }

  // Failed pods are kept for their logs and status, but only the last few.
  void PruneFailed() {
    std::vector<PodItem> failed;
    for (const PodItem& p : failed_) {
      if (!IsTerminating(*p.pod)) failed.push_back(p);
    }
    if (failed.size() <= static_cast<size_t>(ReplicationReducer::kKeepFailedPods)) return;
    std::sort(failed.begin(), failed.end(), [](const PodItem& a, const PodItem& b) {
      if (a.item->time_ns != b.item->time_ns) return a.item->time_ns > b.item->time_ns;
      return a.pod->metadata.uid < b.pod->metadata.uid;
    });
    const size_t n = failed.size() - ReplicationReducer::kKeepFailedPods;
    for (size_t i = ReplicationReducer::kKeepFailedPods; i < failed.size(); ++i) {
      Delete(*failed[i].pod, "delete failed pod " + failed[i].pod->metadata.name + ": only the " +
                                 std::to_string(ReplicationReducer::kKeepFailedPods) +
                                 " most recent failures are kept");
    }
    reasons_.push_back("deleted " + Plural(n, "failed pod", "failed pods") + " beyond the " +
                       std::to_string(ReplicationReducer::kKeepFailedPods) +
                       " most recent failures");
  }

  void Delete(const api::Pod& pod, std::string reason) {
    delete_.push_back(Command::Delete(std::string(kPodKind), pod.metadata.namespace_,
                                      pod.metadata.name, pod.metadata.uid, std::move(reason)));
    events_.push_back(RecordEvent("SuccessfulDelete", "Deleted pod: " + pod.metadata.name));
  }

  Command RecordEvent(std::string reason, std::string message) const {
    api::ObjectReference rc;
    rc.kind = kRcKind;
    rc.namespace_ = rc_.metadata.namespace_;
    rc.name = rc_.metadata.name;
    rc.uid = rc_.metadata.uid;
    rc.resource_version = ResourceVersion();
    return reactor::RecordEvent({.about = std::move(rc),
                                 .ns = rc_.metadata.namespace_,
                                 .reason = std::move(reason),
                                 .message = std::move(message),
                                 .component = std::string(kComponent),
                                 .now_ns = now_});
  }

  std::string ResourceVersion() const {
    return rc_.metadata.resource_version.empty() ? std::to_string(item_.seq)
                                                 : rc_.metadata.resource_version;
  }

  // calculateStatus over the claimed active pods.
  void UpdateStatus() {
    api::ReplicationControllerStatus s = rc_.status;
    s.replicas = static_cast<int32_t>(active_.size());
    s.fully_labeled_replicas = s.ready_replicas = s.available_replicas = 0;
    s.observed_generation = rc_.metadata.generation;
    const int64_t min_ready = int64_t{rc_.spec.min_ready_seconds} * 1'000'000'000;
    const api::StringMap* template_labels =
        rc_.spec.template_ ? &rc_.spec.template_->metadata.labels : nullptr;
    for (const PodItem& p : active_) {
      if (template_labels && HasAll(*template_labels, p.pod->metadata.labels)) {
        ++s.fully_labeled_replicas;
      }
      if (!IsReady(*p.pod)) continue;
      ++s.ready_replicas;
      if (min_ready == 0) {
        ++s.available_replicas;
        continue;
      }
      const api::Time& since = ReadyCondition(*p.pod)->last_transition_time;
      if (since.empty()) continue;  // never available: Kubernetes needs the transition time
      if (since.unix_ns + min_ready <= now_) {
        ++s.available_replicas;
      } else {
        Requeue(std::chrono::nanoseconds(since.unix_ns + min_ready - now_));
      }
    }
    status_summary_ = std::to_string(s.ready_replicas) + "/" + std::to_string(Desired()) + " ready";
    if (s.available_replicas != s.ready_replicas) {
      status_summary_ += ", " + std::to_string(s.available_replicas) + " available";
    }
    if (s == rc_.status) return;
    reasons_.push_back("status: " + status_summary_);
    Rc next = rc_;
    next.status = s;
    if (next.metadata.resource_version.empty()) next.metadata.resource_version = ResourceVersion();
    status_.push_back(Command::UpdateStatus(
        api::Object(std::move(next)),
        "update status: " + std::to_string(s.replicas) + " replicas, " + status_summary_ +
            ", observed generation " + std::to_string(s.observed_generation)));
  }

  std::string InSync() const {
    return "in sync: " + std::to_string(active_.size()) + " of " + std::to_string(Desired()) +
           " replicas, " + status_summary_;
  }

  const View& view_;
  const ViewItem& item_;
  const Rc& rc_;
  const int64_t now_;

  std::vector<PodItem> active_;  // claimed, matching, active; in name order
  std::vector<PodItem> failed_;  // Failed pods we control, in name order
  std::vector<Command> adopt_, release_, create_, delete_, events_, status_;
  std::vector<std::string> reasons_;
  std::string status_summary_;
  std::optional<std::chrono::nanoseconds> requeue_;
};

}  // namespace

void ReplicationReducer::Wake(const View& view, const Event& e, const api::Object* before,
                              std::vector<std::string>* keys) const {
  if (e.kind == kRcKind) {
    keys->push_back(reactor::NamespacedKey(e.ns, e.name));
    return;
  }
  if (e.kind != kPodKind) return;
  const api::Pod* old_pod = before ? std::get_if<api::Pod>(before) : nullptr;
  const api::Pod* new_pod =
      e.type == EventType::kDeleted ? nullptr : view.Get<api::Pod>(e.ns, e.name);
  const size_t first = keys->size();
  for (const api::Pod* p : {old_pod, new_pod}) {
    if (!p) continue;
    if (const Rc* rc = ControllerOf(view, *p))
      keys->push_back(reactor::NamespacedKey(e.ns, rc->metadata.name));
  }
  const api::Pod* now = new_pod ? new_pod : old_pod;
  const bool orphan = now && !ControllerRef(now->metadata);
  const bool relabeled = old_pod && new_pod && old_pod->metadata.labels != new_pod->metadata.labels;
  if (orphan || relabeled) {
    for (const Rc* rc : view.ListAs<Rc>(e.ns)) {
      if ((old_pod && SelectorMatches(*rc, old_pod->metadata.labels)) ||
          (new_pod && SelectorMatches(*rc, new_pod->metadata.labels))) {
        keys->push_back(reactor::NamespacedKey(e.ns, rc->metadata.name));
      }
    }
  }
  std::sort(keys->begin() + first, keys->end());
  keys->erase(std::unique(keys->begin() + first, keys->end()), keys->end());
}

void ReplicationReducer::AllKeys(const View& view, std::vector<std::string>* keys) const {
  for (const Rc* rc : view.ListAs<Rc>()) {
    keys->push_back(reactor::NamespacedKey(rc->metadata.namespace_, rc->metadata.name));
  }
}

Decision ReplicationReducer::Reconcile(const View& view, const std::string& key,
                                       int64_t now_ns) const {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return Decision{{}, std::nullopt, "bad key " + key};
  const ViewItem* item = view.Find(kRcKind, key.substr(0, slash), key.substr(slash + 1));
  const Rc* rc = item ? std::get_if<Rc>(&item->object) : nullptr;
  if (!rc) return Decision{{}, std::nullopt, "replication controller " + key + " is gone"};
  return RcSync(view, *item, *rc, now_ns).Run();
}

}  // namespace korc::controllers
