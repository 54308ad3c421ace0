#include "components/controllers/node_ipam.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/defaults.h"
#include "core/validation.h"
#include "tests/controllers/fold.h"

namespace korc::controllers {
namespace {

using reactor::Command;
using std::chrono::nanoseconds;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kNow = 1'800'000'000 * kSec + 250'000'000;
constexpr int64_t kNowS = 1'800'000'000 * kSec;
constexpr int64_t kCreated = kNowS - 3600 * kSec;
const std::string kKey(NodeIpamReducer::kKey);

api::Node MakeNode(std::string name, std::string pod_cidr = "", int64_t created = kCreated) {
  api::Node n;
  n.metadata.name = name;
  n.metadata.uid = "uid-" + name;
  n.metadata.resource_version = "7";
  n.metadata.creation_timestamp.unix_ns = created;
  if (!pod_cidr.empty()) {
    n.spec.pod_cidr = pod_cidr;
    n.spec.pod_cidrs = {pod_cidr};
  }
  n.status.conditions = {{"Ready", "True", {created}, {created}, "KubeletReady", ""}};
  return n;
}

Command Allocate(api::Node node, const std::string& cidr) {
  std::string name = node.metadata.name;
  node.spec.pod_cidr = cidr;
  node.spec.pod_cidrs = {cidr};
  return Command::Update(node, "allocate pod CIDR " + cidr + " to node " + name);
}

Command CidrNotAvailable(const std::string& node) {
  return reactor::RecordEvent({.about = {"Node", "", node, "uid-" + node, "", "", ""},
                               .ns = "default",
                               .reason = "CIDRNotAvailable",
                               .message = "Node " + node + " status is now: CIDRNotAvailable",
                               .component = "cidrAllocator",
                               .now_ns = kNowS});
}

struct Case {
  std::string name;
  NodeIpamOptions options;
  std::vector<api::Object> objects;
  std::vector<Command> want;
  std::optional<nanoseconds> requeue_after;
  std::string reason;
};

NodeIpamOptions Range(std::string cidr, int mask) {
  NodeIpamOptions o;
  o.cluster_cidr = std::move(cidr);
  o.node_cidr_mask_size = mask;
  return o;
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  const api::Node a = MakeNode("a");
  cases.push_back({"FirstNodeGetsTheLowestSubnet",
                   {},
                   {a},
                   {Allocate(a, "10.244.0.0/24")},
                   std::nullopt,
                   "allocated a 10.244.0.0/24"});
  {
    // Taken: #0 exactly, #1 partly (a /25 inside it), #3 by a /23 covering #2 and #3; a CIDR
    // outside the range is kept and takes nothing in it.
    const api::Node e = MakeNode("e");
    cases.push_back({"SkipsEverySubnetAnotherNodeOverlaps",
                     {},
                     {MakeNode("b", "10.244.0.0/24"), MakeNode("c", "10.244.1.128/25"),
                      MakeNode("d", "10.244.2.0/23"), MakeNode("x", "10.1.0.0/24"), e},
                     {Allocate(e, "10.244.4.0/24")},
                     std::nullopt,
                     "allocated e 10.244.4.0/24"});
  }
  {
    // A hole left by a deleted node is the lowest free one again.
    const api::Node c = MakeNode("c");
    cases.push_back({"ReusesTheLowestHole",
                     {},
                     {MakeNode("a", "10.244.0.0/24"), MakeNode("b", "10.244.2.0/24"), c},
                     {Allocate(c, "10.244.1.0/24")},
                     std::nullopt,
                     "allocated c 10.244.1.0/24"});
  }
  {
    // Several waiting nodes in one decision: distinct subnets, oldest first, then by name.
    const api::Node z = MakeNode("z", "", kCreated - 10 * kSec);
    const api::Node m = MakeNode("m"), n = MakeNode("n");
    cases.push_back(
        {"OldestFirstEachItsOwn",
         {},
         {m, n, z},
         {Allocate(z, "10.244.0.0/24"), Allocate(m, "10.244.1.0/24"), Allocate(n, "10.244.2.0/24")},
         std::nullopt,
         "allocated z 10.244.0.0/24, m 10.244.1.0/24, n 10.244.2.0/24"});
  }
  {
    api::Node only_list = MakeNode("l");
    only_list.spec.pod_cidrs = {"10.244.0.0/24"};
    api::Node gone = MakeNode("t");
    gone.metadata.deletion_timestamp.unix_ns = kNowS;
    const api::Node w = MakeNode("w");
    cases.push_back({"PodCidrsAloneCountsAndTerminatingNodesWait",
                     {},
                     {only_list, gone, w},
                     {Allocate(w, "10.244.1.0/24")},
                     std::nullopt,
                     "allocated w 10.244.1.0/24"});
  }
  cases.push_back({"EveryNodeHasOne",
                   {},
                   {MakeNode("a", "10.244.0.0/24"), MakeNode("b", "192.168.0.0/24")},
                   {},
                   std::nullopt,
                   "every node has a pod CIDR"});
  {
    // Two /24s in a /23: the third node waits, with an Event, and is tried again.
    const api::Node p = MakeNode("p", "", kCreated - 2), q = MakeNode("q", "", kCreated - 1);
    const api::Node r = MakeNode("r");
    cases.push_back(
        {"RangeFullRecordsCidrNotAvailable",
         Range("10.10.0.0/23", 24),
         {p, q, r},
         {Allocate(p, "10.10.0.0/24"), Allocate(q, "10.10.1.0/24"), CidrNotAvailable("r")},
         nanoseconds(30 * kSec),
         "allocated p 10.10.0.0/24, q 10.10.1.0/24; 10.10.0.0/23 is full, waiting: r"});
  }
  cases.push_back({"ACoveringCidrTakesTheWholeRange",
                   {},
                   {MakeNode("big", "10.0.0.0/8"), MakeNode("s")},
                   {CidrNotAvailable("s")},
                   nanoseconds(30 * kSec),
                   "10.244.0.0/16 is full, waiting: s"});
  {
    const api::Node v = MakeNode("v");
    cases.push_back({"OtherMaskSizesAndIpv6",
                     Range("fd00:10::/56", 64),
                     {MakeNode("u", "fd00:10::/64"), v},
                     {Allocate(v, "fd00:10:0:1::/64")},
                     std::nullopt,
                     "allocated v fd00:10:0:1::/64"});
  }
  return cases;
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class NodeIpamCases : public ::testing::TestWithParam<Case> {};

TEST_P(NodeIpamCases, Decides) {
  const Case& c = GetParam();
  ASSERT_TRUE(CheckNodeIpamOptions(c.options).ok());
  NodeIpamReducer reducer(c.options);
  testing::Fold fold(reducer.kinds());
  for (const auto& o : c.objects) fold.Put(o);
  reactor::Decision d = reducer.Reconcile(fold.view(), kKey, kNow);
  EXPECT_EQ(d.commands, c.want);
  EXPECT_EQ(d.requeue_after, c.requeue_after);
  EXPECT_EQ(d.reason, c.reason);
  // What it sends passes the API server's checks: a valid Node whose podCIDR goes from ""
  // to a value.
  for (const Command& cmd : d.commands) {
    auto decoded = DecodeJson(cmd.body);
    ASSERT_TRUE(decoded.ok()) << cmd.body;
    EXPECT_THAT(decoded->unknown_fields, ::testing::IsEmpty());
    api::Object object = decoded->object;
    ApplyDefaults(object);
    EXPECT_THAT(Validate(object), ::testing::IsEmpty()) << cmd.body;
    if (cmd.kind == "Node") {
      const reactor::ViewItem* before = fold.view().Find("Node", "", cmd.name);
      ASSERT_NE(before, nullptr);
      EXPECT_THAT(ValidateUpdate(before->object, object), ::testing::IsEmpty());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Table, NodeIpamCases, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

// Its own commands, applied, leave nothing to do: no node is handed a second subnet.
TEST(NodeIpamTest, ConvergesAfterItsCommands) {
  NodeIpamReducer reducer;
  testing::Fold fold(reducer.kinds());
  for (std::string name : {"a", "b", "c"}) fold.Put(MakeNode(name));
  reactor::Decision d = reducer.Reconcile(fold.view(), kKey, kNow);
  ASSERT_EQ(d.commands.size(), 3u);
  for (const Command& c : d.commands) fold.Apply(c, std::string(reducer.name()));
  fold.Put(MakeNode("d"));
  d = reducer.Reconcile(fold.view(), kKey, kNow);
  EXPECT_EQ(d.commands, std::vector<Command>{Allocate(MakeNode("d"), "10.244.3.0/24")});
}

TEST(NodeIpamTest, WakesOnNodesComingGoingOrChangingCidrOnly) {
  NodeIpamReducer reducer;
  testing::Fold fold(reducer.kinds());
  auto wake = [&](const Event& e) {
    std::vector<std::string> keys;
    reducer.Wake(fold.view(), e, fold.before(), &keys);
    return keys;
  };
  api::Node n = MakeNode("n");
  EXPECT_THAT(wake(fold.Put(n)), ::testing::ElementsAre(kKey));
  api::Node heartbeat = n;
  heartbeat.status.conditions[0].last_heartbeat_time.unix_ns += 10 * kSec;
  EXPECT_THAT(wake(fold.Put(heartbeat)), ::testing::IsEmpty());
  api::Node allocated = heartbeat;
  allocated.spec.pod_cidr = "10.244.0.0/24";
  allocated.spec.pod_cidrs = {"10.244.0.0/24"};
  EXPECT_THAT(wake(fold.Put(allocated)), ::testing::ElementsAre(kKey));
  EXPECT_THAT(wake(fold.Remove(allocated)), ::testing::ElementsAre(kKey));

  std::vector<std::string> all;
  reducer.AllKeys(fold.view(), &all);
  EXPECT_THAT(all, ::testing::ElementsAre(kKey));
}

TEST(NodeIpamTest, OptionsAreCheckedLikeTheFlags) {
  EXPECT_TRUE(CheckNodeIpamOptions({}).ok());
  EXPECT_EQ(CheckNodeIpamOptions(Range("10.244.0.0", 24)).code(), Code::kInvalid);
  EXPECT_EQ(CheckNodeIpamOptions(Range("10.244.0.0/16", 8)).code(), Code::kInvalid);
  EXPECT_EQ(CheckNodeIpamOptions(Range("10.244.0.0/16", 33)).code(), Code::kInvalid);
  EXPECT_EQ(CheckNodeIpamOptions(Range("10.0.0.0/8", 25)).code(), Code::kInvalid);  // 2^17
  EXPECT_TRUE(CheckNodeIpamOptions(Range("10.0.0.0/8", 24)).ok());
  EXPECT_TRUE(CheckNodeIpamOptions(Range("10.244.0.0/16", 16)).ok());
}

}  // namespace
}  // namespace korc::controllers
