// korc describe: one object in detail, as `kubectl describe` prints it — its spec and status,
// the objects related to it (an RC's pods, a Service's endpoints, a Node's pods) and the
// Events about it. The text comes from cli/describe_format.h; this file fetches.
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "cli/describe_format.h"
#include "cli/flags.h"
#include "cli/verbs.h"
#include "core/codec.h"
#include "core/kinds.h"

namespace korc::cli {

namespace po = boost::program_options;
using json = nlohmann::json;

namespace {

// A non-200 answer as kubectl words it: "Error from server (NotFound): pods "x" not found".
Status ServerError(const ApiResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  auto str = [&](const char* key) {
    return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                  : std::string();
  };
  std::string reason = str("reason"), message = str("message");
  Code code = r.code == 404 ? Code::kNotFound : Code::kInternal;
  if (message.empty()) {
    return {code,
            "Error from server: HTTP " + std::to_string(r.code) + ": " + r.body.substr(0, 200)};
  }
  return {code, "Error from server" + (reason.empty() ? "" : " (" + reason + ")") + ": " + message};
}

// Kubernetes' field selector escaping of a value: "\", "," and "=" take a backslash.
std::string FieldValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == ',' || c == '=') out += '\\';
    out += c;
  }
  return out;
}

// Decodes one object of `kind` (list items may lack apiVersion and kind).
Result<api::Object> DecodeAs(const KindInfo& kind, const json& item) {
  api::Object object = NewObject(kind);
  Status st = std::visit(
      [&](auto& o) -> Status {
        using T = std::decay_t<decltype(o)>;
        std::vector<std::string> unknown;
        auto r = DecodeJsonAs<T>(item.dump(), &unknown);
        if (!r.ok()) return r.status();
        o = std::move(r).value();
        return Status::Ok();
      },
      object);
  if (!st.ok()) return st;
  return object;
}

class Fetcher {
 public:
  explicit Fetcher(const ApiClient& client) : client_(client) {}

  Result<json> Get(const std::string& target) const {
    auto r = client_.Call("GET", target);
    if (!r.ok()) return r.status();
    if (r->code != 200) return ServerError(*r);
    json doc = json::parse(r->body, nullptr, false);
    if (!doc.is_object())
      return Status::Internal("the server's answer to " + target + " is not JSON");
    return doc;
  }

  Result<std::vector<api::Object>> List(const KindInfo& kind, const std::string& target) const {
    KORC_ASSIGN_OR_RETURN(json doc, Get(target));
    std::vector<api::Object> out;
    if (!doc.contains("items") || !doc["items"].is_array()) return out;
    for (const auto& item : doc["items"]) {
      KORC_ASSIGN_OR_RETURN(api::Object o, DecodeAs(kind, item));
      out.push_back(std::move(o));
    }
    return out;
  }

  template <class T>
  std::vector<T> ListOf(std::string_view kind_name, const std::string& target) const {
    std::vector<T> out;
    auto items = List(*FindKind(kind_name), target);
    if (!items.ok()) {
      std::cerr << "korc describe: warning: " << items.status().message() << "\n";
      return out;
    }
    for (auto& o : *items) out.push_back(std::get<T>(std::move(o)));
    return out;
  }

 private:
  const ApiClient& client_;
};

// The collection path of `kind`: in `ns`, or across namespaces when ns is empty.
std::string CollectionPath(const KindInfo& kind, const std::string& ns) {
  return kind.CollectionPath(UrlEncode(ns));
}

// Events whose involvedObject is this object, selected by the server on kind, name,
// namespace and uid, as kubectl asks.
std::vector<api::KubeEvent> EventsAbout(const Fetcher& f, const KindInfo& kind,
                                        const api::ObjectMeta& m) {
  auto search = [&](const std::string& uid) {
    std::string sel = "involvedObject.kind=" + FieldValue(kind.kind) +
                      ",involvedObject.name=" + FieldValue(m.name);
    if (kind.namespaced) sel += ",involvedObject.namespace=" + FieldValue(m.namespace_);
    if (!uid.empty()) sel += ",involvedObject.uid=" + FieldValue(uid);
    return f.ListOf<api::KubeEvent>(
        "Event", CollectionPath(*FindKind("Event"), kind.namespaced ? m.namespace_ : "") +
                     "?fieldSelector=" + UrlEncode(sel));
  };
  auto events = search(m.uid);
  // Kubelets name a Node by its name where controllers use its uid; kubectl asks for both.
  if (kind.kind == "Node" && m.uid != m.name) {
    for (auto& e : search(m.name)) events.push_back(std::move(e));
  }
  return events;
}

Related RelatedTo(const Fetcher& f, const KindInfo& kind, const api::Object& object) {
  Related r;
  const api::ObjectMeta& m = api::Meta(object);
  r.events = EventsAbout(f, kind, m);
  const KindInfo& pods = *FindKind("Pod");
  if (const auto* rc = std::get_if<api::ReplicationController>(&object)) {
    // The pods the RC's label selector picks; the describer counts those it controls.
    std::string target = CollectionPath(pods, m.namespace_);
    std::string sel;
    for (const auto& [k, v] : rc->spec.selector) sel += (sel.empty() ? "" : ",") + k + "=" + v;
    if (!sel.empty()) target += "?labelSelector=" + UrlEncode(sel);
    r.pods = f.ListOf<api::Pod>("Pod", target);
  } else if (std::holds_alternative<api::Service>(object)) {
    auto ep = f.Get(CollectionPath(*FindKind("Endpoints"), m.namespace_) + "/" + UrlEncode(m.name));
    if (ep.ok()) {
      auto d = DecodeAs(*FindKind("Endpoints"), *ep);
      if (d.ok()) r.endpoints = std::get<api::Endpoints>(std::move(*d));
    } else if (ep.status().code() != Code::kNotFound) {
      std::cerr << "korc describe: warning: " << ep.status().message() << "\n";
    }
  } else if (std::holds_alternative<api::Node>(object)) {
    std::string sel =
        "spec.nodeName=" + FieldValue(m.name) + ",status.phase!=Succeeded,status.phase!=Failed";
    r.pods =
        f.ListOf<api::Pod>("Pod", CollectionPath(pods, "") + "?fieldSelector=" + UrlEncode(sel));
  }
  return r;
}

}  // namespace

int Describe(const Args& args) {
  po::options_description opts(
      "Usage: korc describe KIND [NAME...] [-n NS | -A] [-l SELECTOR]\n"
      "       korc describe KIND/NAME...\n\n"
      "Shows objects in detail, as kubectl describe does: their spec and status, the objects\n"
      "tied to them — the Pods an RC keeps running (found by its label selector) counted by\n"
      "phase, the Pod addresses (Endpoints) a Service's selector balances over, the Pods\n"
      "placed on a Node — and the Events about them. A NAME that matches nothing describes\n"
      "every object whose name starts with it (`korc describe pods web` finds web-x7k2q).\n"
      "Without a NAME, describes every object of the kind (that -l selects).\n\n"
      "Kinds: pods (po), replicationcontrollers (rc), services (svc), endpoints (ep),\n"
      "nodes, namespaces (ns), events, secrets (keys and sizes, never values).\n\nFlags");
  std::string server, ns, selector;
  std::vector<std::string> positional;
  opts.add_options()("help,h", "show this help")(
      "server,s", po::value(&server), "API server address (default: $KORC_SERVER, kubeconfig)")(
      "namespace,n", po::value(&ns)->default_value("default"), "the namespace")(
      "all-namespaces,A", "every namespace (when listing)")(
      "selector,l", po::value(&selector), "label selector, e.g. app=mysql,tier!=db")(
      "args", po::value(&positional)->composing(), "KIND [NAME...]");
  po::variables_map vm;
  if (auto code = ParseFlags("describe", args, opts, vm)) return *code;
  if (positional.empty()) {
    std::cerr << "korc describe: say what to describe: korc describe pods, korc describe rc "
                 "mysql, korc describe svc/mysql\n";
    return 2;
  }

  // KIND NAME... or KIND/NAME...
  std::vector<std::pair<std::string, std::string>> targets;  // (kind word, name)
  const bool slash_form = positional[0].find('/') != std::string::npos;
  for (size_t i = slash_form ? 0 : 1; i < positional.size(); ++i) {
    const std::string& p = positional[i];
    auto slash = p.find('/');
    if (slash_form != (slash != std::string::npos)) {
      std::cerr << "korc describe: use either KIND NAME... or KIND/NAME..., not both\n";
      return 2;
    }
    if (slash_form) {
      targets.emplace_back(p.substr(0, slash), p.substr(slash + 1));
    } else {
      targets.emplace_back(positional[0], p);
    }
  }
  std::vector<std::string> kind_words;
  if (targets.empty()) kind_words.push_back(positional[0]);
  for (const auto& t : targets) kind_words.push_back(t.first);
  std::vector<const KindInfo*> kinds;
  for (const auto& word : kind_words) {
    const KindInfo* k = FindResource(word);
    if (!k) {
      std::cerr << "korc describe: the server doesn't have a resource type \"" << word
                << "\" (try pods, rc, svc, ep, nodes, ns, events, secrets)\n";
      return 1;
    }
    kinds.push_back(k);
  }
  if (!selector.empty() && !targets.empty()) {
    std::cerr << "korc describe: a NAME and -l together: give one or the other\n";
    return 2;
  }

  auto client = ApiClient::Connect(server);
  if (!client.ok()) {
    std::cerr << "korc describe: " << client.status().message() << "\n";
    return 1;
  }
  Fetcher fetch(*client);
  DescribeOptions options;
  options.now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  auto text = [&](const KindInfo& kind, const api::Object& o) {
    return DescribeObject(o, RelatedTo(fetch, kind, o), options);
  };

  if (targets.empty()) {
    const KindInfo& kind = *kinds[0];
    const bool all = vm.count("all-namespaces") > 0 || !kind.namespaced;
    std::string target = CollectionPath(kind, all ? "" : ns);
    if (!selector.empty()) target += "?labelSelector=" + UrlEncode(selector);
    auto items = fetch.List(kind, target);
    if (!items.ok()) {
      std::cerr << items.status().message() << "\n";
      return 1;
    }
    if (items->empty()) {
      std::cerr << "No resources found" << (all ? "" : " in " + ns + " namespace") << ".\n";
      return 0;
    }
    for (size_t i = 0; i < items->size(); ++i) {
      std::cout << (i ? "\n\n" : "") << text(kind, (*items)[i]);
    }
    return 0;
  }

  int code = 0;
  bool first = true;
  for (size_t i = 0; i < targets.size(); ++i) {
    const KindInfo& kind = *kinds[i];
    const std::string& name = targets[i].second;
    auto doc = fetch.Get(CollectionPath(kind, ns) + "/" + UrlEncode(name));
    if (doc.ok()) {
      auto o = DecodeAs(kind, *doc);
      if (!o.ok()) {
        std::cerr << "korc describe: " << o.status().message() << "\n";
        code = 1;
        continue;
      }
      std::cout << (first ? "" : "\n\n") << text(kind, *o);
      first = false;
      continue;
    }
    // `korc describe KIND NAME` with no such name: every object whose name starts with it.
    if (doc.status().code() == Code::kNotFound && !slash_form && targets.size() == 1) {
      auto items = fetch.List(kind, CollectionPath(kind, ns));
      bool found = false;
      if (items.ok()) {
        for (const auto& o : *items) {
          if (!api::Meta(o).name.starts_with(name)) continue;
          std::cout << text(kind, o) << "\n";
          found = true;
        }
      }
      if (found) continue;
    }
    std::cerr << doc.status().message() << "\n";
    code = 1;
  }
  return code;
}

}  // namespace korc::cli
