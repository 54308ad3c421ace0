// Puller: an image reference -> an image in the node's store, from its registry.
//
// A pull resolves the reference to a manifest (an index or manifest list is narrowed to
// linux/amd64), fetches the image config, then each layer blob, and applies the layers in
// order onto a staging directory. Every byte is checked: manifests against their digest,
// blobs against theirs as they download, each uncompressed layer against the config's
// diff_id. Only a complete image is committed to the store, so a failed or interrupted pull
// never shows as an image; blobs already stored are reused, and a blob download cut short
// (even by a restart) resumes from its partial file.
//
// Pulls of the same reference at the same time share one pull; pulls of different images
// that share a layer download it once (a file lock on the download, which also covers a
// `korc image pull` in another process).
//
// Thread-safety: every method may be called from any thread. Lifetimes: the store and the
// registry outlive the puller.
#pragma once

#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "components/kubelet/images/image_store.h"
#include "components/kubelet/images/registry.h"

namespace korc::kubelet::images {

struct PullStats {
  int64_t downloaded_bytes = 0;  // blob bytes fetched from the registry by this pull
  int64_t reused_blobs = 0;      // blobs the store already had
  bool already_present = false;  // the image (by config digest) was stored: only tagged
};

class Puller {
 public:
  Puller(ImageStore* store, const Registry* registry) : store_(store), registry_(registry) {}

  // Pulls `reference` and tags it in the store. `creds` are tried in order, moving on when
  // the registry refuses one (Unauthorized / Forbidden); with none the pull is anonymous.
  // InvalidImageName-style errors come back as Invalid; the others as Registry's.
  Result<Image> Pull(std::string_view reference, const std::vector<Credential>& creds = {},
                     PullStats* stats = nullptr);

  // The digest the registry has now for `reference` (a HEAD of its manifest), to compare
  // with the stored image's repo_digests (pull policy Always).
  Result<std::string> RemoteDigest(std::string_view reference,
                                   const std::vector<Credential>& creds = {}) const;

  // True when the stored image for `reference` is the one the registry serves now.
  Result<bool> UpToDate(std::string_view reference, const std::vector<Credential>& creds = {});

 private:
  Result<Image> PullWith(const ImageName& name, const std::string& normalized,
                         const Credential* cred, PullStats& stats);
  // Stages blob `digest` into `staging`/blobs/: a link to the stored copy, or a download.
  Result<std::string> StageBlob(const ImageName& name, const std::string& digest, int64_t size,
                                const std::string& staging, const Credential* cred,
                                PullStats& stats);

  ImageStore* const store_;
  const Registry* const registry_;
  std::mutex mu_;
  // Pulls in flight, by normalized reference: later callers wait for the first one's result.
  std::map<std::string, std::shared_future<Result<Image>>> inflight_;  // guarded by mu_
};

}  // namespace korc::kubelet::images
