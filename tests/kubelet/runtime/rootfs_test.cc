#include "components/kubelet/runtime/rootfs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/require.h"

namespace korc::kubelet {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

bool OverlaySupported() {
  return ReadFile("/proc/filesystems").find("\toverlay\n") != std::string::npos;
}

// Whether any mount of this process's namespace lies under `dir`.
bool HasMountUnder(const std::string& dir) {
  return ReadFile("/proc/self/mountinfo").find(" " + dir) != std::string::npos;
}

class RootfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/korc-rootfs-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    image_ = dir_ + "/image";
    fs::create_directories(image_ + "/etc");
    fs::create_directories(image_ + "/bin");
    fs::create_directories(image_ + "/run");
    fs::create_directories(image_ + "/var");
    WriteFile(image_ + "/etc/hostname", "image\n");
    fs::create_symlink("/run", image_ + "/var/run");
  }

  void TearDown() override {
    for (const char* c : {"/c1", "/c2"}) EXPECT_TRUE(ReleaseRootfs(dir_ + c).ok());
    EXPECT_FALSE(HasMountUnder(dir_)) << "mount left under " << dir_;
    std::error_code ec;
    if (!HasMountUnder(dir_)) fs::remove_all(dir_, ec);
  }

  std::string dir_;
  std::string image_;
};

TEST_F(RootfsTest, OverlayWritesDoNotReachTheImage) {
  KORC_REQUIRE(testing::IsRoot(), "mounting overlayfs needs root");
  KORC_REQUIRE(OverlaySupported(), "the kernel has no overlayfs");
  auto prepared = PrepareRootfs(image_, dir_ + "/c1", {"/data/volume", "/work/dir"});
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_TRUE(prepared->overlay);
  EXPECT_EQ(prepared->path, dir_ + "/c1/rootfs");
  EXPECT_EQ(ReadFile(prepared->path + "/etc/hostname"), "image\n");

  WriteFile(prepared->path + "/etc/hostname", "container\n");
  WriteFile(prepared->path + "/new-file", "x");
  EXPECT_EQ(ReadFile(prepared->path + "/etc/hostname"), "container\n");
  EXPECT_EQ(ReadFile(image_ + "/etc/hostname"), "image\n");
  EXPECT_FALSE(fs::exists(image_ + "/new-file"));

  for (const char* d : {"/proc", "/dev", "/sys", "/tmp", "/data/volume", "/work/dir"}) {
    EXPECT_TRUE(fs::is_directory(prepared->path + d)) << d;
    EXPECT_FALSE(fs::exists(image_ + d)) << d << " was created in the image";
  }
  struct stat st {};
  ASSERT_EQ(stat((prepared->path + "/tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
}

TEST_F(RootfsTest, ContainersOfOneImageAreSeparate) {
  KORC_REQUIRE(testing::IsRoot(), "mounting overlayfs needs root");
  KORC_REQUIRE(OverlaySupported(), "the kernel has no overlayfs");
  auto a = PrepareRootfs(image_, dir_ + "/c1", {});
  auto b = PrepareRootfs(image_, dir_ + "/c2", {});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  WriteFile(a->path + "/etc/hostname", "a\n");
  WriteFile(a->path + "/only-a", "a");
  EXPECT_EQ(ReadFile(b->path + "/etc/hostname"), "image\n");
  EXPECT_FALSE(fs::exists(b->path + "/only-a"));
}

TEST_F(RootfsTest, PrepareTwiceReusesTheRoot) {
  KORC_REQUIRE(testing::IsRoot(), "mounting overlayfs needs root");
  auto first = PrepareRootfs(image_, dir_ + "/c1", {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  WriteFile(first->path + "/kept", "1");
  auto second = PrepareRootfs(image_, dir_ + "/c1", {"/later"});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->overlay, first->overlay);
  EXPECT_EQ(ReadFile(second->path + "/kept"), "1");
  EXPECT_TRUE(fs::is_directory(second->path + "/later"));
  // One mount, not two stacked.
  std::string mountinfo = ReadFile("/proc/self/mountinfo");
  std::string needle = " " + first->path + " ";
  size_t at = mountinfo.find(needle);
  EXPECT_EQ(mountinfo.find(needle, at == std::string::npos ? 0 : at + 1), std::string::npos);
}

TEST_F(RootfsTest, SymlinkEscapeIsRefused) {
  KORC_REQUIRE(testing::IsRoot(), "mounting overlayfs needs root");
  // A link climbing out of the root: followed on the host it would land in dir_.
  fs::create_symlink("../../..", image_ + "/up");
  auto prepared = PrepareRootfs(image_, dir_ + "/c1", {"/up/escaped"});
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.status().code(), Code::kInvalid) << prepared.status().ToString();
  EXPECT_FALSE(fs::exists(dir_ + "/escaped"));
  EXPECT_FALSE(fs::exists(dir_ + "/c1/escaped"));
  EXPECT_FALSE(fs::exists("/escaped"));
  // A plain ".." out of the root is refused the same way.
  auto dotdot = PrepareRootfs(image_, dir_ + "/c1", {"/../escaped"});
  EXPECT_EQ(dotdot.status().code(), Code::kInvalid);
}

TEST_F(RootfsTest, AbsoluteSymlinkResolvesInsideTheRoot) {
  KORC_REQUIRE(testing::IsRoot(), "mounting overlayfs needs root");
  const std::string probe = "korc-probe-" + std::to_string(getpid());
  auto prepared = PrepareRootfs(image_, dir_ + "/c1", {"/var/run/" + probe});
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_TRUE(fs::is_directory(prepared->path + "/run/" + probe));
  EXPECT_FALSE(fs::exists("/run/" + probe)) << "followed /var/run -> /run on the node";
}

TEST_F(RootfsTest, FileInTheWayIsInvalid) {
  KORC_REQUIRE(testing::IsRoot(), "mounting overlayfs needs root");
  auto prepared = PrepareRootfs(image_, dir_ + "/c1", {"/etc/hostname/sub"});
  EXPECT_EQ(prepared.status().code(), Code::kInvalid) << prepared.status().ToString();
  auto relative = PrepareRootfs(image_, dir_ + "/c1", {"relative"});
  EXPECT_EQ(relative.status().code(), Code::kInvalid) << relative.status().ToString();
}

TEST_F(RootfsTest, MakeDirInRootNeedsNoMount) {
  fs::create_symlink("../..", image_ + "/up");
  fs::create_symlink("loop2", image_ + "/loop1");
  fs::create_symlink("loop1", image_ + "/loop2");
  auto made = MakeDirInRoot(image_, "/a/./b/../c");
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ(*made, image_ + "/a/c");
  EXPECT_TRUE(fs::is_directory(image_ + "/a/c"));
  EXPECT_EQ(MakeDirInRoot(image_, "/up/x").status().code(), Code::kInvalid);
  EXPECT_EQ(MakeDirInRoot(image_, "/loop1/x").status().code(), Code::kInvalid);
  EXPECT_EQ(MakeDirInRoot(dir_ + "/missing", "/x").status().code(), Code::kNotFound);
}

TEST_F(RootfsTest, CopiesWhenOverlayCannotExpressThePath) {
  KORC_REQUIRE(testing::IsRoot(), "keeping owners in a copy needs root");
  // A ':' cannot be passed in overlay's lowerdir, so this image takes the copy path.
  const std::string image = dir_ + "/img:copy";
  fs::create_directories(image + "/etc");
  WriteFile(image + "/etc/hostname", "image\n");
  fs::create_symlink("etc/hostname", image + "/link");
  ASSERT_EQ(chmod((image + "/etc/hostname").c_str(), 0640), 0);
  ASSERT_EQ(lchown((image + "/etc/hostname").c_str(), 1234, 5678), 0);
  ASSERT_EQ(mkfifo((image + "/fifo").c_str(), 0600), 0);

  auto prepared = PrepareRootfs(image, dir_ + "/c1", {"/data"});
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  EXPECT_FALSE(prepared->overlay);
  EXPECT_FALSE(HasMountUnder(dir_));
  EXPECT_EQ(ReadFile(prepared->path + "/link"), "image\n");
  EXPECT_EQ(fs::read_symlink(prepared->path + "/link"), "etc/hostname");
  struct stat st {};
  ASSERT_EQ(stat((prepared->path + "/etc/hostname").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_TRUE(fs::is_fifo(prepared->path + "/fifo"));
  EXPECT_TRUE(fs::is_directory(prepared->path + "/data"));

  WriteFile(prepared->path + "/etc/hostname", "container\n");
  EXPECT_EQ(ReadFile(image + "/etc/hostname"), "image\n");
  // Reused, not recopied, on a second prepare.
  auto again = PrepareRootfs(image, dir_ + "/c1", {});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ReadFile(again->path + "/etc/hostname"), "container\n");

  ASSERT_TRUE(ReleaseRootfs(dir_ + "/c1").ok());
  EXPECT_FALSE(fs::exists(dir_ + "/c1/rootfs"));
  EXPECT_FALSE(fs::exists(dir_ + "/c1/rootfs.copied"));
}

TEST_F(RootfsTest, ReleaseRemovesEverythingAndIsIdempotent) {
  KORC_REQUIRE(testing::IsRoot(), "mounting overlayfs needs root");
  auto prepared = PrepareRootfs(image_, dir_ + "/c1", {});
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  WriteFile(prepared->path + "/written", "x");
  // Busy: a descriptor open inside the mount forces the lazy path.
  int busy = open((prepared->path + "/etc").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(busy, 0);
  Status released = ReleaseRootfs(dir_ + "/c1");
  close(busy);
  ASSERT_TRUE(released.ok()) << released.ToString();
  EXPECT_FALSE(HasMountUnder(dir_));
  for (const char* name : {"/rootfs", "/upper", "/work"}) {
    EXPECT_FALSE(fs::exists(dir_ + "/c1" + name)) << name;
  }
  EXPECT_TRUE(fs::exists(image_ + "/etc/hostname"));
  EXPECT_TRUE(ReleaseRootfs(dir_ + "/c1").ok());
  EXPECT_TRUE(ReleaseRootfs(dir_ + "/never-prepared").ok());
}

}  // namespace
}  // namespace korc::kubelet
