// korc get: list or show objects, printed from the server's own Tables (as kubectl does).
#include <boost/program_options.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "cli/flags.h"
#include "cli/output.h"
#include "cli/verbs.h"
#include "core/codec.h"
#include "core/kinds.h"

namespace korc::cli {

namespace po = boost::program_options;
using json = nlohmann::json;

namespace {

constexpr const char* kTableAccept =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

std::string Cell(const json& c) { return c.is_string() ? c.get<std::string>() : c.dump(); }

// An object as printed for people: a Secret's data values become "<N bytes>".
json ForPeople(const json& object) {
  if (!object.is_object() || object.value("kind", "") != "Secret") return object;
  return json::parse(RedactedJson(object.dump()), nullptr, false);
}

// Table rows as text: priority-0 columns, or all with wide; NAMESPACE first with -A.
std::vector<std::vector<std::string>> Rows(const json& table, bool wide, bool all_namespaces,
                                           bool header) {
  std::vector<size_t> cols;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head;
  if (all_namespaces) head.push_back("NAMESPACE");
  const json& defs = table["columnDefinitions"];
  for (size_t i = 0; i < defs.size(); ++i) {
    if (wide || defs[i].value("priority", 0) == 0) {
      cols.push_back(i);
      std::string n = defs[i].value("name", "");
      for (auto& ch : n) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      head.push_back(n);
    }
  }
  if (header) rows.push_back(head);
  for (const auto& r : table["rows"]) {
    std::vector<std::string> row;
    if (all_namespaces) row.push_back(r["object"]["metadata"].value("namespace", ""));
    for (size_t i : cols) row.push_back(i < r["cells"].size() ? Cell(r["cells"][i]) : "");
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace

int Get(const Args& args) {
  po::options_description opts(
      "Usage: korc get KIND [NAME] [-n NS | -A] [-l SELECTOR] [-o wide|json|yaml|name] [-w]\n\n"
      "Shows objects as the API server prints them; -w keeps printing changes. Secrets'\n"
      "values are shown as \"<N bytes>\" (kubectl get -o yaml shows them, base64).\n\nFlags");
  std::string server, ns, selector, output;
  std::vector<std::string> positional;
  opts.add_options()("help,h", "show this help")(
      "server,s", po::value(&server), "API server address (default: $KORC_SERVER, kubeconfig)")(
      "namespace,n", po::value(&ns)->default_value("default"), "the namespace")(
      "all-namespaces,A", "every namespace")("selector,l", po::value(&selector),
                                             "label selector, e.g. app=mysql,tier!=db")(
      "output,o", po::value(&output)->default_value(""), "wide, json, yaml or name")(
      "watch,w", "after listing, print each change")("args", po::value(&positional)->composing(),
                                                     "KIND [NAME]");
  po::variables_map vm;
  if (auto code = ParseFlags("get", args, opts, vm)) return *code;
  if (positional.empty() || positional.size() > 2) {
    std::cerr << "korc get: say what to get: korc get pods, korc get rc mysql\n";
    return 2;
  }
  const KindInfo* kind = FindResource(positional[0]);
  if (!kind) {
    std::cerr << "korc get: the server doesn't have a resource type \"" << positional[0]
              << "\" (try pods, rc, svc, ep, nodes, ns, events, secrets)\n";
    return 1;
  }
  if (output != "" && output != "wide" && output != "json" && output != "yaml" &&
      output != "name") {
    std::cerr << "korc get: -o must be wide, json, yaml or name, not \"" << output << "\"\n";
    return 2;
  }
  const bool all = vm.count("all-namespaces") > 0 || !kind->namespaced;
  const std::string name = positional.size() > 1 ? positional[1] : "";
  std::string path = kind->CollectionPath(all ? "" : UrlEncode(ns));
  if (!name.empty()) path += "/" + UrlEncode(name);
  std::string query = selector.empty() ? "" : "labelSelector=" + UrlEncode(selector);

  auto client = ApiClient::Connect(server);
  if (!client.ok()) {
    std::cerr << "korc get: " << client.status().message() << "\n";
    return 1;
  }
  const bool table = output.empty() || output == "wide";
  auto r = client->Call("GET", path + (query.empty() ? "" : "?" + query), {}, {},
                        table ? kTableAccept : "application/json");
  if (!r.ok()) {
    std::cerr << "korc get: " << r.status().message() << "\n";
    return 1;
  }
  if (r->code != 200) {
    std::cerr << ApiClient::ServerError(r) << "\n";
    return 1;
  }
  json doc = json::parse(r->body, nullptr, false);
  std::string rv = doc.contains("metadata") ? doc["metadata"].value("resourceVersion", "") : "";
  if (table) {
    auto rows = Rows(doc, output == "wide", all && kind->namespaced, true);
    if (rows.size() == 1 && name.empty()) {
      std::cerr << "No resources found" << (all ? "" : " in " + ns + " namespace") << ".\n";
    } else {
      std::cout << FormatTable(rows);
    }
  } else {
    std::vector<json> items =
        doc.contains("items") ? doc["items"].get<std::vector<json>>() : std::vector<json>{doc};
    if (output == "json") {
      if (doc.contains("items") && doc["items"].is_array()) {
        for (auto& item : doc["items"]) item = ForPeople(item);
      } else {
        doc = ForPeople(doc);
      }
      std::cout << doc.dump(4) << "\n";
    } else {
      for (const auto& item : items) {
        std::string kind_lower(kind->singular);
        if (output == "name") {
          std::cout << kind_lower << "/" << item["metadata"].value("name", "") << "\n";
          continue;
        }
        auto d = DecodeJson(item.dump());
        if (items.size() > 1) std::cout << "---\n";
        std::cout << (d.ok() ? EncodeYaml(d->object, {.redact_secrets = true})
                             : ForPeople(item).dump(2) + "\n");
      }
    }
  }
  if (!vm.count("watch")) return 0;
  std::string watch = path.substr(0, name.empty() ? path.size() : path.rfind('/')) +
                      "?watch=true&resourceVersion=" + rv;
  if (!name.empty()) watch += "&fieldSelector=" + UrlEncode("metadata.name=" + name);
  if (!query.empty()) watch += "&" + query;
  Status st =
      client->Stream(watch, table ? kTableAccept : "application/json", [&](std::string_view line) {
        json ev = json::parse(line, nullptr, false);
        if (!ev.is_object() || ev.value("type", "") == "BOOKMARK") return true;
        if (table) {
          auto rows = Rows(ev["object"], output == "wide", all && kind->namespaced, false);
          std::cout << FormatTable(rows) << std::flush;
        } else {
          std::cout << ForPeople(ev["object"]).dump() << std::endl;
        }
        return true;
      });
  if (!st.ok()) {
    std::cerr << "korc get: " << st.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace korc::cli
