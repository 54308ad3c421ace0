#include "components/kubelet/images/layer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace korc::kubelet::images {
namespace {

namespace fs = std::filesystem;

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct ArchiveWriteDeleter {
  void operator()(archive* a) const { archive_write_free(a); }
};
using ReadArchive = std::unique_ptr<archive, ArchiveReadDeleter>;
using WriteArchive = std::unique_ptr<archive, ArchiveWriteDeleter>;

std::string ArchiveError(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

// Runs `fn` on a thread of its own whose working directory is `dir`. unshare(CLONE_FS)
// gives that thread a private cwd, so libarchive can be handed relative paths (which its
// SECURE_* checks need) without touching the cwd of the rest of the process.
Status RunInDir(const std::string& dir, const std::function<Status()>& fn) {
  Status result;
  std::thread worker([&] {
    if (unshare(CLONE_FS) != 0) {
      result = Status::Internal(std::string("unshare(CLONE_FS): ") + std::strerror(errno));
      return;
    }
    if (chdir(dir.c_str()) != 0) {
      result = Status::Internal("chdir " + dir + ": " + std::strerror(errno));
      return;
    }
    result = fn();
  });
  worker.join();
  return result;
}

int ExtractFlags() {
  int flags = ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
              ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
              ARCHIVE_EXTRACT_XATTR;
  // Numeric ownership only makes sense (and only works) for root; without it files belong to
  // the importing user.
  if (geteuid() == 0) flags |= ARCHIVE_EXTRACT_OWNER;
  return flags;
}

// Whether mknod(2) of a device node can work: real root, not inside a user namespace.
bool CanMakeDevices() {
  static const bool can = [] {
    if (geteuid() != 0) return false;
    std::ifstream map("/proc/self/uid_map");
    uint64_t inside = 1, outside = 1, count = 0;
    map >> inside >> outside >> count;
    return inside == 0 && outside == 0 && count == 4294967295ULL;
  }();
  return can;
}

// Keeps the extended attributes a container may carry; trusted.* would need CAP_SYS_ADMIN
// over the host and means nothing inside a container.
void FilterXattrs(archive_entry* entry) {
  if (archive_entry_xattr_reset(entry) == 0) return;
  std::vector<std::pair<std::string, std::string>> keep;
  const char* name;
  const void* value;
  size_t size;
  while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    if (std::string_view(name).starts_with("trusted.")) continue;
    keep.emplace_back(name, std::string(static_cast<const char*>(value), size));
  }
  archive_entry_xattr_clear(entry);
  for (const auto& [k, v] : keep)
    archive_entry_xattr_add_entry(entry, k.c_str(), v.data(), v.size());
}

// "./a//b/" -> "a/b"; "" for the root itself. Invalid for absolute paths and "..": the
// archive is refused outright rather than partly extracted.
Result<std::string> CleanEntryPath(std::string_view path, const std::string& what) {
  if (!path.empty() && path.front() == '/') {
    return Status::Invalid(what + ": entry \"" + std::string(path) +
                           "\" has an absolute path; refusing to extract it");
  }
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "..") {
      return Status::Invalid(what + ": entry \"" + std::string(path) +
                             "\" leaves the root through \"..\"; refusing to extract it");
    }
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    i = j + 1;
  }
  return out;
}

// Fails when any directory above `rel` (relative to the cwd) is a symlink, so a whiteout
// can never delete through a link to somewhere outside the root.
Status CheckNoSymlinkParents(const std::string& rel, const std::string& what) {
  size_t pos = 0;
  while ((pos = rel.find('/', pos)) != std::string::npos) {
    std::string prefix = rel.substr(0, pos++);
    struct stat st;
    if (lstat(prefix.c_str(), &st) != 0) return Status::Ok();  // nothing there to delete
    if (S_ISLNK(st.st_mode)) {
      return Status::Invalid(what + ": whiteout \"" + rel + "\" goes through the symlink \"" +
                             prefix + "\"; refusing it");
    }
  }
  return Status::Ok();
}

// Removes everything under `dir` (relative, a real directory) that this layer did not write.
void ClearOpaqueDir(const std::string& dir, const std::set<std::string>& written) {
  std::error_code ec;
  for (const auto& child : fs::directory_iterator(dir.empty() ? "." : dir, ec)) {
    std::string rel = (dir.empty() ? "" : dir + "/") + child.path().filename().string();
    if (!written.count(rel)) {
      fs::remove_all(rel, ec);
    } else if (child.is_directory(ec) && !child.is_symlink(ec)) {
      ClearOpaqueDir(rel, written);
    }
  }
}

Status CopyData(archive* in, archive* out, const std::string& what, const std::string& entry) {
  const void* buf;
  size_t size;
  la_int64_t offset;
  for (;;) {
    int r = archive_read_data_block(in, &buf, &size, &offset);
    if (r == ARCHIVE_EOF) return Status::Ok();
    if (r < ARCHIVE_WARN) {
      return Status::Invalid(what + ": reading \"" + entry + "\": " + ArchiveError(in));
    }
    if (archive_write_data_block(out, buf, size, offset) < ARCHIVE_WARN) {
      return Status::Invalid(what + ": writing \"" + entry + "\": " + ArchiveError(out));
    }
  }
}

// Extracts every entry of `in` into the cwd. REQUIRES: running inside RunInDir.
Status ExtractAll(archive* in, const std::string& what, LayerFormat format) {
  WriteArchive out(archive_write_disk_new());
  archive_write_disk_set_options(out.get(), ExtractFlags());
  // Paths this layer wrote, so an opaque marker only hides what lower layers left.
  std::set<std::string> written;
  archive_entry* entry;
  for (;;) {
    int r = archive_read_next_header(in, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Status::Invalid(what + ": " + ArchiveError(in));
    const char* raw = archive_entry_pathname(entry);
    KORC_ASSIGN_OR_RETURN(std::string path, CleanEntryPath(raw ? raw : "", what));
    if (path.empty()) continue;  // the root directory itself: ours, created 0755
    std::string base = path.substr(path.rfind('/') + 1);
    std::string dir =
        path.size() > base.size() ? path.substr(0, path.size() - base.size() - 1) : std::string();
    if (format == LayerFormat::kOciLayer && base.starts_with(".wh.")) {
      KORC_RETURN_IF_ERROR(CheckNoSymlinkParents(path, what));
      std::error_code ec;
      if (base == ".wh..wh..opq") {
        struct stat st;
        if (dir.empty() || (lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
          ClearOpaqueDir(dir, written);
        }
      } else {
        std::string target = (dir.empty() ? "" : dir + "/") + base.substr(4);
        fs::remove_all(target, ec);
        if (ec)
          return Status::Internal(what + ": applying whiteout of \"" + target +
                                  "\": " + ec.message());
      }
      continue;
    }
    archive_entry_set_pathname(entry, path.c_str());
    const mode_t type = archive_entry_filetype(entry);
    if ((type == AE_IFCHR || type == AE_IFBLK) && !CanMakeDevices()) {
      spdlog::debug("images: {}: skipping device node \"{}\" (needs real root)", what, path);
      continue;
    }
    FilterXattrs(entry);
    if (const char* link = archive_entry_hardlink(entry)) {
      KORC_ASSIGN_OR_RETURN(std::string target, CleanEntryPath(link, what));
      if (target.empty()) {
        return Status::Invalid(what + ": entry \"" + path + "\" is a hard link to the root");
      }
      archive_entry_set_hardlink(entry, target.c_str());
    }
    r = archive_write_header(out.get(), entry);
    if (r < ARCHIVE_WARN) {
      return Status::Invalid(what + ": refusing entry \"" + path +
                             "\": " + ArchiveError(out.get()));
    }
    if (archive_entry_size(entry) > 0) {
      KORC_RETURN_IF_ERROR(CopyData(in, out.get(), what, path));
    }
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) {
      return Status::Invalid(what + ": writing \"" + path + "\": " + ArchiveError(out.get()));
    }
    for (size_t p = path.find('/'); p != std::string::npos; p = path.find('/', p + 1)) {
      written.insert(path.substr(0, p));
    }
    written.insert(path);
  }
  // Directory modes and times are applied at close; a failure there is a real failure.
  if (archive_write_close(out.get()) < ARCHIVE_WARN) {
    return Status::Invalid(what + ": finishing extraction: " + ArchiveError(out.get()));
  }
  return Status::Ok();
}

Result<ReadArchive> OpenArchive(const std::string& path) {
  ReadArchive in(archive_read_new());
  archive_read_support_filter_all(in.get());
  archive_read_support_format_all(in.get());
  if (archive_read_open_filename(in.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return Status::Invalid(path + ": not a readable archive: " + ArchiveError(in.get()));
  }
  return in;
}

Status HashFileInto(const std::string& path, Sha256& h) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::Internal("open " + path + ": " + std::strerror(errno));
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Status::Internal("read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    h.Update(buf, static_cast<size_t>(n));
  }
  close(fd);
  return Status::Ok();
}

Status HashTree(const std::string& abs, const std::string& rel, Sha256& h) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(abs, ec)) names.push_back(e.path().filename());
  if (ec) return Status::Internal("listing " + abs + ": " + ec.message());
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string child = abs + "/" + name;
    std::string child_rel = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    if (lstat(child.c_str(), &st) != 0) {
      return Status::Internal("lstat " + child + ": " + std::strerror(errno));
    }
    h.Update(child_rel);
    h.Update("\0", 1);
    h.Update(std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + " " +
             std::to_string(st.st_gid) + " " + std::to_string(st.st_rdev));
    h.Update("\0", 1);
    if (S_ISREG(st.st_mode)) {
      KORC_RETURN_IF_ERROR(HashFileInto(child, h));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target = fs::read_symlink(child, ec).string();
      h.Update(target);
    } else if (S_ISDIR(st.st_mode)) {
      KORC_RETURN_IF_ERROR(HashTree(child, child_rel, h));
    }
    h.Update("\0", 1);
  }
  return Status::Ok();
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
Sha256::~Sha256() { EVP_MD_CTX_free(ctx_); }
void Sha256::Update(const void* data, size_t n) { EVP_DigestUpdate(ctx_, data, n); }
std::string Sha256::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx_, md, &n);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string Sha256Of(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.Finish();
}

Status ExtractArchive(const std::string& archive_path, const std::string& root,
                      LayerFormat format) {
  KORC_ASSIGN_OR_RETURN(ReadArchive in, OpenArchive(archive_path));
  return RunInDir(root, [&] { return ExtractAll(in.get(), archive_path, format); });
}

namespace {

// Feeds a tar reader with the decompressed bytes of a raw reader, hashing them on the way.
struct HashingPipe {
  archive* raw;
  Sha256 hash;
  char buf[1 << 16];
};

la_ssize_t PipeRead(archive* a, void* client, const void** out) {
  auto* p = static_cast<HashingPipe*>(client);
  la_ssize_t n = archive_read_data(p->raw, p->buf, sizeof p->buf);
  if (n < 0) {
    archive_set_error(a, EIO, "%s", archive_error_string(p->raw));
    return -1;
  }
  p->hash.Update(p->buf, static_cast<size_t>(n));
  *out = p->buf;
  return n;
}

}  // namespace

Status ApplyLayer(const std::string& blob_path, const std::string& root,
                  const std::string& diff_id) {
  ReadArchive raw(archive_read_new());
  archive_read_support_filter_all(raw.get());
  archive_read_support_format_raw(raw.get());
  archive_entry* entry;
  if (archive_read_open_filename(raw.get(), blob_path.c_str(), 1 << 16) != ARCHIVE_OK ||
      archive_read_next_header(raw.get(), &entry) != ARCHIVE_OK) {
    return Status::Invalid(blob_path + ": not a readable layer: " + ArchiveError(raw.get()));
  }
  auto pipe = std::make_unique<HashingPipe>();
  pipe->raw = raw.get();
  ReadArchive tar(archive_read_new());
  archive_read_support_format_tar(tar.get());
  archive_read_support_format_empty(tar.get());
  if (archive_read_open(tar.get(), pipe.get(), nullptr, PipeRead, nullptr) != ARCHIVE_OK) {
    return Status::Invalid(blob_path + ": not a tar layer: " + ArchiveError(tar.get()));
  }
  KORC_RETURN_IF_ERROR(
      RunInDir(root, [&] { return ExtractAll(tar.get(), blob_path, LayerFormat::kOciLayer); }));
  // The tar's end-of-archive blocks and any padding after them belong to the diff_id too.
  for (;;) {
    la_ssize_t n = archive_read_data(raw.get(), pipe->buf, sizeof pipe->buf);
    if (n < 0) return Status::Invalid(blob_path + ": " + ArchiveError(raw.get()));
    if (n == 0) break;
    pipe->hash.Update(pipe->buf, static_cast<size_t>(n));
  }
  std::string actual = pipe->hash.Finish();
  if (actual != diff_id) {
    return Status::Corruption(blob_path + ": the uncompressed layer's digest is " + actual +
                              ", the image config says " + diff_id);
  }
  return Status::Ok();
}

Status CopyTree(const std::string& src, const std::string& root) {
  std::error_code ec;
  std::string abs = fs::absolute(src, ec).lexically_normal().string();
  while (abs.size() > 1 && abs.back() == '/') abs.pop_back();
  // The source is walked by hand rather than with archive_read_disk: that reader may fchdir
  // while traversing, which would move the writer's cwd (the target root) under it.
  return RunInDir(root, [&]() -> Status {
    WriteArchive out(archive_write_disk_new());
    archive_write_disk_set_options(out.get(), ExtractFlags());
    std::function<Status(const std::string&)> copy = [&](const std::string& rel) -> Status {
      std::vector<std::string> names;
      for (const auto& e : fs::directory_iterator(abs + (rel.empty() ? "" : "/" + rel), ec)) {
        names.push_back(e.path().filename());
      }
      if (ec) return Status::Invalid(src + ": listing \"" + rel + "\": " + ec.message());
      std::sort(names.begin(), names.end());
      for (const auto& name : names) {
        std::string child_rel = rel.empty() ? name : rel + "/" + name;
        std::string child = abs + "/" + child_rel;
        struct stat st;
        if (lstat(child.c_str(), &st) != 0) {
          return Status::Invalid(src + ": " + child_rel + ": " + std::strerror(errno));
        }
        std::unique_ptr<archive_entry, void (*)(archive_entry*)> entry(archive_entry_new(),
                                                                       archive_entry_free);
        archive_entry_copy_stat(entry.get(), &st);
        archive_entry_set_pathname(entry.get(), child_rel.c_str());
        if (S_ISLNK(st.st_mode)) {
          archive_entry_set_symlink(entry.get(), fs::read_symlink(child, ec).c_str());
        }
        int fd = -1;
        if (S_ISREG(st.st_mode)) {
          fd = open(child.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
          if (fd < 0) return Status::Invalid(src + ": " + child_rel + ": " + std::strerror(errno));
        } else {
          archive_entry_set_size(entry.get(), 0);
        }
        std::unique_ptr<int, void (*)(int*)> fd_closer(&fd, [](int* f) {
          if (*f >= 0) close(*f);
        });
        if (archive_write_header(out.get(), entry.get()) < ARCHIVE_WARN) {
          return Status::Invalid(src + ": copying \"" + child_rel +
                                 "\": " + ArchiveError(out.get()));
        }
        if (fd >= 0) {
          char buf[1 << 16];
          for (;;) {
            ssize_t n = read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return Status::Invalid(src + ": " + child_rel + ": " + std::strerror(errno));
            if (n == 0) break;
            if (archive_write_data(out.get(), buf, static_cast<size_t>(n)) < 0) {
              return Status::Invalid(src + ": copying \"" + child_rel +
                                     "\": " + ArchiveError(out.get()));
            }
          }
        }
        if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN) {
          return Status::Invalid(src + ": copying \"" + child_rel +
                                 "\": " + ArchiveError(out.get()));
        }
        if (S_ISDIR(st.st_mode)) KORC_RETURN_IF_ERROR(copy(child_rel));
      }
      return Status::Ok();
    };
    KORC_RETURN_IF_ERROR(copy(""));
    if (archive_write_close(out.get()) < ARCHIVE_WARN) {
      return Status::Invalid(src + ": finishing the copy: " + ArchiveError(out.get()));
    }
    return Status::Ok();
  });
}

Result<bool> IsOciLayoutArchive(const std::string& archive_path) {
  KORC_ASSIGN_OR_RETURN(ReadArchive in, OpenArchive(archive_path));
  bool layout = false, index = false;
  archive_entry* entry;
  for (;;) {
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return Status::Invalid(archive_path + ": " + ArchiveError(in.get()));
    const char* raw = archive_entry_pathname(entry);
    auto path = CleanEntryPath(raw ? raw : "", archive_path);
    if (path.ok()) {
      layout |= *path == "oci-layout";
      index |= *path == "index.json";
    }
    if (layout && index) return true;
    archive_read_data_skip(in.get());
  }
  return false;
}

Result<std::string> FileDigest(const std::string& path) {
  Sha256 h;
  KORC_RETURN_IF_ERROR(HashFileInto(path, h));
  return h.Finish();
}

Result<std::string> TreeDigest(const std::string& root) {
  Sha256 h;
  KORC_RETURN_IF_ERROR(HashTree(root, "", h));
  return h.Finish();
}

int64_t DiskUsage(const std::string& path) {
  std::set<std::pair<dev_t, ino_t>> seen;
  int64_t total = 0;
  std::function<void(const std::string&)> walk = [&](const std::string& p) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) return;
    if (st.st_nlink > 1 && !S_ISDIR(st.st_mode) && !seen.insert({st.st_dev, st.st_ino}).second) {
      return;
    }
    total += static_cast<int64_t>(st.st_blocks) * 512;
    if (!S_ISDIR(st.st_mode)) return;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(p, ec)) walk(e.path().string());
  };
  walk(path);
  return total;
}

}  // namespace korc::kubelet::images
