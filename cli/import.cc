// korc import: manifests straight into the event log of a cluster that is not running.
//
// It is the offline door (like restoring from backup): it admits every object exactly as
// the API server does (components/apiserver/admission.h) and commits them all in one
// durable batch, or — if any document is bad — writes nothing at all.
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/flags.h"
#include "cli/manifests.h"
#include "cli/verbs.h"
#include "components/apiserver/admission.h"
#include "core/codec.h"
#include "core/kinds.h"
#include "storage/event_log.h"

namespace korc::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int Import(const Args& args) {
  po::options_description opts(
      "Usage: korc import --data-dir DIR -f FILE|DIR|- [-f ...]\n\n"
      "Admits manifests as the API server would and commits them to the event log of a\n"
      "cluster that is not running, all in one durable batch. Existing objects are replaced\n"
      "(their status kept); if any document is invalid nothing is written.\n\nFlags");
  std::string data_dir, validate, actor;
  std::vector<std::string> files;
  opts.add_options()("help,h", "show this help")(
      "data-dir", po::value(&data_dir)->default_value("korc-data"), "the cluster's data folder")(
      "filename,f", po::value(&files)->composing(),
      "manifest file, folder of them, or - for stdin")(
      "validate", po::value(&validate)->default_value("warn"),
      "unknown fields: strict (refuse), warn, or ignore")(
      "actor", po::value(&actor)->default_value(""), "who to record as making the change");
  po::variables_map vm;
  if (auto code = ParseFlags("import", args, opts, vm)) return *code;
  if (files.empty()) {
    std::cerr << "korc import: say what to import with -f FILE (or -f - for stdin)\n";
    return 2;
  }
  apiserver::AdmitOptions admit;
  if (validate == "strict") {
    admit.field_validation = apiserver::FieldValidation::kStrict;
  } else if (validate == "ignore") {
    admit.field_validation = apiserver::FieldValidation::kIgnore;
  } else if (validate != "warn") {
    std::cerr << "korc import: --validate must be strict, warn or ignore, not \"" << validate
              << "\"\n";
    return 2;
  }
  if (actor.empty()) {
    const char* user = std::getenv("USER");
    actor = std::string("offline-import:") + (user ? user : "unknown");
  }

  auto sources = ReadSources(files);
  if (!sources.ok()) {
    std::cerr << "korc import: " << sources.status().message() << "\n";
    return 1;
  }

  // Admit everything first: one bad document means nothing is written.
  struct Pending {
    api::Object object;
    std::string origin;  // "file:line"
  };
  std::vector<Pending> pending;
  bool failed = false;
  for (const auto& src : *sources) {
    auto docs = DecodeYamlStream(src.text);
    if (!docs.ok()) {
      std::cerr << src.name << ": error: " << docs.status().message() << "\n";
      failed = true;
      continue;
    }
    for (auto& m : *docs) {
      std::string origin = src.name + ":" + std::to_string(m.line);
      std::vector<std::string> warnings;
      auto obj = apiserver::AdmitNew(std::move(m.decoded), admit, &warnings);
      for (const auto& w : warnings) std::cerr << origin << ": warning: " << w << "\n";
      if (!obj.ok()) {
        std::cerr << origin << ": error: " << obj.status().message() << "\n";
        failed = true;
        continue;
      }
      pending.push_back({std::move(obj).value(), origin});
    }
  }
  if (failed) {
    std::cerr << "korc import: nothing was written\n";
    return 1;
  }

  auto log = storage::OpenRocksDbEventLog(data_dir);
  if (!log.ok()) {
    std::cerr << "korc import: " << log.status().message() << "\n";
    return 1;
  }
  uint64_t seq = (*log)->Head();
  int64_t now = NowNs();
  if (seq > 0) {
    // Event times never go backwards, so replay --at TIME can binary-search them.
    Status st = (*log)->ReadEvents(seq, seq, [&](const Event& e) {
      now = std::max(now, e.time_ns);
      return false;
    });
    if (!st.ok()) {
      std::cerr << "korc import: " << st.message() << "\n";
      return 1;
    }
  }

  std::vector<Event> batch;
  std::vector<std::string> report;
  std::map<std::string, api::Object> latest;  // objects changed earlier in this batch
  for (auto& p : pending) {
    const KindInfo& kind = KindOf(p.object);
    const api::ObjectMeta& meta = api::Meta(p.object);
    std::string what = Lower(kind.kind) + "/" + meta.name;
    std::optional<api::Object> current;
    std::string key = ObjectKey(kind.kind, meta.namespace_, meta.name);
    if (auto it = latest.find(key); it != latest.end()) {
      current = it->second;
    } else if (!meta.name.empty()) {
      auto stored = (*log)->Get(kind.kind, meta.namespace_, meta.name);
      if (stored.ok()) {
        auto d = DecodeJson(stored->object);
        if (!d.ok()) {
          std::cerr << "korc import: stored " << what << ": " << d.status().message() << "\n";
          return 1;
        }
        current = std::move(d->object);
      } else if (stored.status().code() != Code::kNotFound) {
        std::cerr << "korc import: " << stored.status().message() << "\n";
        return 1;
      }
    }
    api::Object obj = std::move(p.object);
    if (current) {
      // Replace keeps what the cluster reported about the object.
      std::visit(
          [&](auto& o) {
            if constexpr (requires { o.status; }) {
              o.status = std::get<std::decay_t<decltype(o)>>(*current).status;
            }
          },
          obj);
      api::Object candidate = obj;
      apiserver::StampUpdated(*current, candidate,
                              std::stoull(api::Meta(*current).resource_version));
      if (EncodeJson(candidate) == EncodeJson(*current)) {
        report.push_back(what + " unchanged");
        continue;
      }
      apiserver::StampUpdated(*current, obj, ++seq);
      batch.push_back(apiserver::MakeEvent(EventType::kModified, obj, seq, now, actor,
                                           "replaced by offline import of " + p.origin));
      report.push_back(what + " replaced");
    } else {
      apiserver::StampCreated(obj, ++seq, now);
      batch.push_back(apiserver::MakeEvent(EventType::kAdded, obj, seq, now, actor,
                                           "created by offline import of " + p.origin));
      report.push_back(Lower(kind.kind) + "/" + api::Meta(obj).name + " created");
    }
    latest[ObjectKey(kind.kind, api::Meta(obj).namespace_, api::Meta(obj).name)] = obj;
  }
  Status st = (*log)->Append(batch);
  if (!st.ok()) {
    std::cerr << "korc import: " << st.message() << "\n";
    return 1;
  }
  for (const auto& line : report) std::cout << line << "\n";
  std::cout << "log head is now seq " << (*log)->Head() << "\n";
  return 0;
}

}  // namespace korc::cli
