// The API server end to end over real HTTP on loopback: verbs, errors, watch, group commit.
#include "components/apiserver/api_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <zmq.hpp>

#include "bus/bus.h"
#include "bus/command.h"
#include "storage/event_log.h"
#include "tests/apiserver/http_client.h"

namespace korc::apiserver {
namespace {

using korc::testing::Http;
using ::testing::HasSubstr;
using json = nlohmann::json;

constexpr const char* kRc = R"({"apiVersion":"v1","kind":"ReplicationController",
  "metadata":{"name":"mysql"},"spec":{"replicas":1,"selector":{"app":"mysql"},
  "template":{"metadata":{"labels":{"app":"mysql"}},"spec":{"containers":[{"name":"mysql",
  "image":"mysql","ports":[{"containerPort":3306}],"env":[{"name":"MYSQL_ROOT_PASSWORD",
  "value":"123456"}]}]}}}})";

std::string Pod(const std::string& name, const std::string& extra_labels = "") {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":")" + name +
         R"(","labels":{"app":"web")" + extra_labels +
         R"(}},"spec":{"containers":[{"name":"c","image":"busybox"}]}})";
}

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/korc-api-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto log = storage::OpenRocksDbEventLog(dir_ + "/log");
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    StartServer();
  }
  void TearDown() override {
    if (server_) server_->Stop();
    server_.reset();
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  void StartServer() {
    ApiServerOptions o;
    o.port = 0;
    auto s = ApiServer::Start(*log_, nullptr, o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
    port_ = server_->port();
  }
  korc::testing::HttpResult Call(const std::string& method, const std::string& target,
                                 const std::string& body = {},
                                 const std::string& ct = "application/json",
                                 const std::string& accept = "application/json") {
    return Http(port_, method, target, body, ct, accept);
  }
  uint64_t Head() { return log_->Head(); }

  std::string dir_;
  std::unique_ptr<storage::EventLog> log_;
  std::unique_ptr<ApiServer> server_;
  uint16_t port_ = 0;
};

TEST_F(ApiServerTest, DiscoveryDocuments) {
  auto api = json::parse(Call("GET", "/api").body);
  EXPECT_EQ(api["versions"], json::array({"v1"}));
  auto v1 = json::parse(Call("GET", "/api/v1").body);
  std::set<std::string> names;
  for (auto& r : v1["resources"]) names.insert(r["name"]);
  for (const char* n :
       {"pods", "replicationcontrollers", "services", "endpoints", "nodes", "namespaces", "events",
        "pods/binding", "pods/status", "pods/log", "replicationcontrollers/scale"}) {
    EXPECT_TRUE(names.contains(n)) << n;
  }
  EXPECT_EQ(json::parse(Call("GET", "/version").body)["major"], "1");
  EXPECT_EQ(Call("GET", "/openapi/v2").code, 200);
  EXPECT_EQ(Call("GET", "/healthz").body, "ok");
  EXPECT_EQ(Call("GET", "/apis").code, 200);
}

TEST_F(ApiServerTest, InitialNamespacesExist) {
  auto list = json::parse(Call("GET", "/api/v1/namespaces").body);
  std::set<std::string> names;
  for (auto& n : list["items"]) names.insert(n["metadata"]["name"]);
  EXPECT_TRUE(names.contains("default"));
  EXPECT_TRUE(names.contains("kube-system"));
  EXPECT_TRUE(names.contains("kube-node-lease"));
  // A restart on the same log resumes instead of creating them again.
  uint64_t head = Head();
  server_->Stop();
  StartServer();
  EXPECT_EQ(Head(), head);
}

TEST_F(ApiServerTest, CreateGetListAndServerFields) {
  auto created = Call("POST", "/api/v1/namespaces/default/replicationcontrollers", kRc);
  ASSERT_EQ(created.code, 201) << created.body;
  auto rc = json::parse(created.body);
  EXPECT_EQ(rc["kind"], "ReplicationController");
  EXPECT_EQ(rc["apiVersion"], "v1");
  EXPECT_EQ(rc["metadata"]["resourceVersion"], std::to_string(Head()));
  EXPECT_EQ(rc["metadata"]["generation"], 1);
  EXPECT_EQ(rc["metadata"]["uid"].get<std::string>().size(), 36u);
  EXPECT_FALSE(rc["metadata"]["creationTimestamp"].is_null());
  EXPECT_EQ(rc["spec"]["template"]["spec"]["restartPolicy"], "Always");  // defaulted

  auto got = Call("GET", "/api/v1/namespaces/default/replicationcontrollers/mysql");
  ASSERT_EQ(got.code, 200);
  EXPECT_EQ(json::parse(got.body), rc);
  auto list = json::parse(Call("GET", "/api/v1/namespaces/default/replicationcontrollers").body);
  EXPECT_EQ(list["kind"], "ReplicationControllerList");
  EXPECT_EQ(list["items"].size(), 1u);
  EXPECT_EQ(list["metadata"]["resourceVersion"], std::to_string(Head()));
  auto all = json::parse(Call("GET", "/api/v1/replicationcontrollers").body);
  EXPECT_EQ(all["items"].size(), 1u);
}

TEST_F(ApiServerTest, GenerateNameAndBodyWithoutTypeMeta) {
  auto r = Call(
      "POST", "/api/v1/namespaces/default/pods",
      R"({"metadata":{"generateName":"web-"},"spec":{"containers":[{"name":"c","image":"i"}]}})");
  ASSERT_EQ(r.code, 201) << r.body;
  auto pod = json::parse(r.body);
  EXPECT_THAT(pod["metadata"]["name"].get<std::string>(), ::testing::StartsWith("web-"));
  EXPECT_EQ(pod["metadata"]["name"].get<std::string>().size(), 9u);
  EXPECT_EQ(pod["kind"], "Pod");
}

TEST_F(ApiServerTest, ErrorsAreStatusesAndChangeNothing) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", Pod("a")).code, 201);
  const uint64_t head = Head();
  struct Case {
    std::string method, target, body, content_type;
    int code;
    std::string reason, message;
  } cases[] = {
      {"POST", "/api/v1/namespaces/default/pods", Pod("a"), "application/json", 409,
       "AlreadyExists", "pods \"a\" already exists"},
      {"GET", "/api/v1/namespaces/default/pods/nope", "", "", 404, "NotFound",
       "pods \"nope\" not found"},
      {"POST", "/api/v1/namespaces/default/pods", "{\"metadata\": ", "application/json", 400,
       "BadRequest", "malformed JSON"},
      {"POST", "/api/v1/namespaces/default/pods",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"bad"},"spec":{}})",
       "application/json", 422, "Invalid",
       "Pod \"bad\" is invalid: spec.containers: Required value"},
      {"POST", "/api/v1/namespaces/default/pods",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name"},"spec":{"containers":[{"name":"c","image":"i"}]}})",
       "application/json", 422, "Invalid", "metadata.name: Invalid value: \"Bad_Name\""},
      {"POST", "/api/v1/namespaces/default/pods",
       R"({"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"x"}})", "application/json", 400,
       "BadRequest", "apiVersion in the body (apps/v1)"},
      {"POST", "/api/v1/namespaces/default/pods", R"({"kind":"Service","metadata":{"name":"x"}})",
       "application/json", 400, "BadRequest", "does not match the URL"},
      {"POST", "/api/v1/namespaces/nowhere/pods", Pod("x"), "application/json", 404, "NotFound",
       "namespaces \"nowhere\" not found"},
      {"GET", "/api/v1/namespaces/default/deployments", "", "", 404, "NotFound",
       "could not find the requested resource"},
      {"PATCH", "/api/v1/namespaces/default/pods/a", "{}", "application/apply-patch+yaml", 415,
       "UnsupportedMediaType", "unknown format"},
      {"GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=abc", "", "", 400,
       "BadRequest", "invalid resource version \"abc\""},
      {"GET", "/api/v1/namespaces/default/pods?labelSelector=a%20in%20(", "", "", 400, "BadRequest",
       ""},
      {"GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.containers%3Dx", "", "", 400,
       "BadRequest", "field label not supported: spec.containers"},
      {"POST", "/api/v1/namespaces/default/pods", "apiVersion: v1\nkind: [", "application/yaml",
       400, "BadRequest", "malformed YAML"},
      {"POST", "/api/v1/namespaces/default/pods", Pod("b"), "text/csv", 415, "UnsupportedMediaType",
       "unknown format"},
      {"PUT", "/api/v1/namespaces/default/pods/a",
       R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","resourceVersion":"1"},"spec":{"containers":[{"name":"c","image":"busybox"}]}})",
       "application/json", 409, "Conflict", "the object has been modified"},
  };
  for (const auto& c : cases) {
    auto r = Call(c.method, c.target, c.body, c.content_type);
    EXPECT_EQ(r.code, c.code) << c.method << " " << c.target << "\n" << r.body;
    auto s = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(s.is_discarded()) << r.body;
    EXPECT_EQ(s["kind"], "Status");
    EXPECT_EQ(s["status"], "Failure");
    EXPECT_EQ(s["code"], c.code);
    EXPECT_EQ(s["reason"], c.reason) << r.body;
    EXPECT_THAT(s["message"].get<std::string>(), HasSubstr(c.message));
    EXPECT_EQ(Head(), head) << "a refused request moved the log: " << c.target;
  }
}

TEST_F(ApiServerTest, InvalidCarriesCausesForKubectl) {
  auto r = Call("POST", "/api/v1/namespaces/default/replicationcontrollers",
                R"({"apiVersion":"v1","kind":"ReplicationController","metadata":{"name":"r"},
                   "spec":{"replicas":-1,"selector":{"a":"b"},"template":{"metadata":{"labels":{"a":"c"}},
                   "spec":{"containers":[{"name":"c","image":"i"}]}}}})");
  ASSERT_EQ(r.code, 422);
  auto s = json::parse(r.body);
  EXPECT_EQ(s["details"]["kind"], "ReplicationController");
  EXPECT_EQ(s["details"]["name"], "r");
  std::set<std::string> fields;
  for (auto& c : s["details"]["causes"]) {
    fields.insert(c["field"]);
    EXPECT_EQ(c["reason"], "FieldValueInvalid");
  }
  EXPECT_TRUE(fields.contains("spec.replicas"));
  EXPECT_TRUE(fields.contains("spec.template.metadata.labels"));
}

TEST_F(ApiServerTest, OversizedBodyIs413) {
  std::string big(4 * 1024 * 1024, 'x');
  auto r = Call("POST", "/api/v1/namespaces/default/pods", big);
  EXPECT_EQ(r.code, 413);
  EXPECT_THAT(r.body, HasSubstr("RequestEntityTooLarge"));
}

TEST_F(ApiServerTest, UnknownFieldsWarnOrFailUnderStrict) {
  std::string body =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"u"},"spec":{"colour":"red","containers":[{"name":"c","image":"i"}]}})";
  auto strict = Call("POST", "/api/v1/namespaces/default/pods?fieldValidation=Strict", body);
  EXPECT_EQ(strict.code, 400);
  EXPECT_THAT(strict.body, HasSubstr("strict decoding error: unknown field \\\"spec.colour\\\""));
  auto warn = Call("POST", "/api/v1/namespaces/default/pods", body);
  EXPECT_EQ(warn.code, 201);
  EXPECT_THAT(warn.warning, HasSubstr("unknown field"));
}

TEST_F(ApiServerTest, UpdatePatchAndGeneration) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/replicationcontrollers", kRc).code, 201);
  auto cur =
      json::parse(Call("GET", "/api/v1/namespaces/default/replicationcontrollers/mysql").body);
  cur["spec"]["replicas"] = 2;
  auto put = Call("PUT", "/api/v1/namespaces/default/replicationcontrollers/mysql", cur.dump());
  ASSERT_EQ(put.code, 200) << put.body;
  EXPECT_EQ(json::parse(put.body)["metadata"]["generation"], 2);
  // The same PUT again carries a stale resourceVersion.
  EXPECT_EQ(Call("PUT", "/api/v1/namespaces/default/replicationcontrollers/mysql", cur.dump()).code,
            409);

  auto merge = Call("PATCH", "/api/v1/namespaces/default/replicationcontrollers/mysql",
                    R"({"metadata":{"labels":{"tier":"db"}}})", "application/merge-patch+json");
  ASSERT_EQ(merge.code, 200) << merge.body;
  EXPECT_THAT(Call("GET", "/korc/v1/log?since=" + std::to_string(Head() - 1)).body,
              HasSubstr("\"reason\":\"updated labels\""));
  auto m = json::parse(merge.body);
  EXPECT_EQ(m["metadata"]["labels"]["tier"], "db");
  EXPECT_EQ(m["metadata"]["generation"], 2);  // metadata changes do not bump generation

  auto jp = Call("PATCH", "/api/v1/namespaces/default/replicationcontrollers/mysql",
                 R"([{"op":"replace","path":"/spec/replicas","value":5}])",
                 "application/json-patch+json");
  ASSERT_EQ(jp.code, 200) << jp.body;
  EXPECT_EQ(json::parse(jp.body)["spec"]["replicas"], 5);

  auto smp = Call(
      "PATCH", "/api/v1/namespaces/default/replicationcontrollers/mysql",
      R"({"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"mysql"}],"containers":[{"image":"mysql:8","name":"mysql"}]}}}})",
      "application/strategic-merge-patch+json");
  ASSERT_EQ(smp.code, 200) << smp.body;
  auto s = json::parse(smp.body);
  EXPECT_EQ(s["spec"]["template"]["spec"]["containers"][0]["image"], "mysql:8");
  EXPECT_EQ(s["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"], "123456");

  const uint64_t head = Head();
  auto noop = Call("PATCH", "/api/v1/namespaces/default/replicationcontrollers/mysql",
                   R"({"spec":{"replicas":5}})", "application/merge-patch+json");
  EXPECT_EQ(noop.code, 200);
  EXPECT_EQ(Head(), head) << "a patch that changes nothing must not add an event";

  auto bad = Call("PATCH", "/api/v1/namespaces/default/replicationcontrollers/mysql",
                  R"({"spec":{"replicas":-3}})", "application/merge-patch+json");
  EXPECT_EQ(bad.code, 422);
  EXPECT_EQ(Head(), head);
}

// kubectl replace of the manifest that created it: defaults make it equal to what is stored,
// so nothing is written and generation stays.
TEST_F(ApiServerTest, PutOfTheManifestAsCreatedChangesNothing) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/replicationcontrollers", kRc).code, 201);
  const uint64_t head = Head();
  auto put = Call("PUT", "/api/v1/namespaces/default/replicationcontrollers/mysql", kRc);
  ASSERT_EQ(put.code, 200) << put.body;
  EXPECT_EQ(json::parse(put.body)["metadata"]["generation"], 1);
  EXPECT_EQ(Head(), head) << put.body;
}

TEST_F(ApiServerTest, StatusIsWrittenOnlyThroughItsSubresource) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/replicationcontrollers", kRc).code, 201);
  auto r = Call("PATCH", "/api/v1/namespaces/default/replicationcontrollers/mysql",
                R"({"status":{"replicas":3}})", "application/merge-patch+json");
  EXPECT_EQ(json::parse(r.body)["status"]["replicas"], 0);
  auto s =
      Call("PATCH", "/api/v1/namespaces/default/replicationcontrollers/mysql/status",
           R"({"status":{"replicas":3},"spec":{"replicas":9}})", "application/merge-patch+json");
  ASSERT_EQ(s.code, 200) << s.body;
  EXPECT_EQ(json::parse(s.body)["status"]["replicas"], 3);
  EXPECT_EQ(json::parse(s.body)["spec"]["replicas"], 1);
}

TEST_F(ApiServerTest, ScaleSubresource) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/replicationcontrollers", kRc).code, 201);
  auto g = json::parse(
      Call("GET", "/api/v1/namespaces/default/replicationcontrollers/mysql/scale").body);
  EXPECT_EQ(g["kind"], "Scale");
  EXPECT_EQ(g["apiVersion"], "autoscaling/v1");
  EXPECT_EQ(g["spec"]["replicas"], 1);
  EXPECT_EQ(g["status"]["selector"], "app=mysql");
  auto p = Call("PATCH", "/api/v1/namespaces/default/replicationcontrollers/mysql/scale",
                R"({"spec":{"replicas":3}})", "application/merge-patch+json");
  ASSERT_EQ(p.code, 200) << p.body;
  EXPECT_EQ(json::parse(p.body)["spec"]["replicas"], 3);
  auto log = Call("GET", "/korc/v1/log?since=" + std::to_string(Head() - 1));
  EXPECT_THAT(log.body, HasSubstr("\"reason\":\"scaled from 1 to 3 replicas\""));
  auto put = Call(
      "PUT", "/api/v1/namespaces/default/replicationcontrollers/mysql/scale",
      R"({"kind":"Scale","apiVersion":"autoscaling/v1","metadata":{"name":"mysql"},"spec":{"replicas":4}})",
      "");
  ASSERT_EQ(put.code, 200) << put.body;
  auto rc =
      json::parse(Call("GET", "/api/v1/namespaces/default/replicationcontrollers/mysql").body);
  EXPECT_EQ(rc["spec"]["replicas"], 4);
  EXPECT_EQ(Call("PATCH", "/api/v1/namespaces/default/replicationcontrollers/mysql/scale",
                 R"({"spec":{"replicas":-1}})", "application/merge-patch+json")
                .code,
            422);
}

TEST_F(ApiServerTest, BindingIsOnceOnly) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", Pod("p")).code, 201);
  std::string b1 =
      R"({"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"n1"}})";
  std::string b2 =
      R"({"apiVersion":"v1","kind":"Binding","metadata":{"name":"p"},"target":{"kind":"Node","name":"n2"}})";
  EXPECT_EQ(Call("POST", "/api/v1/namespaces/default/pods/p/binding", b1).code, 201);
  auto again = Call("POST", "/api/v1/namespaces/default/pods/p/binding", b2);
  EXPECT_EQ(again.code, 409);
  EXPECT_THAT(again.body, HasSubstr("already assigned to node \\\"n1\\\""));
  auto pod = json::parse(Call("GET", "/api/v1/namespaces/default/pods/p").body);
  EXPECT_EQ(pod["spec"]["nodeName"], "n1");
}

TEST_F(ApiServerTest, DeleteSemantics) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", Pod("unbound")).code, 201);
  auto d = Call("DELETE", "/api/v1/namespaces/default/pods/unbound");
  ASSERT_EQ(d.code, 200);
  EXPECT_EQ(json::parse(d.body)["kind"], "Pod");  // pods answer with the pod
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/default/pods/unbound").code, 404);

  // A pod on a node waits for its kubelet: deletionTimestamp + grace period.
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", Pod("bound")).code, 201);
  Call("POST", "/api/v1/namespaces/default/pods/bound/binding",
       R"({"target":{"kind":"Node","name":"n1"}})");
  auto t = json::parse(Call("DELETE", "/api/v1/namespaces/default/pods/bound").body);
  EXPECT_FALSE(t["metadata"]["deletionTimestamp"].is_null());
  EXPECT_EQ(t["metadata"]["deletionGracePeriodSeconds"], 30);
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/default/pods/bound").code, 200);
  EXPECT_EQ(Call("DELETE", "/api/v1/namespaces/default/pods/bound?gracePeriodSeconds=0").code, 200);
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/default/pods/bound").code, 404);

  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/replicationcontrollers", kRc).code, 201);
  auto s = json::parse(Call("DELETE", "/api/v1/namespaces/default/replicationcontrollers/mysql",
                            R"({"propagationPolicy":"Background"})")
                           .body);
  EXPECT_EQ(s["kind"], "Status");
  EXPECT_EQ(s["status"], "Success");
  EXPECT_EQ(
      Call("DELETE", "/api/v1/namespaces/default/pods/x", R"({"propagationPolicy":"Sideways"})")
          .code,
      400);
}

// Foreground and Orphan deletions wait on a finalizer (the garbage collector's work); the
// update that removes the last finalizer deletes the object.
TEST_F(ApiServerTest, FinalizersHoldDeletionUntilRemoved) {
  const std::string rc = "/api/v1/namespaces/default/replicationcontrollers/mysql";
  for (std::string policy : {"Foreground", "Orphan"}) {
    ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/replicationcontrollers", kRc).code, 201);
    auto d = Call("DELETE", rc, R"({"propagationPolicy":")" + policy + R"("})");
    ASSERT_EQ(d.code, 200) << d.body;
    auto held = json::parse(d.body);
    EXPECT_EQ(held["kind"], "ReplicationController");
    EXPECT_FALSE(held["metadata"]["deletionTimestamp"].is_null());
    EXPECT_EQ(held["metadata"]["finalizers"][0],
              policy == "Foreground" ? "foregroundDeletion" : "orphan");
    uint64_t head = Head();
    EXPECT_EQ(Call("DELETE", rc).code, 200);  // deleting again changes nothing
    EXPECT_EQ(Head(), head);
    ASSERT_EQ(Call("GET", rc).code, 200);
    auto removed =
        Call("PATCH", rc, R"({"metadata":{"finalizers":null}})", "application/merge-patch+json");
    EXPECT_EQ(removed.code, 200) << removed.body;
    EXPECT_EQ(Call("GET", rc).code, 404) << policy;
  }
  // A uid precondition that does not match is a conflict.
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/replicationcontrollers", kRc).code, 201);
  EXPECT_EQ(Call("PATCH", rc, R"({"metadata":{"uid":"not-this-one","labels":{"a":"b"}}})",
                 "application/merge-patch+json")
                .code,
            409);
}

TEST_F(ApiServerTest, DeletingANamespaceDeletesItsContents) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces",
                 R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}})")
                .code,
            201);
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/team/pods", Pod("a")).code, 201);
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/team/replicationcontrollers", kRc).code, 201);
  ASSERT_EQ(Call("DELETE", "/api/v1/namespaces/team").code, 200);
  EXPECT_EQ(json::parse(Call("GET", "/api/v1/namespaces/team/pods").body)["items"].size(), 0u);
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/team").code, 404);
}

TEST_F(ApiServerTest, SelectorsOnLists) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", Pod("a", R"(,"tier":"front")")).code,
            201);
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", Pod("b", R"(,"tier":"back")")).code,
            201);
  auto l =
      json::parse(Call("GET", "/api/v1/namespaces/default/pods?labelSelector=tier%3Dfront").body);
  ASSERT_EQ(l["items"].size(), 1u);
  EXPECT_EQ(l["items"][0]["metadata"]["name"], "a");
  auto f = json::parse(Call("GET", "/api/v1/pods?fieldSelector=metadata.name%3Db").body);
  ASSERT_EQ(f["items"].size(), 1u);
  auto set =
      json::parse(Call("GET", "/api/v1/pods?labelSelector=tier%20in%20(front,back),app").body);
  EXPECT_EQ(set["items"].size(), 2u);
}

std::vector<json> WatchLines(const std::string& body) {
  std::vector<json> out;
  std::stringstream ss(body);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty()) out.push_back(json::parse(line));
  }
  return out;
}

TEST_F(ApiServerTest, WatchFromZeroSendsStateThenFollows) {
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", Pod("a")).code, 201);
  korc::testing::HttpResult stream;
  std::thread watcher([&] {
    stream = Http(port_, "GET", "/api/v1/namespaces/default/pods?watch=True&timeoutSeconds=2");
  });
  // The watch registers before sending the initial state; wait until it is open.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (Call("GET", "/metrics").body.find("korc_apiserver_watches 1") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", Pod("b")).code, 201);
  ASSERT_EQ(Call("DELETE", "/api/v1/namespaces/default/pods/a").code, 200);
  watcher.join();
  ASSERT_EQ(stream.code, 200) << stream.body;
  auto lines = WatchLines(stream.body);
  ASSERT_EQ(lines.size(), 3u) << stream.body;
  EXPECT_EQ(lines[0]["type"], "ADDED");
  EXPECT_EQ(lines[0]["object"]["metadata"]["name"], "a");
  EXPECT_EQ(lines[1]["type"], "ADDED");
  EXPECT_EQ(lines[1]["object"]["metadata"]["name"], "b");
  EXPECT_EQ(lines[2]["type"], "DELETED");
  EXPECT_EQ(lines[2]["object"]["metadata"]["name"], "a");
}

TEST_F(ApiServerTest, WatchEndsAtItsTimeoutEvenWhileBusy) {
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; !done.load() && i < 20000; ++i) {
      Http(port_, "POST", "/api/v1/namespaces/default/pods", Pod("busy-" + std::to_string(i)));
    }
  });
  auto started = std::chrono::steady_clock::now();
  auto stream = Call("GET", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1");
  auto took = std::chrono::steady_clock::now() - started;
  done = true;
  writer.join();
  EXPECT_EQ(stream.code, 200);
  EXPECT_LT(took, std::chrono::seconds(10)) << "the watch outlived its timeoutSeconds";
}

TEST_F(ApiServerTest, WatchFromAResourceVersionReplaysHistoryExclusive) {
  auto a = json::parse(Call("POST", "/api/v1/namespaces/default/pods", Pod("a")).body);
  std::string rv = a["metadata"]["resourceVersion"];
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", Pod("b")).code, 201);
  Call("PATCH", "/api/v1/namespaces/default/pods/a", R"({"metadata":{"labels":{"x":"y"}}})",
       "application/merge-patch+json");
  auto stream = Call(
      "GET", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1&resourceVersion=" + rv);
  auto lines = WatchLines(stream.body);
  ASSERT_EQ(lines.size(), 2u) << stream.body;
  EXPECT_EQ(lines[0]["type"], "ADDED");
  EXPECT_EQ(lines[0]["object"]["metadata"]["name"], "b");
  EXPECT_EQ(lines[1]["type"], "MODIFIED");
  EXPECT_EQ(lines[1]["object"]["metadata"]["labels"]["x"], "y");
  // With a label selector only matching objects appear.
  auto sel = Call(
      "GET", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1&resourceVersion=" + rv +
                 "&labelSelector=x%3Dy");
  EXPECT_EQ(WatchLines(sel.body).size(), 1u);
}

TEST_F(ApiServerTest, WatchBelowCompactedHistoryIsExpired) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", Pod("p" + std::to_string(i))).code,
              201);
  }
  uint64_t snap = Head() - 1;
  ASSERT_TRUE(log_->CreateSnapshot(snap).ok());
  ASSERT_TRUE(log_->Compact(snap).ok());
  auto stream =
      Call("GET", "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1&resourceVersion=2");
  auto lines = WatchLines(stream.body);
  ASSERT_EQ(lines.size(), 1u) << stream.body;
  EXPECT_EQ(lines[0]["type"], "ERROR");
  EXPECT_EQ(lines[0]["object"]["code"], 410);
  EXPECT_EQ(lines[0]["object"]["reason"], "Expired");
}

TEST_F(ApiServerTest, AuditLogSaysWhoDidWhatAndWhy) {
  const uint64_t start = Head();
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods?korcActor=alice", Pod("a")).code, 201);
  Call("POST", "/api/v1/namespaces/default/pods/a/binding?korcActor=scheduler",
       R"({"target":{"kind":"Node","name":"n1"}})");
  auto r = Call("GET", "/korc/v1/log?since=" + std::to_string(start) + "&kind=pods");
  ASSERT_EQ(r.code, 200) << r.body;
  auto lines = WatchLines(r.body);
  ASSERT_EQ(lines.size(), 2u) << r.body;
  EXPECT_EQ(lines[0]["seq"], start + 1);
  EXPECT_EQ(lines[0]["type"], "ADDED");
  EXPECT_EQ(lines[0]["actor"], "alice");
  EXPECT_EQ(lines[0]["reason"], "created");
  EXPECT_EQ(lines[1]["actor"], "scheduler");
  EXPECT_EQ(lines[1]["reason"], "bound to node n1");
  EXPECT_FALSE(lines[1].contains("object"));
  auto by_actor = WatchLines(Call("GET", "/korc/v1/log?actor=alice&includeObject=true").body);
  ASSERT_EQ(by_actor.size(), 1u);
  EXPECT_EQ(by_actor[0]["object"]["metadata"]["name"], "a");
  EXPECT_EQ(Call("GET", "/korc/v1/log?since=yesterday").code, 400);
}

// Protobuf length-delimited field (wire type 2) with a one-byte length.
std::string Pb(int field, const std::string& bytes) {
  return std::string(1, static_cast<char>(field << 3 | 2)) +
         std::string(1, static_cast<char>(bytes.size())) + bytes;
}

TEST_F(ApiServerTest, ProtobufNamespaceFromNewerKubectl) {
  std::string meta = Pb(1, "pb") + Pb(11, Pb(1, "team") + Pb(2, "a"));
  std::string ns = Pb(1, meta) + Pb(2, Pb(1, "kubernetes"));
  std::string body = std::string("k8s\0", 4) + Pb(1, Pb(1, "v1") + Pb(2, "Namespace")) + Pb(2, ns);
  auto r = Call("POST", "/api/v1/namespaces", body, "application/vnd.kubernetes.protobuf");
  ASSERT_EQ(r.code, 201) << r.body;
  auto got = json::parse(r.body);
  EXPECT_EQ(got["metadata"]["name"], "pb");
  EXPECT_EQ(got["metadata"]["labels"]["team"], "a");
  EXPECT_EQ(got["spec"]["finalizers"][0], "kubernetes");
  const uint64_t head = Head();
  EXPECT_EQ(Call("POST", "/api/v1/namespaces", "k8s", "application/vnd.kubernetes.protobuf").code,
            400);
  EXPECT_EQ(Call("POST", "/api/v1/namespaces", std::string("k8s\0\x0a\x7f", 6),
                 "application/vnd.kubernetes.protobuf")
                .code,
            400);
  std::string pod = std::string("k8s\0", 4) + Pb(1, Pb(1, "v1") + Pb(2, "Pod")) + Pb(2, "");
  EXPECT_EQ(
      Call("POST", "/api/v1/namespaces/default/pods", pod, "application/vnd.kubernetes.protobuf")
          .code,
      415);
  EXPECT_EQ(Head(), head);
}

TEST_F(ApiServerTest, DryRunWritesNothing) {
  const uint64_t head = Head();
  auto r = Call("POST", "/api/v1/namespaces/default/pods?dryRun=All", Pod("dry"));
  ASSERT_EQ(r.code, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["metadata"]["name"], "dry");
  EXPECT_EQ(Call("GET", "/api/v1/namespaces/default/pods/dry").code, 404);
  EXPECT_EQ(Call("POST", "/api/v1/namespaces/default/pods?dryRun=Some", Pod("dry")).code, 400);
  EXPECT_EQ(Head(), head);
}

TEST_F(ApiServerTest, ConcurrentCreatesShareCommits) {
  constexpr int kThreads = 8, kEach = 25;
  uint64_t head = Head();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = Http(port_, "POST", "/api/v1/namespaces/default/pods",
                      Pod("c" + std::to_string(t) + "-" + std::to_string(i)));
        if (r.code == 201) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kEach);
  EXPECT_EQ(Head(), head + kThreads * kEach);
  // Every event is in the log, densely, and the server's view equals a replay.
  auto list = json::parse(Call("GET", "/api/v1/namespaces/default/pods").body);
  EXPECT_EQ(list["items"].size(), static_cast<size_t>(kThreads * kEach));
  std::string metrics = Call("GET", "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("korc_commit_batches_total"));
  EXPECT_THAT(metrics, HasSubstr("verb=\"post\",resource=\"pods\",code=\"201\""));
}

TEST(ApiServerBusTest, EveryCommittedEventGoesOutOnTheBus) {
  char tmpl[] = "/tmp/korc-api-bus-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    auto log = storage::OpenRocksDbEventLog(dir + "/log");
    ASSERT_TRUE(log.ok());
    zmq::context_t ctx;
    auto publisher = bus::MakePublisher(ctx, {"inproc://events"});
    ASSERT_TRUE(publisher.ok()) << publisher.status().ToString();
    auto catch_up = bus::StartCatchUpServer(ctx, **log, "inproc://catch-up");
    ASSERT_TRUE(catch_up.ok());
    ApiServerOptions o;
    o.port = 0;
    auto server = ApiServer::Start(**log, publisher->get(), o);
    ASSERT_TRUE(server.ok());
    bus::SubscriberOptions so;
    so.publisher_endpoint = "inproc://events";
    so.catch_up_endpoint = "inproc://catch-up";
    so.topic_prefixes = {"Pod/"};
    auto sub = bus::Subscribe(ctx, so);
    ASSERT_TRUE(sub.ok());
    auto r = Http((*server)->port(), "POST", "/api/v1/namespaces/default/pods", Pod("onbus"));
    ASSERT_EQ(r.code, 201);
    auto e = (*sub)->Next(std::chrono::seconds(10));
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    ASSERT_TRUE(e->has_value());
    EXPECT_EQ((*e)->kind, "Pod");
    EXPECT_EQ((*e)->name, "onbus");
    EXPECT_EQ((*e)->seq, (*log)->Head());
    EXPECT_EQ((*sub)->position(), (*log)->Head());  // the namespaces before it were seen too
    (*server)->Stop();
  }
  std::filesystem::remove_all(dir);
}

// Components' commands take the HTTP handlers' path, record their provenance, and apply once
// per id — also after a restart of the server.
TEST(ApiServerCommandTest, CommandsAreAdmittedLikeHttpAndAppliedOnce) {
  char tmpl[] = "/tmp/korc-api-cmd-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  zmq::context_t ctx;
  auto send = [&](bus::CommandClient& client, bus::CommandRequest req) {
    EXPECT_TRUE(client.Send(req).ok());
    auto reply = client.Receive(std::chrono::seconds(10));
    EXPECT_TRUE(reply.ok() && reply->has_value());
    return reply.ok() && reply->has_value() ? **reply : bus::CommandReply{};
  };
  bus::CommandRequest create;
  create.tag = 7;
  create.id = "system:controller:replication/41/0";
  create.actor = "system:controller:replication";
  create.cause = 41;
  create.basis = 40;
  create.basis_time_ns = 1'790'000'000'000'000'000;
  create.reason = "scale up: 1 of 1 replicas missing";
  create.method = "POST";
  create.path = "/api/v1/namespaces/default/pods";
  create.content_type = "application/json";
  create.body = Pod("from-a-command");
  for (int run = 0; run < 2; ++run) {  // the second run is a restarted server, same log
    auto log = storage::OpenRocksDbEventLog(dir + "/log");
    ASSERT_TRUE(log.ok());
    ApiServerOptions o;
    o.port = 0;
    o.bus_context = &ctx;
    o.command_endpoint = "inproc://commands-" + std::to_string(run);
    auto server = ApiServer::Start(**log, nullptr, o);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    auto client = bus::ConnectCommandClient(ctx, (*server)->command_endpoint());
    ASSERT_TRUE(client.ok());

    const uint64_t head_before = (*log)->Head();
    bus::CommandReply reply = send(**client, create);
    EXPECT_EQ(reply.tag, 7u);
    EXPECT_EQ(reply.code, run == 0 ? 201 : 200) << reply.body;
    EXPECT_EQ(reply.duplicate, run == 1);
    auto pod = json::parse(reply.body);
    EXPECT_EQ(pod["metadata"]["name"], "from-a-command");
    uint64_t seq = std::stoull(pod["metadata"]["resourceVersion"].get<std::string>());
    EXPECT_EQ(reply.seq, seq);
    if (run == 0) {
      EXPECT_EQ(seq, head_before + 1);
      Event recorded;
      ASSERT_TRUE((*log)
                      ->ReadEvents(seq, seq,
                                   [&](Event& e) {
                                     recorded = e;
                                     return false;
                                   })
                      .ok());
      EXPECT_EQ(recorded.actor, "system:controller:replication");
      EXPECT_EQ(recorded.cause, 41u);
      EXPECT_EQ(recorded.basis, 40u);
      EXPECT_EQ(recorded.basis_time_ns, create.basis_time_ns);
      EXPECT_EQ(recorded.reason, "scale up: 1 of 1 replicas missing");
      EXPECT_EQ(recorded.command, create.id);
      // Sent again (a lost reply): the same answer, nothing new written.
      bus::CommandReply again = send(**client, create);
      EXPECT_EQ(again.code, 200);
      EXPECT_TRUE(again.duplicate);
      EXPECT_EQ(again.seq, seq);
      EXPECT_EQ(json::parse(again.body)["metadata"]["resourceVersion"], std::to_string(seq));
    }
    EXPECT_EQ((*log)->Head(), head_before + (run == 0 ? 1 : 0));

    // Bad input gets the HTTP API's Status and changes nothing.
    bus::CommandRequest bad = create;
    bad.id = "system:controller:replication/41/1";
    bad.body = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name"}})";
    bus::CommandReply refused = send(**client, bad);
    EXPECT_EQ(refused.code, 422);
    EXPECT_EQ(refused.seq, 0u);
    EXPECT_THAT(refused.body, HasSubstr("metadata.name"));
    EXPECT_EQ(json::parse(refused.body)["kind"], "Status");
    EXPECT_EQ((*log)->Head(), head_before + (run == 0 ? 1 : 0));
    (*server)->Stop();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace korc::apiserver
