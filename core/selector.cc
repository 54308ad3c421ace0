#include "core/selector.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

namespace korc {
namespace {

// ---------------------------------------------------------------------------------------------
// Label keys and values (Kubernetes' IsQualifiedName / IsValidLabelValue).

constexpr size_t kQualifiedNameMaxLength = 63;
constexpr size_t kLabelValueMaxLength = 63;
constexpr size_t kDNS1123SubdomainMaxLength = 253;

constexpr char kQualifiedNameMessage[] =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
constexpr char kDNS1123SubdomainMessage[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
constexpr char kLabelValueMessage[] =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', "
    "or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool IsQualifiedNamePart(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*
bool IsDNS1123Subdomain(std::string_view s) {
  auto lower_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  while (true) {
    const size_t dot = s.find('.');
    const std::string_view label = s.substr(0, dot);
    if (label.empty() || !lower_alnum(label.front()) || !lower_alnum(label.back())) return false;
    for (char c : label) {
      if (!lower_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::vector<std::string> QualifiedNameErrors(std::string_view key) {
  std::vector<std::string> errs;
  std::string_view name = key;
  const size_t slash = key.find('/');
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) {
      return {std::string("a qualified name ") + kQualifiedNameMessage +
              " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"};
    }
    const std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty()) {
      errs.push_back("prefix part must be non-empty");
    } else {
      if (prefix.size() > kDNS1123SubdomainMaxLength) {
        errs.push_back("prefix part must be no more than 253 characters");
      }
      if (!IsDNS1123Subdomain(prefix)) {
        errs.push_back(std::string("prefix part ") + kDNS1123SubdomainMessage);
      }
    }
  }
  if (name.empty()) {
    errs.push_back("name part must be non-empty");
  } else if (name.size() > kQualifiedNameMaxLength) {
    errs.push_back("name part must be no more than 63 characters");
  }
  if (!IsQualifiedNamePart(name)) errs.push_back(std::string("name part ") + kQualifiedNameMessage);
  return errs;
}

std::vector<std::string> LabelValueErrors(std::string_view value) {
  std::vector<std::string> errs;
  if (value.size() > kLabelValueMaxLength) errs.push_back("must be no more than 63 characters");
  if (!value.empty() && !IsQualifiedNamePart(value)) errs.push_back(kLabelValueMessage);
  return errs;
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  out += s;
  out += '"';
  return out;
}

// strconv.ParseInt(s, 10, 64): an optional sign, decimal digits, nothing else, in range.
std::optional<int64_t> ParseInt64(std::string_view s) {
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return std::nullopt;
  }
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

using Op = LabelRequirement::Op;

// NewRequirement's checks; the first problem found.
Status ValidateRequirement(const LabelRequirement& r) {
  KORC_RETURN_IF_ERROR(LabelSelector::ValidateLabelKey(r.key));
  switch (r.op) {
    case Op::kIn:
    case Op::kNotIn:
      if (r.values.empty()) {
        return Status::Invalid("for 'in', 'notin' operators, values set can't be empty");
      }
      break;
    case Op::kEquals:
    case Op::kDoubleEquals:
    case Op::kNotEquals:
      if (r.values.size() != 1) {
        return Status::Invalid("exact-match compatibility requires one single value");
      }
      break;
    case Op::kExists:
    case Op::kDoesNotExist:
      if (!r.values.empty()) {
        return Status::Invalid("values set must be empty for exists and does not exist");
      }
      break;
    case Op::kGreaterThan:
    case Op::kLessThan:
      if (r.values.size() != 1) {
        return Status::Invalid("for 'Gt', 'Lt' operators, exactly one value is required");
      }
      if (!ParseInt64(r.values[0])) {
        return Status::Invalid("for 'Gt', 'Lt' operators, the value must be an integer");
      }
      break;
  }
  for (const std::string& v : r.values) {
    if (auto errs = LabelValueErrors(v); !errs.empty()) {
      return Status::Invalid("invalid label value: " + Quoted(v) + ": at key: " + Quoted(r.key) +
                             ": " + Join(errs, "; "));
    }
  }
  return Status::Ok();
}

void SortUnique(std::vector<std::string>* values) {
  std::sort(values->begin(), values->end());
  values->erase(std::unique(values->begin(), values->end()), values->end());
}

// ---------------------------------------------------------------------------------------------
// The label selector lexer and parser, token for token Kubernetes' (labels/selector.go), so
// that the same strings are accepted and rejected with the same messages.

enum class Token {
  kEndOfString,
  kClosePar,
  kComma,
  kDoesNotExist,  // "!"
  kDoubleEquals,
  kEquals,
  kGreaterThan,
  kIdentifier,
  kIn,
  kLessThan,
  kNotEquals,
  kNotIn,
  kOpenPar,
};

struct ScannedItem {
  Token token;
  std::string literal;
};

bool IsWhitespace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool IsSpecialSymbol(char c) {
  switch (c) {
    case '=':
    case '!':
    case '(':
    case ')':
    case ',':
    case '>':
    case '<':
      return true;
    default:
      return false;
  }
}

std::vector<ScannedItem> Scan(std::string_view s) {
  std::vector<ScannedItem> items;
  size_t pos = 0;
  while (true) {
    while (pos < s.size() && IsWhitespace(s[pos])) ++pos;
    if (pos == s.size()) {
      items.push_back({Token::kEndOfString, ""});
      return items;
    }
    const char c = s[pos];
    if (IsSpecialSymbol(c)) {
      // Kubernetes takes the longest run of symbols that is an operator; of the two-character
      // runs only "==" and "!=" are.
      if ((c == '=' || c == '!') && pos + 1 < s.size() && s[pos + 1] == '=') {
        items.push_back(
            {c == '=' ? Token::kDoubleEquals : Token::kNotEquals, std::string(s.substr(pos, 2))});
        pos += 2;
        continue;
      }
      Token token = Token::kComma;
      switch (c) {
        case '=':
          token = Token::kEquals;
          break;
        case '!':
          token = Token::kDoesNotExist;
          break;
        case '(':
          token = Token::kOpenPar;
          break;
        case ')':
          token = Token::kClosePar;
          break;
        case ',':
          token = Token::kComma;
          break;
        case '>':
          token = Token::kGreaterThan;
          break;
        case '<':
          token = Token::kLessThan;
          break;
      }
      items.push_back({token, std::string(1, c)});
      ++pos;
      continue;
    }
    const size_t start = pos;
    while (pos < s.size() && !IsSpecialSymbol(s[pos]) && !IsWhitespace(s[pos])) ++pos;
    std::string word(s.substr(start, pos - start));
    Token token = Token::kIdentifier;
    if (word == "in") token = Token::kIn;
    if (word == "notin") token = Token::kNotIn;
    items.push_back({token, std::move(word)});
  }
}

class LabelParser {
 public:
  explicit LabelParser(std::string_view text) : items_(Scan(text)) {}

  Result<std::vector<LabelRequirement>> Parse() {
    std::vector<LabelRequirement> requirements;
    while (true) {
      const ScannedItem& item = Lookahead(kValues);
      switch (item.token) {
        case Token::kIdentifier:
        case Token::kDoesNotExist: {
          Result<LabelRequirement> r = ParseRequirement();
          if (!r.ok()) {
            return Status::Invalid("unable to parse requirement: " + r.status().message());
          }
          requirements.push_back(std::move(r).value());
          const auto [token, literal] = Consume(kValues);
          if (token == Token::kEndOfString) return requirements;
          if (token != Token::kComma) {
            return Status::Invalid("found '" + literal + "', expected: ',' or 'end of string'");
          }
          const auto [next, next_literal] = Lookahead(kValues);
          if (next != Token::kIdentifier && next != Token::kDoesNotExist) {
            return Status::Invalid("found '" + next_literal + "', expected: identifier after ','");
          }
          break;
        }
        case Token::kEndOfString:
          return requirements;
        default:
          return Status::Invalid("found '" + item.literal +
                                 "', expected: !, identifier, or 'end of string'");
      }
    }
  }

 private:
  // In a value position the keywords "in" and "notin" are ordinary identifiers.
  enum Context { kKeyAndOperator, kValues };

  ScannedItem Lookahead(Context context) const { return Adjust(items_[position_], context); }

  // Never moves past the final kEndOfString item.
  ScannedItem Consume(Context context) {
    ScannedItem item = Adjust(items_[position_], context);
    if (position_ + 1 < items_.size()) ++position_;
    return item;
  }

  static ScannedItem Adjust(ScannedItem item, Context context) {
    if (context == kValues && (item.token == Token::kIn || item.token == Token::kNotIn)) {
      item.token = Token::kIdentifier;
    }
    return item;
  }

  Result<LabelRequirement> ParseRequirement() {
    LabelRequirement r;
    ScannedItem key = Consume(kValues);
    const bool does_not_exist = key.token == Token::kDoesNotExist;
    if (does_not_exist) key = Consume(kValues);
    if (key.token != Token::kIdentifier) {
      return Status::Invalid("found '" + key.literal + "', expected: identifier");
    }
    KORC_RETURN_IF_ERROR(LabelSelector::ValidateLabelKey(key.literal));
    r.key = std::move(key.literal);

    const Token next = Lookahead(kValues).token;
    if (does_not_exist) {
      r.op = Op::kDoesNotExist;
      return r;
    }
    if (next == Token::kEndOfString || next == Token::kComma) {
      r.op = Op::kExists;
      return r;
    }

    const auto [op_token, op_literal] = Consume(kKeyAndOperator);
    switch (op_token) {
      case Token::kIn:
        r.op = Op::kIn;
        break;
      case Token::kNotIn:
        r.op = Op::kNotIn;
        break;
      case Token::kEquals:
        r.op = Op::kEquals;
        break;
      case Token::kDoubleEquals:
        r.op = Op::kDoubleEquals;
        break;
      case Token::kNotEquals:
        r.op = Op::kNotEquals;
        break;
      case Token::kGreaterThan:
        r.op = Op::kGreaterThan;
        break;
      case Token::kLessThan:
        r.op = Op::kLessThan;
        break;
      default:
        return Status::Invalid("found '" + op_literal +
                               "', expected: in, notin, =, ==, !=, gt, lt");
    }
    Result<std::vector<std::string>> values =
        (r.op == Op::kIn || r.op == Op::kNotIn) ? ParseValues() : ParseExactValue();
    if (!values.ok()) return values.status();
    r.values = std::move(values).value();
    SortUnique(&r.values);
    KORC_RETURN_IF_ERROR(ValidateRequirement(r));
    return r;
  }

  // "(" values ")"
  Result<std::vector<std::string>> ParseValues() {
    const auto [token, literal] = Consume(kValues);
    if (token != Token::kOpenPar) return Status::Invalid("found '" + literal + "' expected: '('");
    const auto [next, next_literal] = Lookahead(kValues);
    switch (next) {
      case Token::kIdentifier:
      case Token::kComma: {
        Result<std::vector<std::string>> values = ParseIdentifiersList();
        if (!values.ok()) return values;
        const auto [close, close_literal] = Consume(kValues);
        if (close != Token::kClosePar) {
          return Status::Invalid("found '" + close_literal + "', expected: ')'");
        }
        return values;
      }
      case Token::kClosePar:
        Consume(kValues);
        return std::vector<std::string>{""};  // "()" is the set holding the empty value
      default:
        return Status::Invalid("found '" + next_literal + "', expected: ',', ')' or identifier");
    }
  }

  // A possibly empty list of possibly empty values; stops before ")". Missing values around
  // commas are empty strings: "(,a)", "(a,)", "(a,,b)" all contain "".
  Result<std::vector<std::string>> ParseIdentifiersList() {
    std::vector<std::string> values;
    while (true) {
      auto [token, literal] = Consume(kValues);
      switch (token) {
        case Token::kIdentifier: {
          values.push_back(std::move(literal));
          const auto [next, next_literal] = Lookahead(kValues);
          if (next == Token::kComma) continue;
          if (next == Token::kClosePar) return values;
          return Status::Invalid("found '" + next_literal + "', expected: ',' or ')'");
        }
        case Token::kComma: {
          if (values.empty()) values.push_back("");  // "(,"
          const Token next = Lookahead(kValues).token;
          if (next == Token::kClosePar) {
            values.push_back("");  // ",)"
            return values;
          }
          if (next == Token::kComma) {
            Consume(kValues);
            values.push_back("");  // ",,"
          }
          break;
        }
        default:
          return Status::Invalid("found '" + literal + "', expected: ',', or identifier");
      }
    }
  }

  // The single value after =, ==, !=, > or <; empty when the requirement ends right there.
  Result<std::vector<std::string>> ParseExactValue() {
    const Token next = Lookahead(kValues).token;
    if (next == Token::kEndOfString || next == Token::kComma) return std::vector<std::string>{""};
    auto [token, literal] = Consume(kValues);
    if (token == Token::kIdentifier) return std::vector<std::string>{std::move(literal)};
    return Status::Invalid("found '" + literal + "', expected: identifier");
  }

  std::vector<ScannedItem> items_;  // always ends with kEndOfString
  size_t position_ = 0;
};

void SortByKey(std::vector<LabelRequirement>* requirements) {
  std::stable_sort(
      requirements->begin(), requirements->end(),
      [](const LabelRequirement& a, const LabelRequirement& b) { return a.key < b.key; });
}

// ---------------------------------------------------------------------------------------------
// Field selectors (fields/selector.go).

// Splits at commas not escaped by a backslash; escapes stay in the terms.
std::vector<std::string_view> SplitTerms(std::string_view s) {
  std::vector<std::string_view> terms;
  if (s.empty()) return terms;
  size_t start = 0;
  bool in_slash = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (in_slash) {
      in_slash = false;
    } else if (s[i] == '\\') {
      in_slash = true;
    } else if (s[i] == ',') {
      terms.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  terms.push_back(s.substr(start));
  return terms;
}

struct SplitTerm {
  std::string_view lhs;
  FieldRequirement::Op op;
  std::string_view rhs;
};

// Splits at the first operator; at each position "!=" and "==" are tried before "=" so that
// neither leaves a stray character behind. The field cannot contain an operator.
std::optional<SplitTerm> SplitAtOperator(std::string_view term) {
  for (size_t i = 0; i < term.size(); ++i) {
    const std::string_view rest = term.substr(i);
    if (rest.starts_with("!=")) {
      return SplitTerm{term.substr(0, i), FieldRequirement::Op::kNotEquals, rest.substr(2)};
    }
    if (rest.starts_with("==")) {
      return SplitTerm{term.substr(0, i), FieldRequirement::Op::kEquals, rest.substr(2)};
    }
    if (rest.starts_with("=")) {
      return SplitTerm{term.substr(0, i), FieldRequirement::Op::kEquals, rest.substr(1)};
    }
  }
  return std::nullopt;
}

// Number of bytes in the UTF-8 sequence starting at s[i] (1 for anything malformed), so an
// error names a whole character.
size_t Utf8Length(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  size_t n = 1;
  while (n < want && i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) {
    ++n;
  }
  return n;
}

Result<std::string> UnescapeValue(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\') {
      if (i + 1 == s.size()) {
        return Status::Invalid("invalid field selector: invalid escape sequence: \\");
      }
      const char next = s[i + 1];
      if (next != '\\' && next != ',' && next != '=') {
        return Status::Invalid("invalid field selector: invalid escape sequence: \\" +
                               std::string(s.substr(i + 1, Utf8Length(s, i + 1))));
      }
      out += next;
      ++i;
    } else if (c == ',' || c == '=') {
      return Status::Invalid(
          std::string("invalid field selector: unescaped character in value: '") + c + "'");
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

bool LabelRequirement::Matches(const Labels& labels) const {
  const auto it = labels.find(key);
  const bool has = it != labels.end();
  auto has_value = [&] {
    return std::find(values.begin(), values.end(), it->second) != values.end();
  };
  switch (op) {
    case Op::kIn:
    case Op::kEquals:
    case Op::kDoubleEquals:
      return has && has_value();
    case Op::kNotIn:
    case Op::kNotEquals:
      return !has || !has_value();
    case Op::kExists:
      return has;
    case Op::kDoesNotExist:
      return !has;
    case Op::kGreaterThan:
    case Op::kLessThan: {
      // A label value that is not an integer matches neither.
      if (!has || values.size() != 1) return false;
      const std::optional<int64_t> actual = ParseInt64(it->second);
      const std::optional<int64_t> bound = ParseInt64(values[0]);
      if (!actual || !bound) return false;
      return op == Op::kGreaterThan ? *actual > *bound : *actual < *bound;
    }
  }
  return false;
}

std::string LabelRequirement::ToString() const {
  std::string out;
  if (op == Op::kDoesNotExist) out += '!';
  out += key;
  switch (op) {
    case Op::kExists:
    case Op::kDoesNotExist:
      return out;
    case Op::kEquals:
      out += "=";
      break;
    case Op::kDoubleEquals:
      out += "==";
      break;
    case Op::kNotEquals:
      out += "!=";
      break;
    case Op::kIn:
      out += " in ";
      break;
    case Op::kNotIn:
      out += " notin ";
      break;
    case Op::kGreaterThan:
      out += ">";
      break;
    case Op::kLessThan:
      out += "<";
      break;
  }
  const bool set = op == Op::kIn || op == Op::kNotIn;
  if (set) out += '(';
  std::vector<std::string> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  out += Join(sorted, ",");
  if (set) out += ')';
  return out;
}

Result<LabelSelector> LabelSelector::Parse(std::string_view text) {
  LabelParser parser(text);
  KORC_ASSIGN_OR_RETURN(std::vector<LabelRequirement> requirements, parser.Parse());
  SortByKey(&requirements);
  return LabelSelector(std::move(requirements));
}

LabelSelector LabelSelector::FromMap(const Labels& labels) {
  std::vector<LabelRequirement> requirements;
  requirements.reserve(labels.size());
  for (const auto& [key, value] : labels) {  // a std::map iterates in key order already
    requirements.push_back({key, Op::kEquals, {value}});
  }
  return LabelSelector(std::move(requirements));
}

Result<LabelSelector> LabelSelector::FromRequirements(std::vector<LabelRequirement> requirements) {
  for (LabelRequirement& r : requirements) {
    SortUnique(&r.values);
    KORC_RETURN_IF_ERROR(ValidateRequirement(r));
  }
  SortByKey(&requirements);
  return LabelSelector(std::move(requirements));
}

bool LabelSelector::Matches(const Labels& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const LabelRequirement& r) { return r.Matches(labels); });
}

std::string LabelSelector::ToString() const {
  std::string out;
  for (size_t i = 0; i < requirements_.size(); ++i) {
    if (i > 0) out += ',';
    out += requirements_[i].ToString();
  }
  return out;
}

std::optional<std::string> LabelSelector::RequiresExactMatch(std::string_view key) const {
  for (const LabelRequirement& r : requirements_) {
    if (r.key != key) continue;
    // Like Kubernetes, only the first requirement on the key is consulted.
    const bool exact = r.op == Op::kEquals || r.op == Op::kDoubleEquals || r.op == Op::kIn;
    if (exact && r.values.size() == 1) return r.values[0];
    return std::nullopt;
  }
  return std::nullopt;
}

Status LabelSelector::ValidateLabelKey(std::string_view key) {
  const std::vector<std::string> errs = QualifiedNameErrors(key);
  if (errs.empty()) return Status::Ok();
  return Status::Invalid("invalid label key " + Quoted(key) + ": " + Join(errs, "; "));
}

Status LabelSelector::ValidateLabelValue(std::string_view value) {
  const std::vector<std::string> errs = LabelValueErrors(value);
  if (errs.empty()) return Status::Ok();
  return Status::Invalid("invalid label value " + Quoted(value) + ": " + Join(errs, "; "));
}

// ---------------------------------------------------------------------------------------------

Result<FieldSelector> FieldSelector::Parse(std::string_view text) {
  std::vector<std::string_view> terms = SplitTerms(text);
  // Kubernetes sorts the raw terms, which fixes the canonical order.
  std::sort(terms.begin(), terms.end());
  std::vector<FieldRequirement> requirements;
  for (std::string_view term : terms) {
    if (term.empty()) continue;
    const std::optional<SplitTerm> split = SplitAtOperator(term);
    if (!split) {
      return Status::Invalid("invalid selector: '" + std::string(text) + "'; can't understand '" +
                             std::string(term) + "'");
    }
    KORC_ASSIGN_OR_RETURN(std::string value, UnescapeValue(split->rhs));
    requirements.push_back({std::string(split->lhs), split->op, std::move(value)});
  }
  return FieldSelector(std::move(requirements));
}

bool FieldSelector::Matches(const FieldGetter& get) const {
  for (const FieldRequirement& r : requirements_) {
    const std::string actual = get(r.field).value_or("");
    const bool equal = actual == r.value;
    if (equal != (r.op == FieldRequirement::Op::kEquals)) return false;
  }
  return true;
}

std::vector<std::string> FieldSelector::Fields() const {
  std::vector<std::string> fields;
  for (const FieldRequirement& r : requirements_) {
    if (std::find(fields.begin(), fields.end(), r.field) == fields.end()) {
      fields.push_back(r.field);
    }
  }
  return fields;
}

std::string FieldSelector::ToString() const {
  std::string out;
  for (size_t i = 0; i < requirements_.size(); ++i) {
    const FieldRequirement& r = requirements_[i];
    if (i > 0) out += ',';
    out += r.field;
    out += r.op == FieldRequirement::Op::kEquals ? "=" : "!=";
    out += EscapeValue(r.value);
  }
  return out;
}

std::optional<std::string> FieldSelector::RequiresExactMatch(std::string_view field) const {
  for (const FieldRequirement& r : requirements_) {
    if (r.field == field && r.op == FieldRequirement::Op::kEquals) return r.value;
  }
  return std::nullopt;
}

std::string FieldSelector::EscapeValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == ',' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace korc
