// An in-process cluster for integration tests: a durable RocksDB log in a temp dir, the bus
// (publisher and catch-up) and the API server with its command channel over inproc://, and
// the controller manager when asked for. Stops everything and removes the dir on destruction.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <zmq.hpp>

#include "bus/bus.h"
#include "components/apiserver/api_server.h"
#include "components/controllers/manager.h"
#include "storage/event_log.h"

namespace korc::testing {

class TestCluster {
 public:
  // Starts the log, bus and API server; then the controllers of `manager` (its runtime
  // endpoints are filled in) unless it is null.
  Status Start(controllers::ControllerManagerOptions* manager = nullptr) {
    char tmpl[] = "/tmp/korc-cluster-XXXXXX";
    dir_ = mkdtemp(tmpl);
    KORC_ASSIGN_OR_RETURN(log_, storage::OpenRocksDbEventLog(dir_ + "/log"));
    const std::string tag = std::to_string(reinterpret_cast<uintptr_t>(this));
    KORC_ASSIGN_OR_RETURN(publisher_, bus::MakePublisher(ctx_, {"inproc://events-" + tag}));
    KORC_ASSIGN_OR_RETURN(catch_up_,
                          bus::StartCatchUpServer(ctx_, *log_, "inproc://catch-up-" + tag));
    apiserver::ApiServerOptions o;
    o.port = 0;
    o.bus_context = &ctx_;
    o.command_endpoint = "inproc://commands-" + tag;
    KORC_ASSIGN_OR_RETURN(server_, apiserver::ApiServer::Start(*log_, publisher_.get(), o));
    runtime_.publisher_endpoint = "inproc://events-" + tag;
    runtime_.catch_up_endpoint = "inproc://catch-up-" + tag;
    runtime_.command_endpoint = server_->command_endpoint();
    if (!manager) return Status::Ok();
    manager->runtime.publisher_endpoint = runtime_.publisher_endpoint;
    manager->runtime.catch_up_endpoint = runtime_.catch_up_endpoint;
    manager->runtime.command_endpoint = runtime_.command_endpoint;
    manager_ = std::make_unique<controllers::ControllerManager>(ctx_, *manager);
    return manager_->Start();
  }

  ~TestCluster() {
    if (manager_) (void)manager_->Stop();
    manager_.reset();
    if (server_) server_->Stop();
    server_.reset();
    catch_up_.reset();
    publisher_.reset();
    log_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  zmq::context_t& ctx() { return ctx_; }
  storage::EventLog& log() { return *log_; }
  uint16_t port() const { return server_->port(); }
  controllers::ControllerManager* manager() { return manager_.get(); }
  // Endpoints for a reactor runtime of the test's own.
  const reactor::RuntimeOptions& runtime_options() const { return runtime_; }

 private:
  std::string dir_;
  zmq::context_t ctx_;
  std::unique_ptr<storage::EventLog> log_;
  std::unique_ptr<bus::Publisher> publisher_;
  std::unique_ptr<bus::CatchUpServer> catch_up_;
  std::unique_ptr<apiserver::ApiServer> server_;
  std::unique_ptr<controllers::ControllerManager> manager_;
  reactor::RuntimeOptions runtime_;
};

}  // namespace korc::testing
