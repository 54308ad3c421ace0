#include "components/controllers/endpoints.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "core/selector.h"

namespace korc::controllers {

namespace {

using reactor::Command;
using reactor::Decision;
using reactor::View;

// Kubernetes labels the Endpoints of a headless Service (clusterIP: None) with this.
constexpr std::string_view kHeadlessLabel = "service.kubernetes.io/headless";

bool SplitKey(const std::string& key, std::string* ns, std::string* name) {
  auto slash = key.find('/');
  if (slash == std::string::npos) return false;
  *ns = key.substr(0, slash);
  *name = key.substr(slash + 1);
  return !name->empty();
}

bool IsTerminal(const api::Pod& pod) {
  return pod.status.phase == "Succeeded" || pod.status.phase == "Failed";
}

bool IsPodReady(const api::Pod& pod) {
  for (const api::PodCondition& c : pod.status.conditions) {
    if (c.type == "Ready") return c.status == "True";
  }
  return false;
}

// The server defaults protocols to TCP; compare and write them defaulted so that an object
// written before defaulting never looks different from the same object after it.
std::string Protocol(const std::string& protocol) { return protocol.empty() ? "TCP" : protocol; }

// The pod port `svc_port` reaches on `pod` (podutil.FindPort): a number as is (an unset
// targetPort means the service port), a name looked up in the pod's container ports with the
// same protocol. nullopt when the name resolves to nothing.
std::optional<int32_t> FindPort(const api::Pod& pod, const api::ServicePort& svc_port) {
  const api::IntOrString& target = svc_port.target_port;
  if (!target.is_string) return target.int_value != 0 ? target.int_value : svc_port.port;
  for (const api::Container& c : pod.spec.containers) {
    for (const api::ContainerPort& p : c.ports) {
      if (p.name == target.str_value && Protocol(p.protocol) == Protocol(svc_port.protocol)) {
        return p.container_port;
      }
    }
  }
  return std::nullopt;
}

// (ip, pod name, pod uid): the order addresses are listed in, and their identity.
using AddressKey = std::tuple<std::string, std::string, std::string>;
struct Member {
  api::EndpointAddress address;
  bool ready = false;
};
using AddressSet = std::map<AddressKey, Member>;
// (name, port, protocol); port -1 stands for "no ports" (a Service without ports).
using PortKey = std::tuple<std::string, int32_t, std::string>;

struct Desired {
  std::vector<api::EndpointSubset> subsets;
  int ready = 0;
  int not_ready = 0;
};

Desired DesiredSubsets(const api::Service& svc, const std::vector<const api::Pod*>& pods) {
  const bool publish_all = svc.spec.publish_not_ready_addresses;
  std::map<PortKey, AddressSet> by_port;
  Desired out;
  for (const api::Pod* pod : pods) {
    if (pod->status.pod_ip.empty() || IsTerminal(*pod)) continue;
    const bool terminating = !pod->metadata.deletion_timestamp.empty();
    if (terminating && !publish_all) continue;
    Member m;
    m.ready = publish_all || (IsPodReady(*pod) && !terminating);
    m.address.ip = pod->status.pod_ip;
    if (!pod->spec.node_name.empty()) m.address.node_name = pod->spec.node_name;
    if (!pod->spec.hostname.empty() && pod->spec.subdomain == svc.metadata.name) {
      m.address.hostname = pod->spec.hostname;
    }
    api::ObjectReference ref;
    ref.kind = "Pod";
    ref.namespace_ = pod->metadata.namespace_;
    ref.name = pod->metadata.name;
    ref.uid = pod->metadata.uid;
    m.address.target_ref = std::move(ref);
    AddressKey key{pod->status.pod_ip, pod->metadata.name, pod->metadata.uid};

    bool included = false;
    if (svc.spec.ports.empty()) {
      by_port[{"", -1, ""}].emplace(key, m);
      included = true;
    }
    for (const api::ServicePort& sp : svc.spec.ports) {
      std::optional<int32_t> port = FindPort(*pod, sp);
      if (!port) continue;  // Kubernetes leaves the pod out of this port only
      by_port[{sp.name, *port, Protocol(sp.protocol)}].emplace(key, m);
      included = true;
    }
    if (included) ++(m.ready ? out.ready : out.not_ready);
  }

  // RepackSubsets: ports that are served by exactly the same addresses (with the same
  // readiness) share one subset.
  std::map<std::string, std::pair<const AddressSet*, std::vector<PortKey>>> by_addresses;
  for (const auto& [port, addresses] : by_port) {
    std::string signature;
    for (const auto& [key, m] : addresses) {
      signature += std::get<0>(key) + '\0' + std::get<1>(key) + '\0' + std::get<2>(key) + '\0' +
                   (m.ready ? '1' : '0') + '\0';
    }
    auto& entry = by_addresses[signature];
    entry.first = &addresses;
    entry.second.push_back(port);
  }
  std::vector<std::pair<PortKey, api::EndpointSubset>> ordered;
  for (const auto& [signature, entry] : by_addresses) {
    api::EndpointSubset subset;
    for (const auto& [key, m] : *entry.first) {
      (m.ready ? subset.addresses : subset.not_ready_addresses).push_back(m.address);
    }
    for (const PortKey& p : entry.second) {
      if (std::get<1>(p) < 0) continue;
      subset.ports.push_back({std::get<0>(p), std::get<1>(p), std::get<2>(p)});
    }
    ordered.emplace_back(entry.second.front(), std::move(subset));
  }
  // Every port is in exactly one subset, so its first port orders the subsets.
  std::sort(ordered.begin(), ordered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [port, subset] : ordered) out.subsets.push_back(std::move(subset));
  return out;
}

}  // namespace

std::vector<std::string> EndpointsReducer::kinds() const {
  return {std::string(KindName<api::Service>()), std::string(KindName<api::Pod>()),
          std::string(KindName<api::Endpoints>())};
}

void EndpointsReducer::Wake(const View& view, const Event& e, const api::Object* before,
                            std::vector<std::string>* keys) const {
  if (e.kind == KindName<api::Service>()) {
    keys->push_back(reactor::NamespacedKey(e.ns, e.name));
  } else if (e.kind == KindName<api::Endpoints>()) {
    // Endpoints someone else just created may be waiting for their selector-less Service
    // (kubectl apply of a file that lists the Endpoints first): do not delete them as
    // leftovers. Our own creates are checked, in case their Service went away meanwhile.
    if (e.type == EventType::kAdded && e.actor != name()) return;
    keys->push_back(reactor::NamespacedKey(e.ns, e.name));
  } else if (e.kind == KindName<api::Pod>()) {
    const api::Pod* old_pod = before ? std::get_if<api::Pod>(before) : nullptr;
    const api::Pod* new_pod = view.Get<api::Pod>(e.ns, e.name);
    for (const api::Service* svc : view.ListAs<api::Service>(e.ns)) {
      if (svc->spec.selector.empty()) continue;
      LabelSelector selector = LabelSelector::FromMap(svc->spec.selector);
      if ((old_pod && selector.Matches(old_pod->metadata.labels)) ||
          (new_pod && selector.Matches(new_pod->metadata.labels))) {
        keys->push_back(reactor::NamespacedKey(e.ns, svc->metadata.name));
      }
    }
  }
}

void EndpointsReducer::AllKeys(const View& view, std::vector<std::string>* keys) const {
  for (const api::Service* svc : view.ListAs<api::Service>()) {
    keys->push_back(reactor::NamespacedKey(svc->metadata.namespace_, svc->metadata.name));
  }
  // Leftovers whose Service was deleted while the controller was down.
  for (const api::Endpoints* ep : view.ListAs<api::Endpoints>()) {
    if (!view.Get<api::Service>(ep->metadata.namespace_, ep->metadata.name)) {
      keys->push_back(reactor::NamespacedKey(ep->metadata.namespace_, ep->metadata.name));
    }
  }
}

Decision EndpointsReducer::Reconcile(const View& view, const std::string& key,
                                     int64_t /*now_ns*/) const {
  Decision d;
  std::string ns, svc_name;
  if (!SplitKey(key, &ns, &svc_name)) {
    d.reason = "endpoints: ignoring malformed key \"" + key + "\"";
    return d;
  }
  const api::Service* svc = view.Get<api::Service>(ns, svc_name);
  const api::Endpoints* current = view.Get<api::Endpoints>(ns, svc_name);
  if (!svc) {
    if (!current) {
      d.reason = "endpoints " + key + ": no service and no endpoints";
      return d;
    }
    d.commands.push_back(Command::Delete(std::string(KindName<api::Endpoints>()), ns, svc_name,
                                         current->metadata.uid,
                                         "delete endpoints " + key + ": its service is gone"));
    d.reason = "endpoints " + key + ": service is gone, deleting its endpoints";
    return d;
  }
  if (svc->spec.selector.empty()) {
    d.reason = "endpoints " + key + ": service has no selector, its endpoints are not managed";
    return d;
  }

  LabelSelector selector = LabelSelector::FromMap(svc->spec.selector);
  std::vector<const api::Pod*> pods;
  for (const api::Pod* pod : view.ListAs<api::Pod>(ns)) {
    if (selector.Matches(pod->metadata.labels)) pods.push_back(pod);
  }
  Desired want = DesiredSubsets(*svc, pods);
  api::StringMap labels = svc->metadata.labels;
  if (svc->spec.cluster_ip == "None") labels[std::string(kHeadlessLabel)] = "";
  const std::string counts =
      std::to_string(want.ready) + " ready, " + std::to_string(want.not_ready) + " not ready";

  if (!current) {
    api::Endpoints ep;
    ep.metadata.name = svc_name;
    ep.metadata.namespace_ = ns;
    ep.metadata.labels = std::move(labels);
    ep.subsets = std::move(want.subsets);
    d.commands.push_back(
        Command::Create(api::Object(std::move(ep)), "create endpoints " + key + ": " + counts));
    d.reason = "endpoints " + key + ": " + counts + " (created)";
    return d;
  }
  const bool subsets_differ = current->subsets != want.subsets;
  const bool labels_differ = current->metadata.labels != labels;
  if (!subsets_differ && !labels_differ) {
    d.reason = "endpoints " + key + ": " + counts + " (unchanged)";
    return d;
  }
  api::Endpoints ep = *current;  // keeps metadata: resourceVersion is the precondition
  ep.metadata.labels = std::move(labels);
  ep.subsets = std::move(want.subsets);
  std::string what = subsets_differ && labels_differ ? "addresses and labels"
                     : subsets_differ                ? "addresses"
                                                     : "labels";
  d.commands.push_back(Command::Update(api::Object(std::move(ep)),
                                       "update endpoints " + key + " " + what + ": " + counts));
  d.reason = "endpoints " + key + ": " + counts + " (updated " + what + ")";
  return d;
}

}  // namespace korc::controllers
