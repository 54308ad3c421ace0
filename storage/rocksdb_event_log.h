// RocksDbEventLog: the EventLog (storage/event_log.h) kept in one RocksDB database.
//
// Other modules include only storage/event_log.h and call OpenRocksDbEventLog(); this header
// is for the implementation and for tests that need to touch the bytes on disk. It states the
// on-disk layout (see also storage/README.md).
//
// Layout (format version 1 = kLogFormatVersion). PERSISTED: do not rename column families,
// change key or value encodings, or renumber anything below; bump kLogFormatVersion instead
// and keep reading every older version.
//
//   column family "events":    BigEndian64(seq)               -> EncodeEvent(event)
//   column family "objects":   ObjectKey(kind, ns, name)      -> ObjectValue
//   column family "meta":      "format_version"               -> BigEndian64(version)
//                              "cluster_id"                   -> 32 lowercase hex digits
//                              "head"                         -> BigEndian64(seq)
//                              "compacted_through"            -> BigEndian64(seq); absent = 0
//                              "command/" + command id        -> BigEndian64(seq of its first
//                                                                change); written with it
//   column family "snapshots": 'd' BigEndian64(seq) ObjectKey -> ObjectValue
//                              'm' BigEndian64(seq)           -> varint64(object count)
//
//   ObjectValue = varint64(seq of the event that last changed the object) | object JSON
//
// The events, their `objects` updates and the new head go in one WriteBatch, so the three
// never disagree. A snapshot's data keys ('d') are written in several batches and its
// marker ('m') last, in a synced batch: a snapshot exists only once its marker does, and
// data left without a marker by a crash is deleted at the next open. Compaction deletes the
// events through a snapshot's seq, the older snapshots, and records compacted_through, in one
// batch.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/event_log.h"

namespace korc::storage {

namespace rocksdb_layout {

inline constexpr char kEventsCf[] = "events";
inline constexpr char kObjectsCf[] = "objects";
inline constexpr char kMetaCf[] = "meta";
inline constexpr char kSnapshotsCf[] = "snapshots";

inline constexpr char kMetaFormatVersion[] = "format_version";
inline constexpr char kMetaClusterId[] = "cluster_id";
inline constexpr char kMetaHead[] = "head";
inline constexpr char kMetaCompactedThrough[] = "compacted_through";
inline constexpr char kMetaCommandPrefix[] = "command/";

inline constexpr char kSnapshotDataTag = 'd';
inline constexpr char kSnapshotMarkerTag = 'm';

// Key of event `seq` in "events".
std::string EventKey(uint64_t seq);
// ObjectValue encoding (see above).
std::string EncodeObjectValue(uint64_t seq, std::string_view object_json);
bool DecodeObjectValue(std::string_view value, uint64_t* seq, std::string_view* object_json);
// Splits an ObjectKey "kind/ns/name" at its first two '/'. False when it has fewer.
bool SplitObjectKey(std::string_view key, std::string_view* kind, std::string_view* ns,
                    std::string_view* name);
// 'd' BigEndian64(seq): the prefix of every data key of the snapshot at `seq`.
std::string SnapshotDataPrefix(uint64_t seq);
std::string SnapshotMarkerKey(uint64_t seq);

}  // namespace rocksdb_layout

// Thread-safety: as EventLog — every method may be called from any thread. Appends are
// serialized by append_mu_; snapshot creation, compaction and retention by maintenance_mu_
// (they do not block appends). Reads take a RocksDB snapshot and read head and
// compacted_through from it, so each read sees one consistent state and never blocks writers.
//
// Failure: an Append that returns an error may or may not have become durable (as with any
// database). After a failed write RocksDB refuses further writes until the log is reopened,
// so the in-memory head never runs ahead of or behind what the next open will find.
//
// Extension of the contract: List() with an empty `kind` lists every object (in key order).
class RocksDbEventLog final : public EventLog {
 public:
  // Use OpenRocksDbEventLog(); this is the same with the concrete type.
  static Result<std::unique_ptr<RocksDbEventLog>> Open(const std::string& dir,
                                                       const EventLogOptions& options);
  ~RocksDbEventLog() override;

  RocksDbEventLog(const RocksDbEventLog&) = delete;
  RocksDbEventLog& operator=(const RocksDbEventLog&) = delete;

  Status Append(std::span<const Event> events) override;
  Result<uint64_t> FindCommand(std::string_view id) const override;
  uint64_t Head() const override;
  std::string ClusterId() const override;
  uint64_t FirstAvailable() const override;
  Result<StoredObject> Get(std::string_view kind, std::string_view ns,
                           std::string_view name) const override;
  Result<std::vector<StoredObject>> List(
      std::string_view kind, std::string_view ns,
      const std::function<bool(std::string_view object_json)>& filter = {}) const override;
  Status ReadEvents(uint64_t from, uint64_t to,
                    const std::function<bool(Event&)>& fn) const override;
  Status CreateSnapshot(uint64_t seq) override;
  std::vector<uint64_t> Snapshots() const override;
  Status ReadSnapshot(uint64_t seq, const std::function<void(StoredObject&&)>& fn) const override;
  Status Compact(uint64_t through) override;
  Status ApplyRetention() override;

 private:
  // A consistent point-in-time view: a RocksDB snapshot plus the meta values it holds.
  struct ReadView {
    std::unique_ptr<rocksdb::ManagedSnapshot> snapshot;
    uint64_t head = 0;
    uint64_t compacted_through = 0;
  };

  RocksDbEventLog(std::string dir, EventLogOptions options);

  Status OpenDb();
  Status CompleteCreation(const std::vector<std::string>& missing, std::vector<std::string>* names);
  Status LoadMeta(bool created);
  Status CheckEventsMatchMeta();
  Status DropIncompleteSnapshots();
  Result<ReadView> TakeView() const;
  Result<std::vector<uint64_t>> SnapshotSeqs(const rocksdb::ReadOptions& ro) const;

  // REQUIRES: maintenance_mu_ held.
  Status CreateSnapshotLocked(uint64_t seq);
  Status CompactLocked(uint64_t through);

  const std::string dir_;
  const EventLogOptions options_;

  std::unique_ptr<rocksdb::DB> db_;
  // Owned; destroyed before db_ (RocksDB requires it).
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
  rocksdb::ColumnFamilyHandle* objects_ = nullptr;
  rocksdb::ColumnFamilyHandle* meta_ = nullptr;
  rocksdb::ColumnFamilyHandle* snapshots_ = nullptr;

  std::string cluster_id_;  // fixed at open

  std::mutex append_mu_;
  std::mutex maintenance_mu_;
  // Written only with append_mu_ held, after the batch is durable; read lock-free.
  std::atomic<uint64_t> head_{0};
  // Written only with maintenance_mu_ held, after the compaction batch is durable.
  std::atomic<uint64_t> compacted_through_{0};
};

}  // namespace korc::storage
