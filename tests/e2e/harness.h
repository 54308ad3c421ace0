// What the end-to-end tests share: running a client binary with a deadline, and a
// `korc apiserver` child process on a free port with a throwaway data directory.
//
// Not thread-safe beyond what is stated: one test thread drives a Child; each Child owns a
// reader thread per pipe that drains the child's output into a buffer, so a chatty child never
// blocks on a full pipe and waits are condition waits with a deadline (no sleeps).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace korc::e2e {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A tool these tests need is missing: skip with the reason, except in CI (CI=true), where a
// skipped end-to-end test would hide that the real thing never ran, so it fails instead.
#define KORC_E2E_REQUIRE(cond, reason)                                                    \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      const char* ci = getenv("CI");                                                      \
      if (ci != nullptr && std::string(ci) == "true") FAIL() << (reason) << " (CI=true)"; \
      GTEST_SKIP() << (reason);                                                           \
    }                                                                                     \
  } while (0)

inline bool IsExecutable(const std::string& path) {
  return !path.empty() && access(path.c_str(), X_OK) == 0;
}

// The environment of this process with `set` applied (NAME=VALUE replaces NAME) and the
// names in `drop` removed.
inline std::vector<std::string> ChildEnv(const std::vector<std::string>& set,
                                         const std::vector<std::string>& drop = {}) {
  auto name_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string name = name_of(kv);
    bool replaced = false;
    for (const auto& s : set) replaced = replaced || name_of(s) == name;
    for (const auto& d : drop) replaced = replaced || d == name;
    if (!replaced) env.push_back(kv);
  }
  env.insert(env.end(), set.begin(), set.end());
  return env;
}

// A child process whose stdout and stderr go, together, into output().
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Kills (SIGKILL) and reaps the child if it still runs: a failed test leaves nothing behind.
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      Reap();
    }
    JoinReaders();
  }

  // Starts argv[0] (a path, not looked up in PATH) with env. Its stderr goes into output()
  // with its stdout, or, with separate_stderr, into errors() alone. Returns an error
  // message, or "" when it started.
  std::string Start(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                    bool separate_stderr = false) {
    int out[2], err[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) != 0) return std::string("pipe2: ") + strerror(errno);
    if (separate_stderr && pipe2(err, O_CLOEXEC) != 0) {
      close(out[0]);
      close(out[1]);
      return std::string("pipe2: ") + strerror(errno);
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    // dup2 clears FD_CLOEXEC on the copies; the originals close on exec, so no other child
    // (started concurrently) inherits these pipes and keeps them open past this child's exit.
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, separate_stderr ? err[1] : out[1], 2);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    if (separate_stderr) close(err[1]);
    if (rc != 0) {
      close(out[0]);
      if (separate_stderr) close(err[0]);
      pid_ = -1;
      return "cannot run " + argv[0] + ": " + strerror(rc);
    }
    open_streams_ = separate_stderr ? 2 : 1;
    readers_.emplace_back([this, fd = out[0]] { Drain(fd, &out_); });
    if (separate_stderr) readers_.emplace_back([this, fd = err[0]] { Drain(fd, &err_); });
    return "";
  }

  std::string output() const {
    std::lock_guard lock(mu_);
    return out_;
  }
  std::string errors() const {
    std::lock_guard lock(mu_);
    return err_;
  }

  // Waits until the output satisfies `done` (given the whole output so far), the child
  // closes its output, or the deadline passes. Returns whether `done` held.
  template <typename Pred>
  bool WaitForOutput(Pred done, Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return done(out_) || open_streams_ == 0; });
    return done(out_);
  }
  bool WaitForText(const std::string& text, Clock::time_point deadline) {
    return WaitForOutput([&](const std::string& o) { return o.find(text) != std::string::npos; },
                         deadline);
  }

  // Waits for the child to exit by the deadline; past it, kills it (SIGKILL). Returns the
  // exit code, or nullopt when it had to be killed or died of a signal.
  std::optional<int> Wait(Clock::time_point deadline) {
    if (pid_ <= 0) return std::nullopt;
    // The pipe reaches EOF when the child exits (it has no children of its own holding it).
    bool eof;
    {
      std::unique_lock lock(mu_);
      eof = cv_.wait_until(lock, deadline, [&] { return open_streams_ == 0; });
    }
    if (!eof) {
      timed_out_ = true;
      kill(pid_, SIGKILL);
    }
    int status = Reap();
    JoinReaders();
    if (timed_out_ || !WIFEXITED(status)) return std::nullopt;
    return WEXITSTATUS(status);
  }

  // SIGTERM, then Wait(deadline).
  std::optional<int> Terminate(Clock::time_point deadline) {
    if (pid_ > 0 && !reaped_) kill(pid_, SIGTERM);
    return Wait(deadline);
  }

  bool timed_out() const { return timed_out_; }
  pid_t pid() const { return pid_; }

 private:
  void Drain(int fd, std::string* into) {
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      std::lock_guard lock(mu_);
      into->append(buf, static_cast<size_t>(n));
      cv_.notify_all();
    }
    close(fd);
    std::lock_guard lock(mu_);
    --open_streams_;
    cv_.notify_all();
  }
  void JoinReaders() {
    for (auto& r : readers_) {
      if (r.joinable()) r.join();
    }
  }

  int Reap() {
    if (reaped_) return status_;
    while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status_;
  }

  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;  // waitpid's, once reaped_
  bool timed_out_ = false;
  std::vector<std::thread> readers_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string out_;       // guarded by mu_
  std::string err_;       // guarded by mu_
  int open_streams_ = 0;  // guarded by mu_; pipes not yet at EOF
};

struct Outcome {
  int code;         // exit code; -1 when killed at the deadline or by a signal
  std::string out;  // stdout, and stderr unless separate_stderr
  std::string err;  // stderr when separate_stderr
};

inline std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  os << "exit " << o.code << ", output:\n" << o.out;
  if (!o.err.empty()) os << "\nstderr:\n" << o.err;
  return os;
}

// Runs argv to completion, or kills it at the deadline (then code -1 and a note in out).
inline Outcome RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          std::chrono::seconds timeout, bool separate_stderr = false) {
  Child c;
  std::string err = c.Start(argv, env, separate_stderr);
  if (!err.empty()) return {-1, err, ""};
  std::optional<int> code = c.Wait(Clock::now() + timeout);
  std::string out = c.output();
  if (c.timed_out())
    out += "\n[killed: still running after " + std::to_string(timeout.count()) + "s]";
  return {code.value_or(-1), out, c.errors()};
}

// A `korc apiserver` on a port the kernel picks, with its own data directory under `dir`.
class ApiServerProcess {
 public:
  // Starts the server and waits for its "serving http://127.0.0.1:PORT" line. Returns an
  // error message (with the server's output), or "" once it serves.
  std::string Start(const std::string& korc_bin, const std::string& dir) {
    std::string err = child_.Start(
        {korc_bin, "apiserver", "--data-dir", dir + "/data", "--port", "0"}, ChildEnv({}));
    if (!err.empty()) return err;
    static const std::regex kServing(R"(serving http://([0-9.]+):([0-9]+) )");
    std::smatch m;
    bool up = child_.WaitForOutput(
        [&](const std::string& o) { return std::regex_search(o, m, kServing); },
        Clock::now() + 30s);
    std::string out = child_.output();
    if (!up || !std::regex_search(out, m, kServing)) {
      return "korc apiserver did not print its serving line within 30s; output:\n" + out;
    }
    url_ = "http://" + m[1].str() + ":" + m[2].str();
    return "";
  }
  // SIGTERM and wait; returns the exit code (nullopt when it had to be killed).
  std::optional<int> Stop() { return child_.Terminate(Clock::now() + 20s); }

  const std::string& url() const { return url_; }
  std::string output() const { return child_.output(); }

 private:
  Child child_;
  std::string url_;
};

// Every test gets a fresh temp directory (removed after) and its own server in it.
class ServerFixture {
 protected:
  // Call from SetUp; ASSERTs.
  void StartServer(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    ASSERT_NE(mkdtemp(buf.data()), nullptr) << strerror(errno);
    dir_ = buf.data();
    std::string err = server_.Start(KORC_BIN, dir_);
    ASSERT_EQ(err, "");
  }
  // Call from TearDown.
  void StopServer() {
    if (!server_.url().empty()) {
      std::optional<int> code = server_.Stop();
      EXPECT_EQ(code, std::optional<int>(0))
          << "korc apiserver did not exit cleanly on SIGTERM; output:\n"
          << server_.output();
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
  ApiServerProcess server_;
};

// Whitespace-separated words of each line of `text`, so table rows compare regardless of
// column widths.
inline std::vector<std::vector<std::string>> Rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> row;
    std::string w;
    while (words >> w) row.push_back(w);
    if (!row.empty()) rows.push_back(row);
  }
  return rows;
}

// The row (as words) whose first words are `prefix`, or an empty vector.
inline std::vector<std::string> RowStartingWith(const std::string& text,
                                                const std::vector<std::string>& prefix) {
  for (const auto& row : Rows(text)) {
    if (row.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), row.begin())) {
      return row;
    }
  }
  return {};
}

}  // namespace korc::e2e
