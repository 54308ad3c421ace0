// The real kubectl against a real `korc apiserver`: every test runs once with kubectl 1.20
// (Debian's kubernetes-client, unpacked by scripts/setup) and once with the newest kubectl
// on the machine, and asserts what both print. There is no controller manager yet, so an
// RC creates no Pods and Pods stay Pending: these tests check only what the API server does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "tests/e2e/harness.h"

namespace korc::e2e {
namespace {

using json = nlohmann::json;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;

constexpr auto kTimeout = std::chrono::seconds(60);  // per kubectl run

// /work/shared/kubectl/pod.yaml, the manifest the client measurements used.
constexpr const char* kPod = R"(apiVersion: v1
kind: Pod
metadata:
  name: busy
  labels: {app: busy}
spec:
  containers:
  - name: c
    image: busybox
)";

constexpr const char* kNode = R"(apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {kubernetes.io/hostname: node-1}
)";

std::string Event(const std::string& name, const std::string& uid, const std::string& message) {
  return "apiVersion: v1\nkind: Event\nmetadata: {name: " + name +
         "}\ninvolvedObject: {kind: Pod, name: busy, namespace: default, uid: \"" + uid +
         "\"}\nreason: Scheduled\ntype: Normal\nmessage: " + message + "\n";
}

constexpr const char* kBadReplicas = R"(apiVersion: v1
kind: ReplicationController
metadata: {name: bad}
spec:
  replicas: -1
  selector: {app: bad}
  template:
    metadata: {labels: {app: bad}}
    spec:
      containers: [{name: c, image: i}]
)";

constexpr const char* kNoImage = R"(apiVersion: v1
kind: Pod
metadata: {name: noimage}
spec:
  containers: [{name: c}]
)";

// The string at a JSON pointer ("/metadata/uid"), or "" when absent or not a string.
std::string Str(const json& j, const std::string& pointer) {
  json::json_pointer p(pointer);
  return j.contains(p) && j.at(p).is_string() ? j.at(p).get<std::string>() : "";
}

// The last word of the table row that starts with `name` (the LABELS column of
// --show-labels), or "" when there is no such row.
std::string LastWord(const std::string& table, const std::string& name) {
  auto row = RowStartingWith(table, {name});
  return row.empty() ? "" : row.back();
}

// The integer at a JSON pointer, or nullopt when absent or not an integer.
std::optional<int64_t> Int(const json& j, const std::string& pointer) {
  json::json_pointer p(pointer);
  if (!j.contains(p) || !j.at(p).is_number_integer()) return std::nullopt;
  return j.at(p).get<int64_t>();
}

// Standard base64, as the API returns a Secret's data.
std::string Base64Decode(const std::string& text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int n = 0;
  for (char c : text) {
    auto v = kAlphabet.find(c);
    if (v == std::string::npos) continue;  // padding
    bits = bits << 6 | static_cast<uint32_t>(v);
    n += 6;
    if (n >= 8) {
      n -= 8;
      out += static_cast<char>((bits >> n) & 0xff);
    }
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The kubectl a test parameter names, or "" when it is not on this machine.
std::string KubectlFor(const std::string& which, std::string* looked_at) {
  if (which == "v1_20") {
    const char* env = getenv("KORC_KUBECTL_1_20");
    std::string path = env != nullptr ? env : KORC_KUBECTL_1_20_DEFAULT;
    *looked_at =
        path + " (KORC_KUBECTL_1_20; scripts/setup unpacks Debian's kubernetes-client there)";
    return IsExecutable(path) ? path : "";
  }
  if (const char* env = getenv("KORC_KUBECTL_NEWEST")) {
    *looked_at = std::string(env) + " (KORC_KUBECTL_NEWEST)";
    return IsExecutable(env) ? env : "";
  }
  const std::string dir = "/usr/lib/google-cloud-sdk/bin";
  *looked_at = dir + "/kubectl.1.NN";
  if (IsExecutable(dir + "/kubectl.1.33")) return dir + "/kubectl.1.33";
  std::string best;
  int best_minor = -1;
  std::error_code ec;
  static const std::regex kName(R"(kubectl\.1\.([0-9]+))");
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::smatch m;
    std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, kName) && std::stoi(m[1]) > best_minor &&
        IsExecutable(entry.path().string())) {
      best_minor = std::stoi(m[1]);
      best = entry.path().string();
    }
  }
  return best;
}

class KubectlTest : public ::testing::TestWithParam<std::string>, public ServerFixture {
 protected:
  void SetUp() override {
    std::string looked_at;
    kubectl_ = KubectlFor(GetParam(), &looked_at);
    KORC_E2E_REQUIRE(!kubectl_.empty(), "no kubectl at " + looked_at);
    StartServer("korc-e2e-kubectl");
  }
  void TearDown() override { StopServer(); }

  // kubectl with a fresh HOME and discovery cache for this test, pointed at the server.
  std::vector<std::string> Argv(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {kubectl_, "--server", server_.url(), "--cache-dir",
                                     dir_ + "/kube-cache"};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  std::vector<std::string> Env() const {
    return ChildEnv({"HOME=" + dir_ + "/home"}, {"KUBECONFIG"});
  }
  Outcome Kubectl(const std::vector<std::string>& args, bool separate_stderr = false) const {
    return RunCommand(Argv(args), Env(), kTimeout, separate_stderr);
  }
  // Runs kubectl and requires exit 0; returns its output.
  std::string Ok(const std::vector<std::string>& args) const {
    Outcome r = Kubectl(args);
    EXPECT_EQ(r.code, 0) << "kubectl " << ::testing::PrintToString(args) << ": " << r;
    return r.out;
  }
  json Json(const std::vector<std::string>& args) const {
    std::vector<std::string> a = args;
    a.insert(a.end(), {"-o", "json"});
    // stderr apart: newer kubectl warns there about the version skew.
    Outcome r = Kubectl(a, /*separate_stderr=*/true);
    EXPECT_EQ(r.code, 0) << r;
    json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r;
    // An empty object lets the caller's expectations fail one by one instead of throwing.
    return j.is_discarded() ? json::object() : j;
  }

  std::string Seed() const { return KORC_SOURCE "/examples/seed.yaml"; }
  // The seed with 2 replicas of mysql:8 instead of 1 of mysql.
  std::string ChangedSeed() {
    std::string text = ReadFile(Seed());
    size_t r = text.find("replicas: 1 ");
    size_t i = text.find("image: mysql\n");
    EXPECT_NE(r, std::string::npos) << "the seed changed; update this test";
    EXPECT_NE(i, std::string::npos) << "the seed changed; update this test";
    if (r != std::string::npos) text.replace(r, 12, "replicas: 2 ");
    if (i != std::string::npos) text.replace(i, 13, "image: mysql:8\n");
    return Write("seed-changed.yaml", text);
  }

  std::string kubectl_;
};

TEST_P(KubectlTest, VersionShowsClientAndServer) {
  std::string out = Ok({"version"});
  EXPECT_THAT(out, HasSubstr("Client Version:"));
  EXPECT_THAT(out, HasSubstr("Server Version:"));
  EXPECT_THAT(out, HasSubstr("korc"));
  if (GetParam() == "v1_20") {
    EXPECT_THAT(out, HasSubstr("v1.20."));
  }

  json j = Json({"version"});
  EXPECT_EQ(Str(j, "/serverVersion/major"), "1") << j.dump();
  EXPECT_FALSE(Str(j, "/serverVersion/minor").empty()) << j.dump();
  EXPECT_THAT(Str(j, "/serverVersion/gitVersion"), HasSubstr("korc"));
  EXPECT_EQ(Str(j, "/serverVersion/platform"), "linux/amd64") << j.dump();
}

TEST_P(KubectlTest, ApiResourcesListsShortNames) {
  std::string out = Ok({"api-resources"});
  auto rows = Rows(out);
  EXPECT_THAT(
      rows, IsSupersetOf({
                ElementsAre("pods", "po", "v1", "true", "Pod"),
                ElementsAre("replicationcontrollers", "rc", "v1", "true", "ReplicationController"),
                ElementsAre("services", "svc", "v1", "true", "Service"),
                ElementsAre("endpoints", "ep", "v1", "true", "Endpoints"),
                ElementsAre("nodes", "no", "v1", "false", "Node"),
                ElementsAre("namespaces", "ns", "v1", "false", "Namespace"),
                ElementsAre("events", "ev", "v1", "true", "Event"),
            }))
      << out;
}

TEST_P(KubectlTest, ApplyCreatesThenConfigures) {
  std::string first = Ok({"apply", "-f", Seed()});
  EXPECT_THAT(first, HasSubstr("replicationcontroller/mysql created"));
  EXPECT_THAT(first, HasSubstr("service/mysql created"));
  json rc = Json({"get", "rc", "mysql"});
  EXPECT_EQ(Int(rc, "/spec/replicas"), 1);
  EXPECT_THAT(Str(rc, "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"),
              HasSubstr("\"replicas\":1"))
      << rc.dump();

  std::string changed = ChangedSeed();
  std::string second = Ok({"apply", "-f", changed});
  EXPECT_THAT(second, HasSubstr("replicationcontroller/mysql configured"));
  EXPECT_THAT(second, HasSubstr("service/mysql unchanged"));
  rc = Json({"get", "rc", "mysql"});
  EXPECT_EQ(Int(rc, "/spec/replicas"), 2) << rc.dump();
  json c = rc.value("/spec/template/spec/containers/0"_json_pointer, json::object());
  EXPECT_EQ(Str(c, "/image"), "mysql:8") << rc.dump();
  // The strategic merge patch kept what it did not mention.
  EXPECT_EQ(Str(c, "/env/0/name"), "MYSQL_ROOT_PASSWORD") << rc.dump();
  EXPECT_EQ(Int(c, "/ports/0/containerPort"), 3306) << rc.dump();
  EXPECT_EQ(Int(rc, "/metadata/generation"), 2) << rc.dump();

  std::string third = Ok({"apply", "-f", changed});
  EXPECT_THAT(third, HasSubstr("replicationcontroller/mysql unchanged"));
}

TEST_P(KubectlTest, CreateOfAnExistingObjectIsAlreadyExists) {
  Ok({"apply", "-f", Seed()});
  Outcome r = Kubectl({"create", "-f", Seed()});
  EXPECT_EQ(r.code, 1) << r;
  EXPECT_THAT(r.out, HasSubstr("Error from server (AlreadyExists)"));
  EXPECT_THAT(r.out, HasSubstr("replicationcontrollers \"mysql\" already exists"));
  EXPECT_THAT(r.out, HasSubstr("services \"mysql\" already exists"));
}

TEST_P(KubectlTest, GetWideShowsEveryKindsColumns) {
  Ok({"apply", "-f", Seed()});
  Ok({"create", "-f", Write("pod.yaml", kPod)});
  Ok({"create", "-f", Write("node.yaml", kNode)});
  Ok({"create", "-f", Write("event.yaml", Event("busy.1", "u1", "assigned busy to node-1"))});

  std::string pods = Ok({"get", "pods", "-o", "wide"});
  EXPECT_THAT(Rows(pods), Contains(ElementsAre("NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP",
                                               "NODE", "NOMINATED", "NODE", "READINESS", "GATES")))
      << pods;
  auto busy = RowStartingWith(pods, {"busy"});
  ASSERT_GE(busy.size(), 4u) << pods;
  EXPECT_EQ(busy[1], "0/1");
  EXPECT_EQ(busy[2], "Pending");
  EXPECT_EQ(busy[3], "0");

  std::string rcs = Ok({"get", "rc", "-o", "wide"});
  EXPECT_THAT(Rows(rcs), Contains(ElementsAre("NAME", "DESIRED", "CURRENT", "READY", "AGE",
                                              "CONTAINERS", "IMAGES", "SELECTOR")))
      << rcs;
  auto mysql = RowStartingWith(rcs, {"mysql", "1", "0", "0"});
  ASSERT_EQ(mysql.size(), 8u) << rcs;
  EXPECT_THAT(std::vector<std::string>(mysql.begin() + 5, mysql.end()),
              ElementsAre("mysql", "mysql", "app=mysql"));

  std::string svcs = Ok({"get", "svc", "-o", "wide"});
  EXPECT_THAT(Rows(svcs), Contains(ElementsAre("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP",
                                               "PORT(S)", "AGE", "SELECTOR")))
      << svcs;
  auto svc = RowStartingWith(svcs, {"mysql", "ClusterIP"});
  ASSERT_EQ(svc.size(), 7u) << svcs;
  EXPECT_EQ(svc[4], "3306/TCP");
  EXPECT_EQ(svc[6], "app=mysql");

  std::string nodes = Ok({"get", "nodes", "-o", "wide"});
  EXPECT_THAT(nodes, HasSubstr("INTERNAL-IP"));
  EXPECT_THAT(nodes, HasSubstr("CONTAINER-RUNTIME"));
  EXPECT_THAT(RowStartingWith(nodes, {"node-1"}), Not(::testing::IsEmpty())) << nodes;

  std::string events = Ok({"get", "events", "-o", "wide"});
  EXPECT_THAT(events, AllOf(HasSubstr("REASON"), HasSubstr("OBJECT"), HasSubstr("MESSAGE")));
  EXPECT_THAT(events, AllOf(HasSubstr("Scheduled"), HasSubstr("pod/busy"),
                            HasSubstr("assigned busy to node-1"), HasSubstr("busy.1")));

  std::string ns = Ok({"get", "ns", "-o", "wide"});
  EXPECT_THAT(Rows(ns), Contains(ElementsAre("NAME", "STATUS", "AGE"))) << ns;
  EXPECT_THAT(RowStartingWith(ns, {"default", "Active"}), Not(::testing::IsEmpty())) << ns;
}

TEST_P(KubectlTest, GetJsonParses) {
  Ok({"apply", "-f", Seed()});
  Ok({"create", "-f", Write("pod.yaml", kPod)});
  Ok({"create", "-f", Write("node.yaml", kNode)});

  json list = Json({"get", "pods,rc,svc"});
  EXPECT_EQ(Str(list, "/kind"), "List") << list.dump();
  std::set<std::string> kinds;
  for (const auto& item : list["items"]) {
    kinds.insert(Str(item, "/kind") + "/" + Str(item, "/metadata/name"));
    EXPECT_EQ(Str(item, "/apiVersion"), "v1");
  }
  EXPECT_EQ(kinds,
            (std::set<std::string>{"Pod/busy", "ReplicationController/mysql", "Service/mysql"}));

  json pod = Json({"get", "pod", "busy"});
  EXPECT_EQ(Str(pod, "/kind"), "Pod");
  EXPECT_EQ(Str(pod, "/status/phase"), "Pending") << pod.dump();
  EXPECT_FALSE(Str(pod, "/metadata/uid").empty()) << pod.dump();

  json ns = Json({"get", "ns"});
  std::set<std::string> names;
  for (const auto& item : ns["items"]) names.insert(Str(item, "/metadata/name"));
  EXPECT_TRUE(names.count("default")) << ns.dump();

  json nodes = Json({"get", "nodes"});
  ASSERT_EQ(nodes["items"].size(), 1u) << nodes.dump();
  EXPECT_EQ(Str(nodes, "/items/0/metadata/name"), "node-1");
  json events = Json({"get", "events"});
  EXPECT_TRUE(events["items"].is_array()) << events.dump();
}

TEST_P(KubectlTest, GetWithLabelSelector) {
  Ok({"apply", "-f", Seed()});
  Ok({"create", "-f", Write("pod.yaml", kPod)});

  std::string mysql = Ok({"get", "pods,rc", "-l", "app=mysql"});
  EXPECT_THAT(mysql, HasSubstr("replicationcontroller/mysql"));
  EXPECT_THAT(mysql, Not(HasSubstr("busy")));

  std::string busy = Ok({"get", "pods", "-l", "app=busy"});
  EXPECT_THAT(RowStartingWith(busy, {"busy", "0/1", "Pending"}), Not(::testing::IsEmpty())) << busy;

  std::string none = Ok({"get", "pods", "-l", "app=nothing"});
  EXPECT_THAT(none, HasSubstr("No resources found"));
  std::string notin = Ok({"get", "pods", "-l", "app notin (busy)"});
  EXPECT_THAT(notin, HasSubstr("No resources found"));
}

TEST_P(KubectlTest, GetAcrossNamespacesAndCategoryAll) {
  Ok({"apply", "-f", Seed()});
  std::string pod = Write("pod.yaml", kPod);
  Ok({"create", "-f", pod});
  Ok({"create", "-f",
      Write("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n")});
  Ok({"-n", "other", "create", "-f", pod});

  std::string all = Ok({"get", "pods", "-A"});
  EXPECT_THAT(Rows(all),
              Contains(ElementsAre("NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE")))
      << all;
  EXPECT_THAT(RowStartingWith(all, {"default", "busy", "0/1", "Pending"}),
              Not(::testing::IsEmpty()))
      << all;
  EXPECT_THAT(RowStartingWith(all, {"other", "busy", "0/1", "Pending"}), Not(::testing::IsEmpty()))
      << all;
  std::string only_other = Ok({"-n", "other", "get", "pods"});
  EXPECT_EQ(Rows(only_other).size(), 2u) << only_other;

  std::string category = Ok({"get", "all"});
  EXPECT_THAT(category, AllOf(HasSubstr("pod/busy"), HasSubstr("replicationcontroller/mysql"),
                              HasSubstr("service/mysql")));
}

// `create namespace` goes through kubectl's typed client, which from kubectl 1.32 on sends
// the body as protobuf (Content-Type: application/vnd.kubernetes.protobuf); 1.20 sends JSON
// with no Content-Type.
TEST_P(KubectlTest, CreateNamespaceCommand) {
  Outcome r = Kubectl({"create", "namespace", "other"});
  ASSERT_EQ(r.code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("namespace/other created"));
  json ns = Json({"get", "ns", "other"});
  EXPECT_EQ(Str(ns, "/status/phase"), "Active") << ns.dump();
  Ok({"-n", "other", "create", "-f", Write("pod.yaml", kPod)});
  EXPECT_THAT(RowStartingWith(Ok({"-n", "other", "get", "pods"}), {"busy"}),
              Not(::testing::IsEmpty()));
}

// A kind outside the core group: kubectl finds leases through /apis discovery.
TEST_P(KubectlTest, NodeLeasesInTheCoordinationGroup) {
  std::string out = Ok({"create", "-f", Write("lease.yaml", R"(apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: node-1
  namespace: kube-node-lease
spec:
  holderIdentity: node-1
  leaseDurationSeconds: 40
  renewTime: "2026-11-28T06:00:00.123456Z"
)")});
  EXPECT_THAT(out, HasSubstr("lease.coordination.k8s.io/node-1 created"));
  std::string table = Ok({"get", "leases", "-n", "kube-node-lease"});
  EXPECT_THAT(Rows(table).at(0), ElementsAre("NAME", "HOLDER", "AGE")) << table;
  EXPECT_THAT(RowStartingWith(table, {"node-1", "node-1"}), Not(::testing::IsEmpty())) << table;
  json lease = Json({"get", "lease", "node-1", "-n", "kube-node-lease"});
  EXPECT_EQ(Str(lease, "/apiVersion"), "coordination.k8s.io/v1") << lease.dump();
  EXPECT_EQ(Str(lease, "/spec/renewTime"), "2026-11-28T06:00:00.123456Z") << lease.dump();
  EXPECT_THAT(Ok({"delete", "lease", "node-1", "-n", "kube-node-lease"}),
              HasSubstr("lease.coordination.k8s.io \"node-1\" deleted"));
}

TEST_P(KubectlTest, WatchPrintsAChangeMadeWhileItRuns) {
  Ok({"apply", "-f", Seed()});
  Child watch;
  // --request-timeout bounds the watch should the test fail to stop it.
  ASSERT_EQ(watch.Start(Argv({"get", "rc", "-w", "--request-timeout=90s"}), Env()), "");
  auto row_with = [](const std::string& desired) {
    return [desired](const std::string& out) {
      return !RowStartingWith(out, {"mysql", desired}).empty();
    };
  };
  // kubectl lists (and prints) first, then watches from the list's resourceVersion, so a
  // change made after the first row appears is one the watch must report.
  ASSERT_TRUE(watch.WaitForOutput(row_with("1"), Clock::now() + kTimeout)) << watch.output();
  Ok({"scale", "rc", "mysql", "--replicas=4"});
  bool seen = watch.WaitForOutput(row_with("4"), Clock::now() + kTimeout);
  std::string out = watch.output();
  watch.Terminate(Clock::now() + 10s);
  EXPECT_TRUE(seen) << "the watch did not print the scaled RC:\n" << out;
  EXPECT_THAT(Rows(out), Contains(ElementsAre("NAME", "DESIRED", "CURRENT", "READY", "AGE")))
      << out;
}

TEST_P(KubectlTest, DescribePodShowsItsEvents) {
  Ok({"create", "-f", Write("pod.yaml", kPod)});
  Outcome uid = Kubectl({"get", "pod", "busy", "-o", "jsonpath={.metadata.uid}"},
                        /*separate_stderr=*/true);
  ASSERT_EQ(uid.code, 0) << uid;
  ASSERT_FALSE(uid.out.empty());
  Ok({"create", "-f", Write("event.yaml", Event("busy.1", uid.out, "assigned busy to node-1"))});
  // An event about an earlier Pod of the same name: describe selects by uid, so not shown.
  Ok({"create", "-f", Write("stale.yaml", Event("busy.0", "not-" + uid.out, "stale event"))});

  std::string out = Ok({"describe", "pod", "busy"});
  EXPECT_THAT(RowStartingWith(out, {"Name:", "busy"}), Not(::testing::IsEmpty())) << out;
  EXPECT_THAT(RowStartingWith(out, {"Namespace:", "default"}), Not(::testing::IsEmpty())) << out;
  EXPECT_THAT(RowStartingWith(out, {"Status:", "Pending"}), Not(::testing::IsEmpty())) << out;
  EXPECT_THAT(RowStartingWith(out, {"Labels:", "app=busy"}), Not(::testing::IsEmpty())) << out;
  EXPECT_THAT(RowStartingWith(out, {"Image:", "busybox"}), Not(::testing::IsEmpty())) << out;
  EXPECT_THAT(out, HasSubstr("assigned busy to node-1"));
  auto event = RowStartingWith(out, {"Normal", "Scheduled"});
  EXPECT_THAT(event, Not(::testing::IsEmpty())) << out;
  EXPECT_THAT(out, Not(HasSubstr("stale event")));
}

TEST_P(KubectlTest, ScaleRc) {
  Ok({"apply", "-f", Seed()});
  EXPECT_THAT(Ok({"scale", "rc", "mysql", "--replicas=3"}),
              HasSubstr("replicationcontroller/mysql scaled"));
  json rc = Json({"get", "rc", "mysql"});
  EXPECT_EQ(Int(rc, "/spec/replicas"), 3) << rc.dump();
  std::string table = Ok({"get", "rc", "mysql"});
  EXPECT_THAT(RowStartingWith(table, {"mysql", "3", "0", "0"}), Not(::testing::IsEmpty())) << table;
  // With a precondition kubectl PUTs the Scale; a wrong one is refused.
  EXPECT_THAT(Ok({"scale", "rc", "mysql", "--current-replicas=3", "--replicas=5"}),
              HasSubstr("scaled"));
  EXPECT_EQ(Int(Json({"get", "rc", "mysql"}), "/spec/replicas"), 5);
  Outcome wrong = Kubectl({"scale", "rc", "mysql", "--current-replicas=1", "--replicas=2"});
  EXPECT_NE(wrong.code, 0) << wrong;
  EXPECT_EQ(Int(Json({"get", "rc", "mysql"}), "/spec/replicas"), 5);
}

TEST_P(KubectlTest, LabelRc) {
  Ok({"apply", "-f", Seed()});
  EXPECT_THAT(Ok({"label", "rc", "mysql", "tier=db"}),
              HasSubstr("replicationcontroller/mysql labeled"));
  std::string labels = Ok({"get", "rc", "--show-labels"});
  EXPECT_EQ(LastWord(labels, "mysql"), "app=mysql,tier=db") << labels;
  EXPECT_THAT(Ok({"get", "rc", "-l", "tier=db"}), HasSubstr("mysql"));
  // 1.20 says "labeled" for a removal too, newer kubectl "unlabeled".
  EXPECT_THAT(Ok({"label", "rc", "mysql", "tier-"}), HasSubstr("replicationcontroller/mysql"));
  EXPECT_EQ(LastWord(Ok({"get", "rc", "--show-labels"}), "mysql"), "app=mysql");
  Outcome overwrite = Kubectl({"label", "rc", "mysql", "app=other"});
  EXPECT_NE(overwrite.code, 0) << "label without --overwrite replaced a label: " << overwrite;
}

TEST_P(KubectlTest, DeleteFileRemovesTheObjects) {
  Ok({"apply", "-f", Seed()});
  std::string pod = Write("pod.yaml", kPod);
  Ok({"create", "-f", pod});
  // kubectl waits until the objects are gone; Run's deadline catches a wait that never ends.
  std::string out = Ok({"delete", "-f", Seed()});
  EXPECT_THAT(out, HasSubstr("replicationcontroller \"mysql\" deleted"));
  EXPECT_THAT(out, HasSubstr("service \"mysql\" deleted"));
  Outcome gone = Kubectl({"get", "rc", "mysql"});
  EXPECT_EQ(gone.code, 1) << gone;
  EXPECT_THAT(gone.out, HasSubstr("Error from server (NotFound)"));
  EXPECT_THAT(gone.out, HasSubstr("replicationcontrollers \"mysql\" not found"));
  EXPECT_THAT(Ok({"get", "rc,svc"}), HasSubstr("No resources found"));

  EXPECT_THAT(Ok({"delete", "-f", pod}), HasSubstr("pod \"busy\" deleted"));
  EXPECT_THAT(Ok({"get", "pods"}), HasSubstr("No resources found"));
  Outcome again = Kubectl({"delete", "-f", pod});
  EXPECT_EQ(again.code, 1) << again;
  EXPECT_THAT(again.out, HasSubstr("NotFound"));
}

// `--dry-run=server` sends dryRun=All: the server validates and answers as if it wrote, and
// writes nothing. kubectl 1.20 refuses client-side when the OpenAPI document does not list
// the dryRun parameter; newer kubectl sends it regardless. Either way nothing may change.
TEST_P(KubectlTest, ServerDryRunChangesNothing) {
  std::string pod = Write("pod.yaml", kPod);
  Outcome create = Kubectl({"create", "-f", pod, "--dry-run=server"});
  EXPECT_THAT(Ok({"get", "pods"}), HasSubstr("No resources found")) << create;

  Ok({"apply", "-f", pod});  // apply: the dry run above may have created it after all
  Outcome label = Kubectl({"label", "pod", "busy", "dry=run", "--dry-run=server"});
  std::string labels = Ok({"get", "pods", "--show-labels"});
  EXPECT_EQ(LastWord(labels, "busy"), "app=busy") << label << "\n" << labels;

  Outcome del = Kubectl({"delete", "pod", "busy", "--dry-run=server"});
  EXPECT_THAT(RowStartingWith(Ok({"get", "pods"}), {"busy"}), Not(::testing::IsEmpty())) << del;
}

TEST_P(KubectlTest, InvalidManifestNamesTheField) {
  std::string bad_replicas = Write("bad-replicas.yaml", kBadReplicas);
  std::string no_image = Write("no-image.yaml", kNoImage);
  for (const std::string verb : {"apply", "create"}) {
    Outcome r = Kubectl({verb, "-f", bad_replicas});
    EXPECT_EQ(r.code, 1) << verb << ": " << r;
    EXPECT_THAT(r.out, HasSubstr("The ReplicationController \"bad\" is invalid: spec.replicas: "
                                 "Invalid value: -1"))
        << verb;
    Outcome p = Kubectl({verb, "-f", no_image});
    EXPECT_EQ(p.code, 1) << verb << ": " << p;
    EXPECT_THAT(p.out, HasSubstr("The Pod \"noimage\" is invalid: spec.containers[0].image: "
                                 "Required value"))
        << verb;
  }
  EXPECT_THAT(Ok({"get", "rc,pods"}), HasSubstr("No resources found"));
}

// `kubectl create secret` goes through the typed client (protobuf from kubectl 1.32 on, JSON
// before); get, describe and delete are the generic paths. The API returns data, base64, as
// Kubernetes does; describe shows sizes only.
TEST_P(KubectlTest, SecretsFromTheCreateSecretCommands) {
  std::string out =
      Ok({"create", "secret", "docker-registry", "regcred", "--docker-server=registry.local:5000",
          "--docker-username=u", "--docker-password=p", "--docker-email=u@example.com"});
  EXPECT_THAT(out, HasSubstr("secret/regcred created"));
  out = Ok({"create", "secret", "generic", "db", "--from-literal=user=admin",
            "--from-literal=password=s3cr3t"});
  EXPECT_THAT(out, HasSubstr("secret/db created"));

  std::string table = Ok({"get", "secrets"});
  EXPECT_THAT(Rows(table).at(0), ElementsAre("NAME", "TYPE", "DATA", "AGE")) << table;
  EXPECT_THAT(RowStartingWith(table, {"regcred", "kubernetes.io/dockerconfigjson", "1"}),
              Not(::testing::IsEmpty()))
      << table;
  EXPECT_THAT(RowStartingWith(table, {"db", "Opaque", "2"}), Not(::testing::IsEmpty())) << table;

  json reg = Json({"get", "secret", "regcred"});
  EXPECT_EQ(Str(reg, "/type"), "kubernetes.io/dockerconfigjson") << reg.dump();
  std::string encoded = Str(reg, "/data/.dockerconfigjson");
  ASSERT_FALSE(encoded.empty()) << reg.dump();
  json config = json::parse(Base64Decode(encoded), nullptr, false);
  ASSERT_TRUE(config.is_object()) << encoded;
  EXPECT_EQ(Str(config, "/auths/registry.local:5000/username"), "u") << config.dump();
  EXPECT_EQ(Str(config, "/auths/registry.local:5000/password"), "p") << config.dump();
  EXPECT_EQ(Str(config, "/auths/registry.local:5000/auth"), "dTpw") << config.dump();  // u:p
  json db = Json({"get", "secret", "db"});
  EXPECT_EQ(Str(db, "/data/password"), "czNjcjN0") << db.dump();
  EXPECT_EQ(Str(db, "/data/user"), "YWRtaW4=") << db.dump();

  std::string described = Ok({"describe", "secret", "db"});
  EXPECT_THAT(described, HasSubstr("Type:  Opaque"));
  EXPECT_THAT(described, HasSubstr("password:  6 bytes"));
  EXPECT_THAT(described, Not(HasSubstr("s3cr3t")));

  // Validation errors reach kubectl as Kubernetes words them.
  Outcome bad = Kubectl({"create", "-f", Write("bad-secret.yaml", R"(apiVersion: v1
kind: Secret
metadata: {name: bad}
type: kubernetes.io/dockerconfigjson
data: {.dockerconfigjson: "not base64!"}
)")});
  EXPECT_EQ(bad.code, 1) << bad;
  EXPECT_THAT(bad.out, HasSubstr("The Secret \"bad\" is invalid: data[.dockerconfigjson]: "
                                 "Invalid value: \"<secret contents redacted>\": illegal base64 "
                                 "data at input byte 3"))
      << bad;
  EXPECT_THAT(Ok({"delete", "secret", "db"}), HasSubstr("secret \"db\" deleted"));
  EXPECT_THAT(RowStartingWith(Ok({"get", "secrets"}), {"db"}), ::testing::IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Kubectl, KubectlTest, ::testing::Values("v1_20", "newest"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace korc::e2e
