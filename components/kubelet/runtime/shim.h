// The container supervisor ("shim", as containerd's shim or conmon): one small process per
// container, started by a runtime and detached from the kubelet (its own session), so
// containers keep running — and their output keeps reaching the log — while the kubelet
// restarts. It starts the container's process (in namespaces, a cgroup and a root of its
// own when the config asks), copies stdout/stderr into the container's log file, reaps it,
// and leaves the outcome on disk for whichever kubelet asks next.
//
// The protocol is the container's directory (persisted: a kubelet of a newer build must
// still read what an older shim wrote, so names and fields are only ever added):
//   config.json   ShimConfig, written by the runtime before the shim starts
//   pid           the container's main process on the node, once it exists
//   started       unix ns at which the container's command was exec'd
//   exit.json     ShimExit, written atomically once the container and everything it
//                 started are gone; the shim exits right after
// The shim also writes one byte to fd 3 (when open) once the container has exec'd or failed
// to, so the runtime's StartContainer returns without polling.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "components/kubelet/runtime/runtime.h"
#include "core/status.h"

namespace korc::kubelet::shim {

inline constexpr char kConfigFile[] = "config.json";
inline constexpr char kPidFile[] = "pid";
inline constexpr char kStartedFile[] = "started";
inline constexpr char kExitFile[] = "exit.json";

struct ShimConfig {
  std::vector<std::string> argv;  // argv[0] is looked up on the PATH of `env` inside the root
  std::vector<std::string> env;
  std::string cwd = "/";
  int64_t uid = 0, gid = 0;   // set (with no supplementary groups) when `isolate`
  std::string rootfs;         // "" = the node's filesystem
  std::string netns;          // network namespace to join ("" = the shim's)
  std::string hostname;       // set when `isolate`
  bool isolate = false;       // new PID, mount, UTS and IPC namespaces
  std::vector<Mount> mounts;  // bind mounts into rootfs (isolate only)
  std::string cgroup;         // cgroups::Cgroup path to join before exec ("" = none)
  std::string log_path;
  int64_t log_max_bytes = 10 * 1024 * 1024;
  int log_max_files = 5;
};

struct ShimExit {
  int exit_code = 0;  // 128 + signal when a signal ended it, as Docker and Kubernetes report
  int signal = 0;
  int64_t finished_ns = 0;
  std::string reason;  // Completed, Error, OOMKilled, ContainerCannotRun
  std::string message;
};

std::string EncodeConfig(const ShimConfig& config);
Result<ShimConfig> DecodeConfig(std::string_view json);
std::string EncodeExit(const ShimExit& exit);
Result<ShimExit> DecodeExit(std::string_view json);

// Small file helpers shared by the shim and the runtimes.
Result<std::string> ReadFile(const std::string& path);
// Writes via a temporary file and rename, so readers never see half a file.
Status WriteFileAtomic(const std::string& path, std::string_view content);

}  // namespace korc::kubelet::shim
