// Boost.Beast, thread per connection, as the API server does (components/apiserver/
// api_server.cc): a log follow is a long blocking stream, and the kubelet serves a handful
// of them at a time.
#include "components/kubelet/server/kubelet_server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "components/kubelet/logs/container_log.h"
#include "core/values.h"

namespace korc::kubelet {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; `plus_is_space` for query strings. nullopt on a bad escape.
std::optional<std::string> Unescape(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      int hi = i + 1 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Go's strconv.ParseBool, which the Kubernetes query decoder uses.
std::optional<bool> ParseBool(std::string_view v) {
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") return true;
  if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") {
    return false;
  }
  return std::nullopt;
}

std::optional<int64_t> ParseInt(std::string_view v) {
  int64_t out = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return out;
}

// The query of a /containerLogs request into `r`; BadRequest for values Kubernetes rejects.
Status ParseLogQuery(std::string_view query, LogRequest* r) {
  std::map<std::string, std::string> params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (kv.empty()) continue;
    size_t eq = kv.find('=');
    auto key = Unescape(kv.substr(0, eq), true);
    auto value =
        Unescape(eq == std::string_view::npos ? std::string_view() : kv.substr(eq + 1), true);
    if (!key || !value) return Status::BadRequest("malformed query string");
    params.emplace(std::move(*key), std::move(*value));  // the first value wins, as in Go
  }
  auto boolean = [&](const char* name, bool* out) -> Status {
    auto it = params.find(name);
    if (it == params.end()) return Status::Ok();
    auto v = ParseBool(it->second);
    if (!v) {
      return Status::BadRequest(std::string(name) + ": invalid boolean \"" + it->second + "\"");
    }
    *out = *v;
    return Status::Ok();
  };
  auto integer = [&](const char* name, int64_t min, std::optional<int64_t>* out) -> Status {
    auto it = params.find(name);
    if (it == params.end()) return Status::Ok();
    auto v = ParseInt(it->second);
    if (!v) {
      return Status::BadRequest(std::string(name) + ": invalid integer \"" + it->second + "\"");
    }
    if (*v < min) {
      return Status::BadRequest(std::string(name) + ": must be greater than or equal to " +
                                std::to_string(min));
    }
    *out = *v;
    return Status::Ok();
  };
  KORC_RETURN_IF_ERROR(boolean("follow", &r->follow));
  KORC_RETURN_IF_ERROR(boolean("previous", &r->previous));
  KORC_RETURN_IF_ERROR(boolean("timestamps", &r->timestamps));
  KORC_RETURN_IF_ERROR(integer("tailLines", 0, &r->tail_lines));
  KORC_RETURN_IF_ERROR(integer("limitBytes", 1, &r->limit_bytes));
  KORC_RETURN_IF_ERROR(integer("sinceSeconds", 1, &r->since_seconds));
  if (auto it = params.find("sinceTime"); it != params.end()) {
    auto ns = api::ParseRfc3339(it->second);
    if (!ns) return Status::BadRequest("sinceTime: invalid RFC 3339 time \"" + it->second + "\"");
    if (r->since_seconds) {
      return Status::BadRequest("at most one of sinceTime or sinceSeconds may be specified");
    }
    r->since_ns = *ns;
  }
  return Status::Ok();
}

int HttpCode(const Status& s) {
  switch (s.code()) {
    case Code::kNotFound:
      return 404;
    case Code::kBadRequest:
    case Code::kInvalid:
      return 400;
    case Code::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

class KubeletServer::Impl {
 public:
  Impl(const KubeletServerOptions& options, LogResolver resolver)
      : options_(options), resolver_(std::move(resolver)), acceptor_(io_) {}

  Status Listen() {
    beast::error_code ec;
    auto addr = net::ip::make_address(options_.address, ec);
    if (ec) return Status::Invalid("listen address \"" + options_.address + "\": " + ec.message());
    tcp::endpoint ep(addr, options_.port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::Unavailable("kubelet server cannot listen on " + options_.address + ":" +
                                 std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
    spdlog::info("kubelet server: listening address={} port={}", options_.address, port_);
    return Status::Ok();
  }

  uint16_t port() const { return port_; }

  void Stop() {
    if (stopping_.exchange(true)) return;
    beast::error_code ec;
    // shutdown() wakes a thread blocked in accept() on Linux; close() alone would not.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    acceptor_.close(ec);
    if (accept_thread_.joinable()) accept_thread_.join();
    std::list<Connection> conns;
    {
      std::lock_guard lock(mu_);
      for (auto& c : connections_) {
        beast::error_code ignored;
        if (c.socket.is_open()) c.socket.shutdown(tcp::socket::shutdown_both, ignored);
      }
      conns.splice(conns.end(), connections_);
    }
    // Follows notice stopping_ at their next poll (~100 ms).
    for (auto& c : conns) {
      if (c.thread.joinable()) c.thread.join();
    }
    spdlog::info("kubelet server: stopped port={}", port_);
  }

 private:
  struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void AcceptLoop() {
    while (!stopping_.load()) {
      beast::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) {
        if (stopping_.load()) return;
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      std::lock_guard lock(mu_);
      ReapFinished();
      connections_.emplace_back(std::move(socket));
      Connection& c = connections_.back();
      c.thread = std::thread([this, &c] {
        Serve(c.socket);
        c.done = true;
      });
    }
  }

  // REQUIRES: mu_ held.
  void ReapFinished() {
    for (auto it = connections_.begin(); it != connections_.end();) {
      if (it->done.load()) {
        it->thread.join();
        it = connections_.erase(it);
      } else {
        ++it;
      }
    }
  }

  using Request = http::request<http::string_body>;

  static void WriteText(tcp::socket& socket, const Request& req, int code, std::string body,
                        bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(code), req.version()};
    res.set(http::field::server, "korc-kubelet");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    beast::error_code ec;
    http::write(socket, res, ec);
  }

  void Serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    while (!stopping_.load()) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024);
      parser.header_limit(64 * 1024);
      beast::error_code ec;
      http::read(socket, buffer, parser, ec);
      if (ec) break;
      const Request& req = parser.get();
      if (!Handle(socket, req) || !req.keep_alive()) break;
    }
    beast::error_code ignored;
    std::lock_guard lock(mu_);  // Stop() shuts sockets down under mu_
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  // Answers one request; false when the connection must end.
  bool Handle(tcp::socket& socket, const Request& req) {
    std::string_view target(req.target().data(), req.target().size());
    size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    std::string_view query =
        q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    const bool keep = req.keep_alive();
    if (req.method() != http::verb::get) {
      WriteText(socket, req, 405, "method not allowed\n", keep);
      return true;
    }
    if (path == "/healthz") {
      WriteText(socket, req, 200, "ok", keep);
      return true;
    }
    if (path == "/metrics" && options_.metrics) {
      WriteText(socket, req, 200, options_.metrics(), keep);
      return true;
    }
    constexpr std::string_view kLogs = "/containerLogs/";
    if (!path.starts_with(kLogs)) {
      WriteText(socket, req, 404, "404 page not found\n", keep);
      return true;
    }
    std::vector<std::string> parts;
    std::string_view rest = path.substr(kLogs.size());
    while (true) {
      size_t slash = rest.find('/');
      auto part = Unescape(rest.substr(0, slash), false);
      if (!part) {
        WriteText(socket, req, 400, "malformed path\n", keep);
        return true;
      }
      parts.push_back(std::move(*part));
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
    if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
      WriteText(socket, req, 404, "404 page not found\n", keep);
      return true;
    }
    LogRequest lr;
    lr.pod_namespace = parts[0];
    lr.pod = parts[1];
    lr.container = parts[2];
    if (Status st = ParseLogQuery(query, &lr); !st.ok()) {
      WriteText(socket, req, 400, st.message() + "\n", keep);
      return true;
    }
    Result<LogLocation> loc = resolver_(lr);
    if (!loc.ok()) {
      WriteText(socket, req, HttpCode(loc.status()), loc.status().message() + "\n", keep);
      return true;
    }
    logs::ReadOptions o;
    o.tail_lines = lr.tail_lines;
    o.limit_bytes = lr.limit_bytes;
    o.timestamps = lr.timestamps;
    if (lr.since_seconds) o.since_ns = NowNs() - *lr.since_seconds * 1'000'000'000;
    if (lr.since_ns) o.since_ns = lr.since_ns;
    spdlog::debug("kubelet server: logs pod={}/{} container={} follow={} previous={}",
                  lr.pod_namespace, lr.pod, lr.container, lr.follow, lr.previous);
    if (!lr.follow) {
      Result<std::string> body = logs::ReadLog(loc->path, o);
      if (!body.ok()) {
        WriteText(socket, req, HttpCode(body.status()), body.status().message() + "\n", keep);
      } else {
        WriteText(socket, req, 200, std::move(*body), keep);
      }
      return true;
    }
    return Follow(socket, req, o, *loc);
  }

  // Streams a follow as a chunked response; the connection ends with it.
  bool Follow(tcp::socket& socket, const Request& req, const logs::ReadOptions& o,
              const LogLocation& loc) {
    // Checked before the 200 goes out, so a missing file is still a plain 404.
    if (::access(loc.path.c_str(), F_OK) != 0) {
      WriteText(socket, req, 404, "log file " + loc.path + " does not exist\n", false);
      return false;
    }
    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "korc-kubelet");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.chunked(true);
    res.keep_alive(false);
    http::response_serializer<http::empty_body> sr{res};
    beast::error_code ec;
    http::write_header(socket, sr, ec);
    if (ec) return false;
    bool alive = true;
    auto sink = [&](std::string_view chunk) {
      if (stopping_.load() || !alive) return false;
      beast::error_code wec;
      net::write(socket, http::make_chunk(net::buffer(chunk.data(), chunk.size())), wec);
      alive = !wec;
      return alive;
    };
    const int fd = socket.native_handle();
    auto keep_going = [&] {
      if (stopping_.load() || !alive) return false;
      // A client that hung up while nothing was written is noticed here, not at the next
      // line (which may never come).
      char c;
      ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        alive = false;
        return false;
      }
      return loc.running ? loc.running() : false;
    };
    Status st = logs::FollowLog(loc.path, o, sink, keep_going);
    if (!st.ok()) {
      spdlog::warn("kubelet server: following {}: {}", loc.path, st.message());
    }
    if (alive && !stopping_.load()) {
      net::write(socket, http::make_chunk_last(), ec);
    }
    return false;
  }

  KubeletServerOptions options_;
  LogResolver resolver_;
  net::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<Connection> connections_;  // GUARDED_BY(mu_)
};

KubeletServer::KubeletServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KubeletServer::~KubeletServer() { Stop(); }

Result<std::unique_ptr<KubeletServer>> KubeletServer::Start(const KubeletServerOptions& options,
                                                            LogResolver resolver) {
  auto impl = std::make_unique<Impl>(options, std::move(resolver));
  KORC_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<KubeletServer>(new KubeletServer(std::move(impl)));
}

uint16_t KubeletServer::port() const { return impl_->port(); }

void KubeletServer::Stop() { impl_->Stop(); }

}  // namespace korc::kubelet
