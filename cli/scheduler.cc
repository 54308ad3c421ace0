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
  std::string data_dir, bus_publish, bus_catch_up, bus_commands;
  opts.add_options()("help,h", "show this help")("data-dir",
                                                 po::value(&data_dir)->default_value("korc-data"),
                                                 "the data folder of the API server to follow")(
      "bus-publish", po::value(&bus_publish),
      "events endpoint (default ipc://DATA-DIR/bus-events)")(
      "bus-catch-up", po::value(&bus_catch_up),
      "catch-up endpoint (default ipc://DATA-DIR/bus-catch-up)")(
      "bus-commands", po::value(&bus_commands),
      "command endpoint (default ipc://DATA-DIR/bus-commands)");
  po::variables_map vm;
  if (auto code = ParseFlags("scheduler", args, opts, vm)) return *code;
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::string abs = std::filesystem::absolute(data_dir).string();
  reactor::RuntimeOptions o;
  o.publisher_endpoint = bus_publish.empty() ? "ipc://" + abs + "/bus-events" : bus_publish;
  o.catch_up_endpoint = bus_catch_up.empty() ? "ipc://" + abs + "/bus-catch-up" : bus_catch_up;
  o.command_endpoint = bus_commands.empty() ? "ipc://" + abs + "/bus-commands" : bus_commands;
  zmq::context_t ctx;
  const scheduler::SchedulerReducer reducer;
  reactor::Runtime runtime(ctx, reducer, o);
  std::atomic<bool> stop{false};
  Status result = Status::Ok();
  // The runtime's thread ends on its own only when it cannot go on; it then wakes sigwait by
  // raising SIGTERM, which the blocked mask turns into a pending signal for sigwait.
  std::thread loop([&] {
    result = runtime.Run(stop);
    if (!result.ok()) {
      spdlog::error("scheduler stopped: {}", result.message());
      if (!stop.load()) kill(getpid(), SIGTERM);
    }
  });
  std::cout << "korc scheduler: running against " << o.command_endpoint << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cout << "korc scheduler: stopping" << std::endl;
  stop.store(true);
  loop.join();
  if (!result.ok()) {
    std::cerr << "korc scheduler: " << result.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace korc::cli
