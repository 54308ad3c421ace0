#include "components/controllers/node_ipam.h"

#include <algorithm>
#include <tuple>
#include <utility>

namespace korc::controllers {

namespace {

using reactor::Command;
using reactor::Decision;
using reactor::View;

constexpr int64_t kSecond = 1'000'000'000;
// The event source of Kubernetes' range allocator.
constexpr std::string_view kComponent = "cidrAllocator";
// kube-controller-manager's limit on node CIDRs per cluster CIDR (cidrset's
// clusterSubNetMaxDiff): 2^16.
constexpr int kMaxSubnetBits = 16;

// The pod CIDRs a node holds (podCIDRs, or podCIDR when only that is set).
std::vector<std::string_view> PodCidrs(const api::Node& node) {
  std::vector<std::string_view> out(node.spec.pod_cidrs.begin(), node.spec.pod_cidrs.end());
  if (out.empty() && !node.spec.pod_cidr.empty()) out.push_back(node.spec.pod_cidr);
  return out;
}

// Marks the subnets of `cluster` (of length `mask`) that `taken` overlaps.
void MarkTaken(const Cidr& cluster, int mask, const Cidr& taken, std::vector<bool>* used) {
  if (!cluster.Overlaps(taken)) return;
  if (taken.Contains(cluster)) {
    std::fill(used->begin(), used->end(), true);
    return;
  }
  // Here `taken` lies inside the cluster CIDR (they overlap and it is the longer prefix).
  const int shift = cluster.bits() - mask;
  const auto first = static_cast<uint64_t>((taken.network - cluster.network) >> shift);
  const uint64_t count = taken.prefix >= mask ? 1 : uint64_t{1} << (mask - taken.prefix);
  for (uint64_t i = first; i < first + count && i < used->size(); ++i) (*used)[i] = true;
}

// Kubernetes' nodeutil.RecordNodeStatusChange.
Command NodeStatusEvent(const api::Node& node, std::string status, int64_t now_s) {
  api::ObjectReference ref;
  ref.kind = KindName<api::Node>();
  ref.name = node.metadata.name;
  ref.uid = node.metadata.uid;
  std::string message = "Node " + node.metadata.name + " status is now: " + status;
  return reactor::RecordEvent({.about = std::move(ref),
                               .ns = "default",
                               .reason = std::move(status),
                               .message = std::move(message),
                               .component = std::string(kComponent),
                               .now_ns = now_s});
}

}  // namespace

Status CheckNodeIpamOptions(const NodeIpamOptions& o) {
  auto cidr = Cidr::Parse(o.cluster_cidr);
  if (!cidr) {
    return Status::Invalid("--cluster-cidr \"" + o.cluster_cidr +
                           "\" is not a CIDR (e.g. 10.244.0.0/16)");
  }
  if (o.node_cidr_mask_size < cidr->prefix || o.node_cidr_mask_size > cidr->bits()) {
    return Status::Invalid("--node-cidr-mask-size " + std::to_string(o.node_cidr_mask_size) +
                           " must be between the cluster CIDR's prefix length (" +
                           std::to_string(cidr->prefix) + ") and " + std::to_string(cidr->bits()));
  }
  if (o.node_cidr_mask_size - cidr->prefix > kMaxSubnetBits) {
    return Status::Invalid("--node-cidr-mask-size " + std::to_string(o.node_cidr_mask_size) +
                           " cuts " + cidr->ToString() + " into more than 2^" +
                           std::to_string(kMaxSubnetBits) + " node CIDRs");
  }
  if (o.retry_after.count() <= 0)
    return Status::Invalid("the IPAM retry interval must be positive");
  return Status::Ok();
}

NodeIpamReducer::NodeIpamReducer(NodeIpamOptions options)
    : options_(std::move(options)), cluster_(Cidr::Parse(options_.cluster_cidr).value()) {}

std::vector<std::string> NodeIpamReducer::kinds() const {
  return {std::string(KindName<api::Node>())};
}

void NodeIpamReducer::Wake(const View& view, const Event& e, const api::Object* before,
                           std::vector<std::string>* keys) const {
  if (e.kind != KindName<api::Node>()) return;
  const api::Node* old_node = before ? std::get_if<api::Node>(before) : nullptr;
  const api::Node* new_node = view.Get<api::Node>("", e.name);
  // Heartbeats and status updates change neither the set of Nodes nor their CIDRs.
  if (old_node && new_node && PodCidrs(*old_node) == PodCidrs(*new_node)) return;
  if (!old_node && !new_node) return;
  keys->push_back(std::string(kKey));
}

void NodeIpamReducer::AllKeys(const View& /*view*/, std::vector<std::string>* keys) const {
  keys->push_back(std::string(kKey));
}

Decision NodeIpamReducer::Reconcile(const View& view, const std::string& key,
                                    int64_t now_ns) const {
  Decision d;
  if (key != kKey) {
    d.reason = "unknown key " + key;
    return d;
  }
  const int mask = options_.node_cidr_mask_size;
  std::vector<bool> used(size_t{1} << (mask - cluster_.prefix), false);
  std::vector<const api::Node*> waiting;
  for (const api::Node* node : view.ListAs<api::Node>()) {
    std::vector<std::string_view> cidrs = PodCidrs(*node);
    if (cidrs.empty()) {
      if (node->metadata.deletion_timestamp.empty()) waiting.push_back(node);
      continue;
    }
    for (std::string_view text : cidrs) {
      // An unparsable CIDR cannot have passed validation; it takes nothing.
      if (auto c = Cidr::Parse(text)) MarkTaken(cluster_, mask, *c, &used);
    }
  }
  if (waiting.empty()) {
    d.reason = "every node has a pod CIDR";
    return d;
  }
  std::sort(waiting.begin(), waiting.end(), [](const api::Node* a, const api::Node* b) {
    return std::tie(a->metadata.creation_timestamp, a->metadata.name) <
           std::tie(b->metadata.creation_timestamp, b->metadata.name);
  });
  const int64_t now_s = now_ns - now_ns % kSecond;
  std::string allocated, full;
  size_t next = 0;  // every subnet below it is taken
  for (const api::Node* node : waiting) {
    while (next < used.size() && used[next]) ++next;
    if (next == used.size()) {
      d.commands.push_back(NodeStatusEvent(*node, "CIDRNotAvailable", now_s));
      full += (full.empty() ? "" : ", ") + node->metadata.name;
      continue;
    }
    used[next] = true;
    const std::string cidr = cluster_.Subnet(mask, next).ToString();
    api::Node updated = *node;
    updated.spec.pod_cidr = cidr;
    updated.spec.pod_cidrs = {cidr};
    d.commands.push_back(
        Command::Update(api::Object(std::move(updated)),
                        "allocate pod CIDR " + cidr + " to node " + node->metadata.name));
    allocated += (allocated.empty() ? "" : ", ") + node->metadata.name + " " + cidr;
  }
  if (!allocated.empty()) d.reason = "allocated " + allocated;
  if (!full.empty()) {
    d.reason += (d.reason.empty() ? "" : "; ") + cluster_.ToString() + " is full, waiting: " + full;
    d.requeue_after = options_.retry_after;
  }
  return d;
}

}  // namespace korc::controllers
