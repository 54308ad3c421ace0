#include "components/kubelet/network/service_addresses.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netlink/route/link.h>
#include <spdlog/spdlog.h>

#include "components/kubelet/network/netlink.h"

namespace korc::kubelet::network {
namespace {

spdlog::logger& Log() {
  static const std::shared_ptr<spdlog::logger> logger =
      spdlog::default_logger()->clone("kubelet.network");
  return *logger;
}

std::string WithoutPrefix(const std::string& cidr) { return cidr.substr(0, cidr.find('/')); }

// The dummy link, created when absent; null when this kernel has no dummy links.
Result<Link> EnsureDummy(nl_sock* s) {
  KORC_ASSIGN_OR_RETURN(Link link, GetLink(s, ServiceAddresses::kDummyLink));
  if (!link) {
    Link want(rtnl_link_alloc());
    rtnl_link_set_name(want.get(), ServiceAddresses::kDummyLink);
    int err = rtnl_link_set_type(want.get(), "dummy");
    if (err >= 0) err = rtnl_link_add(s, want.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err == -NLE_OPNOTSUPP || err == -NLE_NOATTR || err == -NLE_INVAL) return Link();
    if (err < 0 && err != -NLE_EXIST) {
      return NlStatus(fmt::format("create link {}", ServiceAddresses::kDummyLink), err);
    }
    KORC_ASSIGN_OR_RETURN(link, GetLink(s, ServiceAddresses::kDummyLink));
    if (!link) return Link();
  }
  KORC_RETURN_IF_ERROR(UpLink(s, link.get()));
  return link;
}

}  // namespace

ServiceAddresses::ServiceAddresses(std::string link, int ifindex)
    : link_(std::move(link)), ifindex_(ifindex) {}

Result<std::unique_ptr<ServiceAddresses>> ServiceAddresses::Open() {
  if (!HasNetworkCapabilities()) {
    return Status::Unavailable("service addresses need CAP_NET_ADMIN (run korc node as root)");
  }
  KORC_ASSIGN_OR_RETURN(Sock s, Connect());
  KORC_ASSIGN_OR_RETURN(Link dummy, EnsureDummy(s.get()));
  if (dummy) {
    return std::unique_ptr<ServiceAddresses>(
        new ServiceAddresses(kDummyLink, rtnl_link_get_ifindex(dummy.get())));
  }
  KORC_ASSIGN_OR_RETURN(Link lo, GetLink(s.get(), "lo"));
  if (!lo) return Status::Unavailable("no loopback link in this network namespace");
  KORC_RETURN_IF_ERROR(UpLink(s.get(), lo.get()));
  Log().info("this kernel has no dummy links: ClusterIPs go on lo (label lo:korc)");
  return std::unique_ptr<ServiceAddresses>(
      new ServiceAddresses("lo", rtnl_link_get_ifindex(lo.get())));
}

Result<std::set<std::string>> ServiceAddresses::List() const {
  KORC_ASSIGN_OR_RETURN(Sock s, Connect());
  KORC_ASSIGN_OR_RETURN(auto addrs, ListAddresses(s.get(), ifindex_, Label()));
  std::set<std::string> out;
  for (const auto& a : addrs) out.insert(WithoutPrefix(a));
  return out;
}

Status ServiceAddresses::Sync(const std::set<std::string>& ips) {
  std::lock_guard lock(mu_);
  for (const auto& ip : ips) {
    in_addr parsed{};
    if (inet_pton(AF_INET, ip.c_str(), &parsed) != 1) {
      return Status::Invalid(fmt::format("service address \"{}\" is not an IPv4 address", ip));
    }
  }
  KORC_ASSIGN_OR_RETURN(std::set<std::string> have, List());
  KORC_ASSIGN_OR_RETURN(Sock s, Connect());
  for (const auto& ip : have) {
    if (!ips.contains(ip)) KORC_RETURN_IF_ERROR(DeleteAddress(s.get(), ifindex_, ip + "/32"));
  }
  for (const auto& ip : ips) {
    if (!have.contains(ip))
      KORC_RETURN_IF_ERROR(AddAddress(s.get(), ifindex_, ip + "/32", Label()));
  }
  return Status::Ok();
}

Status ServiceAddresses::Clear() {
  KORC_RETURN_IF_ERROR(Sync({}));
  if (link_ != kDummyLink) return Status::Ok();
  std::lock_guard lock(mu_);
  KORC_ASSIGN_OR_RETURN(Sock s, Connect());
  KORC_ASSIGN_OR_RETURN(Link link, GetLink(s.get(), link_));
  if (link) KORC_RETURN_IF_ERROR(DeleteLink(s.get(), link.get()));
  return Status::Ok();
}

}  // namespace korc::kubelet::network
