// PodWorkers: the kubelet's hands. The kubelet's reducer tells it which Pods the log binds to
// this node (Update); one sync thread drives each of them toward that — sandbox, containers
// started in order, restarts under the restart policy with CrashLoopBackOff, liveness
// restarts, graceful termination — and records what it observes (Observe). Whenever an
// observation changes it calls `on_change(key)`, and the reducer turns the observation into
// the Pod's status.
//
// Probes run on their own threads (a probe may take its whole timeout); their results are
// folded in by the sync thread.
//
// Keys are the reducer's Pod keys, "pod/<namespace>/<name>".
//
// Thread-safety: every public method may be called from any thread. Lifetimes: the runtime
// and the image store must outlive the workers.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "components/kubelet/agent/pod_status.h"
#include "components/kubelet/images/image_manager.h"
#include "components/kubelet/runtime/runtime.h"
#include "components/kubelet/server/kubelet_server.h"
#include "core/objects.h"

namespace korc::kubelet {

struct PodWorkersOptions {
  ContainerRuntime* runtime = nullptr;
  images::ImageManager* images = nullptr;  // pull policies, pulls and their back-off
  images::ImageStore* store = nullptr;     // pins the images of running sandboxes (optional)
  std::string log_dir;                     // <log_dir>/<ns>_<name>_<uid>/<container>/<attempt>.log
  int64_t log_max_bytes = 10 * 1024 * 1024;
  int log_max_files = 5;
  // CrashLoopBackOff: the first restart is immediate, then `initial` doubling to `max`; a
  // container that ran for 2 × max starts over.
  std::chrono::nanoseconds backoff_initial = std::chrono::seconds(10);
  std::chrono::nanoseconds backoff_max = std::chrono::minutes(5);
  std::chrono::milliseconds sync_period{50};
  std::function<void(const std::string& key)> on_change;
  std::function<int64_t()> clock;  // unix ns; default: the system clock
};

class PodWorkers {
 public:
  explicit PodWorkers(PodWorkersOptions options);
  ~PodWorkers();  // Stop(false)

  // Re-attaches to the sandboxes the runtime already has, then starts the sync thread.
  Status Start();
  // Ends the threads. With `stop_pods`, every container is stopped first (SIGTERM, SIGKILL
  // after each Pod's grace period, at most `grace_cap`) and the sandboxes removed — a node
  // shutting down; without, containers keep running for the next kubelet to re-attach.
  void Stop(bool stop_pods, std::chrono::seconds grace_cap = std::chrono::seconds(30));

  // The Pod as the log has it now; nullopt when the log no longer has it (removed while the
  // kubelet was away, or force-deleted): its containers are killed at once. `service_env`
  // (ServiceEnv of the Services the Pod may see now) goes to the containers started next;
  // `pull_secrets` (the .dockerconfigjson of each of the Pod's imagePullSecrets that
  // exists, in order) to the pulls of their images.
  void Update(const std::string& key, std::optional<api::Pod> pod,
              std::vector<std::string> service_env = {},
              std::vector<std::string> pull_secrets = {});
  // Every Pod key the log binds to this node: sandboxes of any other Pod are removed.
  void Retain(const std::set<std::string>& keys);
  // Whether Pods that need a network of their own can start: the node's podCIDR is known.
  void SetNetworkReady(bool ready, std::string why);

  PodObservation Observe(const std::string& key) const;
  // For the kubelet's log endpoint.
  Result<LogLocation> ResolveLog(const LogRequest& request) const;
  size_t pod_count() const;

 private:
  struct ContainerTrack;
  struct PodState;
  void Loop();
  // The runtime's RemoveSandbox, then the sandbox's image pins go.
  Status RemoveSandbox(const std::string& sandbox_id);
  void SyncPod(const std::string& key, PodState& st, int64_t now);
  void SyncContainers(const std::string& key, PodState& st, const api::Pod& pod, int64_t now,
                      const std::vector<ContainerInfo>& infos);
  void Terminate(PodState& st, const std::vector<ContainerInfo>& infos, int64_t grace_s,
                 int64_t now);
  void RunProbes(PodState& st, const api::Pod& pod, int64_t now);
  std::string LogPath(const api::Pod& pod, const std::string& container, int attempt) const;
  int64_t Now() const;

  PodWorkersOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<PodState>> pods_;  // guarded by mu_
  std::set<std::string> retain_;                           // guarded by mu_
  bool retain_known_ = false;                              // guarded by mu_
  bool network_ready_ = true;                              // guarded by mu_
  std::string network_why_;                                // guarded by mu_
  bool stop_ = false;                                      // guarded by mu_
  bool dirty_ = false;                                     // guarded by mu_
  std::thread thread_;
};

}  // namespace korc::kubelet
