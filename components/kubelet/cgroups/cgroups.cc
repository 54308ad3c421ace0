#include "components/kubelet/cgroups/cgroups.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

namespace korc::kubelet::cgroups {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kMount = "/sys/fs/cgroup";
constexpr int64_t kCpuPeriodUs = 100000;
// The kernel rejects CFS quotas below 1 ms; round tiny requests up rather than failing a Pod.
constexpr int64_t kMinCpuQuotaUs = 1000;
constexpr auto kKillTimeout = std::chrono::seconds(2);
constexpr auto kPollInterval = std::chrono::milliseconds(5);

std::string ErrnoText(int err) { return std::strerror(err); }

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool IsFsType(const std::string& path, int64_t magic) {
  struct statfs fs;
  return ::statfs(path.c_str(), &fs) == 0 && static_cast<int64_t>(fs.f_type) == magic;
}

Result<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("cgroups: " + path + " does not exist");
    return Status::Internal("cgroups: open " + path + ": " + ErrnoText(err));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      // A cgroup removed between open and read reads as ENODEV.
      if (err == ENODEV) return Status::NotFound("cgroups: " + path + " was removed");
      return Status::Internal("cgroups: read " + path + ": " + ErrnoText(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// Control files take one write(2) each: a value split across writes would be parsed as two.
Status WriteFile(const std::string& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound("cgroups: " + path + " does not exist");
    return Status::Internal("cgroups: open " + path + ": " + ErrnoText(err));
  }
  ssize_t n;
  do {
    n = ::write(fd, value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  int err = errno;
  ::close(fd);
  if (n < 0) {
    std::string msg =
        "cgroups: write '" + std::string(value) + "' to " + path + ": " + ErrnoText(err);
    if (err == ESRCH) return Status::NotFound(msg);
    if (err == EINVAL) return Status::Invalid(msg);
    return Status::Internal(msg);
  }
  return Status::Ok();
}

std::optional<int64_t> ParseInt(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The value of `key` in a flat "key value\n" file (memory.oom_control, memory.events).
std::optional<int64_t> KeyedValue(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ' ') {
      return ParseInt(line.substr(key.size() + 1));
    }
    pos = eol + 1;
  }
  return std::nullopt;
}

// "korc/pod1/c" -> {"korc", "pod1", "c"}; nullopt when it could escape the mount or is empty.
std::optional<std::vector<std::string>> SplitPath(std::string_view path) {
  if (path.empty() || path.front() == '/') return std::nullopt;
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(pos, slash - pos);
    if (part.empty() || part == "." || part == ".." ||
        part.find_first_of(std::string_view("\n\0", 2)) != std::string_view::npos) {
      return std::nullopt;
    }
    parts.emplace_back(part);
    pos = slash + 1;
  }
  return parts;
}

Status MkdirOne(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return Status::Ok();
  return Status::Internal("cgroups: mkdir " + dir + ": " + ErrnoText(errno));
}

std::string V1Root(std::string_view controller) {
  return std::string(kMount) + "/" + std::string(controller);
}

bool V1Mounted(std::string_view controller) {
  return IsFsType(V1Root(controller), CGROUP_SUPER_MAGIC);
}

// v2 only: make `controllers` usable in the children of `dir` when its parent offers them.
// Returns the controllers that are now enabled.
Result<std::set<std::string>> EnableV2Controllers(const std::string& dir) {
  KORC_ASSIGN_OR_RETURN(std::string available, ReadFile(dir + "/cgroup.controllers"));
  KORC_ASSIGN_OR_RETURN(std::string enabled, ReadFile(dir + "/cgroup.subtree_control"));
  auto words = [](std::string_view s) {
    std::set<std::string> out;
    size_t pos = 0;
    while (pos < s.size()) {
      size_t end = s.find_first_of(" \n", pos);
      if (end == std::string_view::npos) end = s.size();
      if (end > pos) out.emplace(s.substr(pos, end - pos));
      pos = end + 1;
    }
    return out;
  };
  std::set<std::string> have = words(available);
  std::set<std::string> on = words(enabled);
  for (const char* c : {"memory", "cpu", "pids"}) {
    if (!have.count(c) || on.count(c)) continue;
    KORC_RETURN_IF_ERROR(WriteFile(dir + "/cgroup.subtree_control", std::string("+") + c));
    on.emplace(c);
  }
  return on;
}

// Stops every task in the cgroup so none can fork while KillAll collects pids. Best effort:
// without a freezer KillAll still converges, it just may need more rounds.
void Freeze(Version version, const std::string& dir, Clock::time_point deadline) {
  if (version == Version::kV1) {
    if (!WriteFile(dir + "/freezer.state", "FROZEN").ok()) return;
    while (Clock::now() < deadline) {
      auto state = ReadFile(dir + "/freezer.state");
      if (!state.ok() || state->rfind("FROZEN", 0) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  } else {
    if (!WriteFile(dir + "/cgroup.freeze", "1").ok()) return;
    while (Clock::now() < deadline) {
      auto events = ReadFile(dir + "/cgroup.events");
      if (!events.ok() || KeyedValue(*events, "frozen").value_or(1) == 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

void Thaw(Version version, const std::string& dir) {
  if (version == Version::kV1) {
    (void)WriteFile(dir + "/freezer.state", "THAWED");
  } else {
    (void)WriteFile(dir + "/cgroup.freeze", "0");
  }
}

}  // namespace

std::string_view VersionName(Version v) {
  switch (v) {
    case Version::kNone:
      return "none";
    case Version::kV1:
      return "v1";
    case Version::kV2:
      return "v2";
  }
  return "unknown";
}

Version Detect() {
  // Without root, cgroup directories are not writable; report none so the runtime says so in
  // the Node's status instead of failing every Pod.
  if (::geteuid() != 0) return Version::kNone;
  const std::string mount(kMount);
  if (IsFsType(mount, CGROUP2_SUPER_MAGIC) && Exists(mount + "/cgroup.controllers")) {
    return Version::kV2;
  }
  for (const char* c : {"memory", "cpu", "pids"}) {
    if (!V1Mounted(c)) return Version::kNone;
  }
  return Version::kV1;
}

Result<Cgroup> Cgroup::Create(std::string_view path, const Limits& limits) {
  auto parts = SplitPath(path);
  if (!parts) return Status::Invalid("cgroups: bad cgroup path '" + std::string(path) + "'");
  if ((limits.memory_bytes && *limits.memory_bytes <= 0) ||
      (limits.cpu_millis && *limits.cpu_millis <= 0) || (limits.pids && *limits.pids <= 0)) {
    return Status::Invalid("cgroups: limits must be positive for " + std::string(path));
  }
  Version version = Detect();
  if (version == Version::kNone) {
    return Status::Unavailable("cgroups: no usable cgroups on this node (not mounted or not root)");
  }

  std::vector<Dir> dirs;
  if (version == Version::kV1) {
    for (const char* c : {"memory", "cpu", "pids", "freezer"}) {
      // freezer only makes KillAll race-free; carry on without it.
      if (std::string_view(c) == "freezer" && !V1Mounted(c)) continue;
      dirs.push_back(Dir{c, V1Root(c), V1Root(c) + "/" + std::string(path)});
    }
  } else {
    dirs.push_back(Dir{"", std::string(kMount), std::string(kMount) + "/" + std::string(path)});
  }

  bool existed = Exists(dirs.front().abs);
  for (const Dir& d : dirs) {
    std::string cur = d.root;
    for (const std::string& part : *parts) {
      if (version == Version::kV2) {
        KORC_ASSIGN_OR_RETURN(std::set<std::string> on, EnableV2Controllers(cur));
        if ((limits.memory_bytes && !on.count("memory")) ||
            (limits.cpu_millis && !on.count("cpu")) || (limits.pids && !on.count("pids"))) {
          return Status::Unavailable("cgroups: " + cur +
                                     " does not offer the controllers the limits need");
        }
      }
      cur += "/" + part;
      KORC_RETURN_IF_ERROR(MkdirOne(cur));
    }
  }

  Cgroup cg(version, std::string(path), std::move(dirs));
  Status st = cg.ApplyLimits(limits);
  if (!st.ok()) {
    // Do not leave a half-configured cgroup that a later Open would adopt.
    if (!existed) (void)cg.Remove();
    return st;
  }
  spdlog::info("cgroups: ready path={} version={} memory={} cpu_millis={} pids={}", cg.path_,
               VersionName(version), limits.memory_bytes.value_or(-1),
               limits.cpu_millis.value_or(-1), limits.pids.value_or(-1));
  return cg;
}

Result<Cgroup> Cgroup::Open(std::string_view path) {
  if (!SplitPath(path)) {
    return Status::Invalid("cgroups: bad cgroup path '" + std::string(path) + "'");
  }
  Version version = Detect();
  if (version == Version::kNone) {
    return Status::Unavailable("cgroups: no usable cgroups on this node (not mounted or not root)");
  }
  std::vector<Dir> dirs;
  if (version == Version::kV1) {
    for (const char* c : {"memory", "cpu", "pids", "freezer"}) {
      std::string abs = V1Root(c) + "/" + std::string(path);
      if (!Exists(abs)) {
        if (std::string_view(c) == "freezer") continue;
        return Status::NotFound("cgroups: " + abs + " does not exist");
      }
      dirs.push_back(Dir{c, V1Root(c), std::move(abs)});
    }
  } else {
    std::string abs = std::string(kMount) + "/" + std::string(path);
    if (!Exists(abs)) return Status::NotFound("cgroups: " + abs + " does not exist");
    dirs.push_back(Dir{"", std::string(kMount), std::move(abs)});
  }
  return Cgroup(version, std::string(path), std::move(dirs));
}

const Cgroup::Dir* Cgroup::Find(std::string_view controller) const {
  for (const Dir& d : dirs_) {
    if (version_ == Version::kV2 || d.controller == controller) return &d;
  }
  return nullptr;
}

Status Cgroup::ApplyLimits(const Limits& limits) {
  if (version_ == Version::kV1) {
    const std::string mem = Find("memory")->abs;
    std::string bytes = limits.memory_bytes ? std::to_string(*limits.memory_bytes) : "-1";
    // With swap on, memory alone would let a container swap instead of hitting its limit, so
    // memsw gets the same value. The kernel keeps memsw >= memory: when raising, memory is
    // rejected until memsw has been raised, hence the retry.
    const bool has_memsw = Exists(mem + "/memory.memsw.limit_in_bytes");
    Status st = WriteFile(mem + "/memory.limit_in_bytes", bytes);
    if (!st.ok() && has_memsw) {
      KORC_RETURN_IF_ERROR(WriteFile(mem + "/memory.memsw.limit_in_bytes", bytes));
      st = WriteFile(mem + "/memory.limit_in_bytes", bytes);
    }
    KORC_RETURN_IF_ERROR(st);
    if (has_memsw) KORC_RETURN_IF_ERROR(WriteFile(mem + "/memory.memsw.limit_in_bytes", bytes));

    const std::string cpu = Find("cpu")->abs;
    KORC_RETURN_IF_ERROR(WriteFile(cpu + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUs)));
    std::string quota =
        limits.cpu_millis
            ? std::to_string(std::max(kMinCpuQuotaUs, *limits.cpu_millis * kCpuPeriodUs / 1000))
            : "-1";
    KORC_RETURN_IF_ERROR(WriteFile(cpu + "/cpu.cfs_quota_us", quota));

    KORC_RETURN_IF_ERROR(WriteFile(Find("pids")->abs + "/pids.max",
                                   limits.pids ? std::to_string(*limits.pids) : "max"));
    return Status::Ok();
  }

  // v2: a controller the parent does not offer has no files here; that is only an error when
  // a limit needs it (Create checked), so unlimited writes to absent files are skipped.
  const std::string& dir = dirs_.front().abs;
  auto write = [&](const std::string& file, const std::string& value, bool required) {
    if (!required && !Exists(dir + "/" + file)) return Status::Ok();
    return WriteFile(dir + "/" + file, value);
  };
  KORC_RETURN_IF_ERROR(write("memory.max",
                             limits.memory_bytes ? std::to_string(*limits.memory_bytes) : "max",
                             limits.memory_bytes.has_value()));
  std::string quota =
      limits.cpu_millis
          ? std::to_string(std::max(kMinCpuQuotaUs, *limits.cpu_millis * kCpuPeriodUs / 1000))
          : "max";
  KORC_RETURN_IF_ERROR(
      write("cpu.max", quota + " " + std::to_string(kCpuPeriodUs), limits.cpu_millis.has_value()));
  KORC_RETURN_IF_ERROR(write("pids.max", limits.pids ? std::to_string(*limits.pids) : "max",
                             limits.pids.has_value()));
  return Status::Ok();
}

Status Cgroup::AddProcess(int pid) {
  if (pid <= 0) return Status::Invalid("cgroups: bad pid " + std::to_string(pid));
  for (const Dir& d : dirs_) {
    Status st = WriteFile(d.abs + "/cgroup.procs", std::to_string(pid));
    if (!st.ok()) {
      return Status(st.code(), "cgroups: adding pid " + std::to_string(pid) + " to " + path_ +
                                   ": " + st.message());
    }
  }
  return Status::Ok();
}

std::vector<int> Cgroup::Processes() const {
  std::set<int> pids;
  for (const Dir& d : dirs_) {
    auto text = ReadFile(d.abs + "/cgroup.procs");
    if (!text.ok()) continue;
    size_t pos = 0;
    while (pos < text->size()) {
      size_t eol = text->find('\n', pos);
      if (eol == std::string::npos) eol = text->size();
      if (auto v = ParseInt(std::string_view(*text).substr(pos, eol - pos))) {
        pids.insert(static_cast<int>(*v));
      }
      pos = eol + 1;
    }
  }
  return {pids.begin(), pids.end()};
}

Status Cgroup::KillAll() {
  const Clock::time_point deadline = Clock::now() + kKillTimeout;

  if (version_ == Version::kV2 && Exists(dirs_.front().abs + "/cgroup.kill")) {
    // cgroup.kill is atomic against forks, so one write is enough; wait for the exits.
    Status st = WriteFile(dirs_.front().abs + "/cgroup.kill", "1");
    if (st.code() == Code::kNotFound) return Status::Ok();
    KORC_RETURN_IF_ERROR(st);
    while (!Processes().empty()) {
      if (Clock::now() >= deadline) break;
      std::this_thread::sleep_for(kPollInterval);
    }
  } else {
    const Dir* freezer = version_ == Version::kV1 ? Find("freezer") : &dirs_.front();
    for (;;) {
      std::vector<int> pids = Processes();
      if (pids.empty() || Clock::now() >= deadline) break;
      // Frozen tasks cannot fork, so the list read while frozen is complete; SIGKILL is
      // delivered as soon as they thaw.
      if (freezer != nullptr) {
        Freeze(version_, freezer->abs, std::min(deadline, Clock::now() + kKillTimeout / 4));
        pids = Processes();
      }
      for (int pid : pids) ::kill(pid, SIGKILL);
      if (freezer != nullptr) Thaw(version_, freezer->abs);
      std::this_thread::sleep_for(kPollInterval);
    }
  }

  std::vector<int> left = Processes();
  if (!left.empty()) {
    spdlog::warn("cgroups: kill incomplete path={} remaining={}", path_, left.size());
    return Status::Unavailable("cgroups: " + std::to_string(left.size()) +
                               " process(es) still in " + path_ + " after SIGKILL");
  }
  return Status::Ok();
}

bool Cgroup::OomKilled() const {
  const Dir* mem = Find("memory");
  if (mem == nullptr) return false;
  if (version_ == Version::kV2) {
    auto events = ReadFile(mem->abs + "/memory.events");
    return events.ok() && KeyedValue(*events, "oom_kill").value_or(0) > 0;
  }
  auto oom = ReadFile(mem->abs + "/memory.oom_control");
  if (!oom.ok()) return false;
  if (auto kills = KeyedValue(*oom, "oom_kill")) return *kills > 0;
  // Kernels before 4.13 have no oom_kill counter; hitting the limit is the best evidence.
  auto failcnt = ReadFile(mem->abs + "/memory.failcnt");
  return failcnt.ok() && ParseInt(*failcnt).value_or(0) > 0;
}

int64_t Cgroup::MemoryUsageBytes() const {
  const Dir* mem = Find("memory");
  if (mem == nullptr) return -1;
  auto text = ReadFile(mem->abs +
                       (version_ == Version::kV2 ? "/memory.current" : "/memory.usage_in_bytes"));
  if (!text.ok()) return -1;
  return ParseInt(*text).value_or(-1);
}

namespace {

// Removes `path` and its empty subdirectories from the v1 hierarchies korc does not manage
// (blkio, cpuacct, devices, ...; `managed` lists the roots it does), then its empty parents
// up to the first component. runc creates a container's cgroup in every mounted hierarchy
// and removes only the container's own level, so the Pod's level would stay behind there.
// Only rmdir: a directory that still has tasks (or children) stays.
void RemoveFromOtherHierarchies(const std::string& path, const std::set<std::string>& managed) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const fs::directory_entry& h : fs::directory_iterator(std::string(kMount), ec)) {
    std::error_code e2;
    if (h.is_symlink(e2) || !h.is_directory(e2) || managed.contains(h.path().string())) continue;
    const std::string abs = h.path().string() + "/" + path;
    if (!fs::is_directory(abs, e2)) continue;
    std::vector<std::string> dirs;
    for (auto it = fs::recursive_directory_iterator(abs, e2); !e2 && it != fs::end(it);
         it.increment(e2)) {
      if (it->is_directory(e2) && !it->is_symlink(e2)) dirs.push_back(it->path().string());
    }
    // Deepest first, so each directory is empty by the time its turn comes.
    std::sort(dirs.begin(), dirs.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& d : dirs) ::rmdir(d.c_str());
    std::string dir = abs;
    for (size_t depth = std::count(path.begin(), path.end(), '/') + 1; depth > 0; --depth) {
      if (::rmdir(dir.c_str()) != 0 && errno != ENOENT) break;
      dir.resize(dir.rfind('/'));
    }
  }
}

}  // namespace

Status Cgroup::Remove() {
  if (version_ == Version::kV1) {
    std::set<std::string> managed;
    for (const Dir& d : dirs_) managed.insert(d.root);
    RemoveFromOtherHierarchies(path_, managed);
  }
  bool any = std::any_of(dirs_.begin(), dirs_.end(), [](const Dir& d) { return Exists(d.abs); });
  if (!any) return Status::Ok();
  if (!Processes().empty()) KORC_RETURN_IF_ERROR(KillAll());

  const Clock::time_point deadline = Clock::now() + kKillTimeout;
  for (const Dir& d : dirs_) {
    // The kernel drops exited tasks from a cgroup asynchronously; rmdir says EBUSY meanwhile.
    for (;;) {
      if (::rmdir(d.abs.c_str()) == 0 || errno == ENOENT) break;
      int err = errno;
      if (err != EBUSY || Clock::now() >= deadline) {
        return Status::Unavailable("cgroups: rmdir " + d.abs + ": " + ErrnoText(err));
      }
      std::this_thread::sleep_for(kPollInterval);
    }
    // Parents we may have created, innermost first; stop at the first one still in use.
    std::string parent = d.abs;
    for (size_t depth = std::count(path_.begin(), path_.end(), '/'); depth > 0; --depth) {
      parent.resize(parent.rfind('/'));
      if (::rmdir(parent.c_str()) != 0 && errno != ENOENT) break;
    }
  }
  spdlog::info("cgroups: removed path={}", path_);
  return Status::Ok();
}

}  // namespace korc::kubelet::cgroups
