// The korc CLI's verbs. Each takes the arguments after the verb name and returns the
// process exit code; each parses its own flags with Boost.Program_options.
#pragma once

#include <string>
#include <vector>

namespace korc::cli {

using Args = std::vector<std::string>;

int Replay(const Args& args);     // korc replay: state at any point, or a diff, from the log
int Import(const Args& args);     // korc import: manifests into a stopped cluster's log
int ApiServer(const Args& args);  // korc apiserver: serve the API over the event log

}  // namespace korc::cli
