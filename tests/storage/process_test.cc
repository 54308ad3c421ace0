// Tests that need a second process: crash safety under SIGKILL, and a log held by another
// process.
//
// The second process is this same binary re-executed with "--child ..." (see main() at the
// bottom), not a bare fork(): RocksDB keeps background threads, which a forked child would
// not have. That is why this test has its own main() and links gtest without gtest_main.
// SIGKILL tests process crashes (the page cache survives); power loss is RocksDB's fsync's
// job, which Append requests with WriteOptions::sync.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "storage/event_log.h"
#include "storage/replay.h"
#include "tests/storage/storage_test_util.h"

namespace korc::storage {
namespace {

using ::testing::HasSubstr;
using testutil::PodJson;
using testutil::TempDir;
using testutil::Values;

// The fd number a child finds its pipe's write end on.
constexpr int kChildFd = 100;

std::string SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) abort();
  return std::string(buf, n);
}

// A child process running "--child <args...>" with its output pipe; the parent reads it.
struct Child {
  pid_t pid = -1;
  int read_fd = -1;
};

Child Spawn(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) abort();
  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::string exe = SelfExe();
  std::vector<std::string> argv_storage = {exe, "--child"};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) abort();
  if (pid == 0) {
    // dup2 gives a descriptor without O_CLOEXEC, so it survives exec.
    if (dup2(fds[1], kChildFd) < 0) _exit(126);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  close(fds[1]);
  return Child{pid, fds[0]};
}

// Reads 8-byte head records from `fd` into `max_ack` until `deadline`, until `records`
// reaches `want_records`, or until EOF. Returns false at EOF (the child is gone).
bool ReadAcks(int fd, std::string* pending, uint64_t* max_ack, uint64_t* records,
              std::chrono::steady_clock::time_point deadline, uint64_t want_records = UINT64_MAX) {
  while (*records < want_records) {
    int timeout = -1;
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, timeout);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return true;  // deadline
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    pending->append(buf, n);
    while (pending->size() >= 8) {
      uint64_t v;
      std::memcpy(&v, pending->data(), 8);
      pending->erase(0, 8);
      *max_ack = std::max(*max_ack, v);
      ++*records;
    }
  }
  return true;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, n);
  }
}

TEST(CrashSafetyTest, AcknowledgedAppendsSurviveSigkill) {
  constexpr int kRuns = 40;
  TempDir dir;
  const std::string log_dir = dir.Sub("log");
  const uint64_t seed = std::random_device{}();
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);

  uint64_t previous_head = 0;
  int runs_with_acks = 0;
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    Child child = Spawn({"append", log_dir, std::to_string(rng())});
    std::string pending;
    uint64_t acked = 0;
    uint64_t records = 0;
    bool alive = true;
    auto ms = [&](int lo, int hi) {
      return std::chrono::microseconds(
          std::uniform_int_distribution<int>(lo * 1000, hi * 1000)(rng));
    };
    if (run % 5 == 0) {
      // Kill during start-up: opening, WAL recovery, the first appends.
      alive = ReadAcks(child.read_fd, &pending, &acked, &records,
                       std::chrono::steady_clock::now() + ms(1, 40));
    } else {
      // The child reports its head once open; kill it while it appends.
      alive = ReadAcks(child.read_fd, &pending, &acked, &records,
                       std::chrono::steady_clock::now() + std::chrono::seconds(30), 1);
      alive = alive && ReadAcks(child.read_fd, &pending, &acked, &records,
                                std::chrono::steady_clock::now() + ms(1, 100));
    }
    kill(child.pid, SIGKILL);
    ReadAcks(child.read_fd, &pending, &acked, &records,
             std::chrono::steady_clock::time_point::max());
    close(child.read_fd);
    int wstatus = 0;
    ASSERT_EQ(waitpid(child.pid, &wstatus, 0), child.pid);
    ASSERT_TRUE(alive && WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "the writer died on its own (status " << wstatus << "); see its stderr above";

    auto opened = OpenRocksDbEventLog(log_dir);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    std::unique_ptr<EventLog> log = std::move(opened).value();
    const uint64_t head = log->Head();
    EXPECT_GE(head, acked) << "an acknowledged append was lost";
    if (acked > previous_head) ++runs_with_acks;
    EXPECT_GE(head, previous_head);

    uint64_t expected = 1;
    Status s = log->ReadEvents(1, 0, [&](const Event& e) {
      EXPECT_EQ(e.seq, expected);
      expected = e.seq + 1;
      return true;
    });
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(expected - 1, head) << "seqs are not dense 1..head";

    auto objects = log->List("", "");
    ASSERT_TRUE(objects.ok()) << objects.status().ToString();
    auto state = StateAt(*log, head);
    ASSERT_TRUE(state.ok()) << state.status().ToString();
    EXPECT_EQ(Values(*state), *objects) << "objects projection disagrees with replay at head";
    previous_head = head;
  }
  // The kills must not all have landed before the first append.
  EXPECT_GT(runs_with_acks, 0);
  printf("%d runs, %d killed after acknowledged appends, final head %llu\n", kRuns, runs_with_acks,
         static_cast<unsigned long long>(previous_head));
}

TEST(LockTest, OpenFromAnotherProcessFailsWithInUseMessage) {
  TempDir dir;
  auto log = OpenRocksDbEventLog(dir.path());
  ASSERT_TRUE(log.ok()) << log.status().ToString();

  Child child = Spawn({"open", dir.path()});
  const std::string reply = ReadAll(child.read_fd);
  close(child.read_fd);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child.pid, &wstatus, 0), child.pid);
  ASSERT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "status " << wstatus;

  EXPECT_THAT(reply, HasSubstr("Unavailable"));
  EXPECT_THAT(reply, HasSubstr("event log " + dir.path() +
                               " is in use by another process (its RocksDB LOCK is held); "
                               "stop that process or choose another --data-dir"));
}

TEST(LockTest, LogIsUsableAgainAfterItsHolderDies) {
  TempDir dir;
  Child child = Spawn({"hold", dir.path()});
  // The holder writes one byte once it has the log open, then waits to be killed.
  char byte = 0;
  ASSERT_EQ(read(child.read_fd, &byte, 1), 1);
  EXPECT_EQ(OpenRocksDbEventLog(dir.path()).status().code(), Code::kUnavailable);
  kill(child.pid, SIGKILL);
  close(child.read_fd);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child.pid, &wstatus, 0), child.pid);
  // The kernel drops a dead process's fcntl lock; no stale-lock cleanup is needed.
  auto log = OpenRocksDbEventLog(dir.path());
  EXPECT_TRUE(log.ok()) << log.status().ToString();
}

// --- child side --------------------------------------------------------------------------

bool WriteAll(int fd, const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Appends random pod events forever, reporting each acknowledged head on kChildFd.
int ChildAppend(const std::string& dir, uint64_t seed) {
  auto opened = OpenRocksDbEventLog(dir);
  if (!opened.ok()) {
    fprintf(stderr, "child: %s\n", opened.status().ToString().c_str());
    return 2;
  }
  std::unique_ptr<EventLog> log = std::move(opened).value();
  // The head found at open is durable too: report it first, as "open and ready".
  const uint64_t opened_head = log->Head();
  if (!WriteAll(kChildFd, &opened_head, sizeof opened_head)) return 3;
  std::mt19937_64 rng(seed);
  std::set<std::string> live;
  auto existing = log->List("Pod", "");
  if (!existing.ok()) return 2;
  for (const auto& o : *existing) live.insert(o.ns + "/" + o.name);

  for (;;) {
    std::vector<Event> batch(std::uniform_int_distribution<int>(1, 16)(rng));
    uint64_t seq = log->Head();
    std::set<std::string> next_live = live;
    for (Event& e : batch) {
      e.seq = ++seq;
      e.time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
      e.kind = "Pod";
      e.ns = (rng() % 2) ? "default" : "team-a";
      e.name = "pod-" + std::to_string(rng() % 64);
      const std::string id = e.ns + "/" + e.name;
      if (!next_live.count(id)) {
        e.type = EventType::kAdded;
        next_live.insert(id);
      } else if (rng() % 4 == 0) {
        e.type = EventType::kDeleted;
        next_live.erase(id);
      } else {
        e.type = EventType::kModified;
      }
      e.uid = "uid-" + e.name;
      e.object = PodJson(e.ns, e.name, e.seq, rng() % 256);
      e.actor = "crash-child";
      e.reason = "crash test";
    }
    Status s = log->Append(batch);
    if (!s.ok()) {
      fprintf(stderr, "child: append: %s\n", s.ToString().c_str());
      return 2;
    }
    live = std::move(next_live);
    const uint64_t head = log->Head();
    if (!WriteAll(kChildFd, &head, sizeof head)) return 3;
  }
}

// Tries to open a log another process holds; reports the Status text on kChildFd.
int ChildOpen(const std::string& dir) {
  auto log = OpenRocksDbEventLog(dir);
  const std::string text = log.ok() ? std::string("opened") : log.status().ToString();
  return WriteAll(kChildFd, text.data(), text.size()) ? 0 : 3;
}

// Opens a log, reports one byte on kChildFd, then waits to be killed.
int ChildHold(const std::string& dir) {
  auto log = OpenRocksDbEventLog(dir);
  if (!log.ok()) return 2;
  if (!WriteAll(kChildFd, "k", 1)) return 3;
  for (;;) pause();
}

int ChildMain(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[2] : "";
  if (mode == "append" && argc == 5) return ChildAppend(argv[3], std::stoull(argv[4]));
  if (mode == "open" && argc == 4) return ChildOpen(argv[3]);
  if (mode == "hold" && argc == 4) return ChildHold(argv[3]);
  fprintf(stderr, "process_test: bad child arguments\n");
  return 64;
}

}  // namespace
}  // namespace korc::storage

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--child") == 0) {
    return korc::storage::ChildMain(argc, argv);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
