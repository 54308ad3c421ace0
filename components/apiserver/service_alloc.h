// Service ClusterIPs and NodePorts, allocated by the API server as kube-apiserver does it.
//
// There is no allocator state of its own: an allocation is the Service object that holds it
// (spec.clusterIP, spec.ports[].nodePort). The sequencer decides every write on one thread
// against a BatchView that includes the earlier decisions of its batch, so the set in use,
// taken from that view's Services, is exact: two creates can never get the same address.
// Allocations are in the log with the Services, so they survive restarts, and deleting a
// Service releases them with nothing else to clean up.
//
// The handlers call, for a Service:
//   create — Allocate(ranges, InUse(view Services, ns, name), nullptr, service, ...)
//   update — CarryOverAllocations(current, incoming) before defaulting and validation, then
//            Allocate(ranges, InUse(...), &current, result, ...) after them.
//
// Thread-safety: plain values and free functions; each call uses only what it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/cidr.h"
#include "core/field_error.h"
#include "core/objects.h"
#include "core/status.h"

namespace korc::apiserver {

// Ports first..last inclusive, written "30000-32767" as kube-apiserver's
// --service-node-port-range.
struct PortRange {
  int32_t first = 30000;
  int32_t last = 32767;

  // "30000-32767", or one port "30080"; nullopt unless 1 <= first <= last <= 65535.
  static std::optional<PortRange> Parse(std::string_view text);
  bool Contains(int32_t port) const { return port >= first && port <= last; }
  uint64_t size() const { return static_cast<uint64_t>(last - first) + 1; }
  std::string ToString() const;

  bool operator==(const PortRange&) const = default;
};

// What the API server allocates from.
struct ServiceRanges {
  Cidr cluster_ips;
  PortRange node_ports;

  // Invalid, naming the flag, when a range does not parse, the CIDR holds no address to
  // hand out, or it has more than 2^20 (kube-apiserver's limit: a /12 for IPv4).
  static Result<ServiceRanges> Parse(std::string_view cluster_ip_range,
                                     std::string_view node_port_range);
};

// An address as the allocator compares them: family and value (so "fd00::a" and
// "fd00:0::a" are one address).
using IpKey = std::pair<bool, unsigned __int128>;

// What Services hold.
struct ServiceAllocations {
  std::set<IpKey> cluster_ips;
  std::set<int32_t> node_ports;  // per port number, whatever the protocol
};

// What `services` (Service objects; others are skipped) hold, leaving out the Service
// ns/name itself: its own addresses never collide with it. Node ports count for
// NodePort and LoadBalancer Services only, as only those are given any.
ServiceAllocations InUse(const std::vector<const api::Object*>& services, std::string_view ns,
                         std::string_view name);

// The allocatable addresses of `range`: all but the network address and, for IPv4, the
// broadcast address. Whether `ip` is one of them.
bool Allocatable(const Cidr& range, const Cidr& ip);

// A free address of `range` (Allocatable, not in `taken`): probes from the `start`-th
// allocatable address (modulo their number) upward, wrapping, so a nearly empty range
// answers at once and only a nearly full one is scanned. nullopt when all are taken.
std::optional<Cidr> PickClusterIp(const Cidr& range, const std::set<IpKey>& taken, uint64_t start);

// A free port of `range` the same way, from its `start`-th port (modulo its size).
std::optional<int32_t> PickNodePort(const PortRange& range, const std::set<int32_t>& taken,
                                    uint64_t start);

// The first step of an update, before defaulting and validation. Kubernetes keeps what was
// allocated when an update leaves it out (kubectl replace of a manifest without clusterIP,
// an apply that never mentioned nodePort): `updated` gets `current`'s clusterIP and
// clusterIPs when it has neither, and each port with nodePort 0 the nodePort of `current`'s
// port with the same name, or else the same port and protocol, while both types need node
// ports. A type change drops what the new type cannot have when the update left it as it
// was: clusterIP(s) on a change to ExternalName, node ports (and externalTrafficPolicy) on
// a change to ClusterIP or ExternalName — which releases them.
void CarryOverAllocations(const api::Service& current, api::Service& updated);

// Allocates what `service` (defaulted and valid) still needs and checks what it asks for;
// `current` is the stored Service for an update, nullptr for a create. Against `in_use`
// (InUse of every other Service):
//   - clusterIP: none for ExternalName; "None" is headless; empty gets a free address of
//     the range; a requested one must be allocatable and free. An update may not change a
//     clusterIP once set (but a change to or from ExternalName may). clusterIPs becomes
//     [clusterIP].
//   - NodePort and LoadBalancer: each port with nodePort 0 gets a free port of the range; a
//     requested one must be in the range, free, and not asked twice by this Service. Ports
//     `current` already holds are kept as they are.
// Invalid (metav1 422, one FieldError per problem in `causes`) for what the request asked
// wrong; Internal (500) when a range is full, as Kubernetes answers. `rng` picks where the
// probing starts. On error `service` may be half-filled and must be dropped.
Status Allocate(const ServiceRanges& ranges, const ServiceAllocations& in_use,
                const api::Service* current, api::Service& service, std::mt19937_64& rng,
                FieldErrors* causes);

}  // namespace korc::apiserver
