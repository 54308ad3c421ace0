#include "components/proxy/balancer.h"

#include <algorithm>

namespace korc::proxy {
namespace {

bool Contains(const std::vector<Backend>& v, const Backend& b) {
  return std::find_if(v.begin(), v.end(), [&](const Backend& x) {
           return x.ip == b.ip && x.port == b.port;
         }) != v.end();
}

}  // namespace

void Balancer::SetBackends(std::vector<Backend> backends) {
  backends_ = std::move(backends);
  if (backends_.empty()) {
    next_ = 0;
  } else {
    next_ %= backends_.size();
  }
  for (auto it = affinity_.begin(); it != affinity_.end();) {
    it = Contains(backends_, it->second.backend) ? std::next(it) : affinity_.erase(it);
  }
}

void Balancer::SetAffinity(bool client_ip, int timeout_seconds) {
  client_ip_ = client_ip && timeout_seconds > 0;
  timeout_ns_ = int64_t{timeout_seconds} * 1'000'000'000;
  if (!client_ip_) affinity_.clear();
}

void Balancer::Expire(int64_t now_ns) {
  for (auto it = affinity_.begin(); it != affinity_.end();) {
    it = now_ns - it->second.last_ns > timeout_ns_ ? affinity_.erase(it) : std::next(it);
  }
}

std::optional<Backend> Balancer::Pick(const std::string& client_ip, int64_t now_ns,
                                      const std::vector<Backend>& tried) {
  if (client_ip_) {
    // A sweep every 1024 picks keeps the table to the clients seen within the timeout.
    if (++picks_ % 1024 == 0) Expire(now_ns);
    auto it = affinity_.find(client_ip);
    if (it != affinity_.end()) {
      if (now_ns - it->second.last_ns <= timeout_ns_ && !Contains(tried, it->second.backend)) {
        it->second.last_ns = now_ns;
        return it->second.backend;
      }
      affinity_.erase(it);
    }
  }
  for (size_t i = 0; i < backends_.size(); ++i) {
    const Backend& b = backends_[next_];
    next_ = (next_ + 1) % backends_.size();
    if (Contains(tried, b)) continue;
    if (client_ip_) affinity_[client_ip] = Sticky{b, now_ns};
    return b;
  }
  return std::nullopt;
}

}  // namespace korc::proxy
