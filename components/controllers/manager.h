// ControllerManager: `korc controller-manager` — the replication, endpoints, node lifecycle,
// garbage collector and node IPAM reducers, each in its own reactor runtime on its own thread (each
// with its own view and subscription: they share nothing but the bus).
//
// Thread-safety: Start and Stop from one thread; stats() from any.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "components/controllers/garbage_collector.h"
#include "components/controllers/node_ipam.h"
#include "components/controllers/node_lifecycle.h"
#include "components/reactor/runtime.h"

namespace korc::controllers {

struct ControllerManagerOptions {
  reactor::RuntimeOptions runtime;  // endpoints, clock, back-off
  NodeLifecycleOptions node_lifecycle;
  GarbageCollectorOptions garbage_collector;
  // "nodeipam" runs only when node_ipam.allocate_node_cidrs is set, as in Kubernetes.
  NodeIpamOptions node_ipam;
  // Which controllers run (all by default): "replication", "endpoints", "nodelifecycle",
  // "garbagecollector", "nodeipam".
  std::vector<std::string> controllers = {"replication", "endpoints", "nodelifecycle",
                                          "garbagecollector", "nodeipam"};
};

class ControllerManager {
 public:
  // `ctx` must outlive the manager.
  ControllerManager(zmq::context_t& ctx, ControllerManagerOptions options);
  ~ControllerManager();  // Stop()s

  // Starts every controller's runtime. Invalid for an unknown controller name.
  Status Start();
  // Stops them and joins their threads; returns the first error a runtime ended with.
  Status Stop();

  struct Controller {
    std::string name;
    std::unique_ptr<reactor::Reducer> reducer;
    std::unique_ptr<reactor::Runtime> runtime;
    std::thread thread;
    Status result;
  };
  const std::vector<std::unique_ptr<Controller>>& controllers() const { return controllers_; }

 private:
  zmq::context_t& ctx_;
  ControllerManagerOptions options_;
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<Controller>> controllers_;
};

}  // namespace korc::controllers
