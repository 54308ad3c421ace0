#include "components/kubelet/network/pod_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/if.h>
#include <linux/magic.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "components/kubelet/network/netlink.h"

namespace korc::kubelet::network {
namespace {

namespace fs = std::filesystem;

constexpr char kPodIfName[] = "eth0";
constexpr size_t kMaxIfNameLen = 15;  // IFNAMSIZ - 1

spdlog::logger& Log() {
  static const std::shared_ptr<spdlog::logger> logger =
      spdlog::default_logger()->clone("kubelet.network");
  return *logger;
}

std::string FormatIp(uint32_t host_order) {
  in_addr a{htonl(host_order)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

Status ParseCidr(const std::string& cidr, uint32_t* network, int* prefix_len) {
  auto bad = [&](std::string_view why) {
    return Status::Invalid(fmt::format("pod CIDR \"{}\": {}", cidr, why));
  };
  size_t slash = cidr.find('/');
  if (slash == std::string::npos) return bad("want an IPv4 network like 10.64.0.0/24");
  in_addr addr{};
  if (inet_pton(AF_INET, cidr.substr(0, slash).c_str(), &addr) != 1) {
    return bad("not an IPv4 address");
  }
  std::string len = cidr.substr(slash + 1);
  if (len.empty() || len.size() > 2 ||
      !std::all_of(len.begin(), len.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("bad prefix length");
  }
  *prefix_len = std::stoi(len);
  // A gateway, at least one Pod and the broadcast address need a /30 or larger.
  if (*prefix_len < 1 || *prefix_len > 30) return bad("prefix length must be 1..30");
  uint32_t mask = ~uint32_t{0} << (32 - *prefix_len);
  *network = ntohl(addr.s_addr);
  if ((*network & ~mask) != 0) {
    return bad(fmt::format("host bits set (the network is {}/{})", FormatIp(*network & mask),
                           *prefix_len));
  }
  return Status::Ok();
}

Status ValidatePodId(std::string_view pod_id) {
  // The id names files; a leading dot is reserved for temporary files.
  if (pod_id.empty() || pod_id.size() > 253 || pod_id.front() == '.' ||
      pod_id.find('/') != std::string_view::npos || pod_id.find('\0') != std::string_view::npos) {
    return Status::Invalid(fmt::format("pod id \"{}\" cannot name a network", pod_id));
  }
  return Status::Ok();
}

bool IsNetnsMounted(const std::string& path) {
  struct statfs st {};
  return statfs(path.c_str(), &st) == 0 && st.f_type == NSFS_MAGIC;
}

Status AddDefaultRoute(nl_sock* s, int ifindex, const std::string& gateway) {
  KORC_ASSIGN_OR_RETURN(Addr dst, ParseAddr("0.0.0.0/0"));
  KORC_ASSIGN_OR_RETURN(Addr gw, ParseAddr(gateway));
  rtnl_route* r = rtnl_route_alloc();
  rtnl_route_set_family(r, AF_INET);
  int err = rtnl_route_set_dst(r, dst.get());
  rtnl_nexthop* nh = rtnl_route_nh_alloc();
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_nh_set_gateway(nh, gw.get());
  rtnl_route_add_nexthop(r, nh);  // the route owns nh from here
  if (err >= 0) err = rtnl_route_add(s, r, NLM_F_EXCL);
  rtnl_route_put(r);
  if (err < 0 && err != -NLE_EXIST) {
    return NlStatus(fmt::format("add default route via {}", gateway), err);
  }
  return Status::Ok();
}

// Like RunInNetns, for work that has a status of its own.
Status InNetns(const std::string& netns_path, const std::function<Status()>& fn) {
  Status inner;
  KORC_RETURN_IF_ERROR(RunInNetns(netns_path, [&] { inner = fn(); }));
  return inner;
}

// `ip netns` makes its directory a shared mount point so a namespace unmounted here is
// unmounted in every mount namespace cloned from ours (a container's), letting the kernel
// free it; a bind mount of the directory onto itself makes it a mount point first.
Status MakeSharedMountPoint(const std::string& dir) {
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) == 0) return Status::Ok();
  if (errno != EINVAL) return ErrnoStatus(fmt::format("make {} shared", dir), errno);
  if (mount(dir.c_str(), dir.c_str(), "none", MS_BIND | MS_REC, nullptr) != 0) {
    return ErrnoStatus(fmt::format("bind mount {}", dir), errno);
  }
  if (mount("", dir.c_str(), "none", MS_SHARED | MS_REC, nullptr) != 0) {
    return ErrnoStatus(fmt::format("make {} shared", dir), errno);
  }
  return Status::Ok();
}

Status RemoveNetnsFile(const std::string& path) {
  // MNT_DETACH: a process still inside the namespace must not make Teardown fail; the
  // namespace itself lives on until that process leaves. EINVAL means it was not mounted.
  umount2(path.c_str(), MNT_DETACH);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(fmt::format("remove {}", path), errno);
  }
  return Status::Ok();
}

// A new network namespace, bind-mounted at `path`. unshare(CLONE_NEWNET) only moves the
// calling thread, so a throwaway thread does it and pins the namespace with the mount.
Status CreateNetns(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0) return ErrnoStatus(fmt::format("create {}", path), errno);
  close(fd);
  Status st;
  std::thread([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      st = ErrnoStatus("unshare(CLONE_NEWNET)", errno);
      return;
    }
    std::string self = fmt::format("/proc/self/task/{}/ns/net", gettid());
    if (mount(self.c_str(), path.c_str(), "none", MS_BIND, nullptr) != 0) {
      st = ErrnoStatus(fmt::format("bind mount netns at {}", path), errno);
    }
  }).join();
  if (!st.ok()) (void)RemoveNetnsFile(path);
  return st;
}

// A veth pair: `host` in the caller's namespace, `eth0` created directly inside the Pod's
// namespace (IFLA_NET_NS_FD on the peer), so the Pod end never borrows a name on the node.
Status CreateVeth(nl_sock* s, const std::string& host, const std::string& netns_path, int mtu) {
  int ns_fd = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0) return ErrnoStatus(fmt::format("open {}", netns_path), errno);
  rtnl_link* link = rtnl_link_veth_alloc();
  rtnl_link_set_name(link, host.c_str());
  rtnl_link_set_mtu(link, mtu);
  rtnl_link* peer = rtnl_link_veth_get_peer(link);
  rtnl_link_set_name(peer, kPodIfName);
  rtnl_link_set_mtu(peer, mtu);
  rtnl_link_set_ns_fd(peer, ns_fd);
  rtnl_link_put(peer);
  int err = rtnl_link_add(s, link, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_veth_release(link);
  close(ns_fd);
  if (err < 0) return NlStatus(fmt::format("create veth {}", host), err);
  return Status::Ok();
}

// The bridge, created and addressed if needed; returns its ifindex.
Result<int> EnsureBridge(nl_sock* s, const NetworkConfig& config, const std::string& gateway_cidr) {
  KORC_ASSIGN_OR_RETURN(Link bridge, GetLink(s, config.bridge));
  if (!bridge) {
    rtnl_link* b = rtnl_link_bridge_alloc();
    rtnl_link_set_name(b, config.bridge.c_str());
    rtnl_link_set_mtu(b, config.mtu);
    // A bridge without an address of its own takes the lowest of its ports' MACs, so it
    // changes whenever a Pod comes or goes, and every Pod's ARP entry for the gateway goes
    // stale: replies to the node (and so to the Service proxy) vanish for seconds. A fixed
    // MAC, random and locally administered, keeps the gateway where Pods last saw it.
    std::random_device rd;
    unsigned char mac[6] = {0x02, 0, 0, 0, 0, 0};
    for (int i = 1; i < 6; ++i) mac[i] = static_cast<unsigned char>(rd());
    nl_addr* lladdr = nl_addr_build(AF_LLC, mac, sizeof mac);
    rtnl_link_set_addr(b, lladdr);
    nl_addr_put(lladdr);
    int err = rtnl_link_add(s, b, NLM_F_CREATE | NLM_F_EXCL);
    rtnl_link_put(b);
    if (err < 0 && err != -NLE_EXIST) {
      return NlStatus(fmt::format("create bridge {}", config.bridge), err);
    }
    KORC_ASSIGN_OR_RETURN(bridge, GetLink(s, config.bridge));
    if (!bridge) return Status::Internal(fmt::format("bridge {} vanished", config.bridge));
    Log().info("created bridge={} gateway={}", config.bridge, gateway_cidr);
  }
  if (!rtnl_link_is_bridge(bridge.get())) {
    return Status::Invalid(fmt::format("link {} exists and is not a bridge", config.bridge));
  }
  KORC_RETURN_IF_ERROR(UpLink(s, bridge.get()));
  int index = rtnl_link_get_ifindex(bridge.get());
  KORC_RETURN_IF_ERROR(AddAddress(s, index, gateway_cidr));
  return index;
}

// What the Pod end looks like from inside: 0s when there is no eth0.
struct PodEnd {
  int ifindex = 0;
  int peer_ifindex = 0;  // IFLA_LINK: the host end's ifindex in the node namespace
};

Result<PodEnd> InspectPodEnd(const std::string& netns_path) {
  PodEnd end;
  KORC_RETURN_IF_ERROR(InNetns(netns_path, [&]() -> Status {
    KORC_ASSIGN_OR_RETURN(Sock s, Connect());
    KORC_ASSIGN_OR_RETURN(Link eth0, GetLink(s.get(), kPodIfName));
    if (eth0) {
      end.ifindex = rtnl_link_get_ifindex(eth0.get());
      end.peer_ifindex = rtnl_link_get_link(eth0.get());
    }
    return Status::Ok();
  }));
  return end;
}

Status DeletePodEnd(const std::string& netns_path) {
  return InNetns(netns_path, [&]() -> Status {
    KORC_ASSIGN_OR_RETURN(Sock s, Connect());
    KORC_ASSIGN_OR_RETURN(Link eth0, GetLink(s.get(), kPodIfName));
    return eth0 ? DeleteLink(s.get(), eth0.get()) : Status::Ok();
  });
}

// Inside the Pod: lo and eth0 up, the Pod's address on eth0, default route via the gateway.
Status ConfigurePodEnd(const std::string& netns_path, const std::string& ip_cidr,
                       const std::string& gateway) {
  return InNetns(netns_path, [&]() -> Status {
    KORC_ASSIGN_OR_RETURN(Sock s, Connect());
    KORC_ASSIGN_OR_RETURN(Link lo, GetLink(s.get(), "lo"));
    if (!lo) return Status::Internal("no loopback in the pod's network namespace");
    KORC_RETURN_IF_ERROR(UpLink(s.get(), lo.get()));
    KORC_ASSIGN_OR_RETURN(Link eth0, GetLink(s.get(), kPodIfName));
    if (!eth0) return Status::Internal("eth0 missing from the pod's network namespace");
    // Up before addressing: the kernel installs the subnet route, which the default route's
    // gateway must be reachable through, only for a link that is up.
    KORC_RETURN_IF_ERROR(UpLink(s.get(), eth0.get()));
    int index = rtnl_link_get_ifindex(eth0.get());
    KORC_RETURN_IF_ERROR(AddAddress(s.get(), index, ip_cidr));
    return AddDefaultRoute(s.get(), index, gateway);
  });
}

Result<std::string> ReadSmallFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return ErrnoStatus(fmt::format("read {}", path.string()), errno);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string HostVethName(std::string_view pod_id) {
  uint32_t h = 2166136261u;  // FNV-1a: stable across builds and restarts, unlike std::hash
  for (unsigned char c : pod_id) {
    h ^= c;
    h *= 16777619u;
  }
  return fmt::format("veth{:08x}", h);
}

Status RunInNetns(const std::string& netns_path, const std::function<void()>& fn) {
  int fd = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(fmt::format("open netns {}", netns_path), errno);
  Status st;
  std::exception_ptr thrown;
  std::thread([&] {
    if (setns(fd, CLONE_NEWNET) != 0) {
      st = ErrnoStatus(fmt::format("enter netns {}", netns_path), errno);
      return;
    }
    try {
      fn();
    } catch (...) {
      thrown = std::current_exception();
    }
  }).join();
  close(fd);
  // fn's exceptions are the caller's own: hand them back on the caller's thread.
  if (thrown) std::rethrow_exception(thrown);
  return st;
}

PodNetwork::PodNetwork(NetworkConfig config, uint32_t network, int prefix_len)
    : config_(std::move(config)),
      network_(network),
      prefix_len_(prefix_len),
      gateway_(FormatIp(network + 1)) {}

Result<std::unique_ptr<PodNetwork>> PodNetwork::Open(NetworkConfig config) {
  uint32_t network = 0;
  int prefix_len = 0;
  KORC_RETURN_IF_ERROR(ParseCidr(config.pod_cidr, &network, &prefix_len));
  if (config.bridge.empty() || config.bridge.size() > kMaxIfNameLen ||
      config.bridge.find_first_of("/ \t\n:") != std::string::npos) {
    return Status::Invalid(
        fmt::format("bridge name \"{}\" is not a valid link name", config.bridge));
  }
  if (config.mtu < 68 || config.mtu > 65535) {
    return Status::Invalid(fmt::format("mtu {} out of range 68..65535", config.mtu));
  }
  if (config.state_dir.empty()) return Status::Invalid("state_dir is required");
  if (!HasNetworkCapabilities()) {
    return Status::Unavailable("pod networks need root (CAP_NET_ADMIN)");
  }

  std::unique_ptr<PodNetwork> net(new PodNetwork(std::move(config), network, prefix_len));
  std::error_code ec;
  for (const std::string& dir : {net->config_.state_dir + "/netns", net->IpsDir()}) {
    fs::create_directories(dir, ec);
    if (ec) return Status::Internal(fmt::format("create {}: {}", dir, ec.message()));
  }
  KORC_RETURN_IF_ERROR(MakeSharedMountPoint(net->config_.state_dir + "/netns"));
  KORC_ASSIGN_OR_RETURN(Sock s, Connect());
  KORC_RETURN_IF_ERROR(
      EnsureBridge(s.get(), net->config_, fmt::format("{}/{}", net->gateway_, prefix_len))
          .status());
  Log().info("opened bridge={} pod_cidr={} state_dir={}", net->config_.bridge,
             net->config_.pod_cidr, net->config_.state_dir);
  return net;
}

std::string PodNetwork::NetnsPath(std::string_view pod_id) const {
  return fmt::format("{}/netns/{}", config_.state_dir, pod_id);
}

std::string PodNetwork::IpsDir() const { return config_.state_dir + "/ips"; }

Result<std::string> PodNetwork::FindIp(const std::string& pod_id) const {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(IpsDir(), ec)) {
    if (e.path().filename().string().front() == '.') continue;
    KORC_ASSIGN_OR_RETURN(std::string owner, ReadSmallFile(e.path()));
    if (owner == pod_id) return e.path().filename().string();
  }
  if (ec) return Status::Internal(fmt::format("list {}: {}", IpsDir(), ec.message()));
  return std::string();
}

Result<std::string> PodNetwork::AllocateIp(const std::string& pod_id) {
  // The owner is written to a temporary file first and then linked under the address's
  // name: link() fails if the address is taken, and a crash never leaves an allocation
  // without an owner.
  std::string tmp = fmt::format("{}/.{}.tmp", IpsDir(), HostVethName(pod_id));
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << pod_id;
    out.flush();
    if (!out) return ErrnoStatus(fmt::format("write {}", tmp), errno);
  }
  // Like CNI's host-local IPAM, the search starts after the address handed out last, so a
  // freed address is not reused until the range comes round again: a new Pod on an old
  // Pod's address would be unreachable while the node's ARP cache still holds the old MAC,
  // and clients holding the old Endpoints would reach the wrong Pod.
  const uint32_t first = network_ + 2;
  const uint32_t broadcast = network_ | ~(~uint32_t{0} << (32 - prefix_len_));
  const uint32_t count = broadcast - first;
  const std::string last_path = config_.state_dir + "/last-ip";
  uint32_t start = 0;
  if (auto last = ReadSmallFile(last_path); last.ok()) {
    in_addr parsed{};
    if (inet_pton(AF_INET, last->c_str(), &parsed) == 1) {
      uint32_t l = ntohl(parsed.s_addr);
      if (l >= first && l < broadcast) start = (l - first + 1) % count;
    }
  }
  for (uint32_t i = 0; i < count; ++i) {
    std::string ip = FormatIp(first + (start + i) % count);
    if (link(tmp.c_str(), (IpsDir() + "/" + ip).c_str()) == 0) {
      unlink(tmp.c_str());
      std::ofstream(last_path, std::ios::trunc) << ip;
      return ip;
    }
    if (errno != EEXIST) {
      int err = errno;
      unlink(tmp.c_str());
      return ErrnoStatus(fmt::format("allocate {}", ip), err);
    }
  }
  unlink(tmp.c_str());
  return Status::Unavailable(fmt::format("pod CIDR {} is full: all {} pod addresses are in use",
                                         config_.pod_cidr, broadcast - network_ - 2));
}

Status PodNetwork::FreeIps(const std::string& pod_id) {
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(IpsDir(), ec)) {
    if (e.path().filename().string().front() == '.') continue;
    auto owner = ReadSmallFile(e.path());
    if (owner.ok() && *owner == pod_id && unlink(e.path().c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(fmt::format("free {}", e.path().string()), errno);
    }
  }
  if (ec) return Status::Internal(fmt::format("list {}: {}", IpsDir(), ec.message()));
  return Status::Ok();
}

Result<PodNetworkStatus> PodNetwork::Setup(std::string_view pod_id) {
  KORC_RETURN_IF_ERROR(ValidatePodId(pod_id));
  std::string id(pod_id);
  std::lock_guard lock(mu_);
  // Checked before anything that could roll back: the rollback deletes the veth by name.
  const std::string host = HostVethName(id);
  for (const std::string& other : List()) {
    if (other != id && HostVethName(other) == host) {
      return Status::Conflict(
          fmt::format("pods {} and {} hash to the same veth name {}", other, id, host));
    }
  }
  bool existed = IsNetnsMounted(NetnsPath(id));
  Result<PodNetworkStatus> result = SetupLocked(id);
  if (!result.ok()) {
    Log().warn("setup failed pod={} error=\"{}\"", id, result.status().ToString());
    // A half-built network of a new Pod is removed so a retry starts clean; an existing
    // one is left for Teardown to decide about.
    if (!existed) (void)TeardownLocked(id);
  }
  return result;
}

Result<PodNetworkStatus> PodNetwork::SetupLocked(const std::string& pod_id) {
  const std::string host = HostVethName(pod_id);
  KORC_ASSIGN_OR_RETURN(Sock s, Connect());
  KORC_ASSIGN_OR_RETURN(
      int bridge_index,
      EnsureBridge(s.get(), config_, fmt::format("{}/{}", gateway_, prefix_len_)));

  const std::string path = NetnsPath(pod_id);
  if (!IsNetnsMounted(path)) KORC_RETURN_IF_ERROR(CreateNetns(path));
  KORC_ASSIGN_OR_RETURN(std::string ip, FindIp(pod_id));
  bool allocated = ip.empty();
  if (allocated) {
    KORC_ASSIGN_OR_RETURN(ip, AllocateIp(pod_id));
    // Whatever MAC the node last knew for this address belonged to another Pod.
    KORC_RETURN_IF_ERROR(DeleteNeighbour(s.get(), bridge_index, ip));
  }

  // Keep the veth pair only if both ends are there and point at each other; anything else
  // is the remains of an interrupted Setup and is rebuilt.
  KORC_ASSIGN_OR_RETURN(Link host_link, GetLink(s.get(), host));
  KORC_ASSIGN_OR_RETURN(PodEnd pod_end, InspectPodEnd(path));
  bool paired = host_link && pod_end.ifindex != 0 &&
                rtnl_link_get_link(host_link.get()) == pod_end.ifindex &&
                pod_end.peer_ifindex == rtnl_link_get_ifindex(host_link.get());
  if (!paired) {
    if (host_link) KORC_RETURN_IF_ERROR(DeleteLink(s.get(), host_link.get()));
    if (pod_end.ifindex != 0) KORC_RETURN_IF_ERROR(DeletePodEnd(path));
    KORC_RETURN_IF_ERROR(CreateVeth(s.get(), host, path, config_.mtu));
    KORC_ASSIGN_OR_RETURN(host_link, GetLink(s.get(), host));
    if (!host_link) return Status::Internal(fmt::format("veth {} vanished", host));
  }
  KORC_RETURN_IF_ERROR(ConfigurePodEnd(path, fmt::format("{}/{}", ip, prefix_len_), gateway_));
  KORC_RETURN_IF_ERROR(UpLink(s.get(), host_link.get(), bridge_index));
  if (allocated || !paired) Log().info("set up pod={} ip={} veth={}", pod_id, ip, host);
  return PodNetworkStatus{path, ip, gateway_, host};
}

Result<PodNetworkStatus> PodNetwork::Get(std::string_view pod_id) const {
  KORC_RETURN_IF_ERROR(ValidatePodId(pod_id));
  std::string id(pod_id);
  std::lock_guard lock(mu_);
  std::string path = NetnsPath(id);
  KORC_ASSIGN_OR_RETURN(std::string ip, FindIp(id));
  if (!IsNetnsMounted(path) || ip.empty()) {
    return Status::NotFound(fmt::format("pod {} has no network", id));
  }
  return PodNetworkStatus{path, ip, gateway_, HostVethName(id)};
}

Status PodNetwork::Teardown(std::string_view pod_id) {
  KORC_RETURN_IF_ERROR(ValidatePodId(pod_id));
  std::string id(pod_id);
  std::lock_guard lock(mu_);
  return TeardownLocked(id);
}

Status PodNetwork::TeardownLocked(const std::string& pod_id) {
  const std::string host = HostVethName(pod_id);
  KORC_ASSIGN_OR_RETURN(Sock s, Connect());
  KORC_ASSIGN_OR_RETURN(Link host_link, GetLink(s.get(), host));
  // Deleting either end of a veth deletes both.
  if (host_link) KORC_RETURN_IF_ERROR(DeleteLink(s.get(), host_link.get()));
  const std::string path = NetnsPath(pod_id);
  bool had_netns = access(path.c_str(), F_OK) == 0;
  if (had_netns) KORC_RETURN_IF_ERROR(RemoveNetnsFile(path));
  // The address is freed last, so a failure above keeps it reserved until a retry succeeds.
  KORC_RETURN_IF_ERROR(FreeIps(pod_id));
  if (host_link || had_netns) Log().info("tore down pod={} veth={}", pod_id, host);
  return Status::Ok();
}

std::vector<std::string> PodNetwork::List() const {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(config_.state_dir + "/netns", ec)) {
    std::string name = e.path().filename().string();
    if (name.front() != '.' && IsNetnsMounted(e.path().string())) ids.push_back(name);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace korc::kubelet::network
