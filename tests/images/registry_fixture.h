// Test fixtures for registry pulls, all on 127.0.0.1:
//   LocalRegistry  - Debian's docker-registry (distribution 2.8) as a child process, with no
//                    auth, Basic (htpasswd) or token ("silly": any Bearer token) auth, and
//                    Push() of an OCI layout through skopeo (and Pull() back into one).
//   HttpServer     - a tiny HTTP/1.1 server with a handler function, for fakes the real
//                    registry cannot do (429 + Retry-After, redirects, broken responses).
//   TokenServer    - an HttpServer answering GET /token with {"token": "t-<n>", ...} and
//                    recording the requests.
//   HttpRequest    - a blocking loopback-only HTTP client for assertions and readiness.
//
// Nothing here listens on or sends to anything but 127.0.0.1. Child processes run in their
// own process group with a clean environment (no proxies, no REGISTRY_* overrides, a
// private HOME) and are killed and reaped by Stop() / the destructor; temp dirs are removed.
//
// Thread-safety: LocalRegistry is used from one thread. HttpServer/TokenServer run one
// server thread; their public methods may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/status.h"

namespace korc::testing {

// ---------------------------------------------------------------- HTTP client ----------

struct HttpResponse {
  int status = 0;
  // In arrival order; names as sent. Header() looks them up case-insensitively.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // de-chunked; empty for HEAD

  // The first header named `name` (any case), or "".
  std::string Header(const std::string& name) const;
};

// One request over a fresh connection ("Connection: close"). `host_port` must be
// "127.0.0.1:PORT" (anything else is refused: tests never leave loopback). `target` is the
// path plus query. Unavailable when the connection fails or times out.
Result<HttpResponse> HttpRequest(
    const std::string& method, const std::string& host_port, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers = {},
    const std::string& body = "", int timeout_ms = 5000);
inline Result<HttpResponse> HttpGet(
    const std::string& host_port, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  return HttpRequest("GET", host_port, target, headers);
}

// "user:pass" -> "Basic dXNlcjpwYXNz".
std::string BasicAuthorization(const std::string& user, const std::string& password);
std::string Base64(const std::string& bytes);

// ---------------------------------------------------------------- HTTP server ----------

struct HttpServerRequest {
  std::string method;
  std::string target;                             // path + query, as sent
  std::string path;                               // target without the query
  std::multimap<std::string, std::string> query;  // decoded; a name may repeat (scope)
  std::map<std::string, std::string> headers;     // lower-case names
  std::string body;

  std::string Header(const std::string& lower_name) const;
  // The first value of query parameter `name`, or "".
  std::string Query(const std::string& name) const;
};

struct HttpServerResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// A one-thread HTTP/1.1 server on 127.0.0.1:<free port>. Each connection carries one
// request and is closed after the response. The handler runs on the server thread.
class HttpServer {
 public:
  using Handler = std::function<HttpServerResponse(const HttpServerRequest&)>;

  HttpServer() = default;
  ~HttpServer() { Stop(); }
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status Start(Handler handler);
  // Idempotent; joins the server thread.
  void Stop();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + address(); }

 private:
  void Serve();
  void HandleConnection(int fd);

  Handler handler_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Stop() wakes the poll loop
  int port_ = 0;
  std::thread thread_;
};

// Answers GET /token?service=..&scope=.. with
//   {"token":"t-<n>","access_token":"t-<n>","expires_in":<expires_in>}
// (n counts from 1). With `user` set it requires `Authorization: Basic` with those
// credentials and answers 401 otherwise. Every request (also refused ones) is recorded.
class TokenServer {
 public:
  struct Options {
    std::string user;  // empty: anonymous requests get tokens
    std::string password;
    int expires_in = 300;
  };
  struct Request {
    std::string target;         // path + query as sent
    std::string service;        // decoded query parameters
    std::string scope;          // all scope= values joined with ' '
    std::string authorization;  // the Authorization header, "" if none
    int status = 0;             // what the server answered
  };

  TokenServer() = default;
  ~TokenServer() { Stop(); }

  Status Start(Options options);
  Status Start() { return Start(Options{}); }
  void Stop() { server_.Stop(); }

  // "http://127.0.0.1:PORT/token": the registry's token realm.
  std::string realm() const { return server_.url() + "/token"; }
  std::string address() const { return server_.address(); }
  std::vector<Request> requests() const;
  int tokens_issued() const { return issued_.load(); }
  // Non-zero: answer every request with this status (e.g. 500, 503) until cleared.
  void FailWith(int status) { fail_with_.store(status); }

 private:
  HttpServerResponse Handle(const HttpServerRequest& req);

  Options options_;
  HttpServer server_;
  std::atomic<int> issued_{0};
  std::atomic<int> fail_with_{0};
  mutable std::mutex mu_;
  std::vector<Request> requests_;  // guarded by mu_
};

// ---------------------------------------------------------------- registry -------------

class LocalRegistry {
 public:
  enum class Auth { kNone, kBasic, kToken };
  struct Options {
    Auth auth = Auth::kNone;
    std::string user = "korc";                   // kBasic
    std::string password = "korc-pw";            // kBasic
    std::string token_realm;                     // kToken: TokenServer::realm()
    std::string service = "korc-test-registry";  // kToken
  };
  enum class Format { kOci, kDockerV2 };
  struct PushOptions {
    Format format = Format::kOci;  // kDockerV2: skopeo --format v2s2 (gzip layers only)
    bool all = false;              // copy a whole index (--multi-arch all)
    std::string creds;             // "user:pass" for --dest-creds; "" = none
  };

  LocalRegistry() = default;
  ~LocalRegistry();
  LocalRegistry(const LocalRegistry&) = delete;
  LocalRegistry& operator=(const LocalRegistry&) = delete;

  // "" when docker-registry, skopeo and htpasswd are all on PATH; else the missing ones
  // ("missing: skopeo, htpasswd"), for KORC_REQUIRE.
  static std::string MissingTools();

  // Writes a config bound to 127.0.0.1:<free port> with storage in a temp dir, starts
  // `docker-registry serve` and waits (10 s) until GET /v2/ answers 200 or 401.
  Status Start(Options options);
  Status Start() { return Start(Options{}); }
  // Kills the registry's process group, reaps it and removes the temp dir. Idempotent.
  void Stop();

  bool running() const { return pid_ > 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + address(); }
  // The registry's storage root ({root}/docker/registry/v2/...).
  std::string data_dir() const { return dir_ + "/data"; }
  // The storage file holding a blob's bytes, to corrupt a blob already pushed.
  std::string BlobDataPath(const std::string& digest) const;
  // The registry's log so far (stderr+stdout), for failure messages.
  std::string Log() const;

  // skopeo copy oci:LAYOUT:LAYOUT_TAG docker://ADDRESS/REPO_TAG; returns the pushed
  // (top-level) manifest digest. `repo_tag` is "name:tag", e.g. "library/busybox:1".
  Result<std::string> Push(const std::string& layout_dir, const std::string& layout_tag,
                           const std::string& repo_tag, const PushOptions& options);
  Result<std::string> Push(const std::string& layout_dir, const std::string& layout_tag,
                           const std::string& repo_tag) {
    return Push(layout_dir, layout_tag, repo_tag, PushOptions{});
  }
  // skopeo copy docker://ADDRESS/REPO_TAG oci:LAYOUT_DIR:LAYOUT_TAG, with a private skopeo
  // home as Push: downloads and verifies the blobs into an OCI layout, unpacks nothing. For
  // comparisons with korc's puller (bench/images); no credentials.
  Status Pull(const std::string& repo_tag, const std::string& layout_dir,
              const std::string& layout_tag, int timeout_ms = 300000);

 private:
  Status StartOnce(const Options& options);
  void Kill();
  // A fresh private home for one skopeo run under dir_ (HOME, runtime dir, config, temp
  // dir, registries.d, an empty registries.conf): its path, and skopeo's environment and
  // the global flags that keep it there (`skopeo <flags> copy ...`).
  struct SkopeoHome {
    std::string dir;
    std::vector<std::string> env, flags;
  };
  Result<SkopeoHome> NewSkopeoHome();

  std::string dir_;  // temp dir: config, data/, htpasswd, log, skopeo home
  pid_t pid_ = -1;
  int port_ = 0;
  int pushes_ = 0;
};

// Runs argv (argv[0] looked up on PATH) in its own process group with `env` as its whole
// environment, stdout+stderr into `output`; kills the group after `timeout_ms`. Returns the
// exit code (128+signal when killed). Internal when it cannot start.
Result<int> RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                       std::string* output, int timeout_ms = 60000);

}  // namespace korc::testing
