// The proxy's table: what one Service and its Endpoints mean for a node's load balancer.
// For every port of a Service that has a ClusterIP it gives the address to accept on, the
// node port (if any), the affinity rule and the ready backends — Kubernetes' rules for
// matching a Service port to an Endpoints port (by name, then protocol).
//
// Pure functions over objects: the proxy's reducer calls them, tests table-test them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/objects.h"

namespace korc::proxy {

struct Backend {
  std::string ip;
  uint16_t port = 0;
  std::string pod;  // targetRef name, for metrics and logs ("" when the address has none)
  bool operator==(const Backend&) const = default;
  bool operator<(const Backend& o) const { return std::tie(ip, port) < std::tie(o.ip, o.port); }
};

enum class Protocol { kTcp, kUdp };

struct ServicePortEntry {
  std::string id;  // "namespace/name:port-name" (port-name may be empty): the metrics label
  std::string ns, name, port_name;
  Protocol protocol = Protocol::kTcp;
  std::string cluster_ip;  // where Pods and the node reach it
  uint16_t port = 0;
  uint16_t node_port = 0;  // 0: none
  // sessionAffinity: ClientIP — one client address keeps its backend while it comes back
  // within the timeout.
  bool client_ip_affinity = false;
  int affinity_timeout_seconds = 10800;
  std::vector<Backend> backends;  // ready addresses only, sorted
  bool operator==(const ServicePortEntry&) const = default;
};

// The entries for a Service and its Endpoints (null when there are none yet: entries with
// no backends, so connections are refused at once instead of hanging). None for headless
// Services (clusterIP None), ExternalName, or SCTP ports (not proxied).
std::vector<ServicePortEntry> BuildServicePorts(const api::Service& service,
                                                const api::Endpoints* endpoints);

std::string_view ProtocolName(Protocol p);

}  // namespace korc::proxy
