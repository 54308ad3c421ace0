// A client of the registry HTTP API v2 (the OCI distribution spec), over libcurl.
//
// It fetches manifests and blobs of one repository at a time and verifies every byte it
// returns against a sha256 digest. It answers the registry's auth challenges itself:
// Basic, and the Bearer token flow (challenge -> token endpoint -> token cached per
// registry, scope and user until it expires). Blob downloads resume with Range from a
// partial file, redirects are followed (Authorization is never sent to another host), and
// 429 Too Many Requests is retried after its Retry-After.
//
// Plain HTTP is used only for registries the node treats as insecure: loopback addresses
// (as Docker does) and the hosts in RegistryOptions::insecure. Everything else is HTTPS with
// the certificate verified.
//
// Thread-safety: a Registry may be used from any number of threads at once (the token cache
// is guarded). Each request uses its own curl handle.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace korc::kubelet::images {

// The media types a manifest may have, in the order the Accept header lists them. A
// registry answers 404 for an OCI manifest, or converts a Docker one to schema 1, when its
// type is missing from Accept, so all four are always sent.
inline constexpr const char* kOciIndexType = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kDockerListType =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kOciManifestType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kDockerManifestType =
    "application/vnd.docker.distribution.manifest.v2+json";

// A normalized reference split into what the registry API needs.
struct ImageName {
  std::string domain;      // "docker.io", "127.0.0.1:5000"
  std::string repository;  // "library/busybox"
  std::string tag;         // "" when only a digest is given
  std::string digest;      // "sha256:..." or ""
  // "busybox" -> {docker.io, library/busybox, latest, ""}; Invalid as NormalizeReference.
  static Result<ImageName> Parse(std::string_view reference);
  // The tag or digest to ask the registry for (the digest when both are given).
  const std::string& ref() const { return digest.empty() ? tag : digest; }
  // "docker.io/library/busybox"
  std::string Repo() const { return domain + "/" + repository; }
};

// Credentials for one registry, as a pull secret or `korc image pull --creds` gives them.
struct Credential {
  std::string username, password;
  bool operator==(const Credential&) const = default;
};

struct RegistryOptions {
  // Registries ("host" or "host:port") spoken to over plain HTTP. Loopback addresses and
  // "localhost" always are.
  std::vector<std::string> insecure;
  // Registry domain -> the HOST[:PORT] to pull its images from instead ("docker.io" ->
  // "127.0.0.1:5000"). The mirror serves the same repository names; there is no fallback
  // to the original registry.
  std::map<std::string, std::string> mirrors;
  // Total time allowed for one request that returns a small body (manifests, tokens); blob
  // downloads instead fail when fewer than 1 KiB/s arrive for `stall_timeout`.
  std::chrono::seconds request_timeout{60};
  std::chrono::seconds stall_timeout{30};
  // 429 Too Many Requests: how often, and for how long at most each time, to wait.
  int max_retries = 3;
  std::chrono::seconds max_retry_after{30};
  // CA bundle; "" = the system's.
  std::string ca_file;
};

struct Manifest {
  std::string media_type;  // from the Content-Type header or the document's mediaType
  std::string digest;      // sha256 of `body`, verified
  std::string body;        // the exact bytes received
};

class Registry {
 public:
  explicit Registry(RegistryOptions options = {});

  // GET /v2/<repo>/manifests/<ref>. By digest, the body must hash to it; by tag, to the
  // Docker-Content-Digest header when the registry sends one. `cred` nullptr = anonymous.
  // Errors: NotFound (MANIFEST_UNKNOWN, NAME_UNKNOWN), Unauthorized / Forbidden (the
  // registry's UNAUTHORIZED / DENIED), Unavailable (network, 5xx, 429 after retries),
  // Corruption (digest mismatch), each naming the registry and its error code.
  Result<Manifest> GetManifest(const ImageName& name, std::string_view ref,
                               const Credential* cred) const;
  // HEAD the manifest: its digest as Docker-Content-Digest says (or GET when it says nothing).
  Result<std::string> ResolveDigest(const ImageName& name, std::string_view ref,
                                    const Credential* cred) const;
  // Downloads blob `digest` of `size` bytes (-1: unknown) into `path`, appending to what a
  // previous attempt left there (Range), and verifies the whole file against the digest. On a
  // mismatch the file is deleted and Corruption returned; on other errors it stays for the
  // next attempt to resume. `progress` (may be empty) gets the bytes on disk so far.
  Status GetBlob(const ImageName& name, const std::string& digest, int64_t size,
                 const std::string& path, const Credential* cred,
                 const std::function<void(int64_t)>& progress = {}) const;

  // "http" or "https" for `domain`, and the host the API lives on ("docker.io" ->
  // "registry-1.docker.io", or its mirror).
  std::string BaseUrl(std::string_view domain) const;
  const RegistryOptions& options() const { return options_; }

 private:
  struct Response;
  struct Request;
  // Sends `req`, answering auth challenges and 429s; the body goes to req's sink.
  Result<Response> Send(const ImageName& name, Request& req, const Credential* cred) const;
  Result<std::string> Token(const std::string& challenge, const ImageName& name,
                            const Credential* cred) const;

  RegistryOptions options_;
  struct CachedAuth {
    std::string header;  // "Bearer ..." or "Basic ..."
    std::chrono::steady_clock::time_point expires;
  };
  mutable std::mutex mu_;
  // "<domain> <repository> <username> <sha256 of the password>" -> what to send. Guarded by
  // mu_.
  mutable std::map<std::string, CachedAuth> auth_;
};

}  // namespace korc::kubelet::images
