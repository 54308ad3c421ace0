#include "bus/wire.h"

#include <cerrno>

#include "bus/bus.h"
#include "core/coding.h"

namespace korc::bus {

std::string TopicOf(const Event& event) {
  std::string topic;
  topic.reserve(event.kind.size() + 1 + event.ns.size());
  topic.append(event.kind).push_back('/');
  topic.append(event.ns);
  return topic;
}

bool TopicMatches(std::string_view topic, std::string_view filter) {
  if (!topic.starts_with(filter)) return false;
  // A match must end at a segment boundary, so "Pod/default" does not match "Pod/default-2".
  return filter.empty() || filter.back() == '/' || topic.size() == filter.size();
}

namespace wire {

std::string EncodeSeq(uint64_t v) { return coding::BigEndian64(v); }

bool DecodeSeq(const zmq::message_t& frame, uint64_t* v) {
  if (frame.size() != kSeqSize) return false;
  *v = coding::DecodeBigEndian64(static_cast<const char*>(frame.data()));
  return true;
}

namespace {
struct NamedCode {
  Code code;
  std::string_view name;
};
// On the wire: names, not Code's numbers (which may be reordered).
constexpr NamedCode kErrorNames[] = {
    {Code::kBadRequest, "BadRequest"},   {Code::kNotFound, "NotFound"},
    {Code::kInvalid, "Invalid"},         {Code::kExpired, "Expired"},
    {Code::kUnavailable, "Unavailable"}, {Code::kCorruption, "Corruption"},
    {Code::kInternal, "Internal"},
};
}  // namespace

std::string_view ErrorName(Code code) {
  for (const NamedCode& n : kErrorNames) {
    if (n.code == code) return n.name;
  }
  return "Internal";
}

Code ErrorCode(std::string_view name) {
  for (const NamedCode& n : kErrorNames) {
    if (n.name == name) return n.code;
  }
  return Code::kInternal;
}

Status FromZmqError(const zmq::error_t& e, std::string_view context) {
  std::string message = std::string(context) + ": " + e.what();
  switch (e.num()) {
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
      return Status::Invalid(std::move(message));
    case EADDRINUSE:
    case EADDRNOTAVAIL:
    case ENODEV:
    case ETERM:
    case EHOSTUNREACH:
    case ENOTSOCK:
      return Status::Unavailable(std::move(message));
    default:
      return Status::Internal(std::move(message));
  }
}

void PollIn(zmq::socket_t& socket, long timeout_ms) {
  zmq::pollitem_t item = {socket.handle(), 0, ZMQ_POLLIN, 0};
  try {
    zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms));
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;
  }
}

long PollMillis(std::chrono::steady_clock::time_point now,
                std::chrono::steady_clock::time_point deadline) {
  if (deadline <= now) return 0;
  return static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
}

}  // namespace wire
}  // namespace korc::bus
