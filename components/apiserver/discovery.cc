// Discovery documents: what kubectl and client libraries read to learn which resources
// this server has (/api, /api/v1, /apis), its version, its OpenAPI, and health.
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

std::string ApiResourceList() {
  const std::vector<std::string> all = {"create", "delete", "deletecollection", "get",
                                        "list",   "patch",  "update",           "watch"};
  nlohmann::json resources = nlohmann::json::array();
  for (const KindInfo& k : Kinds()) {
    std::vector<std::string> verbs = all;
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
    return json(R"({"kind":"APIGroupList","apiVersion":"v1","groups":[]})");
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
