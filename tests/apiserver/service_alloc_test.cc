// Service ClusterIP and NodePort allocation: the pure functions of service_alloc.h, then the
// API server end to end over HTTP (create, update, patch, delete, dry run, restart, the bus
// command channel, and many creates at once).
#include "components/apiserver/service_alloc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <zmq.hpp>

#include "bus/command.h"
#include "components/apiserver/api_server.h"
#include "storage/event_log.h"
#include "tests/apiserver/http_client.h"

namespace korc::apiserver {
namespace {

using korc::testing::Http;
using ::testing::HasSubstr;
using json = nlohmann::json;

// ---------------------------------------------------------------------------------------
// The pure functions

Cidr Ip(std::string_view text) { return *Cidr::ParseAddress(text); }
IpKey Key(std::string_view text) {
  Cidr c = Ip(text);
  return {c.v6, c.network};
}

api::Service MakeService(const std::string& name, const std::string& type = "ClusterIP") {
  api::Service s;
  s.api_version = "v1";
  s.kind = "Service";
  s.metadata.name = name;
  s.metadata.namespace_ = "default";
  s.spec.type = type;
  s.spec.ports = {{"", "TCP", 80, api::IntOrString::Int(80), 0}};
  return s;
}

ServiceRanges Ranges(std::string_view cidr = "10.96.0.0/24",
                     std::string_view ports = "30000-32767") {
  auto r = ServiceRanges::Parse(cidr, ports);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

TEST(PortRangeTest, Parses) {
  EXPECT_EQ(PortRange::Parse("30000-32767"), (PortRange{30000, 32767}));
  EXPECT_EQ(PortRange::Parse("30080"), (PortRange{30080, 30080}));
  EXPECT_EQ(PortRange::Parse("30000-32767")->ToString(), "30000-32767");
  EXPECT_EQ(PortRange::Parse("1-65535")->size(), 65535u);
  for (const char* bad : {"", "-", "0-10", "30000-", "-30000", "32767-30000", "30000-65536", "a-b",
                          "30000 - 32767", "30000+100"}) {
    EXPECT_FALSE(PortRange::Parse(bad)) << bad;
  }
}

TEST(ServiceRangesTest, RefusesBadRangesNamingTheFlag) {
  struct Case {
    const char* cidr;
    const char* ports;
    const char* message;
  };
  for (const Case& c : {
           Case{"10.96.0.0", "30000-32767",
                "--service-cluster-ip-range: \"10.96.0.0\" is not a "
                "CIDR"},
           Case{"10.96.0.0/33", "30000-32767", "is not a CIDR"},
           Case{"10.0.0.0/8", "30000-32767", "10.0.0.0/8 is too large"},
           Case{"fd00::/64", "30000-32767", "fd00::/64 is too large"},
           Case{"10.96.0.0/31", "30000-32767", "holds no address to allocate"},
           Case{"10.96.0.0/12", "32767-30000", "--service-node-port-range: \"32767-30000\""},
           Case{"10.96.0.0/12", "", "--service-node-port-range"},
       }) {
    auto r = ServiceRanges::Parse(c.cidr, c.ports);
    ASSERT_FALSE(r.ok()) << c.cidr << " " << c.ports;
    EXPECT_EQ(r.status().code(), Code::kInvalid);
    EXPECT_THAT(r.status().message(), HasSubstr(c.message));
  }
  EXPECT_TRUE(ServiceRanges::Parse("10.96.0.0/12", "30000-32767").ok());
  EXPECT_TRUE(ServiceRanges::Parse("fd00::/108", "30000").ok());
  EXPECT_TRUE(ServiceRanges::Parse("10.96.0.0/30", "30000-30001").ok());  // two addresses
}

TEST(PickTest, ClusterIpSkipsNetworkAndBroadcastAndWraps) {
  Cidr range = *Cidr::Parse("10.96.0.0/29");  // .1 to .6
  EXPECT_EQ(PickClusterIp(range, {}, 0)->AddressString(), "10.96.0.1");
  EXPECT_EQ(PickClusterIp(range, {}, 5)->AddressString(), "10.96.0.6");
  EXPECT_EQ(PickClusterIp(range, {}, 6)->AddressString(), "10.96.0.1");  // modulo the count
  std::set<IpKey> taken = {Key("10.96.0.6"), Key("10.96.0.1")};
  EXPECT_EQ(PickClusterIp(range, taken, 5)->AddressString(), "10.96.0.2");  // wrapped past .7
  for (int i = 1; i <= 6; ++i) taken.insert(Key("10.96.0." + std::to_string(i)));
  EXPECT_FALSE(PickClusterIp(range, taken, 3));
  EXPECT_TRUE(Allocatable(range, Ip("10.96.0.6")));
  EXPECT_FALSE(Allocatable(range, Ip("10.96.0.0")));
  EXPECT_FALSE(Allocatable(range, Ip("10.96.0.7")));
  EXPECT_FALSE(Allocatable(range, Ip("10.96.0.8")));
  EXPECT_FALSE(Allocatable(range, Ip("fd00::1")));
}

TEST(PickTest, Ipv6HasNoBroadcastToSkip) {
  Cidr range = *Cidr::Parse("fd00::/126");  // ::1 to ::3
  EXPECT_EQ(PickClusterIp(range, {}, 2)->AddressString(), "fd00::3");
  EXPECT_EQ(PickClusterIp(range, {Key("fd00::3")}, 2)->AddressString(), "fd00::1");
  EXPECT_FALSE(Allocatable(range, Ip("fd00::")));
  EXPECT_TRUE(Allocatable(range, Ip("fd00::3")));
}

TEST(PickTest, NodePortProbesUpAndWraps) {
  PortRange range{30000, 30002};
  EXPECT_EQ(PickNodePort(range, {}, 1), 30001);
  EXPECT_EQ(PickNodePort(range, {30002}, 2), 30000);
  EXPECT_EQ(PickNodePort(range, {30000, 30001}, 0), 30002);
  EXPECT_FALSE(PickNodePort(range, {30000, 30001, 30002}, 0));
}

TEST(InUseTest, LeavesOutTheServiceItselfAndNodePortsOfOtherTypes) {
  api::Object a = [] {
    auto s = MakeService("a", "NodePort");
    s.spec.cluster_ip = "10.96.0.5";
    s.spec.cluster_ips = {"10.96.0.5"};
    s.spec.ports[0].node_port = 30005;
    return s;
  }();
  api::Object b = [] {
    auto s = MakeService("b", "ExternalName");
    s.spec.ports[0].node_port = 30006;  // not allocated: ExternalName has no node ports
    return s;
  }();
  api::Object headless = [] {
    auto s = MakeService("h");
    s.spec.cluster_ip = "None";
    return s;
  }();
  std::vector<const api::Object*> all = {&a, &b, &headless};
  ServiceAllocations used = InUse(all, "default", "x");
  EXPECT_EQ(used.cluster_ips, (std::set<IpKey>{Key("10.96.0.5")}));
  EXPECT_EQ(used.node_ports, (std::set<int32_t>{30005}));
  ServiceAllocations without_a = InUse(all, "default", "a");
  EXPECT_TRUE(without_a.cluster_ips.empty());
  EXPECT_TRUE(without_a.node_ports.empty());
  EXPECT_EQ(InUse(all, "other", "a").node_ports.size(), 1u);  // another namespace's "a"

  api::Object v6 = [] {
    auto s = MakeService("v6");
    s.spec.cluster_ip = "fd00:0:0::a";
    return s;
  }();
  EXPECT_TRUE(InUse({&v6}, "default", "x").cluster_ips.contains(Key("fd00::a")));  // one address
}

TEST(AllocateTest, CreateFillsWhatIsMissing) {
  std::mt19937_64 rng(1);
  auto s = MakeService("web", "NodePort");
  s.spec.ports[0].name = "a";
  s.spec.ports.push_back({"b", "UDP", 53, api::IntOrString::Int(53), 30003});
  ServiceAllocations used;
  for (int i = 1; i <= 5; ++i) used.cluster_ips.insert(Key("10.96.0." + std::to_string(i)));
  used.node_ports = {30000, 30001};
  ASSERT_TRUE(Allocate(Ranges("10.96.0.0/29", "30000-30003"), used, nullptr, s, rng, nullptr).ok());
  EXPECT_EQ(s.spec.cluster_ip, "10.96.0.6");  // the one free address left
  EXPECT_EQ(s.spec.cluster_ips, std::vector<std::string>{"10.96.0.6"});
  EXPECT_EQ(s.spec.ports[0].node_port, 30002);  // neither taken nor asked for by port b
  EXPECT_EQ(s.spec.ports[1].node_port, 30003);

  auto headless = MakeService("h");
  headless.spec.cluster_ip = "None";
  ASSERT_TRUE(Allocate(Ranges(), {}, nullptr, headless, rng, nullptr).ok());
  EXPECT_EQ(headless.spec.cluster_ips, std::vector<std::string>{"None"});
}

TEST(AllocateTest, ReportsEveryProblemAsAFieldError) {
  std::mt19937_64 rng(1);
  auto s = MakeService("web", "NodePort");
  s.spec.cluster_ip = "10.96.0.7";
  s.spec.ports = {{"a", "TCP", 80, api::IntOrString::Int(80), 30001},
                  {"b", "TCP", 81, api::IntOrString::Int(81), 29999},
                  {"c", "UDP", 82, api::IntOrString::Int(82), 30001},
                  {"d", "TCP", 83, api::IntOrString::Int(83), 30002}};
  ServiceAllocations used;
  used.cluster_ips = {Key("10.96.0.7")};
  used.node_ports = {30002};
  FieldErrors causes;
  Status st = Allocate(Ranges(), used, nullptr, s, rng, &causes);
  EXPECT_EQ(st.code(), Code::kInvalid);
  std::vector<std::string> got;
  for (const auto& c : causes) got.push_back(c.ToString());
  EXPECT_THAT(got, ::testing::ElementsAre(
                       "spec.clusterIP: Invalid value: \"10.96.0.7\": failed to allocate IP "
                       "10.96.0.7: provided IP is already allocated",
                       "spec.ports[1].nodePort: Invalid value: 29999: provided port is not in the "
                       "valid range. The range of valid ports is 30000-32767",
                       "spec.ports[2].nodePort: Duplicate value: 30001",
                       "spec.ports[3].nodePort: Invalid value: 30002: provided port is already "
                       "allocated"));
  EXPECT_THAT(st.message(), ::testing::StartsWith("Service \"web\" is invalid: ["));
}

TEST(AllocateTest, FullRangesAreInternalErrors) {
  std::mt19937_64 rng(1);
  auto s = MakeService("web");
  ServiceAllocations used;
  used.cluster_ips = {Key("10.96.0.1"), Key("10.96.0.2")};
  Status st = Allocate(Ranges("10.96.0.0/30"), used, nullptr, s, rng, nullptr);
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_EQ(st.message(), "Internal error occurred: failed to allocate a serviceIP: range is full");
  auto np = MakeService("np", "NodePort");
  used = {};
  used.node_ports = {30000};
  st = Allocate(Ranges("10.96.0.0/24", "30000"), used, nullptr, np, rng, nullptr);
  EXPECT_EQ(st.code(), Code::kInternal);
  EXPECT_EQ(st.message(), "Internal error occurred: failed to allocate a nodePort: range is full");
}

TEST(AllocateTest, UpdateKeepsWhatTheServiceHoldsEvenOutsideANewRange) {
  std::mt19937_64 rng(1);
  auto current = MakeService("web", "NodePort");
  current.spec.cluster_ip = "10.0.0.9";  // from an earlier, different range
  current.spec.cluster_ips = {"10.0.0.9"};
  current.spec.ports[0].node_port = 31000;
  auto updated = current;
  EXPECT_TRUE(
      Allocate(Ranges("10.96.0.0/24", "30000-30100"), {}, &current, updated, rng, nullptr).ok());
  EXPECT_EQ(updated.spec, current.spec);
}

TEST(CarryOverTest, KeepsAllocationsAnUpdateLeavesOut) {
  auto current = MakeService("web", "NodePort");
  current.spec.cluster_ip = "10.96.0.9";
  current.spec.cluster_ips = {"10.96.0.9"};
  current.spec.ports = {{"http", "TCP", 80, api::IntOrString::Int(80), 30080},
                        {"dns", "UDP", 53, api::IntOrString::Int(53), 30053}};
  api::Service updated = MakeService("web", "NodePort");
  updated.spec.ports = {{"dns", "", 5353, {}, 0},     // renamed port: by name
                        {"web", "", 80, {}, 0},       // by port and (default) protocol
                        {"extra", "", 8080, {}, 0}};  // new: nothing to keep
  CarryOverAllocations(current, updated);
  EXPECT_EQ(updated.spec.cluster_ip, "10.96.0.9");
  EXPECT_EQ(updated.spec.cluster_ips, std::vector<std::string>{"10.96.0.9"});
  EXPECT_EQ(updated.spec.ports[0].node_port, 30053);
  EXPECT_EQ(updated.spec.ports[1].node_port, 30080);
  EXPECT_EQ(updated.spec.ports[2].node_port, 0);
}

TEST(CarryOverTest, ATypeChangeDropsWhatTheNewTypeCannotHave) {
  auto current = MakeService("web", "NodePort");
  current.spec.cluster_ip = "10.96.0.9";
  current.spec.cluster_ips = {"10.96.0.9"};
  current.spec.ports[0].node_port = 30080;
  current.spec.external_traffic_policy = "Cluster";

  api::Service to_cluster_ip = current;
  to_cluster_ip.spec.type = "ClusterIP";
  CarryOverAllocations(current, to_cluster_ip);
  EXPECT_EQ(to_cluster_ip.spec.ports[0].node_port, 0);
  EXPECT_EQ(to_cluster_ip.spec.external_traffic_policy, "");
  EXPECT_EQ(to_cluster_ip.spec.cluster_ip, "10.96.0.9");

  api::Service to_external = current;
  to_external.spec.type = "ExternalName";
  CarryOverAllocations(current, to_external);
  EXPECT_EQ(to_external.spec.cluster_ip, "");
  EXPECT_TRUE(to_external.spec.cluster_ips.empty());

  api::Service new_address = to_external;
  new_address.spec.cluster_ip = "10.96.0.10";  // asked for: kept, so validation refuses it
  CarryOverAllocations(current, new_address);
  EXPECT_EQ(new_address.spec.cluster_ip, "10.96.0.10");
}

// ---------------------------------------------------------------------------------------
// The API server

std::string Svc(const std::string& name, const std::string& spec = R"("ports":[{"port":80}])") {
  return R"({"apiVersion":"v1","kind":"Service","metadata":{"name":")" + name + R"("},"spec":{)" +
         spec + "}}";
}

constexpr const char* kServices = "/api/v1/namespaces/default/services";

class ServiceAllocServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/korc-svc-XXXXXX";
    dir_ = mkdtemp(tmpl);
    OpenLog();
    StartServer();
  }
  void TearDown() override {
    StopServer();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  void OpenLog() {
    auto log = storage::OpenRocksDbEventLog(dir_ + "/log");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }
  void StartServer(const std::string& cidr = "10.96.0.0/12",
                   const std::string& ports = "30000-32767") {
    ApiServerOptions o;
    o.port = 0;
    o.service_cluster_ip_range = cidr;
    o.service_node_port_range = ports;
    auto s = ApiServer::Start(*log_, nullptr, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    port_ = server_->port();
  }
  void StopServer() {
    if (server_) server_->Stop();
    server_.reset();
  }
  korc::testing::HttpResult Call(const std::string& method, const std::string& target,
                                 const std::string& body = {},
                                 const std::string& ct = "application/json") {
    return Http(port_, method, target, body, ct);
  }
  // Creates and answers the stored Service; fails the test unless it was created.
  json Create(const std::string& body) {
    auto r = Call("POST", kServices, body);
    EXPECT_EQ(r.code, 201) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  json Get(const std::string& name) {
    auto r = Call("GET", std::string(kServices) + "/" + name);
    EXPECT_EQ(r.code, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  json MergePatch(const std::string& name, const std::string& patch, int want = 200) {
    auto r =
        Call("PATCH", std::string(kServices) + "/" + name, patch, "application/merge-patch+json");
    EXPECT_EQ(r.code, want) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // A 422 naming `field` whose message contains `message`, and nothing written.
  void ExpectInvalid(const korc::testing::HttpResult& r, uint64_t head_before,
                     const std::string& field, const std::string& message) {
    EXPECT_EQ(r.code, 422) << r.body;
    json s = json::parse(r.body, nullptr, false);
    EXPECT_EQ(s["kind"], "Status");
    EXPECT_EQ(s["reason"], "Invalid");
    EXPECT_EQ(s["details"]["kind"], "Service");
    ASSERT_TRUE(s["details"]["causes"].is_array()) << r.body;
    bool named = false;
    for (const auto& c : s["details"]["causes"]) named = named || c["field"] == field;
    EXPECT_TRUE(named) << field << " in " << r.body;
    EXPECT_THAT(s["message"].get<std::string>(), HasSubstr(message));
    EXPECT_EQ(log_->Head(), head_before) << "a refused request wrote to the log";
  }

  std::string dir_;
  std::unique_ptr<storage::EventLog> log_;
  std::unique_ptr<ApiServer> server_;
  uint16_t port_ = 0;
};

std::string ClusterIp(const json& svc) { return svc["spec"].value("clusterIP", ""); }
int NodePort(const json& svc, size_t i = 0) { return svc["spec"]["ports"][i].value("nodePort", 0); }

TEST_F(ServiceAllocServerTest, CreateAllocatesAClusterIpInTheRange) {
  json svc = Create(Svc("web"));
  std::string ip = ClusterIp(svc);
  auto parsed = Cidr::ParseAddress(ip);
  ASSERT_TRUE(parsed) << svc.dump();
  EXPECT_TRUE(Allocatable(*Cidr::Parse("10.96.0.0/12"), *parsed)) << ip;
  EXPECT_EQ(svc["spec"]["clusterIPs"], json::array({ip}));
  EXPECT_EQ(Get("web")["spec"], svc["spec"]);  // stored as answered
}

TEST_F(ServiceAllocServerTest, ServicesGetDifferentClusterIps) {
  std::set<std::string> ips;
  for (int i = 0; i < 20; ++i) ips.insert(ClusterIp(Create(Svc("s" + std::to_string(i)))));
  EXPECT_EQ(ips.size(), 20u);
}

TEST_F(ServiceAllocServerTest, RequestedClusterIpIsHonoured) {
  json svc = Create(Svc("web", R"("clusterIP":"10.96.0.10","ports":[{"port":80}])"));
  EXPECT_EQ(ClusterIp(svc), "10.96.0.10");
  EXPECT_EQ(svc["spec"]["clusterIPs"], json::array({"10.96.0.10"}));
}

TEST_F(ServiceAllocServerTest, ClusterIpsAloneNameTheAddress) {
  json svc = Create(Svc("web", R"("clusterIPs":["10.96.0.11"],"ports":[{"port":80}])"));
  EXPECT_EQ(ClusterIp(svc), "10.96.0.11");
}

TEST_F(ServiceAllocServerTest, RequestedClusterIpTakenIsInvalidAndWritesNothing) {
  Create(Svc("a", R"("clusterIP":"10.96.0.5","ports":[{"port":80}])"));
  uint64_t head = log_->Head();
  auto r = Call("POST", kServices, Svc("b", R"("clusterIP":"10.96.0.5","ports":[{"port":80}])"));
  ExpectInvalid(r, head, "spec.clusterIP",
                "Service \"b\" is invalid: spec.clusterIP: Invalid value: \"10.96.0.5\": failed "
                "to allocate IP 10.96.0.5: provided IP is already allocated");
  EXPECT_EQ(Call("GET", std::string(kServices) + "/b").code, 404);
}

TEST_F(ServiceAllocServerTest, RequestedClusterIpOutsideTheRangeIsInvalid) {
  uint64_t head = log_->Head();
  auto r = Call("POST", kServices, Svc("web", R"("clusterIP":"1.2.3.4","ports":[{"port":80}])"));
  ExpectInvalid(r, head, "spec.clusterIP",
                "spec.clusterIP: Invalid value: \"1.2.3.4\": failed to allocate IP 1.2.3.4: the "
                "provided IP (1.2.3.4) is not in the valid range. The range of valid IPs is "
                "10.96.0.0/12");
  // The network address is not one to hand out either.
  r = Call("POST", kServices, Svc("net", R"("clusterIP":"10.96.0.0","ports":[{"port":80}])"));
  ExpectInvalid(r, head, "spec.clusterIP", "is not in the valid range");
}

TEST_F(ServiceAllocServerTest, HeadlessServicesGetNoAddress) {
  json svc = Create(Svc("db", R"("clusterIP":"None","ports":[{"port":5432}])"));
  EXPECT_EQ(ClusterIp(svc), "None");
  EXPECT_EQ(svc["spec"]["clusterIPs"], json::array({"None"}));
  Create(Svc("db2", R"("clusterIP":"None","ports":[{"port":5432}])"));  // "None" is no address
  uint64_t head = log_->Head();
  auto r = Call("POST", kServices,
                Svc("np", R"("type":"NodePort","clusterIP":"None","ports":[{"port":80}])"));
  ExpectInvalid(r, head, "spec.clusterIPs[0]", "may not be set to 'None' for NodePort services");
}

TEST_F(ServiceAllocServerTest, ExternalNameServicesGetNoAddress) {
  json svc = Create(Svc("ext", R"("type":"ExternalName")"));
  EXPECT_FALSE(svc["spec"].contains("clusterIP")) << svc.dump();
  EXPECT_FALSE(svc["spec"].contains("clusterIPs")) << svc.dump();
  uint64_t head = log_->Head();
  auto r = Call("POST", kServices, Svc("ext2", R"("type":"ExternalName","clusterIP":"10.96.0.3")"));
  ExpectInvalid(r, head, "spec.clusterIPs", "may not be set for ExternalName services");
}

TEST_F(ServiceAllocServerTest, NodePortsAreAllocatedOrHonoured) {
  json svc = Create(Svc("web", R"("type":"NodePort","ports":[{"name":"a","port":80},
                                  {"name":"b","port":443,"nodePort":30443}])"));
  int a = NodePort(svc, 0);
  EXPECT_GE(a, 30000);
  EXPECT_LE(a, 32767);
  EXPECT_NE(a, 30443);
  EXPECT_EQ(NodePort(svc, 1), 30443);
  EXPECT_FALSE(ClusterIp(svc).empty());
  json lb = Create(Svc("lb", R"("type":"LoadBalancer","ports":[{"port":80}])"));
  EXPECT_GE(NodePort(lb), 30000);
  EXPECT_NE(NodePort(lb), a);
}

TEST_F(ServiceAllocServerTest, NodePortTakenIsInvalid) {
  Create(Svc("a", R"("type":"NodePort","ports":[{"port":80,"nodePort":30080}])"));
  uint64_t head = log_->Head();
  // Per port number: another protocol does not make it free.
  auto r =
      Call("POST", kServices, Svc("b", R"("type":"NodePort","ports":[{"port":53,"protocol":"UDP",
                            "nodePort":30080}])"));
  ExpectInvalid(r, head, "spec.ports[0].nodePort",
                "spec.ports[0].nodePort: Invalid value: 30080: provided port is already "
                "allocated");
}

TEST_F(ServiceAllocServerTest, NodePortOutsideTheRangeIsInvalid) {
  uint64_t head = log_->Head();
  auto r = Call("POST", kServices,
                Svc("web", R"("type":"NodePort","ports":[{"port":80,"nodePort":80}])"));
  ExpectInvalid(r, head, "spec.ports[0].nodePort",
                "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid "
                "range. The range of valid ports is 30000-32767");
}

TEST_F(ServiceAllocServerTest, OneServiceCannotAskForANodePortTwice) {
  uint64_t head = log_->Head();
  auto r = Call("POST", kServices,
                Svc("web", R"("type":"NodePort","ports":[{"name":"a","port":80,"nodePort":30080},
                              {"name":"b","port":81,"nodePort":30080}])"));
  ExpectInvalid(r, head, "spec.ports[1].nodePort", "Duplicate value: 30080");
}

TEST_F(ServiceAllocServerTest, DeleteReleasesTheAddressAndPorts) {
  json a = Create(Svc("a", R"("type":"NodePort","ports":[{"port":80}])"));
  const std::string ip = ClusterIp(a);
  const int port = NodePort(a);
  std::string again = R"("type":"NodePort","clusterIP":")" + ip +
                      R"(","ports":[{"port":80,"nodePort":)" + std::to_string(port) + "}]";
  EXPECT_EQ(Call("POST", kServices, Svc("b", again)).code, 422);
  ASSERT_EQ(Call("DELETE", std::string(kServices) + "/a").code, 200);
  json b = Create(Svc("b", again));
  EXPECT_EQ(ClusterIp(b), ip);
  EXPECT_EQ(NodePort(b), port);
}

TEST_F(ServiceAllocServerTest, AllocationsSurviveARestart) {
  json a = Create(Svc("a", R"("type":"NodePort","ports":[{"port":80}])"));
  const std::string ip = ClusterIp(a);
  const int port = NodePort(a);
  StopServer();
  StartServer();
  EXPECT_EQ(Get("a")["spec"], a["spec"]);
  uint64_t head = log_->Head();
  ExpectInvalid(
      Call("POST", kServices, Svc("b", R"("clusterIP":")" + ip + R"(","ports":[{"port":80}])")),
      head, "spec.clusterIP", "provided IP is already allocated");
  ExpectInvalid(Call("POST", kServices,
                     Svc("c", R"("type":"NodePort","ports":[{"port":80,"nodePort":)" +
                                  std::to_string(port) + "}]")),
                head, "spec.ports[0].nodePort", "provided port is already allocated");
}

TEST_F(ServiceAllocServerTest, UpdatesKeepAllocationsTheyLeaveOut) {
  json a = Create(Svc("a", R"("type":"NodePort","ports":[{"port":80}])"));
  // PUT of the manifest as first written: no clusterIP, no nodePort, no resourceVersion.
  auto r = Call("PUT", std::string(kServices) + "/a",
                Svc("a", R"("type":"NodePort","ports":[{"port":80,"targetPort":8080}])"));
  ASSERT_EQ(r.code, 200) << r.body;
  json put = json::parse(r.body);
  EXPECT_EQ(ClusterIp(put), ClusterIp(a));
  EXPECT_EQ(put["spec"]["clusterIPs"], a["spec"]["clusterIPs"]);
  EXPECT_EQ(NodePort(put), NodePort(a));
  EXPECT_EQ(put["spec"]["ports"][0]["targetPort"], 8080);
  // A patch that replaces the ports list (JSON merge patch) keeps the node port too.
  json patched = MergePatch("a", R"({"spec":{"ports":[{"port":80,"targetPort":9090}]}})");
  EXPECT_EQ(NodePort(patched), NodePort(a));
  EXPECT_EQ(ClusterIp(patched), ClusterIp(a));
  // A PUT the same as what is stored but for the allocations it leaves out changes nothing.
  uint64_t head = log_->Head();
  r = Call("PUT", std::string(kServices) + "/a",
           Svc("a", R"("type":"NodePort","ports":[{"port":80,"targetPort":9090}])"));
  EXPECT_EQ(r.code, 200) << r.body;
  EXPECT_EQ(log_->Head(), head) << r.body;
}

TEST_F(ServiceAllocServerTest, ClusterIpIsImmutable) {
  json a = Create(Svc("a"));
  uint64_t head = log_->Head();
  auto r = Call("PUT", std::string(kServices) + "/a",
                Svc("a", R"("clusterIP":"10.96.0.77","ports":[{"port":80}])"));
  ExpectInvalid(r, head, "spec.clusterIP",
                "spec.clusterIP: Invalid value: \"10.96.0.77\": field is immutable");
  ExpectInvalid(Call("PATCH", std::string(kServices) + "/a", R"({"spec":{"clusterIP":"None"}})",
                     "application/merge-patch+json"),
                head, "spec.clusterIP", "field is immutable");
  EXPECT_EQ(ClusterIp(Get("a")), ClusterIp(a));
}

TEST_F(ServiceAllocServerTest, ToNodePortAllocatesAndBackReleases) {
  json a = Create(Svc("a"));
  json np = MergePatch("a", R"({"spec":{"type":"NodePort"}})");
  const int port = NodePort(np);
  EXPECT_GE(port, 30000);
  EXPECT_LE(port, 32767);
  EXPECT_EQ(ClusterIp(np), ClusterIp(a));
  json back = MergePatch("a", R"({"spec":{"type":"ClusterIP"}})");
  EXPECT_FALSE(back["spec"]["ports"][0].contains("nodePort")) << back.dump();
  EXPECT_FALSE(back["spec"].contains("externalTrafficPolicy")) << back.dump();
  EXPECT_EQ(ClusterIp(back), ClusterIp(a));
  // Released: another Service may have it now.
  Create(Svc("b",
             R"("type":"NodePort","ports":[{"port":80,"nodePort":)" + std::to_string(port) + "}]"));
}

TEST_F(ServiceAllocServerTest, ExternalNameAndBackReallocates) {
  json a = Create(Svc("a"));
  json ext = MergePatch("a", R"({"spec":{"type":"ExternalName"}})");
  EXPECT_FALSE(ext["spec"].contains("clusterIP")) << ext.dump();
  Create(Svc("b", R"("clusterIP":")" + ClusterIp(a) + R"(","ports":[{"port":80}])"));  // freed
  json back = MergePatch("a", R"({"spec":{"type":"ClusterIP"}})");
  EXPECT_FALSE(ClusterIp(back).empty());
  EXPECT_NE(ClusterIp(back), ClusterIp(a));
}

TEST_F(ServiceAllocServerTest, UniquenessChecksLeaveOutTheServiceItself) {
  json a = Create(Svc("a", R"("type":"NodePort","ports":[{"port":80,"nodePort":30080}])"));
  // Saying again what it holds is no conflict with itself.
  auto r = Call("PUT", std::string(kServices) + "/a",
                Svc("a", R"("type":"NodePort","clusterIP":")" + ClusterIp(a) +
                             R"(","ports":[{"port":80,"nodePort":30080}])"));
  EXPECT_EQ(r.code, 200) << r.body;
  // Moving its node port to a port of its own is fine too.
  json moved = MergePatch("a", R"({"spec":{"ports":[{"port":80,"nodePort":30081}]}})");
  EXPECT_EQ(NodePort(moved), 30081);
}

TEST_F(ServiceAllocServerTest, AFullRangeIsAnInternalError) {
  StopServer();
  StartServer("10.96.0.0/29", "30000-30001");  // six addresses, two ports
  std::set<std::string> ips;
  for (int i = 0; i < 6; ++i) ips.insert(ClusterIp(Create(Svc("s" + std::to_string(i)))));
  EXPECT_EQ(ips, (std::set<std::string>{"10.96.0.1", "10.96.0.2", "10.96.0.3", "10.96.0.4",
                                        "10.96.0.5", "10.96.0.6"}));
  uint64_t head = log_->Head();
  auto r = Call("POST", kServices, Svc("full"));
  EXPECT_EQ(r.code, 500) << r.body;
  json s = json::parse(r.body);
  EXPECT_EQ(s["reason"], "InternalError");
  EXPECT_EQ(s["message"], "Internal error occurred: failed to allocate a serviceIP: range is full");
  EXPECT_EQ(log_->Head(), head);
  // Headless Services need no address and still fit.
  Create(Svc("headless", R"("clusterIP":"None","ports":[{"port":80}])"));
  ASSERT_EQ(Call("DELETE", std::string(kServices) + "/s0").code, 200);
  Create(Svc("np", R"("type":"NodePort","ports":[{"name":"a","port":80},{"name":"b","port":81}])"));
  r = Call("PATCH", std::string(kServices) + "/s1", R"({"spec":{"type":"NodePort"}})",
           "application/merge-patch+json");
  EXPECT_EQ(r.code, 500) << r.body;
  EXPECT_THAT(r.body, HasSubstr("failed to allocate a nodePort: range is full"));
}

TEST_F(ServiceAllocServerTest, ConcurrentCreatesGetDistinctAddresses) {
  StopServer();
  StartServer("10.96.0.0/26");  // 62 addresses for 50 Services
  constexpr int kThreads = 50;
  std::vector<std::string> ips(kThreads);
  std::vector<int> codes(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto r = Call("POST", kServices,
                    Svc("s" + std::to_string(i), R"("type":"NodePort","ports":[{"port":80}])"));
      codes[i] = r.code;
      auto j = json::parse(r.body, nullptr, false);
      if (r.code == 201) ips[i] = ClusterIp(j) + "/" + std::to_string(NodePort(j));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> addresses, node_ports;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_EQ(codes[i], 201) << i;
    auto slash = ips[i].find('/');
    addresses.insert(ips[i].substr(0, slash));
    node_ports.insert(ips[i].substr(slash + 1));
  }
  EXPECT_EQ(addresses.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(node_ports.size(), static_cast<size_t>(kThreads));
  for (const auto& ip : addresses) {
    EXPECT_TRUE(Allocatable(*Cidr::Parse("10.96.0.0/26"), *Cidr::ParseAddress(ip))) << ip;
  }
}

TEST_F(ServiceAllocServerTest, DryRunAllocatesButWritesNothing) {
  Create(Svc("a", R"("clusterIP":"10.96.0.5","ports":[{"port":80}])"));
  uint64_t head = log_->Head();
  auto r = Call("POST", std::string(kServices) + "?dryRun=All",
                Svc("dry", R"("type":"NodePort","ports":[{"port":80}])"));
  ASSERT_EQ(r.code, 201) << r.body;
  json dry = json::parse(r.body);
  EXPECT_FALSE(ClusterIp(dry).empty());
  EXPECT_NE(ClusterIp(dry), "10.96.0.5");
  EXPECT_GE(NodePort(dry), 30000);
  EXPECT_EQ(log_->Head(), head);
  EXPECT_EQ(Call("GET", std::string(kServices) + "/dry").code, 404);
  ExpectInvalid(Call("POST", std::string(kServices) + "?dryRun=All",
                     Svc("dry", R"("clusterIP":"10.96.0.5","ports":[{"port":80}])")),
                head, "spec.clusterIP", "provided IP is already allocated");
  // And a dry-run update.
  r = Call("PATCH", std::string(kServices) + "/a?dryRun=All", R"({"spec":{"type":"NodePort"}})",
           "application/merge-patch+json");
  ASSERT_EQ(r.code, 200) << r.body;
  EXPECT_GE(NodePort(json::parse(r.body)), 30000);
  EXPECT_EQ(log_->Head(), head);
  EXPECT_EQ(NodePort(Get("a")), 0);
}

TEST_F(ServiceAllocServerTest, BadRangesMakeStartFail) {
  for (auto [cidr, ports] :
       std::vector<std::pair<std::string, std::string>>{{"10.96.0.0/33", "30000-32767"},
                                                        {"10.0.0.0/8", "30000-32767"},
                                                        {"10.96.0.0/12", "30000-70000"},
                                                        {"", "30000-32767"}}) {
    ApiServerOptions o;
    o.port = 0;
    o.service_cluster_ip_range = cidr;
    o.service_node_port_range = ports;
    auto s = ApiServer::Start(*log_, nullptr, o);
    ASSERT_FALSE(s.ok()) << cidr << " " << ports;
    EXPECT_EQ(s.status().code(), Code::kInvalid);
    EXPECT_THAT(s.status().message(), HasSubstr("--service-"));
  }
}

TEST(ServiceAllocDefaultsTest, TheDefaultRangeFitsWhoRunsTheServer) {
  EXPECT_EQ(DefaultServiceClusterIpRange(), geteuid() == 0 ? "10.96.0.0/12" : "127.96.0.0/16");
  ApiServerOptions o;
  EXPECT_EQ(o.service_cluster_ip_range, DefaultServiceClusterIpRange());
  EXPECT_EQ(o.service_node_port_range, "30000-32767");
  EXPECT_TRUE(ServiceRanges::Parse(o.service_cluster_ip_range, o.service_node_port_range).ok());
}

// Components' commands take the same path: a Service created over the bus command channel
// is allocated, and refused like over HTTP.
TEST(ServiceAllocCommandTest, CommandsAreAllocatedLikeHttp) {
  char tmpl[] = "/tmp/korc-svc-cmd-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    zmq::context_t ctx;
    auto log = storage::OpenRocksDbEventLog(dir + "/log");
    ASSERT_TRUE(log.ok());
    ApiServerOptions o;
    o.port = 0;
    o.bus_context = &ctx;
    o.command_endpoint = "inproc://svc-commands";
    o.service_cluster_ip_range = "10.96.0.0/24";
    auto server = ApiServer::Start(**log, nullptr, o);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    auto client = bus::ConnectCommandClient(ctx, (*server)->command_endpoint());
    ASSERT_TRUE(client.ok());
    auto send = [&](const std::string& id, const std::string& body) {
      bus::CommandRequest req;
      req.id = id;
      req.actor = "system:test";
      req.method = "POST";
      req.path = kServices;
      req.content_type = "application/json";
      req.body = body;
      EXPECT_TRUE((*client)->Send(req).ok());
      auto reply = (*client)->Receive(std::chrono::seconds(10));
      EXPECT_TRUE(reply.ok() && reply->has_value());
      return reply.ok() && reply->has_value() ? **reply : bus::CommandReply{};
    };
    bus::CommandReply a = send("svc-a", Svc("a"));
    ASSERT_EQ(a.code, 201) << a.body;
    std::string ip = ClusterIp(json::parse(a.body));
    EXPECT_TRUE(Allocatable(*Cidr::Parse("10.96.0.0/24"), *Cidr::ParseAddress(ip))) << ip;
    bus::CommandReply b =
        send("svc-b", Svc("b", R"("clusterIP":")" + ip + R"(","ports":[{"port":80}])"));
    EXPECT_EQ(b.code, 422) << b.body;
    EXPECT_THAT(b.body, HasSubstr("provided IP is already allocated"));
    (*server)->Stop();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace korc::apiserver
