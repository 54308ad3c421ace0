// The proxier's data path on loopback: ClusterIPs from 127.96.0.0/16 are local without root,
// so every connection here stays on the machine.
#include "components/proxy/proxier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <random>

#include "tests/proxy/backend.h"

namespace korc::proxy {
namespace {

using testing::Dial;
using testing::ReadLine;
using testing::TcpBackend;
using testing::UdpBackend;
using testing::WhoAnswers;

ServicePortEntry Entry(const std::string& ip, uint16_t port,
                       const std::vector<const TcpBackend*>& backends) {
  ServicePortEntry e;
  e.ns = "default";
  e.name = "web";
  e.id = "default/web:";
  e.cluster_ip = ip;
  e.port = port;
  for (const auto* b : backends) e.backends.push_back({"127.0.0.1", b->port(), b->name()});
  std::sort(e.backends.begin(), e.backends.end());
  return e;
}

std::unique_ptr<Proxier> StartProxier(
    std::chrono::milliseconds connect_timeout = std::chrono::milliseconds(1000)) {
  ProxierOptions o;
  o.connect_timeout = connect_timeout;
  auto p = Proxier::Start(o);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return std::move(*p);
}

// A port on 127.0.0.1 where nothing listens: connects are refused.
uint16_t ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  auto a = testing::Addr("127.0.0.1", 0);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  uint16_t port = testing::BoundPort(fd);
  close(fd);
  return port;
}

TEST(ProxierTest, RoundRobinReachesEveryBackend) {
  TcpBackend a("a"), b("b"), c("c");
  auto proxier = StartProxier();
  proxier->Update("default/web", {Entry("127.96.0.10", 8080, {&a, &b, &c})});
  std::map<std::string, int> seen;
  for (int i = 0; i < 9; ++i) seen[WhoAnswers("127.96.0.10", 8080)]++;
  EXPECT_EQ(seen, (std::map<std::string, int>{{"a", 3}, {"b", 3}, {"c", 3}}));
}

TEST(ProxierTest, ClientIpAffinitySticksUntilItsBackendGoes) {
  TcpBackend a("a"), b("b"), c("c");
  auto proxier = StartProxier();
  auto e = Entry("127.96.0.11", 8080, {&a, &b, &c});
  e.client_ip_affinity = true;
  e.affinity_timeout_seconds = 60;
  proxier->Update("default/web", {e});
  std::string first = WhoAnswers("127.96.0.11", 8080, "127.0.0.2");
  ASSERT_FALSE(first.empty());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(WhoAnswers("127.96.0.11", 8080, "127.0.0.2"), first);
  // Another client address gets the next backend in turn, then keeps it.
  std::string other = WhoAnswers("127.96.0.11", 8080, "127.0.0.3");
  EXPECT_NE(other, first);
  EXPECT_EQ(WhoAnswers("127.96.0.11", 8080, "127.0.0.3"), other);
  // The first client's backend leaves: it moves, and sticks to its new one.
  std::vector<const TcpBackend*> rest;
  for (const TcpBackend* t : {&a, &b, &c}) {
    if (t->name() != first) rest.push_back(t);
  }
  auto without = Entry("127.96.0.11", 8080, rest);
  without.client_ip_affinity = true;
  without.affinity_timeout_seconds = 60;
  proxier->Update("default/web", {without});
  std::string moved = WhoAnswers("127.96.0.11", 8080, "127.0.0.2");
  EXPECT_NE(moved, first);
  EXPECT_FALSE(moved.empty());
  EXPECT_EQ(WhoAnswers("127.96.0.11", 8080, "127.0.0.2"), moved);
}

TEST(ProxierTest, AffinityExpiresAfterItsTimeout) {
  TcpBackend a("a"), b("b");
  std::atomic<int64_t> now{1'000'000'000'000};
  ProxierOptions o;
  o.clock = [&] { return now.load(); };
  auto started = Proxier::Start(o);
  ASSERT_TRUE(started.ok());
  auto proxier = std::move(started).value();
  auto e = Entry("127.96.0.12", 8080, {&a, &b});
  e.client_ip_affinity = true;
  e.affinity_timeout_seconds = 10;
  proxier->Update("default/web", {e});
  std::string first = WhoAnswers("127.96.0.12", 8080);
  now += 9'000'000'000;
  EXPECT_EQ(WhoAnswers("127.96.0.12", 8080), first);
  now += 11'000'000'000;  // gone quiet for longer than the timeout: round-robin again
  EXPECT_NE(WhoAnswers("127.96.0.12", 8080), first);
}

TEST(ProxierTest, AFailedConnectTriesTheNextBackend) {
  TcpBackend live("live");
  auto proxier = StartProxier();
  auto e = Entry("127.96.0.13", 8080, {&live});
  e.backends.push_back({"127.0.0.1", ClosedPort(), "dead"});
  proxier->Update("default/web", {e});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(WhoAnswers("127.96.0.13", 8080), "live");
  auto m = proxier->Metrics();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_GE(m[0].connect_errors, 1u);
  EXPECT_EQ(m[0].rejected, 0u);
}

TEST(ProxierTest, AllBackendsFailingResetsTheClient) {
  auto proxier = StartProxier();
  auto e = Entry("127.96.0.14", 8080, {});
  e.backends = {{"127.0.0.1", ClosedPort(), "dead1"}, {"127.0.0.1", ClosedPort(), "dead2"}};
  proxier->Update("default/web", {e});
  EXPECT_EQ(WhoAnswers("127.96.0.14", 8080), "");
  auto m = proxier->Metrics();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].rejected, 1u);
  EXPECT_EQ(m[0].connect_errors, 2u);
}

TEST(ProxierTest, NoReadyBackendRefusesAtOnce) {
  auto proxier = StartProxier();
  proxier->Update("default/web", {Entry("127.96.0.15", 8080, {})});
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Dial("127.96.0.15", 8080), -1);
  EXPECT_EQ(errno, ECONNREFUSED);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // Backends arrive: it answers.
  TcpBackend a("a");
  proxier->Update("default/web", {Entry("127.96.0.15", 8080, {&a})});
  EXPECT_EQ(WhoAnswers("127.96.0.15", 8080), "a");
}

TEST(ProxierTest, EndpointChangesKeepEstablishedConnections) {
  TcpBackend a("a"), b("b");
  auto proxier = StartProxier();
  proxier->Update("default/web", {Entry("127.96.0.16", 8080, {&a})});
  int held = Dial("127.96.0.16", 8080);
  ASSERT_GE(held, 0);
  EXPECT_EQ(ReadLine(held), "a");
  proxier->Update("default/web", {Entry("127.96.0.16", 8080, {&b})});
  EXPECT_EQ(WhoAnswers("127.96.0.16", 8080), "b");
  // The old connection still talks to a.
  std::string ping = "still here\n";
  ASSERT_EQ(send(held, ping.data(), ping.size(), 0), static_cast<ssize_t>(ping.size()));
  EXPECT_EQ(ReadLine(held), "still here");
  close(held);
}

TEST(ProxierTest, RemovingTheServiceClosesItsListener) {
  TcpBackend a("a");
  auto proxier = StartProxier();
  proxier->Update("default/web", {Entry("127.96.0.17", 8080, {&a})});
  EXPECT_EQ(WhoAnswers("127.96.0.17", 8080), "a");
  proxier->Update("default/web", {});
  EXPECT_EQ(Dial("127.96.0.17", 8080), -1);
  EXPECT_TRUE(proxier->Metrics().empty());
}

TEST(ProxierTest, NodePortAnswersOnTheNodeAddresses) {
  TcpBackend a("a");
  auto proxier = StartProxier();
  auto e = Entry("127.96.0.18", 8080, {&a});
  e.node_port = static_cast<uint16_t>(30000 + std::random_device()() % 2700);
  proxier->Update("default/web", {e});
  EXPECT_EQ(WhoAnswers("127.0.0.1", e.node_port), "a");
  EXPECT_EQ(WhoAnswers("127.96.0.18", 8080), "a");
}

TEST(ProxierTest, LargeTransfersArriveIntactBothWays) {
  TcpBackend a("a");
  auto proxier = StartProxier();
  proxier->Update("default/web", {Entry("127.96.0.19", 8080, {&a})});
  int fd = Dial("127.96.0.19", 8080);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ReadLine(fd), "a");
  std::string data(8 << 20, '\0');
  std::mt19937 rng(7);
  for (auto& ch : data) ch = static_cast<char>(rng());
  std::thread writer([&] {
    for (size_t off = 0; off < data.size();) {
      ssize_t n = send(fd, data.data() + off, std::min<size_t>(data.size() - off, 100000), 0);
      ASSERT_GT(n, 0);
      off += static_cast<size_t>(n);
    }
    shutdown(fd, SHUT_WR);
  });
  std::string back;
  char buf[65536];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    back.append(buf, static_cast<size_t>(n));
  }
  writer.join();
  close(fd);
  EXPECT_EQ(back.size(), data.size());
  EXPECT_TRUE(back == data);
  auto m = proxier->Metrics();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].bytes_in, data.size());
  EXPECT_EQ(m[0].bytes_out, data.size() + 2);  // "a\n" first
}

TEST(ProxierTest, UdpFlowsReachABackendAndReplyFromTheServiceAddress) {
  UdpBackend a("a"), b("b");
  auto proxier = StartProxier();
  ServicePortEntry e;
  e.id = "default/dns:dns";
  e.protocol = Protocol::kUdp;
  e.cluster_ip = "127.96.0.20";
  e.port = 5353;
  e.backends = {{"127.0.0.1", a.port(), "a"}, {"127.0.0.1", b.port(), "b"}};
  proxier->Update("default/dns", {e});
  std::set<std::string> names;
  for (int client = 0; client < 2; ++client) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    auto to = testing::Addr("127.96.0.20", 5353);
    for (int i = 0; i < 2; ++i) {
      std::string q = "q" + std::to_string(i);
      sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      char buf[256];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      ASSERT_GT(n, 0);
      std::string reply(buf, static_cast<size_t>(n));
      EXPECT_THAT(reply, ::testing::EndsWith(":" + q));
      names.insert(reply.substr(0, reply.find(':')));
      char ip[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
      EXPECT_EQ(std::string(ip), "127.96.0.20");
      EXPECT_EQ(ntohs(from.sin_port), 5353);
    }
    close(fd);
  }
  EXPECT_EQ(names, (std::set<std::string>{"a", "b"}));  // one flow per client, round-robin
  auto m = proxier->Metrics();
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].connections, 2u);
}

TEST(ProxierTest, AListenerThatCouldNotOpenIsRetried) {
  // Another socket holds the address first (as a deleted Service's listener might for a
  // moment); once it is gone the proxier listens within its retry period.
  int blocker = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto at = testing::Addr("127.96.0.22", 8080);
  ASSERT_EQ(bind(blocker, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
  ASSERT_EQ(listen(blocker, 1), 0);
  TcpBackend a("a");
  auto proxier = StartProxier();
  proxier->Update("default/web", {Entry("127.96.0.22", 8080, {&a})});
  close(blocker);
  std::string got;
  for (int i = 0; i < 40 && got.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    got = WhoAnswers("127.96.0.22", 8080);
  }
  EXPECT_EQ(got, "a");
}

TEST(ProxierTest, AUdpFlowMovesWhenItsBackendLeaves) {
  UdpBackend a("a"), b("b");
  auto proxier = StartProxier();
  ServicePortEntry e;
  e.id = "default/dns:dns";
  e.protocol = Protocol::kUdp;
  e.cluster_ip = "127.96.0.23";
  e.port = 5353;
  e.backends = {{"127.0.0.1", a.port(), "a"}, {"127.0.0.1", b.port(), "b"}};
  std::sort(e.backends.begin(), e.backends.end());
  proxier->Update("default/dns", {e});
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto to = testing::Addr("127.96.0.23", 5353);
  auto ask = [&] {
    sendto(fd, "q", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  };
  std::string first = ask();
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(ask(), first);  // one flow, one backend
  // That backend leaves the Endpoints: the same client's flow goes to the other one.
  auto rest = e;
  rest.backends.erase(std::remove_if(rest.backends.begin(), rest.backends.end(),
                                     [&](const Backend& x) { return first == x.pod + ":q"; }),
                      rest.backends.end());
  ASSERT_EQ(rest.backends.size(), 1u);
  proxier->Update("default/dns", {rest});
  EXPECT_EQ(ask(), rest.backends[0].pod + ":q");
  close(fd);
}

TEST(ProxierTest, MetricsInPrometheusText) {
  TcpBackend a("a");
  auto proxier = StartProxier();
  proxier->Update("default/web", {Entry("127.96.0.21", 8080, {&a})});
  EXPECT_EQ(WhoAnswers("127.96.0.21", 8080), "a");
  EXPECT_EQ(WhoAnswers("127.96.0.21", 8080), "a");
  // The relay finishes asynchronously after the client closes.
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text = proxier->PrometheusText();
    if (text.find("korc_proxy_active_connections{service=\"default/web\",port=\"\",protocol="
                  "\"TCP\"} 0") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_THAT(text, ::testing::HasSubstr("# TYPE korc_proxy_connections_total counter"));
  EXPECT_THAT(text,
              ::testing::HasSubstr("korc_proxy_connections_total{service=\"default/web\",port=\"\","
                                   "protocol=\"TCP\"} 2"));
  EXPECT_THAT(text, ::testing::HasSubstr("korc_proxy_bytes_total{service=\"default/web\",port="
                                         "\"\",protocol=\"TCP\",direction=\"out\"} 4"));
  EXPECT_THAT(text,
              ::testing::HasSubstr(
                  "korc_proxy_backends{service=\"default/web\",port=\"\",protocol=\"TCP\"} 1"));
}

}  // namespace
}  // namespace korc::proxy
