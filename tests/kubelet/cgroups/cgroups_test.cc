// Real cgroups on this machine (root only): limits land in the kernel files, processes are
// tracked, killed with their descendants, OOM-killed at the memory limit, and nothing is left
// behind.
#include "components/kubelet/cgroups/cgroups.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "tests/require.h"

namespace korc::kubelet::cgroups {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Clock = std::chrono::steady_clock;

constexpr int64_t kMiB = 1024 * 1024;

Limits MakeLimits(std::optional<int64_t> memory_bytes, std::optional<int64_t> cpu_millis = {},
                  std::optional<int64_t> pids = {}) {
  return Limits{memory_bytes, cpu_millis, pids};
}

#define CREATE_OR_FAIL(var, ...)                              \
  auto var##_or = Create(__VA_ARGS__);                        \
  ASSERT_TRUE(var##_or.ok()) << var##_or.status().ToString(); \
  Cgroup& var = *var##_or

std::string ReadTrimmed(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The mount point of each hierarchy a Cgroup lives in.
std::vector<std::string> Roots(Version v) {
  if (v == Version::kV2) return {"/sys/fs/cgroup"};
  std::vector<std::string> roots;
  for (const char* c : {"memory", "cpu", "pids", "freezer"}) {
    std::string r = std::string("/sys/fs/cgroup/") + c;
    if (Exists(r + "/cgroup.procs")) roots.push_back(r);
  }
  return roots;
}

class CgroupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Orphaned grandchildren (the sleeps a killed shell leaves) get reparented to us, so the
    // tests can reap them and prove they died instead of leaking them to init.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  }

  void SetUp() override {
    KORC_REQUIRE(Detect() != Version::kNone, "cgroups need root and a cgroup v1 or v2 mount");
    version_ = Detect();
    static int counter = 0;
    top_ = "korc-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  }

  void TearDown() override {
    if (version_ == Version::kNone) return;
    for (int pid : children_) ::kill(pid, SIGKILL);
    for (const std::string& p : created_) {
      auto cg = Cgroup::Open(p);
      if (cg.ok()) {
        EXPECT_TRUE(cg->Remove().ok()) << p;
      }
    }
    ReapAll(Clock::now() + std::chrono::seconds(5));
    for (const std::string& root : Roots(version_)) {
      EXPECT_FALSE(Exists(root + "/" + top_)) << "left behind: " << root << "/" << top_;
    }
    int status;
    EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1) << "a child process is left behind";
  }

  std::string P(const std::string& rest) { return top_ + "/" + rest; }

  // Remembers the path first so TearDown removes it even when the test fails half-way.
  Result<Cgroup> Create(const std::string& path, const Limits& limits) {
    created_.push_back(path);
    return Cgroup::Create(path, limits);
  }

  // Forks a child that waits until it is in `cg` before running `body` (as the process
  // runtime's supervisor does), so everything it starts is born inside the cgroup.
  int ForkInto(Cgroup& cg, const std::function<void()>& body) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
    int pid = ::fork();
    if (pid == 0) {
      ::close(fds[1]);
      char c;
      if (::read(fds[0], &c, 1) != 1) ::_exit(126);  // parent gave up
      body();
      ::_exit(127);
    }
    ::close(fds[0]);
    if (pid > 0) children_.push_back(pid);
    Status st = cg.AddProcess(pid);
    EXPECT_TRUE(st.ok()) << st.ToString();
    if (st.ok()) {
      EXPECT_EQ(::write(fds[1], "g", 1), 1);
    }
    ::close(fds[1]);
    return pid;
  }

  // Waits for one child to exit; nullopt at the deadline.
  std::optional<int> WaitExit(int pid, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int status;
      int r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        std::erase(children_, pid);
        return status;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::nullopt;
  }

  // Reaps children and adopted orphans until none are left; returns pid -> wait status.
  std::map<int, int> ReapAll(Clock::time_point deadline) {
    std::map<int, int> reaped;
    while (Clock::now() < deadline) {
      int status;
      int r = ::waitpid(-1, &status, WNOHANG);
      if (r > 0) {
        reaped[r] = status;
        std::erase(children_, r);
        continue;
      }
      if (r < 0 && errno == ECHILD) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return reaped;
  }

  template <class Pred>
  bool PollUntil(Pred pred, Clock::duration timeout = std::chrono::seconds(5)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return pred();
  }

  Version version_ = Version::kNone;
  std::string top_;
  std::vector<std::string> created_;
  std::vector<int> children_;
};

TEST_F(CgroupTest, CreateAppliesLimitsAndRecreateConverges) {
  CREATE_OR_FAIL(cg, P("pod1/c1"), MakeLimits(64 * kMiB, 250, 32));
  EXPECT_EQ(cg.version(), version_);
  EXPECT_EQ(cg.path(), P("pod1/c1"));
  if (version_ == Version::kV1) {
    const std::string mem = "/sys/fs/cgroup/memory/" + cg.path();
    const std::string cpu = "/sys/fs/cgroup/cpu/" + cg.path();
    EXPECT_EQ(ReadTrimmed(mem + "/memory.limit_in_bytes"), std::to_string(64 * kMiB));
    EXPECT_EQ(ReadTrimmed(cpu + "/cpu.cfs_period_us"), "100000");
    EXPECT_EQ(ReadTrimmed(cpu + "/cpu.cfs_quota_us"), "25000");
    EXPECT_EQ(ReadTrimmed("/sys/fs/cgroup/pids/" + cg.path() + "/pids.max"), "32");
  } else {
    const std::string dir = "/sys/fs/cgroup/" + cg.path();
    EXPECT_EQ(ReadTrimmed(dir + "/memory.max"), std::to_string(64 * kMiB));
    EXPECT_EQ(ReadTrimmed(dir + "/cpu.max"), "25000 100000");
    EXPECT_EQ(ReadTrimmed(dir + "/pids.max"), "32");
  }

  // Create on an existing cgroup converges it: absent limits become unlimited.
  CREATE_OR_FAIL(again, P("pod1/c1"), {});
  if (version_ == Version::kV1) {
    const std::string mem = "/sys/fs/cgroup/memory/" + cg.path();
    EXPECT_GT(std::stoll(ReadTrimmed(mem + "/memory.limit_in_bytes")), int64_t{1} << 40);
    EXPECT_EQ(ReadTrimmed("/sys/fs/cgroup/cpu/" + cg.path() + "/cpu.cfs_quota_us"), "-1");
    EXPECT_EQ(ReadTrimmed("/sys/fs/cgroup/pids/" + cg.path() + "/pids.max"), "max");
  } else {
    const std::string dir = "/sys/fs/cgroup/" + cg.path();
    EXPECT_EQ(ReadTrimmed(dir + "/memory.max"), "max");
    EXPECT_EQ(ReadTrimmed(dir + "/cpu.max"), "max 100000");
    EXPECT_EQ(ReadTrimmed(dir + "/pids.max"), "max");
  }

  ASSERT_TRUE(again.Remove().ok());
  for (const std::string& root : Roots(version_)) {
    EXPECT_FALSE(Exists(root + "/" + top_)) << root;
  }
}

TEST_F(CgroupTest, TinyCpuLimitIsRoundedUpToKernelMinimum) {
  CREATE_OR_FAIL(cg, P("c"), MakeLimits(std::nullopt, 1));
  const std::string file = version_ == Version::kV1
                               ? "/sys/fs/cgroup/cpu/" + cg.path() + "/cpu.cfs_quota_us"
                               : "/sys/fs/cgroup/" + cg.path() + "/cpu.max";
  EXPECT_EQ(ReadTrimmed(file), version_ == Version::kV1 ? "1000" : "1000 100000");
}

TEST_F(CgroupTest, BadPathsAndLimitsAreInvalid) {
  for (const char* bad : {"", "/abs", "../escape", "a//b", "a/./b", "a/", "a/../b"}) {
    auto cg = Cgroup::Create(bad, {});
    ASSERT_FALSE(cg.ok()) << bad;
    EXPECT_EQ(cg.status().code(), Code::kInvalid) << bad;
  }
  auto cg = Cgroup::Create(P("c"), MakeLimits(0));
  ASSERT_FALSE(cg.ok());
  EXPECT_EQ(cg.status().code(), Code::kInvalid);
  EXPECT_FALSE(
      Exists("/sys/fs/cgroup/" + std::string(version_ == Version::kV1 ? "memory/" : "") + top_));
}

TEST_F(CgroupTest, OpenMissingIsNotFound) {
  auto cg = Cgroup::Open(P("nope/c"));
  ASSERT_FALSE(cg.ok());
  EXPECT_EQ(cg.status().code(), Code::kNotFound);
}

TEST_F(CgroupTest, AddProcessListsItAndKillAllKillsIt) {
  CREATE_OR_FAIL(cg, P("pod/c"), MakeLimits(64 * kMiB));
  int pid = ForkInto(cg, [] { ::execl("/bin/sleep", "sleep", "100", nullptr); });
  ASSERT_GT(pid, 0);
  EXPECT_THAT(cg.Processes(), ElementsAre(pid));

  // A handle opened later (a restarted kubelet) sees the same processes.
  auto reopened = Cgroup::Open(cg.path());
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_THAT(reopened->Processes(), ElementsAre(pid));

  ASSERT_TRUE(reopened->KillAll().ok());
  auto status = WaitExit(pid, std::chrono::seconds(5));
  ASSERT_TRUE(status.has_value()) << "sleep survived KillAll";
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  EXPECT_THAT(cg.Processes(), IsEmpty());
  EXPECT_FALSE(cg.OomKilled());

  ASSERT_TRUE(cg.Remove().ok());
  EXPECT_TRUE(cg.Remove().ok()) << "Remove of a removed cgroup is Ok";
  EXPECT_EQ(Cgroup::Open(cg.path()).status().code(), Code::kNotFound);
}

TEST_F(CgroupTest, KillAllKillsDescendants) {
  CREATE_OR_FAIL(cg, P("pod/c"), {});
  int sh = ForkInto(cg, [] { ::execl("/bin/sh", "sh", "-c", "sleep 100 & sleep 100", nullptr); });
  ASSERT_GT(sh, 0);
  // The shell, the backgrounded sleep and the foreground one (some shells exec the last
  // command in place, so at least two processes).
  ASSERT_TRUE(PollUntil([&] { return cg.Processes().size() >= 2; }))
      << "processes: " << cg.Processes().size();
  std::vector<int> before = cg.Processes();
  EXPECT_THAT(before, Contains(sh));

  ASSERT_TRUE(cg.KillAll().ok());
  EXPECT_THAT(cg.Processes(), IsEmpty());

  // Every one of them is gone. Those we reaped (the shell, and sleeps orphaned to us as
  // subreaper) died of SIGKILL; a sleep that died before the shell may have been reaped by the
  // shell's pending wait4 instead, so for those it is enough that they no longer exist.
  std::map<int, int> reaped = ReapAll(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(reaped.count(sh));
  for (int pid : before) {
    if (reaped.count(pid)) {
      EXPECT_TRUE(WIFSIGNALED(reaped[pid])) << pid;
      EXPECT_EQ(WTERMSIG(reaped[pid]), SIGKILL) << pid;
    } else {
      EXPECT_FALSE(Exists("/proc/" + std::to_string(pid))) << "pid " << pid << " survived";
    }
  }
  ASSERT_TRUE(cg.Remove().ok());
}

TEST_F(CgroupTest, PidsLimitCapsAForkLoopAndKillAllStopsIt) {
  CREATE_OR_FAIL(cg, P("pod/c"), MakeLimits(std::nullopt, std::nullopt, 16));
  // Keeps forking as fast as it can; fork fails (and the loop retries) at the pids limit.
  int sh = ForkInto(cg, [] {
    ::execl("/bin/sh", "sh", "-c", "while :; do sleep 100 & done 2>/dev/null", nullptr);
  });
  ASSERT_GT(sh, 0);
  ASSERT_TRUE(PollUntil([&] { return cg.Processes().size() >= 10; }))
      << "processes: " << cg.Processes().size();
  EXPECT_LE(cg.Processes().size(), 16u);

  ASSERT_TRUE(cg.KillAll().ok());
  EXPECT_THAT(cg.Processes(), IsEmpty());
  std::map<int, int> reaped = ReapAll(Clock::now() + std::chrono::seconds(5));
  ASSERT_TRUE(reaped.count(sh));
  EXPECT_EQ(WTERMSIG(reaped[sh]), SIGKILL);
  ASSERT_TRUE(cg.Remove().ok());
}

TEST_F(CgroupTest, RemoveKillsLeftoversAndKeepsSharedParents) {
  CREATE_OR_FAIL(a, P("pod/a"), {});
  CREATE_OR_FAIL(b, P("pod/b"), {});
  int pid = ForkInto(a, [] { ::execl("/bin/sleep", "sleep", "100", nullptr); });
  ASSERT_GT(pid, 0);

  ASSERT_TRUE(a.Remove().ok());
  auto status = WaitExit(pid, std::chrono::seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  for (const std::string& root : Roots(version_)) {
    EXPECT_FALSE(Exists(root + "/" + a.path())) << root;
    EXPECT_TRUE(Exists(root + "/" + top_ + "/pod")) << "parent of b removed in " << root;
  }

  ASSERT_TRUE(b.Remove().ok());
  for (const std::string& root : Roots(version_)) {
    EXPECT_FALSE(Exists(root + "/" + top_)) << root;
  }
}

TEST_F(CgroupTest, RemoveAlsoClearsThePathFromHierarchiesKorcDoesNotManage) {
  // As runc leaves them: the Pod's level, with an emptied container level, in blkio.
  if (version_ != Version::kV1 || !Exists("/sys/fs/cgroup/blkio")) {
    GTEST_SKIP() << "needs a cgroup v1 blkio hierarchy (this machine: " << VersionName(version_)
                 << ")";
  }
  CREATE_OR_FAIL(pod, P("pod/x"), {});
  const std::string blkio = "/sys/fs/cgroup/blkio/" + pod.path();
  ASSERT_EQ(::mkdir(("/sys/fs/cgroup/blkio/" + top_).c_str(), 0755) == 0 || errno == EEXIST, true);
  ASSERT_EQ(
      ::mkdir(("/sys/fs/cgroup/blkio/" + top_ + "/pod").c_str(), 0755) == 0 || errno == EEXIST,
      true);
  ASSERT_EQ(::mkdir(blkio.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((blkio + "/c-0").c_str(), 0755), 0);
  ASSERT_TRUE(pod.Remove().ok());
  EXPECT_FALSE(Exists(blkio));
  EXPECT_FALSE(Exists("/sys/fs/cgroup/blkio/" + top_));
}

TEST_F(CgroupTest, MemoryUsageIsCharged) {
  CREATE_OR_FAIL(cg, P("c"), MakeLimits(64 * kMiB));
  int pid = ForkInto(cg, [] {
    const size_t size = 8 * kMiB;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) ::_exit(1);
    std::memset(p, 1, size);
    ::pause();
  });
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(PollUntil([&] { return cg.MemoryUsageBytes() >= 8 * kMiB; }))
      << "usage " << cg.MemoryUsageBytes();
  EXPECT_LT(cg.MemoryUsageBytes(), 64 * kMiB);
  ASSERT_TRUE(cg.KillAll().ok());
  ASSERT_TRUE(WaitExit(pid, std::chrono::seconds(5)).has_value());
}

TEST_F(CgroupTest, MemoryLimitOomKills) {
  CREATE_OR_FAIL(cg, P("pod/c"), MakeLimits(16 * kMiB));
  EXPECT_FALSE(cg.OomKilled());
  int pid = ForkInto(cg, [] {
    const size_t size = 64 * kMiB;
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) ::_exit(1);
    std::memset(p, 1, size);  // touch every page so it is charged
    ::_exit(0);
  });
  ASSERT_GT(pid, 0);
  auto status = WaitExit(pid, std::chrono::seconds(30));
  ASSERT_TRUE(status.has_value()) << "allocator neither finished nor was killed";
  ASSERT_TRUE(WIFSIGNALED(*status)) << "exited normally with " << WEXITSTATUS(*status);
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  EXPECT_TRUE(cg.OomKilled());
  ASSERT_TRUE(cg.Remove().ok());
}

}  // namespace
}  // namespace korc::kubelet::cgroups
