// ApiServer: korc's API server — the only writer of the event log and the only door into
// the cluster. It speaks the Kubernetes core/v1 REST wire format over HTTP/1.1 (so real
// kubectl and the Python client work), commits every change through the Sequencer (group
// commit), and publishes every committed event on the bus.
//
// Listens on loopback by default: there is no TLS or authentication yet, so it must never
// listen beyond the machine.
//
// Thread-safety: Start/Stop from one thread. Connections are served one thread each
// (watches block their thread while they stream); all of them share the Store and submit
// changes to the Sequencer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "storage/event_log.h"

namespace zmq {
class context_t;
}

namespace korc::bus {
class Publisher;
}

namespace korc::apiserver {

// The Service ClusterIP range when none is given: kubeadm's 10.96.0.0/12 as root; without
// root a loopback range, 127.96.0.0/16, as the node proxy then binds ClusterIPs on loopback
// (where all of 127.0.0.0/8 is local) instead of on a dummy interface.
std::string DefaultServiceClusterIpRange();

struct ApiServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 6443;                     // 0 picks a free port (tests)
  size_t max_body_bytes = 3 * 1024 * 1024;  // Kubernetes' limit; larger bodies get 413
  // Namespaces that exist from the start, as in Kubernetes.
  std::vector<std::string> initial_namespaces = {"default", "kube-system", "kube-node-lease",
                                                 "kube-public"};
  // Where Services get their ClusterIPs and NodePorts (kube-apiserver's
  // --service-cluster-ip-range and --service-node-port-range). Start fails on a bad one.
  std::string service_cluster_ip_range = DefaultServiceClusterIpRange();
  std::string service_node_port_range = "30000-32767";
  // The bus command channel (bus/command.h) for components, served when both are set. Its
  // commands take the same path through the handlers as HTTP requests.
  zmq::context_t* bus_context = nullptr;
  std::string command_endpoint;
};

class ApiServer {
 public:
  // The log must outlive the server; publisher may be null (no bus).
  static Result<std::unique_ptr<ApiServer>> Start(storage::EventLog& log, bus::Publisher* publisher,
                                                  const ApiServerOptions& options);
  virtual ~ApiServer() = default;

  // The bound port (useful with port 0).
  virtual uint16_t port() const = 0;
  // The command channel's bound endpoint; empty when it is not served.
  virtual std::string command_endpoint() const = 0;
  // Stops accepting, ends open watches and connections, and joins every thread.
  virtual void Stop() = 0;
};

}  // namespace korc::apiserver
