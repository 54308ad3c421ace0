// Builders shared by the storage tests: temp dirs, pod-like events and a random but
// reproducible scenario of creates/updates/deletes.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/event.h"
#include "storage/event_log.h"
#include "storage/projection.h"

namespace korc::storage::testutil {

// A fresh directory under $TMPDIR (default /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/korc-storage-test-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // A path inside the temp dir (not created).
  std::string Sub(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// A small pod-like JSON object; `pad` extra bytes make it as large as a test needs.
inline std::string PodJson(std::string_view ns, std::string_view name, uint64_t rv,
                           size_t pad = 0) {
  std::string json =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + std::string(name) +
      R"(","namespace":")" + std::string(ns) + R"(","resourceVersion":")" + std::to_string(rv) +
      R"(","labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"busybox"}],"nodeName":"n1"},"status":{"phase":"Running"},"pad":")";
  json.append(pad, 'x');
  json += "\"}";
  return json;
}

inline Event MakeEvent(uint64_t seq, EventType type, std::string kind, std::string ns,
                       std::string name, std::string object, int64_t time_ns = 0) {
  Event e;
  e.seq = seq;
  e.time_ns = time_ns;
  e.type = type;
  e.kind = std::move(kind);
  e.ns = std::move(ns);
  e.name = std::move(name);
  e.uid = "uid-" + e.kind + "-" + e.ns + "-" + e.name;
  e.object = std::move(object);
  e.actor = "test";
  e.reason = "test event";
  return e;
}

inline Event MakePod(uint64_t seq, EventType type, std::string ns, std::string name,
                     int64_t time_ns = 0) {
  std::string json = PodJson(ns, name, seq);
  return MakeEvent(seq, type, "Pod", std::move(ns), std::move(name), std::move(json), time_ns);
}

inline std::vector<StoredObject> Values(const std::vector<const StoredObject*>& ptrs) {
  std::vector<StoredObject> out;
  out.reserve(ptrs.size());
  for (const StoredObject* p : ptrs) out.push_back(*p);
  return out;
}

inline std::vector<StoredObject> Values(const StateProjection& state) {
  return Values(state.Sorted());
}

// Random creates, updates and deletes across namespaced and cluster-scoped kinds and several
// namespaces, always consistent (no update of an absent object), with non-decreasing times
// (sometimes equal). The same seed gives the same events.
class ScenarioGenerator {
 public:
  explicit ScenarioGenerator(uint64_t seed, uint64_t first_seq = 1,
                             int64_t start_time_ns = 1'700'000'000'000'000'000)
      : rng_(seed), next_seq_(first_seq), time_ns_(start_time_ns) {}

  Event Next() {
    static constexpr std::string_view kKinds[] = {"Pod", "Service", "ConfigMap", "Node"};
    static constexpr std::string_view kNamespaces[] = {"default", "kube-system", "team-a"};
    const std::string kind(kKinds[Pick(std::size(kKinds))]);
    const std::string ns(kind == "Node" ? "" : kNamespaces[Pick(std::size(kNamespaces))]);
    const std::string name = (kind == "Node" ? "node-" : "obj-") + std::to_string(Pick(12));
    const std::string key = ObjectKey(kind, ns, name);

    EventType type = EventType::kAdded;
    if (live_.count(key)) type = Pick(4) == 0 ? EventType::kDeleted : EventType::kModified;
    if (type == EventType::kDeleted) {
      live_.erase(key);
    } else {
      live_.insert(key);
    }
    time_ns_ += static_cast<int64_t>(Pick(3)) * 1'000'000;  // 0, 1 or 2 ms later
    const uint64_t seq = next_seq_++;
    std::string json = R"({"kind":")" + kind + R"(","metadata":{"name":")" + name +
                       R"(","namespace":")" + ns + R"(","resourceVersion":")" +
                       std::to_string(seq) + R"("},"data":")" + std::to_string(rng_()) + "\"}";
    return MakeEvent(seq, type, kind, ns, name, std::move(json), time_ns_);
  }

  std::vector<Event> Take(size_t n) {
    std::vector<Event> out;
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) out.push_back(Next());
    return out;
  }

 private:
  uint64_t Pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }

  std::mt19937_64 rng_;
  uint64_t next_seq_;
  int64_t time_ns_;
  std::set<std::string> live_;  // ObjectKeys of the objects that exist now
};

}  // namespace korc::storage::testutil
