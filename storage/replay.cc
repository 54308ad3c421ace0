#include "storage/replay.h"

#include <algorithm>
#include <string>
#include <vector>

namespace korc::storage {

namespace {

Result<int64_t> EventTime(const EventLog& log, uint64_t seq) {
  bool found = false;
  int64_t time_ns = 0;
  KORC_RETURN_IF_ERROR(log.ReadEvents(seq, seq, [&](const Event& e) {
    found = true;
    time_ns = e.time_ns;
    return false;
  }));
  if (!found) {
    return Status::Corruption("event seq " + std::to_string(seq) +
                              " is missing although the log's head is past it");
  }
  return time_ns;
}

}  // namespace

Result<StateProjection> StateAt(const EventLog& log, uint64_t seq) {
  const uint64_t head = log.Head();
  if (seq > head) {
    return Status::NotFound("no state at seq " + std::to_string(seq) +
                            " yet: the log's head is seq " + std::to_string(head));
  }
  // FirstAvailable before Snapshots: if a compaction slips in between, the snapshot list is
  // the newer one and the events read below report Expired, which is the truth.
  const uint64_t first = log.FirstAvailable();
  if (seq + 1 < first) {
    return Status::Expired("state at seq " + std::to_string(seq) +
                           " was compacted (the earliest state that can be rebuilt is at seq " +
                           std::to_string(first - 1) + ")");
  }
  const std::vector<uint64_t> snapshots = log.Snapshots();

  StateProjection state;
  auto above = std::upper_bound(snapshots.begin(), snapshots.end(), seq);
  if (above != snapshots.begin()) {
    const uint64_t base = *std::prev(above);
    Status s = log.ReadSnapshot(base, [&](StoredObject&& o) { state.Load(std::move(o)); });
    if (s.code() == Code::kNotFound) {
      return Status::Expired("snapshot at seq " + std::to_string(base) +
                             " was compacted while state at seq " + std::to_string(seq) +
                             " was being rebuilt; retry");
    }
    KORC_RETURN_IF_ERROR(s);
    state.SetSeq(base);
  } else if (first > 1) {
    // Compact() keeps a snapshot at FirstAvailable()-1, so only a concurrent compaction
    // gets here.
    return Status::Expired("history below seq " + std::to_string(first) +
                           " was compacted and no snapshot at or below seq " + std::to_string(seq) +
                           " remains; retry");
  }

  if (seq > state.seq()) {
    Status fold;
    KORC_RETURN_IF_ERROR(log.ReadEvents(state.seq() + 1, seq, [&](Event& e) {
      fold = state.Apply(std::move(e));
      return fold.ok();
    }));
    KORC_RETURN_IF_ERROR(fold);
  }
  if (state.seq() != seq) {
    return Status::Corruption("replay to seq " + std::to_string(seq) + " stopped at seq " +
                              std::to_string(state.seq()) + ": events are missing");
  }
  return state;
}

Result<uint64_t> SeqAtTime(const EventLog& log, int64_t time_ns) {
  uint64_t hi = log.Head();
  if (hi == 0) return uint64_t{0};
  uint64_t lo = log.FirstAvailable();
  if (lo > hi) {
    return Status::Expired("every event up to the head (seq " + std::to_string(hi) +
                           ") was compacted; event times are no longer known");
  }

  KORC_ASSIGN_OR_RETURN(int64_t lo_time, EventTime(log, lo));
  if (lo_time > time_ns) {
    if (lo == 1) return uint64_t{0};
    return Status::Expired("events at or before time " + std::to_string(time_ns) +
                           " were compacted (earliest available is seq " + std::to_string(lo) +
                           " at time " + std::to_string(lo_time) + ")");
  }
  KORC_ASSIGN_OR_RETURN(int64_t hi_time, EventTime(log, hi));
  if (hi_time <= time_ns) return hi;

  // Invariant: time(lo) <= time_ns < time(hi).
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    KORC_ASSIGN_OR_RETURN(int64_t mid_time, EventTime(log, mid));
    if (mid_time <= time_ns) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace korc::storage
