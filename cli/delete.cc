// korc delete and korc scale: removing objects and resizing ReplicationControllers.
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "cli/flags.h"
#include "cli/manifests.h"
#include "cli/verbs.h"
#include "core/kinds.h"

namespace korc::cli {

namespace po = boost::program_options;
using json = nlohmann::json;

namespace {

std::string Collection(const KindInfo& kind, const std::string& ns) {
  return kind.CollectionPath(UrlEncode(ns));
}

}  // namespace

int Delete(const Args& args) {
  po::options_description opts(
      "Usage: korc delete (-f FILE | KIND NAME... | KIND -l SELECTOR) [-n NS]\n"
      "                   [--cascade background|foreground|orphan]\n\n"
      "Deletes objects. A ReplicationController's Pods go with it unless --cascade=orphan.\n\n"
      "Flags");
  std::string server, ns, selector, cascade;
  std::vector<std::string> files, positional;
  opts.add_options()("help,h", "show this help")(
      "server,s", po::value(&server), "API server address (default: $KORC_SERVER, kubeconfig)")(
      "namespace,n", po::value(&ns)->default_value("default"), "the namespace")(
      "filename,f", po::value(&files)->composing(), "delete what these manifests name")(
      "selector,l", po::value(&selector), "label selector")(
      "cascade", po::value(&cascade)->default_value("background"),
      "background, foreground or orphan")("args", po::value(&positional)->composing(), "");
  po::variables_map vm;
  if (auto code = ParseFlags("delete", args, opts, vm)) return *code;
  std::string policy = cascade == "background"   ? "Background"
                       : cascade == "foreground" ? "Foreground"
                       : cascade == "orphan"     ? "Orphan"
                                                 : "";
  if (policy.empty()) {
    std::cerr << "korc delete: --cascade must be background, foreground or orphan\n";
    return 2;
  }
  // (path, "kind/name") pairs to delete.
  std::vector<std::pair<std::string, std::string>> targets;
  std::string collection_delete;
  if (!files.empty()) {
    auto sources = ReadSources(files);
    auto docs =
        sources.ok() ? LoadManifests(*sources) : Result<std::vector<ManifestDoc>>(sources.status());
    if (!docs.ok()) {
      std::cerr << "error: " << docs.status().message() << "\n";
      return 1;
    }
    for (const auto& d : *docs) {
      const KindInfo& k = KindOf(d.decoded.object);
      const auto& m = api::Meta(d.decoded.object);
      targets.push_back(
          {Collection(k, m.namespace_.empty() ? ns : m.namespace_) + "/" + UrlEncode(m.name),
           std::string(k.singular) + "/" + m.name});
    }
  } else {
    if (positional.empty()) {
      std::cerr << "korc delete: say what to delete: -f FILE, KIND NAME, or KIND -l SELECTOR\n";
      return 2;
    }
    const KindInfo* k = FindResource(positional[0]);
    if (!k) {
      std::cerr << "korc delete: the server doesn't have a resource type \"" << positional[0]
                << "\"\n";
      return 1;
    }
    if (positional.size() == 1 && selector.empty()) {
      std::cerr << "korc delete: name the " << k->resource << " to delete, or pass -l SELECTOR\n";
      return 2;
    }
    for (size_t i = 1; i < positional.size(); ++i) {
      targets.push_back({Collection(*k, ns) + "/" + UrlEncode(positional[i]),
                         std::string(k->singular) + "/" + positional[i]});
    }
    if (!selector.empty())
      collection_delete = Collection(*k, ns) + "?labelSelector=" + UrlEncode(selector);
  }
  auto client = ApiClient::Connect(server);
  if (!client.ok()) {
    std::cerr << "korc delete: " << client.status().message() << "\n";
    return 1;
  }
  std::string body = json{{"propagationPolicy", policy}}.dump();
  int failures = 0;
  if (!collection_delete.empty()) {
    auto r = client->Call("DELETE", collection_delete, body, "application/json");
    if (!r.ok() || r->code != 200) {
      std::cerr << ApiClient::ServerError(r) << "\n";
      return 1;
    }
    json list = json::parse(r->body, nullptr, false);
    for (const auto& item : list.value("items", json::array())) {
      std::cout << positional[0] << "/" << item["metadata"].value("name", "") << " deleted\n";
    }
  }
  for (const auto& [path, what] : targets) {
    auto r = client->Call("DELETE", path, body, "application/json");
    if (r.ok() && r->code == 200) {
      std::cout << what << " deleted\n";
    } else {
      ++failures;
      std::cerr << ApiClient::ServerError(r) << "\n";
    }
  }
  return failures ? 1 : 0;
}

int Scale(const Args& args) {
  po::options_description opts(
      "Usage: korc scale rc NAME --replicas N [-n NS]\n\n"
      "Sets how many Pods a ReplicationController keeps running.\n\nFlags");
  std::string server, ns;
  int replicas = -1;
  std::vector<std::string> positional;
  opts.add_options()("help,h", "show this help")(
      "server,s", po::value(&server), "API server address (default: $KORC_SERVER, kubeconfig)")(
      "namespace,n", po::value(&ns)->default_value("default"), "the namespace")(
      "replicas", po::value(&replicas), "the new replica count")(
      "args", po::value(&positional)->composing(), "");
  po::variables_map vm;
  if (auto code = ParseFlags("scale", args, opts, vm)) return *code;
  const KindInfo* k = positional.empty() ? nullptr : FindResource(positional[0]);
  if (positional.size() != 2 || !k || k->kind != "ReplicationController") {
    std::cerr << "korc scale: usage: korc scale rc NAME --replicas N\n";
    return 2;
  }
  if (replicas < 0) {
    std::cerr << "korc scale: --replicas must be given and be 0 or more\n";
    return 2;
  }
  auto client = ApiClient::Connect(server);
  if (!client.ok()) {
    std::cerr << "korc scale: " << client.status().message() << "\n";
    return 1;
  }
  auto r =
      client->Call("PATCH", Collection(*k, ns) + "/" + UrlEncode(positional[1]) + "/scale",
                   json{{"spec", {{"replicas", replicas}}}}.dump(), "application/merge-patch+json");
  if (!r.ok() || r->code != 200) {
    std::cerr << ApiClient::ServerError(r) << "\n";
    return 1;
  }
  std::cout << "replicationcontroller/" << positional[1] << " scaled\n";
  return 0;
}

}  // namespace korc::cli
