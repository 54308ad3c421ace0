#include "components/hollow/hollow_nodes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/codec.h"
#include "core/defaults.h"
#include "core/field_error.h"
#include "core/validation.h"
#include "tests/controllers/fold.h"

namespace korc::hollow {
namespace {

using reactor::Command;
using reactor::Decision;
using reactor::Verb;
using reactor::View;
using std::chrono::nanoseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

constexpr int64_t kSec = 1'000'000'000;
// "Now" in every test: whole seconds, since metav1.Time is serialized to the second.
constexpr int64_t kNow = 1'800'000'000 * kSec;
constexpr std::string_view kActor = "system:node:hollow";

// ---- builders ----

HollowNodesOptions Options(int count = 3) {
  HollowNodesOptions o;
  o.count = count;
  return o;
}

api::ResourceList Capacity(std::string cpu, std::string memory, std::string pods) {
  return {{"cpu", *Quantity::Parse(cpu)},
          {"memory", *Quantity::Parse(memory)},
          {"pods", *Quantity::Parse(pods)}};
}

// A Pod the scheduler bound to `node`, created `age_s` seconds before kNow, not started yet.
api::Pod MakePod(std::string name, std::string node, int64_t age_s = 60,
                 std::string ns = "default") {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = ns;
  p.metadata.uid = "uid-" + name;
  p.metadata.resource_version = "1";
  p.metadata.creation_timestamp.unix_ns = kNow - age_s * kSec;
  api::Container c;
  c.name = "app";
  c.image = "busybox:1.36";
  api::Container side;
  side.name = "side";
  side.image = "envoy:1.30";
  p.spec.containers = {c, side};
  p.spec.node_name = std::move(node);
  p.status.phase = "Pending";
  p.status.conditions = {{"PodScheduled", "True", {}, {kNow - age_s * kSec}, "", ""}};
  return p;
}

api::Pod With(api::Pod p, const std::function<void(api::Pod&)>& change) {
  change(p);
  return p;
}

// A cluster as the reducer sees it: events folded into a view, the reducer's own commands
// played back as the API server would commit them.
class Cluster {
 public:
  explicit Cluster(HollowNodesOptions o = Options()) : r(std::move(o)), fold({"Node", "Pod"}) {}

  Decision Decide(const std::string& key, int64_t now = kNow) const {
    return r.Reconcile(fold.view(), key, now);
  }
  // Decides `key` at `now` and commits what it asks for.
  Decision Run(const std::string& key, int64_t now = kNow) {
    Decision d = Decide(key, now);
    for (const Command& c : d.commands) fold.Apply(c, std::string(kActor));
    return d;
  }
  // Registers node `index` at `at` (the reducer's own Create, committed); by default at its
  // last heartbeat slot up to kNow, so that its next heartbeat is not due at kNow.
  const api::Node& Register(int index, std::optional<int64_t> at = std::nullopt) {
    const std::string name = r.NodeName(index);
    Decision d = Run("node/" + name, at ? *at : r.NextHeartbeatNs(name, kNow - 10 * kSec));
    EXPECT_EQ(d.commands.size(), 1u);
    return *fold.view().Get<api::Node>("", r.NodeName(index));
  }
  std::vector<std::string> Wake(const Event& e) const {
    std::vector<std::string> keys;
    r.Wake(fold.view(), e, fold.before(), &keys);
    return keys;
  }
  const api::Pod& PodNamed(const std::string& name, const std::string& ns = "default") const {
    return *fold.view().Get<api::Pod>(ns, name);
  }

  HollowNodesReducer r;
  testing::Fold fold;
};

template <class T>
T Decode(const Command& c) {
  auto d = DecodeJson(c.body);
  EXPECT_TRUE(d.ok()) << d.status().message();
  const T* t = d.ok() ? std::get_if<T>(&d->object) : nullptr;
  EXPECT_NE(t, nullptr) << c.body;
  return t ? *t : T{};
}

void ExpectValid(api::Object object) {
  ApplyDefaults(object);
  FieldErrors errs = Validate(object);
  EXPECT_TRUE(errs.empty())
      << InvalidStatus(KindOf(object).kind, api::Meta(object).name, errs).message();
}

// "create Node/hollow-0", "status Pod/web-1": a decision's shape at a glance.
std::vector<std::string> Shape(const Decision& d) {
  std::vector<std::string> out;
  for (const Command& c : d.commands) {
    out.push_back(std::string(reactor::VerbName(c.verb)) + " " + c.kind + "/" + c.name);
  }
  return out;
}

std::map<std::string, std::string> PodIps(const Decision& d) {
  std::map<std::string, std::string> out;
  for (const Command& c : d.commands) {
    if (c.verb == Verb::kUpdateStatus && c.kind == "Pod") {
      out[c.name] = Decode<api::Pod>(c).status.pod_ip;
    }
  }
  return out;
}

// ---- identity, keys, options ----

TEST(HollowNodesTest, IdentityAndKinds) {
  HollowNodesReducer r(Options());
  EXPECT_EQ(r.name(), "system:node:hollow");
  EXPECT_THAT(r.kinds(), ElementsAre("Node", "Pod"));
}

TEST(HollowNodesTest, NodeNamesAndIndexes) {
  HollowNodesReducer r(Options(12));
  EXPECT_EQ(r.NodeName(0), "hollow-0");
  EXPECT_EQ(r.NodeName(11), "hollow-11");
  struct Row {
    std::string name;
    std::optional<int> index;
  };
  for (const Row& row : std::vector<Row>{{"hollow-0", 0},
                                         {"hollow-11", 11},
                                         {"hollow-12", std::nullopt},  // beyond count
                                         {"hollow-01", std::nullopt},  // not how we name it
                                         {"hollow-", std::nullopt},
                                         {"hollow-1x", std::nullopt},
                                         {"hollow--1", std::nullopt},
                                         {"node-1", std::nullopt}}) {
    EXPECT_EQ(r.NodeIndex(row.name), row.index) << row.name;
  }
}

TEST(HollowNodesTest, AllKeysNamesEveryNodeEvenWhenAbsent) {
  Cluster c(Options(3));
  c.Register(1);
  c.fold.Put(With(MakePod("going", "hollow-1"),
                  [](api::Pod& p) { p.metadata.deletion_timestamp.unix_ns = kNow; }));
  c.fold.Put(MakePod("running", "hollow-1"));
  c.fold.Put(With(MakePod("elsewhere", "real-1"),
                  [](api::Pod& p) { p.metadata.deletion_timestamp.unix_ns = kNow; }));
  std::vector<std::string> keys;
  c.r.AllKeys(c.fold.view(), &keys);
  EXPECT_THAT(keys,
              ElementsAre("node/hollow-0", "node/hollow-1", "node/hollow-2", "pod/default/going"));
}

TEST(HollowNodesTest, ParseResourceList) {
  auto ok = ParseResourceList("cpu=4,memory=16Gi,pods=110");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(*ok, Capacity("4", "16Gi", "110"));
  EXPECT_EQ(*ok, HollowNodesOptions::DefaultCapacity());
  auto spaced = ParseResourceList(" cpu=500m , example.com/gpu=2");
  ASSERT_TRUE(spaced.ok()) << spaced.status().message();
  EXPECT_EQ(spaced->at("cpu").ToString(), "500m");
  EXPECT_EQ(spaced->at("example.com/gpu").ToString(), "2");
  struct Row {
    std::string text, error;
  };
  for (const Row& row : std::vector<Row>{{"", "empty item"},
                                         {"cpu=4,", "empty item"},
                                         {"cpu", "is not NAME=QUANTITY"},
                                         {"cpu=four", "cpu: quantities must match"},
                                         {"cpu=-1", "cpu: must not be negative"},
                                         {"=4", "resource name \"\""},
                                         {"bad name=4", "resource name \"bad name\""},
                                         {"cpu=1,cpu=2", "cpu given twice"}}) {
    auto r = ParseResourceList(row.text);
    ASSERT_FALSE(r.ok()) << row.text;
    EXPECT_EQ(r.status().code(), Code::kInvalid);
    EXPECT_THAT(r.status().message(), HasSubstr(row.error)) << row.text;
  }
}

TEST(HollowNodesTest, ValidateOptions) {
  EXPECT_TRUE(ValidateOptions(Options()).ok());
  EXPECT_TRUE(ValidateOptions(Options(kMaxNodes)).ok());
  struct Row {
    std::function<void(HollowNodesOptions&)> change;
    std::string error;
  };
  for (const Row& row : std::vector<Row>{
           {[](auto& o) { o.count = 0; }, "count must be between 1 and 49152"},
           {[](auto& o) { o.count = kMaxNodes + 1; }, "count must be between"},
           {[](auto& o) { o.prefix = "Hollow-"; }, "prefix \"Hollow-\" gives node names"},
           {[](auto& o) { o.prefix = "-x"; }, "prefix \"-x\""},
           {[](auto& o) { o.prefix = std::string(70, 'a'); }, "gives node names"},
           {[](auto& o) { o.heartbeat_period = 1500ms; }, "whole number of seconds"},
           {[](auto& o) { o.heartbeat_period = 0s; }, "whole number of seconds"},
           {[](auto& o) { o.capacity["cpu"] = *Quantity::Parse("-1"); }, "cpu must not be"}}) {
    HollowNodesOptions o = Options();
    row.change(o);
    Status st = ValidateOptions(o);
    EXPECT_FALSE(st.ok()) << row.error;
    EXPECT_THAT(st.message(), HasSubstr(row.error));
  }
}

// ---- registration ----

TEST(HollowNodesTest, CreatesAbsentNodeWithExactFields) {
  Cluster c(Options(3));
  Decision d = c.Decide("node/hollow-1", kNow + 250'000'000);  // written to the second
  ASSERT_THAT(Shape(d), ElementsAre("create Node/hollow-1"));
  const Command& cmd = d.commands[0];
  EXPECT_EQ(cmd.ns, "");
  EXPECT_EQ(cmd.reason, "register hollow node hollow-1 (pods in 10.64.1.0/24)");
  EXPECT_EQ(d.reason, "node hollow-1: registering");
  api::Node got = Decode<api::Node>(cmd);

  api::Node want;
  want.api_version = "v1";
  want.kind = "Node";
  want.metadata.name = "hollow-1";
  want.metadata.labels = {{"kubernetes.io/arch", "amd64"},
                          {"kubernetes.io/hostname", "hollow-1"},
                          {"kubernetes.io/os", "linux"},
                          {"type", "hollow"}};
  want.spec.pod_cidr = "10.64.1.0/24";
  want.spec.pod_cidrs = {"10.64.1.0/24"};
  want.spec.provider_id = "hollow://hollow-1";
  want.status.capacity = Capacity("4", "16Gi", "110");
  want.status.allocatable = Capacity("4", "16Gi", "110");
  want.status.addresses = {{"InternalIP", "192.0.2.2"}, {"Hostname", "hollow-1"}};
  want.status.daemon_endpoints.kubelet_endpoint.port = 10250;
  want.status.conditions = {
      {"MemoryPressure",
       "False",
       {kNow},
       {kNow},
       "KubeletHasSufficientMemory",
       "kubelet has sufficient memory available"},
      {"DiskPressure",
       "False",
       {kNow},
       {kNow},
       "KubeletHasNoDiskPressure",
       "kubelet has no disk pressure"},
      {"PIDPressure",
       "False",
       {kNow},
       {kNow},
       "KubeletHasSufficientPID",
       "kubelet has sufficient PID available"},
      {"Ready", "True", {kNow}, {kNow}, "KubeletReady", "kubelet is posting ready status (hollow)"},
  };
  api::NodeSystemInfo& info = want.status.node_info;
  // Derived from the name: checked for shape here, for determinism and spread below.
  EXPECT_THAT(got.status.node_info.machine_id, ::testing::MatchesRegex("[0-9a-f]{32}"));
  EXPECT_THAT(
      got.status.node_info.system_uuid,
      ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"));
  EXPECT_THAT(
      got.status.node_info.boot_id,
      ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"));
  info.machine_id = got.status.node_info.machine_id;
  info.system_uuid = got.status.node_info.system_uuid;
  info.boot_id = got.status.node_info.boot_id;
  info.kernel_version = "hollow";
  info.os_image = "hollow";
  info.container_runtime_version = "hollow://0";
  info.kubelet_version = "v1.29.0-korc-hollow";
  info.kube_proxy_version = "v1.29.0-korc-hollow";
  info.operating_system = "linux";
  info.architecture = "amd64";
  EXPECT_EQ(EncodeJson(got), EncodeJson(want));  // readable when it fails
  EXPECT_EQ(got, want);
  ExpectValid(got);
  // Its next heartbeat is due at its first slot after registration.
  ASSERT_TRUE(d.requeue_after);
  EXPECT_EQ(d.requeue_after->count(), c.r.NextHeartbeatNs("hollow-1", kNow) - (kNow + 250'000'000));
}

TEST(HollowNodesTest, CreatesEveryAbsentNodeWithItsOwnAddresses) {
  Cluster c(Options(3));
  std::vector<std::string> keys;
  c.r.AllKeys(c.fold.view(), &keys);
  std::set<std::string> ips, cidrs, machine_ids;
  for (const std::string& key : keys) {
    Decision d = c.Run(key);
    ASSERT_EQ(d.commands.size(), 1u) << key;
    EXPECT_EQ(d.commands[0].verb, Verb::kCreate);
  }
  ASSERT_EQ(c.fold.view().size(), 3u);
  for (const api::Node* n : c.fold.view().ListAs<api::Node>()) {
    ips.insert(n->status.addresses[0].address);
    cidrs.insert(n->spec.pod_cidr);
    machine_ids.insert(n->status.node_info.machine_id);
  }
  EXPECT_EQ(ips, (std::set<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.3"}));
  EXPECT_EQ(cidrs, (std::set<std::string>{"10.64.0.0/24", "10.64.1.0/24", "10.64.2.0/24"}));
  EXPECT_EQ(machine_ids.size(), 3u);
  // Registered: the next decision of each only waits for its heartbeat.
  for (const std::string& key : keys) EXPECT_THAT(c.Decide(key).commands, IsEmpty()) << key;
}

TEST(HollowNodesTest, AddressesOfLargeClusters) {
  HollowNodesReducer small(Options(254));
  EXPECT_EQ(small.InternalIp(253), "192.0.2.254");
  HollowNodesReducer large(Options(kMaxNodes));
  struct Row {
    int index;
    std::string ip, cidr;
  };
  for (const Row& row : std::vector<Row>{{0, "198.18.0.1", "10.64.0.0/24"},
                                         {254, "198.18.0.255", "10.64.254.0/24"},
                                         {255, "198.18.1.0", "10.64.255.0/24"},
                                         {256, "198.18.1.1", "10.65.0.0/24"},
                                         {kMaxNodes - 1, "198.18.192.0", "10.255.255.0/24"}}) {
    EXPECT_EQ(large.InternalIp(row.index), row.ip) << row.index;
    EXPECT_EQ(HollowNodesReducer::PodCidr(row.index), row.cidr) << row.index;
  }
}

TEST(HollowNodesTest, CapacityFromOptions) {
  HollowNodesOptions o = Options(1);
  o.capacity = Capacity("32", "128Gi", "250");
  Cluster c(o);
  const api::Node& n = c.Register(0);
  EXPECT_EQ(n.status.capacity, Capacity("32", "128Gi", "250"));
  EXPECT_EQ(n.status.allocatable, Capacity("32", "128Gi", "250"));
}

TEST(HollowNodesTest, LeavesANodeOfOurNameThatIsNotHollowAlone) {
  Cluster c(Options(1));
  api::Node real;
  real.metadata.name = "hollow-0";
  real.metadata.uid = "uid-real";
  real.status.conditions = {
      {"Ready", "Unknown", {kNow - 3600 * kSec}, {kNow - 3600 * kSec}, "", ""}};
  c.fold.Put(real);
  c.fold.Put(MakePod("web", "hollow-0"));
  c.fold.Put(With(MakePod("going", "hollow-0"),
                  [](api::Pod& p) { p.metadata.deletion_timestamp.unix_ns = kNow; }));
  Decision d = c.Decide("node/hollow-0");
  EXPECT_THAT(d.commands, IsEmpty());
  EXPECT_THAT(d.reason, HasSubstr("not a hollow node"));
  EXPECT_THAT(c.Decide("pod/default/going").commands, IsEmpty());
}

// ---- heartbeats ----

TEST(HollowNodesTest, HeartbeatDueAndRequeue) {
  HollowNodesReducer r(Options());
  const int64_t s0 = r.NextHeartbeatNs("hollow-0", kNow);  // a slot of hollow-0
  struct Row {
    std::string what;
    int64_t last;  // its last heartbeat
    int64_t now;
    bool beat;
    int64_t requeue;
  };
  for (const Row& row : std::vector<Row>{
           {"just beat", s0, s0, false, 10 * kSec},
           {"1s later", s0, s0 + kSec, false, 9 * kSec},
           {"mid-second", s0, s0 + 9 * kSec + kSec / 2, false, kSec / 2},
           {"one period", s0, s0 + 10 * kSec, true, 10 * kSec},
           {"late, mid-second", s0, s0 + 10 * kSec + kSec / 4, true, 10 * kSec - kSec / 4},
           {"missed two", s0, s0 + 25 * kSec + 300'000'000, true, 4 * kSec + 700'000'000},
           // Off its phase (registered between slots): the first beat comes at the next slot.
           {"off phase", s0 + 3 * kSec, s0 + 3 * kSec, false, 7 * kSec},
           {"off phase, due", s0 + 3 * kSec, s0 + 10 * kSec, true, 10 * kSec}}) {
    Cluster c(Options());
    c.Register(0, row.last);
    Decision d = c.Decide("node/hollow-0", row.now);
    if (row.beat) {
      ASSERT_THAT(Shape(d), ElementsAre("status Node/hollow-0")) << row.what;
      EXPECT_THAT(d.reason, HasSubstr("heartbeat")) << row.what;
    } else {
      EXPECT_THAT(d.commands, IsEmpty()) << row.what;
    }
    ASSERT_TRUE(d.requeue_after) << row.what;
    EXPECT_EQ(d.requeue_after->count(), row.requeue) << row.what;
  }
}

TEST(HollowNodesTest, HeartbeatRefreshesEveryConditionAndKeepsTransitions) {
  Cluster c(Options());
  const int64_t s0 = c.r.NextHeartbeatNs("hollow-0", kNow);
  api::Node before = c.Register(0, s0);
  // Someone else's condition stays as it is.
  before.status.conditions.push_back({"NetworkUnavailable", "False", {}, {s0}, "RouteCreated", ""});
  c.fold.Put(before, "network-plugin");
  const int64_t now = s0 + 10 * kSec + 400'000'000;
  Decision d = c.Decide("node/hollow-0", now);
  ASSERT_THAT(Shape(d), ElementsAre("status Node/hollow-0"));
  EXPECT_EQ(d.commands[0].reason, "heartbeat of hollow node hollow-0 (last 10s ago)");
  api::Node want = *c.fold.view().Get<api::Node>("", "hollow-0");
  for (size_t i = 0; i < 4; ++i)
    want.status.conditions[i].last_heartbeat_time.unix_ns = s0 + 10 * kSec;
  EXPECT_EQ(Decode<api::Node>(d.commands[0]), want);
  // The view's resourceVersion goes along: the server refuses it if the node changed.
  EXPECT_EQ(Decode<api::Node>(d.commands[0]).metadata.resource_version,
            want.metadata.resource_version);
  EXPECT_FALSE(want.metadata.resource_version.empty());
}

TEST(HollowNodesTest, HeartbeatBringsAnUnknownNodeBackAtOnce) {
  Cluster c(Options());
  const int64_t s0 = c.r.NextHeartbeatNs("hollow-0", kNow);
  api::Node n = c.Register(0, s0);
  // The node lifecycle controller marked it Unknown (heartbeat kept, transition moved).
  for (auto& cond : n.status.conditions) {
    cond.status = "Unknown";
    cond.reason = "NodeStatusUnknown";
    cond.message = "Kubelet stopped posting node status.";
    cond.last_transition_time.unix_ns = s0 + kSec;
  }
  c.fold.Put(n, "system:controller:node-lifecycle");
  // Not due by the clock (2s after the last beat), but not healthy.
  Decision d = c.Decide("node/hollow-0", s0 + 2 * kSec);
  ASSERT_THAT(Shape(d), ElementsAre("status Node/hollow-0"));
  EXPECT_THAT(d.reason, HasSubstr("conditions not healthy"));
  api::Node got = Decode<api::Node>(d.commands[0]);
  ASSERT_EQ(got.status.conditions.size(), 4u);
  EXPECT_EQ(got.status.conditions[3],
            (api::NodeCondition{"Ready",
                                "True",
                                {s0 + 2 * kSec},
                                {s0 + 2 * kSec},
                                "KubeletReady",
                                "kubelet is posting ready status (hollow)"}));
  EXPECT_EQ(got.status.conditions[0],
            (api::NodeCondition{"MemoryPressure",
                                "False",
                                {s0 + 2 * kSec},
                                {s0 + 2 * kSec},
                                "KubeletHasSufficientMemory",
                                "kubelet has sufficient memory available"}));
  EXPECT_EQ(d.requeue_after->count(), 8 * kSec);
}

TEST(HollowNodesTest, HeartbeatsAreSpreadOverThePeriod) {
  HollowNodesReducer r(Options(1000));
  std::map<int64_t, int> per_second;
  for (int i = 0; i < 1000; ++i) {
    const std::string name = r.NodeName(i);
    nanoseconds phase = r.HeartbeatPhase(name);
    ASSERT_GE(phase, 0s);
    ASSERT_LT(phase, 10s);
    ASSERT_EQ(phase.count() % kSec, 0) << name;
    // Registered together at kNow, they beat next at their own slot within one period.
    const int64_t next = r.NextHeartbeatNs(name, kNow);
    ASSERT_GT(next, kNow);
    ASSERT_LE(next, kNow + 10 * kSec);
    ++per_second[next];
  }
  EXPECT_EQ(per_second.size(), 10u);  // every second of the period is used
  for (const auto& [t, n] : per_second) {
    EXPECT_GT(n, 50) << (t - kNow) / kSec;
    EXPECT_LT(n, 150) << (t - kNow) / kSec;
  }
  // Slots are one period apart.
  const int64_t s = r.NextHeartbeatNs("hollow-7", kNow);
  EXPECT_EQ(r.NextHeartbeatNs("hollow-7", s), s + 10 * kSec);
  EXPECT_EQ(r.NextHeartbeatNs("hollow-7", s - 1), s);
}

// ---- pods ----

TEST(HollowNodesTest, StartsBoundPodsRunningAndReadyWithExactStatus) {
  Cluster c(Options());
  c.Register(0);
  c.fold.Put(MakePod("web-1", "hollow-0", 30));
  Decision d = c.Decide("node/hollow-0");
  ASSERT_THAT(Shape(d), ElementsAre("status Pod/web-1"));
  EXPECT_EQ(d.commands[0].ns, "default");
  EXPECT_EQ(d.commands[0].reason, "start pod default/web-1 on hollow-0 at 10.64.0.2");
  EXPECT_THAT(d.reason, HasSubstr("starting 1 pod"));

  api::Pod want = MakePod("web-1", "hollow-0", 30);
  want.api_version = "v1";  // as the command's body carries them
  want.kind = "Pod";
  api::PodStatus& s = want.status;
  s.phase = "Running";
  s.host_ip = "192.0.2.1";
  s.pod_ip = "10.64.0.2";
  s.pod_ips = {{"10.64.0.2"}};
  s.start_time.unix_ns = kNow;
  s.conditions = {{"PodScheduled", "True", {}, {kNow - 30 * kSec}, "", ""},  // the scheduler's
                  {"Initialized", "True", {}, {kNow}, "", ""},
                  {"ContainersReady", "True", {}, {kNow}, "", ""},
                  {"Ready", "True", {}, {kNow}, "", ""}};
  api::ContainerStatus app;
  app.name = "app";
  app.state.running = api::ContainerStateRunning{{kNow}};
  app.ready = true;
  app.restart_count = 0;
  app.image = "busybox:1.36";
  app.image_id = "hollow://busybox:1.36";
  app.container_id = "hollow://uid-web-1/app";
  app.started = true;
  api::ContainerStatus side = app;
  side.name = "side";
  side.image = "envoy:1.30";
  side.image_id = "hollow://envoy:1.30";
  side.container_id = "hollow://uid-web-1/side";
  s.container_statuses = {app, side};
  api::Pod got = Decode<api::Pod>(d.commands[0]);
  EXPECT_EQ(EncodeJson(got), EncodeJson(want));  // readable when it fails
  EXPECT_EQ(got, want);
  ExpectValid(got);

  // Committed, it is left alone.
  c.Run("node/hollow-0");
  EXPECT_THAT(c.Decide("node/hollow-0").commands, IsEmpty());
}

TEST(HollowNodesTest, PodIpsFollowCreationOrderAndAreUnique) {
  Cluster c(Options());
  c.Register(0);
  c.Register(1);
  // Names out of creation order; "b" and "a2" were created in the same second.
  c.fold.Put(MakePod("c", "hollow-0", 300));
  c.fold.Put(MakePod("b", "hollow-0", 200));
  c.fold.Put(MakePod("a2", "hollow-0", 200));
  c.fold.Put(MakePod("a1", "hollow-0", 100));
  c.fold.Put(MakePod("z", "hollow-0", 250, "other-ns"));
  c.fold.Put(MakePod("x", "hollow-1", 500));  // another node: its own range
  Decision d = c.Run("node/hollow-0");
  EXPECT_EQ(PodIps(d), (std::map<std::string, std::string>{{"c", "10.64.0.2"},
                                                           {"z", "10.64.0.3"},
                                                           {"a2", "10.64.0.4"},
                                                           {"b", "10.64.0.5"},
                                                           {"a1", "10.64.0.6"}}));
  EXPECT_EQ(PodIps(c.Run("node/hollow-1")),
            (std::map<std::string, std::string>{{"x", "10.64.1.2"}}));
  EXPECT_EQ(c.PodNamed("x").status.host_ip, "192.0.2.2");
}

TEST(HollowNodesTest, NeverReusesTheAddressOfALivePod) {
  Cluster c(Options());
  c.Register(0);
  c.fold.Put(MakePod("a", "hollow-0", 300));
  c.fold.Put(MakePod("b", "hollow-0", 200));
  c.Run("node/hollow-0");
  ASSERT_EQ(c.PodNamed("a").status.pod_ip, "10.64.0.2");
  ASSERT_EQ(c.PodNamed("b").status.pod_ip, "10.64.0.3");
  // a goes; c and d come. c is now second in creation order, whose address b holds.
  c.fold.Remove(c.PodNamed("a"));
  c.fold.Put(MakePod("c", "hollow-0", 100));
  c.fold.Put(MakePod("d", "hollow-0", 50));
  Decision d = c.Run("node/hollow-0");
  EXPECT_EQ(PodIps(d),
            (std::map<std::string, std::string>{{"c", "10.64.0.4"}, {"d", "10.64.0.5"}}));
  // A terminal pod holds no address: e, second in creation order, takes the one b gave up.
  c.fold.Put(With(c.PodNamed("b"), [](api::Pod& p) { p.status.phase = "Succeeded"; }));
  c.fold.Put(MakePod("e", "hollow-0", 75));
  EXPECT_EQ(PodIps(c.Run("node/hollow-0")),
            (std::map<std::string, std::string>{{"e", "10.64.0.3"}}));
  std::set<std::string> live;
  for (const api::Pod* p : c.fold.view().ListAs<api::Pod>()) {
    if (p->status.phase == "Running") {
      EXPECT_TRUE(live.insert(p->status.pod_ip).second) << p->metadata.name;
    }
  }
  EXPECT_EQ(live.size(), 3u);
}

TEST(HollowNodesTest, AFullRangeLeavesPodsWaiting) {
  Cluster c(Options(1));
  c.Register(0);
  api::Node n = *c.fold.view().Get<api::Node>("", "hollow-0");
  n.spec.pod_cidr = "10.64.0.0/29";  // 8 addresses: .2 .. .6 usable
  c.fold.Put(n);
  for (int i = 0; i < 7; ++i) c.fold.Put(MakePod("p" + std::to_string(i), "hollow-0", 100 - i));
  Decision d = c.Run("node/hollow-0");
  EXPECT_EQ(PodIps(d).size(), 5u);
  EXPECT_THAT(d.reason, HasSubstr("2 pods waiting for a free address in podCIDR \"10.64.0.0/29\""));
  EXPECT_THAT(c.Decide("node/hollow-0").commands, IsEmpty());
  // One goes: the first waiting pod gets its address.
  c.fold.Remove(c.PodNamed("p2"));
  EXPECT_EQ(PodIps(c.Decide("node/hollow-0")),
            (std::map<std::string, std::string>{{"p5", "10.64.0.4"}}));
}

TEST(HollowNodesTest, ReReadiesAPodKeepingWhatItHad) {
  Cluster c(Options());
  c.Register(0);
  c.fold.Put(MakePod("web", "hollow-0", 600));
  c.Run("node/hollow-0", kNow - 500 * kSec);
  // The node lifecycle controller marked it not ready while the node was unreachable.
  api::Pod p = c.PodNamed("web");
  p.status.conditions[3].status = "False";
  p.status.conditions[3].last_transition_time.unix_ns = kNow - 60 * kSec;
  p.status.container_statuses[0].restart_count = 2;
  c.fold.Put(p, "system:controller:node-lifecycle");
  Decision d = c.Decide("node/hollow-0");
  ASSERT_THAT(Shape(d), ElementsAre("status Pod/web"));
  api::Pod want = c.PodNamed("web");
  want.status.conditions[3].status = "True";
  want.status.conditions[3].last_transition_time.unix_ns = kNow;
  EXPECT_EQ(Decode<api::Pod>(d.commands[0]), want);
  EXPECT_EQ(want.status.pod_ip, "10.64.0.2");
  EXPECT_EQ(want.status.start_time.unix_ns, kNow - 500 * kSec);
}

TEST(HollowNodesTest, HostNetworkPodsGetTheNodeAddress) {
  Cluster c(Options());
  c.Register(0);
  c.fold.Put(
      With(MakePod("agent", "hollow-0", 300), [](api::Pod& p) { p.spec.host_network = true; }));
  c.fold.Put(MakePod("web", "hollow-0", 200));
  EXPECT_EQ(PodIps(c.Decide("node/hollow-0")),
            (std::map<std::string, std::string>{{"agent", "192.0.2.1"}, {"web", "10.64.0.3"}}));
}

TEST(HollowNodesTest, SkipsWhatIsNotToStart) {
  Cluster c(Options());
  c.Register(0);
  c.fold.Put(MakePod("unbound", ""));
  c.fold.Put(MakePod("other", "real-node"));
  c.fold.Put(MakePod("beyond", "hollow-3"));  // count is 3
  c.fold.Put(With(MakePod("done", "hollow-0"), [](api::Pod& p) { p.status.phase = "Succeeded"; }));
  c.fold.Put(With(MakePod("failed", "hollow-0"), [](api::Pod& p) { p.status.phase = "Failed"; }));
  c.fold.Put(With(MakePod("going", "hollow-0"),
                  [](api::Pod& p) { p.metadata.deletion_timestamp.unix_ns = kNow; }));
  Decision d = c.Decide("node/hollow-0");
  EXPECT_THAT(d.commands, IsEmpty());
  // No other key touches them either.
  for (std::string key : {"pod/default/unbound", "pod/default/other", "pod/default/beyond",
                          "pod/default/done", "pod/default/missing", "node/real-node", "bogus"}) {
    EXPECT_THAT(c.Decide(key).commands, IsEmpty()) << key;
  }
}

TEST(HollowNodesTest, PodsWaitForTheirNodeToBeRegistered) {
  Cluster c(Options());
  c.fold.Put(MakePod("early", "hollow-2"));
  EXPECT_THAT(Shape(c.Run("node/hollow-2")), ElementsAre("create Node/hollow-2"));
  EXPECT_THAT(Shape(c.Run("node/hollow-2")), ElementsAre("status Pod/early"));
  EXPECT_EQ(c.PodNamed("early").status.host_ip, "192.0.2.3");
  EXPECT_EQ(c.PodNamed("early").status.pod_ip, "10.64.2.2");
}

// ---- deletion ----

TEST(HollowNodesTest, ConfirmsATerminatingPodWithGraceZero) {
  Cluster c(Options());
  c.Register(0);
  c.fold.Put(MakePod("web", "hollow-0"));
  c.Run("node/hollow-0");
  api::Pod terminating = c.PodNamed("web");
  terminating.metadata.deletion_timestamp.unix_ns = kNow + 30 * kSec;
  terminating.metadata.deletion_grace_period_seconds = 30;
  Event e = c.fold.Put(terminating, "alice");
  EXPECT_THAT(c.Wake(e), ElementsAre("node/hollow-0", "pod/default/web"));
  Decision d = c.Decide("pod/default/web");
  ASSERT_EQ(d.commands.size(), 1u);
  EXPECT_EQ(d.commands[0],
            (Command{Verb::kDelete, "Pod", "default", "web",
                     R"({"gracePeriodSeconds":0,"preconditions":{"uid":"uid-web"}})",
                     "confirm deletion of pod default/web: stopped on hollow node hollow-0", ""}));
  EXPECT_EQ(d.reason, "pod default/web: terminating, confirming");
  // The node key does not touch it meanwhile.
  EXPECT_THAT(c.Decide("node/hollow-0").commands, IsEmpty());
  // Gone: nothing more to do.
  c.fold.Apply(d.commands[0], std::string(kActor));
  EXPECT_THAT(c.Decide("pod/default/web").commands, IsEmpty());
}

TEST(HollowNodesTest, TerminatingPodsElsewhereAreIgnored) {
  Cluster c(Options());
  Event e = c.fold.Put(With(MakePod("web", "real-node"),
                            [](api::Pod& p) { p.metadata.deletion_timestamp.unix_ns = kNow; }));
  EXPECT_THAT(c.Wake(e), IsEmpty());
  EXPECT_THAT(c.Decide("pod/default/web").commands, IsEmpty());
}

// ---- wake ----

TEST(HollowNodesTest, WakeMapsEventsToKeys) {
  Cluster c(Options());
  api::Node other;
  other.metadata.name = "real-node";
  EXPECT_THAT(c.Wake(c.fold.Put(other)), IsEmpty());
  api::Node beyond;
  beyond.metadata.name = "hollow-3";
  EXPECT_THAT(c.Wake(c.fold.Put(beyond)), IsEmpty());
  const api::Node& n = c.Register(1);
  (void)n;
  EXPECT_THAT(c.Wake(c.fold.Put(*c.fold.view().Get<api::Node>("", "hollow-1"))),
              ElementsAre("node/hollow-1"));
  EXPECT_THAT(c.Wake(c.fold.Remove(*c.fold.view().Get<api::Node>("", "hollow-1"))),
              ElementsAre("node/hollow-1"));
  // A pod: created unbound, bound to a hollow node, deleted.
  EXPECT_THAT(c.Wake(c.fold.Put(MakePod("web", ""))), IsEmpty());
  EXPECT_THAT(c.Wake(c.fold.Put(MakePod("web", "hollow-2"))), ElementsAre("node/hollow-2"));
  EXPECT_THAT(c.Wake(c.fold.Remove(MakePod("web", "hollow-2"))), ElementsAre("node/hollow-2"));
  EXPECT_THAT(c.Wake(c.fold.Put(MakePod("db", "real-node"))), IsEmpty());
}

// ---- determinism ----

TEST(HollowNodesTest, DeterministicDecisions) {
  // Two clusters built by the same events decide the same, down to the bytes; a view folded
  // in two halves decides as one folded at once.
  auto build = [](Cluster& c) {
    c.Register(0, kNow - 20 * kSec);
    c.Register(1, kNow - 13 * kSec);
    for (int i = 0; i < 6; ++i) {
      c.fold.Put(MakePod("p" + std::to_string(i), i % 2 ? "hollow-0" : "hollow-1", 100 - i % 3));
    }
  };
  Cluster a(Options()), b(Options());
  build(a);
  build(b);
  for (std::string key : {"node/hollow-0", "node/hollow-1", "node/hollow-2"}) {
    for (int64_t now : {kNow, kNow + 7 * kSec + 1}) {
      Decision da = a.Decide(key, now), db = b.Decide(key, now);
      EXPECT_EQ(da.commands, db.commands) << key;
      EXPECT_EQ(da.requeue_after, db.requeue_after) << key;
      EXPECT_EQ(da.reason, db.reason) << key;
    }
  }
  // Replaying the whole run gives the same commands in the same order.
  auto run = [&build] {
    Cluster c(Options());
    build(c);
    std::vector<Command> all;
    for (int round = 0; round < 3; ++round) {
      std::vector<std::string> keys;
      c.r.AllKeys(c.fold.view(), &keys);
      for (const std::string& key : keys) {
        Decision d = c.Run(key, kNow + round * 11 * kSec);
        all.insert(all.end(), d.commands.begin(), d.commands.end());
      }
    }
    return all;
  };
  std::vector<Command> first = run();
  EXPECT_EQ(first, run());
  EXPECT_GT(first.size(), 6u);
}

}  // namespace
}  // namespace korc::hollow
