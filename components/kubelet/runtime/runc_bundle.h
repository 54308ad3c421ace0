// OCI bundles for runc, and the few runc commands the runc runtime needs.
//
// The runc runtime runs each container as `runc --root R run --bundle DIR ID` in the
// foreground under the container's supervisor (runc forwards signals and exits with the
// container's status), so everything a container is — argv, env, mounts, namespaces,
// limits — is written here as the bundle's config.json (OCI runtime-spec 1.0). The other
// commands (kill, delete, state, --version) run runc as a helper process and capture its
// output; no shell is involved.
//
// Thread-safety: every function is reentrant; helper processes are spawned without leaking
// descriptors to each other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "components/kubelet/runtime/runtime.h"
#include "core/status.h"

namespace korc::kubelet::runc {

// How the container sits on the node, beyond what ContainerConfig says.
struct BundleOptions {
  std::string rootfs;        // prepared rootfs path (PrepareRootfs)
  std::string netns_path;    // join this network namespace ("" = the node's network)
  std::string hostname;      // the container's hostname ("" leaves runc's default)
  std::string cgroups_path;  // e.g. "/korc/pod<uid>/<name>" (runc creates it); "" = none
  bool readonly_rootfs = false;
  // RLIMIT_NOFILE (soft and hard) for the container: what containerd gives by default.
  // WriteBundle lowers it to the node's hard limit when runc could not raise that (no
  // CAP_SYS_RESOURCE), since runc would otherwise refuse to start the container.
  uint64_t nofile_limit = 1048576;
};

// The bundle's config.json. Pure and deterministic (same input, same bytes): process (argv,
// env with a default PATH when the config has none, cwd, no terminal, uid 0, Docker's default
// capability set, RLIMIT_NOFILE from nofile_limit), root, hostname, the standard mounts (/proc,
// /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys read-only, /sys/fs/cgroup read-only) plus a
// bind per ContainerConfig::mounts, and linux: pid/ipc/uts/mount namespaces and a network
// namespace (joined at netns_path when given; none, i.e. the node's network, when empty),
// resources (memory limit; CPU quota over a 100ms period; pids limit) and runc's default
// masked and read-only paths.
std::string OciConfig(const Sandbox& sandbox, const ContainerConfig& config,
                      const BundleOptions& options);

// Writes <bundle_dir>/config.json atomically (temp file, fsync, rename), creating
// bundle_dir when missing. The one impure adjustment: nofile_limit is lowered to what this
// process may set (see BundleOptions).
Status WriteBundle(const std::string& bundle_dir, const Sandbox& sandbox,
                   const ContainerConfig& config, const BundleOptions& options);

// ["<runc>", "--root", root, "run", "--bundle", bundle_dir, id]: runs the container in the
// foreground; runc deletes it when it exits.
std::vector<std::string> RunArgv(const std::string& runc, const std::string& root,
                                 const std::string& bundle_dir, const std::string& id);

// `runc kill --all ID SIGNAL`: signals every process of the container. NotFound when runc
// does not know the container; Ok when it is known but no longer running.
Status Kill(const std::string& runc, const std::string& root, const std::string& id, int signal);

// `runc delete --force ID`: kills and forgets the container. Ok when it does not exist.
Status Delete(const std::string& runc, const std::string& root, const std::string& id);

// What `runc state` says about a container.
struct State {
  std::string status;  // "creating", "created", "running", "paused", "stopped"
  int pid = 0;         // the container's init on the node (0 once stopped)
};

// NotFound when runc does not know the container.
Result<State> GetState(const std::string& runc, const std::string& root, const std::string& id);

// The runc version, e.g. "1.1.5+ds1" from `runc --version`.
Result<std::string> Version(const std::string& runc);

// The first executable of /usr/sbin/runc, /usr/bin/runc and runc on PATH; "" when none.
std::string FindRunc();

}  // namespace korc::kubelet::runc
