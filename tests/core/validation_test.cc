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
                                MakeNamespace(), MakeKubeEvent(), MakeLease(), MakeSecret()}) {
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
    {"secret name", "apiVersion: v1\nkind: Secret\nmetadata: {name: Reg_Cred}\n",
     "metadata.name: Invalid value: \"Reg_Cred\": a lowercase RFC 1123 subdomain"},
    {"secret key with a space",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {\"a b\": eA==}\n",
     "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric "
     "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used "
     "for validation is '[-._a-zA-Z0-9]+')"},
    {"secret key ..", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {\"..\": eA==}\n",
     "data[..]: Invalid value: \"..\": must not be '..'"},
    {"secret key .", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {\".\": eA==}\n",
     "data[.]: Invalid value: \".\": must not be '.'"},
    {"secret key ..x", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {\"..x\": eA==}\n",
     "data[..x]: Invalid value: \"..x\": must not start with '..'"},
    {"secret stringData key (merged into data first)",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {\"a/b\": x}\n",
     "data[a/b]: Invalid value: \"a/b\": a valid config key"},
    {"secret value not base64",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {pw: \"hunter2\"}\n",
     "data[pw]: Invalid value: \"<secret contents redacted>\": illegal base64 data at input "
     "byte 4"},
    {"dockerconfigjson without its key",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: "
     "kubernetes.io/dockerconfigjson\ndata: {config.json: e30=}\n",
     "data[.dockerconfigjson]: Required value"},
    {"dockerconfigjson not JSON",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: "
     "kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: \"{auths: x}\"}\n",
     "data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": invalid JSON at "
     "line 1, column 2"},
    {"dockerconfigjson an array",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: "
     "kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: \"[1]\"}\n",
     "data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": json: cannot "
     "unmarshal array into Go value of type map[string]interface {}"},
    {"dockercfg without its key",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/dockercfg\n",
     "data[.dockercfg]: Required value"},
    {"dockercfg not JSON",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: "
     "kubernetes.io/dockercfg\nstringData: {.dockercfg: \"\"}\n",
     "data[.dockercfg]: Invalid value: \"<secret contents redacted>\": invalid JSON"},
    {"tls without its key",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/tls\nstringData: "
     "{tls.crt: c}\n",
     "data[tls.key]: Required value"},
    {"tls without its certificate",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/tls\nstringData: "
     "{tls.key: k}\n",
     "data[tls.crt]: Required value"},
    {"basic-auth with neither",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/basic-auth\n",
     "data[username]: Required value"},
    {"ssh-auth with an empty key",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/ssh-auth\ndata: "
     "{ssh-privatekey: \"\"}\n",
     "data[ssh-privatekey]: Required value"},
    {"service account token without its account",
     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: "
     "kubernetes.io/service-account-token\n",
     "metadata.annotations[kubernetes.io/service-account.name]: Required value"},
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

// What Secrets of each type need, and what they may leave out.
TEST(ValidationTest, SecretsOfEveryTypePass) {
  for (const char* yaml : {
           "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n",
           "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: my.example/custom\n",
           "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {-._aZ09: \"\"}\n",
           "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: "
           "kubernetes.io/dockerconfigjson\nstringData: {.dockerconfigjson: '{\"auths\":{}}'}\n",
           "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: "
           "kubernetes.io/dockercfg\ndata: {.dockercfg: e30=}\n",
           "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: "
           "kubernetes.io/basic-auth\nstringData: {password: \"\"}\n",
           "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: "
           "kubernetes.io/ssh-auth\nstringData: {ssh-privatekey: k}\n",
           "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: kubernetes.io/tls\ndata: "
           "{tls.crt: \"\", tls.key: \"\"}\n",
       }) {
    EXPECT_THAT(Problems(yaml), ::testing::IsEmpty()) << yaml;
  }
}

TEST(ValidationTest, SecretDataIsAtMostOneMebibyte) {
  api::Secret s = korc::testing::MakeSecret();
  s.data.clear();
  s.type = "Opaque";
  s.data["a"].value = std::string(512 * 1024, 'x');
  s.data["b"].value = std::string(512 * 1024, 'y');
  EXPECT_TRUE(Validate(s).empty());
  s.data["c"].value = "z";
  auto errs = Validate(s);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].ToString(), "data: Too long: must have at most 1048576 bytes");
}

// stringData is write-only: defaulting merges it into data (its keys win) and clears it.
TEST(ValidationTest, SecretDefaultsMergeStringData) {
  api::Object o = korc::testing::MakeSecret();
  auto& s = std::get<api::Secret>(o);
  s.type.clear();
  s.string_data = {{"binary", "text now"}, {"extra", "e"}};
  ApplyDefaults(o);
  EXPECT_EQ(s.type, "Opaque");
  EXPECT_TRUE(s.string_data.empty());
  EXPECT_EQ(s.data.at("binary").value, "text now");
  EXPECT_EQ(s.data.at("extra").value, "e");
  EXPECT_EQ(s.data.size(), 3u);
  api::Object again = o;
  ApplyDefaults(again);
  EXPECT_TRUE(again == o);  // idempotent
}

TEST(ValidationTest, SecretTypeIsImmutable) {
  api::Secret before = korc::testing::MakeSecret();
  api::Secret after = before;
  after.type = "Opaque";
  auto errs = ValidateUpdate(before, after);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].ToString(), "type: Invalid value: \"Opaque\": field is immutable");
  after = before;
  after.data["more"].value = "x";
  after.metadata.labels["l"] = "v";
  EXPECT_TRUE(ValidateUpdate(before, after).empty());  // a mutable Secret's data may change
}

TEST(ValidationTest, ImmutableSecretKeepsItsData) {
  api::Secret before = korc::testing::MakeSecret();
  before.immutable = true;
  api::Secret after = before;
  after.metadata.labels["l"] = "v";  // metadata may still change
  EXPECT_TRUE(ValidateUpdate(before, after).empty());

  after = before;
  after.data.at("binary").value = "other";
  auto errs = ValidateUpdate(before, after);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].ToString(), "data: Forbidden: field is immutable when `immutable` is set");

  after = before;
  after.immutable.reset();
  errs = ValidateUpdate(before, after);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].ToString(), "immutable: Forbidden: field is immutable when `immutable` is set");
  after.immutable = false;
  EXPECT_EQ(ValidateUpdate(before, after).size(), 1u);

  after = before;
  after.type = "Opaque";
  after.data.erase("binary");
  errs = ValidateUpdate(before, after);
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0].field, "type");
  EXPECT_EQ(errs[1].field, "data");

  // Turning immutability on is an ordinary update.
  api::Secret mutable_one = korc::testing::MakeSecret();
  EXPECT_TRUE(ValidateUpdate(mutable_one, before).empty());
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
  EXPECT_TRUE(CheckConfigMapKey(".dockerconfigjson").empty());
  EXPECT_TRUE(CheckConfigMapKey("tls.crt").empty());
  EXPECT_FALSE(CheckConfigMapKey("").empty());
  EXPECT_FALSE(CheckConfigMapKey(std::string(254, 'a')).empty());
  EXPECT_TRUE(IsValidIp("::1"));
  EXPECT_FALSE(IsValidIp("1.2.3"));
}

}  // namespace
}  // namespace korc
