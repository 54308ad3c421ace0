// ProcessRuntime: containers as process trees, each under its own korc-shim (shim.h).
//
// As root (options.isolate) a container gets new PID, mount, UTS and IPC namespaces, joins
// its Pod's network namespace (network::PodNetwork: a veth on the node's bridge, an IP
// from the node's podCIDR), runs in a writable overlay over its image's root
// (rootfs.h), sees its volumes bind-mounted, and is limited by a cgroup (memory, cpu,
// pids). Without root it is a plain process group on the node's filesystem and network,
// working in its sandbox's directory; the sandbox gets a loopback address of its own as its
// IP, and the Node says that isolation is off.
//
// The same class runs containers with runc (options.runc_path set): the shim then execs
// `runc run` on an OCI bundle written for the container, and signals go through `runc kill`.
//
// On disk (root_dir):
//   sandboxes/<id>/sandbox.json   the Sandbox
//   sandboxes/<id>/volumes/<v>/   emptyDir volumes
//   sandboxes/<id>/etc/           hosts, hostname, resolv.conf bind-mounted into containers
//   containers/<sandbox>/<name>/<attempt>/   the shim's directory (shim.h); rootfs, bundle
//
// Thread-safety: all methods may be called concurrently; a mutex per sandbox id serialises
// the calls about one sandbox.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "components/kubelet/runtime/runtime.h"

namespace korc::kubelet {

namespace network {
class PodNetwork;
}

struct ProcessRuntimeOptions {
  std::string root_dir;
  std::string shim_path;  // the korc-shim executable
  // Namespaces, overlay roots and cgroups; REQUIRES root.
  bool isolate = false;
  // Pod networks when isolating (null: every Pod on the node's network).
  network::PodNetwork* network = nullptr;
  // The node's address: the IP of host-network Pods.
  std::string host_ip = "127.0.0.1";
  // Run containers with runc instead of the shim's own namespaces ("" = process runtime).
  std::string runc_path;
  // How long StartContainer waits for the shim to report that the command exec'd.
  int start_timeout_ms = 10000;
};

class ProcessRuntime final : public ContainerRuntime {
 public:
  static Result<std::unique_ptr<ProcessRuntime>> Create(ProcessRuntimeOptions options);
  ~ProcessRuntime() override;

  std::string_view name() const override;
  bool isolated() const override { return options_.isolate; }
  std::string version() const override;

  Result<Sandbox> RunSandbox(const SandboxConfig& config) override;
  Status RemoveSandbox(std::string_view sandbox_id) override;
  Result<std::vector<Sandbox>> ListSandboxes() override;

  Result<std::string> StartContainer(const ContainerConfig& config) override;
  Status SignalContainer(std::string_view container_id, int signal) override;
  Status RemoveContainer(std::string_view container_id) override;
  Result<std::vector<ContainerInfo>> ListContainers(std::string_view sandbox_id) override;
  Result<ExecResult> Exec(std::string_view container_id, const std::vector<std::string>& argv,
                          int timeout_ms) override;

  // Pod networks from now on (the kubelet learns its podCIDR after it starts). The network
  // must outlive the runtime.
  void SetNetwork(network::PodNetwork* network) { network_.store(network); }

  // The shim's directory of a container id; "" when the id is malformed.
  std::string ContainerDir(std::string_view container_id) const;

 private:
  explicit ProcessRuntime(ProcessRuntimeOptions options);
  std::mutex& LockFor(std::string_view sandbox_id);
  Result<Sandbox> LoadSandbox(std::string_view sandbox_id) const;
  Result<ContainerInfo> Inspect(const std::string& sandbox_id, const std::string& name,
                                int attempt) const;
  Status KillAndWait(const ContainerInfo& info, int timeout_ms);
  std::string LoopbackIp(std::string_view sandbox_id);

  ProcessRuntimeOptions options_;
  std::atomic<network::PodNetwork*> network_{nullptr};
  std::string runc_version_;
  std::mutex locks_mu_;
  std::map<std::string, std::unique_ptr<std::mutex>, std::less<>> locks_;  // guarded by locks_mu_
};

}  // namespace korc::kubelet
