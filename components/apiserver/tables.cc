#include "components/apiserver/tables.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <string>
#include <variant>

#include "core/codec.h"
#include "core/values.h"

namespace korc::apiserver {

namespace {

using Json = nlohmann::ordered_json;
using Cells = std::vector<Json>;

struct Column {
  const char* name;
  const char* type;
  const char* format;
  const char* description;
  int priority;
};

// Descriptions are the first sentence of the Kubernetes API documentation the real server
// quotes (kubectl shows none of them).
constexpr const char* kNameDoc = "Name must be unique within a namespace.";
constexpr const char* kAgeDoc =
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created.";
constexpr const char* kContainersDoc = "Names of each container in the template.";
constexpr const char* kImagesDoc = "Images referenced by each container in the template.";

constexpr Column kPodColumns[] = {
    {"Name", "string", "name", kNameDoc, 0},
    {"Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0},
    {"Status", "string", "", "The aggregate status of the containers in this pod.", 0},
    {"Restarts", "string", "",
     "The number of times the containers in this pod have been restarted and when the last "
     "container in this pod has restarted.",
     0},
    {"Age", "string", "", kAgeDoc, 0},
    {"IP", "string", "",
     "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet "
     "allocated.",
     1},
    {"Node", "string", "", "NodeName is a request to schedule this pod onto a specific node.", 1},
    {"Nominated Node", "string", "",
     "nominatedNodeName is set only when this pod preempts other pods on the node, but it "
     "cannot be scheduled right away as preemption victims receive their graceful termination "
     "periods.",
     1},
    {"Readiness Gates", "string", "",
     "If specified, all readiness gates will be evaluated for pod readiness.", 1},
};

constexpr Column kRcColumns[] = {
    {"Name", "string", "name", kNameDoc, 0},
    {"Desired", "integer", "", "Replicas is the number of desired replicas.", 0},
    {"Current", "integer", "", "Replicas is the most recently observed number of replicas.", 0},
    {"Ready", "integer", "", "The number of ready replicas for this replication controller.", 0},
    {"Age", "string", "", kAgeDoc, 0},
    {"Containers", "string", "", kContainersDoc, 1},
    {"Images", "string", "", kImagesDoc, 1},
    {"Selector", "string", "",
     "Selector is a label query over pods that should match the Replicas count.", 1},
};

constexpr Column kServiceColumns[] = {
    {"Name", "string", "name", kNameDoc, 0},
    {"Type", "string", "", "type determines how the Service is exposed.", 0},
    {"Cluster-IP", "string", "",
     "clusterIP is the IP address of the service and is usually assigned randomly.", 0},
    {"External-IP", "string", "",
     "externalIPs is a list of IP addresses for which nodes in the cluster will also accept "
     "traffic for this service.",
     0},
    {"Port(s)", "string", "", "The list of ports that are exposed by this service.", 0},
    {"Age", "string", "", kAgeDoc, 0},
    {"Selector", "string", "",
     "Route service traffic to pods with label keys and values matching this selector.", 1},
};

constexpr Column kEndpointsColumns[] = {
    {"Name", "string", "name", kNameDoc, 0},
    {"Endpoints", "string", "", "The set of all endpoints is the union of all subsets.", 0},
    {"Age", "string", "", kAgeDoc, 0},
};

constexpr const char* kAddressesDoc = "List of addresses reachable to the node.";
constexpr Column kNodeColumns[] = {
    {"Name", "string", "name", kNameDoc, 0},
    {"Status", "string", "", "The status of the node", 0},
    {"Roles", "string", "", "The roles of the node", 0},
    {"Age", "string", "", kAgeDoc, 0},
    {"Version", "string", "", "Kubelet Version reported by the node.", 0},
    {"Internal-IP", "string", "", kAddressesDoc, 1},
    {"External-IP", "string", "", kAddressesDoc, 1},
    {"OS-Image", "string", "", "OS Image reported by the node from /etc/os-release.", 1},
    {"Kernel-Version", "string", "", "Kernel Version reported by the node from 'uname -r'.", 1},
    {"Container-Runtime", "string", "",
     "ContainerRuntime Version reported by the node through runtime remote API.", 1},
};

constexpr Column kNamespaceColumns[] = {
    {"Name", "string", "name", kNameDoc, 0},
    {"Status", "string", "", "The status of the namespace", 0},
    {"Age", "string", "", kAgeDoc, 0},
};

// Column types as the real server declares them; its Count cells are numbers all the same.
constexpr Column kEventColumns[] = {
    {"Last Seen", "string", "",
     "The time at which the most recent occurrence of this event was recorded.", 0},
    {"Type", "string", "",
     "Type of this event (Normal, Warning), new types could be added in "
     "the future",
     0},
    {"Reason", "string", "",
     "This should be a short, machine understandable string that gives the reason for the "
     "transition into the object's current status.",
     0},
    {"Object", "string", "", "The object that this event is about.", 0},
    {"Subobject", "string", "",
     "If referring to a piece of an object instead of an entire object, this string should "
     "contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
     1},
    {"Source", "string", "", "The component reporting this event.", 1},
    {"Message", "string", "", "A human-readable description of the status of this operation.", 0},
    {"First Seen", "string", "", "The time at which the event was first recorded.", 1},
    {"Count", "string", "", "The number of times this event has occurred.", 1},
    {"Name", "string", "name", kNameDoc, 1},
};

constexpr Column kLeaseColumns[] = {
    {"Name", "string", "name", kNameDoc, 0},
    {"Holder", "string", "",
     "holderIdentity contains the identity of the holder of a current lease.", 0},
    {"Age", "string", "", kAgeDoc, 0},
};

// Data is declared a string column, yet its cells are numbers, as the real server sends them.
constexpr Column kSecretColumns[] = {
    {"Name", "string", "name", kNameDoc, 0},
    {"Type", "string", "", "Used to facilitate programmatic handling of secret data.", 0},
    {"Data", "string", "", "Data contains the secret data.", 0},
    {"Age", "string", "", kAgeDoc, 0},
};

// The real server's fallback for kinds without a printer.
constexpr Column kDefaultColumns[] = {
    {"Name", "string", "name", kNameDoc, 0},
    {"Created At", "date", "", kAgeDoc, 0},
};

std::span<const Column> ColumnsFor(std::string_view kind) {
  if (kind == "Pod") return kPodColumns;
  if (kind == "ReplicationController") return kRcColumns;
  if (kind == "Service") return kServiceColumns;
  if (kind == "Endpoints") return kEndpointsColumns;
  if (kind == "Node") return kNodeColumns;
  if (kind == "Namespace") return kNamespaceColumns;
  if (kind == "Event") return kEventColumns;
  if (kind == "Lease") return kLeaseColumns;
  if (kind == "Secret") return kSecretColumns;
  return kDefaultColumns;
}

// ---------------------------------------------------------------------------------------
// Formatting helpers, after their Kubernetes namesakes.

std::string Since(int64_t unix_ns, int64_t now_ns) {
  if (unix_ns == 0) return "<unknown>";
  return HumanDuration(now_ns - unix_ns);
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// labels.FormatLabels: "k1=v1,k2=v2" in key order, "<none>" when empty.
std::string FormatLabels(const api::StringMap& labels) {
  if (labels.empty()) return "<none>";
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels) parts.push_back(k + "=" + v);
  return Join(parts, ",");
}

std::string OrNone(const std::string& s) { return s.empty() ? "<none>" : s; }

std::string TrimSpace(std::string_view s) {
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string ToLower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// net.JoinHostPort.
std::string JoinHostPort(const std::string& host, int32_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

// layoutContainerCells: names and images, comma-separated.
void ContainerCells(const std::vector<api::Container>& containers, std::string* names,
                    std::string* images) {
  std::vector<std::string> n, i;
  for (const auto& c : containers) {
    n.push_back(c.name);
    i.push_back(c.image);
  }
  *names = Join(n, ",");
  *images = Join(i, ",");
}

// ---------------------------------------------------------------------------------------
// Rows, one printer per kind (printPod, printReplicationController, ...).

struct Row {
  Cells cells;
  Json conditions;  // null when none
};

Row PrintPod(const api::Pod& pod, int64_t now_ns) {
  const api::PodStatus& status = pod.status;
  int64_t restarts = 0;
  int64_t ready = 0;
  const size_t total = pod.spec.containers.size();
  int64_t last_restart_ns = 0;

  std::string reason = status.phase;
  if (!status.reason.empty()) reason = status.reason;
  for (const auto& c : status.conditions) {
    if (c.type == "PodScheduled" && c.reason == "SchedulingGated") reason = "SchedulingGated";
  }

  // korc pods have no init containers, so the printer's init-container pass never
  // "initializes" and the containers decide the status, last one first.
  bool has_running = false;
  for (auto it = status.container_statuses.rbegin(); it != status.container_statuses.rend(); ++it) {
    const api::ContainerStatus& cs = *it;
    restarts += cs.restart_count;
    if (cs.last_state.terminated) {
      last_restart_ns = std::max(last_restart_ns, cs.last_state.terminated->finished_at.unix_ns);
    }
    const api::ContainerState& state = cs.state;
    if (state.waiting && !state.waiting->reason.empty()) {
      reason = state.waiting->reason;
    } else if (state.terminated && !state.terminated->reason.empty()) {
      reason = state.terminated->reason;
    } else if (state.terminated) {
      reason = state.terminated->signal != 0
                   ? "Signal:" + std::to_string(state.terminated->signal)
                   : "ExitCode:" + std::to_string(state.terminated->exit_code);
    } else if (cs.ready && state.running) {
      has_running = true;
      ++ready;
    }
  }
  if (reason == "Completed" && has_running) {
    bool pod_ready = false;
    for (const auto& c : status.conditions) {
      if (c.type == "Ready" && c.status == "True") pod_ready = true;
    }
    reason = pod_ready ? "Running" : "NotReady";
  }

  const bool deleting = !pod.metadata.deletion_timestamp.empty();
  const bool terminal = status.phase == "Succeeded" || status.phase == "Failed";
  if (deleting && status.reason == "NodeLost") {
    reason = "Unknown";
  } else if (deleting && !terminal) {
    reason = "Terminating";
  }

  std::string restarts_text = std::to_string(restarts);
  if (restarts != 0 && last_restart_ns != 0) {
    restarts_text += " (" + Since(last_restart_ns, now_ns) + " ago)";
  }

  // The v1 -> internal conversion fills podIPs from podIP; korc may hold only podIP.
  std::string ip = !status.pod_ips.empty() ? status.pod_ips[0].ip : status.pod_ip;

  Row row;
  row.cells = {pod.metadata.name,
               std::to_string(ready) + "/" + std::to_string(total),
               reason,
               restarts_text,
               Since(pod.metadata.creation_timestamp.unix_ns, now_ns),
               OrNone(ip),
               OrNone(pod.spec.node_name),
               "<none>",   // nominatedNodeName: korc has no preemption
               "<none>"};  // readinessGates: korc pods have none
  if (status.phase == "Succeeded") {
    row.conditions = Json::array({{{"type", "Completed"},
                                   {"status", "True"},
                                   {"reason", "Succeeded"},
                                   {"message", "The pod has completed successfully."}}});
  } else if (status.phase == "Failed") {
    row.conditions = Json::array({{{"type", "Completed"},
                                   {"status", "True"},
                                   {"reason", "Failed"},
                                   {"message", "The pod failed."}}});
  }
  return row;
}

Row PrintRc(const api::ReplicationController& rc, int64_t now_ns) {
  std::string names, images;
  if (rc.spec.template_) ContainerCells(rc.spec.template_->spec.containers, &names, &images);
  Row row;
  row.cells = {rc.metadata.name,
               rc.spec.replicas.value_or(1),  // defaulting makes an unset count 1
               rc.status.replicas,
               rc.status.ready_replicas,
               Since(rc.metadata.creation_timestamp.unix_ns, now_ns),
               names,
               images,
               FormatLabels(rc.spec.selector)};
  return row;
}

std::string ServiceExternalIp(const api::Service& svc) {
  const auto& spec = svc.spec;
  if (spec.type == "ClusterIP" || spec.type == "NodePort") {
    return spec.external_ips.empty() ? "<none>" : Join(spec.external_ips, ",");
  }
  if (spec.type == "LoadBalancer") {
    // korc has no load balancers, so status.loadBalancer.ingress is always empty.
    return spec.external_ips.empty() ? "<pending>" : Join(spec.external_ips, ",");
  }
  if (spec.type == "ExternalName") return "";  // korc's model has no spec.externalName
  return "<unknown>";
}

Row PrintService(const api::Service& svc, int64_t now_ns) {
  const auto& spec = svc.spec;
  std::string cluster_ip = !spec.cluster_ips.empty() ? spec.cluster_ips[0] : spec.cluster_ip;
  std::vector<std::string> ports;
  for (const auto& p : spec.ports) {
    ports.push_back(p.node_port > 0 ? std::to_string(p.port) + ":" + std::to_string(p.node_port) +
                                          "/" + p.protocol
                                    : std::to_string(p.port) + "/" + p.protocol);
  }
  Row row;
  row.cells = {svc.metadata.name,          spec.type,
               OrNone(cluster_ip),         ServiceExternalIp(svc),
               OrNone(Join(ports, ",")),   Since(svc.metadata.creation_timestamp.unix_ns, now_ns),
               FormatLabels(spec.selector)};
  return row;
}

// formatEndpoints: up to three "ip:port" entries, then "+ N more...".
std::string FormatEndpoints(const api::Endpoints& ep) {
  if (ep.subsets.empty()) return "<none>";
  constexpr size_t kMax = 3;
  std::vector<std::string> list;
  bool more = false;
  size_t count = 0;
  for (const auto& ss : ep.subsets) {
    if (ss.ports.empty()) {
      // Headless services may have no ports.
      count += ss.addresses.size();
      for (const auto& a : ss.addresses) {
        if (list.size() == kMax) {
          more = true;
          break;
        }
        list.push_back(a.ip);
      }
      continue;
    }
    for (const auto& port : ss.ports) {
      count += ss.addresses.size();
      for (const auto& a : ss.addresses) {
        if (list.size() == kMax) {
          more = true;
          break;
        }
        list.push_back(JoinHostPort(a.ip, port.port));
      }
    }
  }
  std::string out = Join(list, ",");
  if (more) out += " + " + std::to_string(count - kMax) + " more...";
  return out;
}

Row PrintEndpoints(const api::Endpoints& ep, int64_t now_ns) {
  Row row;
  row.cells = {ep.metadata.name, FormatEndpoints(ep),
               Since(ep.metadata.creation_timestamp.unix_ns, now_ns)};
  return row;
}

std::string NodeAddress(const api::Node& node, std::string_view type) {
  for (const auto& a : node.status.addresses) {
    if (a.type == type) return a.address;
  }
  return "<none>";
}

Row PrintNode(const api::Node& node, int64_t now_ns) {
  std::vector<std::string> status;
  // Only the Ready condition counts (NodeAllConditions); the last one of that type wins.
  const api::NodeCondition* ready = nullptr;
  for (const auto& c : node.status.conditions) {
    if (c.type == "Ready") ready = &c;
  }
  if (ready != nullptr) status.push_back(ready->status == "True" ? "Ready" : "NotReady");
  if (status.empty()) status.push_back("Unknown");
  if (node.spec.unschedulable) status.push_back("SchedulingDisabled");

  constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";
  std::set<std::string> roles;
  for (const auto& [k, v] : node.metadata.labels) {
    if (k.starts_with(kRolePrefix)) {
      if (k.size() > kRolePrefix.size()) roles.insert(k.substr(kRolePrefix.size()));
    } else if (k == "kubernetes.io/role" && !v.empty()) {
      roles.insert(v);
    }
  }
  std::string role_text = Join(std::vector<std::string>(roles.begin(), roles.end()), ",");

  const api::NodeSystemInfo& info = node.status.node_info;
  auto or_unknown = [](const std::string& s) { return s.empty() ? std::string("<unknown>") : s; };
  Row row;
  row.cells = {node.metadata.name,
               Join(status, ","),
               OrNone(role_text),
               Since(node.metadata.creation_timestamp.unix_ns, now_ns),
               info.kubelet_version,
               NodeAddress(node, "InternalIP"),
               NodeAddress(node, "ExternalIP"),
               or_unknown(info.os_image),
               or_unknown(info.kernel_version),
               or_unknown(info.container_runtime_version)};
  return row;
}

Row PrintNamespace(const api::Namespace& ns, int64_t now_ns) {
  Row row;
  row.cells = {ns.metadata.name, ns.status.phase,
               Since(ns.metadata.creation_timestamp.unix_ns, now_ns)};
  return row;
}

Row PrintEvent(const api::KubeEvent& ev, int64_t now_ns) {
  std::string first = ev.first_timestamp.empty() ? Since(ev.event_time.unix_ns, now_ns)
                                                 : Since(ev.first_timestamp.unix_ns, now_ns);
  std::string last = ev.last_timestamp.empty() ? first : Since(ev.last_timestamp.unix_ns, now_ns);
  // Singleton events of the events.k8s.io API carry no count.
  int64_t count = ev.count == 0 ? 1 : ev.count;
  std::string kind = ToLower(ev.involved_object.kind);
  std::string target =
      ev.involved_object.name.empty() ? kind : kind + "/" + ev.involved_object.name;
  // formatEventSource: component (or reportingController), then ", host" (or instance).
  std::string component =
      !ev.source.component.empty() ? ev.source.component : ev.reporting_component;
  std::string instance = !ev.source.host.empty() ? ev.source.host : ev.reporting_instance;
  std::string source = instance.empty() ? component : component + ", " + instance;

  Row row;
  row.cells = {last,
               ev.type,
               ev.reason,
               target,
               ev.involved_object.field_path,
               source,
               TrimSpace(ev.message),
               first,
               count,
               ev.metadata.name};
  return row;
}

// printLease: a lease nobody holds shows "<unknown>", as a nil holderIdentity does.
Row PrintLease(const api::Lease& lease, int64_t now_ns) {
  Row row;
  row.cells = {lease.metadata.name,
               lease.spec.holder_identity.empty() ? "<unknown>" : lease.spec.holder_identity,
               Since(lease.metadata.creation_timestamp.unix_ns, now_ns)};
  return row;
}

// printSecret: the number of data keys, never what they hold.
Row PrintSecret(const api::Secret& secret, int64_t now_ns) {
  Row row;
  row.cells = {secret.metadata.name, secret.type, static_cast<int64_t>(secret.data.size()),
               Since(secret.metadata.creation_timestamp.unix_ns, now_ns)};
  return row;
}

Row PrintRow(const api::Object& object, int64_t now_ns) {
  return std::visit(
      [&](const auto& o) -> Row {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, api::Pod>) {
          return PrintPod(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::ReplicationController>) {
          return PrintRc(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Service>) {
          return PrintService(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Endpoints>) {
          return PrintEndpoints(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Node>) {
          return PrintNode(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Namespace>) {
          return PrintNamespace(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::KubeEvent>) {
          return PrintEvent(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Lease>) {
          return PrintLease(o, now_ns);
        } else if constexpr (std::is_same_v<T, api::Secret>) {
          return PrintSecret(o, now_ns);
        } else {
          Row row;
          row.cells = {o.metadata.name, api::FormatRfc3339(o.metadata.creation_timestamp.unix_ns)};
          return row;
        }
      },
      object);
}

// Cells hold text from stored objects; never let a stray byte make the encoder throw.
std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string ColumnDefinitionsJson(std::span<const Column> columns) {
  Json defs = Json::array();
  for (const Column& c : columns) {
    defs.push_back({{"name", c.name},
                    {"type", c.type},
                    {"format", c.format},
                    {"description", c.description},
                    {"priority", c.priority}});
  }
  return Dump(defs);
}

}  // namespace

std::string HumanDuration(int64_t duration_ns) {
  constexpr int64_t kSecond = 1'000'000'000;
  constexpr int64_t kMinute = 60 * kSecond;
  constexpr int64_t kHour = 60 * kMinute;
  const int64_t seconds = duration_ns / kSecond;
  // Up to two seconds in the future is clock skew, "now".
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return std::to_string(seconds) + "s";
  const int64_t minutes = duration_ns / kMinute;
  if (minutes < 10) {
    const int64_t s = seconds % 60;
    if (s == 0) return std::to_string(minutes) + "m";
    return std::to_string(minutes) + "m" + std::to_string(s) + "s";
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  const int64_t hours = duration_ns / kHour;
  if (hours < 8) {
    const int64_t m = minutes % 60;
    if (m == 0) return std::to_string(hours) + "h";
    return std::to_string(hours) + "h" + std::to_string(m) + "m";
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    const int64_t h = hours % 24;
    if (h == 0) return std::to_string(hours / 24) + "d";
    return std::to_string(hours / 24) + "d" + std::to_string(h) + "h";
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    const int64_t dy = (hours / 24) % 365;
    if (dy == 0) return std::to_string(hours / 24 / 365) + "y";
    return std::to_string(hours / 24 / 365) + "y" + std::to_string(dy) + "d";
  }
  return std::to_string(hours / 24 / 365) + "y";
}

std::string RenderTable(const KindInfo& kind, const std::vector<const api::Object*>& objects,
                        std::string_view list_resource_version, bool include_object, int64_t now_ns,
                        bool include_column_definitions) {
  std::string out = R"({"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{)";
  if (!list_resource_version.empty()) {
    out += R"("resourceVersion":)" + Dump(std::string(list_resource_version));
  }
  out += "}";
  if (include_column_definitions) {
    out += R"(,"columnDefinitions":)" + ColumnDefinitionsJson(ColumnsFor(kind.kind));
  }
  out += R"(,"rows":[)";
  bool first = true;
  for (const api::Object* object : objects) {
    if (object == nullptr || object->index() != kind.variant_index) continue;
    Row row = PrintRow(*object, now_ns);
    if (!first) out += ",";
    first = false;
    out += R"({"cells":)" + Dump(Json(row.cells));
    if (!row.conditions.is_null()) out += R"(,"conditions":)" + Dump(row.conditions);
    out += R"(,"object":)";
    if (include_object) {
      out += EncodeJson(*object);
    } else {
      out += R"({"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":)";
      out += EncodeJsonAs(api::Meta(*object));
      out += "}";
    }
    out += "}";
  }
  out += "]}";
  return out;
}

}  // namespace korc::apiserver
