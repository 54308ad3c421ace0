// Pulling an image from a registry on loopback into a node's image store: korc's Puller
// against skopeo (and umoci). The registry is Debian's docker-registry on 127.0.0.1, no auth
// (tests/images' LocalRegistry); the image is built here with OciLayoutBuilder and pushed with
// skopeo: 4 layers of many files of various sizes (256 B .. 2 MiB, log-uniform), about 40%
// of the bytes random (incompressible) and 60% generated text (words from a random
// vocabulary, so gzip does real work: to about 55%), 34 MB of files per layer, ~25 MB
// compressed (3.4 and ~2.5 MB with --quick).
//   1. cold pull, gzip layers, 3 runs each into a fresh destination: median and min seconds,
//      MB/s of compressed (blob) bytes and of unpacked (file content) bytes, for
//        - korc: Puller::Pull into a fresh ImageStore (download, verify digests and diff_ids,
//          unpack every layer);
//        - skopeo copy docker://... oci:DIR:TAG: download and verify the compressed blobs only,
//          nothing decompressed or unpacked (a floor for the download part);
//        - skopeo copy + umoci unpack (when umoci is installed): pull and unpack, the fairest
//          comparison; umoci also writes an mtree manifest of the root it unpacked;
//   2. warm pull: the image already stored, so only the manifest is fetched (and the config
//      digest found stored); p50/min/max of 20;
//   3. cold pull of the same files as zstd layers, korc against skopeo copy (umoci 0.4 cannot
//      unpack zstd).
// Destinations are removed and sync(2)ed between runs, outside the timings; the registry's
// blobs are in the page cache for everyone. MB = 10^6 bytes. Prints figures; never fails on a
// timing. Exits 1, saying what happened, when korc fails (a pull error, a wrong tree) or a tool
// compared with does (named as such); 2 when docker-registry or skopeo is missing.
//
//   image_bench [--quick] [--log-level LEVEL]
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "components/kubelet/images/image_store.h"
#include "components/kubelet/images/puller.h"
#include "components/kubelet/images/registry.h"
#include "tests/images/oci_builder.h"
#include "tests/images/registry_fixture.h"

namespace korc {
namespace {

namespace fs = std::filesystem;
namespace img = kubelet::images;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
double Mb(int64_t bytes) { return bytes / 1e6; }

// PATH for the tools run here (RunCommand passes no other environment unless told).
std::string PathEnv() {
  const char* path = std::getenv("PATH");
  return std::string("PATH=") + (path ? path : "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

constexpr int kLayers = 4;
constexpr int kRuns = 3;
constexpr int kWarmPulls = 20;
constexpr double kRandomShare = 0.4;  // of each layer's file bytes

// The files of the image, generated once (deterministic) and written as gzip and as zstd.
struct Content {
  std::vector<std::vector<testing::Entry>> layers;
  int64_t file_bytes = 0;  // sum of file contents: the "unpacked" bytes
  int files = 0;
};

// Text from a vocabulary of random words, with spaces and line breaks: about 1.6 bits of
// entropy per character, so it compresses but not trivially.
class TextGen {
 public:
  explicit TextGen(std::mt19937_64& rng) : rng_(rng) {
    std::uniform_int_distribution<int> len(2, 10), ch('a', 'z');
    for (int i = 0; i < 4096; ++i) {
      std::string w;
      for (int n = len(rng_); n > 0; --n) w += static_cast<char>(ch(rng_));
      words_.push_back(std::move(w));
    }
  }
  std::string Make(size_t size) {
    std::string s;
    s.reserve(size + 16);
    std::uniform_int_distribution<size_t> pick(0, words_.size() - 1);
    std::uniform_int_distribution<int> line(6, 14);
    int left = line(rng_);
    while (s.size() < size) {
      s += words_[pick(rng_)];
      s += --left == 0 ? '\n' : ' ';
      if (left == 0) left = line(rng_);
    }
    s.resize(size);
    return s;
  }

 private:
  std::mt19937_64& rng_;
  std::vector<std::string> words_;
};

Content MakeContent(int64_t layer_file_bytes) {
  Content c;
  std::mt19937_64 rng(42);
  TextGen text(rng);
  std::uniform_real_distribution<double> log_size(std::log(256.0), std::log(2.0 * 1024 * 1024));
  for (int l = 0; l < kLayers; ++l) {
    std::vector<testing::Entry> entries;
    entries.push_back(testing::Entry::Dir("data"));
    entries.push_back(testing::Entry::Dir("data/l" + std::to_string(l)));
    int64_t random_bytes = 0, text_bytes = 0;
    for (int f = 0; random_bytes + text_bytes < layer_file_bytes; ++f) {
      const std::string dir = "data/l" + std::to_string(l) + "/d" + std::to_string(f / 32);
      if (f % 32 == 0) entries.push_back(testing::Entry::Dir(dir));
      size_t size = static_cast<size_t>(std::exp(log_size(rng)));
      size = std::min<size_t>(size, layer_file_bytes - random_bytes - text_bytes + 1);
      // Whichever kind is further behind its share of the bytes so far.
      const bool random = random_bytes < kRandomShare * (random_bytes + text_bytes + size);
      std::string content;
      if (random) {
        content.resize(size);
        for (size_t i = 0; i < size; i += 8) {
          uint64_t r = rng();
          std::memcpy(content.data() + i, &r, std::min<size_t>(8, size - i));
        }
        random_bytes += size;
      } else {
        content = text.Make(size);
        text_bytes += size;
      }
      entries.push_back(testing::Entry::File(
          dir + "/f" + std::to_string(f) + (random ? ".bin" : ".txt"), std::move(content)));
      ++c.files;
    }
    c.file_bytes += random_bytes + text_bytes;
    c.layers.push_back(std::move(entries));
  }
  return c;
}

struct Runs {
  std::vector<double> seconds;
  double median() const { return Percentile(seconds, 0.5); }
  double min() const { return *std::min_element(seconds.begin(), seconds.end()); }
};

class Bench {
 public:
  explicit Bench(bool quick) : quick_(quick) {}

  int Run() {
    char tmpl[] = "/tmp/korc-image-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return Fail("mkdtemp");
    dir_ = tmpl;
    bool ok = Setup() && Gzip() && Warm() && Zstd();
    registry_.Stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
    return ok ? 0 : 1;
  }

 private:
  bool Fail(const std::string& what) {
    std::printf("FAILED: %s\n", what.c_str());
    return false;
  }

  bool Setup() {
    const auto t0 = Clock::now();
    Content content = MakeContent(quick_ ? 3'400'000 : 34'000'000);
    file_bytes_ = content.file_bytes;
    files_ = content.files;
    if (auto s = registry_.Start(); !s.ok()) return Fail("registry: " + s.ToString());
    for (auto [compression, name] : {std::pair{testing::Compression::kGzip, "gzip"},
                                     std::pair{testing::Compression::kZstd, "zstd"}}) {
      const std::string layout = dir_ + "/layout-" + name;
      auto b = testing::OciLayoutBuilder::Create(layout);
      if (!b.ok()) return Fail("layout: " + b.status().ToString());
      std::vector<testing::Layer> layers;
      int64_t blob_bytes = 0;
      for (const auto& entries : content.layers) {
        auto l = b->AddLayer(entries, compression);
        if (!l.ok()) return Fail("layer: " + l.status().ToString());
        blob_bytes += l->size;
        layers.push_back(*l);
      }
      auto image = b->AddImage({"linux", "amd64"}, layers, {.cmd = {"/bin/true"}});
      if (!image.ok()) return Fail("image: " + image.status().ToString());
      if (auto s = b->Write("1", *image); !s.ok()) return Fail("layout: " + s.ToString());
      auto pushed = registry_.Push(layout, "1", std::string("bench/") + name + ":1");
      if (!pushed.ok()) return Fail("push: " + pushed.status().ToString());
      (compression == testing::Compression::kGzip ? gzip_bytes_ : zstd_bytes_) = blob_bytes;
      std::error_code ec;
      fs::remove_all(layout, ec);
    }
    std::printf("image: %d layers, %d files in %.1f MB (%.0f%% random bytes, the rest text)\n",
                kLayers, files_, Mb(file_bytes_), kRandomShare * 100);
    std::printf("  compressed: gzip %.1f MB, zstd %.1f MB; registry %s; set up in %.1f s\n",
                Mb(gzip_bytes_), Mb(zstd_bytes_), registry_.address().c_str(),
                Seconds(Clock::now() - t0));
    return true;
  }

  void Header() {
    std::printf("    %-46s %8s %8s %10s %10s\n", "(3 runs, a fresh destination each)", "median s",
                "min s", "MB/s comp", "MB/s unp.");
  }

  void Row(const std::string& what, const Runs& r, int64_t compressed, bool unpacks) {
    const double m = r.median();
    if (unpacks) {
      std::printf("    %-46s %8.2f %8.2f %10.1f %10.1f\n", what.c_str(), m, r.min(),
                  Mb(compressed) / m, Mb(file_bytes_) / m);
    } else {
      std::printf("    %-46s %8.2f %8.2f %10.1f %10s\n", what.c_str(), m, r.min(),
                  Mb(compressed) / m, "-");
    }
  }

  // Removes `path` and flushes the page cache's dirty pages, so a run does not pay for the
  // previous one's writeback.
  void Clean(const std::string& path) {
    std::error_code ec;
    fs::remove_all(path, ec);
    sync();
  }

  // The files under `root`/data: their count and bytes, to check an unpacked tree.
  std::pair<int, int64_t> Files(const std::string& root) {
    int n = 0;
    int64_t bytes = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root + "/data", ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_regular_file() && !it->is_symlink()) {
        ++n;
        bytes += static_cast<int64_t>(it->file_size());
      }
    }
    return {n, bytes};
  }

  // One korc cold pull of `reference` into a fresh store at `store_dir`.
  bool KorcPull(const std::string& reference, const std::string& store_dir, double* seconds,
                img::Image* image) {
    auto store = img::ImageStore::Open(store_dir);
    if (!store.ok()) return Fail("image store: " + store.status().ToString());
    img::Puller puller(store->get(), &registry_client_);
    img::PullStats stats;
    const auto t0 = Clock::now();
    auto pulled = puller.Pull(reference, {}, &stats);
    *seconds = Seconds(Clock::now() - t0);
    if (!pulled.ok()) return Fail("korc pull " + reference + ": " + pulled.status().ToString());
    if (stats.already_present || stats.reused_blobs != 0) {
      return Fail("korc pull into a fresh store reused blobs or found the image present");
    }
    auto [n, bytes] = Files(pulled->rootfs);
    if (n != files_ || bytes != file_bytes_) {
      return Fail("korc pull " + reference + " unpacked " + std::to_string(n) + " files, " +
                  std::to_string(bytes) + " bytes; expected " + std::to_string(files_) + ", " +
                  std::to_string(file_bytes_));
    }
    *image = *pulled;
    return true;
  }

  bool KorcRuns(const std::string& reference, Runs* runs) {
    for (int i = 0; i < kRuns; ++i) {
      const std::string store = dir_ + "/store";
      Clean(store);
      double s = 0;
      img::Image image;
      if (!KorcPull(reference, store, &s, &image)) return false;
      runs->seconds.push_back(s);
    }
    return true;  // the last store stays, for the warm pulls
  }

  // skopeo copy of `repo_tag` into a fresh OCI layout; with `umoci`, then umoci unpack
  // (its time alone into `unpack`).
  bool SkopeoRuns(const std::string& repo_tag, bool umoci, Runs* runs, Runs* unpack) {
    for (int i = 0; i < kRuns; ++i) {
      const std::string layout = dir_ + "/skopeo", bundle = dir_ + "/bundle";
      Clean(layout);
      Clean(bundle);
      const auto t0 = Clock::now();
      if (auto s = registry_.Pull(repo_tag, layout, "1"); !s.ok()) {
        std::printf("skopeo failed (not korc): %s\n", s.ToString().c_str());
        return false;
      }
      const auto t1 = Clock::now();
      if (umoci) {
        std::vector<std::string> argv = {"umoci", "unpack"};
        if (geteuid() != 0) argv.push_back("--rootless");
        argv.insert(argv.end(), {"--image", layout + ":1", bundle});
        std::string out;
        auto rc = testing::RunCommand(argv, {PathEnv(), "HOME=" + dir_}, &out, 600000);
        if (!rc.ok() || *rc != 0) {
          std::printf("umoci unpack failed (not korc): %s\n",
                      rc.ok() ? out.c_str() : rc.status().ToString().c_str());
          return false;
        }
        const auto t2 = Clock::now();
        unpack->seconds.push_back(Seconds(t2 - t1));
        runs->seconds.push_back(Seconds(t2 - t0));
        if (i == 0) {  // outside the timings
          auto [n, bytes] = Files(bundle + "/rootfs");
          if (n != files_ || bytes != file_bytes_) {
            std::printf("note: umoci unpacked %d files, %lld bytes (expected %d, %lld)\n", n,
                        static_cast<long long>(bytes), files_, static_cast<long long>(file_bytes_));
          }
        }
      } else {
        runs->seconds.push_back(Seconds(t1 - t0));
      }
    }
    Clean(dir_ + "/skopeo");
    Clean(dir_ + "/bundle");
    return true;
  }

  bool Gzip() {
    std::printf("  1. cold pull, gzip layers\n");
    Header();
    Runs korc, skopeo, both, umoci;
    if (!KorcRuns(registry_.address() + "/bench/gzip:1", &korc)) return false;
    Row("korc Puller (download, verify, unpack)", korc, gzip_bytes_, true);
    if (!SkopeoRuns("bench/gzip:1", false, &skopeo, nullptr)) return false;
    Row("skopeo copy (download+verify only, no unpack)", skopeo, gzip_bytes_, false);
    // RunCommand fails to start (NotFound) when umoci is not on PATH.
    if (testing::RunCommand({"umoci", "--version"}, {PathEnv()}, nullptr, 10000).ok()) {
      if (!SkopeoRuns("bench/gzip:1", true, &both, &umoci)) return false;
      Row("skopeo copy + umoci unpack", both, gzip_bytes_, true);
      Row("  of which umoci unpack", umoci, gzip_bytes_, true);
    } else {
      std::printf("    skopeo copy + umoci unpack: umoci not installed, skipped\n");
    }
    return true;
  }

  bool Warm() {
    // The store left by the last gzip run holds the image.
    auto store = img::ImageStore::Open(dir_ + "/store");
    if (!store.ok()) return Fail("image store: " + store.status().ToString());
    img::Puller puller(store->get(), &registry_client_);
    std::vector<double> ms;
    for (int i = 0; i < kWarmPulls; ++i) {
      img::PullStats stats;
      const auto t0 = Clock::now();
      auto pulled = puller.Pull(registry_.address() + "/bench/gzip:1", {}, &stats);
      ms.push_back(Seconds(Clock::now() - t0) * 1000);
      if (!pulled.ok()) return Fail("korc warm pull: " + pulled.status().ToString());
      if (!stats.already_present || stats.downloaded_bytes > 64 * 1024) {
        return Fail("korc warm pull downloaded " + std::to_string(stats.downloaded_bytes) +
                    " bytes (already_present=" + (stats.already_present ? "true" : "false") + ")");
      }
    }
    std::printf("  2. warm pull (image stored: manifest only), %d pulls\n", kWarmPulls);
    std::printf("    %-46s %8s %8s %8s\n", "", "p50 ms", "min ms", "max ms");
    std::printf("    %-46s %8.1f %8.1f %8.1f\n", "korc Puller", Percentile(ms, 0.5),
                Percentile(ms, 0), Percentile(ms, 1));
    Clean(dir_ + "/store");
    return true;
  }

  bool Zstd() {
    std::printf("  3. cold pull, zstd layers (umoci cannot unpack zstd)\n");
    Header();
    Runs korc, skopeo;
    if (!KorcRuns(registry_.address() + "/bench/zstd:1", &korc)) return false;
    Clean(dir_ + "/store");
    Row("korc Puller (download, verify, unpack)", korc, zstd_bytes_, true);
    if (!SkopeoRuns("bench/zstd:1", false, &skopeo, nullptr)) return false;
    Row("skopeo copy (download+verify only, no unpack)", skopeo, zstd_bytes_, false);
    return true;
  }

  bool quick_;
  std::string dir_;
  testing::LocalRegistry registry_;
  img::Registry registry_client_;
  int64_t file_bytes_ = 0, gzip_bytes_ = 0, zstd_bytes_ = 0;
  int files_ = 0;
};

}  // namespace
}  // namespace korc

int main(int argc, char** argv) {
  using namespace korc;
  bool quick = false;
  std::string log_level = "warn";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--quick") {
      quick = true;
    } else if (a == "--log-level" && i + 1 < argc) {
      log_level = argv[++i];
    } else {
      std::fprintf(stderr, "usage: image_bench [--quick] [--log-level LEVEL]\n");
      return 2;
    }
  }
  if (std::string missing = testing::LocalRegistry::MissingTools(); !missing.empty()) {
    std::fprintf(stderr, "image_bench: %s (scripts/setup installs them)\n", missing.c_str());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(log_level));
  setvbuf(stdout, nullptr, _IOLBF, 0);
  const auto t0 = std::chrono::steady_clock::now();
  const int rc = Bench(quick).Run();
  std::printf("total %.0f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return rc;
}
