#include "components/controllers/endpoints.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "tests/controllers/fold.h"

namespace korc::controllers {
namespace {

using reactor::Command;
using reactor::Decision;
using reactor::View;

// ---- small local builders ----

api::Pod MakePod(std::string name, std::string ip, bool ready, std::string ns = "default") {
  api::Pod p;
  p.metadata.name = name;
  p.metadata.namespace_ = std::move(ns);
  p.metadata.uid = "uid-" + name;
  p.metadata.resource_version = "1";
  p.metadata.labels = {{"app", "web"}};
  api::Container c;
  c.name = "app";
  c.image = "busybox";
  c.ports = {{"http", 0, 8080, "TCP", ""}};
  p.spec.containers = {c};
  p.spec.node_name = "n1";
  p.status.phase = "Running";
  p.status.pod_ip = std::move(ip);
  p.status.conditions = {{"Ready", ready ? "True" : "False", {}, {}, "", ""}};
  return p;
}

api::Service MakeService(std::string name = "web") {
  api::Service s;
  s.metadata.name = std::move(name);
  s.metadata.namespace_ = "default";
  s.metadata.uid = "uid-svc";
  s.metadata.resource_version = "1";
  s.metadata.labels = {{"team", "a"}};
  s.spec.selector = {{"app", "web"}};
  s.spec.ports = {{"http", "TCP", 80, api::IntOrString::Str("http"), 0}};
  s.spec.cluster_ip = "10.96.0.10";
  return s;
}

api::EndpointAddress Addr(std::string ip, std::string pod, std::string node = "n1") {
  api::EndpointAddress a;
  a.ip = std::move(ip);
  a.node_name = std::move(node);
  a.target_ref = api::ObjectReference{"Pod", "default", pod, "uid-" + pod};
  return a;
}

api::EndpointPort Port(std::string name, int32_t port, std::string protocol = "TCP") {
  return {std::move(name), port, std::move(protocol)};
}

api::Endpoints MakeEndpoints(std::vector<api::EndpointSubset> subsets,
                             api::StringMap labels = {{"team", "a"}}) {
  api::Endpoints e;
  e.metadata.name = "web";
  e.metadata.namespace_ = "default";
  e.metadata.labels = std::move(labels);
  e.subsets = std::move(subsets);
  return e;
}

// The Endpoints as stored by the API server: uid and resourceVersion set.
api::Endpoints Stored(api::Endpoints e) {
  e.metadata.uid = "uid-ep";
  e.metadata.resource_version = "7";
  return e;
}

// A View folded from events, with this reducer's kinds.
class Cluster : public testing::Fold {
 public:
  Cluster() : Fold(EndpointsReducer().kinds()) {}
  void Apply(const Command& c) { Fold::Apply(c, std::string(EndpointsReducer().name())); }
};

Decision Reconcile(const Cluster& c, const std::string& key = "default/web") {
  return EndpointsReducer().Reconcile(c.view(), key, 0);
}

// ---- given these objects, expect these commands ----

struct Case {
  std::string name;
  std::vector<api::Object> objects;  // put in this order
  std::vector<Command> want;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  const std::string create = "create endpoints default/web: ";
  const std::string update = "update endpoints default/web ";

  cases.push_back({"ReadyPodsSortedByIp",
                   {MakeService(), MakePod("b", "10.1.0.9", true), MakePod("a", "10.1.0.10", true)},
                   {Command::Create(MakeEndpoints({{{Addr("10.1.0.10", "a"), Addr("10.1.0.9", "b")},
                                                    {},
                                                    {Port("http", 8080)}}}),
                                    create + "2 ready, 0 not ready")}});

  cases.push_back({"NotReadyPodsInNotReadyAddresses",
                   {MakeService(), MakePod("a", "10.1.0.1", true), MakePod("b", "10.1.0.2", false)},
                   {Command::Create(MakeEndpoints({{{Addr("10.1.0.1", "a")},
                                                    {Addr("10.1.0.2", "b")},
                                                    {Port("http", 8080)}}}),
                                    create + "1 ready, 1 not ready")}});

  {
    // "http" resolves to 8080 on a, 9000 on b and not at all on c (wrong protocol); the
    // numbered port reaches all three. Ports served by the same addresses share a subset.
    api::Service svc = MakeService();
    svc.spec.ports.push_back({"metrics", "", 9100, api::IntOrString::Int(9101), 0});
    api::Pod b = MakePod("b", "10.1.0.2", true);
    b.spec.containers[0].ports[0].container_port = 9000;
    api::Pod c = MakePod("c", "10.1.0.3", false);
    c.spec.containers[0].ports[0].protocol = "UDP";
    cases.push_back(
        {"NamedTargetPortResolvedPerPod",
         {svc, MakePod("a", "10.1.0.1", true), b, c},
         {Command::Create(MakeEndpoints({{{Addr("10.1.0.1", "a")}, {}, {Port("http", 8080)}},
                                         {{Addr("10.1.0.2", "b")}, {}, {Port("http", 9000)}},
                                         {{Addr("10.1.0.1", "a"), Addr("10.1.0.2", "b")},
                                          {Addr("10.1.0.3", "c")},
                                          {Port("metrics", 9101)}}}),
                          create + "2 ready, 1 not ready")}});
  }
  {
    api::Service svc = MakeService();
    svc.spec.ports[0].target_port = {};  // unset: the service port itself
    cases.push_back(
        {"UnsetTargetPortIsServicePort",
         {svc, MakePod("a", "10.1.0.1", true)},
         {Command::Create(MakeEndpoints({{{Addr("10.1.0.1", "a")}, {}, {Port("http", 80)}}}),
                          create + "1 ready, 0 not ready")}});
  }
  {
    // Left out: no IP yet, Succeeded, Failed, terminating, other labels, other namespace.
    api::Pod no_ip = MakePod("no-ip", "", true);
    api::Pod done = MakePod("done", "10.1.0.3", false);
    done.status.phase = "Succeeded";
    api::Pod failed = MakePod("failed", "10.1.0.4", false);
    failed.status.phase = "Failed";
    api::Pod terminating = MakePod("terminating", "10.1.0.5", true);
    terminating.metadata.deletion_timestamp.unix_ns = 1'790'000'000'000'000'000;
    api::Pod other = MakePod("other", "10.1.0.6", true);
    other.metadata.labels = {{"app", "db"}};
    cases.push_back(
        {"PodsThatCannotServeAreLeftOut",
         {MakeService(), MakePod("a", "10.1.0.1", true), no_ip, done, failed, terminating, other,
          MakePod("elsewhere", "10.1.0.7", true, "team-b")},
         {Command::Create(MakeEndpoints({{{Addr("10.1.0.1", "a")}, {}, {Port("http", 8080)}}}),
                          create + "1 ready, 0 not ready")}});
  }
  {
    api::Service svc = MakeService();
    svc.spec.publish_not_ready_addresses = true;
    api::Pod terminating = MakePod("c", "10.1.0.3", true);
    terminating.metadata.deletion_timestamp.unix_ns = 1'790'000'000'000'000'000;
    cases.push_back(
        {"PublishNotReadyAddressesPublishesEveryPod",
         {svc, MakePod("a", "10.1.0.1", true), MakePod("b", "10.1.0.2", false), terminating},
         {Command::Create(
             MakeEndpoints({{{Addr("10.1.0.1", "a"), Addr("10.1.0.2", "b"), Addr("10.1.0.3", "c")},
                             {},
                             {Port("http", 8080)}}}),
             create + "3 ready, 0 not ready")}});
  }
  {
    api::Service svc = MakeService();
    svc.spec.cluster_ip = "None";
    svc.spec.ports.clear();
    api::Pod a = MakePod("a", "10.1.0.1", true);
    a.spec.hostname = "a-host";
    a.spec.subdomain = "web";
    api::EndpointAddress a_addr = Addr("10.1.0.1", "a");
    a_addr.hostname = "a-host";
    cases.push_back(
        {"HeadlessWithoutPorts",
         {svc, a},
         {Command::Create(MakeEndpoints({{{a_addr}, {}, {}}},
                                        {{"service.kubernetes.io/headless", ""}, {"team", "a"}}),
                          create + "1 ready, 0 not ready")}});
  }
  {
    api::Endpoints current =
        Stored(MakeEndpoints({{{Addr("10.1.0.1", "a")}, {}, {Port("http", 8080)}}}));
    cases.push_back(
        {"NoWriteWhenUnchanged", {MakeService(), MakePod("a", "10.1.0.1", true), current}, {}});

    api::Endpoints stale = current;
    stale.subsets[0].addresses[0].ip = "10.1.0.99";
    api::Endpoints fixed = current;
    cases.push_back({"UpdateKeepsMetadata",
                     {MakeService(), MakePod("a", "10.1.0.1", true), stale},
                     {Command::Update(fixed, update + "addresses: 1 ready, 0 not ready")}});

    api::Endpoints wrong_labels = current;
    wrong_labels.metadata.labels = {{"team", "b"}};
    cases.push_back({"LabelsFollowTheService",
                     {MakeService(), MakePod("a", "10.1.0.1", true), wrong_labels},
                     {Command::Update(current, update + "labels: 1 ready, 0 not ready")}});

    api::Service no_selector = MakeService();
    no_selector.spec.selector.clear();
    api::Endpoints by_hand = Stored(MakeEndpoints({{{Addr("192.0.2.1", "x")}, {}, {}}}));
    cases.push_back({"ServiceWithoutSelectorLeftAlone",
                     {no_selector, MakePod("a", "10.1.0.1", true), by_hand},
                     {}});

    cases.push_back({"ServiceGoneDeletesEndpoints",
                     {MakePod("a", "10.1.0.1", true), current},
                     {Command::Delete("Endpoints", "default", "web", "uid-ep",
                                      "delete endpoints default/web: its service is gone")}});
  }
  cases.push_back({"NoPodsGivesEmptyEndpoints",
                   {MakeService()},
                   {Command::Create(MakeEndpoints({}), create + "0 ready, 0 not ready")}});
  return cases;
}

// Failures name the case, not its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class EndpointsTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(EndpointsTableTest, ExpectCommands) {
  const Case& c = GetParam();
  Cluster cluster;
  for (const api::Object& o : c.objects) cluster.Put(o);
  Decision d = Reconcile(cluster);
  ASSERT_EQ(d.commands.size(), c.want.size()) << d.reason;
  for (size_t i = 0; i < c.want.size(); ++i) {
    EXPECT_EQ(d.commands[i].verb, c.want[i].verb);
    EXPECT_EQ(d.commands[i].body, c.want[i].body);
    EXPECT_EQ(d.commands[i], c.want[i]);
  }
  EXPECT_FALSE(d.requeue_after.has_value());
  EXPECT_EQ(d.reason.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Endpoints, EndpointsTableTest, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

// ---- behaviour over several events ----

TEST(EndpointsReducerTest, FollowsReadinessChanges) {
  Cluster cluster;
  cluster.Put(MakeService());
  cluster.Put(MakePod("a", "10.1.0.1", false));
  Decision d = Reconcile(cluster);
  ASSERT_EQ(d.commands.size(), 1u);
  EXPECT_EQ(d.reason, "endpoints default/web: 0 ready, 1 not ready (created)");
  cluster.Apply(d.commands[0]);

  cluster.Put(MakePod("a", "10.1.0.1", true));  // readiness probe passes
  d = Reconcile(cluster);
  ASSERT_EQ(d.commands.size(), 1u);
  EXPECT_EQ(d.commands[0].verb, reactor::Verb::kUpdate);
  EXPECT_EQ(d.reason, "endpoints default/web: 1 ready, 0 not ready (updated addresses)");
  cluster.Apply(d.commands[0]);
  const api::Endpoints* ep = cluster.view().Get<api::Endpoints>("default", "web");
  ASSERT_NE(ep, nullptr);
  ASSERT_EQ(ep->subsets.size(), 1u);
  EXPECT_EQ(ep->subsets[0].addresses, std::vector{Addr("10.1.0.1", "a")});
  EXPECT_TRUE(ep->subsets[0].not_ready_addresses.empty());

  d = Reconcile(cluster);
  EXPECT_TRUE(d.commands.empty());
  EXPECT_EQ(d.reason, "endpoints default/web: 1 ready, 0 not ready (unchanged)");

  cluster.Put(MakePod("a", "10.1.0.1", false));  // fails its probe again
  d = Reconcile(cluster);
  ASSERT_EQ(d.commands.size(), 1u);
  cluster.Apply(d.commands[0]);
  ep = cluster.view().Get<api::Endpoints>("default", "web");
  EXPECT_TRUE(ep->subsets[0].addresses.empty());
  EXPECT_EQ(ep->subsets[0].not_ready_addresses, std::vector{Addr("10.1.0.1", "a")});

  api::Pod gone = MakePod("a", "10.1.0.1", false);
  cluster.Remove(gone);
  d = Reconcile(cluster);
  ASSERT_EQ(d.commands.size(), 1u);
  cluster.Apply(d.commands[0]);
  EXPECT_TRUE(cluster.view().Get<api::Endpoints>("default", "web")->subsets.empty());
  EXPECT_TRUE(Reconcile(cluster).commands.empty());
}

TEST(EndpointsReducerTest, DeterministicWhateverTheEventOrder) {
  std::vector<api::Object> pods;
  for (int i = 0; i < 12; ++i) {
    api::Pod p =
        MakePod("p" + std::to_string(i),
                "10.1." + std::to_string(i % 3) + "." + std::to_string(20 - i), i % 4 != 0);
    if (i % 5 == 0) p.spec.containers[0].ports[0].name = "other";  // "http" does not resolve
    pods.push_back(p);
  }
  api::Service svc = MakeService();
  svc.spec.ports.push_back({"metrics", "TCP", 9100, api::IntOrString::Int(9100), 0});

  Cluster forward, backward;
  forward.Put(svc);
  backward.Put(svc);
  for (const auto& p : pods) forward.Put(p);
  for (auto it = pods.rbegin(); it != pods.rend(); ++it) backward.Put(*it);
  Decision a = Reconcile(forward);
  Decision b = Reconcile(backward);
  ASSERT_EQ(a.commands.size(), 1u);
  EXPECT_EQ(a.commands, b.commands);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(Reconcile(forward).commands, a.commands);  // same view, same decision
  EXPECT_EQ(a.reason, "endpoints default/web: 9 ready, 3 not ready (created)");

  // Writing what it asked for converges: the next decision is a no-op.
  forward.Apply(a.commands[0]);
  EXPECT_TRUE(Reconcile(forward).commands.empty());
}

TEST(EndpointsReducerTest, ServiceDeletedThenEndpointsDeleted) {
  Cluster cluster;
  api::Service svc = MakeService();
  cluster.Put(svc);
  cluster.Put(MakePod("a", "10.1.0.1", true));
  Decision d = Reconcile(cluster);
  ASSERT_EQ(d.commands.size(), 1u);
  cluster.Apply(d.commands[0]);
  cluster.Remove(svc);
  d = Reconcile(cluster);
  ASSERT_EQ(d.commands.size(), 1u);
  EXPECT_EQ(d.commands[0].verb, reactor::Verb::kDelete);
  EXPECT_EQ(d.commands[0].body, R"({"preconditions":{"uid":"uid-web"}})");
  cluster.Apply(d.commands[0]);
  d = Reconcile(cluster);
  EXPECT_TRUE(d.commands.empty());
  EXPECT_EQ(d.reason, "endpoints default/web: no service and no endpoints");
}

// ---- wake-ups ----

std::vector<std::string> Wake(const Cluster& c, const Event& e) {
  std::vector<std::string> keys;
  EndpointsReducer().Wake(c.view(), e, c.before(), &keys);
  return keys;
}

TEST(EndpointsReducerTest, ServiceEventsWakeTheService) {
  Cluster c;
  EXPECT_EQ(Wake(c, c.Put(MakeService())), std::vector<std::string>{"default/web"});
  EXPECT_EQ(Wake(c, c.Remove(MakeService())), std::vector<std::string>{"default/web"});
}

TEST(EndpointsReducerTest, PodEventsWakeServicesMatchingOldOrNewLabels) {
  Cluster c;
  c.Put(MakeService("web"));
  api::Service db = MakeService("db");
  db.spec.selector = {{"app", "db"}};
  c.Put(db);
  api::Service manual = MakeService("manual");
  manual.spec.selector.clear();
  c.Put(manual);
  api::Service other_ns = MakeService("web");
  other_ns.metadata.namespace_ = "team-b";
  c.Put(other_ns);

  api::Pod pod = MakePod("a", "10.1.0.1", true);
  EXPECT_EQ(Wake(c, c.Put(pod)), std::vector<std::string>{"default/web"});
  pod.metadata.labels = {{"app", "db"}};  // relabelled: both the old and the new service
  EXPECT_EQ(Wake(c, c.Put(pod)), (std::vector<std::string>{"default/db", "default/web"}));
  EXPECT_EQ(Wake(c, c.Remove(pod)), std::vector<std::string>{"default/db"});
  pod.metadata.labels = {{"app", "none"}};
  EXPECT_TRUE(Wake(c, c.Put(pod)).empty());
}

TEST(EndpointsReducerTest, EndpointsEventsWakeTheSameNamedService) {
  Cluster c;
  api::Endpoints ep = Stored(MakeEndpoints({}));
  // Created by a person (maybe before its selector-less Service): left alone.
  EXPECT_TRUE(Wake(c, c.Put(ep, "alice")).empty());
  EXPECT_EQ(Wake(c, c.Put(ep, "alice")), std::vector<std::string>{"default/web"});
  EXPECT_EQ(Wake(c, c.Remove(ep)), std::vector<std::string>{"default/web"});
  // Created by this controller: checked, in case its Service went away meanwhile.
  EXPECT_EQ(Wake(c, c.Put(ep, "system:controller:endpoint")),
            std::vector<std::string>{"default/web"});
}

TEST(EndpointsReducerTest, AllKeysIncludesLeftoverEndpoints) {
  Cluster c;
  c.Put(MakeService("web"));
  api::Endpoints leftover = Stored(MakeEndpoints({}));
  leftover.metadata.name = "old";
  c.Put(leftover);
  c.Put(Stored(MakeEndpoints({})));
  std::vector<std::string> keys;
  EndpointsReducer().AllKeys(c.view(), &keys);
  EXPECT_EQ(keys, (std::vector<std::string>{"default/web", "default/old"}));
}

TEST(EndpointsReducerTest, Identity) {
  EndpointsReducer r;
  EXPECT_EQ(r.name(), "system:controller:endpoint");
  EXPECT_EQ(r.kinds(), (std::vector<std::string>{"Service", "Pod", "Endpoints"}));
  Cluster c;
  EXPECT_TRUE(r.Reconcile(c.view(), "no-slash", 0).commands.empty());
}

}  // namespace
}  // namespace korc::controllers
