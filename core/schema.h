// The schema: one description per API type, from which every codec, defaulting and
// validation pass is derived.
//
// Each type declares its fields once, in Kubernetes' JSON order, as a free function found
// by argument-dependent lookup:
//
//   constexpr auto Fields(const ContainerPort*) {
//     return std::tuple{
//         F("name", &ContainerPort::name, kIanaSvcName),
//         F("containerPort", &ContainerPort::container_port, kRequired | kAlways | kPort),
//         F("protocol", &ContainerPort::protocol).Default("TCP").OneOf("TCP|UDP|SCTP"),
//     };
//   }
//
// The JSON and YAML encoders and decoders (core/codec.h), defaulting (core/defaults.h) and
// validation (core/validation.h) walk these tuples; nothing else names a field's JSON key.
// Rules that relate several fields (a selector that must match template labels) live in
// the per-kind hooks of core/validation.cc and core/defaults.cc.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace korc::schema {

// Field flags. Encoding: Go's `omitempty` is the default; kAlways marks fields Kubernetes
// serializes even when empty. The rest are validation rules applied to the field's value.
enum FieldFlag : uint32_t {
  kNone = 0,
  kAlways = 1u << 0,            // encode even when empty (Go field without omitempty)
  kRequired = 1u << 1,          // "Required value" when empty / unset / zero
  kDns1123Label = 1u << 2,      // e.g. container names
  kDns1123Subdomain = 1u << 3,  // e.g. object names, hostnames
  kPort = 1u << 4,              // 1..65535 when set
  kNonNegative = 1u << 5,       // >= 0
  kPositive = 1u << 6,          // >= 1 when set
  kIanaSvcName = 1u << 7,       // port names: <=15 chars, [a-z0-9-], a letter, no "--"
  kLabels = 1u << 8,            // map of label keys -> label values
  kAnnotations = 1u << 9,       // map of qualified names -> anything
  kUniqueNames = 1u << 10,      // list whose elements' "name" must be unique
  kResourceNames = 1u << 11,    // map keyed by resource names (cpu, memory, ...)
  kCIdentifier = 1u << 12,      // env var names
  kPortOrName = 1u << 13,       // IntOrString: a port number or an IANA service name
  kIp = 1u << 14,               // an IPv4 or IPv6 address when set
  kNodePort = 1u << 15,         // 1..65535 when set; the API server checks its range
  kServerSet = 1u << 16,        // written by the server; documentation only
};

// One field: its JSON key, the member it lives in, flags, and an optional constant default
// (applied when the field is empty/unset) and set of allowed values ("A|B|C").
template <class C, class T>
struct Field {
  using Class = C;
  using Type = T;

  std::string_view name;
  T C::*member;
  uint32_t flags = kNone;
  std::string_view default_string = {};
  int64_t default_int = 0;
  bool has_default_int = false;
  std::string_view one_of = {};

  constexpr Field Default(std::string_view v) const {
    Field f = *this;
    f.default_string = v;
    return f;
  }
  constexpr Field Default(int64_t v) const {
    Field f = *this;
    f.default_int = v;
    f.has_default_int = true;
    return f;
  }
  constexpr Field OneOf(std::string_view alternatives) const {
    Field f = *this;
    f.one_of = alternatives;
    return f;
  }
  constexpr bool Has(FieldFlag flag) const { return (flags & flag) != 0; }
};

template <class C, class T>
constexpr Field<C, T> F(std::string_view name, T C::*member, uint32_t flags = kNone) {
  return Field<C, T>{name, member, flags};
}

// True for types that declare Fields().
template <class T>
concept Described = requires(const T* p) {
  Fields(p);
};

// The field table of T, built once at compile time (not on every call).
template <class T>
inline constexpr auto kFieldsOf = Fields(static_cast<const T*>(nullptr));

template <class T>
constexpr const auto& FieldsOf() {
  return kFieldsOf<T>;
}

// Calls fn(field) for each field of T, in declaration order.
template <class T, class Fn>
constexpr void ForEachField(Fn&& fn) {
  std::apply([&](const auto&... f) { (fn(f), ...); }, FieldsOf<T>());
}

// Calls fn(field) for the field named `name`; false when T has no such field.
template <class T, class Fn>
bool VisitField(std::string_view name, Fn&& fn) {
  bool found = false;
  std::apply(
      [&](const auto&... f) { ((!found && f.name == name ? (found = true, fn(f), 0) : 0), ...); },
      FieldsOf<T>());
  return found;
}

// The JSON names of T's fields, in declaration order.
template <class T>
inline constexpr auto kFieldNames = std::apply(
    [](const auto&... f) {
      return std::array<std::string_view, sizeof...(f)>{f.name...};
    },
    kFieldsOf<T>);

// The index of the field named `name`, or -1. The scan starts at `hint`: documents korc
// wrote list fields in declaration order, so passing "one past the last match" finds the
// next key at the first comparison.
template <class T>
int FindField(std::string_view name, int hint = 0) {
  const auto& names = kFieldNames<T>;
  const int n = static_cast<int>(names.size());
  if (name.empty()) return -1;
  for (int k = 0; k < n; ++k) {
    int i = hint + k;
    if (i >= n) i -= n;
    const std::string_view cand = names[i];
    if (cand.size() == name.size() && cand[0] == name[0] && cand == name) return i;
  }
  return -1;
}

// Calls fn(field) for the field at `index` (from FindField).
template <class T, class Fn>
void WithField(int index, Fn&& fn) {
  [&]<size_t... Is>(std::index_sequence<Is...>) {
    ((index == static_cast<int>(Is) ? (fn(std::get<Is>(kFieldsOf<T>)), 0) : 0), ...);
  }(std::make_index_sequence<std::tuple_size_v<std::decay_t<decltype(kFieldsOf<T>)>>>());
}

// Whether `value` is one of "A|B|C".
constexpr bool IsOneOf(std::string_view alternatives, std::string_view value) {
  while (!alternatives.empty()) {
    auto bar = alternatives.find('|');
    if (alternatives.substr(0, bar) == value) return true;
    if (bar == std::string_view::npos) break;
    alternatives.remove_prefix(bar + 1);
  }
  return false;
}

}  // namespace korc::schema
