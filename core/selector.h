// Label and field selectors with Kubernetes' string syntax and matching rules
// (k8s.io/apimachinery/pkg/labels and pkg/fields), as used by ?labelSelector= and
// ?fieldSelector= on lists and watches, and by ReplicationController/Service selectors.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace korc {

// An object's metadata.labels.
using Labels = std::map<std::string, std::string>;

// One term of a label selector: `key op values`.
//
// Thread-safety: a plain value.
struct LabelRequirement {
  // Not persisted; safe to reorder.
  enum class Op {
    kIn,            // key in (a,b)      key present and its value in the set
    kNotIn,         // key notin (a,b)   key absent, or its value not in the set
    kEquals,        // key=a             like kIn with one value
    kDoubleEquals,  // key==a            same as kEquals; kept apart only to print back as "=="
    kNotEquals,     // key!=a            like kNotIn with one value
    kExists,        // key
    kDoesNotExist,  // !key
    kGreaterThan,   // key>5             key present and its value an integer > 5
    kLessThan,      // key<5             key present and its value an integer < 5
  };

  std::string key;
  Op op = Op::kExists;
  // Sorted and without duplicates once part of a LabelSelector. One value for the
  // (not-)equals and comparison operators, at least one for in/notin, none for (!)exists.
  std::vector<std::string> values;

  bool Matches(const Labels& labels) const;
  // Kubernetes' form: "a=b", "a==b", "a!=b", "a in (x,y)", "a notin (x)", "a", "!a", "a>5".
  std::string ToString() const;

  bool operator==(const LabelRequirement&) const = default;
};

// A label selector: the AND of its requirements. An empty selector matches every object.
//
// Thread-safety: an immutable value after construction; share and copy freely.
class LabelSelector {
 public:
  // The empty selector: matches everything.
  LabelSelector() = default;

  // Parses Kubernetes' syntax: comma-separated requirements, each one of
  //   key=value  key==value  key!=value  key in (v1,v2)  key notin (v1,v2)  key  !key
  //   key>int  key<int
  // Whitespace around tokens is ignored; "" (or only whitespace) is the empty selector. An
  // omitted value is the empty string ("a=", "a in ()", "a in (x,)"). Keys must be
  // qualified names and values valid label values (see ValidateLabelKey/Value). Errors are
  // Invalid with Kubernetes' messages, e.g. "unable to parse requirement: invalid label key
  // \"-a\": name part must consist of ..." or "found ')', expected: ',' or 'end of string'".
  static Result<LabelSelector> Parse(std::string_view text);

  // key=value for every entry: the selector of a ReplicationController or Service. Like
  // Kubernetes' SelectorFromSet it does not validate, and an empty map gives the empty
  // selector, which matches everything; callers that mean "nothing" must check Empty().
  static LabelSelector FromMap(const Labels& labels);

  // From structured requirements (metav1.LabelSelector matchLabels/matchExpressions). Validates
  // keys, values and value counts as Parse does, sorts and deduplicates values.
  static Result<LabelSelector> FromRequirements(std::vector<LabelRequirement> requirements);

  // Kubernetes semantics: != and notin also match when the key is absent; = and in do not.
  bool Matches(const Labels& labels) const;
  bool Empty() const { return requirements_.empty(); }

  // Canonical: requirements sorted by key (stably), in-set values sorted, joined by ",".
  // Parse(ToString()) gives back an equal selector.
  std::string ToString() const;

  // The value a requirement on `key` pins down (key=v, key==v or key in (v)), if it does.
  std::optional<std::string> RequiresExactMatch(std::string_view key) const;

  const std::vector<LabelRequirement>& requirements() const { return requirements_; }

  // Kubernetes' rules for label keys (IsQualifiedName): an optional DNS-1123 subdomain prefix
  // of at most 253 characters and '/', then a name of 1-63 characters matching
  // [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?. Invalid errors carry Kubernetes' wording.
  static Status ValidateLabelKey(std::string_view key);
  // Label values: empty, or at most 63 characters matching the name pattern above.
  static Status ValidateLabelValue(std::string_view value);

  bool operator==(const LabelSelector&) const = default;

 private:
  explicit LabelSelector(std::vector<LabelRequirement> requirements)
      : requirements_(std::move(requirements)) {}

  std::vector<LabelRequirement> requirements_;  // sorted by key
};

// One term of a field selector: `field=value` or `field!=value`.
//
// Thread-safety: a plain value.
struct FieldRequirement {
  // Not persisted; safe to reorder.
  enum class Op { kEquals, kNotEquals };  // "=" and "==" both parse to kEquals

  std::string field;
  Op op = Op::kEquals;
  std::string value;  // unescaped

  bool operator==(const FieldRequirement&) const = default;
};

// A field selector: the AND of field=value / field!=value terms over an object's selectable
// fields ("metadata.name", "spec.nodeName", "status.phase", ...). The selector does not know
// which fields a kind supports: callers check Fields() and reject the others with
// "field label not supported: X", as Kubernetes does.
//
// Thread-safety: an immutable value after construction; share and copy freely.
class FieldSelector {
 public:
  // Returns a field's value, or nullopt when the object does not have it.
  using FieldGetter = std::function<std::optional<std::string>(std::string_view field)>;

  // The empty selector: matches everything.
  FieldSelector() = default;

  // Parses Kubernetes' syntax: comma-separated `field=value`, `field==value`, `field!=value`.
  // Each term splits at the first operator; everything after it is the value, in which ",",
  // "=" and "\" must be escaped with a backslash ("a=x\,y" means the value "x,y"). No
  // whitespace is trimmed (as in Kubernetes, "a = b" is the field "a " and value " b"). Empty
  // terms are skipped. Errors are Invalid: "invalid selector: 'x'; can't understand 'x'",
  // "invalid field selector: invalid escape sequence: \q",
  // "invalid field selector: unescaped character in value: '='".
  static Result<FieldSelector> Parse(std::string_view text);

  // True when every term holds. An absent field (nullopt) compares as the empty string, as
  // Kubernetes treats unset fields, so "spec.nodeName=" selects unscheduled pods.
  bool Matches(const FieldGetter& get) const;
  bool Empty() const { return requirements_.empty(); }

  // The distinct field names used, in the order of the canonical form.
  std::vector<std::string> Fields() const;

  // Canonical: terms sorted as Kubernetes sorts them (by their text as written), "==" printed
  // as "=", values escaped. Parse(ToString()) gives back an equal selector.
  std::string ToString() const;

  // The value a field=value term pins `field` to, if there is one (the first such term).
  std::optional<std::string> RequiresExactMatch(std::string_view field) const;

  const std::vector<FieldRequirement>& requirements() const { return requirements_; }

  // Backslash-escapes "\", "," and "=" so that any string can be a value.
  static std::string EscapeValue(std::string_view value);

  bool operator==(const FieldSelector&) const = default;

 private:
  explicit FieldSelector(std::vector<FieldRequirement> requirements)
      : requirements_(std::move(requirements)) {}

  std::vector<FieldRequirement> requirements_;
};

}  // namespace korc
