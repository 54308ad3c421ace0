#include "components/apiserver/protobuf.h"

#include <cstdint>

#include "core/kinds.h"

namespace korc::apiserver {

namespace {

// A protobuf reader over one message: fields as (number, wire type, value).
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return data_.empty(); }
  bool failed() const { return failed_; }

  // The next field; false at the end or on malformed input (see failed()).
  bool Next(uint32_t* field, uint32_t* wire) {
    if (data_.empty()) return false;
    uint64_t key = 0;
    if (!Varint(&key)) return false;
    *field = static_cast<uint32_t>(key >> 3);
    *wire = static_cast<uint32_t>(key & 7);
    return true;
  }
  bool Varint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && !data_.empty(); shift += 7) {
      auto b = static_cast<unsigned char>(data_[0]);
      data_.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) {
        *out = v;
        return true;
      }
    }
    failed_ = true;
    return false;
  }
  bool Bytes(std::string_view* out) {
    uint64_t n = 0;
    if (!Varint(&n) || n > data_.size()) {
      failed_ = true;
      return false;
    }
    *out = data_.substr(0, n);
    data_.remove_prefix(n);
    return true;
  }
  // Skips a field of the given wire type.
  bool Skip(uint32_t wire) {
    uint64_t v;
    std::string_view s;
    switch (wire) {
      case 0:
        return Varint(&v);
      case 1:
        return Advance(8);
      case 2:
        return Bytes(&s);
      case 5:
        return Advance(4);
      default:
        failed_ = true;
        return false;
    }
  }

 private:
  bool Advance(size_t n) {
    if (n > data_.size()) {
      failed_ = true;
      return false;
    }
    data_.remove_prefix(n);
    return true;
  }
  std::string_view data_;
  bool failed_ = false;
};

// map<string,string> entry: 1 key, 2 value.
bool MapEntry(std::string_view msg, api::StringMap* out) {
  Reader r(msg);
  std::string_view key, value;
  uint32_t f, w;
  while (r.Next(&f, &w)) {
    if (w == 2 && f == 1) {
      if (!r.Bytes(&key)) return false;
    } else if (w == 2 && f == 2) {
      if (!r.Bytes(&value)) return false;
    } else if (!r.Skip(w)) {
      return false;
    }
  }
  if (r.failed()) return false;
  (*out)[std::string(key)] = std::string(value);
  return true;
}

// ObjectMeta: 1 name, 2 generateName, 3 namespace, 11 labels, 12 annotations.
bool Meta(std::string_view msg, api::ObjectMeta* m) {
  Reader r(msg);
  uint32_t f, w;
  std::string_view s;
  while (r.Next(&f, &w)) {
    if (w != 2) {
      if (!r.Skip(w)) return false;
      continue;
    }
    if (!r.Bytes(&s)) return false;
    switch (f) {
      case 1:
        m->name = s;
        break;
      case 2:
        m->generate_name = s;
        break;
      case 3:
        m->namespace_ = s;
        break;
      case 11:
        if (!MapEntry(s, &m->labels)) return false;
        break;
      case 12:
        if (!MapEntry(s, &m->annotations)) return false;
        break;
      default:
        break;  // server-set or unused fields
    }
  }
  return !r.failed();
}

Status Malformed(std::string_view what) {
  return Status::BadRequest("malformed protobuf body: " + std::string(what));
}

// v1.Namespace: 1 metadata, 2 spec {1 finalizers}, 3 status.
Result<api::Object> DecodeNamespace(std::string_view raw) {
  api::Namespace ns;
  ns.api_version = "v1";
  ns.kind = "Namespace";
  Reader obj(raw);
  uint32_t f, w;
  std::string_view s;
  while (obj.Next(&f, &w)) {
    if (w != 2) {
      if (!obj.Skip(w)) break;
      continue;
    }
    if (!obj.Bytes(&s)) break;
    if (f == 1 && !Meta(s, &ns.metadata)) return Malformed("a bad ObjectMeta");
    if (f == 2) {
      Reader spec(s);
      std::string_view fin;
      while (spec.Next(&f, &w)) {
        if (w == 2 && f == 1 && spec.Bytes(&fin)) {
          ns.spec.finalizers.emplace_back(fin);
        } else if (!spec.Skip(w)) {
          break;
        }
      }
      if (spec.failed()) return Malformed("a bad NamespaceSpec");
    }
  }
  if (obj.failed()) return Malformed("a truncated Namespace");
  return api::Object(std::move(ns));
}

// v1.Secret: 1 metadata, 2 data (map<string, bytes>), 3 type, 4 stringData
// (map<string, string>), 5 immutable. Protobuf carries data as raw bytes, not base64.
Result<api::Object> DecodeSecret(std::string_view raw) {
  api::Secret secret;
  secret.api_version = "v1";
  secret.kind = "Secret";
  Reader obj(raw);
  uint32_t f, w;
  std::string_view s;
  while (obj.Next(&f, &w)) {
    if (f == 5 && w == 0) {
      uint64_t v = 0;
      if (!obj.Varint(&v)) break;
      secret.immutable = v != 0;
      continue;
    }
    if (w != 2) {
      if (!obj.Skip(w)) break;
      continue;
    }
    if (!obj.Bytes(&s)) break;
    switch (f) {
      case 1:
        if (!Meta(s, &secret.metadata)) return Malformed("a bad ObjectMeta");
        break;
      case 2: {
        api::StringMap entry;
        if (!MapEntry(s, &entry)) return Malformed("a bad Secret data entry");
        for (auto& [k, v] : entry) secret.data[k] = api::Bytes{std::move(v), {}};
        break;
      }
      case 3:
        secret.type = s;
        break;
      case 4:
        if (!MapEntry(s, &secret.string_data)) return Malformed("a bad Secret stringData entry");
        break;
      default:
        break;
    }
  }
  if (obj.failed()) return Malformed("a truncated Secret");
  return api::Object(std::move(secret));
}

}  // namespace

Result<Decoded> DecodeProtobuf(std::string_view body) {
  static constexpr std::string_view kMagic("k8s\0", 4);
  if (!body.starts_with(kMagic)) return Malformed("it does not start with the k8s envelope");
  // runtime.Unknown: 1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType
  Reader unknown(body.substr(kMagic.size()));
  std::string_view type_meta, raw, api_version, kind;
  uint32_t f, w;
  while (unknown.Next(&f, &w)) {
    if (w == 2 && f == 1) {
      if (!unknown.Bytes(&type_meta)) break;
    } else if (w == 2 && f == 2) {
      if (!unknown.Bytes(&raw)) break;
    } else if (!unknown.Skip(w)) {
      break;
    }
  }
  if (unknown.failed()) return Malformed("a truncated runtime.Unknown");
  Reader tm(type_meta);
  std::string_view s;
  while (tm.Next(&f, &w)) {
    if (w != 2) {
      if (!tm.Skip(w)) break;
      continue;
    }
    if (!tm.Bytes(&s)) break;
    if (f == 1) api_version = s;
    if (f == 2) kind = s;
  }
  if (tm.failed()) return Malformed("a truncated TypeMeta");
  if (api_version != "v1" || (kind != "Namespace" && kind != "Secret")) {
    return Status(Code::kUnsupportedMediaType,
                  "korc reads protobuf bodies only for v1 Namespace and Secret (got " +
                      std::string(api_version) + " " + std::string(kind) +
                      "); send application/json");
  }
  Decoded d;
  KORC_ASSIGN_OR_RETURN(d.object, kind == "Secret" ? DecodeSecret(raw) : DecodeNamespace(raw));
  return d;
}

}  // namespace korc::apiserver
