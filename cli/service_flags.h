// The API server's Service address flags, shared by `korc apiserver` and `korc up`.
#pragma once

#include <boost/program_options.hpp>
#include <string>

#include "components/apiserver/api_server.h"

namespace korc::cli {

struct ServiceFlags {
  std::string cluster_ip_range, node_port_range;
};

inline void AddServiceFlags(boost::program_options::options_description& opts, ServiceFlags* f) {
  namespace po = boost::program_options;
  opts.add_options()(
      "service-cluster-ip-range",
      po::value(&f->cluster_ip_range)->default_value(apiserver::DefaultServiceClusterIpRange()),
      "CIDR Services' ClusterIPs come from (10.96.0.0/12 as root; without root 127.96.0.0/16, "
      "on loopback)")("service-node-port-range",
                      po::value(&f->node_port_range)
                          ->default_value(apiserver::ApiServerOptions().service_node_port_range),
                      "ports NodePort Services get, FIRST-LAST");
}

}  // namespace korc::cli
