// Status and Result<T>: korc's error values.
//
// Recoverable failures are values, never exceptions across a module boundary. A Status
// carries a Code that maps one-to-one onto a Kubernetes metav1.Status reason (the API
// server maps Code -> HTTP in one place) and a human message. Result<T> is either a value
// or a non-OK Status.
//
// Thread-safety: plain values; copy freely.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace korc {

// Persisted in nothing; safe to reorder, but keep in step with StatusReason().
enum class Code {
  kOk,
  kBadRequest,            // malformed input (HTTP 400)
  kNotFound,              // 404
  kAlreadyExists,         // 409
  kConflict,              // 409 (stale resourceVersion)
  kInvalid,               // 422 (validation)
  kForbidden,             // 403
  kUnauthorized,          // 401
  kExpired,               // 410 (history compacted below the requested point)
  kTooLarge,              // 413
  kUnsupportedMediaType,  // 415
  kUnavailable,           // 503
  kCorruption,            // 500: the log on disk is not what korc wrote
  kInternal,              // 500
};

// The metav1.Status `reason` string for a code ("NotFound", "Invalid", ...).
std::string_view StatusReason(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status BadRequest(std::string m) { return {Code::kBadRequest, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status Invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }
  static Status Forbidden(std::string m) { return {Code::kForbidden, std::move(m)}; }
  static Status Expired(std::string m) { return {Code::kExpired, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: pods \"x\" not found"
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or an error. Accessing value() of an error is a programming error (asserts).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; an OK status when this holds a value.
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace korc

// Early-return helpers in the leveldb manner.
#define KORC_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::korc::Status korc_status_ = (expr);        \
    if (!korc_status_.ok()) return korc_status_; \
  } while (0)

#define KORC_CONCAT_INNER_(a, b) a##b
#define KORC_CONCAT_(a, b) KORC_CONCAT_INNER_(a, b)
#define KORC_ASSIGN_OR_RETURN(lhs, expr) \
  KORC_ASSIGN_OR_RETURN_IMPL_(KORC_CONCAT_(korc_result_, __LINE__), lhs, expr)
#define KORC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
