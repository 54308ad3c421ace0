#include "components/controllers/manager.h"

#include <spdlog/spdlog.h>

#include "components/controllers/endpoints.h"
#include "components/controllers/replication.h"

namespace korc::controllers {

ControllerManager::ControllerManager(zmq::context_t& ctx, ControllerManagerOptions options)
    : ctx_(ctx), options_(std::move(options)) {}

ControllerManager::~ControllerManager() { (void)Stop(); }

Status ControllerManager::Start() {
  for (const auto& name : options_.controllers) {
    auto c = std::make_unique<Controller>();
    c->name = name;
    if (name == "replication") {
      c->reducer = std::make_unique<ReplicationReducer>();
    } else if (name == "endpoints") {
      c->reducer = std::make_unique<EndpointsReducer>();
    } else if (name == "nodelifecycle") {
      c->reducer = std::make_unique<NodeLifecycleReducer>(options_.node_lifecycle);
    } else if (name == "garbagecollector") {
      c->reducer = std::make_unique<GarbageCollectorReducer>(options_.garbage_collector);
    } else if (name == "nodeipam") {
      if (!options_.node_ipam.allocate_node_cidrs) {
        spdlog::info("controller nodeipam not started: --allocate-node-cidrs is false");
        continue;
      }
      KORC_RETURN_IF_ERROR(CheckNodeIpamOptions(options_.node_ipam));
      c->reducer = std::make_unique<NodeIpamReducer>(options_.node_ipam);
    } else {
      return Status::Invalid("unknown controller \"" + name +
                             "\": known are replication, endpoints, nodelifecycle, "
                             "garbagecollector, nodeipam");
    }
    c->runtime = std::make_unique<reactor::Runtime>(ctx_, *c->reducer, options_.runtime);
    controllers_.push_back(std::move(c));
  }
  for (auto& c : controllers_) {
    Controller* raw = c.get();
    raw->thread = std::thread([this, raw] {
      raw->result = raw->runtime->Run(stop_);
      if (!raw->result.ok()) {
        spdlog::error("controller {} stopped: {}", raw->name, raw->result.message());
      }
    });
  }
  return Status::Ok();
}

Status ControllerManager::Stop() {
  stop_.store(true);
  Status first = Status::Ok();
  for (auto& c : controllers_) {
    if (c->thread.joinable()) c->thread.join();
    if (first.ok() && !c->result.ok()) first = c->result;
  }
  return first;
}

}  // namespace korc::controllers
