// Probes over plain POSIX sockets with poll(2) deadlines: a probe is one short blocking
// exchange with a hard timeout, which poll expresses directly; failure messages follow the
// Go kubelet's wording so `kubectl describe` reads the same.
#include "components/kubelet/prober/prober.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

namespace korc::kubelet::prober {

namespace {

using Clock = std::chrono::steady_clock;

ProbeOutcome Success(std::string message = {}) {
  return {ProbeResult::kSuccess, std::move(message)};
}
ProbeOutcome Failure(std::string message) { return {ProbeResult::kFailure, std::move(message)}; }

int RemainingMs(Clock::time_point deadline) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return ms < 0 ? 0 : static_cast<int>(ms);
}

std::string HostPort(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Connects within the deadline. On failure, the error in Go's net.Dial words
// ("dial tcp 127.0.0.1:80: connect: connection refused", "... i/o timeout").
Result<Fd> Dial(const std::string& host, int port, Clock::time_point deadline) {
  const std::string where = "dial tcp " + HostPort(host, port) + ": ";
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int gai = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (gai != 0) return Status::Unavailable(where + "lookup " + host + ": " + gai_strerror(gai));
  std::string last_error = "no addresses";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (fd.get() < 0) {
      last_error = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd.get(), ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
      last_error = std::string("connect: ") + std::strerror(errno);
      continue;
    }
    if (rc != 0) {
      pollfd p{fd.get(), POLLOUT, 0};
      int n;
      do {
        n = ::poll(&p, 1, RemainingMs(deadline));
      } while (n < 0 && errno == EINTR);
      if (n == 0) {
        ::freeaddrinfo(res);
        return Status::Unavailable(where + "i/o timeout");
      }
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (n < 0) err = errno;
      if (err != 0) {
        last_error = std::string("connect: ") + std::strerror(err);
        continue;
      }
    }
    ::freeaddrinfo(res);
    return fd;
  }
  ::freeaddrinfo(res);
  // strerror says "Connection refused"; Go says "connection refused".
  if (!last_error.empty()) {
    size_t colon = last_error.find(": ");
    if (colon != std::string::npos && colon + 2 < last_error.size()) {
      last_error[colon + 2] =
          static_cast<char>(std::tolower(static_cast<unsigned char>(last_error[colon + 2])));
    }
  }
  return Status::Unavailable(where + last_error);
}

// Waits until fd is ready for `events` or the deadline passes; false on timeout/error.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = ::poll(&p, 1, RemainingMs(deadline));
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

ProbeOutcome ProbeTcp(const std::string& host, int port, int timeout_ms) {
  auto conn = Dial(host, port, Clock::now() + std::chrono::milliseconds(timeout_ms));
  if (!conn.ok()) return Failure(conn.status().message());
  return Success();
}

ProbeOutcome ProbeHttp(const std::string& host, int port, const api::HttpGetAction& action,
                       int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  const std::string target_host = action.host.empty() ? host : action.host;
  std::string path = action.path.empty() ? "/" : action.path;
  if (path[0] != '/') path.insert(0, "/");
  const std::string scheme = action.scheme.empty() ? "http" : action.scheme;
  std::string lower_scheme;
  for (char c : scheme) lower_scheme.push_back(static_cast<char>(std::tolower(c)));
  const std::string url = lower_scheme + "://" + HostPort(target_host, port) + path;
  if (lower_scheme == "https") {
    return Failure("HTTPS probes are not supported by korc (no TLS client): " + url);
  }
  if (lower_scheme != "http") return Failure("unsupported probe scheme \"" + scheme + "\"");
  const std::string get = "Get \"" + url + "\": ";
  const std::string timed_out =
      get + "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";

  auto conn = Dial(target_host, port, deadline);
  if (!conn.ok()) {
    bool timeout = conn.status().message().ends_with("i/o timeout");
    return Failure(timeout ? timed_out : get + conn.status().message());
  }
  int fd = conn->get();

  std::string host_header = HostPort(target_host, port);
  std::string user_agent = kProbeUserAgent;
  std::string extra;
  for (const auto& h : action.http_headers) {
    if (EqualsIgnoreCase(h.name, "Host")) {
      host_header = h.value;
    } else if (EqualsIgnoreCase(h.name, "User-Agent")) {
      user_agent = h.value;
    } else {
      extra += h.name + ": " + h.value + "\r\n";
    }
  }
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host_header +
                        "\r\nUser-Agent: " + user_agent + "\r\n";
  bool has_accept = false;
  for (const auto& h : action.http_headers) has_accept |= EqualsIgnoreCase(h.name, "Accept");
  if (!has_accept) request += "Accept: */*\r\n";
  request += extra + "Connection: close\r\n\r\n";

  std::string_view out = request;
  while (!out.empty()) {
    if (!WaitFor(fd, POLLOUT, deadline)) return Failure(timed_out);
    ssize_t n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Failure(get + "write: " + std::strerror(errno));
    }
    out.remove_prefix(static_cast<size_t>(n));
  }

  // Only the status line matters.
  std::string in;
  while (in.find("\r\n") == std::string::npos) {
    if (in.size() > 8192) return Failure(get + "malformed HTTP response (status line too long)");
    if (!WaitFor(fd, POLLIN, deadline)) return Failure(timed_out);
    char buf[1024];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Failure(get + "read: " + std::strerror(errno));
    }
    if (n == 0) {
      return Failure(get + (in.empty() ? "EOF" : "malformed HTTP response \"" + in + "\""));
    }
    in.append(buf, static_cast<size_t>(n));
  }
  std::string status_line = in.substr(0, in.find("\r\n"));
  int code = 0;
  if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12 || status_line[8] != ' ' ||
      std::sscanf(status_line.c_str() + 9, "%3d", &code) != 1 || code < 100 || code > 999) {
    return Failure(get + "malformed HTTP response \"" + status_line + "\"");
  }
  if (code >= 200 && code < 400) {
    return Success(code >= 300 ? "Probe terminated redirects, Response: " + status_line.substr(9)
                               : "");
  }
  return Failure("HTTP probe failed with statuscode: " + std::to_string(code));
}

Result<int> ResolvePort(const api::IntOrString& port, const api::Container& container) {
  if (!port.is_string) {
    if (port.int_value < 1 || port.int_value > 65535) {
      return Status::Invalid("probe port " + std::to_string(port.int_value) +
                             " is out of range (1-65535)");
    }
    return static_cast<int>(port.int_value);
  }
  for (const auto& p : container.ports) {
    if (p.name == port.str_value) return static_cast<int>(p.container_port);
  }
  return Status::Invalid("port name \"" + port.str_value + "\" not found in container \"" +
                         container.name + "\"");
}

namespace {
api::Probe WithDefaults(api::Probe p) {
  if (p.period_seconds <= 0) p.period_seconds = 10;
  if (p.timeout_seconds <= 0) p.timeout_seconds = 1;
  if (p.success_threshold <= 0) p.success_threshold = 1;
  if (p.failure_threshold <= 0) p.failure_threshold = 3;
  if (p.initial_delay_seconds < 0) p.initial_delay_seconds = 0;
  return p;
}
}  // namespace

ProbeTracker::ProbeTracker(ProbeKind kind, const api::Probe& probe, int64_t started_ns)
    : kind_(kind),
      probe_(WithDefaults(probe)),
      next_due_ns_(started_ns + int64_t{probe_.initial_delay_seconds} * 1'000'000'000),
      healthy_(kind == ProbeKind::kLiveness) {}

void ProbeTracker::Record(const ProbeOutcome& outcome, int64_t now_ns) {
  next_due_ns_ = now_ns + int64_t{probe_.period_seconds} * 1'000'000'000;
  last_message_ = outcome.message;
  if (outcome.ok()) {
    failures_ = 0;
    ++successes_;
    if (successes_ >= probe_.success_threshold) healthy_ = true;
  } else {
    successes_ = 0;
    ++failures_;
    if (failures_ >= probe_.failure_threshold) healthy_ = false;
  }
}

}  // namespace korc::kubelet::prober
