#include "storage/rocksdb_event_log.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <random>
#include <system_error>
#include <utility>

#include "core/coding.h"
#include "storage/projection.h"
#include "storage/replay.h"

namespace korc::storage {

namespace rocksdb_layout {

std::string EventKey(uint64_t seq) { return coding::BigEndian64(seq); }

std::string EncodeObjectValue(uint64_t seq, std::string_view object_json) {
  std::string value;
  value.reserve(10 + object_json.size());
  coding::PutVarint64(&value, seq);
  value.append(object_json);
  return value;
}

bool DecodeObjectValue(std::string_view value, uint64_t* seq, std::string_view* object_json) {
  if (!coding::GetVarint64(&value, seq)) return false;
  *object_json = value;
  return true;
}

bool SplitObjectKey(std::string_view key, std::string_view* kind, std::string_view* ns,
                    std::string_view* name) {
  const size_t a = key.find('/');
  if (a == std::string_view::npos) return false;
  const size_t b = key.find('/', a + 1);
  if (b == std::string_view::npos) return false;
  *kind = key.substr(0, a);
  *ns = key.substr(a + 1, b - a - 1);
  *name = key.substr(b + 1);
  return true;
}

std::string SnapshotDataPrefix(uint64_t seq) {
  std::string key(1, kSnapshotDataTag);
  coding::PutBigEndian64(&key, seq);
  return key;
}

std::string SnapshotMarkerKey(uint64_t seq) {
  std::string key(1, kSnapshotMarkerTag);
  coding::PutBigEndian64(&key, seq);
  return key;
}

}  // namespace rocksdb_layout

namespace {

using rocksdb_layout::DecodeObjectValue;
using rocksdb_layout::EncodeObjectValue;
using rocksdb_layout::EventKey;
using rocksdb_layout::kEventsCf;
using rocksdb_layout::kMetaCf;
using rocksdb_layout::kMetaClusterId;
using rocksdb_layout::kMetaCommandPrefix;
using rocksdb_layout::kMetaCompactedThrough;
using rocksdb_layout::kMetaFormatVersion;
using rocksdb_layout::kMetaHead;
using rocksdb_layout::kObjectsCf;
using rocksdb_layout::kSnapshotDataTag;
using rocksdb_layout::kSnapshotMarkerTag;
using rocksdb_layout::kSnapshotsCf;
using rocksdb_layout::SnapshotDataPrefix;
using rocksdb_layout::SnapshotMarkerKey;
using rocksdb_layout::SplitObjectKey;

// Snapshot data is written in batches of about this many bytes, so a large state never
// becomes one giant WriteBatch (which RocksDB would hold in memory and write as one WAL
// record).
constexpr size_t kSnapshotBatchBytes = 4 << 20;
// ReadEvents over more events than this is a bulk replay: it does not fill the block cache
// (so catching up one subscriber does not evict the blocks every other reader is using) and
// reads ahead kBulkReadahead bytes per file read instead of one block at a time.
constexpr uint64_t kBulkReadEvents = 4096;
constexpr size_t kBulkReadahead = 2 << 20;
// Block size of the "events" column family. Events are mostly read by long range scans, and
// bigger blocks mean fewer block reads, trailer checks and decompression calls per event.
// Measured on 100k ~1 KiB pod events, full ReadEvents scan, page cache warm: 4 KiB blocks
// (the default) ~0.52M events/s; + 2 MiB readahead ~0.89M/s; 16 KiB + readahead ~1.05M/s;
// 64 KiB + readahead ~1.22M/s. A single-event read (SeqAtTime's binary search, a catch-up
// at the head) then decodes one 64 KiB block: tens of microseconds.
constexpr size_t kEventsBlockSize = 64 << 10;

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
std::string_view ToView(const rocksdb::Slice& s) { return {s.data(), s.size()}; }

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsIOError() || s.IsBusy() || s.IsTryAgain() || s.IsIncomplete() ||
      s.IsShutdownInProgress() || s.IsTimedOut() || s.IsAborted()) {
    return Status::Unavailable(std::move(msg));
  }
  return Status::Internal(std::move(msg));
}

std::string NewClusterId() {
  // random_device reads the kernel's entropy (getrandom / /dev/urandom) on Linux.
  std::random_device rd;
  std::string id;
  for (int i = 0; i < 4; ++i) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
    id += buf;
  }
  return id;
}

std::string Quoted(std::string_view kind, std::string_view ns, std::string_view name) {
  std::string s(kind);
  s += " \"";
  if (!ns.empty()) s.append(ns).push_back('/');
  s.append(name).push_back('"');
  return s;
}

rocksdb::DBOptions MakeDbOptions() {
  rocksdb::DBOptions o;
  // RocksDB's own info LOG sits next to the data; keep a bounded number of them.
  o.keep_log_file_num = 5;
  o.max_log_file_size = 16 << 20;
  // The default, stated because the log's guarantee rests on it: recovery replays the WAL up
  // to the first incomplete record and stops. Every acknowledged Append was fsynced before
  // it returned, so only a never-acknowledged tail can be lost — never a record in the middle.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  return o;
}

rocksdb::ColumnFamilyOptions MakeCfOptions(const std::string& name) {
  rocksdb::ColumnFamilyOptions o;
  if (name == kEventsCf) {
    // Keys arrive in increasing order and are never rewritten, so each memtable flush makes
    // an SST that overlaps no older one and leveled compaction can move it down a level
    // without rewriting it ("trivial move"): the default compaction suits an append-only log.
    // Events are read by range scans, where a bloom filter would only cost memory; what
    // helps scans is a bigger block (kEventsBlockSize, measured above).
    rocksdb::BlockBasedTableOptions table;
    table.block_size = kEventsBlockSize;
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }
  if (name == kObjectsCf) {
    // "objects" serves point lookups (Get, create-if-absent checks); a 10 bits/key bloom
    // filter answers most lookups of absent keys from memory. Standard RocksDB advice for
    // point-lookup column families.
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }
  return o;
}

bool IsLockError(const rocksdb::Status& s) {
  if (!s.IsIOError()) return false;
  // RocksDB's words for a LOCK held by another process, and by this one.
  const std::string msg = s.ToString();
  return msg.find("While lock file") != std::string::npos ||
         msg.find("lock hold by current process") != std::string::npos;
}

Result<uint64_t> DecodeMetaU64(const std::string& value, std::string_view key) {
  if (value.size() != 8) {
    return Status::Corruption("meta \"" + std::string(key) + "\" has " +
                              std::to_string(value.size()) + " bytes, want 8");
  }
  return coding::DecodeBigEndian64(value.data());
}

// The byte string just above every key that starts with `prefix` (an exclusive upper
// bound); empty when there is none (prefix of all 0xff).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last != 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

Result<StoredObject> DecodeStoredObject(std::string_view key, std::string_view value,
                                        std::string_view where) {
  StoredObject o;
  std::string_view kind, ns, name, json;
  if (!SplitObjectKey(key, &kind, &ns, &name) || !DecodeObjectValue(value, &o.seq, &json)) {
    return Status::Corruption(std::string(where) + ": undecodable entry under key \"" +
                              std::string(key) + "\"");
  }
  o.kind = kind;
  o.ns = ns;
  o.name = name;
  o.object = json;
  return o;
}

}  // namespace

RocksDbEventLog::RocksDbEventLog(std::string dir, EventLogOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

RocksDbEventLog::~RocksDbEventLog() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  handles_.clear();
  db_->Close().PermitUncheckedError();
}

Result<std::unique_ptr<RocksDbEventLog>> RocksDbEventLog::Open(const std::string& dir,
                                                               const EventLogOptions& options) {
  std::unique_ptr<RocksDbEventLog> log(new RocksDbEventLog(dir, options));
  KORC_RETURN_IF_ERROR(log->OpenDb());
  return log;
}

Result<std::unique_ptr<EventLog>> OpenRocksDbEventLog(const std::string& dir,
                                                      const EventLogOptions& options) {
  KORC_ASSIGN_OR_RETURN(auto log, RocksDbEventLog::Open(dir, options));
  return std::unique_ptr<EventLog>(std::move(log));
}

Status RocksDbEventLog::OpenDb() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool exists = fs::exists(fs::path(dir_) / "CURRENT", ec);
  if (!exists) {
    if (!options_.create_if_missing) {
      return Status::NotFound("event log " + dir_ +
                              " does not exist (no RocksDB database there) and creating it "
                              "was not allowed");
    }
    fs::create_directories(dir_, ec);
    if (ec) {
      return Status::Unavailable("cannot create event log directory " + dir_ + ": " + ec.message());
    }
  }

  rocksdb::DBOptions db_options = MakeDbOptions();
  db_options.create_if_missing = !exists;
  db_options.create_missing_column_families = !exists;

  // RocksDB must open every column family a database has, including any a newer korc added;
  // the format version check below then refuses such a log cleanly.
  std::vector<std::string> names;
  std::vector<std::string> missing;
  if (exists) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, dir_, &names);
    if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": listing column families");
    for (const char* want : {kEventsCf, kObjectsCf, kMetaCf, kSnapshotsCf}) {
      if (std::find(names.begin(), names.end(), want) == names.end()) missing.push_back(want);
    }
  } else {
    names = {rocksdb::kDefaultColumnFamilyName, kEventsCf, kObjectsCf, kMetaCf, kSnapshotsCf};
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : names) descriptors.emplace_back(name, MakeCfOptions(name));

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir_, descriptors, &handles_, &raw);
  if (!s.ok()) {
    if (IsLockError(s)) {
      if (s.ToString().find("lock hold by current process") != std::string::npos) {
        return Status::Unavailable("event log " + dir_ +
                                   " is already open in this process (its RocksDB LOCK is "
                                   "held); use the open EventLog instead of opening it twice");
      }
      return Status::Unavailable("event log " + dir_ +
                                 " is in use by another process (its RocksDB LOCK is held); "
                                 "stop that process or choose another --data-dir");
    }
    return FromRocks(s, "opening event log " + dir_);
  }
  db_.reset(raw);
  if (!missing.empty()) KORC_RETURN_IF_ERROR(CompleteCreation(missing, &names));
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == kEventsCf) events_ = handles_[i];
    if (names[i] == kObjectsCf) objects_ = handles_[i];
    if (names[i] == kMetaCf) meta_ = handles_[i];
    if (names[i] == kSnapshotsCf) snapshots_ = handles_[i];
  }

  KORC_RETURN_IF_ERROR(LoadMeta(/*created=*/!exists));
  KORC_RETURN_IF_ERROR(CheckEventsMatchMeta());
  return DropIncompleteSnapshots();
}

Status RocksDbEventLog::CompleteCreation(const std::vector<std::string>& missing,
                                         std::vector<std::string>* names) {
  // RocksDB creates a new database's column families one MANIFEST write at a time, so a
  // process killed during its first open can leave some of them missing. Such a database is
  // still empty; anything holding data is someone else's and is left alone.
  std::string missing_list;
  for (const auto& name : missing) missing_list += (missing_list.empty() ? "" : ", ") + name;
  for (auto* h : handles_) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), h));
    it->SeekToFirst();
    if (it->Valid() || !it->status().ok()) {
      return Status::Corruption("event log " + dir_ + " is a RocksDB database without the korc " +
                                "column families (" + missing_list +
                                ") that already holds data: it is not a korc event log");
    }
  }
  if (!options_.create_if_missing) {
    return Status::NotFound("event log " + dir_ +
                            " was never fully created (missing column families: " + missing_list +
                            ") and creating it was not allowed");
  }
  for (const auto& name : missing) {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    rocksdb::Status s = db_->CreateColumnFamily(MakeCfOptions(name), name, &h);
    if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": creating column family " + name);
    handles_.push_back(h);
    names->push_back(name);
  }
  return Status::Ok();
}

Status RocksDbEventLog::LoadMeta(bool created) {
  rocksdb::ReadOptions ro;
  std::string value;
  rocksdb::Status s = db_->Get(ro, meta_, kMetaFormatVersion, &value);
  if (s.IsNotFound()) {
    // A new log, or one whose creation stopped between RocksDB creating the column families
    // and our first batch. Anything else without a version is not ours to guess about.
    std::string head;
    rocksdb::Status hs = db_->Get(ro, meta_, kMetaHead, &head);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_));
    it->SeekToFirst();
    if (!hs.IsNotFound() || it->Valid()) {
      return Status::Corruption("event log " + dir_ +
                                " has events or a head but no format version in meta");
    }
    if (!created && !options_.create_if_missing) {
      return Status::NotFound("event log " + dir_ +
                              " was never initialized and creating it was not allowed");
    }
    rocksdb::WriteBatch batch;
    batch.Put(meta_, kMetaFormatVersion, coding::BigEndian64(kLogFormatVersion));
    batch.Put(meta_, kMetaClusterId, NewClusterId());
    batch.Put(meta_, kMetaHead, coding::BigEndian64(0));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db_->Write(wo, &batch);
    if (!s.ok()) return FromRocks(s, "initializing event log " + dir_);
    s = db_->Get(ro, meta_, kMetaFormatVersion, &value);
  }
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": reading the format version");
  KORC_ASSIGN_OR_RETURN(uint64_t version, DecodeMetaU64(value, kMetaFormatVersion));
  if (version > kLogFormatVersion) {
    return Status::Invalid("event log " + dir_ + " has format version " + std::to_string(version) +
                           ", newer than this korc understands (" +
                           std::to_string(kLogFormatVersion) +
                           "); open it with a newer korc, this one will not touch it");
  }
  if (version == 0) return Status::Corruption("event log " + dir_ + " has format version 0");

  s = db_->Get(ro, meta_, kMetaClusterId, &cluster_id_);
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": reading the cluster id");

  s = db_->Get(ro, meta_, kMetaHead, &value);
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": reading the head");
  KORC_ASSIGN_OR_RETURN(uint64_t head, DecodeMetaU64(value, kMetaHead));

  uint64_t compacted = 0;
  s = db_->Get(ro, meta_, kMetaCompactedThrough, &value);
  if (s.ok()) {
    KORC_ASSIGN_OR_RETURN(compacted, DecodeMetaU64(value, kMetaCompactedThrough));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "event log " + dir_ + ": reading compacted_through");
  }
  if (compacted > head) {
    return Status::Corruption("event log " + dir_ + ": compacted through seq " +
                              std::to_string(compacted) + " but the head is seq " +
                              std::to_string(head));
  }
  head_.store(head);
  compacted_through_.store(compacted);
  return Status::Ok();
}

Status RocksDbEventLog::CheckEventsMatchMeta() {
  // Cheap open-time check that meta and the events agree at the top; gaps below are found
  // (and reported as Corruption) by the reads that meet them.
  const uint64_t head = head_.load();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  it->SeekToLast();
  if (!it->status().ok()) return FromRocks(it->status(), "event log " + dir_);
  const bool valid = it->Valid() && it->key().size() == 8;
  const uint64_t last = valid ? coding::DecodeBigEndian64(it->key().data()) : 0;
  const std::string last_text = !it->Valid() ? std::string("none")
                                : valid      ? "seq " + std::to_string(last)
                                             : std::string("under a malformed key");
  if (head == compacted_through_.load()) {
    if (it->Valid()) {
      return Status::Corruption("event log " + dir_ + ": meta says every event up to the head " +
                                "(seq " + std::to_string(head) +
                                ") was compacted, but the last stored event is " + last_text);
    }
  } else if (!valid || last != head) {
    return Status::Corruption("event log " + dir_ + ": meta says the head is seq " +
                              std::to_string(head) + " but the last stored event is " + last_text);
  }
  return Status::Ok();
}

Status RocksDbEventLog::DropIncompleteSnapshots() {
  rocksdb::ReadOptions ro;
  KORC_ASSIGN_OR_RETURN(std::vector<uint64_t> complete, SnapshotSeqs(ro));
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, snapshots_));
  // One seek per snapshot seq, not one step per object.
  for (it->Seek(std::string(1, kSnapshotDataTag)); it->Valid();) {
    rocksdb::Slice key = it->key();
    if (key.size() < 9 || key[0] != kSnapshotDataTag) break;
    const uint64_t seq = coding::DecodeBigEndian64(key.data() + 1);
    if (!std::binary_search(complete.begin(), complete.end(), seq)) {
      batch.DeleteRange(snapshots_, SnapshotDataPrefix(seq), SnapshotDataPrefix(seq + 1));
    }
    if (seq == UINT64_MAX) break;
    it->Seek(SnapshotDataPrefix(seq + 1));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "event log " + dir_);
  if (batch.Count() == 0) return Status::Ok();
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": removing incomplete snapshots");
  return Status::Ok();
}

Status RocksDbEventLog::Append(std::span<const Event> events) {
  if (events.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(append_mu_);
  const uint64_t head = head_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    if (e.seq != head + 1 + i) {
      return Status::Conflict(
          "append: event " + std::to_string(i + 1) + " of " + std::to_string(events.size()) +
          " has seq " + std::to_string(e.seq) + ", want " + std::to_string(head + 1 + i) +
          " (the log's head is seq " + std::to_string(head) + "); nothing was written");
    }
    // '/' separates the parts of an ObjectKey, so it cannot appear in a kind or namespace.
    if (e.kind.empty() || e.name.empty() || e.kind.find('/') != std::string::npos ||
        e.ns.find('/') != std::string::npos) {
      return Status::Invalid("append: event seq " + std::to_string(e.seq) +
                             " has an empty or malformed kind/namespace/name (" +
                             Quoted(e.kind, e.ns, e.name) + "); nothing was written");
    }
    if (e.type != EventType::kAdded && e.type != EventType::kModified &&
        e.type != EventType::kDeleted) {
      return Status::Invalid("append: event seq " + std::to_string(e.seq) +
                             " has an unknown type; nothing was written");
    }
  }

  rocksdb::WriteBatch batch;
  std::string key;
  std::string_view last_command;
  for (const Event& e : events) {
    batch.Put(events_, EventKey(e.seq), EncodeEvent(e));
    // One command may make several changes (a delete that cascades); its id maps to the
    // first, which is the command's answer.
    if (!e.command.empty() && e.command != last_command) {
      batch.Put(meta_, kMetaCommandPrefix + e.command, coding::BigEndian64(e.seq));
      last_command = e.command;
    }
    key = ObjectKey(e.kind, e.ns, e.name);
    if (e.type == EventType::kDeleted) {
      batch.Delete(objects_, key);
    } else {
      batch.Put(objects_, key, EncodeObjectValue(e.seq, e.object));
    }
  }
  const uint64_t new_head = head + events.size();
  batch.Put(meta_, kMetaHead, coding::BigEndian64(new_head));

  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  // RocksDB makes a batch visible to readers only after its WAL write (and fsync, when
  // synced) finished, so no reader ever sees an event that is not durable.
  rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    return FromRocks(s, "append of seqs " + std::to_string(head + 1) + ".." +
                            std::to_string(new_head) + " to event log " + dir_);
  }
  head_.store(new_head, std::memory_order_release);
  return Status::Ok();
}

Result<uint64_t> RocksDbEventLog::FindCommand(std::string_view id) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), meta_, kMetaCommandPrefix + std::string(id), &value);
  if (s.IsNotFound()) return uint64_t{0};
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": looking up command " + std::string(id));
  return DecodeMetaU64(value, "command");
}

uint64_t RocksDbEventLog::Head() const { return head_.load(std::memory_order_acquire); }

std::string RocksDbEventLog::ClusterId() const { return cluster_id_; }

uint64_t RocksDbEventLog::FirstAvailable() const {
  return compacted_through_.load(std::memory_order_acquire) + 1;
}

Result<RocksDbEventLog::ReadView> RocksDbEventLog::TakeView() const {
  ReadView view;
  view.snapshot = std::make_unique<rocksdb::ManagedSnapshot>(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = view.snapshot->snapshot();
  std::string value;
  rocksdb::Status s = db_->Get(ro, meta_, kMetaHead, &value);
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": reading the head");
  KORC_ASSIGN_OR_RETURN(view.head, DecodeMetaU64(value, kMetaHead));
  s = db_->Get(ro, meta_, kMetaCompactedThrough, &value);
  if (s.ok()) {
    KORC_ASSIGN_OR_RETURN(view.compacted_through, DecodeMetaU64(value, kMetaCompactedThrough));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "event log " + dir_ + ": reading compacted_through");
  }
  return view;
}

Result<StoredObject> RocksDbEventLog::Get(std::string_view kind, std::string_view ns,
                                          std::string_view name) const {
  const std::string key = ObjectKey(kind, ns, name);
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), objects_, key, &value);
  if (s.IsNotFound()) return Status::NotFound(Quoted(kind, ns, name) + " not found");
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": reading " + Quoted(kind, ns, name));
  return DecodeStoredObject(key, value, "objects");
}

Result<std::vector<StoredObject>> RocksDbEventLog::List(
    std::string_view kind, std::string_view ns,
    const std::function<bool(std::string_view object_json)>& filter) const {
  if (kind.empty() && !ns.empty()) {
    return Status::Invalid("list: a namespace (\"" + std::string(ns) + "\") needs a kind");
  }
  std::string prefix;
  if (!kind.empty()) {
    prefix.append(kind).push_back('/');
    if (!ns.empty()) prefix.append(ns).push_back('/');
  }
  const std::string end = PrefixEnd(prefix);
  rocksdb::Slice end_slice(end);
  rocksdb::ReadOptions ro;  // an iterator reads from one implicit snapshot
  if (!end.empty()) ro.iterate_upper_bound = &end_slice;

  std::vector<StoredObject> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, objects_));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    const std::string_view key = ToView(it->key());
    std::string_view o_kind, o_ns, o_name, json;
    uint64_t seq = 0;
    if (!SplitObjectKey(key, &o_kind, &o_ns, &o_name) ||
        !DecodeObjectValue(ToView(it->value()), &seq, &json)) {
      return Status::Corruption("objects: undecodable entry under key \"" + std::string(key) +
                                "\"");
    }
    if (filter && !filter(json)) continue;
    out.push_back(StoredObject{.kind = std::string(o_kind),
                               .ns = std::string(o_ns),
                               .name = std::string(o_name),
                               .seq = seq,
                               .object = std::string(json)});
  }
  if (!it->status().ok()) return FromRocks(it->status(), "event log " + dir_ + ": listing");
  return out;
}

Status RocksDbEventLog::ReadEvents(uint64_t from, uint64_t to,
                                   const std::function<bool(Event&)>& fn) const {
  KORC_ASSIGN_OR_RETURN(ReadView view, TakeView());
  if (from == 0) from = 1;
  const uint64_t first = view.compacted_through + 1;
  if (from < first) {
    return Status::Expired("events below seq " + std::to_string(first) +
                           " were compacted (earliest available is " + std::to_string(first) +
                           "; asked for seq " + std::to_string(from) + ")");
  }
  const uint64_t last = (to == 0 || to > view.head) ? view.head : to;
  if (from > last) return Status::Ok();

  const std::string end = EventKey(last + 1);
  rocksdb::Slice end_slice(end);
  rocksdb::ReadOptions ro;
  ro.snapshot = view.snapshot->snapshot();
  ro.iterate_upper_bound = &end_slice;
  if (last - from >= kBulkReadEvents) {
    ro.fill_cache = false;
    ro.readahead_size = kBulkReadahead;
  }
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_));
  it->Seek(EventKey(from));
  Event e;  // decoded into again and again, so its strings' capacity is reused
  for (uint64_t seq = from; seq <= last; ++seq, it->Next()) {
    if (!it->Valid()) {
      if (!it->status().ok()) return FromRocks(it->status(), "event log " + dir_);
      return Status::Corruption("event log " + dir_ + ": event seq " + std::to_string(seq) +
                                " is missing (head is seq " + std::to_string(view.head) +
                                ", no event stored after seq " + std::to_string(seq - 1) + ")");
    }
    rocksdb::Slice key = it->key();
    if (key.size() != 8) {
      return Status::Corruption("event log " + dir_ + ": malformed events key of " +
                                std::to_string(key.size()) + " bytes after seq " +
                                std::to_string(seq - 1));
    }
    const uint64_t stored = coding::DecodeBigEndian64(key.data());
    if (stored != seq) {
      return Status::Corruption("event log " + dir_ + ": event seq " + std::to_string(seq) +
                                " is missing (the next stored event is seq " +
                                std::to_string(stored) + ")");
    }
    Status decoded = DecodeEventInto(ToView(it->value()), &e);
    if (!decoded.ok()) {
      return Status::Corruption("event log " + dir_ + ": event seq " + std::to_string(seq) + ": " +
                                decoded.message());
    }
    if (e.seq != seq) {
      return Status::Corruption("event log " + dir_ + ": the event stored under seq " +
                                std::to_string(seq) + " carries seq " + std::to_string(e.seq));
    }
    if (!fn(e)) return Status::Ok();
  }
  return Status::Ok();
}

Result<std::vector<uint64_t>> RocksDbEventLog::SnapshotSeqs(
    const rocksdb::ReadOptions& base) const {
  const std::string begin(1, kSnapshotMarkerTag);
  const std::string end = PrefixEnd(begin);
  rocksdb::Slice end_slice(end);
  rocksdb::ReadOptions ro = base;
  ro.iterate_upper_bound = &end_slice;
  std::vector<uint64_t> seqs;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, snapshots_));
  for (it->Seek(begin); it->Valid(); it->Next()) {
    if (it->key().size() != 9) {
      return Status::Corruption("event log " + dir_ + ": malformed snapshot marker key");
    }
    seqs.push_back(coding::DecodeBigEndian64(it->key().data() + 1));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "event log " + dir_);
  return seqs;
}

std::vector<uint64_t> RocksDbEventLog::Snapshots() const {
  // The contract returns a plain vector; a read error here surfaces as "no snapshots", and
  // the caller's next read (ReadEvents / ReadSnapshot) reports the error itself.
  Result<std::vector<uint64_t>> seqs = SnapshotSeqs(rocksdb::ReadOptions());
  return seqs.ok() ? std::move(seqs).value() : std::vector<uint64_t>{};
}

Status RocksDbEventLog::ReadSnapshot(uint64_t seq,
                                     const std::function<void(StoredObject&&)>& fn) const {
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot.snapshot();
  std::string marker;
  rocksdb::Status s = db_->Get(ro, snapshots_, SnapshotMarkerKey(seq), &marker);
  if (s.IsNotFound()) {
    return Status::NotFound("event log " + dir_ + " has no complete snapshot at seq " +
                            std::to_string(seq));
  }
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": reading snapshot marker");
  std::string_view marker_view(marker);
  uint64_t want = 0;
  if (!coding::GetVarint64(&marker_view, &want) || !marker_view.empty()) {
    return Status::Corruption("event log " + dir_ + ": malformed marker of snapshot at seq " +
                              std::to_string(seq));
  }

  const std::string prefix = SnapshotDataPrefix(seq);
  const std::string end = SnapshotDataPrefix(seq + 1);
  rocksdb::Slice end_slice(end);
  ro.iterate_upper_bound = &end_slice;
  ro.fill_cache = false;  // a bulk read, as in ReadEvents
  ro.readahead_size = kBulkReadahead;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, snapshots_));
  uint64_t got = 0;
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::string_view key = ToView(it->key()).substr(prefix.size());
    KORC_ASSIGN_OR_RETURN(StoredObject o, DecodeStoredObject(key, ToView(it->value()), "snapshot"));
    ++got;
    fn(std::move(o));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "event log " + dir_);
  if (got != want) {
    return Status::Corruption("event log " + dir_ + ": snapshot at seq " + std::to_string(seq) +
                              " holds " + std::to_string(got) + " objects, its marker says " +
                              std::to_string(want));
  }
  return Status::Ok();
}

Status RocksDbEventLog::CreateSnapshot(uint64_t seq) {
  std::lock_guard<std::mutex> lock(maintenance_mu_);
  return CreateSnapshotLocked(seq);
}

Status RocksDbEventLog::CreateSnapshotLocked(uint64_t seq) {
  KORC_ASSIGN_OR_RETURN(ReadView view, TakeView());
  if (seq > view.head || seq < view.compacted_through) {
    return Status::Invalid("snapshot at seq " + std::to_string(seq) + ": seq must lie in " +
                           std::to_string(view.compacted_through) + ".." +
                           std::to_string(view.head) + " (compacted history .. head)");
  }
  rocksdb::ReadOptions ro;
  ro.snapshot = view.snapshot->snapshot();
  std::string ignored;
  rocksdb::Status s = db_->Get(ro, snapshots_, SnapshotMarkerKey(seq), &ignored);
  if (s.ok()) return Status::Ok();  // already complete; snapshots are immutable
  if (!s.IsNotFound()) return FromRocks(s, "event log " + dir_ + ": reading snapshot marker");

  const std::string prefix = SnapshotDataPrefix(seq);
  rocksdb::WriteOptions data_wo;  // unsynced: the synced marker write below covers them
  rocksdb::WriteBatch batch;
  uint64_t count = 0;
  std::string key;
  auto add = [&](std::string_view object_key, std::string_view value) -> Status {
    key = prefix;
    key.append(object_key);
    batch.Put(snapshots_, key, ToSlice(value));
    ++count;
    if (batch.GetDataSize() >= kSnapshotBatchBytes) {
      rocksdb::Status ws = db_->Write(data_wo, &batch);
      if (!ws.ok()) return FromRocks(ws, "event log " + dir_ + ": writing snapshot");
      batch.Clear();
    }
    return Status::Ok();
  };

  if (seq == view.head) {
    // The objects column family in the same view is exactly the state at the head.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, objects_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      KORC_RETURN_IF_ERROR(add(ToView(it->key()), ToView(it->value())));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "event log " + dir_);
  } else {
    KORC_ASSIGN_OR_RETURN(StateProjection state, StateAt(*this, seq));
    for (const StoredObject* o : state.Sorted()) {
      KORC_RETURN_IF_ERROR(
          add(ObjectKey(o->kind, o->ns, o->name), EncodeObjectValue(o->seq, o->object)));
    }
  }

  std::string marker;
  coding::PutVarint64(&marker, count);
  batch.Put(snapshots_, SnapshotMarkerKey(seq), marker);
  rocksdb::WriteOptions wo;
  // Syncing the WAL here also makes every earlier (unsynced) data batch durable: the WAL is
  // one sequential file, and data already flushed to SSTs was synced by the flush.
  wo.sync = options_.sync;
  s = db_->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": writing snapshot marker");
  return Status::Ok();
}

Status RocksDbEventLog::Compact(uint64_t through) {
  std::lock_guard<std::mutex> lock(maintenance_mu_);
  return CompactLocked(through);
}

Status RocksDbEventLog::CompactLocked(uint64_t through) {
  const uint64_t compacted = compacted_through_.load();
  rocksdb::ReadOptions ro;
  std::string ignored;
  rocksdb::Status s = db_->Get(ro, snapshots_, SnapshotMarkerKey(through), &ignored);
  if (s.IsNotFound()) {
    return Status::Invalid("compact through seq " + std::to_string(through) +
                           ": there is no snapshot at that seq (create one first), so the "
                           "state there could not be rebuilt");
  }
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": reading snapshot marker");
  if (through <= compacted) return Status::Ok();  // already compacted that far

  KORC_ASSIGN_OR_RETURN(std::vector<uint64_t> snapshots, SnapshotSeqs(ro));
  rocksdb::WriteBatch batch;
  batch.DeleteRange(events_, EventKey(0), EventKey(through + 1));
  for (uint64_t older : snapshots) {
    if (older >= through) break;
    batch.Delete(snapshots_, SnapshotMarkerKey(older));
    batch.DeleteRange(snapshots_, SnapshotDataPrefix(older), SnapshotDataPrefix(older + 1));
  }
  batch.Put(meta_, kMetaCompactedThrough, coding::BigEndian64(through));
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  s = db_->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "event log " + dir_ + ": compacting");
  compacted_through_.store(through, std::memory_order_release);

  // The range tombstones already hide the events; compacting the range drops them and frees
  // the disk. RocksDB keeps whatever a reader's open snapshot still needs, so in-flight reads
  // are unaffected. Failure only delays reclaiming space.
  const std::string end = EventKey(through + 1);
  rocksdb::Slice end_slice(end);
  db_->CompactRange(rocksdb::CompactRangeOptions(), events_, nullptr, &end_slice)
      .PermitUncheckedError();
  return Status::Ok();
}

Status RocksDbEventLog::ApplyRetention() {
  const uint64_t keep = options_.retention.keep_events;
  if (keep == 0) return Status::Ok();
  std::lock_guard<std::mutex> lock(maintenance_mu_);
  const uint64_t head = Head();
  if (head <= keep) return Status::Ok();
  const uint64_t target = head - keep;
  if (target <= compacted_through_.load()) return Status::Ok();
  KORC_RETURN_IF_ERROR(CreateSnapshotLocked(target));
  return CompactLocked(target);
}

}  // namespace korc::storage
