#include "core/field_error.h"

#include <cstdio>

namespace korc {

namespace {
std::string_view TypeText(FieldErrorType t) {
  switch (t) {
    case FieldErrorType::kRequired:
      return "Required value";
    case FieldErrorType::kInvalid:
      return "Invalid value";
    case FieldErrorType::kNotSupported:
      return "Unsupported value";
    case FieldErrorType::kDuplicate:
      return "Duplicate value";
    case FieldErrorType::kForbidden:
      return "Forbidden";
    case FieldErrorType::kTooLong:
      return "Too long";
    case FieldErrorType::kNotFound:
      return "Not found";
    case FieldErrorType::kTypeInvalid:
      return "Invalid value";
  }
  return "Invalid value";
}
}  // namespace

std::string FieldError::ToString() const {
  std::string out = field;
  out += ": ";
  out += TypeText(type);
  // Kubernetes omits the value for these types.
  bool with_value = type != FieldErrorType::kRequired && type != FieldErrorType::kForbidden &&
                    type != FieldErrorType::kTooLong;
  if (with_value) {
    out += ": ";
    out += value.empty() ? "\"\"" : value;
  }
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  return out;
}

std::string_view FieldError::Reason() const {
  switch (type) {
    case FieldErrorType::kRequired:
      return "FieldValueRequired";
    case FieldErrorType::kInvalid:
      return "FieldValueInvalid";
    case FieldErrorType::kNotSupported:
      return "FieldValueNotSupported";
    case FieldErrorType::kDuplicate:
      return "FieldValueDuplicate";
    case FieldErrorType::kForbidden:
      return "FieldValueForbidden";
    case FieldErrorType::kTooLong:
      return "FieldValueTooLong";
    case FieldErrorType::kNotFound:
      return "FieldValueNotFound";
    case FieldErrorType::kTypeInvalid:
      return "FieldValueTypeInvalid";
  }
  return "FieldValueInvalid";
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

Status InvalidStatus(std::string_view kind, std::string_view name, const FieldErrors& errors) {
  std::string msg(kind);
  msg += " ";
  msg += GoQuote(name);
  msg += " is invalid: ";
  if (errors.size() == 1) {
    msg += errors[0].ToString();
  } else {
    msg += "[";
    for (size_t i = 0; i < errors.size(); ++i) {
      if (i) msg += ", ";
      msg += errors[i].ToString();
    }
    msg += "]";
  }
  return Status::Invalid(std::move(msg));
}

}  // namespace korc
