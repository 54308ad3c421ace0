// Pod networks: Kubernetes' bridge CNI plugin as a library, over netlink (libnl-route-3).
//
// Every Pod gets its own network namespace, bind-mounted at <state_dir>/netns/<pod_id> the
// way `ip netns add` does it, with loopback up and an `eth0` that is one end of a veth pair.
// The other end ("veth" + 8 hex digits of a hash of the pod id) sits on a bridge in the
// node's network namespace; the bridge holds the gateway address (the first host of the
// pod CIDR), Pods get the following addresses and a default route via the gateway. Pod IPs
// are reachable from the node and from other Pods through the bridge only: no forwarding,
// no NAT.
//
// Everything is on disk, so a kubelet that restarts sees the networks it set up before:
//   <state_dir>/netns/<pod_id>  the namespace (a bind mount of an nsfs file)
//   <state_dir>/ips/<ipv4>      one file per allocated address, containing the pod id.
//   <state_dir>/last-ip         the address handed out last; the next search starts after it
//                               (CNI host-local's rule), so freed addresses are not reused
//                               at once.
// Persisted: the layout and file contents must not change incompatibly.
//
// Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); Open says so otherwise. The only links it
// creates or deletes in the node's namespace are the bridge and the host-side veths.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace korc::kubelet::network {

struct NetworkConfig {
  std::string bridge = "korc0";  // bridge in the node's network namespace
  std::string pod_cidr;          // IPv4, e.g. "10.64.0.0/24": gateway .1, Pods from .2
  std::string state_dir;         // netns files and IP allocations (persist across restarts)
  int mtu = 1500;
};

struct PodNetworkStatus {
  std::string netns_path;  // bind-mounted network namespace of the Pod
  std::string ip;          // the Pod's IPv4 address, without prefix length
  std::string gateway;     // the bridge's address, the Pod's default route
  std::string host_veth;   // the node-side end of the Pod's veth pair
};

// Sets up and tears down Pod networks on one node.
//
// Thread-safety: every method may be called from any thread; Setup and Teardown are
// serialised by an internal mutex (they are a few netlink round trips each).
// Lifetime: the networks outlive the object (they are kernel and disk state); destroying a
// PodNetwork leaves them in place, and a new one opened on the same state_dir adopts them.
class PodNetwork {
 public:
  // Creates the bridge if absent (up, with the gateway address) and the state directories.
  // Invalid for a bad config (CIDR not an IPv4 network of /1../30, bad names or MTU);
  // Unavailable without root.
  static Result<std::unique_ptr<PodNetwork>> Open(NetworkConfig config);

  // Idempotent per pod_id: returns the existing network when there is one, repairing any
  // part that is missing. Unavailable when the CIDR is full; Invalid for a pod_id that
  // cannot be a file name; Conflict if another Pod's id hashes to the same veth name. When
  // it fails for a Pod that had no network, everything it created is removed again.
  Result<PodNetworkStatus> Setup(std::string_view pod_id);

  // The network of a Pod set up earlier (by this or an earlier PodNetwork); NotFound if none.
  Result<PodNetworkStatus> Get(std::string_view pod_id) const;

  // Removes the veth pair, unmounts and deletes the netns file, frees the IP. Idempotent:
  // OK when there is nothing to remove.
  Status Teardown(std::string_view pod_id);

  // Ids of the Pods that have a network namespace, sorted.
  std::vector<std::string> List() const;

  const NetworkConfig& config() const { return config_; }

 private:
  PodNetwork(NetworkConfig config, uint32_t network, int prefix_len);

  Result<PodNetworkStatus> SetupLocked(const std::string& pod_id);
  Status TeardownLocked(const std::string& pod_id);
  // The address allocated to pod_id ("" if none). REQUIRES: mu_ held or read-only use.
  Result<std::string> FindIp(const std::string& pod_id) const;
  Result<std::string> AllocateIp(const std::string& pod_id);
  Status FreeIps(const std::string& pod_id);

  std::string NetnsPath(std::string_view pod_id) const;
  std::string IpsDir() const;

  const NetworkConfig config_;
  const uint32_t network_;  // host byte order
  const int prefix_len_;
  const std::string gateway_;
  mutable std::mutex mu_;  // guards the on-disk state and netlink changes of Setup/Teardown
};

// Runs fn on a fresh thread that has entered (setns) the network namespace at netns_path,
// and waits for it. The status says whether the namespace could be entered; fn's own
// outcome is up to fn (capture what it needs). Does not change the caller's namespace.
Status RunInNetns(const std::string& netns_path, const std::function<void()>& fn);

// The node-side veth name for a Pod: "veth" + 8 hex digits of a stable (FNV-1a) hash.
std::string HostVethName(std::string_view pod_id);

}  // namespace korc::kubelet::network
