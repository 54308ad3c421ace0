#include "components/kubelet/images/image_manager.h"

#include <spdlog/spdlog.h>

namespace korc::kubelet::images {

ImageManager::ImageManager(ImageStore* store, Puller* puller, ImageManagerOptions options)
    : store_(store), puller_(puller), options_(std::move(options)) {
  for (int i = 0; i < std::max(1, options_.parallel_pulls); ++i) {
    workers_.emplace_back([this] { Work(); });
  }
}

ImageManager::~ImageManager() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

int64_t ImageManager::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ImageDecision ImageManager::Ensure(const std::string& pod_uid, const std::string& image,
                                   const std::string& policy_in,
                                   const std::vector<Credential>& creds) {
  auto normalized = NormalizeReference(image);
  if (!normalized.ok()) {
    return {
        ImageDecision::kFailed,
        {},
        "InvalidImageName",
        "Failed to apply default image tag \"" + image + "\": " + normalized.status().message()};
  }
  std::string policy = policy_in;
  if (policy.empty()) {
    auto name = ImageName::Parse(*normalized);
    policy = name.ok() && name->digest.empty() && name->tag == "latest" ? "Always" : "IfNotPresent";
  }
  if (policy != "Always") {
    auto stored = store_->Get(*normalized);
    if (stored.ok()) return {ImageDecision::kReady, *stored, "", ""};
    if (policy == "Never") {
      return {ImageDecision::kFailed,
              {},
              "ErrImageNeverPull",
              "Container image \"" + image + "\" is not present with pull policy of Never"};
    }
  }
  const std::string key = pod_uid + " " + *normalized;
  const int64_t now = Now();
  std::lock_guard lock(mu_);
  Record& r = records_[key];
  if (r.done) {
    ImageDecision d{ImageDecision::kReady, r.image, "", ""};
    records_.erase(key);  // the next start (Always) asks the registry again
    return d;
  }
  const std::string backoff_message = "Back-off pulling image \"" + image + "\"";
  if (r.pulling) {
    if (r.failed_at != 0) return {ImageDecision::kPulling, {}, "ImagePullBackOff", backoff_message};
    return {ImageDecision::kPulling, {}, "", "Pulling image \"" + image + "\""};
  }
  if (r.failed_at != 0 && now < r.failed_at + r.backoff_ns) {
    // ErrImagePull first, then ImagePullBackOff for the rest of the wait (at least half).
    if (now <
        r.failed_at + std::min<int64_t>(options_.err_image_pull_for.count(), r.backoff_ns / 2)) {
      return {ImageDecision::kFailed, {}, "ErrImagePull", r.error};
    }
    return {ImageDecision::kFailed, {}, "ImagePullBackOff", backoff_message};
  }
  r.pulling = true;
  queue_.push_back({key, *normalized, creds});
  cv_.notify_one();
  spdlog::info("kubelet: pulling image {} for pod uid={} policy={}", *normalized, pod_uid, policy);
  if (r.failed_at != 0) return {ImageDecision::kPulling, {}, "ImagePullBackOff", backoff_message};
  return {ImageDecision::kPulling, {}, "", "Pulling image \"" + image + "\""};
}

void ImageManager::Forget(const std::string& pod_uid) {
  std::lock_guard lock(mu_);
  const std::string prefix = pod_uid + " ";
  for (auto it = records_.lower_bound(prefix);
       it != records_.end() && it->first.starts_with(prefix);) {
    it = records_.erase(it);  // a pull in progress finds no record and drops its result
  }
}

void ImageManager::Work() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    auto result = puller_->Pull(job.reference, job.creds);
    {
      std::lock_guard lock(mu_);
      auto it = records_.find(job.key);
      if (it == records_.end()) continue;
      Record& r = it->second;
      r.pulling = false;
      if (result.ok()) {
        r.done = true;
        r.image = *result;
        r.failed_at = 0;
        r.backoff_ns = 0;
      } else {
        r.failed_at = Now();
        r.backoff_ns = r.backoff_ns == 0
                           ? options_.backoff_initial.count()
                           : std::min<int64_t>(2 * r.backoff_ns, options_.backoff_max.count());
        r.error = "Failed to pull image \"" + FamiliarReference(job.reference) +
                  "\": " + result.status().message();
      }
    }
    if (options_.on_change) options_.on_change();
  }
}

}  // namespace korc::kubelet::images
