// Quantity: an exact fixed-point amount of a resource ("500m" CPU, "128Mi" memory), with the
// string grammar and canonical form of Kubernetes' resource.Quantity.
//
// Grammar (as in k8s.io/apimachinery/pkg/api/resource):
//   <quantity>     ::= <sign>? <number> <suffix>
//   <number>       ::= <digits> | <digits> "." <digits>? | "." <digits>
//   <suffix>       ::= <binarySI> | <decimalSI> | <exponent>
//   <binarySI>     ::= Ki | Mi | Gi | Ti | Pi | Ei              (powers of 1024)
//   <decimalSI>    ::= n | u | m | "" | k | M | G | T | P | E  (powers of 1000)
//   <exponent>     ::= ("e" | "E") <sign>? <digits>            (powers of 10)
//
// The value is held exactly as a signed 128-bit count of nano-units; a parsed amount finer
// than 1n is rounded away from zero to the next nano ("0.1n" -> "1n"), as Kubernetes does, so
// that asking for "some" of a resource never yields none. Magnitudes up to (2^127-1)n, about
// 1.7e29 units, are representable; parsing or arithmetic beyond that is an Invalid error.
//
// A Quantity remembers the Format of the string it was parsed from and uses it again when it
// is printed. ToString() returns the canonical form: no fractional digits, the largest suffix
// that loses no precision ("1.5" -> "1500m", "1024Mi" -> "1Gi", "1.5Gi" -> "1536Mi").
//
// Thread-safety: a plain value. Const methods may be called concurrently; Add/Sub mutate.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace korc {

class Quantity {
 public:
  // How the quantity is printed. Not persisted (only the string form is), safe to reorder.
  enum class Format {
    kDecimalSI,        // 12M  = 12 * 10^6; also the format of "0" and of plain numbers
    kBinarySI,         // 12Mi = 12 * 2^20
    kDecimalExponent,  // 12e6 = 12 * 10^6
  };

  // Zero, DecimalSI.
  Quantity() = default;

  // Parses the Kubernetes string form. Errors are Invalid, with Kubernetes' messages for
  // malformed text ("quantities must match the regular expression '^([+-]?[0-9.]+)(...)$'",
  // "unable to parse quantity's suffix") and "quantity is out of range: ..." for a
  // non-BinarySI magnitude above (2^127-1)n, which Kubernetes would still accept.
  // Kubernetes quirks kept on purpose: "1." and "." parse (as 1 and 0); a BinarySI amount is
  // silently capped at 2^63-1 ("9Ei" -> 9223372036854775807); a BinarySI amount of magnitude
  // below 1 switches to DecimalSI (".001Ki" -> "1024m").
  // Deliberate difference: Kubernetes' scanner accepts a suffix or sign with no number at
  // all ("Mi", "-") as zero, against its own documented regular expression; korc rejects it.
  static Result<Quantity> Parse(std::string_view text);

  // `value` whole units / thousandths of a unit, printed in `format`.
  static Quantity FromInt(int64_t value, Format format);
  static Quantity FromMilli(int64_t milli_value, Format format);

  // this += y / this -= y, exactly. If this is zero beforehand it takes y's format (so
  // summing into a default Quantity keeps the operands' suffix style), as in Kubernetes.
  // On overflow returns Invalid and leaves this unchanged.
  Status Add(const Quantity& y);
  Status Sub(const Quantity& y);

  // -1, 0 or 1. Compares values only; the format does not take part.
  int Cmp(const Quantity& y) const;
  friend std::strong_ordering operator<=>(const Quantity& a, const Quantity& b) {
    return a.nanos_ <=> b.nanos_;
  }
  // Value equality: "1Ki" == "1024" although they print differently.
  friend bool operator==(const Quantity& a, const Quantity& b) { return a.nanos_ == b.nanos_; }

  bool IsZero() const { return nanos_ == 0; }
  // -1, 0 or 1.
  int Sign() const { return nanos_ < 0 ? -1 : (nanos_ > 0 ? 1 : 0); }

  // The value in whole units / thousandths, rounded away from zero when inexact ("1.1" -> 2,
  // "0.1m" -> 1), like Kubernetes' Value and MilliValue for int64-sized quantities. Where
  // Kubernetes silently overflows, these saturate at INT64_MAX / INT64_MIN; compare against a
  // bound first if that matters.
  int64_t Value() const;
  int64_t MilliValue() const;

  Format format() const { return format_; }

  // Canonical string, exactly as Kubernetes' Quantity.String() / CanonicalizeBytes.
  std::string ToString() const;

 private:
  __extension__ using Int128 = __int128;

  Quantity(Int128 nanos, Format format) : nanos_(nanos), format_(format) {}

  // Invariant: |nanos_| <= 2^127-1 (the most negative value is never held, so negation is safe).
  Int128 nanos_ = 0;
  Format format_ = Format::kDecimalSI;
};

}  // namespace korc
