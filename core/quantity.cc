#include "core/quantity.h"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string>
#include <utility>

namespace korc {
namespace {

__extension__ using Int128 = __int128;
__extension__ using UInt128 = unsigned __int128;

constexpr UInt128 kMaxMagnitudeU = ~UInt128{0} >> 1;  // 2^127 - 1
constexpr Int128 kMaxMagnitude = static_cast<Int128>(kMaxMagnitudeU);
constexpr Int128 kNanosPerUnit = 1'000'000'000;
// Kubernetes caps a parsed BinarySI amount at the largest int64 number of units.
constexpr Int128 kBinarySICapNanos =
    static_cast<Int128>(std::numeric_limits<int64_t>::max()) * kNanosPerUnit;

constexpr char kFormatError[] =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr char kSuffixError[] = "unable to parse quantity's suffix";
constexpr char kRangeError[] =
    "quantity is out of range: its magnitude must not exceed (2^127-1)n, about 1.7e29";

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

struct Suffix {
  int base;          // 10 or 2
  int64_t exponent;  // of the base
  Quantity::Format format;
};

// Parses the optionally signed decimal integer after an 'e'/'E'. Any exponent beyond 10^6 in
// magnitude decides the result on its own (overflow, or rounding up to 1n), so it saturates
// there instead of overflowing.
std::optional<int64_t> ParseExponent(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  constexpr int64_t kSaturate = 1'000'000;
  int64_t v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    v = std::min<int64_t>(v * 10 + (c - '0'), kSaturate);
  }
  return negative ? -v : v;
}

std::optional<Suffix> InterpretSuffix(std::string_view s) {
  using F = Quantity::Format;
  struct Entry {
    std::string_view text;
    Suffix suffix;
  };
  static constexpr std::array<Entry, 16> kTable = {{
      {"", {10, 0, F::kDecimalSI}},
      {"n", {10, -9, F::kDecimalSI}},
      {"u", {10, -6, F::kDecimalSI}},
      {"m", {10, -3, F::kDecimalSI}},
      {"k", {10, 3, F::kDecimalSI}},
      {"M", {10, 6, F::kDecimalSI}},
      {"G", {10, 9, F::kDecimalSI}},
      {"T", {10, 12, F::kDecimalSI}},
      {"P", {10, 15, F::kDecimalSI}},
      {"E", {10, 18, F::kDecimalSI}},
      {"Ki", {2, 10, F::kBinarySI}},
      {"Mi", {2, 20, F::kBinarySI}},
      {"Gi", {2, 30, F::kBinarySI}},
      {"Ti", {2, 40, F::kBinarySI}},
      {"Pi", {2, 50, F::kBinarySI}},
      {"Ei", {2, 60, F::kBinarySI}},
  }};
  for (const Entry& e : kTable) {
    if (e.text == s) return e.suffix;
  }
  if (s.size() > 1 && (s[0] == 'e' || s[0] == 'E')) {
    if (auto exp = ParseExponent(s.substr(1))) return Suffix{10, *exp, F::kDecimalExponent};
  }
  return std::nullopt;
}

// digits (most significant first) *= m.
void MultiplyDecimal(std::string* digits, uint32_t m) {
  uint64_t carry = 0;
  for (auto it = digits->rbegin(); it != digits->rend(); ++it) {
    uint64_t v = static_cast<uint64_t>(*it - '0') * m + carry;
    *it = static_cast<char>('0' + v % 10);
    carry = v / 10;
  }
  while (carry != 0) {
    digits->insert(digits->begin(), static_cast<char>('0' + carry % 10));
    carry /= 10;
  }
}

// Decimal digits -> value; false when it exceeds kMaxMagnitude.
bool DigitsToInt128(std::string_view digits, Int128* out) {
  UInt128 v = 0;
  for (char c : digits) {
    const auto d = static_cast<unsigned>(c - '0');
    if (v > (kMaxMagnitudeU - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = static_cast<Int128>(v);
  return true;
}

// The magnitude, in nanos rounded away from zero, of the number whose decimal digits are
// `digits` with the point `frac_digits` places from the right, times 10^exp10 * 2^exp2. False
// when it exceeds kMaxMagnitude. Works on the digit string, so inputs of any length are exact.
bool MagnitudeInNanos(std::string digits, size_t frac_digits, int64_t exp10, int64_t exp2,
                      Int128* out) {
  digits.erase(0, digits.find_first_not_of('0'));
  if (digits.empty()) {
    *out = 0;
    return true;
  }
  for (int64_t i = 0; i < exp2 / 10; ++i) MultiplyDecimal(&digits, 1024);

  // value = digits * 10^scale nanos. Trailing zeros move into the scale, so after this the
  // last digit is non-zero.
  int64_t scale = 9 + exp10 - static_cast<int64_t>(frac_digits);
  const size_t last = digits.find_last_not_of('0');
  scale += static_cast<int64_t>(digits.size() - 1 - last);
  digits.resize(last + 1);

  if (scale >= 0) {
    // 40 or more digits is at least 10^39 > 2^127.
    if (static_cast<int64_t>(digits.size()) + scale > 39) return false;
    Int128 v;
    if (!DigitsToInt128(digits, &v)) return false;
    for (int64_t i = 0; i < scale; ++i) {
      if (v > kMaxMagnitude / 10) return false;
      v *= 10;
    }
    *out = v;
    return true;
  }

  // Finer than a nano. The dropped digits include the last, non-zero one, so the amount always
  // rounds up by one nano: Kubernetes rounds any non-zero remainder away from zero.
  const int64_t drop = -scale;
  Int128 v = 0;
  if (drop < static_cast<int64_t>(digits.size())) {
    if (!DigitsToInt128(std::string_view(digits).substr(0, digits.size() - drop), &v)) {
      return false;
    }
  }
  if (v == kMaxMagnitude) return false;
  *out = v + 1;
  return true;
}

std::string Int128ToString(Int128 v) {
  const bool negative = v < 0;
  UInt128 u = negative ? -static_cast<UInt128>(v) : static_cast<UInt128>(v);
  std::string out;
  do {
    out.insert(out.begin(), static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  } while (u != 0);
  if (negative) out.insert(out.begin(), '-');
  return out;
}

// v / d rounded away from zero, saturated to int64.
int64_t DivideAwayFromZero(Int128 v, Int128 d) {
  Int128 q = v / d;
  if (v % d != 0) q += v > 0 ? 1 : -1;
  if (q > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (q < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(q);
}

}  // namespace

Result<Quantity> Quantity::Parse(std::string_view text) {
  if (text.empty()) return Status::Invalid(kFormatError);
  if (text == "0") return Quantity();

  const size_t n = text.size();
  size_t pos = 0;
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    ++pos;
  }
  const size_t number_start = pos;
  while (pos < n && IsDigit(text[pos])) ++pos;
  const std::string_view int_digits = text.substr(number_start, pos - number_start);
  std::string_view frac_digits;
  if (pos < n && text[pos] == '.') {
    const size_t frac_start = ++pos;
    while (pos < n && IsDigit(text[pos])) ++pos;
    frac_digits = text.substr(frac_start, pos - frac_start);
  }
  if (pos == number_start) return Status::Invalid(kFormatError);

  // The suffix's shape: letters from the suffix alphabet, then an optional signed integer.
  const size_t suffix_start = pos;
  constexpr std::string_view kSuffixLetters = "eEinumkKMGTP";
  while (pos < n && kSuffixLetters.find(text[pos]) != std::string_view::npos) ++pos;
  if (pos < n && (text[pos] == '+' || text[pos] == '-')) ++pos;
  while (pos < n && IsDigit(text[pos])) ++pos;
  if (pos != n) return Status::Invalid(kFormatError);

  const std::optional<Suffix> suffix = InterpretSuffix(text.substr(suffix_start));
  if (!suffix) return Status::Invalid(kSuffixError);

  Format format = suffix->format;
  const int64_t exp10 = suffix->base == 10 ? suffix->exponent : 0;
  const int64_t exp2 = suffix->base == 2 ? suffix->exponent : 0;
  Int128 magnitude = 0;
  std::string digits(int_digits);
  digits += frac_digits;
  if (!MagnitudeInNanos(std::move(digits), frac_digits.size(), exp10, exp2, &magnitude)) {
    if (format != Format::kBinarySI) return Status::Invalid(kRangeError);
    magnitude = kBinarySICapNanos;  // larger than the cap anyway
  }
  if (format == Format::kBinarySI) {
    if (magnitude > kBinarySICapNanos) magnitude = kBinarySICapNanos;
    // A fraction of a byte has no BinarySI spelling; say it in decimal instead of rounding.
    if (magnitude > 0 && magnitude < kNanosPerUnit) format = Format::kDecimalSI;
  }
  return Quantity(negative ? -magnitude : magnitude, format);
}

Quantity Quantity::FromInt(int64_t value, Format format) {
  return Quantity(static_cast<Int128>(value) * kNanosPerUnit, format);
}

Quantity Quantity::FromMilli(int64_t milli_value, Format format) {
  return Quantity(static_cast<Int128>(milli_value) * (kNanosPerUnit / 1000), format);
}

Status Quantity::Add(const Quantity& y) {
  Int128 sum;
  // Both operands are within +-kMaxMagnitude, so the only out-of-range results are an
  // overflow or exactly -2^127, which the invariant excludes.
  if (__builtin_add_overflow(nanos_, y.nanos_, &sum) || sum < -kMaxMagnitude) {
    return Status::Invalid(std::string("quantity overflow: ") + ToString() + " + " + y.ToString() +
                           " is out of range");
  }
  if (nanos_ == 0) format_ = y.format_;
  nanos_ = sum;
  return Status::Ok();
}

Status Quantity::Sub(const Quantity& y) {
  Int128 diff;
  if (__builtin_sub_overflow(nanos_, y.nanos_, &diff) || diff < -kMaxMagnitude) {
    return Status::Invalid(std::string("quantity overflow: ") + ToString() + " - " + y.ToString() +
                           " is out of range");
  }
  if (nanos_ == 0) format_ = y.format_;
  nanos_ = diff;
  return Status::Ok();
}

int Quantity::Cmp(const Quantity& y) const {
  return nanos_ < y.nanos_ ? -1 : (nanos_ > y.nanos_ ? 1 : 0);
}

int64_t Quantity::Value() const { return DivideAwayFromZero(nanos_, kNanosPerUnit); }

int64_t Quantity::MilliValue() const { return DivideAwayFromZero(nanos_, kNanosPerUnit / 1000); }

std::string Quantity::ToString() const {
  if (nanos_ == 0) return "0";

  Format format = format_;
  if (format == Format::kBinarySI) {
    // Below 1Ki a binary suffix says nothing, and a fractional amount has no binary spelling:
    // both print in decimal, as Kubernetes does.
    if ((nanos_ > -1024 * kNanosPerUnit && nanos_ < 1024 * kNanosPerUnit) ||
        nanos_ % kNanosPerUnit != 0) {
      format = Format::kDecimalSI;
    }
  }

  if (format == Format::kBinarySI) {
    static constexpr std::array<std::string_view, 7> kBinarySuffixes = {"",   "Ki", "Mi", "Gi",
                                                                        "Ti", "Pi", "Ei"};
    Int128 mantissa = nanos_ / kNanosPerUnit;
    size_t power = 0;
    while (power + 1 < kBinarySuffixes.size() && mantissa % 1024 == 0) {
      mantissa /= 1024;
      ++power;
    }
    return Int128ToString(mantissa) + std::string(kBinarySuffixes[power]);
  }

  // Largest exponent that is a multiple of 3 and keeps the mantissa whole. Multiplying back
  // by at most 100 cannot overflow: at least that much was divided out just before.
  Int128 mantissa = nanos_;
  int exponent = -9;
  while (mantissa % 10 == 0) {
    mantissa /= 10;
    ++exponent;
  }
  while (exponent % 3 != 0) {
    mantissa *= 10;
    --exponent;
  }

  std::string out = Int128ToString(mantissa);
  if (format == Format::kDecimalSI && exponent <= 18) {
    static constexpr std::array<std::string_view, 10> kDecimalSuffixes = {"n", "u", "m", "",  "k",
                                                                          "M", "G", "T", "P", "E"};
    out += kDecimalSuffixes[(exponent + 9) / 3];
  } else if (exponent != 0) {
    // DecimalExponent, or DecimalSI beyond "E" which has no suffix: Kubernetes falls back to
    // an exponent rather than drop the magnitude.
    out += 'e';
    out += std::to_string(exponent);
  }
  return out;
}

}  // namespace korc
