#include "components/kubelet/runtime/rootfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <string_view>
#include <system_error>

namespace korc::kubelet {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxSymlinks = 40;  // as the kernel's path walk allows

std::string ErrnoText(int err) { return std::strerror(err); }

// Owns a file descriptor.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = other.fd_;
      other.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

void SplitInto(std::string_view path, std::deque<std::string>& out, bool front) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  if (front) {
    out.insert(out.begin(), parts.begin(), parts.end());
  } else {
    out.insert(out.end(), parts.begin(), parts.end());
  }
}

bool IsMountPoint(const std::string& path) {
  struct stat self {
  }, parent{};
  if (lstat(path.c_str(), &self) != 0 || !S_ISDIR(self.st_mode)) return false;
  if (lstat((path + "/..").c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev;
}

// Overlay's legacy option string splits on ',' and lowerdir on ':'; rather than rely on the
// kernel's escaping rules (which differ between versions for upperdir/workdir), such paths
// take the copy path.
bool OverlaySafe(const std::string& path) {
  return path.find_first_of(",:\\") == std::string::npos;
}

Status MountOverlay(const std::string& lower, const std::string& upper, const std::string& work,
                    const std::string& target) {
  if (!OverlaySafe(lower) || !OverlaySafe(upper) || !OverlaySafe(work)) {
    return Status::Invalid("path not expressible in overlay options");
  }
  std::string options = "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work;
  if (mount("overlay", target.c_str(), "overlay", 0, options.c_str()) != 0) {
    return Status::Unavailable("mount overlay on " + target + ": " + ErrnoText(errno));
  }
  return Status::Ok();
}

Status CopyAttributes(int dir_fd, const char* name, const struct stat& st, bool is_link) {
  if (fchownat(dir_fd, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0 && errno != EPERM) {
    return Status::Internal(std::string("chown ") + name + ": " + ErrnoText(errno));
  }
  // chown clears setuid bits, so the mode comes after it; links have no mode of their own.
  if (!is_link && fchmodat(dir_fd, name, st.st_mode & 07777, 0) != 0) {
    return Status::Internal(std::string("chmod ") + name + ": " + ErrnoText(errno));
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW);  // best effort: times are cosmetic
  return Status::Ok();
}

Status CopyFile(int src_dir, int dst_dir, const char* name, const struct stat& st) {
  Fd in(openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return Status::Internal(std::string("open ") + name + ": " + ErrnoText(errno));
  Fd out(openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) {
    return Status::Internal(std::string("create ") + name + ": " + ErrnoText(errno));
  }
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = copy_file_range(in.get(), nullptr, out.get(), nullptr, left, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Internal(std::string("copy ") + name + ": " + ErrnoText(errno));
    if (n == 0) break;  // the file shrank while copying; the copy is what was there
    left -= n;
  }
  return Status::Ok();
}

// Copies directory `src_dir`'s entries into `dst_dir` (which exists), keeping owners, modes,
// symlinks and device nodes: what a container would see through overlay.
Status CopyTree(int src_dir, int dst_dir) {
  Fd list_fd(openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!list_fd.valid()) return Status::Internal("open directory: " + ErrnoText(errno));
  DIR* dir = fdopendir(list_fd.get());
  if (dir == nullptr) return Status::Internal("fdopendir: " + ErrnoText(errno));
  list_fd.Release();  // owned by `dir` now
  Status status;
  while (status.ok()) {
    errno = 0;
    struct dirent* entry = readdir(dir);
    if (entry == nullptr) {
      if (errno != 0) status = Status::Internal("readdir: " + ErrnoText(errno));
      break;
    }
    const char* name = entry->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) continue;
    struct stat st {};
    if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      status = Status::Internal(std::string("stat ") + name + ": " + ErrnoText(errno));
      break;
    }
    bool is_link = false;
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst_dir, name, 0700) != 0) {
        status = Status::Internal(std::string("mkdir ") + name + ": " + ErrnoText(errno));
        break;
      }
      Fd src(openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      Fd dst(openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!src.valid() || !dst.valid()) {
        status = Status::Internal(std::string("open ") + name + ": " + ErrnoText(errno));
        break;
      }
      status = CopyTree(src.get(), dst.get());
    } else if (S_ISREG(st.st_mode)) {
      status = CopyFile(src_dir, dst_dir, name, st);
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlinkat(src_dir, name, target.data(), target.size());
      if (n < 0) {
        status = Status::Internal(std::string("readlink ") + name + ": " + ErrnoText(errno));
        break;
      }
      target.resize(static_cast<size_t>(n));
      if (symlinkat(target.c_str(), dst_dir, name) != 0) {
        status = Status::Internal(std::string("symlink ") + name + ": " + ErrnoText(errno));
      }
      is_link = true;
    } else if (mknodat(dst_dir, name, st.st_mode, st.st_rdev) != 0) {
      status = Status::Internal(std::string("mknod ") + name + ": " + ErrnoText(errno));
    }
    if (status.ok()) status = CopyAttributes(dst_dir, name, st, is_link);
  }
  closedir(dir);
  return status;
}

Status CopyRoot(const std::string& image_rootfs, const std::string& rootfs) {
  Fd src(open(image_rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src.valid()) return Status::NotFound("image root " + image_rootfs + ": " + ErrnoText(errno));
  Fd dst(open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dst.valid()) return Status::Internal("open " + rootfs + ": " + ErrnoText(errno));
  struct stat st {};
  if (fstat(src.get(), &st) == 0) {
    fchown(dst.get(), st.st_uid, st.st_gid);
    fchmod(dst.get(), st.st_mode & 07777);
  }
  return CopyTree(src.get(), dst.get());
}

Status EnsureDir(const std::string& path, fs::perms perms) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return Status::Internal("create " + path + ": " + ec.message());
  fs::permissions(path, perms, ec);
  if (ec) return Status::Internal("chmod " + path + ": " + ec.message());
  return Status::Ok();
}

}  // namespace

Result<std::string> MakeDirInRoot(const std::string& root, const std::string& path) {
  // Every component is opened relative to its parent's descriptor with O_NOFOLLOW and links
  // are expanded by hand, so the walk can never be redirected to the node's filesystem.
  std::vector<Fd> stack;
  std::vector<std::string> names;  // resolved components below the root
  stack.emplace_back(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!stack.back().valid()) return Status::NotFound("root " + root + ": " + ErrnoText(errno));
  std::deque<std::string> pending;
  SplitInto(path, pending, /*front=*/false);
  int links = 0;
  while (!pending.empty()) {
    std::string name = std::move(pending.front());
    pending.pop_front();
    if (name == ".") continue;
    if (name == "..") {
      if (names.empty()) return Status::Invalid("path " + path + " escapes the root " + root);
      names.pop_back();
      stack.pop_back();
      continue;
    }
    int parent = stack.back().get();
    struct stat st {};
    if (fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) {
        return Status::Internal("stat " + name + " in " + root + ": " + ErrnoText(errno));
      }
      if (mkdirat(parent, name.c_str(), 0755) != 0 && errno != EEXIST) {
        return Status::Internal("mkdir " + name + " in " + root + ": " + ErrnoText(errno));
      }
      st.st_mode = S_IFDIR;
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks) return Status::Invalid("too many symlinks in " + path);
      std::string target(PATH_MAX, '\0');
      ssize_t n = readlinkat(parent, name.c_str(), target.data(), target.size());
      if (n < 0) return Status::Internal("readlink " + name + ": " + ErrnoText(errno));
      target.resize(static_cast<size_t>(n));
      if (!target.empty() && target[0] == '/') {
        // An absolute link means the container's root, as the container would resolve it.
        stack.resize(1);
        names.clear();
      }
      SplitInto(target, pending, /*front=*/true);
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::Invalid("path " + path + ": " + name + " is not a directory in the image");
    }
    Fd next(openat(parent, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!next.valid()) return Status::Internal("open " + name + ": " + ErrnoText(errno));
    stack.push_back(std::move(next));
    names.push_back(std::move(name));
  }
  std::string host_path = root;
  for (const std::string& name : names) host_path += "/" + name;
  return host_path;
}

Result<PreparedRootfs> PrepareRootfs(const std::string& image_rootfs,
                                     const std::string& container_dir,
                                     const std::vector<std::string>& extra_dirs) {
  std::error_code ec;
  if (!fs::is_directory(image_rootfs, ec)) {
    return Status::NotFound("image root " + image_rootfs + " is not a directory");
  }
  PreparedRootfs prepared;
  prepared.path = container_dir + "/rootfs";
  const std::string upper = container_dir + "/upper";
  const std::string work = container_dir + "/work";
  const std::string marker = container_dir + "/rootfs.copied";
  KORC_RETURN_IF_ERROR(EnsureDir(container_dir, fs::perms(0700)));

  if (IsMountPoint(prepared.path)) {
    prepared.overlay = true;
  } else if (fs::exists(marker, ec)) {
    prepared.overlay = false;
  } else {
    // Whatever is here is from an attempt that did not finish; nothing runs on it.
    fs::remove_all(prepared.path, ec);
    fs::remove_all(upper, ec);
    fs::remove_all(work, ec);
    KORC_RETURN_IF_ERROR(EnsureDir(prepared.path, fs::perms(0755)));
    KORC_RETURN_IF_ERROR(EnsureDir(upper, fs::perms(0755)));
    KORC_RETURN_IF_ERROR(EnsureDir(work, fs::perms(0700)));
    if (MountOverlay(image_rootfs, upper, work, prepared.path).ok()) {
      prepared.overlay = true;
    } else {
      fs::remove_all(upper, ec);
      fs::remove_all(work, ec);
      KORC_RETURN_IF_ERROR(CopyRoot(image_rootfs, prepared.path));
      Fd done(open(marker.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!done.valid()) return Status::Internal("create " + marker + ": " + ErrnoText(errno));
    }
  }

  for (const char* dir : {"/proc", "/dev", "/sys"}) {
    KORC_ASSIGN_OR_RETURN(std::string ignored, MakeDirInRoot(prepared.path, dir));
    (void)ignored;
  }
  // /tmp must be writable by any user the image runs as, as on any Linux root.
  bool had_tmp = fs::exists(fs::symlink_status(prepared.path + "/tmp", ec));
  KORC_ASSIGN_OR_RETURN(std::string tmp, MakeDirInRoot(prepared.path, "/tmp"));
  if (!had_tmp && chmod(tmp.c_str(), 01777) != 0) {
    return Status::Internal("chmod " + tmp + ": " + ErrnoText(errno));
  }
  for (const std::string& dir : extra_dirs) {
    if (dir.empty() || dir[0] != '/') {
      return Status::Invalid("mount point " + dir + " is not an absolute path");
    }
    KORC_ASSIGN_OR_RETURN(std::string ignored, MakeDirInRoot(prepared.path, dir));
    (void)ignored;
  }
  return prepared;
}

Status ReleaseRootfs(const std::string& container_dir) {
  const std::string rootfs = container_dir + "/rootfs";
  // Mounts may be stacked (a retried prepare after a crash); take them all off.
  for (int i = 0; i < 16 && IsMountPoint(rootfs); ++i) {
    if (umount2(rootfs.c_str(), UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EBUSY && umount2(rootfs.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    if (errno != EINVAL) return Status::Internal("unmount " + rootfs + ": " + ErrnoText(errno));
  }
  if (IsMountPoint(rootfs)) return Status::Internal(rootfs + " is still mounted");
  std::error_code ec;
  for (const char* name : {"/rootfs", "/upper", "/work", "/rootfs.copied"}) {
    fs::remove_all(container_dir + name, ec);
    if (ec) return Status::Internal("remove " + container_dir + name + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace korc::kubelet
