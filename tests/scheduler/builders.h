// Builders for the scheduler's tests: Ready nodes with room, pending pods with requests.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/objects.h"

namespace korc::scheduler::testing {

constexpr int64_t kSec = 1'000'000'000;
// "Now" in every test: whole seconds, since metav1.Time is serialized to the second.
constexpr int64_t kNow = 1'800'000'000 * kSec;

inline Quantity Q(const std::string& text) {
  auto q = Quantity::Parse(text);
  if (!q.ok()) throw std::runtime_error("bad quantity " + text);
  return *q;
}

// A Ready node with allocatable cpu, memory and pods.
inline api::Node MakeNode(std::string name, std::string cpu = "4", std::string memory = "8Gi",
                          std::string pods = "110") {
  api::Node n;
  n.api_version = "v1";
  n.kind = "Node";
  n.metadata.name = name;
  n.metadata.uid = "uid-" + name;
  n.metadata.creation_timestamp.unix_ns = kNow - 3600 * kSec;
  n.metadata.labels = {{"kubernetes.io/hostname", name}};
  n.status.capacity = {{"cpu", Q(cpu)}, {"memory", Q(memory)}, {"pods", Q(pods)}};
  n.status.allocatable = n.status.capacity;
  n.status.conditions = {{"Ready", "True", {kNow}, {kNow - 3600 * kSec}, "KubeletReady", ""}};
  return n;
}

// An unbound pod in "default" with one container requesting `cpu` and `memory` (none when
// empty), created `age_s` seconds before kNow.
inline api::Pod MakePod(std::string name, std::string cpu = "", std::string memory = "",
                        int64_t age_s = 60) {
  api::Pod p;
  p.api_version = "v1";
  p.kind = "Pod";
  p.metadata.name = name;
  p.metadata.namespace_ = "default";
  p.metadata.uid = "uid-" + name;
  p.metadata.creation_timestamp.unix_ns = kNow - age_s * kSec;
  api::Container c;
  c.name = "app";
  c.image = "busybox";
  if (!cpu.empty()) c.resources.requests["cpu"] = Q(cpu);
  if (!memory.empty()) c.resources.requests["memory"] = Q(memory);
  p.spec.containers = {c};
  p.spec.scheduler_name = "default-scheduler";
  p.status.phase = "Pending";
  return p;
}

template <class T>
T With(T o, const std::function<void(T&)>& change) {
  change(o);
  return o;
}

inline api::Pod BoundTo(api::Pod p, std::string node) {
  p.spec.node_name = std::move(node);
  p.status.phase = "Running";
  return p;
}

inline api::Pod OwnedBy(api::Pod p, std::string rc) {
  p.metadata.owner_references = {{"v1", "ReplicationController", rc, "uid-" + rc, true, true}};
  return p;
}

}  // namespace korc::scheduler::testing
