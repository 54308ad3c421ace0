#include "components/kubelet/images/puller.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <semaphore>
#include <sstream>

#include "components/kubelet/images/layer.h"

namespace korc::kubelet::images {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

bool IsSha256(const std::string& d) {
  return d.size() == 71 && d.starts_with("sha256:") &&
         d.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

std::string Hex(const std::string& digest) { return digest.substr(7); }

std::string Field(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

int64_t SizeField(const json& j) {
  return j.is_object() && j.contains("size") && j["size"].is_number_integer()
             ? j["size"].get<int64_t>()
             : -1;
}

bool IsIndex(const std::string& type) { return type == kOciIndexType || type == kDockerListType; }

// The linux/amd64 entry of an index or manifest list (attestations, marked unknown/unknown,
// never match); the only entry when there is one without a platform.
Result<json> PickPlatform(const json& index, const std::string& what) {
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array()) {
    return Status::Invalid(what + ": the index lists no manifests");
  }
  const json& list = index["manifests"];
  for (const json& m : list) {
    if (!m.is_object() || !m.contains("platform")) continue;
    if (Field(m["platform"], "os") == "linux" && Field(m["platform"], "architecture") == "amd64") {
      return m;
    }
  }
  if (list.size() == 1 && list[0].is_object() && !list[0].contains("platform")) return list[0];
  std::string have;
  for (const json& m : list) {
    if (!m.is_object() || !m.contains("platform")) continue;
    if (!have.empty()) have += ", ";
    have += Field(m["platform"], "os") + "/" + Field(m["platform"], "architecture");
  }
  return Status::NotFound(what + ": no image for linux/amd64 (the index has " +
                          (have.empty() ? "none with a platform" : have) + ")");
}

Result<std::string> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Internal("open " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Refused(const Status& s) {
  return s.code() == Code::kUnauthorized || s.code() == Code::kForbidden;
}

}  // namespace

Result<Image> Puller::Pull(std::string_view reference, const std::vector<Credential>& creds,
                           PullStats* stats) {
  KORC_ASSIGN_OR_RETURN(std::string normalized, NormalizeReference(reference));
  KORC_ASSIGN_OR_RETURN(ImageName name, ImageName::Parse(normalized));
  std::promise<Result<Image>> promise;
  std::shared_future<Result<Image>> result;
  bool mine = false;
  {
    std::lock_guard lock(mu_);
    auto it = inflight_.find(normalized);
    if (it != inflight_.end()) {
      result = it->second;
    } else {
      result = promise.get_future().share();
      inflight_.emplace(normalized, result);
      mine = true;
    }
  }
  if (!mine) {
    spdlog::info("images: waiting for the pull of {} already in progress", normalized);
    if (stats) stats->already_present = true;
    return result.get();
  }
  PullStats local;
  auto start = std::chrono::steady_clock::now();
  Result<Image> out = Status::Internal("no pull attempted");
  if (creds.empty()) {
    out = PullWith(name, normalized, nullptr, local);
  } else {
    for (const auto& cred : creds) {
      local = {};
      out = PullWith(name, normalized, &cred, local);
      if (out.ok() || !Refused(out.status())) break;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (out.ok()) {
    spdlog::info("images: pulled {} id={} downloaded_bytes={} reused_blobs={} seconds={:.3f}",
                 normalized, out->id, local.downloaded_bytes, local.reused_blobs, secs);
  } else {
    spdlog::warn("images: pulling {} failed: {}", normalized, out.status().message());
  }
  if (stats) *stats = local;
  promise.set_value(out);
  std::lock_guard lock(mu_);
  inflight_.erase(normalized);
  return out;
}

Result<Image> Puller::PullWith(const ImageName& name, const std::string& normalized,
                               const Credential* cred, PullStats& stats) {
  KORC_ASSIGN_OR_RETURN(Manifest top, registry_->GetManifest(name, name.ref(), cred));
  const std::string repo_digest = name.Repo() + "@" + top.digest;
  Manifest manifest = top;
  std::vector<Manifest> documents = {top};
  for (int depth = 0; IsIndex(manifest.media_type); ++depth) {
    if (depth > 2) return Status::Invalid(repo_digest + ": image indexes nested too deep");
    KORC_ASSIGN_OR_RETURN(json pick, PickPlatform(json::parse(manifest.body, nullptr, false),
                                                  name.Repo() + "@" + manifest.digest));
    std::string digest = Field(pick, "digest");
    if (!IsSha256(digest)) {
      return Status::Invalid(repo_digest + ": index entry digest \"" + digest +
                             "\" is not sha256:<64 hex>");
    }
    KORC_ASSIGN_OR_RETURN(manifest, registry_->GetManifest(name, digest, cred));
    documents.push_back(manifest);
  }
  if (manifest.media_type != kOciManifestType && manifest.media_type != kDockerManifestType) {
    return Status::Invalid(name.Repo() + "@" + manifest.digest + ": manifest type \"" +
                           manifest.media_type +
                           "\" is not supported (OCI image manifests and Docker schema 2 are)");
  }
  json doc = json::parse(manifest.body, nullptr, false);
  const std::string what = name.Repo() + "@" + manifest.digest;
  if (!doc.contains("config") || !doc.contains("layers") || !doc["layers"].is_array()) {
    return Status::Invalid(what + ": the manifest has no config or no layers");
  }
  const std::string id = Field(doc["config"], "digest");
  if (!IsSha256(id)) return Status::Invalid(what + ": config digest \"" + id + "\" is not sha256");

  // The same image (by config digest) may be stored already, pulled under another name.
  if (store_->GetById(id).ok()) {
    stats.already_present = true;
    return store_->Tag(normalized, id, repo_digest);
  }

  KORC_ASSIGN_OR_RETURN(std::string staging, store_->NewStaging());
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(path, ec);  // gone already when the commit renamed it
    }
  } cleanup{staging};

  std::vector<std::string> blobs;
  // The manifests themselves are kept as blobs, so the store has the whole image.
  for (const auto& m : documents) {
    std::ofstream out(staging + "/blobs/" + Hex(m.digest), std::ios::binary);
    out << m.body;
    if (!out.flush()) return Status::Internal("writing " + staging + "/blobs: failed");
    blobs.push_back(m.digest);
  }
  KORC_ASSIGN_OR_RETURN(std::string config_path,
                        StageBlob(name, id, SizeField(doc["config"]), staging, cred, stats));
  blobs.push_back(id);
  KORC_ASSIGN_OR_RETURN(std::string config_data, ReadAll(config_path));
  json config = json::parse(config_data, nullptr, false);
  KORC_ASSIGN_OR_RETURN(ImageConfig run, ParseImageConfig(config_data));
  if (std::string os = Field(config, "os"); !os.empty() && os != "linux") {
    return Status::Invalid(what + ": the image is for " + os + ", not linux");
  }
  const json* diff_ids = nullptr;
  if (config.contains("rootfs") && config["rootfs"].is_object() &&
      config["rootfs"].contains("diff_ids") && config["rootfs"]["diff_ids"].is_array()) {
    diff_ids = &config["rootfs"]["diff_ids"];
  }
  const json& layers = doc["layers"];
  if (!diff_ids || diff_ids->size() != layers.size()) {
    return Status::Invalid(what + ": the config lists " +
                           std::to_string(diff_ids ? diff_ids->size() : 0) + " diff_ids for " +
                           std::to_string(layers.size()) + " layers");
  }
  std::vector<std::string> digests, diff;
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string digest = Field(layers[i], "digest");
    std::string diff_id = (*diff_ids)[i].is_string() ? (*diff_ids)[i].get<std::string>() : "";
    if (!IsSha256(digest) || !IsSha256(diff_id)) {
      return Status::Invalid(what + ": layer " + std::to_string(i) +
                             " has no sha256 digest or diff_id");
    }
    std::string type = Field(layers[i], "mediaType");
    if (type.find("tar") == std::string::npos) {
      return Status::Invalid(what + ": layer " + digest + " has media type \"" + type +
                             "\", not a tar");
    }
    digests.push_back(digest);
    diff.push_back(diff_id);
  }
  // Layers download in parallel, a few at a time, while they are applied in order: the
  // network and the unpacking overlap. Declared in this order so that on an early return the
  // downloads (which write into `staging`) are waited for before the staging goes.
  std::counting_semaphore<3> slots(3);
  std::atomic<bool> cancelled{false};
  std::vector<PullStats> fetch_stats(layers.size());
  std::map<std::string, std::shared_future<Result<std::string>>> fetches;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (fetches.count(digests[i])) continue;  // a layer repeated: fetched once
    const int64_t size = SizeField(layers[i]);
    fetches[digests[i]] =
        std::async(std::launch::async, [&, i, size]() -> Result<std::string> {
          slots.acquire();
          Result<std::string> out = Status::Unavailable("the pull ended before this layer");
          if (!cancelled) out = StageBlob(name, digests[i], size, staging, cred, fetch_stats[i]);
          slots.release();
          return out;
        }).share();
  }
  struct CancelOnExit {
    std::atomic<bool>& flag;
    ~CancelOnExit() { flag = true; }
  } cancel_on_exit{cancelled};
  for (size_t i = 0; i < layers.size(); ++i) {
    KORC_ASSIGN_OR_RETURN(std::string path, fetches[digests[i]].get());
    blobs.push_back(digests[i]);
    KORC_RETURN_IF_ERROR(ApplyLayer(path, staging + "/rootfs", diff[i]));
  }
  for (const auto& s : fetch_stats) {
    stats.downloaded_bytes += s.downloaded_bytes;
    stats.reused_blobs += s.reused_blobs;
  }
  return store_->CommitStaged(normalized, staging, id, run, blobs, repo_digest);
}

Result<std::string> Puller::StageBlob(const ImageName& name, const std::string& digest,
                                      int64_t size, const std::string& staging,
                                      const Credential* cred, PullStats& stats) {
  const std::string staged = staging + "/blobs/" + Hex(digest);
  if (store_->LinkBlob(digest, staging)) {
    ++stats.reused_blobs;
    return staged;
  }
  const std::string download = store_->DownloadPath(digest);
  for (;;) {
    // One download per blob at a time, across threads and processes: whoever holds the lock
    // on the partial file writes it; the others find the blob stored when they get the lock.
    int fd = open(download.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::Internal("open " + download + ": " + std::strerror(errno));
    std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { close(*f); });
    while (flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR)
        return Status::Internal("flock " + download + ": " + std::strerror(errno));
    }
    if (store_->LinkBlob(digest, staging)) {
      ++stats.reused_blobs;
      return staged;
    }
    // Another puller may have moved the file away while we waited: lock the new one.
    struct stat held, now;
    if (fstat(fd, &held) != 0 || stat(download.c_str(), &now) != 0 || held.st_ino != now.st_ino) {
      continue;
    }
    int64_t before = held.st_size;
    KORC_RETURN_IF_ERROR(registry_->GetBlob(name, digest, size, download, cred));
    struct stat after;
    if (stat(download.c_str(), &after) == 0) stats.downloaded_bytes += after.st_size - before;
    // Verified: it becomes this pull's staged copy (and the store's at commit).
    if (rename(download.c_str(), staged.c_str()) != 0) {
      return Status::Internal("rename " + download + ": " + std::strerror(errno));
    }
    return staged;
  }
}

Result<std::string> Puller::RemoteDigest(std::string_view reference,
                                         const std::vector<Credential>& creds) const {
  KORC_ASSIGN_OR_RETURN(ImageName name, ImageName::Parse(reference));
  if (creds.empty()) return registry_->ResolveDigest(name, name.ref(), nullptr);
  Result<std::string> out = Status::Internal("no credentials tried");
  for (const auto& cred : creds) {
    out = registry_->ResolveDigest(name, name.ref(), &cred);
    if (out.ok() || !Refused(out.status())) break;
  }
  return out;
}

Result<bool> Puller::UpToDate(std::string_view reference, const std::vector<Credential>& creds) {
  auto image = store_->Get(reference);
  if (!image.ok()) return false;
  KORC_ASSIGN_OR_RETURN(ImageName name, ImageName::Parse(reference));
  if (!name.digest.empty()) return true;  // a digest names one content forever
  KORC_ASSIGN_OR_RETURN(std::string digest, RemoteDigest(reference, creds));
  const std::string wanted = name.Repo() + "@" + digest;
  for (const auto& d : image->repo_digests) {
    if (d == wanted) return true;
  }
  return false;
}

}  // namespace korc::kubelet::images
