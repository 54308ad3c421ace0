// The registry of served kinds: names, REST resources, short names, scope, and which
// variant alternative of api::Object holds each. The API server's discovery documents,
// the CLI's resource names and the codecs' kind dispatch all read this one table.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/objects.h"

namespace korc {

// How a kind's metadata.name is validated.
enum class NameRule {
  kDns1123Subdomain,  // most kinds
  kDns1123Label,      // Namespace
  kDns1035Label,      // Service: starts with a letter
  kPathSegment,       // Event: anything that is a valid path segment
};

struct KindInfo {
  std::string_view kind;        // "Pod"
  std::string_view resource;    // "pods"
  std::string_view singular;    // "pod"
  std::string_view short_name;  // "po" ("" when none)
  bool namespaced;
  NameRule name_rule;
  size_t variant_index;  // index into api::Object
  // The API group ("" for the core group, served under /api) and its version; apiVersion
  // is "v1" for the core group and "group/version" otherwise ("coordination.k8s.io/v1").
  std::string_view group = "";
  std::string_view api_version = "v1";

  std::string_view version() const {
    auto slash = api_version.find('/');
    return slash == std::string_view::npos ? api_version : api_version.substr(slash + 1);
  }
  // Where the kind's group version is served: "/api/v1" or "/apis/coordination.k8s.io/v1".
  std::string ApiPrefix() const {
    return group.empty() ? "/api/" + std::string(api_version) : "/apis/" + std::string(api_version);
  }
  // The collection path: ApiPrefix()/[namespaces/{ns}/]{resource}; `ns` empty means every
  // namespace (or a cluster-scoped kind). `ns` is put in the path as it is (callers encode).
  std::string CollectionPath(std::string_view ns = {}) const {
    std::string path = ApiPrefix() + "/";
    if (namespaced && !ns.empty()) path.append("namespaces/").append(ns).push_back('/');
    return path.append(resource);
  }
};

// Every served kind, in a stable order.
std::span<const KindInfo> Kinds();
// By kind ("Pod"), case-sensitive; nullptr when not served.
const KindInfo* FindKind(std::string_view kind);
// By resource, singular or short name, case-insensitive ("pods", "pod", "po", "Pods");
// nullptr when not served.
const KindInfo* FindResource(std::string_view name);
// The kind of an object.
const KindInfo& KindOf(const api::Object& object);

// The kind name of an object type: KindName<api::Pod>() == "Pod".
template <class T>
std::string_view KindName() {
  static const std::string_view kind = KindOf(api::Object(std::in_place_type<T>)).kind;
  return kind;
}

// A default-constructed object of the kind at `info.variant_index`.
api::Object NewObject(const KindInfo& info);

// The core group's apiVersion (Pod, Node, ...); other groups' kinds carry theirs in KindInfo.
inline constexpr std::string_view kApiVersion = "v1";

}  // namespace korc
