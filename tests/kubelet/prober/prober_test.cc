#include "components/kubelet/prober/prober.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace korc::kubelet::prober {
namespace {

constexpr int64_t kSec = 1'000'000'000;

// A listening socket on 127.0.0.1 port 0. With a response, a thread answers each request
// with it (after reading the request head) and records the request; without one it never
// accepts, so connects succeed (backlog) and requests go unanswered.
class LocalServer {
 public:
  explicit LocalServer(std::string response = {}) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (!response_.empty()) thread_ = std::thread([this] { Serve(); });
  }
  ~LocalServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string last_request() {
    std::lock_guard lock(mu_);
    return last_request_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;  // wakes to notice stop_
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(c, buf, sizeof(buf), 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard lock(mu_);
        last_request_ = req;
      }
      ::send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }

  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::string last_request_;
};

// A port with nothing listening: bound and closed again.
int ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string Response(int code, const std::string& reason) {
  return "HTTP/1.1 " + std::to_string(code) + " " + reason +
         "\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
}

api::HttpGetAction Get(std::string path) {
  api::HttpGetAction a;
  a.path = std::move(path);
  a.scheme = "HTTP";
  return a;
}

TEST(ProbeTcpTest, SucceedsWhenSomethingListens) {
  LocalServer server;
  ProbeOutcome o = ProbeTcp("127.0.0.1", server.port(), 1000);
  EXPECT_EQ(o.result, ProbeResult::kSuccess) << o.message;
}

TEST(ProbeTcpTest, FailsOnClosedPort) {
  int port = ClosedPort();
  ProbeOutcome o = ProbeTcp("127.0.0.1", port, 1000);
  EXPECT_EQ(o.result, ProbeResult::kFailure);
  EXPECT_EQ(o.message,
            "dial tcp 127.0.0.1:" + std::to_string(port) + ": connect: connection refused");
}

TEST(ProbeHttpTest, Status200IsSuccessAndRequestHasKubeletHeaders) {
  LocalServer server(Response(200, "OK"));
  api::HttpGetAction a = Get("/healthz");
  a.http_headers = {{"X-Custom", "yes"}};
  ProbeOutcome o = ProbeHttp("127.0.0.1", server.port(), a, 2000);
  EXPECT_EQ(o.result, ProbeResult::kSuccess) << o.message;
  std::string req = server.last_request();
  EXPECT_TRUE(req.starts_with("GET /healthz HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
            std::string::npos)
      << req;
  EXPECT_NE(req.find("\r\nUser-Agent: kube-probe/1.29\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nX-Custom: yes\r\n"), std::string::npos) << req;
}

TEST(ProbeHttpTest, CustomHostAndUserAgentOverride) {
  LocalServer server(Response(204, "No Content"));
  api::HttpGetAction a = Get("ready");  // no leading slash: one is added
  a.http_headers = {{"host", "example.test"}, {"User-Agent", "mine"}};
  ProbeOutcome o = ProbeHttp("127.0.0.1", server.port(), a, 2000);
  EXPECT_EQ(o.result, ProbeResult::kSuccess) << o.message;
  std::string req = server.last_request();
  EXPECT_TRUE(req.starts_with("GET /ready HTTP/1.1\r\n")) << req;
  EXPECT_NE(req.find("\r\nHost: example.test\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("\r\nUser-Agent: mine\r\n"), std::string::npos) << req;
  EXPECT_EQ(req.find("kube-probe"), std::string::npos) << req;
}

TEST(ProbeHttpTest, Status500IsFailure) {
  LocalServer server(Response(500, "Internal Server Error"));
  ProbeOutcome o = ProbeHttp("127.0.0.1", server.port(), Get("/"), 2000);
  EXPECT_EQ(o.result, ProbeResult::kFailure);
  EXPECT_EQ(o.message, "HTTP probe failed with statuscode: 500");
}

TEST(ProbeHttpTest, Status404IsFailure) {
  LocalServer server(Response(404, "Not Found"));
  ProbeOutcome o = ProbeHttp("127.0.0.1", server.port(), Get("/"), 2000);
  EXPECT_EQ(o.message, "HTTP probe failed with statuscode: 404");
  EXPECT_EQ(o.result, ProbeResult::kFailure);
}

TEST(ProbeHttpTest, RedirectIsSuccessWithoutFollowing) {
  LocalServer server(
      "HTTP/1.1 301 Moved Permanently\r\nLocation: http://elsewhere/\r\nContent-Length: "
      "0\r\n\r\n");
  ProbeOutcome o = ProbeHttp("127.0.0.1", server.port(), Get("/"), 2000);
  EXPECT_EQ(o.result, ProbeResult::kSuccess) << o.message;
}

TEST(ProbeHttpTest, NoAnswerTimesOut) {
  LocalServer server;  // accepts into the backlog, never answers
  auto start = std::chrono::steady_clock::now();
  ProbeOutcome o = ProbeHttp("127.0.0.1", server.port(), Get("/slow"), 300);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(o.result, ProbeResult::kFailure);
  EXPECT_EQ(o.message, "Get \"http://127.0.0.1:" + std::to_string(server.port()) +
                           "/slow\": context deadline exceeded (Client.Timeout exceeded while "
                           "awaiting headers)");
  EXPECT_GE(took, std::chrono::milliseconds(250));
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST(ProbeHttpTest, ClosedPortIsFailure) {
  int port = ClosedPort();
  ProbeOutcome o = ProbeHttp("127.0.0.1", port, Get("/"), 1000);
  EXPECT_EQ(o.result, ProbeResult::kFailure);
  std::string hp = "127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(o.message,
            "Get \"http://" + hp + "/\": dial tcp " + hp + ": connect: connection refused");
}

TEST(ProbeHttpTest, GarbageResponseIsFailure) {
  LocalServer server("SSH-2.0-OpenSSH\r\n");
  ProbeOutcome o = ProbeHttp("127.0.0.1", server.port(), Get("/"), 2000);
  EXPECT_EQ(o.result, ProbeResult::kFailure);
  EXPECT_NE(o.message.find("malformed HTTP response"), std::string::npos) << o.message;
}

TEST(ProbeHttpTest, HttpsSaysItIsNotSupported) {
  LocalServer server(Response(200, "OK"));
  api::HttpGetAction a = Get("/");
  a.scheme = "HTTPS";
  ProbeOutcome o = ProbeHttp("127.0.0.1", server.port(), a, 1000);
  EXPECT_EQ(o.result, ProbeResult::kFailure);
  EXPECT_NE(o.message.find("HTTPS probes are not supported"), std::string::npos) << o.message;
}

TEST(ResolvePortTest, NumbersAndNames) {
  api::Container c;
  c.name = "web";
  c.ports = {api::ContainerPort{.name = "http", .container_port = 8080},
             api::ContainerPort{.name = "metrics", .container_port = 9090}};
  EXPECT_EQ(*ResolvePort(api::IntOrString::Int(81), c), 81);
  EXPECT_EQ(*ResolvePort(api::IntOrString::Str("metrics"), c), 9090);
  auto missing = ResolvePort(api::IntOrString::Str("admin"), c);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalid);
  EXPECT_EQ(missing.status().message(), "port name \"admin\" not found in container \"web\"");
  EXPECT_EQ(ResolvePort(api::IntOrString::Int(0), c).status().code(), Code::kInvalid);
  EXPECT_EQ(ResolvePort(api::IntOrString::Int(70000), c).status().code(), Code::kInvalid);
}

// ---- ProbeTracker: simulated time --------------------------------------------------------

struct Step {
  int64_t at_s;  // when the check runs (seconds after start)
  bool success;
  bool want_healthy;
  int64_t want_next_s;  // NextDueNs after recording (seconds after start)
};

struct TrackerCase {
  std::string name;
  ProbeKind kind;
  api::Probe probe;
  int64_t want_first_s;
  bool want_initial;
  std::vector<Step> steps;
};

api::Probe MakeProbe(int delay, int period, int success, int failure) {
  api::Probe p;
  p.initial_delay_seconds = delay;
  p.period_seconds = period;
  p.success_threshold = success;
  p.failure_threshold = failure;
  return p;
}

class ProbeTrackerTest : public ::testing::TestWithParam<TrackerCase> {};

TEST_P(ProbeTrackerTest, FollowsKubernetesSemantics) {
  const TrackerCase& c = GetParam();
  const int64_t start = 1'000 * kSec;
  ProbeTracker t(c.kind, c.probe, start);
  EXPECT_EQ(t.healthy(), c.want_initial);
  EXPECT_EQ(t.NextDueNs(), start + c.want_first_s * kSec);
  for (size_t i = 0; i < c.steps.size(); ++i) {
    const Step& s = c.steps[i];
    ProbeOutcome o{s.success ? ProbeResult::kSuccess : ProbeResult::kFailure,
                   s.success ? "" : "failed #" + std::to_string(i)};
    t.Record(o, start + s.at_s * kSec);
    EXPECT_EQ(t.healthy(), s.want_healthy) << "step " << i;
    EXPECT_EQ(t.NextDueNs(), start + s.want_next_s * kSec) << "step " << i;
    EXPECT_EQ(t.last_message(), o.message) << "step " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ProbeTrackerTest,
    ::testing::Values(
        // Defaults: period 10, thresholds 1/3.
        TrackerCase{"ReadinessDefaults",
                    ProbeKind::kReadiness,
                    MakeProbe(0, 0, 0, 0),
                    0,
                    false,
                    {{0, true, true, 10},
                     {10, false, true, 20},
                     {20, false, true, 30},
                     {30, false, false, 40},
                     {40, true, true, 50}}},
        TrackerCase{"ReadinessSuccessThreshold",
                    ProbeKind::kReadiness,
                    MakeProbe(5, 2, 3, 2),
                    5,
                    false,
                    {{5, true, false, 7},
                     {7, true, false, 9},
                     {9, false, false, 11},  // a failure resets the success count
                     {11, true, false, 13},
                     {13, true, false, 15},
                     {15, true, true, 17},
                     {17, false, true, 19},
                     {19, true, true, 21},  // a success resets the failure count
                     {21, false, true, 23},
                     {23, false, false, 25}}},
        TrackerCase{"LivenessStartsAliveAndDiesAfterThreshold",
                    ProbeKind::kLiveness,
                    MakeProbe(30, 5, 0, 2),
                    30,
                    true,
                    {{30, false, true, 35},
                     {35, true, true, 40},
                     {40, false, true, 45},
                     {45, false, false, 50}}},
        TrackerCase{"LivenessFailureThresholdOne",
                    ProbeKind::kLiveness,
                    MakeProbe(0, 1, 1, 1),
                    0,
                    true,
                    {{0, false, false, 1}}},
        // The next run counts from when the check ran, not from when it was due.
        TrackerCase{"PeriodCountsFromTheRun",
                    ProbeKind::kReadiness,
                    MakeProbe(1, 3, 1, 1),
                    1,
                    false,
                    {{4, true, true, 7}, {9, false, false, 12}}}),
    [](const auto& info) { return info.param.name; });

TEST(ProbeTrackerDefaultsTest, AppliesKubernetesDefaults) {
  ProbeTracker t(ProbeKind::kLiveness, api::Probe{}, 0);
  EXPECT_EQ(t.probe().period_seconds, 10);
  EXPECT_EQ(t.probe().timeout_seconds, 1);
  EXPECT_EQ(t.probe().success_threshold, 1);
  EXPECT_EQ(t.probe().failure_threshold, 3);
  EXPECT_EQ(t.timeout_ms(), 1000);
}

}  // namespace
}  // namespace korc::kubelet::prober
