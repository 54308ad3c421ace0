// What the scheduler's filters and scores read: a Pod and a Node reduced, once per decision,
// to the numbers and lookups they need (Kubernetes' framework.PodInfo / framework.NodeInfo).
// Building them allocates; reading them in the filter loop does not.
//
// Both hold pointers and string views into the api objects they were built from (the view's
// objects): they live no longer than the view of the decision that built them.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/objects.h"

namespace korc::scheduler {

// Amounts the scheduler compares: millicores and bytes.
struct Resources {
  int64_t milli_cpu = 0;
  int64_t memory = 0;
  int64_t ephemeral_storage = 0;

  void Add(const Resources& r) {
    milli_cpu += r.milli_cpu;
    memory += r.memory;
    ephemeral_storage += r.ephemeral_storage;
  }
  bool operator==(const Resources&) const = default;
};

// Kubernetes' defaults for a container that requests no cpu / no memory, used by the
// LeastAllocated score only (schedutil.DefaultMilliCPURequest, DefaultMemoryRequest), so that
// pods without requests still spread.
inline constexpr int64_t kDefaultMilliCpuRequest = 100;
inline constexpr int64_t kDefaultMemoryRequest = 200 * 1024 * 1024;

// A host port a pod asks for or holds: (hostIP, protocol, hostPort), with Kubernetes'
// sanitizing: an empty hostIP is "0.0.0.0" (every address), an empty protocol is "TCP".
struct HostPort {
  std::string_view ip;
  std::string_view protocol;
  int32_t port = 0;
  bool operator==(const HostPort&) const = default;
};

// A spreading group (a controller owner, a Service), interned to a small number per decision.
using GroupId = uint32_t;

struct PodInfo {
  const api::Pod* pod = nullptr;
  Resources requests;          // sum of the containers' requests (filters, BalancedAllocation)
  Resources nonzero_requests;  // the same with the defaults above for unset cpu/memory
  std::vector<HostPort> host_ports;
  std::vector<GroupId> groups;  // filled by the caller (spreading); may stay empty
  uint64_t hash = 0;            // Fnv1a of the pod's uid (or namespace/name without one)
};

struct NodeInfo {
  const api::Node* node = nullptr;
  std::string_view name;
  bool ready = false;  // condition Ready is True
  bool unschedulable = false;
  const api::StringMap* labels = nullptr;
  // The taints that keep pods off (NoSchedule, NoExecute), each with its filter reason,
  // "node(s) had untolerated taint {key: value}", made once here rather than per pod.
  struct HardTaint {
    const api::Taint* taint;
    std::string reason;
  };
  std::vector<HardTaint> hard_taints;

  // status.allocatable, each resource falling back to status.capacity when absent.
  Resources allocatable;
  int64_t allowed_pods = 0;

  // What the pods bound to it (not Succeeded/Failed) take, plus this decision's assignments.
  Resources requested;
  Resources nonzero_requested;
  int64_t pods = 0;
  std::vector<HostPort> used_ports;
  std::vector<std::pair<GroupId, uint32_t>> group_counts;  // pods per spreading group

  uint32_t GroupCount(GroupId g) const {
    for (const auto& [id, n] : group_counts) {
      if (id == g) return n;
    }
    return 0;
  }
};

// FNV-1a, 64 bits: the scheduler's only source of arbitrary-but-fixed order. Chain calls by
// passing the previous result as `h`.
inline constexpr uint64_t kFnvOffset = 14695981039346656037ull;
inline constexpr uint64_t kFnvPrime = 1099511628211ull;
constexpr uint64_t Fnv1a(std::string_view s, uint64_t h = kFnvOffset) {
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  return h;
}

// The pod's requests, host ports and hash. Groups are left empty.
PodInfo MakePodInfo(const api::Pod& pod);
// The node's readiness, labels, hard taints and allocatable; nothing requested yet.
NodeInfo MakeNodeInfo(const api::Node& node);
// Accounts `pod` as bound to `node`: requests, one more pod, its host ports, its groups.
void AddPod(const PodInfo& pod, NodeInfo* node);
// One more pod of each of `groups` on `node`.
void AddGroupCounts(const std::vector<GroupId>& groups, NodeInfo* node);

bool IsTerminal(const api::Pod& pod);  // phase Succeeded or Failed

}  // namespace korc::scheduler
