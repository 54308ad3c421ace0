// Node IPAM (Kubernetes' pkg/controller/nodeipam, its range allocator) as a pure reducer.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "components/reactor/reducer.h"
#include "core/cidr.h"
#include "core/status.h"

namespace korc::controllers {

struct NodeIpamOptions {
  // kube-controller-manager --allocate-node-cidrs: whether the controller runs at all.
  bool allocate_node_cidrs = true;
  // --cluster-cidr: the range node pod CIDRs are cut from.
  std::string cluster_cidr = "10.244.0.0/16";
  // --node-cidr-mask-size: the prefix length of each node's pod CIDR.
  int node_cidr_mask_size = 24;
  // How soon nodes left without a pod CIDR (the range is full) are tried again even if no
  // Node change frees one.
  std::chrono::nanoseconds retry_after = std::chrono::seconds(30);
};

// OK when the options describe a usable range, as kube-controller-manager checks its flags:
// a CIDR, a mask size between its prefix and the address width, and at most 2^16 node CIDRs
// (mask size minus prefix <= 16). Invalid otherwise, naming the flag.
Status CheckNodeIpamOptions(const NodeIpamOptions& options);

// NodeIpamReducer gives every Node without spec.podCIDR the lowest free subnet of the cluster
// CIDR: free means not overlapping the pod CIDR of any Node in the view. Nodes that came with
// a pod CIDR keep it (even outside the cluster CIDR) and their CIDR counts as taken. The
// assignment is an Update of the Node with its resourceVersion as precondition, setting
// spec.podCIDR and spec.podCIDRs = [podCIDR] (the API server lets podCIDR go from "" to a
// value, never change after). When the range is full it records a Kubernetes Event
// CIDRNotAvailable on each Node left waiting (source "cidrAllocator", filed in "default", as
// Kubernetes' nodeutil.RecordNodeStatusChange does) and asks to be requeued.
//
// There is one key for the whole cluster (kKey): allocations must see each other, and the
// runtime decides one key at a time on a view that includes that key's earlier commands, so
// two Nodes can never be handed the same subnet. Nodes are served oldest first (creation
// time, then name). Wake: a Node added or deleted, or its pod CIDRs changed.
//
// Thread-safety: immutable after construction; every method may be called from any thread.
class NodeIpamReducer final : public reactor::Reducer {
 public:
  static constexpr std::string_view kKey = "cluster-cidr";

  // REQUIRES: CheckNodeIpamOptions(options).ok().
  explicit NodeIpamReducer(NodeIpamOptions options = {});

  std::string_view name() const override { return "system:controller:node-ipam"; }
  std::vector<std::string> kinds() const override;
  void Wake(const reactor::View& view, const Event& e, const api::Object* before,
            std::vector<std::string>* keys) const override;
  void AllKeys(const reactor::View& view, std::vector<std::string>* keys) const override;
  reactor::Decision Reconcile(const reactor::View& view, const std::string& key,
                              int64_t now_ns) const override;

 private:
  const NodeIpamOptions options_;
  const Cidr cluster_;
};

}  // namespace korc::controllers
