#include "components/apiserver/service_alloc.h"

#include <charconv>

namespace korc::apiserver {

namespace {

using u128 = unsigned __int128;

// kube-apiserver refuses service CIDRs of more than 2^20 addresses; the allocator scans a
// full range in the worst case, which this bounds too.
constexpr int kMaxHostBits = 20;

bool NeedsNodePorts(std::string_view type) { return type == "NodePort" || type == "LoadBalancer"; }

// How many addresses of `range` may be handed out: not its network address, nor (IPv4) its
// broadcast address. IPv6 has no broadcast; its network address is the subnet-router
// anycast address.
u128 AllocatableCount(const Cidr& range) {
  const int host_bits = range.bits() - range.prefix;
  if (host_bits >= 128) return ~u128{0};  // ::/0 — never a service range, but no overflow
  const u128 total = u128{1} << host_bits;
  const u128 reserved = range.v6 ? 1 : 2;
  return total > reserved ? total - reserved : 0;
}

std::optional<int32_t> ParsePort(std::string_view text) {
  int32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 1 || v > 65535) {
    return std::nullopt;
  }
  return v;
}

// Checks the node ports `service` asks for. Only what the request adds is checked against
// the range and the other Services; ports `current` holds stay as they are.
FieldErrors CheckNodePorts(const ServiceRanges& ranges, const ServiceAllocations& in_use,
                           const api::Service* current, const api::Service& service) {
  FieldErrors errors;
  std::set<int32_t> held;
  if (current && NeedsNodePorts(current->spec.type)) {
    for (const auto& p : current->spec.ports) {
      if (p.node_port != 0) held.insert(p.node_port);
    }
  }
  std::set<int32_t> mine;
  for (size_t i = 0; i < service.spec.ports.size(); ++i) {
    const int32_t port = service.spec.ports[i].node_port;
    if (port == 0) continue;
    const std::string at = "spec.ports[" + std::to_string(i) + "].nodePort";
    const std::string shown = std::to_string(port);
    if (!mine.insert(port).second) {
      errors.push_back({FieldErrorType::kDuplicate, at, shown, {}});
    } else if (held.contains(port)) {
      continue;
    } else if (!ranges.node_ports.Contains(port)) {
      errors.push_back({FieldErrorType::kInvalid, at, shown,
                        "provided port is not in the valid range. The range of valid ports is " +
                            ranges.node_ports.ToString()});
    } else if (in_use.node_ports.contains(port)) {
      errors.push_back({FieldErrorType::kInvalid, at, shown, "provided port is already allocated"});
    }
  }
  return errors;
}

// Checks the clusterIP `service` asks for, the same way.
FieldErrors CheckClusterIp(const ServiceRanges& ranges, const ServiceAllocations& in_use,
                           const api::Service* current, const api::Service& service) {
  const std::string& ip = service.spec.cluster_ip;
  // What the Service holds, unless it was an ExternalName (which holds none): a change to
  // or from ExternalName may set a new address, as Kubernetes allows.
  const std::string held =
      current && current->spec.type != "ExternalName" ? current->spec.cluster_ip : std::string();
  auto invalid = [&](std::string detail) {
    return FieldErrors{
        {FieldErrorType::kInvalid, "spec.clusterIP", GoQuote(ip), std::move(detail)}};
  };
  if (!held.empty()) return ip == held ? FieldErrors{} : invalid("field is immutable");
  if (ip.empty() || ip == "None") return {};
  auto parsed = Cidr::ParseAddress(ip);
  // Validation read clusterIP already; this is a clusterIPs[0] that stood in for it.
  if (!parsed) return invalid("must be empty, 'None', or a valid IP address");
  if (!Allocatable(ranges.cluster_ips, *parsed)) {
    return invalid("failed to allocate IP " + ip + ": the provided IP (" + ip +
                   ") is not in the valid range. The range of valid IPs is " +
                   ranges.cluster_ips.ToString());
  }
  if (in_use.cluster_ips.contains({parsed->v6, parsed->network})) {
    return invalid("failed to allocate IP " + ip + ": provided IP is already allocated");
  }
  return {};
}

// The port of `ports` that `p` is the update of, among those not `claimed` by another: the
// same name (Kubernetes' key, "" for the one port of a single-port Service), else the same
// port number and protocol.
const api::ServicePort* Counterpart(const std::vector<api::ServicePort>& ports,
                                    const api::ServicePort& p,
                                    std::set<const api::ServicePort*>& claimed) {
  const api::ServicePort* found = nullptr;
  for (const auto& c : ports) {
    if (!found && c.name == p.name && !claimed.contains(&c)) found = &c;
  }
  const std::string protocol = p.protocol.empty() ? "TCP" : p.protocol;  // not yet defaulted
  for (const auto& c : ports) {
    if (!found && c.port == p.port && c.protocol == protocol && !claimed.contains(&c)) found = &c;
  }
  if (found) claimed.insert(found);
  return found;
}

}  // namespace

std::optional<PortRange> PortRange::Parse(std::string_view text) {
  auto dash = text.find('-');
  auto first = ParsePort(text.substr(0, dash));
  auto last = dash == std::string_view::npos ? first : ParsePort(text.substr(dash + 1));
  if (!first || !last || *first > *last) return std::nullopt;
  return PortRange{*first, *last};
}

std::string PortRange::ToString() const {
  return std::to_string(first) + "-" + std::to_string(last);
}

Result<ServiceRanges> ServiceRanges::Parse(std::string_view cluster_ip_range,
                                           std::string_view node_port_range) {
  ServiceRanges r;
  auto cidr = Cidr::Parse(cluster_ip_range);
  if (!cidr) {
    return Status::Invalid("--service-cluster-ip-range: \"" + std::string(cluster_ip_range) +
                           "\" is not a CIDR such as 10.96.0.0/12");
  }
  if (cidr->bits() - cidr->prefix > kMaxHostBits) {
    return Status::Invalid("--service-cluster-ip-range: " + cidr->ToString() +
                           " is too large: at most 2^20 addresses (a /12 for IPv4, a /108 for "
                           "IPv6)");
  }
  if (AllocatableCount(*cidr) == 0) {
    return Status::Invalid("--service-cluster-ip-range: " + cidr->ToString() +
                           " holds no address to allocate (its network and broadcast "
                           "addresses are never handed out)");
  }
  r.cluster_ips = *cidr;
  auto ports = PortRange::Parse(node_port_range);
  if (!ports) {
    return Status::Invalid("--service-node-port-range: \"" + std::string(node_port_range) +
                           "\" is not a range FIRST-LAST of ports (1 <= FIRST <= LAST <= 65535) "
                           "such as 30000-32767");
  }
  r.node_ports = *ports;
  return r;
}

ServiceAllocations InUse(const std::vector<const api::Object*>& services, std::string_view ns,
                         std::string_view name) {
  ServiceAllocations out;
  for (const api::Object* o : services) {
    const auto* s = std::get_if<api::Service>(o);
    if (!s || (s->metadata.namespace_ == ns && s->metadata.name == name)) continue;
    auto add = [&](const std::string& ip) {
      if (auto c = Cidr::ParseAddress(ip)) out.cluster_ips.insert({c->v6, c->network});
    };
    add(s->spec.cluster_ip);
    for (const auto& ip : s->spec.cluster_ips) add(ip);
    if (!NeedsNodePorts(s->spec.type)) continue;
    for (const auto& p : s->spec.ports) {
      if (p.node_port != 0) out.node_ports.insert(p.node_port);
    }
  }
  return out;
}

bool Allocatable(const Cidr& range, const Cidr& ip) {
  if (ip.prefix != ip.bits() || !range.Contains(ip)) return false;
  const u128 offset = ip.network - range.network;
  return offset >= 1 && offset <= AllocatableCount(range);
}

std::optional<Cidr> PickClusterIp(const Cidr& range, const std::set<IpKey>& taken, uint64_t start) {
  const u128 count = AllocatableCount(range);
  if (count == 0) return std::nullopt;
  const u128 from = u128{start} % count;
  for (u128 k = 0; k < count; ++k) {
    const u128 address = range.network + 1 + (from + k) % count;
    if (!taken.contains({range.v6, address})) {
      Cidr ip;
      ip.v6 = range.v6;
      ip.network = address;
      ip.prefix = ip.bits();
      return ip;
    }
  }
  return std::nullopt;
}

std::optional<int32_t> PickNodePort(const PortRange& range, const std::set<int32_t>& taken,
                                    uint64_t start) {
  const uint64_t size = range.size();
  const uint64_t from = start % size;
  for (uint64_t k = 0; k < size; ++k) {
    const auto port = static_cast<int32_t>(range.first + (from + k) % size);
    if (!taken.contains(port)) return port;
  }
  return std::nullopt;
}

void CarryOverAllocations(const api::Service& current, api::Service& updated) {
  const api::ServiceSpec& c = current.spec;
  api::ServiceSpec& s = updated.spec;
  const std::string type = s.type.empty() ? "ClusterIP" : s.type;  // not yet defaulted
  if (type == "ExternalName") {
    // The address goes with the type, unless the update asks for a new one (which
    // validation then refuses).
    if ((s.cluster_ip.empty() || s.cluster_ip == c.cluster_ip) &&
        (s.cluster_ips.empty() || s.cluster_ips == c.cluster_ips)) {
      s.cluster_ip.clear();
      s.cluster_ips.clear();
    }
  } else if (s.cluster_ip.empty() && s.cluster_ips.empty()) {
    s.cluster_ip = c.cluster_ip;
    s.cluster_ips = c.cluster_ips;
  }
  if (!NeedsNodePorts(c.type)) return;
  if (NeedsNodePorts(type)) {
    std::set<const api::ServicePort*> claimed;
    for (auto& p : s.ports) {
      if (p.node_port != 0) continue;
      if (const api::ServicePort* was = Counterpart(c.ports, p, claimed)) {
        p.node_port = was->node_port;
      }
    }
    return;
  }
  // NodePort or LoadBalancer to ClusterIP or ExternalName: the node ports the update kept
  // go, and with them the policy only node ports have.
  for (auto& p : s.ports) {
    for (const auto& held : c.ports) {
      if (p.node_port != 0 && p.node_port == held.node_port) p.node_port = 0;
    }
  }
  if (s.external_traffic_policy == c.external_traffic_policy) s.external_traffic_policy.clear();
}

Status Allocate(const ServiceRanges& ranges, const ServiceAllocations& in_use,
                const api::Service* current, api::Service& service, std::mt19937_64& rng,
                FieldErrors* causes) {
  api::ServiceSpec& spec = service.spec;
  const bool external_name = spec.type == "ExternalName";
  // clusterIPs alone names the address too (Kubernetes' strategy keeps the two in step).
  if (!external_name && spec.cluster_ip.empty() && !spec.cluster_ips.empty()) {
    spec.cluster_ip = spec.cluster_ips.front();
  }
  FieldErrors errors;
  if (!external_name) errors = CheckClusterIp(ranges, in_use, current, service);
  if (NeedsNodePorts(spec.type)) {
    FieldErrors ports = CheckNodePorts(ranges, in_use, current, service);
    errors.insert(errors.end(), ports.begin(), ports.end());
  }
  if (!errors.empty()) {
    const api::ObjectMeta& m = service.metadata;
    Status st = InvalidStatus("Service", m.name.empty() ? m.generate_name : m.name, errors);
    if (causes) *causes = std::move(errors);
    return st;
  }

  if (external_name) {
    spec.cluster_ip.clear();
    spec.cluster_ips.clear();
  } else {
    if (spec.cluster_ip.empty()) {
      auto ip = PickClusterIp(ranges.cluster_ips, in_use.cluster_ips, rng());
      if (!ip) {
        return Status::Internal(
            "Internal error occurred: failed to allocate a serviceIP: range is full");
      }
      spec.cluster_ip = ip->AddressString();
    }
    spec.cluster_ips = {spec.cluster_ip};
  }
  if (NeedsNodePorts(spec.type)) {
    std::set<int32_t> taken = in_use.node_ports;
    for (const auto& p : spec.ports) {
      if (p.node_port != 0) taken.insert(p.node_port);
    }
    for (auto& p : spec.ports) {
      if (p.node_port != 0) continue;
      auto port = PickNodePort(ranges.node_ports, taken, rng());
      if (!port) {
        return Status::Internal(
            "Internal error occurred: failed to allocate a nodePort: range is full");
      }
      p.node_port = *port;
      taken.insert(*port);
    }
  }
  return Status::Ok();
}

}  // namespace korc::apiserver
