// The node lifecycle controller (Kubernetes' pkg/controller/nodelifecycle) as a pure reducer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "components/reactor/reducer.h"

namespace korc::controllers {

// The NoExecute taints the controller keeps on a node that is not Ready: unreachable while
// its Ready condition is Unknown (no heartbeat), not-ready while its kubelet reports False.
inline constexpr std::string_view kTaintUnreachable = "node.kubernetes.io/unreachable";
inline constexpr std::string_view kTaintNotReady = "node.kubernetes.io/not-ready";

struct NodeLifecycleOptions {
  // How long a node may go without a heartbeat before its conditions become Unknown
  // (kube-controller-manager --node-monitor-grace-period).
  std::chrono::nanoseconds grace_period = std::chrono::seconds(40);
  // How long the pods of a node that is not Ready stay before they are evicted, counted from
  // the Ready condition's lastTransitionTime; a pod that tolerates the node's NoExecute taint
  // with tolerationSeconds waits that long instead (Kubernetes' DefaultTolerationSeconds).
  std::chrono::nanoseconds eviction_timeout = std::chrono::minutes(5);
};

// The namespace of the node Leases: each kubelet renews kube-node-lease/<node name>.
inline constexpr std::string_view kNodeLeaseNamespace = "kube-node-lease";

// When node `node` last showed it is alive, in unix ns: the later of its Ready condition's
// lastHeartbeatTime (its creation time when the kubelet never posted one) and the renewTime
// of its Lease kube-node-lease/<node name> when the view has one. The one place that knows
// where heartbeats live: kubelets renew the small Lease every few seconds and write the
// Node's status only when it changes (or every few minutes).
int64_t LastHeartbeatNs(const reactor::View& view, const api::Node& node);

// NodeLifecycleReducer watches heartbeats. When a node misses them for the grace period it
// marks the node's conditions Unknown ("Kubelet stopped posting node status.") and its pods
// not ready, then (next decision, as the status and the spec are separate writes with their
// own resourceVersion precondition) taints it node.kubernetes.io/unreachable:NoExecute. Pods
// of a node that stays not Ready past the eviction timeout (or their tolerationSeconds for
// the taint) are deleted. When the kubelet reports Ready=True again the taint is removed.
// Decisions carry requeue_after for the next deadline (grace expiry, next eviction).
//
// Like kube-controller-manager's node controller it records Kubernetes Events (source
// "node-controller", type Normal) with the commands they explain: NodeNotReady on the Node
// (in namespace "default") when it marks the node Unknown, TaintManagerEviction on each Pod it
// evicts, just before the deletion. NodeReady is the kubelet's to record, not the controller's.
//
// Keys are node names. A node's Lease (kube-node-lease/<node name>) wakes the node.
//
// Thread-safety: immutable after construction; every method may be called from any thread.
class NodeLifecycleReducer final : public reactor::Reducer {
 public:
  explicit NodeLifecycleReducer(NodeLifecycleOptions options = {}) : options_(options) {}

  std::string_view name() const override { return "system:controller:node-lifecycle"; }
  std::vector<std::string> kinds() const override;
  void Wake(const reactor::View& view, const Event& e, const api::Object* before,
            std::vector<std::string>* keys) const override;
  void AllKeys(const reactor::View& view, std::vector<std::string>* keys) const override;
  reactor::Decision Reconcile(const reactor::View& view, const std::string& key,
                              int64_t now_ns) const override;

 private:
  const NodeLifecycleOptions options_;
};

}  // namespace korc::controllers
