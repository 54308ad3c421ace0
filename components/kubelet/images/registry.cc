#include "components/kubelet/images/registry.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "components/kubelet/images/image_store.h"
#include "components/kubelet/images/layer.h"

namespace korc::kubelet::images {
namespace {

using json = nlohmann::json;

// Manifests, indexes, tokens and error documents are small; a registry that sends more is
// refused rather than buffered.
constexpr size_t kMaxSmallBody = 4 << 20;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string Base64(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// The parameters of a WWW-Authenticate challenge: `Bearer realm="x",service="y"` ->
// {scheme: bearer, realm: x, service: y}.
std::map<std::string, std::string> ParseChallenge(std::string_view header) {
  std::map<std::string, std::string> out;
  size_t sp = header.find(' ');
  out["scheme"] = Lower(Trim(header.substr(0, sp)));
  if (sp == std::string_view::npos) return out;
  std::string_view rest = header.substr(sp + 1);
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == ',')) ++i;
    size_t eq = rest.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key = Lower(Trim(rest.substr(i, eq - i)));
    std::string value;
    i = eq + 1;
    if (i < rest.size() && rest[i] == '"') {
      for (++i; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      ++i;
    } else {
      size_t end = rest.find(',', i);
      value = Trim(rest.substr(i, end == std::string_view::npos ? end : end - i));
      i = end == std::string_view::npos ? rest.size() : end;
    }
    out[key] = value;
  }
  return out;
}

bool IsLoopbackHost(std::string_view domain) {
  std::string host(domain);
  if (host.starts_with("[")) {
    host = host.substr(1, host.find(']') - 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

std::string HostOf(std::string_view domain) {
  std::string host(domain);
  if (size_t colon = host.rfind(':'); colon != std::string::npos && !host.starts_with("[")) {
    host.resize(colon);
  }
  return host;
}

// What a cached Authorization is good for: this repository, with these credentials (the
// password only as a digest, so it never sits in memory twice).
std::string AuthKey(const ImageName& name, const Credential* cred) {
  return name.domain + " " + name.repository + " " +
         (cred ? cred->username + " " + Sha256Of(cred->password) : "");
}

void InitCurl() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Seconds to wait for a 429's Retry-After (delta-seconds or an HTTP date).
int64_t RetryAfterSeconds(const std::string& value) {
  if (value.empty()) return 1;
  if (value.find_first_not_of("0123456789") == std::string::npos) return std::stoll(value);
  time_t at = curl_getdate(value.c_str(), nullptr);
  if (at < 0) return 1;
  return std::max<int64_t>(0, at - std::time(nullptr));
}

}  // namespace

Result<ImageName> ImageName::Parse(std::string_view reference) {
  KORC_ASSIGN_OR_RETURN(std::string normalized, NormalizeReference(reference));
  ImageName n;
  std::string rest = normalized;
  if (size_t at = rest.find('@'); at != std::string::npos) {
    n.digest = rest.substr(at + 1);
    rest.resize(at);
  }
  size_t slash = rest.find('/');
  if (size_t colon = rest.rfind(':'); colon != std::string::npos && colon > rest.rfind('/')) {
    n.tag = rest.substr(colon + 1);
    rest.resize(colon);
  }
  n.domain = rest.substr(0, slash);
  n.repository = rest.substr(slash + 1);
  return n;
}

struct Registry::Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lowercased names; the last response's
  std::string body;                            // error documents and small bodies
};

struct Registry::Request {
  std::string method = "GET";
  std::string path;  // "/v2/<repo>/manifests/<ref>"
  std::vector<std::string> headers;
  // Receives a 2xx response's body; returns false to abort. Empty: the body is buffered
  // into Response::body (capped at kMaxSmallBody).
  std::function<bool(long status, const char* data, size_t n)> sink;
  bool small = true;  // bounded by request_timeout; else by the stall timeout only
};

Registry::Registry(RegistryOptions options) : options_(std::move(options)) { InitCurl(); }

std::string Registry::BaseUrl(std::string_view domain) const {
  std::string host = domain == "docker.io" ? "registry-1.docker.io" : std::string(domain);
  if (auto it = options_.mirrors.find(std::string(domain)); it != options_.mirrors.end()) {
    host = it->second;
  }
  bool insecure = IsLoopbackHost(host);
  for (const auto& h : options_.insecure) insecure |= h == host || h == HostOf(host);
  return (insecure ? "http://" : "https://") + host;
}

namespace {

struct Transfer {
  CURL* curl = nullptr;
  Registry* self = nullptr;
  const std::function<bool(long, const char*, size_t)>* sink = nullptr;
  std::map<std::string, std::string> headers;
  std::string body;
  bool too_large = false;
  bool aborted = false;
};

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) {
    t->headers.clear();  // a new response (after a redirect or a 100 Continue)
  } else if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    t->headers[Lower(std::string(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  size_t len = size * n;
  if (status >= 200 && status < 300 && t->sink && *t->sink) {
    if (!(*t->sink)(status, data, len)) {
      t->aborted = true;
      return 0;
    }
    return len;
  }
  if (t->body.size() + len > kMaxSmallBody) {
    t->too_large = true;
    return 0;
  }
  t->body.append(data, len);
  return len;
}

// What every request sets: where, the headers, who asks, http(s) only, the CA bundle, and
// the callbacks filling `t`.
void SetCommonOptions(CURL* c, Transfer* t, const std::string& url, curl_slist* headers,
                      const std::string& ca_file) {
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "korc-kubelet/0.1");
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  if (!ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
}

}  // namespace

Result<Registry::Response> Registry::Send(const ImageName& name, Request& req,
                                          const Credential* cred) const {
  const std::string url = BaseUrl(name.domain) + req.path;
  const std::string key = AuthKey(name, cred);
  const bool insecure = url.starts_with("http://");
  bool answered_challenge = false;
  int retries = 0;
  for (;;) {
    std::string auth;
    {
      std::lock_guard lock(mu_);
      auto it = auth_.find(key);
      if (it != auth_.end() && std::chrono::steady_clock::now() < it->second.expires) {
        auth = it->second.header;
      }
    }
    std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return Status::Internal("curl_easy_init failed");
    Transfer t;
    t.curl = curl.get();
    t.sink = &req.sink;
    curl_slist* headers = nullptr;
    for (const auto& h : req.headers) headers = curl_slist_append(headers, h.c_str());
    if (!auth.empty()) headers = curl_slist_append(headers, ("Authorization: " + auth).c_str());
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(headers, curl_slist_free_all);
    CURL* c = curl.get();
    SetCommonOptions(c, &t, url, headers, options_.ca_file);
    // A registry redirects blobs to storage; plain HTTP only when the registry itself is.
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, insecure ? "http,https" : "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    if (req.small) {
      curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(options_.request_timeout.count()));
    }
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_timeout.count()));
    if (req.method == "HEAD") curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode rc = curl_easy_perform(c);
    const std::string what =
        "registry " + name.domain +
        (options_.mirrors.count(name.domain) ? " (mirror " + url.substr(0, url.find('/', 8)) + ")"
                                             : "") +
        ": " + req.method + " " + req.path;
    if (t.too_large) return Status::Invalid(what + ": the response is larger than 4 MiB");
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.aborted)) {
      return Status::Unavailable(what + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
    }
    Response resp;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    resp.headers = std::move(t.headers);
    resp.body = std::move(t.body);
    if (t.aborted) return resp;  // the sink said why; the caller knows
    if (resp.status >= 200 && resp.status < 300) return resp;

    if (resp.status == 401 && !answered_challenge) {
      auto challenge = resp.headers["www-authenticate"];
      auto params = ParseChallenge(challenge);
      std::string header;
      if (params["scheme"] == "basic") {
        if (!cred) {
          return Status(Code::kUnauthorized,
                        what + ": the registry needs credentials (Basic auth) and none were given");
        }
        header = "Basic " + Base64(cred->username + ":" + cred->password);
        std::lock_guard lock(mu_);
        auth_[key] = {header, std::chrono::steady_clock::time_point::max()};
      } else if (params["scheme"] == "bearer") {
        KORC_ASSIGN_OR_RETURN(header, Token(challenge, name, cred));
      }
      if (!header.empty()) {
        answered_challenge = true;
        continue;  // Token() or the line below cached it
      }
    }
    if (resp.status == 429 && retries < options_.max_retries) {
      int64_t wait = std::min<int64_t>(RetryAfterSeconds(resp.headers["retry-after"]),
                                       options_.max_retry_after.count());
      spdlog::info("images: {}: 429 Too Many Requests, retrying in {} s", what, wait);
      ++retries;
      std::this_thread::sleep_for(std::chrono::seconds(wait));
      continue;
    }

    // The registry's own error document, when it sent one.
    std::string codes, messages;
    json doc = json::parse(resp.body, nullptr, false);
    if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
      for (const auto& e : doc["errors"]) {
        if (!e.is_object()) continue;
        if (!codes.empty()) codes += ",", messages += "; ";
        codes += e.value("code", "");
        messages += e.value("message", "");
      }
    }
    std::string msg = what + ": " + std::to_string(resp.status) +
                      (codes.empty() ? "" : " " + codes) +
                      (messages.empty() ? "" : ": " + messages);
    if (resp.status == 401) return Status(Code::kUnauthorized, msg);
    if (resp.status == 403) return Status::Forbidden(msg);
    if (resp.status == 404) return Status::NotFound(msg);
    if (resp.status == 429 || resp.status >= 500) return Status::Unavailable(msg);
    return Status::BadRequest(msg);
  }
}

Result<std::string> Registry::Token(const std::string& challenge, const ImageName& name,
                                    const Credential* cred) const {
  auto params = ParseChallenge(challenge);
  const std::string what = "registry " + name.domain + ": token";
  std::string realm = params["realm"];
  if (!realm.starts_with("https://") &&
      !(realm.starts_with("http://") && BaseUrl(name.domain).starts_with("http://"))) {
    return Status(Code::kUnauthorized,
                  what + ": the challenge's realm \"" + realm + "\" is not an https URL");
  }
  // The /v2/ challenge names no scope; a pull needs this one.
  std::string scope = params.count("scope") ? params["scope"] : "";
  if (scope.empty() || params.count("error")) scope = "repository:" + name.repository + ":pull";
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  auto escape = [&](const std::string& s) {
    char* e = curl_easy_escape(curl.get(), s.data(), static_cast<int>(s.size()));
    std::string out = e ? e : "";
    curl_free(e);
    return out;
  };
  std::string url = realm + (realm.find('?') == std::string::npos ? "?" : "&") +
                    (params.count("service") ? "service=" + escape(params["service"]) + "&" : "") +
                    "scope=" + escape(scope);
  Transfer t;
  t.curl = curl.get();
  curl_slist* headers = nullptr;
  if (cred) {
    headers = curl_slist_append(
        headers, ("Authorization: Basic " + Base64(cred->username + ":" + cred->password)).c_str());
  }
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(headers, curl_slist_free_all);
  CURL* c = curl.get();
  SetCommonOptions(c, &t, url, headers, options_.ca_file);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(options_.request_timeout.count()));
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    return Status::Unavailable(what + " from " + realm + ": " + curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status == 401 || status == 403) {
    return Status(Code::kUnauthorized, what + " from " + realm + ": " + std::to_string(status) +
                                           (cred ? " (the credentials were refused)"
                                                 : " (the registry needs credentials)"));
  }
  json doc = json::parse(t.body, nullptr, false);
  std::string token;
  if (doc.is_object()) {
    token = doc.value("token", "");
    if (token.empty()) token = doc.value("access_token", "");
  }
  if (status != 200 || token.empty()) {
    return Status::Unavailable(what + " from " + realm + ": " + std::to_string(status) +
                               ", no token in the answer");
  }
  int64_t expires_in = 60;
  if (doc.contains("expires_in") && doc["expires_in"].is_number_integer()) {
    expires_in = std::max<int64_t>(doc["expires_in"].get<int64_t>(), 10);
  }
  std::string header = "Bearer " + token;
  std::lock_guard lock(mu_);
  // A token is good for its scope: this repository, pulled by this user. Renewed 5 s early.
  auth_[AuthKey(name, cred)] = {
      header, std::chrono::steady_clock::now() + std::chrono::seconds(expires_in - 5)};
  return header;
}

Result<Manifest> Registry::GetManifest(const ImageName& name, std::string_view ref,
                                       const Credential* cred) const {
  Request req;
  req.path = "/v2/" + name.repository + "/manifests/" + std::string(ref);
  req.headers = {std::string("Accept: ") + kOciIndexType + ", " + kDockerListType + ", " +
                 kOciManifestType + ", " + kDockerManifestType};
  KORC_ASSIGN_OR_RETURN(Response resp, Send(name, req, cred));
  Manifest m;
  m.body = std::move(resp.body);
  m.digest = Sha256Of(m.body);
  const std::string what =
      "registry " + name.domain + ": manifest " + name.repository + "@" + std::string(ref);
  std::string expected = std::string(ref).starts_with("sha256:")
                             ? std::string(ref)
                             : resp.headers["docker-content-digest"];
  if (!expected.empty() && expected != m.digest) {
    return Status::Corruption(what + ": the content's digest is " + m.digest + ", not " + expected);
  }
  m.media_type = resp.headers["content-type"];
  if (size_t semi = m.media_type.find(';'); semi != std::string::npos) {
    m.media_type = Trim(m.media_type.substr(0, semi));
  }
  json doc = json::parse(m.body, nullptr, false);
  if (!doc.is_object()) return Status::Invalid(what + ": not a JSON document");
  if (doc.contains("mediaType") && doc["mediaType"].is_string()) {
    m.media_type = doc["mediaType"].get<std::string>();
  }
  return m;
}

Result<std::string> Registry::ResolveDigest(const ImageName& name, std::string_view ref,
                                            const Credential* cred) const {
  Request req;
  req.method = "HEAD";
  req.path = "/v2/" + name.repository + "/manifests/" + std::string(ref);
  req.headers = {std::string("Accept: ") + kOciIndexType + ", " + kDockerListType + ", " +
                 kOciManifestType + ", " + kDockerManifestType};
  KORC_ASSIGN_OR_RETURN(Response resp, Send(name, req, cred));
  std::string digest = resp.headers["docker-content-digest"];
  if (!digest.empty()) return digest;
  KORC_ASSIGN_OR_RETURN(Manifest m, GetManifest(name, ref, cred));
  return m.digest;
}

Status Registry::GetBlob(const ImageName& name, const std::string& digest, int64_t size,
                         const std::string& path, const Credential* cred,
                         const std::function<void(int64_t)>& progress) const {
  const std::string what = "registry " + name.domain + ": blob " + digest;
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Internal("open " + path + ": " + std::strerror(errno));
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { close(*f); });
  // What an earlier attempt left: hashed again, then continued.
  auto hash = std::make_unique<Sha256>();
  int64_t have = 0;
  {
    char buf[1 << 16];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      hash->Update(buf, static_cast<size_t>(n));
      have += n;
    }
  }
  auto restart = [&]() -> bool {
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0) return false;
    hash = std::make_unique<Sha256>();
    have = 0;
    return true;
  };
  if (size >= 0 && have > size) restart();
  if (have > 0) spdlog::info("images: {}: resuming at byte {}", what, have);

  std::string sink_error;
  for (int attempt = 0; size < 0 || have < size; ++attempt) {
    if (attempt > 3) {
      return Status::Unavailable(what + ": the download keeps ending early, at byte " +
                                 std::to_string(have) + " of " + std::to_string(size));
    }
    Request req;
    req.small = false;
    req.path = "/v2/" + name.repository + "/blobs/" + digest;
    if (have > 0) req.headers.push_back("Range: bytes=" + std::to_string(have) + "-");
    bool first = true;
    req.sink = [&](long status, const char* data, size_t n) -> bool {
      if (first) {
        first = false;
        // 200 to a Range request: the registry sends everything again.
        if (status != 206 && have > 0 && !restart()) {
          sink_error = "cannot truncate " + path;
          return false;
        }
      }
      if (size >= 0 && have + static_cast<int64_t>(n) > size) {
        sink_error =
            "the registry sent more than the " + std::to_string(size) + " bytes the manifest gives";
        return false;
      }
      for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, data + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          sink_error = "write " + path + ": " + std::strerror(errno);
          return false;
        }
        off += static_cast<size_t>(w);
      }
      hash->Update(data, n);
      have += static_cast<int64_t>(n);
      if (progress) progress(have);
      return true;
    };
    auto resp = Send(name, req, cred);
    if (!sink_error.empty()) {
      if (sink_error.starts_with("the registry")) {
        close(fd), fd = -1;
        closer.release();
        unlink(path.c_str());
        return Status::Corruption(what + ": " + sink_error);
      }
      return Status::Internal(what + ": " + sink_error);
    }
    if (!resp.ok()) {
      // 416: nothing left after `have` (size unknown): the file is complete.
      if (resp.status().message().find(": 416") != std::string::npos) break;
      // A dropped connection: try again from where it stopped, a few times.
      if (resp.status().code() == Code::kUnavailable && attempt < 3) {
        spdlog::info("images: {}: {} (attempt {}), resuming at byte {}", what,
                     resp.status().message(), attempt + 1, have);
        continue;
      }
      return resp.status();
    }
    if (size < 0) break;
  }
  std::string actual = hash->Finish();
  if (actual != digest) {
    close(fd), fd = -1;
    closer.release();
    unlink(path.c_str());
    return Status::Corruption(what + ": the content's digest is " + actual +
                              "; nothing was stored");
  }
  if (fsync(fd) != 0) return Status::Internal("fsync " + path + ": " + std::strerror(errno));
  return Status::Ok();
}

}  // namespace korc::kubelet::images
