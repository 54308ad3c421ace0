// The kubelet's pure parts: what a container runs, and the Pod status it reports.
#include "components/kubelet/agent/pod_status.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace korc::kubelet {
namespace {

api::Container MakeContainer(std::vector<std::string> command, std::vector<std::string> args) {
  api::Container c;
  c.name = "c";
  c.image = "busybox";
  c.command = std::move(command);
  c.args = std::move(args);
  return c;
}

TEST(ContainerArgv, CommandAndArgsAsKubernetesCombinesThem) {
  images::ImageConfig image;
  image.entrypoint = {"/entry"};
  image.cmd = {"default-arg"};
  struct Case {
    std::vector<std::string> command, args, want;
  };
  const std::vector<Case> cases = {
      {{}, {}, {"/entry", "default-arg"}},
      {{}, {"a"}, {"/entry", "a"}},
      {{"/bin/sh"}, {}, {"/bin/sh"}},  // command drops the image's Cmd too
      {{"/bin/sh"}, {"-c", "x"}, {"/bin/sh", "-c", "x"}},
  };
  for (const auto& c : cases) {
    auto argv = ContainerArgv(MakeContainer(c.command, c.args), image, {});
    ASSERT_TRUE(argv.ok());
    EXPECT_EQ(*argv, c.want);
  }
}

TEST(ContainerArgv, NothingToRunIsInvalid) {
  auto argv = ContainerArgv(MakeContainer({}, {}), {}, {});
  ASSERT_FALSE(argv.ok());
  EXPECT_EQ(argv.status().code(), Code::kInvalid);
  EXPECT_NE(argv.status().message().find("no command"), std::string::npos);
}

TEST(ContainerArgv, ExpandsVariableReferences) {
  auto argv = ContainerArgv(MakeContainer({"echo", "$(GREETING) $(MISSING) $$(GREETING)"}, {}), {},
                            {"GREETING=hello"});
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ((*argv)[1], "hello $(MISSING) $(GREETING)");
}

TEST(ContainerUser, SecurityContextThenTheImagesUserResolvedInItsPasswd) {
  char tmpl[] = "/tmp/korc-user-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  ASSERT_EQ(mkdir((root + "/etc").c_str(), 0755), 0);
  std::ofstream(root + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                         "app:x:1000:1001::/home/app:/bin/sh\n"
                                         "nobody:x:65534:65534:nobody:/:/bin/false\n";
  std::ofstream(root + "/etc/group") << "root:x:0:\nstaff:x:50:\napp:x:1001:\n";
  auto user = [&](const std::string& image_user, std::optional<api::SecurityContext> pod_sc,
                  std::optional<api::SecurityContext> container_sc) {
    api::PodSpec spec;
    spec.security_context = pod_sc;
    api::Container c = MakeContainer({"sh"}, {});
    c.security_context = container_sc;
    images::ImageConfig image;
    image.user = image_user;
    return ContainerUser(spec, c, image, root);
  };
  using Ids = ContainerUserIds;
  EXPECT_EQ(*user("", {}, {}), (Ids{0, 0}));
  EXPECT_EQ(*user("app", {}, {}), (Ids{1000, 1001}));      // its passwd group
  EXPECT_EQ(*user("1000", {}, {}), (Ids{1000, 1001}));     // by uid, same entry
  EXPECT_EQ(*user("4242", {}, {}), (Ids{4242, 0}));        // no entry: group 0
  EXPECT_EQ(*user("app:staff", {}, {}), (Ids{1000, 50}));  // a named group
  EXPECT_EQ(*user("nobody:7", {}, {}), (Ids{65534, 7}));
  // The Pod's securityContext over the image, the container's over the Pod's.
  api::SecurityContext pod_sc{int64_t{1000}, std::nullopt, std::nullopt};
  api::SecurityContext container_sc{int64_t{65534}, int64_t{9}, std::nullopt};
  EXPECT_EQ(*user("root", pod_sc, {}), (Ids{1000, 1001}));
  EXPECT_EQ(*user("root", pod_sc, container_sc), (Ids{65534, 9}));
  api::SecurityContext group_only{std::nullopt, int64_t{77}, std::nullopt};
  EXPECT_EQ(*user("app", group_only, {}), (Ids{1000, 77}));
  // Names the image does not have, and root where runAsNonRoot forbids it.
  EXPECT_EQ(user("ghost", {}, {}).status().code(), Code::kInvalid);
  EXPECT_NE(user("app:ghosts", {}, {}).status().message().find("unable to find group ghosts"),
            std::string::npos);
  api::SecurityContext non_root{std::nullopt, std::nullopt, true};
  EXPECT_EQ(user("", non_root, {}).status().code(), Code::kInvalid);
  EXPECT_TRUE(user("app", non_root, {}).ok());
  // A passwd reached through a symlink (it could be the node's) is not read.
  std::filesystem::remove(root + "/etc/passwd");
  std::filesystem::create_symlink("/etc/passwd", root + "/etc/passwd");
  EXPECT_FALSE(user("root", {}, {}).ok());
  std::filesystem::remove_all(root);
}

TEST(ContainerEnv, ContainerOverridesImageAndPathIsDefaulted) {
  api::Container c = MakeContainer({"x"}, {});
  c.env = {{"A", "from-pod"}, {"B", "$(A)-b"}};
  images::ImageConfig image;
  image.env = {"A=from-image", "C=c"};
  auto env = ContainerEnv(c, image, {"SVC_HOST=10.0.0.1"});
  EXPECT_EQ(env, (std::vector<std::string>{
                     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "A=from-pod", "C=c", "SVC_HOST=10.0.0.1", "B=from-pod-b"}));
}

api::Service ServiceNamed(std::string name, std::string ip, std::vector<api::ServicePort> ports) {
  api::Service s;
  s.metadata.namespace_ = "default";
  s.metadata.name = std::move(name);
  s.spec.cluster_ip = std::move(ip);
  s.spec.ports = std::move(ports);
  return s;
}

TEST(ServiceEnv, KubernetesVariablesForEveryServiceWithAClusterIp) {
  api::ServicePort mysql;
  mysql.port = 3306;
  mysql.protocol = "TCP";
  api::ServicePort http, dns;
  http.name = "http";
  http.port = 80;
  http.protocol = "TCP";
  dns.name = "dns-udp";
  dns.port = 53;
  dns.protocol = "UDP";
  auto a = ServiceNamed("mysql", "10.96.0.10", {mysql});
  auto b = ServiceNamed("my-web", "10.96.0.11", {http, dns});
  auto headless = ServiceNamed("headless", "None", {mysql});
  auto env = ServiceEnv({&b, &headless, &a});
  EXPECT_EQ(env, (std::vector<std::string>{
                     "MY_WEB_SERVICE_HOST=10.96.0.11",
                     "MY_WEB_SERVICE_PORT=80",
                     "MY_WEB_SERVICE_PORT_HTTP=80",
                     "MY_WEB_SERVICE_PORT_DNS_UDP=53",
                     "MY_WEB_PORT=tcp://10.96.0.11:80",
                     "MY_WEB_PORT_80_TCP=tcp://10.96.0.11:80",
                     "MY_WEB_PORT_80_TCP_PROTO=tcp",
                     "MY_WEB_PORT_80_TCP_PORT=80",
                     "MY_WEB_PORT_80_TCP_ADDR=10.96.0.11",
                     "MY_WEB_PORT_53_UDP=udp://10.96.0.11:53",
                     "MY_WEB_PORT_53_UDP_PROTO=udp",
                     "MY_WEB_PORT_53_UDP_PORT=53",
                     "MY_WEB_PORT_53_UDP_ADDR=10.96.0.11",
                     "MYSQL_SERVICE_HOST=10.96.0.10",
                     "MYSQL_SERVICE_PORT=3306",
                     "MYSQL_PORT=tcp://10.96.0.10:3306",
                     "MYSQL_PORT_3306_TCP=tcp://10.96.0.10:3306",
                     "MYSQL_PORT_3306_TCP_PROTO=tcp",
                     "MYSQL_PORT_3306_TCP_PORT=3306",
                     "MYSQL_PORT_3306_TCP_ADDR=10.96.0.10",
                 }));
}

TEST(ServiceEnv, ContainerEnvMayReferToServiceVariables) {
  api::ServicePort mysql;
  mysql.port = 3306;
  mysql.protocol = "TCP";
  auto a = ServiceNamed("mysql", "10.96.0.10", {mysql});
  api::Container c = MakeContainer({"x"}, {});
  c.env = {{"DSN", "mysql://$(MYSQL_SERVICE_HOST):$(MYSQL_SERVICE_PORT)/db"}};
  auto env = ContainerEnv(c, images::ImageConfig{}, ServiceEnv({&a}));
  EXPECT_EQ(env.back(), "DSN=mysql://10.96.0.10:3306/db");
}

ContainerObservation Running(std::string name) {
  ContainerObservation o;
  o.name = std::move(name);
  o.state.running = api::ContainerStateRunning{api::Time{1'000'000'000}};
  o.ready = true;
  o.started = true;
  return o;
}

ContainerObservation Exited(std::string name, int code) {
  ContainerObservation o;
  o.name = std::move(name);
  api::ContainerStateTerminated t;
  t.exit_code = code;
  o.state.terminated = t;
  return o;
}

ContainerObservation CrashLooping(std::string name, int code) {
  ContainerObservation o;
  o.name = std::move(name);
  o.state.waiting = api::ContainerStateWaiting{"CrashLoopBackOff", "back-off"};
  api::ContainerStateTerminated t;
  t.exit_code = code;
  o.last_state.terminated = t;
  return o;
}

ContainerObservation Creating(std::string name) {
  ContainerObservation o;
  o.name = std::move(name);
  o.state.waiting = api::ContainerStateWaiting{"ContainerCreating", ""};
  return o;
}

TEST(PodPhase, KubernetesRules) {
  api::PodSpec two;
  two.containers.resize(2);
  api::PodSpec one;
  one.containers.resize(1);
  struct Case {
    const api::PodSpec* spec;
    std::string policy;
    std::vector<ContainerObservation> cs;
    std::string want;
  };
  const std::vector<Case> cases = {
      {&two, "Always", {Running("a"), Creating("b")}, "Pending"},
      {&two, "Always", {Running("a"), Running("b")}, "Running"},
      {&two, "Always", {Running("a"), CrashLooping("b", 1)}, "Running"},
      {&one, "Always", {CrashLooping("a", 1)}, "Running"},
      {&one, "Always", {Exited("a", 0)}, "Running"},
      {&one, "OnFailure", {Exited("a", 0)}, "Succeeded"},
      {&one, "OnFailure", {CrashLooping("a", 2)}, "Running"},
      {&one, "Never", {Exited("a", 3)}, "Failed"},
      {&one, "Never", {Exited("a", 0)}, "Succeeded"},
      {&two, "Never", {Exited("a", 0), Running("b")}, "Running"},
      {&two, "Never", {Exited("a", 0), Exited("b", 1)}, "Failed"},
      {&one, "Always", {}, "Pending"},
  };
  for (const auto& c : cases) {
    api::PodSpec spec = *c.spec;
    spec.restart_policy = c.policy;
    EXPECT_EQ(PodPhase(spec, c.cs), c.want) << c.policy << " with " << c.cs.size();
  }
}

api::Pod MakePod() {
  api::Pod p;
  p.metadata.name = "web";
  p.metadata.namespace_ = "default";
  p.spec.containers.resize(1);
  p.spec.containers[0].name = "a";
  p.spec.restart_policy = "Always";
  return p;
}

TEST(ComputePodStatus, RunningAndReady) {
  api::Pod pod = MakePod();
  PodObservation obs;
  obs.known = true;
  obs.pod_ip = "10.244.0.5";
  obs.start_time_ns = 5'500'000'000;
  obs.containers = {Running("a")};
  api::PodStatus s = ComputePodStatus(pod, obs, "192.168.1.2", 7'000'000'000);
  EXPECT_EQ(s.phase, "Running");
  EXPECT_EQ(s.pod_ip, "10.244.0.5");
  ASSERT_EQ(s.pod_ips.size(), 1u);
  EXPECT_EQ(s.host_ip, "192.168.1.2");
  EXPECT_EQ(s.start_time.unix_ns, 5'000'000'000);
  ASSERT_EQ(s.conditions.size(), 4u);
  EXPECT_EQ(s.conditions[0].type, "Initialized");
  EXPECT_EQ(s.conditions[1].type, "Ready");
  EXPECT_EQ(s.conditions[1].status, "True");
  EXPECT_EQ(s.conditions[2].type, "ContainersReady");
  EXPECT_EQ(s.conditions[3].type, "PodScheduled");
  ASSERT_EQ(s.container_statuses.size(), 1u);
  EXPECT_TRUE(s.container_statuses[0].ready);
}

TEST(ComputePodStatus, UnchangedObservationGivesAnEqualStatus) {
  api::Pod pod = MakePod();
  PodObservation obs;
  obs.known = true;
  obs.pod_ip = "10.244.0.5";
  obs.start_time_ns = 5'000'000'000;
  obs.containers = {Running("a")};
  pod.status = ComputePodStatus(pod, obs, "10.0.0.1", 7'000'000'000);
  // Later, nothing changed: the same status, so the kubelet writes nothing.
  EXPECT_EQ(ComputePodStatus(pod, obs, "10.0.0.1", 99'000'000'000), pod.status);
}

TEST(ComputePodStatus, ReadinessLossMovesOnlyTheReadyConditions) {
  api::Pod pod = MakePod();
  PodObservation obs;
  obs.known = true;
  obs.containers = {Running("a")};
  pod.status = ComputePodStatus(pod, obs, "10.0.0.1", 7'000'000'000);
  obs.containers[0].ready = false;
  api::PodStatus s = ComputePodStatus(pod, obs, "10.0.0.1", 9'000'000'000);
  for (const auto& c : s.conditions) {
    if (c.type == "Ready" || c.type == "ContainersReady") {
      EXPECT_EQ(c.status, "False");
      EXPECT_EQ(c.reason, "ContainersNotReady");
      EXPECT_EQ(c.last_transition_time.unix_ns, 9'000'000'000);
    } else {
      EXPECT_EQ(c.status, "True");
      EXPECT_EQ(c.last_transition_time.unix_ns, 7'000'000'000);
    }
  }
}

TEST(ComputePodStatus, CompletedPodIsNotReady) {
  api::Pod pod = MakePod();
  pod.spec.restart_policy = "Never";
  PodObservation obs;
  obs.known = true;
  obs.containers = {Exited("a", 0)};
  api::PodStatus s = ComputePodStatus(pod, obs, "10.0.0.1", 7'000'000'000);
  EXPECT_EQ(s.phase, "Succeeded");
  for (const auto& c : s.conditions) {
    if (c.type == "Ready") EXPECT_EQ(c.reason, "PodCompleted");
  }
}

}  // namespace
}  // namespace korc::kubelet
