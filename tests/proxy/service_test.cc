// Services end to end on one real node: the API server allocates the ClusterIP and the
// NodePort, the controllers keep an RC's Pods and their Endpoints, the scheduler binds, the
// kubelet runs busybox httpd Pods that serve their own hostname, and the proxy balances
// requests to the ready ones. Needs root (KORC_REQUIRE: skips outside CI, fails in CI).
//
// Network safety: the binary runs in a network namespace of its own (tests/node_env.h); the
// ClusterIP, the bridge and the Pod addresses exist only there.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "components/kubelet/agent/kubelet.h"
#include "components/kubelet/images/image_store.h"
#include "components/kubelet/network/service_addresses.h"
#include "components/proxy/proxy.h"
#include "components/scheduler/scheduler.h"
#include "core/codec.h"
#include "tests/apiserver/http_client.h"
#include "tests/images/oci_builder.h"
#include "tests/images/registry_fixture.h"
#include "tests/integration/cluster.h"
#include "tests/node_env.h"
#include "tests/proxy/backend.h"
#include "tests/require.h"

namespace korc::proxy {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using korc::testing::Http;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new korc::testing::OwnNetwork);

// GET / on ip:port from the test (the node); the body, "" when nothing answered.
std::string Fetch(const std::string& ip, uint16_t port, const std::string& from = {}) {
  int fd = korc::proxy::testing::Dial(ip, port, from);
  if (fd < 0) return "";
  std::string req = "GET / HTTP/1.0\r\nHost: web\r\n\r\n";
  send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  auto body = out.find("\r\n\r\n");
  if (body == std::string::npos) return "";
  std::string text = out.substr(body + 4);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KORC_REQUIRE(geteuid() == 0, "Pods with their own network and ClusterIPs need root");
    KORC_REQUIRE(korc::testing::g_own_network, "could not make a network namespace for the test");
    KORC_REQUIRE(access("/bin/busybox", X_OK) == 0, "busybox-static is not installed");
    KORC_REQUIRE(!kubelet::DefaultShimPath().empty(), "korc-shim not built next to the test");
    controllers::ControllerManagerOptions manager;
    ASSERT_TRUE(cluster_.Start(&manager).ok());
    scheduler_ = std::make_unique<reactor::Runtime>(cluster_.ctx(), scheduler_reducer_,
                                                    cluster_.runtime_options());
    scheduler_thread_ = std::thread([this] { (void)scheduler_->Run(stop_); });
    char tmpl[] = "/tmp/korc-service-XXXXXX";
    dir_ = mkdtemp(tmpl);
    {
      auto store = kubelet::images::ImageStore::Open(dir_ + "/node/images");
      ASSERT_TRUE(store.ok()) << store.status().message();
      auto img =
          (*store)->Import("busybox:latest", korc::testing::BuildBusyboxRoot(dir_ + "/busybox"));
      ASSERT_TRUE(img.ok()) << img.status().message();
    }
    ProxyOptions po;
    po.bus = cluster_.runtime_options();
    auto p = Proxy::Start(cluster_.ctx(), po);
    ASSERT_TRUE(p.ok()) << p.status().message();
    proxy_ = std::move(*p);
    kubelet::KubeletOptions o;
    o.node_name = "node-a";
    o.data_dir = dir_ + "/node";
    o.pod_cidr = "10.250.0.0/24";
    o.stop_pods_on_exit = true;
    o.bus = cluster_.runtime_options();
    // docker.io's images (the seed's `mysql`) come from a registry on this test's loopback.
    if (korc::testing::LocalRegistry::MissingTools().empty()) {
      ASSERT_TRUE(registry_.Start().ok());
      o.registry_mirrors["docker.io"] = registry_.address();
    }
    Proxier* proxier = &proxy_->proxier();
    o.metrics = [proxier] { return proxier->PrometheusText(); };
    auto k = kubelet::Kubelet::Start(cluster_.ctx(), o);
    ASSERT_TRUE(k.ok()) << k.status().message();
    kubelet_ = std::move(*k);
  }

  void TearDown() override {
    if (kubelet_) kubelet_->Stop();
    kubelet_.reset();
    std::string link;
    if (proxy_) {
      link = proxy_->address_link();
      proxy_->Stop();
    }
    proxy_.reset();
    stop_ = true;
    if (scheduler_thread_.joinable()) scheduler_thread_.join();
    if (!link.empty()) {
      auto left = kubelet::network::ServiceAddresses::Open();
      ASSERT_TRUE(left.ok());
      auto ips = (*left)->List();
      ASSERT_TRUE(ips.ok());
      EXPECT_TRUE(ips->empty()) << "ClusterIPs left on " << link;
      (void)(*left)->Clear();
    }
    if (dir_.empty()) return;
    std::error_code ec;
    umount2((dir_ + "/node/network/netns").c_str(), MNT_DETACH);
    fs::remove_all(dir_, ec);
  }

  korc::testing::HttpResult Call(const std::string& method, const std::string& target,
                                 const std::string& body = {},
                                 const std::string& content_type = "application/json") {
    return Http(cluster_.port(), method, target, body, content_type);
  }

  json Get(const std::string& target) {
    auto r = Call("GET", target);
    return r.code == 200 ? json::parse(r.body) : json();
  }

  // The ready addresses of the Service's Endpoints (Pod names).
  std::set<std::string> ReadyPods() {
    json ep = Get("/api/v1/namespaces/default/endpoints/web");
    std::set<std::string> out;
    if (ep.is_null()) return out;
    for (const auto& s : ep.value("subsets", json::array())) {
      for (const auto& a : s.value("addresses", json::array())) {
        out.insert(a["targetRef"]["name"].get<std::string>());
      }
    }
    return out;
  }

  std::set<std::string> WaitReady(size_t n, std::chrono::seconds timeout = 60s) {
    const auto deadline = Clock::now() + timeout;
    std::set<std::string> pods;
    while (Clock::now() < deadline) {
      pods = ReadyPods();
      if (pods.size() == n) return pods;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "endpoints never had " << n << " ready addresses; last " << pods.size();
    return pods;
  }

  // Who answers `n` requests through ip:port (the names of the Pods, in a multiset).
  std::multiset<std::string> Ask(const std::string& ip, uint16_t port, int n,
                                 const std::string& from = {}) {
    std::multiset<std::string> out;
    for (int i = 0; i < n; ++i) out.insert(Fetch(ip, port, from));
    return out;
  }

  static std::set<std::string> Distinct(const std::multiset<std::string>& m) {
    return std::set<std::string>(m.begin(), m.end());
  }

  // Waits until what answers through ip:port (asked 12 times) is exactly `want`: the proxy
  // applies an Endpoints change as soon as its bus delivers it, a few ms later.
  void ExpectAnswers(const std::string& ip, uint16_t port, const std::set<std::string>& want) {
    const auto deadline = Clock::now() + 10s;
    std::set<std::string> got;
    while (Clock::now() < deadline) {
      got = Distinct(Ask(ip, port, 12));
      if (got == want) return;
      std::this_thread::sleep_for(100ms);
    }
    ADD_FAILURE() << "answered by " << json(got).dump() << ", want " << json(want).dump();
  }

  void Scale(int replicas) {
    auto r = Call("PATCH", "/api/v1/namespaces/default/replicationcontrollers/web",
                  json{{"spec", {{"replicas", replicas}}}}.dump(), "application/merge-patch+json");
    ASSERT_EQ(r.code, 200) << r.body;
  }

  std::string VolumeDir(const std::string& pod) {
    json p = Get("/api/v1/namespaces/default/pods/" + pod);
    return dir_ + "/node/runtime/sandboxes/" + p["metadata"]["uid"].get<std::string>() +
           "/volumes/data";
  }

  korc::testing::TestCluster cluster_;
  scheduler::SchedulerReducer scheduler_reducer_;
  std::unique_ptr<reactor::Runtime> scheduler_;
  std::thread scheduler_thread_;
  std::atomic<bool> stop_{false};
  std::string dir_;
  korc::testing::LocalRegistry registry_;
  std::unique_ptr<Proxy> proxy_;
  std::unique_ptr<kubelet::Kubelet> kubelet_;
};

// The RC of the issue: three httpd Pods that each serve their own hostname, ready while
// httpd answers and /data/ready exists (the test takes a Pod out of rotation by removing it).
json WebRc(int replicas) {
  json container = {
      {"name", "httpd"},
      {"image", "busybox"},
      {"imagePullPolicy", "Never"},
      // On TERM it keeps serving for a second before it stops, as a Pod behind a Service
      // should: the endpoints controller and the proxy take the Pod out of rotation in
      // that time, so no request in flight is cut off.
      {"command",
       {"sh", "-c",
        "hostname > /data/index.html; touch /data/ready; httpd -f -p 80 -h /data & pid=$!; "
        "trap 'sleep 1; kill $pid; exit 0' TERM; wait $pid"}},
      {"ports", {{{"containerPort", 80}}}},
      {"volumeMounts", {{{"name", "data"}, {"mountPath", "/data"}}}},
      {"readinessProbe",
       {{"exec",
         {{"command",
           {"sh", "-c", "test -f /data/ready && wget -q -O /dev/null http://127.0.0.1/"}}}},
        {"periodSeconds", 1},
        {"failureThreshold", 1}}}};
  return {{"apiVersion", "v1"},
          {"kind", "ReplicationController"},
          {"metadata", {{"name", "web"}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"app", "web"}}},
            {"template",
             {{"metadata", {{"labels", {{"app", "web"}}}}},
              {"spec",
               {{"terminationGracePeriodSeconds", 2},
                {"containers", {container}},
                {"volumes", {{{"name", "data"}, {"emptyDir", json::object()}}}}}}}}}}};
}

TEST_F(ServiceTest, ClusterIpBalancesOverTheReadyPodsOfAnRc) {
  auto svc = Call("POST", "/api/v1/namespaces/default/services",
                  json{{"apiVersion", "v1"},
                       {"kind", "Service"},
                       {"metadata", {{"name", "web"}}},
                       {"spec",
                        {{"type", "NodePort"},
                         {"selector", {{"app", "web"}}},
                         {"ports", {{{"port", 8080}, {"targetPort", 80}}}}}}}
                      .dump());
  ASSERT_EQ(svc.code, 201) << svc.body;
  json service = json::parse(svc.body);
  const std::string ip = service["spec"]["clusterIP"];
  const uint16_t node_port = service["spec"]["ports"][0]["nodePort"];
  ASSERT_FALSE(ip.empty());
  ASSERT_GE(node_port, 30000);
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/replicationcontrollers", WebRc(3).dump()).code,
            201);
  std::set<std::string> pods = WaitReady(3);
  ASSERT_EQ(pods.size(), 3u);

  // From the node: every Pod answers, in turn.
  auto answers = Ask(ip, 8080, 12);
  EXPECT_EQ(Distinct(answers), pods);
  for (const auto& p : pods) EXPECT_EQ(answers.count(p), 4u) << p;

  // NodePort answers on the node's address.
  EXPECT_EQ(Distinct(Ask("127.0.0.1", node_port, 6)), pods);

  // From another Pod, which finds the Service through its environment variables.
  json client = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"name", "client"}}},
      {"spec",
       {{"restartPolicy", "Never"},
        {"containers",
         {{{"name", "c"},
           {"image", "busybox"},
           {"imagePullPolicy", "Never"},
           {"command",
            {"sh", "-c",
             "echo host=$WEB_SERVICE_HOST port=$WEB_SERVICE_PORT; for i in 1 2 3 4 5 6 7 8 9; do "
             "wget -q -O - http://$WEB_SERVICE_HOST:$WEB_SERVICE_PORT/; done"}}}}}}}};
  ASSERT_EQ(Call("POST", "/api/v1/namespaces/default/pods", client.dump()).code, 201);
  const auto deadline = Clock::now() + 60s;
  json pod;
  while (Clock::now() < deadline) {
    pod = Get("/api/v1/namespaces/default/pods/client");
    if (pod.contains("status") && pod["status"].value("phase", "") == "Succeeded") break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(pod["status"].value("phase", ""), "Succeeded") << pod.dump(1);
  auto log = Call("GET", "/api/v1/namespaces/default/pods/client/log");
  ASSERT_EQ(log.code, 200) << log.body;
  EXPECT_NE(log.body.find("host=" + ip + " port=8080"), std::string::npos) << log.body;
  for (const auto& p : pods) EXPECT_NE(log.body.find(p), std::string::npos) << log.body;

  // Readiness: a Pod whose probe fails leaves the rotation, and comes back.
  const std::string out = *pods.begin();
  const std::string ready_file = VolumeDir(out) + "/ready";
  ASSERT_TRUE(fs::remove(ready_file));
  std::set<std::string> rest = pods;
  rest.erase(out);
  WaitReady(2);
  ExpectAnswers(ip, 8080, rest);
  std::ofstream(ready_file).put('\n');
  WaitReady(3);
  ExpectAnswers(ip, 8080, pods);

  // ClientIP affinity: one client keeps one Pod.
  auto patch = Call("PATCH", "/api/v1/namespaces/default/services/web",
                    R"({"spec":{"sessionAffinity":"ClientIP"}})", "application/merge-patch+json");
  ASSERT_EQ(patch.code, 200) << patch.body;
  {
    const auto until = Clock::now() + 10s;
    std::set<std::string> got;
    while (Clock::now() < until) {
      got = Distinct(Ask(ip, 8080, 8, "127.0.0.5"));
      if (got.size() == 1) break;
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(got.size(), 1u);
    EXPECT_EQ(Distinct(Ask(ip, 8080, 8, "127.0.0.5")), got);
  }
  ASSERT_EQ(Call("PATCH", "/api/v1/namespaces/default/services/web",
                 R"({"spec":{"sessionAffinity":"None","sessionAffinityConfig":null}})",
                 "application/merge-patch+json")
                .code,
            200);

  // Deleting a Pod: the Service keeps answering every request while the RC replaces it.
  ASSERT_EQ(Call("DELETE", "/api/v1/namespaces/default/pods/" + out).code, 200);
  {
    const auto until = Clock::now() + 4s;
    int asked = 0;
    while (Clock::now() < until) {
      auto t0 = Clock::now();
      EXPECT_FALSE(Fetch(ip, 8080).empty())
          << "request " << asked << " went unanswered after "
          << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()
          << " ms; " << proxy_->proxier().PrometheusText();
      ++asked;
    }
  }
  std::set<std::string> replaced = WaitReady(3);
  EXPECT_FALSE(replaced.contains(out));
  ExpectAnswers(ip, 8080, replaced);

  // Scaling the RC changes the set.
  Scale(1);
  std::set<std::string> one = WaitReady(1);
  ExpectAnswers(ip, 8080, one);
  Scale(2);
  std::set<std::string> two = WaitReady(2);
  ExpectAnswers(ip, 8080, two);

  // The kubelet endpoint serves the proxy's counters.
  auto metrics = Http(kubelet_->port(), "GET", "/metrics");
  ASSERT_EQ(metrics.code, 200);
  EXPECT_NE(metrics.body.find("korc_proxy_connections_total{service=\"default/web\""),
            std::string::npos)
      << metrics.body;

  // Deleting the Service: its address stops answering at once.
  ASSERT_EQ(Call("DELETE", "/api/v1/namespaces/default/services/web").code, 200);
  auto answers_at_all = [&] {
    int fd = korc::proxy::testing::Dial(ip, 8080);
    if (fd >= 0) close(fd);
    return fd >= 0;
  };
  const auto until = Clock::now() + 5s;
  while (Clock::now() < until && answers_at_all()) std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(answers_at_all());
}

std::string ReadSource(const std::string& path) {
  std::ifstream in(std::string(KORC_SOURCE) + "/" + path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The seed's example as written (examples/seed.yaml: an RC of `image: mysql` and its
// Service), the node pulling docker.io's mysql from a mirror that serves the stand-in image
// of examples/mysql-standin/ (busybox with MySQL's entrypoint contract).
TEST_F(ServiceTest, TheSeedsMysqlRcRunsFromARegistry) {
  KORC_REQUIRE(registry_.running(), "the seed's image comes from a local registry: " +
                                        korc::testing::LocalRegistry::MissingTools());
  auto layout = korc::testing::OciLayoutBuilder::Create(dir_ + "/mysql-layout");
  ASSERT_TRUE(layout.ok());
  auto entries = korc::testing::BusyboxEntries();
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  auto base = layout->AddLayer(*entries);
  const std::string entrypoint = ReadSource("examples/mysql-standin/docker-entrypoint.sh");
  ASSERT_FALSE(entrypoint.empty());
  auto top = layout->AddLayer(
      {korc::testing::Entry::Dir("usr"), korc::testing::Entry::Dir("usr/local"),
       korc::testing::Entry::Dir("usr/local/bin"),
       korc::testing::Entry::File("usr/local/bin/docker-entrypoint.sh", entrypoint, 0755)});
  ASSERT_TRUE(base.ok() && top.ok());
  korc::testing::ImageConfig config;
  config.entrypoint = {"docker-entrypoint.sh"};
  config.cmd = {"mysqld"};
  auto image = layout->AddImage({}, {*base, *top}, config);
  ASSERT_TRUE(image.ok() && layout->Write("latest", *image).ok());
  auto digest = registry_.Push(layout->dir(), "latest", "library/mysql:latest");
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();

  auto docs = DecodeYamlStream(ReadSource("examples/seed.yaml"));
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  for (const auto& doc : *docs) {
    const std::string resource = std::holds_alternative<api::Service>(doc.decoded.object)
                                     ? "services"
                                     : "replicationcontrollers";
    auto r = Call("POST", "/api/v1/namespaces/default/" + resource, EncodeJson(doc.decoded.object));
    ASSERT_EQ(r.code, 201) << r.body;
  }
  const auto deadline = Clock::now() + 60s;
  json pods;
  std::string pod;
  while (Clock::now() < deadline && pod.empty()) {
    pods = Get("/api/v1/namespaces/default/pods?labelSelector=app%3Dmysql");
    for (const auto& p : pods.value("items", json::array())) {
      for (const auto& c : p["status"].value("containerStatuses", json::array())) {
        if (c.value("ready", false)) pod = p["metadata"]["name"];
      }
    }
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_FALSE(pod.empty()) << "no Ready mysql Pod: " << pods.dump(1);
  json p = Get("/api/v1/namespaces/default/pods/" + pod);
  const json& status = p["status"]["containerStatuses"][0];
  EXPECT_EQ(status["image"], "mysql");
  EXPECT_EQ(status["imageID"], "docker.io/library/mysql@" + *digest);
  // Through the Service: the stand-in answers with the name of the Pod it runs in.
  json service = Get("/api/v1/namespaces/default/services/mysql");
  const std::string ip = service["spec"]["clusterIP"];
  ASSERT_FALSE(ip.empty());
  ExpectAnswers(ip, 3306, {pod});
}

}  // namespace
}  // namespace korc::proxy
