// EventLog: korc's etcd — the append-only, durable log of every change to the cluster.
//
// Read this header first. The log holds the events (seq -> Event) and, written in the same
// atomic batch, the `objects` projection (kind/namespace/name -> current object + seq), so
// the current state never disagrees with the history. Snapshots of the whole state at a seq
// let replay start near any point; compaction deletes history below a snapshot and nothing
// else.
//
// Thread-safety: every method may be called from any thread. Append calls are serialized
// internally; reads never block appends for long (they read a consistent RocksDB snapshot).
// The single writer that assigns seqs is the API server's sequencer (DESIGN.md, "The one
// loop"): it batches concurrent requests and calls Append once per group commit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace korc::storage {

// One object as the `objects` projection (or a snapshot) holds it.
struct StoredObject {
  std::string kind;
  std::string ns;
  std::string name;
  uint64_t seq = 0;    // seq of the event that last changed it (its resourceVersion)
  std::string object;  // the object's JSON

  bool operator==(const StoredObject&) const = default;
};

// How much history to keep. Persisted nowhere; a policy the owner applies.
struct RetentionPolicy {
  // 0 keeps all history (the default). N > 0: ApplyRetention() snapshots at head - N and
  // compacts everything below that snapshot.
  uint64_t keep_events = 0;
};

struct EventLogOptions {
  bool create_if_missing = true;
  // fsync every Append before acknowledging it. Only benchmarks of the non-durable path
  // turn this off.
  bool sync = true;
  RetentionPolicy retention;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Appends `events`, whose seqs must be exactly Head()+1 .. Head()+n in order (else
  // Conflict, and nothing is written), together with the `objects` projection updates
  // (ADDED/MODIFIED put the object, DELETED removes it) and the new head, in one synced
  // RocksDB WriteBatch. Returns only once the batch is durable. An empty span is a no-op.
  // An event with a `command` id also records that id -> its seq in the same batch, so the
  // id is known exactly when its change is durable.
  virtual Status Append(std::span<const Event> events) = 0;

  // The seq of the first change made by command `id`; 0 when no change carries that id.
  // This is what makes a component's command, re-sent after a restart or a lost reply,
  // apply once (DESIGN.md, "Reducers and commands").
  virtual Result<uint64_t> FindCommand(std::string_view id) const = 0;

  // The seq of the last durable event; 0 for an empty log.
  virtual uint64_t Head() const = 0;
  // Random id fixed when the log was created.
  virtual std::string ClusterId() const = 0;
  // The first seq whose event can still be read: 1, or one above the compacted history.
  virtual uint64_t FirstAvailable() const = 0;

  // The current object; NotFound when there is none.
  virtual Result<StoredObject> Get(std::string_view kind, std::string_view ns,
                                   std::string_view name) const = 0;
  // Current objects of a kind, in key order. `ns` empty lists every namespace. `filter`,
  // when set, sees each object's JSON and keeps it when it returns true (label selectors).
  virtual Result<std::vector<StoredObject>> List(
      std::string_view kind, std::string_view ns,
      const std::function<bool(std::string_view object_json)>& filter = {}) const = 0;

  // Calls fn for each event with from <= seq <= to (to == 0 means up to the head), in seq
  // order, until fn returns false. fn may move from the event it is handed (replay moves
  // the object into its state). Expired when `from` lies in compacted history; Corruption
  // when a seq is missing or a record does not decode.
  virtual Status ReadEvents(uint64_t from, uint64_t to,
                            const std::function<bool(Event&)>& fn) const = 0;

  // Writes a snapshot of the full state at `seq` (FirstAvailable()-1 <= seq <= Head()).
  virtual Status CreateSnapshot(uint64_t seq) = 0;
  // Seqs that have a complete snapshot, ascending.
  virtual std::vector<uint64_t> Snapshots() const = 0;
  // Calls fn for every object of the snapshot at `seq` (which must exist), in key order.
  virtual Status ReadSnapshot(uint64_t seq,
                              const std::function<void(StoredObject&&)>& fn) const = 0;

  // Deletes the events with seq <= `through` and older snapshots. `through` must be the seq
  // of an existing snapshot (so the state there stays rebuildable), else Invalid. Afterwards
  // reads below through+1 answer Expired ("compacted").
  virtual Status Compact(uint64_t through) = 0;
  // Applies the retention policy given at open; a no-op when it keeps all history.
  virtual Status ApplyRetention() = 0;
};

// Opens (creating when allowed) the RocksDB event log in directory `dir`. Fails clearly
// when another process holds the log ("in use by another process"), and refuses a log
// written by a newer format version instead of misreading it.
Result<std::unique_ptr<EventLog>> OpenRocksDbEventLog(const std::string& dir,
                                                      const EventLogOptions& options = {});

// Persisted in `meta`: bump when the on-disk layout changes; older korc refuses newer logs.
inline constexpr uint32_t kLogFormatVersion = 1;

}  // namespace korc::storage
