// Pod logs through the API server (GET .../pods/{name}/log) against a fake kubelet on
// loopback: the request it proxies, the body it passes through, a followed log streaming as
// the kubelet writes it, and every error Kubernetes gives.
#include "components/apiserver/pod_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <limits>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "components/apiserver/api_server.h"
#include "storage/event_log.h"
#include "tests/apiserver/http_client.h"

namespace korc::apiserver {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using korc::testing::Http;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = std::chrono::seconds(10);

// A kubelet's log endpoint on 127.0.0.1 port 0, serving one connection at a time. It records
// each request target and answers either whole (code + body) or, in streaming mode, with a
// chunked 200 whose chunks the test sends one by one. It notices when the API server hangs up.
class FakeKubelet {
 public:
  FakeKubelet() : acceptor_(io_, {net::ip::make_address("127.0.0.1"), 0}) {
    if (::pipe(wake_) != 0) std::abort();
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeKubelet() {
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    Wake();
    beast::error_code ec;
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    acceptor_.close(ec);
    thread_.join();
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

  // The next requests get this whole answer.
  void Answer(int code, std::string body) {
    std::lock_guard lock(mu_);
    streaming_ = false;
    code_ = code;
    body_ = std::move(body);
  }
  // The next request gets a chunked 200 fed by Send() and ended by End().
  void StreamNext() {
    std::lock_guard lock(mu_);
    streaming_ = true;
  }
  void Send(std::string chunk) {
    {
      std::lock_guard lock(mu_);
      chunks_.push_back(std::move(chunk));
    }
    Wake();
  }
  void End() {
    {
      std::lock_guard lock(mu_);
      end_ = true;
    }
    Wake();
  }

  // The targets of the requests served so far, once there are at least `n`.
  std::vector<std::string> WaitTargets(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kDeadline, [&] { return targets_.size() >= n; });
    return targets_;
  }
  // Whether the API server hung up on a stream, waiting up to the deadline for it.
  bool WaitPeerClosed() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kDeadline, [&] { return peer_closed_; });
  }

 private:
  void Wake() {
    char c = 1;
    (void)!::write(wake_[1], &c, 1);
  }

  void Run() {
    for (;;) {
      tcp::socket s(io_);
      beast::error_code ec;
      acceptor_.accept(s, ec);
      if (ec) return;
      beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(s, buf, req, ec);
      if (ec) continue;
      bool streaming;
      {
        std::lock_guard lock(mu_);
        targets_.emplace_back(req.target().data(), req.target().size());
        streaming = streaming_;
        cv_.notify_all();
      }
      if (!streaming) {
        http::response<http::string_body> res;
        {
          std::lock_guard lock(mu_);
          res.result(static_cast<unsigned>(code_));
          res.body() = body_;
        }
        res.version(11);
        res.set(http::field::content_type, "text/plain");
        res.keep_alive(false);
        res.prepare_payload();
        http::write(s, res, ec);
        s.shutdown(tcp::socket::shutdown_both, ec);
        continue;
      }
      Stream(s);
    }
  }

  void Stream(tcp::socket& s) {
    beast::error_code ec;
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    http::write_header(s, sr, ec);
    for (;;) {
      pollfd fds[2] = {{s.native_handle(), POLLRDHUP, 0}, {wake_[0], POLLIN, 0}};
      ::poll(fds, 2, -1);
      if (fds[0].revents) {
        std::lock_guard lock(mu_);
        peer_closed_ = true;
        cv_.notify_all();
        return;
      }
      char drain[64];
      (void)!::read(wake_[0], drain, sizeof drain);
      std::deque<std::string> chunks;
      bool end, quit;
      {
        std::lock_guard lock(mu_);
        chunks.swap(chunks_);
        end = end_;
        quit = quit_;
      }
      for (const auto& c : chunks) net::write(s, http::make_chunk(net::buffer(c)), ec);
      if (end) net::write(s, http::make_chunk_last(), ec);
      if (end || quit) {
        s.shutdown(tcp::socket::shutdown_both, ec);
        std::lock_guard lock(mu_);
        end_ = false;
        streaming_ = false;
        return;
      }
    }
  }

  net::io_context io_;
  tcp::acceptor acceptor_;
  int wake_[2];
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  // GUARDED_BY(mu_):
  bool streaming_ = false;
  int code_ = 200;
  std::string body_;
  std::deque<std::string> chunks_;
  bool end_ = false;
  bool quit_ = false;
  bool peer_closed_ = false;
  std::vector<std::string> targets_;
};

// A GET whose body is read as it arrives: the test asks for "everything so far, once it
// contains X" with a deadline, so a proxy that buffers the stream fails instead of hanging.
class StreamingGet {
 public:
  StreamingGet(uint16_t port, const std::string& target) : socket_(io_) {
    socket_.connect({net::ip::make_address("127.0.0.1"), port});
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(socket_, req);
    socket_.non_blocking(true);
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
  }

  // Reads until the body holds `needle` (or the stream ends, or the deadline passes).
  std::string ReadUntil(std::string_view needle) {
    auto deadline = Clock::now() + kDeadline;
    while (body_.find(needle) == std::string::npos && !parser_.is_done() && !failed_ &&
           Clock::now() < deadline) {
      if (buf_.size() == 0 || starved_) {
        pollfd p{socket_.native_handle(), POLLIN, 0};
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) <= 0) continue;
      }
      char chunk[4096];
      parser_.get().body().data = chunk;
      parser_.get().body().size = sizeof chunk;
      beast::error_code ec;
      http::read_some(socket_, buf_, parser_, ec);
      body_.append(chunk, sizeof chunk - parser_.get().body().size);
      starved_ = ec == net::error::would_block;
      if (ec && ec != http::error::need_buffer && !starved_) failed_ = true;
    }
    return body_;
  }
  std::string ReadToEnd() { return ReadUntil(std::string(1, '\0') + "never"); }
  bool done() const { return parser_.is_done(); }
  int code() const { return parser_.is_header_done() ? parser_.get().result_int() : 0; }
  void Close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  net::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buf_;
  http::response_parser<http::buffer_body> parser_;
  std::string body_;
  bool failed_ = false;
  bool starved_ = false;  // the last read found no data: poll before the next
};

constexpr const char* kLogPath = "/api/v1/namespaces/default/pods/web/log";

class PodLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/korc-podlog-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto log = storage::OpenRocksDbEventLog(dir_ + "/log");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    ApiServerOptions o;
    o.port = 0;
    auto s = ApiServer::Start(*log_, nullptr, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    port_ = server_->port();
    MakeNode("n1", "127.0.0.1", kubelet_.port());
    MakePod("web", {"c"}, "n1");
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }

  korc::testing::HttpResult Get(const std::string& target) { return Http(port_, "GET", target); }

  void MakeNode(const std::string& name, const std::string& ip, int port) {
    auto r =
        Http(port_, "POST", "/api/v1/nodes",
             json{{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}}}}.dump());
    ASSERT_EQ(r.code, 201) << r.body;
    json status = json::object();
    if (!ip.empty()) status["addresses"] = json::array({{{"type", "InternalIP"}, {"address", ip}}});
    if (port) status["daemonEndpoints"] = {{"kubeletEndpoint", {{"Port", port}}}};
    r = Http(port_, "PATCH", "/api/v1/nodes/" + name + "/status", json{{"status", status}}.dump(),
             "application/merge-patch+json");
    ASSERT_EQ(r.code, 200) << r.body;
  }

  void MakePod(const std::string& name, const std::vector<std::string>& containers,
               const std::string& node) {
    json spec = {{"containers", json::array()}};
    for (const auto& c : containers)
      spec["containers"].push_back({{"name", c}, {"image", "busybox"}});
    if (!node.empty()) spec["nodeName"] = node;
    auto r = Http(
        port_, "POST", "/api/v1/namespaces/default/pods",
        json{{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", name}}}, {"spec", spec}}
            .dump());
    ASSERT_EQ(r.code, 201) << r.body;
  }

  // Checks a metav1.Status failure: its HTTP code, reason and message.
  void ExpectStatus(const korc::testing::HttpResult& r, int code, const std::string& reason,
                    const std::string& message_part) {
    EXPECT_EQ(r.code, code) << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j.value("kind", ""), "Status");
    EXPECT_EQ(j.value("status", ""), "Failure");
    EXPECT_EQ(j.value("code", 0), code);
    EXPECT_EQ(j.value("reason", ""), reason);
    EXPECT_THAT(j.value("message", ""), HasSubstr(message_part));
  }

  FakeKubelet kubelet_;
  std::string dir_;
  std::unique_ptr<storage::EventLog> log_;
  std::unique_ptr<ApiServer> server_;
  uint16_t port_ = 0;
};

TEST_F(PodLogTest, ProxiesPathAndQueryToTheNodesKubelet) {
  kubelet_.Answer(200, "one\ntwo\n");
  auto r = Get(std::string(kLogPath) +
               "?tailLines=5&timestamps=true&limitBytes=100&sinceSeconds=30&previous=1");
  EXPECT_EQ(r.code, 200) << r.body;
  auto targets = kubelet_.WaitTargets(1);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(targets[0],
            "/containerLogs/default/web/c"
            "?previous=true&timestamps=true&tailLines=5&limitBytes=100&sinceSeconds=30");
}

TEST_F(PodLogTest, PassesTheBodyThroughAsText) {
  std::string body;
  for (int i = 0; i < 5000; ++i) body += "line " + std::to_string(i) + "\n";  // > one chunk
  kubelet_.Answer(200, body);
  auto r = Get(kLogPath);
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_EQ(r.body, body);
  EXPECT_EQ(kubelet_.WaitTargets(1).at(0), "/containerLogs/default/web/c");
}

TEST_F(PodLogTest, NamedContainerOfAMultiContainerPod) {
  MakePod("multi", {"a", "b"}, "n1");
  kubelet_.Answer(200, "from b\n");
  auto r = Get("/api/v1/namespaces/default/pods/multi/log?container=b&follow=false");
  EXPECT_EQ(r.code, 200) << r.body;
  EXPECT_EQ(r.body, "from b\n");
  EXPECT_EQ(kubelet_.WaitTargets(1).at(0), "/containerLogs/default/multi/b");
}

TEST_F(PodLogTest, SinceTimeBecomesSinceSeconds) {
  kubelet_.Answer(200, "");
  auto r = Get(std::string(kLogPath) + "?sinceTime=2000-01-01T00:00:00Z");
  EXPECT_EQ(r.code, 200) << r.body;
  auto target = kubelet_.WaitTargets(1).at(0);
  ASSERT_THAT(target, HasSubstr("?sinceSeconds="));
  int64_t since = std::stoll(target.substr(target.find('=') + 1));
  EXPECT_GT(since, 24ll * 365 * 24 * 3600);  // 2000 is more than 24 years ago
}

TEST_F(PodLogTest, FollowStreamsEachChunkAsTheKubeletWritesIt) {
  kubelet_.StreamNext();
  StreamingGet get(port_, std::string(kLogPath) + "?follow=true");
  EXPECT_EQ(kubelet_.WaitTargets(1).at(0), "/containerLogs/default/web/c?follow=true");
  kubelet_.Send("first\n");
  EXPECT_EQ(get.ReadUntil("first\n"), "first\n");
  EXPECT_EQ(get.code(), 200);
  EXPECT_FALSE(get.done());  // the stream is still open: nothing was buffered to the end
  kubelet_.Send("second ");
  EXPECT_EQ(get.ReadUntil("second "), "first\nsecond ");
  EXPECT_FALSE(get.done());
  kubelet_.Send("line\n");
  kubelet_.End();
  EXPECT_EQ(get.ReadToEnd(), "first\nsecond line\n");
  EXPECT_TRUE(get.done());
}

TEST_F(PodLogTest, AFollowDoesNotBlockOtherRequests) {
  kubelet_.StreamNext();
  StreamingGet get(port_, std::string(kLogPath) + "?follow=true");
  kubelet_.WaitTargets(1);
  EXPECT_EQ(Get("/api/v1/namespaces/default/pods/web").code, 200);
  kubelet_.Send("x\n");
  EXPECT_EQ(get.ReadUntil("x\n"), "x\n");
  kubelet_.End();
}

TEST_F(PodLogTest, ClientGoingAwayEndsTheKubeletStream) {
  kubelet_.StreamNext();
  StreamingGet get(port_, std::string(kLogPath) + "?follow=true");
  kubelet_.Send("hello\n");
  EXPECT_EQ(get.ReadUntil("hello\n"), "hello\n");
  get.Close();  // while the kubelet is quiet: the proxy must notice without a write failing
  EXPECT_TRUE(kubelet_.WaitPeerClosed());
}

TEST_F(PodLogTest, StoppingTheServerEndsAnOpenFollow) {
  kubelet_.StreamNext();
  StreamingGet get(port_, std::string(kLogPath) + "?follow=true");
  kubelet_.Send("hello\n");
  EXPECT_EQ(get.ReadUntil("hello\n"), "hello\n");
  server_->Stop();
  EXPECT_TRUE(kubelet_.WaitPeerClosed());
}

TEST_F(PodLogTest, KubeletNotFoundBecomesNotFoundStatus) {
  kubelet_.Answer(404, "container \"c\" in pod \"web\" has no logs yet\n");
  ExpectStatus(Get(kLogPath), 404, "NotFound", "container \"c\" in pod \"web\" has no logs yet");
}

TEST_F(PodLogTest, KubeletBadRequestBecomesBadRequestStatus) {
  kubelet_.Answer(400, "previous terminated container \"c\" in pod \"web\" not found");
  ExpectStatus(Get(std::string(kLogPath) + "?previous=true"), 400, "BadRequest",
               "previous terminated container \"c\" in pod \"web\" not found");
}

TEST_F(PodLogTest, KubeletFailureIsAnInternalError) {
  kubelet_.Answer(500, "disk on fire");
  ExpectStatus(Get(kLogPath), 500, "InternalError", "answered HTTP 500: disk on fire");
}

TEST_F(PodLogTest, PodNotFound) {
  auto r = Get("/api/v1/namespaces/default/pods/nope/log");
  ExpectStatus(r, 404, "NotFound", "pods \"nope\" not found");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["details"]["name"], "nope");
  EXPECT_EQ(j["details"]["kind"], "pods");
}

TEST_F(PodLogTest, MultiContainerPodNeedsAContainerName) {
  MakePod("multi", {"a", "b"}, "n1");
  auto r = Get("/api/v1/namespaces/default/pods/multi/log");
  ExpectStatus(r, 400, "BadRequest", "");
  EXPECT_EQ(json::parse(r.body)["message"],
            "a container name must be specified for pod multi, choose one of: [a b]");
}

TEST_F(PodLogTest, UnknownContainer) {
  auto r = Get(std::string(kLogPath) + "?container=x");
  ExpectStatus(r, 400, "BadRequest", "");
  EXPECT_EQ(json::parse(r.body)["message"], "container x is not valid for pod web");
}

TEST_F(PodLogTest, UnboundPod) {
  MakePod("pending", {"c"}, "");
  auto r = Get("/api/v1/namespaces/default/pods/pending/log");
  ExpectStatus(r, 400, "BadRequest", "");
  EXPECT_EQ(json::parse(r.body)["message"], "pod pending does not have a host assigned");
}

TEST_F(PodLogTest, NodeMissing) {
  MakePod("orphan", {"c"}, "ghost");
  ExpectStatus(Get("/api/v1/namespaces/default/pods/orphan/log"), 404, "NotFound",
               "nodes \"ghost\" not found");
}

TEST_F(PodLogTest, NodeWithoutInternalIP) {
  MakeNode("noip", "", kubelet_.port());
  MakePod("p", {"c"}, "noip");
  ExpectStatus(Get("/api/v1/namespaces/default/pods/p/log"), 503, "ServiceUnavailable",
               "node \"noip\" states no InternalIP");
}

TEST_F(PodLogTest, NodeWithoutKubeletEndpoint) {
  MakeNode("noport", "127.0.0.1", 0);
  MakePod("p", {"c"}, "noport");
  ExpectStatus(Get("/api/v1/namespaces/default/pods/p/log"), 503, "ServiceUnavailable",
               "node \"noport\" states no kubelet endpoint");
}

TEST_F(PodLogTest, KubeletUnreachable) {
  uint16_t closed;
  {
    // A port nothing listens on: bound, then released.
    net::io_context io;
    tcp::acceptor a(io, {net::ip::make_address("127.0.0.1"), 0});
    closed = a.local_endpoint().port();
  }
  MakeNode("down", "127.0.0.1", closed);
  MakePod("p", {"c"}, "down");
  ExpectStatus(Get("/api/v1/namespaces/default/pods/p/log"), 503, "ServiceUnavailable",
               "cannot reach the kubelet of node \"down\" at 127.0.0.1:" + std::to_string(closed));
}

TEST_F(PodLogTest, BadQueryValuesNameTheField) {
  ExpectStatus(Get(std::string(kLogPath) + "?tailLines=ten"), 400, "BadRequest",
               "tailLines: Invalid value: \"ten\"");
  ExpectStatus(Get(std::string(kLogPath) + "?tailLines=-1"), 422, "Invalid",
               "tailLines: Invalid value: -1: must be greater than or equal to 0");
  ExpectStatus(Get(std::string(kLogPath) + "?limitBytes=0"), 422, "Invalid", "limitBytes");
  ExpectStatus(Get(std::string(kLogPath) + "?sinceSeconds=x"), 400, "BadRequest", "sinceSeconds");
  ExpectStatus(Get(std::string(kLogPath) + "?follow=maybe"), 400, "BadRequest", "follow");
  ExpectStatus(Get(std::string(kLogPath) + "?sinceTime=yesterday"), 400, "BadRequest", "sinceTime");
  EXPECT_TRUE(kubelet_.WaitTargets(0).empty());  // none of them reached the kubelet
}

TEST_F(PodLogTest, OtherMethodsAreNotAllowed) {
  auto r = Http(port_, "POST", kLogPath, "{}");
  EXPECT_EQ(r.code, 405) << r.body;
}

}  // namespace
}  // namespace korc::apiserver
