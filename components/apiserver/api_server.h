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

#include "core/status.h"
#include "storage/event_log.h"

namespace zmq {
class context_t;
}

namespace korc::bus {
class Publisher;
}

namespace korc::apiserver {

struct ApiServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 6443;                     // 0 picks a free port (tests)
  size_t max_body_bytes = 3 * 1024 * 1024;  // Kubernetes' limit; larger bodies get 413
  // Namespaces that exist from the start, as in Kubernetes.
  std::vector<std::string> initial_namespaces = {"default", "kube-system", "kube-node-lease",
                                                 "kube-public"};
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
