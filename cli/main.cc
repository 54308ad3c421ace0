// korc: the command-line client. `korc VERB --help` describes each verb.
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/verbs.h"

namespace {

constexpr const char* kUsage =
    R"(korc — a small Kubernetes whose history is an append-only event log.

Usage: korc VERB [flags]

Verbs:
  up        the whole cluster in one process: API server, controllers, scheduler, a node
  apiserver serve the Kubernetes API (kubectl works against it) over the event log
  controller-manager
            run the controllers (replication, endpoints, node lifecycle, garbage collection)
  scheduler place Pods on nodes, and say why when a Pod fits nowhere
  node      run this machine's node agent (kubelet): Pods as real processes
  hollow-nodes
            register N pretend nodes that run every Pod bound to them (for scale tests)
  apply     create or update objects from manifests (kubectl-compatible)
  create    create objects from manifests
  get       list or show objects
  describe  show an object in detail: what it is, what it selects, and its Events
  delete    delete objects
  scale     set a ReplicationController's replica count
  events    the audit trail: every change, who made it, and why
  logs      print (or follow) a container's log
  import    load manifests (YAML/JSON, multi-document) into a stopped cluster's log
  replay    print the cluster state at any point of the log, or what changed between two
  image     import, list and remove images in a node's image store
  version   print korc's version

Run `korc VERB --help` for a verb's flags.
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  std::string verb = argv[1];
  korc::cli::Args args(argv + 2, argv + argc);
  if (verb == "replay") return korc::cli::Replay(args);
  if (verb == "import") return korc::cli::Import(args);
  if (verb == "apiserver") return korc::cli::ApiServer(args);
  if (verb == "controller-manager") return korc::cli::ControllerManager(args);
  if (verb == "hollow-nodes") return korc::cli::HollowNodes(args);
  if (verb == "scheduler") return korc::cli::Scheduler(args);
  if (verb == "apply") return korc::cli::Apply(args);
  if (verb == "create") return korc::cli::Create(args);
  if (verb == "get") return korc::cli::Get(args);
  if (verb == "describe") return korc::cli::Describe(args);
  if (verb == "delete") return korc::cli::Delete(args);
  if (verb == "scale") return korc::cli::Scale(args);
  if (verb == "events") return korc::cli::Events(args);
  if (verb == "logs") return korc::cli::Logs(args);
  if (verb == "image") return korc::cli::Image(args);
  if (verb == "node") return korc::cli::Node(args);
  if (verb == "up") return korc::cli::Up(args);
  if (verb == "version" || verb == "--version") {
    std::printf("korc %s\n", KORC_VERSION);
    return 0;
  }
  std::fprintf(stderr, "korc: unknown verb \"%s\"\n\n%s", verb.c_str(), kUsage);
  return 2;
}
