#include "components/kubelet/runtime/runc_bundle.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>
#include <system_error>

extern char** environ;

namespace korc::kubelet::runc {
namespace {

using nlohmann::json;

constexpr int64_t kCpuPeriodUs = 100000;
// The kernel refuses quotas below 1ms (as Kubernetes' MinQuotaPeriod).
constexpr int64_t kMinCpuQuotaUs = 1000;
constexpr int kHelperTimeoutMs = 30000;
constexpr size_t kMaxHelperOutput = 1 << 20;
constexpr std::string_view kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Docker's default capabilities: what a Kubernetes container gets without securityContext.
const std::vector<std::string>& DefaultCapabilities() {
  static const std::vector<std::string> kCaps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  return kCaps;
}

json StandardMounts() {
  return json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/shm"},
       {"type", "tmpfs"},
       {"source", "shm"},
       {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
      {{"destination", "/dev/mqueue"},
       {"type", "mqueue"},
       {"source", "mqueue"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"},
       {"type", "sysfs"},
       {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", "ro"}}},
      // The container's own cgroup, read-only, so it can see its limits (as `runc spec`).
      {{"destination", "/sys/fs/cgroup"},
       {"type", "cgroup"},
       {"source", "cgroup"},
       {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}},
  });
}

// The outcome of a helper process.
struct HelperResult {
  int exit_code = -1;  // -1 when it ended by a signal
  std::string output;  // stdout and stderr interleaved
};

// Runs argv (no shell) with stdin from /dev/null and stdout+stderr captured, waiting at most
// kHelperTimeoutMs. The pipe is close-on-exec so helpers spawned concurrently by other
// threads never hold it open (which would delay EOF here).
Result<HelperResult> RunHelper(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Internal(std::string("pipe: ") + strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int err = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    return Status::Unavailable("run " + argv[0] + ": " + strerror(err));
  }
  HelperResult result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kHelperTimeoutMs);
  bool timed_out = false;
  char buf[4096];
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pfd = {fds[0], POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends the wait
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (result.output.size() < kMaxHelperOutput) result.output.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return Status::Unavailable(argv[0] + " " + argv[1] + " timed out");
  if (WIFEXITED(wstatus)) result.exit_code = WEXITSTATUS(wstatus);
  return result;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool SaysNotExist(const std::string& output) {
  return output.find("does not exist") != std::string::npos ||
         output.find("not found") != std::string::npos;
}

bool IsExecutable(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

// The highest RLIMIT_NOFILE runc can give a container from this process: anything up to
// fs.nr_open with CAP_SYS_RESOURCE, else no more than our own hard limit (runc sets the
// limit from the parent with prlimit, so it needs the capability to raise it).
uint64_t NofileCeiling() {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {};
  bool can_raise = syscall(SYS_capget, &header, data) == 0 &&
                   (data[CAP_SYS_RESOURCE / 32].effective & (1u << (CAP_SYS_RESOURCE % 32))) != 0;
  if (can_raise) return UINT64_MAX;
  struct rlimit limit {};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_max == RLIM_INFINITY) return UINT64_MAX;
  return limit.rlim_max;
}

}  // namespace

std::string OciConfig(const Sandbox& sandbox, const ContainerConfig& config,
                      const BundleOptions& options) {
  json env = json::array();
  bool has_path = false;
  for (const std::string& e : config.env) {
    if (e.starts_with("PATH=")) has_path = true;
  }
  // runc resolves argv[0] with the container's PATH; without one only absolute paths run.
  if (!has_path) env.push_back(kDefaultPath);
  for (const std::string& e : config.env) env.push_back(e);

  json caps = DefaultCapabilities();
  json process = {
      {"terminal", false},
      {"user", {{"uid", config.uid}, {"gid", config.gid}}},
      {"args", config.argv},
      {"env", env},
      {"cwd", config.working_dir.empty() ? "/" : config.working_dir},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"},
                                {"hard", options.nofile_limit},
                                {"soft", options.nofile_limit}}})},
  };

  json mounts = StandardMounts();
  for (const Mount& m : config.mounts) {
    mounts.push_back({{"destination", m.container_path},
                      {"type", "bind"},
                      {"source", m.host_path},
                      {"options", {"rbind", "rprivate", m.read_only ? "ro" : "rw"}}});
  }

  json namespaces =
      json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}}, {{"type", "mount"}}});
  if (!options.netns_path.empty()) {
    namespaces.push_back({{"type", "network"}, {"path", options.netns_path}});
  }

  // Deny all devices but the defaults runc always allows (null, zero, tty, ...).
  json resources = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  if (config.limits.memory_bytes) {
    resources["memory"] = {{"limit", *config.limits.memory_bytes}};
  }
  if (config.limits.cpu_millis) {
    int64_t quota = std::max(kMinCpuQuotaUs, *config.limits.cpu_millis * kCpuPeriodUs / 1000);
    resources["cpu"] = {{"quota", quota}, {"period", kCpuPeriodUs}};
  }
  if (config.limits.pids) resources["pids"] = {{"limit", *config.limits.pids}};

  json linux_section = {
      {"namespaces", namespaces},
      {"resources", resources},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths", {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  if (!options.cgroups_path.empty()) linux_section["cgroupsPath"] = options.cgroups_path;

  json spec = {
      {"ociVersion", "1.0.2"},
      {"process", process},
      {"root", {{"path", options.rootfs}, {"readonly", options.readonly_rootfs}}},
      {"mounts", mounts},
      {"linux", linux_section},
      // For people reading `runc list` on a node: which Pod container this is.
      {"annotations",
       {{"io.korc.sandbox.id", sandbox.id},
        {"io.korc.pod.namespace", sandbox.pod_namespace},
        {"io.korc.pod.name", sandbox.pod_name},
        {"io.korc.container.name", config.name},
        {"io.korc.container.attempt", std::to_string(config.attempt)}}},
  };
  if (!options.hostname.empty()) spec["hostname"] = options.hostname;
  // Invalid UTF-8 in argv/env must not throw out of here: replace it.
  return spec.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Status WriteBundle(const std::string& bundle_dir, const Sandbox& sandbox,
                   const ContainerConfig& config, const BundleOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(bundle_dir, ec);
  if (ec) return Status::Internal("create " + bundle_dir + ": " + ec.message());
  BundleOptions adjusted = options;
  adjusted.nofile_limit = std::min(options.nofile_limit, NofileCeiling());
  std::string text = OciConfig(sandbox, config, adjusted);
  std::string tmp = bundle_dir + "/.config.json.XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return Status::Internal("create temp in " + bundle_dir + ": " + strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    done += static_cast<size_t>(n);
  }
  int write_errno = errno;
  bool ok = done == text.size() && fchmod(fd, 0644) == 0 && fsync(fd) == 0;
  if (!ok && done != text.size()) errno = write_errno;
  int saved = errno;
  close(fd);
  if (!ok) {
    unlink(tmp.c_str());
    return Status::Internal("write " + tmp + ": " + strerror(saved));
  }
  if (rename(tmp.c_str(), (bundle_dir + "/config.json").c_str()) != 0) {
    saved = errno;
    unlink(tmp.c_str());
    return Status::Internal("rename into " + bundle_dir + "/config.json: " + strerror(saved));
  }
  return Status::Ok();
}

std::vector<std::string> RunArgv(const std::string& runc, const std::string& root,
                                 const std::string& bundle_dir, const std::string& id) {
  return {runc, "--root", root, "run", "--bundle", bundle_dir, id};
}

Status Kill(const std::string& runc, const std::string& root, const std::string& id, int signal) {
  KORC_ASSIGN_OR_RETURN(HelperResult r, RunHelper({runc, "--root", root, "kill", "--all", id,
                                                   std::to_string(signal)}));
  if (r.exit_code == 0) return Status::Ok();
  if (SaysNotExist(r.output)) return Status::NotFound("runc container " + id + " not found");
  // Nothing left to signal is what the caller wanted.
  if (r.output.find("not running") != std::string::npos) return Status::Ok();
  return Status::Internal("runc kill " + id + ": " + Trim(r.output));
}

Status Delete(const std::string& runc, const std::string& root, const std::string& id) {
  KORC_ASSIGN_OR_RETURN(HelperResult r, RunHelper({runc, "--root", root, "delete", "--force", id}));
  if (r.exit_code == 0 || SaysNotExist(r.output)) return Status::Ok();
  return Status::Internal("runc delete " + id + ": " + Trim(r.output));
}

Result<State> GetState(const std::string& runc, const std::string& root, const std::string& id) {
  KORC_ASSIGN_OR_RETURN(HelperResult r, RunHelper({runc, "--root", root, "state", id}));
  if (r.exit_code != 0) {
    if (SaysNotExist(r.output)) return Status::NotFound("runc container " + id + " not found");
    return Status::Internal("runc state " + id + ": " + Trim(r.output));
  }
  json doc = json::parse(r.output, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("status") || !doc["status"].is_string()) {
    return Status::Internal("runc state " + id + ": unexpected output: " + Trim(r.output));
  }
  State state;
  state.status = doc["status"].get<std::string>();
  if (doc.contains("pid") && doc["pid"].is_number_integer()) state.pid = doc["pid"].get<int>();
  return state;
}

Result<std::string> Version(const std::string& runc) {
  KORC_ASSIGN_OR_RETURN(HelperResult r, RunHelper({runc, "--version"}));
  constexpr std::string_view kPrefix = "runc version ";
  if (r.exit_code != 0 || !r.output.starts_with(kPrefix)) {
    return Status::Internal("runc --version: " + Trim(r.output));
  }
  std::string line = r.output.substr(kPrefix.size());
  return Trim(line.substr(0, line.find('\n')));
}

std::string FindRunc() {
  for (const char* candidate : {"/usr/sbin/runc", "/usr/bin/runc"}) {
    if (IsExecutable(candidate)) return candidate;
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "";
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    std::string candidate = std::string(dir) + "/runc";
    if (IsExecutable(candidate)) return candidate;
  }
  return "";
}

}  // namespace korc::kubelet::runc
