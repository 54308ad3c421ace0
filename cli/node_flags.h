// The node agent's flags, shared by `korc node` and `korc up`.
#pragma once

#include <boost/program_options.hpp>
#include <string>

#include "components/kubelet/agent/kubelet.h"
#include "core/status.h"

namespace korc::cli {

struct NodeFlags {
  std::string node_name, address, runtime, pod_cidr;
  int port = 0;
  int max_pods = 110;
  int backoff_s = 10, backoff_max_s = 300;
};

void AddNodeFlags(boost::program_options::options_description& opts, NodeFlags* flags);
// Kubelet options from the flags; Invalid naming the flag when one is out of range.
Result<kubelet::KubeletOptions> NodeOptionsFrom(const NodeFlags& flags,
                                                const std::string& data_dir);

}  // namespace korc::cli
