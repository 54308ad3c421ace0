#include "components/kubelet/agent/pod_workers.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <future>

#include "components/kubelet/images/keyring.h"
#include "components/kubelet/prober/prober.h"

namespace korc::kubelet {

namespace fs = std::filesystem;

namespace {

int64_t SystemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t Seconds(int64_t ns) { return ns - ns % 1'000'000'000; }

bool Terminating(const api::Pod& pod) { return !pod.metadata.deletion_timestamp.empty(); }

std::string PodKeyOf(std::string_view ns, std::string_view name) {
  return "pod/" + std::string(ns) + "/" + std::string(name);
}

api::ContainerStateTerminated Terminated(const ContainerInfo& info, std::string_view runtime) {
  api::ContainerStateTerminated t;
  t.exit_code = info.exit_code;
  t.signal = info.signal;
  t.reason = info.reason;
  t.message = info.message;
  t.started_at.unix_ns = Seconds(info.started_ns);
  t.finished_at.unix_ns = Seconds(info.finished_ns);
  t.container_id = std::string(runtime) + "://" + info.id;
  return t;
}

// containerStatuses[].imageID: the repository digest the image was pulled by (what the
// registry calls it, "127.0.0.1:5000/busybox@sha256:..."), else its id (imported images).
std::string ImageIdOf(const images::Image& image, const std::string& reference) {
  auto name = images::ImageName::Parse(reference);
  if (name.ok()) {
    for (const auto& d : image.repo_digests) {
      if (d.starts_with(name->Repo() + "@")) return d;
    }
  }
  return image.repo_digests.empty() ? image.id : image.repo_digests.front();
}

}  // namespace

// What the workers remember about one container of a Pod between syncs.
struct PodWorkers::ContainerTrack {
  int attempt = -1;           // latest attempt started (-1: none)
  int64_t backoff_ns = 0;     // the next restart's delay (0: restart at once)
  int64_t killing_since = 0;  // SIGTERM sent (liveness failure or termination)
  int64_t kill_deadline = 0;  // SIGKILL from then on
  std::string image_error_reason, image_error;
  std::string image_id;
  std::optional<prober::ProbeTracker> liveness, readiness;
  std::future<prober::ProbeOutcome> liveness_run, readiness_run;
  int probe_attempt = -1;  // the attempt the trackers belong to
};

struct PodWorkers::PodState {
  std::optional<api::Pod> pod;  // nullopt: gone from the log
  std::optional<Sandbox> sandbox;
  std::map<std::string, ContainerTrack> containers;
  PodObservation obs;  // the sync thread's working copy
  // What other threads read (Observe, ResolveLog), copied from the working state after each
  // sync; guarded by PodWorkers::mu_.
  PodObservation published;
  std::map<std::string, int> published_attempts;
  std::optional<Sandbox> published_sandbox;
  int64_t accepted_ns = 0;
  int64_t terminate_started = 0;
  bool orphan = false;                     // found on disk at start, not (yet) claimed by the log
  std::vector<std::string> service_env;    // guarded by PodWorkers::mu_
  std::vector<std::string> start_env;      // the sync thread's copy of service_env
  std::vector<std::string> pull_secrets;   // guarded by PodWorkers::mu_
  std::vector<std::string> start_secrets;  // the sync thread's copy of pull_secrets
  std::string uid;                         // the last Pod's; guarded by PodWorkers::mu_
};

PodWorkers::PodWorkers(PodWorkersOptions options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = SystemNowNs;
}

PodWorkers::~PodWorkers() { Stop(false); }

int64_t PodWorkers::Now() const { return options_.clock(); }

Status PodWorkers::RemoveSandbox(const std::string& sandbox_id) {
  KORC_RETURN_IF_ERROR(options_.runtime->RemoveSandbox(sandbox_id));
  if (options_.store) options_.store->Unpin(sandbox_id);
  return Status::Ok();
}

Status PodWorkers::Start() {
  auto sandboxes = options_.runtime->ListSandboxes();
  if (!sandboxes.ok()) return sandboxes.status();
  if (options_.store) {
    std::set<std::string> live;
    for (const auto& s : *sandboxes) live.insert(s.id);
    options_.store->RetainPins(live);
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& s : *sandboxes) {
      auto st = std::make_shared<PodState>();
      const std::string key = PodKeyOf(s.pod_namespace, s.pod_name);
      st->sandbox = s;
      st->orphan = true;
      st->accepted_ns = s.created_ns;
      if (auto infos = options_.runtime->ListContainers(s.id); infos.ok()) {
        for (const auto& c : *infos) {
          auto& t = st->containers[c.name];
          t.attempt = std::max(t.attempt, c.attempt);
          t.image_id = c.image_id;
        }
      }
      pods_[key] = st;
      spdlog::info("kubelet: re-attached to pod {} (sandbox {}, {} containers)", key, s.id,
                   st->containers.size());
    }
  }
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void PodWorkers::Stop(bool stop_pods, std::chrono::seconds grace_cap) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!stop_pods) return;
  // Node shutdown: every Pod gets SIGTERM now and SIGKILL after its grace (capped), then
  // its sandbox goes.
  std::map<std::string, std::shared_ptr<PodState>> pods;
  {
    std::lock_guard<std::mutex> l(mu_);
    pods = pods_;
  }
  const int64_t start = Now();
  for (auto& [key, st] : pods) {
    if (!st->sandbox) continue;
    auto infos = options_.runtime->ListContainers(st->sandbox->id);
    if (!infos.ok()) continue;
    for (const auto& c : *infos) {
      if (c.phase == ContainerPhase::kRunning)
        (void)options_.runtime->SignalContainer(c.id, SIGTERM);
    }
  }
  for (auto& [key, st] : pods) {
    if (!st->sandbox) continue;
    int64_t grace = 30;
    if (st->pod && st->pod->spec.termination_grace_period_seconds) {
      grace = *st->pod->spec.termination_grace_period_seconds;
    }
    grace = std::min<int64_t>(grace, grace_cap.count());
    const int64_t deadline = start + grace * 1'000'000'000;
    for (;;) {
      auto infos = options_.runtime->ListContainers(st->sandbox->id);
      bool running = false;
      if (infos.ok()) {
        for (const auto& c : *infos) running = running || c.phase == ContainerPhase::kRunning;
      }
      if (!running || Now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (Status s = RemoveSandbox(st->sandbox->id); !s.ok()) {
      spdlog::warn("kubelet: removing pod {}: {}", key, s.message());
    }
  }
}

void PodWorkers::Update(const std::string& key, std::optional<api::Pod> pod,
                        std::vector<std::string> service_env,
                        std::vector<std::string> pull_secrets) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto& st = pods_[key];
    if (!st) {
      if (!pod) {
        pods_.erase(key);
        return;
      }
      st = std::make_shared<PodState>();
    }
    st->orphan = false;
    if (pod) st->uid = pod->metadata.uid;
    st->pod = std::move(pod);
    st->service_env = std::move(service_env);
    st->pull_secrets = std::move(pull_secrets);
    dirty_ = true;
  }
  cv_.notify_all();
}

void PodWorkers::Retain(const std::set<std::string>& keys) {
  {
    std::lock_guard<std::mutex> l(mu_);
    retain_ = keys;
    retain_known_ = true;
    dirty_ = true;
  }
  cv_.notify_all();
}

void PodWorkers::SetNetworkReady(bool ready, std::string why) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (network_ready_ == ready && network_why_ == why) return;
    network_ready_ = ready;
    network_why_ = std::move(why);
    dirty_ = true;
  }
  cv_.notify_all();
}

PodObservation PodWorkers::Observe(const std::string& key) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = pods_.find(key);
  if (it == pods_.end()) return {};
  return it->second->published;
}

size_t PodWorkers::pod_count() const {
  std::lock_guard<std::mutex> l(mu_);
  return pods_.size();
}

std::string PodWorkers::LogPath(const api::Pod& pod, const std::string& container,
                                int attempt) const {
  return options_.log_dir + "/" + pod.metadata.namespace_ + "_" + pod.metadata.name + "_" +
         pod.metadata.uid + "/" + container + "/" + std::to_string(attempt) + ".log";
}

Result<LogLocation> PodWorkers::ResolveLog(const LogRequest& r) const {
  const std::string key = PodKeyOf(r.pod_namespace, r.pod);
  std::optional<api::Pod> pod;
  std::optional<Sandbox> sandbox;
  int attempt = -1;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = pods_.find(key);
    if (it != pods_.end()) {
      pod = it->second->pod;
      sandbox = it->second->published_sandbox;
      auto a = it->second->published_attempts.find(r.container);
      if (a != it->second->published_attempts.end()) attempt = a->second;
    }
  }
  if (!pod || !sandbox) {
    return Status::NotFound("pod \"" + r.pod + "\" in namespace \"" + r.pod_namespace +
                            "\" is not running on this node");
  }
  if (attempt < 0) {
    return Status::NotFound("container \"" + r.container + "\" in pod \"" + r.pod +
                            "\" is waiting to start");
  }
  if (r.previous) {
    if (attempt == 0) {
      return Status::NotFound("previous terminated container \"" + r.container + "\" in pod \"" +
                              r.pod + "\" not found");
    }
    return LogLocation{LogPath(*pod, r.container, attempt - 1), nullptr};
  }
  const std::string sandbox_id = sandbox->id;
  const std::string id = sandbox_id + "/" + r.container + "/" + std::to_string(attempt);
  ContainerRuntime* rt = options_.runtime;
  auto running = [rt, sandbox_id, id] {
    auto infos = rt->ListContainers(sandbox_id);
    if (!infos.ok()) return false;
    for (const auto& c : *infos) {
      if (c.id == id) return c.phase == ContainerPhase::kRunning;
    }
    return false;
  };
  return LogLocation{LogPath(*pod, r.container, attempt), running};
}

void PodWorkers::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    cv_.wait_for(l, options_.sync_period, [&] { return stop_ || dirty_; });
    if (stop_) break;
    dirty_ = false;
    auto pods = pods_;
    const bool retain_known = retain_known_;
    const std::set<std::string> retain = retain_;
    l.unlock();
    std::vector<std::string> finished;
    for (auto& [key, st] : pods) {
      if (st->orphan && retain_known && !retain.count(key)) {
        st->pod.reset();  // its Pod is not in the log: stop it
        st->orphan = false;
      }
      if (st->orphan) continue;
      PodObservation before = st->obs;
      SyncPod(key, *st, Now());
      {
        std::lock_guard<std::mutex> g(mu_);
        st->published = st->obs;
        st->published_sandbox = st->sandbox;
        st->published_attempts.clear();
        for (const auto& [name, t] : st->containers) st->published_attempts[name] = t.attempt;
      }
      if (!st->pod && !st->sandbox) finished.push_back(key);
      // Reported at once, not after the whole pass: in a burst of starts, each Pod's status
      // goes out as soon as its own containers run.
      if (!(st->obs == before) && options_.on_change) options_.on_change(key);
    }
    l.lock();
    for (const auto& key : finished) {
      auto it = pods_.find(key);
      if (it != pods_.end() && !it->second->pod) {
        if (options_.images) options_.images->Forget(it->second->uid);
        pods_.erase(it);
      }
    }
  }
}

void PodWorkers::Terminate(PodState& st, const std::vector<ContainerInfo>& infos, int64_t grace_s,
                           int64_t now) {
  if (st.terminate_started == 0) st.terminate_started = now;
  const int64_t deadline = st.terminate_started + grace_s * 1'000'000'000;
  for (const auto& c : infos) {
    if (c.phase != ContainerPhase::kRunning) continue;
    auto& t = st.containers[c.name];
    if (t.killing_since == 0) {
      t.killing_since = now;
      (void)options_.runtime->SignalContainer(c.id, SIGTERM);
    }
    if (now >= deadline) (void)options_.runtime->SignalContainer(c.id, SIGKILL);
  }
}

void PodWorkers::SyncPod(const std::string& key, PodState& st, int64_t now) {
  std::optional<api::Pod> pod;
  {
    std::lock_guard<std::mutex> l(mu_);
    pod = st.pod;
    st.start_env = st.service_env;
    st.start_secrets = st.pull_secrets;
  }
  // A different Pod under the same name: the old one's sandbox goes first.
  if (pod && st.sandbox && !st.sandbox->pod_uid.empty() &&
      st.sandbox->pod_uid != pod->metadata.uid) {
    if (Status s = RemoveSandbox(st.sandbox->id); !s.ok()) {
      spdlog::warn("kubelet: {}: removing the previous pod's sandbox: {}", key, s.message());
      return;
    }
    st.sandbox.reset();
    st.containers.clear();
    st.obs = {};
    st.terminate_started = 0;
  }
  std::vector<ContainerInfo> infos;
  if (st.sandbox) {
    auto list = options_.runtime->ListContainers(st.sandbox->id);
    if (list.ok()) infos = std::move(*list);
  }

  if (!pod || Terminating(*pod)) {
    if (st.sandbox) {
      int64_t grace = 0;
      if (pod) {
        grace = pod->metadata.deletion_grace_period_seconds.value_or(
            pod->spec.termination_grace_period_seconds.value_or(30));
      }
      Terminate(st, infos, grace, now);
      bool running = false;
      for (const auto& c : infos) running = running || c.phase == ContainerPhase::kRunning;
      if (running) {
        // Keep reporting the containers while they stop.
        if (pod) SyncContainers(key, st, *pod, now, infos);
        return;
      }
      if (Status s = RemoveSandbox(st.sandbox->id); !s.ok()) {
        spdlog::warn("kubelet: {}: removing sandbox: {}", key, s.message());
        return;
      }
      spdlog::info("kubelet: {}: stopped; sandbox removed", key);
      st.sandbox.reset();
    }
    if (pod) {
      SyncContainers(key, st, *pod, now, infos);
      st.obs.terminated = true;
    } else {
      std::error_code ec;
      // Logs go with the Pod object.
      for (const auto& entry : fs::directory_iterator(options_.log_dir, ec)) {
        const std::string n = entry.path().filename().string();
        const std::string prefix = key.substr(4);  // "<ns>/<name>"
        const size_t slash = prefix.find('/');
        if (n.rfind(prefix.substr(0, slash) + "_" + prefix.substr(slash + 1) + "_", 0) == 0) {
          fs::remove_all(entry.path(), ec);
        }
      }
    }
    return;
  }
  if (pod->status.phase == "Succeeded" || pod->status.phase == "Failed") {
    // Terminal: nothing restarts; the containers' last states stay as reported.
    SyncContainers(key, st, *pod, now, infos);
    return;
  }

  if (st.accepted_ns == 0) st.accepted_ns = now;
  st.obs.known = true;
  st.obs.start_time_ns = st.accepted_ns;
  if (!st.sandbox) {
    bool network_ready;
    std::string why;
    {
      std::lock_guard<std::mutex> l(mu_);
      network_ready = network_ready_;
      why = network_why_;
    }
    if (!network_ready && !pod->spec.host_network) {
      st.obs.message = why;
      SyncContainers(key, st, *pod, now, infos);
      return;
    }
    SandboxConfig sc;
    sc.id = pod->metadata.uid;
    sc.pod_namespace = pod->metadata.namespace_;
    sc.pod_name = pod->metadata.name;
    sc.pod_uid = pod->metadata.uid;
    sc.hostname = pod->spec.hostname.empty() ? pod->metadata.name : pod->spec.hostname;
    sc.host_network = pod->spec.host_network;
    for (const auto& v : pod->spec.volumes) {
      if (v.empty_dir) sc.volumes.push_back(v.name);
    }
    auto sandbox = options_.runtime->RunSandbox(sc);
    if (!sandbox.ok()) {
      st.obs.message = "cannot create the pod sandbox: " + sandbox.status().message();
      SyncContainers(key, st, *pod, now, infos);
      return;
    }
    st.sandbox = *sandbox;
    spdlog::info("kubelet: {}: sandbox {} ip {}", key, sandbox->id, sandbox->ip);
  }
  st.obs.message.clear();
  st.obs.sandbox_ready = true;
  st.obs.pod_ip = st.sandbox->ip;

  // Start or restart what should run, in spec order.
  for (const auto& c : pod->spec.containers) {
    auto& t = st.containers[c.name];
    const ContainerInfo* latest = nullptr;
    for (const auto& i : infos) {
      if (i.name == c.name && i.attempt == t.attempt) latest = &i;
    }
    bool start = false;
    int next_attempt = t.attempt + 1;
    if (t.attempt < 0 || !latest) {
      start = true;
      next_attempt = std::max(0, t.attempt + (latest ? 1 : 0));
      if (t.attempt >= 0 && !latest) next_attempt = t.attempt + 1;
    } else if (latest->phase == ContainerPhase::kRunning) {
      if (t.liveness && !t.liveness->healthy() && t.killing_since == 0) {
        spdlog::info("kubelet: {}: container {} failed liveness probe, will be restarted ({})", key,
                     c.name, t.liveness->last_message());
        t.killing_since = now;
        int64_t grace = pod->spec.termination_grace_period_seconds.value_or(30);
        if (t.liveness->probe().termination_grace_period_seconds) {
          grace = *t.liveness->probe().termination_grace_period_seconds;
        }
        t.kill_deadline = now + grace * 1'000'000'000;
        (void)options_.runtime->SignalContainer(latest->id, SIGTERM);
      } else if (t.killing_since != 0 && now >= t.kill_deadline) {
        (void)options_.runtime->SignalContainer(latest->id, SIGKILL);
      }
    } else if (latest->phase == ContainerPhase::kExited) {
      const std::string& policy = pod->spec.restart_policy;
      const bool restart =
          policy == "Always" || policy.empty() || (policy == "OnFailure" && latest->exit_code != 0);
      if (restart) {
        // A container that ran long enough starts its back-off over.
        if (latest->finished_ns - latest->started_ns > 2 * options_.backoff_max.count()) {
          t.backoff_ns = 0;
        }
        if (now >= latest->finished_ns + t.backoff_ns) {
          start = true;
          t.backoff_ns = t.backoff_ns == 0
                             ? options_.backoff_initial.count()
                             : std::min<int64_t>(2 * t.backoff_ns, options_.backoff_max.count());
        }
      }
    }
    if (!start) continue;

    // The image, as its pull policy wants it; a pull runs elsewhere while this waits.
    std::vector<images::Credential> creds;
    if (auto name = images::ImageName::Parse(c.image); name.ok()) {
      creds = images::CredentialsFor(*name, st.start_secrets);
    }
    images::ImageDecision decision =
        options_.images->Ensure(pod->metadata.uid, c.image, c.image_pull_policy, creds);
    if (decision.kind != images::ImageDecision::kReady) {
      t.image_error_reason = decision.reason;
      t.image_error = decision.reason.empty() ? "" : decision.message;
      continue;
    }
    const images::Image* image = &decision.image;
    t.image_error_reason.clear();
    t.image_error.clear();
    t.image_id = ImageIdOf(*image, c.image);
    ContainerConfig cc;
    cc.sandbox_id = st.sandbox->id;
    cc.name = c.name;
    cc.attempt = next_attempt;
    cc.image = c.image;
    cc.image_id = t.image_id;
    cc.rootfs = image->rootfs;
    cc.env = ContainerEnv(c, image->config, st.start_env);
    auto argv = ContainerArgv(c, image->config, cc.env);
    if (!argv.ok()) {
      t.image_error_reason = "CreateContainerConfigError";
      t.image_error = argv.status().message();
      continue;
    }
    cc.argv = *argv;
    cc.working_dir = c.working_dir.empty() ? image->config.working_dir : c.working_dir;
    auto user = ContainerUser(pod->spec, c, image->config, image->rootfs);
    if (!user.ok()) {
      t.image_error_reason = "CreateContainerConfigError";
      t.image_error = user.status().message();
      continue;
    }
    cc.uid = user->uid;
    cc.gid = user->gid;
    for (const auto& vm : c.volume_mounts) {
      std::string host = st.sandbox->VolumePath(vm.name);
      if (!vm.sub_path.empty()) {
        host += "/" + vm.sub_path;
        std::error_code ec;
        fs::create_directories(host, ec);
      }
      cc.mounts.push_back({host, vm.mount_path, vm.read_only});
    }
    cc.limits = ContainerLimits(c);
    cc.log_path = LogPath(*pod, c.name, next_attempt);
    cc.log_max_bytes = options_.log_max_bytes;
    cc.log_max_files = options_.log_max_files;
    // The image's root stays while this Pod's containers run from it, even if untagged.
    if (options_.store) {
      if (Status pinned = options_.store->Pin(image->id, st.sandbox->id); !pinned.ok()) {
        spdlog::warn("kubelet: {}: pinning image {}: {}", key, image->id, pinned.message());
      }
    }
    auto id = options_.runtime->StartContainer(cc);
    if (!id.ok()) {
      t.image_error_reason = "CreateContainerError";
      t.image_error = id.status().message();
      spdlog::warn("kubelet: {}: starting container {}: {}", key, c.name, id.status().message());
      continue;
    }
    spdlog::info("kubelet: {}: started container {} (attempt {})", key, c.name, next_attempt);
    // The attempt before the previous one is of no more use (its log file stays).
    if (next_attempt >= 2) {
      (void)options_.runtime->RemoveContainer(st.sandbox->id + "/" + c.name + "/" +
                                              std::to_string(next_attempt - 2));
    }
    t.attempt = next_attempt;
    t.killing_since = 0;
    t.kill_deadline = 0;
  }
  auto list = options_.runtime->ListContainers(st.sandbox->id);
  if (list.ok()) infos = std::move(*list);
  RunProbes(st, *pod, now);
  SyncContainers(key, st, *pod, now, infos);
}

void PodWorkers::RunProbes(PodState& st, const api::Pod& pod, int64_t now) {
  for (const auto& c : pod.spec.containers) {
    auto& t = st.containers[c.name];
    if (t.attempt < 0) continue;
    const std::string id = st.sandbox->id + "/" + c.name + "/" + std::to_string(t.attempt);
    auto info = [&]() -> std::optional<ContainerInfo> {
      auto infos = options_.runtime->ListContainers(st.sandbox->id);
      if (!infos.ok()) return std::nullopt;
      for (const auto& i : *infos) {
        if (i.id == id) return i;
      }
      return std::nullopt;
    }();
    if (!info || info->phase != ContainerPhase::kRunning) continue;
    if (t.probe_attempt != t.attempt) {
      t.probe_attempt = t.attempt;
      t.liveness.reset();
      t.readiness.reset();
      if (c.liveness_probe) {
        t.liveness.emplace(prober::ProbeKind::kLiveness, *c.liveness_probe, info->started_ns);
      }
      if (c.readiness_probe) {
        t.readiness.emplace(prober::ProbeKind::kReadiness, *c.readiness_probe, info->started_ns);
      }
    }
    const std::string ip = st.sandbox->ip;
    ContainerRuntime* rt = options_.runtime;
    auto launch = [&](prober::ProbeTracker& tracker) {
      const api::Probe probe = tracker.probe();
      const int timeout = tracker.timeout_ms();
      return std::async(std::launch::async, [probe, timeout, ip, c, rt, id] {
        if (probe.exec) {
          auto r = rt->Exec(id, probe.exec->command, timeout);
          if (!r.ok())
            return prober::ProbeOutcome{prober::ProbeResult::kFailure, r.status().message()};
          if (r->timed_out) {
            return prober::ProbeOutcome{
                prober::ProbeResult::kFailure,
                "command timed out after " + std::to_string(timeout) + " ms"};
          }
          if (r->exit_code != 0) {
            return prober::ProbeOutcome{prober::ProbeResult::kFailure,
                                        "command exited with " + std::to_string(r->exit_code) +
                                            (r->output.empty() ? "" : ": " + r->output)};
          }
          return prober::ProbeOutcome{prober::ProbeResult::kSuccess, ""};
        }
        if (probe.http_get) {
          auto port = prober::ResolvePort(probe.http_get->port, c);
          if (!port.ok())
            return prober::ProbeOutcome{prober::ProbeResult::kFailure, port.status().message()};
          return prober::ProbeHttp(ip, *port, *probe.http_get, timeout);
        }
        if (probe.tcp_socket) {
          auto port = prober::ResolvePort(probe.tcp_socket->port, c);
          if (!port.ok())
            return prober::ProbeOutcome{prober::ProbeResult::kFailure, port.status().message()};
          const std::string host = probe.tcp_socket->host.empty() ? ip : probe.tcp_socket->host;
          return prober::ProbeTcp(host, *port, timeout);
        }
        return prober::ProbeOutcome{prober::ProbeResult::kFailure, "probe has no handler"};
      });
    };
    for (auto [tracker, run] :
         {std::pair{&t.liveness, &t.liveness_run}, std::pair{&t.readiness, &t.readiness_run}}) {
      if (!*tracker) continue;
      if (run->valid()) {
        if (run->wait_for(std::chrono::seconds(0)) != std::future_status::ready) continue;
        (*tracker)->Record(run->get(), now);
        continue;
      }
      if (now >= (*tracker)->NextDueNs()) *run = launch(**tracker);
    }
  }
}

void PodWorkers::SyncContainers(const std::string& key, PodState& st, const api::Pod& pod,
                                int64_t now, const std::vector<ContainerInfo>& infos) {
  (void)key;
  const std::string runtime(options_.runtime->name());
  std::vector<ContainerObservation> out;
  for (const auto& c : pod.spec.containers) {
    auto& t = st.containers[c.name];
    ContainerObservation o;
    o.name = c.name;
    o.image = c.image;
    o.image_id = t.image_id;
    o.restart_count = std::max(0, t.attempt);
    const ContainerInfo *latest = nullptr, *previous = nullptr;
    for (const auto& i : infos) {
      if (i.name != c.name) continue;
      if (i.attempt == t.attempt) latest = &i;
      if (i.attempt == t.attempt - 1) previous = &i;
    }
    if (previous && previous->phase == ContainerPhase::kExited) {
      o.last_state.terminated = Terminated(*previous, runtime);
    }
    if (!latest) {
      api::ContainerStateWaiting w;
      if (!t.image_error_reason.empty()) {
        w.reason = t.image_error_reason;
        w.message = t.image_error;
      } else {
        w.reason = "ContainerCreating";
        if (!st.obs.message.empty()) w.message = st.obs.message;
      }
      o.state.waiting = w;
    } else {
      o.container_id = runtime + "://" + latest->id;
      if (latest->phase == ContainerPhase::kRunning) {
        o.state.running = api::ContainerStateRunning{api::Time{Seconds(latest->started_ns)}};
        o.started = true;
        o.ready = !Terminating(pod) && (!t.readiness || t.readiness->healthy());
      } else if (latest->phase == ContainerPhase::kExited) {
        const std::string& policy = pod.spec.restart_policy;
        const bool restart = !Terminating(pod) && pod.status.phase != "Succeeded" &&
                             pod.status.phase != "Failed" &&
                             (policy == "Always" || policy.empty() ||
                              (policy == "OnFailure" && latest->exit_code != 0));
        if (restart) {
          o.last_state = {};
          o.last_state.terminated = Terminated(*latest, runtime);
          api::ContainerStateWaiting w;
          w.reason = "CrashLoopBackOff";
          w.message = "back-off " + std::to_string(t.backoff_ns / 1'000'000'000) +
                      "s restarting failed container=" + c.name + " pod=" + pod.metadata.name +
                      "_" + pod.metadata.namespace_ + "(" + pod.metadata.uid + ")";
          o.state.waiting = w;
        } else {
          o.state.terminated = Terminated(*latest, runtime);
        }
      } else {
        o.state.waiting = api::ContainerStateWaiting{"ContainerCreating", ""};
      }
    }
    out.push_back(std::move(o));
  }
  (void)now;
  st.obs.containers = std::move(out);
}

}  // namespace korc::kubelet
