// The garbage collector (Kubernetes' pkg/controller/garbagecollector and the terminated-pod
// part of pkg/controller/podgc) as a pure reducer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "components/reactor/reducer.h"

namespace korc::controllers {

// The finalizers that ask the garbage collector to act before an owner goes away.
inline constexpr std::string_view kFinalizerForeground = "foregroundDeletion";
inline constexpr std::string_view kFinalizerOrphan = "orphan";
// The key of the cluster-wide terminated-pod collection.
inline constexpr std::string_view kTerminatedPodsKey = "terminated-pods";

struct GarbageCollectorOptions {
  // Terminated (Succeeded or Failed) pods kept cluster-wide; above it the oldest are deleted
  // (kube-controller-manager --terminated-pod-gc-threshold). 0 or less: never.
  int terminated_pod_threshold = 12500;
};

// GarbageCollectorReducer enforces ownerReferences with Kubernetes' semantics:
//   - background: a dependent whose owners are all gone (no object of that kind, name and uid
//     in its namespace) is deleted; one with some owners gone and some alive loses the
//     references to the gone ones (merge patch of metadata.ownerReferences, with its
//     resourceVersion as the precondition);
//   - foreground: the dependents of an owner that is being deleted with the
//     "foregroundDeletion" finalizer are deleted (those with other live owners only lose the
//     reference); once no dependent with blockOwnerDeletion remains, the finalizer is removed
//     (Update of the owner; the API server then removes it);
//   - orphan: the dependents of an owner being deleted with the "orphan" finalizer lose their
//     reference to it; then the finalizer is removed;
//   - terminated pods: above the threshold, the oldest terminated pods are deleted.
// Each object's writes are decided at its own key, so no two decisions write the same object:
// a dependent's key patches or deletes the dependent, an owner's key removes its finalizers.
// References to kinds outside the view (Node, Namespace) are never taken for dangling.
//
// Keys are object keys, "Kind/namespace/name" (core/event.h ObjectKey), and
// kTerminatedPodsKey.
//
// Thread-safety: immutable after construction; every method may be called from any thread.
class GarbageCollectorReducer final : public reactor::Reducer {
 public:
  explicit GarbageCollectorReducer(GarbageCollectorOptions options = {}) : options_(options) {}

  std::string_view name() const override { return "system:controller:garbage-collector"; }
  // The namespaced kinds that own or are owned here: Endpoints, Pod, ReplicationController,
  // Service.
  std::vector<std::string> kinds() const override;
  void Wake(const reactor::View& view, const Event& e, const api::Object* before,
            std::vector<std::string>* keys) const override;
  void AllKeys(const reactor::View& view, std::vector<std::string>* keys) const override;
  reactor::Decision Reconcile(const reactor::View& view, const std::string& key,
                              int64_t now_ns) const override;

 private:
  reactor::Decision TerminatedPods(const reactor::View& view) const;

  const GarbageCollectorOptions options_;
};

}  // namespace korc::controllers
