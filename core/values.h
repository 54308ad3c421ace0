// Small value types of the Kubernetes API that are not objects: IntOrString, Time,
// MicroTime. Quantity lives in core/quantity.h.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace korc::api {

// A port number or a port name (Kubernetes intstr.IntOrString): `targetPort: 8080` or
// `targetPort: http`.
struct IntOrString {
  bool is_string = false;
  int32_t int_value = 0;
  std::string str_value;

  static IntOrString Int(int32_t v) { return {false, v, {}}; }
  static IntOrString Str(std::string v) { return {true, 0, std::move(v)}; }
  bool empty() const { return !is_string && int_value == 0; }
  std::string ToString() const { return is_string ? str_value : std::to_string(int_value); }
  bool operator==(const IntOrString&) const = default;
};

// metav1.Time: a wall-clock instant serialized as RFC 3339 with second precision.
// Zero means unset (serialized as null / omitted).
struct Time {
  int64_t unix_ns = 0;
  bool empty() const { return unix_ns == 0; }
  auto operator<=>(const Time&) const = default;
};

// metav1.MicroTime: like Time with microsecond precision ("2026-01-02T03:04:05.000006Z").
struct MicroTime {
  int64_t unix_ns = 0;
  bool empty() const { return unix_ns == 0; }
  auto operator<=>(const MicroTime&) const = default;
};

// RFC 3339 formatting in UTC: seconds (Time) or microseconds (MicroTime) precision.
std::string FormatRfc3339(int64_t unix_ns, bool micros = false);
// Parses RFC 3339 ("2026-01-02T03:04:05Z", fractional seconds and numeric offsets allowed).
std::optional<int64_t> ParseRfc3339(std::string_view text);

}  // namespace korc::api
