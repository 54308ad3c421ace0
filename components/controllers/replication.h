// The replication controller as a pure reducer: keeps each ReplicationController's pods at
// spec.replicas, with Kubernetes' semantics (pkg/controller/replicaset: replica_set.go,
// controller_utils.go, controller_ref_manager.go).
//
// Keys are "namespace/name" of a ReplicationController.
//
// Wake
//   - an RC event wakes that RC;
//   - a Pod event wakes the RC that controls it (its controller ownerReference names an RC
//     in the view with the same uid), before and after the change;
//   - when the pod is an orphan (no controller reference) or its labels changed, also every
//     RC in its namespace whose selector matches its old or its new labels.
//
// Reconcile(view, key, now), in this order of commands:
//   1. Claim (ControllerRefManager). Only active pods take part, as Kubernetes claims only
//      FilterActivePods(): terminal (Succeeded/Failed) and terminating pods are neither
//      adopted nor released.
//        adopt   an orphan that matches the selector, unless the RC is being deleted:
//                merge patch of metadata.ownerReferences = its current references + ours
//                (controller, blockOwnerDeletion). A merge patch replaces the whole list, so
//                the patch carries the pod's uid and resourceVersion: the server refuses it
//                (409) if the pod changed since the view, instead of losing a reference.
//        release a pod we control whose labels no longer match, unless the RC is being
//                deleted: ownerReferences = the others, or null when none remain.
//      Adopted pods count as ours for the rest of the decision.
//   2. Replicas (only when the RC is not being deleted; the garbage collector handles a
//      deleted RC's pods). Active = ours, not terminal, not terminating.
//        too few  create the missing pods from the template (generateName "<rc>-", labels,
//                 annotations and finalizers of the template, our controller reference), at
//                 most kBurstReplicas per decision, requeueing after kBurstRequeue when more
//                 remain. Nothing is created when the template's labels do not match the
//                 selector (the pods would never count and creation would never stop).
//        too many delete the surplus (uid precondition), at most kBurstReplicas, in
//                 Kubernetes' ActivePodsWithRanks order: unassigned first; Pending < Unknown
//                 < Running; not ready first; more of this RC's active pods on the same node
//                 first; among ready pods the more recently ready first; more container
//                 restarts (the maximum over containers) first; newer first; then by uid.
//   3. Failed-pod back-off and pruning (RCs not being deleted). A template whose pods keep
//      failing must not flood the cluster, since every Failed pod is terminal and would be
//      replaced at once. The log time of a pod's last change (ViewItem::time_ns) is taken as
//      when it failed.
//        back-off k = our Failed pods that failed within kFailureWindow of `now`. When k > 0,
//                 no pod is created before latest_failure + min(kFailureBackoffBase *
//                 2^(k-1), kFailureBackoffCap); until then the decision creates nothing and
//                 requeues for the remaining wait. After it, every missing pod is created.
//        prune    our Failed pods that are not yet terminating, beyond the kKeepFailedPods
//                 that failed last, are deleted (uid precondition). Note that pruning bounds
//                 k: once only 5 failed pods remain, the wait is at most 10 s * 2^4 = 160 s.
//   4. Events: a Kubernetes Event (kind Event, generateName "<rc>.", source
//      "replication-controller") per decision that creates pods ("SuccessfulCreate",
//      "Created 3 pods from template") and per deleted pod ("SuccessfulDelete",
//      "Deleted pod: web-x"), so `kubectl describe rc` shows them.
//   5. Status, written only when it differs (RC as in the view: its resourceVersion is the
//      precondition): replicas = active pods, fullyLabeledReplicas = those whose labels
//      match the template's labels, readyReplicas = those with PodReady True,
//      availableReplicas = ready for at least minReadySeconds (Ready's lastTransitionTime
//      + minReadySeconds <= now; when some ready pod is not yet available the decision
//      requeues for when the first will be), observedGeneration = metadata.generation.
//      Conditions are kept as they are.
//
// Every decision has a one-line reason ("scale up: 2 of 3 replicas missing; status: 1/3
// ready"); every command says what it does. The requeue_after of a decision is the earliest
// of the burst, back-off and availability waits.
//
// Thread-safety: immutable; Reconcile and Wake may run concurrently on different views.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "components/reactor/reducer.h"

namespace korc::controllers {

class ReplicationReducer : public reactor::Reducer {
 public:
  // Kubernetes' burstReplicas: creates (or deletes) per decision.
  static constexpr int kBurstReplicas = 500;
  static constexpr std::chrono::nanoseconds kBurstRequeue = std::chrono::seconds(1);
  static constexpr std::chrono::nanoseconds kFailureWindow = std::chrono::minutes(10);
  static constexpr std::chrono::nanoseconds kFailureBackoffBase = std::chrono::seconds(10);
  static constexpr std::chrono::nanoseconds kFailureBackoffCap = std::chrono::minutes(5);
  static constexpr int kKeepFailedPods = 5;

  std::string_view name() const override { return "system:controller:replication"; }
  std::vector<std::string> kinds() const override { return {"ReplicationController", "Pod"}; }
  void Wake(const reactor::View& view, const Event& e, const api::Object* before,
            std::vector<std::string>* keys) const override;
  void AllKeys(const reactor::View& view, std::vector<std::string>* keys) const override;
  reactor::Decision Reconcile(const reactor::View& view, const std::string& key,
                              int64_t now_ns) const override;
};

}  // namespace korc::controllers
