// The scheduler's scores: among the nodes that fit, which is best? Each score is 0..100
// (Kubernetes' MaxNodeScore) and the node's total is their weighted sum:
//
//   LeastAllocated      ×1  NodeResourcesFit's default strategy: the free share of cpu and
//                           of memory after placing the pod, averaged; requests counted with
//                           Kubernetes' non-zero defaults (100m, 200Mi) so pods that request
//                           nothing still spread.
//   BalancedAllocation  ×1  (1 - std. deviation of the cpu and memory fractions) × 100, on the
//                           requests as they are: prefers nodes whose cpu and memory fill
//                           evenly.
//   Spreading           ×2  fewer pods of the pod's groups (its controller owner, the Services
//                           whose selector matches it) on the node: (max - count) × 100 / max
//                           over the nodes being scored (Kubernetes' SelectorSpread
//                           normalization; 100 everywhere when none has any); counts of
//                           several groups add up. Weight 2 as PodTopologySpread's default.
//
// Ties go to the node with the smaller Fnv1a(pod hash, node name): fixed for a given pod and
// node, different across pods, independent of the order anything was listed in.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "components/scheduler/node_info.h"

namespace korc::scheduler {

inline constexpr int64_t kMaxNodeScore = 100;
inline constexpr int64_t kLeastAllocatedWeight = 1;
inline constexpr int64_t kBalancedAllocationWeight = 1;
inline constexpr int64_t kSpreadingWeight = 2;

// Node scores after placing `pod` on `node`.
int64_t LeastAllocatedScore(const PodInfo& pod, const NodeInfo& node);
int64_t BalancedAllocationScore(const PodInfo& pod, const NodeInfo& node);
// Pods of `pod`'s groups on `node` (a pod in two of them counts twice).
uint32_t SpreadCount(const PodInfo& pod, const NodeInfo& node);
// Normalized: 100 for the emptiest, 0 for the fullest of the scored nodes.
int64_t SpreadingScore(uint32_t count, uint32_t max_count);

struct NodeScore {
  int64_t least_allocated = 0;
  int64_t balanced_allocation = 0;
  int64_t spreading = 0;
  int64_t total = 0;
  uint64_t tie_break = 0;  // smaller wins among equal totals
};
NodeScore Score(const PodInfo& pod, const NodeInfo& node, uint32_t spread_count,
                uint32_t max_spread_count);
// True when `a` is the better node.
inline bool Better(const NodeScore& a, const NodeScore& b) {
  return a.total != b.total ? a.total > b.total : a.tie_break < b.tie_break;
}

}  // namespace korc::scheduler
