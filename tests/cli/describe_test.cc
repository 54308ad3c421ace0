// `korc describe`: the text of each kind (pure functions, from the core builders) and the verb
// end to end against a `korc apiserver` child process.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "cli/describe_format.h"
#include "tests/core/builders.h"
#include "tests/e2e/harness.h"

namespace korc {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr int64_t kSec = 1'000'000'000;
// The builders' objects were created at 1'790'000'000 s; "now" is ten minutes later.
constexpr int64_t kNow = 1'790'000'600 * kSec;

cli::DescribeOptions Options() {
  cli::DescribeOptions o;
  o.now_ns = kNow;
  o.utc = true;
  return o;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every expected line must be one of the output's lines, exactly (spacing included: the
// columns are kubectl's tabwriter columns).
void ExpectLines(const std::string& text, const std::vector<std::string>& expected) {
  auto lines = Lines(text);
  for (const auto& e : expected) EXPECT_THAT(lines, Contains(e)) << "in:\n" << text;
}

api::KubeEvent Event(std::string reason, int64_t last_s, int32_t count = 1) {
  api::KubeEvent e = testing::MakeKubeEvent();
  e.reason = std::move(reason);
  e.event_time = {};
  e.first_timestamp.unix_ns = 1'790'000'000 * kSec;
  e.last_timestamp.unix_ns = last_s * kSec;
  e.count = count;
  return e;
}

TEST(TabAlignTest, ColumnsAreRunsOfAdjacentLinesWithACellThere) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"a:\tx\nlonger:\ty\n", "a:       x\nlonger:  y\n"},
      // A line without a tab ends the column; the next run is aligned on its own.
      {"a:\tx\nbreak\nlonger:\ty\n", "a:  x\nbreak\nlonger:  y\n"},
      // The text after the last tab belongs to no column; empty cells still take padding.
      {"k:\t\nkey:\tv\n", "k:    \nkey:  v\n"},
      // A second column exists only where lines have a second tab.
      {"Port:\thttp\t80/TCP\nTargetPort:\t8080/TCP\n",
       "Port:        http  80/TCP\nTargetPort:  8080/TCP\n"},
      // Widths count characters, not bytes.
      {"é:\tx\nab:\ty\n", "é:   x\nab:  y\n"},
      {"no newline", "no newline"},
  };
  for (const auto& c : cases) EXPECT_EQ(cli::TabAlign(c.in), c.out) << c.in;
}

TEST(DescribeFormatTest, PodShowsPlacementContainersAndEvents) {
  api::Pod pod = testing::MakePod();
  pod.status.pod_ips = {{"10.1.0.7"}};
  std::string out = cli::DescribePod(
      pod, {Event("BackOff", 1'790'000'500, 5), Event("Pulled", 1'790'000'100)}, Options());
  ExpectLines(out, {
                       "Name:         web-1",
                       "Namespace:    default",
                       "Node:         node-1/10.0.0.1",
                       "Start Time:   Mon, 21 Sep 2026 14:13:21 +0000",
                       "Labels:       app=web",
                       "              tier=front",
                       "Annotations:  korc.io/note: hello \"world\"",
                       "Status:       Running",
                       "IP:           10.1.0.7",
                       // "IPs:" has no tab, so it ends the column: what follows is
                       // aligned on its own, exactly as kubectl prints it.
                       "IPs:",
                       "  IP:           10.1.0.7",
                       "Controlled By:  ReplicationController/web",
                       "Containers:",
                       "  app:",
                       "    Image:         busybox:1.36",
                       "    Port:          8080/TCP",
                       "    Host Port:     0/TCP",
                       "    Command:",
                       "      /bin/sh",
                       "    Args:",
                       "      httpd -f -p 8080",
                       "    State:          Running",
                       "      Started:      Mon, 21 Sep 2026 14:13:23 +0000",
                       "    Last State:     Terminated",
                       "      Reason:       Error",
                       "      Exit Code:    1",
                       "    Ready:          True",
                       "    Restart Count:  1",
                       "    Limits:",
                       "      cpu:     1",
                       "      memory:  128Mi",
                       "    Requests:",
                       "      cpu:      500m",
                       "    Liveness:   http-get http://:http/healthz delay=0s timeout=0s "
                       "period=5s #success=0 #failure=0",
                       "    Readiness:  tcp-socket :8080 delay=0s timeout=0s period=0s "
                       "#success=0 #failure=0",
                       "    Environment:",
                       "      MYSQL_ROOT_PASSWORD:  123456",
                       "    Mounts:",
                       "      /data from data (rw)",
                       "  sidecar:",
                       "    Port:       9090/TCP",
                       "Conditions:",
                       "  Type    Status",
                       "  Ready   True ",
                       "Volumes:",
                       "  data:",
                       "    Type:        EmptyDir (a temporary directory that shares a pod's "
                       "lifetime)",
                       "    SizeLimit:   <unset>",
                       "QoS Class:       Burstable",
                       "Node-Selectors:  disk=ssd",
                       "Tolerations:     dedicated=db:NoSchedule",
                       "Events:",
                       "  Type    Reason   Age                 From                    Message",
                       "  ----    ------   ----                ----                    -------",
                       "  Normal  Pulled   10m                 replication-controller  "
                       "Created pod: web-1",
                       "  Normal  BackOff  100s (x5 over 10m)  replication-controller  "
                       "Created pod: web-1",
                   });
  // Oldest last-seen first, as kubectl sorts them.
  EXPECT_LT(out.find("Pulled"), out.find("BackOff"));
  // A pod without a phase yet is Pending; unplaced, it has no node.
  api::Pod fresh;
  fresh.metadata = testing::MakeMeta("fresh");
  fresh.spec.containers = {testing::MakeContainer("c")};
  ExpectLines(cli::DescribePod(fresh, {}, Options()),
              {"Node:         <none>", "Status:       Pending", "Events:          <none>"});
}

TEST(DescribeFormatTest, ReplicationControllerCountsTheMembersItControlsByPhase) {
  api::ReplicationController rc = testing::MakeRc("web", 3);
  auto member = [&](std::string name, std::string phase) {
    api::Pod p = testing::MakePod(std::move(name));
    p.metadata.owner_references[0].uid = rc.metadata.uid;
    p.status.phase = std::move(phase);
    return p;
  };
  api::Pod stranger = testing::MakePod("other");  // matches the selector, controlled by another
  std::vector<api::Pod> pods = {member("a", "Running"), member("b", "Running"),
                                member("c", "Pending"), member("d", "Failed"), stranger};
  std::string out = cli::DescribeReplicationController(rc, pods, {}, Options());
  ExpectLines(out, {
                       "Name:         web",
                       "Namespace:    default",
                       "Selector:     app=web",
                       "Labels:       app=web",
                       "              tier=front",
                       "Replicas:     3 current / 3 desired",
                       "Pods Status:  2 Running / 1 Waiting / 0 Succeeded / 1 Failed",
                       "Pod Template:",
                       "  Labels:  app=web",
                       "  Containers:",
                       "   app:",
                       "    Image:      busybox:1.36",
                       "  Volumes:",
                       "   data:",
                       "Events:         <none>",
                   });
  EXPECT_THAT(out, Not(HasSubstr("Container ID")));  // a template has no status
}

TEST(DescribeFormatTest, ServiceShowsPortsAndTheEndpointsBehindEach) {
  api::Service svc = testing::MakeService();
  svc.spec.ports[1].node_port = 30090;
  api::Endpoints ep = testing::MakeEndpoints();
  std::string out = cli::DescribeService(svc, &ep, {}, Options());
  ExpectLines(out, {
                       "Name:              web",
                       "Selector:          app=web",
                       "Type:              ClusterIP",
                       "IP:                10.96.0.10",
                       "Port:              http  80/TCP",
                       "TargetPort:        http/TCP",
                       "Endpoints:         10.1.0.7:8080",
                       "Port:              metrics  9090/TCP",
                       "TargetPort:        9090/TCP",
                       "NodePort:          metrics  30090/TCP",
                       "Session Affinity:  ClientIP",
                       "Events:            <none>",
                   });
  ExpectLines(cli::DescribeService(svc, nullptr, {}, Options()), {"Endpoints:         <none>"});
  // More than three addresses: the first three and a count.
  api::EndpointSubset& s = ep.subsets[0];
  s.addresses = {{"10.1.0.1"}, {"10.1.0.2"}, {"10.1.0.3"}, {"10.1.0.4"}, {"10.1.0.5"}};
  ExpectLines(cli::DescribeService(svc, &ep, {}, Options()),
              {"Endpoints:         10.1.0.1:8080,10.1.0.2:8080,10.1.0.3:8080 + 2 more..."});
}

TEST(DescribeFormatTest, NodeShowsConditionsCapacityAndItsPods) {
  api::Node node = testing::MakeNode();
  node.metadata.labels["node-role.kubernetes.io/worker"] = "";
  std::string out = cli::DescribeNode(node, {testing::MakePod()}, {}, Options());
  ExpectLines(out, {
                       "Name:               node-1",
                       "Roles:              worker",
                       "CreationTimestamp:  Mon, 21 Sep 2026 14:13:20 +0000",
                       "Taints:             dedicated=db:NoSchedule",
                       "Unschedulable:      false",
                       "Conditions:",
                       "  Type    Status  LastHeartbeatTime                 LastTransitionTime    "
                       "            Reason         Message",
                       "  Ready   True    Mon, 21 Sep 2026 14:13:20 +0000   Mon, 01 Jan 0001 "
                       "00:00:00 +0000   KubeletReady   ok",
                       "Addresses:",
                       "  InternalIP:  10.0.0.1",
                       "Capacity:",
                       "  cpu:     2",
                       "  memory:  24Gi",
                       "  pods:    110",
                       "System Info:",
                       "  Kubelet Version:            v1.29.0-korc",
                       "PodCIDR:                      10.1.0.0/24",
                       "Non-terminated Pods:          (1 in total)",
                       "  default                     web-1    1 (50%)       2 (100%)    "
                       "128Mi (0%)       256Mi (1%)     10m",
                       "  cpu       1 (50%)     2 (100%)",
                       "  memory    128Mi (0%)  256Mi (1%)",
                   });
}

TEST(DescribeFormatTest, EveryKindEndsWithItsEvents) {
  std::vector<api::KubeEvent> events = {Event("SuccessfulCreate", 1'790'000'500)};
  cli::Related related;
  related.events = events;
  for (const api::Object& o :
       {api::Object(testing::MakePod()), api::Object(testing::MakeRc()),
        api::Object(testing::MakeService()), api::Object(testing::MakeEndpoints()),
        api::Object(testing::MakeNode()), api::Object(testing::MakeNamespace()),
        api::Object(testing::MakeKubeEvent())}) {
    std::string out = cli::DescribeObject(o, related, Options());
    auto lines = Lines(out);
    ASSERT_GE(lines.size(), 4u) << out;
    EXPECT_EQ(lines[lines.size() - 4], "Events:") << out;
    EXPECT_EQ(lines.back(),
              "  Normal  SuccessfulCreate  10m   replication-controller  Created pod: web-1")
        << out;
  }
}

TEST(DescribeFormatTest, QosClassFollowsRequestsAndLimits) {
  struct Case {
    std::string requests_cpu, limits_cpu, limits_memory, expected;
  } cases[] = {
      {"", "", "", "BestEffort"},      {"100m", "", "", "Burstable"},
      {"", "1", "1Gi", "Guaranteed"},  // requests default to limits
      {"1", "1", "1Gi", "Guaranteed"}, {"500m", "1", "1Gi", "Burstable"},
      {"", "1", "", "Burstable"},
  };
  for (const auto& c : cases) {
    api::PodSpec spec;
    api::Container container;
    auto set = [](api::ResourceList& l, const char* name, const std::string& v) {
      if (!v.empty()) l[name] = *Quantity::Parse(v);
    };
    set(container.resources.requests, "cpu", c.requests_cpu);
    set(container.resources.limits, "cpu", c.limits_cpu);
    set(container.resources.limits, "memory", c.limits_memory);
    spec.containers = {container};
    EXPECT_EQ(cli::PodQosClass(spec), c.expected)
        << c.requests_cpu << " " << c.limits_cpu << " " << c.limits_memory;
  }
}

TEST(DescribeFormatTest, LongAndMultilineAnnotationsAndLastAppliedConfig) {
  api::Namespace ns = testing::MakeNamespace();
  ns.metadata.annotations = {
      {"kubectl.kubernetes.io/last-applied-configuration", "{\"big\": true}"},
      {"multi", "one\ntwo"},
      {"short", "v"},
  };
  std::string out = cli::DescribeNamespace(ns, {}, Options());
  ExpectLines(out, {"Annotations:  multi:", "                one", "                two",
                    "              short: v"});
  EXPECT_THAT(out, Not(HasSubstr("last-applied")));
}

// kubectl's Secret describer: sizes, never values, and no Events section.
TEST(DescribeFormatTest, SecretShowsKeySizesNeverValues) {
  api::Secret s = testing::MakeSecret();
  s.metadata.annotations = {{"kubectl.kubernetes.io/last-applied-configuration", "{}"}};
  cli::Related related;
  related.events = {Event("Whatever", 1'790'000'500)};
  std::string out = cli::DescribeObject(s, related, Options());
  ExpectLines(out, {"Name:         regcred", "Namespace:    default",
                    "Type:  kubernetes.io/dockerconfigjson", "Data",
                    "====", ".dockerconfigjson:  79 bytes", "binary:             5 bytes"});
  EXPECT_THAT(out, Not(HasSubstr("registry.local")));
  EXPECT_THAT(out, Not(HasSubstr("Events")));
  EXPECT_THAT(out, Not(HasSubstr("last-applied")));
}

// ---------------------------------------------------------------------------------------
// End to end: `korc describe` against a `korc apiserver`.

// Runs of spaces as one, so checks do not depend on column widths.
std::string Squeeze(const std::string& text) {
  return std::regex_replace(text, std::regex(" +"), " ");
}

class DescribeCommandTest : public ::testing::Test, public e2e::ServerFixture {
 protected:
  void SetUp() override { StartServer("korc-describe"); }
  void TearDown() override { StopServer(); }

  e2e::Outcome Korc(std::vector<std::string> args) {
    args.insert(args.begin(), KORC_BIN);
    return e2e::RunCommand(args, e2e::ChildEnv({"KORC_SERVER=" + server_.url()}, {"KUBECONFIG"}),
                           std::chrono::seconds(60));
  }
  std::string Ok(std::vector<std::string> args) {
    e2e::Outcome o = Korc(args);
    EXPECT_EQ(o.code, 0) << o;
    return o.out;
  }
  std::string Uid(const std::string& kind, const std::string& name) {
    json j = json::parse(Ok({"get", kind, name, "-o", "json"}), nullptr, false);
    return j.is_object() ? j["metadata"].value("uid", "") : "";
  }
};

TEST_F(DescribeCommandTest, RcAndItsPodWithEvents) {
  Ok({"apply", "-f", Write("rc.yaml", R"(apiVersion: v1
kind: ReplicationController
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
        env: [{name: GREETING, value: hello}]
)")});
  const std::string rc_uid = Uid("rc", "web");
  ASSERT_FALSE(rc_uid.empty());
  Ok({"apply", "-f",
      Write("pod.yaml", R"(apiVersion: v1
kind: Pod
metadata:
  name: web-x7k2q
  labels: {app: web}
  ownerReferences:
  - {apiVersion: v1, kind: ReplicationController, name: web, uid: )" +
                            rc_uid +
                            R"(, controller: true}
spec:
  containers:
  - name: nginx
    image: nginx:1.25
    ports: [{containerPort: 80}]
)")});
  const std::string pod_uid = Uid("pod", "web-x7k2q");
  ASSERT_FALSE(pod_uid.empty());
  Ok({"create", "-f",
      Write("event.yaml", R"(apiVersion: v1
kind: Event
metadata: {name: web-x7k2q.1, namespace: default}
involvedObject: {kind: Pod, namespace: default, name: web-x7k2q, uid: )" +
                              pod_uid +
                              R"(, apiVersion: v1}
reason: Scheduled
message: Successfully assigned default/web-x7k2q to node-1
source: {component: default-scheduler}
type: Normal
count: 1
firstTimestamp: "2026-01-02T03:04:05Z"
lastTimestamp: "2026-01-02T03:04:05Z"
)")});

  std::string rc = Squeeze(Ok({"describe", "rc", "web"}));
  for (const char* line :
       {"Name: web\n", "Namespace: default\n", "Selector: app=web\n",
        "Replicas: 0 current / 2 desired\n",
        "Pods Status: 0 Running / 1 Waiting / 0 Succeeded / 0 Failed\n", "Pod Template:\n",
        " Labels: app=web\n", " Containers:\n", " nginx:\n", " Image: nginx:1.25\n",
        " Port: 80/TCP\n", " GREETING: hello\n", "Events: <none>\n"}) {
    EXPECT_THAT(rc, HasSubstr(line)) << rc;
  }
  EXPECT_THAT(rc, Not(HasSubstr("Scheduled")));  // the pod's event is not the RC's

  std::string pod = Squeeze(Ok({"describe", "pod", "web-x7k2q"}));
  for (const char* line : {"Name: web-x7k2q\n", "Node: <none>\n", "Status: Pending\n",
                           "Controlled By: ReplicationController/web\n", "Containers:\n",
                           " nginx:\n", " Image: nginx:1.25\n", "QoS Class: BestEffort\n",
                           "Events:\n", " Type Reason Age From Message\n", " Normal Scheduled ",
                           " default-scheduler Successfully assigned default/web-x7k2q to "
                           "node-1\n"}) {
    EXPECT_THAT(pod, HasSubstr(line)) << pod;
  }

  // A name that matches nothing describes the objects whose names start with it.
  EXPECT_THAT(Ok({"describe", "pods", "web"}), HasSubstr("web-x7k2q"));
  // Without a name: every object (that -l selects).
  EXPECT_THAT(Ok({"describe", "pods", "-l", "app=web"}), HasSubstr("Name:"));
  e2e::Outcome none = Korc({"describe", "pods", "-l", "app=nope"});
  EXPECT_EQ(none.code, 0) << none;
  EXPECT_THAT(none.out, HasSubstr("No resources found in default namespace."));
  EXPECT_THAT(Ok({"describe", "rc/web"}), HasSubstr("Replicas:"));
  EXPECT_THAT(Squeeze(Ok({"describe", "ns", "default"})), HasSubstr("Status: Active\n"));
}

// What the CLI prints of a Secret, whichever verb: its keys and sizes, never its values. (The
// API itself returns them, base64, as Kubernetes does.)
TEST_F(DescribeCommandTest, SecretValuesNeverShowInTheCli) {
  const std::string value = "hunter2-value";  // 13 bytes
  const std::string base64 = "aHVudGVyMi12YWx1ZQ==";
  Ok({"apply", "-f", Write("secret.yaml", R"(apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {password: )" + value + R"(}
data: {user: YWRtaW4=}
)")});
  std::vector<std::string> outputs = {
      Ok({"get", "secrets"}),
      Ok({"get", "secret", "db", "-o", "yaml"}),
      Ok({"get", "secret", "db", "-o", "json"}),
      Ok({"get", "secrets", "-o", "json"}),
      Ok({"get", "secrets", "-A", "-o", "yaml"}),
      Ok({"describe", "secret", "db"}),
      Ok({"events", "-o", "json"}),
      Ok({"events"}),
  };
  for (const auto& out : outputs) {
    EXPECT_THAT(out, Not(HasSubstr(value))) << out;
    EXPECT_THAT(out, Not(HasSubstr(base64))) << out;
    EXPECT_THAT(out, Not(HasSubstr("YWRtaW4="))) << out;
  }
  EXPECT_THAT(Squeeze(outputs[0]), HasSubstr("db Opaque 2 "));
  EXPECT_THAT(outputs[1], HasSubstr("password: \"<13 bytes>\""));
  EXPECT_THAT(outputs[1], HasSubstr("user: \"<5 bytes>\""));
  EXPECT_EQ(json::parse(outputs[2])["data"]["password"], "<13 bytes>");
  EXPECT_EQ(json::parse(outputs[3])["items"][0]["data"]["user"], "<5 bytes>");
  EXPECT_THAT(Squeeze(outputs[5]), HasSubstr("password: 13 bytes\n"));
  EXPECT_THAT(Squeeze(outputs[5]), HasSubstr("Type: Opaque\n"));
}

TEST_F(DescribeCommandTest, MissingObjectAndUnknownKind) {
  e2e::Outcome missing = Korc({"describe", "pods", "nope"});
  EXPECT_EQ(missing.code, 1) << missing;
  EXPECT_THAT(missing.out, HasSubstr("Error from server (NotFound): pods \"nope\" not found"));
  e2e::Outcome kind = Korc({"describe", "deployments", "web"});
  EXPECT_EQ(kind.code, 1) << kind;
  EXPECT_THAT(kind.out, HasSubstr("doesn't have a resource type \"deployments\""));
  e2e::Outcome usage = Korc({"describe"});
  EXPECT_EQ(usage.code, 2) << usage;
}

}  // namespace
}  // namespace korc
