// korc controller-manager: the replication, endpoints, node lifecycle, garbage collector and
// node IPAM controllers, following the bus and sending their commands to the API server.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <zmq.hpp>

#include "cli/bus_component.h"
#include "cli/flags.h"
#include "cli/verbs.h"
#include "components/controllers/manager.h"

namespace korc::cli {

namespace po = boost::program_options;

int ControllerManager(const Args& args) {
  po::options_description opts(
      "Usage: korc controller-manager [--data-dir DIR] [--bus-publish ENDPOINT]\n"
      "           [--bus-catch-up ENDPOINT] [--bus-commands ENDPOINT] [--controllers LIST]\n\n"
      "Runs the controllers that keep the cluster's actual state moving toward what was asked:\n"
      "the replication controller keeps each RC's replica count of Pods, the endpoints\n"
      "controller keeps each Service's Endpoints on its ready Pods, node lifecycle notices\n"
      "nodes whose kubelet went silent (no Lease renewal, no status) and evicts their Pods,\n"
      "the garbage collector removes what a deleted owner leaves behind, and node IPAM gives\n"
      "each Node a pod CIDR cut from --cluster-cidr. Each is a reducer: it follows the event\n"
      "log on the bus and sends commands to the API server, which records who did what and\n"
      "why (see `korc events`). By default it talks to the API server of the same data dir.\n\n"
      "Flags");
  std::string controllers;
  BusFlags bus;
  int64_t grace_s = 40, eviction_s = 300;
  int terminated_threshold = 12500;
  controllers::NodeIpamOptions ipam;
  opts.add_options()("help,h", "show this help");
  AddBusFlags(opts, &bus);
  opts.add_options()(
      "controllers",
      po::value(&controllers)
          ->default_value("replication,endpoints,nodelifecycle,garbagecollector,nodeipam"),
      "which controllers to run, comma-separated")(
      "node-monitor-grace-period", po::value(&grace_s)->default_value(40),
      "seconds without a heartbeat before a node is marked Ready=Unknown")(
      "pod-eviction-timeout", po::value(&eviction_s)->default_value(300),
      "seconds a node may stay not Ready before its Pods are evicted")(
      "terminated-pod-gc-threshold", po::value(&terminated_threshold)->default_value(12500),
      "terminated Pods kept cluster-wide before the oldest are deleted (0: never)")(
      "allocate-node-cidrs",
      po::value(&ipam.allocate_node_cidrs)->default_value(true)->implicit_value(true),
      "give each Node without spec.podCIDR one from --cluster-cidr (the nodeipam controller)")(
      "cluster-cidr", po::value(&ipam.cluster_cidr)->default_value(ipam.cluster_cidr),
      "the range node pod CIDRs are cut from")(
      "node-cidr-mask-size", po::value(&ipam.node_cidr_mask_size)->default_value(24),
      "the prefix length of each node's pod CIDR");
  po::variables_map vm;
  if (auto code = ParseFlags("controller-manager", args, opts, vm)) return *code;
  if (grace_s <= 0 || eviction_s <= 0) {
    std::cerr << "korc controller-manager: --node-monitor-grace-period and "
                 "--pod-eviction-timeout must be positive\n";
    return 2;
  }
  if (ipam.allocate_node_cidrs) {
    if (Status st = controllers::CheckNodeIpamOptions(ipam); !st.ok()) {
      std::cerr << "korc controller-manager: " << st.message() << "\n";
      return 2;
    }
  }
  const sigset_t stop_signals = BlockStopSignals();
  controllers::ControllerManagerOptions o;
  o.runtime = RuntimeOptionsFrom(bus);
  o.node_lifecycle.grace_period = std::chrono::seconds(grace_s);
  o.node_lifecycle.eviction_timeout = std::chrono::seconds(eviction_s);
  o.garbage_collector.terminated_pod_threshold = terminated_threshold;
  o.node_ipam = ipam;
  o.controllers.clear();
  std::stringstream list(controllers);
  for (std::string c; std::getline(list, c, ',');) {
    if (!c.empty()) o.controllers.push_back(c);
  }
  zmq::context_t ctx;
  controllers::ControllerManager manager(ctx, o);
  if (Status st = manager.Start(); !st.ok()) {
    std::cerr << "korc controller-manager: " << st.message() << "\n";
    return 2;
  }
  std::cout << "korc controller-manager: running " << controllers << " against "
            << o.runtime.command_endpoint << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cout << "korc controller-manager: stopping" << std::endl;
  Status st = manager.Stop();
  if (!st.ok()) {
    std::cerr << "korc controller-manager: " << st.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace korc::cli
