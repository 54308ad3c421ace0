#include "components/kubelet/images/image_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "components/kubelet/images/layer.h"
#include "tests/require.h"

namespace korc::kubelet::images {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// One archive entry: a file, a directory, a symlink or a hard link.
struct Entry {
  enum Type { kFile, kDir, kSymlink, kHardlink } type = kFile;
  std::string path;
  std::string data;  // file content, or the link target
  int mode = 0644;
  int uid = 0, gid = 0;
};
Entry File(std::string path, std::string data, int mode = 0644) {
  return {Entry::kFile, std::move(path), std::move(data), mode};
}
Entry Dir(std::string path, int mode = 0755) { return {Entry::kDir, std::move(path), "", mode}; }
Entry Symlink(std::string path, std::string target) {
  return {Entry::kSymlink, std::move(path), std::move(target), 0777};
}
Entry Hardlink(std::string path, std::string target) {
  return {Entry::kHardlink, std::move(path), std::move(target), 0644};
}

void WriteArchive(const std::string& out, const std::vector<Entry>& entries, bool gzip = false) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  ASSERT_EQ(archive_write_open_filename(a, out.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const auto& e : entries) {
    archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.path.c_str());
    archive_entry_set_perm(ae, e.mode);
    archive_entry_set_uid(ae, e.uid);
    archive_entry_set_gid(ae, e.gid);
    archive_entry_set_mtime(ae, 1700000000, 0);
    switch (e.type) {
      case Entry::kFile:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_size(ae, e.data.size());
        break;
      case Entry::kDir:
        archive_entry_set_filetype(ae, AE_IFDIR);
        break;
      case Entry::kSymlink:
        archive_entry_set_filetype(ae, AE_IFLNK);
        archive_entry_set_symlink(ae, e.data.c_str());
        break;
      case Entry::kHardlink:
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_hardlink(ae, e.data.c_str());
        break;
    }
    ASSERT_EQ(archive_write_header(a, ae), ARCHIVE_OK) << archive_error_string(a);
    if (e.type == Entry::kFile && !e.data.empty()) {
      archive_write_data(a, e.data.data(), e.data.size());
    }
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/korc-images-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    store_dir_ = base_ + "/store";
    auto store = ImageStore::Open(store_dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(base_, ec);
    EXPECT_FALSE(fs::exists(base_));
  }

  // A small tree: the content most tests import.
  std::vector<Entry> SampleTree() {
    return {Dir("bin"),
            File("bin/tool", "#!/bin/sh\necho hi\n", 0755),
            Symlink("bin/sh", "tool"),
            Dir("etc"),
            File("etc/hostname", "box\n"),
            Dir("tmp", 01777)};
  }

  // Imports must never leave work in progress behind.
  void ExpectNoTemporaries() { EXPECT_TRUE(Names(store_dir_ + "/tmp").empty()); }

  std::string base_, store_dir_;
  std::unique_ptr<ImageStore> store_;
};

TEST(ReferenceTest, Normalizes) {
  const std::string kDigest = "sha256:" + std::string(64, 'a');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:1.36", "docker.io/library/busybox:1.36"},
      {"library/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest"},
      {"index.docker.io/library/busybox:x", "docker.io/library/busybox:x"},
      {"foo/bar", "docker.io/foo/bar:latest"},
      {"localhost:5000/x/y:1", "localhost:5000/x/y:1"},
      {"localhost/x", "localhost/x:latest"},
      {"quay.io/a/b-c_d.e:v1.2_3-rc", "quay.io/a/b-c_d.e:v1.2_3-rc"},
      {"gcr.io/x@" + kDigest, "gcr.io/x@" + kDigest},
      {"busybox@" + kDigest, "docker.io/library/busybox@" + kDigest},
      {"busybox:1@" + kDigest, "docker.io/library/busybox:1@" + kDigest},
  };
  for (const auto& [in, want] : cases) {
    auto got = NormalizeReference(in);
    ASSERT_TRUE(got.ok()) << in << ": " << got.status().ToString();
    EXPECT_EQ(*got, want) << in;
  }
}

TEST(ReferenceTest, RejectsInvalid) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "empty"},
      {"Busybox", "must be lowercase"},
      {"busybox:", "bad tag"},
      {"busybox:-x", "bad tag"},
      {":tag", "empty"},
      {"a//b", "empty path component"},
      {"busybox@sha256:abc", "bad digest"},
      {"busybox@sha256:" + std::string(64, 'A'), "64 lowercase hex"},
      {"bad name", "bad repository name"},
      {"-x", "bad repository name"},
      {"localhost:port/x", "bad registry host"},
  };
  for (const auto& [in, why] : cases) {
    auto got = NormalizeReference(in);
    ASSERT_FALSE(got.ok()) << in << " normalized to " << *got;
    EXPECT_EQ(got.status().code(), Code::kInvalid) << in;
    EXPECT_NE(got.status().message().find(why), std::string::npos)
        << in << ": " << got.status().message();
  }
}

TEST(ReferenceTest, Familiar) {
  EXPECT_EQ(FamiliarReference("docker.io/library/busybox:latest"), "busybox:latest");
  EXPECT_EQ(FamiliarReference("docker.io/foo/bar:1"), "foo/bar:1");
  EXPECT_EQ(FamiliarReference("docker.io/library/a/b:1"), "library/a/b:1");
  EXPECT_EQ(FamiliarReference("localhost:5000/x/y:1"), "localhost:5000/x/y:1");
  EXPECT_EQ(FamiliarReference("quay.io/library/x:1"), "quay.io/library/x:1");
}

TEST_F(ImageStoreTest, ImportsDirectory) {
  std::string src = base_ + "/src";
  Spit(src + "/bin/tool", "#!/bin/sh\necho hi\n");
  fs::permissions(src + "/bin/tool", fs::perms(0750));
  fs::create_symlink("tool", src + "/bin/sh");
  fs::create_directories(src + "/empty");
  fs::permissions(src + "/empty", fs::perms(0700));

  auto image = store_->Import("busybox", src);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->reference, "docker.io/library/busybox:latest");
  EXPECT_TRUE(image->id.starts_with("sha256:")) << image->id;
  EXPECT_EQ(image->id.size(), 71u);
  EXPECT_TRUE(fs::path(image->rootfs).is_absolute());
  EXPECT_TRUE(image->rootfs.starts_with(store_->dir())) << image->rootfs;
  EXPECT_EQ(Slurp(image->rootfs + "/bin/tool"), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(fs::status(image->rootfs + "/bin/tool").permissions(), fs::perms(0750));
  EXPECT_EQ(fs::status(image->rootfs + "/empty").permissions(), fs::perms(0700));
  ASSERT_TRUE(fs::is_symlink(image->rootfs + "/bin/sh"));
  EXPECT_EQ(fs::read_symlink(image->rootfs + "/bin/sh"), "tool");
  EXPECT_GT(image->size_bytes, 0);
  EXPECT_GT(image->created_ns, 0);
  EXPECT_TRUE(image->config.entrypoint.empty());
  // The source is copied, not referenced.
  fs::remove_all(src);
  EXPECT_TRUE(fs::exists(image->rootfs + "/bin/tool"));
  ExpectNoTemporaries();
}

TEST_F(ImageStoreTest, ImportsTarAndTarGzAsTheSameContent) {
  WriteArchive(base_ + "/root.tar", SampleTree());
  WriteArchive(base_ + "/root.tar.gz", SampleTree(), /*gzip=*/true);
  auto tar = store_->Import("plain:tar", base_ + "/root.tar");
  ASSERT_TRUE(tar.ok()) << tar.status().ToString();
  auto gz = store_->Import("plain:gz", base_ + "/root.tar.gz");
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  EXPECT_EQ(tar->id, gz->id) << "the id is the digest of the content, not of the file";
  EXPECT_EQ(tar->rootfs, gz->rootfs);
  EXPECT_EQ(Slurp(gz->rootfs + "/etc/hostname"), "box\n");
  EXPECT_EQ(fs::status(gz->rootfs + "/tmp").permissions(), fs::perms(01777));
  EXPECT_EQ(fs::read_symlink(gz->rootfs + "/bin/sh"), "tool");
  EXPECT_EQ(Names(store_dir_ + "/images").size(), 1u);

  auto other = SampleTree();
  other.push_back(File("etc/extra", "x"));
  WriteArchive(base_ + "/other.tar", other);
  auto third = store_->Import("plain:other", base_ + "/other.tar");
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_NE(third->id, tar->id);
  ExpectNoTemporaries();
}

TEST_F(ImageStoreTest, KeepsNumericOwnershipAsRoot) {
  KORC_REQUIRE(testing::IsRoot(), "keeping file owners needs root");
  auto tree = SampleTree();
  Entry owned = File("etc/owned", "x", 0600);
  owned.uid = 4321;
  owned.gid = 8765;
  tree.push_back(owned);
  WriteArchive(base_ + "/root.tar", tree);
  auto image = store_->Import("owned", base_ + "/root.tar");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  struct stat st;
  ASSERT_EQ(lstat((image->rootfs + "/etc/owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4321u);
  EXPECT_EQ(st.st_gid, 8765u);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST_F(ImageStoreTest, GetListRemove) {
  WriteArchive(base_ + "/root.tar", SampleTree());
  ASSERT_TRUE(store_->Import("busybox:latest", base_ + "/root.tar").ok());
  ASSERT_TRUE(store_->Import("localhost:5000/tools/box:1", base_ + "/root.tar").ok());

  auto got = store_->Get("docker.io/library/busybox");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->reference, "docker.io/library/busybox:latest");

  auto list = store_->List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].reference, "docker.io/library/busybox:latest");
  EXPECT_EQ((*list)[1].reference, "localhost:5000/tools/box:1");
  EXPECT_EQ((*list)[0].id, (*list)[1].id);

  // A second store over the same directory (another process, say) sees the same tags.
  auto again = ImageStore::Open(store_dir_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->List()->size(), 2u);

  ASSERT_TRUE(store_->Remove("busybox").ok());
  EXPECT_EQ(store_->Get("busybox").status().code(), Code::kNotFound);
  EXPECT_TRUE(fs::exists(got->rootfs)) << "another tag still points at the root";
  ASSERT_TRUE(store_->Remove("localhost:5000/tools/box:1").ok());
  EXPECT_FALSE(fs::exists(got->rootfs));
  EXPECT_TRUE(store_->List()->empty());
  EXPECT_TRUE(Names(store_dir_ + "/images").empty());
  EXPECT_EQ(store_->Remove("busybox").code(), Code::kNotFound);
  ExpectNoTemporaries();
}

TEST_F(ImageStoreTest, PinnedRootsOutliveTheirLastTagUntilUnpinned) {
  WriteArchive(base_ + "/root.tar", SampleTree());
  auto image = store_->Import("app:1", base_ + "/root.tar");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ASSERT_TRUE(store_->Pin(image->id, "sandbox-a").ok());
  ASSERT_TRUE(store_->Pin(image->id, "sandbox-b").ok());
  EXPECT_EQ(store_->Pin(image->id, "../escape").code(), Code::kInvalid);
  // Untagged: gone from the tags, the root stays for the containers running from it.
  ASSERT_TRUE(store_->Remove("app:1").ok());
  EXPECT_EQ(store_->Get("app:1").status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->List()->empty());
  EXPECT_TRUE(fs::exists(image->rootfs));
  EXPECT_TRUE(store_->GetById(image->id).ok());
  ASSERT_TRUE(store_->Prune().ok());  // still pinned: prune keeps it
  EXPECT_TRUE(fs::exists(image->rootfs));
  store_->Unpin("sandbox-a");
  EXPECT_TRUE(fs::exists(image->rootfs));
  // The node restarted and sandbox-b is gone: its pins go, and the image with them.
  store_->RetainPins({"sandbox-c"});
  EXPECT_FALSE(fs::exists(image->rootfs));
  EXPECT_EQ(store_->GetById(image->id).status().code(), Code::kNotFound);
  // A pinned image re-tagged elsewhere is kept too, and deleted at the last unpin.
  auto v1 = store_->Import("app:2", base_ + "/root.tar");
  ASSERT_TRUE(v1.ok());
  ASSERT_TRUE(store_->Pin(v1->id, "sandbox-c").ok());
  WriteArchive(base_ + "/other.tar", {File("other", "x")});
  ASSERT_TRUE(store_->Import("app:2", base_ + "/other.tar").ok());
  EXPECT_TRUE(fs::exists(v1->rootfs));
  store_->Unpin("sandbox-c");
  EXPECT_FALSE(fs::exists(v1->rootfs));
}

TEST_F(ImageStoreTest, NotFoundSaysHowToPullOrImport) {
  auto got = store_->Get("busybox");
  ASSERT_EQ(got.status().code(), Code::kNotFound);
  EXPECT_EQ(got.status().message(),
            "image \"busybox:latest\" is not in this node's image store; pull it with: korc "
            "image pull busybox:latest, or import it with: korc image import busybox:latest PATH");
  EXPECT_EQ(store_->Get("Busybox").status().code(), Code::kInvalid);
}

TEST_F(ImageStoreTest, ReimportReplacesAndFreesTheOldRoot) {
  WriteArchive(base_ + "/a.tar", {File("a", "1")});
  WriteArchive(base_ + "/b.tar", {File("b", "2")});
  auto a = store_->Import("app:1", base_ + "/a.tar");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto b = store_->Import("app:1", base_ + "/b.tar");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(store_->Get("app:1")->id, b->id);
  EXPECT_FALSE(fs::exists(a->rootfs));
  EXPECT_EQ(store_->List()->size(), 1u);
  ExpectNoTemporaries();
}

TEST_F(ImageStoreTest, BadInputNamesTheFile) {
  auto missing = store_->Import("x", base_ + "/nope.tar");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(base_ + "/nope.tar"), std::string::npos);

  Spit(base_ + "/junk.tar", std::string(10000, 'z'));
  auto junk = store_->Import("x", base_ + "/junk.tar");
  EXPECT_EQ(junk.status().code(), Code::kInvalid) << junk.status().ToString();
  EXPECT_NE(junk.status().message().find(base_ + "/junk.tar"), std::string::npos)
      << junk.status().message();
  EXPECT_TRUE(store_->List()->empty());
  ExpectNoTemporaries();
}

// Builds an OCI image layout in `dir` whose index lists an arm64 manifest (with a missing
// config) and the amd64 one that should be picked. Returns the config digest.
std::string BuildOciLayout(const std::string& dir, const std::vector<std::vector<Entry>>& layers,
                           const json& config) {
  fs::create_directories(dir + "/blobs/sha256");
  auto add_blob = [&](const std::string& path) {
    auto digest = FileDigest(path);
    EXPECT_TRUE(digest.ok());
    std::string to = dir + "/blobs/sha256/" + digest->substr(7);
    fs::rename(path, to);
    return std::pair{*digest, static_cast<int64_t>(fs::file_size(to))};
  };
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"layers", json::array()}};
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string tmp = dir + "/layer.tmp";
    WriteArchive(tmp, layers[i], /*gzip=*/i % 2 == 0);
    auto [digest, size] = add_blob(tmp);
    manifest["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                                  {"digest", digest},
                                  {"size", size}});
  }
  Spit(dir + "/config.tmp", config.dump());
  auto [config_digest, config_size] = add_blob(dir + "/config.tmp");
  manifest["config"] = {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                        {"digest", config_digest},
                        {"size", config_size}};
  Spit(dir + "/manifest.tmp", manifest.dump());
  auto [manifest_digest, manifest_size] = add_blob(dir + "/manifest.tmp");
  json index = {{"schemaVersion", 2},
                {"manifests",
                 {{{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"digest", "sha256:" + std::string(64, 'b')},
                   {"size", 10},
                   {"platform", {{"os", "linux"}, {"architecture", "arm64"}}}},
                  {{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                   {"digest", manifest_digest},
                   {"size", manifest_size},
                   {"platform", {{"os", "linux"}, {"architecture", "amd64"}}}}}}};
  Spit(dir + "/index.json", index.dump());
  Spit(dir + "/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  return config_digest;
}

// Tars up a directory with relative names (as `tar -C dir -cf out .` would).
void TarDirectory(const std::string& dir, const std::string& out) {
  std::vector<Entry> entries;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    std::string rel = fs::relative(e.path(), dir).string();
    if (e.is_directory()) {
      entries.push_back(Dir("./" + rel));
    } else {
      entries.push_back(File("./" + rel, Slurp(e.path())));
    }
  }
  WriteArchive(out, entries);
}

TEST_F(ImageStoreTest, ImportsOciLayoutWithWhiteouts) {
  std::vector<Entry> lower = {Dir("etc"),
                              File("etc/a", "a"),
                              File("etc/b", "b"),
                              Dir("data"),
                              File("data/old1", "o"),
                              Dir("data/sub"),
                              File("data/sub/old2", "o"),
                              Dir("keep"),
                              File("keep/k", "k")};
  std::vector<Entry> upper = {Dir("etc"),
                              File("etc/.wh.a", ""),
                              Dir("data"),
                              File("data/new", "n"),
                              File("data/.wh..wh..opq", ""),
                              File("etc/b", "b2")};
  json config = {{"architecture", "amd64"},
                 {"os", "linux"},
                 {"config",
                  {{"Entrypoint", {"/bin/sh", "-c"}},
                   {"Cmd", {"echo hi"}},
                   {"Env", {"PATH=/bin", "A=b"}},
                   {"WorkingDir", "/data"},
                   {"User", "1000:1000"}}},
                 {"rootfs", {{"type", "layers"}}}};
  std::string config_digest = BuildOciLayout(base_ + "/layout", {lower, upper}, config);
  TarDirectory(base_ + "/layout", base_ + "/image.tar");

  auto image = store_->Import("example.com/app:v1", base_ + "/image.tar");
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->id, config_digest);
  const std::string& root = image->rootfs;
  EXPECT_FALSE(fs::exists(root + "/etc/a")) << "whited out";
  EXPECT_FALSE(fs::exists(root + "/etc/.wh.a"));
  EXPECT_EQ(Slurp(root + "/etc/b"), "b2");
  EXPECT_EQ(Names(root + "/data"), std::vector<std::string>{"new"}) << "opaque directory";
  EXPECT_EQ(Slurp(root + "/keep/k"), "k");
  EXPECT_EQ(image->config.entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_EQ(image->config.cmd, std::vector<std::string>{"echo hi"});
  EXPECT_EQ(image->config.env, (std::vector<std::string>{"PATH=/bin", "A=b"}));
  EXPECT_EQ(image->config.working_dir, "/data");
  EXPECT_EQ(image->config.user, "1000:1000");
  // The config survives a reopen, and the blobs are kept for later pulls...
  auto reopened = ImageStore::Open(store_dir_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->Get("example.com/app:v1")->config.cmd, image->config.cmd);
  EXPECT_TRUE(fs::exists(store_dir_ + "/blobs/sha256/" + config_digest.substr(7)));
  EXPECT_EQ(Names(store_dir_ + "/blobs/sha256").size(), 4u);  // 2 layers, config, manifest
  // ...until no image uses them.
  ASSERT_TRUE(store_->Remove("example.com/app:v1").ok());
  EXPECT_TRUE(Names(store_dir_ + "/blobs/sha256").empty());
  ExpectNoTemporaries();
}

TEST_F(ImageStoreTest, RefusesOciBlobWithWrongDigest) {
  std::string config_digest =
      BuildOciLayout(base_ + "/layout", {{File("f", "x")}}, json{{"config", json::object()}});
  Spit(base_ + "/layout/blobs/sha256/" + config_digest.substr(7), R"({"tampered":true})");
  TarDirectory(base_ + "/layout", base_ + "/image.tar");
  auto image = store_->Import("app", base_ + "/image.tar");
  ASSERT_EQ(image.status().code(), Code::kInvalid) << image.status().ToString();
  EXPECT_NE(image.status().message().find("wrong content"), std::string::npos);
  EXPECT_TRUE(store_->List()->empty());
  ExpectNoTemporaries();
}

// Every file under `dir`, recursively, relative to it.
std::vector<std::string> AllFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(ImageStoreTest, RefusesHostileArchives) {
  std::string outside = base_ + "/outside";
  fs::create_directories(outside);
  std::string abs_target = outside + "/absolute";
  const std::vector<std::pair<std::string, std::vector<Entry>>> hostile = {
      {"dotdot", {File("ok", "x"), File("../../../../escape", "pwned")}},
      {"dotdot-dir", {File("a/../../../../../escape", "pwned")}},
      {"absolute", {File(abs_target, "pwned")}},
      {"symlink", {Symlink("link", outside), File("link/through-symlink", "pwned")}},
      {"symlink-dir", {Symlink("d", outside), Dir("d/sub")}},
      {"hardlink", {Hardlink("h", "../../../../outside/target")}},
  };
  Spit(outside + "/target", "t");
  auto before = AllFiles(base_);
  for (const auto& [name, entries] : hostile) {
    for (bool gzip : {false, true}) {
      std::string path = base_ + "/" + name + (gzip ? ".tar.gz" : ".tar");
      WriteArchive(path, entries, gzip);
      auto image = store_->Import("hostile:" + name, path);
      ASSERT_FALSE(image.ok()) << name << " was imported";
      EXPECT_EQ(image.status().code(), Code::kInvalid) << image.status().ToString();
      EXPECT_NE(image.status().message().find(path), std::string::npos) << image.status().message();
      fs::remove(path);
    }
  }
  EXPECT_EQ(AllFiles(base_), before) << "nothing was written outside the store";
  EXPECT_EQ(Names(outside), std::vector<std::string>{"target"});
  EXPECT_EQ(Slurp(outside + "/target"), "t");
  EXPECT_TRUE(store_->List()->empty());
  ExpectNoTemporaries();
}

TEST_F(ImageStoreTest, RefusesWhiteoutThroughSymlink) {
  std::string outside = base_ + "/outside";
  Spit(outside + "/victim", "v");
  std::string config_digest = BuildOciLayout(
      base_ + "/layout", {{Symlink("link", outside)}, {Dir("x"), File("link/.wh.victim", "")}},
      json{{"config", json::object()}});
  TarDirectory(base_ + "/layout", base_ + "/image.tar");
  auto image = store_->Import("app", base_ + "/image.tar");
  ASSERT_EQ(image.status().code(), Code::kInvalid) << image.status().ToString();
  EXPECT_EQ(Slurp(outside + "/victim"), "v");
  ExpectNoTemporaries();
}

TEST_F(ImageStoreTest, InterruptedImportLeavesNoImage) {
  // A gzip stream cut in the middle of a large file fails half-way through extraction.
  std::string big(4 << 20, '\0');
  std::mt19937 rng(42);
  for (auto& c : big) c = static_cast<char>(rng());
  auto tree = SampleTree();
  tree.push_back(File("big", big));
  tree.push_back(File("after", "after"));
  WriteArchive(base_ + "/root.tar.gz", tree, /*gzip=*/true);
  std::string data = Slurp(base_ + "/root.tar.gz");
  Spit(base_ + "/cut.tar.gz", data.substr(0, data.size() / 2));
  auto image = store_->Import("busybox", base_ + "/cut.tar.gz");
  ASSERT_FALSE(image.ok());
  EXPECT_NE(image.status().message().find(base_ + "/cut.tar.gz"), std::string::npos)
      << image.status().message();
  EXPECT_EQ(store_->Get("busybox").status().code(), Code::kNotFound);
  EXPECT_TRUE(Names(store_dir_ + "/images").empty());
  ExpectNoTemporaries();

  // A process killed mid-import leaves tmp/<pid>-...; the next Open deletes it.
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  std::string leftover = store_dir_ + "/tmp/" + std::to_string(child) + "-1-0";
  Spit(leftover + "/rootfs/file", "partial");
  auto reopened = ImageStore::Open(store_dir_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_TRUE((*reopened)->List()->empty());
}

TEST_F(ImageStoreTest, ConcurrentImports) {
  WriteArchive(base_ + "/root.tar", SampleTree());
  std::vector<std::thread> threads;
  std::vector<Status> results(6);
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      auto image = store_->Import("app:" + std::to_string(i), base_ + "/root.tar");
      results[i] = image.ok() ? Status::Ok() : image.status();
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& st : results) EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(store_->List()->size(), 6u);
  EXPECT_EQ(Names(store_dir_ + "/images").size(), 1u);
  EXPECT_GT(store_->DiskUsageBytes(), 0);
  ExpectNoTemporaries();
}

}  // namespace
}  // namespace korc::kubelet::images
