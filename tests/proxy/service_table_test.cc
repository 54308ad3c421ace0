#include "components/proxy/service_table.h"

#include <gtest/gtest.h>

namespace korc::proxy {
namespace {

api::Service Svc(std::vector<api::ServicePort> ports, std::string ip = "10.96.0.10") {
  api::Service s;
  s.metadata.namespace_ = "default";
  s.metadata.name = "mysql";
  s.spec.cluster_ip = ip;
  s.spec.type = "ClusterIP";
  s.spec.ports = std::move(ports);
  return s;
}

api::ServicePort Port(std::string name, int32_t port, std::string protocol = "TCP",
                      int32_t node_port = 0) {
  api::ServicePort p;
  p.name = std::move(name);
  p.port = port;
  p.protocol = std::move(protocol);
  p.node_port = node_port;
  return p;
}

api::EndpointAddress Address(std::string ip, std::string pod) {
  api::EndpointAddress a;
  a.ip = std::move(ip);
  api::ObjectReference ref;
  ref.kind = "Pod";
  ref.name = std::move(pod);
  a.target_ref = ref;
  return a;
}

TEST(ServiceTableTest, ReadyAddressesOfTheMatchingPortAreTheBackends) {
  api::Endpoints ep;
  api::EndpointSubset s;
  s.addresses = {Address("10.244.0.3", "b"), Address("10.244.0.2", "a")};
  s.not_ready_addresses = {Address("10.244.0.4", "c")};
  s.ports = {{"", 3306, "TCP"}};
  ep.subsets = {s};
  auto entries = BuildServicePorts(Svc({Port("", 3306)}), &ep);
  ASSERT_EQ(entries.size(), 1u);
  const auto& e = entries[0];
  EXPECT_EQ(e.id, "default/mysql:");
  EXPECT_EQ(e.cluster_ip, "10.96.0.10");
  EXPECT_EQ(e.port, 3306);
  EXPECT_EQ(e.protocol, Protocol::kTcp);
  ASSERT_EQ(e.backends.size(), 2u);  // not-ready addresses get no traffic
  EXPECT_EQ(e.backends[0], (Backend{"10.244.0.2", 3306, "a"}));
  EXPECT_EQ(e.backends[1], (Backend{"10.244.0.3", 3306, "b"}));
}

TEST(ServiceTableTest, NamedPortsMatchByNameAndProtocolWithTheirOwnTargetPorts) {
  api::Endpoints ep;
  api::EndpointSubset s;
  s.addresses = {Address("10.244.0.2", "a")};
  s.ports = {{"http", 8080, "TCP"}, {"dns", 5353, "UDP"}};
  ep.subsets = {s};
  auto svc = Svc({Port("http", 80, "TCP", 30080), Port("dns", 53, "UDP"), Port("sctp", 9, "SCTP")});
  svc.spec.type = "NodePort";
  auto entries = BuildServicePorts(svc, &ep);
  ASSERT_EQ(entries.size(), 2u);  // SCTP is not proxied
  EXPECT_EQ(entries[0].id, "default/mysql:http");
  EXPECT_EQ(entries[0].node_port, 30080);
  EXPECT_EQ(entries[0].backends, (std::vector<Backend>{{"10.244.0.2", 8080, "a"}}));
  EXPECT_EQ(entries[1].protocol, Protocol::kUdp);
  EXPECT_EQ(entries[1].backends, (std::vector<Backend>{{"10.244.0.2", 5353, "a"}}));
}

TEST(ServiceTableTest, NoEndpointsYetMeansNoBackends) {
  auto entries = BuildServicePorts(Svc({Port("", 80)}), nullptr);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].backends.empty());
}

TEST(ServiceTableTest, HeadlessAndExternalNameServicesAreNotProxied) {
  EXPECT_TRUE(BuildServicePorts(Svc({Port("", 80)}, "None"), nullptr).empty());
  EXPECT_TRUE(BuildServicePorts(Svc({Port("", 80)}, ""), nullptr).empty());
  auto ext = Svc({}, "");
  ext.spec.type = "ExternalName";
  EXPECT_TRUE(BuildServicePorts(ext, nullptr).empty());
}

TEST(ServiceTableTest, ClientIpAffinityCarriesItsTimeout) {
  auto svc = Svc({Port("", 80)});
  svc.spec.session_affinity = "ClientIP";
  svc.spec.session_affinity_config.emplace();
  svc.spec.session_affinity_config->client_ip.emplace();
  svc.spec.session_affinity_config->client_ip->timeout_seconds = 30;
  auto entries = BuildServicePorts(svc, nullptr);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].client_ip_affinity);
  EXPECT_EQ(entries[0].affinity_timeout_seconds, 30);
}

TEST(ServiceTableTest, AnAddressInTwoSubsetsIsOneBackend) {
  api::Endpoints ep;
  api::EndpointSubset s;
  s.addresses = {Address("10.244.0.2", "a")};
  s.ports = {{"", 80, "TCP"}};
  ep.subsets = {s, s};
  auto entries = BuildServicePorts(Svc({Port("", 80)}), &ep);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].backends.size(), 1u);
}

}  // namespace
}  // namespace korc::proxy
