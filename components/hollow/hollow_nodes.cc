#include "components/hollow/hollow_nodes.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>

#include "core/kinds.h"
#include "core/validation.h"

namespace korc::hollow {
namespace {

using reactor::Command;
using reactor::Decision;
using reactor::View;

constexpr int64_t kSecond = 1'000'000'000;
constexpr std::string_view kNodePrefix = "node/";
constexpr std::string_view kPodPrefix = "pod/";

// The conditions a kubelet owns, in the order it posts them, with their healthy values.
struct HealthyCondition {
  std::string_view type, status, reason, message;
};
constexpr std::array<HealthyCondition, 4> kNodeConditions = {{
    {"MemoryPressure", "False", "KubeletHasSufficientMemory",
     "kubelet has sufficient memory available"},
    {"DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"},
    {"PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"},
    {"Ready", "True", "KubeletReady", "kubelet is posting ready status (hollow)"},
}};

// The Pod conditions a started Pod has, all True.
constexpr std::array<std::string_view, 4> kPodConditions = {"PodScheduled", "Initialized",
                                                            "ContainersReady", "Ready"};

// FNV-1a: a stable hash (std::hash may differ between builds), so phases and ids survive
// restarts and upgrades.
uint64_t Fnv1a(std::string_view s, uint64_t seed = 0) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// MurmurHash3's finalizer: FNV-1a's low bits follow the names' low bits too closely to be
// taken modulo a small period.
uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  return h ^ (h >> 33);
}

std::string Hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// 32 hex digits derived from `name` and `what` (machine id, boot id).
std::string Hex128(std::string_view name, std::string_view what) {
  std::string key = std::string(what) + "/" + std::string(name);
  return Hex64(Fnv1a(key, 1)) + Hex64(Fnv1a(key, 2));
}

std::string Uuid(std::string_view name, std::string_view what) {
  std::string h = Hex128(name, what);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

std::string Ipv4(uint32_t a) {
  return std::to_string(a >> 24) + "." + std::to_string((a >> 16) & 255) + "." +
         std::to_string((a >> 8) & 255) + "." + std::to_string(a & 255);
}

std::optional<uint32_t> ParseIpv4(std::string_view s) {
  uint32_t out = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (s.empty() || s.front() != '.') return std::nullopt;
      s.remove_prefix(1);
    }
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p == s.data() || v > 255) return std::nullopt;
    s.remove_prefix(p - s.data());
    out = out << 8 | v;
  }
  if (!s.empty()) return std::nullopt;
  return out;
}

// The addresses of an IPv4 CIDR a Pod may get: all but the network address, the first host
// (a real node's bridge) and the broadcast address.
struct PodRange {
  uint32_t base = 0;
  uint32_t first = 2;  // offsets [first, last]
  uint32_t last = 0;
  uint32_t size() const { return last - first + 1; }
};

std::optional<PodRange> ParseCidr(std::string_view cidr) {
  size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto addr = ParseIpv4(cidr.substr(0, slash));
  std::string_view len = cidr.substr(slash + 1);
  unsigned bits = 0;
  auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
  if (!addr || ec != std::errc() || p != len.data() + len.size() || bits < 8 || bits > 29) {
    return std::nullopt;
  }
  PodRange r;
  const uint32_t size = uint32_t{1} << (32 - bits);
  r.base = *addr & ~(size - 1);
  r.last = size - 2;
  return r;
}

// "0s", "9s", "1m40s": Go's Duration style, rounded up to whole seconds.
std::string FormatDuration(int64_t ns) {
  int64_t s = (std::max<int64_t>(ns, 0) + kSecond - 1) / kSecond;
  std::string out;
  if (s >= 3600) out += std::to_string(s / 3600) + "h";
  if (s >= 60) out += std::to_string(s / 60 % 60) + "m";
  return out + std::to_string(s % 60) + "s";
}

std::string Plural(size_t n, std::string_view what) {
  return std::to_string(n) + " " + std::string(what) + (n == 1 ? "" : "s");
}

bool IsHollow(const api::Node& node) {
  auto it = node.metadata.labels.find(std::string(kHollowLabel));
  return it != node.metadata.labels.end() && it->second == kHollowLabelValue;
}

bool IsTerminal(const api::Pod& p) {
  return p.status.phase == "Succeeded" || p.status.phase == "Failed";
}
bool IsTerminating(const api::Pod& p) { return !p.metadata.deletion_timestamp.empty(); }

bool IsReady(const api::Pod& p) {
  for (const api::PodCondition& c : p.status.conditions) {
    if (c.type == "Ready") return c.status == "True";
  }
  return false;
}

bool IsStarted(const api::Pod& p) {
  return p.status.phase == "Running" && IsReady(p) && !p.status.pod_ip.empty();
}

// Where heartbeats live, as controllers::LastHeartbeatNs reads them (not shared: components do
// not depend on each other): the Ready condition's lastHeartbeatTime, else creation time.
int64_t LastHeartbeatNs(const api::Node& node) {
  for (const api::NodeCondition& c : node.status.conditions) {
    if (c.type == "Ready" && !c.last_heartbeat_time.empty()) return c.last_heartbeat_time.unix_ns;
  }
  return node.metadata.creation_timestamp.unix_ns;
}

// True when every kubelet condition is present with its healthy status.
bool Healthy(const api::NodeStatus& s) {
  for (const HealthyCondition& want : kNodeConditions) {
    auto it = std::find_if(s.conditions.begin(), s.conditions.end(),
                           [&](const api::NodeCondition& c) { return c.type == want.type; });
    if (it == s.conditions.end() || it->status != want.status) return false;
  }
  return true;
}

// The kubelet's status update: its conditions healthy with a fresh heartbeat, transition
// time moved only where the status changes; conditions of other writers kept as they are.
void Heartbeat(api::NodeStatus* s, const api::ResourceList& capacity, int64_t now_s) {
  for (const HealthyCondition& want : kNodeConditions) {
    auto it = std::find_if(s->conditions.begin(), s->conditions.end(),
                           [&](const api::NodeCondition& c) { return c.type == want.type; });
    if (it == s->conditions.end()) {
      s->conditions.push_back({std::string(want.type),
                               std::string(want.status),
                               {now_s},
                               {now_s},
                               std::string(want.reason),
                               std::string(want.message)});
      continue;
    }
    if (it->status != want.status) {
      it->status = want.status;
      it->last_transition_time.unix_ns = now_s;
    }
    it->reason = want.reason;
    it->message = want.message;
    it->last_heartbeat_time.unix_ns = now_s;
  }
  s->capacity = capacity;
  s->allocatable = capacity;
}

std::string NodeInternalIp(const api::Node& node) {
  for (const api::NodeAddress& a : node.status.addresses) {
    if (a.type == "InternalIP") return a.address;
  }
  return "";
}

// `pod` Running and Ready at `ip` on a node at `host_ip`, keeping what an earlier start
// already settled (IP, start time, transition times, container start times, restarts).
api::Pod Started(const api::Pod& pod, const std::string& ip, const std::string& host_ip,
                 int64_t now_s) {
  api::Pod p = pod;
  api::PodStatus& s = p.status;
  s.phase = "Running";
  s.host_ip = host_ip;
  s.pod_ip = ip;
  s.pod_ips = {{ip}};
  if (s.start_time.empty()) s.start_time.unix_ns = now_s;
  std::vector<api::PodCondition> conditions;
  for (std::string_view type : kPodConditions) {
    auto it = std::find_if(pod.status.conditions.begin(), pod.status.conditions.end(),
                           [&](const api::PodCondition& c) { return c.type == type; });
    if (it != pod.status.conditions.end() && it->status == "True") {
      conditions.push_back(*it);
    } else {
      conditions.push_back({std::string(type), "True", {}, {now_s}, "", ""});
    }
  }
  for (const api::PodCondition& c : pod.status.conditions) {
    if (std::find(kPodConditions.begin(), kPodConditions.end(), c.type) == kPodConditions.end()) {
      conditions.push_back(c);
    }
  }
  s.conditions = std::move(conditions);
  std::vector<api::ContainerStatus> statuses;
  for (const api::Container& c : pod.spec.containers) {
    auto it =
        std::find_if(pod.status.container_statuses.begin(), pod.status.container_statuses.end(),
                     [&](const api::ContainerStatus& cs) { return cs.name == c.name; });
    const api::ContainerStatus* old = it == pod.status.container_statuses.end() ? nullptr : &*it;
    api::ContainerStatus cs;
    cs.name = c.name;
    cs.image = c.image;
    cs.image_id = "hollow://" + c.image;
    cs.container_id = "hollow://" + pod.metadata.uid + "/" + c.name;
    cs.ready = true;
    cs.started = true;
    cs.restart_count = old ? old->restart_count : 0;
    if (old) cs.last_state = old->last_state;
    api::ContainerStateRunning running;
    running.started_at.unix_ns =
        old && old->state.running ? old->state.running->started_at.unix_ns : now_s;
    cs.state.running = running;
    statuses.push_back(std::move(cs));
  }
  s.container_statuses = std::move(statuses);
  return p;
}

// Merges the decision's requeue with `after`: the earliest wins.
void Requeue(Decision* d, int64_t after_ns) {
  std::chrono::nanoseconds after(std::max<int64_t>(after_ns, 0));
  if (!d->requeue_after || after < *d->requeue_after) d->requeue_after = after;
}

}  // namespace

api::ResourceList HollowNodesOptions::DefaultCapacity() {
  return {{"cpu", Quantity::FromInt(4, Quantity::Format::kDecimalSI)},
          {"memory", Quantity::FromInt(int64_t{16} << 30, Quantity::Format::kBinarySI)},
          {"pods", Quantity::FromInt(110, Quantity::Format::kDecimalSI)}};
}

Status ValidateOptions(const HollowNodesOptions& o) {
  if (o.count < 1 || o.count > kMaxNodes) {
    return Status::Invalid("count must be between 1 and " + std::to_string(kMaxNodes) +
                           " (one /24 podCIDR each in 10.64.0.0/10), not " +
                           std::to_string(o.count));
  }
  const std::string last = o.prefix + std::to_string(o.count - 1);
  for (const std::string& name : {o.prefix + "0", last}) {
    std::vector<std::string> errs = CheckDns1123Subdomain(name);
    // The name is also the kubernetes.io/hostname label's value.
    for (std::string& e : CheckLabelValue(name)) errs.push_back(std::move(e));
    if (!errs.empty()) {
      return Status::Invalid("prefix \"" + o.prefix + "\" gives node names like \"" + name +
                             "\": " + errs.front());
    }
  }
  if (o.heartbeat_period < std::chrono::seconds(1) || o.heartbeat_period.count() % kSecond != 0) {
    // Heartbeat times are stored to the second; slots between seconds would repeat.
    return Status::Invalid("the heartbeat period must be a whole number of seconds, at least 1");
  }
  for (const auto& [name, q] : o.capacity) {
    if (q.Sign() < 0) return Status::Invalid("capacity " + name + " must not be negative");
  }
  return Status::Ok();
}

Result<api::ResourceList> ParseResourceList(std::string_view text) {
  api::ResourceList out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(start, comma - start);
    start = comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) {
      return Status::Invalid("empty item in resource list \"" + std::string(text) +
                             "\" (expected NAME=QUANTITY,...)");
    }
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Status::Invalid("\"" + std::string(item) + "\" is not NAME=QUANTITY");
    }
    std::string name(item.substr(0, eq));
    if (auto errs = CheckQualifiedName(name); !errs.empty()) {
      return Status::Invalid("resource name \"" + name + "\": " + errs.front());
    }
    auto q = Quantity::Parse(item.substr(eq + 1));
    if (!q.ok()) return Status::Invalid(name + ": " + q.status().message());
    if (q->Sign() < 0) return Status::Invalid(name + ": must not be negative");
    if (!out.emplace(name, *q).second) {
      return Status::Invalid("resource " + name + " given twice");
    }
  }
  return out;
}

HollowNodesReducer::HollowNodesReducer(HollowNodesOptions options) : options_(std::move(options)) {}

std::string HollowNodesReducer::NodeName(int index) const {
  return options_.prefix + std::to_string(index);
}

std::optional<int> HollowNodesReducer::NodeIndex(std::string_view name) const {
  if (!name.starts_with(options_.prefix)) return std::nullopt;
  std::string_view digits = name.substr(options_.prefix.size());
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0') ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int index = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || p != digits.data() + digits.size() || index >= options_.count) {
    return std::nullopt;
  }
  return index;
}

std::chrono::nanoseconds HollowNodesReducer::HeartbeatPhase(std::string_view name) const {
  const int64_t seconds = options_.heartbeat_period.count() / kSecond;
  if (seconds <= 1) return std::chrono::nanoseconds(0);
  return std::chrono::seconds(
      static_cast<int64_t>(Mix(Fnv1a(name)) % static_cast<uint64_t>(seconds)));
}

int64_t HollowNodesReducer::NextHeartbeatNs(std::string_view name, int64_t after_ns) const {
  const int64_t period = options_.heartbeat_period.count();
  const int64_t phase = HeartbeatPhase(name).count();
  const int64_t d = after_ns - phase;
  const int64_t k = d >= 0 ? d / period : -((-d + period - 1) / period);  // floor
  return (k + 1) * period + phase;
}

std::string HollowNodesReducer::InternalIp(int index) const {
  const uint32_t offset = static_cast<uint32_t>(index) + 1;
  if (options_.count <= 254) return Ipv4((192u << 24 | 0u << 16 | 2u << 8) + offset);  // TEST-NET-1
  return Ipv4((198u << 24 | 18u << 16) + offset);  // 198.18.0.0/15, benchmarking
}

std::string HollowNodesReducer::PodCidr(int index) {
  return "10." + std::to_string(64 + index / 256) + "." + std::to_string(index % 256) + ".0/24";
}

void HollowNodesReducer::Wake(const View& view, const Event& e, const api::Object* before,
                              std::vector<std::string>* keys) const {
  if (e.kind == KindName<api::Node>()) {
    if (NodeIndex(e.name)) keys->push_back(std::string(kNodePrefix) + e.name);
    return;
  }
  if (e.kind != KindName<api::Pod>()) return;
  const api::Pod* old_pod = before ? std::get_if<api::Pod>(before) : nullptr;
  const api::Pod* new_pod =
      e.type == EventType::kDeleted ? nullptr : view.Get<api::Pod>(e.ns, e.name);
  const std::string old_node = old_pod ? old_pod->spec.node_name : "";
  const std::string new_node = new_pod ? new_pod->spec.node_name : "";
  if (!old_node.empty() && NodeIndex(old_node)) {
    keys->push_back(std::string(kNodePrefix) + old_node);
  }
  if (!new_node.empty() && new_node != old_node && NodeIndex(new_node)) {
    keys->push_back(std::string(kNodePrefix) + new_node);
  }
  if (new_pod && !new_node.empty() && IsTerminating(*new_pod) && NodeIndex(new_node)) {
    keys->push_back(std::string(kPodPrefix) + reactor::NamespacedKey(e.ns, e.name));
  }
}

void HollowNodesReducer::AllKeys(const View& view, std::vector<std::string>* keys) const {
  for (int i = 0; i < options_.count; ++i) {
    keys->push_back(std::string(kNodePrefix) + NodeName(i));
  }
  for (const api::Pod* pod : view.ListAs<api::Pod>()) {
    if (IsTerminating(*pod) && !pod->spec.node_name.empty() && NodeIndex(pod->spec.node_name)) {
      keys->push_back(std::string(kPodPrefix) +
                      reactor::NamespacedKey(pod->metadata.namespace_, pod->metadata.name));
    }
  }
}

namespace {

// One decision about one hollow node: register it, or heartbeat and start its Pods.
class NodeSync {
 public:
  NodeSync(const HollowNodesReducer& r, const HollowNodesOptions& o, const View& view,
           std::string name, int index, int64_t now_ns)
      : r_(r),
        o_(o),
        view_(view),
        name_(std::move(name)),
        index_(index),
        now_(now_ns),
        now_s_(now_ns - now_ns % kSecond) {}

  Decision Run() {
    const api::Node* node = view_.Get<api::Node>("", name_);
    if (!node) return Register();
    if (!IsHollow(*node)) {
      return Decision{{},
                      std::nullopt,
                      "node " + name_ + ": not a hollow node (no label " +
                          std::string(kHollowLabel) + "=" + std::string(kHollowLabelValue) +
                          "), left alone"};
    }
    Decision d;
    std::vector<std::string> summary;
    const int64_t last = LastHeartbeatNs(*node);
    const int64_t due = r_.NextHeartbeatNs(name_, last);
    const bool healthy = Healthy(node->status);
    if (now_ >= due || !healthy) {
      api::Node updated = *node;
      Heartbeat(&updated.status, o_.capacity, now_s_);
      const int64_t ago = now_ - last;
      std::string why = healthy ? "last " + FormatDuration(ago - ago % kSecond) + " ago"
                                : "conditions not healthy";
      d.commands.push_back(Command::UpdateStatus(
          api::Object(std::move(updated)), "heartbeat of hollow node " + name_ + " (" + why + ")"));
      summary.push_back("heartbeat (" + why + ")");
      Requeue(&d, r_.NextHeartbeatNs(name_, now_s_) - now_);
    } else {
      Requeue(&d, due - now_);
    }
    StartPods(*node, &d, &summary);
    summary.push_back("next heartbeat in " + FormatDuration(d.requeue_after->count()));
    d.reason = "node " + name_ + ": ";
    for (size_t i = 0; i < summary.size(); ++i) d.reason += (i ? "; " : "") + summary[i];
    return d;
  }

 private:
  Decision Register() const {
    api::Node n;
    n.api_version = kApiVersion;
    n.kind = KindName<api::Node>();
    n.metadata.name = name_;
    n.metadata.labels = {{"kubernetes.io/arch", "amd64"},
                         {"kubernetes.io/hostname", name_},
                         {"kubernetes.io/os", "linux"},
                         {std::string(kHollowLabel), std::string(kHollowLabelValue)}};
    const std::string cidr = HollowNodesReducer::PodCidr(index_);
    n.spec.pod_cidr = cidr;
    n.spec.pod_cidrs = {cidr};
    n.spec.provider_id = "hollow://" + name_;
    api::NodeStatus& s = n.status;
    s.addresses = {{"InternalIP", r_.InternalIp(index_)}, {"Hostname", name_}};
    s.daemon_endpoints.kubelet_endpoint.port = 10250;
    api::NodeSystemInfo& info = s.node_info;
    info.machine_id = Hex128(name_, "machine-id");
    info.system_uuid = Uuid(name_, "system-uuid");
    info.boot_id = Uuid(name_, "boot-id");
    info.kernel_version = "hollow";
    info.os_image = "hollow";
    info.container_runtime_version = "hollow://0";
    info.kubelet_version = kKubeletVersion;
    info.kube_proxy_version = kKubeletVersion;
    info.operating_system = "linux";
    info.architecture = "amd64";
    Heartbeat(&s, o_.capacity, now_s_);
    Decision d;
    d.commands.push_back(Command::Create(
        api::Object(std::move(n)), "register hollow node " + name_ + " (pods in " + cidr + ")"));
    Requeue(&d, r_.NextHeartbeatNs(name_, now_s_) - now_);
    d.reason = "node " + name_ + ": registering";
    return d;
  }

  void StartPods(const api::Node& node, Decision* d, std::vector<std::string>* summary) const {
    std::vector<const api::Pod*> pods;  // the node's non-terminal Pods
    for (const api::Pod* p : view_.PodsOnNode(name_)) {
      if (!IsTerminal(*p)) pods.push_back(p);
    }
    std::sort(pods.begin(), pods.end(), [](const api::Pod* a, const api::Pod* b) {
      return std::tie(a->metadata.creation_timestamp, a->metadata.name, a->metadata.namespace_) <
             std::tie(b->metadata.creation_timestamp, b->metadata.name, b->metadata.namespace_);
    });
    std::set<uint32_t> used;
    for (const api::Pod* p : pods) {
      if (p->spec.host_network) continue;
      if (auto ip = ParseIpv4(p->status.pod_ip)) used.insert(*ip);
    }
    std::string host_ip = NodeInternalIp(node);
    if (host_ip.empty()) host_ip = r_.InternalIp(index_);
    const std::optional<PodRange> range = ParseCidr(node.spec.pod_cidr);
    size_t started = 0, stuck = 0;
    for (size_t k = 0; k < pods.size(); ++k) {
      const api::Pod& pod = *pods[k];
      if (IsTerminating(pod) || IsStarted(pod)) continue;
      std::string ip = pod.spec.host_network ? host_ip : pod.status.pod_ip;
      if (ip.empty() && range) {
        const uint32_t n = range->size();
        for (uint32_t i = 0; i < n; ++i) {
          const uint32_t a = range->base + range->first + (static_cast<uint32_t>(k) + i) % n;
          if (used.insert(a).second) {
            ip = Ipv4(a);
            break;
          }
        }
      }
      const std::string pod_name = pod.metadata.namespace_ + "/" + pod.metadata.name;
      if (ip.empty()) {
        ++stuck;
        continue;
      }
      d->commands.push_back(
          Command::UpdateStatus(api::Object(Started(pod, ip, host_ip, now_s_)),
                                "start pod " + pod_name + " on " + name_ + " at " + ip));
      ++started;
    }
    if (started) summary->push_back("starting " + Plural(started, "pod"));
    if (stuck) {
      summary->push_back(Plural(stuck, "pod") + " waiting for a free address in podCIDR \"" +
                         node.spec.pod_cidr + "\"");
    }
  }

  const HollowNodesReducer& r_;
  const HollowNodesOptions& o_;
  const View& view_;
  const std::string name_;
  const int index_;
  const int64_t now_;
  const int64_t now_s_;
};

}  // namespace

Decision HollowNodesReducer::Reconcile(const View& view, const std::string& key,
                                       int64_t now_ns) const {
  if (key.starts_with(kNodePrefix)) {
    std::string name = key.substr(kNodePrefix.size());
    std::optional<int> index = NodeIndex(name);
    if (!index) return Decision{{}, std::nullopt, "not one of the hollow nodes: " + key};
    return NodeSync(*this, options_, view, std::move(name), *index, now_ns).Run();
  }
  if (!key.starts_with(kPodPrefix)) return Decision{{}, std::nullopt, "bad key " + key};
  const std::string nsname = key.substr(kPodPrefix.size());
  const size_t slash = nsname.find('/');
  if (slash == std::string::npos) return Decision{{}, std::nullopt, "bad key " + key};
  const std::string ns = nsname.substr(0, slash), name = nsname.substr(slash + 1);
  const api::Pod* pod = view.Get<api::Pod>(ns, name);
  if (!pod) return Decision{{}, std::nullopt, "pod " + nsname + ": gone"};
  const std::string& node_name = pod->spec.node_name;
  const api::Node* node = view.Get<api::Node>("", node_name);
  if (node_name.empty() || !NodeIndex(node_name) || (node && !IsHollow(*node))) {
    return Decision{{}, std::nullopt, "pod " + nsname + ": not on a hollow node"};
  }
  if (!IsTerminating(*pod))
    return Decision{{}, std::nullopt, "pod " + nsname + ": not terminating"};
  // Command::Delete has no grace period; the kubelet's confirmation needs gracePeriodSeconds 0.
  nlohmann::json opts = {{"gracePeriodSeconds", 0}};
  if (!pod->metadata.uid.empty()) opts["preconditions"]["uid"] = pod->metadata.uid;
  Command c{reactor::Verb::kDelete,
            std::string(KindName<api::Pod>()),
            ns,
            name,
            opts.dump(),
            "confirm deletion of pod " + nsname + ": stopped on hollow node " + node_name,
            {}};
  return Decision{{std::move(c)}, std::nullopt, "pod " + nsname + ": terminating, confirming"};
}

}  // namespace korc::hollow
