// The pod log proxy. Blocking Beast I/O on the connection's own thread, like a watch, but
// every wait is a poll() on both the kubelet's socket and the client's, so a client that goes
// away (or the server stopping) ends a quiet `kubectl logs -f` at once instead of whenever the
// container next prints.
#include "components/apiserver/pod_log.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <limits>
#include <vector>

#include "core/objects.h"
#include "core/values.h"

namespace korc::apiserver {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// How long the kubelet may take to accept the connection and to send its answer's header.
// The body has no deadline: a followed log is quiet for as long as the container is.
constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kHeaderTimeout = std::chrono::seconds(30);
// How often a wait looks at `stopping` (Stop() also hangs up the client, which wakes it).
constexpr int kPollMillis = 250;
// The most of a kubelet's error answer kept for the Status message.
constexpr size_t kMaxErrorBytes = 64 * 1024;

// The path's segments after "/api/v1/".
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> seg;
  if (!path.starts_with("/api/v1/")) return seg;
  std::string_view rest = path.substr(8);
  while (!rest.empty()) {
    auto slash = rest.find('/');
    seg.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return seg;
}

HttpResponse BadRequest(std::string message) {
  return ErrorResponse(Status::BadRequest(std::move(message)));
}

// Kubernetes decodes query booleans with Go's strconv.ParseBool; present-but-empty is false.
std::optional<bool> ParseBool(std::string_view v) {
  for (std::string_view t : {"1", "t", "T", "true", "TRUE", "True"}) {
    if (v == t) return true;
  }
  for (std::string_view f : {"", "0", "f", "F", "false", "FALSE", "False"}) {
    if (v == f) return false;
  }
  return std::nullopt;
}

// The pod log options, checked as Kubernetes' query decoding and ValidatePodLogOptions do.
struct LogOptions {
  std::string container;
  bool follow = false;
  bool previous = false;
  bool timestamps = false;
  std::optional<int64_t> tail_lines;
  std::optional<int64_t> limit_bytes;
  std::optional<int64_t> since_seconds;
};

std::optional<LogOptions> ParseLogOptions(const HttpRequest& req, std::string_view pod,
                                          int64_t now_ns, HttpResponse* error) {
  LogOptions o;
  o.container = req.Query("container");
  for (auto [key, out] :
       {std::pair{"follow", &o.follow}, {"previous", &o.previous}, {"timestamps", &o.timestamps}}) {
    std::string v = req.Query(key);
    auto b = ParseBool(v);
    if (!b) {
      *error = BadRequest(std::string(key) + ": Invalid value: \"" + v + "\": must be a boolean");
      return std::nullopt;
    }
    *out = *b;
  }
  // Positive-only fields, with Kubernetes' validation message for each.
  struct IntField {
    const char* key;
    std::optional<int64_t>* out;
    int64_t min;
    const char* rule;
  };
  for (const IntField& f :
       {IntField{"tailLines", &o.tail_lines, 0,
                 "must be greater than or "
                 "equal to 0"},
        IntField{"limitBytes", &o.limit_bytes, 1, "must be greater than 0"},
        IntField{"sinceSeconds", &o.since_seconds, 1, "must be greater than 0"}}) {
    if (!req.query.contains(f.key)) continue;
    std::string v = req.Query(f.key);
    int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
      *error =
          BadRequest(std::string(f.key) + ": Invalid value: \"" + v + "\": must be an integer");
      return std::nullopt;
    }
    if (n < f.min) {
      // Kubernetes answers a decodable but invalid value as 422 Invalid on PodLogOptions.
      *error = ErrorResponse(Status::Invalid("PodLogOptions \"" + std::string(pod) +
                                             "\" is invalid: " + f.key + ": Invalid value: " + v +
                                             ": " + f.rule));
      return std::nullopt;
    }
    *f.out = n;
  }
  if (std::string t = req.Query("sinceTime"); !t.empty()) {
    if (o.since_seconds) {
      *error = ErrorResponse(
          Status::Invalid("PodLogOptions \"" + std::string(pod) +
                          "\" is invalid: sinceSeconds: Forbidden: at most one of `sinceTime` or "
                          "`sinceSeconds` may be specified"));
      return std::nullopt;
    }
    auto at = api::ParseRfc3339(t);
    if (!at) {
      *error = BadRequest("sinceTime: Invalid value: \"" + t + "\": must be an RFC 3339 time");
      return std::nullopt;
    }
    // The kubelet takes an age, not an instant: round up so nothing at `at` is cut off.
    int64_t age_ns = now_ns - *at;
    o.since_seconds = std::max<int64_t>(1, (age_ns + 999'999'999) / 1'000'000'000);
  }
  return o;
}

std::string ContainerNames(const api::PodSpec& spec) {
  std::string out;
  for (const auto& c : spec.containers) out += (out.empty() ? "" : " ") + c.name;
  return out;
}

enum class Wait { kReady, kClientGone, kStopping, kTimedOut };

// Waits until `fd` has `events`, the client hangs up, `stopping` is set, or `deadline` passes.
Wait WaitFor(int fd, short events, int client_fd, const std::atomic<bool>& stopping,
             std::optional<Clock::time_point> deadline) {
  for (;;) {
    if (stopping.load()) return Wait::kStopping;
    int timeout = kPollMillis;
    if (deadline) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()).count();
      if (left <= 0) return Wait::kTimedOut;
      timeout = static_cast<int>(std::min<int64_t>(left, kPollMillis));
    }
    pollfd fds[2] = {{fd, events, 0}, {client_fd, POLLRDHUP, 0}};
    int n = ::poll(fds, client_fd >= 0 ? 2 : 1, timeout);
    if (n < 0 && errno != EINTR) return Wait::kClientGone;  // cannot wait: give up the stream
    if (n <= 0) continue;
    if (client_fd >= 0 && (fds[1].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) {
      return Wait::kClientGone;
    }
    if (fds[0].revents) return Wait::kReady;
  }
}

std::string Where(const KubeletLogTarget& t, std::string_view node) {
  return "the kubelet of node \"" + std::string(node) + "\" at " + t.host + ":" +
         std::to_string(t.port);
}

// Connects without blocking past kConnectTimeout: asio's synchronous connect has no timeout,
// and a Node may state an address nothing answers on.
Status Connect(tcp::socket& s, const KubeletLogTarget& t, std::string_view node, int client_fd,
               const std::atomic<bool>& stopping) {
  beast::error_code ec;
  tcp::endpoint ep(net::ip::make_address(t.host, ec), t.port);
  if (ec)
    return Status::Unavailable("node \"" + std::string(node) + "\" states InternalIP \"" + t.host +
                               "\", which is not an IP address");
  s.open(ep.protocol(), ec);
  if (!ec) s.non_blocking(true, ec);
  if (ec) return Status::Internal("cannot open a socket: " + ec.message());
  if (::connect(s.native_handle(), ep.data(), ep.size()) == 0) return Status::Ok();
  if (errno != EINPROGRESS) {
    return Status::Unavailable("cannot reach " + Where(t, node) + ": " + std::strerror(errno));
  }
  switch (
      WaitFor(s.native_handle(), POLLOUT, client_fd, stopping, Clock::now() + kConnectTimeout)) {
    case Wait::kReady:
      break;
    case Wait::kTimedOut:
      return Status::Unavailable("cannot reach " + Where(t, node) + ": connection timed out");
    case Wait::kClientGone:
    case Wait::kStopping:
      return Status::Unavailable("the request ended before " + Where(t, node) + " answered");
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    return Status::Unavailable("cannot reach " + Where(t, node) + ": " + std::strerror(err));
  }
  return Status::Ok();
}

// The metav1.Status for a kubelet's non-200 answer: its 404 and 400 pass through with its
// message, anything else is the kubelet failing.
HttpResponse KubeletError(int code, std::string body, const KubeletLogTarget& t,
                          std::string_view node) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  if (code == 404) return ErrorResponse(Status::NotFound(body));
  if (code == 400) return ErrorResponse(Status::BadRequest(body));
  return ErrorResponse(Status::Internal(Where(t, node) + " answered HTTP " + std::to_string(code) +
                                        (body.empty() ? "" : ": " + body)));
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool IsPodLog(const HttpRequest& req) {
  if (req.method != "GET") return false;
  auto seg = Segments(req.path);
  return seg.size() == 5 && seg[0] == "namespaces" && seg[2] == "pods" && seg[4] == "log" &&
         !seg[1].empty() && !seg[3].empty();
}

std::optional<KubeletLogTarget> ResolvePodLog(const Store& store, const HttpRequest& req,
                                              int64_t now_ns, HttpResponse* error) {
  auto seg = Segments(req.path);
  if (seg.size() != 5) {
    *error = ErrorResponse(Status::NotFound("the server could not find the requested resource"));
    return std::nullopt;
  }
  std::string ns(seg[1]), name(seg[3]);
  auto opts = ParseLogOptions(req, name, now_ns, error);
  if (!opts) return std::nullopt;

  EntryPtr pod_entry = store.Get("Pod", ns, name);
  if (!pod_entry) {
    *error = ErrorResponse(Status::NotFound("pods \"" + name + "\" not found"), "pods", name);
    return std::nullopt;
  }
  const auto& pod = std::get<api::Pod>(pod_entry->object);
  std::string container = opts->container;
  if (container.empty()) {
    if (pod.spec.containers.empty()) {
      *error = BadRequest("the pod " + name + " does not have a container");
      return std::nullopt;
    }
    if (pod.spec.containers.size() > 1) {
      *error = BadRequest("a container name must be specified for pod " + name +
                          ", choose one of: [" + ContainerNames(pod.spec) + "]");
      return std::nullopt;
    }
    container = pod.spec.containers[0].name;
  } else {
    bool known = false;
    for (const auto& c : pod.spec.containers) known = known || c.name == container;
    if (!known) {
      *error = BadRequest("container " + container + " is not valid for pod " + name);
      return std::nullopt;
    }
  }

  const std::string& node_name = pod.spec.node_name;
  if (node_name.empty()) {
    *error = BadRequest("pod " + name + " does not have a host assigned");
    return std::nullopt;
  }
  EntryPtr node_entry = store.Get("Node", "", node_name);
  if (!node_entry) {
    *error = ErrorResponse(Status::NotFound("nodes \"" + node_name + "\" not found"), "nodes",
                           node_name);
    return std::nullopt;
  }
  const auto& node = std::get<api::Node>(node_entry->object);
  KubeletLogTarget t;
  t.node = node_name;
  for (const auto& a : node.status.addresses) {
    if (a.type == "InternalIP") {
      t.host = a.address;
      break;
    }
  }
  // Only the address the Node states, and only a literal IP: the API server never resolves
  // names on a client's behalf.
  beast::error_code ec;
  net::ip::make_address(t.host, ec);
  if (t.host.empty() || ec) {
    *error = ErrorResponse(Status::Unavailable(
        "node \"" + node_name + "\" states no InternalIP address in status.addresses" +
        (t.host.empty() ? "" : " (\"" + t.host + "\" is not an IP address)") +
        ", so its kubelet cannot be reached for logs"));
    return std::nullopt;
  }
  int32_t port = node.status.daemon_endpoints.kubelet_endpoint.port;
  if (port <= 0 || port > 65535) {
    *error = ErrorResponse(
        Status::Unavailable("node \"" + node_name +
                            "\" states no kubelet endpoint "
                            "(status.daemonEndpoints.kubeletEndpoint.Port), so its kubelet "
                            "cannot be reached for logs"));
    return std::nullopt;
  }
  t.port = static_cast<uint16_t>(port);

  // Object names are DNS labels/subdomains, so the path needs no escaping.
  t.target = "/containerLogs/" + ns + "/" + name + "/" + container;
  std::string q;
  auto add = [&](std::string_view kv) { q += (q.empty() ? "?" : "&") + std::string(kv); };
  if (opts->follow) add("follow=true");
  if (opts->previous) add("previous=true");
  if (opts->timestamps) add("timestamps=true");
  if (opts->tail_lines) add("tailLines=" + std::to_string(*opts->tail_lines));
  if (opts->limit_bytes) add("limitBytes=" + std::to_string(*opts->limit_bytes));
  if (opts->since_seconds) add("sinceSeconds=" + std::to_string(*opts->since_seconds));
  t.target += q;
  return t;
}

void PodLogProxy::Serve(const HttpRequest& req, int client_fd,
                        const std::function<void(const HttpResponse&)>& begin,
                        const std::function<bool(std::string_view)>& write,
                        const std::atomic<bool>& stopping) const {
  HttpResponse error;
  auto target = ResolvePodLog(store_, req, NowNs(), &error);
  if (!target) return begin(error);
  const std::string& node = target->node;

  net::io_context io;
  tcp::socket sock(io);
  if (Status st = Connect(sock, *target, node, client_fd, stopping); !st.ok()) {
    return begin(ErrorResponse(st));
  }
  beast::error_code ec;
  {
    // The request is small, so a blocking write into an empty send buffer cannot stall.
    sock.non_blocking(false, ec);
    http::request<http::empty_body> kreq{http::verb::get, target->target, 11};
    kreq.set(http::field::host, target->host + ":" + std::to_string(target->port));
    kreq.set(http::field::user_agent, "korc-apiserver");
    kreq.keep_alive(false);
    if (!ec) http::write(sock, kreq, ec);
    if (!ec) sock.non_blocking(true, ec);
    if (ec) {
      return begin(ErrorResponse(
          Status::Unavailable("cannot send to " + Where(*target, node) + ": " + ec.message())));
    }
  }

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());  // a followed log has no end
  const auto header_deadline = Clock::now() + kHeaderTimeout;
  int code = 0;  // the kubelet's status, once its header is in
  std::string error_body;
  char chunk[16 * 1024];
  bool need_poll = true;
  while (!parser.is_done()) {
    if (need_poll) {
      Wait w = WaitFor(sock.native_handle(), POLLIN, client_fd, stopping,
                       code == 0 ? std::optional(header_deadline) : std::nullopt);
      if (w == Wait::kTimedOut) {
        return begin(
            ErrorResponse(Status::Unavailable(Where(*target, node) + " did not answer in time")));
      }
      if (w != Wait::kReady) {
        // The client is gone or the server is stopping: nothing more to say to anyone.
        if (code == 0) begin(ErrorResponse(Status::Unavailable("the request was abandoned")));
        return;
      }
    }
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    ec = {};
    http::read_some(sock, buffer, parser, ec);
    size_t n = sizeof chunk - parser.get().body().size;
    if (code == 0 && parser.is_header_done()) {
      code = static_cast<int>(parser.get().result_int());
      if (code == 200) begin(HttpResponse{200, "text/plain", {}, {}});
    }
    if (n > 0) {
      if (code == 200) {
        if (!write(std::string_view(chunk, n))) return;
      } else if (error_body.size() < kMaxErrorBytes) {
        error_body.append(chunk, std::min(n, kMaxErrorBytes - error_body.size()));
      }
    }
    if (ec == net::error::would_block || ec == net::error::try_again) {
      need_poll = true;
      continue;
    }
    if (ec == http::error::need_buffer) {
      need_poll = false;  // more of the body is already buffered
      continue;
    }
    if (ec) {
      if (code == 0) {
        return begin(ErrorResponse(
            Status::Unavailable("reading from " + Where(*target, node) + ": " + ec.message())));
      }
      if (code == 200) return;  // the kubelet broke off the stream: end it here too
      break;                    // an error answer cut short: report what came
    }
    need_poll = buffer.size() == 0;
  }
  if (code == 0) {
    return begin(ErrorResponse(
        Status::Unavailable(Where(*target, node) + " closed the connection without answering")));
  }
  if (code != 200) begin(KubeletError(code, std::move(error_body), *target, node));
}

}  // namespace korc::apiserver
