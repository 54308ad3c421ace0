// The event record: one per committed change to the cluster (DESIGN.md, "The event record").
//
// The log is the source of truth; every object's history is the sequence of its events.
// EncodeEvent/DecodeEvent give the stable, versioned on-disk and on-the-wire form.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace korc {

// Persisted: the numeric values are written to disk. Never renumber.
enum class EventType : uint8_t { kAdded = 1, kModified = 2, kDeleted = 3 };

// "ADDED" / "MODIFIED" / "DELETED", as Kubernetes watch events name them.
std::string_view EventTypeName(EventType type);
// Parses a name (case-insensitive); false when it is not one.
bool ParseEventType(std::string_view name, EventType* out);

struct Event {
  uint64_t seq = 0;     // dense, starting at 1; also the object's resourceVersion
  int64_t time_ns = 0;  // unix nanoseconds when the change was committed
  EventType type = EventType::kAdded;
  std::string kind;  // "Pod"
  std::string ns;    // "" for cluster-scoped kinds
  std::string name;
  std::string uid;
  std::string object;         // JSON of the full object after the change (DELETED: last state)
  std::string actor;          // who asked: a user or a component identity
  uint64_t cause = 0;         // seq of the event that woke the decision; 0 for a person
  uint64_t basis = 0;         // seq of the view the decision was made on
  int64_t basis_time_ns = 0;  // the clock reading handed to the reducer
  std::string reason;         // one short human sentence
  // The id of the component command that made this change ("<reducer>/<cause>/<index>");
  // empty for a person's request. The log applies a given id once.
  std::string command;

  bool operator==(const Event&) const = default;
};

// Version of the encoding written by EncodeEvent. Persisted; bump on any format change and
// keep decoding every older one.
inline constexpr uint8_t kEventFormatVersion = 2;

// Binary encoding: a magic byte, the format version, the fields, and a CRC32C of all that
// precedes it. Stable across releases.
std::string EncodeEvent(const Event& event);
// Corruption on a bad checksum, truncation or an unknown (newer) version.
Result<Event> DecodeEvent(std::string_view bytes);
// The same into an existing Event, reusing its strings' capacity (bulk reads decode
// millions of events into one). On error *out is left partly overwritten.
Status DecodeEventInto(std::string_view bytes, Event* out);

// The key the `objects` projection uses for an object: "Pod/default/web-1" (namespace
// empty for cluster-scoped kinds: "Node//n1").
std::string ObjectKey(std::string_view kind, std::string_view ns, std::string_view name);

}  // namespace korc
