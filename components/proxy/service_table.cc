#include "components/proxy/service_table.h"

#include <algorithm>

namespace korc::proxy {

std::string_view ProtocolName(Protocol p) { return p == Protocol::kTcp ? "TCP" : "UDP"; }

std::vector<ServicePortEntry> BuildServicePorts(const api::Service& service,
                                                const api::Endpoints* endpoints) {
  std::vector<ServicePortEntry> out;
  const auto& spec = service.spec;
  if (spec.type == "ExternalName" || spec.cluster_ip.empty() || spec.cluster_ip == "None") {
    return out;
  }
  for (const auto& p : spec.ports) {
    std::string protocol = p.protocol.empty() ? "TCP" : p.protocol;
    if (protocol != "TCP" && protocol != "UDP") continue;
    ServicePortEntry e;
    e.ns = service.metadata.namespace_;
    e.name = service.metadata.name;
    e.port_name = p.name;
    e.id = e.ns + "/" + e.name + ":" + p.name;
    e.protocol = protocol == "TCP" ? Protocol::kTcp : Protocol::kUdp;
    e.cluster_ip = spec.cluster_ip;
    e.port = static_cast<uint16_t>(p.port);
    e.node_port = static_cast<uint16_t>(p.node_port);
    e.client_ip_affinity = spec.session_affinity == "ClientIP";
    if (spec.session_affinity_config && spec.session_affinity_config->client_ip &&
        spec.session_affinity_config->client_ip->timeout_seconds) {
      e.affinity_timeout_seconds = *spec.session_affinity_config->client_ip->timeout_seconds;
    }
    if (endpoints) {
      for (const auto& subset : endpoints->subsets) {
        // The endpoints controller names each Endpoints port after its Service port.
        for (const auto& ep : subset.ports) {
          std::string ep_protocol = ep.protocol.empty() ? "TCP" : ep.protocol;
          if (ep.name != p.name || ep_protocol != protocol) continue;
          for (const auto& a : subset.addresses) {
            Backend b{a.ip, static_cast<uint16_t>(ep.port), a.target_ref ? a.target_ref->name : ""};
            e.backends.push_back(std::move(b));
          }
        }
      }
    }
    std::sort(e.backends.begin(), e.backends.end());
    e.backends.erase(std::unique(e.backends.begin(), e.backends.end(),
                                 [](const Backend& a, const Backend& b) {
                                   return a.ip == b.ip && a.port == b.port;
                                 }),
                     e.backends.end());
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace korc::proxy
