#include "storage/replay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "storage/event_log.h"
#include "tests/storage/storage_test_util.h"

namespace korc::storage {
namespace {

using ::testing::HasSubstr;
using testutil::MakePod;
using testutil::ScenarioGenerator;
using testutil::TempDir;
using testutil::Values;

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = OpenRocksDbEventLog(dir_.path());
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }

  // Appends `n` scenario events in batches of varying size.
  void AppendScenario(uint64_t seed, uint64_t n) {
    ScenarioGenerator gen(seed, log_->Head() + 1);
    uint64_t left = n;
    for (uint64_t i = 0; left > 0; ++i) {
      const uint64_t size = std::min<uint64_t>(left, 1 + (i * 7) % 23);
      std::vector<Event> batch = gen.Take(size);
      ASSERT_TRUE(log_->Append(batch).ok());
      left -= size;
    }
  }

  std::vector<StoredObject> StateValues(uint64_t seq) {
    auto state = StateAt(*log_, seq);
    EXPECT_TRUE(state.ok()) << state.status().ToString();
    if (!state.ok()) return {};
    EXPECT_EQ(state->seq(), seq);
    return Values(*state);
  }

  TempDir dir_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(ReplayTest, StateAtHeadEqualsObjectsProjection) {
  AppendScenario(21, 3000);
  auto objects = log_->List("", "");
  ASSERT_TRUE(objects.ok());
  EXPECT_FALSE(objects->empty());
  EXPECT_EQ(StateValues(log_->Head()), *objects);
}

TEST_F(ReplayTest, StateAtEverySeqMatchesObjectsProjectionAtThatSeq) {
  ScenarioGenerator gen(22);
  std::map<uint64_t, std::vector<StoredObject>> seen;
  for (uint64_t seq = 1; seq <= 150; ++seq) {
    Event e = gen.Next();
    ASSERT_TRUE(log_->Append({&e, 1}).ok());
    seen[seq] = *log_->List("", "");
  }
  for (const auto& [seq, objects] : seen) EXPECT_EQ(StateValues(seq), objects) << "seq " << seq;
}

TEST_F(ReplayTest, StateAtZeroIsEmpty) {
  AppendScenario(23, 10);
  auto state = StateAt(*log_, 0);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->size(), 0u);
  EXPECT_EQ(state->seq(), 0u);
}

TEST_F(ReplayTest, StateAtOfEmptyLogIsEmpty) {
  auto state = StateAt(*log_, 0);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->size(), 0u);
}

TEST_F(ReplayTest, StateAboveHeadIsNotFound) {
  AppendScenario(24, 10);
  auto state = StateAt(*log_, 11);
  EXPECT_EQ(state.status().code(), Code::kNotFound);
  EXPECT_THAT(state.status().message(), HasSubstr("head is seq 10"));
}

TEST_F(ReplayTest, StateFromSnapshotEqualsStateFromFullHistory) {
  AppendScenario(25, 2000);
  // The truth, computed from the complete history before any snapshot exists.
  std::map<uint64_t, std::vector<StoredObject>> truth;
  for (uint64_t seq : {500, 700, 999, 1000, 1001, 1500, 2000}) truth[seq] = StateValues(seq);

  ASSERT_TRUE(log_->CreateSnapshot(500).ok());
  ASSERT_TRUE(log_->CreateSnapshot(1000).ok());
  for (const auto& [seq, objects] : truth) EXPECT_EQ(StateValues(seq), objects) << "seq " << seq;

  ASSERT_TRUE(log_->Compact(1000).ok());
  for (const auto& [seq, objects] : truth) {
    if (seq < 1000) continue;
    EXPECT_EQ(StateValues(seq), objects) << "seq " << seq;
  }
}

TEST_F(ReplayTest, StateBelowCompactedHistoryIsExpired) {
  AppendScenario(26, 100);
  ASSERT_TRUE(log_->CreateSnapshot(60).ok());
  ASSERT_TRUE(log_->Compact(60).ok());
  auto state = StateAt(*log_, 59);
  EXPECT_EQ(state.status().code(), Code::kExpired);
  EXPECT_THAT(state.status().message(),
              HasSubstr("earliest state that can be rebuilt is at seq 60"));
  EXPECT_TRUE(StateAt(*log_, 60).ok());
}

TEST_F(ReplayTest, SnapshotBelowHeadMadeAfterCompactionMatchesHistory) {
  AppendScenario(27, 400);
  const std::vector<StoredObject> at_300 = StateValues(300);
  ASSERT_TRUE(log_->CreateSnapshot(100).ok());
  ASSERT_TRUE(log_->Compact(100).ok());
  // Built from the snapshot at 100 plus events 101..300.
  ASSERT_TRUE(log_->CreateSnapshot(300).ok());
  std::vector<StoredObject> snapshot;
  ASSERT_TRUE(
      log_->ReadSnapshot(300, [&](StoredObject&& o) { snapshot.push_back(std::move(o)); }).ok());
  EXPECT_EQ(snapshot, at_300);
}

class SeqAtTimeTest : public ReplayTest {
 protected:
  // Events at times 10, 20, 20, 30, 40 (seqs 1..5).
  void SetUp() override {
    ReplayTest::SetUp();
    const int64_t times[] = {10, 20, 20, 30, 40};
    std::vector<Event> events;
    for (uint64_t i = 0; i < 5; ++i) {
      events.push_back(
          MakePod(i + 1, EventType::kAdded, "default", "p" + std::to_string(i), times[i]));
    }
    ASSERT_TRUE(log_->Append(events).ok());
  }
  uint64_t At(int64_t t) {
    auto seq = SeqAtTime(*log_, t);
    EXPECT_TRUE(seq.ok()) << seq.status().ToString();
    return seq.ok() ? *seq : ~uint64_t{0};
  }
};

TEST_F(SeqAtTimeTest, BeforeTheFirstEventIsZero) { EXPECT_EQ(At(9), 0u); }

TEST_F(SeqAtTimeTest, ExactTimeGivesTheLastEventAtThatTime) {
  EXPECT_EQ(At(10), 1u);
  EXPECT_EQ(At(20), 3u);
  EXPECT_EQ(At(40), 5u);
}

TEST_F(SeqAtTimeTest, BetweenEventsGivesTheEarlierOne) {
  EXPECT_EQ(At(15), 1u);
  EXPECT_EQ(At(29), 3u);
  EXPECT_EQ(At(39), 4u);
}

TEST_F(SeqAtTimeTest, AfterTheLastEventIsTheHead) { EXPECT_EQ(At(1'000'000), 5u); }

TEST_F(SeqAtTimeTest, InsideCompactedHistoryIsExpired) {
  ASSERT_TRUE(log_->CreateSnapshot(3).ok());
  ASSERT_TRUE(log_->Compact(3).ok());
  EXPECT_EQ(SeqAtTime(*log_, 15).status().code(), Code::kExpired);
  EXPECT_EQ(At(30), 4u);
  EXPECT_EQ(At(35), 4u);
}

TEST_F(ReplayTest, SeqAtTimeOfEmptyLogIsZero) {
  auto seq = SeqAtTime(*log_, 123);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 0u);
}

TEST_F(ReplayTest, SeqAtTimeMatchesLinearScanOnRandomTimes) {
  AppendScenario(28, 1000);
  std::vector<int64_t> times;
  ASSERT_TRUE(log_->ReadEvents(1, 0,
                               [&](const Event& e) {
                                 times.push_back(e.time_ns);
                                 return true;
                               })
                  .ok());
  for (size_t probe = 0; probe < times.size(); probe += 37) {
    for (int64_t delta : {-1, 0, 1}) {
      const int64_t t = times[probe] + delta;
      uint64_t want = 0;
      for (size_t i = 0; i < times.size() && times[i] <= t; ++i) want = i + 1;
      auto got = SeqAtTime(*log_, t);
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(*got, want) << "t=" << t;
    }
  }
}

}  // namespace
}  // namespace korc::storage
