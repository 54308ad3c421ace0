#include "core/status.h"

namespace korc {

std::string_view StatusReason(Code code) {
  switch (code) {
    case Code::kOk:
      return "";
    case Code::kBadRequest:
      return "BadRequest";
    case Code::kNotFound:
      return "NotFound";
    case Code::kAlreadyExists:
      return "AlreadyExists";
    case Code::kConflict:
      return "Conflict";
    case Code::kInvalid:
      return "Invalid";
    case Code::kForbidden:
      return "Forbidden";
    case Code::kUnauthorized:
      return "Unauthorized";
    case Code::kExpired:
      return "Expired";
    case Code::kTooLarge:
      return "RequestEntityTooLarge";
    case Code::kUnsupportedMediaType:
      return "UnsupportedMediaType";
    case Code::kUnavailable:
      return "ServiceUnavailable";
    case Code::kCorruption:
      return "InternalError";
    case Code::kInternal:
      return "InternalError";
  }
  return "InternalError";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(code_ == Code::kCorruption ? "Corruption" : StatusReason(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace korc
