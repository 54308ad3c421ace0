// What the CLI verbs of bus components (controller-manager, scheduler, hollow-nodes) share:
// the flags that say where the bus and the API server's command channel are, and running
// reducers until SIGINT/SIGTERM.
#pragma once

#include <signal.h>

#include <boost/program_options.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "components/reactor/runtime.h"

namespace korc::cli {

struct BusFlags {
  std::string data_dir, publish, catch_up, commands;
};

// --data-dir, --bus-publish, --bus-catch-up, --bus-commands.
void AddBusFlags(boost::program_options::options_description& opts, BusFlags* flags);
// Runtime options from the flags: each endpoint as given, or the ipc:// socket the API server
// of the same data dir listens on.
reactor::RuntimeOptions RuntimeOptionsFrom(const BusFlags& flags);

// Blocks SIGINT and SIGTERM in this thread, so threads started afterwards inherit the mask
// and only WaitForStop takes them. Call before starting any thread.
sigset_t BlockStopSignals();

// Runs `runtime` on a thread until a stop signal, or until it fails (it then wakes the main
// thread as a signal would). Returns the exit code: 0, or 1 with the error printed.
int RunUntilStopped(std::string_view verb, reactor::Runtime& runtime, const sigset_t& stop,
                    const std::function<void()>& started);

}  // namespace korc::cli
