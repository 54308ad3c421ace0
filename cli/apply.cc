// korc apply / korc create: manifests into a running cluster.
//
// apply is client-side apply as kubectl does it: the manifest as written is kept in the
// object's kubectl.kubernetes.io/last-applied-configuration annotation, and a later apply
// sends the difference between that and the new manifest as a merge patch — so fields the
// user removed are removed, fields the cluster set are kept, and korc and kubectl apply can
// be mixed on the same objects.
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

constexpr const char* kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

// RFC 7386 merge patch turning `from` into `to` (null removes a key).
json MergeDiff(const json& from, const json& to) {
  json patch = json::object();
  for (auto it = to.begin(); it != to.end(); ++it) {
    if (!from.contains(it.key())) {
      patch[it.key()] = it.value();
    } else if (from[it.key()] != it.value()) {
      patch[it.key()] = from[it.key()].is_object() && it.value().is_object()
                            ? MergeDiff(from[it.key()], it.value())
                            : it.value();
    }
  }
  for (auto it = from.begin(); it != from.end(); ++it) {
    if (!to.contains(it.key())) patch[it.key()] = nullptr;
  }
  return patch;
}

struct Target {
  std::string collection;  // /api/v1/namespaces/ns/pods
  std::string item;        // .../name
  std::string what;        // "pod/name"
};

Target Locate(const ManifestDoc& doc, const std::string& default_ns) {
  const KindInfo& kind = KindOf(doc.decoded.object);
  const api::ObjectMeta& m = api::Meta(doc.decoded.object);
  std::string ns = m.namespace_.empty() ? default_ns : m.namespace_;
  Target t;
  t.collection = kind.CollectionPath(UrlEncode(ns));
  t.item = t.collection + "/" + UrlEncode(m.name);
  t.what = std::string(kind.singular) + "/" + m.name;
  return t;
}

struct Common {
  std::string server, ns;
  std::vector<std::string> files;
};

std::optional<int> Parse(std::string_view verb, const Args& args, Common* c) {
  po::options_description opts("Usage: korc " + std::string(verb) +
                               " -f FILE|DIR|- [-f ...] [-n NS]\n\nFlags");
  opts.add_options()("help,h", "show this help")(
      "server,s", po::value(&c->server), "API server address (default: $KORC_SERVER, kubeconfig)")(
      "namespace,n", po::value(&c->ns)->default_value("default"),
      "namespace for objects without one")("filename,f", po::value(&c->files)->composing(),
                                           "manifest file, folder, or - for stdin");
  po::variables_map vm;
  if (auto code = ParseFlags(verb, args, opts, vm)) return code;
  if (c->files.empty()) {
    std::cerr << "korc " << verb << ": say what to " << verb << " with -f FILE\n";
    return 2;
  }
  return std::nullopt;
}

int Run(std::string_view verb, const Args& args, bool apply) {
  Common c;
  if (auto code = Parse(verb, args, &c)) return *code;
  auto sources = ReadSources(c.files);
  if (!sources.ok()) {
    std::cerr << "korc " << verb << ": " << sources.status().message() << "\n";
    return 1;
  }
  auto docs = LoadManifests(*sources);
  if (!docs.ok()) {
    std::cerr << "error: " << docs.status().message() << "\n";
    return 1;
  }
  auto client = ApiClient::Connect(c.server);
  if (!client.ok()) {
    std::cerr << "korc " << verb << ": " << client.status().message() << "\n";
    return 1;
  }
  int failures = 0;
  for (const auto& doc : *docs) {
    Target t = Locate(doc, c.ns);
    json modified = json::parse(doc.user_json);
    if (apply) {
      json annotated = modified;
      if (annotated.contains("metadata") && annotated["metadata"].contains("annotations")) {
        annotated["metadata"]["annotations"].erase(kLastApplied);
      }
      modified["metadata"]["annotations"][kLastApplied] = annotated.dump() + "\n";
    }
    auto report = [&](const Result<ApiResponse>& r, std::string_view done) {
      if (r.ok() && r->code < 300) {
        std::cout << t.what << " " << done << "\n";
        return;
      }
      ++failures;
      std::cerr << ApiClient::ServerError(r, std::string("error when ") +
                                                 (apply ? "applying" : "creating") + " " +
                                                 doc.origin)
                << "\n";
    };
    if (!apply) {
      report(client->Call("POST", t.collection, modified.dump(), "application/json"), "created");
      continue;
    }
    auto current = client->Call("GET", t.item);
    if (!current.ok() || (current->code != 200 && current->code != 404)) {
      report(current, "");
      continue;
    }
    if (current->code == 404) {
      report(client->Call("POST", t.collection, modified.dump(), "application/json"), "created");
      continue;
    }
    json live = json::parse(current->body, nullptr, false);
    json original = json::object();
    if (live.is_object() && live["metadata"].contains("annotations") &&
        live["metadata"]["annotations"].contains(kLastApplied)) {
      original = json::parse(live["metadata"]["annotations"][kLastApplied].get<std::string>(),
                             nullptr, false);
      if (!original.is_object()) original = json::object();
      original["metadata"]["annotations"][kLastApplied] =
          live["metadata"]["annotations"][kLastApplied];
    }
    json patch = MergeDiff(original, modified);
    if (patch.empty()) {
      std::cout << t.what << " unchanged\n";
      continue;
    }
    report(client->Call("PATCH", t.item, patch.dump(), "application/merge-patch+json"),
           "configured");
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int Apply(const Args& args) { return Run("apply", args, true); }
int Create(const Args& args) { return Run("create", args, false); }

}  // namespace korc::cli
