// The pure halves of the kubelet: what a container runs (from its spec and its image, as
// Kubernetes applies them), and the Pod status it reports (from what the pod worker
// observed). Table-tested without any container.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "components/kubelet/images/image_store.h"
#include "components/kubelet/runtime/runtime.h"
#include "core/objects.h"

namespace korc::kubelet {

// argv from the image's Entrypoint/Cmd and the container's command/args, as Kubernetes
// combines them: command replaces Entrypoint (and drops Cmd), args replace Cmd. $(VAR)
// references to the container's environment are expanded, $$ is a literal $.
// Invalid when nothing is left to run.
Result<std::vector<std::string>> ContainerArgv(const api::Container& container,
                                               const images::ImageConfig& image,
                                               const std::vector<std::string>& env);

// Kubernetes' service discovery variables for a Pod, from the Services of its namespace
// that have a ClusterIP (MYSQL_SERVICE_HOST, MYSQL_SERVICE_PORT, MYSQL_PORT,
// MYSQL_PORT_3306_TCP{,_PROTO,_PORT,_ADDR}, MYSQL_SERVICE_PORT_<NAME> for named ports),
// sorted by Service name. "NAME=value" each.
std::vector<std::string> ServiceEnv(const std::vector<const api::Service*>& services);

// The container's environment: the image's Env, then the extra variables (service
// discovery), then the container's env (later entries win, as Kubernetes orders them), with
// $(VAR) in values expanded against what precedes them. "NAME=value" each.
std::vector<std::string> ContainerEnv(const api::Container& container,
                                      const images::ImageConfig& image,
                                      const std::vector<std::string>& extra);

// Kubernetes' expansion of $(VAR) in a string: known variables are replaced, unknown ones
// left as written, $$ becomes $.
std::string ExpandVars(const std::string& in, const std::vector<std::string>& env);

// Who the container runs as: securityContext.runAsUser/runAsGroup (the container's, else
// the Pod's), else the image's User ("uid", "name", "uid:gid", "name:group", looked up in
// the image's /etc/passwd and /etc/group), else root. A user without a group gets its
// passwd entry's group, else 0. Invalid (CreateContainerConfigError) for a name the image
// does not have, or runAsNonRoot with uid 0.
struct ContainerUserIds {
  int64_t uid = 0, gid = 0;
  bool operator==(const ContainerUserIds&) const = default;
};
Result<ContainerUserIds> ContainerUser(const api::PodSpec& spec, const api::Container& container,
                                       const images::ImageConfig& image,
                                       const std::string& rootfs);

// resources.limits as the runtime takes them.
ResourceLimits ContainerLimits(const api::Container& container);

// What the pod worker saw of one container.
struct ContainerObservation {
  std::string name;
  std::string image;
  std::string image_id;
  std::string container_id;
  api::ContainerState state;       // exactly one of waiting / running / terminated
  api::ContainerState last_state;  // the previous attempt's termination, if any
  int restart_count = 0;
  bool ready = false;
  bool started = false;
  bool operator==(const ContainerObservation&) const = default;
};

// What the pod worker saw of a Pod.
struct PodObservation {
  bool known = false;  // the worker has synced the Pod at least once
  bool sandbox_ready = false;
  std::string pod_ip;
  int64_t start_time_ns = 0;                     // when the worker first accepted the Pod
  std::vector<ContainerObservation> containers;  // in spec order
  bool terminated = false;  // terminating Pod: every container stopped, sandbox removed
  std::string message;      // a Pod-level problem, e.g. "waiting for the node's podCIDR"
  bool operator==(const PodObservation&) const = default;
};

// Kubernetes' phase rules (kubelet getPhase) over the observed containers.
std::string PodPhase(const api::PodSpec& spec, const std::vector<ContainerObservation>& containers);

// The status to report for `pod` given the observation: phase, conditions (PodScheduled,
// Initialized, ContainersReady, Ready), hostIP, podIP(s), startTime and containerStatuses.
// Times of conditions whose status did not change are kept from the current status, so a
// status that changed nothing compares equal and is not written again.
api::PodStatus ComputePodStatus(const api::Pod& pod, const PodObservation& observation,
                                const std::string& host_ip, int64_t now_ns);

}  // namespace korc::kubelet
