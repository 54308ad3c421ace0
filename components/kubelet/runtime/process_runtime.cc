#include "components/kubelet/runtime/process_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "components/kubelet/cgroups/cgroups.h"
#include "components/kubelet/network/pod_network.h"
#include "components/kubelet/runtime/rootfs.h"
#include "components/kubelet/runtime/runc_bundle.h"
#include "components/kubelet/runtime/shim.h"

namespace korc::kubelet {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

// Container ids are "<sandbox>/<name>/<attempt>": readable in logs, and a path below
// containers/ at the same time.
std::string MakeId(std::string_view sandbox, std::string_view name, int attempt) {
  return std::string(sandbox) + "/" + std::string(name) + "/" + std::to_string(attempt);
}

bool ParseId(std::string_view id, std::string* sandbox, std::string* name, int* attempt) {
  size_t a = id.find('/');
  if (a == std::string_view::npos) return false;
  size_t b = id.find('/', a + 1);
  if (b == std::string_view::npos || id.find('/', b + 1) != std::string_view::npos) return false;
  *sandbox = std::string(id.substr(0, a));
  *name = std::string(id.substr(a + 1, b - a - 1));
  try {
    *attempt = std::stoi(std::string(id.substr(b + 1)));
  } catch (...) {
    return false;
  }
  return !sandbox->empty() && !name->empty() && *sandbox != "." && *sandbox != ".." &&
         *name != "." && *name != ".." && *attempt >= 0;
}

// The shim holds an exclusive flock on this file for as long as it lives, so "is the
// supervisor alive" never depends on pids, which the kernel reuses.
constexpr char kLockFile[] = "lock";

bool ShimAlive(const std::string& dir) {
  int fd = ::open((dir + "/" + kLockFile).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool alive = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return alive;
}

std::string CgroupPath(std::string_view sandbox_id, std::string_view name, int attempt) {
  return "korc/pod" + std::string(sandbox_id) + "/" + std::string(name) + "-" +
         std::to_string(attempt);
}

std::string RuncId(std::string_view sandbox_id, std::string_view name, int attempt) {
  return "korc-" + std::string(sandbox_id) + "-" + std::string(name) + "-" +
         std::to_string(attempt);
}

json SandboxJson(const Sandbox& s) {
  return json{{"id", s.id},
              {"namespace", s.pod_namespace},
              {"name", s.pod_name},
              {"uid", s.pod_uid},
              {"hostname", s.hostname},
              {"ip", s.ip},
              {"netns", s.netns_path},
              {"dir", s.dir},
              {"isolated", s.isolated},
              {"created", s.created_ns}};
}

Sandbox SandboxFromJson(const json& j) {
  Sandbox s;
  s.id = j.value("id", "");
  s.pod_namespace = j.value("namespace", "");
  s.pod_name = j.value("name", "");
  s.pod_uid = j.value("uid", "");
  s.hostname = j.value("hostname", "");
  s.ip = j.value("ip", "");
  s.netns_path = j.value("netns", "");
  s.dir = j.value("dir", "");
  s.isolated = j.value("isolated", false);
  s.created_ns = j.value("created", int64_t{0});
  return s;
}

// Runs argv with stdout+stderr captured, at most `timeout_ms`. `in_child` runs in the
// forked child before exec (async-signal-safe calls only) and may itself fork; it returns
// false to give up.
Result<ExecResult> RunCaptured(const std::vector<std::string>& argv,
                               const std::vector<std::string>& env, const std::string& cwd,
                               int timeout_ms, const std::function<bool()>& in_child) {
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Status::Internal(Errno("pipe"));
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    ::close(out[0]);
    ::close(out[1]);
    if (devnull >= 0) ::close(devnull);
    return Status::Internal(Errno("fork"));
  }
  if (pid == 0) {
    setpgid(0, 0);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (in_child && !in_child()) _exit(126);
    syscall(SYS_close_range, 3, ~0U, 0);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  ::close(out[1]);
  if (devnull >= 0) ::close(devnull);
  ExecResult result;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      result.timed_out = true;
      break;
    }
    struct pollfd p = {out[0], POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n > 0) {
      if (result.output.size() < 16384) result.output.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  ::close(out[0]);
  if (result.timed_out) kill(-pid, SIGKILL);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (!result.timed_out) {
    result.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  } else {
    result.exit_code = -1;
  }
  return result;
}

// The PATH search a shell does, inside a container's root as /proc/<pid>/root shows it.
std::string FindInRoot(const std::string& root, const std::string& exe,
                       const std::vector<std::string>& env) {
  if (exe.find('/') != std::string::npos) return exe;
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : env) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start) + "/" + exe;
    if (::access((root + candidate).c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return exe;
}

}  // namespace

ProcessRuntime::ProcessRuntime(ProcessRuntimeOptions options)
    : options_(std::move(options)), network_(options_.network) {}
ProcessRuntime::~ProcessRuntime() = default;

Result<std::unique_ptr<ProcessRuntime>> ProcessRuntime::Create(ProcessRuntimeOptions options) {
  if (options.root_dir.empty()) return Status::Invalid("runtime: root_dir is required");
  if (::access(options.shim_path.c_str(), X_OK) != 0) {
    return Status::Invalid("runtime: korc-shim not found at \"" + options.shim_path + "\"");
  }
  if (options.isolate && geteuid() != 0) {
    return Status::Invalid("runtime: isolation (namespaces, cgroups) needs root");
  }
  if (!options.runc_path.empty() && !options.isolate) {
    return Status::Invalid("runtime: runc needs root");
  }
  std::error_code ec;
  fs::create_directories(options.root_dir + "/sandboxes", ec);
  fs::create_directories(options.root_dir + "/containers", ec);
  if (ec)
    return Status::Internal("runtime: cannot create " + options.root_dir + ": " + ec.message());
  options.root_dir = fs::canonical(options.root_dir).string();
  auto rt = std::unique_ptr<ProcessRuntime>(new ProcessRuntime(std::move(options)));
  if (!rt->options_.runc_path.empty()) {
    KORC_ASSIGN_OR_RETURN(rt->runc_version_, runc::Version(rt->options_.runc_path));
    fs::create_directories(rt->options_.root_dir + "/runc", ec);
  }
  return rt;
}

std::string_view ProcessRuntime::name() const {
  return options_.runc_path.empty() ? "process" : "runc";
}

std::string ProcessRuntime::version() const {
  if (!options_.runc_path.empty()) return "runc://" + runc_version_;
#ifdef KORC_VERSION
  return std::string("process://") + KORC_VERSION;
#else
  return "process://0";
#endif
}

std::mutex& ProcessRuntime::LockFor(std::string_view sandbox_id) {
  std::lock_guard<std::mutex> l(locks_mu_);
  auto it = locks_.find(sandbox_id);
  if (it == locks_.end()) {
    it = locks_.emplace(std::string(sandbox_id), std::make_unique<std::mutex>()).first;
  }
  return *it->second;
}

Result<Sandbox> ProcessRuntime::LoadSandbox(std::string_view sandbox_id) const {
  const std::string path =
      options_.root_dir + "/sandboxes/" + std::string(sandbox_id) + "/sandbox.json";
  auto text = shim::ReadFile(path);
  if (!text.ok()) return Status::NotFound("sandbox " + std::string(sandbox_id) + " not found");
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Status::Corruption(path + ": not JSON");
  return SandboxFromJson(j);
}

// Without a network of its own a Pod still gets an address to be known by: a loopback
// address (all of 127/8 is local on Linux) derived from its id, unique among the sandboxes
// on this node.
std::string ProcessRuntime::LoopbackIp(std::string_view sandbox_id) {
  std::set<std::string> taken;
  if (auto all = ListSandboxes(); all.ok()) {
    for (const auto& s : *all) taken.insert(s.ip);
  }
  uint32_t h = 2166136261u;
  for (char c : sandbox_id) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  for (uint32_t i = 0; i < (1u << 16); ++i) {
    uint32_t n = (h + i) & 0xffff;
    if ((n & 0xff) == 0 || (n & 0xff) == 255) continue;
    std::string ip = "127.64." + std::to_string(n >> 8) + "." + std::to_string(n & 0xff);
    if (!taken.count(ip)) return ip;
  }
  return "127.0.0.1";
}

Result<Sandbox> ProcessRuntime::RunSandbox(const SandboxConfig& config) {
  if (config.id.empty() || config.id.find('/') != std::string::npos || config.id == "." ||
      config.id == "..") {
    return Status::Invalid("sandbox id \"" + config.id + "\" is not a file name");
  }
  std::lock_guard<std::mutex> l(LockFor(config.id));
  if (auto existing = LoadSandbox(config.id); existing.ok()) return existing;
  Sandbox s;
  s.id = config.id;
  s.pod_namespace = config.pod_namespace;
  s.pod_name = config.pod_name;
  s.pod_uid = config.pod_uid;
  s.hostname = config.hostname;
  s.dir = options_.root_dir + "/sandboxes/" + config.id;
  s.isolated = options_.isolate;
  s.created_ns = NowNs();
  std::error_code ec;
  for (const auto& v : config.volumes) {
    if (v.empty() || v.find('/') != std::string::npos || v == "." || v == "..") {
      return Status::Invalid("volume name \"" + v + "\" is not a file name");
    }
    fs::create_directories(s.VolumePath(v), ec);
    if (ec) return Status::Internal("cannot create volume " + v + ": " + ec.message());
    // emptyDir volumes are world-writable, as Kubernetes makes them.
    fs::permissions(s.VolumePath(v), fs::perms::all, ec);
  }
  fs::create_directories(s.dir + "/etc", ec);
  if (ec) return Status::Internal("cannot create " + s.dir + ": " + ec.message());
  network::PodNetwork* network = network_.load();
  if (options_.isolate && !config.host_network && network != nullptr) {
    auto net = network->Setup(config.id);
    if (!net.ok()) return net.status();
    s.ip = net->ip;
    s.netns_path = net->netns_path;
  } else if (config.host_network || options_.isolate) {
    s.ip = options_.host_ip;
  } else {
    s.ip = LoopbackIp(config.id);
  }
  const std::string host = s.hostname.empty() ? s.pod_name : s.hostname;
  KORC_RETURN_IF_ERROR(
      shim::WriteFileAtomic(s.dir + "/etc/hosts",
                            "# Kubernetes-managed hosts file (korc).\n127.0.0.1\tlocalhost\n::1\t"
                            "localhost ip6-localhost ip6-loopback\n" +
                                s.ip + "\t" + host + "\n"));
  KORC_RETURN_IF_ERROR(shim::WriteFileAtomic(s.dir + "/etc/hostname", host + "\n"));
  // No cluster DNS yet, and Pods have no route off the node: an empty resolver list says so
  // rather than pointing at the node's upstream servers.
  KORC_RETURN_IF_ERROR(shim::WriteFileAtomic(s.dir + "/etc/resolv.conf",
                                             "# korc: no cluster DNS; Services are found through "
                                             "their environment variables\n"));
  KORC_RETURN_IF_ERROR(shim::WriteFileAtomic(s.dir + "/sandbox.json", SandboxJson(s).dump()));
  return s;
}

Result<std::vector<Sandbox>> ProcessRuntime::ListSandboxes() {
  std::vector<Sandbox> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.root_dir + "/sandboxes", ec)) {
    auto s = LoadSandbox(entry.path().filename().string());
    if (s.ok()) out.push_back(std::move(*s));
  }
  std::sort(out.begin(), out.end(), [](const Sandbox& a, const Sandbox& b) { return a.id < b.id; });
  return out;
}

Status ProcessRuntime::RemoveSandbox(std::string_view sandbox_id) {
  std::lock_guard<std::mutex> l(LockFor(sandbox_id));
  auto containers = ListContainers(sandbox_id);
  if (containers.ok()) {
    for (const auto& c : *containers) {
      if (c.phase == ContainerPhase::kRunning || c.phase == ContainerPhase::kCreated) {
        KORC_RETURN_IF_ERROR(KillAndWait(c, 10000));
      }
    }
    for (const auto& c : *containers) {
      const std::string dir = ContainerDir(c.id);
      KORC_RETURN_IF_ERROR(ReleaseRootfs(dir));
      if (!options_.runc_path.empty()) {
        (void)runc::Delete(options_.runc_path, options_.root_dir + "/runc",
                           RuncId(sandbox_id, c.name, c.attempt));
      }
      if (auto cg = cgroups::Cgroup::Open(CgroupPath(sandbox_id, c.name, c.attempt)); cg.ok()) {
        (void)cg->Remove();
      }
    }
  }
  // The Pod's own cgroup level (runc removes only each container's).
  if (auto cg = cgroups::Cgroup::Open("korc/pod" + std::string(sandbox_id)); cg.ok()) {
    (void)cg->Remove();
  }
  std::error_code ec;
  fs::remove_all(options_.root_dir + "/containers/" + std::string(sandbox_id), ec);
  if (network::PodNetwork* network = network_.load(); network != nullptr) {
    KORC_RETURN_IF_ERROR(network->Teardown(sandbox_id));
  }
  fs::remove_all(options_.root_dir + "/sandboxes/" + std::string(sandbox_id), ec);
  if (ec)
    return Status::Internal("cannot remove sandbox " + std::string(sandbox_id) + ": " +
                            ec.message());
  return Status::Ok();
}

std::string ProcessRuntime::ContainerDir(std::string_view container_id) const {
  std::string sandbox, name;
  int attempt = 0;
  if (!ParseId(container_id, &sandbox, &name, &attempt)) return "";
  return options_.root_dir + "/containers/" + std::string(container_id);
}

Result<std::string> ProcessRuntime::StartContainer(const ContainerConfig& config) {
  std::lock_guard<std::mutex> l(LockFor(config.sandbox_id));
  KORC_ASSIGN_OR_RETURN(Sandbox sandbox, LoadSandbox(config.sandbox_id));
  if (config.name.empty() || config.name.find('/') != std::string::npos) {
    return Status::Invalid("container name \"" + config.name + "\" is not a file name");
  }
  if (config.argv.empty()) return Status::Invalid("container " + config.name + ": no command");
  const std::string id = MakeId(config.sandbox_id, config.name, config.attempt);
  const std::string dir = ContainerDir(id);
  if (fs::exists(dir + "/" + kLockFile)) return id;  // started before (a retried start)
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("cannot create " + dir + ": " + ec.message());
  fs::create_directories(fs::path(config.log_path).parent_path(), ec);

  // What every container of the Pod sees besides its volumes: the Pod's /etc files.
  std::vector<Mount> mounts = config.mounts;
  for (const char* f : {"hosts", "hostname", "resolv.conf"}) {
    mounts.push_back({sandbox.dir + "/etc/" + f, std::string("/etc/") + f, false});
  }

  shim::ShimConfig sc;
  sc.env = config.env;
  sc.log_path = config.log_path;
  sc.log_max_bytes = config.log_max_bytes;
  sc.log_max_files = config.log_max_files;
  sc.cwd = config.working_dir.empty() ? "/" : config.working_dir;

  std::string rootfs;
  if (options_.isolate && !config.rootfs.empty()) {
    std::vector<std::string> dirs;
    for (const auto& m : config.mounts) dirs.push_back(m.container_path);
    dirs.push_back(sc.cwd);
    dirs.push_back("/etc");
    KORC_ASSIGN_OR_RETURN(PreparedRootfs prepared, PrepareRootfs(config.rootfs, dir, dirs));
    rootfs = prepared.path;
  }
  std::optional<cgroups::Cgroup> cgroup;
  if (options_.isolate && options_.runc_path.empty() &&
      cgroups::Detect() != cgroups::Version::kNone) {
    cgroups::Limits limits{config.limits.memory_bytes, config.limits.cpu_millis,
                           config.limits.pids};
    KORC_ASSIGN_OR_RETURN(
        cgroup, cgroups::Cgroup::Create(CgroupPath(config.sandbox_id, config.name, config.attempt),
                                        limits));
  }

  if (!options_.runc_path.empty()) {
    ContainerConfig bundle_config = config;
    bundle_config.mounts = mounts;
    runc::BundleOptions bo;
    bo.rootfs = rootfs;
    bo.netns_path = sandbox.netns_path;
    bo.hostname = sandbox.hostname.empty() ? sandbox.pod_name : sandbox.hostname;
    bo.cgroups_path = "/" + CgroupPath(config.sandbox_id, config.name, config.attempt);
    KORC_RETURN_IF_ERROR(runc::WriteBundle(dir + "/bundle", sandbox, bundle_config, bo));
    sc.argv = runc::RunArgv(options_.runc_path, options_.root_dir + "/runc", dir + "/bundle",
                            RuncId(config.sandbox_id, config.name, config.attempt));
    sc.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    sc.cwd = "/";
  } else {
    sc.argv = config.argv;
    sc.isolate = options_.isolate;
    sc.uid = config.uid;
    sc.gid = config.gid;
    sc.rootfs = rootfs;
    sc.netns = sandbox.netns_path;
    sc.hostname = sandbox.hostname.empty() ? sandbox.pod_name : sandbox.hostname;
    if (options_.isolate) {
      sc.mounts = mounts;
    } else if (config.working_dir.empty()) {
      sc.cwd = sandbox.dir;  // plain processes work in their Pod's directory
    }
    if (cgroup) sc.cgroup = cgroup->path();
  }
  KORC_RETURN_IF_ERROR(
      shim::WriteFileAtomic(dir + "/" + shim::kConfigFile, shim::EncodeConfig(sc)));

  // The lock file exists before the shim does; the shim takes the lock as its first act.
  int lock = ::open((dir + "/" + kLockFile).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0) return Status::Internal(Errno("cannot create " + dir + "/lock"));

  // Double fork: the shim is re-parented away from the kubelet at once, so it outlives a
  // kubelet restart and the kubelet never has to reap it. Everything the children use is
  // prepared here, as only async-signal-safe calls are allowed after fork in a threaded
  // process.
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) {
    ::close(lock);
    return Status::Internal(Errno("pipe"));
  }
  const std::string shim_path = options_.shim_path;
  std::vector<char*> argv = {const_cast<char*>(shim_path.c_str()), const_cast<char*>(dir.c_str()),
                             nullptr};
  char* envp[] = {nullptr};
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  pid_t mid = fork();
  if (mid < 0) {
    ::close(ready[0]);
    ::close(ready[1]);
    ::close(lock);
    if (devnull >= 0) ::close(devnull);
    return Status::Internal(Errno("fork"));
  }
  if (mid == 0) {
    pid_t shim_pid = fork();
    if (shim_pid != 0) _exit(shim_pid < 0 ? 1 : 0);
    // The lock moves to the shim as fd 4 (held across exec: flock locks belong to the
    // open file, which the shim keeps open until it exits).
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    dup2(ready[1], 3);
    dup2(lock, 4);
    syscall(SYS_close_range, 5, ~0U, 0);
    if (flock(4, LOCK_EX | LOCK_NB) != 0) _exit(1);
    execve(argv[0], argv.data(), envp);
    _exit(127);
  }
  ::close(ready[1]);
  ::close(lock);
  if (devnull >= 0) ::close(devnull);
  int st = 0;
  while (waitpid(mid, &st, 0) < 0 && errno == EINTR) {
  }
  struct pollfd p = {ready[0], POLLIN, 0};
  int r = 0;
  do {
    r = poll(&p, 1, options_.start_timeout_ms);
  } while (r < 0 && errno == EINTR);
  ::close(ready[0]);
  if (r == 0) {
    return Status::Unavailable("container " + config.name +
                               ": its supervisor did not report within " +
                               std::to_string(options_.start_timeout_ms) + " ms");
  }
  return id;
}

Result<ContainerInfo> ProcessRuntime::Inspect(const std::string& sandbox_id,
                                              const std::string& name, int attempt) const {
  ContainerInfo info;
  info.id = MakeId(sandbox_id, name, attempt);
  info.sandbox_id = sandbox_id;
  info.name = name;
  info.attempt = attempt;
  const std::string dir = ContainerDir(info.id);
  auto cfg_text = shim::ReadFile(dir + "/" + shim::kConfigFile);
  if (!cfg_text.ok()) return Status::NotFound("container " + info.id + " not found");
  if (auto cfg = shim::DecodeConfig(*cfg_text); cfg.ok()) info.log_path = cfg->log_path;
  if (auto pid = shim::ReadFile(dir + "/" + shim::kPidFile); pid.ok()) {
    info.pid = std::atoi(pid->c_str());
  }
  if (auto started = shim::ReadFile(dir + "/" + shim::kStartedFile); started.ok()) {
    info.started_ns = std::atoll(started->c_str());
  }
  if (auto exit_text = shim::ReadFile(dir + "/" + shim::kExitFile); exit_text.ok()) {
    auto e = shim::DecodeExit(*exit_text);
    if (!e.ok()) return e.status();
    info.phase = ContainerPhase::kExited;
    info.exit_code = e->exit_code;
    info.signal = e->signal;
    info.finished_ns = e->finished_ns;
    info.reason = e->reason;
    info.message = e->message;
    info.pid = 0;
    return info;
  }
  if (!ShimAlive(dir)) {
    if (!fs::exists(dir + "/" + shim::kPidFile) && !fs::exists(dir + "/" + kLockFile)) {
      info.phase = ContainerPhase::kCreated;
      return info;
    }
    // The supervisor is gone without a word: the node rebooted, or it was killed.
    info.phase = ContainerPhase::kExited;
    info.exit_code = 255;
    info.reason = "Error";
    info.message = "the container's supervisor (korc-shim) ended without recording an exit";
    info.pid = 0;
    return info;
  }
  info.phase = info.started_ns > 0 ? ContainerPhase::kRunning : ContainerPhase::kCreated;
  return info;
}

Result<std::vector<ContainerInfo>> ProcessRuntime::ListContainers(std::string_view sandbox_id) {
  std::vector<ContainerInfo> out;
  std::error_code ec;
  const fs::path base = options_.root_dir + "/containers/" + std::string(sandbox_id);
  for (const auto& name_dir : fs::directory_iterator(base, ec)) {
    if (!name_dir.is_directory()) continue;
    std::error_code ec2;
    for (const auto& attempt_dir : fs::directory_iterator(name_dir.path(), ec2)) {
      int attempt = 0;
      try {
        attempt = std::stoi(attempt_dir.path().filename().string());
      } catch (...) {
        continue;
      }
      auto info = Inspect(std::string(sandbox_id), name_dir.path().filename().string(), attempt);
      if (info.ok()) out.push_back(std::move(*info));
    }
  }
  std::sort(out.begin(), out.end(), [](const ContainerInfo& a, const ContainerInfo& b) {
    return std::tie(a.name, a.attempt) < std::tie(b.name, b.attempt);
  });
  return out;
}

Status ProcessRuntime::SignalContainer(std::string_view container_id, int signal) {
  std::string sandbox, name;
  int attempt = 0;
  if (!ParseId(container_id, &sandbox, &name, &attempt)) {
    return Status::NotFound("container " + std::string(container_id) + " not found");
  }
  KORC_ASSIGN_OR_RETURN(ContainerInfo info, Inspect(sandbox, name, attempt));
  if (info.phase != ContainerPhase::kRunning || info.pid <= 0) return Status::Ok();
  if (!options_.runc_path.empty()) {
    return runc::Kill(options_.runc_path, options_.root_dir + "/runc",
                      RuncId(sandbox, name, attempt), signal);
  }
  // A PID namespace's init takes the namespace with it; a process group needs the group.
  int r = options_.isolate ? ::kill(info.pid, signal) : ::kill(-info.pid, signal);
  if (r != 0 && errno != ESRCH) return Status::Internal(Errno("kill"));
  return Status::Ok();
}

Status ProcessRuntime::KillAndWait(const ContainerInfo& info, int timeout_ms) {
  KORC_RETURN_IF_ERROR(SignalContainer(info.id, SIGKILL));
  const std::string dir = ContainerDir(info.id);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (ShimAlive(dir)) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::Unavailable("container " + info.id + " did not stop within " +
                                 std::to_string(timeout_ms) + " ms of SIGKILL");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return Status::Ok();
}

Status ProcessRuntime::RemoveContainer(std::string_view container_id) {
  std::string sandbox, name;
  int attempt = 0;
  if (!ParseId(container_id, &sandbox, &name, &attempt)) {
    return Status::NotFound("container " + std::string(container_id) + " not found");
  }
  auto info = Inspect(sandbox, name, attempt);
  if (!info.ok()) return info.status().code() == Code::kNotFound ? Status::Ok() : info.status();
  if (info->phase != ContainerPhase::kExited) KORC_RETURN_IF_ERROR(KillAndWait(*info, 10000));
  const std::string dir = ContainerDir(container_id);
  KORC_RETURN_IF_ERROR(ReleaseRootfs(dir));
  if (!options_.runc_path.empty()) {
    (void)runc::Delete(options_.runc_path, options_.root_dir + "/runc",
                       RuncId(sandbox, name, attempt));
  }
  if (auto cg = cgroups::Cgroup::Open(CgroupPath(sandbox, name, attempt)); cg.ok()) {
    (void)cg->Remove();
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return Status::Ok();
}

Result<ExecResult> ProcessRuntime::Exec(std::string_view container_id,
                                        const std::vector<std::string>& argv, int timeout_ms) {
  if (argv.empty()) return Status::Invalid("exec: no command");
  std::string sandbox, name;
  int attempt = 0;
  if (!ParseId(container_id, &sandbox, &name, &attempt)) {
    return Status::NotFound("container " + std::string(container_id) + " not found");
  }
  KORC_ASSIGN_OR_RETURN(ContainerInfo info, Inspect(sandbox, name, attempt));
  if (info.phase != ContainerPhase::kRunning || info.pid <= 0) {
    return Status::Unavailable("container " + info.id + " is not running");
  }
  KORC_ASSIGN_OR_RETURN(std::string cfg_text,
                        shim::ReadFile(ContainerDir(container_id) + "/" + shim::kConfigFile));
  KORC_ASSIGN_OR_RETURN(shim::ShimConfig cfg, shim::DecodeConfig(cfg_text));
  if (!options_.runc_path.empty()) {
    std::vector<std::string> full = {options_.runc_path, "--root", options_.root_dir + "/runc",
                                     "exec", RuncId(sandbox, name, attempt)};
    full.insert(full.end(), argv.begin(), argv.end());
    return RunCaptured(full, cfg.env, "/", timeout_ms, nullptr);
  }
  if (!options_.isolate) {
    std::vector<std::string> full = argv;
    full[0] = FindInRoot("", argv[0], cfg.env);
    return RunCaptured(full, cfg.env, cfg.cwd, timeout_ms, nullptr);
  }
  // Join the container's namespaces. The PID namespace only applies to children, hence the
  // fork inside; the grandchild dies with its parent if the probe times out.
  const std::string proc = "/proc/" + std::to_string(info.pid);
  std::vector<int> fds;
  for (const char* ns : {"ipc", "uts", "net", "pid", "mnt"}) {
    int fd = ::open((proc + "/ns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      for (int f : fds) ::close(f);
      return Status::Unavailable(Errno("exec: cannot open " + proc + "/ns/" + ns));
    }
    fds.push_back(fd);
  }
  std::vector<std::string> full = argv;
  full[0] = FindInRoot(proc + "/root", argv[0], cfg.env);
  const std::string cwd = cfg.cwd;
  auto enter = [&fds, cwd]() -> bool {
    for (int fd : fds) {
      if (setns(fd, 0) != 0) return false;
    }
    if (chdir(cwd.c_str()) != 0 && chdir("/") != 0) return false;
    pid_t child = fork();
    if (child < 0) return false;
    if (child == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      return true;
    }
    int st = 0;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR) {
    }
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  };
  auto result = RunCaptured(full, cfg.env, "", timeout_ms, enter);
  for (int f : fds) ::close(f);
  return result;
}

}  // namespace korc::kubelet
