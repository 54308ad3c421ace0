// Node IPAM in the controller manager against a real API server and bus: Nodes created
// without a pod CIDR get one, distinct and from the cluster CIDR; when the range is full the
// Node waits with a CIDRNotAvailable Event.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "components/controllers/manager.h"
#include "tests/apiserver/http_client.h"
#include "tests/integration/cluster.h"

namespace korc {
namespace {

using json = nlohmann::json;
using korc::testing::Http;

std::string Node(const std::string& name, const std::string& pod_cidr = "") {
  return R"({"apiVersion":"v1","kind":"Node","metadata":{"name":")" + name + R"("},"spec":{)" +
         (pod_cidr.empty() ? "" : R"("podCIDR":")" + pod_cidr + "\"") + "}}";
}

class NodeIpamTest : public ::testing::Test {
 protected:
  void Start(std::string cluster_cidr) {
    controllers::ControllerManagerOptions mo;
    mo.controllers = {"nodeipam"};
    mo.node_ipam.cluster_cidr = std::move(cluster_cidr);
    ASSERT_TRUE(cluster_.Start(&mo).ok());
  }
  korc::testing::HttpResult Call(const std::string& method, const std::string& target,
                                 const std::string& body = {}) {
    return Http(cluster_.port(), method, target, body);
  }
  std::string PodCidr(const std::string& node) {
    auto r = Call("GET", "/api/v1/nodes/" + node);
    if (r.code != 200) return "";
    return json::parse(r.body)["spec"].value("podCIDR", "");
  }
  // Waits (up to 60 s) until `done` holds.
  template <class F>
  bool WaitFor(F done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return done();
  }

  korc::testing::TestCluster cluster_;
};

TEST_F(NodeIpamTest, NodesWithoutPodCidrGetDistinctOnes) {
  Start("10.244.0.0/16");
  ASSERT_EQ(Call("POST", "/api/v1/nodes", Node("own", "10.244.0.0/24")).code, 201);
  for (std::string name : {"a", "b", "c"}) {
    ASSERT_EQ(Call("POST", "/api/v1/nodes", Node(name)).code, 201);
  }
  ASSERT_TRUE(WaitFor(
      [&] { return !PodCidr("a").empty() && !PodCidr("b").empty() && !PodCidr("c").empty(); }));
  std::set<std::string> cidrs = {PodCidr("own"), PodCidr("a"), PodCidr("b"), PodCidr("c")};
  EXPECT_EQ(cidrs, (std::set<std::string>{"10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24",
                                          "10.244.3.0/24"}));
  auto a = json::parse(Call("GET", "/api/v1/nodes/a").body);
  EXPECT_EQ(a["spec"]["podCIDRs"], json::array({a["spec"]["podCIDR"]}));

  // The log says who allocated it and why.
  auto log = Call("GET", "/korc/v1/log?kind=nodes&name=a");
  EXPECT_THAT(log.body, ::testing::HasSubstr("\"actor\":\"system:controller:node-ipam\""));
  EXPECT_THAT(log.body, ::testing::HasSubstr("allocate pod CIDR 10.244."));
}

TEST_F(NodeIpamTest, FullRangeRecordsCidrNotAvailable) {
  Start("10.10.0.0/24");  // one /24: room for one node
  ASSERT_EQ(Call("POST", "/api/v1/nodes", Node("first")).code, 201);
  ASSERT_TRUE(WaitFor([&] { return PodCidr("first") == "10.10.0.0/24"; }));
  ASSERT_EQ(Call("POST", "/api/v1/nodes", Node("second")).code, 201);
  const std::string events =
      "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dsecond";
  ASSERT_TRUE(WaitFor([&] {
    auto r = Call("GET", events);
    return r.code == 200 && !json::parse(r.body)["items"].empty();
  }));
  auto event = json::parse(Call("GET", events).body)["items"][0];
  EXPECT_EQ(event["reason"], "CIDRNotAvailable");
  EXPECT_EQ(event["involvedObject"]["kind"], "Node");
  EXPECT_EQ(event["source"]["component"], "cidrAllocator");
  EXPECT_EQ(PodCidr("second"), "");

  // Deleting the first frees its subnet for the second.
  ASSERT_EQ(Call("DELETE", "/api/v1/nodes/first").code, 200);
  EXPECT_TRUE(WaitFor([&] { return PodCidr("second") == "10.10.0.0/24"; }));
}

}  // namespace
}  // namespace korc
