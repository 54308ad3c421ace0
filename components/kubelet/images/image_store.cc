#include "components/kubelet/images/image_store.h"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "components/kubelet/images/layer.h"

namespace korc::kubelet::images {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
constexpr const char* kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";

std::string Hex(const std::string& id) { return id.substr(id.find(':') + 1); }

bool IsSha256Digest(const std::string& d) {
  if (d.size() != 71 || !d.starts_with("sha256:")) return false;
  return d.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `data` to `path` so that readers see either the old or the new content.
Status WriteFileAtomic(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Internal("create " + tmp + ": " + std::strerror(errno));
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return Status::Internal("write " + tmp + ": " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    unlink(tmp.c_str());
    return Status::Internal("sync " + tmp + ": " + std::strerror(errno));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return Status::Internal("rename " + tmp + ": " + std::strerror(err));
  }
  return Status::Ok();
}

// flock(2) on <dir>/.lock for the lifetime of the object.
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::string& dir) {
    std::string path = dir + "/.lock";
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::Internal("open " + path + ": " + std::strerror(errno));
    while (flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return Status::Internal("flock " + path + ": " + std::strerror(err));
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) close(fd_);  // closing releases the lock
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

using Tags = std::map<std::string, std::string>;  // normalized reference -> image id

Result<Tags> LoadTags(const std::string& dir) {
  std::string path = dir + "/index.json";
  if (!fs::exists(path)) return Tags{};
  KORC_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  json j = json::parse(data, nullptr, false);
  if (!j.is_object() || !j.contains("tags") || !j["tags"].is_object()) {
    return Status::Corruption(path + ": not a korc image index");
  }
  Tags tags;
  for (const auto& [ref, id] : j["tags"].items()) {
    if (!id.is_string() || !IsSha256Digest(id.get<std::string>())) {
      return Status::Corruption(path + ": tag \"" + ref + "\" has no valid image id");
    }
    tags[ref] = id.get<std::string>();
  }
  return tags;
}

Status SaveTags(const std::string& dir, const Tags& tags) {
  json j = {{"version", 1}, {"tags", json::object()}};
  for (const auto& [ref, id] : tags) j["tags"][ref] = id;
  return WriteFileAtomic(dir + "/index.json", j.dump(2) + "\n");
}

std::vector<std::string> StringList(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains(key) || !j[key].is_array()) return out;
  for (const auto& v : j[key]) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string StringField(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return "";
  return j[key].get<std::string>();
}

ImageConfig ConfigFromOci(const json& config_blob) {
  ImageConfig c;
  if (!config_blob.is_object() || !config_blob.contains("config")) return c;
  const json& cfg = config_blob["config"];
  c.entrypoint = StringList(cfg, "Entrypoint");
  c.cmd = StringList(cfg, "Cmd");
  c.env = StringList(cfg, "Env");
  c.working_dir = StringField(cfg, "WorkingDir");
  c.user = StringField(cfg, "User");
  return c;
}

json ConfigToJson(const ImageConfig& c) {
  return {{"entrypoint", c.entrypoint},
          {"cmd", c.cmd},
          {"env", c.env},
          {"working_dir", c.working_dir},
          {"user", c.user}};
}

ImageConfig ConfigFromJson(const json& j) {
  ImageConfig c;
  c.entrypoint = StringList(j, "entrypoint");
  c.cmd = StringList(j, "cmd");
  c.env = StringList(j, "env");
  c.working_dir = StringField(j, "working_dir");
  c.user = StringField(j, "user");
  return c;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reads an OCI image layout (already on disk at `layout`), stages the blobs it uses into
// `staged` (verifying each digest on the staged copy), and applies the layers to `rootfs`.
class OciImporter {
 public:
  OciImporter(std::string source, std::string layout, std::string staged, std::string rootfs)
      : source_(std::move(source)),
        layout_(std::move(layout)),
        staged_(std::move(staged)),
        rootfs_(std::move(rootfs)) {}

  Status Run() {
    KORC_ASSIGN_OR_RETURN(std::string index_data, ReadFile(layout_ + "/index.json"));
    json index = json::parse(index_data, nullptr, false);
    KORC_ASSIGN_OR_RETURN(json manifest_desc, PickManifest(index, "index.json", 0));
    KORC_ASSIGN_OR_RETURN(json manifest, ReadJsonBlob(manifest_desc));
    if (!manifest.is_object() || !manifest.contains("config") || !manifest.contains("layers") ||
        !manifest["layers"].is_array()) {
      return Invalid("manifest " + StringField(manifest_desc, "digest") +
                     " has no config or layers");
    }
    KORC_ASSIGN_OR_RETURN(json config, ReadJsonBlob(manifest["config"]));
    config_ = ConfigFromOci(config);
    id_ = StringField(manifest["config"], "digest");
    for (const json& layer : manifest["layers"]) {
      KORC_ASSIGN_OR_RETURN(std::string blob, StageBlob(layer));
      KORC_RETURN_IF_ERROR(ExtractArchive(blob, rootfs_, LayerFormat::kOciLayer));
    }
    return Status::Ok();
  }

  const std::string& id() const { return id_; }
  const ImageConfig& config() const { return config_; }
  const std::vector<std::string>& blobs() const { return blobs_; }

 private:
  Status Invalid(const std::string& why) const {
    return Status::Invalid(source_ + ": OCI image layout: " + why);
  }

  // The manifest to import out of an index: linux/amd64, or the only one.
  Result<json> PickManifest(const json& index, const std::string& what, int depth) {
    if (depth > 4) return Invalid("image indexes nested too deep");
    if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array() ||
        index["manifests"].empty()) {
      return Invalid(what + " lists no manifests");
    }
    const json& manifests = index["manifests"];
    const json* pick = nullptr;
    if (manifests.size() == 1) {
      pick = &manifests[0];
    } else {
      for (const json& m : manifests) {
        if (!m.is_object() || !m.contains("platform")) continue;
        if (StringField(m["platform"], "os") == "linux" &&
            StringField(m["platform"], "architecture") == "amd64") {
          pick = &m;
          break;
        }
      }
      if (!pick) return Invalid(what + " has several manifests and none for linux/amd64");
    }
    std::string type = StringField(*pick, "mediaType");
    if (type == kOciIndex || type == kDockerList) {
      KORC_ASSIGN_OR_RETURN(json nested, ReadJsonBlob(*pick));
      return PickManifest(nested, StringField(*pick, "digest"), depth + 1);
    }
    return *pick;
  }

  // Copies (or moves, when the layout is our own unpacked copy) the blob a descriptor names
  // into staged_, and checks its digest there so what we verify is what we use.
  Result<std::string> StageBlob(const json& desc) {
    std::string digest = StringField(desc, "digest");
    if (!IsSha256Digest(digest)) {
      return Invalid("descriptor digest \"" + digest + "\" is not sha256:<64 hex>");
    }
    std::string from = layout_ + "/blobs/sha256/" + Hex(digest);
    std::string to = staged_ + "/" + Hex(digest);
    std::error_code ec;
    if (!fs::exists(to, ec)) {
      if (!fs::is_regular_file(from, ec)) return Invalid("blob " + digest + " is missing");
      fs::copy_file(from, to, ec);
      if (ec) return Status::Internal("copying blob " + digest + ": " + ec.message());
      KORC_ASSIGN_OR_RETURN(std::string actual, FileDigest(to));
      if (actual != digest) {
        return Invalid("blob " + digest + " has the wrong content (its digest is " + actual + ")");
      }
      blobs_.push_back(digest);
    }
    return to;
  }

  Result<json> ReadJsonBlob(const json& desc) {
    KORC_ASSIGN_OR_RETURN(std::string path, StageBlob(desc));
    KORC_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
    json j = json::parse(data, nullptr, false);
    if (j.is_discarded()) return Invalid("blob " + StringField(desc, "digest") + " is not JSON");
    return j;
  }

  const std::string source_, layout_, staged_, rootfs_;
  std::string id_;
  ImageConfig config_;
  std::vector<std::string> blobs_;
};

// images/<hex>/image.json for a staged image (its rootfs complete).
Status WriteMeta(const std::string& staging, const std::string& id, const ImageConfig& config,
                 const std::vector<std::string>& blobs) {
  json meta = {{"id", id},
               {"config", ConfigToJson(config)},
               {"size_bytes", DiskUsage(staging + "/rootfs")},
               {"created_ns", NowNs()},
               {"blobs", blobs},
               {"repo_digests", json::array()}};
  return WriteFileAtomic(staging + "/image.json", meta.dump(2) + "\n");
}

// "127.0.0.1:5000/busybox:1@sha256:..." -> "127.0.0.1:5000/busybox"
std::string RepositoryOf(const std::string& normalized) {
  std::string name = normalized.substr(0, normalized.find('@'));
  size_t colon = name.rfind(':');
  if (colon != std::string::npos && colon > name.rfind('/')) name.resize(colon);
  return name;
}

std::string NotFoundMessage(const std::string& normalized) {
  std::string familiar = FamiliarReference(normalized);
  return "image \"" + familiar +
         "\" is not in this node's image store; pull it with: korc image pull " + familiar +
         ", or import it with: korc image import " + familiar + " PATH";
}

}  // namespace

Result<ImageConfig> ParseImageConfig(std::string_view config_json) {
  json j = json::parse(config_json, nullptr, false);
  if (!j.is_object()) return Status::Invalid("the image config is not a JSON object");
  return ConfigFromOci(j);
}

Result<std::unique_ptr<ImageStore>> ImageStore::Open(std::string dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("creating image store " + dir + ": " + ec.message());
  std::string canonical = fs::canonical(dir, ec).string();
  if (ec) return Status::Internal("image store " + dir + ": " + ec.message());
  for (const char* sub : {"images", "blobs/sha256", "downloads", "pins", "tmp"}) {
    fs::create_directories(canonical + "/" + sub, ec);
    if (ec) return Status::Internal("creating " + canonical + "/" + sub + ": " + ec.message());
  }
  // An import killed half-way leaves tmp/<pid>-<n>; delete those whose process is gone.
  for (const auto& e : fs::directory_iterator(canonical + "/tmp", ec)) {
    std::string name = e.path().filename();
    pid_t pid = static_cast<pid_t>(std::atoll(name.c_str()));
    if (pid > 0 && (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)) continue;
    spdlog::info("images: removing leftover of an interrupted import path={}", e.path().string());
    fs::remove_all(e.path(), ec);
  }
  return std::unique_ptr<ImageStore>(new ImageStore(canonical));
}

Result<std::string> ImageStore::NewTempDir() {
  static std::atomic<uint64_t> counter{0};
  std::string path = dir_ + "/tmp/" + std::to_string(getpid()) + "-" + std::to_string(NowNs()) +
                     "-" + std::to_string(counter++);
  if (mkdir(path.c_str(), 0755) != 0) {
    return Status::Internal("mkdir " + path + ": " + std::strerror(errno));
  }
  return path;
}

Result<Image> ImageStore::Import(std::string_view reference, std::string_view path_view) {
  KORC_ASSIGN_OR_RETURN(std::string name, NormalizeReference(reference));
  std::string path(path_view);
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return Status::NotFound(path + ": no such file or directory");
  std::string source = fs::absolute(path, ec).string();

  KORC_ASSIGN_OR_RETURN(std::string tmp, NewTempDir());
  // Whatever happens below, the temporary directory goes away; Commit renames it first.
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } cleanup{tmp};

  std::string rootfs = tmp + "/rootfs";
  if (mkdir(rootfs.c_str(), 0755) != 0 || mkdir((tmp + "/blobs").c_str(), 0755) != 0) {
    return Status::Internal("mkdir in " + tmp + ": " + std::strerror(errno));
  }
  std::string id;
  ImageConfig config;
  std::vector<std::string> blobs;
  auto import_layout = [&](const std::string& layout) -> Status {
    OciImporter oci(source, layout, tmp + "/blobs", rootfs);
    KORC_RETURN_IF_ERROR(oci.Run());
    id = oci.id();
    config = oci.config();
    blobs = oci.blobs();
    return Status::Ok();
  };
  if (fs::is_directory(st)) {
    if (fs::exists(source + "/oci-layout") && fs::exists(source + "/index.json")) {
      KORC_RETURN_IF_ERROR(import_layout(source));
    } else {
      KORC_RETURN_IF_ERROR(CopyTree(source, rootfs));
    }
  } else {
    KORC_ASSIGN_OR_RETURN(bool is_layout, IsOciLayoutArchive(source));
    if (is_layout) {
      std::string layout = tmp + "/layout";
      if (mkdir(layout.c_str(), 0755) != 0) {
        return Status::Internal("mkdir " + layout + ": " + std::strerror(errno));
      }
      KORC_RETURN_IF_ERROR(ExtractArchive(source, layout, LayerFormat::kRootfs));
      KORC_RETURN_IF_ERROR(import_layout(layout));
      fs::remove_all(layout, ec);
    } else {
      KORC_RETURN_IF_ERROR(ExtractArchive(source, rootfs, LayerFormat::kRootfs));
    }
  }
  if (id.empty()) {
    KORC_ASSIGN_OR_RETURN(id, TreeDigest(rootfs));
  }
  KORC_RETURN_IF_ERROR(WriteMeta(tmp, id, config, blobs));
  auto image = Commit(name, tmp, id);
  if (image.ok()) {
    spdlog::info("images: imported reference={} id={} source={} size_bytes={}", name, id, source,
                 image->size_bytes);
  }
  return image;
}

Result<Image> ImageStore::Commit(const std::string& reference, const std::string& tmp,
                                 const std::string& id, const std::string& repo_digest) {
  std::lock_guard lock(mu_);
  KORC_ASSIGN_OR_RETURN(FileLock file_lock, FileLock::Acquire(dir_));
  std::string image_dir = dir_ + "/images/" + Hex(id);
  std::error_code ec;
  if (!fs::exists(image_dir, ec)) {
    if (tmp.empty()) return Status::NotFound("image " + id + " is not in the store");
    for (const auto& blob : fs::directory_iterator(tmp + "/blobs", ec)) {
      std::string to = dir_ + "/blobs/sha256/" + blob.path().filename().string();
      if (!fs::exists(to) && rename(blob.path().c_str(), to.c_str()) != 0) {
        return Status::Internal("rename blob into " + to + ": " + std::strerror(errno));
      }
    }
    fs::remove_all(tmp + "/blobs", ec);
    if (rename(tmp.c_str(), image_dir.c_str()) != 0) {
      return Status::Internal("rename " + tmp + " to " + image_dir + ": " + std::strerror(errno));
    }
  }
  if (!repo_digest.empty()) {
    KORC_ASSIGN_OR_RETURN(std::string data, ReadFile(image_dir + "/image.json"));
    json meta = json::parse(data, nullptr, false);
    if (!meta.is_object()) return Status::Corruption(image_dir + "/image.json: not JSON");
    auto digests = StringList(meta, "repo_digests");
    if (std::find(digests.begin(), digests.end(), repo_digest) == digests.end()) {
      digests.push_back(repo_digest);
      meta["repo_digests"] = digests;
      KORC_RETURN_IF_ERROR(WriteFileAtomic(image_dir + "/image.json", meta.dump(2) + "\n"));
    }
  }
  KORC_ASSIGN_OR_RETURN(Tags tags, LoadTags(dir_));
  std::string old = tags.count(reference) ? tags[reference] : "";
  tags[reference] = id;
  KORC_RETURN_IF_ERROR(SaveTags(dir_, tags));
  if (!old.empty() && old != id) {
    bool still_used = false;
    for (const auto& [ref, other] : tags) still_used |= other == old;
    if (!still_used) DeleteImageLocked(old);
  }
  return LoadImage(reference, id);
}

bool ImageStore::PinnedLocked(const std::string& hex) const {
  std::error_code ec;
  for (const auto& holder : fs::directory_iterator(dir_ + "/pins", ec)) {
    if (fs::exists(holder.path() / hex, ec)) return true;
  }
  return false;
}

Status ImageStore::Pin(const std::string& id, const std::string& holder) {
  if (!IsSha256Digest(id)) return Status::Invalid("image id \"" + id + "\" is not sha256:<hex>");
  if (holder.empty() || holder.find('/') != std::string::npos || holder.starts_with(".")) {
    return Status::Invalid("pin holder \"" + holder + "\" is not a plain name");
  }
  std::lock_guard lock(mu_);
  KORC_ASSIGN_OR_RETURN(FileLock file_lock, FileLock::Acquire(dir_));
  std::error_code ec;
  fs::create_directories(dir_ + "/pins/" + holder, ec);
  if (ec) return Status::Internal("pin " + id + ": " + ec.message());
  std::ofstream(dir_ + "/pins/" + holder + "/" + Hex(id)).flush();
  return Status::Ok();
}

void ImageStore::Unpin(const std::string& holder) {
  if (holder.empty() || holder.find('/') != std::string::npos || holder.starts_with(".")) return;
  std::lock_guard lock(mu_);
  auto file_lock = FileLock::Acquire(dir_);
  if (!file_lock.ok()) return;
  std::error_code ec;
  if (!fs::exists(dir_ + "/pins/" + holder, ec)) return;
  fs::remove_all(dir_ + "/pins/" + holder, ec);
  DeleteUnusedLocked();
}

void ImageStore::RetainPins(const std::set<std::string>& holders) {
  std::lock_guard lock(mu_);
  auto file_lock = FileLock::Acquire(dir_);
  if (!file_lock.ok()) return;
  std::error_code ec;
  for (const auto& holder : fs::directory_iterator(dir_ + "/pins", ec)) {
    if (!holders.count(holder.path().filename().string())) fs::remove_all(holder.path(), ec);
  }
  DeleteUnusedLocked();
}

void ImageStore::DeleteUnusedLocked() {
  auto tags = LoadTags(dir_);
  if (!tags.ok()) return;
  std::set<std::string> tagged;
  for (const auto& [ref, id] : *tags) tagged.insert(Hex(id));
  std::error_code ec;
  std::vector<std::string> unused;
  for (const auto& e : fs::directory_iterator(dir_ + "/images", ec)) {
    std::string hex = e.path().filename().string();
    if (!tagged.count(hex)) unused.push_back("sha256:" + hex);
  }
  for (const auto& id : unused) DeleteImageLocked(id);
}

void ImageStore::DeleteImageLocked(const std::string& id) {
  if (PinnedLocked(Hex(id))) {
    spdlog::info("images: image id={} is untagged; kept while containers run from it", id);
    return;
  }
  std::string image_dir = dir_ + "/images/" + Hex(id);
  auto tmp = NewTempDir();
  if (!tmp.ok()) return;
  std::string trash = *tmp + "/image";
  // Rename first so the image vanishes at once even if deleting a large tree is interrupted;
  // Open removes the leftover.
  if (rename(image_dir.c_str(), trash.c_str()) != 0) {
    spdlog::warn("images: cannot remove image id={} error={}", id, std::strerror(errno));
    return;
  }
  std::set<std::string> blobs;
  if (auto data = ReadFile(trash + "/image.json"); data.ok()) {
    for (const auto& b : StringList(json::parse(*data, nullptr, false), "blobs")) blobs.insert(b);
  }
  std::error_code ec;
  fs::remove_all(*tmp, ec);
  // Blobs shared with another image stay.
  for (const auto& e : fs::directory_iterator(dir_ + "/images", ec)) {
    auto data = ReadFile(e.path().string() + "/image.json");
    if (!data.ok()) continue;
    for (const auto& b : StringList(json::parse(*data, nullptr, false), "blobs")) blobs.erase(b);
  }
  for (const auto& b : blobs) {
    if (IsSha256Digest(b)) fs::remove(dir_ + "/blobs/sha256/" + Hex(b), ec);
  }
  spdlog::info("images: removed image id={}", id);
}

Result<Image> ImageStore::LoadImage(const std::string& reference, const std::string& id) const {
  std::string image_dir = dir_ + "/images/" + Hex(id);
  auto data = ReadFile(image_dir + "/image.json");
  if (!data.ok()) {
    return Status::Corruption("image store " + dir_ + ": \"" + reference + "\" points at " + id +
                              ", which is missing");
  }
  json j = json::parse(*data, nullptr, false);
  if (!j.is_object()) return Status::Corruption(image_dir + "/image.json: not JSON");
  Image image;
  image.reference = reference;
  image.id = id;
  image.rootfs = image_dir + "/rootfs";
  image.config = ConfigFromJson(j.value("config", json::object()));
  if (j.contains("size_bytes") && j["size_bytes"].is_number_integer()) {
    image.size_bytes = j["size_bytes"].get<int64_t>();
  }
  if (j.contains("created_ns") && j["created_ns"].is_number_integer()) {
    image.created_ns = j["created_ns"].get<int64_t>();
  }
  image.repo_digests = StringList(j, "repo_digests");
  return image;
}

Result<Image> ImageStore::GetById(const std::string& id) const {
  if (!IsSha256Digest(id)) return Status::NotFound("\"" + id + "\" is not an image id");
  std::error_code ec;
  if (!fs::exists(dir_ + "/images/" + Hex(id), ec)) {
    return Status::NotFound("image " + id + " is not in this node's image store");
  }
  return LoadImage("", id);
}

Result<std::string> ImageStore::NewStaging() {
  KORC_ASSIGN_OR_RETURN(std::string tmp, NewTempDir());
  for (const char* sub : {"/rootfs", "/blobs"}) {
    if (mkdir((tmp + sub).c_str(), 0755) != 0) {
      int err = errno;
      std::error_code ec;
      fs::remove_all(tmp, ec);
      return Status::Internal("mkdir " + tmp + sub + ": " + std::strerror(err));
    }
  }
  return tmp;
}

bool ImageStore::LinkBlob(const std::string& digest, const std::string& staging) {
  if (!IsSha256Digest(digest)) return false;
  std::string to = staging + "/blobs/" + Hex(digest);
  // Under the locks, so DeleteImageLocked cannot remove the blob between the check and link.
  std::lock_guard lock(mu_);
  auto file_lock = FileLock::Acquire(dir_);
  if (!file_lock.ok()) return false;
  std::string from = dir_ + "/blobs/sha256/" + Hex(digest);
  return link(from.c_str(), to.c_str()) == 0 || errno == EEXIST;
}

std::string ImageStore::DownloadPath(const std::string& digest) const {
  return dir_ + "/downloads/" + Hex(digest);
}

Result<Image> ImageStore::CommitStaged(std::string_view reference, const std::string& staging,
                                       const std::string& id, const ImageConfig& config,
                                       const std::vector<std::string>& blobs,
                                       const std::string& repo_digest) {
  KORC_ASSIGN_OR_RETURN(std::string name, NormalizeReference(reference));
  if (!IsSha256Digest(id)) return Status::Invalid("image id \"" + id + "\" is not sha256:<hex>");
  KORC_RETURN_IF_ERROR(WriteMeta(staging, id, config, blobs));
  return Commit(name, staging, id, repo_digest);
}

Result<Image> ImageStore::Tag(std::string_view reference, const std::string& id,
                              const std::string& repo_digest) {
  KORC_ASSIGN_OR_RETURN(std::string name, NormalizeReference(reference));
  if (!IsSha256Digest(id)) return Status::Invalid("image id \"" + id + "\" is not sha256:<hex>");
  return Commit(name, "", id, repo_digest);
}

Result<int64_t> ImageStore::Prune(std::chrono::seconds download_age) {
  std::lock_guard lock(mu_);
  KORC_ASSIGN_OR_RETURN(FileLock file_lock, FileLock::Acquire(dir_));
  int64_t before = DiskUsage(dir_);
  DeleteUnusedLocked();  // untagged images whose containers are gone
  std::set<std::string> used;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/images", ec)) {
    auto data = ReadFile(e.path().string() + "/image.json");
    if (!data.ok()) continue;
    for (const auto& b : StringList(json::parse(*data, nullptr, false), "blobs")) {
      if (IsSha256Digest(b)) used.insert(Hex(b));
    }
  }
  for (const auto& e : fs::directory_iterator(dir_ + "/blobs/sha256", ec)) {
    if (!used.count(e.path().filename().string())) fs::remove(e.path(), ec);
  }
  auto now = fs::file_time_type::clock::now();
  for (const auto& e : fs::directory_iterator(dir_ + "/downloads", ec)) {
    auto mtime = fs::last_write_time(e.path(), ec);
    if (!ec && now - mtime > download_age) fs::remove(e.path(), ec);
  }
  // Staging directories of processes that are gone (as Open does).
  for (const auto& e : fs::directory_iterator(dir_ + "/tmp", ec)) {
    pid_t pid = static_cast<pid_t>(std::atoll(e.path().filename().c_str()));
    if (pid > 0 && (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)) continue;
    fs::remove_all(e.path(), ec);
  }
  int64_t freed = std::max<int64_t>(0, before - DiskUsage(dir_));
  spdlog::info("images: pruned bytes={}", freed);
  return freed;
}

Result<Image> ImageStore::Get(std::string_view reference) const {
  KORC_ASSIGN_OR_RETURN(std::string name, NormalizeReference(reference));
  // index.json is replaced atomically, so reading it needs no lock; reading it every time
  // lets a running node see what `korc image import` just added.
  KORC_ASSIGN_OR_RETURN(Tags tags, LoadTags(dir_));
  auto it = tags.find(name);
  if (it != tags.end()) return LoadImage(name, it->second);
  // By digest: any image pulled from this repository whose manifest had that digest.
  if (size_t at = name.find('@'); at != std::string::npos) {
    std::string wanted = RepositoryOf(name) + name.substr(at);
    std::set<std::string> ids;
    for (const auto& [ref, id] : tags) ids.insert(id);
    for (const auto& id : ids) {
      auto image = LoadImage(name, id);
      if (!image.ok()) continue;
      for (const auto& d : image->repo_digests) {
        if (d == wanted) return image;
      }
    }
  }
  return Status::NotFound(NotFoundMessage(name));
}

Result<std::vector<Image>> ImageStore::List() const {
  KORC_ASSIGN_OR_RETURN(Tags tags, LoadTags(dir_));
  std::vector<Image> out;
  for (const auto& [ref, id] : tags) {
    KORC_ASSIGN_OR_RETURN(Image image, LoadImage(ref, id));
    out.push_back(std::move(image));
  }
  return out;
}

Status ImageStore::Remove(std::string_view reference) {
  KORC_ASSIGN_OR_RETURN(std::string name, NormalizeReference(reference));
  std::lock_guard lock(mu_);
  KORC_ASSIGN_OR_RETURN(FileLock file_lock, FileLock::Acquire(dir_));
  KORC_ASSIGN_OR_RETURN(Tags tags, LoadTags(dir_));
  auto it = tags.find(name);
  if (it == tags.end()) return Status::NotFound(NotFoundMessage(name));
  std::string id = it->second;
  tags.erase(it);
  KORC_RETURN_IF_ERROR(SaveTags(dir_, tags));
  spdlog::info("images: untagged reference={} id={}", name, id);
  for (const auto& [ref, other] : tags) {
    if (other == id) return Status::Ok();
  }
  DeleteImageLocked(id);
  return Status::Ok();
}

int64_t ImageStore::DiskUsageBytes() const { return DiskUsage(dir_); }

}  // namespace korc::kubelet::images
