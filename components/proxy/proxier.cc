#include "components/proxy/proxier.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "components/kubelet/network/service_addresses.h"
#include "components/proxy/balancer.h"

namespace korc::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

// Bytes one splice moves at most, and the size each relay pipe is grown to (the default
// 64 KiB pipe costs two splices and a wake-up per 64 KiB).
constexpr size_t kChunk = 1024 * 1024;
// Splices one connection may do before it lets the others run.
constexpr int kBurst = 16;

spdlog::logger& Log() {
  static const std::shared_ptr<spdlog::logger> logger = spdlog::default_logger()->clone("proxy");
  return *logger;
}

struct Counters {
  std::atomic<uint64_t> connections{0}, active{0}, bytes_in{0}, bytes_out{0}, connect_errors{0},
      rejected{0};
};

// What a Service port's listeners and connections share. Connections keep it alive after
// the port is gone, so they finish (and are counted) where they started.
struct PortState {
  ServicePortEntry entry;
  Balancer balancer;
  Counters counters;
};

class Listener {
 public:
  virtual ~Listener() = default;
  virtual void Close() = 0;
};

class TcpConnection;

}  // namespace

class Proxier::Impl {
 public:
  explicit Impl(ProxierOptions options)
      : options_(std::move(options)), work_(asio::make_work_guard(io_)) {}

  void Run() {
    RetryFailedListeners();
    thread_ = std::thread([this] { io_.run(); });
  }

  // A listener can fail to open for a while (the address is still another Service's, freed
  // a moment later in the same burst of changes): every second, ports that want listeners
  // and lack one try again.
  void RetryFailedListeners() {
    retry_.expires_after(std::chrono::seconds(1));
    retry_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      for (auto& [id, port] : ports_) {
        if (port.last_error.empty() || port.state->entry.backends.empty()) continue;
        CloseListeners(port);
        OpenListeners(port);
      }
      RetryFailedListeners();
    });
  }

  // Runs fn on the I/O thread and waits for it; false when the proxier has stopped.
  template <class Fn>
  bool OnIoThread(Fn fn) {
    std::lock_guard lock(stop_mu_);
    if (stopped_) return false;
    std::promise<void> done;
    asio::post(io_, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
    return true;
  }

  void Apply(const std::string& service, std::vector<ServicePortEntry> entries);
  std::vector<PortMetrics> Snapshot() const;
  void Stop();

  int64_t Now() const {
    if (options_.clock) return options_.clock();
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  asio::io_context io_;
  ProxierOptions options_;
  // Connections open now, so Stop can close them; the I/O thread only.
  std::map<uint64_t, std::weak_ptr<TcpConnection>> connections_;
  uint64_t next_connection_ = 0;

 private:
  struct Port {
    std::shared_ptr<PortState> state;
    std::vector<std::shared_ptr<Listener>> listeners;
    std::string last_error;  // so a port that cannot listen is reported once, not per sync
  };
  void OpenListeners(Port& port);
  void CloseListeners(Port& port);
  void SyncAddresses(const std::vector<ServicePortEntry>& incoming);

  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer retry_{io_};
  std::thread thread_;
  std::mutex stop_mu_;
  bool stopped_ = false;  // guarded by stop_mu_
  // The I/O thread only:
  std::map<std::string, std::vector<std::string>> services_;  // "ns/name" -> port ids
  std::map<std::string, Port> ports_;                         // by ServicePortEntry::id
  std::set<std::string> addresses_;                           // ClusterIPs made local
};

namespace {

// One client's TCP connection through the proxy: connect to a backend (the next one on
// failure), then splice bytes both ways until both sides have closed.
class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(Proxier::Impl& impl, tcp::socket client, std::shared_ptr<PortState> state)
      : impl_(impl),
        client_(std::move(client)),
        backend_(impl.io_),
        timer_(impl.io_),
        state_(std::move(state)) {}

  ~TcpConnection() {
    for (int fd : {up_.pipe_r, up_.pipe_w, down_.pipe_r, down_.pipe_w}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void Start() {
    id_ = impl_.next_connection_++;
    impl_.connections_[id_] = weak_from_this();
    state_->counters.connections++;
    state_->counters.active++;
    boost::system::error_code ec;
    auto remote = client_.remote_endpoint(ec);
    if (ec) return Close();
    client_ip_ = remote.address().to_string();
    TryNext();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    state_->counters.active--;
    impl_.connections_.erase(id_);
    boost::system::error_code ec;
    timer_.cancel();
    client_.close(ec);
    backend_.close(ec);
  }

 private:
  struct Pump {
    tcp::socket* from = nullptr;
    tcp::socket* to = nullptr;
    int pipe_r = -1, pipe_w = -1;
    size_t pending = 0;  // bytes in the pipe
    bool eof = false;
    std::atomic<uint64_t>* bytes = nullptr;
  };

  void TryNext() {
    auto backend = state_->balancer.Pick(client_ip_, impl_.Now(), tried_);
    if (!backend) {
      state_->counters.rejected++;
      // Reset rather than close: the client learns at once that nobody answered.
      boost::system::error_code ec;
      client_.set_option(asio::socket_base::linger(true, 0), ec);
      return Close();
    }
    tried_.push_back(*backend);
    boost::system::error_code ec;
    auto address = asio::ip::make_address(backend->ip, ec);
    if (ec) {
      state_->counters.connect_errors++;
      return TryNext();
    }
    backend_ = tcp::socket(impl_.io_);
    int attempt = ++attempt_;
    auto self = shared_from_this();
    timer_.expires_after(impl_.options_.connect_timeout);
    timer_.async_wait([self, attempt](const boost::system::error_code& e) {
      if (e || self->closed_ || attempt != self->attempt_ || self->connected_) return;
      boost::system::error_code ignored;
      self->backend_.close(ignored);  // the connect completes with operation_aborted
    });
    backend_.async_connect(tcp::endpoint(address, backend->port),
                           [self, attempt](const boost::system::error_code& e) {
                             if (self->closed_ || attempt != self->attempt_) return;
                             self->timer_.cancel();
                             if (e) {
                               self->state_->counters.connect_errors++;
                               boost::system::error_code ignored;
                               self->backend_.close(ignored);
                               return self->TryNext();
                             }
                             self->connected_ = true;
                             self->StartRelay();
                           });
  }

  void StartRelay() {
    boost::system::error_code ec;
    for (tcp::socket* s : {&client_, &backend_}) {
      s->native_non_blocking(true, ec);
      s->set_option(tcp::no_delay(true), ec);
    }
    int up[2], down[2];
    if (pipe2(up, O_NONBLOCK | O_CLOEXEC) != 0) return Close();
    if (pipe2(down, O_NONBLOCK | O_CLOEXEC) != 0) {
      ::close(up[0]);
      ::close(up[1]);
      return Close();
    }
    for (int fd : {up[1], down[1]}) fcntl(fd, F_SETPIPE_SZ, static_cast<int>(kChunk));
    up_ = Pump{&client_, &backend_, up[0], up[1], 0, false, &state_->counters.bytes_in};
    down_ = Pump{&backend_, &client_, down[0], down[1], 0, false, &state_->counters.bytes_out};
    Pump_(up_);
    Pump_(down_);
  }

  Pump& Other(Pump& p) { return &p == &up_ ? down_ : up_; }

  void Wait(Pump& p, tcp::socket& s, tcp::socket::wait_type what) {
    auto self = shared_from_this();
    s.async_wait(what, [self, &p](const boost::system::error_code& e) {
      if (self->closed_) return;
      if (e) return self->Close();
      self->Pump_(p);
    });
  }

  // Moves what `from` has to `to` until one of them would block (then waits for it), or
  // until kBurst splices (then yields to the other connections).
  void Pump_(Pump& p) {
    for (int i = 0; i < kBurst; ++i) {
      if (closed_) return;
      if (p.pending > 0) {
        ssize_t n = splice(p.pipe_r, nullptr, p.to->native_handle(), nullptr, p.pending,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
          p.pending -= static_cast<size_t>(n);
          *p.bytes += static_cast<uint64_t>(n);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return Wait(p, *p.to, tcp::socket::wait_write);
        return Close();  // the receiver is gone (EPIPE, ECONNRESET)
      }
      ssize_t n = splice(p.from->native_handle(), nullptr, p.pipe_w, nullptr, kChunk,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        p.pending = static_cast<size_t>(n);
        continue;
      }
      if (n == 0) {  // the sender finished: pass the half-close on
        ::shutdown(p.to->native_handle(), SHUT_WR);
        p.eof = true;
        if (Other(p).eof) Close();
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return Wait(p, *p.from, tcp::socket::wait_read);
      return Close();
    }
    auto self = shared_from_this();
    asio::post(impl_.io_, [self, &p] { self->Pump_(p); });
  }

  Proxier::Impl& impl_;
  tcp::socket client_;
  tcp::socket backend_;
  asio::steady_timer timer_;
  std::shared_ptr<PortState> state_;
  std::string client_ip_;
  std::vector<Backend> tried_;
  Pump up_, down_;
  uint64_t id_ = 0;
  int attempt_ = 0;
  bool connected_ = false;
  bool closed_ = false;
};

class TcpListener : public Listener, public std::enable_shared_from_this<TcpListener> {
 public:
  TcpListener(Proxier::Impl& impl, std::shared_ptr<PortState> state)
      : impl_(impl), acceptor_(impl.io_), pause_(impl.io_), state_(std::move(state)) {}

  Status Open(const tcp::endpoint& at) {
    boost::system::error_code ec;
    acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      return Status::Unavailable(fmt::format("listen on {}:{}/TCP: {}", at.address().to_string(),
                                             at.port(), ec.message()));
    }
    Accept();
    return Status::Ok();
  }

  void Close() override {
    boost::system::error_code ec;
    acceptor_.close(ec);
    pause_.cancel();
  }

 private:
  void Accept() {
    auto self = shared_from_this();
    acceptor_.async_accept([self](const boost::system::error_code& ec, tcp::socket socket) {
      if (!self->acceptor_.is_open()) return;
      if (!ec) {
        std::make_shared<TcpConnection>(self->impl_, std::move(socket), self->state_)->Start();
      } else if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
                 ec == asio::error::no_memory) {
        // The connection stays queued and accept would fail again at once: pause instead
        // of spinning, and say so once per pause.
        Log().warn("{}: cannot accept ({}); pausing 100 ms", self->state_->entry.id, ec.message());
        self->pause_.expires_after(std::chrono::milliseconds(100));
        self->pause_.async_wait([self](const boost::system::error_code& e) {
          if (!e && self->acceptor_.is_open()) self->Accept();
        });
        return;
      }
      self->Accept();
    });
  }

  Proxier::Impl& impl_;
  tcp::acceptor acceptor_;
  asio::steady_timer pause_;
  std::shared_ptr<PortState> state_;
};

// UDP: each client address is a flow with its own connected socket towards the backend it
// was given; replies go back to the client from the Service's address.
class UdpListener : public Listener, public std::enable_shared_from_this<UdpListener> {
 public:
  UdpListener(Proxier::Impl& impl, std::shared_ptr<PortState> state)
      : impl_(impl), socket_(impl.io_), sweep_(impl.io_), state_(std::move(state)) {}

  Status Open(const udp::endpoint& at) {
    boost::system::error_code ec;
    socket_.open(at.protocol(), ec);
    if (!ec) socket_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) socket_.bind(at, ec);
    if (ec) {
      boost::system::error_code ignored;
      socket_.close(ignored);
      return Status::Unavailable(fmt::format("listen on {}:{}/UDP: {}", at.address().to_string(),
                                             at.port(), ec.message()));
    }
    Receive();
    Sweep();
    return Status::Ok();
  }

  void Close() override {
    closed_ = true;
    boost::system::error_code ec;
    socket_.close(ec);
    sweep_.cancel();
    for (auto& [client, flow] : flows_) flow->socket.close(ec);
    state_->counters.active -= flows_.size();
    flows_.clear();
  }

 private:
  struct Flow {
    explicit Flow(asio::io_context& io) : socket(io) {}
    udp::socket socket;
    udp::endpoint client;
    Backend backend;
    int64_t last_ns = 0;
    std::array<char, 65536> buffer;
  };

  void Receive() {
    auto self = shared_from_this();
    socket_.async_receive_from(asio::buffer(buffer_), sender_,
                               [self](const boost::system::error_code& ec, size_t n) {
                                 if (self->closed_) return;
                                 if (!ec) self->OnPacket(n);
                                 self->Receive();
                               });
  }

  void OnPacket(size_t n) {
    int64_t now = impl_.Now();
    auto it = flows_.find(sender_);
    if (it != flows_.end() && !StillReady(it->second->backend)) {
      // Its backend left the Endpoints: the client's next datagram picks a ready one.
      Forget(it->second);
      it = flows_.end();
    }
    if (it == flows_.end()) {
      auto flow = std::make_shared<Flow>(impl_.io_);
      flow->client = sender_;
      std::vector<Backend> tried;
      for (;;) {
        auto backend = state_->balancer.Pick(sender_.address().to_string(), now, tried);
        if (!backend) {
          state_->counters.rejected++;
          return;
        }
        tried.push_back(*backend);
        boost::system::error_code ec;
        auto address = asio::ip::make_address(backend->ip, ec);
        if (!ec) flow->socket.open(udp::v4(), ec);
        if (!ec) flow->socket.connect(udp::endpoint(address, backend->port), ec);
        if (!ec) {
          flow->backend = *backend;
          break;
        }
        flow->socket.close(ec);
        state_->counters.connect_errors++;
      }
      state_->counters.connections++;
      state_->counters.active++;
      it = flows_.emplace(sender_, flow).first;
      ReceiveReplies(flow);
    }
    std::shared_ptr<Flow> flow = it->second;
    flow->last_ns = now;
    boost::system::error_code ec;
    flow->socket.send(asio::buffer(buffer_.data(), n), 0, ec);
    if (!ec) {
      state_->counters.bytes_in += n;
    } else {
      state_->counters.connect_errors++;  // e.g. the backend refused an earlier datagram
      Forget(flow);
    }
  }

  bool StillReady(const Backend& b) const {
    const auto& ready = state_->balancer.backends();
    return std::any_of(ready.begin(), ready.end(),
                       [&](const Backend& r) { return r.ip == b.ip && r.port == b.port; });
  }

  void ReceiveReplies(const std::shared_ptr<Flow>& flow) {
    auto self = shared_from_this();
    flow->socket.async_receive(
        asio::buffer(flow->buffer), [self, flow](const boost::system::error_code& ec, size_t n) {
          if (self->closed_ || !flow->socket.is_open()) return;
          if (ec) {
            // The backend refused (ICMP port unreachable): forget the flow, so the
            // client's next datagram picks another backend.
            self->state_->counters.connect_errors++;
            self->Forget(flow);
            return;
          }
          flow->last_ns = self->impl_.Now();
          boost::system::error_code send_ec;
          self->socket_.send_to(asio::buffer(flow->buffer.data(), n), flow->client, 0, send_ec);
          if (!send_ec) self->state_->counters.bytes_out += n;
          self->ReceiveReplies(flow);
        });
  }

  void Forget(const std::shared_ptr<Flow>& flow) {
    auto it = flows_.find(flow->client);
    if (it == flows_.end() || it->second != flow) return;
    boost::system::error_code ec;
    flow->socket.close(ec);
    flows_.erase(it);
    state_->counters.active--;
  }

  void Sweep() {
    auto self = shared_from_this();
    sweep_.expires_after(impl_.options_.udp_idle_timeout / 2);
    sweep_.async_wait([self](const boost::system::error_code& ec) {
      if (ec || self->closed_) return;
      int64_t idle = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         self->impl_.options_.udp_idle_timeout)
                         .count();
      int64_t now = self->impl_.Now();
      std::vector<std::shared_ptr<Flow>> stale;
      for (auto& [client, flow] : self->flows_) {
        if (now - flow->last_ns > idle) stale.push_back(flow);
      }
      for (auto& flow : stale) self->Forget(flow);
      self->Sweep();
    });
  }

  Proxier::Impl& impl_;
  udp::socket socket_;
  asio::steady_timer sweep_;
  std::shared_ptr<PortState> state_;
  std::array<char, 65536> buffer_;
  udp::endpoint sender_;
  std::map<udp::endpoint, std::shared_ptr<Flow>> flows_;
  bool closed_ = false;
};

// Whether two entries listen on the same addresses (so the listeners can stay).
bool SameListen(const ServicePortEntry& a, const ServicePortEntry& b) {
  return a.protocol == b.protocol && a.cluster_ip == b.cluster_ip && a.port == b.port &&
         a.node_port == b.node_port;
}

}  // namespace

void Proxier::Impl::OpenListeners(Port& port) {
  const ServicePortEntry& e = port.state->entry;
  std::vector<std::pair<std::string, uint16_t>> at = {{e.cluster_ip, e.port}};
  if (e.node_port != 0) {
    for (const auto& a : options_.node_port_addresses) at.emplace_back(a, e.node_port);
  }
  std::string errors;
  for (const auto& [ip, number] : at) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(ip, ec);
    Status st = ec ? Status::Invalid(fmt::format("{} is not an IP address", ip)) : Status::Ok();
    if (st.ok() && e.protocol == Protocol::kTcp) {
      auto l = std::make_shared<TcpListener>(*this, port.state);
      st = l->Open(tcp::endpoint(address, number));
      if (st.ok()) port.listeners.push_back(std::move(l));
    } else if (st.ok()) {
      auto l = std::make_shared<UdpListener>(*this, port.state);
      st = l->Open(udp::endpoint(address, number));
      if (st.ok()) port.listeners.push_back(std::move(l));
    }
    if (!st.ok()) errors += (errors.empty() ? "" : "; ") + std::string(st.message());
  }
  if (!errors.empty() && errors != port.last_error) Log().error("{}: {}", e.id, errors);
  port.last_error = errors;
}

void Proxier::Impl::CloseListeners(Port& port) {
  for (auto& l : port.listeners) l->Close();
  port.listeners.clear();
}

void Proxier::Impl::SyncAddresses(const std::vector<ServicePortEntry>& incoming) {
  if (!options_.addresses) return;
  std::set<std::string> want;
  for (const auto& [id, port] : ports_) want.insert(port.state->entry.cluster_ip);
  for (const auto& e : incoming) want.insert(e.cluster_ip);
  if (want == addresses_) return;
  if (Status st = options_.addresses->Sync(want); !st.ok()) {
    Log().error("service addresses on {}: {}", options_.addresses->link(), st.message());
    return;
  }
  addresses_ = std::move(want);
}

void Proxier::Impl::Apply(const std::string& service, std::vector<ServicePortEntry> entries) {
  std::set<std::string> incoming;
  for (const auto& e : entries) incoming.insert(e.id);
  // Ports that went away (or now listen elsewhere) close first, so their addresses can go.
  auto& ids = services_[service];
  for (const auto& id : ids) {
    auto it = ports_.find(id);
    if (it == ports_.end()) continue;
    auto next = std::find_if(entries.begin(), entries.end(),
                             [&](const ServicePortEntry& e) { return e.id == id; });
    if (next == entries.end() || !SameListen(it->second.state->entry, *next)) {
      CloseListeners(it->second);
      ports_.erase(it);
    }
  }
  ids.clear();
  SyncAddresses(entries);
  for (auto& e : entries) {
    ids.push_back(e.id);
    Port& port = ports_[e.id];
    if (!port.state) port.state = std::make_shared<PortState>();
    port.state->balancer.SetBackends(e.backends);
    port.state->balancer.SetAffinity(e.client_ip_affinity, e.affinity_timeout_seconds);
    port.state->entry = std::move(e);
    bool want = !port.state->entry.backends.empty();
    if (want && (port.listeners.empty() || !port.last_error.empty())) {
      CloseListeners(port);  // a listener that failed before may open now
      OpenListeners(port);
    }
    if (!want && !port.listeners.empty()) CloseListeners(port);
  }
  if (ids.empty()) services_.erase(service);
}

std::vector<PortMetrics> Proxier::Impl::Snapshot() const {
  std::vector<PortMetrics> out;
  for (const auto& [id, port] : ports_) {
    const auto& c = port.state->counters;
    PortMetrics m;
    m.id = id;
    m.protocol = port.state->entry.protocol;
    m.connections = c.connections;
    m.active = c.active;
    m.bytes_in = c.bytes_in;
    m.bytes_out = c.bytes_out;
    m.connect_errors = c.connect_errors;
    m.rejected = c.rejected;
    m.backends = port.state->entry.backends.size();
    out.push_back(std::move(m));
  }
  return out;
}

void Proxier::Impl::Stop() {
  {
    std::lock_guard lock(stop_mu_);
    if (stopped_) return;
    stopped_ = true;
  }
  asio::post(io_, [this] {
    retry_.cancel();
    for (auto& [id, port] : ports_) CloseListeners(port);
    ports_.clear();
    services_.clear();
    auto open = connections_;
    for (auto& [id, weak] : open) {
      if (auto c = weak.lock()) c->Close();
    }
    if (options_.addresses && !addresses_.empty()) {
      if (Status st = options_.addresses->Sync({}); !st.ok()) {
        Log().warn("service addresses: {}", st.message());
      }
      addresses_.clear();
    }
  });
  work_.reset();
  if (thread_.joinable()) thread_.join();
}

Proxier::Proxier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Proxier::~Proxier() { Stop(); }

Result<std::unique_ptr<Proxier>> Proxier::Start(ProxierOptions options) {
  for (const auto& a : options.node_port_addresses) {
    boost::system::error_code ec;
    asio::ip::make_address_v4(a, ec);
    if (ec) return Status::Invalid(fmt::format("node port address \"{}\" is not IPv4", a));
  }
  // splice(2) into a socket cannot say MSG_NOSIGNAL: a peer gone at the wrong moment must
  // be an EPIPE to handle, not a signal that ends the node.
  signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>(std::move(options));
  impl->Run();
  return std::unique_ptr<Proxier>(new Proxier(std::move(impl)));
}

void Proxier::Update(const std::string& service, std::vector<ServicePortEntry> entries) {
  impl_->OnIoThread([&] { impl_->Apply(service, std::move(entries)); });
}

std::vector<PortMetrics> Proxier::Metrics() const {
  std::vector<PortMetrics> out;
  impl_->OnIoThread([&] { out = impl_->Snapshot(); });
  return out;
}

std::string Proxier::PrometheusText() const {
  auto metrics = Metrics();
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    std::function<uint64_t(const PortMetrics&)> value;
    const char* extra = "";
  };
  const Family families[] = {
      {"korc_proxy_connections_total", "counter",
       "TCP connections accepted and UDP flows opened, per Service port.",
       [](const PortMetrics& m) { return m.connections; }},
      {"korc_proxy_active_connections", "gauge", "Open TCP connections and UDP flows.",
       [](const PortMetrics& m) { return m.active; }},
      {"korc_proxy_bytes_total", "counter", "Bytes relayed from clients to backends.",
       [](const PortMetrics& m) { return m.bytes_in; }, ",direction=\"in\""},
      {"korc_proxy_bytes_total", "", "", [](const PortMetrics& m) { return m.bytes_out; },
       ",direction=\"out\""},
      {"korc_proxy_connect_errors_total", "counter",
       "Connects to a backend that failed (each is retried on the next backend).",
       [](const PortMetrics& m) { return m.connect_errors; }},
      {"korc_proxy_rejected_total", "counter", "Clients reset because no backend answered.",
       [](const PortMetrics& m) { return m.rejected; }},
      {"korc_proxy_backends", "gauge", "Ready backends.",
       [](const PortMetrics& m) { return static_cast<uint64_t>(m.backends); }},
  };
  std::string out;
  for (const auto& f : families) {
    if (*f.type) out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (const auto& m : metrics) {
      auto colon = m.id.rfind(':');
      out += fmt::format("{}{{service=\"{}\",port=\"{}\",protocol=\"{}\"{}}} {}\n", f.name,
                         m.id.substr(0, colon), m.id.substr(colon + 1), ProtocolName(m.protocol),
                         f.extra, f.value(m));
    }
  }
  return out;
}

void Proxier::Stop() { impl_->Stop(); }

}  // namespace korc::proxy
