// korc apiserver: the API server on its own, over a data dir's event log.
#include <signal.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <zmq.hpp>

#include "bus/bus.h"
#include "cli/flags.h"
#include "cli/service_flags.h"
#include "cli/verbs.h"
#include "components/apiserver/api_server.h"
#include "components/apiserver/service_alloc.h"
#include "storage/event_log.h"

namespace korc::cli {

namespace po = boost::program_options;

int ApiServer(const Args& args) {
  po::options_description opts(
      "Usage: korc apiserver [--data-dir DIR] [--address 127.0.0.1] [--port 6443]\n"
      "                      [--bus-publish ENDPOINT] [--bus-catch-up ENDPOINT]\n"
      "                      [--service-cluster-ip-range CIDR] [--service-node-port-range "
      "RANGE]\n\n"
      "Serves the Kubernetes core/v1 API over the cluster's event log until interrupted, and\n"
      "publishes every committed event on the bus (by default on ipc:// sockets in the data\n"
      "dir). Without TLS or authentication (yet), it listens on loopback only. Services get\n"
      "their ClusterIPs and NodePorts from the two ranges.\n\nFlags");
  std::string data_dir, address, bus_publish, bus_catch_up, bus_commands;
  ServiceFlags sf;
  int port = 6443;
  opts.add_options()("help,h", "show this help")(
      "data-dir", po::value(&data_dir)->default_value("korc-data"), "the cluster's data folder")(
      "address", po::value(&address)->default_value("127.0.0.1"), "address to listen on")(
      "port", po::value(&port)->default_value(6443), "port to listen on (0 picks one)")(
      "bus-publish", po::value(&bus_publish),
      "ZeroMQ endpoint for committed events (default ipc://DATA-DIR/bus-events)")(
      "bus-catch-up", po::value(&bus_catch_up),
      "ZeroMQ endpoint serving history to subscribers (default ipc://DATA-DIR/bus-catch-up)")(
      "bus-commands", po::value(&bus_commands),
      "ZeroMQ endpoint taking components' commands (default ipc://DATA-DIR/bus-commands)");
  AddServiceFlags(opts, &sf);
  po::variables_map vm;
  if (auto code = ParseFlags("apiserver", args, opts, vm)) return *code;
  if (address != "127.0.0.1" && address != "::1" && address != "localhost") {
    std::cerr << "korc apiserver: refusing to listen on " << address
              << ": there is no TLS or authentication yet, so only loopback is allowed\n";
    return 2;
  }
  if (port < 0 || port > 65535) {
    std::cerr << "korc apiserver: --port must be between 0 and 65535\n";
    return 2;
  }
  if (auto ranges = apiserver::ServiceRanges::Parse(sf.cluster_ip_range, sf.node_port_range);
      !ranges.ok()) {
    std::cerr << "korc apiserver: " << ranges.status().message() << "\n";
    return 2;
  }
  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto log = storage::OpenRocksDbEventLog(data_dir);
  if (!log.ok()) {
    std::cerr << "korc apiserver: " << log.status().message() << "\n";
    return 1;
  }
  std::string abs = std::filesystem::absolute(data_dir).string();
  if (bus_publish.empty()) bus_publish = "ipc://" + abs + "/bus-events";
  if (bus_catch_up.empty()) bus_catch_up = "ipc://" + abs + "/bus-catch-up";
  if (bus_commands.empty()) bus_commands = "ipc://" + abs + "/bus-commands";
  zmq::context_t zmq_context;
  bus::PublisherOptions pub_opts;
  pub_opts.endpoint = bus_publish;
  auto publisher = bus::MakePublisher(zmq_context, pub_opts);
  if (!publisher.ok()) {
    std::cerr << "korc apiserver: bus: " << publisher.status().message() << "\n";
    return 1;
  }
  auto catch_up = bus::StartCatchUpServer(zmq_context, **log, bus_catch_up);
  if (!catch_up.ok()) {
    std::cerr << "korc apiserver: bus: " << catch_up.status().message() << "\n";
    return 1;
  }
  apiserver::ApiServerOptions o;
  o.address = address == "localhost" ? "127.0.0.1" : address;
  o.port = static_cast<uint16_t>(port);
  o.bus_context = &zmq_context;
  o.command_endpoint = bus_commands;
  o.service_cluster_ip_range = sf.cluster_ip_range;
  o.service_node_port_range = sf.node_port_range;
  auto server = apiserver::ApiServer::Start(**log, publisher->get(), o);
  if (!server.ok()) {
    std::cerr << "korc apiserver: " << server.status().message() << "\n";
    return 1;
  }
  std::cout << "korc apiserver: serving http://" << o.address << ":" << (*server)->port()
            << " from " << data_dir << " (log head seq " << (*log)->Head() << "); bus "
            << (*publisher)->endpoint() << ", catch-up " << (*catch_up)->endpoint() << ", commands "
            << (*server)->command_endpoint() << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
  std::cout << "korc apiserver: stopping" << std::endl;
  (*server)->Stop();
  server->reset();
  catch_up->reset();
  publisher->reset();
  return 0;
}

}  // namespace korc::cli
