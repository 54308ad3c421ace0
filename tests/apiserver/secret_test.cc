// The core/v1 Secret over real HTTP: discovery, every verb, base64 data and write-only
// stringData, Kubernetes' validation (keys, size, the well-known types) and update rules
// (type, immutable), tables, field selectors, and the protobuf body newer kubectl sends.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "components/apiserver/api_server.h"
#include "storage/event_log.h"
#include "tests/apiserver/http_client.h"

namespace korc::apiserver {
namespace {

using korc::testing::Http;
using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr const char* kSecrets = "/api/v1/namespaces/default/secrets";
constexpr const char* kTableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io";
// {"auths":{"registry.local:5000":{"username":"u","password":"p","auth":"dTpw"}}}
constexpr const char* kDockerConfig =
    "eyJhdXRocyI6eyJyZWdpc3RyeS5sb2NhbDo1MDAwIjp7InVzZXJuYW1lIjoidSIsInBhc3N3b3JkIjoicCIsImF1"
    "dGgiOiJkVHB3In19fQ==";

std::string Secret(const std::string& name, const std::string& rest) {
  return R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":")" + name + "\"}" +
         (rest.empty() ? "" : "," + rest) + "}";
}

std::vector<json> Lines(const std::string& body) {
  std::vector<json> out;
  std::stringstream ss(body);
  for (std::string line; std::getline(ss, line);) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

class SecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/korc-secret-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto log = storage::OpenRocksDbEventLog(dir_ + "/log");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    ApiServerOptions o;
    o.port = 0;
    auto s = ApiServer::Start(*log_, nullptr, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  korc::testing::HttpResult Call(const std::string& method, const std::string& target,
                                 const std::string& body = {},
                                 const std::string& ct = "application/json",
                                 const std::string& accept = "application/json") {
    return Http(server_->port(), method, target, body, ct, accept);
  }
  uint64_t Head() const { return log_->Head(); }

  // A refused write: 422 Invalid naming `field` with `detail`, the log unchanged, and no
  // trace of `hidden` (a secret value) in the answer.
  void ExpectInvalid(const korc::testing::HttpResult& r, uint64_t head, const std::string& field,
                     const std::string& detail, const std::string& hidden = "\x01") {
    ASSERT_EQ(r.code, 422) << r.body;
    auto st = json::parse(r.body);
    EXPECT_EQ(st["kind"], "Status");
    EXPECT_EQ(st["reason"], "Invalid");
    EXPECT_EQ(st["details"]["kind"], "Secret");
    bool found = false;
    for (const auto& c : st["details"]["causes"]) {
      found |=
          c["field"] == field && c["message"].get<std::string>().find(detail) != std::string::npos;
    }
    EXPECT_TRUE(found) << "wanted " << field << ": " << detail << "\ngot " << r.body;
    EXPECT_THAT(r.body, Not(HasSubstr(hidden)));
    EXPECT_EQ(Head(), head);
  }

  std::string dir_;
  std::unique_ptr<storage::EventLog> log_;
  std::unique_ptr<ApiServer> server_;
};

TEST_F(SecretTest, DiscoveryListsSecrets) {
  auto core = json::parse(Call("GET", "/api/v1").body);
  json secrets;
  for (const auto& r : core["resources"]) {
    if (r["name"] == "secrets") secrets = r;
  }
  ASSERT_FALSE(secrets.is_null()) << core.dump();
  EXPECT_EQ(secrets["kind"], "Secret");
  EXPECT_EQ(secrets["singularName"], "secret");
  EXPECT_EQ(secrets["namespaced"], true);
  EXPECT_FALSE(secrets.contains("shortNames"));
  EXPECT_FALSE(secrets.contains("categories"));  // not part of `kubectl get all`
  EXPECT_THAT(secrets["verbs"].get<std::vector<std::string>>(),
              ::testing::IsSupersetOf({"create", "delete", "get", "list", "patch", "update",
                                       "watch", "deletecollection"}));
}

TEST_F(SecretTest, CreateGetListUpdatePatchDelete) {
  auto created = Call("POST", kSecrets,
                      Secret("db", R"("data":{"user":"YWRtaW4="},"stringData":{"pass":"s3cr3t"})"));
  ASSERT_EQ(created.code, 201) << created.body;
  auto secret = json::parse(created.body);
  EXPECT_EQ(secret["apiVersion"], "v1");
  EXPECT_EQ(secret["kind"], "Secret");
  EXPECT_EQ(secret["metadata"]["namespace"], "default");
  EXPECT_EQ(secret["type"], "Opaque");
  EXPECT_EQ(secret["data"], json::parse(R"({"pass":"czNjcjN0","user":"YWRtaW4="})"));
  EXPECT_FALSE(secret.contains("stringData"));  // write-only
  EXPECT_FALSE(secret.contains("immutable"));
  EXPECT_EQ(Call("POST", kSecrets, Secret("db", "")).code, 409);

  // GET returns the data, base64, as Kubernetes does.
  auto got = Call("GET", std::string(kSecrets) + "/db");
  ASSERT_EQ(got.code, 200);
  EXPECT_EQ(json::parse(got.body), secret);
  auto list = json::parse(Call("GET", kSecrets).body);
  EXPECT_EQ(list["kind"], "SecretList");
  ASSERT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["items"][0], secret);
  EXPECT_EQ(json::parse(Call("GET", "/api/v1/secrets").body)["items"].size(), 1u);

  // PUT: data replaced as given; stringData merged over it (its keys win).
  json put = secret;
  put["data"] = {{"user", "cm9vdA=="}, {"pass", "eA=="}};
  put["stringData"] = {{"pass", "new"}};
  auto updated = Call("PUT", std::string(kSecrets) + "/db", put.dump());
  ASSERT_EQ(updated.code, 200) << updated.body;
  auto after_put = json::parse(updated.body);
  EXPECT_EQ(after_put["data"], json::parse(R"({"pass":"bmV3","user":"cm9vdA=="})"));
  EXPECT_FALSE(after_put.contains("stringData"));
  EXPECT_NE(after_put["metadata"]["resourceVersion"], secret["metadata"]["resourceVersion"]);
  // A stale resourceVersion is a conflict.
  EXPECT_EQ(Call("PUT", std::string(kSecrets) + "/db", put.dump()).code, 409);

  // Patches: stringData through a merge patch, a data key through a strategic merge patch
  // (what kubectl apply sends), removal with null.
  auto merged = Call("PATCH", std::string(kSecrets) + "/db", R"({"stringData":{"extra":"e"}})",
                     "application/merge-patch+json");
  ASSERT_EQ(merged.code, 200) << merged.body;
  EXPECT_EQ(json::parse(merged.body)["data"]["extra"], "ZQ==");
  auto strategic =
      Call("PATCH", std::string(kSecrets) + "/db", R"({"data":{"user":"YWRtaW4=","extra":null}})",
           "application/strategic-merge-patch+json");
  ASSERT_EQ(strategic.code, 200) << strategic.body;
  EXPECT_EQ(json::parse(strategic.body)["data"],
            json::parse(R"({"pass":"bmV3","user":"YWRtaW4="})"));

  // The log says which part changed, never what it holds.
  auto log = Lines(Call("GET", "/korc/v1/log?kind=secrets").body);
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0]["reason"], "created");
  EXPECT_EQ(log[1]["reason"], "updated data");
  for (const auto& l : log) EXPECT_FALSE(l.contains("object"));

  auto deleted = Call("DELETE", std::string(kSecrets) + "/db");
  ASSERT_EQ(deleted.code, 200) << deleted.body;
  EXPECT_EQ(json::parse(deleted.body)["kind"], "Status");
  EXPECT_EQ(json::parse(deleted.body)["details"]["kind"], "secrets");
  auto gone = Call("GET", std::string(kSecrets) + "/db");
  EXPECT_EQ(gone.code, 404);
  EXPECT_EQ(json::parse(gone.body)["message"], "secrets \"db\" not found");
}

TEST_F(SecretTest, InvalidBase64IsRefusedNamingTheKey) {
  const uint64_t head = Head();
  auto r = Call("POST", kSecrets, Secret("s", R"("data":{"ok":"eA==","pw":"hunter2"})"));
  ExpectInvalid(r, head, "data[pw]", "illegal base64 data at input byte 4", "hunter2");
  EXPECT_EQ(json::parse(r.body)["message"],
            "Secret \"s\" is invalid: data[pw]: Invalid value: \"<secret contents redacted>\": "
            "illegal base64 data at input byte 4");
  // The same through an update and a patch.
  ASSERT_EQ(Call("POST", kSecrets, Secret("s", R"("data":{"ok":"eA=="})")).code, 201);
  const uint64_t created = Head();
  ExpectInvalid(
      Call("PUT", std::string(kSecrets) + "/s", Secret("s", R"("data":{"pw":"hunter2"})")), created,
      "data[pw]", "illegal base64", "hunter2");
  ExpectInvalid(Call("PATCH", std::string(kSecrets) + "/s", R"({"data":{"pw":"hunter2"}})",
                     "application/merge-patch+json"),
                created, "data[pw]", "illegal base64", "hunter2");
  // A value of the wrong JSON type is a malformed body, as any type error is.
  EXPECT_EQ(Call("POST", kSecrets, Secret("t", R"("data":{"pw":7})")).code, 400);
}

TEST_F(SecretTest, KeysAndSizeAreValidated) {
  const uint64_t head = Head();
  ExpectInvalid(Call("POST", kSecrets, Secret("s", R"("data":{"a b":"eA=="})")), head, "data[a b]",
                "a valid config key must consist of alphanumeric characters");
  ExpectInvalid(Call("POST", kSecrets, Secret("s", R"("stringData":{"..":"x"})")), head, "data[..]",
                "must not be '..'");
  std::string big(700 * 1024, 'x');
  ExpectInvalid(Call("POST", kSecrets,
                     Secret("s", R"("stringData":{"a":")" + big + R"(","b":")" + big + "\"}")),
                head, "data", "must have at most 1048576 bytes");
  ExpectInvalid(Call("POST", kSecrets, Secret("Bad_Name", "")), head, "metadata.name",
                "a lowercase RFC 1123 subdomain");
}

TEST_F(SecretTest, DockerConfigJsonMustBeThereAndBeJson) {
  const std::string type = R"("type":"kubernetes.io/dockerconfigjson",)";
  const uint64_t head = Head();
  ExpectInvalid(Call("POST", kSecrets, Secret("reg", type + R"("data":{})")), head,
                "data[.dockerconfigjson]", "Required value");
  ExpectInvalid(Call("POST", kSecrets,
                     Secret("reg", type + R"("stringData":{".dockerconfigjson":"{auths"})")),
                head, "data[.dockerconfigjson]", "invalid JSON", "auths");
  ExpectInvalid(Call("POST", kSecrets,
                     Secret("reg", type + R"("stringData":{".dockerconfigjson":"\"text\""})")),
                head, "data[.dockerconfigjson]", "json: cannot unmarshal string");
  ExpectInvalid(Call("POST", kSecrets,
                     Secret("reg", R"("type":"kubernetes.io/tls","stringData":{"tls.crt":"c"})")),
                head, "data[tls.key]", "Required value");

  auto ok = Call("POST", kSecrets,
                 Secret("reg", type + R"("data":{".dockerconfigjson":")" + kDockerConfig + "\"}"));
  ASSERT_EQ(ok.code, 201) << ok.body;
  EXPECT_EQ(json::parse(ok.body)["type"], "kubernetes.io/dockerconfigjson");
  // Its required key cannot be removed later either.
  ExpectInvalid(Call("PATCH", std::string(kSecrets) + "/reg",
                     R"({"data":{".dockerconfigjson":null}})", "application/merge-patch+json"),
                Head(), "data[.dockerconfigjson]", "Required value");
}

TEST_F(SecretTest, TypeCannotChange) {
  ASSERT_EQ(
      Call("POST", kSecrets, Secret("s", R"("stringData":{"tls.crt":"c","tls.key":"k"})")).code,
      201);
  const uint64_t head = Head();
  auto r = Call("PATCH", std::string(kSecrets) + "/s", R"({"type":"kubernetes.io/tls"})",
                "application/merge-patch+json");
  ExpectInvalid(r, head, "type", "field is immutable");
  EXPECT_THAT(json::parse(r.body)["message"].get<std::string>(),
              HasSubstr("type: Invalid value: \"kubernetes.io/tls\": field is immutable"));
}

TEST_F(SecretTest, ImmutableSecretKeepsItsDataAndType) {
  auto created =
      Call("POST", kSecrets, Secret("frozen", R"("immutable":true,"data":{"k":"djE="})"));
  ASSERT_EQ(created.code, 201) << created.body;
  EXPECT_EQ(json::parse(created.body)["immutable"], true);
  const std::string item = std::string(kSecrets) + "/frozen";
  const uint64_t head = Head();
  const std::string locked = "field is immutable when `immutable` is set";

  json put = json::parse(created.body);
  put["data"]["k"] = "djI=";
  ExpectInvalid(Call("PUT", item, put.dump()), head, "data", locked);
  ExpectInvalid(Call("PATCH", item, R"({"stringData":{"k":"v2"}})", "application/merge-patch+json"),
                head, "data", locked);
  ExpectInvalid(
      Call("PATCH", item, R"({"stringData":{"new":"x"}})", "application/merge-patch+json"), head,
      "data", locked);
  ExpectInvalid(Call("PATCH", item, R"({"immutable":false})", "application/merge-patch+json"), head,
                "immutable", locked);
  ExpectInvalid(Call("PATCH", item, R"({"immutable":null})", "application/merge-patch+json"), head,
                "immutable", locked);
  ExpectInvalid(Call("PATCH", item, R"({"type":"my/type"})", "application/merge-patch+json"), head,
                "type", "field is immutable");
  auto message = json::parse(Call("PUT", item, put.dump()).body)["message"];
  EXPECT_EQ(message, "Secret \"frozen\" is invalid: data: Forbidden: " + locked);

  // Its metadata may still change, and it may be deleted.
  auto labelled = Call("PATCH", item, R"({"metadata":{"labels":{"team":"a"}}})",
                       "application/merge-patch+json");
  ASSERT_EQ(labelled.code, 200) << labelled.body;
  EXPECT_EQ(json::parse(labelled.body)["data"]["k"], "djE=");
  // Writing the same data again is no change at all.
  EXPECT_EQ(
      Call("PATCH", item, R"({"stringData":{"k":"v1"}})", "application/merge-patch+json").code,
      200);
  EXPECT_EQ(Call("DELETE", item).code, 200);
}

TEST_F(SecretTest, TableShowsTypeAndKeyCount) {
  ASSERT_EQ(Call("POST", kSecrets, Secret("a", R"("stringData":{"x":"1","y":"2"})")).code, 201);
  ASSERT_EQ(Call("POST", kSecrets,
                 Secret("reg",
                        R"("type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":")" +
                            std::string(kDockerConfig) + "\"}"))
                .code,
            201);
  auto r = Call("GET", kSecrets, {}, "application/json", kTableAccept);
  ASSERT_EQ(r.code, 200) << r.body;
  auto table = json::parse(r.body);
  EXPECT_EQ(table["kind"], "Table");
  std::vector<std::string> names;
  for (const auto& c : table["columnDefinitions"]) names.push_back(c["name"]);
  EXPECT_THAT(names, ::testing::ElementsAre("Name", "Type", "Data", "Age"));
  ASSERT_EQ(table["rows"].size(), 2u);
  EXPECT_EQ(table["rows"][0]["cells"][0], "a");
  EXPECT_EQ(table["rows"][0]["cells"][1], "Opaque");
  EXPECT_EQ(table["rows"][0]["cells"][2], 2);
  EXPECT_EQ(table["rows"][1]["cells"][1], "kubernetes.io/dockerconfigjson");
  EXPECT_EQ(table["rows"][1]["cells"][2], 1);
  EXPECT_THAT(r.body, Not(HasSubstr(kDockerConfig)));  // rows carry metadata only
}

TEST_F(SecretTest, FieldSelectorOnType) {
  ASSERT_EQ(Call("POST", kSecrets, Secret("a", "")).code, 201);
  ASSERT_EQ(Call("POST", kSecrets,
                 Secret("b", R"("type":"kubernetes.io/basic-auth","stringData":{"username":"u"})"))
                .code,
            201);
  auto list = json::parse(
      Call("GET", std::string(kSecrets) + "?fieldSelector=type%3Dkubernetes.io%2Fbasic-auth").body);
  ASSERT_EQ(list["items"].size(), 1u) << list.dump();
  EXPECT_EQ(list["items"][0]["metadata"]["name"], "b");
  EXPECT_EQ(Call("GET", std::string(kSecrets) + "?fieldSelector=data.x%3Dy").code, 400);
}

// Protobuf length-delimited field (wire type 2) with a one-byte length.
std::string Pb(int field, const std::string& bytes) {
  return std::string(1, static_cast<char>(field << 3 | 2)) +
         std::string(1, static_cast<char>(bytes.size())) + bytes;
}

// kubectl 1.32+ sends `kubectl create secret` as protobuf, with data as raw bytes.
TEST_F(SecretTest, ProtobufSecretFromNewerKubectl) {
  std::string meta = Pb(1, "pb") + Pb(3, "default");
  std::string secret = Pb(1, meta) + Pb(2, Pb(1, "bin") + Pb(2, std::string("\0\xff", 2))) +
                       Pb(3, "Opaque") + Pb(4, Pb(1, "text") + Pb(2, "hello")) +
                       std::string("\x28\x01", 2);  // 5: immutable = true
  std::string body = std::string("k8s\0", 4) + Pb(1, Pb(1, "v1") + Pb(2, "Secret")) + Pb(2, secret);
  auto r = Call("POST", kSecrets, body, "application/vnd.kubernetes.protobuf");
  ASSERT_EQ(r.code, 201) << r.body;
  auto got = json::parse(r.body);
  EXPECT_EQ(got["metadata"]["name"], "pb");
  EXPECT_EQ(got["data"], json::parse(R"({"bin":"AP8=","text":"aGVsbG8="})"));
  EXPECT_EQ(got["immutable"], true);
  EXPECT_EQ(got["type"], "Opaque");
}

}  // namespace
}  // namespace korc::apiserver
