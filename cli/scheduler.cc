// korc scheduler: places unbound Pods on Nodes, following the bus and sending Bindings to the
// API server.
#include "components/scheduler/scheduler.h"

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

int Scheduler(const Args& args) {
  po::options_description opts(
      "Usage: korc scheduler [--data-dir DIR] [--bus-publish ENDPOINT]\n"
      "           [--bus-catch-up ENDPOINT] [--bus-commands ENDPOINT]\n\n"
      "Runs the scheduler: it binds each Pod that has no node yet to a Node that is Ready,\n"
      "has room for its cpu, memory and pod count, matches its nodeSelector, has no taint it\n"
      "does not tolerate and no host port it needs in use; among those it prefers the least\n"
      "and most evenly used, and the ones with fewest Pods of the same controller or Service.\n"
      "A Pod that fits nowhere gets the condition PodScheduled=False saying why, as\n"
      "kube-scheduler words it (`korc describe pod`). The scheduler is a reducer: it follows\n"
      "the event log on the bus and sends its bindings to the API server, which records who\n"
      "did what and why (see `korc events`). By default it talks to the API server of the\n"
      "same data dir.\n\n"
      "Flags");
  BusFlags bus;
  opts.add_options()("help,h", "show this help");
  AddBusFlags(opts, &bus);
  po::variables_map vm;
  if (auto code = ParseFlags("scheduler", args, opts, vm)) return *code;
  const sigset_t stop_signals = BlockStopSignals();
  const reactor::RuntimeOptions o = RuntimeOptionsFrom(bus);
  zmq::context_t ctx;
  const scheduler::SchedulerReducer reducer;
  reactor::Runtime runtime(ctx, reducer, o);
  return RunUntilStopped("scheduler", runtime, stop_signals, [&] {
    std::cout << "korc scheduler: running against " << o.command_endpoint << std::endl;
  });
}

}  // namespace korc::cli
