// The node agent's flags, shared by `korc node` and `korc up`.
#pragma once

#include <boost/program_options.hpp>
#include <map>
#include <string>
#include <vector>

#include "components/kubelet/agent/kubelet.h"
#include "components/proxy/proxy.h"
#include "core/status.h"

namespace korc::cli {

struct NodeFlags {
  std::string node_name, address, runtime, pod_cidr;
  int port = 0;
  int max_pods = 110;
  int backoff_s = 10, backoff_max_s = 300;
  std::vector<std::string> insecure_registries;
  std::vector<std::string> registry_mirrors;  // "DOMAIN=HOST[:PORT]"
};

// "docker.io=127.0.0.1:5000" flags -> {docker.io: 127.0.0.1:5000}; Invalid naming the bad one.
Result<std::map<std::string, std::string>> ParseRegistryMirrors(
    const std::vector<std::string>& flags);

void AddNodeFlags(boost::program_options::options_description& opts, NodeFlags* flags);
// Kubelet options from the flags; Invalid naming the flag when one is out of range.
Result<kubelet::KubeletOptions> NodeOptionsFrom(const NodeFlags& flags,
                                                const std::string& data_dir);

// The node's Service proxy, on the same bus as its kubelet: NodePorts on the node's
// address and loopback. `kubelet` gets the proxy's counters for its GET /metrics.
Result<std::unique_ptr<proxy::Proxy>> StartNodeProxy(zmq::context_t& ctx,
                                                     kubelet::KubeletOptions& kubelet);

}  // namespace korc::cli
