// korc image: the node's image store (components/kubelet/images/image_store.h) — pull from
// registries, import root filesystems and OCI image layouts, list, remove, prune.
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/flags.h"
#include "cli/node_flags.h"
#include "cli/verbs.h"
#include "components/kubelet/images/image_store.h"
#include "components/kubelet/images/puller.h"

namespace korc::cli {
namespace {

namespace po = boost::program_options;
namespace images = kubelet::images;

constexpr const char* kUsage =
    "Usage: korc image pull NAME[:TAG|@DIGEST]... [--creds USER:PASS] [--insecure-registry HOST]\n"
    "       korc image import NAME[:TAG] PATH\n"
    "       korc image ls\n"
    "       korc image rm NAME[:TAG]...\n"
    "       korc image prune\n"
    "       (each with [--store DIR | --data-dir DIR])\n\n"
    "Manages the node's image store, which the container runtimes run Pods from.\n"
    "pull fetches an image from its registry (Docker Hub for short names), checks every\n"
    "byte against its digest and unpacks it; a pull cut short resumes where it stopped.\n"
    "Registries on loopback, and those given with --insecure-registry, are spoken to over\n"
    "plain HTTP; all others over HTTPS with the certificate verified.\n"
    "import takes a directory (copied), a root filesystem tarball (.tar, .tar.gz, .tar.xz,\n"
    "...) or an OCI image layout tarball (e.g. from `skopeo copy docker://busybox\n"
    "oci-archive:busybox.tar`); re-importing a name replaces what it points to. NAME is a\n"
    "Docker reference: `busybox` means docker.io/library/busybox:latest.\n"
    "scripts/busybox-image builds a busybox root filesystem to import.\n"
    "prune deletes blobs no image uses and downloads abandoned for a day.\n\n"
    "The store is DIR/node/images for --data-dir DIR (the node's data dir), else --store DIR,\n"
    "else ./korc-data/node/images.\n\nFlags";

// Docker's way of printing sizes: three significant digits, decimal units ("4.26MB").
std::string HumanSize(int64_t bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double size = static_cast<double>(bytes);
  int unit = 0;
  while (size >= 1000 && unit < 5) {
    size /= 1000;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", size, units[unit]);
  if (std::string(buf).find('e') != std::string::npos) {
    std::snprintf(buf, sizeof buf, "%.0f%s", size, units[unit]);
  }
  return buf;
}

// "busybox:latest" -> {"busybox", "latest"}; a digest reference has tag "<none>" unless it
// also names a tag.
std::pair<std::string, std::string> SplitTag(const std::string& familiar) {
  std::string name = familiar.substr(0, familiar.find('@'));
  size_t slash = name.rfind('/');
  size_t colon = name.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    return {name.substr(0, colon), name.substr(colon + 1)};
  }
  return {name, "<none>"};
}

int Fail(const std::string& what) {
  std::cerr << "korc image: " << what << "\n";
  return 1;
}

}  // namespace

int Image(const Args& args) {
  po::options_description opts(kUsage);
  std::string store_dir, data_dir;
  std::vector<std::string> words, insecure, mirrors;
  std::string creds;
  opts.add_options()("help,h", "show this help")("creds", po::value(&creds),
                                                 "pull: USER:PASSWORD for the registry")(
      "insecure-registry", po::value(&insecure)->composing(),
      "pull: a registry HOST[:PORT] to reach over plain HTTP (repeatable)")(
      "registry-mirror", po::value(&mirrors)->composing(),
      "pull: DOMAIN=HOST[:PORT], pull DOMAIN's images from HOST (repeatable)")(
      "store", po::value(&store_dir), "the image store directory")(
      "data-dir", po::value(&data_dir), "the node's data dir: the store is DIR/node/images")(
      "args", po::value(&words), "pull NAME... | import NAME[:TAG] PATH | ls | rm NAME... | prune");
  po::variables_map vm;
  if (auto code = ParseFlags("image", args, opts, vm)) return *code;
  // The store logs its changes at info for the node's log; here the output says it all.
  spdlog::set_level(spdlog::level::warn);
  if (words.empty()) {
    std::cerr << "korc image: say pull, import, ls, rm or prune (see korc image --help)\n";
    return 2;
  }
  if (!store_dir.empty() && !data_dir.empty()) {
    std::cerr << "korc image: give --store or --data-dir, not both\n";
    return 2;
  }
  if (store_dir.empty()) store_dir = (data_dir.empty() ? "./korc-data" : data_dir) + "/node/images";
  const std::string sub = words[0];
  words.erase(words.begin());

  auto usage_error = [&](const std::string& want) {
    std::cerr << "korc image " << sub << ": " << want << " (see korc image --help)\n";
    return 2;
  };
  if (sub == "import") {
    if (words.size() != 2) return usage_error("want NAME[:TAG] PATH");
  } else if (sub == "pull") {
    if (words.empty()) return usage_error("want at least one NAME[:TAG|@DIGEST]");
    if (!creds.empty() && creds.find(':') == std::string::npos) {
      return usage_error("--creds wants USER:PASSWORD");
    }
  } else if (sub == "prune") {
    if (!words.empty()) return usage_error("takes no arguments");
  } else if (sub == "ls" || sub == "list") {
    if (!words.empty()) return usage_error("takes no arguments");
  } else if (sub == "rm" || sub == "remove") {
    if (words.empty()) return usage_error("want at least one NAME[:TAG]");
  } else {
    std::cerr << "korc image: unknown command \"" << sub
              << "\"; say pull, import, ls, rm or prune\n";
    return 2;
  }

  auto store = images::ImageStore::Open(store_dir);
  if (!store.ok()) return Fail(store.status().message());

  if (sub == "import") {
    auto image = (*store)->Import(words[0], words[1]);
    if (!image.ok()) return Fail(image.status().message());  // it names the file
    std::cout << "imported " << images::FamiliarReference(image->reference) << " " << image->id
              << " (" << HumanSize(image->size_bytes) << ")\n";
    return 0;
  }
  if (sub == "pull") {
    images::RegistryOptions options;
    options.insecure = insecure;
    auto parsed = ParseRegistryMirrors(mirrors);
    if (!parsed.ok()) return usage_error(parsed.status().message());
    options.mirrors = *parsed;
    images::Registry registry(options);
    images::Puller puller(store->get(), &registry);
    std::vector<images::Credential> credentials;
    if (!creds.empty()) {
      size_t colon = creds.find(':');
      credentials.push_back({creds.substr(0, colon), creds.substr(colon + 1)});
    }
    int code = 0;
    for (const auto& ref : words) {
      images::PullStats stats;
      auto image = puller.Pull(ref, credentials, &stats);
      if (!image.ok()) {
        std::cerr << "korc image: pulling " << ref << ": " << image.status().message() << "\n";
        code = 1;
        continue;
      }
      std::cout << "pulled " << images::FamiliarReference(image->reference) << " " << image->id
                << " (" << HumanSize(image->size_bytes) << ", downloaded "
                << HumanSize(stats.downloaded_bytes) << ")\n";
    }
    return code;
  }
  if (sub == "prune") {
    auto freed = (*store)->Prune();
    if (!freed.ok()) return Fail(freed.status().message());
    std::cout << "freed " << HumanSize(*freed) << "\n";
    return 0;
  }
  if (sub == "rm" || sub == "remove") {
    int code = 0;
    for (const auto& ref : words) {
      Status st = (*store)->Remove(ref);
      if (!st.ok()) {
        std::cerr << "korc image: " << st.message() << "\n";
        code = 1;
        continue;
      }
      auto normalized = images::NormalizeReference(ref);
      std::cout << "deleted " << images::FamiliarReference(*normalized) << "\n";
    }
    return code;
  }
  auto list = (*store)->List();
  if (!list.ok()) return Fail(list.status().message());
  const char* kFormat = "%-40s %-20s %-13s %s\n";
  std::printf(kFormat, "IMAGE", "TAG", "IMAGE ID", "SIZE");
  for (const auto& image : *list) {
    auto [name, tag] = SplitTag(images::FamiliarReference(image.reference));
    std::printf(kFormat, name.c_str(), tag.c_str(), image.id.substr(7, 12).c_str(),
                HumanSize(image.size_bytes).c_str());
  }
  return 0;
}

}  // namespace korc::cli
