// The kubelet (`korc node`): registers this machine as a Node, keeps its Lease renewed, runs
// the Pods bound to it through a container runtime and reports their status — all through
// the API, as commands over the bus, decided by one reducer in a reactor::Runtime.
//
// KubeletReducer is the one reducer whose decisions depend on more than the log: what the
// pod workers observe of the containers (and the machine's facts) is an input beside the
// view, like `now`. So its changes are explained by actor + cause like every other, but the
// replay property (same state at basis → same command) holds only for its deletions, not
// for the statuses it reports. Reconciling a Pod key also hands the Pod to its worker.
//
// Keys
//   "node"                the Node object: created when missing; its status written when
//                         something in it changes, or every node_status_report_period.
//   "lease"               kube-node-lease/<node>: renewed every lease_renew_period. A
//                         renewal is a ~300-byte Lease, not a Node: heartbeats do not bloat
//                         the log with copies of the Node (Kubernetes' NodeLease design).
//   "pod/<ns>/<name>"     a Pod bound to this node: its status; for a terminating Pod whose
//                         containers have stopped, the zero-grace delete that confirms it.
//
// Thread-safety: Kubelet: Start/Stop from one thread. KubeletReducer: called by its
// runtime's thread only (its side effects go to thread-safe PodWorkers).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "components/kubelet/agent/pod_workers.h"
#include "components/reactor/reducer.h"
#include "components/reactor/runtime.h"

namespace zmq {
class context_t;
}

namespace korc::kubelet {

namespace network {
class PodNetwork;
}
class ProcessRuntime;
class KubeletServer;

inline constexpr std::string_view kKubeletVersion = "v1.29.0-korc";
inline constexpr std::string_view kNodeLeaseNamespace = "kube-node-lease";

// Facts about the machine for Node.status, read once at start.
struct MachineInfo {
  api::ResourceList capacity;  // cpu, memory, pods, ephemeral-storage
  api::NodeSystemInfo info;    // the ten nodeInfo strings
  std::string hostname;
  static MachineInfo Read(int max_pods);
};

struct KubeletOptions {
  std::string node_name;              // default: the machine's hostname, lowercased
  std::string address = "127.0.0.1";  // InternalIP; the kubelet's HTTP endpoint listens here
  uint16_t port = 0;                  // the kubelet endpoint (logs); 0 picks one
  std::string data_dir = "korc-data/node";
  std::string runtime = "process";  // or "runc"
  std::optional<bool> isolate;      // default: when root
  std::string shim_path;            // default: korc-shim next to the running executable
  std::string runc_path;            // default: found on the machine
  std::string pod_cidr;             // standalone: use this instead of waiting for node IPAM
  std::string bridge = "korc0";
  int max_pods = 110;
  std::chrono::seconds node_status_report_period{300};
  std::chrono::seconds lease_renew_period{10};
  int lease_duration_seconds = 40;
  // CrashLoopBackOff and ImagePullBackOff: `initial` doubling to `max`.
  std::chrono::nanoseconds backoff_initial = std::chrono::seconds(10);
  std::chrono::nanoseconds backoff_max = std::chrono::minutes(5);
  // Registries (HOST[:PORT]) pulled from over plain HTTP; loopback ones always are.
  std::vector<std::string> insecure_registries;
  // Registry domain -> HOST[:PORT] pulled from instead (images::RegistryOptions::mirrors).
  std::map<std::string, std::string> registry_mirrors;
  // On Stop: stop every Pod (node shutdown) or leave them running for the next kubelet.
  bool stop_pods_on_exit = false;
  reactor::RuntimeOptions bus;  // endpoints of the API server's bus
  // The body of the kubelet endpoint's GET /metrics (the node's proxy counters); none: 404.
  std::function<std::string()> metrics;
};

class KubeletReducer final : public reactor::Reducer {
 public:
  struct Env {
    std::string node_name;
    std::string address;
    uint16_t port = 0;
    MachineInfo machine;
    std::string runtime_version;
    bool isolated = false;
    std::string fixed_pod_cidr;
    int64_t status_report_ns = 0;
    int64_t lease_renew_ns = 0;
    int lease_duration_seconds = 40;
    // The images the node stores, for Node.status.images (none when unset).
    std::function<std::vector<api::ContainerImage>()> images;
  };
  // `on_pod_cidr` is called (from the runtime's thread) with the node's podCIDR each time the
  // node key is reconciled, "" while it has none.
  KubeletReducer(Env env, PodWorkers& workers, std::function<void(const std::string&)> on_pod_cidr);

  std::string_view name() const override { return name_; }
  // Services for the Pods' service environment variables; Secrets for their pull secrets.
  std::vector<std::string> kinds() const override {
    return {"Node", "Pod", "Lease", "Service", "Secret"};
  }
  void Wake(const reactor::View& view, const Event& e, const api::Object* before,
            std::vector<std::string>* keys) const override;
  void AllKeys(const reactor::View& view, std::vector<std::string>* keys) const override;
  reactor::Decision Reconcile(const reactor::View& view, const std::string& key,
                              int64_t now_ns) const override;

  // The Node as this kubelet registers it (spec + status), at `now_ns`.
  api::Node DesiredNode(int64_t now_ns) const;

 private:
  reactor::Decision ReconcileNode(const reactor::View& view, int64_t now_ns) const;
  reactor::Decision ReconcileLease(const reactor::View& view, int64_t now_ns) const;
  reactor::Decision ReconcilePod(const reactor::View& view, const std::string& key,
                                 int64_t now_ns) const;
  bool Mine(const api::Object* object) const;

  Env env_;
  std::string name_;
  PodWorkers& workers_;
  std::function<void(const std::string&)> on_pod_cidr_;
};

class Kubelet {
 public:
  // Opens the image store and the runtime, re-attaches to running Pods, starts the log
  // endpoint and the reducer's runtime thread. `ctx` must outlive the kubelet.
  static Result<std::unique_ptr<Kubelet>> Start(zmq::context_t& ctx, KubeletOptions options);
  ~Kubelet();  // Stop()

  void Stop();
  const std::string& node_name() const { return options_.node_name; }
  uint16_t port() const;
  bool synced() const { return runtime_ && runtime_->stats().synced.load(); }
  ContainerRuntime& container_runtime();
  // Set when the runtime thread ended with an error.
  Status error() const;

 private:
  explicit Kubelet(KubeletOptions options);
  void OnPodCidr(const std::string& cidr);

  KubeletOptions options_;
  std::unique_ptr<images::ImageStore> images_;
  std::unique_ptr<images::Registry> registry_;
  std::unique_ptr<images::Puller> puller_;
  std::unique_ptr<images::ImageManager> image_manager_;  // outlives workers_
  std::unique_ptr<ProcessRuntime> container_runtime_;
  std::unique_ptr<network::PodNetwork> network_;
  std::mutex network_mu_;
  std::string network_cidr_;  // guarded by network_mu_
  std::unique_ptr<PodWorkers> workers_;
  std::unique_ptr<KubeletServer> server_;
  std::unique_ptr<KubeletReducer> reducer_;
  std::unique_ptr<reactor::Runtime> runtime_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex error_mu_;
  Status error_;  // guarded by error_mu_
  bool stopped_ = false;
};

// The korc-shim next to the running executable ("" when there is none).
std::string DefaultShimPath();

}  // namespace korc::kubelet
