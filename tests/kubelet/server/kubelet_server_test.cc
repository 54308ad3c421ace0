#include "components/kubelet/server/kubelet_server.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>

#include "components/kubelet/logs/container_log.h"
#include "core/values.h"

namespace korc::kubelet {
namespace {

namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A client connection with a receive timeout, so a test that waits for data that never
// comes fails instead of hanging.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(io_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    timeval tv{10, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }

  void Send(const std::string& target) {
    http::request<http::empty_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(socket_, req);
  }

  // A whole response.
  http::response<http::string_body> Get(const std::string& target) {
    Send(target);
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res);
    return res;
  }

  // For streams: the header, then body pieces as they arrive.
  void ReadHeader() { http::read_header(socket_, buffer_, parser_); }
  const http::response<http::string_body>& response() { return parser_.get(); }
  bool done() const { return parser_.is_done(); }
  // Reads until the body ends with `want` (true) or the stream ends or times out (false).
  bool ReadUntil(const std::string& want) {
    while (!parser_.get().body().ends_with(want)) {
      if (parser_.is_done()) return false;
      beast::error_code ec;
      http::read_some(socket_, buffer_, parser_, ec);
      if (ec) return false;
    }
    return true;
  }
  // Reads to the end of the response; false if it ended abnormally.
  bool ReadToEnd() {
    beast::error_code ec;
    while (!parser_.is_done() && !ec) http::read_some(socket_, buffer_, parser_, ec);
    return !ec;
  }
  std::string body() { return parser_.get().body(); }

 private:
  net::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  http::response_parser<http::string_body> parser_;
};

class KubeletServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "korc-kubelet-server-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    current_ = dir_ + "/web-1.log";
    previous_ = dir_ + "/web-0.log";
    auto prev = logs::ContainerLogWriter::Open(previous_, 0, 1);
    ASSERT_TRUE(prev.ok());
    ASSERT_TRUE((*prev)->Write("stdout", "crashed once\n").ok());
    auto cur = logs::ContainerLogWriter::Open(current_, 0, 1);
    ASSERT_TRUE(cur.ok());
    writer_ = std::move(cur).value();
    const int64_t hour_ago = NowNs() - 3600LL * 1'000'000'000;
    ASSERT_TRUE(writer_->WriteAt("stdout", "one\ntwo\n", hour_ago).ok());
    ASSERT_TRUE(writer_->Write("stderr", "three\n").ok());

    auto server = KubeletServer::Start({}, [this](const LogRequest& r) -> Result<LogLocation> {
      {
        std::lock_guard lock(mu_);
        last_ = r;
      }
      if (r.pod_namespace != "default" || r.pod != "web" || r.container != "app") {
        return Status::NotFound("container \"" + r.container + "\" in pod \"" + r.pod_namespace +
                                "/" + r.pod + "\" not found");
      }
      return LogLocation{r.previous ? previous_ : current_, [this] { return running_.load(); }};
    });
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
  }

  void TearDown() override {
    if (server_) server_->Stop();
    fs::remove_all(dir_);
  }

  std::string Logs(const std::string& query, int want_code = 200) {
    Client c(server_->port());
    auto res = c.Get("/containerLogs/default/web/app" + query);
    EXPECT_EQ(res.result_int(), want_code) << res.body();
    return res.body();
  }

  std::string dir_, current_, previous_;
  std::unique_ptr<logs::ContainerLogWriter> writer_;
  std::atomic<bool> running_{true};
  std::unique_ptr<KubeletServer> server_;
  std::mutex mu_;
  LogRequest last_;  // GUARDED_BY(mu_)
};

TEST_F(KubeletServerTest, Healthz) {
  Client c(server_->port());
  auto res = c.Get("/healthz");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "ok");
}

TEST_F(KubeletServerTest, WholeLog) {
  Client c(server_->port());
  auto res = c.Get("/containerLogs/default/web/app");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(res.body(), "one\ntwo\nthree\n");
  // Keep-alive: a second request on the same connection.
  EXPECT_EQ(c.Get("/containerLogs/default/web/app?tailLines=1").body(), "three\n");
}

TEST_F(KubeletServerTest, QueryOptions) {
  EXPECT_EQ(Logs("?tailLines=2"), "two\nthree\n");
  EXPECT_EQ(Logs("?limitBytes=5"), "one\nt");
  EXPECT_EQ(Logs("?sinceSeconds=60"), "three\n");
  std::string ts = Logs("?timestamps=true&tailLines=1");
  ASSERT_GT(ts.size(), 31u) << ts;
  EXPECT_TRUE(api::ParseRfc3339(ts.substr(0, 30))) << ts;
  EXPECT_EQ(ts.substr(30), " three\n");
  EXPECT_EQ(Logs("?previous=true"), "crashed once\n");
  std::lock_guard lock(mu_);
  EXPECT_TRUE(last_.previous);
}

TEST_F(KubeletServerTest, UnknownContainerIs404WithMessage) {
  Client c(server_->port());
  auto res = c.Get("/containerLogs/default/web/sidecar");
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(res[http::field::content_type], "text/plain; charset=utf-8");
  EXPECT_EQ(res.body(), "container \"sidecar\" in pod \"default/web\" not found\n");
  EXPECT_EQ(c.Get("/containerLogs/default/web").result_int(), 404);
  EXPECT_EQ(c.Get("/nothing").result_int(), 404);
}

TEST_F(KubeletServerTest, BadQueryValuesAre400) {
  EXPECT_NE(Logs("?tailLines=abc", 400).find("tailLines"), std::string::npos);
  Logs("?tailLines=-1", 400);
  Logs("?limitBytes=0", 400);
  Logs("?sinceSeconds=0", 400);
  Logs("?follow=maybe", 400);
  Logs("?sinceTime=yesterday", 400);
}

TEST_F(KubeletServerTest, FollowStreamsNewLinesUntilNotRunning) {
  Client c(server_->port());
  c.Send("/containerLogs/default/web/app?follow=true&tailLines=1");
  c.ReadHeader();
  EXPECT_EQ(c.response().result_int(), 200);
  EXPECT_TRUE(c.response().chunked());
  ASSERT_TRUE(c.ReadUntil("three\n")) << c.body();
  ASSERT_TRUE(writer_->Write("stdout", "four\n").ok());
  ASSERT_TRUE(c.ReadUntil("four\n")) << c.body();
  ASSERT_TRUE(writer_->Write("stdout", "five\n").ok());
  ASSERT_TRUE(c.ReadUntil("five\n")) << c.body();
  ASSERT_TRUE(writer_->Write("stdout", "six\n").ok());
  running_ = false;  // the container exits after writing "six"
  EXPECT_TRUE(c.ReadToEnd());
  EXPECT_TRUE(c.done());
  EXPECT_EQ(c.body(), "three\nfour\nfive\nsix\n");
}

TEST_F(KubeletServerTest, FollowOfMissingFileIs404) {
  fs::remove(current_);
  Client c(server_->port());
  auto res = c.Get("/containerLogs/default/web/app?follow=true");
  EXPECT_EQ(res.result_int(), 404);
}

TEST_F(KubeletServerTest, StopEndsOpenFollowPromptly) {
  Client c(server_->port());
  c.Send("/containerLogs/default/web/app?follow=1");
  c.ReadHeader();
  ASSERT_TRUE(c.ReadUntil("three\n")) << c.body();
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_FALSE(c.ReadToEnd());  // cut off, not a clean end of the stream
  // Stopped: new connections are refused.
  EXPECT_THROW(Client{server_->port()}, boost::system::system_error);
}

}  // namespace
}  // namespace korc::kubelet
