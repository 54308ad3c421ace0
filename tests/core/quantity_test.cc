#include "core/quantity.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

namespace korc {

// Lets GoogleTest print a Quantity in failure messages.
void PrintTo(const Quantity& q, std::ostream* os) { *os << q.ToString(); }

namespace {

using Format = Quantity::Format;

constexpr char kFormatError[] =
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
constexpr char kSuffixError[] = "unable to parse quantity's suffix";

Quantity Q(std::string_view text) {
  Result<Quantity> q = Quantity::Parse(text);
  EXPECT_TRUE(q.ok()) << text << ": " << q.status().ToString();
  return q.ok() ? *q : Quantity();
}

struct CanonicalCase {
  std::string input;
  std::string canonical;
};

// Input -> Kubernetes' String(). Most rows come from the behaviour of
// k8s.io/apimachinery/pkg/api/resource (ParseEmit, String and Parse tables).
const std::vector<CanonicalCase> kCanonicalCases = {
    // The examples every korc user meets.
    {"500m", "500m"},
    {"1.5", "1500m"},
    {"128Mi", "128Mi"},
    {"1G", "1G"},
    {"1e3", "1e3"},
    {"0.1", "100m"},
    {"100", "100"},
    {"-1", "-1"},
    {"1Ki", "1Ki"},
    {"0.5Gi", "512Mi"},
    {"1024Mi", "1Gi"},
    {"1000", "1k"},
    {"100m", "100m"},
    {"0", "0"},
    {"1536Ki", "1536Ki"},
    {"1.5Gi", "1536Mi"},
    {"12e6", "12e6"},
    // Decimal SI: the largest suffix that keeps the mantissa whole.
    {"1000M", "1G"},
    {"0.001T", "1G"},
    {"5000m", "5"},
    {"1000u", "1m"},
    {"1.08", "1080m"},
    {"1080000000n", "1080m"},
    {"100.035k", "100035"},
    {"10.035M", "10035k"},
    {"0.0005k", "500m"},
    {"12E", "12E"},
    // Beyond "E" there is no decimal suffix: fall back to an exponent.
    {"1000E", "1e21"},
    {"5000E", "5e21"},
    // Decimal exponents: multiples of 3, no suffix at exponent 0.
    {".001e12", "1e9"},
    {"0.001e0", "1e-3"},
    {"1000e-12", "1e-9"},
    {"80e-3", "80e-3"},
    {"300e6", "300e6"},
    {"1E3", "1e3"},
    {"1e+3", "1e3"},
    {"1.3E+6", "1300e3"},
    {"1e0", "1"},
    {"00", "0"},
    // Binary SI.
    {"1Mi", "1Mi"},
    {"1Gi", "1Gi"},
    {"307200Ki", "300Mi"},
    {"1.0Ki", "1Ki"},
    {"1.0009765625Ki", "1025"},  // whole but not a multiple of 1024
    {".001Ki", "1024m"},         // below 1Ki: printed in decimal
    {".000001Ki", "1024u"},
    {".000000001Ki", "1024n"},
    {"0.05Gi", "53687091200m"},  // fractional bytes: printed in decimal
    {"0Ki", "0"},
    {"7Ei", "7Ei"},
    // Finer than a nano rounds away from zero.
    {".000000000001Ki", "2n"},
    {"3.001n", "4n"},
    {"-3.001n", "-4n"},
    {"1.1E-9", "2e-9"},
    {"0.0000000001", "1n"},
    {"0.9n", "1n"},
    {"0.00000012345", "124n"},
    {"1e-30", "1e-9"},
    {"0.000000000000000000001", "1n"},
    // BinarySI is capped at 2^63-1 like Kubernetes does.
    {"8Ei", "9223372036854775807"},
    {"9223372036854775807Ki", "9223372036854775807"},
    {"99999999999999999999999999999999999999999Ei", "9223372036854775807"},
    // Signs and odd spellings Kubernetes accepts.
    {"+1", "1"},
    {"-0", "0"},
    {"-1.5Gi", "-1536Mi"},
    {"1.", "1"},
    {"1.G", "1G"},
    {".", "0"},
    {"-.", "0"},
    {"0e99999999999999999999", "0"},
    // The representable extremes, 2^127-1 nanos.
    {"170141183460469231731687303715.884105727", "170141183460469231731687303715884105727n"},
    {"-170141183460469231731687303715.884105727", "-170141183460469231731687303715884105727n"},
};

TEST(QuantityTest, ParseGivesKubernetesCanonicalString) {
  for (const CanonicalCase& c : kCanonicalCases) {
    Result<Quantity> q = Quantity::Parse(c.input);
    ASSERT_TRUE(q.ok()) << c.input << ": " << q.status().ToString();
    EXPECT_EQ(q->ToString(), c.canonical) << "input " << c.input;
  }
}

TEST(QuantityTest, CanonicalStringParsesBackToTheSameValueAndString) {
  for (const CanonicalCase& c : kCanonicalCases) {
    const Quantity q = Q(c.input);
    Result<Quantity> again = Quantity::Parse(q.ToString());
    ASSERT_TRUE(again.ok()) << c.input << " -> " << q.ToString();
    EXPECT_EQ(*again, q) << c.input;
    EXPECT_EQ(again->ToString(), q.ToString()) << c.input;
  }
}

TEST(QuantityTest, NegatedInputPrintsNegatedCanonical) {
  for (const CanonicalCase& c : kCanonicalCases) {
    if (c.input[0] == '-' || c.input[0] == '+' || c.canonical == "0") continue;
    Result<Quantity> q = Quantity::Parse("-" + c.input);
    ASSERT_TRUE(q.ok()) << c.input;
    EXPECT_EQ(q->ToString(), "-" + c.canonical) << c.input;
  }
}

TEST(QuantityTest, ParseRemembersFormat) {
  const std::vector<std::pair<std::string, Format>> cases = {
      {"1Ki", Format::kBinarySI},
      {"0Ki", Format::kBinarySI},
      {"1.5Gi", Format::kBinarySI},
      {"1k", Format::kDecimalSI},
      {"1", Format::kDecimalSI},
      {"0", Format::kDecimalSI},
      {"500m", Format::kDecimalSI},
      {"1e3", Format::kDecimalExponent},
      {"1E-3", Format::kDecimalExponent},
      {"0.5e0", Format::kDecimalExponent},
      // A BinarySI amount below one unit becomes DecimalSI, as in Kubernetes.
      {".5Ki", Format::kBinarySI},
      {".000000000001Ki", Format::kDecimalSI},
      {"-.0001Ki", Format::kDecimalSI},
  };
  for (const auto& [input, format] : cases) {
    EXPECT_EQ(Q(input).format(), format) << input;
  }
}

struct ErrorCase {
  std::string input;
  std::string message;
};

TEST(QuantityTest, ParseRejectsMalformedInput) {
  const std::vector<ErrorCase> cases = {
      {"", kFormatError},       {"1.2.3", kFormatError},   {"12x", kFormatError},
      {"Mi", kFormatError},  // Kubernetes' scanner would take this as 0
      {"-", kFormatError},      {"+", kFormatError},       {"1 Mi", kFormatError},
      {"--1", kFormatError},    {" 1", kFormatError},      {"1 ", kFormatError},
      {"1.1.M", kFormatError},  {"1+1.0M", kFormatError},  {"0.1am", kFormatError},
      {"aoeu", kFormatError},   {"1e1.5", kFormatError},   {"0x10", kFormatError},
      {"0.1mi", kSuffixError},  {".5i", kSuffixError},     {"1i", kSuffixError},
      {"-3.01i", kSuffixError}, {"-3.01e-", kSuffixError}, {"1K", kSuffixError},
      {"1e", kSuffixError},     {"1Ee3", kSuffixError},    {"1kM", kSuffixError},
  };
  for (const ErrorCase& c : cases) {
    Result<Quantity> q = Quantity::Parse(c.input);
    ASSERT_FALSE(q.ok()) << "'" << c.input << "' parsed as " << q->ToString();
    EXPECT_EQ(q.status().code(), Code::kInvalid) << c.input;
    EXPECT_EQ(q.status().message(), c.message) << c.input;
  }
}

TEST(QuantityTest, ParseRejectsValuesBeyondTheRepresentableRange) {
  for (const char* input :
       {"1e30", "-1e30", "200000000000000000000000000000",
        "170141183460469231731687303715.884105728", "-170141183460469231731687303715.884105728",
        "1e99999999999999999999", "1000000000000000E"}) {
    Result<Quantity> q = Quantity::Parse(input);
    ASSERT_FALSE(q.ok()) << input << " parsed as " << q->ToString();
    EXPECT_EQ(q.status().code(), Code::kInvalid) << input;
    EXPECT_NE(q.status().message().find("out of range"), std::string::npos) << input;
  }
}

TEST(QuantityTest, AddIsExactForDecimalFractions) {
  Quantity sum = Q("0.1");
  ASSERT_TRUE(sum.Add(Q("0.2")).ok());
  EXPECT_EQ(sum, Q("300m"));
  EXPECT_EQ(sum.ToString(), "300m");
}

TEST(QuantityTest, SubtractsBinaryQuantitiesExactly) {
  Quantity q = Q("1Gi");
  ASSERT_TRUE(q.Sub(Q("512Mi")).ok());
  EXPECT_EQ(q, Q("512Mi"));
  EXPECT_EQ(q.ToString(), "512Mi");
}

TEST(QuantityTest, SumOfManySmallValuesIsExact) {
  struct Case {
    std::string item;
    int count;
    std::string total;
  };
  for (const Case& c : std::vector<Case>{{"1m", 1000, "1"},
                                         {"1m", 3, "3m"},
                                         {"1n", 1000, "1u"},
                                         {"0.1", 10, "1"},
                                         {"1Ki", 1024, "1Mi"},
                                         {"100m", 7, "700m"},
                                         {"-1m", 2000, "-2"}}) {
    Quantity sum;
    for (int i = 0; i < c.count; ++i) ASSERT_TRUE(sum.Add(Q(c.item)).ok());
    EXPECT_EQ(sum.ToString(), c.total) << c.count << " x " << c.item;
  }
}

TEST(QuantityTest, AddingToZeroTakesTheOtherFormat) {
  for (const char* value : {"100m", "1Gi", "1e3"}) {
    Quantity from_zero = Q("0");
    ASSERT_TRUE(from_zero.Add(Q(value)).ok());
    EXPECT_EQ(from_zero.ToString(), value);

    Quantity plus_zero = Q(value);
    ASSERT_TRUE(plus_zero.Add(Q("0")).ok());
    EXPECT_EQ(plus_zero.ToString(), value);

    Quantity minus = Q("0");
    ASSERT_TRUE(minus.Sub(Q(value)).ok());
    EXPECT_EQ(minus.ToString(), std::string("-") + value);
  }
}

TEST(QuantityTest, ArithmeticOverflowIsAnErrorAndLeavesTheValueUnchanged) {
  const Quantity max = Q("170141183460469231731687303715.884105727");
  const Quantity min = Q("-170141183460469231731687303715.884105727");

  Quantity q = max;
  Status s = q.Add(Q("1n"));
  EXPECT_EQ(s.code(), Code::kInvalid);
  EXPECT_EQ(q, max);

  q = min;
  s = q.Sub(Q("1n"));  // would be exactly -2^127, outside the symmetric range
  EXPECT_EQ(s.code(), Code::kInvalid);
  EXPECT_EQ(q, min);

  q = min;
  EXPECT_EQ(q.Add(min).code(), Code::kInvalid);
  q = max;
  EXPECT_EQ(q.Sub(min).code(), Code::kInvalid);

  q = max;
  EXPECT_TRUE(q.Add(min).ok());
  EXPECT_TRUE(q.IsZero());
}

TEST(QuantityTest, ComparesByValueOnly) {
  struct Case {
    std::string a, b;
    int cmp;
  };
  for (const Case& c : std::vector<Case>{{"0", "0", 0},
                                         {"100m", "50m", 1},
                                         {"50m", "100m", -1},
                                         {"10000T", "100Gi", 1},
                                         {"1Ki", "1024", 0},
                                         {"1k", "1e3", 0},
                                         {"1G", "1Gi", -1},
                                         {"-1", "0", -1},
                                         {"1n", "0", 1},
                                         {"0.1", "100m", 0},
                                         {"-1Ki", "-1k", -1},
                                         {"0Ki", "0", 0}}) {
    const Quantity a = Q(c.a), b = Q(c.b);
    EXPECT_EQ(a.Cmp(b), c.cmp) << c.a << " vs " << c.b;
    EXPECT_EQ(b.Cmp(a), -c.cmp) << c.b << " vs " << c.a;
    EXPECT_EQ(a == b, c.cmp == 0) << c.a << " vs " << c.b;
    EXPECT_EQ(a < b, c.cmp < 0) << c.a << " vs " << c.b;
    EXPECT_EQ(a > b, c.cmp > 0) << c.a << " vs " << c.b;
  }
}

TEST(QuantityTest, IsZeroAndSign) {
  EXPECT_TRUE(Quantity().IsZero());
  EXPECT_TRUE(Q("0Mi").IsZero());
  EXPECT_TRUE(Q("-0.0").IsZero());
  EXPECT_FALSE(Q("1n").IsZero());
  EXPECT_EQ(Q("-1n").Sign(), -1);
  EXPECT_EQ(Q("0").Sign(), 0);
  EXPECT_EQ(Q("1n").Sign(), 1);
}

TEST(QuantityTest, MilliValueRoundsAwayFromZero) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"0", 0},        {"1", 1000},      {"1.5", 1500}, {"100m", 100},
      {"0.1m", 1},     {"1n", 1},        {"1001u", 2},  {"-1n", -1},
      {"-1.5", -1500}, {"1Ki", 1024000}, {"1e-3", 1},   {"9223372036854775807m", kMax},
      {"1e16", kMax},  {"-1e16", kMin},
  };
  for (const auto& [input, milli] : cases) EXPECT_EQ(Q(input).MilliValue(), milli) << input;
}

TEST(QuantityTest, ValueRoundsAwayFromZero) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  const std::vector<std::pair<std::string, int64_t>> cases = {
      {"0", 0},      {"1", 1},       {"1.1", 2},          {"100m", 1},
      {"-1.1", -2},  {"1n", 1},      {"1Gi", 1073741824}, {"1k", 1000},
      {"8Ei", kMax}, {"1e20", kMax}, {"-1e20", kMin},     {"9223372036854775807", kMax},
  };
  for (const auto& [input, value] : cases) EXPECT_EQ(Q(input).Value(), value) << input;
}

TEST(QuantityTest, FromIntPrintsInTheGivenFormat) {
  struct Case {
    int64_t value;
    Format format;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{{1, Format::kDecimalSI, "1"},
                                         {1000, Format::kDecimalSI, "1k"},
                                         {1234000, Format::kDecimalSI, "1234k"},
                                         {1024, Format::kBinarySI, "1Ki"},
                                         {1000000, Format::kDecimalExponent, "1e6"},
                                         {1024 * 1024, Format::kBinarySI, "1Mi"},
                                         {-2048, Format::kBinarySI, "-2Ki"},
                                         {0, Format::kBinarySI, "0"}}) {
    const Quantity q = Quantity::FromInt(c.value, c.format);
    EXPECT_EQ(q.ToString(), c.expect) << c.value;
    EXPECT_EQ(q.Value(), c.value) << c.value;
    EXPECT_EQ(q.format(), c.format) << c.value;
  }
}

TEST(QuantityTest, FromMilliPrintsInTheGivenFormat) {
  struct Case {
    int64_t milli;
    Format format;
    std::string expect;
  };
  for (const Case& c : std::vector<Case>{{1, Format::kDecimalSI, "1m"},
                                         {1000, Format::kDecimalSI, "1"},
                                         {1234000, Format::kDecimalSI, "1234"},
                                         {1024, Format::kBinarySI, "1024m"},  // < 1Ki: decimal
                                         {1000000, Format::kDecimalExponent, "1e3"},
                                         {1024 * 1024, Format::kBinarySI, "1048576m"},
                                         {1024 * 1000, Format::kBinarySI, "1Ki"}}) {
    const Quantity q = Quantity::FromMilli(c.milli, c.format);
    EXPECT_EQ(q.ToString(), c.expect) << c.milli;
    EXPECT_EQ(q.MilliValue(), c.milli) << c.milli;
  }
}

}  // namespace
}  // namespace korc
