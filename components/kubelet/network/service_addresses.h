// Service addresses: the ClusterIPs a node's proxy listens on, made local to the node's
// network namespace so that Pods reach them through their default route (the bridge's
// gateway) and the node itself reaches them directly — no NAT, no forwarding.
//
// Each ClusterIP is a /32 on a dummy link `korc-svc0` (what kube-proxy's IPVS mode does with
// kube-ipvs0). Where the kernel has no dummy links it goes on `lo` instead, which the kernel
// treats the same way for local delivery. Either way every address korc adds carries the
// label "<link>:korc", so Sync can tell its own addresses from anybody else's and a node
// restarted after a crash removes what it no longer needs.
//
// Needs CAP_NET_ADMIN; Open says Unavailable otherwise (the proxy then binds ClusterIPs that
// are already local, such as a loopback service range).
//
// Thread-safety: every method may be called from any thread (an internal mutex).
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "core/status.h"

namespace korc::kubelet::network {

class ServiceAddresses {
 public:
  static constexpr const char* kDummyLink = "korc-svc0";

  // Creates (or adopts) the dummy link, or falls back to `lo`.
  static Result<std::unique_ptr<ServiceAddresses>> Open();

  // Makes exactly `ips` (IPv4, without prefix) korc's addresses on the link: adds the
  // missing ones, removes korc-labelled ones that are not wanted.
  Status Sync(const std::set<std::string>& ips);
  // Removes every korc-labelled address and the dummy link korc created.
  Status Clear();

  const std::string& link() const { return link_; }
  // korc's addresses on the link now, without prefix.
  Result<std::set<std::string>> List() const;

 private:
  ServiceAddresses(std::string link, int ifindex);
  std::string Label() const { return link_ + ":korc"; }

  const std::string link_;
  const int ifindex_;
  mutable std::mutex mu_;
};

}  // namespace korc::kubelet::network
