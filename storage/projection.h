// StateProjection: folds events, in seq order, into the state they describe — the same
// kind/namespace/name -> StoredObject map that the log's `objects` column family holds.
//
// Fold rule (identical to what EventLog::Append does to `objects`): ADDED and MODIFIED put
// the event's object with the event's seq, DELETED removes the key. Events must be dense: the
// first event applied to a new projection has seq 1, or seq()+1 after Load()/SetSeq() started
// it from a snapshot; anything else is a gap and Apply returns Corruption without changing
// the state.
//
// Thread-safety: none; a plain value. One thread folds; share a finished projection as
// const (every const method is safe to call concurrently).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "storage/event_log.h"

namespace korc::storage {

class StateProjection {
 public:
  StateProjection() = default;
  StateProjection(const StateProjection&) = default;
  StateProjection& operator=(const StateProjection&) = default;
  StateProjection(StateProjection&&) noexcept = default;
  StateProjection& operator=(StateProjection&&) noexcept = default;

  // Folds one event. Corruption (and no change) when e.seq != seq() + 1.
  Status Apply(const Event& e);
  // As above, but moves e.object into the state instead of copying it (replay fast path).
  Status Apply(Event&& e);

  // Starting from a snapshot: Load every object of the snapshot, then SetSeq(its seq).
  // Load replaces an object with the same key.
  void Load(StoredObject&& object);
  void SetSeq(uint64_t seq) { seq_ = seq; }

  // Seq of the last event folded (or of the snapshot loaded); 0 for the empty state.
  uint64_t seq() const { return seq_; }
  size_t size() const { return objects_.size(); }

  // The object, or nullptr. The pointer is valid until the next non-const call.
  const StoredObject* Find(std::string_view kind, std::string_view ns, std::string_view name) const;
  // All objects (or those of `kind`, when not empty) in ObjectKey byte order — the order of
  // EventLog::List and of snapshots. Pointers are valid until the next non-const call.
  std::vector<const StoredObject*> Sorted(std::string_view kind = {}) const;

 private:
  // What an object is found by: views of a kind, namespace and name.
  struct Key {
    std::string_view kind, ns, name;
  };
  // A set element keyed by its own object's kind/ns/name, so no separate key string is
  // allocated and a lookup touches one node. Only seq and object change after insertion
  // (hence `mutable`); the key fields never do.
  struct Entry {
    mutable StoredObject object;
  };
  struct EntryHash {
    using is_transparent = void;
    size_t operator()(const Key& k) const;
    size_t operator()(const Entry& e) const {
      return (*this)(Key{e.object.kind, e.object.ns, e.object.name});
    }
  };
  struct EntryEq {
    using is_transparent = void;
    static bool Same(const Key& a, const StoredObject& b) {
      return a.name == b.name && a.ns == b.ns && a.kind == b.kind;
    }
    bool operator()(const Key& a, const Entry& b) const { return Same(a, b.object); }
    bool operator()(const Entry& a, const Key& b) const { return Same(b, a.object); }
    bool operator()(const Entry& a, const Entry& b) const {
      return Same(Key{a.object.kind, a.object.ns, a.object.name}, b.object);
    }
  };
  using Set = std::unordered_set<Entry, EntryHash, EntryEq>;

  template <class E>
  Status ApplyImpl(E&& e);

  Set objects_;
  uint64_t seq_ = 0;
};

}  // namespace korc::storage
