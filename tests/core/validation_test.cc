#include "core/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/codec.h"
#include "core/defaults.h"
#include "tests/core/builders.h"

namespace korc {
namespace {

using ::testing::HasSubstr;

// Decodes, defaults (with namespace "default" for namespaced kinds, as the CLI and the API
// server do) and validates one manifest; returns the rendered errors.
std::vector<std::string> Problems(const std::string& yaml) {
  auto docs = DecodeYamlStream(yaml);
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  if (!docs.ok() || docs->empty()) return {"<decode failed>"};
  api::Object obj = docs->at(0).decoded.object;
  if (KindOf(obj).namespaced && api::Meta(obj).namespace_.empty()) {
    api::Meta(obj).namespace_ = "default";
  }
  ApplyDefaults(obj);
  std::vector<std::string> out;
  for (const auto& e : Validate(obj)) out.push_back(e.ToString());
  return out;
}

constexpr const char* kPod = R"(apiVersion: v1
kind: Pod
metadata:
  name: %NAME%
spec:
  containers:
  - name: app
    image: busybox
%EXTRA%)";

std::string Pod(const std::string& extra, const std::string& name = "p") {
  std::string s = kPod;
  s.replace(s.find("%NAME%"), 6, name);
  s.replace(s.find("%EXTRA%"), 7, extra);
  return s;
}

TEST(ValidationTest, ValidObjectsPass) {
  using namespace korc::testing;
  for (api::Object o :
       std::vector<api::Object>{MakePod(), MakeRc(), MakeService(), MakeEndpoints(), MakeNode(),
                                MakeNamespace(), MakeKubeEvent(), MakeLease()}) {
    ApplyDefaults(o);
    auto errs = Validate(o);
    EXPECT_TRUE(errs.empty()) << KindOf(o).kind << ": " << errs[0].ToString();
  }
  EXPECT_TRUE(Problems(Pod("")).empty());
}

struct BadCase {
  const char* what;
  std::string manifest;
  const char* expected;  // a substring of one of the rendered errors
};

class BadManifestTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadManifestTest, NamesTheField) {
  const auto& c = GetParam();
  auto problems = Problems(c.manifest);
  ASSERT_FALSE(problems.empty()) << c.what;
  bool found = false;
  for (const auto& p : problems) found |= p.find(c.expected) != std::string::npos;
  EXPECT_TRUE(found) << c.what << "\nwanted: " << c.expected
                     << "\ngot:    " << ::testing::PrintToString(problems);
}

const BadCase kBadCases[] = {
    {"negative replicas",
     "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: r}\nspec:\n  replicas: -1\n"
     "  selector: {app: r}\n  template:\n    metadata: {labels: {app: r}}\n    spec:\n"
     "      containers: [{name: c, image: i}]\n",
     "spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
    {"selector does not match template labels",
     "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: r}\nspec:\n"
     "  selector: {app: r}\n  template:\n    metadata: {labels: {app: other}}\n    spec:\n"
     "      containers: [{name: c, image: i}]\n",
     "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: "
     "`selector` does not match template `labels`"},
    {"rc without template",
     "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: r}\nspec:\n"
     "  selector: {app: r}\n",
     "spec.template: Required value"},
    {"rc template restartPolicy Never",
     "apiVersion: v1\nkind: ReplicationController\nmetadata: {name: r}\nspec:\n"
     "  template:\n    metadata: {labels: {app: r}}\n    spec:\n      restartPolicy: Never\n"
     "      containers: [{name: c, image: i}]\n",
     "spec.template.spec.restartPolicy: Unsupported value: \"Never\""},
    {"pod name not DNS-1123", Pod("", "Bad_Name"),
     "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"},
    {"no name at all",
     "apiVersion: v1\nkind: Pod\nmetadata: {}\nspec:\n  containers: [{name: c, image: i}]\n",
     "metadata.name: Required value"},
    {"no containers", "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n",
     "spec.containers: Required value"},
    {"container without image",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c}]\n",
     "spec.containers[0].image: Required value"},
    {"container name not a label",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: C_1, image: "
     "i}]\n",
     "spec.containers[0].name: Invalid value: \"C_1\": a lowercase RFC 1123 label"},
    {"duplicate container names",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
     "  - {name: a, image: i}\n  - {name: a, image: j}\n",
     "spec.containers[1].name: Duplicate value: \"a\""},
    {"container port out of range", Pod("    ports: [{containerPort: 70000}]\n"),
     "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and "
     "65535, inclusive"},
    {"container port missing", Pod("    ports: [{name: http}]\n"),
     "spec.containers[0].ports[0].containerPort: Required value"},
    {"bad protocol", Pod("    ports: [{containerPort: 80, protocol: ICMP}]\n"),
     "spec.containers[0].ports[0].protocol: Unsupported value: \"ICMP\": supported values: "
     "\"TCP\", \"UDP\", \"SCTP\""},
    {"port name too long", Pod("    ports: [{containerPort: 80, name: a-very-long-port-name}]\n"),
     "spec.containers[0].ports[0].name: Invalid value: \"a-very-long-port-name\": must be no "
     "more than 15 characters"},
    {"restart policy", Pod("  restartPolicy: Sometimes\n"),
     "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
     "\"OnFailure\", \"Never\""},
    {"negative grace period", Pod("  terminationGracePeriodSeconds: -5\n"),
     "spec.terminationGracePeriodSeconds: Invalid value: -5: must be greater than or equal to 0"},
    {"label value invalid",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {app: \"-bad-\"}\n"
     "spec:\n  containers: [{name: c, image: i}]\n",
     "metadata.labels[app]: Invalid value: \"-bad-\": a valid label must be an empty string"},
    {"label key invalid",
     "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {\"bad key\": x}\n"
     "spec:\n  containers: [{name: c, image: i}]\n",
     "metadata.labels: Invalid value: \"bad key\": name part must consist of alphanumeric"},
    {"unknown resource name", Pod("    resources: {limits: {gpus: 1}}\n"),
     "spec.containers[0].resources.limits[gpus]: Invalid value: \"gpus\": must be a standard "
     "resource type or fully qualified"},
    {"negative quantity", Pod("    resources: {requests: {cpu: -1}}\n"),
     "spec.containers[0].resources.requests[cpu]: Invalid value: \"-1\": must be greater than or "
     "equal to 0"},
    {"request above limit", Pod("    resources: {requests: {cpu: 2}, limits: {cpu: 1}}\n"),
     "spec.containers[0].resources.requests: Invalid value: \"2\": must be less than or equal "
     "to cpu limit of 1"},
    {"probe without handler", Pod("    livenessProbe: {periodSeconds: 5}\n"),
     "spec.containers[0].livenessProbe: Required value: must specify a handler type"},
    {"probe with zero period",
     Pod("    readinessProbe: {tcpSocket: {port: 80}, periodSeconds: "
         "-1}\n"),
     "spec.containers[0].readinessProbe.periodSeconds: Invalid value: -1: must be greater than "
     "or equal to 1"},
    {"probe port out of range", Pod("    livenessProbe: {httpGet: {port: 0}}\n"),
     "spec.containers[0].livenessProbe.httpGet.port: Required value"},
    {"mount of a missing volume", Pod("    volumeMounts: [{name: data, mountPath: /d}]\n"),
     "spec.containers[0].volumeMounts[0].name: Not found: \"data\""},
    {"volume without a type", Pod("  volumes: [{name: data}]\n"),
     "spec.volumes[0]: Required value: must specify a volume type"},
    {"env name invalid", Pod("    env: [{name: 1BAD, value: x}]\n"),
     "spec.containers[0].env[0].name: Invalid value: \"1BAD\": a valid environment variable name"},
    {"service without ports",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {app: a}}\n",
     "spec.ports: Required value"},
    {"service name must start with a letter",
     "apiVersion: v1\nkind: Service\nmetadata: {name: 1svc}\nspec: {ports: [{port: 80}]}\n",
     "metadata.name: Invalid value: \"1svc\": a DNS-1035 label"},
    {"service type unknown",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: Magic, ports: [{port: "
     "80}]}\n",
     "spec.type: Unsupported value: \"Magic\""},
    {"service port 0",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 0, targetPort: "
     "80}]}\n",
     "spec.ports[0].port: Required value"},
    {"multi-port service needs names",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, name: a}, "
     "{port: 81}]}\n",
     "spec.ports[1].name: Required value"},
    {"nodePort on ClusterIP",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, nodePort: "
     "30080}]}\n",
     "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"},
    {"nodePort not a port",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: NodePort, ports: [{port: "
     "80, nodePort: 70000}]}\n",
     "spec.ports[0].nodePort: Invalid value: 70000: must be between 1 and 65535, inclusive"},
    {"clusterIP on ExternalName",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: ExternalName, clusterIP: "
     "10.96.0.9}\n",
     "spec.clusterIPs: Forbidden: may not be set for ExternalName services"},
    {"headless NodePort",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: NodePort, clusterIP: "
     "None, ports: [{port: 80}]}\n",
     "spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort "
     "services"},
    {"bad clusterIP",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {clusterIP: 10.0.0.300, ports: "
     "[{port: 80}]}\n",
     "spec.clusterIP: Invalid value: \"10.0.0.300\""},
    {"namespace name with dots", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team.a}\n",
     "metadata.name: Invalid value: \"team.a\": a lowercase RFC 1123 label"},
    {"namespace on a node",
     "apiVersion: v1\nkind: Node\nmetadata: {name: n1, namespace: default}\n",
     "metadata.namespace: Forbidden: not allowed on this type"},
    {"endpoint address not an IP",
     "apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\nsubsets:\n- addresses: [{ip: "
     "nope}]\n  ports: [{port: 80}]\n",
     "subsets[0].addresses[0].ip: Invalid value: \"nope\": must be a valid IP address"},
    {"node taint effect",
     "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {taints: [{key: k, effect: "
     "Sometimes}]}\n",
     "spec.taints[0].effect: Unsupported value: \"Sometimes\""},
    {"node podCIDR not a CIDR",
     "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDR: 10.244.1.0}\n",
     "spec.podCIDR: Invalid value: \"10.244.1.0\": must be a valid CIDR value"},
    {"node podCIDRs entry not a CIDR",
     "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDRs: [10.244.1.0/24, "
     "x]}\n",
     "spec.podCIDRs[1]: Invalid value: \"x\""},
    {"lease duration zero",
     "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: n1}\nspec: "
     "{leaseDurationSeconds: 0}\n",
     "spec.leaseDurationSeconds: Invalid value: 0"},
    {"lease transitions negative",
     "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: n1}\nspec: "
     "{leaseTransitions: -1}\n",
     "spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0"},
    {"lease name", "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: N_1}\n",
     "metadata.name: Invalid value: \"N_1\""},
};

INSTANTIATE_TEST_SUITE_P(Table, BadManifestTest, ::testing::ValuesIn(kBadCases));

// One of podCIDR and podCIDRs fills the other, as Kubernetes' conversion does.
TEST(ValidationTest, NodePodCidrsAreKeptInStep) {
  api::Object a = korc::testing::MakeNode();
  std::get<api::Node>(a).spec.pod_cidrs.clear();
  std::get<api::Node>(a).spec.pod_cidr = "10.244.1.0/24";
  ApplyDefaults(a);
  EXPECT_EQ(std::get<api::Node>(a).spec.pod_cidrs, std::vector<std::string>{"10.244.1.0/24"});
  api::Object b = korc::testing::MakeNode();
  std::get<api::Node>(b).spec.pod_cidr.clear();
  std::get<api::Node>(b).spec.pod_cidrs = {"10.244.2.0/24"};
  ApplyDefaults(b);
  EXPECT_EQ(std::get<api::Node>(b).spec.pod_cidr, "10.244.2.0/24");
  EXPECT_TRUE(Validate(b).empty());
}

// Node IPAM may set a pod CIDR once; nobody may change it after.
TEST(ValidationTest, NodePodCidrIsSetOnce) {
  auto node = [](std::string cidr, std::vector<std::string> cidrs) {
    api::Node n = korc::testing::MakeNode();
    n.spec.pod_cidr = std::move(cidr);
    n.spec.pod_cidrs = std::move(cidrs);
    return api::Object(n);
  };
  const api::Object unset = node("", {});
  const api::Object set = node("10.244.1.0/24", {"10.244.1.0/24"});
  EXPECT_TRUE(ValidateUpdate(unset, set).empty());
  EXPECT_TRUE(ValidateUpdate(set, set).empty());
  auto changed = ValidateUpdate(set, node("10.244.2.0/24", {"10.244.2.0/24"}));
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].ToString(),
            "spec.podCIDR: Forbidden: node updates may not change podCIDR except from \"\" to "
            "valid");
  EXPECT_EQ(ValidateUpdate(set, unset).at(0).field, "spec.podCIDR");
  auto list_only = ValidateUpdate(set, node("10.244.1.0/24", {"10.244.1.0/24", "fd00::/64"}));
  ASSERT_EQ(list_only.size(), 1u);
  EXPECT_EQ(list_only[0].field, "spec.podCIDRs");
  // Other kinds have no such rule.
  EXPECT_TRUE(ValidateUpdate(korc::testing::MakePod(), korc::testing::MakePod()).empty());
}

TEST(ValidationTest, InvalidStatusHasKubernetesShape) {
  FieldErrors one = {{FieldErrorType::kRequired, "spec.containers", "", ""}};
  EXPECT_EQ(InvalidStatus("Pod", "bad", one).message(),
            "Pod \"bad\" is invalid: spec.containers: Required value");
  FieldErrors two = {{FieldErrorType::kRequired, "a", "", ""},
                     {FieldErrorType::kInvalid, "b", "-1", "must be positive"}};
  EXPECT_EQ(InvalidStatus("Pod", "bad", two).message(),
            "Pod \"bad\" is invalid: [a: Required value, b: Invalid value: -1: must be positive]");
  EXPECT_EQ(two[1].Reason(), "FieldValueInvalid");
}

TEST(ValidationTest, NameCheckers) {
  EXPECT_TRUE(CheckDns1123Label("my-name").empty());
  EXPECT_FALSE(CheckDns1123Label("My-name").empty());
  EXPECT_FALSE(CheckDns1123Label(std::string(64, 'a')).empty());
  EXPECT_TRUE(CheckDns1123Subdomain("example.com").empty());
  EXPECT_FALSE(CheckDns1123Subdomain("example..com").empty());
  EXPECT_TRUE(CheckDns1035Label("abc-123").empty());
  EXPECT_FALSE(CheckDns1035Label("1abc").empty());
  EXPECT_TRUE(CheckQualifiedName("example.com/MyName").empty());
  EXPECT_FALSE(CheckQualifiedName("/x").empty());
  EXPECT_TRUE(CheckLabelValue("").empty());
  EXPECT_TRUE(CheckIanaSvcName("http").empty());
  EXPECT_FALSE(CheckIanaSvcName("8080").empty());
  EXPECT_TRUE(IsValidIp("::1"));
  EXPECT_FALSE(IsValidIp("1.2.3"));
}

}  // namespace
}  // namespace korc
