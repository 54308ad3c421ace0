#include "cli/output.h"

#include <algorithm>

namespace korc::cli {

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string HumanDuration(int64_t ns) {
  int64_t s = ns / 1'000'000'000;
  if (s < 0) s = 0;
  if (s < 120) return std::to_string(s) + "s";
  if (s < 600) return std::to_string(s / 60) + "m" + (s % 60 ? std::to_string(s % 60) + "s" : "");
  if (s < 3 * 3600) return std::to_string(s / 60) + "m";
  if (s < 48 * 3600) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

namespace {

std::string Ports(const std::vector<api::ServicePort>& ports) {
  std::string out;
  for (const auto& p : ports) {
    if (!out.empty()) out += ",";
    out += std::to_string(p.port);
    if (p.node_port) out += ":" + std::to_string(p.node_port);
    out += "/" + (p.protocol.empty() ? std::string("TCP") : p.protocol);
  }
  return out;
}

std::string ConditionStatus(const std::vector<api::NodeCondition>& conds, std::string_view type) {
  for (const auto& c : conds) {
    if (c.type == type) return c.status;
  }
  return "Unknown";
}

}  // namespace

std::string Summary(const api::Object& object) {
  return std::visit(
      [](const auto& o) -> std::string {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, api::Pod>) {
          std::string s = o.status.phase.empty() ? "Pending" : o.status.phase;
          if (!o.metadata.deletion_timestamp.empty()) s = "Terminating";
          s += o.spec.node_name.empty() ? ", not scheduled" : " on " + o.spec.node_name;
          if (!o.status.pod_ip.empty()) s += ", ip " + o.status.pod_ip;
          return s;
        } else if constexpr (std::is_same_v<T, api::ReplicationController>) {
          return "desired " + std::to_string(o.spec.replicas.value_or(1)) + ", current " +
                 std::to_string(o.status.replicas) + ", ready " +
                 std::to_string(o.status.ready_replicas);
        } else if constexpr (std::is_same_v<T, api::Service>) {
          std::string ip = o.spec.cluster_ip.empty() ? "<pending>" : o.spec.cluster_ip;
          return o.spec.type + " " + ip + " " + Ports(o.spec.ports);
        } else if constexpr (std::is_same_v<T, api::Endpoints>) {
          size_t ready = 0, not_ready = 0;
          for (const auto& s : o.subsets) {
            ready += s.addresses.size();
            not_ready += s.not_ready_addresses.size();
          }
          return std::to_string(ready) + " ready, " + std::to_string(not_ready) + " not ready";
        } else if constexpr (std::is_same_v<T, api::Node>) {
          return "Ready=" + ConditionStatus(o.status.conditions, "Ready") +
                 (o.spec.unschedulable ? ", unschedulable" : "");
        } else if constexpr (std::is_same_v<T, api::Namespace>) {
          return o.status.phase;
        } else if constexpr (std::is_same_v<T, api::Lease>) {
          return "held by " + (o.spec.holder_identity.empty() ? "nobody" : o.spec.holder_identity) +
                 ", renewed " +
                 (o.spec.renew_time.empty() ? "never"
                                            : api::FormatRfc3339(o.spec.renew_time.unix_ns, true));
        } else if constexpr (std::is_same_v<T, api::Secret>) {
          // How much it holds, never what.
          return o.type + ", " + std::to_string(o.data.size()) +
                 (o.data.size() == 1 ? " data key" : " data keys");
        } else {
          return o.type + " " + o.reason + ": " + o.involved_object.kind + "/" +
                 o.involved_object.name;
        }
      },
      object);
}

}  // namespace korc::cli
