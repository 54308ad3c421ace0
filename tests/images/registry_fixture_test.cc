#include "tests/images/registry_fixture.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/images/oci_builder.h"
#include "tests/require.h"

namespace korc::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct TarEntry {
  std::string path;
  int type = 0;  // AE_IF*
  std::string link;
  std::string xattr_user_k;
};

// Decompresses (any filter) and lists a layer blob; returns the uncompressed tar's digest.
std::string ReadLayer(const std::string& blob, std::vector<TarEntry>* entries) {
  std::string tar;
  archive* r = archive_read_new();
  archive_read_support_filter_all(r);
  archive_read_support_format_raw(r);
  EXPECT_EQ(archive_read_open_memory(r, blob.data(), blob.size()), ARCHIVE_OK);
  archive_entry* ae;
  if (archive_read_next_header(r, &ae) == ARCHIVE_OK) {
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(r, buf, sizeof buf)) > 0) tar.append(buf, n);
  }
  archive_read_free(r);

  r = archive_read_new();
  archive_read_support_format_tar(r);
  EXPECT_EQ(archive_read_open_memory(r, tar.data(), tar.size()), ARCHIVE_OK);
  while (archive_read_next_header(r, &ae) == ARCHIVE_OK) {
    TarEntry e{archive_entry_pathname(ae), static_cast<int>(archive_entry_filetype(ae))};
    if (const char* l = archive_entry_symlink(ae)) e.link = l;
    if (const char* l = archive_entry_hardlink(ae)) e.link = l;
    const char* name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(ae);
    while (archive_entry_xattr_next(ae, &name, &value, &size) == ARCHIVE_OK) {
      if (std::string(name) == "user.k")
        e.xattr_user_k.assign(static_cast<const char*>(value), size);
    }
    entries->push_back(e);
  }
  archive_read_free(r);
  return Sha256Digest(tar);
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/korc-images-fixture-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // A layout with tag "1": busybox (gzip) + an extra zstd layer, for linux/amd64.
  OciLayoutBuilder BusyboxLayout(Compression second = Compression::kZstd) {
    auto b = OciLayoutBuilder::Create(base_ + "/layout" + std::to_string(++layouts_));
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    auto busybox = BusyboxEntries();
    EXPECT_TRUE(busybox.ok()) << busybox.status().ToString();
    auto l1 = b->AddLayer(*busybox, Compression::kGzip);
    auto l2 =
        b->AddLayer({Entry::Dir("etc"), Entry::File("etc/motd", "hello from korc\n")}, second);
    EXPECT_TRUE(l1.ok() && l2.ok());
    layers_ = {*l1, *l2};
    auto img = b->AddImage({"linux", "amd64"}, layers_, {.cmd = {"/bin/sh"}});
    EXPECT_TRUE(img.ok());
    image_ = *img;
    EXPECT_TRUE(b->Write("1", image_).ok());
    return std::move(*b);
  }

  std::string base_;
  int layouts_ = 0;
  std::vector<Layer> layers_;
  Descriptor image_;
};

// ------------------------------------------------------------------ OciLayoutBuilder ---

class OciBuilderTest : public TempDirTest {};

TEST_F(OciBuilderTest, LayersCarryTheirDigestsAndDiffIds) {
  auto b = OciLayoutBuilder::Create(base_ + "/l");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  Entry tagged = Entry::File("etc/x", "x");
  tagged.xattrs["user.k"] = "v";
  std::vector<Entry> entries = {Entry::Dir("etc"),
                                tagged,
                                Entry::Symlink("etc/l", "x"),
                                Entry::Hardlink("etc/h", "etc/x"),
                                Entry::Whiteout("a/b"),
                                Entry::Opaque("etc/"),
                                Entry::Fifo("p"),
                                Entry::File("../escape", "e"),
                                Entry::File("/abs/file", "a")};
  std::string diff_id;
  for (auto c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    auto layer = b->AddLayer(entries, c);
    ASSERT_TRUE(layer.ok()) << layer.status().ToString();
    std::string blob = Slurp(b->BlobPath(layer->digest));
    EXPECT_EQ(Sha256Digest(blob), layer->digest);
    EXPECT_EQ(static_cast<int64_t>(blob.size()), layer->size);
    std::vector<TarEntry> got;
    EXPECT_EQ(ReadLayer(blob, &got), layer->diff_id);
    if (diff_id.empty()) diff_id = layer->diff_id;
    EXPECT_EQ(layer->diff_id, diff_id) << "same tar whatever the compression";
    ASSERT_EQ(got.size(), entries.size());
    EXPECT_EQ(got[1].xattr_user_k, "v");
    EXPECT_EQ(got[2].link, "x");
    EXPECT_EQ(got[3].link, "etc/x");
    EXPECT_EQ(got[4].path, "a/.wh.b");
    EXPECT_EQ(got[5].path, "etc/.wh..wh..opq");
    EXPECT_EQ(got[6].type, AE_IFIFO);
    EXPECT_EQ(got[7].path, "../escape");
    EXPECT_EQ(got[8].path, "/abs/file");
  }
  // Deterministic: the same entries give the same blob.
  auto again = b->AddLayer(entries, Compression::kGzip);
  auto first = b->AddLayer(entries, Compression::kGzip);
  ASSERT_TRUE(again.ok() && first.ok());
  EXPECT_EQ(again->digest, first->digest);
  EXPECT_EQ(first->media_type, kOciLayerGzip);
}

TEST_F(OciBuilderTest, WritesIndexConfigAndManifest) {
  KORC_REQUIRE(FindStaticBusybox().ok(), "needs busybox-static");
  OciLayoutBuilder b = BusyboxLayout();
  json index = json::parse(Slurp(b.dir() + "/index.json"));
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["digest"], image_.digest);
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], "1");
  EXPECT_EQ(json::parse(Slurp(b.dir() + "/oci-layout"))["imageLayoutVersion"], "1.0.0");

  auto manifest_bytes = b.ReadBlob(image_.digest);
  ASSERT_TRUE(manifest_bytes.ok());
  EXPECT_EQ(Sha256Digest(*manifest_bytes), image_.digest);
  json manifest = json::parse(*manifest_bytes);
  EXPECT_EQ(manifest["mediaType"], kOciManifest);
  ASSERT_EQ(manifest["layers"].size(), 2u);
  EXPECT_EQ(manifest["layers"][1]["mediaType"], kOciLayerZstd);
  json config = json::parse(*b.ReadBlob(manifest["config"]["digest"]));
  EXPECT_EQ(config["config"]["Cmd"], json({"/bin/sh"}));
  EXPECT_EQ(config["rootfs"]["diff_ids"], json({layers_[0].diff_id, layers_[1].diff_id}));
  EXPECT_EQ(config["architecture"], "amd64");

  ASSERT_TRUE(b.CorruptBlob(layers_[0].digest).ok());
  EXPECT_NE(Sha256Digest(Slurp(b.BlobPath(layers_[0].digest))), layers_[0].digest);
}

TEST_F(OciBuilderTest, BusyboxIsStaticWithUsers) {
  KORC_REQUIRE(FindStaticBusybox().ok(), "needs busybox-static");
  auto entries = BusyboxEntries(/*hardlinks=*/true);
  ASSERT_TRUE(entries.ok());
  bool passwd = false, tmp = false, sh = false;
  for (const auto& e : *entries) {
    if (e.path == "etc/passwd") {
      passwd = e.content.find("nobody:x:65534:65534:") != std::string::npos;
    }
    if (e.path == "tmp") tmp = e.mode == 01777;
    if (e.path == "bin/sh") sh = e.type == Entry::kHardlink && e.link == "bin/busybox";
  }
  EXPECT_TRUE(passwd && tmp && sh);
}

// ------------------------------------------------------------------ TokenServer --------

TEST(TokenServerTest, IssuesTokensAndRecordsRequests) {
  TokenServer ts;
  ASSERT_TRUE(ts.Start().ok());
  EXPECT_EQ(ts.realm(), "http://" + ts.address() + "/token");
  auto r = HttpGet(ts.address(), "/token?service=reg&scope=repository%3Aa%2Fb%3Apull");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  json body = json::parse(r->body);
  EXPECT_EQ(body["token"], "t-1");
  EXPECT_EQ(body["access_token"], "t-1");
  EXPECT_EQ(body["expires_in"], 300);
  auto reqs = ts.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].service, "reg");
  EXPECT_EQ(reqs[0].scope, "repository:a/b:pull");
  EXPECT_EQ(reqs[0].authorization, "");

  ts.FailWith(503);
  EXPECT_EQ(HttpGet(ts.address(), "/token")->status, 503);
  ts.FailWith(0);
  EXPECT_EQ(HttpGet(ts.address(), "/token")->status, 200);
  EXPECT_EQ(ts.tokens_issued(), 2);
}

TEST(TokenServerTest, RequiresBasicCredentialsWhenConfigured) {
  TokenServer ts;
  ASSERT_TRUE(ts.Start({.user = "u", .password = "p", .expires_in = 7}).ok());
  EXPECT_EQ(HttpGet(ts.address(), "/token?service=s")->status, 401);
  EXPECT_EQ(HttpGet(ts.address(), "/token?service=s",
                    {{"Authorization", BasicAuthorization("u", "wrong")}})
                ->status,
            401);
  auto ok =
      HttpGet(ts.address(), "/token?service=s", {{"Authorization", BasicAuthorization("u", "p")}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(json::parse(ok->body)["expires_in"], 7);
  EXPECT_EQ(ts.requests().back().authorization, "Basic dTpw");
}

TEST(HttpRequestTest, RefusesAnythingButLoopback) {
  EXPECT_EQ(HttpGet("example.com:80", "/").status().code(), Code::kInvalid);
  EXPECT_EQ(HttpGet("10.0.0.1:80", "/").status().code(), Code::kInvalid);
  EXPECT_EQ(Base64("u:p"), "dTpw");
  EXPECT_EQ(Base64("ab"), "YWI=");
  EXPECT_EQ(Base64("abc"), "YWJj");
}

// ------------------------------------------------------------------ LocalRegistry ------

class LocalRegistryTest : public TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    KORC_REQUIRE(LocalRegistry::MissingTools().empty(), LocalRegistry::MissingTools());
    KORC_REQUIRE(FindStaticBusybox().ok(), "needs busybox-static");
  }

  // GET manifests/<ref> with all four types in Accept.
  HttpResponse GetManifest(const LocalRegistry& reg, const std::string& repo,
                           const std::string& ref, const std::string& authorization = "") {
    std::vector<std::pair<std::string, std::string>> headers = {{"Accept", kAcceptAllManifests}};
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    auto r = HttpGet(reg.address(), "/v2/" + repo + "/manifests/" + ref, headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  void ExpectManifest(const LocalRegistry& reg, const std::string& repo, const std::string& ref,
                      const std::string& digest, const std::string& media_type) {
    HttpResponse r = GetManifest(reg, repo, ref);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("Docker-Content-Digest"), digest);
    EXPECT_EQ(Sha256Digest(r.body), digest);
    EXPECT_EQ(r.Header("Content-Type"), media_type);
  }
};

TEST_F(LocalRegistryTest, PushesOciDockerAndMultiArch) {
  LocalRegistry reg;
  ASSERT_TRUE(reg.Start().ok());
  auto v2 = HttpGet(reg.address(), "/v2/");
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->status, 200);

  // OCI, with a zstd layer: the manifest goes up byte for byte.
  OciLayoutBuilder b = BusyboxLayout(Compression::kZstd);
  auto oci = reg.Push(b.dir(), "1", "korc/busybox:oci");
  ASSERT_TRUE(oci.ok()) << oci.status().ToString();
  EXPECT_EQ(*oci, image_.digest);
  ExpectManifest(reg, "korc/busybox", "oci", *oci, kOciManifest);
  ExpectManifest(reg, "korc/busybox", *oci, *oci, kOciManifest);
  // The registry stores blobs verbatim where BlobDataPath says.
  EXPECT_EQ(Sha256Digest(Slurp(reg.BlobDataPath(layers_[1].digest))), layers_[1].digest);
  auto blob = HttpGet(reg.address(), "/v2/korc/busybox/blobs/" + layers_[0].digest);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->status, 200);
  EXPECT_EQ(Sha256Digest(blob->body), layers_[0].digest);

  // Docker v2 (v2s2 has no zstd type, so this image is gzip only).
  OciLayoutBuilder g = BusyboxLayout(Compression::kGzip);
  auto docker =
      reg.Push(g.dir(), "1", "korc/busybox:docker", {.format = LocalRegistry::Format::kDockerV2});
  ASSERT_TRUE(docker.ok()) << docker.status().ToString();
  ExpectManifest(reg, "korc/busybox", "docker", *docker, kDockerManifest);
  json dm = json::parse(GetManifest(reg, "korc/busybox", "docker").body);
  EXPECT_EQ(dm["layers"][0]["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip");
  EXPECT_EQ(dm["config"]["mediaType"], "application/vnd.docker.container.image.v1+json");

  // Multi-arch: arm64 first, then amd64, then an attestation.
  auto arm = g.AddImage({"linux", "arm64", "v8"}, layers_, {.cmd = {"/bin/sh"}});
  ASSERT_TRUE(arm.ok());
  auto att = g.AddAttestation(image_);
  ASSERT_TRUE(att.ok());
  auto index = g.AddIndex({*arm, image_, *att});
  ASSERT_TRUE(index.ok());
  ASSERT_TRUE(g.Write("multi", *index).ok());
  auto multi = reg.Push(g.dir(), "multi", "korc/multi:1", {.all = true});
  ASSERT_TRUE(multi.ok()) << multi.status().ToString();
  EXPECT_EQ(*multi, index->digest);
  ExpectManifest(reg, "korc/multi", "1", *multi, kOciIndex);
  json got = json::parse(GetManifest(reg, "korc/multi", "1").body);
  ASSERT_EQ(got["manifests"].size(), 3u);
  EXPECT_EQ(got["manifests"][0]["platform"]["architecture"], "arm64");
  EXPECT_EQ(got["manifests"][1]["platform"]["architecture"], "amd64");
  EXPECT_EQ(got["manifests"][2]["platform"]["os"], "unknown");
  for (const auto& m : got["manifests"]) {
    ExpectManifest(reg, "korc/multi", m["digest"], m["digest"], kOciManifest);
  }

  // Unknown tag and unknown repository: MANIFEST_UNKNOWN.
  HttpResponse missing = GetManifest(reg, "korc/busybox", "nope");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("MANIFEST_UNKNOWN"), std::string::npos) << missing.body;
  EXPECT_EQ(GetManifest(reg, "korc/none", "1").status, 404);
}

TEST_F(LocalRegistryTest, CorruptedBlobIsServedAsIs) {
  LocalRegistry reg;
  ASSERT_TRUE(reg.Start().ok());
  OciLayoutBuilder b = BusyboxLayout(Compression::kGzip);
  ASSERT_TRUE(reg.Push(b.dir(), "1", "c/busybox:1").ok());
  ASSERT_TRUE(CorruptFile(reg.BlobDataPath(layers_[1].digest)).ok());
  auto blob = HttpGet(reg.address(), "/v2/c/busybox/blobs/" + layers_[1].digest);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->status, 200);
  EXPECT_EQ(static_cast<int64_t>(blob->body.size()), layers_[1].size);
  EXPECT_NE(Sha256Digest(blob->body), layers_[1].digest);
}

TEST_F(LocalRegistryTest, BasicAuthRefusesAnonymous) {
  LocalRegistry reg;
  ASSERT_TRUE(
      reg.Start({.auth = LocalRegistry::Auth::kBasic, .user = "alice", .password = "pw"}).ok());
  auto anon = HttpGet(reg.address(), "/v2/");
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ(anon->status, 401);
  EXPECT_EQ(anon->Header("WWW-Authenticate"), R"(Basic realm="korc-test")");
  auto wrong =
      HttpGet(reg.address(), "/v2/", {{"Authorization", BasicAuthorization("alice", "x")}});
  EXPECT_EQ(wrong->status, 401);
  auto good =
      HttpGet(reg.address(), "/v2/", {{"Authorization", BasicAuthorization("alice", "pw")}});
  EXPECT_EQ(good->status, 200);

  OciLayoutBuilder b = BusyboxLayout(Compression::kGzip);
  EXPECT_FALSE(reg.Push(b.dir(), "1", "private/busybox:1").ok());
  auto pushed = reg.Push(b.dir(), "1", "private/busybox:1", {.creds = "alice:pw"});
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(GetManifest(reg, "private/busybox", "1").status, 401);
  HttpResponse m = GetManifest(reg, "private/busybox", "1", BasicAuthorization("alice", "pw"));
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.Header("Docker-Content-Digest"), *pushed);
}

TEST_F(LocalRegistryTest, TokenAuthChallengesWithTheTokenServersRealm) {
  TokenServer ts;
  ASSERT_TRUE(ts.Start({.user = "bob", .password = "pw"}).ok());
  LocalRegistry reg;
  ASSERT_TRUE(reg.Start({.auth = LocalRegistry::Auth::kToken,
                         .token_realm = ts.realm(),
                         .service = "korc-reg"})
                  .ok());
  auto anon = HttpGet(reg.address(), "/v2/");
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ(anon->status, 401);
  std::string challenge = anon->Header("WWW-Authenticate");
  EXPECT_EQ(challenge.rfind("Bearer ", 0), 0u) << challenge;
  EXPECT_NE(challenge.find("realm=\"" + ts.realm() + "\""), std::string::npos) << challenge;
  EXPECT_NE(challenge.find("service=\"korc-reg\""), std::string::npos) << challenge;
  HttpResponse scoped = GetManifest(reg, "team/app", "1");
  EXPECT_EQ(scoped.status, 401);
  EXPECT_NE(scoped.Header("WWW-Authenticate").find(R"(scope="repository:team/app:pull")"),
            std::string::npos)
      << scoped.Header("WWW-Authenticate");

  // skopeo runs the whole flow: challenge, Basic to the token server, Bearer to the registry.
  OciLayoutBuilder b = BusyboxLayout(Compression::kGzip);
  auto pushed = reg.Push(b.dir(), "1", "team/app:1", {.creds = "bob:pw"});
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  auto reqs = ts.requests();
  ASSERT_FALSE(reqs.empty());
  EXPECT_EQ(reqs.back().service, "korc-reg");
  EXPECT_NE(reqs.back().scope.find("repository:team/app:"), std::string::npos) << reqs.back().scope;
  EXPECT_EQ(reqs.back().authorization, BasicAuthorization("bob", "pw"));

  // "silly" accepts any bearer token.
  auto token = HttpGet(ts.address(), "/token?service=korc-reg&scope=repository:team/app:pull",
                       {{"Authorization", BasicAuthorization("bob", "pw")}});
  ASSERT_TRUE(token.ok());
  std::string t = json::parse(token->body)["token"];
  HttpResponse m = GetManifest(reg, "team/app", "1", "Bearer " + t);
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.Header("Docker-Content-Digest"), *pushed);
}

TEST_F(LocalRegistryTest, StopKillsTheRegistryAndRemovesItsFiles) {
  LocalRegistry reg;
  ASSERT_TRUE(reg.Start().ok());
  std::string data = reg.data_dir();
  std::string address = reg.address();
  ASSERT_TRUE(fs::exists(data));
  reg.Stop();
  EXPECT_FALSE(reg.running());
  EXPECT_FALSE(fs::exists(data));
  EXPECT_FALSE(HttpGet(address, "/v2/").ok());
}

}  // namespace
}  // namespace korc::testing
