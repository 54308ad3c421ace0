// FieldError: one problem with one field, worded as Kubernetes words it
// ("spec.replicas: Invalid value: -1: must be greater than or equal to 0").
//
// Validation returns a list of these; the API server turns them into a metav1.Status with
// one cause per error, and the CLI prints them with the manifest's file and line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace korc {

enum class FieldErrorType {
  kRequired,      // "Required value"
  kInvalid,       // "Invalid value"
  kNotSupported,  // "Unsupported value"
  kDuplicate,     // "Duplicate value"
  kForbidden,     // "Forbidden"
  kTooLong,       // "Too long"
  kNotFound,      // "Not found"
  kTypeInvalid,   // "Invalid value" (wrong JSON type)
};

struct FieldError {
  FieldErrorType type = FieldErrorType::kInvalid;
  std::string field;   // "spec.containers[0].image"
  std::string value;   // the bad value as Go's %#v would print it ("\"x\"", "-1"); may be empty
  std::string detail;  // "must be greater than or equal to 0"
  int line = 0;        // 1-based source position when known (YAML manifests), else 0
  int column = 0;

  // "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
  std::string ToString() const;
  // The metav1.StatusCause reason: "FieldValueInvalid", "FieldValueRequired", ...
  std::string_view Reason() const;
};

using FieldErrors = std::vector<FieldError>;

// Quotes a string as Go's %q does, for FieldError::value.
std::string GoQuote(std::string_view s);

// The Status for a rejected object: Invalid, with Kubernetes' message shape
// `Pod "bad" is invalid: [spec.containers: Required value, ...]` (no brackets for one error).
Status InvalidStatus(std::string_view kind, std::string_view name, const FieldErrors& errors);

}  // namespace korc
