// How a Service port picks the backend for each new connection (or UDP flow): round-robin
// over the ready backends, or — with sessionAffinity: ClientIP — the backend a client
// address had last time, while it comes back within the affinity timeout.
//
// A failed connect is retried on the next backend: Pick takes the backends already tried.
// SetBackends keeps the round-robin position and every affinity whose backend is still
// ready, so an Endpoints change moves only the clients it has to.
//
// Thread-safety: none; the proxier's one I/O thread owns every Balancer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "components/proxy/service_table.h"

namespace korc::proxy {

class Balancer {
 public:
  void SetBackends(std::vector<Backend> backends);
  // Affinity off when timeout_seconds <= 0.
  void SetAffinity(bool client_ip, int timeout_seconds);

  // The backend for a connection from `client_ip` at `now_ns`, other than those in `tried`;
  // nullopt when there is none left.
  std::optional<Backend> Pick(const std::string& client_ip, int64_t now_ns,
                              const std::vector<Backend>& tried = {});

  const std::vector<Backend>& backends() const { return backends_; }
  size_t affinity_entries() const { return affinity_.size(); }

 private:
  struct Sticky {
    Backend backend;
    int64_t last_ns = 0;
  };
  void Expire(int64_t now_ns);

  std::vector<Backend> backends_;
  size_t next_ = 0;
  bool client_ip_ = false;
  int64_t timeout_ns_ = 0;
  std::map<std::string, Sticky> affinity_;
  uint64_t picks_ = 0;
};

}  // namespace korc::proxy
