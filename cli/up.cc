// korc up: the whole cluster in one process — API server over the event log, controller
// manager, scheduler and a node — as threads sharing one ZeroMQ context (inproc:// bus). The
// same components run as separate processes with `korc apiserver`, `korc controller-manager`,
// `korc scheduler` and `korc node`.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <zmq.hpp>

#include "bus/bus.h"
#include "cli/bus_component.h"
#include "cli/client.h"
#include "cli/flags.h"
#include "cli/node_flags.h"
#include "cli/service_flags.h"
#include "cli/verbs.h"
#include "components/apiserver/api_server.h"
#include "components/apiserver/service_alloc.h"
#include "components/controllers/manager.h"
#include "components/kubelet/agent/kubelet.h"
#include "components/scheduler/scheduler.h"
#include "storage/event_log.h"

namespace korc::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

// A kubeconfig kubectl can use: one cluster, one context, no credentials (the API server
// has no authentication yet and listens on loopback only).
Status WriteKubeconfig(const std::string& path, const std::string& server) {
  std::ofstream out(path, std::ios::trunc);
  out << "apiVersion: v1\nkind: Config\nclusters:\n- name: korc\n  cluster:\n    server: " << server
      << "\ncontexts:\n- name: korc\n  context:\n    cluster: korc\n    user: korc\n"
      << "    namespace: default\ncurrent-context: korc\nusers:\n- name: korc\n  user: {}\n";
  out.close();
  if (!out) return Status::Internal("cannot write " + path);
  return Status::Ok();
}

// Whether the API server reports node `name` Ready.
bool NodeReady(const ApiClient& client, const std::string& name) {
  auto r = client.Call("GET", "/api/v1/nodes/" + name, "", "");
  if (!r.ok() || r->code != 200) return false;
  return r->body.find("\"type\":\"Ready\",\"status\":\"True\"") != std::string::npos;
}

}  // namespace

int Up(const Args& args) {
  po::options_description opts(
      "Usage: korc up [--data-dir DIR] [--port 6443] [--service-cluster-ip-range CIDR]\n"
      "               [--service-node-port-range RANGE] [node flags]\n\n"
      "Starts a whole cluster in one process: the API server (its event log in DIR, by\n"
      "default ./korc-data), the controller manager, the scheduler and one node that runs\n"
      "Pods on this machine. It writes DIR/kubeconfig for kubectl and says when the node is\n"
      "Ready. Ctrl-C stops the node's Pods and then the cluster; `korc up` on the same data\n"
      "dir resumes the same cluster from its log.\n\nFlags");
  std::string data_dir;
  ServiceFlags sf;
  int port = 6443;
  NodeFlags nf;
  opts.add_options()("help,h", "show this help")(
      "data-dir", po::value(&data_dir)->default_value("korc-data"), "the cluster's data folder")(
      "port", po::value(&port)->default_value(6443), "API server port on 127.0.0.1 (0 picks one)");
  AddServiceFlags(opts, &sf);
  AddNodeFlags(opts, &nf);
  po::variables_map vm;
  if (auto code = ParseFlags("up", args, opts, vm)) return *code;
  if (port < 0 || port > 65535) {
    std::cerr << "korc up: --port must be between 0 and 65535\n";
    return 2;
  }
  if (auto ranges = apiserver::ServiceRanges::Parse(sf.cluster_ip_range, sf.node_port_range);
      !ranges.ok()) {
    std::cerr << "korc up: " << ranges.status().message() << "\n";
    return 2;
  }
  auto node_options = NodeOptionsFrom(nf, data_dir);
  if (!node_options.ok()) {
    std::cerr << "korc up: " << node_options.status().message() << "\n";
    return 2;
  }
  const sigset_t stop_signals = BlockStopSignals();

  std::error_code ec;
  fs::create_directories(data_dir, ec);
  auto log = storage::OpenRocksDbEventLog(data_dir);
  if (!log.ok()) {
    std::cerr << "korc up: " << log.status().message() << "\n";
    return 1;
  }
  const bool resumed = (*log)->Head() > 0;
  zmq::context_t ctx;
  bus::PublisherOptions pub_opts;
  pub_opts.endpoint = "inproc://korc-events";
  auto publisher = bus::MakePublisher(ctx, pub_opts);
  if (!publisher.ok()) {
    std::cerr << "korc up: bus: " << publisher.status().message() << "\n";
    return 1;
  }
  auto catch_up = bus::StartCatchUpServer(ctx, **log, "inproc://korc-catch-up");
  if (!catch_up.ok()) {
    std::cerr << "korc up: bus: " << catch_up.status().message() << "\n";
    return 1;
  }
  apiserver::ApiServerOptions ao;
  ao.port = static_cast<uint16_t>(port);
  ao.bus_context = &ctx;
  ao.command_endpoint = "inproc://korc-commands";
  ao.service_cluster_ip_range = sf.cluster_ip_range;
  ao.service_node_port_range = sf.node_port_range;
  auto server = apiserver::ApiServer::Start(**log, publisher->get(), ao);
  if (!server.ok()) {
    std::cerr << "korc up: API server: " << server.status().message() << "\n";
    return 1;
  }
  reactor::RuntimeOptions bus;
  bus.publisher_endpoint = (*publisher)->endpoint();
  bus.catch_up_endpoint = (*catch_up)->endpoint();
  bus.command_endpoint = (*server)->command_endpoint();

  controllers::ControllerManagerOptions co;
  co.runtime = bus;
  controllers::ControllerManager manager(ctx, co);
  if (Status st = manager.Start(); !st.ok()) {
    std::cerr << "korc up: controller manager: " << st.message() << "\n";
    return 1;
  }
  const scheduler::SchedulerReducer scheduler_reducer;
  reactor::Runtime scheduler_runtime(ctx, scheduler_reducer, bus);
  std::atomic<bool> stop{false};
  std::thread scheduler_thread([&] {
    if (Status st = scheduler_runtime.Run(stop); !st.ok()) {
      spdlog::error("scheduler: {}", st.message());
    }
  });
  node_options->bus = bus;
  node_options->stop_pods_on_exit = true;
  auto proxy = StartNodeProxy(ctx, *node_options);
  auto kubelet = proxy.ok() ? kubelet::Kubelet::Start(ctx, *node_options)
                            : Result<std::unique_ptr<kubelet::Kubelet>>(proxy.status());
  auto shutdown = [&] {
    if (kubelet.ok()) (*kubelet)->Stop();
    if (proxy.ok()) (*proxy)->Stop();
    stop = true;
    scheduler_thread.join();
    (void)manager.Stop();
    (*server)->Stop();
  };
  if (!kubelet.ok()) {
    std::cerr << "korc up: node: " << kubelet.status().message() << "\n";
    shutdown();
    return 1;
  }

  const std::string url = "http://127.0.0.1:" + std::to_string((*server)->port());
  const std::string kubeconfig = fs::absolute(data_dir).string() + "/kubeconfig";
  if (Status st = WriteKubeconfig(kubeconfig, url); !st.ok()) {
    std::cerr << "korc up: " << st.message() << "\n";
  }
  std::cout << "korc up: " << (resumed ? "resumed" : "started") << " cluster in " << data_dir
            << " (log head seq " << (*log)->Head() << "); API server " << url << "\n"
            << "  node " << (*kubelet)->node_name() << ": "
            << (*kubelet)->container_runtime().version() << " runtime, "
            << ((*kubelet)->container_runtime().isolated()
                    ? "namespaces, cgroups and a network per Pod"
                    : "isolation off (not root): Pods run as plain processes")
            << "\n  kubectl: export KUBECONFIG=" << kubeconfig << "   (or: korc get pods --server "
            << url << ")" << std::endl;

  // Ready once the node has registered and reported Ready, or when stopped first.
  auto client = ApiClient::Connect(url);
  bool announced = false;
  int sig = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!announced) {
    struct timespec tick = {0, 100'000'000};
    sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig > 0) break;
    if (client.ok() && NodeReady(*client, (*kubelet)->node_name())) {
      std::cout << "korc up: cluster ready: node " << (*kubelet)->node_name()
                << " is Ready. Try: korc apply -f examples/seed.yaml --server " << url
                << "   Ctrl-C stops." << std::endl;
      announced = true;
    } else if (std::chrono::steady_clock::now() > deadline) {
      std::cout << "korc up: node " << (*kubelet)->node_name()
                << " has not reported Ready after 60 s; still waiting (Ctrl-C stops)" << std::endl;
      announced = true;
    }
  }
  if (sig <= 0) sigwait(&stop_signals, &sig);
  std::cout << "korc up: stopping: the node's Pods first, then the cluster" << std::endl;
  shutdown();
  std::cout << "korc up: stopped; `korc up --data-dir " << data_dir << "` resumes" << std::endl;
  return 0;
}

}  // namespace korc::cli
