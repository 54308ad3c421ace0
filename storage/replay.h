// Replay: rebuilding the cluster state at any past seq from an EventLog — "what did the
// cluster look like at resourceVersion N / at 14:03?".
//
// Both functions read through the EventLog contract only, so they work on any log. They take
// no locks of their own; the log's reads are consistent. A Compact() running at the same time
// can make them answer Expired for a seq that was readable a moment before; retry then.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "storage/event_log.h"
#include "storage/projection.h"

namespace korc::storage {

// The state after the event `seq` (seq 0: the empty state). Starts from the nearest complete
// snapshot at or below `seq` (or from the empty state when there is none and the history is
// complete) and folds the events up to `seq`.
//   Expired  — `seq` lies below the compacted history (earliest rebuildable: FirstAvailable()-1)
//   NotFound — `seq` is above the log's head
//   Corruption — a snapshot or event on disk is damaged, or the history has a gap
Result<StateProjection> StateAt(const EventLog& log, uint64_t seq);

// The last seq whose event time is <= time_ns (event times never decrease with seq); 0 when
// every event is later. Binary search reading single events: O(log head) reads. Expired when
// the answer may lie in compacted history (the earliest available event is already later
// than time_ns and history below it was compacted).
Result<uint64_t> SeqAtTime(const EventLog& log, int64_t time_ns);

}  // namespace korc::storage
