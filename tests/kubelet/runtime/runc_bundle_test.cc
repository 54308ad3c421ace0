#include "components/kubelet/runtime/runc_bundle.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "components/kubelet/runtime/rootfs.h"
#include "tests/require.h"

extern char** environ;

namespace korc::kubelet::runc {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

BundleOptions MakeOptions(std::string rootfs) {
  BundleOptions options;
  options.rootfs = std::move(rootfs);
  return options;
}

Sandbox MakeSandbox() {
  Sandbox s;
  s.id = "uid-1";
  s.pod_namespace = "default";
  s.pod_name = "web";
  s.pod_uid = "uid-1";
  s.hostname = "web";
  s.dir = "/var/lib/korc/sandboxes/uid-1";
  return s;
}

ContainerConfig MakeConfig(std::vector<std::string> argv) {
  ContainerConfig c;
  c.sandbox_id = "uid-1";
  c.name = "main";
  c.argv = std::move(argv);
  return c;
}

std::vector<std::string> NamespaceTypes(const json& spec) {
  std::vector<std::string> types;
  for (const json& ns : spec["linux"]["namespaces"]) types.push_back(ns["type"]);
  return types;
}

TEST(OciConfigTest, ProcessRootAndHostname) {
  ContainerConfig config = MakeConfig({"/bin/sh", "-c", "echo hi"});
  config.env = {"A=1", "B=two words"};
  config.working_dir = "/work";
  BundleOptions options = MakeOptions("/c/rootfs");
  options.hostname = "web";
  options.readonly_rootfs = true;
  json spec = json::parse(OciConfig(MakeSandbox(), config, options));

  EXPECT_EQ(spec["process"]["args"], json({"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(spec["process"]["env"],
            json({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1",
                  "B=two words"}));
  EXPECT_EQ(spec["process"]["cwd"], "/work");
  EXPECT_EQ(spec["process"]["terminal"], false);
  EXPECT_EQ(spec["process"]["user"]["uid"], 0);
  const json& bounding = spec["process"]["capabilities"]["bounding"];
  EXPECT_EQ(bounding.size(), 14u);
  EXPECT_NE(std::find(bounding.begin(), bounding.end(), "CAP_NET_BIND_SERVICE"), bounding.end());
  EXPECT_EQ(std::find(bounding.begin(), bounding.end(), "CAP_SYS_ADMIN"), bounding.end());
  EXPECT_EQ(spec["process"]["rlimits"][0]["type"], "RLIMIT_NOFILE");
  EXPECT_EQ(spec["process"]["rlimits"][0]["hard"], 1048576);
  EXPECT_EQ(spec["root"]["path"], "/c/rootfs");
  EXPECT_EQ(spec["root"]["readonly"], true);
  EXPECT_EQ(spec["hostname"], "web");
  EXPECT_FALSE(spec["linux"].contains("cgroupsPath"));
  EXPECT_FALSE(spec["linux"]["resources"].contains("memory"));
  EXPECT_EQ(spec["linux"]["maskedPaths"].size(), 10u);
  EXPECT_EQ(spec["linux"]["readonlyPaths"].size(), 5u);
}

TEST(OciConfigTest, KeepsTheConfigsPathAndDefaultsCwd) {
  ContainerConfig config = MakeConfig({"app"});
  config.env = {"PATH=/app/bin"};
  json spec = json::parse(OciConfig(MakeSandbox(), config, MakeOptions("/r")));
  EXPECT_EQ(spec["process"]["env"], json({"PATH=/app/bin"}));
  EXPECT_EQ(spec["process"]["cwd"], "/");
  EXPECT_FALSE(spec.contains("hostname"));
}

TEST(OciConfigTest, HostNetworkHasNoNetworkNamespace) {
  json spec = json::parse(OciConfig(MakeSandbox(), MakeConfig({"x"}), MakeOptions("/r")));
  EXPECT_EQ(NamespaceTypes(spec), (std::vector<std::string>{"pid", "ipc", "uts", "mount"}));
}

TEST(OciConfigTest, JoinsTheSandboxNetworkNamespace) {
  BundleOptions options = MakeOptions("/r");
  options.netns_path = "/run/netns/korc-uid-1";
  json spec = json::parse(OciConfig(MakeSandbox(), MakeConfig({"x"}), options));
  EXPECT_EQ(NamespaceTypes(spec),
            (std::vector<std::string>{"pid", "ipc", "uts", "mount", "network"}));
  EXPECT_EQ(spec["linux"]["namespaces"][4]["path"], "/run/netns/korc-uid-1");
  for (size_t i = 0; i < 4; ++i) EXPECT_FALSE(spec["linux"]["namespaces"][i].contains("path"));
}

TEST(OciConfigTest, Limits) {
  ContainerConfig config = MakeConfig({"x"});
  config.limits.memory_bytes = 64 << 20;
  config.limits.cpu_millis = 500;
  config.limits.pids = 100;
  BundleOptions options = MakeOptions("/r");
  options.cgroups_path = "/korc/poduid-1/main";
  json spec = json::parse(OciConfig(MakeSandbox(), config, options));
  const json& resources = spec["linux"]["resources"];
  EXPECT_EQ(resources["memory"]["limit"], 64 << 20);
  EXPECT_EQ(resources["cpu"]["quota"], 50000);
  EXPECT_EQ(resources["cpu"]["period"], 100000);
  EXPECT_EQ(resources["pids"]["limit"], 100);
  EXPECT_EQ(spec["linux"]["cgroupsPath"], "/korc/poduid-1/main");

  // Below the kernel's 1ms minimum, the quota is raised to it rather than refused.
  config.limits.cpu_millis = 1;
  spec = json::parse(OciConfig(MakeSandbox(), config, options));
  EXPECT_EQ(spec["linux"]["resources"]["cpu"]["quota"], 1000);
}

TEST(OciConfigTest, Mounts) {
  ContainerConfig config = MakeConfig({"x"});
  config.mounts = {{.host_path = "/v/data", .container_path = "/data"},
                   {.host_path = "/v/conf", .container_path = "/etc/conf", .read_only = true}};
  json spec = json::parse(OciConfig(MakeSandbox(), config, MakeOptions("/r")));
  std::vector<std::string> destinations;
  for (const json& m : spec["mounts"]) destinations.push_back(m["destination"]);
  EXPECT_EQ(destinations,
            (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue",
                                      "/sys", "/sys/fs/cgroup", "/data", "/etc/conf"}));
  const json& sys = spec["mounts"][5];
  EXPECT_NE(std::find(sys["options"].begin(), sys["options"].end(), "ro"), sys["options"].end());
  const json& data = spec["mounts"][7];
  EXPECT_EQ(data["type"], "bind");
  EXPECT_EQ(data["source"], "/v/data");
  EXPECT_EQ(data["options"], json({"rbind", "rprivate", "rw"}));
  EXPECT_EQ(spec["mounts"][8]["options"], json({"rbind", "rprivate", "ro"}));
}

TEST(OciConfigTest, Deterministic) {
  ContainerConfig config = MakeConfig({"x", "y"});
  config.env = {"Z=1", "A=2"};
  config.limits.memory_bytes = 1 << 20;
  BundleOptions options = MakeOptions("/r");
  options.netns_path = "/n";
  options.hostname = "h";
  EXPECT_EQ(OciConfig(MakeSandbox(), config, options), OciConfig(MakeSandbox(), config, options));
  // The env order is the container's, not sorted.
  json spec = json::parse(OciConfig(MakeSandbox(), config, options));
  EXPECT_EQ(spec["process"]["env"][1], "Z=1");
}

TEST(RuncBundleTest, RunArgv) {
  EXPECT_EQ(RunArgv("/usr/sbin/runc", "/run/korc/runc", "/b", "id1"),
            (std::vector<std::string>{"/usr/sbin/runc", "--root", "/run/korc/runc", "run",
                                      "--bundle", "/b", "id1"}));
}

TEST(RuncBundleTest, WriteBundleWritesConfigJson) {
  char tmpl[] = "/tmp/korc-bundle-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/bundle/nested";
  ContainerConfig config = MakeConfig({"x"});
  BundleOptions options = MakeOptions("/r");
  options.nofile_limit = 1024;  // below any node's ceiling, so written as given
  ASSERT_TRUE(WriteBundle(dir, MakeSandbox(), config, options).ok());
  config.argv = {"y"};
  ASSERT_TRUE(WriteBundle(dir, MakeSandbox(), config, options).ok());
  std::ifstream in(dir + "/config.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), OciConfig(MakeSandbox(), config, options));
  // No temp files left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
  fs::remove_all(tmpl);
}

TEST(RuncBundleTest, WriteBundleKeepsNofileWithinWhatRuncCanSet) {
  char tmpl[] = "/tmp/korc-bundle-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  ASSERT_TRUE(WriteBundle(tmpl, MakeSandbox(), MakeConfig({"x"}), MakeOptions("/r")).ok());
  json spec = json::parse(std::ifstream(std::string(tmpl) + "/config.json"));
  fs::remove_all(tmpl);
  uint64_t written = spec["process"]["rlimits"][0]["hard"];
  EXPECT_LE(written, 1048576u);
  struct rlimit ours {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &ours), 0);
  // Never below what this process already has: that much runc can always set.
  EXPECT_GE(written, std::min<uint64_t>(ours.rlim_max, 1048576u));
}

TEST(RuncBundleTest, FindRuncAndVersion) {
  std::string runc = FindRunc();
  KORC_REQUIRE(!runc.empty(), "runc is not installed");
  EXPECT_EQ(access(runc.c_str(), X_OK), 0);
  auto version = Version(runc);
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_FALSE(version->empty());
  EXPECT_TRUE(std::isdigit(static_cast<unsigned char>((*version)[0]))) << *version;
  EXPECT_EQ(version->find('\n'), std::string::npos);
  EXPECT_FALSE(Version("/bin/false").ok());
}

// --- End to end: real runc containers over a busybox root. ---

struct Spawned {
  pid_t pid = -1;
  int out_fd = -1;  // the read end of the child's stdout+stderr
};

Spawned Spawn(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int err = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    return {};
  }
  return {pid, fds[0]};
}

pid_t SpawnToFile(const std::vector<std::string>& argv, const std::string& out_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int err = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return err == 0 ? pid : -1;
}

// The wait status once `pid` exits; nullopt (after killing and reaping it) at the deadline.
std::optional<int> WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  int status = 0;
  while (Clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return std::nullopt;
}

struct Finished {
  bool done = false;
  int status = 0;  // waitpid status
  std::string output;
};

// Reads the child's output until EOF and reaps it, killing it at the deadline.
Finished Wait(Spawned child, std::chrono::milliseconds timeout) {
  Finished f;
  auto deadline = Clock::now() + timeout;
  char buf[4096];
  while (true) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    struct pollfd pfd = {child.out_fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left)) <= 0) continue;
    ssize_t n = read(child.out_fd, buf, sizeof(buf));
    if (n <= 0) {
      f.done = true;
      break;
    }
    f.output.append(buf, static_cast<size_t>(n));
  }
  close(child.out_fd);
  if (!f.done) kill(child.pid, SIGKILL);
  waitpid(child.pid, &f.status, 0);
  return f;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> CgroupControllers() {
  std::vector<std::string> dirs;
  for (const auto& entry : fs::directory_iterator("/sys/fs/cgroup")) {
    if (entry.is_directory() && !entry.is_symlink()) dirs.push_back(entry.path());
  }
  return dirs;
}

class RuncEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runc_ = FindRunc();
    if (!testing::IsRoot() || runc_.empty() || !fs::exists("/bin/busybox")) return;
    char tmpl[] = "/tmp/korc-runc-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    state_root_ = dir_ + "/runc-state";
    cgroup_parent_ =
        "korc-test-" + std::to_string(getpid()) + "-" + fs::path(dir_).filename().string();
    const std::string image = dir_ + "/image";
    fs::create_directories(image + "/bin");
    fs::copy_file("/bin/busybox", image + "/bin/busybox");
    for (const char* tool : {"sh", "echo", "cat", "sleep", "touch"}) {
      fs::create_symlink("busybox", image + "/bin/" + tool);
    }
    auto prepared = PrepareRootfs(image, dir_ + "/c", {"/data"});
    ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
    rootfs_ = prepared->path;
  }

  void TearDown() override {
    if (dir_.empty()) return;
    for (const std::string& id : ids_) {
      EXPECT_TRUE(Delete(runc_, state_root_, id).ok());
      EXPECT_EQ(GetState(runc_, state_root_, id).status().code(), Code::kNotFound) << id;
    }
    EXPECT_TRUE(ReleaseRootfs(dir_ + "/c").ok());
    // runc removes the container's own cgroup; the parents are ours to remove.
    for (const std::string& controller : CgroupControllers()) {
      const std::string parent = controller + "/" + cgroup_parent_;
      if (!fs::exists(parent)) continue;
      std::vector<std::string> dirs;
      for (const auto& e : fs::recursive_directory_iterator(parent)) {
        if (e.is_directory()) dirs.push_back(e.path());
      }
      std::sort(dirs.rbegin(), dirs.rend());  // children before parents
      for (const std::string& d : dirs) rmdir(d.c_str());
      rmdir(parent.c_str());
      EXPECT_FALSE(fs::exists(parent)) << "cgroup left behind: " << parent;
    }
    EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(dir_), std::string::npos)
        << "mount left under " << dir_;
    // runc keeps a directory per container under its root while it knows the container.
    if (fs::exists(state_root_)) {
      EXPECT_TRUE(fs::is_empty(state_root_)) << "runc state left in " << state_root_;
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  bool Ready() const { return !dir_.empty(); }

  // Writes a bundle for `argv` and returns the container's id.
  std::string Bundle(const std::string& name, ContainerConfig config) {
    const std::string id = "korc-test-" + std::to_string(getpid()) + "-" + name;
    ids_.push_back(id);
    BundleOptions options = MakeOptions(rootfs_);
    options.hostname = "pod-" + name;
    options.cgroups_path = "/" + cgroup_parent_ + "/pod/" + name;
    EXPECT_TRUE(WriteBundle(dir_ + "/bundles/" + name, MakeSandbox(), config, options).ok());
    return id;
  }

  Finished RunForeground(const std::string& name, const std::string& id) {
    Spawned child = Spawn(RunArgv(runc_, state_root_, dir_ + "/bundles/" + name, id));
    EXPECT_GT(child.pid, 0);
    if (child.pid <= 0) return {};
    return Wait(child, std::chrono::seconds(30));
  }

  std::string runc_;
  std::string dir_;
  std::string state_root_;
  std::string cgroup_parent_;
  std::string rootfs_;
  std::vector<std::string> ids_;
};

#define REQUIRE_RUNC()                                                           \
  do {                                                                           \
    KORC_REQUIRE(testing::IsRoot(), "running runc containers needs root");       \
    KORC_REQUIRE(!FindRunc().empty(), "runc is not installed");                  \
    KORC_REQUIRE(fs::exists("/bin/busybox"), "busybox-static is not installed"); \
    ASSERT_TRUE(Ready());                                                        \
  } while (0)

TEST_F(RuncEndToEndTest, EchoPrintsHello) {
  REQUIRE_RUNC();
  std::string id = Bundle("echo", MakeConfig({"echo", "hello"}));
  Finished f = RunForeground("echo", id);
  ASSERT_TRUE(f.done) << f.output;
  ASSERT_TRUE(WIFEXITED(f.status));
  EXPECT_EQ(WEXITSTATUS(f.status), 0) << f.output;
  EXPECT_EQ(f.output, "hello\n");
  // `runc run` forgets the container once it exits.
  EXPECT_EQ(GetState(runc_, state_root_, id).status().code(), Code::kNotFound);
}

TEST_F(RuncEndToEndTest, ExitStatusEnvCwdAndHostname) {
  REQUIRE_RUNC();
  ContainerConfig config =
      MakeConfig({"sh", "-c", "echo $GREETING; pwd; cat /proc/sys/kernel/hostname; exit 3"});
  config.env = {"GREETING=hi there"};
  config.working_dir = "/data";
  std::string id = Bundle("env", config);
  Finished f = RunForeground("env", id);
  ASSERT_TRUE(f.done) << f.output;
  ASSERT_TRUE(WIFEXITED(f.status));
  EXPECT_EQ(WEXITSTATUS(f.status), 3) << f.output;
  EXPECT_EQ(f.output, "hi there\n/data\npod-env\n");
}

TEST_F(RuncEndToEndTest, BindMountsAreVisibleAndReadOnlyWhereAsked) {
  REQUIRE_RUNC();
  fs::create_directories(dir_ + "/volume");
  std::ofstream(dir_ + "/volume/greeting") << "from the node\n";
  ContainerConfig config = MakeConfig(
      {"sh", "-c", "cat /data/greeting; touch /data/new && echo writable || echo read-only"});
  config.mounts = {{.host_path = dir_ + "/volume", .container_path = "/data", .read_only = true}};
  std::string id = Bundle("mount", config);
  Finished f = RunForeground("mount", id);
  ASSERT_TRUE(f.done) << f.output;
  EXPECT_NE(f.output.find("from the node\n"), std::string::npos) << f.output;
  EXPECT_NE(f.output.find("read-only\n"), std::string::npos) << f.output;
  EXPECT_FALSE(fs::exists(dir_ + "/volume/new"));
}

TEST_F(RuncEndToEndTest, MemoryLimitIsInTheContainersCgroup) {
  REQUIRE_RUNC();
  ContainerConfig config = MakeConfig({"cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"});
  config.limits.memory_bytes = 64 << 20;
  std::string id = Bundle("memory", config);
  Finished f = RunForeground("memory", id);
  ASSERT_TRUE(f.done) << f.output;
  EXPECT_EQ(f.output, std::to_string(64 << 20) + "\n");
}

TEST_F(RuncEndToEndTest, KillEndsASleepingContainer) {
  REQUIRE_RUNC();
  ContainerConfig config = MakeConfig({"sleep", "100"});
  config.limits.memory_bytes = 32 << 20;
  config.limits.pids = 20;
  std::string id = Bundle("sleep", config);
  Spawned child = Spawn(RunArgv(runc_, state_root_, dir_ + "/bundles/sleep", id));
  ASSERT_GT(child.pid, 0);

  State state;
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    auto s = GetState(runc_, state_root_, id);
    if (s.ok() && s->status == "running") {
      state = *s;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(state.status, "running");
  EXPECT_GT(state.pid, 0);
  // Seen from the node, the container's cgroup carries its limits.
  const std::string cgroup = "/sys/fs/cgroup/memory/" + cgroup_parent_ + "/pod/sleep";
  EXPECT_EQ(ReadFile(cgroup + "/memory.limit_in_bytes"), std::to_string(32 << 20) + "\n");
  EXPECT_EQ(ReadFile("/sys/fs/cgroup/pids/" + cgroup_parent_ + "/pod/sleep/pids.max"), "20\n");

  EXPECT_TRUE(Kill(runc_, state_root_, id, SIGKILL).ok());
  Finished f = Wait(child, std::chrono::seconds(20));
  ASSERT_TRUE(f.done) << f.output;
  ASSERT_TRUE(WIFEXITED(f.status));
  EXPECT_EQ(WEXITSTATUS(f.status), 128 + SIGKILL);
  EXPECT_EQ(GetState(runc_, state_root_, id).status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists(cgroup));
  EXPECT_EQ(kill(state.pid, 0), -1);
}

TEST_F(RuncEndToEndTest, DeleteRemovesACreatedContainer) {
  REQUIRE_RUNC();
  std::string id = Bundle("created", MakeConfig({"sleep", "100"}));
  // `runc create` leaves the container waiting to start: state, cgroup and an init process.
  // The init keeps runc's stdio, so its output goes to a file and only runc is waited for.
  const std::string log = dir_ + "/create.log";
  pid_t pid = SpawnToFile(
      {runc_, "--root", state_root_, "create", "--bundle", dir_ + "/bundles/created", id}, log);
  ASSERT_GT(pid, 0);
  auto exited = WaitExit(pid, std::chrono::seconds(30));
  ASSERT_TRUE(exited.has_value()) << ReadFile(log);
  ASSERT_TRUE(WIFEXITED(*exited) && WEXITSTATUS(*exited) == 0) << ReadFile(log);
  auto state = GetState(runc_, state_root_, id);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  EXPECT_EQ(state->status, "created");
  EXPECT_TRUE(fs::exists("/sys/fs/cgroup/memory/" + cgroup_parent_ + "/pod/created"));

  // Killed, it stays known as stopped until deleted; signalling it again is not an error.
  EXPECT_TRUE(Kill(runc_, state_root_, id, SIGKILL).ok());
  std::string status;
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (status != "stopped" && Clock::now() < deadline) {
    auto s = GetState(runc_, state_root_, id);
    status = s.ok() ? s->status : s.status().ToString();
    if (status != "stopped") std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status, "stopped");
  Status again = Kill(runc_, state_root_, id, SIGTERM);
  EXPECT_TRUE(again.ok()) << again.ToString();

  ASSERT_TRUE(Delete(runc_, state_root_, id).ok());
  EXPECT_EQ(GetState(runc_, state_root_, id).status().code(), Code::kNotFound);
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/memory/" + cgroup_parent_ + "/pod/created"));
  EXPECT_TRUE(Delete(runc_, state_root_, id).ok());
}

TEST_F(RuncEndToEndTest, UnknownContainer) {
  REQUIRE_RUNC();
  EXPECT_EQ(GetState(runc_, state_root_, "no-such").status().code(), Code::kNotFound);
  EXPECT_EQ(Kill(runc_, state_root_, "no-such", SIGTERM).code(), Code::kNotFound);
  EXPECT_TRUE(Delete(runc_, state_root_, "no-such").ok());
}

}  // namespace
}  // namespace korc::kubelet::runc
