// Netlink plumbing shared by the node's network code (pod networks, Service addresses):
// RAII handles for libnl-route objects and the few link and address operations korc needs.
// Every call talks to the network namespace of the thread that opened the socket.
//
// Thread-safety: a Sock is used by one thread at a time; the functions keep no state.
#pragma once

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace korc::kubelet::network {

// Internal for a failed system call (NotFound for ENOENT), with strerror.
Status ErrnoStatus(std::string_view what, int err);
// Internal for a failed libnl call, with nl_geterror.
Status NlStatus(std::string_view what, int err);

// Whether this process has CAP_NET_ADMIN and CAP_SYS_ADMIN (read from /proc, rather than
// assuming euid 0 means capable).
bool HasNetworkCapabilities();

struct SockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
using Sock = std::unique_ptr<nl_sock, SockDeleter>;
struct LinkDeleter {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using Link = std::unique_ptr<rtnl_link, LinkDeleter>;
struct AddrDeleter {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
using Addr = std::unique_ptr<nl_addr, AddrDeleter>;

// A NETLINK_ROUTE socket in the calling thread's network namespace.
Result<Sock> Connect();
// The link called `name`, or null when there is none.
Result<Link> GetLink(nl_sock* s, const std::string& name);
// An IPv4 address or network ("10.64.0.1/24").
Result<Addr> ParseAddr(const std::string& text);
// Brings a link up (and, when master > 0, enslaves it to that bridge) unless it already is.
Status UpLink(nl_sock* s, rtnl_link* link, int master = 0);
// Deletes a link; OK when it is already gone.
Status DeleteLink(nl_sock* s, rtnl_link* link);
// Adds `local` ("10.64.0.1/24") to a link; an address already there is fine. A non-empty
// `label` ("lo:korc", it must start with the link's name) marks who added it.
Status AddAddress(nl_sock* s, int ifindex, const std::string& local, const std::string& label = {});
// Removes `local` ("10.96.0.10/32") from a link; OK when it is not there.
Status DeleteAddress(nl_sock* s, int ifindex, const std::string& local);
// Forgets the node's ARP entry for `ip` on a link; OK when there is none.
Status DeleteNeighbour(nl_sock* s, int ifindex, const std::string& ip);
// The IPv4 addresses on a link, as "a.b.c.d/len"; only those with `label` when it is set.
Result<std::vector<std::string>> ListAddresses(nl_sock* s, int ifindex,
                                               const std::string& label = {});

}  // namespace korc::kubelet::network
