// Hollow nodes (as Kubernetes' kubemark and KWOK): N Nodes that exist only as API objects. One
// pure reducer registers them, keeps their heartbeats going and plays the kubelet's part for
// the Pods bound to them (Running and Ready with a Pod IP at once; deletions confirmed), so a
// scheduler, the controllers and clients can be exercised at scale without any container.
// Everything goes through the API a kubelet uses: commands over the bus, run by
// reactor::Runtime (`korc hollow-nodes`).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "components/reactor/reducer.h"
#include "core/status.h"

namespace korc::hollow {

// The label every hollow Node carries (type=hollow). A Node of one of our names without it
// belongs to someone else: the reducer leaves it, and its Pods, alone.
inline constexpr std::string_view kHollowLabel = "type";
inline constexpr std::string_view kHollowLabelValue = "hollow";
inline constexpr std::string_view kKubeletVersion = "v1.29.0-korc-hollow";
// Node i's podCIDR is 10.(64 + i/256).(i%256).0/24, so there are at most this many.
inline constexpr int kMaxNodes = 192 * 256;

struct HollowNodesOptions {
  // Nodes <prefix>0 .. <prefix><count-1>. REQUIRES: 1 <= count <= kMaxNodes, and prefix +
  // digits a DNS-1123 subdomain (ValidateOptions says why not).
  int count = 1;
  std::string prefix = "hollow-";
  // Capacity and allocatable of every node.
  api::ResourceList capacity = DefaultCapacity();
  // Each node posts its status at least this often (kubelet --node-status-update-frequency).
  std::chrono::nanoseconds heartbeat_period = std::chrono::seconds(10);

  static api::ResourceList DefaultCapacity();  // cpu=4, memory=16Gi, pods=110
};

// Invalid, saying which option is wrong and why, when `o` breaks a REQUIRES above.
Status ValidateOptions(const HollowNodesOptions& o);

// "cpu=4,memory=16Gi,pods=110" -> {cpu: 4, memory: 16Gi, pods: 110}. Invalid, naming the bad
// item, for an empty list, an item without '=', a bad resource name, a malformed or negative
// quantity, or a resource given twice.
Result<api::ResourceList> ParseResourceList(std::string_view text);

// HollowNodesReducer: the kubelet of `count` hollow nodes, as one reducer signing as
// "system:node:hollow". One identity rather than one per node because one runtime (one
// subscription, one view) serves them all; the per-node part of each command id is its key.
//
// Keys
//   "node/<name>"      each of the N nodes, whether or not it exists yet.
//   "pod/<ns>/<name>"  a terminating Pod (deletionTimestamp set) bound to one of the nodes.
// Wake: a Node event of one of our nodes wakes its key; a Pod event wakes the node key of the
// Pod's node before and after the change (a Pod to start, or an address freed) and, when the
// Pod is now terminating on one of our nodes, its pod key.
//
// Reconcile("node/<name>", now)
//   absent      Create the Node: labels kubernetes.io/hostname, kubernetes.io/os=linux,
//               kubernetes.io/arch=amd64, type=hollow; spec.podCIDR(s) 10.(64+i/256).(i%256).0/24
//               and providerID hollow://<name>; capacity = allocatable = options; addresses
//               InternalIP (TEST-NET, never contacted: 192.0.2.(i+1) when count <= 254, else
//               198.18.0.0/15 offset i+1) and Hostname; nodeInfo; daemonEndpoints port 10250;
//               conditions MemoryPressure, DiskPressure, PIDPressure = False and Ready = True,
//               each with lastHeartbeatTime = lastTransitionTime = now.
//   present     Heartbeat (UpdateStatus, the Node as viewed, so its resourceVersion is the
//               precondition) when it is due: every condition's lastHeartbeatTime = now, each
//               one back to its healthy status (transition time = now only when the status
//               changes), capacity and allocatable = options. Due when the next heartbeat slot
//               after the last heartbeat has come, or at once when a condition is missing or
//               not healthy (someone marked the node Unknown). Slots are heartbeat_period apart
//               at a per-node phase, a hash of the name in whole seconds, so N nodes registered
//               together do not all beat at the same instant, and never more than one period
//               passes between two heartbeats. requeue_after: until the next slot.
//               Then starts the node's Pods (below).
//   not ours    a Node of that name without type=hollow: nothing.
// Starting Pods is the node key's work, not each Pod's: addresses are allocated per node, and
// the runtime lets a key decide again only once the view holds its earlier writes, so two
// Pods are never handed the same address by decisions that could not see each other.
// Every Pod bound to the node that is not terminal, not terminating and not already Running
// and Ready with an IP gets UpdateStatus (the Pod as viewed): phase Running, hostIP = the
// node's InternalIP, podIP = podIPs[0] (kept if it has one; the node's InternalIP for
// hostNetwork Pods; else allocated), startTime (kept, else now), conditions PodScheduled,
// Initialized, ContainersReady, Ready = True (transition now unless already True; other
// conditions kept), and a running, ready, started status per container (image, imageID
// hollow://<image>, restartCount kept or 0, startedAt kept or now).
// Allocation: the node's non-terminal Pods ordered by creationTimestamp, name, namespace;
// Pod k of them prefers <podCIDR base> + 2 + k; when that address is held by another
// non-terminal Pod of the node it takes the next free one (wrapping; .0, .1 and the broadcast
// address are never used). A Pod for which none is free stays as it is (said in the reason).
//
// Reconcile("pod/<ns>/<name>", now): a terminating Pod on one of our nodes is deleted with
// gracePeriodSeconds 0 and a uid precondition (the kubelet's confirmation that it stopped).
//
// Pure: no I/O, no clock (`now` is passed in), no randomness. Times written are `now` to the
// second, as metav1.Time stores them. Cost: a node decision scans the Pods of the view.
//
// Thread-safety: immutable after construction; every method may be called from any thread.
class HollowNodesReducer final : public reactor::Reducer {
 public:
  // REQUIRES: ValidateOptions(options).ok().
  explicit HollowNodesReducer(HollowNodesOptions options);

  std::string_view name() const override { return "system:node:hollow"; }
  std::vector<std::string> kinds() const override { return {"Node", "Pod"}; }
  void Wake(const reactor::View& view, const Event& e, const api::Object* before,
            std::vector<std::string>* keys) const override;
  void AllKeys(const reactor::View& view, std::vector<std::string>* keys) const override;
  reactor::Decision Reconcile(const reactor::View& view, const std::string& key,
                              int64_t now_ns) const override;

  // The name of node `index` (0-based), and back (nullopt when `name` is not one of ours).
  std::string NodeName(int index) const;
  std::optional<int> NodeIndex(std::string_view name) const;
  // Where node `name`'s heartbeat slots fall within each period, in [0, period).
  std::chrono::nanoseconds HeartbeatPhase(std::string_view name) const;
  // The first heartbeat slot of node `name` strictly after `after_ns` (unix ns).
  int64_t NextHeartbeatNs(std::string_view name, int64_t after_ns) const;
  // The addresses node `index` is created with.
  std::string InternalIp(int index) const;
  static std::string PodCidr(int index);

 private:
  const HollowNodesOptions options_;
};

}  // namespace korc::hollow
