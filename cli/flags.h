// Flag parsing shared by every verb (Boost.Program_options).
#pragma once

#include <boost/program_options.hpp>
#include <iostream>
#include <optional>
#include <string_view>

#include "cli/verbs.h"

namespace korc::cli {

// Parses `args` into `vm`; words that are not flags go to the option "args" when `opts`
// declares one. Returns the exit code to stop with — 0 after printing --help, 2 after a
// usage error naming the verb — or nullopt to go on.
inline std::optional<int> ParseFlags(std::string_view verb, const Args& args,
                                     const boost::program_options::options_description& opts,
                                     boost::program_options::variables_map& vm) {
  namespace po = boost::program_options;
  try {
    po::positional_options_description positional;
    if (opts.find_nothrow("args", false)) positional.add("args", -1);
    po::store(po::command_line_parser(args).options(opts).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "korc " << verb << ": " << e.what() << " (see korc " << verb << " --help)\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  return std::nullopt;
}

}  // namespace korc::cli
