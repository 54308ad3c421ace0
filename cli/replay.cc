// korc replay: the cluster as it was at any point, rebuilt only from the event log (from
// the nearest snapshot below that point), or what changed between two points.
#include "storage/replay.h"

#include <boost/program_options.hpp>
#include <cctype>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/flags.h"
#include "cli/output.h"
#include "cli/verbs.h"
#include "core/codec.h"
#include "core/kinds.h"
#include "storage/event_log.h"

namespace korc::cli {

namespace po = boost::program_options;

namespace {

// A point in the log: a seq ("1234") or a time ("2026-11-28T10:00:00Z": the state after
// the last event at or before it).
Result<uint64_t> ResolvePoint(const storage::EventLog& log, std::string_view text) {
  if (text.empty()) return log.Head();
  if (std::all_of(text.begin(), text.end(), [](char c) { return std::isdigit(c); })) {
    uint64_t seq = std::stoull(std::string(text));
    if (seq > log.Head()) {
      return Status::Invalid("seq " + std::string(text) + " is beyond the log's head (" +
                             std::to_string(log.Head()) + ")");
    }
    return seq;
  }
  auto t = api::ParseRfc3339(text);
  if (!t) {
    return Status::Invalid("\"" + std::string(text) +
                           "\" is neither a seq nor an RFC 3339 time (2026-11-28T10:00:00Z)");
  }
  return storage::SeqAtTime(log, *t);
}

// A value in a diff line. Under a Secret's data each value shows as "<N bytes>" (the diff
// itself compares the real values, so a change of the same length still shows), and so
// does the annotation where `kubectl apply` keeps a copy of the manifest.
std::string Show(const std::string& path, const nlohmann::json& v, bool secret) {
  if (!secret) return v.dump();
  constexpr std::string_view kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";
  auto size_of = [](const nlohmann::json& e, bool base64) -> nlohmann::json {
    if (!e.is_string()) return "<redacted>";
    const auto& text = e.get_ref<const std::string&>();
    return api::RedactedBytes(base64 ? api::Base64DecodedSize(text) : text.size());
  };
  if (path == "data" && v.is_object()) {
    nlohmann::json shown = nlohmann::json::object();
    for (const auto& [k, e] : v.items()) shown[k] = size_of(e, true);
    return shown.dump();
  }
  if (path.starts_with("data.")) return size_of(v, true).dump();
  if (path == "metadata.annotations" && v.is_object() && v.contains(kLastApplied)) {
    nlohmann::json shown = v;
    shown[std::string(kLastApplied)] = size_of(v[std::string(kLastApplied)], false);
    return shown.dump();
  }
  if (path == "metadata.annotations." + std::string(kLastApplied)) return size_of(v, false).dump();
  return v.dump();
}

// Field-level differences between two JSON values, as "path: old → new" lines; `secret`
// when they are a Secret's, whose data values are not shown.
void DiffJson(const std::string& path, const nlohmann::json& a, const nlohmann::json& b,
              bool secret, std::vector<std::string>* out) {
  if (a == b) return;
  auto child = [&](const std::string& k) { return path.empty() ? k : path + "." + k; };
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (path == "metadata" && k == "resourceVersion") continue;  // shown in the header
      if (!b.contains(k)) {
        out->push_back("- " + child(k) + ": " + Show(child(k), v, secret));
      } else {
        DiffJson(child(k), v, b[k], secret, out);
      }
    }
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k)) out->push_back("+ " + child(k) + ": " + Show(child(k), v, secret));
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    size_t n = std::min(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      DiffJson(path + "[" + std::to_string(i) + "]", a[i], b[i], secret, out);
    }
    for (size_t i = n; i < a.size(); ++i) {
      out->push_back("- " + path + "[" + std::to_string(i) + "]: " + a[i].dump());
    }
    for (size_t i = n; i < b.size(); ++i) {
      out->push_back("+ " + path + "[" + std::to_string(i) + "]: " + b[i].dump());
    }
    return;
  }
  out->push_back("~ " + path + ": " + Show(path, a, secret) + " → " + Show(path, b, secret));
}

std::string Describe(const storage::StoredObject& o) {
  return o.kind + " " + (o.ns.empty() ? "" : o.ns + "/") + o.name;
}

int PrintDiff(const storage::EventLog& log, std::string_view range, std::string_view kind) {
  auto dots = range.find("..");
  if (dots == std::string_view::npos) {
    std::cerr << "korc replay: --diff takes A..B (seqs or RFC 3339 times), e.g. --diff 3..9\n";
    return 2;
  }
  auto a = ResolvePoint(log, range.substr(0, dots));
  auto b = ResolvePoint(log, range.substr(dots + 2));
  for (const auto* r : {&a, &b}) {
    if (!r->ok()) {
      std::cerr << "korc replay: " << r->status().message() << "\n";
      return 1;
    }
  }
  auto sa = storage::StateAt(log, *a);
  auto sb = storage::StateAt(log, *b);
  for (const auto* s : {&sa, &sb}) {
    if (!s->ok()) {
      std::cerr << "korc replay: " << s->status().message() << "\n";
      return 1;
    }
  }
  std::cout << "changes from seq " << *a << " to seq " << *b << ":\n";
  auto before = sa->Sorted(kind);
  auto after = sb->Sorted(kind);
  size_t i = 0, j = 0, changes = 0;
  auto key = [](const storage::StoredObject* o) { return ObjectKey(o->kind, o->ns, o->name); };
  while (i < before.size() || j < after.size()) {
    int cmp = i == before.size()  ? 1
              : j == after.size() ? -1
                                  : key(before[i]).compare(key(after[j]));
    if (cmp < 0) {
      std::cout << "removed  " << Describe(*before[i]) << " (last at seq " << before[i]->seq
                << ")\n";
      ++i, ++changes;
    } else if (cmp > 0) {
      std::cout << "added    " << Describe(*after[j]) << " (at seq " << after[j]->seq << ")\n";
      ++j, ++changes;
    } else {
      if (before[i]->seq != after[j]->seq) {
        std::cout << "changed  " << Describe(*after[j]) << " (seq " << before[i]->seq << " → "
                  << after[j]->seq << ")\n";
        std::vector<std::string> lines;
        DiffJson("", nlohmann::json::parse(before[i]->object, nullptr, false),
                 nlohmann::json::parse(after[j]->object, nullptr, false),
                 after[j]->kind == "Secret", &lines);
        for (const auto& l : lines) std::cout << "    " << l << "\n";
        ++changes;
      }
      ++i, ++j;
    }
  }
  if (changes == 0) std::cout << "(no changes)\n";
  return 0;
}

}  // namespace

int Replay(const Args& args) {
  po::options_description opts(
      "Usage: korc replay --data-dir DIR [--at SEQ|TIME] [-o table|json|yaml] [--kind K]\n"
      "       korc replay --data-dir DIR --diff A..B [--kind K]\n\n"
      "Rebuilds the cluster's state at any point of its history from the event log alone\n"
      "(starting at the nearest snapshot below it), or lists what changed between two\n"
      "points, field by field. The cluster must not be running (it holds the log).\n"
      "Secrets' values are shown as \"<N bytes>\", never as they are.\n\nFlags");
  std::string data_dir, at, output, kind_name, diff;
  opts.add_options()("help,h", "show this help")(
      "data-dir", po::value(&data_dir)->default_value("korc-data"), "the cluster's data folder")(
      "at", po::value(&at), "a seq, or an RFC 3339 time (default: the head of the log)")(
      "output,o", po::value(&output)->default_value("table"), "table, json or yaml")(
      "kind", po::value(&kind_name), "only this kind (pods, rc, Service, ...)")(
      "diff", po::value(&diff), "A..B: what changed from point A to point B");
  po::variables_map vm;
  if (auto code = ParseFlags("replay", args, opts, vm)) return *code;
  if (output != "table" && output != "json" && output != "yaml") {
    std::cerr << "korc replay: -o must be table, json or yaml, not \"" << output << "\"\n";
    return 2;
  }
  std::string kind;
  if (!kind_name.empty()) {
    const KindInfo* k = FindResource(kind_name);
    if (!k) {
      std::cerr << "korc replay: the kind \"" << kind_name << "\" is not served (try pods, rc, "
                << "services, endpoints, nodes, namespaces, events, secrets)\n";
      return 2;
    }
    kind = k->kind;
  }
  storage::EventLogOptions log_opts;
  log_opts.create_if_missing = false;
  auto log = storage::OpenRocksDbEventLog(data_dir, log_opts);
  if (!log.ok()) {
    std::cerr << "korc replay: " << log.status().message() << "\n";
    return 1;
  }
  if (!diff.empty()) return PrintDiff(**log, diff, kind);

  auto seq = ResolvePoint(**log, at);
  if (!seq.ok()) {
    std::cerr << "korc replay: " << seq.status().message() << "\n";
    return 1;
  }
  auto state = storage::StateAt(**log, *seq);
  if (!state.ok()) {
    std::cerr << "korc replay: " << state.status().message() << "\n";
    return 1;
  }
  auto objects = state->Sorted(kind);
  if (output == "json") {
    std::string out = R"({"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":")" +
                      std::to_string(*seq) + R"("},"items":[)";
    for (size_t i = 0; i < objects.size(); ++i) {
      if (i) out += ",";
      out += RedactedJson(objects[i]->object);
    }
    out += "]}";
    std::cout << nlohmann::json::parse(out).dump(2) << "\n";
    return 0;
  }
  if (output == "yaml") {
    std::cout << "# cluster state at seq " << *seq << "\n";
    for (const auto* o : objects) {
      auto d = DecodeJson(o->object);
      if (!d.ok()) {
        std::cerr << "korc replay: " << Describe(*o) << ": " << d.status().message() << "\n";
        return 1;
      }
      std::cout << "---\n" << EncodeYaml(d->object, {.redact_secrets = true});
    }
    return 0;
  }
  std::cout << "cluster state at seq " << *seq << " of " << (*log)->Head() << "\n";
  std::vector<std::vector<std::string>> rows = {
      {"KIND", "NAMESPACE", "NAME", "RESOURCEVERSION", "STATE"}};
  for (const auto* o : objects) {
    auto d = DecodeJson(o->object);
    rows.push_back({o->kind, o->ns.empty() ? "-" : o->ns, o->name, std::to_string(o->seq),
                    d.ok() ? Summary(d->object) : "undecodable: " + d.status().message()});
  }
  std::cout << FormatTable(rows);
  if (objects.empty()) std::cout << "(no objects)\n";
  return 0;
}

}  // namespace korc::cli
