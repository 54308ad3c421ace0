// korc hollow-nodes: N Nodes that exist only as API objects (as Kubernetes' kubemark and
// KWOK), registered, heartbeating and running the Pods bound to them, through the same
// commands a kubelet sends (components/hollow/hollow_nodes.h).
#include "components/hollow/hollow_nodes.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <thread>
#include <zmq.hpp>

#include "cli/bus_component.h"
#include "cli/flags.h"
#include "cli/verbs.h"
#include "components/reactor/runtime.h"

namespace korc::cli {

namespace po = boost::program_options;

int HollowNodes(const Args& args) {
  po::options_description opts(
      "Usage: korc hollow-nodes --count N [--prefix hollow-] [--capacity LIST]\n"
      "           [--heartbeat-seconds 10] [--data-dir DIR | --bus-publish ENDPOINT\n"
      "           --bus-catch-up ENDPOINT --bus-commands ENDPOINT]\n\n"
      "Runs N hollow nodes in this one process, as kubemark and KWOK do: Nodes that exist\n"
      "only as API objects. It registers <prefix>0 .. <prefix>N-1 (label type=hollow;\n"
      "addresses from TEST-NET ranges, never contacted), keeps their heartbeats going, marks\n"
      "the Pods bound to them Running and Ready with a Pod IP from the node's podCIDR, and\n"
      "confirms their deletion. No container ever runs. Everything goes through the commands\n"
      "a kubelet sends, so the scheduler, the controllers and clients can be exercised at\n"
      "scale. By default it talks to the API server of the same data dir.\n\n"
      "Flags");
  std::string prefix, capacity, log_level;
  BusFlags bus;
  int count = 0;
  int64_t heartbeat_s = 10;
  opts.add_options()("help,h", "show this help")("count", po::value(&count),
                                                 "how many hollow nodes (required)")(
      "prefix", po::value(&prefix)->default_value("hollow-"),
      "node names are PREFIX0 .. PREFIX<count-1>")(
      "capacity", po::value(&capacity)->default_value("cpu=4,memory=16Gi,pods=110"),
      "capacity and allocatable of each node, NAME=QUANTITY,...")(
      "heartbeat-seconds", po::value(&heartbeat_s)->default_value(10),
      "each node posts its status at least this often")(
      "log-level", po::value(&log_level)->default_value("warn"),
      "trace, debug, info, warn, error or off (info logs every heartbeat of every node)");
  AddBusFlags(opts, &bus);
  po::variables_map vm;
  if (auto code = ParseFlags("hollow-nodes", args, opts, vm)) return *code;
  auto usage = [](const std::string& message) {
    std::cerr << "korc hollow-nodes: " << message << " (see korc hollow-nodes --help)\n";
    return 2;
  };
  if (!vm.count("count")) return usage("--count is required");
  hollow::HollowNodesOptions o;
  o.count = count;
  o.prefix = prefix;
  if (heartbeat_s <= 0) return usage("--heartbeat-seconds must be positive");
  o.heartbeat_period = std::chrono::seconds(heartbeat_s);
  auto resources = hollow::ParseResourceList(capacity);
  if (!resources.ok()) return usage("--capacity: " + resources.status().message());
  o.capacity = *resources;
  if (Status st = hollow::ValidateOptions(o); !st.ok()) return usage(st.message());
  const spdlog::level::level_enum level = spdlog::level::from_str(log_level);
  if (level == spdlog::level::off && log_level != "off") {
    return usage("--log-level: unknown level \"" + log_level + "\"");
  }
  spdlog::set_level(level);

  const sigset_t stop_signals = BlockStopSignals();
  const reactor::RuntimeOptions ro = RuntimeOptionsFrom(bus);
  hollow::HollowNodesReducer reducer(o);
  zmq::context_t ctx;
  reactor::Runtime runtime(ctx, reducer, ro);
  return RunUntilStopped("hollow-nodes", runtime, stop_signals, [&] {
    std::string resources_text;
    for (const auto& [name, q] : o.capacity) {
      resources_text += (resources_text.empty() ? "" : ",") + name + "=" + q.ToString();
    }
    std::cout << "korc hollow-nodes: running " << o.count << " hollow node"
              << (o.count == 1 ? "" : "s") << " " << reducer.NodeName(0)
              << (o.count > 1 ? " .. " + reducer.NodeName(o.count - 1) : "") << " ("
              << resources_text << ", heartbeat every " << heartbeat_s << "s) against "
              << ro.command_endpoint << std::endl;
  });
}

}  // namespace korc::cli
