#include "components/kubelet/images/keyring.h"

#include <fnmatch.h>
#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

namespace korc::kubelet::images {
namespace {

using json = nlohmann::json;

struct Key {
  std::string host, port, path;
};

std::string CanonicalHost(std::string host) {
  if (host == "index.docker.io" || host == "registry-1.docker.io" ||
      host == "registry.hub.docker.com") {
    return "docker.io";
  }
  return host;
}

// "https://index.docker.io/v1/" -> {docker.io, "", ""}; "reg.example.com:5000/team" ->
// {reg.example.com, 5000, team}.
Key ParseKey(std::string key) {
  for (const char* scheme : {"https://", "http://"}) {
    if (key.starts_with(scheme)) key = key.substr(std::string_view(scheme).size());
  }
  Key k;
  size_t slash = key.find('/');
  std::string hostport = key.substr(0, slash);
  k.path = slash == std::string::npos ? "" : key.substr(slash + 1);
  while (!k.path.empty() && k.path.back() == '/') k.path.pop_back();
  if (size_t colon = hostport.rfind(':'); colon != std::string::npos) {
    k.port = hostport.substr(colon + 1);
    hostport.resize(colon);
  }
  k.host = CanonicalHost(hostport);
  // Docker Hub's legacy key names an API version, not a repository path.
  if (k.host == "docker.io" && (k.path == "v1" || k.path == "v2")) k.path.clear();
  return k;
}

// Label by label, each a glob (so "*.example.com" matches "a.example.com", not
// "a.b.example.com" nor "example.com").
bool HostMatches(const std::string& pattern, const std::string& host) {
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
      size_t dot = s.find('.', start);
      out.push_back(s.substr(start, dot == std::string::npos ? dot : dot - start));
      if (dot == std::string::npos) return out;
      start = dot + 1;
    }
  };
  auto p = split(pattern), h = split(host);
  if (p.size() != h.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (fnmatch(p[i].c_str(), h[i].c_str(), 0) != 0) return false;
  }
  return true;
}

bool PathMatches(const std::string& prefix, const std::string& repository) {
  if (prefix.empty()) return true;
  return repository == prefix || repository.starts_with(prefix + "/");
}

std::string DecodeBase64(const std::string& in) {
  std::string out(in.size() / 4 * 3 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t pad = 0;
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) ++pad;
  out.resize(static_cast<size_t>(n) - std::min<size_t>(pad, static_cast<size_t>(n)));
  return out;
}

std::optional<Credential> CredentialOf(const json& entry) {
  if (!entry.is_object()) return std::nullopt;
  Credential c;
  if (entry.contains("username") && entry["username"].is_string()) {
    c.username = entry["username"].get<std::string>();
  }
  if (entry.contains("password") && entry["password"].is_string()) {
    c.password = entry["password"].get<std::string>();
  }
  if (entry.contains("auth") && entry["auth"].is_string() && c.username.empty()) {
    std::string decoded = DecodeBase64(entry["auth"].get<std::string>());
    size_t colon = decoded.find(':');
    if (colon == std::string::npos) return std::nullopt;
    c.username = decoded.substr(0, colon);
    c.password = decoded.substr(colon + 1);
  }
  if (c.username.empty() && c.password.empty()) return std::nullopt;
  return c;
}

}  // namespace

std::vector<Credential> CredentialsFor(const ImageName& name,
                                       const std::vector<std::string>& docker_configs) {
  std::string host = name.domain, port;
  if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    port = host.substr(colon + 1);
    host.resize(colon);
  }
  host = CanonicalHost(host);
  std::vector<Credential> out;
  for (const auto& doc : docker_configs) {
    json j = json::parse(doc, nullptr, false);
    if (!j.is_object()) continue;
    const json& auths = j.contains("auths") && j["auths"].is_object() ? j["auths"] : j;
    std::vector<std::pair<std::string, Credential>> matches;
    for (const auto& [key, entry] : auths.items()) {
      Key k = ParseKey(key);
      if (k.port != port || !HostMatches(k.host, host) || !PathMatches(k.path, name.repository)) {
        continue;
      }
      if (auto c = CredentialOf(entry)) matches.emplace_back(key, *c);
    }
    // The most specific key first (longer keys name a longer path or a fuller host).
    std::stable_sort(matches.begin(), matches.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    for (auto& [key, c] : matches) {
      if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace korc::kubelet::images
