#include "cli/bus_component.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <thread>

namespace korc::cli {

namespace po = boost::program_options;

void AddBusFlags(po::options_description& opts, BusFlags* f) {
  opts.add_options()("data-dir", po::value(&f->data_dir)->default_value("korc-data"),
                     "the data folder of the API server to follow")(
      "bus-publish", po::value(&f->publish), "events endpoint (default ipc://DATA-DIR/bus-events)")(
      "bus-catch-up", po::value(&f->catch_up),
      "catch-up endpoint (default ipc://DATA-DIR/bus-catch-up)")(
      "bus-commands", po::value(&f->commands),
      "command endpoint (default ipc://DATA-DIR/bus-commands)");
}

reactor::RuntimeOptions RuntimeOptionsFrom(const BusFlags& f) {
  const std::string dir = "ipc://" + std::filesystem::absolute(f.data_dir).string();
  reactor::RuntimeOptions o;
  o.publisher_endpoint = f.publish.empty() ? dir + "/bus-events" : f.publish;
  o.catch_up_endpoint = f.catch_up.empty() ? dir + "/bus-catch-up" : f.catch_up;
  o.command_endpoint = f.commands.empty() ? dir + "/bus-commands" : f.commands;
  return o;
}

sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  return stop;
}

int RunUntilStopped(std::string_view verb, reactor::Runtime& runtime, const sigset_t& stop_signals,
                    const std::function<void()>& started) {
  std::atomic<bool> stop{false};
  Status result = Status::Ok();
  std::thread loop([&] {
    result = runtime.Run(stop);
    // A runtime that cannot go on: SIGTERM is blocked, so it waits for sigwait below.
    if (!stop.load()) kill(getpid(), SIGTERM);
  });
  if (started) started();
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cout << "korc " << verb << ": stopping" << std::endl;
  stop.store(true);
  loop.join();
  if (!result.ok()) {
    std::cerr << "korc " << verb << ": " << result.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace korc::cli
