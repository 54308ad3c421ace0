// Benchmarks for placement at scale (scheduler, hollow nodes, replication controller) and for
// the API server's memory and cold restart with a large log:
//   1. scheduling throughput, kube-scheduler's SchedulingBasic shape: 5,000 hollow nodes, 5,000
//      Pods scheduled as a warm-up, then 50,000 Pods created while the scheduler is stopped and
//      a fresh scheduler started: its catch-up time, then binds/s from synced to all bound
//      (with Scheduled Events, and once without);
//   2. an RC of 10,000 replicas on 5,000 hollow nodes with everything running (replication
//      controller, scheduler, hollow kubelets): RC create -> all Running, and per-pod
//      create->bound and create->Running percentiles, all from the event log's commit times;
//   3. the real `korc apiserver` binary as a child process holding 5,000 Nodes and 150,000
//      Pods: its RSS, then its cold restart time (exec -> "serving http") and RSS after it.
// Benchmarks 1 and 2 run the API server, the bus and the components in one process over
// inproc:// with a durable (fsync'd) RocksDB log, as controllers_bench does. It prints
// figures; it never passes or fails on a timing. It exits 1 when korc itself fails (an
// error reply, a stall, a child that does not start), saying what happened.
//
//   scheduler_bench [--quick] [--dir PARENT] [--korc PATH] [--only 1|2|3] [--log-level LEVEL]
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>
#include <zmq.hpp>

#include "bus/bus.h"
#include "bus/command.h"
#include "components/apiserver/api_server.h"
#include "components/controllers/manager.h"
#include "components/hollow/hollow_nodes.h"
#include "components/reactor/runtime.h"
#include "components/scheduler/scheduler.h"
#include "core/codec.h"
#include "storage/event_log.h"

namespace korc {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Scale {
  int nodes;        // hollow nodes (benchmarks 1 and 2) and Node objects (3)
  int warm_pods;    // benchmark 1's warm-up
  int pods;         // benchmark 1's measured pods
  int replicas;     // benchmark 2's RC
  int stored_pods;  // benchmark 3's Pods
  std::chrono::seconds timeout;
};
constexpr Scale kFull{5000, 5000, 50000, 10000, 150000, std::chrono::seconds(300)};
constexpr Scale kQuick{500, 500, 5000, 1000, 15000, std::chrono::seconds(120)};

// Every Pod the bench creates: one container asking for 100m cpu and 64Mi, as
// SchedulingBasic's pod template; bound at once when `node` is given.
std::string PodJson(const std::string& name, const std::string& node = {}) {
  std::string s = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
                  R"(","namespace":"default","labels":{"app":"bench"}},"spec":{)";
  if (!node.empty()) s += R"("nodeName":")" + node + R"(",)";
  s += R"("containers":[{"name":"c","image":"registry.k8s.io/pause:3.9",)"
       R"("resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]}})";
  return s;
}

// A Node as a kubelet registers it (the hollow nodes' shape), for benchmark 3.
std::string NodeJson(int i) {
  const std::string name = "node-" + std::to_string(i);
  const std::string cidr =
      "10." + std::to_string(64 + i / 256) + "." + std::to_string(i % 256) + ".0/24";
  const std::string ip =
      "198.18." + std::to_string((i + 1) / 256) + "." + std::to_string((i + 1) % 256);
  const std::string t = "2026-11-28T10:00:00Z";
  auto cond = [&](const char* type, const char* status, const char* reason) {
    return std::string(R"({"type":")") + type + R"(","status":")" + status +
           R"(","lastHeartbeatTime":")" + t + R"(","lastTransitionTime":")" + t +
           R"(","reason":")" + reason + R"(","message":"hollow"})";
  };
  return R"({"apiVersion":"v1","kind":"Node","metadata":{"name":")" + name +
         R"(","labels":{"kubernetes.io/arch":"amd64","kubernetes.io/hostname":")" + name +
         R"(","kubernetes.io/os":"linux","type":"hollow"}},"spec":{"podCIDR":")" + cidr +
         R"(","podCIDRs":[")" + cidr + R"("],"providerID":"hollow://)" + name +
         R"("},"status":{"capacity":{"cpu":"4","memory":"16Gi","pods":"110"},)"
         R"("allocatable":{"cpu":"4","memory":"16Gi","pods":"110"},"conditions":[)" +
         cond("MemoryPressure", "False", "KubeletHasSufficientMemory") + "," +
         cond("DiskPressure", "False", "KubeletHasNoDiskPressure") + "," +
         cond("PIDPressure", "False", "KubeletHasSufficientPID") + "," +
         cond("Ready", "True", "KubeletReady") +
         R"(],"addresses":[{"type":"InternalIP",)"
         R"("address":")" +
         ip + R"("},{"type":"Hostname","address":")" + name +
         R"("}],"daemonEndpoints":{"kubeletEndpoint":{"Port":10250}},"nodeInfo":{)"
         R"("machineID":"0123456789abcdef0123456789abcdef","systemUUID":)"
         R"("01234567-89ab-cdef-0123-456789abcdef","bootID":"01234567-89ab-cdef-0123-)"
         R"(456789abcdef","kernelVersion":"hollow","osImage":"hollow","containerRuntimeVersion":)"
         R"("hollow://0","kubeletVersion":"v1.29.0-korc-hollow","kubeProxyVersion":)"
         R"("v1.29.0-korc-hollow","operatingSystem":"linux","architecture":"amd64"}}})";
}

bus::CommandRequest Post(std::string path, std::string body) {
  bus::CommandRequest r;
  r.actor = "bench";
  r.method = "POST";
  r.path = std::move(path);
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

// ---- commands, pipelined ----

struct PipelineResult {
  size_t ok = 0;
  size_t failed = 0;
  double seconds = 0;
  bool stalled = false;
  std::string first_error;
  double rate() const { return seconds > 0 ? ok / seconds : 0; }
};

// Sends n requests on one CommandClient with up to `window` outstanding, matching replies by
// tag. A reply that is not 2xx counts as failed (the first is kept); no reply for 30 s is a
// stall and ends it.
PipelineResult Pipeline(zmq::context_t& ctx, const std::string& endpoint, size_t n,
                        const std::function<bus::CommandRequest(size_t)>& make,
                        size_t window = 500) {
  PipelineResult out;
  auto client = bus::ConnectCommandClient(ctx, endpoint);
  if (!client.ok()) {
    out.stalled = true;
    out.first_error = "connect " + endpoint + ": " + client.status().ToString();
    return out;
  }
  std::unordered_map<uint64_t, size_t> outstanding;  // tag -> index
  size_t sent = 0, answered = 0;
  const auto t0 = Clock::now();
  while (answered < n) {
    while (sent < n && outstanding.size() < window) {
      bus::CommandRequest r = make(sent);
      r.tag = sent + 1;
      if (Status st = (*client)->Send(r); !st.ok()) {
        out.stalled = true;
        out.first_error = "send: " + st.ToString();
        out.seconds = Seconds(Clock::now() - t0);
        return out;
      }
      outstanding.emplace(r.tag, sent);
      ++sent;
    }
    auto reply = (*client)->Receive(std::chrono::seconds(30));
    if (!reply.ok()) {
      if (out.first_error.empty()) out.first_error = "receive: " + reply.status().ToString();
      continue;
    }
    if (!reply->has_value()) {
      out.stalled = true;
      out.first_error = "no reply for 30 s with " + std::to_string(outstanding.size()) +
                        " requests outstanding (" + std::to_string(answered) + " of " +
                        std::to_string(n) + " answered)";
      break;
    }
    auto it = outstanding.find((*reply)->tag);
    if (it == outstanding.end()) continue;
    outstanding.erase(it);
    ++answered;
    const int code = (*reply)->code;
    if (code >= 200 && code < 300) {
      ++out.ok;
    } else {
      if (out.failed++ == 0) {
        out.first_error = std::to_string(code) + ": " + (*reply)->body.substr(0, 300);
      }
    }
  }
  out.seconds = Seconds(Clock::now() - t0);
  return out;
}

bool Report(const char* what, const PipelineResult& r) {
  if (r.stalled || r.failed > 0) {
    std::printf("FAILED %s: %zu accepted, %zu refused, %s; first error: %s\n", what, r.ok, r.failed,
                r.stalled ? "stalled" : "finished", r.first_error.c_str());
    return false;
  }
  return true;
}

// ---- an API server in this process over inproc:// ----

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& parent, const char* name) {
    std::string tmpl = parent + "/" + name + "-XXXXXX";
    if (char* p = mkdtemp(tmpl.data())) path = p;
  }
  ~TempDir() {
    if (!path.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  }
};

// Member order is destruction order reversed: the server goes first, the zmq context after
// every socket, the log after the server, the directory last.
struct Cluster {
  TempDir dir;
  std::unique_ptr<storage::EventLog> log;
  zmq::context_t ctx;
  std::unique_ptr<bus::Publisher> publisher;
  std::unique_ptr<bus::CatchUpServer> catch_up;
  std::unique_ptr<apiserver::ApiServer> server;
  reactor::RuntimeOptions ro;

  explicit Cluster(const std::string& parent) : dir(parent, "korc-scheduler-bench") {}
  ~Cluster() {
    if (server) server->Stop();
  }

  bool Start() {
    if (dir.path.empty()) {
      std::printf("FAILED: mkdtemp in the --dir parent\n");
      return false;
    }
    auto l = storage::OpenRocksDbEventLog(dir.path + "/log");
    if (!l.ok()) return Fail("open log", l.status());
    log = std::move(*l);
    auto p = bus::MakePublisher(ctx, {"inproc://events"});
    if (!p.ok()) return Fail("publisher", p.status());
    publisher = std::move(*p);
    auto c = bus::StartCatchUpServer(ctx, *log, "inproc://catch-up");
    if (!c.ok()) return Fail("catch-up", c.status());
    catch_up = std::move(*c);
    apiserver::ApiServerOptions o;
    o.port = 0;
    o.bus_context = &ctx;
    o.command_endpoint = "inproc://commands";
    auto s = apiserver::ApiServer::Start(*log, publisher.get(), o);
    if (!s.ok()) return Fail("api server", s.status());
    server = std::move(*s);
    ro.publisher_endpoint = "inproc://events";
    ro.catch_up_endpoint = "inproc://catch-up";
    ro.command_endpoint = server->command_endpoint();
    return true;
  }

  static bool Fail(const char* what, const Status& st) {
    std::printf("FAILED %s: %s\n", what, st.ToString().c_str());
    return false;
  }
};

// A reducer in a runtime on its own thread, stopped and joined on destruction.
class Running {
 public:
  Running(zmq::context_t& ctx, const reactor::Reducer& reducer, const reactor::RuntimeOptions& ro)
      : runtime_(ctx, reducer, ro), thread_([this] { result_ = runtime_.Run(stop_); }) {}
  ~Running() { (void)Stop(); }
  Status Stop() {
    if (thread_.joinable()) {
      stop_.store(true);
      thread_.join();
    }
    return result_;
  }
  const reactor::RuntimeStats& stats() const { return runtime_.stats(); }

 private:
  reactor::Runtime runtime_;
  std::atomic<bool> stop_{false};
  Status result_ = Status::Ok();
  std::thread thread_;
};

// Waits until the runtime has had every command it sent answered, and has stayed so for
// 200 ms. Every runtime is stopped only after this, so one phase's commands never land in
// the next phase's measurement.
bool Drain(const char* who, const reactor::RuntimeStats& s) {
  auto outstanding = [&] {
    return s.commands_sent.load() - s.commands_resent.load() - s.commands_accepted.load() -
           s.commands_failed.load();
  };
  auto quiet_since = Clock::now();
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() - quiet_since < std::chrono::milliseconds(200)) {
    if (outstanding() != 0) quiet_since = Clock::now();
    if (Clock::now() > deadline) {
      std::printf("FAILED: %s still has %llu commands unanswered after 60 s\n", who,
                  (unsigned long long)outstanding());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Reads the log from where it left off to the head, event by event.
class LogTail {
 public:
  LogTail(const storage::EventLog& log, uint64_t after) : log_(log), read_to_(after) {}
  // false (after printing why) when the log cannot be read.
  bool Poll(const std::function<void(Event&)>& fn) {
    const uint64_t head = log_.Head();
    if (head <= read_to_) return true;
    Status st = log_.ReadEvents(read_to_ + 1, head, [&](Event& e) {
      fn(e);
      return true;
    });
    if (!st.ok()) {
      std::printf("FAILED reading the log: %s\n", st.ToString().c_str());
      return false;
    }
    read_to_ = head;
    return true;
  }

 private:
  const storage::EventLog& log_;
  uint64_t read_to_;
};

// Polls `done` every 5 ms until it holds or `timeout` passes; false on timeout.
bool WaitFor(std::chrono::seconds timeout, const std::function<bool()>& done) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

bool HasNodeName(const std::string& pod_json) {
  return pod_json.find(R"("nodeName":")") != std::string::npos;
}

// Counts Pods the scheduler bound (MODIFIED by system:scheduler with spec.nodeName) and Nodes
// added, from the log.
struct Tally {
  size_t nodes = 0;
  size_t bind_events = 0;
  std::unordered_set<std::string> bound;
  void Add(const Event& e) {
    if (e.kind == "Node" && e.type == EventType::kAdded) ++nodes;
    if (e.kind == "Pod" && e.type == EventType::kModified && e.actor == "system:scheduler" &&
        HasNodeName(e.object)) {
      ++bind_events;  // the scheduler writes no other Pod change here: a second one is a rebind
      bound.insert(e.name);
    }
  }
};

void PrintStats(const char* who, const reactor::RuntimeStats& s) {
  std::printf(
      "    %-16s %llu events folded, %llu decisions, %llu commands accepted, %llu "
      "refused, %llu resent\n",
      who, (unsigned long long)s.events.load(), (unsigned long long)s.reconciles.load(),
      (unsigned long long)s.commands_accepted.load(), (unsigned long long)s.commands_failed.load(),
      (unsigned long long)s.commands_resent.load());
}

hollow::HollowNodesOptions HollowOptions(int count) {
  hollow::HollowNodesOptions ho;
  ho.count = count;
  // Long, so heartbeats add next to nothing during a run (kube-scheduler's benchmark has
  // no kubelets at all).
  ho.heartbeat_period = std::chrono::hours(1);
  return ho;
}

// Registers `count` hollow nodes; returns the seconds it took, or nullopt.
std::optional<double> RegisterNodes(Cluster& c, Running& nodes, int count,
                                    std::chrono::seconds timeout) {
  Tally t;
  LogTail tail(*c.log, 0);
  const auto t0 = Clock::now();
  bool ok = true;
  if (!WaitFor(timeout,
               [&] {
                 ok = ok && tail.Poll([&](Event& e) { t.Add(e); });
                 return !ok || t.nodes >= size_t(count);
               }) ||
      !ok) {
    std::printf("FAILED: %zu of %d hollow nodes registered in %lld s\n", t.nodes, count,
                (long long)timeout.count());
    PrintStats("hollow nodes", nodes.stats());
    return std::nullopt;
  }
  return Seconds(Clock::now() - t0);
}

// ---- 1. scheduling throughput ----

struct ThroughputResult {
  double register_s = 0, warm_s = 0, create_rate = 0, catch_up_s = 0, bind_s = 0;
  double log_bind_s = 0;  // first to last bind, by commit times
  uint64_t decisions = 0;
  // Mean per decision with commands, in ms: decision clock -> its first commit, first -> last
  // commit, last commit -> the next decision's clock; and commands per decision.
  struct {
    double to_first_ms = 0, commits_ms = 0, to_next_ms = 0, commands = 0, group_commits = 0;
  } per_decision;
};

bool SchedulingThroughput(const std::string& parent, const Scale& sc, bool scheduled_events,
                          ThroughputResult* out) {
  Cluster c(parent);
  if (!c.Start()) return false;
  {
    hollow::HollowNodesReducer reducer(HollowOptions(sc.nodes));
    Running nodes(c.ctx, reducer, c.ro);
    auto s = RegisterNodes(c, nodes, sc.nodes, sc.timeout);
    if (!s) return false;
    out->register_s = *s;
    if (!Drain("hollow nodes", nodes.stats())) return false;
    if (Status st = nodes.Stop(); !st.ok()) return Cluster::Fail("hollow nodes runtime", st);
  }
  scheduler::SchedulerOptions so;
  so.scheduled_events = scheduled_events;
  scheduler::SchedulerReducer reducer(so);

  Tally t;
  LogTail tail(*c.log, 0);
  bool read_ok = true;
  auto bound_at_least = [&](size_t n) {
    read_ok = read_ok && tail.Poll([&](Event& e) { t.Add(e); });
    return !read_ok || t.bound.size() >= n;
  };
  auto pod_request = [](size_t base) {
    return [base](size_t i) {
      return Post("/api/v1/namespaces/default/pods", PodJson("pod-" + std::to_string(base + i)));
    };
  };

  // Warm-up: the scheduler places pods as they are created.
  {
    Running sched(c.ctx, reducer, c.ro);
    if (!WaitFor(sc.timeout, [&] { return sched.stats().synced.load(); })) {
      std::printf("FAILED: the scheduler did not sync\n");
      return false;
    }
    const auto t0 = Clock::now();
    PipelineResult r = Pipeline(c.ctx, c.ro.command_endpoint, sc.warm_pods, pod_request(0));
    if (!Report("warm-up pod creates", r)) return false;
    if (!WaitFor(sc.timeout, [&] { return bound_at_least(sc.warm_pods); }) || !read_ok) {
      std::printf("FAILED: warm-up: %zu of %d pods bound\n", t.bound.size(), sc.warm_pods);
      PrintStats("scheduler", sched.stats());
      return false;
    }
    out->warm_s = Seconds(Clock::now() - t0);
    if (!Drain("scheduler", sched.stats())) return false;
    if (Status st = sched.Stop(); !st.ok()) return Cluster::Fail("scheduler runtime", st);
  }

  // The backlog, with no scheduler running.
  PipelineResult r = Pipeline(c.ctx, c.ro.command_endpoint, sc.pods, pod_request(sc.warm_pods));
  if (!Report("pod creates", r)) return false;
  out->create_rate = r.rate();
  if (!read_ok || !tail.Poll([&](Event& e) { t.Add(e); })) return false;
  if (t.bound.size() != size_t(sc.warm_pods)) {
    std::printf("FAILED: %zu pods bound while no scheduler ran (expected %d)\n", t.bound.size(),
                sc.warm_pods);
    return false;
  }
  const uint64_t backlog_head = c.log->Head();

  // A fresh scheduler: catch up, then place the backlog.
  const size_t total = size_t(sc.warm_pods) + size_t(sc.pods);
  Running sched(c.ctx, reducer, c.ro);
  const auto t0 = Clock::now();
  if (!WaitFor(sc.timeout, [&] { return sched.stats().synced.load(); })) {
    std::printf("FAILED: the fresh scheduler did not sync in %lld s\n",
                (long long)sc.timeout.count());
    return false;
  }
  const auto t1 = Clock::now();
  if (!WaitFor(sc.timeout, [&] { return bound_at_least(total); }) || !read_ok) {
    std::printf("FAILED: %zu of %zu pods bound\n", t.bound.size(), total);
    PrintStats("scheduler", sched.stats());
    return false;
  }
  const auto t2 = Clock::now();
  out->catch_up_s = Seconds(t1 - t0);
  out->bind_s = Seconds(t2 - t1);
  out->decisions = sched.stats().reconciles.load();
  if (!Drain("scheduler", sched.stats())) return false;
  if (Status st = sched.Stop(); !st.ok()) return Cluster::Fail("scheduler runtime", st);
  if (t.bind_events != t.bound.size()) {
    std::printf("FAILED: %zu bind events for %zu pods\n", t.bind_events, t.bound.size());
    return false;
  }
  // The backlog's decisions, from the log: each command carries the view seq (basis) and
  // clock reading its decision was made on, and its own commit time.
  struct Decided {
    int64_t clock = 0, first = 0, last = 0;
    size_t commands = 0;
    std::set<int64_t> commits;  // a group commit's events share its time
  };
  std::map<uint64_t, Decided> decided;  // by basis
  int64_t first = 0, last = 0;
  Status st = c.log->ReadEvents(backlog_head + 1, 0, [&](Event& e) {
    if (e.actor != "system:scheduler") return true;
    if (e.kind == "Pod" && e.type == EventType::kModified) {
      if (first == 0) first = e.time_ns;
      last = e.time_ns;
    }
    Decided& d = decided[e.basis];
    if (d.commands++ == 0) {
      d.clock = e.basis_time_ns;
      d.first = e.time_ns;
    }
    d.first = std::min(d.first, e.time_ns);
    d.last = std::max(d.last, e.time_ns);
    d.commits.insert(e.time_ns);
    return true;
  });
  if (!st.ok()) return Cluster::Fail("reading the log", st);
  out->log_bind_s = (last - first) / 1e9;
  double to_first = 0, commits = 0, to_next = 0;
  size_t commands = 0, group_commits = 0, gaps = 0;
  const Decided* prev = nullptr;
  for (const auto& [basis, d] : decided) {
    to_first += (d.first - d.clock) / 1e6;
    commits += (d.last - d.first) / 1e6;
    commands += d.commands;
    group_commits += d.commits.size();
    if (prev) {
      to_next += (d.clock - prev->last) / 1e6;
      ++gaps;
    }
    prev = &d;
  }
  const double n = std::max<size_t>(decided.size(), 1);
  out->per_decision = {to_first / n, commits / n, gaps ? to_next / gaps : 0, commands / n,
                       group_commits / n};
  return true;
}

// ---- 2. RC on hollow nodes, everything running ----

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

bool RcOnHollowNodes(const std::string& parent, const Scale& sc) {
  Cluster c(parent);
  if (!c.Start()) return false;
  hollow::HollowNodesReducer hollow_reducer(HollowOptions(sc.nodes));
  Running nodes(c.ctx, hollow_reducer, c.ro);
  auto reg = RegisterNodes(c, nodes, sc.nodes, sc.timeout);
  if (!reg) return false;

  controllers::ControllerManagerOptions mo;
  mo.runtime = c.ro;
  mo.controllers = {"replication"};
  controllers::ControllerManager manager(c.ctx, mo);
  if (Status st = manager.Start(); !st.ok()) return Cluster::Fail("controller manager", st);
  scheduler::SchedulerReducer sched_reducer;
  Running sched(c.ctx, sched_reducer, c.ro);
  const reactor::RuntimeStats& rc_stats = manager.controllers().front()->runtime->stats();
  if (!WaitFor(sc.timeout, [&] {
        return sched.stats().synced.load() && rc_stats.synced.load() && nodes.stats().synced;
      })) {
    std::printf("FAILED: components did not sync\n");
    return false;
  }

  const std::string rc =
      R"({"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"web"},)"
      R"("spec":{"replicas":)" +
      std::to_string(sc.replicas) +
      R"(,"selector":{"app":"web"},"template":{"metadata":{"labels":{"app":"web"}},)"
      R"("spec":{"containers":[{"name":"web","image":"registry.k8s.io/pause:3.9",)"
      R"("resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]}}}})";
  const uint64_t head0 = c.log->Head();
  const auto t0 = Clock::now();
  PipelineResult created = Pipeline(c.ctx, c.ro.command_endpoint, 1, [&](size_t) {
    return Post("/api/v1/namespaces/default/replicationcontrollers", rc);
  });
  if (!Report("RC create", created)) return false;

  // Live: count Pods that reached Running (a cheap look at the JSON; exact decoding below).
  std::unordered_set<std::string> running;
  LogTail tail(*c.log, head0);
  bool read_ok = true;
  const bool done = WaitFor(sc.timeout, [&] {
    read_ok = read_ok && tail.Poll([&](Event& e) {
      if (e.kind == "Pod" && e.type != EventType::kDeleted &&
          e.object.find(R"("phase":"Running")") != std::string::npos) {
        running.insert(e.name);
      }
    });
    return !read_ok || running.size() >= size_t(sc.replicas);
  });
  const double wall = Seconds(Clock::now() - t0);
  if (!done || !read_ok) {
    std::printf("FAILED: %zu of %d pods Running after %.0f s\n", running.size(), sc.replicas, wall);
    PrintStats("replication", rc_stats);
    PrintStats("scheduler", sched.stats());
    PrintStats("hollow nodes", nodes.stats());
    return false;
  }
  if (!Drain("scheduler", sched.stats()) || !Drain("hollow nodes", nodes.stats()) ||
      !Drain("replication", rc_stats)) {
    return false;
  }
  if (Status st = sched.Stop(); !st.ok()) return Cluster::Fail("scheduler runtime", st);
  if (Status st = nodes.Stop(); !st.ok()) return Cluster::Fail("hollow nodes runtime", st);
  if (Status st = manager.Stop(); !st.ok()) return Cluster::Fail("controller manager", st);

  // Exact: every Pod event since the RC, decoded.
  struct Times {
    int64_t created = 0, bound = 0, running = 0;
  };
  std::unordered_map<std::string, Times> pods;
  int64_t rc_time = 0, last_created = 0, last_bound = 0, last_running = 0;
  size_t bad = 0;
  Status st = c.log->ReadEvents(head0 + 1, 0, [&](Event& e) {
    if (e.kind == "ReplicationController" && e.type == EventType::kAdded && rc_time == 0) {
      rc_time = e.time_ns;
    }
    if (e.kind != "Pod" || e.type == EventType::kDeleted) return true;
    auto pod = DecodeJsonAs<api::Pod>(e.object, nullptr);
    if (!pod.ok()) {
      ++bad;
      return true;
    }
    Times& t = pods[e.name];
    if (e.type == EventType::kAdded && t.created == 0) {
      t.created = e.time_ns;
      last_created = std::max(last_created, e.time_ns);
    }
    if (t.bound == 0 && !pod->spec.node_name.empty()) {
      t.bound = e.time_ns;
      last_bound = std::max(last_bound, e.time_ns);
    }
    if (t.running == 0 && pod->status.phase == "Running") {
      t.running = e.time_ns;
      last_running = std::max(last_running, e.time_ns);
    }
    return true;
  });
  if (!st.ok()) return Cluster::Fail("reading the log", st);
  std::vector<double> to_bound, to_running;
  for (const auto& [name, t] : pods) {
    if (t.created && t.bound) to_bound.push_back((t.bound - t.created) / 1e6);
    if (t.created && t.running) to_running.push_back((t.running - t.created) / 1e6);
  }
  std::printf(
      "  RC of %d replicas on %d hollow nodes (replication controller, scheduler and "
      "hollow kubelets running; nodes registered in %.1f s)\n",
      sc.replicas, sc.nodes, *reg);
  std::printf("    %-44s %10s\n", "RC create ->", "log time");
  std::printf("    %-44s %9.2f s\n", "  all Pod objects created", (last_created - rc_time) / 1e9);
  std::printf("    %-44s %9.2f s\n", "  all Pods bound", (last_bound - rc_time) / 1e9);
  std::printf("    %-44s %9.2f s   (goal <= 5 s; observed by the bench at %.2f s wall)\n",
              "  all Pods Running", (last_running - rc_time) / 1e9, wall);
  std::printf("    %-44s %9s %9s %9s\n", "per pod (ms)", "p50", "p99", "max");
  std::printf("    %-44s %9.0f %9.0f %9.0f\n", "  create -> bound", Percentile(to_bound, 0.5),
              Percentile(to_bound, 0.99), Percentile(to_bound, 1));
  std::printf("    %-44s %9.0f %9.0f %9.0f\n", "  create -> Running", Percentile(to_running, 0.5),
              Percentile(to_running, 0.99), Percentile(to_running, 1));
  PrintStats("replication", rc_stats);
  PrintStats("scheduler", sched.stats());
  PrintStats("hollow nodes", nodes.stats());
  if (to_running.size() != size_t(sc.replicas) || bad) {
    std::printf("FAILED: %zu pods with all three times of %d; %zu undecodable\n", to_running.size(),
                sc.replicas, bad);
    return false;
  }
  return true;
}

// ---- 3. korc apiserver as a child: memory and cold restart ----

class Child {
 public:
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  // Starts `argv` with stdout on a pipe and stderr appended to `stderr_path`. The child is
  // killed if the bench dies.
  bool Start(const std::vector<std::string>& argv, const std::string& stderr_path) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const pid_t parent = getpid();
    buffer_.clear();
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(127);
      int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (err >= 0) dup2(err, 2);
      dup2(fds[1], 1);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
    return true;
  }

  // Reads stdout until a line containing `needle`; false at EOF or the deadline.
  bool WaitForLine(std::string_view needle, std::chrono::seconds timeout, std::string* line) {
    const auto deadline = Clock::now() + timeout;
    char buf[4096];
    for (;;) {
      size_t nl;
      while ((nl = buffer_.find('\n')) != std::string::npos) {
        std::string l = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (l.find(needle) != std::string::npos) {
          *line = l;
          return true;
        }
      }
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) return false;
      buffer_.append(buf, n);
    }
  }

  // A field of /proc/PID/status in KiB ("VmRSS", "VmHWM"); -1 when unreadable.
  long StatusKiB(const std::string& field) const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
    }
    return -1;
  }

  // SIGTERM, then waits up to `grace` (SIGKILL after it). The exit status, or -1 when killed.
  int Terminate(std::chrono::seconds grace, double* seconds) {
    const auto t0 = Clock::now();
    kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = t0 + grace;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
        *seconds = Seconds(Clock::now() - t0);
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
    *seconds = Seconds(Clock::now() - t0);
    close(out_);
    out_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

std::string Tail(const std::string& path) {
  std::ifstream f(path);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return all.size() > 1500 ? all.substr(all.size() - 1500) : all;
}

bool ApiServerMemory(const std::string& parent, const std::string& korc, const Scale& sc) {
  TempDir dir(parent, "korc-apiserver-bench");
  if (dir.path.empty()) return false;
  const std::string data = std::filesystem::absolute(dir.path + "/data").string();
  const std::string err = dir.path + "/apiserver.stderr";
  const std::vector<std::string> argv = {korc, "apiserver", "--data-dir", data, "--port", "0"};
  auto fail = [&](const std::string& what) {
    std::printf("FAILED %s; its stderr ends:\n%s\n", what.c_str(), Tail(err).c_str());
    return false;
  };

  std::string line;
  double start_s = 0, stop_s = 0, restart_s = 0;
  long rss_empty = 0, rss_full = 0, hwm_full = 0, rss_restart = 0, hwm_restart = 0;
  PipelineResult nodes_r, pods_r;
  {
    Child child;
    const auto t0 = Clock::now();
    if (!child.Start(argv, err)) return fail("starting " + korc);
    if (!child.WaitForLine("serving http", std::chrono::seconds(30), &line)) {
      return fail("korc apiserver did not say \"serving http\" within 30 s");
    }
    start_s = Seconds(Clock::now() - t0);
    rss_empty = child.StatusKiB("VmRSS");
    {
      zmq::context_t ctx;
      const std::string endpoint = "ipc://" + data + "/bus-commands";
      nodes_r = Pipeline(ctx, endpoint, sc.nodes, [](size_t i) {
        return Post("/api/v1/nodes", NodeJson(static_cast<int>(i)));
      });
      if (!Report("Node creates over ipc", nodes_r)) return fail("filling");
      pods_r = Pipeline(ctx, endpoint, sc.stored_pods, [&](size_t i) {
        return Post("/api/v1/namespaces/default/pods",
                    PodJson("pod-" + std::to_string(i), "node-" + std::to_string(i % sc.nodes)));
      });
      if (!Report("Pod creates over ipc", pods_r)) return fail("filling");
    }
    rss_full = child.StatusKiB("VmRSS");
    hwm_full = child.StatusKiB("VmHWM");
    int code = child.Terminate(std::chrono::seconds(60), &stop_s);
    if (code != 0)
      return fail("korc apiserver did not exit 0 on SIGTERM (" + std::to_string(code) + ")");
  }
  const uint64_t disk = DirBytes(data);
  {
    Child child;
    const auto t0 = Clock::now();
    if (!child.Start(argv, err)) return fail("restarting " + korc);
    if (!child.WaitForLine("serving http", sc.timeout, &line)) {
      return fail("restarted korc apiserver did not say \"serving http\"");
    }
    restart_s = Seconds(Clock::now() - t0);
    rss_restart = child.StatusKiB("VmRSS");
    hwm_restart = child.StatusKiB("VmHWM");
    double s = 0;
    int code = child.Terminate(std::chrono::seconds(60), &s);
    if (code != 0) return fail("restarted korc apiserver did not exit 0 on SIGTERM");
  }
  auto mib = [](long kib) { return kib / 1024.0; };
  std::printf(
      "  korc apiserver (child process) with %d Nodes and %d Pods (bound, %zu-byte "
      "request), durable log\n",
      sc.nodes, sc.stored_pods, PodJson("pod-100000", "node-1000").size());
  std::printf("    %-44s %9.2f s\n", "first start (empty data dir)", start_s);
  std::printf("    %-44s %9.0f /s   (%d in %.1f s)\n", "Node creates over ipc, 500 outstanding",
              nodes_r.rate(), sc.nodes, nodes_r.seconds);
  std::printf("    %-44s %9.0f /s   (%d in %.1f s)\n", "Pod creates over ipc, 500 outstanding",
              pods_r.rate(), sc.stored_pods, pods_r.seconds);
  std::printf("    %-44s %9.0f MiB\n", "RSS empty", mib(rss_empty));
  std::printf("    %-44s %9.0f MiB  (peak %.0f MiB)\n", "RSS filled", mib(rss_full), mib(hwm_full));
  std::printf("    %-44s %9.2f s\n", "SIGTERM -> exit", stop_s);
  std::printf("    %-44s %9.0f MiB\n", "data dir on disk", disk / 1048576.0);
  const size_t at = line.find("(log head seq");
  const std::string head =
      at == std::string::npos ? "" : line.substr(at, line.find(')', at) - at + 1);
  std::printf("    %-44s %9.2f s    (goal <= 5 s; it said %s)\n",
              "cold restart: exec -> \"serving http\"", restart_s, head.c_str());
  std::printf("    %-44s %9.0f MiB  (peak %.0f MiB; goal <= 2048 MiB)\n", "RSS after restart",
              mib(rss_restart), mib(hwm_restart));
  return true;
}

std::string DefaultKorc() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "build-release/cli/korc";
  // build-release/bench/scheduler/scheduler_bench -> build-release/cli/korc
  return (self.parent_path().parent_path().parent_path() / "cli" / "korc").string();
}

}  // namespace
}  // namespace korc

int main(int argc, char** argv) {
  using namespace korc;
  bool quick = false;
  int only = 0;
  std::string parent = std::filesystem::temp_directory_path().string();
  std::string korc_path = DefaultKorc();
  std::string log_level = "warn";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--dir" && i + 1 < argc) {
      parent = argv[++i];
    } else if (a == "--korc" && i + 1 < argc) {
      korc_path = argv[++i];
    } else if (a == "--only" && i + 1 < argc) {
      only = std::atoi(argv[++i]);
    } else if (a == "--log-level" && i + 1 < argc) {
      log_level = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: scheduler_bench [--quick] [--dir PARENT] [--korc PATH] [--only 1|2|3] "
                   "[--log-level LEVEL]\n");
      return 2;
    }
  }
  // The runtimes log every decision at info; that is thousands of lines here.
  spdlog::set_level(spdlog::level::from_str(log_level));
  setvbuf(stdout, nullptr, _IOLBF, 0);
  const Scale& sc = quick ? kQuick : kFull;
  const auto t0 = std::chrono::steady_clock::now();
  bool ok = true;

  if (ok && (only == 0 || only == 1)) {
    std::printf(
        "1. Scheduling throughput: %d hollow nodes, %d pods warm-up, then %d pods "
        "created with the scheduler stopped (100m cpu, 64Mi each)\n",
        sc.nodes, sc.warm_pods, sc.pods);
    std::printf("    %-22s %9s %9s %9s %10s %9s %10s %9s %9s\n", "Scheduled Events", "nodes s",
                "warm-up s", "create/s", "catch-up s", "bind s", "binds/s", "log s", "decisions");
    std::vector<decltype(ThroughputResult::per_decision)> breakdown;
    for (bool events : {true, false}) {
      ThroughputResult r;
      if (!SchedulingThroughput(parent, sc, events, &r)) {
        ok = false;
        break;
      }
      std::printf("    %-22s %9.1f %9.1f %9.0f %10.2f %9.2f %10.0f %9.2f %9llu\n",
                  events ? "on (default)" : "off", r.register_s, r.warm_s, r.create_rate,
                  r.catch_up_s, r.bind_s, sc.pods / r.bind_s, r.log_bind_s,
                  (unsigned long long)r.decisions);
      breakdown.push_back(r.per_decision);
    }
    for (size_t i = 0; i < breakdown.size(); ++i) {
      const auto& b = breakdown[i];
      std::printf(
          "    events %-3s per decision (mean, commit times): decide -> 1st commit %.0f ms, "
          "%.0f commands in %.0f group commits over %.0f ms, last commit -> next "
          "decision %.0f ms\n",
          i == 0 ? "on" : "off", b.to_first_ms, b.commands, b.group_commits, b.commits_ms,
          b.to_next_ms);
    }
    std::printf(
        "    binds/s: %d pods / (synced -> all bound), goal >= 5000 (kube-scheduler's CI "
        "floor for SchedulingBasic 5000 nodes: 810); log s: first to last bind by "
        "commit time\n",
        sc.pods);
  }
  if (ok && (only == 0 || only == 2)) {
    std::printf("2. Replication controller on hollow nodes\n");
    ok = RcOnHollowNodes(parent, sc);
  }
  if (ok && (only == 0 || only == 3)) {
    std::printf("3. API server memory and cold restart (%s)\n", korc_path.c_str());
    ok = ApiServerMemory(parent, korc_path, sc);
  }
  std::printf("total %.0f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return ok ? 0 : 1;
}
