#include "components/scheduler/filters.h"

namespace korc::scheduler {

bool ToleratesTaint(const api::Toleration& t, const api::Taint& taint) {
  if (!t.effect.empty() && t.effect != taint.effect) return false;
  if (!t.key.empty() && t.key != taint.key) return false;
  if (t.operator_.empty() || t.operator_ == "Equal") return t.value == taint.value;
  return t.operator_ == "Exists";
}

bool TolerationsTolerateTaint(const std::vector<api::Toleration>& tolerations,
                              const api::Taint& taint) {
  for (const api::Toleration& t : tolerations) {
    if (ToleratesTaint(t, taint)) return true;
  }
  return false;
}

bool HostPortsConflict(const HostPort& a, const HostPort& b) {
  if (a.port != b.port || a.protocol != b.protocol) return false;
  return a.ip == b.ip || a.ip == "0.0.0.0" || b.ip == "0.0.0.0";
}

void NodeReady(const PodInfo&, const NodeInfo& node, Reasons* out) {
  if (!node.ready) out->Add(kReasonNotReady);
}

void NodeUnschedulable(const PodInfo& pod, const NodeInfo& node, Reasons* out) {
  if (!node.unschedulable) return;
  static const api::Taint kUnschedulableTaint{
      "node.kubernetes.io/unschedulable", "", "NoSchedule", {}};
  if (!TolerationsTolerateTaint(pod.pod->spec.tolerations, kUnschedulableTaint)) {
    out->Add(kReasonUnschedulable);
  }
}

void TaintToleration(const PodInfo& pod, const NodeInfo& node, Reasons* out) {
  for (const NodeInfo::HardTaint& t : node.hard_taints) {
    if (!TolerationsTolerateTaint(pod.pod->spec.tolerations, *t.taint)) {
      out->Add(t.reason);  // FindMatchingUntoleratedTaint: the first one only
      return;
    }
  }
}

void NodeAffinity(const PodInfo& pod, const NodeInfo& node, Reasons* out) {
  for (const auto& [key, value] : pod.pod->spec.node_selector) {
    auto it = node.labels->find(key);
    if (it == node.labels->end() || it->second != value) {
      out->Add(kReasonNodeSelector);
      return;
    }
  }
}

void NodePorts(const PodInfo& pod, const NodeInfo& node, Reasons* out) {
  for (const HostPort& want : pod.host_ports) {
    for (const HostPort& used : node.used_ports) {
      if (HostPortsConflict(want, used)) {
        out->Add(kReasonNodePorts);
        return;
      }
    }
  }
}

// noderesources.fitsRequest: the pod count first; a pod that requests nothing fits any node
// with room for one more pod; each other resource only when requested.
void NodeResourcesFit(const PodInfo& pod, const NodeInfo& node, Reasons* out) {
  if (node.pods + 1 > node.allowed_pods) out->Add(kReasonTooManyPods);
  const Resources& want = pod.requests;
  const Resources& have = node.allocatable;
  const Resources& used = node.requested;
  if (want.milli_cpu > 0 && want.milli_cpu > have.milli_cpu - used.milli_cpu) {
    out->Add(kReasonInsufficientCpu);
  }
  if (want.memory > 0 && want.memory > have.memory - used.memory) {
    out->Add(kReasonInsufficientMemory);
  }
  if (want.ephemeral_storage > 0 &&
      want.ephemeral_storage > have.ephemeral_storage - used.ephemeral_storage) {
    out->Add(kReasonInsufficientEphemeralStorage);
  }
}

bool RunFilters(const PodInfo& pod, const NodeInfo& node, Reasons* out) {
  out->clear();
  for (const Filter& f : kFilters) {
    f.fn(pod, node, out);
    if (!out->empty()) return false;
  }
  return true;
}

}  // namespace korc::scheduler
