#include "components/scheduler/scores.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/scheduler/builders.h"

namespace korc::scheduler {
namespace {

using namespace korc::scheduler::testing;

// A node of 4 cpu and 10000 bytes of memory (as in Kubernetes' own score tests).
NodeInfo Node(const std::vector<api::Pod>& bound = {}) {
  static const api::Node node = MakeNode("n1", "4", "10000");
  NodeInfo n = MakeNodeInfo(node);
  for (const api::Pod& p : bound) AddPod(MakePodInfo(p), &n);
  return n;
}

TEST(ScoresTest, LeastAllocated) {
  const api::Pod pod = MakePod("p", "3", "5000");
  // cpu (4000 - 3000) * 100 / 4000 = 25, memory (10000 - 5000) * 100 / 10000 = 50.
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(pod), Node()), 37);
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(MakePod("p", "0", "0")), Node()), 100);
  // What is bound counts; beyond capacity scores 0 for that resource.
  const std::vector<api::Pod> bound = {BoundTo(MakePod("a", "1", "5000"), "n1")};
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(pod), Node(bound)), (0 + 0) / 2);
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(MakePod("p", "1", "0")), Node(bound)), (50 + 50) / 2);
}

TEST(ScoresTest, LeastAllocatedCountsDefaultsForPodsWithoutRequests) {
  static const api::Node node = MakeNode("n1", "1", "1Gi");
  // 100m of 1000m leaves 90; 200Mi of 1Gi leaves 80 (80.4 rounded down).
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(MakePod("p")), MakeNodeInfo(node)), 85);
  NodeInfo busy = MakeNodeInfo(node);
  AddPod(MakePodInfo(BoundTo(MakePod("a"), "n1")), &busy);
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(MakePod("p")), busy), (80 + 60) / 2);
  // An explicit zero is a zero.
  EXPECT_EQ(LeastAllocatedScore(MakePodInfo(MakePod("p", "0", "0")), MakeNodeInfo(node)), 100);
}

TEST(ScoresTest, BalancedAllocation) {
  // cpu 3000/4000 = 0.75, memory 5000/10000 = 0.5: std 0.125, score 87.
  EXPECT_EQ(BalancedAllocationScore(MakePodInfo(MakePod("p", "3", "5000")), Node()), 87);
  EXPECT_EQ(BalancedAllocationScore(MakePodInfo(MakePod("p", "2", "5000")), Node()), 100);
  // Requests as they are: a pod without requests on an empty node is perfectly balanced.
  EXPECT_EQ(BalancedAllocationScore(MakePodInfo(MakePod("p")), Node()), 100);
  EXPECT_EQ(BalancedAllocationScore(MakePodInfo(MakePod("p", "4")), Node()), 50);
  // Fractions are capped at 1.
  EXPECT_EQ(BalancedAllocationScore(MakePodInfo(MakePod("p", "8")), Node()), 50);
  // A resource the node lacks is left out.
  api::Node cpu_only = MakeNode("n2", "4", "0");
  cpu_only.status.allocatable.erase("memory");
  cpu_only.status.capacity.erase("memory");
  EXPECT_EQ(BalancedAllocationScore(MakePodInfo(MakePod("p", "3", "5000")), MakeNodeInfo(cpu_only)),
            100);
}

TEST(ScoresTest, SpreadingNormalizesOverScoredNodes) {
  EXPECT_EQ(SpreadingScore(0, 0), 100);
  EXPECT_EQ(SpreadingScore(0, 4), 100);
  EXPECT_EQ(SpreadingScore(2, 4), 50);
  EXPECT_EQ(SpreadingScore(4, 4), 0);
  EXPECT_EQ(SpreadingScore(1, 3), 66);
}

TEST(ScoresTest, SpreadCountSumsThePodsGroups) {
  NodeInfo n = Node();
  AddGroupCounts({1, 2}, &n);
  AddGroupCounts({1}, &n);
  AddGroupCounts({3}, &n);
  PodInfo p = MakePodInfo(MakePod("p"));
  EXPECT_EQ(SpreadCount(p, n), 0u);
  p.groups = {1};
  EXPECT_EQ(SpreadCount(p, n), 2u);
  p.groups = {1, 2};
  EXPECT_EQ(SpreadCount(p, n), 3u);
  p.groups = {4};
  EXPECT_EQ(SpreadCount(p, n), 0u);
}

TEST(ScoresTest, WeightedTotalAndTieBreak) {
  PodInfo p = MakePodInfo(MakePod("p", "3", "5000"));
  NodeScore s = Score(p, Node(), 1, 2);
  EXPECT_EQ(s.least_allocated, 37);
  EXPECT_EQ(s.balanced_allocation, 87);
  EXPECT_EQ(s.spreading, 50);
  EXPECT_EQ(s.total, 37 + 87 + 2 * 50);
  EXPECT_EQ(s.tie_break, Fnv1a("n1", Fnv1a("/", Fnv1a("uid-p"))));
  NodeScore a{0, 0, 0, 10, 5}, b{0, 0, 0, 9, 1}, c{0, 0, 0, 10, 6};
  EXPECT_TRUE(Better(a, b));
  EXPECT_FALSE(Better(b, a));
  EXPECT_TRUE(Better(a, c));
  EXPECT_FALSE(Better(c, a));
}

TEST(ScoresTest, Fnv1aKnownValues) {
  EXPECT_EQ(Fnv1a(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a("foobar"), 0x85944171f73967e8ull);
  EXPECT_EQ(Fnv1a("bar", Fnv1a("foo")), Fnv1a("foobar"));
}

}  // namespace
}  // namespace korc::scheduler
