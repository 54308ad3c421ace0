// PodNetwork against the real kernel. Every test that touches netlink runs its body in a
// forked child that has unshared a network and a mount namespace (the "node"), so the
// bridge, veths, Pod namespaces and bind mounts die with the child and nothing reaches the
// host's interfaces. The fixture checks afterwards that nothing leaked.
#include "components/kubelet/network/pod_network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/require.h"

namespace korc::kubelet::network {
namespace {

namespace fs = std::filesystem;
using std::chrono::steady_clock;

// ---- sockets ---------------------------------------------------------------------------

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

sockaddr_in SockAddr(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// A TCP listener on ip, port 0; returns the fd and fills the port.
Fd Listen(const std::string& ip, uint16_t* port) {
  Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a = SockAddr(ip, 0);
  if (bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s.fd, 8) != 0) {
    ADD_FAILURE() << "listen on " << ip << ": " << strerror(errno);
    return Fd();
  }
  socklen_t len = sizeof a;
  getsockname(s.fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return s;
}

// Connects to ip:port, retrying until a deadline (the bridge port and ARP need a moment on
// slow machines); "" on success, else the last error.
std::string ConnectWithDeadline(const std::string& ip, uint16_t port, Fd* out) {
  auto deadline = steady_clock::now() + std::chrono::seconds(10);
  std::string last;
  while (steady_clock::now() < deadline) {
    Fd s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in a = SockAddr(ip, port);
    int rc = connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{s.fd, POLLOUT, 0};
      if (poll(&p, 1, 2000) == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      *out = std::move(s);
      return "";
    }
    last = strerror(errno);
    pollfd none{-1, 0, 0};
    poll(&none, 0, 50);  // back-off between attempts, not a wait for a condition
  }
  return "connect " + ip + ":" + std::to_string(port) + ": " + last;
}

// Accepts one connection (with a deadline) and returns the peer's address ("" on failure).
std::string AcceptPeer(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (poll(&p, 1, 10000) != 1) return "";
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  Fd c(accept4(listener, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
  if (c.fd < 0) return "";
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &peer.sin_addr, buf, sizeof buf);
  return buf;
}

bool InCidr(const std::string& ip, const std::string& network, int prefix) {
  in_addr a{}, n{};
  inet_pton(AF_INET, ip.c_str(), &a);
  inet_pton(AF_INET, network.c_str(), &n);
  uint32_t mask = ~uint32_t{0} << (32 - prefix);
  return (ntohl(a.s_addr) & mask) == ntohl(n.s_addr);
}

bool LinkExists(const std::string& name) { return if_nametoindex(name.c_str()) != 0; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- the fixture -----------------------------------------------------------------------

class PodNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KORC_REQUIRE(testing::IsRoot(), "pod networks need root (CAP_NET_ADMIN)");
    host_had_bridge_ = LinkExists("korc0");
    char tmpl[] = "/tmp/korc-network-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    if (dir_.empty()) return;
    // The children's namespaces are gone with them: no mount under our state dir, no
    // bridge in the host's namespace.
    EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(dir_), std::string::npos);
    EXPECT_EQ(LinkExists("korc0"), host_had_bridge_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
    EXPECT_FALSE(ec) << ec.message();
  }

  NetworkConfig Config(std::string cidr = "10.64.0.0/24") const {
    NetworkConfig c;
    c.pod_cidr = std::move(cidr);
    c.state_dir = dir_ + "/state";
    return c;
  }

  // Runs body in a child with fresh network and mount namespaces (mount propagation made
  // private first, so nothing mounted there reaches the host). The child's failures are
  // printed by its own copy of GoogleTest and reported here through its exit code.
  void RunAsNode(const std::function<void()>& body) {
    fflush(nullptr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0 ||
          mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
        fprintf(stderr, "cannot make a node namespace: %s\n", strerror(errno));
        _exit(2);
      }
      body();
      fflush(nullptr);
      _exit(::testing::Test::HasFailure() ? 1 : 0);
    }
    int wstatus = 0;
    ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFEXITED(wstatus)) << "node child died of signal " << WTERMSIG(wstatus);
    EXPECT_EQ(WEXITSTATUS(wstatus), 0) << "failures inside the node namespace (see above)";
  }

  std::string dir_;
  bool host_had_bridge_ = false;
};

std::unique_ptr<PodNetwork> MustOpen(NetworkConfig config) {
  auto net = PodNetwork::Open(std::move(config));
  EXPECT_TRUE(net.ok()) << net.status().ToString();
  return net.ok() ? std::move(net).value() : nullptr;
}

TEST_F(PodNetworkTest, TwoPodsGetDistinctIpsInTheCidrOnTheBridge) {
  RunAsNode([&] {
    auto net = MustOpen(Config());
    ASSERT_TRUE(net);
    EXPECT_TRUE(LinkExists("korc0"));
    auto a = net->Setup("pod-a");
    auto b = net->Setup("pod-b");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_NE(a->ip, b->ip);
    EXPECT_TRUE(InCidr(a->ip, "10.64.0.0", 24)) << a->ip;
    EXPECT_TRUE(InCidr(b->ip, "10.64.0.0", 24)) << b->ip;
    EXPECT_NE(a->ip, "10.64.0.1");
    EXPECT_EQ(a->gateway, "10.64.0.1");
    EXPECT_EQ(a->host_veth, HostVethName("pod-a"));
    EXPECT_EQ(a->netns_path, Config().state_dir + "/netns/pod-a");
    EXPECT_TRUE(LinkExists(a->host_veth));
    EXPECT_TRUE(LinkExists(b->host_veth));
    EXPECT_EQ(ReadFile(net->config().state_dir + "/ips/" + a->ip), "pod-a");
    EXPECT_EQ(net->List(), (std::vector<std::string>{"pod-a", "pod-b"}));
    auto got = net->Get("pod-b");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->ip, b->ip);

    // Inside the Pod: eth0 (and not the host end), and a default route via the gateway.
    // A UDP connect() only looks the route up; it sends nothing.
    bool has_eth0 = false, has_host_veth = true;
    std::string source;
    ASSERT_TRUE(RunInNetns(a->netns_path, [&] {
                  has_eth0 = LinkExists("eth0");
                  has_host_veth = LinkExists(a->host_veth);
                  Fd u(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
                  sockaddr_in far = SockAddr("192.0.2.1", 9);
                  if (connect(u.fd, reinterpret_cast<sockaddr*>(&far), sizeof far) != 0) {
                    source = std::string("no route: ") + strerror(errno);
                    return;
                  }
                  sockaddr_in local{};
                  socklen_t len = sizeof local;
                  getsockname(u.fd, reinterpret_cast<sockaddr*>(&local), &len);
                  char buf[INET_ADDRSTRLEN];
                  source = inet_ntop(AF_INET, &local.sin_addr, buf, sizeof buf);
                }).ok());
    EXPECT_TRUE(has_eth0);
    EXPECT_FALSE(has_host_veth);
    EXPECT_EQ(source, a->ip);
  });
}

TEST_F(PodNetworkTest, PodReachesPodAndNodeReachesPod) {
  RunAsNode([&] {
    auto net = MustOpen(Config());
    ASSERT_TRUE(net);
    auto a = net->Setup("pod-a");
    auto b = net->Setup("pod-b");
    ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString() << b.status().ToString();

    // Pod A -> Pod B: a listener made inside B's namespace keeps living there.
    Fd listener_b;
    uint16_t port_b = 0;
    ASSERT_TRUE(RunInNetns(b->netns_path, [&] { listener_b = Listen(b->ip, &port_b); }).ok());
    ASSERT_GE(listener_b.fd, 0);
    std::string error = "not run";
    Fd conn;
    ASSERT_TRUE(
        RunInNetns(a->netns_path, [&] { error = ConnectWithDeadline(b->ip, port_b, &conn); }).ok());
    EXPECT_EQ(error, "");
    EXPECT_EQ(AcceptPeer(listener_b.fd), a->ip);

    // Node -> Pod A, from the node's namespace through the bridge (source: the gateway).
    Fd listener_a;
    uint16_t port_a = 0;
    ASSERT_TRUE(RunInNetns(a->netns_path, [&] { listener_a = Listen(a->ip, &port_a); }).ok());
    ASSERT_GE(listener_a.fd, 0);
    Fd node_conn;
    EXPECT_EQ(ConnectWithDeadline(a->ip, port_a, &node_conn), "");
    EXPECT_EQ(AcceptPeer(listener_a.fd), "10.64.0.1");
  });
}

TEST_F(PodNetworkTest, LoopbackWorksInsideAPod) {
  RunAsNode([&] {
    auto net = MustOpen(Config());
    ASSERT_TRUE(net);
    auto a = net->Setup("pod-a");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    std::string error = "not run", peer;
    ASSERT_TRUE(RunInNetns(a->netns_path, [&] {
                  uint16_t port = 0;
                  Fd l = Listen("127.0.0.1", &port);
                  Fd c;
                  error = ConnectWithDeadline("127.0.0.1", port, &c);
                  peer = AcceptPeer(l.fd);
                }).ok());
    EXPECT_EQ(error, "");
    EXPECT_EQ(peer, "127.0.0.1");
  });
}

TEST_F(PodNetworkTest, SetupIsIdempotent) {
  RunAsNode([&] {
    auto net = MustOpen(Config());
    ASSERT_TRUE(net);
    auto first = net->Setup("pod-a");
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    auto again = net->Setup("pod-a");
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->ip, first->ip);
    EXPECT_EQ(again->host_veth, first->host_veth);
    EXPECT_EQ(again->netns_path, first->netns_path);
    int allocations = 0;
    for ([[maybe_unused]] auto& e : fs::directory_iterator(net->config().state_dir + "/ips")) {
      ++allocations;
    }
    EXPECT_EQ(allocations, 1);
    EXPECT_EQ(net->List(), std::vector<std::string>{"pod-a"});
  });
}

TEST_F(PodNetworkTest, ConcurrentSetupsGetDistinctIps) {
  RunAsNode([&] {
    auto net = MustOpen(Config());
    ASSERT_TRUE(net);
    constexpr int kPods = 6;
    std::vector<std::string> ips(kPods);
    std::vector<std::string> errors(kPods);
    std::vector<std::thread> threads;
    for (int i = 0; i < kPods; ++i) {
      threads.emplace_back([&, i] {
        auto r = net->Setup("pod-" + std::to_string(i));
        if (r.ok()) {
          ips[i] = r->ip;
        } else {
          errors[i] = r.status().ToString();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < kPods; ++i) EXPECT_EQ(errors[i], "") << i;
    EXPECT_EQ(std::set<std::string>(ips.begin(), ips.end()).size(), size_t{kPods});
    EXPECT_EQ(net->List().size(), size_t{kPods});
  });
}

TEST_F(PodNetworkTest, SetupRepairsADeletedHostVeth) {
  RunAsNode([&] {
    auto net = MustOpen(Config());
    ASSERT_TRUE(net);
    auto a = net->Setup("pod-a");
    ASSERT_TRUE(a.ok()) << a.status().ToString();

    // Someone deletes the host end (and with it the Pod's eth0).
    nl_sock* s = nl_socket_alloc();
    ASSERT_EQ(nl_connect(s, NETLINK_ROUTE), 0);
    rtnl_link* veth = rtnl_link_alloc();
    rtnl_link_set_name(veth, a->host_veth.c_str());
    EXPECT_EQ(rtnl_link_delete(s, veth), 0);
    rtnl_link_put(veth);
    nl_socket_free(s);
    ASSERT_FALSE(LinkExists(a->host_veth));

    auto again = net->Setup("pod-a");
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(again->ip, a->ip);
    EXPECT_TRUE(LinkExists(a->host_veth));
    Fd listener;
    uint16_t port = 0;
    ASSERT_TRUE(RunInNetns(a->netns_path, [&] { listener = Listen(a->ip, &port); }).ok());
    Fd conn;
    EXPECT_EQ(ConnectWithDeadline(a->ip, port, &conn), "");
    EXPECT_EQ(AcceptPeer(listener.fd), "10.64.0.1");
  });
}

TEST_F(PodNetworkTest, FreedAddressesAreNotReusedAtOnceAndTheGatewayMacStays) {
  RunAsNode([&] {
    auto net = MustOpen(Config("10.64.0.0/24"));
    ASSERT_TRUE(net);
    const std::string mac_file = "/sys/class/net/" + net->config().bridge + "/address";
    auto a = net->Setup("pod-a");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    const std::string mac = ReadFile(mac_file);
    auto b = net->Setup("pod-b");
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    // The bridge keeps its own MAC as ports come and go (the Pods' ARP entry for the
    // gateway stays right).
    EXPECT_EQ(ReadFile(mac_file), mac);
    ASSERT_TRUE(net->Teardown("pod-a").ok());
    EXPECT_EQ(ReadFile(mac_file), mac);
    // pod-a's address is free, but the next Pod gets the one after pod-b's (CNI host-local).
    auto c = net->Setup("pod-c");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_NE(c->ip, a->ip);
    EXPECT_NE(c->ip, b->ip);
    EXPECT_EQ(ReadFile(mac_file), mac);
    for (const char* id : {"pod-b", "pod-c"}) EXPECT_TRUE(net->Teardown(id).ok());
  });
}

TEST_F(PodNetworkTest, TeardownRemovesVethNetnsAndFreesTheIp) {
  RunAsNode([&] {
    // A /30 has room for one Pod: a second Setup only works if Teardown freed the address.
    auto net = MustOpen(Config("10.64.0.0/30"));
    ASSERT_TRUE(net);
    auto a = net->Setup("pod-a");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_TRUE(net->Teardown("pod-a").ok());
    EXPECT_FALSE(LinkExists(a->host_veth));
    EXPECT_FALSE(fs::exists(a->netns_path));
    EXPECT_FALSE(fs::exists(net->config().state_dir + "/ips/" + a->ip));
    EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(a->netns_path), std::string::npos);
    EXPECT_EQ(net->Get("pod-a").status().code(), Code::kNotFound);
    EXPECT_TRUE(net->List().empty());
    EXPECT_TRUE(net->Teardown("pod-a").ok()) << "Teardown is idempotent";
    EXPECT_TRUE(net->Teardown("never-set-up").ok());

    auto b = net->Setup("pod-b");
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(b->ip, a->ip);
  });
}

TEST_F(PodNetworkTest, ReopenedStateDirGivesTheSameIps) {
  RunAsNode([&] {
    std::string ip_a, ip_b;
    {
      auto net = MustOpen(Config());
      ASSERT_TRUE(net);
      auto a = net->Setup("pod-a");
      auto b = net->Setup("pod-b");
      ASSERT_TRUE(a.ok() && b.ok());
      ip_a = a->ip;
      ip_b = b->ip;
    }
    auto net = MustOpen(Config());
    ASSERT_TRUE(net);
    EXPECT_EQ(net->List(), (std::vector<std::string>{"pod-a", "pod-b"}));
    auto got = net->Get("pod-a");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->ip, ip_a);
    auto b = net->Setup("pod-b");
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(b->ip, ip_b);
    auto c = net->Setup("pod-c");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ((std::set<std::string>{ip_a, ip_b, c->ip}).size(), 3u);
  });
}

TEST_F(PodNetworkTest, FullCidrIsUnavailable) {
  RunAsNode([&] {
    auto net = MustOpen(Config("10.64.0.0/30"));
    ASSERT_TRUE(net);
    auto a = net->Setup("pod-a");
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->ip, "10.64.0.2");
    auto b = net->Setup("pod-b");
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.status().code(), Code::kUnavailable);
    EXPECT_NE(b.status().message().find("10.64.0.0/30 is full"), std::string::npos)
        << b.status().message();
    // The failed Setup left nothing behind for pod-b.
    EXPECT_FALSE(LinkExists(HostVethName("pod-b")));
    EXPECT_FALSE(fs::exists(net->config().state_dir + "/netns/pod-b"));
    EXPECT_EQ(net->List(), std::vector<std::string>{"pod-a"});
  });
}

TEST_F(PodNetworkTest, OpenWithoutNetAdminIsUnavailable) {
  RunAsNode([&] {
    // Drop CAP_NET_ADMIN from this (child) process only.
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2]{};
    ASSERT_EQ(syscall(SYS_capget, &header, data), 0);
    data[0].effective &= ~(1u << CAP_NET_ADMIN);
    ASSERT_EQ(syscall(SYS_capset, &header, data), 0);
    auto net = PodNetwork::Open(Config());
    ASSERT_FALSE(net.ok());
    EXPECT_EQ(net.status().code(), Code::kUnavailable);
    EXPECT_EQ(net.status().message(), "pod networks need root (CAP_NET_ADMIN)");
    EXPECT_FALSE(LinkExists("korc0"));
  });
}

// Needs neither root nor namespaces: a bad config is rejected before anything is touched.
TEST(PodNetworkConfigTest, BadCidrIsInvalid) {
  for (const char* cidr : {"", "10.64.0.0", "10.64.0.0/33", "10.64.0.0/31", "10.64.0.0/0",
                           "10.64.0.1/24", "foo/24", "10.64.0.0/x", "fd00::/64"}) {
    NetworkConfig c;
    c.pod_cidr = cidr;
    c.state_dir = "/nonexistent/korc-network-test";
    auto net = PodNetwork::Open(c);
    ASSERT_FALSE(net.ok()) << cidr;
    EXPECT_EQ(net.status().code(), Code::kInvalid) << cidr << ": " << net.status().ToString();
  }
  EXPECT_FALSE(fs::exists("/nonexistent/korc-network-test"));
}

TEST(PodNetworkConfigTest, RunInNetnsOnAMissingPathIsNotFound) {
  bool ran = false;
  Status st = RunInNetns("/nonexistent/netns/x", [&] { ran = true; });
  EXPECT_EQ(st.code(), Code::kNotFound) << st.ToString();
  EXPECT_FALSE(ran);
}

TEST(PodNetworkConfigTest, HostVethNameIsStableAndFitsIfnamsiz) {
  EXPECT_EQ(HostVethName("pod-a"), HostVethName("pod-a"));
  EXPECT_NE(HostVethName("pod-a"), HostVethName("pod-b"));
  EXPECT_EQ(HostVethName("pod-a").size(), 12u);
  EXPECT_EQ(HostVethName("").substr(0, 4), "veth");
  EXPECT_EQ(HostVethName(""), "veth811c9dc5");  // FNV-1a offset basis: persisted names
}

}  // namespace
}  // namespace korc::kubelet::network
