// Linux control groups for Pods and containers: create a cgroup with resource limits, put a
// process in it, kill everything in it, read OOM and memory usage back, remove it.
//
// Used by the `process` runtime: its supervisor forks a container, the runtime calls
// AddProcess(pid) before the child execs (so every descendant is born inside), and KillAll()
// on stop. Paths are relative to the cgroup mount(s) under /sys/fs/cgroup, e.g.
// "korc/pod<uid>/<container>".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace korc::kubelet::cgroups {

// Which cgroup layout this machine offers. Not persisted.
enum class Version {
  kNone,  // no usable cgroups (not mounted, or not root): run without limits
  kV1,    // separate v1 hierarchies /sys/fs/cgroup/{memory,cpu,pids[,freezer]}
  kV2,    // unified cgroup2 mounted at /sys/fs/cgroup
};

std::string_view VersionName(Version v);  // "none", "v1", "v2"

// What this machine has: kV2 when /sys/fs/cgroup is a cgroup2 mount, kV1 when the memory, cpu
// and pids controllers are each mounted as a v1 hierarchy under /sys/fs/cgroup/<controller>,
// kNone otherwise or when not running as root. A controller-less cgroup2 mount at
// /sys/fs/cgroup/unified (hybrid systemd layout) is ignored. Cheap; not cached.
Version Detect();

// Resource limits; an absent field means unlimited.
struct Limits {
  std::optional<int64_t> memory_bytes;  // hard limit; exceeding it OOM-kills inside the cgroup
  std::optional<int64_t> cpu_millis;    // CFS quota in millicores per 100 ms period (min 10m)
  std::optional<int64_t> pids;          // max number of tasks (processes + threads)
};

// One cgroup, present in every hierarchy korc needs (v1: memory, cpu, pids, and freezer when
// mounted; v2: a single directory).
//
// Thread-safety: none per instance; distinct instances (even for the same path) may be used
// from different threads, since all state lives in the kernel.
// Lifetime: the handle owns nothing. Destroying it leaves the cgroup and its processes alone,
// so a restarted kubelet can re-attach with Open(); call KillAll()/Remove() to tear down.
// Movable and copyable.
class Cgroup {
 public:
  // Creates (or opens, when it exists) the cgroup at relative `path` in every hierarchy and
  // applies `limits` (absent limits are set to unlimited, so Create on an existing cgroup
  // converges it to `limits`). Invalid for a malformed path or non-positive limit,
  // Unavailable when Detect() is kNone or a needed controller is missing.
  static Result<Cgroup> Create(std::string_view path, const Limits& limits);

  // Opens an existing cgroup (re-attach after a restart). NotFound when absent.
  static Result<Cgroup> Open(std::string_view path);

  // Moves process `pid` (all its threads) into the cgroup in every hierarchy.
  Status AddProcess(int pid);

  // The processes in the cgroup (union over hierarchies), sorted. Exited processes not yet
  // reaped by their parent are not listed. Empty when the cgroup is gone.
  std::vector<int> Processes() const;

  // SIGKILLs every process in the cgroup, including ones forked meanwhile: v2 uses cgroup.kill
  // when the kernel has it; otherwise freeze, SIGKILL all, thaw, repeated until the cgroup is
  // empty. Unavailable when processes remain after 2 s. Ok when the cgroup is gone.
  Status KillAll();

  // Whether the kernel OOM-killed a process in this cgroup since it was created.
  bool OomKilled() const;

  // Current memory charged to the cgroup in bytes; -1 when it cannot be read.
  int64_t MemoryUsageBytes() const;

  // Kills what is left (KillAll) and removes the cgroup's directories, then every parent that
  // is now empty, up to and including the first path component ("korc" of "korc/pod1/c").
  // On v1 the same path also goes from the other mounted hierarchies when it is empty there
  // (runc makes a container's cgroup in all of them). Ok when already gone.
  Status Remove();

  const std::string& path() const { return path_; }
  Version version() const { return version_; }

 private:
  // One hierarchy's directory for this cgroup.
  struct Dir {
    std::string controller;  // "memory", "cpu", "pids", "freezer"; "" for v2
    std::string root;        // the hierarchy's mount point, e.g. /sys/fs/cgroup/memory
    std::string abs;         // root + "/" + path
  };

  Cgroup(Version version, std::string path, std::vector<Dir> dirs)
      : version_(version), path_(std::move(path)), dirs_(std::move(dirs)) {}

  const Dir* Find(std::string_view controller) const;
  Status ApplyLimits(const Limits& limits);

  Version version_ = Version::kNone;
  std::string path_;
  std::vector<Dir> dirs_;
};

}  // namespace korc::kubelet::cgroups
