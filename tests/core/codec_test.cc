#include "core/codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/defaults.h"
#include "tests/core/builders.h"

namespace korc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<api::Object> EveryKind() {
  using namespace korc::testing;
  return {MakePod(),       MakeRc(),        MakeService(), MakeEndpoints(), MakeNode(),
          MakeNamespace(), MakeKubeEvent(), MakeLease(),   MakeSecret()};
}

TEST(CodecTest, EveryKindIsRegistered) {
  for (const auto& o : EveryKind()) {
    const KindInfo& k = KindOf(o);
    EXPECT_EQ(FindKind(k.kind), &k);
    EXPECT_EQ(FindResource(k.resource), &k);
    if (!k.short_name.empty()) EXPECT_EQ(FindResource(k.short_name), &k);
    EXPECT_EQ(NewObject(k).index(), o.index());
  }
}

TEST(CodecTest, JsonRoundTripsEveryKind) {
  for (const auto& o : EveryKind()) {
    std::string json = EncodeJson(o);
    auto d = DecodeJson(json);
    ASSERT_TRUE(d.ok()) << d.status().ToString() << "\n" << json;
    EXPECT_TRUE(d->unknown_fields.empty());
    // Decoding fills apiVersion/kind; compare the re-encoding and the typed values.
    EXPECT_EQ(EncodeJson(d->object), json);
    auto expected = o;
    std::visit([](auto& x) { x.api_version.clear(), x.kind.clear(); }, expected);
    auto got = d->object;
    std::visit([](auto& x) { x.api_version.clear(), x.kind.clear(); }, got);
    EXPECT_TRUE(got == expected) << KindOf(o).kind;
  }
}

TEST(CodecTest, YamlRoundTripsEveryKind) {
  for (const auto& o : EveryKind()) {
    std::string yaml = EncodeYaml(o);
    auto docs = DecodeYamlStream(yaml);
    ASSERT_TRUE(docs.ok()) << docs.status().ToString() << "\n" << yaml;
    ASSERT_EQ(docs->size(), 1u);
    EXPECT_TRUE((*docs)[0].decoded.unknown_fields.empty());
    EXPECT_EQ(EncodeJson((*docs)[0].decoded.object), EncodeJson(o)) << yaml;
  }
}

TEST(CodecTest, SeedReplicationControllerDecodes) {
  auto docs = DecodeYamlStream(ReadFile(KORC_TEST_DATA "/seed-rc.yaml"));
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 1u);
  auto* rc = std::get_if<api::ReplicationController>(&(*docs)[0].decoded.object);
  ASSERT_NE(rc, nullptr);
  EXPECT_EQ(rc->metadata.name, "mysql");
  EXPECT_EQ(rc->spec.replicas, 1);
  EXPECT_EQ(rc->spec.selector, (api::StringMap{{"app", "mysql"}}));
  ASSERT_TRUE(rc->spec.template_);
  const auto& c = rc->spec.template_->spec.containers.at(0);
  EXPECT_EQ(c.name, "mysql");
  EXPECT_EQ(c.image, "mysql");
  EXPECT_EQ(c.ports.at(0).container_port, 3306);
  EXPECT_THAT(c.env, ElementsAre(api::EnvVar{"MYSQL_ROOT_PASSWORD", "secret"}));

  // And it survives JSON and YAML round trips unchanged.
  auto json = EncodeJson(*rc);
  auto back = DecodeJson(json);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(EncodeJson(back->object), json);
  auto yaml_back = DecodeYamlStream(EncodeYaml(*rc));
  ASSERT_TRUE(yaml_back.ok());
  EXPECT_EQ(EncodeJson(yaml_back->at(0).decoded.object), json);
}

TEST(CodecTest, MultiDocumentStreamKeepsOrderAndLines) {
  auto docs = DecodeYamlStream(ReadFile(KORC_TEST_DATA "/../../examples/seed.yaml"));
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ(KindOf((*docs)[0].decoded.object).kind, "ReplicationController");
  EXPECT_EQ(KindOf((*docs)[1].decoded.object).kind, "Service");
  EXPECT_LT((*docs)[0].line, (*docs)[1].line);
  EXPECT_GT((*docs)[1].line, 20);
}

TEST(CodecTest, EmptyDocumentsAndListsInStreams) {
  auto docs = DecodeYamlStream(
      "---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n"
      "  metadata: {name: a}\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: b}\n"
      "---\n# only a comment\n");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ(api::Meta(docs->at(1).decoded.object).name, "b");
}

TEST(CodecTest, UnknownFieldsAreReportedWithPaths) {
  auto d = DecodeJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"x","bogus":1},
      "spec":{"containers":[{"name":"c","image":"i","colour":"red"}],"extra":{}}})");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_THAT(d->unknown_fields,
              ElementsAre("metadata.bogus", "spec.containers[0].colour", "spec.extra"));
}

TEST(CodecTest, KubectlWirePodDecodesWithoutUnknownFields) {
  std::string json = R"({"metadata": {"generateName": "mysql-", "labels": {"app": "mysql"},
    "ownerReferences": [{"apiVersion": "v1", "kind": "ReplicationController", "name": "mysql",
    "uid": "08ded56d", "controller": true, "blockOwnerDeletion": true}], "namespace": "default",
    "name": "mysql-47600", "uid": "cf25cc93", "creationTimestamp": "2026-11-28T00:08:49Z",
    "resourceVersion": "107"}, "spec": {"containers": [{"env": [{"name": "MYSQL_ROOT_PASSWORD",
    "value": "secret"}], "image": "mysql", "name": "mysql", "ports": [{"containerPort": 3306}]}],
    "nodeName": "node1"}, "status": {"phase": "Running", "podIP": "10.1.0.106", "hostIP":
    "10.0.0.1", "startTime": "2026-11-28T00:08:49Z", "conditions": [{"type": "Ready", "status":
    "True", "lastTransitionTime": "2026-11-28T00:08:49Z"}], "containerStatuses": [{"name":
    "mysql", "ready": true, "restartCount": 0, "image": "mysql", "imageID": "", "containerID":
    "korc://x", "started": true, "state": {"running": {"startedAt": "2026-11-28T00:08:49Z"}}}]},
    "kind": "Pod", "apiVersion": "v1"})";
  auto d = DecodeJson(json);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->unknown_fields.empty());
  const auto& pod = std::get<api::Pod>(d->object);
  EXPECT_EQ(pod.metadata.creation_timestamp.unix_ns, 1'795'824'529'000'000'000);
  EXPECT_EQ(pod.status.container_statuses.at(0).state.running->started_at.unix_ns,
            1'795'824'529'000'000'000);
  EXPECT_THAT(EncodeJson(pod), HasSubstr(R"("creationTimestamp":"2026-11-28T00:08:49Z")"));
}

TEST(CodecTest, MalformedJsonReportsLineAndColumn) {
  auto d = DecodeJson(
      "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\"name\": }\n}");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kBadRequest);
  EXPECT_THAT(d.status().message(), HasSubstr("line 4, column 24"));
}

TEST(CodecTest, MalformedYamlReportsLineAndColumn) {
  auto d = DecodeYamlStream("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [x\n");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kBadRequest);
  EXPECT_THAT(d.status().message(), HasSubstr("malformed YAML at line"));
  EXPECT_THAT(d.status().message(), HasSubstr("column"));
}

TEST(CodecTest, WrongTypesNameTheFieldAndPosition) {
  auto d = DecodeYamlStream(
      "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: x\nspec:\n  replicas: "
      "three\n");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("line 6, column 13: spec.replicas: expected a "
                                              "32-bit integer, got \"three\""));
  auto j = DecodeJson(
      R"({"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"ports":[{"containerPort":"80"}]}]}})");
  ASSERT_FALSE(j.ok());
  EXPECT_THAT(j.status().message(),
              HasSubstr("spec.containers[0].ports[0].containerPort: expected a 32-bit integer, "
                        "got string \"80\""));
  auto q = DecodeYamlStream(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers:\n  - name: c\n"
      "    image: i\n    resources:\n      limits: {cpu: 12x}\n");
  ASSERT_FALSE(q.ok());
  EXPECT_THAT(q.status().message(), HasSubstr("spec.containers[0].resources.limits[cpu]"));
}

TEST(CodecTest, QuotedYamlNumberIsNotAnInteger) {
  auto d = DecodeYamlStream(
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports:\n  - port: \"80\"\n");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("spec.ports[0].port"));
  // ...while a plain scalar fills a string field, as kubectl's YAML reader does.
  auto ok = DecodeYamlStream(
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n"
      "    image: i\n    env:\n    - {name: N, value: 123456}\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(std::get<api::Pod>(ok->at(0).decoded.object).spec.containers[0].env[0].value, "123456");
}

TEST(CodecTest, UnknownKindAndWrongVersionAreRefused) {
  auto a = DecodeJson(R"({"apiVersion":"v1","kind":"Deployment","metadata":{"name":"x"}})");
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.status().message(),
              HasSubstr("no kind \"Deployment\" is registered for version \"v1\""));
  auto b = DecodeJson(R"({"apiVersion":"apps/v1","kind":"Pod"})");
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("version \"apps/v1\""));
  auto c = DecodeJson(R"({"apiVersion":"v1","metadata":{"name":"x"}})");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("Object 'Kind' is missing"));
  auto d = DecodeJson(R"([1,2])");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("expected an object"));
}

TEST(CodecTest, LeaseIsCoordinationV1WithMicroTimes) {
  const KindInfo& k = KindOf(korc::testing::MakeLease());
  EXPECT_EQ(k.api_version, "coordination.k8s.io/v1");
  EXPECT_EQ(k.group, "coordination.k8s.io");
  EXPECT_EQ(k.version(), "v1");
  EXPECT_EQ(k.CollectionPath("kube-node-lease"),
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases");
  EXPECT_EQ(k.CollectionPath(), "/apis/coordination.k8s.io/v1/leases");
  EXPECT_EQ(FindKind("Pod")->CollectionPath("default"), "/api/v1/namespaces/default/pods");
  EXPECT_EQ(FindKind("Node")->CollectionPath("ignored"), "/api/v1/nodes");

  std::string json = EncodeJson(korc::testing::MakeLease());
  EXPECT_THAT(json, HasSubstr(R"("apiVersion":"coordination.k8s.io/v1","kind":"Lease")"));
  EXPECT_THAT(json, HasSubstr(R"("renewTime":"2026-09-21T14:13:30.123456Z")"));
  EXPECT_THAT(json, HasSubstr(R"("leaseTransitions":0)"));  // set, though zero
  // Under the core version it is not a Lease; a core kind is not in the coordination group.
  auto core = DecodeJson(R"({"apiVersion":"v1","kind":"Lease","metadata":{"name":"x"}})");
  ASSERT_FALSE(core.ok());
  EXPECT_THAT(core.status().message(),
              HasSubstr("korc serves v1: Pod, ReplicationController, Service, Endpoints, Node, "
                        "Namespace, Event, Secret; coordination.k8s.io/v1: Lease"));
  EXPECT_FALSE(DecodeJson(R"({"apiVersion":"coordination.k8s.io/v1","kind":"Pod"})").ok());
}

TEST(CodecTest, SecretDataIsBase64OnTheWire) {
  api::Secret secret = korc::testing::MakeSecret();
  const KindInfo& k = KindOf(secret);
  EXPECT_EQ(k.resource, "secrets");
  EXPECT_EQ(k.singular, "secret");
  EXPECT_EQ(k.short_name, "");
  EXPECT_TRUE(k.namespaced);
  EXPECT_EQ(k.CollectionPath("default"), "/api/v1/namespaces/default/secrets");

  std::string json = EncodeJson(secret);
  EXPECT_THAT(json, HasSubstr(R"("data":{".dockerconfigjson":"eyJhdXRocyI6)"));
  EXPECT_THAT(json, HasSubstr(R"("binary":"AP8BIHg=")"));
  EXPECT_THAT(json, HasSubstr(R"("type":"kubernetes.io/dockerconfigjson")"));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("stringData")));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("registry.local")));

  auto d = DecodeJson(
      R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"immutable":true,)"
      R"("data":{"a":"aGVsbG8=","nl":"aGVs\nbG8=","empty":""},"stringData":{"b":"world"}})");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const auto& s = std::get<api::Secret>(d->object);
  EXPECT_EQ(s.data.at("a").value, "hello");
  EXPECT_EQ(s.data.at("nl").value, "hello");  // Go skips newlines in base64
  EXPECT_EQ(s.data.at("empty").value, "");
  EXPECT_TRUE(s.data.at("a").base64_error.empty());
  EXPECT_EQ(s.string_data.at("b"), "world");
  EXPECT_EQ(s.immutable, true);
  EXPECT_EQ(s.type, "");  // until defaulted
}

TEST(CodecTest, Base64DecodesAsGoDoes) {
  size_t at = 99;
  EXPECT_EQ(api::Base64Decode(""), "");
  EXPECT_EQ(api::Base64Decode("YQ=="), "a");
  EXPECT_EQ(api::Base64Decode("YWI="), "ab");
  EXPECT_EQ(api::Base64Decode("YWJj"), "abc");
  EXPECT_EQ(api::Base64Decode("YW\r\nJj\n"), "abc");
  EXPECT_FALSE(api::Base64Decode("YWJ", &at));  // padding is required
  EXPECT_EQ(at, 0u);
  EXPECT_FALSE(api::Base64Decode("YWJjZA", &at));
  EXPECT_EQ(at, 4u);
  EXPECT_FALSE(api::Base64Decode("YW$j", &at));
  EXPECT_EQ(at, 2u);
  EXPECT_FALSE(api::Base64Decode("Y===", &at));
  EXPECT_EQ(at, 1u);
  EXPECT_FALSE(api::Base64Decode("YQ==YQ==", &at));  // nothing after the padding
  EXPECT_EQ(at, 4u);
  EXPECT_FALSE(api::Base64Decode("YQ=", &at));
  EXPECT_EQ(at, 3u);
  for (std::string raw : {std::string(), std::string("a"), std::string("ab"),
                          std::string("\0\xff\x80zz", 5), std::string(1000, '\x7f')}) {
    EXPECT_EQ(api::Base64Decode(api::Base64Encode(raw)), raw);
    EXPECT_EQ(api::Base64DecodedSize(api::Base64Encode(raw)), raw.size());
  }
}

// Text that is not base64 is not a decode error: validation refuses it, naming the key.
TEST(CodecTest, InvalidBase64IsKeptForValidation) {
  std::string in =
      R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":"not base64!"}})";
  auto d = DecodeJson(in);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  const auto& bytes = std::get<api::Secret>(d->object).data.at("k");
  EXPECT_EQ(bytes.base64_error, "illegal base64 data at input byte 3");
  EXPECT_EQ(bytes.value, "not base64!");
  EXPECT_THAT(EncodeJson(d->object), HasSubstr(R"("k":"not base64!")"));  // as written
  auto wrong_type =
      DecodeJson(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"data":{"k":1}})");
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_THAT(wrong_type.status().message(), HasSubstr("data[k]: expected a base64 string"));
}

TEST(CodecTest, RedactionShowsSizesNeverValues) {
  api::Secret secret = korc::testing::MakeSecret();
  secret.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"] =
      R"({"data":{"binary":"AP8BIHg="}})";
  const std::string stored = EncodeJson(secret);
  for (const std::string& shown :
       {EncodeJson(secret, {.redact_secrets = true}), RedactedJson(stored),
        EncodeYaml(secret, {.redact_secrets = true})}) {
    EXPECT_THAT(shown, HasSubstr("<5 bytes>")) << shown;
    EXPECT_THAT(shown, HasSubstr("<79 bytes>")) << shown;
    EXPECT_THAT(shown, HasSubstr("<30 bytes>")) << shown;  // the last-applied annotation
    EXPECT_THAT(shown, ::testing::Not(HasSubstr("AP8BIHg="))) << shown;
    EXPECT_THAT(shown, ::testing::Not(HasSubstr("eyJhdXRocyI6"))) << shown;
    EXPECT_THAT(shown, HasSubstr("regcred")) << shown;
    EXPECT_THAT(shown, HasSubstr("kubernetes.io/dockerconfigjson")) << shown;
  }
  // Other kinds pass through untouched, and the API's encoding is unchanged.
  const std::string pod = EncodeJson(korc::testing::MakePod());
  EXPECT_EQ(RedactedJson(pod), pod);
  EXPECT_EQ(EncodeJson(korc::testing::MakePod(), {.redact_secrets = true}), pod);
  EXPECT_THAT(stored, HasSubstr("AP8BIHg="));
  // Something that claims to be a Secret but does not decode shows no data at all.
  std::string odd =
      RedactedJson(R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"data":{"k":7}})");
  EXPECT_THAT(odd, ::testing::Not(HasSubstr("7")));
  EXPECT_THAT(odd, HasSubstr(R"("name":"x")"));
}

TEST(CodecTest, QuantitiesAreCanonicalOnOutput) {
  auto d = DecodeJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":
      {"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":1.5,"memory":"0.5Gi"}}}]}})");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_THAT(EncodeJson(d->object), HasSubstr(R"("requests":{"cpu":"1500m","memory":"512Mi"})"));
}

TEST(CodecTest, EmptyStructsThatMatterSurvive) {
  auto d = DecodeJson(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":
      {"volumes":[{"name":"v","emptyDir":{}}],"containers":[{"name":"c","image":"i"}]}})");
  ASSERT_TRUE(d.ok());
  std::string json = EncodeJson(d->object);
  EXPECT_THAT(json, HasSubstr(R"("volumes":[{"name":"v","emptyDir":{}}])"));
  EXPECT_THAT(json, HasSubstr(R"("creationTimestamp":null)"));
  EXPECT_THAT(json, HasSubstr(R"("resources":{})"));
  EXPECT_THAT(json, HasSubstr(R"("status":{})"));
}

TEST(CodecTest, StringsWithSpecialCharactersRoundTrip) {
  auto pod = korc::testing::MakePod();
  pod.metadata.annotations["k"] = "tab\there \"q\" back\\slash \x01 ünï 123";
  pod.spec.containers[0].env = {
      {"A", "true"}, {"B", "0x1F"}, {"C", ""}, {"D", "- x"}, {"E", "a: b"}};
  for (const std::string& text : {EncodeJson(pod), EncodeYaml(pod)}) {
    auto docs = DecodeYamlStream(text);  // YAML is a superset of JSON: one reader for both
    ASSERT_TRUE(docs.ok()) << docs.status().ToString() << "\n" << text;
    EXPECT_EQ(EncodeJson(docs->at(0).decoded.object), EncodeJson(pod)) << text;
  }
}

TEST(DefaultsTest, SeedRcGetsKubernetesDefaults) {
  auto docs = DecodeYamlStream(ReadFile(KORC_TEST_DATA "/seed-rc.yaml"));
  ASSERT_TRUE(docs.ok());
  api::Object obj = docs->at(0).decoded.object;
  ApplyDefaults(obj);
  const auto& rc = std::get<api::ReplicationController>(obj);
  const auto& spec = rc.spec.template_->spec;
  EXPECT_EQ(spec.restart_policy, "Always");
  EXPECT_EQ(spec.termination_grace_period_seconds, 30);
  EXPECT_EQ(spec.dns_policy, "ClusterFirst");
  EXPECT_EQ(spec.scheduler_name, "default-scheduler");
  EXPECT_EQ(spec.containers[0].ports[0].protocol, "TCP");
  EXPECT_EQ(spec.containers[0].image_pull_policy, "Always");  // untagged image
  EXPECT_EQ(spec.containers[0].termination_message_path, "/dev/termination-log");
  EXPECT_EQ(rc.metadata.labels, (api::StringMap{{"app", "mysql"}}));

  api::Object again = obj;
  ApplyDefaults(again);
  EXPECT_EQ(EncodeJson(again), EncodeJson(obj));  // idempotent
}

TEST(DefaultsTest, ContextualDefaults) {
  auto docs = DecodeYamlStream(R"(apiVersion: v1
kind: ReplicationController
metadata: {name: r}
spec:
  template:
    metadata: {labels: {app: r}}
    spec:
      containers:
      - name: c
        image: registry.local:5000/busybox:1.36
        livenessProbe: {httpGet: {port: 8080}}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec:
  sessionAffinity: ClientIP
  ports: [{port: 80}]
)");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  api::Object rc_obj = docs->at(0).decoded.object;
  ApplyDefaults(rc_obj);
  const auto& rc = std::get<api::ReplicationController>(rc_obj);
  EXPECT_EQ(rc.spec.replicas, 1);
  EXPECT_EQ(rc.spec.selector, (api::StringMap{{"app", "r"}}));
  const auto& c = rc.spec.template_->spec.containers[0];
  EXPECT_EQ(c.image_pull_policy, "IfNotPresent");
  EXPECT_EQ(c.liveness_probe->http_get->path, "/");
  EXPECT_EQ(c.liveness_probe->http_get->scheme, "HTTP");
  EXPECT_EQ(c.liveness_probe->period_seconds, 10);
  EXPECT_EQ(c.liveness_probe->timeout_seconds, 1);
  EXPECT_EQ(c.liveness_probe->failure_threshold, 3);

  api::Object svc_obj = docs->at(1).decoded.object;
  ApplyDefaults(svc_obj);
  const auto& svc = std::get<api::Service>(svc_obj);
  EXPECT_EQ(svc.spec.type, "ClusterIP");
  EXPECT_EQ(svc.spec.ports[0].protocol, "TCP");
  EXPECT_EQ(svc.spec.ports[0].target_port, api::IntOrString::Int(80));
  EXPECT_EQ(svc.spec.session_affinity_config->client_ip->timeout_seconds, 10800);

  api::Object none = svc;
  std::get<api::Service>(none).spec.session_affinity = "None";
  ApplyDefaults(none);
  EXPECT_FALSE(std::get<api::Service>(none).spec.session_affinity_config);
}

TEST(ValuesTest, Rfc3339) {
  EXPECT_EQ(api::FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(api::ParseRfc3339("2026-11-28T00:08:49Z"), 1'795'824'529'000'000'000);
  EXPECT_EQ(api::ParseRfc3339("2026-11-28T01:08:49+01:00"), 1'795'824'529'000'000'000);
  EXPECT_EQ(api::ParseRfc3339("2026-11-28T00:08:49.5Z"), 1'795'824'529'500'000'000);
  EXPECT_EQ(api::FormatRfc3339(1'795'824'529'123'456'789, true), "2026-11-28T00:08:49.123456Z");
  EXPECT_FALSE(api::ParseRfc3339("2026-11-28 00:08:49"));
  EXPECT_FALSE(api::ParseRfc3339("yesterday"));
  EXPECT_FALSE(api::ParseRfc3339("2999-01-01T00:00:00Z"));  // beyond int64 nanoseconds
  EXPECT_FALSE(api::ParseRfc3339("2026-13-28T00:08:49Z"));
}

}  // namespace
}  // namespace korc
