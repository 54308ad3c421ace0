// The scheduler's filters: may this pod run on this node? A table of small pure functions,
// each Kubernetes' Filter of one plugin, each giving the exact reason text kube-scheduler
// shows in "0/5 nodes are available: ..." when the node does not fit.
//
//   NodeReady          condition Ready is True          "node(s) were not ready"
//   NodeUnschedulable  spec.unschedulable unset, or     "node(s) were unschedulable"
//                      the pod tolerates node.kubernetes.io/unschedulable:NoSchedule
//   TaintToleration    every NoSchedule/NoExecute       "node(s) had untolerated taint
//                      taint tolerated                   {key: value}" (the first one)
//   NodeAffinity       nodeSelector ⊆ node labels       "node(s) didn't match Pod's node
//                                                        affinity/selector"
//   NodePorts          no host port in use              "node(s) didn't have free ports for
//                                                        the requested pod ports"
//   NodeResourcesFit   pods, cpu, memory,               "Too many pods", "Insufficient cpu",
//                      ephemeral-storage fit             "Insufficient memory", ...
//
// They run in this order and, as Kubernetes' framework does, the first filter that fails
// decides the node's reasons (NodeResourcesFit may give several). NodeReady is not a plugin of
// today's kube-scheduler, which relies on the node lifecycle controller's not-ready NoSchedule
// taint; korc's taints not-ready nodes NoExecute only, so the scheduler checks the condition
// itself, first, with the wording of Kubernetes' former CheckNodeCondition predicate.
//
// No filter allocates: reasons are views of static strings or of the NodeInfo.
//
// Thread-safety: pure functions.
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

#include "components/scheduler/node_info.h"

namespace korc::scheduler {

inline constexpr std::string_view kReasonNotReady = "node(s) were not ready";
inline constexpr std::string_view kReasonUnschedulable = "node(s) were unschedulable";
inline constexpr std::string_view kReasonNodeSelector =
    "node(s) didn't match Pod's node affinity/selector";
inline constexpr std::string_view kReasonNodePorts =
    "node(s) didn't have free ports for the requested pod ports";
inline constexpr std::string_view kReasonTooManyPods = "Too many pods";
inline constexpr std::string_view kReasonInsufficientCpu = "Insufficient cpu";
inline constexpr std::string_view kReasonInsufficientMemory = "Insufficient memory";
inline constexpr std::string_view kReasonInsufficientEphemeralStorage =
    "Insufficient ephemeral-storage";

// The reasons one filter gives for one node; empty when the node fits.
class Reasons {
 public:
  static constexpr size_t kMax = 4;
  void Add(std::string_view r) {
    if (n_ < kMax) r_[n_++] = r;
  }
  bool empty() const { return n_ == 0; }
  size_t size() const { return n_; }
  void clear() { n_ = 0; }
  const std::string_view* begin() const { return r_.data(); }
  const std::string_view* end() const { return r_.data() + n_; }

 private:
  std::array<std::string_view, kMax> r_;
  size_t n_ = 0;
};

using FilterFn = void (*)(const PodInfo& pod, const NodeInfo& node, Reasons* out);

void NodeReady(const PodInfo& pod, const NodeInfo& node, Reasons* out);
void NodeUnschedulable(const PodInfo& pod, const NodeInfo& node, Reasons* out);
void TaintToleration(const PodInfo& pod, const NodeInfo& node, Reasons* out);
void NodeAffinity(const PodInfo& pod, const NodeInfo& node, Reasons* out);
void NodePorts(const PodInfo& pod, const NodeInfo& node, Reasons* out);
void NodeResourcesFit(const PodInfo& pod, const NodeInfo& node, Reasons* out);

struct Filter {
  std::string_view name;  // the Kubernetes plugin's name
  FilterFn fn;
};
inline constexpr std::array<Filter, 6> kFilters = {{
    {"NodeReady", NodeReady},
    {"NodeUnschedulable", NodeUnschedulable},
    {"TaintToleration", TaintToleration},
    {"NodeAffinity", NodeAffinity},
    {"NodePorts", NodePorts},
    {"NodeResourcesFit", NodeResourcesFit},
}};

// Runs kFilters in order until one fails; true when the node fits. `out` gets the failing
// filter's reasons (it is cleared first).
bool RunFilters(const PodInfo& pod, const NodeInfo& node, Reasons* out);

// Kubernetes' Toleration.ToleratesTaint: the effects match (or the toleration names none),
// the keys match (or the toleration's is empty), and the operator is Exists, or Equal (or
// unset) with equal values. So {operator: Exists} alone tolerates every taint.
bool ToleratesTaint(const api::Toleration& toleration, const api::Taint& taint);
bool TolerationsTolerateTaint(const std::vector<api::Toleration>& tolerations,
                              const api::Taint& taint);

// Kubernetes' HostPortInfo.CheckConflict for one pair: same protocol and port, and the
// addresses overlap (equal, or either is 0.0.0.0).
bool HostPortsConflict(const HostPort& a, const HostPort& b);

}  // namespace korc::scheduler
