#include "components/kubelet/network/netlink.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/if.h>
#include <netlink/route/neighbour.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace korc::kubelet::network {
namespace {
constexpr int kCapNetAdmin = 12;
constexpr int kCapSysAdmin = 21;
}  // namespace

Status ErrnoStatus(std::string_view what, int err) {
  if (err == ENOENT) return Status::NotFound(fmt::format("{}: {}", what, std::strerror(err)));
  return Status::Internal(fmt::format("{}: {}", what, std::strerror(err)));
}

Status NlStatus(std::string_view what, int err) {
  return Status::Internal(fmt::format("{}: {}", what, nl_geterror(err)));
}

// Both capabilities are needed: NET_ADMIN for links and addresses, SYS_ADMIN for unshare,
// setns and the bind mounts. Read from /proc rather than assuming euid 0 means capable.
bool HasNetworkCapabilities() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    uint64_t caps = std::strtoull(line.c_str() + 7, nullptr, 16);
    return (caps >> kCapNetAdmin & 1) != 0 && (caps >> kCapSysAdmin & 1) != 0;
  }
  return false;
}

// A netlink socket talks to the network namespace of the thread that opened it.
Result<Sock> Connect() {
  Sock s(nl_socket_alloc());
  if (!s) return Status::Internal("netlink: out of memory");
  if (int err = nl_connect(s.get(), NETLINK_ROUTE); err < 0) return NlStatus("netlink", err);
  return s;
}

// The link called `name`, or null when there is none.
Result<Link> GetLink(nl_sock* s, const std::string& name) {
  rtnl_link* l = nullptr;
  int err = rtnl_link_get_kernel(s, 0, name.c_str(), &l);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return Link();
  if (err < 0) return NlStatus(fmt::format("get link {}", name), err);
  return Link(l);
}

Result<Addr> ParseAddr(const std::string& text) {
  nl_addr* a = nullptr;
  if (int err = nl_addr_parse(text.c_str(), AF_INET, &a); err < 0) {
    return NlStatus(fmt::format("address {}", text), err);
  }
  return Addr(a);
}

// Brings a link up (and, when master > 0, enslaves it to that bridge) unless it already is.
Status UpLink(nl_sock* s, rtnl_link* link, int master) {
  bool up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
  if (up && (master == 0 || rtnl_link_get_master(link) == master)) return Status::Ok();
  Link change(rtnl_link_alloc());
  if (master > 0) rtnl_link_set_master(change.get(), master);
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(s, link, change.get(), 0); err < 0) {
    return NlStatus(fmt::format("bring up {}", rtnl_link_get_name(link)), err);
  }
  return Status::Ok();
}

Status DeleteLink(nl_sock* s, rtnl_link* link) {
  int err = rtnl_link_delete(s, link);
  if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV) {
    return NlStatus(fmt::format("delete link {}", rtnl_link_get_name(link)), err);
  }
  return Status::Ok();
}

// Adds `local` ("10.64.0.1/24") to a link; an address already there is fine.
Status AddAddress(nl_sock* s, int ifindex, const std::string& local, const std::string& label) {
  KORC_ASSIGN_OR_RETURN(Addr addr, ParseAddr(local));
  rtnl_addr* a = rtnl_addr_alloc();
  rtnl_addr_set_ifindex(a, ifindex);
  int err = rtnl_addr_set_local(a, addr.get());
  if (err >= 0 && !label.empty()) err = rtnl_addr_set_label(a, label.c_str());
  if (err >= 0) err = rtnl_addr_add(s, a, NLM_F_EXCL);
  rtnl_addr_put(a);
  if (err < 0 && err != -NLE_EXIST) return NlStatus(fmt::format("add address {}", local), err);
  return Status::Ok();
}

Status DeleteAddress(nl_sock* s, int ifindex, const std::string& local) {
  KORC_ASSIGN_OR_RETURN(Addr addr, ParseAddr(local));
  rtnl_addr* a = rtnl_addr_alloc();
  rtnl_addr_set_ifindex(a, ifindex);
  int err = rtnl_addr_set_local(a, addr.get());
  if (err >= 0) err = rtnl_addr_delete(s, a, 0);
  rtnl_addr_put(a);
  if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NOADDR && err != -NLE_NODEV) {
    return NlStatus(fmt::format("delete address {}", local), err);
  }
  return Status::Ok();
}

Status DeleteNeighbour(nl_sock* s, int ifindex, const std::string& ip) {
  KORC_ASSIGN_OR_RETURN(Addr addr, ParseAddr(ip));
  rtnl_neigh* n = rtnl_neigh_alloc();
  rtnl_neigh_set_ifindex(n, ifindex);
  rtnl_neigh_set_family(n, AF_INET);
  int err = rtnl_neigh_set_dst(n, addr.get());
  if (err >= 0) err = rtnl_neigh_delete(s, n, 0);
  rtnl_neigh_put(n);
  if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NOADDR && err != -NLE_NODEV) {
    return NlStatus(fmt::format("forget neighbour {}", ip), err);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ListAddresses(nl_sock* s, int ifindex, const std::string& label) {
  nl_cache* cache = nullptr;
  if (int err = rtnl_addr_alloc_cache(s, &cache); err < 0) return NlStatus("list addresses", err);
  std::vector<std::string> out;
  for (nl_object* o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
    auto* a = reinterpret_cast<rtnl_addr*>(o);
    if (rtnl_addr_get_ifindex(a) != ifindex || rtnl_addr_get_family(a) != AF_INET) continue;
    const char* l = rtnl_addr_get_label(a);
    if (!label.empty() && (l == nullptr || label != l)) continue;
    char buf[64];
    nl_addr2str(rtnl_addr_get_local(a), buf, sizeof buf);
    std::string text = buf;
    if (text.find('/') == std::string::npos) text += "/32";
    out.push_back(std::move(text));
  }
  nl_cache_free(cache);
  return out;
}

}  // namespace korc::kubelet::network
