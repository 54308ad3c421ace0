#include "components/kubelet/logs/container_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/values.h"

namespace korc::kubelet::logs {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1'795'845'600'123'456'789;  // 2026-11-28T06:00:00.123456789Z

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "korc-logs-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<ContainerLogWriter> MustOpen(const std::string& path, int64_t max_bytes = 0,
                                             int max_files = 1) {
  auto w = ContainerLogWriter::Open(path, max_bytes, max_files);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return std::move(w).value();
}

std::string MustRead(const std::string& path, const ReadOptions& o = {}) {
  auto r = ReadLog(path, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

TEST(Rfc3339Test, FormatsNineDigitsAndParsesBack) {
  EXPECT_EQ(FormatRfc3339Nano(kT0), "2026-11-28T06:00:00.123456789Z");
  EXPECT_EQ(FormatRfc3339Nano(kT0 - 123'456'789), "2026-11-28T06:00:00.000000000Z");
  EXPECT_EQ(api::ParseRfc3339("2026-11-28T06:00:00.123456789Z"), kT0);
  EXPECT_EQ(api::ParseRfc3339("2026-11-28T06:00:00.123Z"), kT0 - 456'789);
  EXPECT_EQ(api::ParseRfc3339("2026-11-28T06:00:00Z"), kT0 - 123'456'789);
  EXPECT_EQ(api::ParseRfc3339("2026-11-28T07:30:00+01:30"), kT0 - 123'456'789);
  EXPECT_FALSE(api::ParseRfc3339("2026-11-28 06:00:00Z"));
  EXPECT_FALSE(api::ParseRfc3339("2026-11-28T06:00:00"));
  EXPECT_FALSE(api::ParseRfc3339("garbage"));
}

TEST(ContainerLogWriterTest, WritesCriRecords) {
  TempDir dir;
  auto w = MustOpen(dir.File("c.log"));
  ASSERT_TRUE(w->WriteAt("stdout", "hello\nworld\n", kT0).ok());
  ASSERT_TRUE(w->WriteAt("stderr", "\n", kT0 + 1).ok());
  EXPECT_EQ(Slurp(dir.File("c.log")),
            "2026-11-28T06:00:00.123456789Z stdout F hello\n"
            "2026-11-28T06:00:00.123456789Z stdout F world\n"
            "2026-11-28T06:00:00.123456790Z stderr F \n");
}

TEST(ContainerLogWriterTest, BuffersUnfinishedLinesPerStream) {
  TempDir dir;
  auto w = MustOpen(dir.File("c.log"));
  ASSERT_TRUE(w->WriteAt("stdout", "hel", kT0).ok());
  ASSERT_TRUE(w->WriteAt("stderr", "oops\n", kT0).ok());
  ASSERT_TRUE(w->WriteAt("stdout", "lo\nrest", kT0).ok());
  EXPECT_EQ(Slurp(dir.File("c.log")),
            "2026-11-28T06:00:00.123456789Z stderr F oops\n"
            "2026-11-28T06:00:00.123456789Z stdout F hello\n");
  ASSERT_TRUE(w->FlushAt(kT0).ok());
  EXPECT_EQ(MustRead(dir.File("c.log")), "oops\nhello\nrest");
}

TEST(ContainerLogWriterTest, SplitsLongLinesIntoPartialRecords) {
  TempDir dir;
  auto w = MustOpen(dir.File("c.log"));
  std::string line(2 * kMaxRecordBytes + 100, 'x');
  // Arrives in small chunks: pieces go out once they pass 16 KiB, not only at the newline.
  for (size_t i = 0; i < line.size(); i += 1000) {
    ASSERT_TRUE(w->WriteAt("stdout", std::string_view(line).substr(i, 1000), kT0).ok());
  }
  std::string so_far = Slurp(dir.File("c.log"));
  EXPECT_NE(so_far.find(" stdout P "), std::string::npos);
  ASSERT_TRUE(w->WriteAt("stdout", "\n", kT0).ok());
  std::string file = Slurp(dir.File("c.log"));
  std::string prefix = "2026-11-28T06:00:00.123456789Z stdout ";
  EXPECT_EQ(file, prefix + "P " + std::string(kMaxRecordBytes, 'x') + "\n" + prefix + "P " +
                      std::string(kMaxRecordBytes, 'x') + "\n" + prefix + "F " +
                      std::string(100, 'x') + "\n");
  EXPECT_EQ(MustRead(dir.File("c.log")), line + "\n");
}

TEST(ContainerLogWriterTest, RotatesKeepingMaxFiles) {
  TempDir dir;
  std::string path = dir.File("c.log");
  const int64_t kMax = 200;
  auto w = MustOpen(path, kMax, 3);
  // Each record is 30 + 1 + 6 + 3 + 8 + 1 = 49 bytes: four fit in 200.
  for (int i = 0; i < 20; ++i) {
    char line[16];
    std::snprintf(line, sizeof(line), "line-%03d\n", i);
    ASSERT_TRUE(w->WriteAt("stdout", line, kT0 + i).ok());
  }
  EXPECT_TRUE(fs::exists(path));
  EXPECT_TRUE(fs::exists(path + ".1"));
  EXPECT_TRUE(fs::exists(path + ".2"));
  EXPECT_FALSE(fs::exists(path + ".3"));
  for (const auto& f : {path, path + ".1", path + ".2"}) {
    EXPECT_LE(static_cast<int64_t>(fs::file_size(f)), kMax) << f;
  }
  // 20 lines, 4 per file: the current file has 16..19, .1 12..15, .2 8..11.
  std::string expected;
  for (int i = 8; i < 20; ++i) {
    char line[16];
    std::snprintf(line, sizeof(line), "line-%03d\n", i);
    expected += line;
  }
  EXPECT_EQ(MustRead(path), expected);
}

TEST(ContainerLogWriterTest, OneFileStartsOver) {
  TempDir dir;
  std::string path = dir.File("c.log");
  auto w = MustOpen(path, 100, 1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(w->WriteAt("stdout", "0123456789\n", kT0).ok());
  EXPECT_FALSE(fs::exists(path + ".1"));
  EXPECT_LE(fs::file_size(path), 100u);
  EXPECT_EQ(MustRead(path), "0123456789\n");
}

TEST(ContainerLogWriterTest, ReopenAppends) {
  TempDir dir;
  std::string path = dir.File("c.log");
  ASSERT_TRUE(MustOpen(path)->WriteAt("stdout", "a\n", kT0).ok());
  ASSERT_TRUE(MustOpen(path)->WriteAt("stdout", "b\n", kT0).ok());
  EXPECT_EQ(MustRead(path), "a\nb\n");
}

class ReadLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("c.log");
    auto w = MustOpen(path_);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(
          w->WriteAt("stdout", "line" + std::to_string(i) + "\n", kT0 + i * 1'000'000'000LL).ok());
    }
  }
  TempDir dir_;
  std::string path_;
};

TEST_F(ReadLogTest, All) { EXPECT_EQ(MustRead(path_), "line0\nline1\nline2\nline3\nline4\n"); }

TEST_F(ReadLogTest, TailLines) {
  EXPECT_EQ(MustRead(path_, {.tail_lines = 2}), "line3\nline4\n");
  EXPECT_EQ(MustRead(path_, {.tail_lines = 0}), "");
  EXPECT_EQ(MustRead(path_, {.tail_lines = 50}), "line0\nline1\nline2\nline3\nline4\n");
}

TEST_F(ReadLogTest, LimitBytes) { EXPECT_EQ(MustRead(path_, {.limit_bytes = 8}), "line0\nli"); }

TEST_F(ReadLogTest, Timestamps) {
  EXPECT_EQ(MustRead(path_, {.tail_lines = 1, .timestamps = true}),
            "2026-11-28T06:00:04.123456789Z line4\n");
}

TEST_F(ReadLogTest, SinceTime) {
  EXPECT_EQ(MustRead(path_, {.since_ns = kT0 + 3'000'000'000LL}), "line3\nline4\n");
  EXPECT_EQ(MustRead(path_, {.tail_lines = 1, .since_ns = kT0 + 3'000'000'000LL}), "line4\n");
}

TEST_F(ReadLogTest, SkipsMalformedRecords) {
  {
    std::ofstream out(path_, std::ios::app);
    out << "not a record\n"
        << "2026-11-28T06:00:09Z stdout X bad tag\n"
        << "2026-11-28T06:00:09Z stdout F good\n";
  }
  EXPECT_EQ(MustRead(path_, {.tail_lines = 2}), "line4\ngood\n");
}

TEST_F(ReadLogTest, IgnoresRecordBeingWritten) {
  {
    std::ofstream out(path_, std::ios::app);
    out << "2026-11-28T06:00:09Z stdout F torn";  // no newline yet
  }
  EXPECT_EQ(MustRead(path_, {.tail_lines = 1}), "line4\n");
}

TEST(ReadLogErrorsTest, MissingFileIsNotFound) {
  TempDir dir;
  auto r = ReadLog(dir.File("nope.log"), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  auto f = FollowLog(
      dir.File("nope.log"), {}, [](std::string_view) { return true; }, [] { return false; });
  EXPECT_EQ(f.code(), Code::kNotFound);
}

// Collects what a follow sends, from another thread.
class Collector {
 public:
  bool Add(std::string_view s) {
    std::lock_guard lock(mu_);
    out_.append(s);
    return true;
  }
  std::string Get() {
    std::lock_guard lock(mu_);
    return out_;
  }
  // Polls until the output equals `want` or the deadline passes.
  bool WaitFor(const std::string& want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Get() == want) return true;
      std::this_thread::yield();
    }
    return Get() == want;
  }

 private:
  std::mutex mu_;
  std::string out_;
};

TEST(FollowLogTest, SendsNewLinesAcrossRotationsUntilStopped) {
  TempDir dir;
  std::string path = dir.File("c.log");
  auto w = MustOpen(path, 200, 3);
  ASSERT_TRUE(w->Write("stdout", "old0\nold1\nold2\n").ok());
  Collector got;
  std::atomic<bool> running{true};
  Status result;
  std::thread follower([&] {
    result = FollowLog(
        path, {.tail_lines = 2}, [&](std::string_view s) { return got.Add(s); },
        [&] { return running.load(); });
  });
  ASSERT_TRUE(got.WaitFor("old1\nold2\n")) << got.Get();
  std::string want = "old1\nold2\n";
  // Enough lines to rotate several times while the follower watches.
  for (int i = 0; i < 12; ++i) {
    std::string line = "new" + std::to_string(i) + "\n";
    ASSERT_TRUE(w->Write("stdout", line).ok());
    want += line;
    ASSERT_TRUE(got.WaitFor(want)) << got.Get();
  }
  EXPECT_TRUE(fs::exists(path + ".2"));
  // Written just before the container ends: still sent, as is the unfinished last line.
  ASSERT_TRUE(w->Write("stderr", "last\nunfinished").ok());
  ASSERT_TRUE(w->Flush().ok());
  running = false;
  follower.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(got.Get(), want + "last\nunfinished");
}

TEST(FollowLogTest, EndsWhenSinkRefuses) {
  TempDir dir;
  std::string path = dir.File("c.log");
  auto w = MustOpen(path);
  ASSERT_TRUE(w->Write("stdout", "a\n").ok());
  int calls = 0;
  Status st = FollowLog(
      path, {},
      [&](std::string_view) {
        ++calls;
        return false;
      },
      [] { return true; });  // would follow forever
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 1);
}

TEST(FollowLogTest, EndsAtLimitBytes) {
  TempDir dir;
  std::string path = dir.File("c.log");
  auto w = MustOpen(path);
  ASSERT_TRUE(w->Write("stdout", "abc\n").ok());
  Collector got;
  std::thread follower([&] {
    EXPECT_TRUE(FollowLog(
                    path, {.limit_bytes = 6}, [&](std::string_view s) { return got.Add(s); },
                    [] { return true; })
                    .ok());
  });
  ASSERT_TRUE(got.WaitFor("abc\n"));
  ASSERT_TRUE(w->Write("stdout", "defgh\n").ok());
  follower.join();  // returns by itself once 6 bytes went out
  EXPECT_EQ(got.Get(), "abc\nde");
}

}  // namespace
}  // namespace korc::kubelet::logs
