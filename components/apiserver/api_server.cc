// The API server's transport: HTTP/1.1 on Boost.Beast (keep-alive, chunked watch streams,
// a body-size limit), one thread per connection. Beast because it is the well-kept HTTP
// implementation Debian ships with Boost, already a dependency; thread-per-connection
// because a watch is a long blocking stream and a few hundred client connections are the
// expected scale on one machine.
#include "components/apiserver/api_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

#include "bus/command.h"
#include "components/apiserver/handlers.h"
#include "components/apiserver/pod_log.h"
#include "components/apiserver/store.h"

namespace korc::apiserver {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

class ApiServerImpl : public ApiServer {
 public:
  ApiServerImpl(storage::EventLog& log, std::unique_ptr<Store> store, bus::Publisher* publisher,
                const ApiServerOptions& options, const ServiceRanges& services)
      : options_(options),
        log_(log),
        store_(std::move(store)),
        sequencer_(log, *store_, hub_, publisher, {}),
        handlers_(log, *store_, sequencer_, hub_, services),
        pod_logs_(*store_),
        acceptor_(io_) {}

  ~ApiServerImpl() override { Stop(); }

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
      return Status::Unavailable("cannot listen on " + options_.address + ":" +
                                 std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    KORC_RETURN_IF_ERROR(handlers_.EnsureNamespaces(options_.initial_namespaces));
    if (options_.bus_context && !options_.command_endpoint.empty()) {
      KORC_ASSIGN_OR_RETURN(commands_,
                            bus::StartCommandServer(
                                *options_.bus_context, options_.command_endpoint,
                                [this](const bus::CommandRequest& c) { return ServeCommand(c); }));
    }
    accept_thread_ = std::thread([this] { AcceptLoop(); });
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }
  std::string command_endpoint() const override {
    return commands_ ? commands_->endpoint() : std::string();
  }

  void Stop() override {
    if (stopping_.exchange(true)) return;
    commands_.reset();  // waits for commands being handled
    beast::error_code ec;
    // shutdown() on a listening socket wakes a thread blocked in accept() (Linux); close()
    // alone would not.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    acceptor_.close(ec);
    if (accept_thread_.joinable()) accept_thread_.join();
    hub_.CloseAll();
    std::list<Connection> conns;
    {
      std::lock_guard lock(mu_);
      for (auto& c : connections_) {
        beast::error_code ignored;
        if (c.socket.is_open()) c.socket.shutdown(tcp::socket::shutdown_both, ignored);
      }
      conns.splice(conns.end(), connections_);
    }
    for (auto& c : conns) {
      if (c.thread.joinable()) c.thread.join();
    }
  }

 private:
  struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    std::thread thread;
    std::atomic<bool> done{false};
  };

  // A component's command: the same handlers as an HTTP request, with its provenance.
  bus::CommandReply ServeCommand(const bus::CommandRequest& c) {
    HttpRequest r;
    r.method = c.method;
    ParseTarget(c.path, &r.path, &r.query);
    r.content_type = c.content_type;
    r.body = c.body;
    r.user_agent = c.actor;
    r.provenance = {c.actor, c.cause, c.basis, c.basis_time_ns, c.id, c.reason};
    HttpResponse out;
    if (Handlers::IsWatch(r)) {
      out = ErrorResponse(Status::BadRequest("watches are not commands: subscribe to the bus"));
    } else if (IsPodLog(r)) {
      out = ErrorResponse(Status::BadRequest("pod logs are not commands: GET them over HTTP"));
    } else if (r.body.size() > options_.max_body_bytes) {
      out = ErrorResponse(Status(Code::kTooLarge, "the command body is too large"));
    } else {
      out = handlers_.Handle(r);
    }
    return bus::CommandReply{c.tag, out.code, out.seq, out.duplicate, std::move(out.body)};
  }

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

  static HttpRequest ToRequest(const http::request<http::string_body>& req) {
    HttpRequest r;
    r.method = std::string(req.method_string());
    ParseTarget(std::string_view(req.target().data(), req.target().size()), &r.path, &r.query);
    if (auto it = req.find(http::field::content_type); it != req.end()) {
      r.content_type = std::string(it->value());
    }
    if (auto it = req.find(http::field::accept); it != req.end())
      r.accept = std::string(it->value());
    if (auto it = req.find(http::field::user_agent); it != req.end()) {
      r.user_agent = std::string(it->value());
    }
    r.body = req.body();
    return r;
  }

  template <class Body>
  static void SetHeaders(http::response<Body>& res, const HttpResponse& r) {
    res.set(http::field::server, "korc");
    res.set(http::field::content_type, r.content_type);
    for (const auto& w : r.warnings) res.insert(http::field::warning, "299 - \"" + w + "\"");
  }

  void Serve(tcp::socket& socket) {
    beast::flat_buffer buffer;
    while (!stopping_.load()) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options_.max_body_bytes);
      parser.header_limit(64 * 1024);
      beast::error_code ec;
      http::read(socket, buffer, parser, ec);
      if (ec == http::error::body_limit) {
        HttpResponse r = ErrorResponse(
            Status(Code::kTooLarge, "the request body is larger than the limit of " +
                                        std::to_string(options_.max_body_bytes) + " bytes"));
        http::response<http::string_body> res{http::status::payload_too_large, 11};
        SetHeaders(res, r);
        res.body() = r.body;
        res.keep_alive(false);
        res.prepare_payload();
        http::write(socket, res, ec);
        break;
      }
      if (ec) break;
      const auto& req = parser.get();
      HttpRequest r = ToRequest(req);
      if (IsPodLog(r)) {
        ServeStream(socket, req, [&](const auto& begin, const auto& write) {
          pod_logs_.Serve(r, socket.native_handle(), begin, write, stopping_);
        });
        break;  // a log ends its connection, as a watch does
      }
      if (Handlers::IsWatch(r)) {
        ServeStream(socket, req, [&](const auto& begin, const auto& write) {
          handlers_.Watch(r, begin, write, stopping_);
        });
        break;  // a watch ends its connection
      }
      HttpResponse out = handlers_.Handle(r);
      http::response<http::string_body> res{static_cast<http::status>(out.code), req.version()};
      SetHeaders(res, out);
      res.keep_alive(req.keep_alive());
      res.body() = std::move(out.body);
      res.prepare_payload();
      http::write(socket, res, ec);
      if (ec || !req.keep_alive()) break;
    }
    // Close, not just shut down: a client still sending a refused (413) body gets a reset
    // instead of blocking on a full window. Under mu_, as Stop() shuts sockets down there.
    beast::error_code ignored;
    std::lock_guard lock(mu_);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  using Begin = std::function<void(const HttpResponse&)>;
  using Write = std::function<bool(std::string_view)>;

  // Serves a streamed answer (a watch, a pod log): `run` calls begin once, then write per
  // chunk, as Handlers::Watch does.
  void ServeStream(tcp::socket& socket, const http::request<http::string_body>& req,
                   const std::function<void(const Begin&, const Write&)>& run) {
    bool streaming = false;
    bool alive = true;
    Begin begin = [&](const HttpResponse& head) {
      beast::error_code ec;
      if (head.code != 200) {
        http::response<http::string_body> res{static_cast<http::status>(head.code), req.version()};
        SetHeaders(res, head);
        res.body() = head.body;
        res.keep_alive(false);
        res.prepare_payload();
        http::write(socket, res, ec);
        alive = false;
        return;
      }
      http::response<http::empty_body> res{http::status::ok, req.version()};
      SetHeaders(res, head);
      res.chunked(true);
      res.keep_alive(false);
      http::response_serializer<http::empty_body> sr{res};
      http::write_header(socket, sr, ec);
      streaming = !ec;
      alive = !ec;
    };
    Write write = [&](std::string_view chunk) {
      if (!alive) return false;
      beast::error_code ec;
      net::write(socket, http::make_chunk(net::buffer(chunk.data(), chunk.size())), ec);
      if (ec) alive = false;
      return alive;
    };
    run(begin, write);
    if (streaming && alive) {
      beast::error_code ec;
      net::write(socket, http::make_chunk_last(), ec);
    }
  }

  ApiServerOptions options_;
  storage::EventLog& log_;
  std::unique_ptr<Store> store_;
  WatchHub hub_;
  Sequencer sequencer_;
  Handlers handlers_;
  PodLogProxy pod_logs_;
  std::unique_ptr<bus::CommandServer> commands_;

  net::io_context io_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::mutex mu_;
  std::list<Connection> connections_;  // GUARDED_BY(mu_)
};

}  // namespace

std::string DefaultServiceClusterIpRange() {
  return geteuid() == 0 ? "10.96.0.0/12" : "127.96.0.0/16";
}

Result<std::unique_ptr<ApiServer>> ApiServer::Start(storage::EventLog& log,
                                                    bus::Publisher* publisher,
                                                    const ApiServerOptions& options) {
  KORC_ASSIGN_OR_RETURN(
      ServiceRanges services,
      ServiceRanges::Parse(options.service_cluster_ip_range, options.service_node_port_range));
  KORC_ASSIGN_OR_RETURN(auto store, Store::Load(log));
  auto server =
      std::make_unique<ApiServerImpl>(log, std::move(store), publisher, options, services);
  KORC_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<ApiServer>(std::move(server));
}

}  // namespace korc::apiserver
