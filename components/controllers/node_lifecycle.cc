#include "components/controllers/node_lifecycle.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace korc::controllers {

namespace {

using reactor::Command;
using reactor::Decision;
using reactor::View;

constexpr int64_t kSecond = 1'000'000'000;
// The event source kube-controller-manager's node lifecycle controller records under.
constexpr std::string_view kComponent = "node-controller";

// The conditions the controller turns Unknown when the kubelet goes silent.
constexpr std::string_view kNodeConditions[] = {"Ready", "MemoryPressure", "DiskPressure",
                                                "PIDPressure"};

const api::NodeCondition* FindCondition(const api::NodeStatus& status, std::string_view type) {
  for (const api::NodeCondition& c : status.conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

// Go's time.Duration.String() for whole seconds: "0s", "41s", "5m0s", "1h0m0s".
std::string FormatDuration(int64_t ns) {
  int64_t s = std::max<int64_t>(ns, 0) / kSecond;
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s >= 60) out += std::to_string(s / 60 % 60) + "m";
  return out + std::to_string(s % 60) + "s";
}

// Kubernetes' Toleration.ToleratesTaint for the taint `key`:NoExecute (empty value).
bool Tolerates(const api::Toleration& t, std::string_view key) {
  if (!t.effect.empty() && t.effect != "NoExecute") return false;
  if (!t.key.empty() && t.key != key) return false;
  if (t.operator_ == "Exists") return true;
  return (t.operator_.empty() || t.operator_ == "Equal") && t.value.empty();
}

// How long `pod` may stay on a node tainted `key`:NoExecute: the eviction timeout when it does
// not tolerate the taint, else the smallest tolerationSeconds of the tolerations that match
// (a negative one counts as 0), or forever (nullopt) when none of them sets a limit.
std::optional<int64_t> EvictionWait(const api::Pod& pod, std::string_view key,
                                    int64_t eviction_timeout) {
  bool tolerated = false;
  std::optional<int64_t> wait;
  for (const api::Toleration& t : pod.spec.tolerations) {
    if (!Tolerates(t, key)) continue;
    tolerated = true;
    if (t.toleration_seconds) {
      int64_t ns = std::max<int64_t>(*t.toleration_seconds, 0) * kSecond;
      if (!wait || ns < *wait) wait = ns;
    }
  }
  if (!tolerated) return eviction_timeout;
  return wait;
}

// Turns the node's conditions Unknown as Kubernetes' tryUpdateNodeHealth does: existing ones
// keep their heartbeat and get a new transition time; missing ones are added as never posted.
void MarkUnknown(api::NodeStatus* status, int64_t now_ns, int64_t created_ns) {
  for (std::string_view type : kNodeConditions) {
    auto it = std::find_if(status->conditions.begin(), status->conditions.end(),
                           [&](const api::NodeCondition& c) { return c.type == type; });
    if (it == status->conditions.end()) {
      api::NodeCondition c;
      c.type = std::string(type);
      c.status = "Unknown";
      c.last_heartbeat_time.unix_ns = created_ns;
      c.last_transition_time.unix_ns = now_ns;
      c.reason = "NodeStatusNeverUpdated";
      c.message = "Kubelet never posted node status.";
      status->conditions.push_back(std::move(c));
    } else if (it->status != "Unknown") {
      it->status = "Unknown";
      it->reason = "NodeStatusUnknown";
      it->message = "Kubelet stopped posting node status.";
      it->last_transition_time.unix_ns = now_ns;
    }
  }
}

void Earliest(std::optional<int64_t>* next, int64_t t) {
  if (!*next || t < **next) *next = t;
}

std::string Plural(int n, std::string_view what) {
  return std::to_string(n) + " " + std::string(what) + (n == 1 ? "" : "s");
}

// A Kubernetes Event about `about`, as the node controller's recorder writes it, so that
// `kubectl describe` shows the decision under the object. It lives in `ns`: the object's
// namespace, or "default" for a Node (Kubernetes files events about cluster-scoped objects
// there). Its name is the server's (generateName), so a replayed decision, which keeps its
// command id, still records it once.
Command RecordEvent(api::ObjectReference about, std::string ns, std::string reason,
                    std::string message, int64_t now_s) {
  return reactor::RecordEvent({.about = std::move(about),
                               .ns = std::move(ns),
                               .reason = std::move(reason),
                               .message = std::move(message),
                               .component = std::string(kComponent),
                               .now_ns = now_s});
}

// Kubernetes' nodeutil.RecordNodeStatusChange.
Command NodeStatusEvent(const api::Node& node, std::string status, int64_t now_s) {
  api::ObjectReference ref;
  ref.kind = KindName<api::Node>();
  ref.name = node.metadata.name;
  ref.uid = node.metadata.uid;
  return RecordEvent(std::move(ref), "default", status,
                     "Node " + node.metadata.name + " status is now: " + status, now_s);
}

// The taint manager's emitPodDeletionEvent.
Command EvictionEvent(const api::Pod& pod, int64_t now_s) {
  api::ObjectReference ref;
  ref.kind = KindName<api::Pod>();
  ref.namespace_ = pod.metadata.namespace_;
  ref.name = pod.metadata.name;
  ref.uid = pod.metadata.uid;
  return RecordEvent(
      std::move(ref), pod.metadata.namespace_, "TaintManagerEviction",
      "Marking for deletion Pod " + pod.metadata.namespace_ + "/" + pod.metadata.name, now_s);
}

}  // namespace

int64_t LastHeartbeatNs(const View& view, const api::Node& node) {
  const api::NodeCondition* ready = FindCondition(node.status, "Ready");
  int64_t heartbeat = ready && !ready->last_heartbeat_time.empty()
                          ? ready->last_heartbeat_time.unix_ns
                          : node.metadata.creation_timestamp.unix_ns;
  if (const auto* lease = view.Get<api::Lease>(kNodeLeaseNamespace, node.metadata.name)) {
    heartbeat = std::max(heartbeat, lease->spec.renew_time.unix_ns);
  }
  return heartbeat;
}

std::vector<std::string> NodeLifecycleReducer::kinds() const {
  return {std::string(KindName<api::Node>()), std::string(KindName<api::Pod>()),
          std::string(KindName<api::Lease>())};
}

void NodeLifecycleReducer::Wake(const View& view, const Event& e, const api::Object* before,
                                std::vector<std::string>* keys) const {
  if (e.kind == KindName<api::Node>()) {
    keys->push_back(e.name);
  } else if (e.kind == KindName<api::Lease>()) {
    // A renewal moves the node's deadline; a Lease elsewhere is not a node's.
    if (e.ns == kNodeLeaseNamespace) keys->push_back(e.name);
  } else if (e.kind == KindName<api::Pod>()) {
    // The pod's node (before and after a binding): a pod landing on or leaving a node that is
    // not Ready changes what the node's decision does.
    const api::Pod* old_pod = before ? std::get_if<api::Pod>(before) : nullptr;
    const api::Pod* new_pod = view.Get<api::Pod>(e.ns, e.name);
    std::string old_node = old_pod ? old_pod->spec.node_name : "";
    std::string new_node = new_pod ? new_pod->spec.node_name : "";
    if (!old_node.empty()) keys->push_back(old_node);
    if (!new_node.empty() && new_node != old_node) keys->push_back(new_node);
  }
}

void NodeLifecycleReducer::AllKeys(const View& view, std::vector<std::string>* keys) const {
  for (const api::Node* node : view.ListAs<api::Node>()) keys->push_back(node->metadata.name);
}

Decision NodeLifecycleReducer::Reconcile(const View& view, const std::string& key,
                                         int64_t now_ns) const {
  Decision d;
  const std::string node_name = "node " + key;
  const api::Node* node = view.Get<api::Node>("", key);
  if (!node) {
    d.reason = node_name + ": gone";
    return d;
  }
  // Times go out with second precision (metav1.Time); decide with what will be stored.
  const int64_t now_s = now_ns - now_ns % kSecond;
  const int64_t heartbeat = LastHeartbeatNs(view, *node);
  const api::NodeCondition* ready = FindCondition(node->status, "Ready");
  std::string ready_status = ready ? ready->status : "";
  int64_t not_ready_since = heartbeat;
  if (ready && !ready->last_transition_time.empty()) {
    not_ready_since = ready->last_transition_time.unix_ns;
  }
  std::optional<int64_t> next;  // the earliest future deadline
  std::string summary;

  // 1. Heartbeats.
  bool status_written = false;
  if (ready_status != "Unknown") {
    const int64_t deadline = heartbeat + options_.grace_period.count();
    const std::string silent = FormatDuration(now_ns - heartbeat);
    if (now_ns >= deadline) {
      api::Node updated = *node;
      MarkUnknown(&updated.status, now_s, node->metadata.creation_timestamp.unix_ns);
      d.commands.push_back(Command::UpdateStatus(
          api::Object(std::move(updated)),
          "mark " + node_name + " Ready=Unknown: no heartbeat for " + silent));
      d.commands.push_back(NodeStatusEvent(*node, "NodeNotReady", now_s));
      status_written = true;
      ready_status = "Unknown";
      not_ready_since = now_s;
      summary = "no heartbeat for " + silent + ", marking Ready=Unknown";
    } else {
      Earliest(&next, deadline);
      summary = ready_status.empty() ? "no status posted yet, last seen " + silent + " ago"
                                     : "Ready=" + ready_status + ", heartbeat " + silent + " ago";
    }
  } else {
    summary = "unreachable for " + FormatDuration(now_ns - not_ready_since);
  }

  // 2. The NoExecute taint that says why the node is not Ready. The node was just written
  // (status) if status_written; its spec waits for the next decision, which that write wakes.
  const std::string_view want_taint = ready_status == "Unknown" ? kTaintUnreachable
                                      : ready_status == "False" ? kTaintNotReady
                                                                : std::string_view();
  if (!status_written) {
    api::Node updated = *node;
    std::vector<std::string> changes;
    auto& taints = updated.spec.taints;
    for (auto it = taints.begin(); it != taints.end();) {
      bool managed =
          it->effect == "NoExecute" && (it->key == kTaintUnreachable || it->key == kTaintNotReady);
      if (managed && it->key != want_taint) {
        changes.push_back("remove taint " + it->key + ":NoExecute");
        it = taints.erase(it);
      } else {
        ++it;
      }
    }
    if (!want_taint.empty() && std::none_of(taints.begin(), taints.end(), [&](const api::Taint& t) {
          return t.key == want_taint && t.effect == "NoExecute";
        })) {
      taints.push_back({std::string(want_taint), "", "NoExecute", {now_s}});
      changes.push_back("add taint " + std::string(want_taint) + ":NoExecute");
    }
    if (!changes.empty()) {
      std::string what;
      for (const std::string& c : changes) what += (what.empty() ? "" : ", ") + c;
      d.commands.push_back(
          Command::Update(api::Object(std::move(updated)), what + " on " + node_name));
      summary += "; " + what;
    }
  }

  // 3. Pods of a node that is not Ready: marked not ready, evicted once their wait is over.
  if (ready_status == "Unknown" || ready_status == "False") {
    const std::string why = ready_status == "Unknown" ? "unreachable" : "not ready";
    int evicted = 0, marked = 0, staying = 0;
    for (const api::Pod* pod : view.PodsOnNode(key)) {
      if (!pod->metadata.deletion_timestamp.empty()) continue;
      std::optional<int64_t> wait =
          EvictionWait(*pod, want_taint, options_.eviction_timeout.count());
      if (wait && now_ns >= not_ready_since + *wait) {
        // As the taint manager: the event, then the deletion it announces.
        d.commands.push_back(EvictionEvent(*pod, now_s));
        d.commands.push_back(Command::Delete(std::string(KindName<api::Pod>()),
                                             pod->metadata.namespace_, pod->metadata.name,
                                             pod->metadata.uid,
                                             "evicted: " + node_name + " " + why + " for " +
                                                 FormatDuration(now_ns - not_ready_since)));
        ++evicted;
        continue;
      }
      if (wait) {
        Earliest(&next, not_ready_since + *wait);
      } else {
        ++staying;
      }
      auto& conditions = pod->status.conditions;
      auto it = std::find_if(conditions.begin(), conditions.end(),
                             [](const api::PodCondition& c) { return c.type == "Ready"; });
      if (it != conditions.end() && it->status != "False") {
        api::Pod updated = *pod;
        api::PodCondition& c = updated.status.conditions[it - conditions.begin()];
        c.status = "False";
        c.last_transition_time.unix_ns = now_s;
        d.commands.push_back(Command::UpdateStatus(
            api::Object(std::move(updated)), "mark pod " + pod->metadata.namespace_ + "/" +
                                                 pod->metadata.name + " not ready: " + node_name +
                                                 " " + why));
        ++marked;
      }
    }
    if (evicted) summary += "; " + Plural(evicted, "pod") + " evicted";
    if (marked) summary += "; " + Plural(marked, "pod") + " marked not ready";
    if (staying) summary += "; " + Plural(staying, "pod") + " tolerating it indefinitely";
  }

  if (next) {
    d.requeue_after = std::chrono::nanoseconds(*next - now_ns);
    summary += "; next check in " + FormatDuration(*next - now_ns + kSecond - 1);
  }
  d.reason = node_name + ": " + summary;
  return d;
}

}  // namespace korc::controllers
