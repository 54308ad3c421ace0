// korc-shim CONTAINER_DIR: supervises one container (shim.h has the protocol). Started by a
// runtime; never by hand.
//
// Order of events:
//   1. New session (Ctrl-C on the kubelet's terminal does not reach containers); every
//      signal blocked and read from a signalfd, so SIGCHLD and the pipes share one poll.
//   2. The container is cloned — into new PID, mount, UTS and IPC namespaces when the
//      config isolates it — and waits on a pipe until the shim has put it into its cgroup
//      and written its pid. It then joins the Pod's network namespace, builds its root
//      (bind mounts, /proc, /dev, pivot_root), and execs. An exec failure travels back on a
//      close-on-exec pipe, so "could not run" and "ran and failed" are told apart.
//   3. The shim copies the container's output into the log and reaps children (it is a
//      subreaper, so orphans of a non-isolated container come back to it). When the main
//      process ends, what it left running is killed (a PID namespace does that by itself),
//      the pipes drain, and exit.json is written last.
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "components/kubelet/cgroups/cgroups.h"
#include "components/kubelet/logs/container_log.h"
#include "components/kubelet/runtime/shim.h"

namespace {

using korc::kubelet::shim::ShimConfig;
using korc::kubelet::shim::ShimExit;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the cloned child needs; prepared before clone so the child allocates nothing.
struct ChildPlan {
  const ShimConfig* config;
  int sync_read;    // one byte from the shim: "you are in your cgroup, go"
  int error_write;  // close-on-exec: a message here means exec never happened
  int out_write;
  int err_write;
  int netns_fd;     // -1: stay
  std::string exe;  // resolved argv[0]
  std::vector<char*> argv;
  std::vector<char*> envp;
};

[[noreturn]] void ChildFail(const ChildPlan& p, const char* what) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "%s: %s", what, strerror(errno));
  if (n > 0) (void)!write(p.error_write, buf, static_cast<size_t>(std::min(n, 511)));
  _exit(127);
}

// An O_PATH descriptor for `path` inside the root `root_fd`, resolved as if `root_fd` were
// "/" (RESOLVE_IN_ROOT), so a hostile image's symlinks cannot point a mount outside its
// root. A missing file is created (as a file or a directory, like the mount's source).
int OpenInRoot(int root_fd, const std::string& path, bool directory) {
  std::string rel = path;
  while (!rel.empty() && rel.front() == '/') rel.erase(rel.begin());
  if (rel.empty()) rel = ".";
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;
  int fd = static_cast<int>(syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how));
  if (fd >= 0 || errno != ENOENT) return fd;
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? "." : rel.substr(0, slash);
  std::string base = slash == std::string::npos ? rel : rel.substr(slash + 1);
  struct open_how dir_how = {};
  dir_how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  dir_how.resolve = RESOLVE_IN_ROOT;
  int parent_fd =
      static_cast<int>(syscall(SYS_openat2, root_fd, parent.c_str(), &dir_how, sizeof dir_how));
  if (parent_fd < 0) return -1;
  if (directory) {
    mkdirat(parent_fd, base.c_str(), 0755);
  } else {
    int f = openat(parent_fd, base.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f >= 0) close(f);
  }
  close(parent_fd);
  return static_cast<int>(syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how));
}

void BindDevice(const ChildPlan& p, const std::string& root, const char* name) {
  std::string target = root + "/dev/" + name;
  int fd = open(target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
  if (fd >= 0) close(fd);
  std::string source = std::string("/dev/") + name;
  if (mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    ChildFail(p, ("bind " + source).c_str());
  }
}

// Builds the container's filesystem view inside its mount namespace and pivots into it.
void EnterRoot(const ChildPlan& p) {
  const ShimConfig& c = *p.config;
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    ChildFail(p, "make / private");
  if (c.rootfs.empty()) {
    // Namespaces without an image root: a private /proc for the new PID namespace.
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
      ChildFail(p, "mount /proc");
    }
    return;
  }
  const std::string& root = c.rootfs;
  if (mount(root.c_str(), root.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    ChildFail(p, "bind rootfs");
  }
  int root_fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) ChildFail(p, "open rootfs");
  for (size_t i = 0; i < c.mounts.size(); ++i) {
    struct stat st;
    if (stat(c.mounts[i].host_path.c_str(), &st) != 0) {
      ChildFail(p, ("mount source " + c.mounts[i].host_path).c_str());
    }
    int target_fd = OpenInRoot(root_fd, c.mounts[i].container_path, S_ISDIR(st.st_mode));
    if (target_fd < 0) ChildFail(p, ("mount point " + c.mounts[i].container_path).c_str());
    const std::string target = "/proc/self/fd/" + std::to_string(target_fd);
    if (mount(c.mounts[i].host_path.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) !=
        0) {
      ChildFail(p, ("bind " + c.mounts[i].container_path).c_str());
    }
    if (c.mounts[i].read_only && mount(nullptr, target.c_str(), nullptr,
                                       MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr) != 0) {
      ChildFail(p, ("read-only " + c.mounts[i].container_path).c_str());
    }
    close(target_fd);
  }
  close(root_fd);
  std::string proc = root + "/proc";
  mkdir(proc.c_str(), 0555);
  if (mount("proc", proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    ChildFail(p, "mount /proc");
  }
  std::string dev = root + "/dev";
  mkdir(dev.c_str(), 0755);
  if (mount("tmpfs", dev.c_str(), "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") !=
      0) {
    ChildFail(p, "mount /dev");
  }
  for (const char* d : {"null", "zero", "full", "random", "urandom", "tty"}) BindDevice(p, root, d);
  std::string shm = dev + "/shm";
  mkdir(shm.c_str(), 01777);
  mount("shm", shm.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
  symlink("/proc/self/fd", (dev + "/fd").c_str());
  symlink("/proc/self/fd/0", (dev + "/stdin").c_str());
  symlink("/proc/self/fd/1", (dev + "/stdout").c_str());
  symlink("/proc/self/fd/2", (dev + "/stderr").c_str());
  std::string tmp = root + "/tmp";
  mkdir(tmp.c_str(), 01777);

  std::string old = root + "/.korc-oldroot";
  mkdir(old.c_str(), 0700);
  if (syscall(SYS_pivot_root, root.c_str(), old.c_str()) != 0) ChildFail(p, "pivot_root");
  if (chdir("/") != 0) ChildFail(p, "chdir /");
  if (umount2("/.korc-oldroot", MNT_DETACH) != 0) ChildFail(p, "detach the old root");
  rmdir("/.korc-oldroot");
}

int ChildMain(void* arg) {
  const ChildPlan& p = *static_cast<ChildPlan*>(arg);
  const ShimConfig& c = *p.config;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
  char go;
  if (read(p.sync_read, &go, 1) != 1) _exit(127);  // the shim died before releasing us
  if (!c.isolate) setpgid(0, 0);  // so the whole tree can be signalled as one group
  if (p.netns_fd >= 0 && setns(p.netns_fd, CLONE_NEWNET) != 0) ChildFail(p, "join network");
  if (c.isolate) {
    EnterRoot(p);
    if (!c.hostname.empty() && sethostname(c.hostname.data(), c.hostname.size()) != 0) {
      ChildFail(p, "set hostname");
    }
  }
  // Nothing of the shim's but stdio reaches the container (the log writer's file, the lock).
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd >= 0) dup2(null_fd, 0);
  dup2(p.out_write, 1);
  dup2(p.err_write, 2);
  if (c.isolate) {
    // Groups first: after setuid to a user other than root, they can no longer change.
    gid_t gid = static_cast<gid_t>(c.gid);
    if (setgroups(1, &gid) != 0 || setgid(gid) != 0) ChildFail(p, "set the container's group");
    if (setuid(static_cast<uid_t>(c.uid)) != 0) ChildFail(p, "set the container's user");
  }
  if (!c.cwd.empty() && chdir(c.cwd.c_str()) != 0) ChildFail(p, ("chdir " + c.cwd).c_str());
  if (p.exe.find('/') != std::string::npos) {
    execve(p.exe.c_str(), p.argv.data(), p.envp.data());
    ChildFail(p, ("exec " + p.exe).c_str());
  }
  // Look argv[0] up on the container's PATH, inside its root (we are already there).
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : c.env) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  size_t start = 0;
  int saved = ENOENT;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + p.exe;
    execve(candidate.c_str(), p.argv.data(), p.envp.data());
    if (errno != ENOENT) saved = errno;
    start = end + 1;
  }
  errno = saved;
  ChildFail(p, ("exec \"" + p.exe + "\" (not found on PATH " + path + ")").c_str());
}

void WriteSmallFile(const std::string& path, const std::string& content) {
  (void)korc::kubelet::shim::WriteFileAtomic(path, content);
}

int Run(const std::string& dir) {
  setsid();
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  int ready_fd = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  // fd 4 holds the container directory's lock for the shim's lifetime (process_runtime.cc).
  for (int fd : {3, 4}) fcntl(fd, F_SETFD, FD_CLOEXEC);
  auto notify_ready = [&] {
    if (ready_fd >= 0) {
      (void)!write(ready_fd, "r", 1);
      close(ready_fd);
      ready_fd = -1;
    }
  };
  ShimExit outcome;
  auto finish = [&](ShimExit e) {
    e.finished_ns = NowNs();
    WriteSmallFile(dir + "/" + korc::kubelet::shim::kExitFile, korc::kubelet::shim::EncodeExit(e));
    notify_ready();
    return 0;
  };

  auto text = korc::kubelet::shim::ReadFile(dir + "/" + korc::kubelet::shim::kConfigFile);
  if (!text.ok()) return finish({127, 0, 0, "ContainerCannotRun", text.status().message()});
  auto cfg = korc::kubelet::shim::DecodeConfig(*text);
  if (!cfg.ok()) return finish({127, 0, 0, "ContainerCannotRun", cfg.status().message()});
  const ShimConfig& c = *cfg;
  auto writer =
      korc::kubelet::logs::ContainerLogWriter::Open(c.log_path, c.log_max_bytes, c.log_max_files);
  if (!writer.ok()) return finish({127, 0, 0, "ContainerCannotRun", writer.status().message()});

  int sync[2], err[2], out[2], errout[2];
  if (pipe2(sync, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(out, O_CLOEXEC) ||
      pipe2(errout, O_CLOEXEC)) {
    return finish({127, 0, 0, "ContainerCannotRun", std::string("pipe: ") + strerror(errno)});
  }
  ChildPlan plan{&c, sync[0], err[1], out[1], errout[1], -1, c.argv[0], {}, {}};
  if (!c.netns.empty()) {
    plan.netns_fd = open(c.netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (plan.netns_fd < 0) {
      return finish(
          {127, 0, 0, "ContainerCannotRun",
           "cannot open the Pod's network namespace " + c.netns + ": " + strerror(errno)});
    }
  }
  std::vector<std::string> argv_store = c.argv, env_store = c.env;
  for (auto& a : argv_store) plan.argv.push_back(a.data());
  plan.argv.push_back(nullptr);
  for (auto& e : env_store) plan.envp.push_back(e.data());
  plan.envp.push_back(nullptr);

  std::vector<char> stack(1 << 20);
  int flags = SIGCHLD;
  if (c.isolate) flags |= CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC;
  pid_t child = clone(ChildMain, stack.data() + stack.size(), flags, &plan);
  if (child < 0) {
    return finish({127, 0, 0, "ContainerCannotRun", std::string("clone: ") + strerror(errno)});
  }
  close(sync[0]);
  close(err[1]);
  close(out[1]);
  close(errout[1]);
  if (plan.netns_fd >= 0) close(plan.netns_fd);

  std::optional<korc::kubelet::cgroups::Cgroup> cgroup;
  if (!c.cgroup.empty()) {
    auto cg = korc::kubelet::cgroups::Cgroup::Open(c.cgroup);
    if (cg.ok() && cg->AddProcess(child).ok()) {
      cgroup = std::move(*cg);
    } else {
      kill(child, SIGKILL);
      waitpid(child, nullptr, 0);
      return finish({127, 0, 0, "ContainerCannotRun",
                     "cannot join cgroup " + c.cgroup + ": " +
                         (cg.ok() ? std::string("add failed") : cg.status().message())});
    }
  }
  WriteSmallFile(dir + "/" + korc::kubelet::shim::kPidFile, std::to_string(child));
  (void)!write(sync[1], "g", 1);
  close(sync[1]);

  // Exec succeeded when the error pipe closes without a message.
  std::string exec_error;
  char buf[65536];
  for (;;) {
    ssize_t n = read(err[0], buf, sizeof buf);
    if (n > 0) {
      exec_error.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  close(err[0]);
  if (exec_error.empty()) {
    WriteSmallFile(dir + "/" + korc::kubelet::shim::kStartedFile, std::to_string(NowNs()));
  }
  notify_ready();

  int sfd = signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK);
  struct pollfd fds[3] = {{out[0], POLLIN, 0}, {errout[0], POLLIN, 0}, {sfd, POLLIN, 0}};
  bool main_done = false;
  int main_status = 0;
  bool killed_rest = false;
  auto reap = [&] {
    for (;;) {
      int st = 0;
      pid_t p = waitpid(-1, &st, WNOHANG);
      if (p <= 0) break;
      if (p == child) {
        main_done = true;
        main_status = st;
      }
    }
  };
  while (fds[0].fd >= 0 || fds[1].fd >= 0 || !main_done) {
    int timeout = main_done ? 200 : -1;
    int r = poll(fds, 3, timeout);
    if (r < 0 && errno != EINTR) break;
    if (r == 0 && main_done && !killed_rest) {
      // The main process is gone but something still holds the output open: the container
      // is over, so what it left behind goes with it.
      if (cgroup) (void)cgroup->KillAll();
      if (!c.isolate) kill(-child, SIGKILL);
      killed_rest = true;
      continue;
    }
    if (r == 0 && killed_rest) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        (void)(*writer)->Write(i == 0 ? "stdout" : "stderr", std::string_view(buf, n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
    if (fds[2].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
      }
      reap();
      if (main_done && !killed_rest && !c.isolate) {
        kill(-child, SIGKILL);  // a process group does not end with its leader
        killed_rest = true;
      }
    }
  }
  reap();
  while (!main_done) {  // only after poll failed: wait the hard way
    int st = 0;
    pid_t p = waitpid(-1, &st, 0);
    if (p == child) {
      main_done = true;
      main_status = st;
    }
    if (p < 0 && errno == ECHILD) break;
  }
  (void)(*writer)->Flush();
  if (cgroup) (void)cgroup->KillAll();

  if (!exec_error.empty()) {
    outcome = {128, 0, 0, "ContainerCannotRun", exec_error};
  } else if (WIFSIGNALED(main_status)) {
    int sig = WTERMSIG(main_status);
    outcome = {128 + sig, sig, 0, "Error", ""};
  } else {
    int code = WEXITSTATUS(main_status);
    outcome = {code, 0, 0, code == 0 ? "Completed" : "Error", ""};
  }
  if (cgroup && cgroup->OomKilled()) outcome.reason = "OOMKilled";
  return finish(outcome);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: korc-shim CONTAINER_DIR (started by korc's runtimes)\n");
    return 2;
  }
  return Run(argv[1]);
}
