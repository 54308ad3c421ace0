#include "components/scheduler/node_info.h"

namespace korc::scheduler {
namespace {

const Quantity* Find(const api::ResourceList& list, const std::string& name) {
  auto it = list.find(name);
  return it == list.end() ? nullptr : &it->second;
}

const std::string kCpu = "cpu";
const std::string kMemory = "memory";
const std::string kEphemeralStorage = "ephemeral-storage";
const std::string kPods = "pods";

// Kubernetes' Allocatable, falling back per resource to Capacity for a node that reports only
// the latter.
const Quantity* NodeAmount(const api::NodeStatus& s, const std::string& name) {
  const Quantity* q = Find(s.allocatable, name);
  return q ? q : Find(s.capacity, name);
}

}  // namespace

bool IsTerminal(const api::Pod& pod) {
  return pod.status.phase == "Succeeded" || pod.status.phase == "Failed";
}

PodInfo MakePodInfo(const api::Pod& pod) {
  PodInfo p;
  p.pod = &pod;
  // korc's PodSpec has no init containers and no overhead: the pod's request is the sum over
  // its containers (Kubernetes: max(sum(containers), max(initContainers)) + overhead).
  for (const api::Container& c : pod.spec.containers) {
    const api::ResourceList& req = c.resources.requests;
    const Quantity* cpu = Find(req, kCpu);
    const Quantity* memory = Find(req, kMemory);
    const Quantity* eph = Find(req, kEphemeralStorage);
    if (cpu) p.requests.milli_cpu += cpu->MilliValue();
    if (memory) p.requests.memory += memory->Value();
    if (eph) p.requests.ephemeral_storage += eph->Value();
    // GetNonzeroRequests: only an absent request takes the default; an explicit 0 stays 0.
    p.nonzero_requests.milli_cpu += cpu ? cpu->MilliValue() : kDefaultMilliCpuRequest;
    p.nonzero_requests.memory += memory ? memory->Value() : kDefaultMemoryRequest;
    p.nonzero_requests.ephemeral_storage += eph ? eph->Value() : 0;
    for (const api::ContainerPort& port : c.ports) {
      // Kubernetes' defaulting sets hostPort = containerPort on hostNetwork pods; korc's does
      // not, so the scheduler reads it that way itself.
      int32_t host_port = port.host_port;
      if (host_port == 0 && pod.spec.host_network) host_port = port.container_port;
      if (host_port <= 0) continue;
      p.host_ports.push_back({port.host_ip.empty() ? std::string_view("0.0.0.0") : port.host_ip,
                              port.protocol.empty() ? std::string_view("TCP") : port.protocol,
                              host_port});
    }
  }
  p.hash = pod.metadata.uid.empty()
               ? Fnv1a(pod.metadata.name, Fnv1a("/", Fnv1a(pod.metadata.namespace_)))
               : Fnv1a(pod.metadata.uid);
  return p;
}

NodeInfo MakeNodeInfo(const api::Node& node) {
  NodeInfo n;
  n.node = &node;
  n.name = node.metadata.name;
  for (const api::NodeCondition& c : node.status.conditions) {
    if (c.type == "Ready") n.ready = c.status == "True";
  }
  n.unschedulable = node.spec.unschedulable;
  n.labels = &node.metadata.labels;
  for (const api::Taint& t : node.spec.taints) {
    if (t.effect != "NoSchedule" && t.effect != "NoExecute") continue;
    n.hard_taints.push_back({&t, "node(s) had untolerated taint {" + t.key + ": " + t.value + "}"});
  }
  if (const Quantity* q = NodeAmount(node.status, kCpu)) n.allocatable.milli_cpu = q->MilliValue();
  if (const Quantity* q = NodeAmount(node.status, kMemory)) n.allocatable.memory = q->Value();
  if (const Quantity* q = NodeAmount(node.status, kEphemeralStorage)) {
    n.allocatable.ephemeral_storage = q->Value();
  }
  if (const Quantity* q = NodeAmount(node.status, kPods)) n.allowed_pods = q->Value();
  return n;
}

void AddPod(const PodInfo& pod, NodeInfo* node) {
  node->requested.Add(pod.requests);
  node->nonzero_requested.Add(pod.nonzero_requests);
  ++node->pods;
  node->used_ports.insert(node->used_ports.end(), pod.host_ports.begin(), pod.host_ports.end());
  AddGroupCounts(pod.groups, node);
}

void AddGroupCounts(const std::vector<GroupId>& groups, NodeInfo* node) {
  for (GroupId g : groups) {
    bool found = false;
    for (auto& [id, n] : node->group_counts) {
      if (id == g) {
        ++n;
        found = true;
        break;
      }
    }
    if (!found) node->group_counts.emplace_back(g, 1);
  }
}

}  // namespace korc::scheduler
