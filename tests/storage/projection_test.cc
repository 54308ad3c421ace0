#include "storage/projection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/storage/storage_test_util.h"

namespace korc::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testutil::MakeEvent;
using testutil::MakePod;
using testutil::ScenarioGenerator;
using testutil::Values;

StateProjection FoldAll(const std::vector<Event>& events) {
  StateProjection state;
  for (const Event& e : events) EXPECT_TRUE(state.Apply(e).ok());
  return state;
}

TEST(StateProjectionTest, EmptyStateIsAtSeqZero) {
  StateProjection state;
  EXPECT_EQ(state.seq(), 0u);
  EXPECT_EQ(state.size(), 0u);
  EXPECT_TRUE(state.Sorted().empty());
  EXPECT_EQ(state.Find("Pod", "default", "a"), nullptr);
}

TEST(StateProjectionTest, AddedInsertsObjectWithItsSeq) {
  StateProjection state;
  Event e = MakePod(1, EventType::kAdded, "default", "a");
  ASSERT_TRUE(state.Apply(e).ok());
  const StoredObject* o = state.Find("Pod", "default", "a");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(*o, (StoredObject{"Pod", "default", "a", 1, e.object}));
  EXPECT_EQ(state.seq(), 1u);
}

TEST(StateProjectionTest, ModifiedReplacesObjectAndSeq) {
  StateProjection state;
  ASSERT_TRUE(state.Apply(MakePod(1, EventType::kAdded, "default", "a")).ok());
  Event m = MakePod(2, EventType::kModified, "default", "a");
  ASSERT_TRUE(state.Apply(m).ok());
  const StoredObject* o = state.Find("Pod", "default", "a");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->seq, 2u);
  EXPECT_EQ(o->object, m.object);
  EXPECT_EQ(state.size(), 1u);
}

TEST(StateProjectionTest, DeletedRemovesObject) {
  StateProjection state;
  ASSERT_TRUE(state.Apply(MakePod(1, EventType::kAdded, "default", "a")).ok());
  ASSERT_TRUE(state.Apply(MakePod(2, EventType::kDeleted, "default", "a")).ok());
  EXPECT_EQ(state.Find("Pod", "default", "a"), nullptr);
  EXPECT_EQ(state.size(), 0u);
  EXPECT_EQ(state.seq(), 2u);
}

TEST(StateProjectionTest, GapIsCorruptionAndChangesNothing) {
  StateProjection state;
  ASSERT_TRUE(state.Apply(MakePod(1, EventType::kAdded, "default", "a")).ok());
  Status s = state.Apply(MakePod(3, EventType::kAdded, "default", "b"));
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(s.message(), HasSubstr("seq 3"));
  EXPECT_EQ(state.seq(), 1u);
  EXPECT_EQ(state.Find("Pod", "default", "b"), nullptr);
}

TEST(StateProjectionTest, FirstEventMustBeSeqOne) {
  StateProjection state;
  EXPECT_EQ(state.Apply(MakePod(5, EventType::kAdded, "default", "a")).code(), Code::kCorruption);
}

TEST(StateProjectionTest, ReplayedSeqIsCorruption) {
  StateProjection state;
  ASSERT_TRUE(state.Apply(MakePod(1, EventType::kAdded, "default", "a")).ok());
  EXPECT_EQ(state.Apply(MakePod(1, EventType::kModified, "default", "a")).code(),
            Code::kCorruption);
}

TEST(StateProjectionTest, ApplyAfterSnapshotLoadContinuesAtSnapshotSeq) {
  StateProjection state;
  state.Load(StoredObject{"Pod", "default", "a", 7, "{}"});
  state.SetSeq(10);
  EXPECT_EQ(state.Apply(MakePod(10, EventType::kModified, "default", "a")).code(),
            Code::kCorruption);
  ASSERT_TRUE(state.Apply(MakePod(11, EventType::kModified, "default", "a")).ok());
  EXPECT_EQ(state.Find("Pod", "default", "a")->seq, 11u);
}

TEST(StateProjectionTest, SortedIsObjectKeyOrder) {
  StateProjection state;
  // Inserted out of order, across kinds and a cluster-scoped kind.
  ASSERT_TRUE(state.Apply(MakePod(1, EventType::kAdded, "team-a", "b")).ok());
  ASSERT_TRUE(state.Apply(MakeEvent(2, EventType::kAdded, "Node", "", "n1", "{}")).ok());
  ASSERT_TRUE(state.Apply(MakePod(3, EventType::kAdded, "default", "z")).ok());
  ASSERT_TRUE(state.Apply(MakePod(4, EventType::kAdded, "default", "a")).ok());
  std::vector<std::string> keys;
  for (const StoredObject* o : state.Sorted()) keys.push_back(ObjectKey(o->kind, o->ns, o->name));
  EXPECT_THAT(keys, ElementsAre("Node//n1", "Pod/default/a", "Pod/default/z", "Pod/team-a/b"));
}

TEST(StateProjectionTest, SortedFiltersByKind) {
  StateProjection state;
  ASSERT_TRUE(state.Apply(MakePod(1, EventType::kAdded, "default", "a")).ok());
  ASSERT_TRUE(state.Apply(MakeEvent(2, EventType::kAdded, "Node", "", "n1", "{}")).ok());
  ASSERT_TRUE(
      state.Apply(MakeEvent(3, EventType::kAdded, "PodTemplate", "default", "t", "{}")).ok());
  auto pods = state.Sorted("Pod");
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0]->name, "a");
}

TEST(StateProjectionTest, MoveAndCopyApplyGiveTheSameState) {
  std::vector<Event> events = ScenarioGenerator(7).Take(500);
  StateProjection copied = FoldAll(events);
  StateProjection moved;
  for (Event e : events) ASSERT_TRUE(moved.Apply(std::move(e)).ok());
  EXPECT_EQ(Values(copied), Values(moved));
}

// Determinism: the state does not depend on how the history is split.
TEST(StateProjectionTest, FoldAllEqualsFoldInTwoHalves) {
  std::vector<Event> events = ScenarioGenerator(11).Take(2000);
  StateProjection all = FoldAll(events);

  StateProjection halves;
  for (size_t i = 0; i < 1000; ++i) ASSERT_TRUE(halves.Apply(events[i]).ok());
  StateProjection second_half = halves;  // continue a copy: copies fold independently
  for (size_t i = 1000; i < events.size(); ++i) ASSERT_TRUE(second_half.Apply(events[i]).ok());

  EXPECT_EQ(second_half.seq(), all.seq());
  EXPECT_EQ(Values(second_half), Values(all));
  EXPECT_EQ(halves.seq(), 1000u);
}

TEST(StateProjectionTest, FoldAllEqualsSnapshotAtMiddlePlusRest) {
  std::vector<Event> events = ScenarioGenerator(13).Take(2000);
  StateProjection all = FoldAll(events);

  StateProjection first_half;
  for (size_t i = 0; i < 1000; ++i) ASSERT_TRUE(first_half.Apply(events[i]).ok());
  StateProjection from_snapshot;
  for (const StoredObject* o : first_half.Sorted()) from_snapshot.Load(StoredObject(*o));
  from_snapshot.SetSeq(first_half.seq());
  for (size_t i = 1000; i < events.size(); ++i) {
    ASSERT_TRUE(from_snapshot.Apply(events[i]).ok());
  }
  EXPECT_EQ(Values(from_snapshot), Values(all));
}

TEST(StateProjectionTest, LoadReplacesObjectWithSameKey) {
  StateProjection state;
  state.Load(StoredObject{"Pod", "default", "a", 1, "old"});
  state.Load(StoredObject{"Pod", "default", "a", 2, "new"});
  EXPECT_EQ(state.size(), 1u);
  EXPECT_EQ(state.Find("Pod", "default", "a")->object, "new");
}

}  // namespace
}  // namespace korc::storage
