#include "components/apiserver/tables.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/kinds.h"
#include "core/objects.h"

namespace korc::apiserver {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using Json = nlohmann::json;

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kCreated = 1'790'000'000 * kSecond;
constexpr int64_t kNow = kCreated + 5 * kSecond;  // every object below is 5s old

api::ObjectMeta Meta(std::string name, std::string ns = "default") {
  api::ObjectMeta m;
  m.name = std::move(name);
  m.namespace_ = std::move(ns);
  m.uid = "uid-" + m.name;
  m.resource_version = "107";
  m.creation_timestamp.unix_ns = kCreated;
  return m;
}

api::ContainerStatus RunningStatus(std::string name, bool ready = true) {
  api::ContainerStatus cs;
  cs.name = std::move(name);
  cs.ready = ready;
  cs.image = "mysql:8";
  cs.state.running = api::ContainerStateRunning{{kCreated}};
  return cs;
}

// A running, ready pod like mysql-47600 in wire/pods_table_list.json.
api::Pod MakePod(std::string name = "mysql-47600") {
  api::Pod p;
  p.metadata = Meta(std::move(name));
  p.metadata.generate_name = "mysql-";
  p.metadata.labels = {{"app", "mysql"}};
  p.metadata.owner_references = {{"v1", "ReplicationController", "mysql", "rc-uid", true, true}};
  api::Container c;
  c.name = "mysql";
  c.image = "mysql:8";
  p.spec.containers = {c};
  p.spec.node_name = "node1";
  p.status.phase = "Running";
  p.status.pod_ip = "10.1.0.106";
  p.status.conditions = {{"Ready", "True", {}, {kCreated}, "", ""}};
  p.status.container_statuses = {RunningStatus("mysql")};
  return p;
}

api::ReplicationController MakeRc() {
  api::ReplicationController rc;
  rc.metadata = Meta("web");
  rc.spec.replicas = 3;
  rc.spec.selector = {{"app", "web"}, {"tier", "front"}};
  api::PodTemplateSpec t;
  api::Container a, b;
  a.name = "app";
  a.image = "nginx:1.25";
  b.name = "sidecar";
  b.image = "busybox";
  t.spec.containers = {a, b};
  rc.spec.template_ = t;
  rc.status.replicas = 3;
  rc.status.ready_replicas = 1;
  return rc;
}

api::Service MakeService() {
  api::Service s;
  s.metadata = Meta("mysql");
  s.spec.type = "ClusterIP";
  s.spec.cluster_ip = "10.96.0.10";
  s.spec.cluster_ips = {"10.96.0.10"};
  s.spec.selector = {{"app", "mysql"}};
  s.spec.ports = {{"", "TCP", 3306, api::IntOrString::Int(3306), 0}};
  return s;
}

api::Endpoints MakeEndpoints(std::vector<std::string> ips, std::vector<int32_t> ports) {
  api::Endpoints e;
  e.metadata = Meta("mysql");
  api::EndpointSubset sub;
  for (auto& ip : ips) sub.addresses.push_back({ip, "", std::nullopt, std::nullopt});
  for (int32_t p : ports) sub.ports.push_back({"", p, "TCP"});
  e.subsets = {sub};
  return e;
}

api::Node MakeNode() {
  api::Node n;
  n.metadata = Meta("node1", "");
  n.status.conditions = {{"MemoryPressure", "False", {}, {}, "", ""},
                         {"Ready", "True", {}, {}, "KubeletReady", ""}};
  n.status.addresses = {{"InternalIP", "10.0.0.1"}, {"Hostname", "node1"}};
  n.status.node_info.kubelet_version = "v1.29.0-korc";
  n.status.node_info.os_image = "Debian GNU/Linux 12 (bookworm)";
  n.status.node_info.kernel_version = "6.1.0-18-amd64";
  n.status.node_info.container_runtime_version = "korc://0.1.0";
  return n;
}

api::KubeEvent MakeEvent() {
  api::KubeEvent e;
  e.metadata = Meta("mysql-x.17a");
  e.involved_object = {"Pod", "default", "mysql-x", "uid-x", "v1", "", "spec.containers{mysql}"};
  e.reason = "Pulled";
  e.message = "  Container image \"mysql:8\" already present on machine\n";
  e.source = {"kubelet", "node1"};
  e.first_timestamp.unix_ns = kNow - 200 * kSecond;
  e.last_timestamp.unix_ns = kNow - 10 * kSecond;
  e.count = 4;
  e.type = "Normal";
  return e;
}

Json Render(const api::Object& object, bool include_object = false) {
  std::vector<const api::Object*> objects = {&object};
  return Json::parse(RenderTable(KindOf(object), objects, "110", include_object, kNow));
}

Json Cells(const api::Object& object) { return Render(object)["rows"][0]["cells"]; }

std::vector<std::string> ColumnNames(const Json& table) {
  std::vector<std::string> names;
  for (const auto& c : table["columnDefinitions"]) names.push_back(c["name"]);
  return names;
}

std::vector<int> Priorities(const Json& table) {
  std::vector<int> p;
  for (const auto& c : table["columnDefinitions"]) p.push_back(c["priority"]);
  return p;
}

// ---------------------------------------------------------------------------------------
// Envelope and column definitions

TEST(TablesTest, EnvelopeIsAMetaV1TableWithTheListResourceVersion) {
  api::Object pod = MakePod();
  Json t = Render(pod);
  EXPECT_EQ(t["kind"], "Table");
  EXPECT_EQ(t["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(t["metadata"], Json::parse(R"({"resourceVersion":"110"})"));
  ASSERT_EQ(t["rows"].size(), 1u);
}

TEST(TablesTest, EmptyListHasEmptyRowsAndStillHasColumns) {
  Json t = Json::parse(RenderTable(*FindKind("Pod"), {}, "", false, kNow));
  EXPECT_EQ(t["rows"], Json::array());
  EXPECT_EQ(t["metadata"], Json::object());
  EXPECT_EQ(t["columnDefinitions"].size(), 9u);
}

TEST(TablesTest, ColumnDefinitionsCanBeLeftOut) {
  api::Object pod = MakePod();
  Json t = Json::parse(RenderTable(KindOf(pod), {&pod}, "115", false, kNow,
                                   /*include_column_definitions=*/false));
  EXPECT_FALSE(t.contains("columnDefinitions"));
  EXPECT_EQ(t["rows"].size(), 1u);
}

TEST(TablesTest, ObjectsOfAnotherKindAreSkipped) {
  api::Object pod = MakePod();
  api::Object svc = MakeService();
  Json t = Json::parse(RenderTable(*FindKind("Pod"), {&pod, &svc, nullptr}, "1", false, kNow));
  EXPECT_EQ(t["rows"].size(), 1u);
}

TEST(TablesTest, RowsKeepTheGivenOrder) {
  api::Object a = MakePod("b-pod"), b = MakePod("a-pod");
  Json t = Json::parse(RenderTable(*FindKind("Pod"), {&a, &b}, "1", false, kNow));
  EXPECT_EQ(t["rows"][0]["cells"][0], "b-pod");
  EXPECT_EQ(t["rows"][1]["cells"][0], "a-pod");
}

struct ColumnsCase {
  std::string kind;
  std::vector<std::string> names;
  std::vector<int> priorities;
};

class ColumnsTest : public ::testing::TestWithParam<ColumnsCase> {};

TEST_P(ColumnsTest, NamesOrderAndWidePriorities) {
  const ColumnsCase& c = GetParam();
  Json t = Json::parse(RenderTable(*FindKind(c.kind), {}, "1", false, kNow));
  EXPECT_THAT(ColumnNames(t), ElementsAreArray(c.names));
  EXPECT_THAT(Priorities(t), ElementsAreArray(c.priorities));
  for (const auto& col : t["columnDefinitions"]) {
    EXPECT_TRUE(col.contains("type") && col.contains("format") && col.contains("description"));
    EXPECT_EQ(col["format"], col["name"] == "Name" ? "name" : "") << col;
  }
}

INSTANTIATE_TEST_SUITE_P(
    EveryKind, ColumnsTest,
    ::testing::Values(
        ColumnsCase{"Pod",
                    {"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node",
                     "Readiness Gates"},
                    {0, 0, 0, 0, 0, 1, 1, 1, 1}},
        ColumnsCase{
            "ReplicationController",
            {"Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"},
            {0, 0, 0, 0, 0, 1, 1, 1}},
        ColumnsCase{"Service",
                    {"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"},
                    {0, 0, 0, 0, 0, 0, 1}},
        ColumnsCase{"Endpoints", {"Name", "Endpoints", "Age"}, {0, 0, 0}},
        ColumnsCase{"Node",
                    {"Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP",
                     "OS-Image", "Kernel-Version", "Container-Runtime"},
                    {0, 0, 0, 0, 0, 1, 1, 1, 1, 1}},
        ColumnsCase{"Namespace", {"Name", "Status", "Age"}, {0, 0, 0}},
        ColumnsCase{"Secret", {"Name", "Type", "Data", "Age"}, {0, 0, 0, 0}},
        ColumnsCase{"Event",
                    {"Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message",
                     "First Seen", "Count", "Name"},
                    {0, 0, 0, 0, 1, 1, 0, 1, 1, 1}}),
    [](const ::testing::TestParamInfo<ColumnsCase>& info) { return info.param.kind; });

TEST(TablesTest, IntegerColumnsAreTypedInteger) {
  Json t = Json::parse(RenderTable(*FindKind("ReplicationController"), {}, "1", false, kNow));
  std::vector<std::string> types;
  for (const auto& c : t["columnDefinitions"]) types.push_back(c["type"]);
  EXPECT_THAT(types, ElementsAre("string", "integer", "integer", "integer", "string", "string",
                                 "string", "string"));
}

TEST(TablesTest, EveryRowHasOneCellPerColumn) {
  std::vector<api::Object> objects = {
      MakePod(),     MakeRc(),
      MakeService(), MakeEndpoints({"10.1.0.5"}, {80}),
      MakeNode(),    api::Namespace{"", "", Meta("team-a", ""), {}, {"Active"}},
      MakeEvent()};
  for (const api::Object& o : objects) {
    Json t = Render(o);
    EXPECT_EQ(t["rows"][0]["cells"].size(), t["columnDefinitions"].size()) << KindOf(o).kind;
  }
}

// printSecret: the number of keys as a number (in a string column, as the real server has
// it), never the values.
TEST(TablesTest, SecretRowCountsKeys) {
  api::Secret s;
  s.metadata = Meta("regcred");
  s.type = "kubernetes.io/dockerconfigjson";
  s.data[".dockerconfigjson"].value = R"({"auths":{}})";
  s.data["other"].value = "hunter2";
  api::Object o = s;
  Json t = Render(o);
  EXPECT_EQ(t["rows"][0]["cells"],
            Json::parse(R"(["regcred","kubernetes.io/dockerconfigjson",2,"5s"])"));
  EXPECT_EQ(t["columnDefinitions"][2]["type"], "string");
  EXPECT_EQ(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  EXPECT_EQ(t.dump().find("aHVudGVyMg=="), std::string::npos);  // base64 of the value
  api::Secret empty;
  empty.metadata = Meta("empty");
  empty.type = "Opaque";
  EXPECT_EQ(Cells(empty)[2], 0);
}

// ---------------------------------------------------------------------------------------
// rows[].object

TEST(TablesTest, RowObjectIsPartialObjectMetadataWithFullMeta) {
  api::Object pod = MakePod();
  Json object = Render(pod)["rows"][0]["object"];
  EXPECT_EQ(object["kind"], "PartialObjectMetadata");
  EXPECT_EQ(object["apiVersion"], "meta.k8s.io/v1");
  EXPECT_FALSE(object.contains("spec"));
  const Json& meta = object["metadata"];
  EXPECT_EQ(meta["name"], "mysql-47600");
  EXPECT_EQ(meta["namespace"], "default");
  EXPECT_EQ(meta["generateName"], "mysql-");
  EXPECT_EQ(meta["labels"], Json::parse(R"({"app":"mysql"})"));
  EXPECT_EQ(meta["uid"], "uid-mysql-47600");
  EXPECT_EQ(meta["resourceVersion"], "107");
  EXPECT_EQ(meta["creationTimestamp"], "2026-09-21T14:13:20Z");
  EXPECT_EQ(meta["ownerReferences"][0]["kind"], "ReplicationController");
  EXPECT_EQ(meta["ownerReferences"][0]["controller"], true);
}

TEST(TablesTest, IncludeObjectEmbedsTheWholeObject) {
  api::Object pod = MakePod();
  Json object = Render(pod, /*include_object=*/true)["rows"][0]["object"];
  EXPECT_EQ(object["kind"], "Pod");
  EXPECT_EQ(object["apiVersion"], "v1");
  EXPECT_EQ(object["spec"]["nodeName"], "node1");
  EXPECT_EQ(object["status"]["podIP"], "10.1.0.106");
}

// ---------------------------------------------------------------------------------------
// Pods

TEST(PodTableTest, RunningPodMatchesTheWireRow) {
  api::Object pod = MakePod();
  EXPECT_EQ(Cells(pod), Json::parse(R"(["mysql-47600","1/1","Running","0","5s","10.1.0.106",
                                        "node1","<none>","<none>"])"));
}

TEST(PodTableTest, PendingPodHasNoneForIpAndNode) {
  api::Pod p = MakePod("busy");
  p.spec.node_name.clear();
  p.status = {};
  p.status.phase = "Pending";
  api::Object pod = p;
  EXPECT_EQ(Cells(pod), Json::parse(R"(["busy","0/1","Pending","0","5s","<none>","<none>",
                                        "<none>","<none>"])"));
}

TEST(PodTableTest, PodIpsFirstEntryWins) {
  api::Pod p = MakePod();
  p.status.pod_ips = {{"fd00::7"}, {"10.1.0.106"}};
  api::Object pod = p;
  EXPECT_EQ(Cells(pod)[5], "fd00::7");
}

TEST(PodTableTest, ReadyCountsReadyRunningContainers) {
  api::Pod p = MakePod();
  api::Container side;
  side.name = "side";
  p.spec.containers.push_back(side);
  p.status.container_statuses.push_back(RunningStatus("side", /*ready=*/false));
  api::Object pod = p;
  EXPECT_EQ(Cells(pod)[1], "1/2");
  EXPECT_EQ(Cells(pod)[2], "Running");
}

struct PodStatusCase {
  std::string name;
  std::function<void(api::Pod&)> mutate;
  std::string status;
};

class PodStatusTest : public ::testing::TestWithParam<PodStatusCase> {};

TEST_P(PodStatusTest, StatusColumn) {
  api::Pod p = MakePod();
  GetParam().mutate(p);
  api::Object pod = p;
  EXPECT_EQ(Cells(pod)[2], GetParam().status);
}

api::ContainerStatus Waiting(std::string reason) {
  api::ContainerStatus cs;
  cs.name = "mysql";
  cs.state.waiting = api::ContainerStateWaiting{std::move(reason), "back-off"};
  return cs;
}

api::ContainerStatus Terminated(std::string reason, int32_t exit_code, int32_t signal = 0) {
  api::ContainerStatus cs;
  cs.name = "mysql";
  api::ContainerStateTerminated t;
  t.reason = std::move(reason);
  t.exit_code = exit_code;
  t.signal = signal;
  cs.state.terminated = t;
  return cs;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, PodStatusTest,
    ::testing::Values(
        PodStatusCase{"Phase", [](api::Pod&) {}, "Running"},
        PodStatusCase{"StatusReasonOverridesPhase",
                      [](api::Pod& p) {
                        p.status.phase = "Failed";
                        p.status.reason = "Evicted";
                        p.status.container_statuses.clear();
                      },
                      "Evicted"},
        PodStatusCase{
            "CrashLoopBackOff",
            [](api::Pod& p) { p.status.container_statuses = {Waiting("CrashLoopBackOff")}; },
            "CrashLoopBackOff"},
        PodStatusCase{"ImagePullBackOff",
                      [](api::Pod& p) {
                        p.status.phase = "Pending";
                        p.status.container_statuses = {Waiting("ImagePullBackOff")};
                      },
                      "ImagePullBackOff"},
        PodStatusCase{"WaitingWithoutReasonKeepsPhase",
                      [](api::Pod& p) {
                        p.status.phase = "Pending";
                        p.status.container_statuses = {Waiting("")};
                      },
                      "Pending"},
        PodStatusCase{"Completed",
                      [](api::Pod& p) {
                        p.status.phase = "Succeeded";
                        p.status.container_statuses = {Terminated("Completed", 0)};
                      },
                      "Completed"},
        PodStatusCase{"ExitCodeWhenTerminatedWithoutReason",
                      [](api::Pod& p) {
                        p.status.phase = "Failed";
                        p.status.container_statuses = {Terminated("", 2)};
                      },
                      "ExitCode:2"},
        PodStatusCase{"SignalWhenTerminatedBySignal",
                      [](api::Pod& p) {
                        p.status.phase = "Failed";
                        p.status.container_statuses = {Terminated("", 137, 9)};
                      },
                      "Signal:9"},
        PodStatusCase{"FirstContainerDecides",
                      [](api::Pod& p) {
                        api::Container c;
                        c.name = "second";
                        p.spec.containers.push_back(c);
                        api::ContainerStatus second = Waiting("ErrImagePull");
                        second.name = "second";
                        p.status.container_statuses = {Waiting("CrashLoopBackOff"), second};
                      },
                      "CrashLoopBackOff"},
        PodStatusCase{"CompletedSidecarWithRunningReadyPodIsRunning",
                      [](api::Pod& p) {
                        api::Container c;
                        c.name = "job";
                        p.spec.containers.push_back(c);
                        api::ContainerStatus done = Terminated("Completed", 0);
                        done.name = "job";
                        p.status.container_statuses = {RunningStatus("mysql"), done};
                      },
                      "Running"},
        PodStatusCase{"CompletedSidecarWithoutReadyConditionIsNotReady",
                      [](api::Pod& p) {
                        api::Container c;
                        c.name = "job";
                        p.spec.containers.push_back(c);
                        api::ContainerStatus done = Terminated("Completed", 0);
                        done.name = "job";
                        p.status.container_statuses = {RunningStatus("mysql"), done};
                        p.status.conditions = {{"Ready", "False", {}, {}, "", ""}};
                      },
                      "NotReady"},
        PodStatusCase{"Terminating",
                      [](api::Pod& p) { p.metadata.deletion_timestamp.unix_ns = kNow; },
                      "Terminating"},
        PodStatusCase{"TerminatingNotShownForFinishedPod",
                      [](api::Pod& p) {
                        p.status.phase = "Succeeded";
                        p.status.container_statuses = {Terminated("Completed", 0)};
                        p.metadata.deletion_timestamp.unix_ns = kNow;
                      },
                      "Completed"},
        PodStatusCase{"NodeLostWhileDeletingIsUnknown",
                      [](api::Pod& p) {
                        p.status.reason = "NodeLost";
                        p.metadata.deletion_timestamp.unix_ns = kNow;
                      },
                      "Unknown"},
        PodStatusCase{
            "SchedulingGated",
            [](api::Pod& p) {
              p.status = {};
              p.status.phase = "Pending";
              p.status.conditions = {{"PodScheduled", "False", {}, {}, "SchedulingGated", ""}};
            },
            "SchedulingGated"}),
    [](const ::testing::TestParamInfo<PodStatusCase>& info) { return info.param.name; });

TEST(PodTableTest, RestartsShowWhenTheLastRestartWas) {
  api::Pod p = MakePod();
  p.status.container_statuses[0].restart_count = 3;
  api::ContainerStateTerminated last;
  last.reason = "Error";
  last.exit_code = 1;
  last.finished_at.unix_ns = kNow - 10 * kSecond;
  p.status.container_statuses[0].last_state.terminated = last;
  api::Object pod = p;
  EXPECT_EQ(Cells(pod)[3], "3 (10s ago)");
}

TEST(PodTableTest, RestartsSumContainersAndUseTheLatestFinish) {
  api::Pod p = MakePod();
  api::Container side;
  side.name = "side";
  p.spec.containers.push_back(side);
  p.status.container_statuses.push_back(RunningStatus("side"));
  p.status.container_statuses[0].restart_count = 2;
  p.status.container_statuses[1].restart_count = 5;
  api::ContainerStateTerminated older, newer;
  older.finished_at.unix_ns = kNow - 3600 * kSecond;
  newer.finished_at.unix_ns = kNow - 200 * kSecond;
  p.status.container_statuses[0].last_state.terminated = older;
  p.status.container_statuses[1].last_state.terminated = newer;
  api::Object pod = p;
  EXPECT_EQ(Cells(pod)[3], "7 (3m20s ago)");
}

TEST(PodTableTest, RestartsWithoutLastStateArePlain) {
  api::Pod p = MakePod();
  p.status.container_statuses[0].restart_count = 2;
  api::Object pod = p;
  EXPECT_EQ(Cells(pod)[3], "2");
}

TEST(PodTableTest, FinishedPodsCarryTheCompletedRowCondition) {
  api::Pod p = MakePod();
  p.status.phase = "Succeeded";
  api::Object succeeded = p;
  EXPECT_EQ(Render(succeeded)["rows"][0]["conditions"],
            Json::parse(R"([{"type":"Completed","status":"True","reason":"Succeeded",
                             "message":"The pod has completed successfully."}])"));
  p.status.phase = "Failed";
  api::Object failed = p;
  EXPECT_EQ(Render(failed)["rows"][0]["conditions"][0]["reason"], "Failed");
  api::Object running = MakePod();
  EXPECT_FALSE(Render(running)["rows"][0].contains("conditions"));
}

// ---------------------------------------------------------------------------------------
// Ages

TEST(AgeTest, ZeroCreationTimestampIsUnknown) {
  api::Pod p = MakePod();
  p.metadata.creation_timestamp = {};
  api::Object pod = p;
  EXPECT_EQ(Cells(pod)[4], "<unknown>");
}

struct DurationCase {
  int64_t seconds;
  std::string text;
};

class HumanDurationTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(HumanDurationTest, FormatsLikeKubernetes) {
  EXPECT_EQ(HumanDuration(GetParam().seconds * kSecond), GetParam().text);
}

constexpr int64_t kMin = 60, kHour = 3600, kDay = 86400, kYear = 365 * kDay;

INSTANTIATE_TEST_SUITE_P(
    Boundaries, HumanDurationTest,
    ::testing::Values(DurationCase{-3, "<invalid>"}, DurationCase{-2, "<invalid>"},
                      DurationCase{-1, "0s"}, DurationCase{0, "0s"}, DurationCase{5, "5s"},
                      DurationCase{119, "119s"}, DurationCase{120, "2m"},
                      DurationCase{200, "3m20s"}, DurationCase{9 * kMin + 59, "9m59s"},
                      DurationCase{10 * kMin + 30, "10m"}, DurationCase{179 * kMin, "179m"},
                      DurationCase{3 * kHour, "3h"}, DurationCase{7 * kHour + 30 * kMin, "7h30m"},
                      DurationCase{8 * kHour + 30 * kMin, "8h"}, DurationCase{47 * kHour, "47h"},
                      DurationCase{2 * kDay, "2d"}, DurationCase{2 * kDay + 3 * kHour, "2d3h"},
                      DurationCase{8 * kDay + 3 * kHour, "8d"}, DurationCase{400 * kDay, "400d"},
                      DurationCase{2 * kYear, "2y"}, DurationCase{2 * kYear + 30 * kDay, "2y30d"},
                      DurationCase{9 * kYear, "9y"}),
    [](const ::testing::TestParamInfo<DurationCase>& info) {
      std::string t = info.param.text;
      for (char& c : t) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return "S" + std::to_string(info.index) + "_" + t;
    });

TEST(AgeTest, SubSecondSkewIntoTheFutureIsZero) {
  EXPECT_EQ(HumanDuration(-1'500'000'000), "0s");
  EXPECT_EQ(HumanDuration(999'999'999), "0s");
}

// ---------------------------------------------------------------------------------------
// Replication controllers

TEST(RcTableTest, CellsWithIntegerCounts) {
  api::Object rc = MakeRc();
  EXPECT_EQ(Cells(rc), Json::parse(R"(["web",3,3,1,"5s","app,sidecar","nginx:1.25,busybox",
                                       "app=web,tier=front"])"));
  EXPECT_TRUE(Cells(rc)[1].is_number_integer());
}

TEST(RcTableTest, UnsetReplicasAreOneAndNoTemplateIsEmpty) {
  api::ReplicationController r = MakeRc();
  r.spec.replicas.reset();
  r.spec.template_.reset();
  r.spec.selector.clear();
  api::Object rc = r;
  Json cells = Cells(rc);
  EXPECT_EQ(cells[1], 1);
  EXPECT_EQ(cells[5], "");
  EXPECT_EQ(cells[6], "");
  EXPECT_EQ(cells[7], "<none>");
}

// ---------------------------------------------------------------------------------------
// Services

TEST(ServiceTableTest, ClusterIpService) {
  api::Object svc = MakeService();
  EXPECT_EQ(Cells(svc), Json::parse(R"(["mysql","ClusterIP","10.96.0.10","<none>","3306/TCP","5s",
                            "app=mysql"])"));
}

TEST(ServiceTableTest, NodePortShowsBothPorts) {
  api::Service s = MakeService();
  s.spec.type = "NodePort";
  s.spec.ports = {{"http", "TCP", 80, api::IntOrString::Int(8080), 30080},
                  {"dns", "UDP", 53, api::IntOrString::Int(53), 0}};
  api::Object svc = s;
  EXPECT_EQ(Cells(svc)[4], "80:30080/TCP,53/UDP");
  EXPECT_EQ(Cells(svc)[3], "<none>");
}

TEST(ServiceTableTest, ExternalIps) {
  api::Service s = MakeService();
  s.spec.external_ips = {"192.0.2.1", "192.0.2.2"};
  api::Object svc = s;
  EXPECT_EQ(Cells(svc)[3], "192.0.2.1,192.0.2.2");
}

TEST(ServiceTableTest, LoadBalancerWithoutIngressIsPending) {
  api::Service s = MakeService();
  s.spec.type = "LoadBalancer";
  api::Object svc = s;
  EXPECT_EQ(Cells(svc)[3], "<pending>");
}

TEST(ServiceTableTest, ClusterIpFallsBackAndEmptiesAreNone) {
  api::Service s = MakeService();
  s.spec.cluster_ips.clear();
  s.spec.cluster_ip = "None";
  s.spec.ports.clear();
  s.spec.selector.clear();
  api::Object headless = s;
  Json cells = Cells(headless);
  EXPECT_EQ(cells[2], "None");
  EXPECT_EQ(cells[4], "<none>");
  EXPECT_EQ(cells[6], "<none>");
  s.spec.cluster_ip.clear();
  api::Object none = s;
  EXPECT_EQ(Cells(none)[2], "<none>");
}

// ---------------------------------------------------------------------------------------
// Endpoints

struct EndpointsCase {
  std::string name;
  std::vector<std::string> ips;
  std::vector<int32_t> ports;
  std::string text;
};

class EndpointsTableTest : public ::testing::TestWithParam<EndpointsCase> {};

TEST_P(EndpointsTableTest, EndpointsColumn) {
  const EndpointsCase& c = GetParam();
  api::Object ep = MakeEndpoints(c.ips, c.ports);
  EXPECT_EQ(Cells(ep), Json::array({"mysql", c.text, "5s"}));
}

INSTANTIATE_TEST_SUITE_P(
    Formats, EndpointsTableTest,
    ::testing::Values(
        EndpointsCase{
            "TwoAddresses", {"10.1.0.5", "10.1.0.6"}, {3306}, "10.1.0.5:3306,10.1.0.6:3306"},
        EndpointsCase{"MoreThanThree",
                      {"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.1.0.5"},
                      {3306},
                      "10.1.0.1:3306,10.1.0.2:3306,10.1.0.3:3306 + 2 more..."},
        EndpointsCase{"EveryPortOfEveryAddress",
                      {"10.1.0.1", "10.1.0.2"},
                      {80, 443},
                      "10.1.0.1:80,10.1.0.2:80,10.1.0.1:443 + 1 more..."},
        EndpointsCase{"HeadlessWithoutPorts", {"10.1.0.1", "10.1.0.2"}, {}, "10.1.0.1,10.1.0.2"},
        EndpointsCase{"Ipv6IsBracketed", {"fd00::5"}, {80}, "[fd00::5]:80"},
        EndpointsCase{"SubsetWithoutAddresses", {}, {80}, ""}),
    [](const ::testing::TestParamInfo<EndpointsCase>& info) { return info.param.name; });

TEST(EndpointsTableTest, NoSubsetsIsNone) {
  api::Endpoints e = MakeEndpoints({}, {});
  e.subsets.clear();
  api::Object ep = e;
  EXPECT_EQ(Cells(ep)[1], "<none>");
}

// ---------------------------------------------------------------------------------------
// Nodes

TEST(NodeTableTest, ReadyNodeWithWideCells) {
  api::Object node = MakeNode();
  EXPECT_EQ(Cells(node), Json::parse(R"j(["node1","Ready","<none>","5s","v1.29.0-korc",
                                         "10.0.0.1","<none>","Debian GNU/Linux 12 (bookworm)",
                                         "6.1.0-18-amd64","korc://0.1.0"])j"));
}

struct NodeStatusCase {
  std::string name;
  std::function<void(api::Node&)> mutate;
  std::string status;
};

class NodeStatusTest : public ::testing::TestWithParam<NodeStatusCase> {};

TEST_P(NodeStatusTest, StatusColumn) {
  api::Node n = MakeNode();
  GetParam().mutate(n);
  api::Object node = n;
  EXPECT_EQ(Cells(node)[1], GetParam().status);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, NodeStatusTest,
    ::testing::Values(
        NodeStatusCase{"Ready", [](api::Node&) {}, "Ready"},
        NodeStatusCase{"NotReady", [](api::Node& n) { n.status.conditions[1].status = "False"; },
                       "NotReady"},
        NodeStatusCase{"UnknownConditionIsNotReady",
                       [](api::Node& n) { n.status.conditions[1].status = "Unknown"; }, "NotReady"},
        NodeStatusCase{"NoReadyConditionIsUnknown",
                       [](api::Node& n) { n.status.conditions.resize(1); }, "Unknown"},
        NodeStatusCase{"Cordoned", [](api::Node& n) { n.spec.unschedulable = true; },
                       "Ready,SchedulingDisabled"},
        NodeStatusCase{"UnknownAndCordoned",
                       [](api::Node& n) {
                         n.status.conditions.clear();
                         n.spec.unschedulable = true;
                       },
                       "Unknown,SchedulingDisabled"}),
    [](const ::testing::TestParamInfo<NodeStatusCase>& info) { return info.param.name; });

TEST(NodeTableTest, RolesFromLabelsSorted) {
  api::Node n = MakeNode();
  n.metadata.labels = {{"node-role.kubernetes.io/worker", ""},
                       {"node-role.kubernetes.io/control-plane", ""},
                       {"node-role.kubernetes.io/", ""},
                       {"kubernetes.io/role", "etcd"},
                       {"kubernetes.io/hostname", "node1"}};
  api::Object node = n;
  EXPECT_EQ(Cells(node)[2], "control-plane,etcd,worker");
}

TEST(NodeTableTest, MissingSystemInfoIsUnknownAndExternalIpShown) {
  api::Node n = MakeNode();
  n.status.node_info = {};
  n.status.addresses = {{"ExternalIP", "203.0.113.9"}};
  api::Object node = n;
  Json cells = Cells(node);
  EXPECT_EQ(cells[4], "");
  EXPECT_EQ(cells[5], "<none>");
  EXPECT_EQ(cells[6], "203.0.113.9");
  EXPECT_EQ(cells[7], "<unknown>");
  EXPECT_EQ(cells[8], "<unknown>");
  EXPECT_EQ(cells[9], "<unknown>");
}

// ---------------------------------------------------------------------------------------
// Namespaces and events

TEST(NamespaceTableTest, Cells) {
  api::Namespace ns;
  ns.metadata = Meta("team-a", "");
  ns.metadata.creation_timestamp.unix_ns = kNow - 2 * kDay * kSecond;
  ns.status.phase = "Terminating";
  api::Object o = ns;
  EXPECT_EQ(Cells(o), Json::parse(R"(["team-a","Terminating","2d"])"));
}

TEST(EventTableTest, Cells) {
  api::Object ev = MakeEvent();
  EXPECT_EQ(Cells(ev), Json::parse(R"(["10s","Normal","Pulled","pod/mysql-x",
      "spec.containers{mysql}","kubelet, node1",
      "Container image \"mysql:8\" already present on machine","3m20s",4,"mysql-x.17a"])"));
}

TEST(EventTableTest, LastSeenFallsBackToFirstSeenThenEventTime) {
  api::KubeEvent e = MakeEvent();
  e.last_timestamp = {};
  api::Object a = e;
  EXPECT_EQ(Cells(a)[0], "3m20s");
  e.first_timestamp = {};
  e.event_time.unix_ns = kNow - 30 * kSecond;
  api::Object b = e;
  EXPECT_EQ(Cells(b)[0], "30s");
  EXPECT_EQ(Cells(b)[7], "30s");
  e.event_time = {};
  api::Object c = e;
  EXPECT_EQ(Cells(c)[0], "<unknown>");
}

TEST(EventTableTest, SourceFallsBackToReportingComponent) {
  api::KubeEvent e = MakeEvent();
  e.source = {};
  e.reporting_component = "korc-controller-manager";
  api::Object a = e;
  EXPECT_EQ(Cells(a)[5], "korc-controller-manager");
  e.reporting_instance = "cm-1";
  api::Object b = e;
  EXPECT_EQ(Cells(b)[5], "korc-controller-manager, cm-1");
}

TEST(EventTableTest, ZeroCountIsOneAndObjectWithoutNameIsTheKind) {
  api::KubeEvent e = MakeEvent();
  e.count = 0;
  e.involved_object.name.clear();
  e.involved_object.kind = "Node";
  api::Object ev = e;
  EXPECT_EQ(Cells(ev)[8], 1);
  EXPECT_EQ(Cells(ev)[3], "node");
}

}  // namespace
}  // namespace korc::apiserver
