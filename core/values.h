// Small value types of the Kubernetes API that are not objects: IntOrString, Time,
// MicroTime, Bytes. Quantity lives in core/quantity.h.
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

// Go's []byte (a Secret's data values): raw bytes, standard padded base64 in JSON and YAML.
// Text that is not base64 still decodes, into a Bytes that says why (`base64_error`) and
// keeps the text as written in `value`: validation then refuses it naming the field
// ("data[key]"), as one field error among the others, and re-encoding gives back what was
// written. Stored objects never hold such a value.
struct Bytes {
  std::string value;
  std::string base64_error;  // "illegal base64 data at input byte 3"; empty when valid
  bool empty() const { return value.empty() && base64_error.empty(); }
  bool operator==(const Bytes&) const = default;
};

// Standard base64 with padding (Go's base64.StdEncoding).
std::string Base64Encode(std::string_view bytes);
// Decodes as Go's base64.StdEncoding does: padding required, '\r' and '\n' skipped. nullopt
// for text that is not base64, with the offset Go reports ("illegal base64 data at input
// byte N") in *error_at when given.
std::optional<std::string> Base64Decode(std::string_view text, size_t* error_at = nullptr);
// The length of what `text` decodes to, without decoding it (text assumed valid).
size_t Base64DecodedSize(std::string_view text);
// How output meant for people shows a secret value instead of its contents: "<12 bytes>".
inline std::string RedactedBytes(size_t n) { return "<" + std::to_string(n) + " bytes>"; }

// RFC 3339 formatting in UTC: seconds (Time) or microseconds (MicroTime) precision.
std::string FormatRfc3339(int64_t unix_ns, bool micros = false);
// Parses RFC 3339 ("2026-01-02T03:04:05Z", fractional seconds and numeric offsets allowed).
std::optional<int64_t> ParseRfc3339(std::string_view text);

}  // namespace korc::api
