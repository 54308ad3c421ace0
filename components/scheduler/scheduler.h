// The scheduler as a pure reducer: unbound Pods and Nodes in, Bindings out, with Kubernetes'
// semantics (kube-scheduler's default profile: filters.h, scores.h) and its Events and
// PodScheduled condition, so `kubectl describe pod` explains a Pending pod the same way.
//
// One key, "queue", for the whole cluster: one decision at a time places a batch of pods
// against one picture of node usage, and the runtime's expectations hold the next decision
// until the view holds this one's bindings. That is what rules out overcommit and double
// binding without any cache of "assumed" pods.
//
// Wake: "queue" on every Node event, and on a Pod event that can change what fits: a new pod
// (unbound: to place; bound: takes room), a deleted bound pod, a change of spec.nodeName, of
// spec (requests, selector, tolerations, ports), of being terminal or of being deleted.
// Status-only changes (kubelets' reports, this reducer's own PodScheduled writes) wake
// nothing. Services only feed spreading, which does not change what fits: they wake nothing.
//
// Reconcile("queue", now):
//   1. Node usage, once: every node's allocatable and, from one pass over the pods, what the
//      pods bound to it and not Succeeded/Failed request (terminating pods still count), its
//      pod count, host ports and spreading groups.
//   2. The queue: unbound pods for "default-scheduler" (or no schedulerName) that are neither
//      terminal nor being deleted. First those not yet found unschedulable, oldest first
//      (creationTimestamp, then namespace/name); then those that were (PodScheduled=False,
//      reason Unschedulable), oldest first. At most `batch_size` pods per decision; when
//      retries do not all fit in the batch, the window of retries rotates with `now` (one
//      window per kRetryWindow) so none is starved by older unschedulable pods.
//   3. Each pod in turn, against usage that includes this decision's earlier placements:
//      the filters on nodes in a fixed rotation starting at Fnv1a(uid) mod #nodes, stopping
//      once NumFeasibleNodesToFind(#nodes) fit (Kubernetes' adaptive percentageOfNodesToScore:
//      all nodes below 100; else max(5, 50 - #nodes/125) percent, at least 100: 500 of 5,000);
//      the scores on those; the best wins (ties: scores.h).
//        bound          Bind(ns, pod, node) and, unless disabled, an Event Scheduled
//                       "Successfully assigned ns/pod to node".
//        unschedulable  no node fits (every node was tried): the message
//                       "0/5 nodes are available: 2 node(s) didn't match Pod's node
//                       affinity/selector, 3 Insufficient cpu." — one "count reason" per
//                       reason, sorted as strings as kube-scheduler's FitError does (so by
//                       count first, as text) — or "no nodes available to schedule pods".
//                       Only when the pod's PodScheduled condition differs from
//                       {False, Unschedulable, message}: UpdateStatus (resourceVersion as the
//                       precondition) and an Event FailedScheduling (Warning) with the message.
//   4. Requeue: when the batch was capped, after 1 ms if the decision did something (the
//      runtime still waits for its bindings), else after kRetryWindow (the next retry window).
//
// Commands: binds first, then status updates, then Events. The decision's reason: "bound 1000
// pods to 312 nodes; 3 unschedulable; 2000 more pending". Each bind's reason names the node,
// its score and what made it.
//
// Not implemented (kube-scheduler has them): node affinity terms, pod (anti-)affinity,
// topology spread constraints, PreferNoSchedule scoring, image locality, volumes, extended
// resources, priorities and preemption, nominated nodes.
//
// Thread-safety: immutable; Reconcile and Wake may run concurrently on different views.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "components/reactor/reducer.h"

namespace korc::scheduler {

struct SchedulerOptions {
  // Pods placed (or found unschedulable) per decision.
  size_t batch_size = 1000;
  // Kubernetes' percentageOfNodesToScore: 0 is adaptive (see above), 100 scores every node.
  int percentage_of_nodes_to_score = 0;
  // An Event "Scheduled" per bound pod, as kube-scheduler records.
  bool scheduled_events = true;
};

// Nodes to find feasible before scoring (kube-scheduler's numFeasibleNodesToFind).
size_t NumFeasibleNodesToFind(size_t num_nodes, int percentage_of_nodes_to_score);

class SchedulerReducer : public reactor::Reducer {
 public:
  static constexpr std::string_view kQueueKey = "queue";
  static constexpr std::string_view kSchedulerName = "default-scheduler";
  static constexpr std::chrono::nanoseconds kCappedRequeue = std::chrono::milliseconds(1);
  static constexpr std::chrono::nanoseconds kRetryWindow = std::chrono::seconds(1);

  explicit SchedulerReducer(SchedulerOptions options = {}) : options_(options) {}

  std::string_view name() const override { return "system:scheduler"; }
  std::vector<std::string> kinds() const override { return {"Pod", "Node", "Service"}; }
  void Wake(const reactor::View& view, const Event& e, const api::Object* before,
            std::vector<std::string>* keys) const override;
  void AllKeys(const reactor::View& view, std::vector<std::string>* keys) const override;
  reactor::Decision Reconcile(const reactor::View& view, const std::string& key,
                              int64_t now_ns) const override;

 private:
  const SchedulerOptions options_;
};

}  // namespace korc::scheduler
