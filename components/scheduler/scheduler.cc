#include "components/scheduler/scheduler.h"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "components/scheduler/filters.h"
#include "components/scheduler/node_info.h"
#include "components/scheduler/scores.h"

namespace korc::scheduler {
namespace {

using reactor::Command;
using reactor::Decision;
using reactor::View;
using reactor::ViewItem;

constexpr std::string_view kPodKind = "Pod";
constexpr std::string_view kNodeKind = "Node";
constexpr std::string_view kComponent = "default-scheduler";

std::string Plural(size_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

bool IsTerminating(const api::Pod& p) { return !p.metadata.deletion_timestamp.empty(); }

bool IsOurs(const api::Pod& p) {
  return p.spec.scheduler_name.empty() || p.spec.scheduler_name == SchedulerReducer::kSchedulerName;
}

const api::PodCondition* ScheduledCondition(const api::Pod& p) {
  for (const auto& c : p.status.conditions) {
    if (c.type == "PodScheduled") return &c;
  }
  return nullptr;
}

bool FoundUnschedulable(const api::Pod& p) {
  const api::PodCondition* c = ScheduledCondition(p);
  return c && c->status == "False" && c->reason == "Unschedulable";
}

const api::OwnerReference* ControllerRef(const api::ObjectMeta& m) {
  for (const auto& ref : m.owner_references) {
    if (ref.controller.value_or(false)) return &ref;
  }
  return nullptr;
}

// A Service's selector as Kubernetes applies it for spreading: a set, matched by subset. An
// empty selector selects nothing (the Service has manually managed endpoints).
bool Selects(const api::Service& s, const api::StringMap& labels) {
  if (s.spec.selector.empty()) return false;
  for (const auto& [k, v] : s.spec.selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

struct Candidate {
  const ViewItem* item;
  const api::Pod* pod;
  bool retry;  // found unschedulable before
};

// Reasons counted over the nodes a pod was tried on. Most reasons are the same static string,
// so the comparison of data pointers settles most lookups without comparing text.
class Histogram {
 public:
  void Add(std::string_view reason) {
    for (auto& [r, n] : counts_) {
      if ((r.data() == reason.data() && r.size() == reason.size()) || r == reason) {
        ++n;
        return;
      }
    }
    counts_.emplace_back(reason, 1);
  }
  void clear() { counts_.clear(); }
  // kube-scheduler's FitError.Error(): "0/5 nodes are available: 3 Insufficient cpu, ...".
  std::string Message(size_t num_nodes) const {
    std::vector<std::string> parts;
    for (const auto& [r, n] : counts_) parts.push_back(std::to_string(n) + " " + std::string(r));
    std::sort(parts.begin(), parts.end());
    std::string out = "0/" + std::to_string(num_nodes) + " nodes are available:";
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : " ") + parts[i];
    return out + ".";
  }

 private:
  std::vector<std::pair<std::string_view, size_t>> counts_;
};

// One decision: the steps of the header.
class Cycle {
 public:
  Cycle(const View& view, const SchedulerOptions& options, int64_t now_ns)
      : view_(view), options_(options), now_(now_ns) {}

  Decision Run() {
    BuildNodes();
    ScanPods();
    std::vector<Candidate> batch = TakeBatch();
    std::vector<PodInfo> infos;
    infos.reserve(batch.size());
    for (const Candidate& c : batch) infos.push_back(MakePodInfo(*c.pod));
    AssignGroups(&infos);
    for (size_t i = 0; i < batch.size(); ++i) Place(batch[i], infos[i]);
    return Finish(batch.size());
  }

 private:
  void BuildNodes() {
    const std::vector<const ViewItem*> items = view_.List(kNodeKind);
    nodes_.reserve(items.size());
    for (const ViewItem* item : items) {
      const auto* node = std::get_if<api::Node>(&item->object);
      if (!node) continue;
      node_index_.emplace(node->metadata.name, static_cast<uint32_t>(nodes_.size()));
      nodes_.push_back(MakeNodeInfo(*node));
    }
  }

  // One pass over the pods: usage of the bound ones, the queue of unbound ones.
  void ScanPods() {
    for (const ViewItem* item : view_.List(kPodKind)) {
      const auto* pod = std::get_if<api::Pod>(&item->object);
      if (!pod || IsTerminal(*pod)) continue;
      if (!pod->spec.node_name.empty()) {
        auto it = node_index_.find(pod->spec.node_name);
        if (it == node_index_.end()) continue;
        AddPod(MakePodInfo(*pod), &nodes_[it->second]);
        bound_.emplace_back(pod, it->second);
      } else if (!IsTerminating(*pod) && IsOurs(*pod)) {
        queue_.push_back({item, pod, FoundUnschedulable(*pod)});
      }
    }
  }

  std::vector<Candidate> TakeBatch() {
    std::sort(queue_.begin(), queue_.end(), [](const Candidate& a, const Candidate& b) {
      if (a.retry != b.retry) return !a.retry;
      const api::ObjectMeta& ma = a.pod->metadata;
      const api::ObjectMeta& mb = b.pod->metadata;
      if (ma.creation_timestamp != mb.creation_timestamp) {
        return ma.creation_timestamp < mb.creation_timestamp;
      }
      if (ma.namespace_ != mb.namespace_) return ma.namespace_ < mb.namespace_;
      return ma.name < mb.name;
    });
    const size_t limit = std::max<size_t>(options_.batch_size, 1);
    if (queue_.size() <= limit) return queue_;
    capped_ = true;
    const size_t fresh = static_cast<size_t>(
        std::count_if(queue_.begin(), queue_.end(), [](const Candidate& c) { return !c.retry; }));
    std::vector<Candidate> batch(queue_.begin(), queue_.begin() + std::min(fresh, limit));
    const size_t room = limit - batch.size();
    const size_t retries = queue_.size() - fresh;
    if (room > 0 && retries > 0) {
      // Retries do not all fit: a window of them, moving on every kRetryWindow.
      const size_t windows = (retries + room - 1) / room;
      const int64_t tick = now_ / SchedulerReducer::kRetryWindow.count();
      const size_t start = static_cast<size_t>(tick % static_cast<int64_t>(windows)) * room;
      for (size_t i = 0; i < room; ++i) batch.push_back(queue_[fresh + (start + i) % retries]);
    }
    return batch;
  }

  // Spreading groups of the batch's pods, then how many pods of those groups each node holds.
  // Only groups of the batch are counted: the bound pods' other owners and Services matter to
  // no score of this decision.
  void AssignGroups(std::vector<PodInfo>* infos) {
    std::unordered_map<std::string_view, GroupId> owners;  // controller uid -> group
    struct ServiceGroup {
      const api::Service* service;
      GroupId id;
    };
    std::unordered_map<std::string_view, std::vector<ServiceGroup>> services;  // by namespace
    std::unordered_map<std::string_view, std::vector<const api::Service*>> by_ns;
    GroupId next = 0;
    for (PodInfo& p : *infos) {
      const api::ObjectMeta& m = p.pod->metadata;
      if (const api::OwnerReference* ref = ControllerRef(m); ref && !ref->uid.empty()) {
        auto [it, added] = owners.emplace(ref->uid, next);
        if (added) ++next;
        p.groups.push_back(it->second);
      }
      auto [ns_it, first] = by_ns.try_emplace(m.namespace_);
      if (first) ns_it->second = view_.ListAs<api::Service>(m.namespace_);
      for (const api::Service* s : ns_it->second) {
        if (!Selects(*s, m.labels)) continue;
        std::vector<ServiceGroup>& groups = services[m.namespace_];
        auto g = std::find_if(groups.begin(), groups.end(),
                              [&](const ServiceGroup& sg) { return sg.service == s; });
        if (g == groups.end()) g = groups.insert(groups.end(), ServiceGroup{s, next++});
        p.groups.push_back(g->id);
      }
    }
    if (next == 0) return;
    std::vector<GroupId> groups;
    for (const auto& [pod, node] : bound_) {
      groups.clear();
      if (const api::OwnerReference* ref = ControllerRef(pod->metadata); ref && !owners.empty()) {
        if (auto it = owners.find(ref->uid); it != owners.end()) groups.push_back(it->second);
      }
      if (auto it = services.find(pod->metadata.namespace_); it != services.end()) {
        for (const ServiceGroup& sg : it->second) {
          if (Selects(*sg.service, pod->metadata.labels)) groups.push_back(sg.id);
        }
      }
      if (!groups.empty()) AddGroupCounts(groups, &nodes_[node]);
    }
  }

  void Place(const Candidate& c, PodInfo& pod) {
    const size_t n = nodes_.size();
    if (n == 0) return Unschedulable(c, "no nodes available to schedule pods");
    const size_t want = NumFeasibleNodesToFind(n, options_.percentage_of_nodes_to_score);
    feasible_.clear();
    histogram_.clear();
    Reasons reasons;
    size_t idx = pod.hash % n;
    for (size_t tried = 0; tried < n; ++tried, idx = idx + 1 == n ? 0 : idx + 1) {
      if (RunFilters(pod, nodes_[idx], &reasons)) {
        feasible_.push_back(static_cast<uint32_t>(idx));
        if (feasible_.size() >= want) break;
      } else {
        for (std::string_view r : reasons) histogram_.Add(r);
      }
    }
    if (feasible_.empty()) return Unschedulable(c, histogram_.Message(n));

    uint32_t max_spread = 0;
    spread_.resize(feasible_.size());
    for (size_t i = 0; i < feasible_.size(); ++i) {
      spread_[i] = pod.groups.empty() ? 0 : SpreadCount(pod, nodes_[feasible_[i]]);
      max_spread = std::max(max_spread, spread_[i]);
    }
    size_t best = 0;
    NodeScore best_score;
    for (size_t i = 0; i < feasible_.size(); ++i) {
      NodeScore s = Score(pod, nodes_[feasible_[i]], spread_[i], max_spread);
      if (i == 0 || Better(s, best_score)) {
        best = i;
        best_score = s;
      }
    }
    NodeInfo& node = nodes_[feasible_[best]];
    AddPod(pod, &node);
    Bound(c, node, best_score);
  }

  void Bound(const Candidate& c, const NodeInfo& node, const NodeScore& s) {
    const api::ObjectMeta& m = c.pod->metadata;
    std::string node_name(node.name);
    std::string why = "bind to " + node_name + ": score " + std::to_string(s.total) +
                      " (least allocated " + std::to_string(s.least_allocated) +
                      ", balanced allocation " + std::to_string(s.balanced_allocation) +
                      ", spreading " + std::to_string(s.spreading) + " weighted " +
                      std::to_string(kSpreadingWeight) + "), best of " +
                      Plural(feasible_.size(), "feasible node", "feasible nodes");
    binds_.push_back(Command::Bind(m.namespace_, m.name, node_name, std::move(why)));
    if (options_.scheduled_events) {
      events_.push_back(
          PodEvent(c, "Normal", "Scheduled", "Binding",
                   "Successfully assigned " + m.namespace_ + "/" + m.name + " to " + node_name));
    }
    bound_nodes_.insert(node.name);
  }

  void Unschedulable(const Candidate& c, std::string message) {
    ++unschedulable_;
    const api::PodCondition* old = ScheduledCondition(*c.pod);
    if (old && old->status == "False" && old->reason == "Unschedulable" &&
        old->message == message) {
      return;  // already says so: no write, no Event
    }
    api::Pod next = *c.pod;
    api::PodCondition cond{"PodScheduled", "False", {}, {}, "Unschedulable", message};
    // metav1.Time is whole seconds on the wire; a rounded time reads back equal.
    cond.last_transition_time.unix_ns = old && old->status == "False"
                                            ? old->last_transition_time.unix_ns
                                            : now_ - now_ % 1'000'000'000;
    auto it = std::find_if(next.status.conditions.begin(), next.status.conditions.end(),
                           [](const api::PodCondition& pc) { return pc.type == "PodScheduled"; });
    if (it != next.status.conditions.end()) {
      *it = cond;
    } else {
      next.status.conditions.push_back(cond);
    }
    if (next.metadata.resource_version.empty()) {
      next.metadata.resource_version = std::to_string(c.item->seq);
    }
    statuses_.push_back(
        Command::UpdateStatus(api::Object(std::move(next)),
                              "pod " + c.pod->metadata.name + " is unschedulable: " + message));
    events_.push_back(PodEvent(c, "Warning", "FailedScheduling", "Scheduling", std::move(message)));
    ++unschedulable_changed_;
  }

  Command PodEvent(const Candidate& c, std::string type, std::string reason, std::string action,
                   std::string message) const {
    const api::ObjectMeta& m = c.pod->metadata;
    api::ObjectReference pod;
    pod.kind = kPodKind;
    pod.namespace_ = m.namespace_;
    pod.name = m.name;
    pod.uid = m.uid;
    pod.resource_version =
        m.resource_version.empty() ? std::to_string(c.item->seq) : m.resource_version;
    std::string what = "record event " + reason + " for pod " + m.name + ": " + message;
    return reactor::RecordEvent({.about = std::move(pod),
                                 .ns = m.namespace_,
                                 .type = std::move(type),
                                 .reason = std::move(reason),
                                 .message = std::move(message),
                                 .action = std::move(action),
                                 .component = std::string(kComponent),
                                 .now_ns = now_},
                                std::move(what));
  }

  Decision Finish(size_t batch_size) {
    Decision d;
    d.commands.reserve(binds_.size() + statuses_.size() + events_.size());
    for (auto* list : {&binds_, &statuses_, &events_}) {
      for (auto& c : *list) d.commands.push_back(std::move(c));
    }
    std::vector<std::string> parts;
    if (!binds_.empty()) {
      parts.push_back("bound " + Plural(binds_.size(), "pod", "pods") + " to " +
                      Plural(bound_nodes_.size(), "node", "nodes"));
    }
    if (unschedulable_ > 0) {
      std::string u = std::to_string(unschedulable_) + " unschedulable";
      if (unschedulable_changed_ > 0 && unschedulable_changed_ != unschedulable_) {
        u += " (" + std::to_string(unschedulable_changed_) + " with a new reason)";
      }
      parts.push_back(u);
    }
    if (capped_) {
      parts.push_back(std::to_string(queue_.size() - batch_size) + " more pending");
      d.requeue_after =
          d.commands.empty() ? SchedulerReducer::kRetryWindow : SchedulerReducer::kCappedRequeue;
    }
    if (parts.empty()) parts.push_back("no pods to schedule");
    for (size_t i = 0; i < parts.size(); ++i) d.reason += (i ? "; " : "") + parts[i];
    return d;
  }

  const View& view_;
  const SchedulerOptions& options_;
  const int64_t now_;

  std::vector<NodeInfo> nodes_;  // in name order
  std::unordered_map<std::string_view, uint32_t> node_index_;
  std::vector<std::pair<const api::Pod*, uint32_t>> bound_;  // pods bound to known nodes
  std::vector<Candidate> queue_;
  bool capped_ = false;

  // Scratch of Place, kept to reuse their memory from pod to pod.
  std::vector<uint32_t> feasible_;
  std::vector<uint32_t> spread_;
  Histogram histogram_;

  std::vector<Command> binds_, statuses_, events_;
  std::unordered_set<std::string_view> bound_nodes_;
  size_t unschedulable_ = 0, unschedulable_changed_ = 0;
};

// Whether a Pod event can change what fits where (see the header).
bool PodChangeMatters(const api::Pod* before, const api::Pod* after) {
  if (!before) return after != nullptr;
  if (!after) return !before->spec.node_name.empty() && !IsTerminal(*before);
  return before->spec.node_name != after->spec.node_name ||
         IsTerminal(*before) != IsTerminal(*after) ||
         IsTerminating(*before) != IsTerminating(*after) || !(before->spec == after->spec);
}

}  // namespace

size_t NumFeasibleNodesToFind(size_t num_nodes, int percentage) {
  constexpr size_t kMinFeasibleNodesToFind = 100;
  constexpr int64_t kMinFeasibleNodesPercentageToFind = 5;
  if (num_nodes < kMinFeasibleNodesToFind || percentage >= 100) return num_nodes;
  int64_t pct = percentage;
  if (pct <= 0) {
    pct = std::max<int64_t>(50 - static_cast<int64_t>(num_nodes) / 125,
                            kMinFeasibleNodesPercentageToFind);
  }
  const size_t n = num_nodes * static_cast<size_t>(pct) / 100;
  return std::max(n, kMinFeasibleNodesToFind);
}

void SchedulerReducer::Wake(const View& view, const Event& e, const api::Object* before,
                            std::vector<std::string>* keys) const {
  if (e.kind == kNodeKind) {
    keys->emplace_back(kQueueKey);
    return;
  }
  if (e.kind != kPodKind) return;
  const api::Pod* old_pod = before ? std::get_if<api::Pod>(before) : nullptr;
  const api::Pod* new_pod =
      e.type == EventType::kDeleted ? nullptr : view.Get<api::Pod>(e.ns, e.name);
  if (PodChangeMatters(old_pod, new_pod)) keys->emplace_back(kQueueKey);
}

void SchedulerReducer::AllKeys(const View&, std::vector<std::string>* keys) const {
  keys->emplace_back(kQueueKey);
}

Decision SchedulerReducer::Reconcile(const View& view, const std::string& key,
                                     int64_t now_ns) const {
  if (key != kQueueKey) return Decision{{}, std::nullopt, "unknown key " + key};
  return Cycle(view, options_, now_ns).Run();
}

}  // namespace korc::scheduler
