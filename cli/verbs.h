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
int ControllerManager(const Args& args);  // korc controller-manager: the controllers
int Scheduler(const Args& args);          // korc scheduler: binds Pods to nodes
int HollowNodes(const Args& args);        // korc hollow-nodes: pretend nodes for scale tests
int Apply(const Args& args);              // korc apply: kubectl-compatible client-side apply
int Create(const Args& args);             // korc create: create objects from manifests
int Get(const Args& args);                // korc get: objects as the server's Tables print them
int Describe(const Args& args);  // korc describe: an object, its related objects and Events
int Delete(const Args& args);    // korc delete
int Scale(const Args& args);     // korc scale rc NAME --replicas N
int Events(const Args& args);    // korc events: the audit tail of the event log
int Logs(const Args& args);      // korc logs: a container's log, through the API server
int Image(const Args& args);     // korc image: import, list and remove node images
int Node(const Args& args);      // korc node: the node agent (kubelet) of this machine
int Up(const Args& args);        // korc up: the whole cluster in one process

}  // namespace korc::cli
