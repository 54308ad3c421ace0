#include "tests/images/registry_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace korc::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads the head ("...\r\n\r\n") and whatever body bytes came with it.
bool ReadHead(int fd, std::string* head, std::string* rest) {
  std::string buf;
  char chunk[4096];
  while (true) {
    size_t end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      *head = buf.substr(0, end + 2);
      *rest = buf.substr(end + 4);
      return true;
    }
    if (buf.size() > (1 << 20)) return false;
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf.append(chunk, static_cast<size_t>(n));
  }
}

// "Name: value" lines after the first line of `head`.
std::vector<std::pair<std::string, std::string>> ParseHeaderLines(const std::string& head,
                                                                  std::string* first_line) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(head);
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first) {
      *first_line = line;
      first = false;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    out.emplace_back(line.substr(0, colon), Trim(line.substr(colon + 1)));
  }
  return out;
}

Result<std::string> Dechunk(const std::string& in) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string::npos) return Status::Corruption("truncated chunked body");
    size_t len = std::strtoul(in.substr(pos, eol - pos).c_str(), nullptr, 16);
    pos = eol + 2;
    if (len == 0) return out;
    if (pos + len > in.size()) return Status::Corruption("truncated chunk");
    out.append(in, pos, len);
    pos += len + 2;
  }
}

int LoopbackSocket() { return socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); }

sockaddr_in LoopbackAddr(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// A port that was free a moment ago. The registry binds it itself, so there is a small
// race with other processes; Start() retries on a bind failure.
Result<int> PickFreePort() {
  int fd = LoopbackSocket();
  if (fd < 0) return Status::Internal(Errno("socket"));
  sockaddr_in addr = LoopbackAddr(0);
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Status s = Status::Internal(Errno("bind 127.0.0.1:0"));
    close(fd);
    return s;
  }
  close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  std::istringstream in(p);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (dir.empty()) continue;
    std::string full = dir + "/" + name;
    if (access(full.c_str(), X_OK) == 0) return full;
  }
  return "";
}

std::string ChildPath() {
  const char* path = std::getenv("PATH");
  return std::string("PATH=") +
         (path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& data, mode_t mode = 0644) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  if (!out) return Status::Internal("writing " + path);
  chmod(path.c_str(), mode);
  return Status::Ok();
}

struct SpawnArgs {
  std::vector<std::string> argv, env;
  std::vector<char*> argv_p, env_p;
  SpawnArgs(std::vector<std::string> a, std::vector<std::string> e)
      : argv(std::move(a)), env(std::move(e)) {
    for (auto& s : argv) argv_p.push_back(s.data());
    argv_p.push_back(nullptr);
    for (auto& s : env) env_p.push_back(s.data());
    env_p.push_back(nullptr);
  }
};

// Spawns argv in a new process group (pgid == pid), stdin from /dev/null, stdout and
// stderr onto `out_fd`.
Result<pid_t> Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    int out_fd) {
  std::string exe = argv.empty() ? "" : FindOnPath(argv[0]);
  if (exe.empty()) return Status::NotFound((argv.empty() ? "" : argv[0]) + " not on PATH");
  SpawnArgs args(argv, env);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, exe.c_str(), &fa, &attr, args.argv_p.data(), args.env_p.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return Status::Internal("spawn " + exe + ": " + std::strerror(rc));
  return pid;
}

int ExitCode(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

// SIGTERM to the group, up to `grace` for it to exit, then SIGKILL; always reaps `pid`.
void KillGroupAndReap(pid_t pid, std::chrono::milliseconds grace) {
  kill(-pid, SIGTERM);
  auto deadline = Clock::now() + grace;
  int wstatus = 0;
  while (Clock::now() < deadline) {
    pid_t r = waitpid(pid, &wstatus, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) {
      kill(-pid, SIGKILL);  // stragglers in the group, if any
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(-pid, SIGKILL);
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) return "";
  return buf.data();
}

}  // namespace

// ---------------------------------------------------------------- HTTP client ----------

std::string HttpResponse::Header(const std::string& name) const {
  std::string want = Lower(name);
  for (const auto& [k, v] : headers) {
    if (Lower(k) == want) return v;
  }
  return "";
}

std::string Base64(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string BasicAuthorization(const std::string& user, const std::string& password) {
  return "Basic " + Base64(user + ":" + password);
}

Result<HttpResponse> HttpRequest(const std::string& method, const std::string& host_port,
                                 const std::string& target,
                                 const std::vector<std::pair<std::string, std::string>>& headers,
                                 const std::string& body, int timeout_ms) {
  const std::string kPrefix = "127.0.0.1:";
  if (host_port.rfind(kPrefix, 0) != 0) {
    return Status::Invalid("HttpRequest only talks to 127.0.0.1, not \"" + host_port + "\"");
  }
  int port = std::atoi(host_port.c_str() + kPrefix.size());
  if (port <= 0 || port > 65535) return Status::Invalid("bad port in " + host_port);

  int fd = LoopbackSocket();
  if (fd < 0) return Status::Internal(Errno("socket"));
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr = LoopbackAddr(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Status s = Status::Unavailable(Errno("connect " + host_port));
    close(fd);
    return s;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host_port +
                    "\r\nConnection: close\r\nUser-Agent: korc-test\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  std::string raw;
  bool ok = WriteAll(fd, req);
  if (ok) {
    char chunk[16384];
    while (true) {
      ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        ok = false;
        break;
      }
      if (n == 0) break;
      raw.append(chunk, static_cast<size_t>(n));
    }
  }
  close(fd);
  if (!ok) return Status::Unavailable("I/O with " + host_port + " failed or timed out");

  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) {
    return Status::Corruption("no complete HTTP response head from " + host_port);
  }
  HttpResponse resp;
  std::string status_line;
  resp.headers = ParseHeaderLines(raw.substr(0, end + 2), &status_line);
  // "HTTP/1.1 200 OK"
  size_t sp = status_line.find(' ');
  if (status_line.rfind("HTTP/", 0) != 0 || sp == std::string::npos) {
    return Status::Corruption("bad status line \"" + status_line + "\"");
  }
  resp.status = std::atoi(status_line.c_str() + sp + 1);
  std::string rest = raw.substr(end + 4);
  if (method == "HEAD" || resp.status == 204 || resp.status == 304) return resp;
  if (Lower(resp.Header("Transfer-Encoding")).find("chunked") != std::string::npos) {
    KORC_ASSIGN_OR_RETURN(resp.body, Dechunk(rest));
  } else if (std::string cl = resp.Header("Content-Length"); !cl.empty()) {
    size_t n = std::strtoull(cl.c_str(), nullptr, 10);
    if (rest.size() < n) return Status::Corruption("body shorter than Content-Length");
    resp.body = rest.substr(0, n);
  } else {
    resp.body = std::move(rest);
  }
  return resp;
}

// ---------------------------------------------------------------- HTTP server ----------

std::string HttpServerRequest::Header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string HttpServerRequest::Query(const std::string& name) const {
  auto it = query.find(name);
  return it == query.end() ? "" : it->second;
}

Status HttpServer::Start(Handler handler) {
  if (thread_.joinable()) return Status::Internal("HttpServer already started");
  handler_ = std::move(handler);
  listen_fd_ = LoopbackSocket();
  if (listen_fd_ < 0) return Status::Internal(Errno("socket"));
  sockaddr_in addr = LoopbackAddr(0);
  socklen_t len = sizeof addr;
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_, 64) != 0 ||
      getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Status s = Status::Internal(Errno("listen on 127.0.0.1:0"));
    close(listen_fd_);
    listen_fd_ = -1;
    return s;
  }
  port_ = ntohs(addr.sin_port);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    close(listen_fd_);
    listen_fd_ = -1;
    return Status::Internal(Errno("eventfd"));
  }
  thread_ = std::thread([this] { Serve(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

void HttpServer::Serve() {
  while (true) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || (fds[1].revents & POLLIN)) return;
    if (fds[0].revents & POLLIN) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      HandleConnection(fd);
      close(fd);
    }
  }
}

void HttpServer::HandleConnection(int fd) {
  // A client that stalls must not wedge the server (or Stop()) for long.
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string head, rest;
  if (!ReadHead(fd, &head, &rest)) return;
  HttpServerRequest req;
  std::string request_line;
  for (auto& [k, v] : ParseHeaderLines(head, &request_line)) req.headers[Lower(k)] = v;
  std::istringstream rl(request_line);
  std::string version;
  rl >> req.method >> req.target >> version;
  size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) {
    std::istringstream params(req.target.substr(q + 1));
    std::string kv;
    while (std::getline(params, kv, '&')) {
      size_t eq = kv.find('=');
      req.query.emplace(PercentDecode(kv.substr(0, eq)),
                        eq == std::string::npos ? "" : PercentDecode(kv.substr(eq + 1)));
    }
  }
  size_t content_length = std::strtoull(req.Header("content-length").c_str(), nullptr, 10);
  req.body = std::move(rest);
  char chunk[16384];
  while (req.body.size() < content_length) {
    ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    req.body.append(chunk, static_cast<size_t>(n));
  }

  HttpServerResponse resp = handler_(req);
  std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " X\r\n";
  bool has_type = false;
  for (const auto& [k, v] : resp.headers) {
    if (Lower(k) == "content-type") has_type = true;
    out += k + ": " + v + "\r\n";
  }
  if (!has_type) out += "Content-Type: application/json\r\n";
  out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\nConnection: close\r\n\r\n";
  if (req.method != "HEAD") out += resp.body;
  WriteAll(fd, out);
  shutdown(fd, SHUT_WR);
}

// ---------------------------------------------------------------- TokenServer ----------

Status TokenServer::Start(Options options) {
  options_ = std::move(options);
  return server_.Start([this](const HttpServerRequest& req) { return Handle(req); });
}

std::vector<TokenServer::Request> TokenServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

HttpServerResponse TokenServer::Handle(const HttpServerRequest& req) {
  Request rec;
  rec.target = req.target;
  rec.service = req.Query("service");
  auto [b, e] = req.query.equal_range("scope");
  for (auto it = b; it != e; ++it) rec.scope += (rec.scope.empty() ? "" : " ") + it->second;
  rec.authorization = req.Header("authorization");

  HttpServerResponse resp;
  if (int fail = fail_with_.load(); fail != 0) {
    resp.status = fail;
    resp.body = R"({"errors":[{"code":"UNAVAILABLE","message":"token server told to fail"}]})";
  } else if (req.method != "GET" || req.path != "/token") {
    resp.status = 404;
    resp.body = R"({"errors":[{"code":"NOT_FOUND","message":"no such endpoint"}]})";
  } else if (!options_.user.empty() &&
             rec.authorization != BasicAuthorization(options_.user, options_.password)) {
    resp.status = 401;
    resp.headers.emplace_back("WWW-Authenticate", R"(Basic realm="korc-token")");
    resp.body = R"({"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]})";
  } else {
    // No issued_at: clients add expires_in to it, and a fixed date in the past makes every
    // token look expired (containers/image then fetches a new one for every request).
    std::string token = "t-" + std::to_string(++issued_);
    resp.body = R"({"token":")" + token + R"(","access_token":")" + token + R"(","expires_in":)" +
                std::to_string(options_.expires_in) + "}";
  }
  rec.status = resp.status;
  std::lock_guard<std::mutex> lock(mu_);
  requests_.push_back(std::move(rec));
  return resp;
}

// ---------------------------------------------------------------- processes ------------

Result<int> RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       std::string* output, int timeout_ms) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::Internal(Errno("pipe2"));
  auto pid = Spawn(argv, env, pipe_fds[1]);
  close(pipe_fds[1]);
  if (!pid.ok()) {
    close(pipe_fds[0]);
    return pid.status();
  }
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  bool timed_out = false;
  char chunk[4096];
  while (true) {
    int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{pipe_fds[0], POLLIN, 0};
    int n = poll(&pfd, 1, left);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) continue;
    ssize_t r = read(pipe_fds[0], chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;  // EOF: everything holding the pipe has exited or closed it
    if (output) output->append(chunk, static_cast<size_t>(r));
  }
  close(pipe_fds[0]);
  if (timed_out) {
    KillGroupAndReap(*pid, std::chrono::milliseconds(0));
    if (output) *output += "\n[korc test: killed after " + std::to_string(timeout_ms) + " ms]";
    return 128 + SIGKILL;
  }
  int wstatus = 0;
  while (waitpid(*pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Status::Internal(Errno("waitpid"));
  }
  return ExitCode(wstatus);
}

// ---------------------------------------------------------------- LocalRegistry --------

LocalRegistry::~LocalRegistry() { Stop(); }

std::string LocalRegistry::MissingTools() {
  std::string missing;
  for (const char* tool : {"docker-registry", "skopeo", "htpasswd"}) {
    if (FindOnPath(tool).empty()) missing += (missing.empty() ? "" : ", ") + std::string(tool);
  }
  return missing.empty() ? "" : "missing: " + missing;
}

std::string LocalRegistry::BlobDataPath(const std::string& digest) const {
  std::string hex = digest.rfind("sha256:", 0) == 0 ? digest.substr(7) : digest;
  return data_dir() + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex + "/data";
}

std::string LocalRegistry::Log() const {
  auto log = ReadFile(dir_ + "/registry.log");
  return log.ok() ? *log : "";
}

Status LocalRegistry::Start(Options options) {
  if (running()) return Status::Internal("registry already running");
  if (std::string missing = MissingTools(); !missing.empty()) {
    return Status::Unavailable(missing);
  }
  dir_ = MakeTempDir("korc-registry");
  if (dir_.empty()) return Status::Internal(Errno("mkdtemp"));
  // Another process may grab the port between PickFreePort and the registry's bind.
  Status s;
  for (int attempt = 0; attempt < 3; ++attempt) {
    s = StartOnce(options);
    if (s.ok()) return s;
    Kill();
  }
  std::string log = Log();
  Stop();
  return Status(s.code(), s.message() + "\nregistry log:\n" + log);
}

Status LocalRegistry::StartOnce(const Options& options) {
  KORC_ASSIGN_OR_RETURN(port_, PickFreePort());
  std::error_code ec;
  fs::create_directories(data_dir(), ec);
  fs::create_directories(dir_ + "/home", ec);

  std::string auth;
  switch (options.auth) {
    case Auth::kNone:
      break;
    case Auth::kBasic: {
      std::string out;
      KORC_ASSIGN_OR_RETURN(int rc, RunCommand({"htpasswd", "-Bbn", options.user, options.password},
                                               {ChildPath()}, &out, 30000));
      // htpasswd -n prints "user:hash" and a blank line; keep only the entry.
      std::string line = Trim(out.substr(0, out.find('\n')));
      if (rc != 0 || line.find(':') == std::string::npos) {
        return Status::Internal("htpasswd failed (" + std::to_string(rc) + "): " + out);
      }
      KORC_RETURN_IF_ERROR(WriteFile(dir_ + "/htpasswd", line + "\n", 0600));
      auth = "auth:\n  htpasswd:\n    realm: korc-test\n    path: " + dir_ + "/htpasswd\n";
      break;
    }
    case Auth::kToken:
      if (options.token_realm.empty()) {
        return Status::Invalid("Auth::kToken needs token_realm (TokenServer::realm())");
      }
      // "silly" accepts any Authorization header but challenges requests without one
      // with a proper Bearer challenge: enough to drive a client's token flow.
      auth = "auth:\n  silly:\n    realm: \"" + options.token_realm + "\"\n    service: \"" +
             options.service + "\"\n";
      break;
  }
  // Never the package's /etc/docker/registry/config.yml: it listens on all interfaces.
  std::string config =
      "version: 0.1\n"
      "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
      "storage:\n  filesystem:\n    rootdirectory: " +
      data_dir() +
      "\n  delete:\n    enabled: true\n"
      "  maintenance:\n    uploadpurging:\n      enabled: false\n"
      "http:\n  addr: 127.0.0.1:" +
      std::to_string(port_) + "\n  secret: korc-test-secret\n" + auth;
  KORC_RETURN_IF_ERROR(WriteFile(dir_ + "/config.yml", config));

  int log_fd =
      open((dir_ + "/registry.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::Internal(Errno("open registry.log"));
  // A clean environment: REGISTRY_* variables would override the config.
  auto pid = Spawn({"docker-registry", "serve", dir_ + "/config.yml"},
                   {ChildPath(), "HOME=" + dir_ + "/home"}, log_fd);
  close(log_fd);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;

  auto deadline = Clock::now() + std::chrono::seconds(10);
  std::string last = "no answer yet";
  while (Clock::now() < deadline) {
    int wstatus = 0;
    if (waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return Status::Unavailable("docker-registry exited with " +
                                 std::to_string(ExitCode(wstatus)));
    }
    auto resp = HttpRequest("GET", address(), "/v2/", {}, "", 1000);
    if (resp.ok() && (resp->status == 200 || resp->status == 401)) return Status::Ok();
    last = resp.ok() ? "HTTP " + std::to_string(resp->status) : resp.status().ToString();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable("docker-registry on " + address() + " not ready after 10 s: " + last);
}

void LocalRegistry::Kill() {
  if (pid_ > 0) KillGroupAndReap(pid_, std::chrono::seconds(3));
  pid_ = -1;
}

void LocalRegistry::Stop() {
  Kill();
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

Result<LocalRegistry::SkopeoHome> LocalRegistry::NewSkopeoHome() {
  // skopeo gets a private HOME, runtime dir, config and temp dir per run, so it never
  // reads or writes the user's own containers config, auth.json or policy.
  SkopeoHome h;
  h.dir = dir_ + "/skopeo-" + std::to_string(++pushes_);
  std::error_code ec;
  for (const char* sub : {"", "/run", "/config", "/tmp", "/registries.d"}) {
    fs::create_directories(h.dir + sub, ec);
    if (ec) return Status::Internal("mkdir " + h.dir + sub + ": " + ec.message());
  }
  chmod((h.dir + "/run").c_str(), 0700);
  KORC_RETURN_IF_ERROR(WriteFile(h.dir + "/registries.conf", ""));
  h.env = {ChildPath(),
           "HOME=" + h.dir,
           "XDG_RUNTIME_DIR=" + h.dir + "/run",
           "XDG_CONFIG_HOME=" + h.dir + "/config",
           "TMPDIR=" + h.dir + "/tmp",
           "CONTAINERS_REGISTRIES_CONF=" + h.dir + "/registries.conf",
           "REGISTRY_AUTH_FILE=" + h.dir + "/auth.json"};
  h.flags = {"--insecure-policy", "--registries.d", h.dir + "/registries.d", "--tmpdir",
             h.dir + "/tmp"};
  return h;
}

Result<std::string> LocalRegistry::Push(const std::string& layout_dir,
                                        const std::string& layout_tag, const std::string& repo_tag,
                                        const PushOptions& options) {
  if (!running()) return Status::Internal("registry not running");
  KORC_ASSIGN_OR_RETURN(SkopeoHome home, NewSkopeoHome());
  std::string digest_file = home.dir + "/digest";

  std::vector<std::string> argv = {"skopeo"};
  argv.insert(argv.end(), home.flags.begin(), home.flags.end());
  argv.insert(argv.end(),
              {"copy", "--quiet", "--dest-tls-verify=false", "--digestfile", digest_file});
  if (options.format == Format::kDockerV2) {
    argv.insert(argv.end(), {"--format", "v2s2"});
  } else {
    argv.insert(argv.end(), {"--format", "oci"});
  }
  if (options.all) argv.insert(argv.end(), {"--multi-arch", "all"});
  if (!options.creds.empty()) argv.insert(argv.end(), {"--dest-creds", options.creds});
  argv.push_back("oci:" + layout_dir + ":" + layout_tag);
  argv.push_back("docker://" + address() + "/" + repo_tag);

  std::string out;
  KORC_ASSIGN_OR_RETURN(int rc, RunCommand(argv, home.env, &out, 120000));
  if (rc != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    return Status::Internal("skopeo exited with " + std::to_string(rc) + ": " + cmd + "\n" + out);
  }
  KORC_ASSIGN_OR_RETURN(std::string digest, ReadFile(digest_file));
  digest = Trim(digest);
  std::error_code ec;
  fs::remove_all(home.dir, ec);
  if (digest.rfind("sha256:", 0) != 0) return Status::Internal("skopeo wrote digest " + digest);
  return digest;
}

Status LocalRegistry::Pull(const std::string& repo_tag, const std::string& layout_dir,
                           const std::string& layout_tag, int timeout_ms) {
  if (!running()) return Status::Internal("registry not running");
  KORC_ASSIGN_OR_RETURN(SkopeoHome home, NewSkopeoHome());
  std::vector<std::string> argv = {"skopeo"};
  argv.insert(argv.end(), home.flags.begin(), home.flags.end());
  argv.insert(argv.end(),
              {"copy", "--quiet", "--src-tls-verify=false",
               "docker://" + address() + "/" + repo_tag, "oci:" + layout_dir + ":" + layout_tag});
  std::string out;
  KORC_ASSIGN_OR_RETURN(int rc, RunCommand(argv, home.env, &out, timeout_ms));
  std::error_code ec;
  fs::remove_all(home.dir, ec);
  if (rc != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    return Status::Internal("skopeo exited with " + std::to_string(rc) + ": " + cmd + "\n" + out);
  }
  return Status::Ok();
}

}  // namespace korc::testing
