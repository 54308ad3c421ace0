#include "storage/rocksdb_event_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <atomic>
#include <thread>

#include "core/coding.h"
#include "storage/event_log.h"
#include "tests/storage/storage_test_util.h"

namespace korc::storage {
namespace {

namespace layout = rocksdb_layout;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using testutil::MakeEvent;
using testutil::MakePod;
using testutil::PodJson;
using testutil::ScenarioGenerator;
using testutil::TempDir;

std::unique_ptr<EventLog> MustOpen(const std::string& dir, EventLogOptions options = {}) {
  auto log = OpenRocksDbEventLog(dir, options);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

std::vector<Event> ReadAll(const EventLog& log, uint64_t from = 1, uint64_t to = 0) {
  std::vector<Event> out;
  Status s = log.ReadEvents(from, to, [&](const Event& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<uint64_t> Seqs(const std::vector<Event>& events) {
  std::vector<uint64_t> seqs;
  for (const Event& e : events) seqs.push_back(e.seq);
  return seqs;
}

std::vector<std::string> Names(const std::vector<StoredObject>& objects) {
  std::vector<std::string> names;
  for (const auto& o : objects) names.push_back(o.ns + "/" + o.name);
  return names;
}

// Direct access to the RocksDB database under a (closed) log, to damage or forge bytes.
class RawDb {
 public:
  explicit RawDb(const std::string& dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* name : {rocksdb::kDefaultColumnFamilyName.c_str(), layout::kEventsCf,
                             layout::kObjectsCf, layout::kMetaCf, layout::kSnapshotsCf}) {
      cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(rocksdb::DBOptions(), dir, cfs, &handles_, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* events() { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* meta() { return handles_[3]; }
  rocksdb::ColumnFamilyHandle* snapshots() { return handles_[4]; }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

class RocksDbEventLogTest : public ::testing::Test {
 protected:
  void SetUp() override { log_ = MustOpen(dir_.Sub("log")); }
  void Reopen(EventLogOptions options = {}) {
    log_.reset();
    log_ = MustOpen(dir_.Sub("log"), options);
  }
  void AppendPods(uint64_t n) {
    std::vector<Event> events;
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t seq = log_->Head() + 1 + i;
      events.push_back(MakePod(seq, EventType::kAdded, "default", "p" + std::to_string(seq),
                               static_cast<int64_t>(seq) * 1000));
    }
    ASSERT_TRUE(log_->Append(events).ok());
  }

  TempDir dir_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(RocksDbEventLogTest, NewLogIsEmpty) {
  EXPECT_EQ(log_->Head(), 0u);
  EXPECT_EQ(log_->FirstAvailable(), 1u);
  EXPECT_TRUE(log_->Snapshots().empty());
  EXPECT_TRUE(ReadAll(*log_).empty());
  EXPECT_THAT(log_->ClusterId(), MatchesRegex("[0-9a-f]{32}"));
}

TEST_F(RocksDbEventLogTest, TwoLogsGetDifferentClusterIds) {
  TempDir other;
  auto log2 = MustOpen(other.path());
  EXPECT_NE(log_->ClusterId(), log2->ClusterId());
}

TEST_F(RocksDbEventLogTest, AppendThenGetReturnsObjectAndSeq) {
  Event e = MakePod(1, EventType::kAdded, "default", "web-1");
  ASSERT_TRUE(log_->Append({&e, 1}).ok());
  EXPECT_EQ(log_->Head(), 1u);
  auto got = log_->Get("Pod", "default", "web-1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, (StoredObject{"Pod", "default", "web-1", 1, e.object}));
}

// A command id maps to the first change it made, durably, and unknown ids to 0.
TEST_F(RocksDbEventLogTest, CommandIdsAreFoundAfterReopen) {
  std::vector<Event> batch = {MakePod(1, EventType::kAdded, "default", "a"),
                              MakePod(2, EventType::kAdded, "default", "b"),
                              MakePod(3, EventType::kAdded, "default", "c")};
  batch[1].command = "system:controller:gc/7/0";
  batch[2].command = "system:controller:gc/7/0";  // the same command's second change
  ASSERT_TRUE(log_->Append(batch).ok());
  Reopen();
  auto seq = log_->FindCommand("system:controller:gc/7/0");
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_EQ(*seq, 2u);
  EXPECT_EQ(*log_->FindCommand("system:controller:gc/7/1"), 0u);
  EXPECT_EQ(*log_->FindCommand(""), 0u);
}

TEST_F(RocksDbEventLogTest, GetMissingIsNotFound) {
  auto got = log_->Get("Pod", "default", "nope");
  EXPECT_EQ(got.status().code(), Code::kNotFound);
  EXPECT_THAT(got.status().message(), HasSubstr("Pod \"default/nope\" not found"));
}

TEST_F(RocksDbEventLogTest, AppendEmptySpanIsNoOp) {
  EXPECT_TRUE(log_->Append({}).ok());
  EXPECT_EQ(log_->Head(), 0u);
}

TEST_F(RocksDbEventLogTest, ModifiedUpdatesObjectAndSeq) {
  std::vector<Event> events = {MakePod(1, EventType::kAdded, "default", "a"),
                               MakePod(2, EventType::kModified, "default", "a")};
  ASSERT_TRUE(log_->Append(events).ok());
  auto got = log_->Get("Pod", "default", "a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->seq, 2u);
  EXPECT_EQ(got->object, events[1].object);
}

TEST_F(RocksDbEventLogTest, DeletedRemovesObject) {
  std::vector<Event> events = {MakePod(1, EventType::kAdded, "default", "a"),
                               MakePod(2, EventType::kAdded, "default", "b")};
  ASSERT_TRUE(log_->Append(events).ok());
  Event del = MakePod(3, EventType::kDeleted, "default", "a");
  ASSERT_TRUE(log_->Append({&del, 1}).ok());
  EXPECT_EQ(log_->Get("Pod", "default", "a").status().code(), Code::kNotFound);
  auto all = log_->List("Pod", "");
  ASSERT_TRUE(all.ok());
  EXPECT_THAT(Names(*all), ElementsAre("default/b"));
  // The history keeps the deletion with the object's last state.
  EXPECT_EQ(ReadAll(*log_, 3, 3).at(0), del);
}

TEST_F(RocksDbEventLogTest, AddedAndDeletedInOneBatchLeavesNoObject) {
  std::vector<Event> events = {MakePod(1, EventType::kAdded, "default", "a"),
                               MakePod(2, EventType::kDeleted, "default", "a")};
  ASSERT_TRUE(log_->Append(events).ok());
  EXPECT_EQ(log_->Get("Pod", "default", "a").status().code(), Code::kNotFound);
}

TEST_F(RocksDbEventLogTest, ListIsKeyOrderFilteredByKindAndNamespace) {
  std::vector<Event> events = {
      MakePod(1, EventType::kAdded, "team-a", "x"),
      MakePod(2, EventType::kAdded, "default", "b"),
      MakePod(3, EventType::kAdded, "default", "a"),
      MakeEvent(4, EventType::kAdded, "PodTemplate", "default", "t", "{}"),
      MakeEvent(5, EventType::kAdded, "Node", "", "n1", "{}"),
      MakePod(6, EventType::kAdded, "default-2", "c"),
  };
  ASSERT_TRUE(log_->Append(events).ok());

  auto pods = log_->List("Pod", "");
  ASSERT_TRUE(pods.ok());
  // Byte order of "Pod/<ns>/<name>": '-' sorts before '/', so "default-2" precedes
  // "default" (etcd's /registry keys order the same way).
  EXPECT_THAT(Names(*pods), ElementsAre("default-2/c", "default/a", "default/b", "team-a/x"));

  auto in_default = log_->List("Pod", "default");
  ASSERT_TRUE(in_default.ok());
  EXPECT_THAT(Names(*in_default), ElementsAre("default/a", "default/b"));

  auto nodes = log_->List("Node", "");
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ(nodes->at(0), (StoredObject{"Node", "", "n1", 5, "{}"}));
}

TEST_F(RocksDbEventLogTest, ListAppliesFilterToObjectJson) {
  std::vector<Event> events = {MakeEvent(1, EventType::kAdded, "Pod", "default", "a", "red"),
                               MakeEvent(2, EventType::kAdded, "Pod", "default", "b", "blue")};
  ASSERT_TRUE(log_->Append(events).ok());
  auto red = log_->List("Pod", "", [](std::string_view json) { return json == "red"; });
  ASSERT_TRUE(red.ok());
  EXPECT_THAT(Names(*red), ElementsAre("default/a"));
}

TEST_F(RocksDbEventLogTest, ListWithEmptyKindListsEverything) {
  std::vector<Event> events = {MakePod(1, EventType::kAdded, "default", "a"),
                               MakeEvent(2, EventType::kAdded, "Node", "", "n1", "{}")};
  ASSERT_TRUE(log_->Append(events).ok());
  auto all = log_->List("", "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_EQ(log_->List("", "default").status().code(), Code::kInvalid);
}

TEST_F(RocksDbEventLogTest, ReadEventsReturnsTheAppendedEvents) {
  std::vector<Event> events = ScenarioGenerator(1).Take(50);
  ASSERT_TRUE(log_->Append(events).ok());
  EXPECT_EQ(ReadAll(*log_), events);
}

TEST_F(RocksDbEventLogTest, ReadEventsHonoursRange) {
  AppendPods(10);
  EXPECT_THAT(Seqs(ReadAll(*log_, 3, 5)), ElementsAre(3, 4, 5));
  EXPECT_THAT(Seqs(ReadAll(*log_, 8, 0)), ElementsAre(8, 9, 10));
  EXPECT_THAT(Seqs(ReadAll(*log_, 9, 1000)), ElementsAre(9, 10));
  EXPECT_THAT(Seqs(ReadAll(*log_, 0, 2)), ElementsAre(1, 2));
  EXPECT_TRUE(ReadAll(*log_, 11, 0).empty());
  EXPECT_TRUE(ReadAll(*log_, 5, 4).empty());
}

TEST_F(RocksDbEventLogTest, ReadEventsStopsWhenCallbackReturnsFalse) {
  AppendPods(10);
  std::vector<uint64_t> seen;
  ASSERT_TRUE(log_->ReadEvents(1, 0,
                               [&](const Event& e) {
                                 seen.push_back(e.seq);
                                 return e.seq < 4;
                               })
                  .ok());
  EXPECT_THAT(seen, ElementsAre(1, 2, 3, 4));
}

TEST_F(RocksDbEventLogTest, AppendWithSeqGapIsConflictAndWritesNothing) {
  AppendPods(2);
  Event e = MakePod(4, EventType::kAdded, "default", "x");
  Status s = log_->Append({&e, 1});
  EXPECT_EQ(s.code(), Code::kConflict);
  EXPECT_THAT(s.message(), HasSubstr("want 3"));
  EXPECT_EQ(log_->Head(), 2u);
  EXPECT_EQ(log_->Get("Pod", "default", "x").status().code(), Code::kNotFound);
  EXPECT_EQ(ReadAll(*log_).size(), 2u);
}

TEST_F(RocksDbEventLogTest, AppendWithNonDenseBatchIsConflictAndWritesNothing) {
  // The first two events are fine; the third breaks the run, so none may be written.
  std::vector<Event> events = {MakePod(1, EventType::kAdded, "default", "a"),
                               MakePod(2, EventType::kAdded, "default", "b"),
                               MakePod(2, EventType::kAdded, "default", "c")};
  EXPECT_EQ(log_->Append(events).code(), Code::kConflict);
  EXPECT_EQ(log_->Head(), 0u);
  EXPECT_EQ(log_->Get("Pod", "default", "a").status().code(), Code::kNotFound);
  EXPECT_TRUE(ReadAll(*log_).empty());
  Reopen();
  EXPECT_EQ(log_->Head(), 0u);
}

TEST_F(RocksDbEventLogTest, AppendOfAnAlreadyUsedSeqIsConflict) {
  AppendPods(3);
  Event e = MakePod(3, EventType::kModified, "default", "p3");
  EXPECT_EQ(log_->Append({&e, 1}).code(), Code::kConflict);
  EXPECT_EQ(log_->Get("Pod", "default", "p3")->object, PodJson("default", "p3", 3));
}

TEST_F(RocksDbEventLogTest, AppendWithSlashInKindOrNamespaceIsInvalid) {
  Event bad_kind = MakeEvent(1, EventType::kAdded, "Po/d", "default", "a", "{}");
  EXPECT_EQ(log_->Append({&bad_kind, 1}).code(), Code::kInvalid);
  Event bad_ns = MakeEvent(1, EventType::kAdded, "Pod", "de/fault", "a", "{}");
  EXPECT_EQ(log_->Append({&bad_ns, 1}).code(), Code::kInvalid);
  Event no_name = MakeEvent(1, EventType::kAdded, "Pod", "default", "", "{}");
  EXPECT_EQ(log_->Append({&no_name, 1}).code(), Code::kInvalid);
  EXPECT_EQ(log_->Head(), 0u);
}

TEST_F(RocksDbEventLogTest, ReopenKeepsHeadClusterIdAndState) {
  std::vector<Event> events = ScenarioGenerator(3).Take(100);
  ASSERT_TRUE(log_->Append(events).ok());
  const std::string id = log_->ClusterId();
  auto before = log_->List("", "");
  ASSERT_TRUE(before.ok());
  Reopen();
  EXPECT_EQ(log_->Head(), 100u);
  EXPECT_EQ(log_->ClusterId(), id);
  EXPECT_EQ(ReadAll(*log_), events);
  auto after = log_->List("", "");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);
  // And it keeps appending where it left off.
  Event next = MakePod(101, EventType::kAdded, "default", "after-reopen");
  EXPECT_TRUE(log_->Append({&next, 1}).ok());
}

TEST_F(RocksDbEventLogTest, UnsyncedAppendsAreReadableAndSurviveCleanClose) {
  Reopen(EventLogOptions{.sync = false});
  AppendPods(20);
  Reopen();
  EXPECT_EQ(log_->Head(), 20u);
  EXPECT_EQ(ReadAll(*log_).size(), 20u);
}

TEST_F(RocksDbEventLogTest, SecondOpenInThisProcessFailsClearly) {
  auto second = OpenRocksDbEventLog(dir_.Sub("log"));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("already open in this process"));
  EXPECT_THAT(second.status().message(), HasSubstr(dir_.Sub("log")));
}

TEST(RocksDbEventLogOpenTest, MissingDirWithoutCreateIsNotFound) {
  TempDir dir;
  auto log = OpenRocksDbEventLog(dir.Sub("absent"), EventLogOptions{.create_if_missing = false});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Code::kNotFound);
  EXPECT_THAT(log.status().message(), HasSubstr("does not exist"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("absent")));
}

TEST(RocksDbEventLogOpenTest, NewerFormatVersionIsRefused) {
  TempDir dir;
  { MustOpen(dir.path()); }
  {
    RawDb raw(dir.path());
    ASSERT_TRUE(raw.db()
                    ->Put(rocksdb::WriteOptions(), raw.meta(), layout::kMetaFormatVersion,
                          coding::BigEndian64(kLogFormatVersion + 1))
                    .ok());
  }
  auto log = OpenRocksDbEventLog(dir.path());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Code::kInvalid);
  EXPECT_THAT(log.status().message(),
              HasSubstr("format version " + std::to_string(kLogFormatVersion + 1) +
                        ", newer than this korc understands"));
}

TEST(RocksDbEventLogOpenTest, OtherRocksDbWithDataIsRefused) {
  TempDir dir;
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.path(), &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "someone", "else's").ok());
    delete db;
  }
  auto log = OpenRocksDbEventLog(dir.path());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Code::kCorruption);
  EXPECT_THAT(log.status().message(), HasSubstr("not a korc event log"));
}

TEST(RocksDbEventLogOpenTest, InterruptedCreationIsCompletedAtOpen) {
  TempDir dir;
  {
    // What a kill during the very first open can leave: a database with only some of the
    // column families and no meta.
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir.path(), &db).ok());
    rocksdb::ColumnFamilyHandle* h = nullptr;
    ASSERT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), layout::kEventsCf, &h).ok());
    db->DestroyColumnFamilyHandle(h);
    delete db;
  }
  EXPECT_EQ(
      OpenRocksDbEventLog(dir.path(), EventLogOptions{.create_if_missing = false}).status().code(),
      Code::kNotFound);
  auto log = MustOpen(dir.path());
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->Head(), 0u);
  Event e = MakePod(1, EventType::kAdded, "default", "a");
  EXPECT_TRUE(log->Append({&e, 1}).ok());
}

TEST(RocksDbEventLogOpenTest, HeadWithoutItsEventIsCorruptionAtOpen) {
  TempDir dir;
  {
    auto log = MustOpen(dir.path());
    Event e = MakePod(1, EventType::kAdded, "default", "a");
    ASSERT_TRUE(log->Append({&e, 1}).ok());
  }
  {
    RawDb raw(dir.path());
    ASSERT_TRUE(
        raw.db()
            ->Put(rocksdb::WriteOptions(), raw.meta(), layout::kMetaHead, coding::BigEndian64(2))
            .ok());
  }
  auto log = OpenRocksDbEventLog(dir.path());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Code::kCorruption);
  EXPECT_THAT(log.status().message(), HasSubstr("head is seq 2"));
}

// Damaged history: each case is written with RocksDB directly under a closed log.
class DamagedLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto log = MustOpen(dir_.path());
    std::vector<Event> events;
    for (uint64_t seq = 1; seq <= 5; ++seq) {
      events.push_back(MakePod(seq, EventType::kAdded, "default", "p" + std::to_string(seq)));
    }
    ASSERT_TRUE(log->Append(events).ok());
  }
  Status ReadAllStatus() {
    auto log = MustOpen(dir_.path());
    if (!log) return Status::Internal("open failed");
    return log->ReadEvents(1, 0, [](const Event&) { return true; });
  }

  TempDir dir_;
};

TEST_F(DamagedLogTest, CorruptedEventBytesAreCorruption) {
  {
    RawDb raw(dir_.path());
    std::string value;
    ASSERT_TRUE(
        raw.db()->Get(rocksdb::ReadOptions(), raw.events(), layout::EventKey(3), &value).ok());
    value[value.size() / 2] ^= 0x5a;
    ASSERT_TRUE(
        raw.db()->Put(rocksdb::WriteOptions(), raw.events(), layout::EventKey(3), value).ok());
  }
  Status s = ReadAllStatus();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(s.message(), HasSubstr("event seq 3"));
  EXPECT_THAT(s.message(), HasSubstr("checksum"));
}

TEST_F(DamagedLogTest, MissingEventIsCorruption) {
  {
    RawDb raw(dir_.path());
    ASSERT_TRUE(raw.db()->Delete(rocksdb::WriteOptions(), raw.events(), layout::EventKey(3)).ok());
  }
  Status s = ReadAllStatus();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(s.message(), HasSubstr("event seq 3 is missing"));
}

TEST_F(DamagedLogTest, EventUnderTheWrongSeqIsCorruption) {
  {
    RawDb raw(dir_.path());
    std::string value;
    ASSERT_TRUE(
        raw.db()->Get(rocksdb::ReadOptions(), raw.events(), layout::EventKey(2), &value).ok());
    ASSERT_TRUE(
        raw.db()->Put(rocksdb::WriteOptions(), raw.events(), layout::EventKey(3), value).ok());
  }
  Status s = ReadAllStatus();
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_THAT(s.message(), HasSubstr("stored under seq 3 carries seq 2"));
}

TEST_F(DamagedLogTest, MissingLastEventIsCorruption) {
  {
    RawDb raw(dir_.path());
    ASSERT_TRUE(raw.db()->Delete(rocksdb::WriteOptions(), raw.events(), layout::EventKey(5)).ok());
  }
  // Caught at open, before any read could miss it.
  auto log = OpenRocksDbEventLog(dir_.path());
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), Code::kCorruption);
}

TEST_F(RocksDbEventLogTest, SnapshotAtHeadHoldsTheCurrentObjects) {
  std::vector<Event> events = ScenarioGenerator(5).Take(200);
  ASSERT_TRUE(log_->Append(events).ok());
  ASSERT_TRUE(log_->CreateSnapshot(200).ok());
  EXPECT_THAT(log_->Snapshots(), ElementsAre(200));
  std::vector<StoredObject> snapshot;
  ASSERT_TRUE(
      log_->ReadSnapshot(200, [&](StoredObject&& o) { snapshot.push_back(std::move(o)); }).ok());
  EXPECT_EQ(snapshot, *log_->List("", ""));
}

TEST_F(RocksDbEventLogTest, SnapshotBelowHeadHoldsTheStateAtItsSeq) {
  std::vector<Event> events = ScenarioGenerator(6).Take(300);
  ASSERT_TRUE(log_->Append(std::span(events).first(150)).ok());
  auto at_150 = log_->List("", "");
  ASSERT_TRUE(at_150.ok());
  ASSERT_TRUE(log_->Append(std::span(events).subspan(150)).ok());

  ASSERT_TRUE(log_->CreateSnapshot(150).ok());
  std::vector<StoredObject> snapshot;
  ASSERT_TRUE(
      log_->ReadSnapshot(150, [&](StoredObject&& o) { snapshot.push_back(std::move(o)); }).ok());
  EXPECT_EQ(snapshot, *at_150);
}

TEST_F(RocksDbEventLogTest, CreateSnapshotTwiceIsIdempotent) {
  AppendPods(10);
  ASSERT_TRUE(log_->CreateSnapshot(5).ok());
  ASSERT_TRUE(log_->CreateSnapshot(5).ok());
  ASSERT_TRUE(log_->CreateSnapshot(10).ok());
  EXPECT_THAT(log_->Snapshots(), ElementsAre(5, 10));
}

TEST_F(RocksDbEventLogTest, SnapshotAboveHeadIsInvalid) {
  AppendPods(3);
  EXPECT_EQ(log_->CreateSnapshot(4).code(), Code::kInvalid);
  EXPECT_TRUE(log_->Snapshots().empty());
}

TEST_F(RocksDbEventLogTest, ReadSnapshotThatDoesNotExistIsNotFound) {
  AppendPods(3);
  EXPECT_EQ(log_->ReadSnapshot(2, [](StoredObject&&) {}).code(), Code::kNotFound);
}

TEST_F(RocksDbEventLogTest, LargeSnapshotRoundTrips) {
  // ~24 MiB of state: several snapshot write batches.
  constexpr uint64_t kPods = 6000;
  std::vector<Event> events;
  for (uint64_t seq = 1; seq <= kPods; ++seq) {
    // Not "p" + to_string(seq): GCC 12 -O3 warns falsely about it (-Wrestrict, bug 105329).
    const std::string name = std::string("p").append(std::to_string(seq));
    events.push_back(MakeEvent(seq, EventType::kAdded, "Pod", "default", name,
                               PodJson("default", name, seq, 4096)));
  }
  ASSERT_TRUE(log_->Append(events).ok());
  ASSERT_TRUE(log_->CreateSnapshot(kPods).ok());
  uint64_t count = 0;
  size_t bytes = 0;
  ASSERT_TRUE(log_->ReadSnapshot(kPods,
                                 [&](StoredObject&& o) {
                                   ++count;
                                   bytes += o.object.size();
                                 })
                  .ok());
  EXPECT_EQ(count, kPods);
  EXPECT_GT(bytes, size_t{24} << 20);
}

TEST_F(RocksDbEventLogTest, SnapshotWithoutMarkerIsInvisibleAndDroppedAtOpen) {
  AppendPods(3);
  log_.reset();
  {
    // What a crash in the middle of CreateSnapshot(2) leaves behind: data, no marker.
    RawDb raw(dir_.Sub("log"));
    ASSERT_TRUE(raw.db()
                    ->Put(rocksdb::WriteOptions(), raw.snapshots(),
                          layout::SnapshotDataPrefix(2) + "Pod/default/p1",
                          layout::EncodeObjectValue(1, "{}"))
                    .ok());
  }
  Reopen();
  EXPECT_TRUE(log_->Snapshots().empty());
  EXPECT_EQ(log_->ReadSnapshot(2, [](StoredObject&&) {}).code(), Code::kNotFound);
  log_.reset();
  RawDb raw(dir_.Sub("log"));
  std::string value;
  EXPECT_TRUE(raw.db()
                  ->Get(rocksdb::ReadOptions(), raw.snapshots(),
                        layout::SnapshotDataPrefix(2) + "Pod/default/p1", &value)
                  .IsNotFound());
}

TEST_F(RocksDbEventLogTest, CompactWithoutSnapshotIsInvalid) {
  AppendPods(10);
  Status s = log_->Compact(5);
  EXPECT_EQ(s.code(), Code::kInvalid);
  EXPECT_THAT(s.message(), HasSubstr("no snapshot"));
  EXPECT_EQ(log_->FirstAvailable(), 1u);
}

TEST_F(RocksDbEventLogTest, ReadsBelowCompactedHistoryAreExpired) {
  AppendPods(10);
  ASSERT_TRUE(log_->CreateSnapshot(6).ok());
  ASSERT_TRUE(log_->Compact(6).ok());
  EXPECT_EQ(log_->FirstAvailable(), 7u);
  Status s = log_->ReadEvents(3, 0, [](const Event&) { return true; });
  EXPECT_EQ(s.code(), Code::kExpired);
  EXPECT_THAT(s.message(), HasSubstr("events below seq 7 were compacted (earliest available is 7"));
  EXPECT_EQ(log_->ReadEvents(0, 0, [](const Event&) { return true; }).code(), Code::kExpired);
  EXPECT_THAT(Seqs(ReadAll(*log_, 7)), ElementsAre(7, 8, 9, 10));
}

TEST_F(RocksDbEventLogTest, CompactionSurvivesReopen) {
  AppendPods(10);
  ASSERT_TRUE(log_->CreateSnapshot(6).ok());
  ASSERT_TRUE(log_->Compact(6).ok());
  Reopen();
  EXPECT_EQ(log_->FirstAvailable(), 7u);
  EXPECT_EQ(log_->Head(), 10u);
  EXPECT_THAT(log_->Snapshots(), ElementsAre(6));
  EXPECT_THAT(Seqs(ReadAll(*log_, 7)), ElementsAre(7, 8, 9, 10));
}

TEST_F(RocksDbEventLogTest, CompactDeletesOlderSnapshotsOnly) {
  AppendPods(10);
  for (uint64_t seq : {2, 4, 6, 8}) ASSERT_TRUE(log_->CreateSnapshot(seq).ok());
  ASSERT_TRUE(log_->Compact(6).ok());
  EXPECT_THAT(log_->Snapshots(), ElementsAre(6, 8));
  EXPECT_EQ(log_->ReadSnapshot(4, [](StoredObject&&) {}).code(), Code::kNotFound);
  // Snapshots below the compacted history can no longer be made.
  EXPECT_EQ(log_->CreateSnapshot(5).code(), Code::kInvalid);
}

TEST_F(RocksDbEventLogTest, CompactThroughHeadLeavesNoEventsButKeepsAppending) {
  AppendPods(5);
  ASSERT_TRUE(log_->CreateSnapshot(5).ok());
  ASSERT_TRUE(log_->Compact(5).ok());
  EXPECT_TRUE(ReadAll(*log_, 6).empty());
  Reopen();
  EXPECT_EQ(log_->Head(), 5u);
  AppendPods(1);
  EXPECT_THAT(Seqs(ReadAll(*log_, 6)), ElementsAre(6));
  EXPECT_EQ(log_->List("Pod", "")->size(), 6u);
}

TEST_F(RocksDbEventLogTest, ApplyRetentionKeepsTheLastEvents) {
  Reopen(EventLogOptions{.retention = {.keep_events = 4}});
  AppendPods(10);
  ASSERT_TRUE(log_->ApplyRetention().ok());
  EXPECT_EQ(log_->FirstAvailable(), 7u);
  EXPECT_THAT(log_->Snapshots(), ElementsAre(6));
  EXPECT_THAT(Seqs(ReadAll(*log_, 7)), ElementsAre(7, 8, 9, 10));
}

TEST_F(RocksDbEventLogTest, ApplyRetentionWithoutPolicyKeepsEverything) {
  AppendPods(10);
  ASSERT_TRUE(log_->ApplyRetention().ok());
  EXPECT_EQ(log_->FirstAvailable(), 1u);
  EXPECT_TRUE(log_->Snapshots().empty());
}

TEST_F(RocksDbEventLogTest, ReadersDuringAppendsSeeDenseConsistentHistory) {
  constexpr uint64_t kBatches = 200;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    ScenarioGenerator gen(17);
    for (uint64_t i = 0; i < kBatches; ++i) {
      std::vector<Event> batch = gen.Take(1 + i % 7);
      ASSERT_TRUE(log_->Append(batch).ok());
    }
    done = true;
  });
  uint64_t reads = 0;
  while (!done || reads == 0) {
    const uint64_t head_before = log_->Head();
    uint64_t expected = 1;
    Status s = log_->ReadEvents(1, 0, [&](const Event& e) {
      EXPECT_EQ(e.seq, expected);
      ++expected;
      return true;
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_GE(expected - 1, head_before);  // a read never sees less than what was acknowledged
    ++reads;
  }
  writer.join();
}

}  // namespace
}  // namespace korc::storage
