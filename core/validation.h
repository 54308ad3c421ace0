// Validation: every rule an object must satisfy before it may enter the log, reported as
// Kubernetes reports it — a list of FieldErrors with field paths and reasons.
//
// Per-field rules come from the schema flags (required, DNS-1123 names, port ranges,
// label syntax, unique names, quantities, allowed values); rules relating several fields
// (an RC's selector must match its template's labels, a volumeMount must name a volume)
// are the per-kind hooks in validation.cc. Validation runs after defaulting.
#pragma once

#include <string_view>

#include "core/field_error.h"
#include "core/objects.h"

namespace korc {

// All problems with `object`; empty when it is valid.
FieldErrors Validate(const api::Object& object);
// The rules an update must keep beyond Validate(updated): fields that may not change once
// set (a Node's spec.podCIDR, a Secret's type, an immutable Secret's data). `current` and `updated`
// are of the same kind, both defaulted.
FieldErrors ValidateUpdate(const api::Object& current, const api::Object& updated);

// Building blocks, also used by the API server and the CLI. Each returns the problems with
// `value` (empty when fine), worded as Kubernetes' apimachinery validators word them.
std::vector<std::string> CheckDns1123Label(std::string_view value);
std::vector<std::string> CheckDns1123Subdomain(std::string_view value);
std::vector<std::string> CheckDns1035Label(std::string_view value);
std::vector<std::string> CheckQualifiedName(std::string_view value);
std::vector<std::string> CheckLabelValue(std::string_view value);
std::vector<std::string> CheckIanaSvcName(std::string_view value);
// A key of a Secret's (or ConfigMap's) data: [-._a-zA-Z0-9]+, not ".", "..", or "..*".
std::vector<std::string> CheckConfigMapKey(std::string_view value);
bool IsValidIp(std::string_view value);

}  // namespace korc
