// Internal: the generic schema walkers behind core/codec.cc — a Decoder over any document
// tree (simdjson DOM or yaml-cpp nodes, through small adapters) and an Encoder onto any
// writer (JSON text or a yaml-cpp emitter). Include only from codec implementation files.
#pragma once

#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/objects.h"
#include "core/quantity.h"
#include "core/schema.h"
#include "core/values.h"

namespace korc::detail {

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class T>
struct IsVector : std::false_type {};
template <class T>
struct IsVector<std::vector<T>> : std::true_type {};
template <class T>
struct IsMap : std::false_type {};
template <class V>
struct IsMap<std::map<std::string, V>> : std::true_type {};

// A path into the document, kept as segments so it is only rendered on error. Fixed
// capacity: API objects nest far less deeply than kMaxDepth; deeper segments are dropped
// from the rendering rather than allocated for.
class FieldPath {
 public:
  void Push(std::string_view key) { PushSeg({key, -1}); }
  void PushIndex(int index) { PushSeg({{}, index}); }
  void PushMapKey(std::string_view key) { PushSeg({key, -2}); }
  void Pop() { --depth_; }
  std::string Render() const {
    std::string out;
    for (int i = 0; i < depth_ && i < kMaxDepth; ++i) {
      const Seg& s = segs_[i];
      if (s.index >= 0) {
        out += '[';
        out += std::to_string(s.index);
        out += ']';
      } else if (s.index == -2) {
        out += '[';
        out += s.key;
        out += ']';
      } else {
        if (!out.empty()) out += '.';
        out += s.key;
      }
    }
    return out;
  }
  std::string Child(std::string_view key) const {
    std::string p = Render();
    if (!p.empty()) p += '.';
    p += key;
    return p;
  }

 private:
  struct Seg {
    std::string_view key;
    int index;
  };
  static constexpr int kMaxDepth = 32;
  void PushSeg(Seg s) {
    if (depth_ < kMaxDepth) segs_[depth_] = s;
    ++depth_;
  }
  Seg segs_[kMaxDepth];
  int depth_ = 0;
};

// What a decode met besides values: the first type error and the unknown fields.
struct DecodeState {
  FieldPath path;
  std::vector<std::string> unknown;
  std::string error;  // first error, rendered with path (and position when known)
  bool failed() const { return !error.empty(); }
};

// Node adapters must provide:
//   bool IsNull() const; bool IsObject() const; bool IsArray() const;
//   bool String(std::string_view*) const;     // a real string (JSON) / any scalar (YAML)
//   bool Int(int64_t*) const; bool Bool(bool*) const;
//   bool NumberText(std::string*) const;      // a number, as text (for quantities)
//   template <class Fn> void Members(Fn&&) const;   // fn(std::string_view key, const Node&)
//   template <class Fn> void Elements(Fn&&) const;  // fn(const Node&)
//   std::string Describe() const;             // "string \"x\"", "number 3", "object"
//   std::string Where() const;                // "line 3, column 5: " or ""
template <class N>
class Decoder {
 public:
  explicit Decoder(DecodeState& st) : st_(st) {}

  template <class T>
  void Decode(const N& n, T& out) {
    if (st_.failed() || n.IsNull()) return;
    if constexpr (std::is_same_v<T, std::string>) {
      std::string_view s;
      if (n.String(&s)) {
        out.assign(s);
      } else {
        Fail(n, "a string");
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!n.Bool(&out)) Fail(n, "a boolean");
    } else if constexpr (std::is_integral_v<T>) {
      int64_t v = 0;
      if (!n.Int(&v) || v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
        Fail(n, std::is_same_v<T, int32_t> ? "a 32-bit integer" : "an integer");
        return;
      }
      out = static_cast<T>(v);
    } else if constexpr (IsOptional<T>::value) {
      out.emplace();
      Decode(n, *out);
    } else if constexpr (IsVector<T>::value) {
      if (!n.IsArray()) return Fail(n, "an array");
      out.clear();
      int i = 0;
      n.Elements([&](const N& child) {
        st_.path.PushIndex(i++);
        Decode(child, out.emplace_back());
        st_.path.Pop();
      });
    } else if constexpr (IsMap<T>::value) {
      if (!n.IsObject()) return Fail(n, "an object");
      out.clear();
      n.Members([&](std::string_view key, const N& child) {
        st_.path.PushMapKey(key);
        Decode(child, out[std::string(key)]);
        st_.path.Pop();
      });
    } else if constexpr (std::is_same_v<T, api::IntOrString>) {
      int64_t v = 0;
      std::string_view s;
      if (n.Int(&v)) {
        if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) {
          return Fail(n, "a 32-bit integer or a string");
        }
        out = api::IntOrString::Int(static_cast<int32_t>(v));
      } else if (n.String(&s)) {
        out = api::IntOrString::Str(std::string(s));
      } else {
        Fail(n, "an integer or a string");
      }
    } else if constexpr (std::is_same_v<T, Quantity>) {
      std::string text;
      std::string_view s;
      if (n.String(&s)) {
        text.assign(s);
      } else if (!n.NumberText(&text)) {
        return Fail(n, "a quantity");
      }
      auto q = Quantity::Parse(text);
      if (!q.ok()) {
        st_.error = n.Where() + st_.path.Render() + ": " + q.status().message();
        return;
      }
      out = std::move(q).value();
    } else if constexpr (std::is_same_v<T, api::Bytes>) {
      std::string_view s;
      if (!n.String(&s)) return Fail(n, "a base64 string");
      size_t at = 0;
      if (auto bytes = api::Base64Decode(s, &at)) {
        out = api::Bytes{std::move(*bytes), {}};
      } else {
        out = api::Bytes{std::string(s), "illegal base64 data at input byte " + std::to_string(at)};
      }
    } else if constexpr (std::is_same_v<T, api::Time> || std::is_same_v<T, api::MicroTime>) {
      std::string_view s;
      if (!n.String(&s)) return Fail(n, "an RFC 3339 time string");
      auto t = api::ParseRfc3339(s);
      if (!t) return Fail(n, "an RFC 3339 time such as \"2006-01-02T15:04:05Z\"");
      out.unix_ns = *t;
    } else {
      static_assert(schema::Described<T>, "type has no schema");
      if (!n.IsObject()) return Fail(n, "an object");
      int hint = 0;
      n.Members([&](std::string_view key, const N& child) {
        if (st_.failed()) return;
        int index = schema::FindField<T>(key, hint);
        if (index < 0) {
          st_.unknown.push_back(st_.path.Child(key));
          return;
        }
        hint = index + 1;
        schema::WithField<T>(index, [&](const auto& f) {
          st_.path.Push(f.name);
          Decode(child, out.*(f.member));
          st_.path.Pop();
        });
      });
    }
  }

 private:
  void Fail(const N& n, std::string_view expected) {
    if (st_.failed()) return;
    std::string path = st_.path.Render();
    st_.error = n.Where() + (path.empty() ? std::string("object") : path) + ": expected " +
                std::string(expected) + ", got " + n.Describe();
  }

  DecodeState& st_;
};

// Writers must provide: BeginObject(), EndObject(), BeginArray(), EndArray(),
// Key(std::string_view), String(std::string_view), Int(int64_t), Bool(bool), Null().
// With `redact_bytes`, Bytes values (a Secret's data) are written as "<N bytes>" instead of
// their base64, for output meant for people.
template <class W>
class Encoder {
 public:
  explicit Encoder(W& w, bool redact_bytes = false) : w_(w), redact_bytes_(redact_bytes) {}

  template <class T>
  void Encode(const T& v) {
    if constexpr (std::is_same_v<T, std::string>) {
      w_.String(v);
    } else if constexpr (std::is_same_v<T, bool>) {
      w_.Bool(v);
    } else if constexpr (std::is_integral_v<T>) {
      w_.Int(static_cast<int64_t>(v));
    } else if constexpr (IsOptional<T>::value) {
      if (v) {
        Encode(*v);
      } else {
        w_.Null();
      }
    } else if constexpr (IsVector<T>::value) {
      w_.BeginArray();
      for (const auto& e : v) Encode(e);
      w_.EndArray();
    } else if constexpr (IsMap<T>::value) {
      w_.BeginObject();
      for (const auto& [k, e] : v) {
        w_.Key(k);
        Encode(e);
      }
      w_.EndObject();
    } else if constexpr (std::is_same_v<T, api::IntOrString>) {
      if (v.is_string) {
        w_.String(v.str_value);
      } else {
        w_.Int(v.int_value);
      }
    } else if constexpr (std::is_same_v<T, Quantity>) {
      w_.String(v.ToString());
    } else if constexpr (std::is_same_v<T, api::Bytes>) {
      if (redact_bytes_) {
        w_.String(api::RedactedBytes(v.value.size()));
      } else {
        w_.String(v.base64_error.empty() ? api::Base64Encode(v.value) : v.value);
      }
    } else if constexpr (std::is_same_v<T, api::Time>) {
      if (v.empty()) {
        w_.Null();
      } else {
        w_.String(api::FormatRfc3339(v.unix_ns));
      }
    } else if constexpr (std::is_same_v<T, api::MicroTime>) {
      if (v.empty()) {
        w_.Null();
      } else {
        w_.String(api::FormatRfc3339(v.unix_ns, true));
      }
    } else {
      static_assert(schema::Described<T>, "type has no schema");
      w_.BeginObject();
      schema::ForEachField<T>([&](const auto& f) {
        const auto& value = v.*(f.member);
        if (!f.Has(schema::kAlways) && OmitEmpty(value)) return;
        w_.Key(f.name);
        Encode(value);
      });
      w_.EndObject();
    }
  }

  // Go's omitempty: zero scalars, empty strings/lists/maps and unset optionals are left
  // out; structs never are (as in Go), nor are empty times' absences written as null.
  template <class T>
  static bool OmitEmpty(const T& v) {
    if constexpr (std::is_same_v<T, std::string> || IsVector<T>::value || IsMap<T>::value) {
      return v.empty();
    } else if constexpr (std::is_same_v<T, bool>) {
      return !v;
    } else if constexpr (std::is_integral_v<T>) {
      return v == 0;
    } else if constexpr (IsOptional<T>::value) {
      return !v.has_value();
    } else if constexpr (std::is_same_v<T, api::IntOrString> || std::is_same_v<T, api::Time> ||
                         std::is_same_v<T, api::MicroTime> || std::is_same_v<T, api::Bytes>) {
      return v.empty();
    } else if constexpr (std::is_same_v<T, Quantity>) {
      return false;
    } else {
      return false;
    }
  }

 private:
  W& w_;
  bool redact_bytes_;
};

}  // namespace korc::detail
