// Pull policies, back-off and pull-secret matching, against a loopback registry.
#include "components/kubelet/images/image_manager.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "components/kubelet/images/keyring.h"
#include "tests/images/oci_builder.h"
#include "tests/images/registry_fixture.h"
#include "tests/require.h"

namespace korc::kubelet::images {
namespace {

namespace fs = std::filesystem;
using korc::testing::Entry;
using korc::testing::LocalRegistry;
using korc::testing::OciLayoutBuilder;
using namespace std::chrono_literals;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ImageManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KORC_REQUIRE(LocalRegistry::MissingTools().empty(),
                 "image manager tests need a local registry: " + LocalRegistry::MissingTools());
    char tmpl[] = "/tmp/korc-image-manager-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = ImageStore::Open(dir_ + "/store");
    ASSERT_TRUE(store.ok());
    store_ = std::move(*store);
    puller_ = std::make_unique<Puller>(store_.get(), &registry_client_);
    ASSERT_TRUE(registry_.Start().ok());
    ImageManagerOptions o;
    o.backoff_initial = 10s;
    o.backoff_max = 40s;
    o.clock = [this] { return now_.load(); };
    manager_ = std::make_unique<ImageManager>(store_.get(), puller_.get(), o);
  }
  void TearDown() override {
    manager_.reset();
    registry_.Stop();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  std::string Push(const std::string& content, const std::string& repo_tag) {
    auto b = OciLayoutBuilder::Create(dir_ + "/layout" + std::to_string(layouts_++));
    EXPECT_TRUE(b.ok());
    auto layer = b->AddLayer({Entry::File("content", content)});
    auto image = b->AddImage({}, {*layer});
    EXPECT_TRUE(b->Write("t", *image).ok());
    auto digest = registry_.Push(b->dir(), "t", repo_tag);
    EXPECT_TRUE(digest.ok()) << digest.status().ToString();
    return digest.ok() ? *digest : "";
  }

  // Ensure until the pull in progress ends (the clock does not move).
  ImageDecision Settle(const std::string& uid, const std::string& image, const std::string& policy,
                       const std::vector<Credential>& creds = {}) {
    ImageDecision d = manager_->Ensure(uid, image, policy, creds);
    for (int i = 0; i < 500 && d.kind == ImageDecision::kPulling; ++i) {
      std::this_thread::sleep_for(10ms);
      d = manager_->Ensure(uid, image, policy, creds);
    }
    return d;
  }

  std::string Ref(const std::string& repo_tag) { return registry_.address() + "/" + repo_tag; }

  std::string dir_;
  std::atomic<int64_t> now_{1'000'000'000'000};
  LocalRegistry registry_;
  Registry registry_client_;
  std::unique_ptr<ImageStore> store_;
  std::unique_ptr<Puller> puller_;
  std::unique_ptr<ImageManager> manager_;
  int layouts_ = 0;
};

TEST_F(ImageManagerTest, IfNotPresentPullsOnceAndNeverRunsOnlyWhatIsStored) {
  Push("v1", "app:1");
  ImageDecision never = manager_->Ensure("uid-1", Ref("app:1"), "Never", {});
  EXPECT_EQ(never.kind, ImageDecision::kFailed);
  EXPECT_EQ(never.reason, "ErrImageNeverPull");
  EXPECT_NE(never.message.find("is not present with pull policy of Never"), std::string::npos);

  ImageDecision first = manager_->Ensure("uid-1", Ref("app:1"), "IfNotPresent", {});
  EXPECT_EQ(first.kind, ImageDecision::kPulling);
  EXPECT_EQ(first.reason, "");  // ContainerCreating
  ImageDecision ready = Settle("uid-1", Ref("app:1"), "IfNotPresent");
  ASSERT_EQ(ready.kind, ImageDecision::kReady) << ready.reason << ": " << ready.message;
  EXPECT_EQ(Slurp(ready.image.rootfs + "/content"), "v1");
  // Stored now: both policies run it without asking the registry.
  registry_.Stop();
  EXPECT_EQ(manager_->Ensure("uid-2", Ref("app:1"), "IfNotPresent", {}).kind,
            ImageDecision::kReady);
  EXPECT_EQ(manager_->Ensure("uid-2", Ref("app:1"), "Never", {}).kind, ImageDecision::kReady);
}

TEST_F(ImageManagerTest, AlwaysAsksTheRegistryAtEveryStart) {
  Push("v1", "moving:latest");
  // No tag: :latest, whose default policy is Always.
  ImageDecision one = Settle("uid-1", Ref("moving"), "");
  ASSERT_EQ(one.kind, ImageDecision::kReady) << one.message;
  EXPECT_EQ(Slurp(one.image.rootfs + "/content"), "v1");
  Push("v2", "moving:latest");
  ImageDecision two = manager_->Ensure("uid-1", Ref("moving"), "", {});
  EXPECT_EQ(two.kind, ImageDecision::kPulling);  // stored, but Always asks again
  two = Settle("uid-1", Ref("moving"), "");
  ASSERT_EQ(two.kind, ImageDecision::kReady) << two.message;
  EXPECT_EQ(Slurp(two.image.rootfs + "/content"), "v2");
  // The registry gone: Always cannot start it, even though it is stored.
  registry_.Stop();
  ImageDecision three = Settle("uid-1", Ref("moving"), "Always");
  EXPECT_EQ(three.kind, ImageDecision::kFailed);
  EXPECT_EQ(three.reason, "ErrImagePull");
}

TEST_F(ImageManagerTest, FailedPullsBackOffPerPodAndImage) {
  ImageDecision d = Settle("uid-1", Ref("late:1"), "IfNotPresent");
  ASSERT_EQ(d.kind, ImageDecision::kFailed);
  EXPECT_EQ(d.reason, "ErrImagePull");
  EXPECT_NE(d.message.find("Failed to pull image"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("MANIFEST_UNKNOWN"), std::string::npos) << d.message;
  now_ += 3'000'000'000;  // past ErrImagePull's 2 s: back-off (10 s) shows
  d = manager_->Ensure("uid-1", Ref("late:1"), "IfNotPresent", {});
  EXPECT_EQ(d.kind, ImageDecision::kFailed);
  EXPECT_EQ(d.reason, "ImagePullBackOff");
  EXPECT_EQ(d.message, "Back-off pulling image \"" + Ref("late:1") + "\"");
  // Another Pod has its own back-off: it tries at once.
  EXPECT_EQ(manager_->Ensure("uid-2", Ref("late:1"), "IfNotPresent", {}).kind,
            ImageDecision::kPulling);
  Push("here now", "late:1");
  now_ += 5'000'000'000;  // 8 s of 10: still waiting
  EXPECT_EQ(manager_->Ensure("uid-1", Ref("late:1"), "IfNotPresent", {}).reason,
            "ImagePullBackOff");
  now_ += 2'000'000'000;  // 10 s: the next try, which works
  d = Settle("uid-1", Ref("late:1"), "IfNotPresent");
  ASSERT_EQ(d.kind, ImageDecision::kReady) << d.reason << ": " << d.message;
  EXPECT_EQ(Slurp(d.image.rootfs + "/content"), "here now");
}

TEST_F(ImageManagerTest, BackOffDoublesToItsCap) {
  int64_t expected = 10;
  for (int i = 0; i < 4; ++i) {
    ImageDecision d = Settle("uid-1", Ref("never/there:1"), "IfNotPresent");
    ASSERT_EQ(d.kind, ImageDecision::kFailed);
    now_ += (expected - 1) * 1'000'000'000;
    EXPECT_EQ(manager_->Ensure("uid-1", Ref("never/there:1"), "IfNotPresent", {}).reason,
              "ImagePullBackOff")
        << "try " << i;
    now_ += 1'000'000'000;
    expected = std::min<int64_t>(expected * 2, 40);
  }
}

TEST_F(ImageManagerTest, InvalidNamesAreNeverPulled) {
  ImageDecision d = manager_->Ensure("uid-1", "Not/Valid:Name!", "IfNotPresent", {});
  EXPECT_EQ(d.kind, ImageDecision::kFailed);
  EXPECT_EQ(d.reason, "InvalidImageName");
}

TEST(KeyringTest, MatchesHostsPortsPathsAndDockerHubSpellings) {
  const std::string secret1 = R"({"auths":{
    "https://index.docker.io/v1/":{"username":"hub","password":"h"},
    "reg.example.com:5000":{"auth":")" +
                              korc::testing::Base64("port:p") + R"("},
    "reg.example.com:5000/team":{"username":"team","password":"t"},
    "*.example.org":{"username":"glob","password":"g"}}})";
  const std::string secret2 =
      R"({"auths":{"reg.example.com:5000":{"username":"second","password":"s"}}})";
  auto users = [&](const std::string& ref) {
    std::string out;
    for (const auto& c : CredentialsFor(*ImageName::Parse(ref), {secret1, secret2})) {
      out += c.username + ",";
    }
    return out;
  };
  EXPECT_EQ(users("busybox"), "hub,");
  EXPECT_EQ(users("reg.example.com:5000/team/app:1"), "team,port,second,");
  EXPECT_EQ(users("reg.example.com:5000/other/app"), "port,second,");
  EXPECT_EQ(users("reg.example.com/team/app"), "");  // no port: another registry
  EXPECT_EQ(users("a.example.org/x"), "glob,");
  EXPECT_EQ(users("a.b.example.org/x"), "");
  EXPECT_EQ(users("127.0.0.1:5000/x"), "");
  EXPECT_EQ(CredentialsFor(*ImageName::Parse("busybox"), {"not json"}).size(), 0u);
}

}  // namespace
}  // namespace korc::kubelet::images
