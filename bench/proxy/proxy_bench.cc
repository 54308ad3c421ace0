// The Service proxy's data path against going straight to the backend, on loopback:
//   throughput   one and 64 connections streaming into a sink for a fixed time (MB/s)
//   latency      64-byte request/response round trips on one open connection (p50/p99),
//                and what the proxy adds to p50
//   connections  connect + one round trip + close, one client after another (per second)
// The ClusterIP is 127.96.255.1 (local without root), the backend a thread per connection.
// Prints figures; never fails on a timing. --quick: short runs.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "components/proxy/proxier.h"

namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in Addr(const char* ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip, &a.sin_addr);
  return a;
}

// A backend: each connection either echoes (first byte 'e') or swallows everything ('s').
class Backend {
 public:
  Backend() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto a = Addr("127.0.0.1", 0);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 1024);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        std::thread([c] { Serve(c); }).detach();
      }
    });
  }
  ~Backend() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  static void Serve(int c) {
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::vector<char> buf(256 * 1024);
    char mode = 0;
    if (recv(c, &mode, 1, MSG_WAITALL) != 1) {
      close(c);
      return;
    }
    for (;;) {
      ssize_t n = recv(c, buf.data(), buf.size(), 0);
      if (n <= 0) break;
      if (mode == 'e' && send(c, buf.data(), static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
    }
    close(c);
  }
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

int Dial(const char* ip, uint16_t port, char mode) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto a = Addr(ip, port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  send(fd, &mode, 1, MSG_NOSIGNAL);
  return fd;
}

// MB/s of `conns` connections writing 128 KiB chunks for `seconds`.
double Throughput(const char* ip, uint16_t port, int conns, double seconds) {
  std::atomic<uint64_t> bytes{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < conns; ++i) {
    threads.emplace_back([&] {
      int fd = Dial(ip, port, 's');
      if (fd < 0) return;
      std::vector<char> chunk(128 * 1024, 'x');
      uint64_t mine = 0;
      while (!stop) {
        ssize_t n = send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n <= 0) break;
        mine += static_cast<uint64_t>(n);
      }
      bytes += mine;
      close(fd);
    });
  }
  auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(bytes) / elapsed / 1e6;
}

struct Latency {
  double p50_us = 0, p99_us = 0;
};

Latency RoundTrips(const char* ip, uint16_t port, int n) {
  int fd = Dial(ip, port, 'e');
  char msg[64] = {};
  std::vector<double> us;
  us.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n + 100; ++i) {
    auto t0 = Clock::now();
    send(fd, msg, sizeof msg, MSG_NOSIGNAL);
    recv(fd, msg, sizeof msg, MSG_WAITALL);
    if (i >= 100)
      us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  }
  close(fd);
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100]};
}

// Connections per second: connect, one 64-byte round trip, close.
double ConnectionRate(const char* ip, uint16_t port, double seconds) {
  auto start = Clock::now();
  int done = 0;
  char msg[64] = {};
  while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
    int fd = Dial(ip, port, 'e');
    if (fd < 0) break;
    send(fd, msg, sizeof msg, MSG_NOSIGNAL);
    recv(fd, msg, sizeof msg, MSG_WAITALL);
    close(fd);
    ++done;
  }
  return done / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const double seconds = quick ? 0.5 : 3;
  const int trips = quick ? 2000 : 20000;
  Backend backend;
  korc::proxy::ProxierOptions o;
  auto proxier = korc::proxy::Proxier::Start(o);
  if (!proxier.ok()) {
    fmt::print(stderr, "proxier: {}\n", proxier.status().message());
    return 1;
  }
  korc::proxy::ServicePortEntry e;
  e.id = "bench/sink:";
  e.cluster_ip = "127.96.255.1";
  e.port = 8080;
  e.backends = {{"127.0.0.1", backend.port(), "backend"}};
  (*proxier)->Update("bench/sink", {e});
  const char* direct = "127.0.0.1";
  const char* vip = "127.96.255.1";

  fmt::print("proxy_bench ({} s per throughput run, {} round trips)\n", seconds, trips);
  for (int conns : {1, 64}) {
    double d = Throughput(direct, backend.port(), conns, seconds);
    double p = Throughput(vip, 8080, conns, seconds);
    fmt::print(
        "throughput, {:2} connection(s): direct {:8.0f} MB/s, proxy {:8.0f} MB/s ({:.0f}%)\n",
        conns, d, p, 100 * p / d);
  }
  Latency d = RoundTrips(direct, backend.port(), trips);
  Latency p = RoundTrips(vip, 8080, trips);
  fmt::print(
      "round trip (64 B): direct p50 {:.1f} / p99 {:.1f} us, proxy p50 {:.1f} / p99 {:.1f} us;"
      " added p50 {:.1f} us\n",
      d.p50_us, d.p99_us, p.p50_us, p.p99_us, p.p50_us - d.p50_us);
  double cd = ConnectionRate(direct, backend.port(), seconds);
  double cp = ConnectionRate(vip, 8080, seconds);
  fmt::print("connections (connect, 64 B round trip, close): direct {:.0f}/s, proxy {:.0f}/s\n", cd,
             cp);
  (*proxier)->Stop();
  return 0;
}
