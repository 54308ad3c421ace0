// Image reference normalization, following Docker's reference grammar
// (github.com/distribution/reference): [domain/]path[:tag][@digest].
#include <regex>
#include <string>

#include "components/kubelet/images/image_store.h"

namespace korc::kubelet::images {
namespace {

constexpr std::string_view kDefaultDomain = "docker.io";

bool Matches(const std::string& s, const std::regex& re) { return std::regex_match(s, re); }

}  // namespace

Result<std::string> NormalizeReference(std::string_view ref_view) {
  static const std::regex kPathComponent("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  static const std::regex kDomain(
      "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
      "(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?");
  static const std::regex kTag("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  static const std::regex kDigest(
      "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}");
  static const std::regex kSha256("sha256:[0-9a-f]{64}");

  std::string ref(ref_view);
  auto invalid = [&](std::string why) {
    return Status::Invalid("invalid image reference \"" + ref + "\": " + std::move(why));
  };
  if (ref.empty()) return Status::Invalid("invalid image reference: it is empty");

  std::string rest = ref, digest, tag;
  if (size_t at = rest.find('@'); at != std::string::npos) {
    digest = rest.substr(at + 1);
    rest.resize(at);
    if (!Matches(digest, kDigest)) return invalid("bad digest \"" + digest + "\"");
    if (digest.starts_with("sha256:") && !Matches(digest, kSha256)) {
      return invalid("a sha256 digest is 64 lowercase hex digits");
    }
  }
  size_t slash = rest.rfind('/');
  if (size_t colon = rest.rfind(':');
      colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (!Matches(tag, kTag)) return invalid("bad tag \"" + tag + "\"");
  }
  if (rest.empty()) return invalid("the repository name is empty");

  std::string domain, path;
  size_t first = rest.find('/');
  std::string head = first == std::string::npos ? "" : rest.substr(0, first);
  if (first == std::string::npos ||
      (head.find_first_of(".:") == std::string::npos && head != "localhost" &&
       head.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos)) {
    domain = kDefaultDomain;
    path = rest;
  } else {
    domain = head;
    path = rest.substr(first + 1);
    if (!Matches(domain, kDomain)) return invalid("bad registry host \"" + domain + "\"");
  }
  if (domain == "index.docker.io") domain = kDefaultDomain;
  if (domain == kDefaultDomain && path.find('/') == std::string::npos) path = "library/" + path;

  size_t start = 0;
  for (;;) {
    size_t end = path.find('/', start);
    std::string component = path.substr(start, end == std::string::npos ? end : end - start);
    if (component.empty()) return invalid("empty path component in the repository name");
    if (!Matches(component, kPathComponent)) {
      if (component.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) {
        return invalid("repository name must be lowercase");
      }
      return invalid("bad repository name component \"" + component + "\"");
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::string name = domain + "/" + path;
  if (name.size() > 255) return invalid("the repository name is longer than 255 characters");
  if (tag.empty() && digest.empty()) tag = "latest";
  return name + (tag.empty() ? "" : ":" + tag) + (digest.empty() ? "" : "@" + digest);
}

std::string FamiliarReference(std::string_view normalized) {
  std::string prefix = std::string(kDefaultDomain) + "/";
  if (!normalized.starts_with(prefix)) return std::string(normalized);
  std::string rest(normalized.substr(prefix.size()));
  if (rest.starts_with("library/")) {
    std::string remainder = rest.substr(8);
    std::string name = remainder.substr(0, remainder.find_first_of(":@"));
    if (name.find('/') == std::string::npos) return remainder;
  }
  return rest;
}

}  // namespace korc::kubelet::images
