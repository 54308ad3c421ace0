// korc apiserver: the API server on its own, over a data dir's event log.
#include <signal.h>

#include <boost/program_options.hpp>
#include <iostream>

#include "cli/flags.h"
#include "cli/verbs.h"
#include "components/apiserver/api_server.h"
#include "storage/event_log.h"

namespace korc::cli {

namespace po = boost::program_options;

int ApiServer(const Args& args) {
  po::options_description opts(
      "Usage: korc apiserver [--data-dir DIR] [--address 127.0.0.1] [--port 6443]\n\n"
      "Serves the Kubernetes core/v1 API over the cluster's event log until interrupted.\n"
      "Without TLS or authentication (yet), it listens on loopback only.\n\nFlags");
  std::string data_dir, address;
  int port = 6443;
  opts.add_options()("help,h", "show this help")(
      "data-dir", po::value(&data_dir)->default_value("korc-data"), "the cluster's data folder")(
      "address", po::value(&address)->default_value("127.0.0.1"), "address to listen on")(
      "port", po::value(&port)->default_value(6443), "port to listen on (0 picks one)");
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
  apiserver::ApiServerOptions o;
  o.address = address == "localhost" ? "127.0.0.1" : address;
  o.port = static_cast<uint16_t>(port);
  auto server = apiserver::ApiServer::Start(**log, nullptr, o);
  if (!server.ok()) {
    std::cerr << "korc apiserver: " << server.status().message() << "\n";
    return 1;
  }
  std::cout << "korc apiserver: serving http://" << o.address << ":" << (*server)->port()
            << " from " << data_dir << " (log head seq " << (*log)->Head() << ")" << std::endl;
  int sig = 0;
  sigwait(&stop, &sig);
  std::cout << "korc apiserver: stopping" << std::endl;
  (*server)->Stop();
  return 0;
}

}  // namespace korc::cli
