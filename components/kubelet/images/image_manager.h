// ImageManager: the kubelet's image decisions for containers about to start.
//
// Pull policies as Kubernetes applies them: Never runs only what the store has
// (ErrImageNeverPull otherwise); IfNotPresent pulls when the store lacks the image; Always
// asks the registry at every container start (a pull of an image that has not changed
// fetches only its manifest). Pulls run on a small pool of threads, never on the caller's:
// Ensure answers at once with kPulling and calls `on_change` when the pull ends.
//
// A failed pull reports ErrImagePull, then ImagePullBackOff until its back-off (per Pod and
// image: `backoff_initial` doubling to `backoff_max`) allows the next try. An unparsable
// reference is InvalidImageName and never pulled.
//
// Thread-safety: every method may be called from any thread. Lifetimes: the store and the
// puller outlive the manager; its destructor waits for pulls in progress.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "components/kubelet/images/image_store.h"
#include "components/kubelet/images/puller.h"

namespace korc::kubelet::images {

struct ImageManagerOptions {
  std::chrono::nanoseconds backoff_initial = std::chrono::seconds(10);
  std::chrono::nanoseconds backoff_max = std::chrono::minutes(5);
  // How long a failure shows as ErrImagePull before it shows as ImagePullBackOff.
  std::chrono::nanoseconds err_image_pull_for = std::chrono::seconds(2);
  int parallel_pulls = 2;
  std::function<void()> on_change;  // a pull ended: the caller may want to Ensure again
  std::function<int64_t()> clock;   // unix ns; default: the system clock
};

struct ImageDecision {
  enum Kind { kReady, kPulling, kFailed } kind = kPulling;
  Image image;          // kReady
  std::string reason;   // kFailed: ErrImagePull, ImagePullBackOff, ErrImageNeverPull,
                        // InvalidImageName; kPulling: "" (or ImagePullBackOff on a retry)
  std::string message;  // for the container's waiting state
};

class ImageManager {
 public:
  ImageManager(ImageStore* store, Puller* puller, ImageManagerOptions options = {});
  ~ImageManager();
  ImageManager(const ImageManager&) = delete;
  ImageManager& operator=(const ImageManager&) = delete;

  // The image a container of Pod `pod_uid` may start with now. `policy` "" means
  // Kubernetes' default (Always for :latest or no tag, else IfNotPresent). `creds` are the
  // Pod's pull-secret credentials for this image, tried in order.
  ImageDecision Ensure(const std::string& pod_uid, const std::string& image,
                       const std::string& policy, const std::vector<Credential>& creds);
  // The Pod is gone: its back-off records go too.
  void Forget(const std::string& pod_uid);

 private:
  struct Record {
    bool pulling = false;
    bool done = false;  // a pull succeeded and its image was not handed out yet
    Image image;
    int64_t failed_at = 0;  // 0: no failure pending
    int64_t backoff_ns = 0;
    std::string error;
  };
  struct Job {
    std::string key, reference;
    std::vector<Credential> creds;
  };
  void Work();
  int64_t Now() const;

  ImageStore* const store_;
  Puller* const puller_;
  const ImageManagerOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Record> records_;  // "<pod uid> <reference>"; guarded by mu_
  std::deque<Job> queue_;                  // guarded by mu_
  bool stop_ = false;                      // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace korc::kubelet::images
