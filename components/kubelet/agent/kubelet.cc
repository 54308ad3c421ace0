#include "components/kubelet/agent/kubelet.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "components/kubelet/network/pod_network.h"
#include "components/kubelet/runtime/process_runtime.h"
#include "components/kubelet/runtime/runc_bundle.h"
#include "components/kubelet/server/kubelet_server.h"
#include "core/kinds.h"

namespace korc::kubelet {

namespace fs = std::filesystem;
using reactor::Command;
using reactor::Decision;

namespace {

constexpr std::string_view kPodPrefix = "pod/";

// Node.status.images as Kubernetes reports them: per image, its repository digests and tags,
// and its size; largest first, at most 50 (the kubelet's nodeStatusMaxImages).
std::vector<api::ContainerImage> NodeImages(const images::ImageStore& store) {
  auto list = store.List();
  if (!list.ok()) return {};
  std::map<std::string, api::ContainerImage> by_id;
  for (const auto& image : *list) {
    api::ContainerImage& c = by_id[image.id];
    if (c.names.empty()) c.names = image.repo_digests;
    c.names.push_back(image.reference);
    c.size_bytes = image.size_bytes;
  }
  std::vector<api::ContainerImage> out;
  for (auto& [id, c] : by_id) out.push_back(std::move(c));
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.size_bytes > b.size_bytes; });
  if (out.size() > 50) out.resize(50);
  return out;
}

std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

int64_t Seconds(int64_t ns) { return ns - ns % 1'000'000'000; }

std::string OsImage() {
  std::ifstream in("/etc/os-release");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("PRETTY_NAME=", 0) == 0) {
      std::string v = line.substr(12);
      if (v.size() >= 2 && v.front() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
  }
  return "Linux";
}

// Everything in a Node status but the heartbeat times: what decides whether a status write
// says anything new.
api::NodeStatus WithoutHeartbeats(api::NodeStatus s) {
  for (auto& c : s.conditions) c.last_heartbeat_time = {};
  return s;
}

}  // namespace

MachineInfo MachineInfo::Read(int max_pods) {
  MachineInfo m;
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  m.hostname = host;
  std::transform(m.hostname.begin(), m.hostname.end(), m.hostname.begin(), ::tolower);
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  m.capacity["cpu"] = Quantity::FromInt(cpus > 0 ? cpus : 1, Quantity::Format::kDecimalSI);
  int64_t mem_kib = 0;
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  while (meminfo >> key) {
    if (key == "MemTotal:") {
      meminfo >> mem_kib;
      break;
    }
    meminfo.ignore(1 << 10, '\n');
  }
  m.capacity["memory"] = Quantity::FromInt(mem_kib * 1024, Quantity::Format::kBinarySI);
  m.capacity["pods"] = Quantity::FromInt(max_pods, Quantity::Format::kDecimalSI);
  struct statvfs vfs;
  if (statvfs(".", &vfs) == 0) {
    m.capacity["ephemeral-storage"] =
        Quantity::FromInt(static_cast<int64_t>(vfs.f_blocks) * static_cast<int64_t>(vfs.f_frsize),
                          Quantity::Format::kBinarySI);
  }
  struct utsname u;
  uname(&u);
  m.info.machine_id = FirstLine("/etc/machine-id");
  m.info.system_uuid = FirstLine("/sys/class/dmi/id/product_uuid");
  if (m.info.system_uuid.empty()) m.info.system_uuid = m.info.machine_id;
  m.info.boot_id = FirstLine("/proc/sys/kernel/random/boot_id");
  m.info.kernel_version = u.release;
  m.info.os_image = OsImage();
  m.info.kubelet_version = std::string(kKubeletVersion);
  m.info.kube_proxy_version = std::string(kKubeletVersion);
  m.info.operating_system = "linux";
  std::string arch = u.machine;
  m.info.architecture = arch == "x86_64" ? "amd64" : arch == "aarch64" ? "arm64" : arch;
  return m;
}

std::string DefaultShimPath() {
  if (const char* env = getenv("KORC_SHIM"); env != nullptr && access(env, X_OK) == 0) return env;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  // Installed: next to korc. In a build tree: components/kubelet/runtime/ of the build root,
  // some levels above the running executable (korc itself, or a test).
  if (fs::path p = self.parent_path() / "korc-shim"; access(p.c_str(), X_OK) == 0) return p;
  for (fs::path dir = self.parent_path(); dir.has_relative_path(); dir = dir.parent_path()) {
    fs::path p = dir / "components/kubelet/runtime/korc-shim";
    if (access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// ---------------------------------------------------------------------------------------
// KubeletReducer

KubeletReducer::KubeletReducer(Env env, PodWorkers& workers,
                               std::function<void(const std::string&)> on_pod_cidr)
    : env_(std::move(env)),
      name_("system:node:" + env_.node_name),
      workers_(workers),
      on_pod_cidr_(std::move(on_pod_cidr)) {}

bool KubeletReducer::Mine(const api::Object* object) const {
  if (object == nullptr) return false;
  const auto* pod = std::get_if<api::Pod>(object);
  return pod != nullptr && pod->spec.node_name == env_.node_name;
}

void KubeletReducer::Wake(const reactor::View& view, const Event& e, const api::Object* before,
                          std::vector<std::string>* keys) const {
  if (e.kind == "Node") {
    if (e.name == env_.node_name) keys->push_back("node");
    return;
  }
  if (e.kind == "Lease") {
    if (e.ns == kNodeLeaseNamespace && e.name == env_.node_name) keys->push_back("lease");
    return;
  }
  if (e.kind == "Secret") {
    // Pods that pull with it start their next pull with what it says now.
    for (const api::Pod* pod : view.ListAs<api::Pod>(e.ns)) {
      if (pod->spec.node_name != env_.node_name) continue;
      for (const auto& ref : pod->spec.image_pull_secrets) {
        if (ref.name == e.name) {
          keys->push_back(std::string(kPodPrefix) + e.ns + "/" + pod->metadata.name);
          break;
        }
      }
    }
    return;
  }
  if (e.kind != "Pod") return;
  const reactor::ViewItem* now = view.Find("Pod", e.ns, e.name);
  if (Mine(before) || (now && Mine(&now->object))) {
    keys->push_back(std::string(kPodPrefix) + e.ns + "/" + e.name);
    keys->push_back("node");  // the set of Pods to keep changed
  }
}

void KubeletReducer::AllKeys(const reactor::View& view, std::vector<std::string>* keys) const {
  keys->push_back("node");
  keys->push_back("lease");
  for (const api::Pod* pod : view.ListAs<api::Pod>()) {
    if (pod->spec.node_name == env_.node_name) {
      keys->push_back(std::string(kPodPrefix) + pod->metadata.namespace_ + "/" +
                      pod->metadata.name);
    }
  }
}

api::Node KubeletReducer::DesiredNode(int64_t now_ns) const {
  api::Node n;
  n.metadata.name = env_.node_name;
  n.metadata.labels = {{"kubernetes.io/hostname", env_.node_name},
                       {"kubernetes.io/os", "linux"},
                       {"kubernetes.io/arch", env_.machine.info.architecture},
                       {"beta.kubernetes.io/os", "linux"},
                       {"beta.kubernetes.io/arch", env_.machine.info.architecture}};
  n.metadata.annotations = {{"korc.io/isolation", env_.isolated ? "namespaces" : "off"}};
  if (!env_.fixed_pod_cidr.empty()) {
    n.spec.pod_cidr = env_.fixed_pod_cidr;
    n.spec.pod_cidrs = {env_.fixed_pod_cidr};
  }
  auto& s = n.status;
  s.capacity = env_.machine.capacity;
  s.allocatable = env_.machine.capacity;
  s.addresses = {{"InternalIP", env_.address}, {"Hostname", env_.machine.hostname}};
  s.daemon_endpoints.kubelet_endpoint.port = env_.port;
  s.node_info = env_.machine.info;
  s.node_info.container_runtime_version = env_.runtime_version;
  if (env_.images) s.images = env_.images();
  const api::Time now{Seconds(now_ns)};
  auto cond = [&](std::string type, std::string status, std::string reason, std::string message) {
    api::NodeCondition c;
    c.type = std::move(type);
    c.status = std::move(status);
    c.last_heartbeat_time = now;
    c.last_transition_time = now;
    c.reason = std::move(reason);
    c.message = std::move(message);
    return c;
  };
  s.conditions = {
      cond("MemoryPressure", "False", "KubeletHasSufficientMemory",
           "kubelet has sufficient memory available"),
      cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      cond("PIDPressure", "False", "KubeletHasSufficientPID",
           "kubelet has sufficient PID available"),
      cond("Ready", "True", "KubeletReady",
           env_.isolated
               ? "kubelet is posting ready status"
               : "kubelet is posting ready status; isolation is off: not root, so containers "
                 "run as plain processes on the node's filesystem and network"),
  };
  return n;
}

Decision KubeletReducer::ReconcileNode(const reactor::View& view, int64_t now_ns) const {
  const api::Node* node = view.Get<api::Node>("", env_.node_name);
  std::set<std::string> pods;
  for (const api::Pod* pod : view.ListAs<api::Pod>()) {
    if (pod->spec.node_name == env_.node_name) {
      pods.insert(std::string(kPodPrefix) + pod->metadata.namespace_ + "/" + pod->metadata.name);
    }
  }
  workers_.Retain(pods);
  api::Node desired = DesiredNode(now_ns);
  if (node == nullptr) {
    on_pod_cidr_(env_.fixed_pod_cidr);
    return Decision{{Command::Create(api::Object(desired), "register node " + env_.node_name)},
                    std::chrono::seconds(1),
                    "node " + env_.node_name + ": registering"};
  }
  on_pod_cidr_(node->spec.pod_cidr);
  api::Node updated = *node;
  updated.status = desired.status;
  // Conditions keep their transition time while their status holds.
  for (auto& c : updated.status.conditions) {
    for (const auto& old : node->status.conditions) {
      if (old.type == c.type && old.status == c.status)
        c.last_transition_time = old.last_transition_time;
    }
  }
  int64_t last_beat = 0;
  for (const auto& c : node->status.conditions) {
    if (c.type == "Ready") last_beat = c.last_heartbeat_time.unix_ns;
  }
  const bool changed = WithoutHeartbeats(updated.status) != WithoutHeartbeats(node->status);
  const bool due = now_ns - last_beat >= env_.status_report_ns;
  const int64_t next = std::max<int64_t>(1'000'000'000, last_beat + env_.status_report_ns - now_ns);
  if (!changed && !due) {
    return Decision{{}, std::chrono::nanoseconds(next), "node " + env_.node_name + ": up to date"};
  }
  return Decision{{Command::UpdateStatus(api::Object(updated),
                                         changed ? "node status changed" : "node status report")},
                  env_.status_report_ns > 0
                      ? std::optional(std::chrono::nanoseconds(env_.status_report_ns))
                      : std::nullopt,
                  "node " + env_.node_name + (changed ? ": status changed" : ": periodic status")};
}

Decision KubeletReducer::ReconcileLease(const reactor::View& view, int64_t now_ns) const {
  const api::Lease* lease = view.Get<api::Lease>(kNodeLeaseNamespace, env_.node_name);
  const auto renew = std::chrono::nanoseconds(env_.lease_renew_ns);
  if (view.Get<api::Node>("", env_.node_name) == nullptr) {
    // Kubernetes makes the Node the Lease's owner, so the Lease goes with it.
    return Decision{{}, std::chrono::seconds(1), "lease: waiting for the node to register"};
  }
  const api::Node& node = *view.Get<api::Node>("", env_.node_name);
  if (lease == nullptr) {
    api::Lease l;
    l.metadata.name = env_.node_name;
    l.metadata.namespace_ = std::string(kNodeLeaseNamespace);
    l.metadata.owner_references = {api::OwnerReference{
        "v1", "Node", node.metadata.name, node.metadata.uid, std::nullopt, std::nullopt}};
    l.spec.holder_identity = env_.node_name;
    l.spec.lease_duration_seconds = env_.lease_duration_seconds;
    l.spec.renew_time.unix_ns = now_ns - now_ns % 1000;
    return Decision{
        {Command::Create(api::Object(l), "create node lease")}, renew, "lease: creating"};
  }
  const int64_t since = now_ns - lease->spec.renew_time.unix_ns;
  if (since < env_.lease_renew_ns) {
    return Decision{{}, std::chrono::nanoseconds(env_.lease_renew_ns - since), "lease: fresh"};
  }
  api::Lease l = *lease;
  l.spec.holder_identity = env_.node_name;
  l.spec.lease_duration_seconds = env_.lease_duration_seconds;
  l.spec.renew_time.unix_ns = now_ns - now_ns % 1000;
  return Decision{{Command::Update(api::Object(l), "renew node lease")}, renew, "lease: renewed"};
}

Decision KubeletReducer::ReconcilePod(const reactor::View& view, const std::string& key,
                                      int64_t now_ns) const {
  const std::string nsname = key.substr(kPodPrefix.size());
  const size_t slash = nsname.find('/');
  if (slash == std::string::npos) return Decision{{}, std::nullopt, "bad key " + key};
  const std::string ns = nsname.substr(0, slash), name = nsname.substr(slash + 1);
  const api::Pod* pod = view.Get<api::Pod>(ns, name);
  if (pod == nullptr || pod->spec.node_name != env_.node_name) {
    workers_.Update(key, std::nullopt);
    return Decision{{}, std::nullopt, "pod " + nsname + ": not on this node"};
  }
  // Service links: the Services of the Pod's namespace, unless the Pod turned them off.
  std::vector<std::string> service_env;
  if (pod->spec.enable_service_links.value_or(true)) {
    service_env = ServiceEnv(view.ListAs<api::Service>(ns));
  }
  // Pull secrets: the registry credentials of the Pod's imagePullSecrets that exist (a
  // missing one is skipped, as Kubernetes does), in the Pod's order.
  std::vector<std::string> pull_secrets;
  for (const auto& ref : pod->spec.image_pull_secrets) {
    const api::Secret* secret = view.Get<api::Secret>(ns, ref.name);
    if (secret == nullptr) continue;
    for (const char* key : {".dockerconfigjson", ".dockercfg"}) {
      if (auto it = secret->data.find(key); it != secret->data.end()) {
        pull_secrets.push_back(it->second.value);
      }
    }
  }
  workers_.Update(key, *pod, std::move(service_env), std::move(pull_secrets));
  const PodObservation obs = workers_.Observe(key);
  if (!pod->metadata.deletion_timestamp.empty() && obs.terminated) {
    nlohmann::json opts = {{"gracePeriodSeconds", 0}};
    if (!pod->metadata.uid.empty()) opts["preconditions"]["uid"] = pod->metadata.uid;
    Command c{
        reactor::Verb::kDelete,
        std::string(KindName<api::Pod>()),
        ns,
        name,
        opts.dump(),
        "confirm deletion of pod " + nsname + ": its containers stopped on node " + env_.node_name,
        {}};
    return Decision{{std::move(c)}, std::nullopt, "pod " + nsname + ": stopped, confirming"};
  }
  if (!obs.known && pod->metadata.deletion_timestamp.empty()) {
    // The worker has not looked at it yet; it wakes this key when it has.
    return Decision{{}, std::nullopt, "pod " + nsname + ": handed to its worker"};
  }
  api::Pod updated = *pod;
  updated.status = ComputePodStatus(*pod, obs, env_.address, now_ns);
  if (updated.status == pod->status) {
    return Decision{{}, std::nullopt, "pod " + nsname + ": status up to date"};
  }
  std::string what = "pod " + nsname + ": " + updated.status.phase;
  for (const auto& c : updated.status.container_statuses) {
    if (c.state.waiting && !c.state.waiting->reason.empty()) {
      what += ", " + c.name + " " + c.state.waiting->reason;
    }
  }
  return Decision{{Command::UpdateStatus(api::Object(updated), what)}, std::nullopt, what};
}

Decision KubeletReducer::Reconcile(const reactor::View& view, const std::string& key,
                                   int64_t now_ns) const {
  if (key == "node") return ReconcileNode(view, now_ns);
  if (key == "lease") return ReconcileLease(view, now_ns);
  if (key.starts_with(kPodPrefix)) return ReconcilePod(view, key, now_ns);
  return Decision{{}, std::nullopt, "unknown key " + key};
}

// ---------------------------------------------------------------------------------------
// Kubelet

Result<std::unique_ptr<Kubelet>> Kubelet::Start(zmq::context_t& ctx, KubeletOptions options) {
  const MachineInfo machine = MachineInfo::Read(options.max_pods);
  if (options.node_name.empty()) options.node_name = machine.hostname;
  if (!options.isolate) options.isolate = geteuid() == 0;
  if (options.shim_path.empty()) options.shim_path = DefaultShimPath();
  if (options.runtime != "process" && options.runtime != "runc") {
    return Status::Invalid("--runtime: \"" + options.runtime + "\" is not one of process, runc");
  }
  if (options.runtime == "runc") {
    if (options.runc_path.empty()) options.runc_path = runc::FindRunc();
    if (options.runc_path.empty()) return Status::Invalid("--runtime=runc: runc is not installed");
    if (!*options.isolate) return Status::Invalid("--runtime=runc needs root");
  } else {
    options.runc_path.clear();
  }
  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) return Status::Internal("cannot create " + options.data_dir + ": " + ec.message());
  options.data_dir = fs::canonical(options.data_dir).string();

  auto k = std::unique_ptr<Kubelet>(new Kubelet(options));
  KORC_ASSIGN_OR_RETURN(k->images_, images::ImageStore::Open(options.data_dir + "/images"));
  images::RegistryOptions registry_options;
  registry_options.insecure = options.insecure_registries;
  registry_options.mirrors = options.registry_mirrors;
  k->registry_ = std::make_unique<images::Registry>(registry_options);
  k->puller_ = std::make_unique<images::Puller>(k->images_.get(), k->registry_.get());
  images::ImageManagerOptions image_options;
  // A pull that ends changes Node.status.images.
  image_options.on_change = [self = k.get()] {
    if (self->runtime_) self->runtime_->Wake("node");
  };
  image_options.backoff_initial = options.backoff_initial;
  image_options.backoff_max = options.backoff_max;
  k->image_manager_ =
      std::make_unique<images::ImageManager>(k->images_.get(), k->puller_.get(), image_options);
  ProcessRuntimeOptions ro;
  ro.root_dir = options.data_dir + "/runtime";
  ro.shim_path = options.shim_path;
  ro.isolate = *options.isolate;
  ro.host_ip = options.address;
  ro.runc_path = options.runc_path;
  KORC_ASSIGN_OR_RETURN(k->container_runtime_, ProcessRuntime::Create(ro));

  Kubelet* self = k.get();
  PodWorkersOptions wo;
  wo.runtime = k->container_runtime_.get();
  wo.images = k->image_manager_.get();
  wo.store = k->images_.get();
  wo.log_dir = options.data_dir + "/pods";
  wo.backoff_initial = options.backoff_initial;
  wo.backoff_max = options.backoff_max;
  wo.on_change = [self](const std::string& key) {
    if (self->runtime_) self->runtime_->Wake(key);
  };
  k->workers_ = std::make_unique<PodWorkers>(wo);
  if (*options.isolate) {
    k->workers_->SetNetworkReady(false,
                                 "waiting for the node's podCIDR (assigned by the controller "
                                 "manager's node IPAM, or korc node --pod-cidr)");
  }

  KubeletServerOptions so;
  so.address = options.address;
  so.port = options.port;
  so.metrics = options.metrics;
  PodWorkers* workers = k->workers_.get();
  KORC_ASSIGN_OR_RETURN(k->server_, KubeletServer::Start(so, [workers](const LogRequest& r) {
                          return workers->ResolveLog(r);
                        }));

  KubeletReducer::Env env;
  env.node_name = options.node_name;
  env.address = options.address;
  env.port = k->server_->port();
  env.machine = machine;
  env.runtime_version = k->container_runtime_->version();
  env.isolated = *options.isolate;
  env.fixed_pod_cidr = options.pod_cidr;
  env.status_report_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options.node_status_report_period)
          .count();
  env.lease_renew_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options.lease_renew_period).count();
  env.lease_duration_seconds = options.lease_duration_seconds;
  images::ImageStore* store = k->images_.get();
  env.images = [store] { return NodeImages(*store); };
  k->reducer_ = std::make_unique<KubeletReducer>(
      env, *k->workers_, [self](const std::string& cidr) { self->OnPodCidr(cidr); });
  reactor::RuntimeOptions rto = options.bus;
  rto.idle_wait = std::chrono::milliseconds(5);
  k->runtime_ = std::make_unique<reactor::Runtime>(ctx, *k->reducer_, rto);

  KORC_RETURN_IF_ERROR(k->workers_->Start());
  k->thread_ = std::thread([self] {
    Status s = self->runtime_->Run(self->stop_);
    if (!s.ok()) {
      spdlog::error("kubelet: {}", s.message());
      std::lock_guard<std::mutex> l(self->error_mu_);
      self->error_ = s;
    }
  });
  spdlog::info("kubelet: node {} on {} (runtime {}, isolation {}), log endpoint port {}",
               options.node_name, options.address, k->container_runtime_->version(),
               *options.isolate ? "namespaces" : "off", k->server_->port());
  return k;
}

void Kubelet::OnPodCidr(const std::string& cidr) {
  if (!*options_.isolate) return;
  std::lock_guard<std::mutex> l(network_mu_);
  if (cidr.empty() || cidr == network_cidr_) return;
  if (network_) {
    spdlog::warn("kubelet: podCIDR changed from {} to {}; keeping {}", network_cidr_, cidr,
                 network_cidr_);
    return;
  }
  network::NetworkConfig nc;
  nc.bridge = options_.bridge;
  nc.pod_cidr = cidr;
  nc.state_dir = options_.data_dir + "/network";
  auto net = network::PodNetwork::Open(nc);
  if (!net.ok()) {
    workers_->SetNetworkReady(false, "pod network " + cidr + ": " + net.status().message());
    return;
  }
  network_ = std::move(*net);
  network_cidr_ = cidr;
  container_runtime_->SetNetwork(network_.get());
  workers_->SetNetworkReady(true, "");
  spdlog::info("kubelet: pod network {} on bridge {}", cidr, options_.bridge);
}

Kubelet::Kubelet(KubeletOptions options) : options_(std::move(options)) {}

void Kubelet::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (server_) server_->Stop();
  if (workers_) workers_->Stop(options_.stop_pods_on_exit);
  // Pulls in progress end here (their on_change wakes runtime_, which must still exist);
  // the stopped workers no longer ask for images.
  image_manager_.reset();
}

Kubelet::~Kubelet() { Stop(); }

uint16_t Kubelet::port() const { return server_ ? server_->port() : 0; }

ContainerRuntime& Kubelet::container_runtime() { return *container_runtime_; }

Status Kubelet::error() const {
  std::lock_guard<std::mutex> l(error_mu_);
  return error_;
}

}  // namespace korc::kubelet
