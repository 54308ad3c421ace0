// korc node: the node agent (kubelet) for this machine, joining the cluster over the bus.
#include <signal.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <zmq.hpp>

#include "cli/bus_component.h"
#include "cli/flags.h"
#include "cli/node_flags.h"
#include "cli/verbs.h"
#include "components/kubelet/agent/kubelet.h"

namespace korc::cli {

namespace po = boost::program_options;

void AddNodeFlags(po::options_description& opts, NodeFlags* f) {
  opts.add_options()("node-name", po::value(&f->node_name),
                     "the Node's name (default: this machine's hostname)")(
      "node-address", po::value(&f->address)->default_value("127.0.0.1"),
      "the Node's InternalIP; the kubelet's log endpoint listens there")(
      "kubelet-port", po::value(&f->port)->default_value(0),
      "port of the kubelet's log endpoint (0 picks one)")(
      "runtime", po::value(&f->runtime)->default_value("process"),
      "container runtime: process (namespaces and cgroups when root) or runc")(
      "pod-cidr", po::value(&f->pod_cidr),
      "this node's Pod address range, when no controller manager assigns one")(
      "max-pods", po::value(&f->max_pods)->default_value(110), "Pods this node takes at most")(
      "restart-backoff", po::value(&f->backoff_s)->default_value(10),
      "seconds of the first CrashLoopBackOff and ImagePullBackOff delay (doubling)")(
      "restart-backoff-max", po::value(&f->backoff_max_s)->default_value(300),
      "seconds those delays grow to at most")(
      "insecure-registry", po::value(&f->insecure_registries)->composing(),
      "a registry HOST[:PORT] to pull from over plain HTTP (repeatable; loopback always is)")(
      "registry-mirror", po::value(&f->registry_mirrors)->composing(),
      "DOMAIN=HOST[:PORT]: pull DOMAIN's images (e.g. docker.io's) from HOST (repeatable)");
}

Result<std::map<std::string, std::string>> ParseRegistryMirrors(
    const std::vector<std::string>& flags) {
  std::map<std::string, std::string> out;
  for (const auto& f : flags) {
    size_t eq = f.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == f.size() ||
        f.find('/') != std::string::npos) {
      return Status::Invalid("--registry-mirror \"" + f + "\": want DOMAIN=HOST[:PORT]");
    }
    std::string domain = f.substr(0, eq);
    if (domain == "index.docker.io" || domain == "registry-1.docker.io") domain = "docker.io";
    out[domain] = f.substr(eq + 1);
  }
  return out;
}

Result<kubelet::KubeletOptions> NodeOptionsFrom(const NodeFlags& f, const std::string& data_dir) {
  kubelet::KubeletOptions o;
  o.node_name = f.node_name;
  o.address = f.address;
  if (f.port < 0 || f.port > 65535) return Status::Invalid("--kubelet-port must be 0..65535");
  o.port = static_cast<uint16_t>(f.port);
  o.runtime = f.runtime;
  o.pod_cidr = f.pod_cidr;
  if (f.max_pods <= 0) return Status::Invalid("--max-pods must be positive");
  o.max_pods = f.max_pods;
  if (f.backoff_s <= 0 || f.backoff_max_s < f.backoff_s) {
    return Status::Invalid("--restart-backoff must be positive and at most --restart-backoff-max");
  }
  o.backoff_initial = std::chrono::seconds(f.backoff_s);
  o.backoff_max = std::chrono::seconds(f.backoff_max_s);
  for (const auto& r : f.insecure_registries) {
    if (r.empty() || r.find('/') != std::string::npos) {
      return Status::Invalid("--insecure-registry \"" + r + "\": want HOST or HOST:PORT");
    }
  }
  o.insecure_registries = f.insecure_registries;
  KORC_ASSIGN_OR_RETURN(o.registry_mirrors, ParseRegistryMirrors(f.registry_mirrors));
  o.data_dir = data_dir + "/node";
  return o;
}

Result<std::unique_ptr<proxy::Proxy>> StartNodeProxy(zmq::context_t& ctx,
                                                     kubelet::KubeletOptions& kubelet) {
  proxy::ProxyOptions po;
  po.bus = kubelet.bus;
  po.node_port_addresses = {kubelet.address};
  if (kubelet.address != "127.0.0.1") po.node_port_addresses.push_back("127.0.0.1");
  KORC_ASSIGN_OR_RETURN(auto p, proxy::Proxy::Start(ctx, po));
  proxy::Proxier* proxier = &p->proxier();
  kubelet.metrics = [proxier] { return proxier->PrometheusText(); };
  return p;
}

int Node(const Args& args) {
  po::options_description opts(
      "Usage: korc node [--data-dir DIR] [--node-name NAME] [--runtime process|runc] [flags]\n\n"
      "Runs the node agent (the kubelet): registers this machine as a Node, renews its Lease,\n"
      "and runs every Pod the scheduler binds to it — the Pod's containers share one network\n"
      "namespace, IP and volumes — restarting them by their restart policy, probing them, and\n"
      "reporting their status. Container output goes to DIR/node/pods (`korc logs`). As root,\n"
      "containers get namespaces, cgroups and their image's root filesystem; otherwise they\n"
      "run as plain processes and the Node says isolation is off. Stopping the node leaves\n"
      "its containers running; the next `korc node` on the same data dir re-attaches.\n\n"
      "Flags");
  BusFlags bus;
  NodeFlags nf;
  opts.add_options()("help,h", "show this help");
  AddBusFlags(opts, &bus);
  AddNodeFlags(opts, &nf);
  po::variables_map vm;
  if (auto code = ParseFlags("node", args, opts, vm)) return *code;
  auto options = NodeOptionsFrom(nf, bus.data_dir);
  if (!options.ok()) {
    std::cerr << "korc node: " << options.status().message() << "\n";
    return 2;
  }
  options->bus = RuntimeOptionsFrom(bus);
  const sigset_t stop_signals = BlockStopSignals();
  zmq::context_t ctx;
  auto proxy = StartNodeProxy(ctx, *options);
  if (!proxy.ok()) {
    std::cerr << "korc node: proxy: " << proxy.status().message() << "\n";
    return 2;
  }
  auto k = kubelet::Kubelet::Start(ctx, *options);
  if (!k.ok()) {
    std::cerr << "korc node: " << k.status().message() << "\n";
    return 2;
  }
  std::cout << "korc node: node " << (*k)->node_name() << " running Pods with the "
            << (*k)->container_runtime().version() << " runtime ("
            << ((*k)->container_runtime().isolated() ? "namespaces and cgroups"
                                                     : "no isolation: not root")
            << "); logs at " << options->address << ":" << (*k)->port() << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::cout << "korc node: stopping (containers keep running)" << std::endl;
  Status err = (*k)->error();
  (*k)->Stop();
  (*proxy)->Stop();
  if (!err.ok()) {
    std::cerr << "korc node: " << err.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace korc::cli
