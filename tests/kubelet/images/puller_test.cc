// Pulls from Debian's docker-registry on loopback (tests/images): tags and digests, OCI and
// Docker manifests, indexes, gzip and zstd, whiteouts, auth, corruption and hostile layers.
#include "components/kubelet/images/puller.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/images/oci_builder.h"
#include "tests/images/registry_fixture.h"
#include "tests/require.h"

namespace korc::kubelet::images {
namespace {

namespace fs = std::filesystem;
using korc::testing::Compression;
using korc::testing::Entry;
using korc::testing::LocalRegistry;
using korc::testing::OciLayoutBuilder;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

size_t CountFiles(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir, ec)) ++n;
  return n;
}

class PullerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KORC_REQUIRE(LocalRegistry::MissingTools().empty(),
                 "pull tests need a local registry: " + LocalRegistry::MissingTools());
    char tmpl[] = "/tmp/korc-puller-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = ImageStore::Open(dir_ + "/store");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    registry_.Stop();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  void StartRegistry(LocalRegistry::Options options = {}) {
    Status st = registry_.Start(options);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // A fresh layout directory with its builder.
  OciLayoutBuilder NewLayout() {
    std::string path = dir_ + "/layout" + std::to_string(layouts_++);
    auto b = OciLayoutBuilder::Create(path);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return std::move(*b);
  }

  // Builds a one-image layout from `layers` of entries and pushes it as `repo_tag`.
  std::string PushImage(const std::vector<std::vector<Entry>>& layers, const std::string& repo_tag,
                        Compression compression = Compression::kGzip,
                        korc::testing::ImageConfig config = {},
                        LocalRegistry::PushOptions push = {}) {
    OciLayoutBuilder b = NewLayout();
    std::vector<korc::testing::Layer> built;
    for (const auto& entries : layers) {
      auto layer = b.AddLayer(entries, compression);
      EXPECT_TRUE(layer.ok()) << layer.status().ToString();
      built.push_back(*layer);
    }
    auto image = b.AddImage({}, built, config);
    EXPECT_TRUE(image.ok()) << image.status().ToString();
    EXPECT_TRUE(b.Write("t", *image).ok());
    auto digest = registry_.Push(b.dir(), "t", repo_tag, push);
    EXPECT_TRUE(digest.ok()) << digest.status().ToString();
    last_layers_ = built;
    return digest.ok() ? *digest : "";
  }

  std::string Ref(const std::string& repo_tag) const {
    return registry_.address() + "/" + repo_tag;
  }

  std::string dir_;
  std::unique_ptr<ImageStore> store_;
  LocalRegistry registry_;
  Registry client_;
  std::vector<korc::testing::Layer> last_layers_;
  int layouts_ = 0;
};

TEST_F(PullerTest, PullsByTagThenByDigestWithGzipAndZstdLayers) {
  StartRegistry();
  korc::testing::ImageConfig config;
  config.entrypoint = {"/bin/app"};
  config.cmd = {"--serve"};
  config.env.push_back("APP_MODE=test");
  config.working_dir = "/srv";
  config.user = "65534";
  OciLayoutBuilder b = NewLayout();
  auto gz = b.AddLayer({Entry::Dir("bin"), Entry::File("bin/app", "#!app v1\n", 0755)},
                       Compression::kGzip);
  auto zst =
      b.AddLayer({Entry::Dir("srv"), Entry::File("srv/data", "zstd layer\n")}, Compression::kZstd);
  ASSERT_TRUE(gz.ok() && zst.ok());
  auto image = b.AddImage({}, {*gz, *zst}, config);
  ASSERT_TRUE(image.ok());
  ASSERT_TRUE(b.Write("1", *image).ok());
  auto pushed = registry_.Push(b.dir(), "1", "team/app:1");
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();

  Puller puller(store_.get(), &client_);
  PullStats stats;
  auto pulled = puller.Pull(Ref("team/app:1"), {}, &stats);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(Slurp(pulled->rootfs + "/bin/app"), "#!app v1\n");
  EXPECT_EQ(Slurp(pulled->rootfs + "/srv/data"), "zstd layer\n");
  EXPECT_EQ(pulled->config.entrypoint, std::vector<std::string>{"/bin/app"});
  EXPECT_EQ(pulled->config.cmd, std::vector<std::string>{"--serve"});
  EXPECT_EQ(pulled->config.working_dir, "/srv");
  EXPECT_EQ(pulled->config.user, "65534");
  EXPECT_EQ(pulled->config.env.back(), "APP_MODE=test");
  EXPECT_EQ(pulled->repo_digests,
            std::vector<std::string>{registry_.address() + "/team/app@" + *pushed});
  EXPECT_GT(stats.downloaded_bytes, gz->size + zst->size);  // + the config
  EXPECT_FALSE(stats.already_present);
  EXPECT_EQ(CountFiles(dir_ + "/store/downloads"), 0u);
  EXPECT_EQ(CountFiles(dir_ + "/store/tmp"), 0u);

  // By digest: the same image, only tagged; Get finds it by the digest too.
  PullStats again;
  auto by_digest = puller.Pull(Ref("team/app@" + *pushed), {}, &again);
  ASSERT_TRUE(by_digest.ok()) << by_digest.status().ToString();
  EXPECT_EQ(by_digest->id, pulled->id);
  EXPECT_TRUE(again.already_present);
  EXPECT_EQ(again.downloaded_bytes, 0);
  auto got = store_->Get(Ref("team/app:1@" + *pushed));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->id, pulled->id);
  auto up = puller.UpToDate(Ref("team/app:1"));
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_TRUE(*up);
}

TEST_F(PullerTest, PullsADockerSchema2Manifest) {
  StartRegistry();
  LocalRegistry::PushOptions push;
  push.format = LocalRegistry::Format::kDockerV2;
  std::string digest = PushImage({{Entry::File("hello", "docker v2\n")}}, "docker/img:v2",
                                 Compression::kGzip, {}, push);
  ASSERT_FALSE(digest.empty());
  auto m = client_.GetManifest(*ImageName::Parse(Ref("docker/img:v2")), "v2", nullptr);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, kDockerManifestType);
  Puller puller(store_.get(), &client_);
  auto pulled = puller.Pull(Ref("docker/img:v2"));
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(Slurp(pulled->rootfs + "/hello"), "docker v2\n");
}

TEST_F(PullerTest, PicksLinuxAmd64OutOfAMultiArchIndex) {
  StartRegistry();
  OciLayoutBuilder b = NewLayout();
  auto arm = b.AddLayer({Entry::File("arch", "arm64\n")});
  auto amd = b.AddLayer({Entry::File("arch", "amd64\n")});
  ASSERT_TRUE(arm.ok() && amd.ok());
  auto arm_image = b.AddImage({"linux", "arm64", "v8"}, {*arm});
  auto amd_image = b.AddImage({"linux", "amd64", ""}, {*amd});
  ASSERT_TRUE(arm_image.ok() && amd_image.ok());
  auto attestation = b.AddAttestation(*amd_image);
  ASSERT_TRUE(attestation.ok());
  // The attestation (unknown/unknown) first: it must be skipped, not taken.
  auto index = b.AddIndex({*attestation, *arm_image, *amd_image});
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE(b.Write("multi", *index).ok());
  LocalRegistry::PushOptions push;
  push.all = true;
  auto pushed = registry_.Push(b.dir(), "multi", "multi/arch:1", push);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();

  Puller puller(store_.get(), &client_);
  auto pulled = puller.Pull(Ref("multi/arch:1"));
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(Slurp(pulled->rootfs + "/arch"), "amd64\n");
  // imageID is the digest the tag points at: the index's.
  EXPECT_EQ(pulled->repo_digests,
            std::vector<std::string>{registry_.address() + "/multi/arch@" + *pushed});
}

TEST_F(PullerTest, AppliesWhiteoutsAndOpaqueDirectoriesInOrder) {
  StartRegistry();
  std::string digest = PushImage(
      {{Entry::Dir("a"), Entry::File("a/gone", "x"), Entry::File("a/kept", "y"), Entry::Dir("b"),
        Entry::File("b/old1", "1"), Entry::Dir("b/sub"), Entry::File("b/sub/old2", "2"),
        Entry::File("c", "file"), Entry::Dir("d"), Entry::File("d/lower", "l")},
       // The opaque marker after its sibling: what this layer wrote in b/ stays.
       {Entry::Whiteout("a/gone"), Entry::File("b/new", "n"), Entry::Opaque("b"),
        Entry::Whiteout("c"), Entry::Whiteout("d")},
       {Entry::File("c", "back again"), Entry::Hardlink("a/kept-link", "a/kept")}},
      "layers/whiteout:1");
  ASSERT_FALSE(digest.empty());
  Puller puller(store_.get(), &client_);
  auto pulled = puller.Pull(Ref("layers/whiteout:1"));
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  const std::string& r = pulled->rootfs;
  EXPECT_FALSE(Exists(r + "/a/gone"));
  EXPECT_EQ(Slurp(r + "/a/kept"), "y");
  EXPECT_FALSE(Exists(r + "/b/old1"));
  EXPECT_FALSE(Exists(r + "/b/sub"));
  EXPECT_EQ(Slurp(r + "/b/new"), "n");
  EXPECT_FALSE(Exists(r + "/d"));
  EXPECT_EQ(Slurp(r + "/c"), "back again");
  struct stat a, b;
  ASSERT_EQ(stat((r + "/a/kept").c_str(), &a), 0);
  ASSERT_EQ(stat((r + "/a/kept-link").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(Exists(r + "/.wh..wh..opq") || Exists(r + "/b/.wh..wh..opq"), false);
}

TEST_F(PullerTest, KeepsNumericOwnersModesAndXattrsAsRoot) {
  KORC_REQUIRE(korc::testing::IsRoot(), "owners need root");
  StartRegistry();
  Entry owned = Entry::File("owned", "o", 04755);
  owned.Owner(1234, 5678);
  owned.uname = "root";  // the numeric ids win over names
  owned.gname = "root";
  Entry tagged = Entry::File("tagged", "t");
  tagged.xattrs["user.korc"] = "kept";
  tagged.xattrs["trusted.korc"] = "dropped";
  ASSERT_FALSE(PushImage({{owned, tagged, Entry::Fifo("fifo", 0600)}}, "meta/data:1").empty());
  Puller puller(store_.get(), &client_);
  auto pulled = puller.Pull(Ref("meta/data:1"));
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  struct stat st;
  ASSERT_EQ(lstat((pulled->rootfs + "/owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  ASSERT_EQ(lstat((pulled->rootfs + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  char value[64] = "";
  ssize_t n = getxattr((pulled->rootfs + "/tagged").c_str(), "user.korc", value, sizeof value);
  if (n < 0 && errno == ENOTSUP) GTEST_SKIP() << "this filesystem has no user xattrs";
  EXPECT_EQ(std::string(value, n > 0 ? n : 0), "kept");
  EXPECT_LT(getxattr((pulled->rootfs + "/tagged").c_str(), "trusted.korc", value, sizeof value), 0);
}

TEST_F(PullerTest, ACorruptedBlobIsRefusedAndNothingIsStored) {
  StartRegistry();
  ASSERT_FALSE(PushImage({{Entry::File("f", std::string(100000, 'z'))}}, "bad/blob:1").empty());
  std::string blob = registry_.BlobDataPath(last_layers_[0].digest);
  ASSERT_TRUE(korc::testing::CorruptFile(blob).ok());
  Puller puller(store_.get(), &client_);
  auto pulled = puller.Pull(Ref("bad/blob:1"));
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), Code::kCorruption) << pulled.status().ToString();
  EXPECT_NE(pulled.status().message().find(last_layers_[0].digest), std::string::npos)
      << pulled.status().message();
  EXPECT_FALSE(store_->Get(Ref("bad/blob:1")).ok());
  EXPECT_EQ(CountFiles(dir_ + "/store/images"), 0u);
  EXPECT_EQ(CountFiles(dir_ + "/store/blobs/sha256"), 0u);
  EXPECT_EQ(CountFiles(dir_ + "/store/downloads"), 0u);
  EXPECT_EQ(CountFiles(dir_ + "/store/tmp"), 0u);
}

TEST_F(PullerTest, HostileLayersAreRefusedAndTheHostIsUntouched) {
  StartRegistry();
  std::string outside = dir_ + "/outside";
  ASSERT_EQ(mkdir(outside.c_str(), 0755), 0);
  Puller puller(store_.get(), &client_);
  // "..", an absolute path, and a file written through a symlink that points outside.
  ASSERT_FALSE(
      PushImage({{Entry::File("../../../../../../.." + outside + "/dotdot", "x")}}, "evil/dotdot:1")
          .empty());
  ASSERT_FALSE(PushImage({{Entry::File(outside + "/abs", "x")}}, "evil/abs:1").empty());
  ASSERT_FALSE(PushImage({{Entry::Symlink("link", outside)}, {Entry::File("link/through", "x")}},
                         "evil/symlink:1")
                   .empty());
  ASSERT_FALSE(
      PushImage({{Entry::Symlink("link", outside)}, {Entry::Whiteout("link/victim")}}, "evil/wh:1")
          .empty());
  ASSERT_EQ(std::ofstream(outside + "/victim").put('v').good(), true);
  for (const char* ref : {"evil/dotdot:1", "evil/abs:1", "evil/symlink:1", "evil/wh:1"}) {
    auto pulled = puller.Pull(Ref(ref));
    EXPECT_FALSE(pulled.ok()) << ref;
    EXPECT_EQ(pulled.status().code(), Code::kInvalid) << ref << ": " << pulled.status().ToString();
  }
  EXPECT_EQ(CountFiles(outside), 1u);  // only the victim, still there
  EXPECT_TRUE(Exists(outside + "/victim"));
  EXPECT_EQ(CountFiles(dir_ + "/store/images"), 0u);
}

TEST_F(PullerTest, BasicAuthTriesCredentialsInOrder) {
  LocalRegistry::Options options;
  options.auth = LocalRegistry::Auth::kBasic;
  StartRegistry(options);
  LocalRegistry::PushOptions push;
  push.creds = options.user + ":" + options.password;
  ASSERT_FALSE(
      PushImage({{Entry::File("secret", "s")}}, "private/img:1", Compression::kGzip, {}, push)
          .empty());
  Puller puller(store_.get(), &client_);
  auto anonymous = puller.Pull(Ref("private/img:1"));
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), Code::kUnauthorized) << anonymous.status().ToString();
  auto pulled =
      puller.Pull(Ref("private/img:1"), {{"korc", "wrong"}, {options.user, options.password}});
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(Slurp(pulled->rootfs + "/secret"), "s");
}

TEST_F(PullerTest, BearerTokensComeFromTheRealmAndAreCachedPerRepository) {
  korc::testing::TokenServer tokens;
  korc::testing::TokenServer::Options token_options;
  token_options.user = "puller";
  token_options.password = "pw";
  ASSERT_TRUE(tokens.Start(token_options).ok());
  LocalRegistry::Options options;
  options.auth = LocalRegistry::Auth::kToken;
  options.token_realm = tokens.realm();
  StartRegistry(options);
  LocalRegistry::PushOptions push;
  push.creds = "puller:pw";
  ASSERT_FALSE(
      PushImage({{Entry::File("t", "1")}}, "tok/img:1", Compression::kGzip, {}, push).empty());
  ASSERT_FALSE(
      PushImage({{Entry::File("t", "2")}}, "tok/img:2", Compression::kGzip, {}, push).empty());
  int before = tokens.tokens_issued();
  size_t requests_before = tokens.requests().size();

  Registry client;  // a fresh token cache
  Puller puller(store_.get(), &client);
  auto refused = puller.Pull(Ref("tok/img:1"), {{"puller", "nope"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kUnauthorized) << refused.status().ToString();
  auto one = puller.Pull(Ref("tok/img:1"), {{"puller", "pw"}});
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  auto two = puller.Pull(Ref("tok/img:2"), {{"puller", "pw"}});
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ(Slurp(two->rootfs + "/t"), "2");
  // One token for both pulls of the repository; it was asked for with the pull scope and
  // the credentials.
  EXPECT_EQ(tokens.tokens_issued() - before, 1);
  auto requests = tokens.requests();
  ASSERT_GT(requests.size(), requests_before);
  const auto& last = requests.back();
  EXPECT_EQ(last.scope, "repository:tok/img:pull");
  EXPECT_EQ(last.service, options.service);
  EXPECT_EQ(last.authorization, korc::testing::BasicAuthorization("puller", "pw"));
}

TEST_F(PullerTest, AnInterruptedDownloadResumesWithRange) {
  StartRegistry();
  std::string big(3 << 20, '\0');
  uint64_t x = 42;  // an LCG: data gzip cannot shrink much
  for (char& c : big) c = static_cast<char>((x = x * 6364136223846793005ULL + 1) >> 56);
  ASSERT_FALSE(PushImage({{Entry::File("big", big)}}, "big/img:1").empty());
  const auto& layer = last_layers_[0];
  // What a pull killed half-way leaves: the first half of the blob in downloads/.
  std::string registry_copy = Slurp(registry_.BlobDataPath(layer.digest));
  ASSERT_EQ(static_cast<int64_t>(registry_copy.size()), layer.size);
  ASSERT_GT(layer.size, 100000);
  std::ofstream(store_->DownloadPath(layer.digest), std::ios::binary)
      << registry_copy.substr(0, registry_copy.size() / 2);
  Puller puller(store_.get(), &client_);
  PullStats stats;
  auto pulled = puller.Pull(Ref("big/img:1"), {}, &stats);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(Slurp(pulled->rootfs + "/big"), big);
  // The layer's second half plus the config, not the whole layer.
  EXPECT_LT(stats.downloaded_bytes, layer.size / 2 + 4096);
  EXPECT_GE(stats.downloaded_bytes, layer.size - layer.size / 2);
}

TEST_F(PullerTest, ConcurrentPullsOfOneImageShareOnePull) {
  StartRegistry();
  ASSERT_FALSE(PushImage({{Entry::File("f", std::string(1 << 20, 'c'))}}, "shared/img:1").empty());
  Puller puller(store_.get(), &client_);
  std::vector<std::thread> threads;
  std::vector<Result<Image>> results(4, Status::Internal("not run"));
  std::vector<PullStats> stats(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = puller.Pull(Ref("shared/img:1"), {}, &stats[i]); });
  }
  for (auto& t : threads) t.join();
  int64_t downloaded = 0;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    EXPECT_EQ(results[i]->id, results[0]->id);
    downloaded += stats[i].downloaded_bytes;
  }
  EXPECT_LT(downloaded, 2 * last_layers_[0].size + 8192);  // once, not four times
}

TEST_F(PullerTest, ANewPushToTheTagIsSeenByUpToDate) {
  StartRegistry();
  ASSERT_FALSE(PushImage({{Entry::File("v", "1")}}, "moving/tag:latest").empty());
  Puller puller(store_.get(), &client_);
  auto first = puller.Pull(Ref("moving/tag"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_FALSE(PushImage({{Entry::File("v", "2")}}, "moving/tag:latest").empty());
  auto up = puller.UpToDate(Ref("moving/tag"));
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_FALSE(*up);
  auto second = puller.Pull(Ref("moving/tag"));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_NE(second->id, first->id);
  EXPECT_EQ(Slurp(second->rootfs + "/v"), "2");
  EXPECT_TRUE(*puller.UpToDate(Ref("moving/tag")));
}

TEST_F(PullerTest, RegistryErrorsNameTheirCode) {
  StartRegistry();
  Puller puller(store_.get(), &client_);
  auto missing = puller.Pull(Ref("no/such:1"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("MANIFEST_UNKNOWN"), std::string::npos)
      << missing.status().message();
  auto invalid = puller.Pull("Bad/Name:1");
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), Code::kInvalid);
}

// A fake registry (HttpServer) serving one image out of a layout, to answer what the real
// one never does: 429 with Retry-After, and redirects of blobs to another host.
TEST_F(PullerTest, RetriesAfter429AndNeverSendsAuthorizationAcrossARedirect) {
  OciLayoutBuilder b = NewLayout();
  auto layer = b.AddLayer({Entry::File("f", "redirected")});
  ASSERT_TRUE(layer.ok());
  auto image = b.AddImage({}, {*layer});
  ASSERT_TRUE(image.ok());
  auto manifest = b.ReadBlob(image->digest);
  ASSERT_TRUE(manifest.ok());

  korc::testing::HttpServer storage;
  std::mutex mu;
  std::vector<std::string> storage_auth;
  ASSERT_TRUE(storage
                  .Start([&](const korc::testing::HttpServerRequest& req) {
                    std::lock_guard lock(mu);
                    storage_auth.push_back(req.Header("authorization"));
                    std::string digest = req.path.substr(req.path.rfind('/') + 1);
                    auto blob = b.ReadBlob(digest);
                    if (!blob.ok()) return korc::testing::HttpServerResponse{404, {}, ""};
                    return korc::testing::HttpServerResponse{200, {}, *blob};
                  })
                  .ok());
  int manifest_requests = 0;
  korc::testing::HttpServer fake;
  ASSERT_TRUE(fake.Start([&](const korc::testing::HttpServerRequest& req) {
                    korc::testing::HttpServerResponse resp;
                    if (req.Header("authorization") != "Basic " + korc::testing::Base64("u:p")) {
                      return korc::testing::HttpServerResponse{
                          401, {{"WWW-Authenticate", "Basic realm=\"fake\""}}, ""};
                    }
                    if (req.path.find("/manifests/") != std::string::npos) {
                      std::lock_guard lock(mu);
                      if (manifest_requests++ == 0) {
                        return korc::testing::HttpServerResponse{
                            429,
                            {{"Retry-After", "1"}},
                            R"({"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]})"};
                      }
                      return korc::testing::HttpServerResponse{
                          200, {{"Content-Type", korc::testing::kOciManifest}}, *manifest};
                    }
                    if (req.path.find("/blobs/") != std::string::npos) {
                      std::string digest = req.path.substr(req.path.rfind('/') + 1);
                      return korc::testing::HttpServerResponse{
                          307, {{"Location", storage.url() + "/data/" + digest}}, ""};
                    }
                    return korc::testing::HttpServerResponse{404, {}, ""};
                  })
                  .ok());
  Puller puller(store_.get(), &client_);
  auto start = std::chrono::steady_clock::now();
  auto pulled = puller.Pull(fake.address() + "/fake/img:1", {{"u", "p"}});
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  EXPECT_EQ(Slurp(pulled->rootfs + "/f"), "redirected");
  EXPECT_EQ(manifest_requests, 2);
  std::lock_guard lock(mu);
  ASSERT_FALSE(storage_auth.empty());
  for (const auto& a : storage_auth) EXPECT_EQ(a, "") << "Authorization leaked to storage";
  fake.Stop();
  storage.Stop();
}

TEST_F(PullerTest, PruneDropsBlobsNoImageUses) {
  StartRegistry();
  ASSERT_FALSE(PushImage({{Entry::File("p", "1")}}, "prune/img:1").empty());
  Puller puller(store_.get(), &client_);
  ASSERT_TRUE(puller.Pull(Ref("prune/img:1")).ok());
  size_t blobs = CountFiles(dir_ + "/store/blobs/sha256");
  EXPECT_GE(blobs, 3u);  // manifest, config, layer
  std::ofstream(dir_ + "/store/blobs/sha256/" + std::string(64, 'a')) << "stray";
  auto freed = store_->Prune();
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(CountFiles(dir_ + "/store/blobs/sha256"), blobs);
  ASSERT_TRUE(store_->Remove(Ref("prune/img:1")).ok());
  EXPECT_EQ(CountFiles(dir_ + "/store/blobs/sha256"), 0u);
}

}  // namespace
}  // namespace korc::kubelet::images
