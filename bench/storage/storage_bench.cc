// storage_bench: throughput and latency of the RocksDB event log and of replay.
//
//   storage_bench [--quick] [--dir PARENT]
//
// Prints a table; never passes or fails on a timing. The data lives in a fresh directory
// under PARENT (default $TMPDIR or /tmp — a real disk, so fsync means something), removed
// at the end. --quick shrinks every figure for a smoke run.
#include <rocksdb/version.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/event.h"
#include "storage/event_log.h"
#include "storage/projection.h"
#include "storage/replay.h"

namespace korc::storage {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Config {
  bool quick = false;
  std::string parent;
  double append_seconds = 3.0;  // per batch size
  uint64_t pods = 100'000;
  uint64_t events_per_pod = 10;
};

[[noreturn]] void Die(const std::string& what, const Status& s) {
  fprintf(stderr, "storage_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  exit(1);
}

// A pod-like object of about `size` bytes: fixed structure plus env vars whose values are
// pseudo-random, so it compresses about as well as real pod JSON (not like a run of 'a's).
std::string PodObject(uint64_t pod, uint64_t seq, size_t size) {
  std::string json = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-)" +
                     std::to_string(pod) +
                     R"(","namespace":"default","labels":{"app":"web","tier":"frontend"},)"
                     R"("resourceVersion":")" +
                     std::to_string(seq) +
                     R"("},"spec":{"nodeName":"node-3","containers":[{"name":"nginx",)"
                     R"("image":"nginx:1.25","ports":[{"containerPort":80}],"env":[)";
  uint64_t x = pod * 0x9E3779B97F4A7C15ull + seq;
  for (int i = 0; json.size() + 96 < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    char value[17];
    snprintf(value, sizeof value, "%016llx", static_cast<unsigned long long>(x));
    json += (i ? "," : "");
    json += R"({"name":"ENV_)" + std::to_string(i) + R"(","value":")" + value + R"("})";
  }
  json += R"(]}]},"status":{"phase":"Running","podIP":"10.244.3.17"}})";
  return json;
}

Event PodEvent(uint64_t seq, EventType type, uint64_t pod, size_t object_size) {
  Event e;
  e.seq = seq;
  e.time_ns = 1'700'000'000'000'000'000 + static_cast<int64_t>(seq) * 1'000'000;
  e.type = type;
  e.kind = "Pod";
  e.ns = "default";
  e.name = "web-" + std::to_string(pod);
  e.uid = "3f0c9a8e-0000-4000-8000-" + std::to_string(100'000'000'000 + pod);
  e.object = PodObject(pod, seq, object_size);
  e.actor = "system:kubelet:node-3";
  e.cause = seq > 1 ? seq - 1 : 0;
  e.basis = e.cause;
  e.basis_time_ns = e.time_ns;
  e.reason = "status update: container nginx ready";
  return e;
}

// The replay workload: round r (0..events_per_pod-1) touches every pod once; round 0 adds
// them, later rounds modify them. Event `seq` is a pure function of (config, seq).
Event ReplayEvent(const Config& c, uint64_t seq, size_t object_size) {
  const uint64_t i = seq - 1;
  const uint64_t pod = i % c.pods;
  return PodEvent(seq, i < c.pods ? EventType::kAdded : EventType::kModified, pod, object_size);
}

class TempDir {
 public:
  explicit TempDir(const std::string& parent) {
    std::string tmpl = parent + "/korc-storage-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      perror(("storage_bench: mkdtemp under " + parent).c_str());
      exit(1);
    }
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::unique_ptr<EventLog> Open(const std::string& dir, bool sync) {
  auto log = OpenRocksDbEventLog(dir, EventLogOptions{.sync = sync});
  if (!log.ok()) Die("open " + dir, log.status());
  return std::move(log).value();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k];
}

void BenchAppend(const Config& c, const TempDir& tmp) {
  constexpr size_t kObjectSize = 1024;
  printf("\nDurable append (WriteOptions.sync, ~1 KiB pod objects, %.1f s per row)\n",
         c.append_seconds);
  printf("  %6s %12s %11s %10s %10s %10s\n", "batch", "events/s", "batches/s", "p50 ms", "p99 ms",
         "MiB/s");
  for (size_t batch_size : {1, 16, 128}) {
    const std::string dir = tmp.path() + "/append-" + std::to_string(batch_size);
    auto log = Open(dir, /*sync=*/true);
    std::vector<double> latencies_ms;
    uint64_t seq = 0;
    uint64_t bytes = 0;
    const auto start = Clock::now();
    const auto until = start + std::chrono::duration<double>(c.append_seconds);
    while (Clock::now() < until) {
      std::vector<Event> batch;
      batch.reserve(batch_size);
      for (size_t i = 0; i < batch_size; ++i) {
        ++seq;
        batch.push_back(PodEvent(seq, seq <= 1000 ? EventType::kAdded : EventType::kModified,
                                 seq % 1000, kObjectSize));
        bytes += batch.back().object.size();
      }
      const auto t0 = Clock::now();
      Status s = log->Append(batch);
      const auto t1 = Clock::now();
      if (!s.ok()) Die("append", s);
      latencies_ms.push_back(Seconds(t1 - t0) * 1e3);
    }
    const double elapsed = Seconds(Clock::now() - start);
    printf("  %6zu %12.0f %11.0f %10.3f %10.3f %10.1f\n", batch_size,
           static_cast<double>(seq) / elapsed, static_cast<double>(latencies_ms.size()) / elapsed,
           Percentile(latencies_ms, 0.50), Percentile(latencies_ms, 0.99),
           static_cast<double>(bytes) / elapsed / (1 << 20));
  }
}

void BenchReplay(const Config& c, const TempDir& tmp) {
  constexpr size_t kObjectSize = 1024;
  const uint64_t total = c.pods * c.events_per_pod;
  printf("\nReplay (%llu pods x %llu events = %llu events, ~1 KiB pod objects)\n",
         static_cast<unsigned long long>(c.pods), static_cast<unsigned long long>(c.events_per_pod),
         static_cast<unsigned long long>(total));

  // The fold alone, on events already in memory (built in chunks; only Apply is timed).
  // Apply(const Event&) copies each object into the state (what StateAt does with the events
  // ReadEvents hands it); Apply(Event&&) moves it.
  {
    StateProjection copied, moved;
    Clock::duration copying{}, moving{};
    constexpr uint64_t kChunk = 100'000;
    std::vector<Event> chunk;
    for (uint64_t first = 1; first <= total; first += kChunk) {
      chunk.clear();
      for (uint64_t seq = first; seq < first + kChunk && seq <= total; ++seq) {
        chunk.push_back(ReplayEvent(c, seq, kObjectSize));
      }
      auto t0 = Clock::now();
      for (const Event& e : chunk) {
        Status s = copied.Apply(e);
        if (!s.ok()) Die("fold", s);
      }
      copying += Clock::now() - t0;
      t0 = Clock::now();
      for (Event& e : chunk) {
        Status s = moved.Apply(std::move(e));
        if (!s.ok()) Die("fold", s);
      }
      moving += Clock::now() - t0;
    }
    printf("  %-52s %12.0f events/s  (%.3f s, %zu objects)\n",
           "fold in memory, Apply(const Event&)", static_cast<double>(total) / Seconds(copying),
           Seconds(copying), copied.size());
    printf("  %-52s %12.0f events/s  (%.3f s, %zu objects)\n", "fold in memory, Apply(Event&&)",
           static_cast<double>(total) / Seconds(moving), Seconds(moving), moved.size());
  }

  const std::string dir = tmp.path() + "/replay";
  {
    // Loading is not what is measured: unsynced, large batches.
    auto log = Open(dir, /*sync=*/false);
    constexpr uint64_t kBatch = 1000;
    std::vector<Event> batch;
    const auto t0 = Clock::now();
    for (uint64_t first = 1; first <= total; first += kBatch) {
      batch.clear();
      for (uint64_t seq = first; seq < first + kBatch && seq <= total; ++seq) {
        batch.push_back(ReplayEvent(c, seq, kObjectSize));
      }
      Status s = log->Append(batch);
      if (!s.ok()) Die("load", s);
    }
    printf("  %-52s %12.0f events/s  (%.3f s)\n", "load the log (unsynced, batches of 1000)",
           static_cast<double>(total) / Seconds(Clock::now() - t0), Seconds(Clock::now() - t0));
  }
  // Reopen, as after a restart, and scan once untimed: the figures below are for a warm
  // page cache, without the flushes and compactions that follow loading competing for the
  // (two) cores.
  auto log = Open(dir, /*sync=*/true);
  {
    Status s = log->ReadEvents(1, 0, [](const Event&) { return true; });
    if (!s.ok()) Die("read", s);
  }

  {
    uint64_t n = 0;
    const auto t0 = Clock::now();
    Status s = log->ReadEvents(1, 0, [&](const Event&) {
      ++n;
      return true;
    });
    if (!s.ok()) Die("read", s);
    const double secs = Seconds(Clock::now() - t0);
    printf("  %-52s %12.0f events/s  (%.3f s)\n", "ReadEvents 1..head (read + decode)",
           static_cast<double>(n) / secs, secs);
  }
  {
    const auto t0 = Clock::now();
    auto state = StateAt(*log, total);
    if (!state.ok()) Die("StateAt", state.status());
    const double secs = Seconds(Clock::now() - t0);
    printf("  %-52s %12.0f events/s  (%.3f s, %zu objects)\n",
           "StateAt(head), full history (read + decode + fold)", static_cast<double>(total) / secs,
           secs, state->size());
  }

  {
    // Event times are 1 ms apart from a fixed start (PodEvent), so this is seq total/3.
    const int64_t t = 1'700'000'000'000'000'000 + static_cast<int64_t>(total / 3) * 1'000'000;
    const auto t0 = Clock::now();
    auto seq = SeqAtTime(*log, t);
    if (!seq.ok()) Die("SeqAtTime", seq.status());
    const double secs = Seconds(Clock::now() - t0);
    printf("  %-52s %12.3f ms        (seq %llu)\n", "SeqAtTime (binary search, single-event reads)",
           secs * 1e3, static_cast<unsigned long long>(*seq));
  }

  // Rebuild the state at seq 900k (of 1M), then again from a snapshot 10k events below it.
  const uint64_t target = total / 10 * 9;
  const uint64_t snap = target - total / 100;
  auto time_state_at = [&](const char* label) {
    const auto t0 = Clock::now();
    auto state = StateAt(*log, target);
    if (!state.ok()) Die("StateAt", state.status());
    const double secs = Seconds(Clock::now() - t0);
    printf("  %-52s %12.3f s         (%zu objects)\n", label, secs, state->size());
  };
  char label[128];
  snprintf(label, sizeof label, "StateAt(%llu), no snapshot",
           static_cast<unsigned long long>(target));
  time_state_at(label);
  {
    const auto t0 = Clock::now();
    Status s = log->CreateSnapshot(snap);
    if (!s.ok()) Die("CreateSnapshot", s);
    snprintf(label, sizeof label, "CreateSnapshot(%llu) (below head: replays)",
             static_cast<unsigned long long>(snap));
    printf("  %-52s %12.3f s\n", label, Seconds(Clock::now() - t0));
  }
  snprintf(label, sizeof label, "StateAt(%llu), snapshot at %llu",
           static_cast<unsigned long long>(target), static_cast<unsigned long long>(snap));
  time_state_at(label);
  {
    const auto t0 = Clock::now();
    Status s = log->CreateSnapshot(total);
    if (!s.ok()) Die("CreateSnapshot", s);
    snprintf(label, sizeof label, "CreateSnapshot(head) (copies objects)");
    printf("  %-52s %12.3f s\n", label, Seconds(Clock::now() - t0));
  }
}

int Main(int argc, char** argv) {
  Config c;
  const char* tmpdir = getenv("TMPDIR");
  c.parent = tmpdir && *tmpdir ? tmpdir : "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--quick") {
      c.quick = true;
    } else if (arg == "--dir" && i + 1 < argc) {
      c.parent = argv[++i];
    } else {
      fprintf(stderr, "usage: storage_bench [--quick] [--dir PARENT]\n");
      return 2;
    }
  }
  if (c.quick) {
    c.append_seconds = 0.3;
    c.pods = 10'000;
  }
  TempDir tmp(c.parent);
  printf("korc storage_bench%s: RocksDB %d.%d.%d, data under %s\n", c.quick ? " --quick" : "",
         ROCKSDB_MAJOR, ROCKSDB_MINOR, ROCKSDB_PATCH, tmp.path().c_str());
  BenchAppend(c, tmp);
  BenchReplay(c, tmp);
  return 0;
}

}  // namespace
}  // namespace korc::storage

int main(int argc, char** argv) { return korc::storage::Main(argc, argv); }
