// Benchmarks for the kubelet running real busybox containers, per container runtime:
//   1. create -> Running latency: Pods created one after another, each waiting until it is
//      Running with Ready=True before the next; p50/p99/max from the HTTP POST to the watch
//      event that shows it Running and Ready;
//   2. start rate: 100 Pods created at once; time from the first POST until all are Running
//      and Ready, Pods/s, and the per-pod latency under that load; then their deletion
//      (DELETE -> all gone);
//   3. memory: this process's VmRSS before the 100 Pods and with them running. The API
//      server runs in this process too, so the figure is an upper bound for the kubelet.
//   4. image cache: Pods whose image comes from a loopback docker-registry (LocalRegistry,
//      started once by this process): busybox plus a layer of 20 MB of random bytes, as
//      <registry>/bench/busybox:1. Cold: the image is removed from the node's store
//      (ImageStore::Remove: its root and every blob) before each round, so each Pod pulls,
//      verifies and unpacks every layer; warm: the image stored, imagePullPolicy IfNotPresent
//      (no registry request) and Always (a manifest request). Pods one after another, each
//      deleted before the next; p50/min/max from POST to Running and Ready. Skipped when
//      docker-registry or skopeo is missing.
// Every Pod: `sh -c "exec sleep 3600"`, restartPolicy Always, grace period 1 s, bound to
// node-a (no scheduler); in 1-3 the imported busybox with imagePullPolicy IfNotPresent. Set
// up as tests/kubelet/agent/kubelet_test.cc does: the whole process in a network and mount
// namespace of its own (loopback only), an in-process API server and bus (TestCluster), a
// busybox image built from /bin/busybox, and kubelet::Kubelet with stop_pods_on_exit. Needs
// root. It prints figures; it never passes or fails on a timing. It exits 1 when korc itself
// fails (an error reply, a stall, processes left behind), saying what happened.
//
//   kubelet_bench [--quick] [--runtime process|runc|both] [--log-level LEVEL]
#include <net/if.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "components/kubelet/agent/kubelet.h"
#include "components/kubelet/images/image_store.h"
#include "tests/apiserver/http_client.h"
#include "tests/images/oci_builder.h"
#include "tests/images/registry_fixture.h"
#include "tests/integration/cluster.h"

namespace korc {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct Scale {
  int sequential;  // benchmark 1
  int burst;       // benchmarks 2 and 3
  std::chrono::seconds timeout;
  int pulls;  // benchmark 4: rounds of each of cold, warm IfNotPresent, warm Always
};
constexpr Scale kFull{50, 100, std::chrono::seconds(300), 5};
constexpr Scale kQuick{10, 20, std::chrono::seconds(180), 2};

// The image of benchmark 4, pushed once to a loopback registry for every runtime's run.
struct PulledImage {
  std::string reference;         // <registry address>/bench/busybox:1
  int64_t compressed_bytes = 0;  // the layers' blobs as the registry serves them
  int64_t file_bytes = 0;        // of the files in the layers (uncompressed)
  std::string skipped;           // why benchmark 4 does not run; "" when it does
};

constexpr int kRandomFiles = 4;
constexpr size_t kRandomFileBytes = 5 << 20;  // 4 x 5 MiB of incompressible bytes

// Starts `registry` and pushes busybox (layer 1) plus kRandomFiles files of random bytes
// (layer 2), both gzip, as bench/busybox:1. Fills `image`, or image->skipped saying why not.
void PushPullImage(korc::testing::LocalRegistry& registry, const std::string& dir,
                   PulledImage* image) {
  if (auto missing = korc::testing::LocalRegistry::MissingTools(); !missing.empty()) {
    image->skipped = missing;
    return;
  }
  if (auto st = registry.Start(); !st.ok()) {
    image->skipped = "registry: " + st.ToString();
    return;
  }
  auto b = korc::testing::OciLayoutBuilder::Create(dir);
  if (!b.ok()) {
    image->skipped = "layout: " + b.status().ToString();
    return;
  }
  auto busybox = korc::testing::BusyboxEntries();
  if (!busybox.ok()) {
    image->skipped = "busybox: " + busybox.status().ToString();
    return;
  }
  std::vector<korc::testing::Entry> data = {korc::testing::Entry::Dir("data")};
  std::mt19937_64 rng(42);
  for (int f = 0; f < kRandomFiles; ++f) {
    std::string bytes(kRandomFileBytes, '\0');
    for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
      const uint64_t v = rng();
      std::memcpy(bytes.data() + i, &v, 8);
    }
    data.push_back(
        korc::testing::Entry::File("data/random-" + std::to_string(f) + ".bin", std::move(bytes)));
  }
  auto l1 = b->AddLayer(*busybox);
  auto l2 = b->AddLayer(data);
  if (!l1.ok() || !l2.ok()) {
    image->skipped = "layers: " + (l1.ok() ? l2.status() : l1.status()).ToString();
    return;
  }
  auto img = b->AddImage({}, {*l1, *l2});
  if (!img.ok()) {
    image->skipped = "image: " + img.status().ToString();
    return;
  }
  if (auto st = b->Write("1", *img); !st.ok()) {
    image->skipped = "layout: " + st.ToString();
    return;
  }
  auto digest = registry.Push(b->dir(), "1", "bench/busybox:1");
  if (!digest.ok()) {
    image->skipped = "push: " + digest.status().ToString();
    return;
  }
  image->reference = registry.address() + "/bench/busybox:1";
  image->compressed_bytes = l1->size + l2->size;
  for (const auto* entries : {&*busybox, &data}) {
    for (const auto& e : *entries) image->file_bytes += static_cast<int64_t>(e.content.size());
  }
}

// Moves the process into a network and mount namespace of its own with loopback up, as
// kubelet_test's OwnNetwork: the node's bridge and the Pods' addresses exist only there.
// Must run before any thread starts.
bool OwnNetwork() {
  if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) return false;
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return false;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  struct ifreq ifr = {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  ioctl(fd, SIOCGIFFLAGS, &ifr);
  ifr.ifr_flags |= IFF_UP;
  const bool ok = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
  close(fd);
  return ok;
}

// A busybox root: /bin/busybox and a link per applet (kubelet_test's BuildBusyboxRoot).
std::string BuildBusyboxRoot(const std::string& dir) {
  fs::create_directories(dir + "/bin");
  fs::create_directories(dir + "/etc");
  fs::create_directories(dir + "/tmp");
  fs::copy_file("/bin/busybox", dir + "/bin/busybox", fs::copy_options::overwrite_existing);
  for (const char* applet : {"sh", "sleep", "true", "cat", "echo"}) {
    fs::create_symlink("busybox", dir + "/bin/" + applet);
  }
  std::ofstream(dir + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
  return dir;
}

long RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// korc-shim processes whose command line mentions `dir`.
int Shims(const std::string& dir) {
  int n = 0;
  std::error_code ec;
  for (const auto& p : fs::directory_iterator("/proc", ec)) {
    std::ifstream cmd(p.path() / "cmdline");
    std::string s((std::istreambuf_iterator<char>(cmd)), {});
    if (s.find("korc-shim") != std::string::npos && s.find(dir) != std::string::npos) ++n;
  }
  return n;
}

bool RunningAndReady(const json& pod) {
  if (!pod.contains("status") || pod["status"].value("phase", "") != "Running") return false;
  for (const auto& c : pod["status"].value("conditions", json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

// busybox is imported, not pulled: IfNotPresent (busybox means :latest, whose default
// policy, Always, would ask Docker Hub), as kubelet_test's Container().
std::string PodJson(const std::string& name, const std::string& image = "busybox",
                    const std::string& pull_policy = "IfNotPresent") {
  json container = {{"name", "c"},
                    {"image", image},
                    {"imagePullPolicy", pull_policy},
                    {"command", {"sh", "-c", "exec sleep 3600"}}};
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", name}, {"namespace", "default"}}},
              {"spec",
               {{"nodeName", "node-a"},
                {"restartPolicy", "Always"},
                {"terminationGracePeriodSeconds", 1},
                {"containers", {container}}}}};
  return pod.dump();
}

// A watch on the default namespace's Pods, on a thread of its own: the time each Pod was
// first seen Running and Ready, and the time it was deleted.
class PodWatch {
 public:
  explicit PodWatch(uint16_t port) : port_(port) {}
  ~PodWatch() { Stop(); }

  // Opens the watch; returns once the server has answered 200.
  bool Start(std::string* error) {
    namespace net = boost::asio;
    namespace http = boost::beast::http;
    boost::beast::error_code ec;
    socket_.connect({net::ip::make_address("127.0.0.1"), port_}, ec);
    if (ec) {
      *error = "connect: " + ec.message();
      return false;
    }
    http::request<http::empty_body> req{http::verb::get,
                                        "/api/v1/namespaces/default/pods?watch=true", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::accept, "application/json");
    http::write(socket_, req, ec);
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
    while (!ec && !parser_.is_header_done()) {
      parser_.get().body().data = chunk_;
      parser_.get().body().size = sizeof chunk_;
      http::read_some(socket_, buffer_, parser_, ec);
      if (ec == http::error::need_buffer) ec = {};
      pending_.append(chunk_, sizeof chunk_ - parser_.get().body().size);
    }
    if (ec || parser_.get().result_int() != 200) {
      *error = "watch: " + (ec ? ec.message() : std::to_string(parser_.get().result_int()));
      return false;
    }
    thread_ = std::thread([this] { Loop(); });
    return true;
  }

  void Stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    ::shutdown(socket_.native_handle(), SHUT_RDWR);
    thread_.join();
  }

  // Waits until `name` has been seen Running and Ready; its time then.
  std::optional<Clock::time_point> WaitReady(const std::string& name, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return ready_.count(name) || ended_; });
    auto it = ready_.find(name);
    if (it == ready_.end()) return std::nullopt;
    return it->second;
  }
  // Waits until `n` Pods whose names start with `prefix` are Running and Ready, or deleted.
  bool WaitCount(const std::string& prefix, size_t n, bool deleted, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return cv_.wait_until(lock, deadline, [&] {
      size_t k = 0;
      for (const auto& [name, t] : deleted ? deleted_ : ready_) k += name.rfind(prefix, 0) == 0;
      return k >= n || ended_;
    }) && !ended_;
  }
  std::map<std::string, Clock::time_point> ready() {
    std::lock_guard lock(mu_);
    return ready_;
  }
  std::map<std::string, Clock::time_point> deleted() {
    std::lock_guard lock(mu_);
    return deleted_;
  }
  std::string error() {
    std::lock_guard lock(mu_);
    return error_;
  }

 private:
  void Loop() {
    namespace http = boost::beast::http;
    Consume();
    while (!parser_.is_done()) {
      boost::beast::error_code ec;
      parser_.get().body().data = chunk_;
      parser_.get().body().size = sizeof chunk_;
      http::read_some(socket_, buffer_, parser_, ec);
      if (ec == http::error::need_buffer) ec = {};
      pending_.append(chunk_, sizeof chunk_ - parser_.get().body().size);
      Consume();
      if (ec) {
        std::lock_guard lock(mu_);
        if (!stopping_) error_ = "watch ended: " + ec.message();
        break;
      }
    }
    std::lock_guard lock(mu_);
    ended_ = true;
    if (error_.empty() && !stopping_) error_ = "watch ended";
    cv_.notify_all();
  }

  // Handles every complete line (one watch event each) in pending_.
  void Consume() {
    size_t start = 0;
    for (size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
      const auto now = Clock::now();
      json e = json::parse(pending_.begin() + start, pending_.begin() + nl, nullptr, false);
      if (e.is_discarded() || !e.contains("object")) continue;
      const std::string type = e.value("type", "");
      const std::string name = e["object"]["metadata"].value("name", "");
      std::lock_guard lock(mu_);
      if (type == "DELETED") {
        deleted_.emplace(name, now);
      } else if (RunningAndReady(e["object"])) {
        ready_.emplace(name, now);
      }
      cv_.notify_all();
    }
    pending_.erase(0, start);
  }

  uint16_t port_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_{io_};
  boost::beast::flat_buffer buffer_;
  boost::beast::http::response_parser<boost::beast::http::buffer_body> parser_;
  char chunk_[64 * 1024];
  std::string pending_;  // the watch thread's, once started
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> ready_;    // guarded by mu_
  std::map<std::string, Clock::time_point> deleted_;  // guarded by mu_
  bool ended_ = false;                                // guarded by mu_
  std::string error_;                                 // guarded by mu_
};

// One runtime's run: its own cluster, node directory and kubelet; everything removed after.
class Bench {
 public:
  Bench(std::string runtime, const Scale& sc, const PulledImage& pulled)
      : runtime_(std::move(runtime)), sc_(sc), pulled_(pulled) {}

  bool Run() {
    bool ok = Setup() && Sequential() && Burst() && Pulls();
    ok = Teardown() && ok;
    return ok;
  }

 private:
  bool Fail(const std::string& what) {
    std::printf("FAILED (%s): %s\n", runtime_.c_str(), what.c_str());
    return false;
  }

  bool Setup() {
    if (auto st = cluster_.Start(); !st.ok()) return Fail("cluster: " + st.ToString());
    char tmpl[] = "/tmp/korc-kubelet-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Fail("mkdtemp");
    dir_ = tmpl;
    {
      auto store = kubelet::images::ImageStore::Open(dir_ + "/node/images");
      if (!store.ok()) return Fail("image store: " + store.status().ToString());
      auto img = (*store)->Import("busybox:latest", BuildBusyboxRoot(dir_ + "/busybox"));
      if (!img.ok()) return Fail("image import: " + img.status().ToString());
    }
    kubelet::KubeletOptions o;
    o.node_name = "node-a";
    o.data_dir = dir_ + "/node";
    o.pod_cidr = "10.250.0.0/23";
    o.runtime = runtime_;
    o.stop_pods_on_exit = true;
    o.bus = cluster_.runtime_options();
    auto k = kubelet::Kubelet::Start(cluster_.ctx(), o);
    if (!k.ok()) return Fail("kubelet start: " + k.status().ToString());
    kubelet_ = std::move(*k);
    watch_ = std::make_unique<PodWatch>(cluster_.port());
    std::string error;
    if (!watch_->Start(&error)) return Fail(error);
    const auto deadline = Clock::now() + 60s;
    while (Clock::now() < deadline && !kubelet_->synced()) std::this_thread::sleep_for(10ms);
    if (!kubelet_->synced()) return Fail("kubelet not synced after 60 s");
    return true;
  }

  bool Create(const std::string& name, const std::string& body = "") {
    auto r = korc::testing::Http(cluster_.port(), "POST", "/api/v1/namespaces/default/pods",
                                 body.empty() ? PodJson(name) : body);
    if (r.code != 201) return Fail("create " + name + ": " + std::to_string(r.code) + " " + r.body);
    return true;
  }

  std::string Stuck(const std::string& name) {
    auto r = korc::testing::Http(cluster_.port(), "GET", "/api/v1/namespaces/default/pods/" + name);
    return name + " (last: " + r.body.substr(0, 1500) + ")" +
           (watch_->error().empty() ? "" : "; " + watch_->error());
  }

  // Deletes the Pods named prefix0..prefix(n-1) and waits until they are gone.
  bool DeleteAll(const std::string& prefix, int n, double* seconds) {
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      const std::string name = prefix + std::to_string(i);
      auto r =
          korc::testing::Http(cluster_.port(), "DELETE", "/api/v1/namespaces/default/pods/" + name);
      if (r.code != 200 && r.code != 202) {
        return Fail("delete " + name + ": " + std::to_string(r.code) + " " + r.body);
      }
    }
    if (!watch_->WaitCount(prefix, n, /*deleted=*/true, Clock::now() + sc_.timeout)) {
      auto gone = watch_->deleted();
      for (int i = 0; i < n; ++i) {
        if (!gone.count(prefix + std::to_string(i))) {
          return Fail("not deleted in time: " + Stuck(prefix + std::to_string(i)));
        }
      }
    }
    *seconds = Seconds(Clock::now() - t0);
    return true;
  }

  bool Sequential() {
    std::printf("  1. create -> Running and Ready, %d Pods one after another\n", sc_.sequential);
    std::vector<double> ms;
    const std::string prefix = "seq-";
    for (int i = 0; i < sc_.sequential; ++i) {
      const std::string name = prefix + std::to_string(i);
      const auto t0 = Clock::now();
      if (!Create(name)) return false;
      auto t = watch_->WaitReady(name, t0 + sc_.timeout);
      if (!t) return Fail("not Running and Ready in time: " + Stuck(name));
      ms.push_back(Ms(*t - t0));
    }
    std::printf("    %-40s %9s %9s %9s\n", "per pod (ms)", "p50", "p99", "max");
    std::printf("    %-40s %9.0f %9.0f %9.0f\n", "  POST -> Running, Ready", Percentile(ms, 0.5),
                Percentile(ms, 0.99), Percentile(ms, 1.0));
    double del_s = 0;
    if (!DeleteAll(prefix, sc_.sequential, &del_s)) return false;
    std::printf("    %-40s %9.2f s\n", "deleted (DELETE all -> all gone)", del_s);
    return true;
  }

  bool Burst() {
    const int n = sc_.burst;
    std::printf("  2. start rate: %d Pods created at once\n", n);
    const std::string prefix = "burst-";
    std::this_thread::sleep_for(1s);  // let the deletions' aftermath settle before measuring
    const long rss_before = RssKiB();
    std::vector<Clock::time_point> created(n);
    const auto t0 = Clock::now();
    for (int i = 0; i < n; ++i) {
      created[i] = Clock::now();
      if (!Create(prefix + std::to_string(i))) return false;
    }
    const double create_s = Seconds(Clock::now() - t0);
    if (!watch_->WaitCount(prefix, n, /*deleted=*/false, t0 + sc_.timeout)) {
      auto ready = watch_->ready();
      for (int i = 0; i < n; ++i) {
        if (!ready.count(prefix + std::to_string(i))) {
          return Fail("not Running and Ready in time (" + std::to_string(ready.size()) +
                      " were): " + Stuck(prefix + std::to_string(i)));
        }
      }
    }
    auto ready = watch_->ready();
    Clock::time_point last = t0;
    std::vector<double> ms;
    for (int i = 0; i < n; ++i) {
      const auto t = ready.at(prefix + std::to_string(i));
      last = std::max(last, t);
      ms.push_back(Ms(t - created[i]));
    }
    const double all_s = Seconds(last - t0);
    std::this_thread::sleep_for(1s);
    const long rss_after = RssKiB();
    std::printf("    %-40s %9.2f s\n", "all POSTs answered", create_s);
    std::printf("    %-40s %9.2f s\n", "first POST -> all Running and Ready", all_s);
    std::printf("    %-40s %9.1f Pods/s\n", "start rate", n / all_s);
    std::printf("    %-40s %9s %9s %9s\n", "per pod under load (ms)", "p50", "p99", "max");
    std::printf("    %-40s %9.0f %9.0f %9.0f\n", "  POST -> Running, Ready", Percentile(ms, 0.5),
                Percentile(ms, 0.99), Percentile(ms, 1.0));
    std::printf(
        "  3. memory: VmRSS of this process (API server, bus and kubelet in one process:\n"
        "     an upper bound for the kubelet alone; containers are other processes)\n");
    std::printf("    %-40s %9.1f MiB\n", "before the Pods", rss_before / 1024.0);
    std::printf("    %-40s %9.1f MiB\n", "with them running", rss_after / 1024.0);
    std::printf("    %-40s %9.1f MiB total, %.0f KiB per Pod\n", "delta",
                (rss_after - rss_before) / 1024.0, double(rss_after - rss_before) / n);
    double del_s = 0;
    if (!DeleteAll(prefix, n, &del_s)) return false;
    std::printf("    %-40s %9.2f s\n", "deleted (DELETE all -> all gone)", del_s);
    return true;
  }

  // Creates Pod `name` running `pulled_.reference` with `policy`, waits until it is Running
  // and Ready (its POST -> Ready time into `ms`), deletes it and waits until it is gone.
  bool PullRound(const std::string& name, const std::string& policy, std::vector<double>* ms) {
    const auto t0 = Clock::now();
    if (!Create(name, PodJson(name, pulled_.reference, policy))) return false;
    auto t = watch_->WaitReady(name, t0 + sc_.timeout);
    if (!t) return Fail("not Running and Ready in time: " + Stuck(name));
    ms->push_back(Ms(*t - t0));
    auto r =
        korc::testing::Http(cluster_.port(), "DELETE", "/api/v1/namespaces/default/pods/" + name);
    if (r.code != 200 && r.code != 202) {
      return Fail("delete " + name + ": " + std::to_string(r.code) + " " + r.body);
    }
    const auto deadline = Clock::now() + sc_.timeout;
    while (!watch_->deleted().count(name)) {
      if (Clock::now() > deadline) return Fail("not deleted in time: " + Stuck(name));
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  bool Pulls() {
    if (!pulled_.skipped.empty()) {
      std::printf("  4. image cache: skipped (%s)\n", pulled_.skipped.c_str());
      return true;
    }
    const int n = sc_.pulls;
    std::printf(
        "  4. image cache: %s from a loopback docker-registry,\n"
        "     %.1f MB compressed (2 gzip layers; %.1f MB of files, 20 MiB of them random);\n"
        "     %d Pods per row, one after another, each deleted before the next. cold: the\n"
        "     image removed from the node's store (root and blobs) before each Pod, so every\n"
        "     layer is downloaded, verified and unpacked again\n",
        pulled_.reference.c_str(), pulled_.compressed_bytes / 1e6, pulled_.file_bytes / 1e6, n);
    // A second ImageStore on the kubelet's directory: every change takes the store's flock
    // and the store keeps no state in memory, so the kubelet sees the removal.
    auto store = kubelet::images::ImageStore::Open(dir_ + "/node/images");
    if (!store.ok()) return Fail("image store: " + store.status().ToString());
    std::vector<double> cold, if_not_present, always;
    int64_t stored_bytes = 0;
    for (int i = 0; i < n; ++i) {
      if (auto st = (*store)->Remove(pulled_.reference); !st.ok() && i > 0) {
        return Fail("remove " + pulled_.reference + ": " + st.ToString());
      }
      if ((*store)->Get(pulled_.reference).ok()) return Fail("image still stored after Remove");
      // Only the imported busybox left: none of the pulled image's blobs (22 MB) survived.
      if (const int64_t left = (*store)->DiskUsageBytes(); left >= pulled_.compressed_bytes) {
        return Fail("node's store still holds " + std::to_string(left) + " bytes after Remove");
      }
      if (!PullRound("pull-cold-" + std::to_string(i), "IfNotPresent", &cold)) return false;
      auto img = (*store)->Get(pulled_.reference);
      if (!img.ok()) return Fail("pulled image not in the store: " + img.status().ToString());
      stored_bytes = img->size_bytes;
    }
    for (int i = 0; i < n; ++i) {
      if (!PullRound("pull-warm-" + std::to_string(i), "IfNotPresent", &if_not_present)) {
        return false;
      }
    }
    for (int i = 0; i < n; ++i) {
      if (!PullRound("pull-always-" + std::to_string(i), "Always", &always)) return false;
    }
    std::printf("    %-40s %9s %9s %9s\n", "POST -> Running, Ready (ms)", "p50", "min", "max");
    auto row = [](const char* what, const std::vector<double>& ms) {
      std::printf("    %-40s %9.0f %9.0f %9.0f\n", what, Percentile(ms, 0.5), Percentile(ms, 0.0),
                  Percentile(ms, 1.0));
    };
    row("  cold (pull, verify, unpack)", cold);
    row("  warm, IfNotPresent (no registry call)", if_not_present);
    row("  warm, Always (manifest request)", always);
    std::printf("    %-40s %9.1f MB\n", "unpacked root in the store", stored_bytes / 1e6);
    return true;
  }

  // Stops the kubelet (which stops every Pod left), then checks nothing remains.
  bool Teardown() {
    bool ok = true;
    if (watch_) watch_->Stop();
    watch_.reset();
    if (kubelet_) {
      kubelet_->Stop();
      kubelet_.reset();
    }
    if (dir_.empty()) return ok;
    if (int n = Shims(dir_); n != 0) ok = Fail(std::to_string(n) + " korc-shim processes left");
    std::error_code ec;
    if (fs::exists(dir_ + "/node/runtime/sandboxes") &&
        !fs::is_empty(dir_ + "/node/runtime/sandboxes", ec)) {
      ok = Fail("sandboxes left in " + dir_ + "/node/runtime/sandboxes");
    }
    std::ifstream mounts("/proc/self/mounts");
    for (std::string line; std::getline(mounts, line);) {
      if (line.find(dir_ + "/node/runtime") != std::string::npos) ok = Fail("mount left: " + line);
    }
    for (const auto& e : fs::directory_iterator(dir_ + "/node/network/netns", ec)) {
      ok = Fail("network namespace left: " + e.path().string());
    }
    umount2((dir_ + "/node/network/netns").c_str(), MNT_DETACH);
    fs::remove_all(dir_, ec);
    return ok;
  }

  std::string runtime_;
  Scale sc_;
  const PulledImage& pulled_;
  korc::testing::TestCluster cluster_;
  std::string dir_;
  std::unique_ptr<kubelet::Kubelet> kubelet_;
  std::unique_ptr<PodWatch> watch_;
};

}  // namespace
}  // namespace korc

int main(int argc, char** argv) {
  using namespace korc;
  bool quick = false;
  std::string runtime = "process";
  std::string log_level = "warn";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--runtime" && i + 1 < argc) {
      runtime = argv[++i];
    } else if (a == "--log-level" && i + 1 < argc) {
      log_level = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: kubelet_bench [--quick] [--runtime process|runc|both] "
                   "[--log-level LEVEL]\n");
      return 2;
    }
  }
  if (runtime != "process" && runtime != "runc" && runtime != "both") {
    std::fprintf(stderr, "kubelet_bench: --runtime must be process, runc or both\n");
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr,
                 "kubelet_bench: needs root (the kubelet's containers use namespaces, cgroups "
                 "and a network per Pod); run it with sudo\n");
    return 2;
  }
  if (access("/bin/busybox", X_OK) != 0) {
    std::fprintf(stderr, "kubelet_bench: /bin/busybox is missing (install busybox-static)\n");
    return 2;
  }
  if (kubelet::DefaultShimPath().empty()) {
    std::fprintf(stderr, "kubelet_bench: korc-shim not found (build it, or set KORC_SHIM)\n");
    return 2;
  }
  // Before any thread: the whole process in a network namespace of its own.
  if (!OwnNetwork()) {
    std::fprintf(stderr, "kubelet_bench: could not make a network and mount namespace: %s\n",
                 std::strerror(errno));
    return 1;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  setvbuf(stdout, nullptr, _IOLBF, 0);
  const Scale& sc = quick ? kQuick : kFull;
  const auto t0 = std::chrono::steady_clock::now();
  // Benchmark 4's image, pushed once for every runtime's run; the registry stops at exit.
  korc::testing::LocalRegistry registry;
  PulledImage pulled;
  {
    char tmpl[] = "/tmp/korc-kubelet-bench-layout-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      pulled.skipped = "mkdtemp";
    } else {
      PushPullImage(registry, std::string(tmpl) + "/layout", &pulled);
      std::error_code ec;
      std::filesystem::remove_all(tmpl, ec);
    }
  }
  std::vector<std::string> runtimes;
  if (runtime == "process" || runtime == "both") runtimes.push_back("process");
  if (runtime == "runc" || runtime == "both") runtimes.push_back("runc");
  bool ok = true;
  for (const auto& rt : runtimes) {
    std::printf("kubelet, runtime %s: busybox Pods (sh -c 'exec sleep 3600'), grace 1 s\n",
                rt.c_str());
    ok = Bench(rt, sc, pulled).Run() && ok;
  }
  registry.Stop();
  std::printf("total %.0f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return ok ? 0 : 1;
}
