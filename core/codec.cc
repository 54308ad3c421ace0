#include "core/codec.h"

#include <simdjson.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/field_error.h"
#include "core/schema_walk.h"

namespace korc {

namespace {

using detail::Decoder;
using detail::DecodeState;
using detail::Encoder;

// ---------------------------------------------------------------------------------------
// simdjson DOM adapter

class JsonNode {
 public:
  explicit JsonNode(simdjson::dom::element e) : e_(e) {}

  bool IsNull() const { return e_.is_null(); }
  bool IsObject() const { return e_.is_object(); }
  bool IsArray() const { return e_.is_array(); }
  bool String(std::string_view* out) const {
    return e_.get_string().get(*out) == simdjson::SUCCESS;
  }
  bool Int(int64_t* out) const {
    if (e_.type() == simdjson::dom::element_type::INT64) return e_.get_int64().get(*out) == 0;
    if (e_.type() == simdjson::dom::element_type::UINT64) {
      uint64_t u = 0;
      if (e_.get_uint64().get(u) != 0 || u > static_cast<uint64_t>(INT64_MAX)) return false;
      *out = static_cast<int64_t>(u);
      return true;
    }
    return false;
  }
  bool Bool(bool* out) const { return e_.get_bool().get(*out) == simdjson::SUCCESS; }
  bool NumberText(std::string* out) const {
    int64_t i = 0;
    if (Int(&i)) {
      *out = std::to_string(i);
      return true;
    }
    double d = 0;
    if (e_.get_double().get(d) != simdjson::SUCCESS) return false;
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    out->assign(buf, r.ptr);
    return true;
  }
  template <class Fn>
  void Members(Fn&& fn) const {
    simdjson::dom::object obj;
    if (e_.get_object().get(obj) != simdjson::SUCCESS) return;
    for (auto field : obj) fn(field.key, JsonNode(field.value));
  }
  template <class Fn>
  void Elements(Fn&& fn) const {
    simdjson::dom::array arr;
    if (e_.get_array().get(arr) != simdjson::SUCCESS) return;
    for (auto child : arr) fn(JsonNode(child));
  }
  std::string Describe() const {
    std::string_view s;
    switch (e_.type()) {
      case simdjson::dom::element_type::STRING:
        if (e_.get_string().get(s) != simdjson::SUCCESS) return "string";
        return "string " + GoQuote(s.substr(0, 64));
      case simdjson::dom::element_type::ARRAY:
        return "array";
      case simdjson::dom::element_type::OBJECT:
        return "object";
      case simdjson::dom::element_type::BOOL:
        return "boolean";
      case simdjson::dom::element_type::NULL_VALUE:
        return "null";
      default: {
        std::string t;
        NumberText(&t);
        return "number " + t;
      }
    }
  }
  std::string Where() const { return {}; }

 private:
  simdjson::dom::element e_;
};

// ---------------------------------------------------------------------------------------
// yaml-cpp adapter. YAML scalars are untyped text; a plain scalar is read as whatever the
// target field wants (like sigs.k8s.io/yaml, so `value: 123456` fills a string), while a
// quoted scalar is always a string (so `containerPort: "80"` is refused, as Kubernetes does).

class YamlNode {
 public:
  explicit YamlNode(const YAML::Node& n) : n_(n) {}

  bool IsNull() const { return n_.IsNull() || !n_.IsDefined(); }
  bool IsObject() const { return n_.IsMap(); }
  bool IsArray() const { return n_.IsSequence(); }
  bool String(std::string_view* out) const {
    if (!n_.IsScalar()) return false;
    *out = n_.Scalar();
    return true;
  }
  bool Int(int64_t* out) const {
    if (!IsPlainScalar()) return false;
    const std::string& s = n_.Scalar();
    const char* b = s.data();
    const char* e = b + s.size();
    if (b != e && *b == '+') ++b;
    auto r = std::from_chars(b, e, *out);
    return r.ec == std::errc() && r.ptr == e && b != e;
  }
  bool Bool(bool* out) const {
    if (!IsPlainScalar()) return false;
    const std::string& s = n_.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") {
      *out = true;
      return true;
    }
    if (s == "false" || s == "False" || s == "FALSE") {
      *out = false;
      return true;
    }
    return false;
  }
  bool NumberText(std::string* out) const {
    if (!IsPlainScalar()) return false;
    *out = n_.Scalar();
    return true;
  }
  template <class Fn>
  void Members(Fn&& fn) const {
    for (auto it = n_.begin(); it != n_.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      fn(std::string_view(it->first.Scalar()), YamlNode(it->second));
    }
  }
  template <class Fn>
  void Elements(Fn&& fn) const {
    for (auto it = n_.begin(); it != n_.end(); ++it) fn(YamlNode(*it));
  }
  std::string Describe() const {
    if (n_.IsMap()) return "object";
    if (n_.IsSequence()) return "array";
    if (n_.IsScalar()) return (IsPlainScalar() ? "" : "string ") + GoQuote(n_.Scalar());
    return "null";
  }
  std::string Where() const {
    auto m = n_.Mark();
    if (m.is_null()) return {};
    return "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1) + ": ";
  }

 private:
  // yaml-cpp tags quoted scalars "!" and plain ones "?".
  bool IsPlainScalar() const { return n_.IsScalar() && n_.Tag() != "!"; }

  YAML::Node n_;
};

// ---------------------------------------------------------------------------------------
// Writers

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  void BeginObject() {
    Sep();
    out_ += '{';
    comma_ = false;
  }
  void EndObject() {
    out_ += '}';
    comma_ = true;
  }
  void BeginArray() {
    Sep();
    out_ += '[';
    comma_ = false;
  }
  void EndArray() {
    out_ += ']';
    comma_ = true;
  }
  void Key(std::string_view k) {
    Sep();
    Quote(k);
    out_ += ':';
    comma_ = false;
  }
  void String(std::string_view s) {
    Sep();
    Quote(s);
    comma_ = true;
  }
  void Int(int64_t v) {
    Sep();
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
    comma_ = true;
  }
  void Bool(bool v) {
    Sep();
    out_ += v ? "true" : "false";
    comma_ = true;
  }
  void Null() {
    Sep();
    out_ += "null";
    comma_ = true;
  }

 private:
  void Sep() {
    if (comma_) out_ += ',';
  }
  void Quote(std::string_view s) {
    out_ += '"';
    size_t run = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      const char* esc = nullptr;
      char buf[8];
      switch (c) {
        case '"':
          esc = "\\\"";
          break;
        case '\\':
          esc = "\\\\";
          break;
        case '\n':
          esc = "\\n";
          break;
        case '\r':
          esc = "\\r";
          break;
        case '\t':
          esc = "\\t";
          break;
        case '\b':
          esc = "\\b";
          break;
        case '\f':
          esc = "\\f";
          break;
        default:
          if (c < 0x20) {
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            esc = buf;
          }
      }
      if (esc) {
        out_.append(s.data() + run, i - run);
        out_ += esc;
        run = i + 1;
      }
    }
    out_.append(s.data() + run, s.size() - run);
    out_ += '"';
  }

  std::string& out_;
  bool comma_ = false;
};

// Strings a YAML reader would take for something else (a number, a boolean, null) are
// double-quoted so they read back as strings.
bool NeedsQuotes(std::string_view s) {
  if (s.empty()) return true;
  static constexpr std::string_view kWords[] = {"true", "false", "yes", "no", "on",
                                                "off",  "null",  "~",   "y",  "n"};
  std::string lower;
  for (char c : s) lower += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  for (auto w : kWords) {
    if (lower == w) return true;
  }
  char c = s[0];
  if ((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.') return true;
  return s.find_first_of(":#{}[],&*!|>'\"%@`\n") != std::string_view::npos || s.front() == ' ' ||
         s.back() == ' ';
}

class YamlWriter {
 public:
  explicit YamlWriter(YAML::Emitter& e) : e_(e) {}
  void BeginObject() { e_ << YAML::BeginMap; }
  void EndObject() { e_ << YAML::EndMap; }
  void BeginArray() { e_ << YAML::BeginSeq; }
  void EndArray() { e_ << YAML::EndSeq; }
  void Key(std::string_view k) { e_ << YAML::Key << std::string(k) << YAML::Value; }
  void String(std::string_view s) {
    if (NeedsQuotes(s)) e_ << YAML::DoubleQuoted;
    e_ << std::string(s);
  }
  void Int(int64_t v) { e_ << v; }
  void Bool(bool v) { e_ << YAML::TrueFalseBool << YAML::LowerCase << v; }
  void Null() { e_ << YAML::Null; }

 private:
  YAML::Emitter& e_;
};

// ---------------------------------------------------------------------------------------
// Kind dispatch

template <class Fn>
void WithAlternative(size_t index, Fn&& fn) {
  [&]<size_t... Is>(std::index_sequence<Is...>) {
    ((index == Is ? (fn(std::in_place_index<Is>), 0) : 0), ...);
  }
  (std::make_index_sequence<std::variant_size_v<api::Object>>());
}

// Checks apiVersion/kind as read from a document and finds the kind. `where` prefixes
// messages with a position when known.
Result<const KindInfo*> ResolveKind(std::string_view api_version, std::string_view kind,
                                    const std::string& where) {
  if (kind.empty()) {
    return Status::BadRequest(where + "Object 'Kind' is missing");
  }
  if (api_version.empty()) {
    return Status::BadRequest(where + "Object 'apiVersion' is missing (kind " + GoQuote(kind) +
                              ")");
  }
  const KindInfo* info = FindKind(kind);
  if (!info || api_version != info->api_version) {
    // "v1: Pod, ..., Event; coordination.k8s.io/v1: Lease" (Kinds() lists a group's kinds
    // together).
    std::string served;
    std::string_view group_version;
    for (const KindInfo& k : Kinds()) {
      if (k.api_version != group_version) {
        served += (served.empty() ? "" : "; ") + std::string(k.api_version) + ": ";
        group_version = k.api_version;
      } else {
        served += ", ";
      }
      served += k.kind;
    }
    return Status::BadRequest(where + "no kind " + GoQuote(kind) + " is registered for version " +
                              GoQuote(api_version) + " (korc serves " + served + ")");
  }
  return info;
}

simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

Status JsonSyntaxError(std::string_view json, simdjson::error_code code) {
  auto [line, col] = JsonErrorPosition(json);
  std::string msg = "malformed JSON";
  if (line > 0) msg += " at line " + std::to_string(line) + ", column " + std::to_string(col);
  msg += ": ";
  msg += simdjson::error_message(code);
  return Status::BadRequest(std::move(msg));
}

template <class N>
Result<Decoded> DecodeNode(const N& root, const std::string& where) {
  if (!root.IsObject()) {
    return Status::BadRequest(where + "expected an object, got " + root.Describe());
  }
  std::string_view api_version, kind;
  root.Members([&](std::string_view key, const N& child) {
    if (key == "apiVersion") child.String(&api_version);
    if (key == "kind") child.String(&kind);
  });
  KORC_ASSIGN_OR_RETURN(const KindInfo* info, ResolveKind(api_version, kind, where));
  Decoded out;
  DecodeState st;
  WithAlternative(info->variant_index, [&]<size_t I>(std::in_place_index_t<I>) {
    auto& obj = out.object.emplace<I>();
    Decoder<N>(st).Decode(root, obj);
  });
  if (st.failed())
    return Status::BadRequest(std::string(kind) + " in version " + GoQuote(info->version()) +
                              " cannot be decoded: " + st.error);
  out.unknown_fields = std::move(st.unknown);
  return out;
}

}  // namespace

std::pair<int, int> JsonErrorPosition(std::string_view json) {
  // simdjson does not say where it stopped; nlohmann's parser reports the byte offset.
  try {
    auto parsed = nlohmann::json::parse(json.begin(), json.end());
    (void)parsed;
    return {0, 0};
  } catch (const nlohmann::json::parse_error& e) {
    size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    int line = 1, col = 1;
    for (size_t i = 0; i < offset && i < json.size(); ++i) {
      if (json[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return {line, col};
  } catch (...) {
    return {0, 0};
  }
}

Result<Decoded> DecodeJson(std::string_view json) {
  simdjson::dom::element root;
  auto err = ThreadParser().parse(json.data(), json.size()).get(root);
  if (err) return JsonSyntaxError(json, err);
  return DecodeNode(JsonNode(root), {});
}

template <class T>
Result<T> DecodeJsonAs(std::string_view json, std::vector<std::string>* unknown_fields) {
  simdjson::dom::element root;
  auto err = ThreadParser().parse(json.data(), json.size()).get(root);
  if (err) return JsonSyntaxError(json, err);
  T out{};
  DecodeState st;
  Decoder<JsonNode>(st).Decode(JsonNode(root), out);
  if (st.failed()) return Status::BadRequest(st.error);
  if (unknown_fields) *unknown_fields = std::move(st.unknown);
  return out;
}

namespace {

// What redact_secrets changes beyond the data values: `kubectl apply` keeps the whole
// manifest, data included, in an annotation.
template <class T>
void RedactAnnotations(T& x) {
  if constexpr (std::is_same_v<T, api::Secret>) {
    auto it = x.metadata.annotations.find("kubectl.kubernetes.io/last-applied-configuration");
    if (it != x.metadata.annotations.end()) it->second = api::RedactedBytes(it->second.size());
  }
}

}  // namespace

std::string EncodeJson(const api::Object& object, const EncodeOptions& options) {
  std::string out;
  out.reserve(1024);
  JsonWriter w(out);
  Encoder<JsonWriter> encoder(w, options.redact_secrets);
  std::visit(
      [&](const auto& x) {
        if (x.kind.empty() || x.api_version.empty() || options.redact_secrets) {
          auto copy = x;
          copy.api_version = KindOf(object).api_version;
          copy.kind = KindOf(object).kind;
          if (options.redact_secrets) RedactAnnotations(copy);
          encoder.Encode(copy);
        } else {
          encoder.Encode(x);
        }
      },
      object);
  return out;
}

std::string RedactedJson(std::string_view object_json) {
  // Only a Secret has anything to hide; most objects are passed through unparsed.
  if (object_json.find("\"Secret\"") == std::string_view::npos) return std::string(object_json);
  auto d = DecodeJson(object_json);
  if (d.ok()) {
    if (!std::holds_alternative<api::Secret>(d->object)) return std::string(object_json);
    return EncodeJson(d->object, {.redact_secrets = true});
  }
  // Not an object korc can read; if it might be a Secret, say so without its text.
  nlohmann::json j = nlohmann::json::parse(object_json, nullptr, false);
  if (j.is_object() && j.value("kind", "") != "Secret") return std::string(object_json);
  nlohmann::json stub = {{"kind", "Secret"}, {"apiVersion", "v1"}, {"data", "<redacted>"}};
  if (j.is_object() && j.contains("metadata") && j["metadata"].is_object()) {
    stub["metadata"] = {{"name", j["metadata"].value("name", "")},
                        {"namespace", j["metadata"].value("namespace", "")}};
  }
  return stub.dump();
}

template <class T>
std::string EncodeJsonAs(const T& value) {
  std::string out;
  JsonWriter w(out);
  Encoder<JsonWriter>(w).Encode(value);
  return out;
}

std::string EncodeYaml(const api::Object& object, const EncodeOptions& options) {
  YAML::Emitter e;
  YamlWriter w(e);
  std::visit(
      [&](const auto& x) {
        auto copy = x;
        copy.api_version = KindOf(object).api_version;
        copy.kind = KindOf(object).kind;
        if (options.redact_secrets) RedactAnnotations(copy);
        Encoder<YamlWriter>(w, options.redact_secrets).Encode(copy);
      },
      object);
  std::string out = e.c_str();
  out += '\n';
  return out;
}

Result<std::vector<Manifest>> DecodeYamlStream(std::string_view text) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::BadRequest("malformed YAML at line " + std::to_string(e.mark.line + 1) +
                              ", column " + std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  std::vector<Manifest> out;
  for (const auto& doc : docs) {
    if (doc.IsNull() || !doc.IsDefined()) continue;
    YamlNode root(doc);
    int line = doc.Mark().is_null() ? 0 : doc.Mark().line + 1;
    // A `kind: List` (what `kubectl get -o yaml` prints) contributes its items.
    if (doc.IsMap() && doc["kind"] && doc["kind"].IsScalar() && doc["kind"].Scalar() == "List") {
      auto items = doc["items"];
      if (items && items.IsSequence()) {
        for (auto it = items.begin(); it != items.end(); ++it) {
          YamlNode item(*it);
          KORC_ASSIGN_OR_RETURN(Decoded d, DecodeNode(item, item.Where()));
          out.push_back({std::move(d), it->Mark().line + 1});
        }
      }
      continue;
    }
    KORC_ASSIGN_OR_RETURN(Decoded d, DecodeNode(root, root.Where()));
    out.push_back({std::move(d), line});
  }
  return out;
}

// The kinds the API server decodes by URL, and the other documents it writes.
#define KORC_INSTANTIATE_CODEC(T)                                                  \
  template Result<T> DecodeJsonAs<T>(std::string_view, std::vector<std::string>*); \
  template std::string EncodeJsonAs<T>(const T&);
KORC_INSTANTIATE_CODEC(api::Pod)
KORC_INSTANTIATE_CODEC(api::ReplicationController)
KORC_INSTANTIATE_CODEC(api::Service)
KORC_INSTANTIATE_CODEC(api::Endpoints)
KORC_INSTANTIATE_CODEC(api::Node)
KORC_INSTANTIATE_CODEC(api::Namespace)
KORC_INSTANTIATE_CODEC(api::KubeEvent)
KORC_INSTANTIATE_CODEC(api::Lease)
KORC_INSTANTIATE_CODEC(api::Secret)
KORC_INSTANTIATE_CODEC(api::StatusObject)
KORC_INSTANTIATE_CODEC(api::ObjectMeta)
#undef KORC_INSTANTIATE_CODEC

}  // namespace korc
