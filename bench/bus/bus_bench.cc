// bus_bench: how fast a committed event reaches a subscriber, and how many events per second
// the bus delivers, over inproc://, ipc:// and tcp:// (loopback).
//
//   bus_bench [--quick] [--dir PARENT]
//
// Prints a table; never passes or fails on a timing. The log lives in a fresh directory
// under PARENT (default $TMPDIR or /tmp — a real disk, so fsync means something), removed at
// the end. --quick shrinks every figure for a smoke run.
//
// Latency: one event at a time, as the API server commits a lone write: Append (synced),
// then Publish; the subscriber runs Next() on its own thread and stamps the time Next
// returned the event. "commit->deliver" runs from Append's return (the event is durable)
// to that stamp; "append+deliver" includes the fsync. The goal for the API server is
// commit->deliver p99 <= 2 ms.
//
// Throughput: ~1 KiB events already in the log are published in batches of 100 as fast as
// Publish goes, and the subscriber reads them all (healing any PUB drops from the log, which
// counts in the figure); then a fresh subscriber catches the same events up from the log.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "bus/bus.h"
#include "core/event.h"
#include "storage/event_log.h"

namespace korc::bus {
namespace {

using Clock = std::chrono::steady_clock;

struct Config {
  bool quick = false;
  std::string parent;
  size_t latency_samples = 2000;
  uint64_t throughput_events = 200'000;
};

[[noreturn]] void Die(const std::string& what, const Status& s) {
  fprintf(stderr, "bus_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  exit(1);
}

template <class T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what, r.status());
  return std::move(r).value();
}

void Must(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what, s);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k];
}

class TempDir {
 public:
  explicit TempDir(const std::string& parent) {
    std::string tmpl = parent + "/korc-bus-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      perror("mkdtemp");
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

// A pod-like event of about 1 KiB encoded.
Event PodEvent(uint64_t seq) {
  Event e;
  e.seq = seq;
  e.time_ns = 1'700'000'000'000'000'000 + static_cast<int64_t>(seq);
  e.type = EventType::kModified;
  e.kind = "Pod";
  e.ns = "default";
  e.name = "web-" + std::to_string(seq % 1000);
  e.uid = "3f0c9a8e-0000-4000-8000-" + std::to_string(100'000'000'000 + seq % 1000);
  e.object = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + e.name +
             R"(","namespace":"default","resourceVersion":")" + std::to_string(seq) +
             R"("},"spec":{"nodeName":"node-3","containers":[{"name":"nginx","image":"nginx"}]},)"
             R"("status":{"phase":"Running"},"pad":")";
  e.object.append(1024 - 120 - e.object.size(), 'x');
  e.object += "\"}";
  e.actor = "system:kubelet:node-3";
  e.reason = "status update";
  return e;
}

// Runs Next() on its own thread and stamps when each seq in [first, first + capacity) was
// delivered.
class Receiver {
 public:
  Receiver(std::unique_ptr<Subscriber> sub, uint64_t first, size_t capacity)
      : sub_(std::move(sub)), first_(first), stamps_(capacity) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
  }

  // Blocks until seq has been delivered; its delivery time.
  Clock::time_point WaitFor(uint64_t seq) {
    for (uint64_t seen = last_.load(); seen < seq; seen = last_.load()) last_.wait(seen);
    return stamps_[seq - first_];
  }
  uint64_t gaps_healed() const { return sub_->gaps_healed(); }

 private:
  void Run() {
    while (!stop_) {
      Result<std::optional<Event>> next = sub_->Next(std::chrono::milliseconds(50));
      if (!next.ok()) Die("subscriber", next.status());
      if (!next->has_value()) continue;
      const Clock::time_point now = Clock::now();
      const uint64_t seq = (*next)->seq;
      if (seq >= first_ && seq - first_ < stamps_.size()) stamps_[seq - first_] = now;
      last_.store(seq);
      last_.notify_all();
    }
  }

  std::unique_ptr<Subscriber> sub_;
  const uint64_t first_;
  std::vector<Clock::time_point> stamps_;  // written before last_ is published
  std::atomic<uint64_t> last_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void BenchTransport(const Config& c, zmq::context_t& ctx, storage::EventLog& log,
                    const std::string& name, const std::string& pub_ep,
                    const std::string& catch_up_ep) {
  PublisherOptions po;
  po.endpoint = pub_ep;
  auto publisher = Must(MakePublisher(ctx, po), "publisher " + pub_ep);
  auto server = Must(StartCatchUpServer(ctx, log, catch_up_ep), "catch-up server");
  auto subscribe = [&](uint64_t after) {
    SubscriberOptions so;
    so.publisher_endpoint = publisher->endpoint();
    so.catch_up_endpoint = server->endpoint();
    so.after_seq = after;
    return Must(Subscribe(ctx, so), "subscribe");
  };

  // Latency.
  {
    const uint64_t first = log.Head() + 1;
    Receiver receiver(subscribe(first - 1), first, c.latency_samples + 20);
    std::vector<double> append_ms, deliver_ms, total_ms;
    // The first events also wait for the SUB connection to be set up; they are not counted.
    constexpr size_t kWarmUp = 20;
    for (size_t i = 0; i < kWarmUp + c.latency_samples; ++i) {
      const Event e = PodEvent(first + i);
      const Clock::time_point t0 = Clock::now();
      Must(log.Append({&e, 1}), "append");
      const Clock::time_point committed = Clock::now();
      Must(publisher->Publish({&e, 1}), "publish");
      const Clock::time_point delivered = receiver.WaitFor(e.seq);
      if (i < kWarmUp) continue;
      append_ms.push_back(Ms(committed - t0));
      deliver_ms.push_back(Ms(delivered - committed));
      total_ms.push_back(Ms(delivered - t0));
    }
    auto row = [](const char* what, const std::vector<double>& v) {
      printf("  %-9s %-24s %9.3f %9.3f %9.3f\n", "", what, Percentile(v, 0.50), Percentile(v, 0.99),
             *std::max_element(v.begin(), v.end()));
    };
    printf("  %-9s %zu events, one at a time, gaps healed %llu\n", name.c_str(), c.latency_samples,
           static_cast<unsigned long long>(receiver.gaps_healed()));
    row("append (fsync)", append_ms);
    row("commit->deliver", deliver_ms);
    row("append+deliver", total_ms);
  }

  // Throughput: the events are in the log first, so drops heal from it.
  const uint64_t before = log.Head();
  const uint64_t n = c.throughput_events;
  {
    Receiver receiver(subscribe(before), before + 1, n);
    std::vector<Event> events;
    for (uint64_t seq = before + 1; seq <= before + n; ++seq) {
      events.push_back(PodEvent(seq));
      if (events.size() == 1000 || seq == before + n) {
        Must(log.Append(events), "append");
        events.clear();
      }
    }
    std::vector<Event> all;
    all.reserve(n);
    for (uint64_t seq = before + 1; seq <= before + n; ++seq) all.push_back(PodEvent(seq));
    const Clock::time_point t0 = Clock::now();
    for (size_t i = 0; i < all.size(); i += 100) {
      const size_t len = std::min<size_t>(100, all.size() - i);
      Must(publisher->Publish(std::span<const Event>(all).subspan(i, len)), "publish");
    }
    const Clock::time_point published = Clock::now();
    const Clock::time_point done = receiver.WaitFor(before + n);
    const double secs = std::chrono::duration<double>(done - t0).count();
    const double bytes = static_cast<double>(EncodeEvent(all.front()).size()) * n;
    printf("  %-9s %-24s %9.0f events/s %7.1f MiB/s (publish %.0f events/s, gaps healed %llu)\n",
           "", "live, published", n / secs, bytes / secs / (1 << 20),
           n / std::chrono::duration<double>(published - t0).count(),
           static_cast<unsigned long long>(receiver.gaps_healed()));
  }
  {
    const Clock::time_point t0 = Clock::now();
    Receiver receiver(subscribe(before), before + 1, n);
    const Clock::time_point done = receiver.WaitFor(before + n);
    const double secs = std::chrono::duration<double>(done - t0).count();
    printf("  %-9s %-24s %9.0f events/s\n", "", "catch-up from the log", n / secs);
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
      fprintf(stderr, "usage: bus_bench [--quick] [--dir PARENT]\n");
      return 2;
    }
  }
  if (c.quick) {
    c.latency_samples = 200;
    c.throughput_events = 20'000;
  }
  TempDir tmp(c.parent);
  int major = 0, minor = 0, patch = 0;
  zmq_version(&major, &minor, &patch);
  printf("korc bus_bench%s: libzmq %d.%d.%d, ~1 KiB events, data under %s\n",
         c.quick ? " --quick" : "", major, minor, patch, tmp.path().c_str());
  auto log = Must(storage::OpenRocksDbEventLog(tmp.path() + "/log"), "open log");
  zmq::context_t ctx;
  printf("\n  %-9s %-24s %9s %9s %9s   (ms)\n", "transport", "", "p50", "p99", "max");
  BenchTransport(c, ctx, *log, "inproc", "inproc://events", "inproc://catch-up");
  BenchTransport(c, ctx, *log, "ipc", "ipc://" + tmp.path() + "/events",
                 "ipc://" + tmp.path() + "/catch-up");
  BenchTransport(c, ctx, *log, "tcp", "tcp://127.0.0.1:0", "tcp://127.0.0.1:0");
  return 0;
}

}  // namespace
}  // namespace korc::bus

int main(int argc, char** argv) { return korc::bus::Main(argc, argv); }
