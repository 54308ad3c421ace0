// The kubelet against a real API server and real containers: a busybox image built from
// Debian's busybox-static, the process runtime with namespaces, cgroups and a network per
// Pod. Needs root (KORC_REQUIRE: skips outside CI, fails in CI).
//
// Network safety: the whole test binary moves into a network (and mount) namespace of its
// own before any test runs, with only loopback up, so the node's bridge and the Pods'
// addresses exist only there and nothing has a route off the machine.
#include "components/kubelet/agent/kubelet.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "components/kubelet/images/image_store.h"
#include "components/kubelet/prober/prober.h"
#include "components/kubelet/runtime/runtime.h"
#include "tests/apiserver/http_client.h"
#include "tests/images/oci_builder.h"
#include "tests/images/registry_fixture.h"
#include "tests/integration/cluster.h"
#include "tests/node_env.h"
#include "tests/require.h"

namespace korc::kubelet {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using korc::testing::Http;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

using korc::testing::BuildBusyboxRoot;
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new korc::testing::OwnNetwork);

class KubeletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KORC_REQUIRE(geteuid() == 0, "the kubelet's containers need root (namespaces, cgroups)");
    KORC_REQUIRE(korc::testing::g_own_network, "could not make a network namespace for the test");
    KORC_REQUIRE(access("/bin/busybox", X_OK) == 0, "busybox-static is not installed");
    KORC_REQUIRE(!DefaultShimPath().empty(), "korc-shim not built next to the test");
    if (const char* rt = getenv("KORC_TEST_RUNTIME"); rt != nullptr && std::string(rt) == "runc") {
      KORC_REQUIRE(access("/usr/sbin/runc", X_OK) == 0 || access("/usr/bin/runc", X_OK) == 0,
                   "runc is not installed");
    }
    ASSERT_TRUE(cluster_.Start().ok());
    char tmpl[] = "/tmp/korc-kubelet-XXXXXX";
    dir_ = mkdtemp(tmpl);
    {
      auto store = images::ImageStore::Open(dir_ + "/node/images");
      ASSERT_TRUE(store.ok()) << store.status().message();
      auto img = (*store)->Import("busybox:latest", BuildBusyboxRoot(dir_ + "/busybox"));
      ASSERT_TRUE(img.ok()) << img.status().message();
    }
    StartKubelet();
  }

  void TearDown() override {
    if (kubelet_) {
      kubelet_->Stop();
      kubelet_.reset();
    }
    if (dir_.empty()) return;
    // Whatever a test left running goes now; then nothing of it may remain.
    StartKubelet(/*stop_pods_on_exit=*/true);
    kubelet_->Stop();
    kubelet_.reset();
    EXPECT_EQ(Shims(), 0) << "korc-shim processes left behind";
    EXPECT_TRUE(fs::is_empty(dir_ + "/node/runtime/sandboxes")) << "sandboxes left behind";
    std::ifstream mounts("/proc/self/mounts");
    std::string line;
    while (std::getline(mounts, line)) {
      EXPECT_EQ(line.find(dir_ + "/node/runtime"), std::string::npos) << "mount left: " << line;
    }
    // In every hierarchy, including those korc does not manage (runc makes cgroups there).
    std::error_code cg_ec;
    for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", cg_ec)) {
      for (const auto& uid : uids_) {
        EXPECT_FALSE(fs::exists(h.path() / ("korc/pod" + uid)))
            << "cgroup left: " << h.path() << "/korc/pod" << uid;
      }
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ + "/node/network/netns", ec)) {
      ADD_FAILURE() << "network namespace left: " << e.path();
    }
    umount2((dir_ + "/node/network/netns").c_str(), MNT_DETACH);
    fs::remove_all(dir_, ec);
  }

  void StartKubelet(bool stop_pods_on_exit = false) {
    KubeletOptions o;
    o.node_name = "node-a";
    o.data_dir = dir_ + "/node";
    o.pod_cidr = "10.250.0.0/24";
    o.backoff_initial = 1s;
    o.backoff_max = 4s;
    o.lease_renew_period = 1s;
    o.stop_pods_on_exit = stop_pods_on_exit;
    // The same tests run once per runtime (meson registers kubelet_runc_test).
    if (const char* rt = getenv("KORC_TEST_RUNTIME"); rt != nullptr) o.runtime = rt;
    o.bus = cluster_.runtime_options();
    auto k = Kubelet::Start(cluster_.ctx(), o);
    ASSERT_TRUE(k.ok()) << k.status().message();
    kubelet_ = std::move(*k);
  }

  // korc-shim processes whose container directory is under this test's dir.
  int Shims() const {
    int n = 0;
    std::error_code ec;
    for (const auto& p : fs::directory_iterator("/proc", ec)) {
      std::ifstream cmd(p.path() / "cmdline");
      std::string s((std::istreambuf_iterator<char>(cmd)), {});
      if (s.find("korc-shim") != std::string::npos && s.find(dir_) != std::string::npos) ++n;
    }
    return n;
  }

  korc::testing::HttpResult Call(const std::string& method, const std::string& target,
                                 const std::string& body = {}) {
    return Http(cluster_.port(), method, target, body);
  }

  void CreatePod(json pod) {
    pod["apiVersion"] = "v1";
    pod["kind"] = "Pod";
    pod["spec"]["nodeName"] = "node-a";
    auto r = Call("POST", "/api/v1/namespaces/default/pods", pod.dump());
    ASSERT_EQ(r.code, 201) << r.body;
    uids_.push_back(json::parse(r.body)["metadata"]["uid"]);
  }

  json GetPod(const std::string& name) {
    auto r = Call("GET", "/api/v1/namespaces/default/pods/" + name);
    if (r.code != 200) return json();
    return json::parse(r.body);
  }

  // Waits until `pred(pod)` holds; the last pod seen when it does not.
  json WaitPod(const std::string& name, const std::function<bool(const json&)>& pred,
               std::chrono::seconds timeout = 30s) {
    const auto deadline = Clock::now() + timeout;
    json pod;
    while (Clock::now() < deadline) {
      pod = GetPod(name);
      if (!pod.is_null() && pred(pod)) return pod;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "pod " << name << " did not get there; last: " << pod.dump(1);
    return pod;
  }

  static const json* Status(const json& pod, const std::string& container) {
    if (!pod.contains("status") || !pod["status"].contains("containerStatuses")) return nullptr;
    for (const auto& c : pod["status"]["containerStatuses"]) {
      if (c["name"] == container) return &c;
    }
    return nullptr;
  }

  static bool Ready(const json& pod) {
    if (!pod.contains("status")) return false;
    for (const auto& c : pod["status"].value("conditions", json::array())) {
      if (c["type"] == "Ready") return c["status"] == "True";
    }
    return false;
  }

  std::string VolumeDir(const json& pod, const std::string& volume) {
    return dir_ + "/node/runtime/sandboxes/" + pod["metadata"]["uid"].get<std::string>() +
           "/volumes/" + volume;
  }

  void DeleteAndWaitGone(const std::string& name, std::chrono::seconds timeout = 30s) {
    auto r = Call("DELETE", "/api/v1/namespaces/default/pods/" + name);
    ASSERT_TRUE(r.code == 200 || r.code == 202) << r.body;
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (Call("GET", "/api/v1/namespaces/default/pods/" + name).code == 404) return;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "pod " << name << " still there: " << GetPod(name).dump(1);
  }

  korc::testing::TestCluster cluster_;
  std::string dir_;
  std::unique_ptr<Kubelet> kubelet_;
  std::vector<std::string> uids_;  // of the Pods this test created
};

json Container(const std::string& name, const std::string& script,
               const std::string& shared_at = {}) {
  // The image is imported, not pulled: IfNotPresent (busybox means :latest, whose default
  // policy, Always, would ask Docker Hub).
  json c = {{"name", name},
            {"image", "busybox"},
            {"imagePullPolicy", "IfNotPresent"},
            {"command", {"sh", "-c", script}}};
  if (!shared_at.empty()) c["volumeMounts"] = {{{"name", "shared"}, {"mountPath", shared_at}}};
  return c;
}

TEST_F(KubeletTest, RegistersNodeAndLease) {
  const auto deadline = Clock::now() + 20s;
  json node;
  while (Clock::now() < deadline) {
    auto r = Call("GET", "/api/v1/nodes/node-a");
    if (r.code == 200) {
      node = json::parse(r.body);
      if (Call("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-a")
              .code == 200) {
        break;
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_FALSE(node.is_null());
  EXPECT_EQ(node["spec"]["podCIDR"], "10.250.0.0/24");
  EXPECT_TRUE(node["status"]["capacity"].contains("cpu"));
  EXPECT_TRUE(node["status"]["capacity"].contains("memory"));
  EXPECT_EQ(node["status"]["capacity"]["pods"], "110");
  EXPECT_EQ(node["status"]["nodeInfo"].size(), 10u);
  EXPECT_NE(node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"], 0);
  EXPECT_EQ(node["status"]["addresses"][0]["type"], "InternalIP");
  // Renewals write the Lease, not the Node.
  const std::string rv = node["metadata"]["resourceVersion"];
  std::this_thread::sleep_for(2500ms);
  auto again = json::parse(Call("GET", "/api/v1/nodes/node-a").body);
  EXPECT_EQ(again["metadata"]["resourceVersion"], rv);
  auto lease = json::parse(
      Call("GET", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-a").body);
  EXPECT_EQ(lease["spec"]["holderIdentity"], "node-a");
}

// The seed's Pod: containers sharing one network namespace and a volume.
TEST_F(KubeletTest, TwoContainersShareLocalhostAndAnEmptyDir) {
  CreatePod({{"metadata", {{"name", "pair"}}},
             {"spec",
              {{"terminationGracePeriodSeconds", 2},
               {"volumes", {{{"name", "shared"}, {"emptyDir", json::object()}}}},
               {"containers",
                {Container("server",
                           "mkdir -p /www && echo hello-from-a > /www/index.html && "
                           "echo a-was-here > /shared/from-a && exec httpd -f -p 8080 -h /www",
                           "/shared"),
                 Container("client",
                           "until wget -q -O /shared/fetched http://127.0.0.1:8080/; do sleep "
                           "0.1; done; cat /shared/from-a > /shared/b-tmp; mv /shared/b-tmp "
                           "/shared/b-saw; exec sleep 3600",
                           "/shared")}}}}});
  json pod = WaitPod("pair", [](const json& p) { return Ready(p); });
  EXPECT_EQ(pod["status"]["phase"], "Running");
  const std::string ip = pod["status"].value("podIP", "");
  EXPECT_EQ(ip.rfind("10.250.0.", 0), 0u) << ip;
  const std::string vol = VolumeDir(pod, "shared");
  const auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline && !fs::exists(vol + "/b-saw")) std::this_thread::sleep_for(50ms);
  std::ifstream fetched(vol + "/fetched"), saw(vol + "/b-saw");
  std::string a, b;
  std::getline(fetched, a);
  std::getline(saw, b);
  EXPECT_EQ(a, "hello-from-a");  // B reached A on localhost
  EXPECT_EQ(b, "a-was-here");    // and read what A wrote to the shared volume
  // The node reaches the Pod at its IP over the bridge.
  api::HttpGetAction get;
  get.path = "/";
  EXPECT_TRUE(prober::ProbeHttp(ip, 8080, get, 2000).ok());
  DeleteAndWaitGone("pair");
  EXPECT_FALSE(fs::exists(vol)) << "the emptyDir goes with the Pod";
}

TEST_F(KubeletTest, CrashingContainerBacksOff) {
  CreatePod({{"metadata", {{"name", "crash"}}},
             {"spec",
              {{"terminationGracePeriodSeconds", 1},
               {"containers", {Container("c", "echo boom; exit 2")}}}}});
  json pod = WaitPod("crash", [](const json& p) {
    const json* c = Status(p, "c");
    return c && (*c)["restartCount"].get<int>() >= 2 && (*c)["state"].contains("waiting") &&
           (*c)["state"]["waiting"]["reason"] == "CrashLoopBackOff";
  });
  const json* c = Status(pod, "c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ((*c)["lastState"]["terminated"]["exitCode"], 2);
  EXPECT_EQ((*c)["lastState"]["terminated"]["reason"], "Error");
  EXPECT_EQ(pod["status"]["phase"], "Running");
  DeleteAndWaitGone("crash");
}

TEST_F(KubeletTest, RestartPolicyOnFailureAndNever) {
  CreatePod(
      {{"metadata", {{"name", "ok-once"}}},
       {"spec", {{"restartPolicy", "OnFailure"}, {"containers", {Container("c", "exit 0")}}}}});
  CreatePod({{"metadata", {{"name", "fail-never"}}},
             {"spec", {{"restartPolicy", "Never"}, {"containers", {Container("c", "exit 3")}}}}});
  CreatePod(
      {{"metadata", {{"name", "fail-onfailure"}}},
       {"spec", {{"restartPolicy", "OnFailure"}, {"containers", {Container("c", "exit 1")}}}}});
  json ok = WaitPod("ok-once",
                    [](const json& p) { return p["status"].value("phase", "") == "Succeeded"; });
  EXPECT_EQ((*Status(ok, "c"))["state"]["terminated"]["reason"], "Completed");
  EXPECT_EQ((*Status(ok, "c"))["restartCount"], 0);
  json never = WaitPod("fail-never",
                       [](const json& p) { return p["status"].value("phase", "") == "Failed"; });
  EXPECT_EQ((*Status(never, "c"))["state"]["terminated"]["exitCode"], 3);
  EXPECT_EQ((*Status(never, "c"))["restartCount"], 0);
  WaitPod("fail-onfailure", [](const json& p) {
    const json* c = Status(p, "c");
    return c && (*c)["restartCount"].get<int>() >= 1;
  });
  DeleteAndWaitGone("ok-once");
  DeleteAndWaitGone("fail-never");
  DeleteAndWaitGone("fail-onfailure");
}

TEST_F(KubeletTest, LivenessFailureRestartsTheContainer) {
  json c = Container("c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600");
  c["livenessProbe"] = {{"exec", {{"command", {"cat", "/tmp/healthy"}}}},
                        {"periodSeconds", 1},
                        {"failureThreshold", 1}};
  CreatePod({{"metadata", {{"name", "live"}}},
             {"spec", {{"terminationGracePeriodSeconds", 1}, {"containers", {c}}}}});
  WaitPod("live", [](const json& p) { return Ready(p); });
  json pod = WaitPod("live", [](const json& p) {
    const json* c = Status(p, "c");
    return c && (*c)["restartCount"].get<int>() >= 1;
  });
  DeleteAndWaitGone("live");
}

TEST_F(KubeletTest, ReadinessProbeDrivesReady) {
  json c = Container("c", "exec sleep 3600");
  c["readinessProbe"] = {{"exec", {{"command", {"test", "-f", "/data/ready"}}}},
                         {"periodSeconds", 1}};
  c["volumeMounts"] = {{{"name", "data"}, {"mountPath", "/data"}}};
  CreatePod({{"metadata", {{"name", "ready"}}},
             {"spec",
              {{"terminationGracePeriodSeconds", 1},
               {"volumes", {{{"name", "data"}, {"emptyDir", json::object()}}}},
               {"containers", {c}}}}});
  json pod = WaitPod("ready", [](const json& p) {
    const json* c = Status(p, "c");
    return c && (*c)["state"].contains("running");
  });
  EXPECT_FALSE(Ready(pod));
  const std::string flag = VolumeDir(pod, "data") + "/ready";
  std::ofstream(flag) << "yes";
  WaitPod("ready", [](const json& p) { return Ready(p); });
  fs::remove(flag);
  WaitPod("ready", [](const json& p) { return !Ready(p); });
  DeleteAndWaitGone("ready");
}

TEST_F(KubeletTest, GracefulTermination) {
  // Handles SIGTERM: gone well before its grace period.
  CreatePod(
      {{"metadata", {{"name", "polite"}}},
       {"spec",
        {{"terminationGracePeriodSeconds", 20},
         {"containers", {Container("c", "trap 'exit 0' TERM; while true; do sleep 0.1; done")}}}}});
  // Ignores it: killed once its 2 s are up.
  CreatePod({{"metadata", {{"name", "stubborn"}}},
             {"spec",
              {{"terminationGracePeriodSeconds", 2},
               {"containers", {Container("c", "trap '' TERM; while true; do sleep 0.1; done")}}}}});
  WaitPod("polite", [](const json& p) { return Ready(p); });
  WaitPod("stubborn", [](const json& p) { return Ready(p); });
  auto t0 = Clock::now();
  DeleteAndWaitGone("polite");
  EXPECT_LT(Clock::now() - t0, 10s);
  t0 = Clock::now();
  DeleteAndWaitGone("stubborn");
  const auto took = Clock::now() - t0;
  EXPECT_GE(took, 2s);
  EXPECT_LT(took, 15s);
}

std::string WaitingReason(const json& pod, const std::string& container) {
  if (!pod.contains("status") || !pod["status"].contains("containerStatuses")) return "";
  for (const auto& c : pod["status"]["containerStatuses"]) {
    if (c["name"] == container && c["state"].contains("waiting")) {
      return c["state"]["waiting"].value("reason", "");
    }
  }
  return "";
}

TEST_F(KubeletTest, NeverPullsOnlyWhatTheStoreHas) {
  CreatePod({{"metadata", {{"name", "noimage"}}},
             {"spec",
              {{"terminationGracePeriodSeconds", 1},
               {"containers",
                {{{"name", "c"}, {"image", "nosuch:1.0"}, {"imagePullPolicy", "Never"}}}}}}});
  json pod = WaitPod("noimage",
                     [](const json& p) { return WaitingReason(p, "c") == "ErrImageNeverPull"; });
  const std::string msg = (*Status(pod, "c"))["state"]["waiting"]["message"];
  EXPECT_EQ(msg, "Container image \"nosuch:1.0\" is not present with pull policy of Never");
  EXPECT_EQ(pod["status"]["phase"], "Pending");
  DeleteAndWaitGone("noimage");
}

// Images from a registry (Debian's docker-registry on this test's loopback).
class KubeletPullTest : public KubeletTest {
 protected:
  void SetUp() override {
    KORC_REQUIRE(korc::testing::LocalRegistry::MissingTools().empty(),
                 "pulls need a local registry: " + korc::testing::LocalRegistry::MissingTools());
    KubeletTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    ASSERT_TRUE(registry_.Start().ok());
  }
  void TearDown() override {
    KubeletTest::TearDown();
    registry_.Stop();
  }

  // busybox with `config`, pushed as `repo_tag`; its manifest digest.
  std::string PushBusybox(const std::string& repo_tag, const korc::testing::ImageConfig& config) {
    auto b = korc::testing::OciLayoutBuilder::Create(dir_ + "/layout-" + std::to_string(pushes_++));
    EXPECT_TRUE(b.ok());
    auto entries = korc::testing::BusyboxEntries();
    EXPECT_TRUE(entries.ok()) << entries.status().ToString();
    entries->push_back(korc::testing::Entry::Dir("srv"));
    auto layer = b->AddLayer(*entries);
    EXPECT_TRUE(layer.ok()) << layer.status().ToString();
    auto image = b->AddImage({}, {*layer}, config);
    EXPECT_TRUE(image.ok() && b->Write("t", *image).ok());
    auto digest = registry_.Push(b->dir(), "t", repo_tag);
    EXPECT_TRUE(digest.ok()) << digest.status().ToString();
    return digest.ok() ? *digest : "";
  }

  std::string LogOf(const std::string& pod, const std::string& want) {
    korc::testing::HttpResult r;
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      r = Call("GET", "/api/v1/namespaces/default/pods/" + pod + "/log");
      if (r.code == 200 && r.body.find(want) != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
    return r.body;
  }

  korc::testing::LocalRegistry registry_;
  int pushes_ = 0;
};

TEST_F(KubeletPullTest, PullsAnImageAndRunsWhatItsConfigSays) {
  korc::testing::ImageConfig config;
  config.entrypoint = {"/bin/sh", "-c"};
  config.cmd = {"echo \"$GREETING from $(pwd) as $(id -u):$(id -g)\"; exec sleep 3600"};
  config.env.push_back("GREETING=hello");
  config.working_dir = "/srv";
  config.user = "nobody";
  const std::string ref = registry_.address() + "/demo/busybox:1";
  const std::string digest = PushBusybox("demo/busybox:1", config);
  ASSERT_FALSE(digest.empty());
  CreatePod({{"metadata", {{"name", "pulled"}}},
             {"spec",
              {{"terminationGracePeriodSeconds", 1},
               {"containers", {{{"name", "c"}, {"image", ref}}}}}}});
  json pod = WaitPod("pulled", [](const json& p) { return Ready(p); });
  const json* c = Status(pod, "c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ((*c)["image"], ref);
  EXPECT_EQ((*c)["imageID"], registry_.address() + "/demo/busybox@" + digest);
  EXPECT_NE(LogOf("pulled", "hello from /srv").find("hello from /srv as 65534:65534"),
            std::string::npos);

  // By digest, args only (the image's entrypoint stays), env overriding the image's: from the
  // store, no second pull.
  CreatePod({{"metadata", {{"name", "by-digest"}}},
             {"spec",
              {{"terminationGracePeriodSeconds", 1},
               {"containers",
                {{{"name", "c"},
                  {"image", registry_.address() + "/demo/busybox@" + digest},
                  {"imagePullPolicy", "Never"},
                  {"env", {{{"name", "GREETING"}, {"value", "bonjour"}}}},
                  {"securityContext", {{"runAsUser", 1234}}},
                  {"args", {"echo \"args $GREETING as $(id -u):$(id -g)\"; exec sleep 3600"}}}}},
               {"securityContext", {{"runAsGroup", 5678}}}}}});
  WaitPod("by-digest", [](const json& p) { return Ready(p); });
  EXPECT_NE(LogOf("by-digest", "args bonjour").find("args bonjour as 1234:5678"),
            std::string::npos);

  // `korc image rm` while the Pods run: untagged, its root stays until they are gone.
  auto store = images::ImageStore::Open(dir_ + "/node/images");
  ASSERT_TRUE(store.ok());
  auto image = (*store)->Get(ref);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ASSERT_TRUE((*store)->Remove(ref).ok());
  EXPECT_EQ((*store)->Get(ref).status().code(), Code::kNotFound);
  EXPECT_TRUE(fs::exists(image->rootfs + "/bin/busybox"));
  DeleteAndWaitGone("pulled");
  EXPECT_TRUE(fs::exists(image->rootfs + "/bin/busybox"));  // by-digest still runs from it
  DeleteAndWaitGone("by-digest");
  const auto deadline = Clock::now() + 10s;
  while (fs::exists(image->rootfs) && Clock::now() < deadline) std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(fs::exists(image->rootfs)) << "the untagged image outlived its last Pod";
}

TEST_F(KubeletPullTest, PullSecretsAuthenticateAndTheNodeListsItsImages) {
  korc::testing::LocalRegistry::Options options;
  options.auth = korc::testing::LocalRegistry::Auth::kBasic;
  korc::testing::LocalRegistry private_registry;
  ASSERT_TRUE(private_registry.Start(options).ok());
  korc::testing::LocalRegistry::PushOptions push;
  push.creds = options.user + ":" + options.password;
  auto b = korc::testing::OciLayoutBuilder::Create(dir_ + "/private-layout");
  ASSERT_TRUE(b.ok());
  auto entries = korc::testing::BusyboxEntries();
  ASSERT_TRUE(entries.ok());
  auto layer = b->AddLayer(*entries);
  ASSERT_TRUE(layer.ok());
  auto image = b->AddImage({}, {*layer});
  ASSERT_TRUE(image.ok() && b->Write("t", *image).ok());
  auto digest = private_registry.Push(b->dir(), "t", "team/private:1", push);
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  const std::string ref = private_registry.address() + "/team/private:1";

  // kubectl create secret docker-registry's shape.
  json config = {{"auths",
                  {{private_registry.address(),
                    {{"username", options.user},
                     {"password", options.password},
                     {"auth", korc::testing::Base64(options.user + ":" + options.password)}}}}}};
  auto r = Call("POST", "/api/v1/namespaces/default/secrets",
                json{{"apiVersion", "v1"},
                     {"kind", "Secret"},
                     {"metadata", {{"name", "regcred"}}},
                     {"type", "kubernetes.io/dockerconfigjson"},
                     {"data", {{".dockerconfigjson", korc::testing::Base64(config.dump())}}}}
                    .dump());
  ASSERT_EQ(r.code, 201) << r.body;
  auto pod = [&](const std::string& name, bool with_secret) {
    json p = {
        {"metadata", {{"name", name}}},
        {"spec",
         {{"terminationGracePeriodSeconds", 1},
          {"containers",
           {{{"name", "c"}, {"image", ref}, {"command", {"sh", "-c", "exec sleep 3600"}}}}}}}};
    if (with_secret) p["spec"]["imagePullSecrets"] = {{{"name", "regcred"}}};
    return p;
  };
  CreatePod(pod("anonymous", false));
  json refused =
      WaitPod("anonymous", [](const json& p) { return WaitingReason(p, "c") == "ErrImagePull"; });
  EXPECT_NE(refused.dump().find("needs credentials"), std::string::npos) << refused.dump(1);
  CreatePod(pod("with-secret", true));
  WaitPod("with-secret", [](const json& p) { return Ready(p); });

  // Node.status.images: the pulled image by its repository digest and its tag, with a size.
  const std::string by_digest = private_registry.address() + "/team/private@" + *digest;
  json node;
  for (int i = 0; i < 100; ++i) {
    node = json::parse(Call("GET", "/api/v1/nodes/node-a").body);
    if (node["status"].value("images", json::array()).dump().find(by_digest) != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  bool listed = false;
  for (const auto& i : node["status"].value("images", json::array())) {
    if (i["names"].dump().find(by_digest) == std::string::npos) continue;
    listed = true;
    EXPECT_NE(i["names"].dump().find(ref), std::string::npos) << i.dump();
    EXPECT_GT(i["sizeBytes"].get<int64_t>(), 1'000'000);
  }
  EXPECT_TRUE(listed) << node["status"].dump(1);
  DeleteAndWaitGone("anonymous");
  DeleteAndWaitGone("with-secret");
  private_registry.Stop();
}

TEST_F(KubeletPullTest, AFailedPullBacksOffAndRunsOncePushed) {
  const std::string ref = registry_.address() + "/late/busybox:1";
  CreatePod(
      {{"metadata", {{"name", "late"}}},
       {"spec",
        {{"terminationGracePeriodSeconds", 1},
         {"containers",
          {{{"name", "c"}, {"image", ref}, {"command", {"sh", "-c", "exec sleep 3600"}}}}}}}});
  json pod = WaitPod("late", [](const json& p) { return WaitingReason(p, "c") == "ErrImagePull"; });
  const std::string msg = (*Status(pod, "c"))["state"]["waiting"]["message"];
  EXPECT_NE(msg.find("Failed to pull image \"" + ref + "\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("MANIFEST_UNKNOWN"), std::string::npos) << msg;
  WaitPod("late", [](const json& p) { return WaitingReason(p, "c") == "ImagePullBackOff"; });
  ASSERT_FALSE(PushBusybox("late/busybox:1", {}).empty());
  WaitPod("late", [](const json& p) { return Ready(p); });  // the back-off is at most 4 s
  DeleteAndWaitGone("late");
}

TEST_F(KubeletTest, RestartedKubeletReattaches) {
  CreatePod({{"metadata", {{"name", "steady"}}},
             {"spec",
              {{"terminationGracePeriodSeconds", 1},
               {"containers", {Container("c", "exec sleep 3600")}}}}});
  json before = WaitPod("steady", [](const json& p) { return Ready(p); });
  auto containers =
      kubelet_->container_runtime().ListContainers(before["metadata"]["uid"].get<std::string>());
  ASSERT_TRUE(containers.ok());
  ASSERT_EQ(containers->size(), 1u);
  const int pid = (*containers)[0].pid;
  ASSERT_GT(pid, 0);

  kubelet_->Stop();
  kubelet_.reset();
  EXPECT_EQ(kill(pid, 0), 0) << "the container keeps running without its kubelet";
  StartKubelet();
  std::this_thread::sleep_for(1500ms);
  json after = WaitPod("steady", [](const json& p) { return Ready(p); });
  containers =
      kubelet_->container_runtime().ListContainers(before["metadata"]["uid"].get<std::string>());
  ASSERT_TRUE(containers.ok());
  ASSERT_EQ(containers->size(), 1u) << "no second start";
  EXPECT_EQ((*containers)[0].pid, pid);
  EXPECT_EQ((*Status(after, "c"))["restartCount"], 0);
  EXPECT_EQ(after["status"]["podIP"], before["status"]["podIP"]);
  DeleteAndWaitGone("steady");
}

TEST_F(KubeletTest, LogsThroughTheApiServer) {
  CreatePod({{"metadata", {{"name", "talker"}}},
             {"spec",
              {{"terminationGracePeriodSeconds", 1},
               {"containers", {Container("c", "echo line-1; echo oops >&2; exec sleep 3600")}}}}});
  WaitPod("talker", [](const json& p) { return Ready(p); });
  korc::testing::HttpResult r;
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    r = Call("GET", "/api/v1/namespaces/default/pods/talker/log");
    if (r.code == 200 && r.body.find("oops") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(r.code, 200) << r.body;
  EXPECT_NE(r.body.find("line-1\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("oops\n"), std::string::npos) << r.body;
  r = Call("GET", "/api/v1/namespaces/default/pods/talker/log?tailLines=1");
  EXPECT_EQ(r.code, 200);
  EXPECT_EQ(std::count(r.body.begin(), r.body.end(), '\n'), 1) << r.body;
  DeleteAndWaitGone("talker");
}

}  // namespace
}  // namespace korc::kubelet
