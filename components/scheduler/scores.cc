#include "components/scheduler/scores.h"

#include <cmath>

namespace korc::scheduler {
namespace {

// leastRequestedScore
int64_t LeastRequested(int64_t requested, int64_t capacity) {
  if (capacity == 0 || requested > capacity) return 0;
  return (capacity - requested) * kMaxNodeScore / capacity;
}

}  // namespace

int64_t LeastAllocatedScore(const PodInfo& pod, const NodeInfo& node) {
  // Resources cpu and memory, weight 1 each (the default ScoringStrategy).
  const int64_t cpu =
      LeastRequested(node.nonzero_requested.milli_cpu + pod.nonzero_requests.milli_cpu,
                     node.allocatable.milli_cpu);
  const int64_t memory = LeastRequested(node.nonzero_requested.memory + pod.nonzero_requests.memory,
                                        node.allocatable.memory);
  return (cpu + memory) / 2;
}

int64_t BalancedAllocationScore(const PodInfo& pod, const NodeInfo& node) {
  double fractions[2];
  int n = 0;
  auto add = [&](int64_t requested, int64_t allocatable) {
    if (allocatable == 0) return;  // a resource the node does not have is left out
    double f = static_cast<double>(requested) / static_cast<double>(allocatable);
    fractions[n++] = f > 1 ? 1 : f;
  };
  add(node.requested.milli_cpu + pod.requests.milli_cpu, node.allocatable.milli_cpu);
  add(node.requested.memory + pod.requests.memory, node.allocatable.memory);
  const double std = n == 2 ? std::abs(fractions[0] - fractions[1]) / 2 : 0;
  return static_cast<int64_t>((1 - std) * static_cast<double>(kMaxNodeScore));
}

uint32_t SpreadCount(const PodInfo& pod, const NodeInfo& node) {
  uint32_t n = 0;
  if (node.group_counts.empty()) return 0;
  for (GroupId g : pod.groups) n += node.GroupCount(g);
  return n;
}

int64_t SpreadingScore(uint32_t count, uint32_t max_count) {
  if (max_count == 0) return kMaxNodeScore;
  return kMaxNodeScore * (max_count - count) / max_count;
}

NodeScore Score(const PodInfo& pod, const NodeInfo& node, uint32_t spread_count,
                uint32_t max_spread_count) {
  NodeScore s;
  s.least_allocated = LeastAllocatedScore(pod, node);
  s.balanced_allocation = BalancedAllocationScore(pod, node);
  s.spreading = SpreadingScore(spread_count, max_spread_count);
  s.total = kLeastAllocatedWeight * s.least_allocated +
            kBalancedAllocationWeight * s.balanced_allocation + kSpreadingWeight * s.spreading;
  s.tie_break = Fnv1a(node.name, Fnv1a("/", pod.hash));
  return s;
}

}  // namespace korc::scheduler
