#include "core/event.h"

#include <cstring>

#include "core/coding.h"

namespace korc {

namespace {
constexpr char kEventMagic = 'E';
}

std::string_view EventTypeName(EventType type) {
  switch (type) {
    case EventType::kAdded:
      return "ADDED";
    case EventType::kModified:
      return "MODIFIED";
    case EventType::kDeleted:
      return "DELETED";
  }
  return "UNKNOWN";
}

bool ParseEventType(std::string_view name, EventType* out) {
  auto eq = [&](std::string_view want) {
    if (name.size() != want.size()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
      char c = name[i];
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
      if (c != want[i]) return false;
    }
    return true;
  };
  for (auto t : {EventType::kAdded, EventType::kModified, EventType::kDeleted}) {
    if (eq(EventTypeName(t))) {
      *out = t;
      return true;
    }
  }
  return false;
}

// Layout (version 1):
//   magic 'E' | version u8 | varint seq | varint zigzag(time) | type u8 |
//   lp kind | lp ns | lp name | lp uid | lp actor | varint cause | varint basis |
//   varint zigzag(basis_time) | lp reason | lp object | fixed32le crc32c(all before)
// Version 2 adds `lp command` between reason and object.
std::string EncodeEvent(const Event& e) {
  using namespace coding;
  std::string out;
  out.reserve(64 + e.kind.size() + e.ns.size() + e.name.size() + e.uid.size() + e.actor.size() +
              e.reason.size() + e.command.size() + e.object.size());
  out.push_back(kEventMagic);
  out.push_back(static_cast<char>(kEventFormatVersion));
  PutVarint64(&out, e.seq);
  PutVarint64(&out, ZigZag(e.time_ns));
  out.push_back(static_cast<char>(e.type));
  PutLengthPrefixed(&out, e.kind);
  PutLengthPrefixed(&out, e.ns);
  PutLengthPrefixed(&out, e.name);
  PutLengthPrefixed(&out, e.uid);
  PutLengthPrefixed(&out, e.actor);
  PutVarint64(&out, e.cause);
  PutVarint64(&out, e.basis);
  PutVarint64(&out, ZigZag(e.basis_time_ns));
  PutLengthPrefixed(&out, e.reason);
  PutLengthPrefixed(&out, e.command);
  PutLengthPrefixed(&out, e.object);
  uint32_t crc = Crc32c(out);
  char buf[4];
  for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  out.append(buf, 4);
  return out;
}

Result<Event> DecodeEvent(std::string_view bytes) {
  Event e;
  KORC_RETURN_IF_ERROR(DecodeEventInto(bytes, &e));
  return e;
}

Status DecodeEventInto(std::string_view bytes, Event* out) {
  using namespace coding;
  if (bytes.size() < 2 + 4 || bytes[0] != kEventMagic) {
    return Status::Corruption("event record: bad magic or too short");
  }
  auto version = static_cast<uint8_t>(bytes[1]);
  if (version == 0 || version > kEventFormatVersion) {
    return Status::Corruption("event record: format version " + std::to_string(version) +
                              " is newer than this korc understands (" +
                              std::to_string(kEventFormatVersion) + ")");
  }
  std::string_view body = bytes.substr(0, bytes.size() - 4);
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) {
    stored |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[bytes.size() - 4 + i]))
              << (8 * i);
  }
  if (Crc32c(body) != stored) return Status::Corruption("event record: checksum mismatch");

  std::string_view in = body.substr(2);
  Event& e = *out;
  uint64_t u = 0;
  std::string_view s;
  auto str = [&](std::string* dst) {
    if (!GetLengthPrefixed(&in, &s)) return false;
    dst->assign(s);
    return true;
  };
  if (!GetVarint64(&in, &e.seq)) goto bad;
  if (!GetVarint64(&in, &u)) goto bad;
  e.time_ns = UnZigZag(u);
  if (in.empty()) goto bad;
  e.type = static_cast<EventType>(in[0]);
  if (e.type != EventType::kAdded && e.type != EventType::kModified &&
      e.type != EventType::kDeleted) {
    goto bad;
  }
  in.remove_prefix(1);
  if (!str(&e.kind) || !str(&e.ns) || !str(&e.name) || !str(&e.uid) || !str(&e.actor)) {
    goto bad;
  }
  if (!GetVarint64(&in, &e.cause) || !GetVarint64(&in, &e.basis)) goto bad;
  if (!GetVarint64(&in, &u)) goto bad;
  e.basis_time_ns = UnZigZag(u);
  if (!str(&e.reason)) goto bad;
  if (version >= 2) {
    if (!str(&e.command)) goto bad;
  } else {
    e.command.clear();
  }
  if (!str(&e.object) || !in.empty()) goto bad;
  return Status::Ok();
bad:
  return Status::Corruption("event record: truncated or malformed");
}

std::string ObjectKey(std::string_view kind, std::string_view ns, std::string_view name) {
  std::string key;
  key.reserve(kind.size() + ns.size() + name.size() + 2);
  key.append(kind).push_back('/');
  key.append(ns).push_back('/');
  key.append(name);
  return key;
}

}  // namespace korc
