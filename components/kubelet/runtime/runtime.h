// The container runtime contract (the part Docker plays in the seed; Kubernetes' CRI in
// spirit): a Pod gets a sandbox — its network namespace, IP and volume directories — and
// its containers run inside it. The kubelet speaks only this interface; `process`
// (process_runtime.h) and `runc` (runc_runtime.h) implement it over the same image store.
//
// Everything a runtime knows lives on disk under its root directory, so a kubelet that
// restarts re-attaches to the sandboxes and containers that are still running instead of
// starting duplicates: List* answer from disk and from the live processes, never from
// memory alone.
//
// Thread-safety: every method may be called from any thread; calls about different
// sandboxes do not wait for each other.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace korc::kubelet {

// What a Pod's sandbox is made of. `id` names it on disk (the kubelet uses the Pod's uid).
struct SandboxConfig {
  std::string id;
  std::string pod_namespace;
  std::string pod_name;
  std::string pod_uid;
  std::string hostname;              // the Pod's hostname (spec.hostname, else its name)
  bool host_network = false;         // share the node's network namespace
  std::vector<std::string> volumes;  // emptyDir volume names: one directory each
};

struct Sandbox {
  std::string id;
  std::string pod_namespace;
  std::string pod_name;
  std::string pod_uid;
  std::string hostname;
  std::string ip;          // the Pod's IP ("" until known)
  std::string netns_path;  // a bind-mounted network namespace; "" on the node's network
  std::string dir;         // the sandbox's directory; volume `v` is dir + "/volumes/" + v
  bool isolated = false;   // namespaces (and a network of its own unless host_network)
  int64_t created_ns = 0;
  std::string VolumePath(std::string_view volume) const {
    return dir + "/volumes/" + std::string(volume);
  }
};

// A host directory made visible inside a container.
struct Mount {
  std::string host_path;
  std::string container_path;
  bool read_only = false;
};

// Limits from resources.limits; unset means unlimited.
struct ResourceLimits {
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> cpu_millis;
  std::optional<int64_t> pids;
};

struct ContainerConfig {
  std::string sandbox_id;
  std::string name;               // the container's name in the Pod
  int attempt = 0;                // 0 for the first start, +1 per restart
  std::string image;              // the reference as the Pod gives it
  std::string image_id;           // "sha256:..." of the resolved image ("" when run without one)
  std::string rootfs;             // the image's unpacked root ("" runs on the host filesystem)
  std::vector<std::string> argv;  // resolved command + args (image entrypoint/cmd applied)
  std::vector<std::string> env;   // "NAME=value"
  std::string working_dir;        // "" = the image's, else "/"
  int64_t uid = 0, gid = 0;       // who the processes run as (isolated sandboxes only)
  std::vector<Mount> mounts;
  ResourceLimits limits;
  std::string log_path;  // where stdout/stderr go (CRI log format, rotated)
  int64_t log_max_bytes = 10 * 1024 * 1024;
  int log_max_files = 5;
};

enum class ContainerPhase { kCreated, kRunning, kExited, kUnknown };

struct ContainerInfo {
  std::string id;  // "<sandbox id>/<name>/<attempt>" for the process runtime
  std::string sandbox_id;
  std::string name;
  int attempt = 0;
  std::string image;
  std::string image_id;
  std::string log_path;
  ContainerPhase phase = ContainerPhase::kUnknown;
  int pid = 0;  // the container's main process on the node (0 when not running)
  int64_t started_ns = 0;
  int64_t finished_ns = 0;
  int exit_code = 0;
  int signal = 0;       // the signal that ended it, 0 when it exited
  std::string reason;   // when exited: "Completed", "Error", "OOMKilled", "ContainerCannotRun"
  std::string message;  // e.g. why it could not run
};

struct ExecResult {
  int exit_code = 0;
  std::string output;  // stdout + stderr, truncated to a few KiB
  bool timed_out = false;
};

class ContainerRuntime {
 public:
  virtual ~ContainerRuntime() = default;

  // "process" or "runc".
  virtual std::string_view name() const = 0;
  // Whether sandboxes get namespaces (and cgroups): false means plain processes on the
  // node, which the Node reports.
  virtual bool isolated() const = 0;
  // "process://0.1.0": Node.status.nodeInfo.containerRuntimeVersion.
  virtual std::string version() const = 0;

  // Creates the sandbox, or returns the existing one with this id (idempotent).
  virtual Result<Sandbox> RunSandbox(const SandboxConfig& config) = 0;
  // Kills whatever still runs in it, then removes its network, volumes and directory.
  // Idempotent: NotFound is not an error.
  virtual Status RemoveSandbox(std::string_view sandbox_id) = 0;
  virtual Result<std::vector<Sandbox>> ListSandboxes() = 0;

  // Starts a container in its sandbox and returns its id once the process runs (an exec
  // failure shows up as an exited container with reason ContainerCannotRun, not here).
  virtual Result<std::string> StartContainer(const ContainerConfig& config) = 0;
  // Sends `signal` to the container's processes (all of them: the PID namespace or the
  // process group). NotFound when it does not exist; Ok when it already exited.
  virtual Status SignalContainer(std::string_view container_id, int signal) = 0;
  // Forgets an exited container (its log files stay with the kubelet).
  virtual Status RemoveContainer(std::string_view container_id) = 0;
  // The sandbox's containers, every attempt not removed, ordered by name then attempt.
  virtual Result<std::vector<ContainerInfo>> ListContainers(std::string_view sandbox_id) = 0;

  // Runs `argv` inside a running container (exec probes), waiting at most `timeout_ms`.
  virtual Result<ExecResult> Exec(std::string_view container_id,
                                  const std::vector<std::string>& argv, int timeout_ms) = 0;
};

}  // namespace korc::kubelet
