// Discovery documents: what kubectl and client libraries read to learn which resources
// this server has (/api, /api/v1, /apis, /apis/{group}[/{version}]), its version, its
// OpenAPI, and health.
#include <algorithm>
#include <nlohmann/json.hpp>

#include "components/apiserver/handlers.h"
#include "core/kinds.h"

namespace korc::apiserver {

namespace {

nlohmann::json Resource(std::string name, const KindInfo& k, std::vector<std::string> verbs,
                        std::string kind = {}, std::string group = {}, std::string version = {}) {
  nlohmann::json r = {{"name", name},
                      {"singularName", name.find('/') == std::string::npos ? k.singular : ""},
                      {"namespaced", k.namespaced},
                      {"kind", kind.empty() ? std::string(k.kind) : kind},
                      {"verbs", verbs}};
  if (!group.empty()) r["group"] = group;
  if (!version.empty()) r["version"] = version;
  if (name.find('/') == std::string::npos) {
    if (!k.short_name.empty()) r["shortNames"] = {k.short_name};
    if (k.kind == "Pod" || k.kind == "ReplicationController" || k.kind == "Service") {
      r["categories"] = {"all"};
    }
  }
  return r;
}

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

// The resources of a named group version ("coordination.k8s.io/v1"): its kinds, no
// subresources.
std::string GroupResourceList(std::string_view api_version) {
  nlohmann::json resources = nlohmann::json::array();
  for (const KindInfo& k : Kinds()) {
    if (k.api_version == api_version)
      resources.push_back(Resource(std::string(k.resource), k, kAllVerbs));
  }
  nlohmann::json doc = {{"kind", "APIResourceList"},
                        {"apiVersion", "v1"},
                        {"groupVersion", api_version},
                        {"resources", resources}};
  return doc.dump();
}

// One APIGroup: its name and its one version, preferred.
nlohmann::json ApiGroup(const KindInfo& k) {
  nlohmann::json version = {{"groupVersion", k.api_version}, {"version", k.version()}};
  return {{"name", k.group}, {"versions", {version}}, {"preferredVersion", version}};
}

// The named groups (every kind outside the core group), in Kinds() order.
std::string ApiGroupList() {
  nlohmann::json groups = nlohmann::json::array();
  std::vector<std::string_view> seen;
  for (const KindInfo& k : Kinds()) {
    if (k.group.empty() || std::find(seen.begin(), seen.end(), k.group) != seen.end()) continue;
    seen.push_back(k.group);
    groups.push_back(ApiGroup(k));
  }
  nlohmann::json doc = {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
  return doc.dump();
}

std::string ApiResourceList() {
  nlohmann::json resources = nlohmann::json::array();
  for (const KindInfo& k : Kinds()) {
    if (!k.group.empty()) continue;  // served under /apis/{group}/{version}
    std::vector<std::string> verbs = kAllVerbs;
    if (k.kind == "Namespace") std::erase(verbs, "deletecollection");
    resources.push_back(Resource(std::string(k.resource), k, verbs));
  }
  const KindInfo& pod = *FindKind("Pod");
  const KindInfo& rc = *FindKind("ReplicationController");
  resources.push_back(Resource("pods/binding", pod, {"create"}, "Binding"));
  resources.push_back(Resource("pods/log", pod, {"get"}));
  resources.push_back(Resource("pods/status", pod, {"get", "patch", "update"}));
  resources.push_back(Resource("replicationcontrollers/scale", rc, {"get", "patch", "update"},
                               "Scale", "autoscaling", "v1"));
  resources.push_back(Resource("replicationcontrollers/status", rc, {"get", "patch", "update"}));
  resources.push_back(
      Resource("services/status", *FindKind("Service"), {"get", "patch", "update"}));
  resources.push_back(Resource("nodes/status", *FindKind("Node"), {"get", "patch", "update"}));
  resources.push_back(
      Resource("namespaces/status", *FindKind("Namespace"), {"get", "patch", "update"}));
  nlohmann::json doc = {
      {"kind", "APIResourceList"}, {"groupVersion", "v1"}, {"resources", resources}};
  return doc.dump();
}

}  // namespace

HttpResponse Handlers::Discovery(const HttpRequest& req) {
  const std::string& p = req.path;
  auto json = [](std::string body) {
    return HttpResponse{200, "application/json", std::move(body), {}};
  };
  if (p == "/api") {
    return json(
        R"({"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]})");
  }
  if (p == "/api/v1") {
    static const std::string doc = ApiResourceList();
    return json(doc);
  }
  if (p == "/apis" || p == "/apis/") {
    static const std::string doc = ApiGroupList();
    return json(doc);
  }
  for (const KindInfo& k : Kinds()) {
    if (k.group.empty()) continue;
    if (p == "/apis/" + std::string(k.group)) {
      nlohmann::json doc = ApiGroup(k);
      doc["kind"] = "APIGroup";
      doc["apiVersion"] = "v1";
      return json(doc.dump());
    }
    if (p == "/apis/" + std::string(k.api_version)) return json(GroupResourceList(k.api_version));
  }
  if (p == "/version") {
    return json(
        std::string(R"({"major":"1","minor":"29","gitVersion":"v1.29.0-korc.)") + KORC_VERSION +
        R"json(","gitCommit":"","gitTreeState":"clean","buildDate":"1970-01-01T00:00:00Z",)json"
        R"json("goVersion":"none (C++20)","compiler":"gcc","platform":"linux/amd64"})json");
  }
  if (p == "/openapi/v2") {
    // kubectl needs a 200 here before it sends manifests; an empty protobuf document makes
    // it skip client-side schema validation (the server validates everything anyway).
    return {200, "application/octet-stream", "", {}};
  }
  if (p == "/healthz" || p == "/livez" || p == "/readyz") return {200, "text/plain", "ok", {}};
  return ErrorResponse(Status::NotFound("the server could not find the requested resource"));
}

}  // namespace korc::apiserver
