// The proxier: the data path of a node's Service load balancer. For every Service port in
// the table it accepts on ClusterIP:port (and NodePort on the node's addresses) and relays
// each TCP connection, or each UDP client's flow, to a backend its Balancer picks.
//
//   - A Service port with no ready backend has no listener, so a connect is refused at once
//     (the ClusterIP is local, the port closed), as kube-proxy's REJECT rule does.
//   - A connect that fails (refused, unreachable, or no answer within connect_timeout) is
//     retried on the next backend; when every backend fails the client is reset.
//   - Update swaps a Service's backends without touching established connections: they
//     keep their backend until either side closes.
//   - TCP bytes move with splice(2) through a pipe per direction, so they are never copied
//     into user space.
//
// One I/O thread (Boost.Asio) owns every listener, connection and balancer; Update and
// Metrics hand work to it. ClusterIPs are made local through ServiceAddresses when it is
// given (as root), and must already be local otherwise (a loopback service range).
//
// Thread-safety: every public method may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "components/proxy/service_table.h"
#include "core/status.h"

namespace korc::kubelet::network {
class ServiceAddresses;
}

namespace korc::proxy {

struct ProxierOptions {
  // Where NodePorts listen (IPv4 addresses of this node).
  std::vector<std::string> node_port_addresses = {"127.0.0.1"};
  // Makes ClusterIPs local; null: they are local already. Must outlive the proxier.
  kubelet::network::ServiceAddresses* addresses = nullptr;
  std::chrono::milliseconds connect_timeout{1000};
  // A UDP flow with no packets either way for this long is forgotten.
  std::chrono::milliseconds udp_idle_timeout{30000};
  std::function<int64_t()> clock;  // unix ns, for affinity timeouts; default: system clock
};

// What one Service port has seen since the proxier started (or since it appeared).
struct PortMetrics {
  std::string id;
  Protocol protocol = Protocol::kTcp;
  uint64_t connections = 0;     // TCP connections accepted / UDP flows opened
  uint64_t active = 0;          // open now
  uint64_t bytes_in = 0;        // client → backend
  uint64_t bytes_out = 0;       // backend → client
  uint64_t connect_errors = 0;  // failed connects to a backend (each one retried)
  uint64_t rejected = 0;        // clients reset because no backend could be reached
  size_t backends = 0;
};

class Proxier {
 public:
  static Result<std::unique_ptr<Proxier>> Start(ProxierOptions options);
  ~Proxier();  // Stop()
  Proxier(const Proxier&) = delete;
  Proxier& operator=(const Proxier&) = delete;

  // Replaces what the proxier serves for one Service ("namespace/name"); empty entries
  // remove it. Applied on the I/O thread; returns once applied.
  void Update(const std::string& service, std::vector<ServicePortEntry> entries);
  // Every Service port's figures, sorted by id.
  std::vector<PortMetrics> Metrics() const;
  // The same in Prometheus' text format (korc_proxy_* families, one label set per port).
  std::string PrometheusText() const;
  // Closes every listener and connection and joins the I/O thread. Idempotent.
  void Stop();

  class Impl;  // the I/O thread's state (proxier.cc)

 private:
  explicit Proxier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace korc::proxy
