// The Kubernetes core/v1 (and coordination.k8s.io/v1 Lease) objects korc serves, as typed structs
// with their schemas.
//
// Field names follow the Kubernetes JSON names (camelCase in JSON, snake_case members);
// each struct's Fields() below is its single schema (see core/schema.h). Optional<> marks
// Go pointer fields, whose presence matters (`emptyDir: {}`, `replicas: 0`).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "core/quantity.h"
#include "core/schema.h"
#include "core/values.h"

namespace korc::api {

using schema::F;
using schema::kAlways;
using schema::kAnnotations;
using schema::kCIdentifier;
using schema::kDns1123Label;
using schema::kDns1123Subdomain;
using schema::kIanaSvcName;
using schema::kIp;
using schema::kLabels;
using schema::kNodePort;
using schema::kNonNegative;
using schema::kPort;
using schema::kPortOrName;
using schema::kPositive;
using schema::kRequired;
using schema::kResourceNames;
using schema::kServerSet;
using schema::kUniqueNames;

using StringMap = std::map<std::string, std::string>;
using ResourceList = std::map<std::string, Quantity>;

// ---------------------------------------------------------------------------------------
// metav1

struct OwnerReference {
  std::string api_version;
  std::string kind;
  std::string name;
  std::string uid;
  std::optional<bool> controller;
  std::optional<bool> block_owner_deletion;
  bool operator==(const OwnerReference&) const = default;
};
constexpr auto Fields(const OwnerReference*) {
  using T = OwnerReference;
  return std::tuple{
      F("apiVersion", &T::api_version, kRequired | kAlways),
      F("kind", &T::kind, kRequired | kAlways),
      F("name", &T::name, kRequired | kAlways),
      F("uid", &T::uid, kRequired | kAlways),
      F("controller", &T::controller),
      F("blockOwnerDeletion", &T::block_owner_deletion),
  };
}

struct ObjectMeta {
  std::string name;
  std::string generate_name;
  std::string namespace_;
  std::string uid;
  std::string resource_version;
  int64_t generation = 0;
  Time creation_timestamp;
  Time deletion_timestamp;
  std::optional<int64_t> deletion_grace_period_seconds;
  StringMap labels;
  StringMap annotations;
  std::vector<OwnerReference> owner_references;
  std::vector<std::string> finalizers;
  bool operator==(const ObjectMeta&) const = default;
};
constexpr auto Fields(const ObjectMeta*) {
  using T = ObjectMeta;
  return std::tuple{
      F("name", &T::name),
      F("generateName", &T::generate_name),
      F("namespace", &T::namespace_, kDns1123Label),
      F("uid", &T::uid, kServerSet),
      F("resourceVersion", &T::resource_version, kServerSet),
      F("generation", &T::generation, kServerSet),
      F("creationTimestamp", &T::creation_timestamp, kServerSet | kAlways),
      F("deletionTimestamp", &T::deletion_timestamp, kServerSet),
      F("deletionGracePeriodSeconds", &T::deletion_grace_period_seconds, kServerSet),
      F("labels", &T::labels, kLabels),
      F("annotations", &T::annotations, kAnnotations),
      F("ownerReferences", &T::owner_references),
      F("finalizers", &T::finalizers),
  };
}

// A reference to an object (Endpoints targetRef, Event involvedObject).
struct ObjectReference {
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string uid;
  std::string api_version;
  std::string resource_version;
  std::string field_path;
  bool operator==(const ObjectReference&) const = default;
};
constexpr auto Fields(const ObjectReference*) {
  using T = ObjectReference;
  return std::tuple{
      F("kind", &T::kind),
      F("namespace", &T::namespace_),
      F("name", &T::name),
      F("uid", &T::uid),
      F("apiVersion", &T::api_version),
      F("resourceVersion", &T::resource_version),
      F("fieldPath", &T::field_path),
  };
}

struct LocalObjectReference {
  std::string name;
  bool operator==(const LocalObjectReference&) const = default;
};
constexpr auto Fields(const LocalObjectReference*) {
  return std::tuple{F("name", &LocalObjectReference::name)};
}

// ---------------------------------------------------------------------------------------
// Pod

struct EnvVar {
  std::string name;
  std::string value;
  bool operator==(const EnvVar&) const = default;
};
constexpr auto Fields(const EnvVar*) {
  return std::tuple{
      F("name", &EnvVar::name, kRequired | kAlways | kCIdentifier),
      F("value", &EnvVar::value),
  };
}

struct ContainerPort {
  std::string name;
  int32_t host_port = 0;
  int32_t container_port = 0;
  std::string protocol;
  std::string host_ip;
  bool operator==(const ContainerPort&) const = default;
};
constexpr auto Fields(const ContainerPort*) {
  using T = ContainerPort;
  return std::tuple{
      F("name", &T::name, kIanaSvcName),
      F("hostPort", &T::host_port, kPort),
      F("containerPort", &T::container_port, kRequired | kAlways | kPort),
      F("protocol", &T::protocol).Default("TCP").OneOf("TCP|UDP|SCTP"),
      F("hostIP", &T::host_ip, kIp),
  };
}

struct ResourceRequirements {
  ResourceList limits;
  ResourceList requests;
  bool operator==(const ResourceRequirements&) const = default;
};
constexpr auto Fields(const ResourceRequirements*) {
  using T = ResourceRequirements;
  return std::tuple{
      F("limits", &T::limits, kResourceNames),
      F("requests", &T::requests, kResourceNames),
  };
}

struct VolumeMount {
  std::string name;
  bool read_only = false;
  std::string mount_path;
  std::string sub_path;
  bool operator==(const VolumeMount&) const = default;
};
constexpr auto Fields(const VolumeMount*) {
  using T = VolumeMount;
  return std::tuple{
      F("name", &T::name, kRequired | kAlways),
      F("readOnly", &T::read_only),
      F("mountPath", &T::mount_path, kRequired | kAlways),
      F("subPath", &T::sub_path),
  };
}

struct ExecAction {
  std::vector<std::string> command;
  bool operator==(const ExecAction&) const = default;
};
constexpr auto Fields(const ExecAction*) { return std::tuple{F("command", &ExecAction::command)}; }

struct HttpHeader {
  std::string name;
  std::string value;
  bool operator==(const HttpHeader&) const = default;
};
constexpr auto Fields(const HttpHeader*) {
  return std::tuple{
      F("name", &HttpHeader::name, kRequired | kAlways),
      F("value", &HttpHeader::value, kAlways),
  };
}

struct HttpGetAction {
  std::string path;
  IntOrString port;
  std::string host;
  std::string scheme;
  std::vector<HttpHeader> http_headers;
  bool operator==(const HttpGetAction&) const = default;
};
constexpr auto Fields(const HttpGetAction*) {
  using T = HttpGetAction;
  return std::tuple{
      F("path", &T::path).Default("/"),
      F("port", &T::port, kRequired | kAlways | kPortOrName),
      F("host", &T::host),
      F("scheme", &T::scheme).Default("HTTP").OneOf("HTTP|HTTPS"),
      F("httpHeaders", &T::http_headers),
  };
}

struct TcpSocketAction {
  IntOrString port;
  std::string host;
  bool operator==(const TcpSocketAction&) const = default;
};
constexpr auto Fields(const TcpSocketAction*) {
  return std::tuple{
      F("port", &TcpSocketAction::port, kRequired | kAlways | kPortOrName),
      F("host", &TcpSocketAction::host),
  };
}

struct Probe {
  std::optional<ExecAction> exec;
  std::optional<HttpGetAction> http_get;
  std::optional<TcpSocketAction> tcp_socket;
  int32_t initial_delay_seconds = 0;
  int32_t timeout_seconds = 0;
  int32_t period_seconds = 0;
  int32_t success_threshold = 0;
  int32_t failure_threshold = 0;
  std::optional<int64_t> termination_grace_period_seconds;
  bool operator==(const Probe&) const = default;
};
constexpr auto Fields(const Probe*) {
  using T = Probe;
  return std::tuple{
      F("exec", &T::exec),
      F("httpGet", &T::http_get),
      F("tcpSocket", &T::tcp_socket),
      F("initialDelaySeconds", &T::initial_delay_seconds, kNonNegative),
      F("timeoutSeconds", &T::timeout_seconds, kPositive).Default(1),
      F("periodSeconds", &T::period_seconds, kPositive).Default(10),
      F("successThreshold", &T::success_threshold, kPositive).Default(1),
      F("failureThreshold", &T::failure_threshold, kPositive).Default(3),
      F("terminationGracePeriodSeconds", &T::termination_grace_period_seconds, kPositive),
  };
}

// Who a container's processes run as (Container.securityContext and, as defaults for every
// container, PodSpec.securityContext). Unset: the image's User, else root.
struct SecurityContext {
  std::optional<int64_t> run_as_user;
  std::optional<int64_t> run_as_group;
  std::optional<bool> run_as_non_root;  // refuse to start as uid 0
  bool operator==(const SecurityContext&) const = default;
};
constexpr auto Fields(const SecurityContext*) {
  using T = SecurityContext;
  return std::tuple{
      F("runAsUser", &T::run_as_user, kNonNegative),
      F("runAsGroup", &T::run_as_group, kNonNegative),
      F("runAsNonRoot", &T::run_as_non_root),
  };
}

struct Container {
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::string working_dir;
  std::vector<ContainerPort> ports;
  std::vector<EnvVar> env;
  ResourceRequirements resources;
  std::vector<VolumeMount> volume_mounts;
  std::optional<Probe> liveness_probe;
  std::optional<Probe> readiness_probe;
  std::string termination_message_path;
  std::string termination_message_policy;
  std::string image_pull_policy;
  std::optional<SecurityContext> security_context;
  bool operator==(const Container&) const = default;
};
constexpr auto Fields(const Container*) {
  using T = Container;
  return std::tuple{
      F("name", &T::name, kRequired | kAlways | kDns1123Label),
      F("image", &T::image, kRequired),
      F("command", &T::command),
      F("args", &T::args),
      F("workingDir", &T::working_dir),
      F("ports", &T::ports),
      F("env", &T::env),
      F("resources", &T::resources),
      F("volumeMounts", &T::volume_mounts),
      F("livenessProbe", &T::liveness_probe),
      F("readinessProbe", &T::readiness_probe),
      F("terminationMessagePath", &T::termination_message_path).Default("/dev/termination-log"),
      F("terminationMessagePolicy", &T::termination_message_policy)
          .Default("File")
          .OneOf("File|FallbackToLogsOnError"),
      F("imagePullPolicy", &T::image_pull_policy).OneOf("Always|IfNotPresent|Never"),
      F("securityContext", &T::security_context),
  };
}

struct EmptyDirVolumeSource {
  std::string medium;
  std::optional<Quantity> size_limit;
  bool operator==(const EmptyDirVolumeSource&) const = default;
};
constexpr auto Fields(const EmptyDirVolumeSource*) {
  return std::tuple{
      F("medium", &EmptyDirVolumeSource::medium).OneOf("|Memory"),
      F("sizeLimit", &EmptyDirVolumeSource::size_limit),
  };
}

struct Volume {
  std::string name;
  std::optional<EmptyDirVolumeSource> empty_dir;
  bool operator==(const Volume&) const = default;
};
constexpr auto Fields(const Volume*) {
  return std::tuple{
      F("name", &Volume::name, kRequired | kAlways | kDns1123Label),
      F("emptyDir", &Volume::empty_dir),
  };
}

struct Toleration {
  std::string key;
  std::string operator_;
  std::string value;
  std::string effect;
  std::optional<int64_t> toleration_seconds;
  bool operator==(const Toleration&) const = default;
};
constexpr auto Fields(const Toleration*) {
  using T = Toleration;
  return std::tuple{
      F("key", &T::key),
      F("operator", &T::operator_).OneOf("Equal|Exists"),
      F("value", &T::value),
      F("effect", &T::effect).OneOf("NoSchedule|PreferNoSchedule|NoExecute"),
      F("tolerationSeconds", &T::toleration_seconds),
  };
}

struct PodSpec {
  std::vector<Volume> volumes;
  std::vector<Container> containers;
  std::string restart_policy;
  std::optional<int64_t> termination_grace_period_seconds;
  std::string dns_policy;
  StringMap node_selector;
  std::string service_account_name;
  // Service environment variables for the Pod's containers; unset means true, as Kubernetes.
  std::optional<bool> enable_service_links;
  std::string node_name;
  bool host_network = false;
  std::vector<LocalObjectReference> image_pull_secrets;
  std::string hostname;
  std::string subdomain;
  std::string scheduler_name;
  std::vector<Toleration> tolerations;
  std::optional<SecurityContext> security_context;
  bool operator==(const PodSpec&) const = default;
};
constexpr auto Fields(const PodSpec*) {
  using T = PodSpec;
  return std::tuple{
      F("volumes", &T::volumes, kUniqueNames),
      F("containers", &T::containers, kRequired | kAlways | kUniqueNames),
      F("restartPolicy", &T::restart_policy).Default("Always").OneOf("Always|OnFailure|Never"),
      F("terminationGracePeriodSeconds", &T::termination_grace_period_seconds, kNonNegative)
          .Default(30),
      F("dnsPolicy", &T::dns_policy)
          .Default("ClusterFirst")
          .OneOf("ClusterFirst|ClusterFirstWithHostNet|Default|None"),
      F("nodeSelector", &T::node_selector, kLabels),
      F("serviceAccountName", &T::service_account_name),
      F("enableServiceLinks", &T::enable_service_links),
      F("nodeName", &T::node_name, kDns1123Subdomain),
      F("hostNetwork", &T::host_network),
      F("imagePullSecrets", &T::image_pull_secrets),
      F("hostname", &T::hostname, kDns1123Label),
      F("subdomain", &T::subdomain, kDns1123Label),
      F("schedulerName", &T::scheduler_name).Default("default-scheduler"),
      F("tolerations", &T::tolerations),
      F("securityContext", &T::security_context),
  };
}

struct PodCondition {
  std::string type;
  std::string status;
  Time last_probe_time;
  Time last_transition_time;
  std::string reason;
  std::string message;
  bool operator==(const PodCondition&) const = default;
};
constexpr auto Fields(const PodCondition*) {
  using T = PodCondition;
  return std::tuple{
      F("type", &T::type, kRequired | kAlways),
      F("status", &T::status, kRequired | kAlways).OneOf("True|False|Unknown"),
      F("lastProbeTime", &T::last_probe_time, kAlways),
      F("lastTransitionTime", &T::last_transition_time),
      F("reason", &T::reason),
      F("message", &T::message),
  };
}

struct ContainerStateWaiting {
  std::string reason;
  std::string message;
  bool operator==(const ContainerStateWaiting&) const = default;
};
constexpr auto Fields(const ContainerStateWaiting*) {
  return std::tuple{F("reason", &ContainerStateWaiting::reason),
                    F("message", &ContainerStateWaiting::message)};
}

struct ContainerStateRunning {
  Time started_at;
  bool operator==(const ContainerStateRunning&) const = default;
};
constexpr auto Fields(const ContainerStateRunning*) {
  return std::tuple{F("startedAt", &ContainerStateRunning::started_at)};
}

struct ContainerStateTerminated {
  int32_t exit_code = 0;
  int32_t signal = 0;
  std::string reason;
  std::string message;
  Time started_at;
  Time finished_at;
  std::string container_id;
  bool operator==(const ContainerStateTerminated&) const = default;
};
constexpr auto Fields(const ContainerStateTerminated*) {
  using T = ContainerStateTerminated;
  return std::tuple{
      F("exitCode", &T::exit_code, kAlways),
      F("signal", &T::signal),
      F("reason", &T::reason),
      F("message", &T::message),
      F("startedAt", &T::started_at, kAlways),
      F("finishedAt", &T::finished_at, kAlways),
      F("containerID", &T::container_id),
  };
}

struct ContainerState {
  std::optional<ContainerStateWaiting> waiting;
  std::optional<ContainerStateRunning> running;
  std::optional<ContainerStateTerminated> terminated;
  bool operator==(const ContainerState&) const = default;
};
constexpr auto Fields(const ContainerState*) {
  using T = ContainerState;
  return std::tuple{F("waiting", &T::waiting), F("running", &T::running),
                    F("terminated", &T::terminated)};
}

struct ContainerStatus {
  std::string name;
  ContainerState state;
  ContainerState last_state;
  bool ready = false;
  int32_t restart_count = 0;
  std::string image;
  std::string image_id;
  std::string container_id;
  std::optional<bool> started;
  bool operator==(const ContainerStatus&) const = default;
};
constexpr auto Fields(const ContainerStatus*) {
  using T = ContainerStatus;
  return std::tuple{
      F("name", &T::name, kRequired | kAlways),
      F("state", &T::state),
      F("lastState", &T::last_state),
      F("ready", &T::ready, kAlways),
      F("restartCount", &T::restart_count, kAlways | kNonNegative),
      F("image", &T::image, kAlways),
      F("imageID", &T::image_id, kAlways),
      F("containerID", &T::container_id),
      F("started", &T::started),
  };
}

struct PodIP {
  std::string ip;
  bool operator==(const PodIP&) const = default;
};
constexpr auto Fields(const PodIP*) { return std::tuple{F("ip", &PodIP::ip, kIp)}; }

struct PodStatus {
  std::string phase;
  std::vector<PodCondition> conditions;
  std::string message;
  std::string reason;
  std::string host_ip;
  std::string pod_ip;
  std::vector<PodIP> pod_ips;
  Time start_time;
  std::vector<ContainerStatus> container_statuses;
  std::string qos_class;
  bool operator==(const PodStatus&) const = default;
};
constexpr auto Fields(const PodStatus*) {
  using T = PodStatus;
  return std::tuple{
      F("phase", &T::phase).OneOf("Pending|Running|Succeeded|Failed|Unknown"),
      F("conditions", &T::conditions),
      F("message", &T::message),
      F("reason", &T::reason),
      F("hostIP", &T::host_ip, kIp),
      F("podIP", &T::pod_ip, kIp),
      F("podIPs", &T::pod_ips),
      F("startTime", &T::start_time),
      F("containerStatuses", &T::container_statuses),
      F("qosClass", &T::qos_class),
  };
}

struct Pod {
  std::string api_version;
  std::string kind;
  ObjectMeta metadata;
  PodSpec spec;
  PodStatus status;
  bool operator==(const Pod&) const = default;
};

// ---------------------------------------------------------------------------------------
// ReplicationController

struct PodTemplateSpec {
  ObjectMeta metadata;
  PodSpec spec;
  bool operator==(const PodTemplateSpec&) const = default;
};
constexpr auto Fields(const PodTemplateSpec*) {
  return std::tuple{F("metadata", &PodTemplateSpec::metadata), F("spec", &PodTemplateSpec::spec)};
}

struct ReplicationControllerSpec {
  std::optional<int32_t> replicas;
  int32_t min_ready_seconds = 0;
  StringMap selector;
  std::optional<PodTemplateSpec> template_;
  bool operator==(const ReplicationControllerSpec&) const = default;
};
constexpr auto Fields(const ReplicationControllerSpec*) {
  using T = ReplicationControllerSpec;
  return std::tuple{
      F("replicas", &T::replicas, kNonNegative).Default(1),
      F("minReadySeconds", &T::min_ready_seconds, kNonNegative),
      F("selector", &T::selector, kLabels),
      F("template", &T::template_, kRequired),
  };
}

struct ReplicationControllerCondition {
  std::string type;
  std::string status;
  Time last_transition_time;
  std::string reason;
  std::string message;
  bool operator==(const ReplicationControllerCondition&) const = default;
};
constexpr auto Fields(const ReplicationControllerCondition*) {
  using T = ReplicationControllerCondition;
  return std::tuple{
      F("type", &T::type, kRequired | kAlways),
      F("status", &T::status, kRequired | kAlways).OneOf("True|False|Unknown"),
      F("lastTransitionTime", &T::last_transition_time),
      F("reason", &T::reason),
      F("message", &T::message),
  };
}

struct ReplicationControllerStatus {
  int32_t replicas = 0;
  int32_t fully_labeled_replicas = 0;
  int32_t ready_replicas = 0;
  int32_t available_replicas = 0;
  int64_t observed_generation = 0;
  std::vector<ReplicationControllerCondition> conditions;
  bool operator==(const ReplicationControllerStatus&) const = default;
};
constexpr auto Fields(const ReplicationControllerStatus*) {
  using T = ReplicationControllerStatus;
  return std::tuple{
      F("replicas", &T::replicas, kAlways | kNonNegative),
      F("fullyLabeledReplicas", &T::fully_labeled_replicas, kNonNegative),
      F("readyReplicas", &T::ready_replicas, kNonNegative),
      F("availableReplicas", &T::available_replicas, kNonNegative),
      F("observedGeneration", &T::observed_generation, kNonNegative),
      F("conditions", &T::conditions),
  };
}

struct ReplicationController {
  std::string api_version;
  std::string kind;
  ObjectMeta metadata;
  ReplicationControllerSpec spec;
  ReplicationControllerStatus status;
  bool operator==(const ReplicationController&) const = default;
};

// ---------------------------------------------------------------------------------------
// Service

struct ServicePort {
  std::string name;
  std::string protocol;
  int32_t port = 0;
  IntOrString target_port;
  int32_t node_port = 0;
  bool operator==(const ServicePort&) const = default;
};
constexpr auto Fields(const ServicePort*) {
  using T = ServicePort;
  return std::tuple{
      F("name", &T::name, kIanaSvcName),
      F("protocol", &T::protocol).Default("TCP").OneOf("TCP|UDP|SCTP"),
      F("port", &T::port, kRequired | kAlways | kPort),
      F("targetPort", &T::target_port, kPortOrName),
      F("nodePort", &T::node_port, kNodePort),
  };
}

struct ClientIpConfig {
  std::optional<int32_t> timeout_seconds;
  bool operator==(const ClientIpConfig&) const = default;
};
constexpr auto Fields(const ClientIpConfig*) {
  return std::tuple{F("timeoutSeconds", &ClientIpConfig::timeout_seconds, kPositive)};
}

struct SessionAffinityConfig {
  std::optional<ClientIpConfig> client_ip;
  bool operator==(const SessionAffinityConfig&) const = default;
};
constexpr auto Fields(const SessionAffinityConfig*) {
  return std::tuple{F("clientIP", &SessionAffinityConfig::client_ip)};
}

struct ServiceSpec {
  std::vector<ServicePort> ports;
  StringMap selector;
  std::string cluster_ip;
  std::vector<std::string> cluster_ips;
  std::string type;
  std::vector<std::string> external_ips;
  std::string session_affinity;
  std::optional<SessionAffinityConfig> session_affinity_config;
  bool publish_not_ready_addresses = false;
  std::string external_traffic_policy;
  std::string internal_traffic_policy;
  bool operator==(const ServiceSpec&) const = default;
};
constexpr auto Fields(const ServiceSpec*) {
  using T = ServiceSpec;
  return std::tuple{
      F("ports", &T::ports, kUniqueNames),
      F("selector", &T::selector, kLabels),
      F("clusterIP", &T::cluster_ip),
      F("clusterIPs", &T::cluster_ips),
      F("type", &T::type)
          .Default("ClusterIP")
          .OneOf("ClusterIP|NodePort|LoadBalancer|ExternalName"),
      F("externalIPs", &T::external_ips),
      F("sessionAffinity", &T::session_affinity).Default("None").OneOf("None|ClientIP"),
      F("sessionAffinityConfig", &T::session_affinity_config),
      F("publishNotReadyAddresses", &T::publish_not_ready_addresses),
      F("externalTrafficPolicy", &T::external_traffic_policy).OneOf("Cluster|Local"),
      F("internalTrafficPolicy", &T::internal_traffic_policy).OneOf("Cluster|Local"),
  };
}

struct LoadBalancerStatus {
  bool operator==(const LoadBalancerStatus&) const = default;
};
constexpr auto Fields(const LoadBalancerStatus*) { return std::tuple{}; }

struct ServiceStatus {
  LoadBalancerStatus load_balancer;
  bool operator==(const ServiceStatus&) const = default;
};
constexpr auto Fields(const ServiceStatus*) {
  return std::tuple{F("loadBalancer", &ServiceStatus::load_balancer)};
}

struct Service {
  std::string api_version;
  std::string kind;
  ObjectMeta metadata;
  ServiceSpec spec;
  ServiceStatus status;
  bool operator==(const Service&) const = default;
};

// ---------------------------------------------------------------------------------------
// Endpoints

struct EndpointAddress {
  std::string ip;
  std::string hostname;
  std::optional<std::string> node_name;
  std::optional<ObjectReference> target_ref;
  bool operator==(const EndpointAddress&) const = default;
};
constexpr auto Fields(const EndpointAddress*) {
  using T = EndpointAddress;
  return std::tuple{
      F("ip", &T::ip, kRequired | kAlways | kIp),
      F("hostname", &T::hostname),
      F("nodeName", &T::node_name),
      F("targetRef", &T::target_ref),
  };
}

struct EndpointPort {
  std::string name;
  int32_t port = 0;
  std::string protocol;
  bool operator==(const EndpointPort&) const = default;
};
constexpr auto Fields(const EndpointPort*) {
  using T = EndpointPort;
  return std::tuple{
      F("name", &T::name),
      F("port", &T::port, kAlways | kPort),
      F("protocol", &T::protocol).Default("TCP").OneOf("TCP|UDP|SCTP"),
  };
}

struct EndpointSubset {
  std::vector<EndpointAddress> addresses;
  std::vector<EndpointAddress> not_ready_addresses;
  std::vector<EndpointPort> ports;
  bool operator==(const EndpointSubset&) const = default;
};
constexpr auto Fields(const EndpointSubset*) {
  using T = EndpointSubset;
  return std::tuple{
      F("addresses", &T::addresses),
      F("notReadyAddresses", &T::not_ready_addresses),
      F("ports", &T::ports),
  };
}

struct Endpoints {
  std::string api_version;
  std::string kind;
  ObjectMeta metadata;
  std::vector<EndpointSubset> subsets;
  bool operator==(const Endpoints&) const = default;
};

// ---------------------------------------------------------------------------------------
// Node

struct Taint {
  std::string key;
  std::string value;
  std::string effect;
  Time time_added;
  bool operator==(const Taint&) const = default;
};
constexpr auto Fields(const Taint*) {
  using T = Taint;
  return std::tuple{
      F("key", &T::key, kRequired | kAlways),
      F("value", &T::value),
      F("effect", &T::effect, kRequired | kAlways).OneOf("NoSchedule|PreferNoSchedule|NoExecute"),
      F("timeAdded", &T::time_added),
  };
}

struct NodeSpec {
  std::string pod_cidr;
  std::vector<std::string> pod_cidrs;
  std::string provider_id;
  bool unschedulable = false;
  std::vector<Taint> taints;
  bool operator==(const NodeSpec&) const = default;
};
constexpr auto Fields(const NodeSpec*) {
  using T = NodeSpec;
  return std::tuple{
      F("podCIDR", &T::pod_cidr),       F("podCIDRs", &T::pod_cidrs),
      F("providerID", &T::provider_id), F("unschedulable", &T::unschedulable),
      F("taints", &T::taints),
  };
}

struct NodeCondition {
  std::string type;
  std::string status;
  Time last_heartbeat_time;
  Time last_transition_time;
  std::string reason;
  std::string message;
  bool operator==(const NodeCondition&) const = default;
};
constexpr auto Fields(const NodeCondition*) {
  using T = NodeCondition;
  return std::tuple{
      F("type", &T::type, kRequired | kAlways),
      F("status", &T::status, kRequired | kAlways).OneOf("True|False|Unknown"),
      F("lastHeartbeatTime", &T::last_heartbeat_time),
      F("lastTransitionTime", &T::last_transition_time),
      F("reason", &T::reason),
      F("message", &T::message),
  };
}

struct NodeAddress {
  std::string type;
  std::string address;
  bool operator==(const NodeAddress&) const = default;
};
constexpr auto Fields(const NodeAddress*) {
  return std::tuple{
      F("type", &NodeAddress::type, kRequired | kAlways)
          .OneOf("Hostname|InternalIP|ExternalIP|InternalDNS|ExternalDNS"),
      F("address", &NodeAddress::address, kRequired | kAlways),
  };
}

struct NodeSystemInfo {
  std::string machine_id;
  std::string system_uuid;
  std::string boot_id;
  std::string kernel_version;
  std::string os_image;
  std::string container_runtime_version;
  std::string kubelet_version;
  std::string kube_proxy_version;
  std::string operating_system;
  std::string architecture;
  bool operator==(const NodeSystemInfo&) const = default;
};
constexpr auto Fields(const NodeSystemInfo*) {
  using T = NodeSystemInfo;
  // All ten are always serialized, as Kubernetes does.
  return std::tuple{
      F("machineID", &T::machine_id, kAlways),
      F("systemUUID", &T::system_uuid, kAlways),
      F("bootID", &T::boot_id, kAlways),
      F("kernelVersion", &T::kernel_version, kAlways),
      F("osImage", &T::os_image, kAlways),
      F("containerRuntimeVersion", &T::container_runtime_version, kAlways),
      F("kubeletVersion", &T::kubelet_version, kAlways),
      F("kubeProxyVersion", &T::kube_proxy_version, kAlways),
      F("operatingSystem", &T::operating_system, kAlways),
      F("architecture", &T::architecture, kAlways),
  };
}

struct DaemonEndpoint {
  int32_t port = 0;
  bool operator==(const DaemonEndpoint&) const = default;
};
constexpr auto Fields(const DaemonEndpoint*) {
  return std::tuple{F("Port", &DaemonEndpoint::port, kAlways | kPort)};
}

struct NodeDaemonEndpoints {
  DaemonEndpoint kubelet_endpoint;
  bool operator==(const NodeDaemonEndpoints&) const = default;
};
constexpr auto Fields(const NodeDaemonEndpoints*) {
  return std::tuple{F("kubeletEndpoint", &NodeDaemonEndpoints::kubelet_endpoint)};
}

// An image the node stores: its names (repository digests and tags) and its size on disk.
struct ContainerImage {
  std::vector<std::string> names;
  int64_t size_bytes = 0;
  bool operator==(const ContainerImage&) const = default;
};
constexpr auto Fields(const ContainerImage*) {
  return std::tuple{
      F("names", &ContainerImage::names),
      F("sizeBytes", &ContainerImage::size_bytes),
  };
}

struct NodeStatus {
  ResourceList capacity;
  ResourceList allocatable;
  std::string phase;
  std::vector<NodeCondition> conditions;
  std::vector<NodeAddress> addresses;
  NodeDaemonEndpoints daemon_endpoints;
  NodeSystemInfo node_info;
  std::vector<ContainerImage> images;
  bool operator==(const NodeStatus&) const = default;
};
constexpr auto Fields(const NodeStatus*) {
  using T = NodeStatus;
  return std::tuple{
      F("capacity", &T::capacity, kResourceNames),
      F("allocatable", &T::allocatable, kResourceNames),
      F("phase", &T::phase),
      F("conditions", &T::conditions),
      F("addresses", &T::addresses),
      F("daemonEndpoints", &T::daemon_endpoints),
      F("nodeInfo", &T::node_info),
      F("images", &T::images),
  };
}

struct Node {
  std::string api_version;
  std::string kind;
  ObjectMeta metadata;
  NodeSpec spec;
  NodeStatus status;
  bool operator==(const Node&) const = default;
};

// ---------------------------------------------------------------------------------------
// Namespace

struct NamespaceSpec {
  std::vector<std::string> finalizers;
  bool operator==(const NamespaceSpec&) const = default;
};
constexpr auto Fields(const NamespaceSpec*) {
  return std::tuple{F("finalizers", &NamespaceSpec::finalizers)};
}

struct NamespaceStatus {
  std::string phase;
  bool operator==(const NamespaceStatus&) const = default;
};
constexpr auto Fields(const NamespaceStatus*) {
  return std::tuple{F("phase", &NamespaceStatus::phase).OneOf("Active|Terminating")};
}

struct Namespace {
  std::string api_version;
  std::string kind;
  ObjectMeta metadata;
  NamespaceSpec spec;
  NamespaceStatus status;
  bool operator==(const Namespace&) const = default;
};

// ---------------------------------------------------------------------------------------
// Event (the Kubernetes object kind "Event"; not korc::Event, the log record)

struct EventSource {
  std::string component;
  std::string host;
  bool operator==(const EventSource&) const = default;
};
constexpr auto Fields(const EventSource*) {
  return std::tuple{F("component", &EventSource::component), F("host", &EventSource::host)};
}

struct KubeEvent {
  std::string api_version;
  std::string kind;
  ObjectMeta metadata;
  ObjectReference involved_object;
  std::string reason;
  std::string message;
  EventSource source;
  Time first_timestamp;
  Time last_timestamp;
  int32_t count = 0;
  std::string type;
  MicroTime event_time;
  std::string action;
  std::string reporting_component;
  std::string reporting_instance;
  bool operator==(const KubeEvent&) const = default;
};

// ---------------------------------------------------------------------------------------
// Secret: a small amount of sensitive data (registry credentials for a Pod's
// imagePullSecrets, passwords, keys). `data` holds raw bytes (base64 on the wire);
// `stringData` is write-only: defaulting merges it into `data` (its keys win) and clears it,
// so a stored or returned Secret never carries it. Output meant for people shows each value
// as "<N bytes>" (EncodeOptions::redact_secrets).

struct Secret {
  std::string api_version;
  std::string kind;
  ObjectMeta metadata;
  std::optional<bool> immutable;
  std::map<std::string, Bytes> data;
  StringMap string_data;
  std::string type;
  bool operator==(const Secret&) const = default;
};

// The types whose data korc checks, as Kubernetes' ValidateSecret does.
inline constexpr std::string_view kSecretTypeOpaque = "Opaque";
inline constexpr std::string_view kSecretTypeDockerConfigJson = "kubernetes.io/dockerconfigjson";
inline constexpr std::string_view kSecretTypeDockercfg = "kubernetes.io/dockercfg";
inline constexpr std::string_view kSecretTypeBasicAuth = "kubernetes.io/basic-auth";
inline constexpr std::string_view kSecretTypeSshAuth = "kubernetes.io/ssh-auth";
inline constexpr std::string_view kSecretTypeTls = "kubernetes.io/tls";
inline constexpr std::string_view kSecretTypeServiceAccountToken =
    "kubernetes.io/service-account-token";
// The data keys those types require.
inline constexpr std::string_view kDockerConfigJsonKey = ".dockerconfigjson";
inline constexpr std::string_view kDockerConfigKey = ".dockercfg";

// ---------------------------------------------------------------------------------------
// Lease (coordination.k8s.io/v1): a small object a holder renews to say it is alive. Each
// kubelet renews kube-node-lease/<node name> every few seconds, so that heartbeats do not
// rewrite the whole Node.

struct LeaseSpec {
  std::string holder_identity;
  std::optional<int32_t> lease_duration_seconds;
  MicroTime acquire_time;
  MicroTime renew_time;
  std::optional<int32_t> lease_transitions;
  bool operator==(const LeaseSpec&) const = default;
};
constexpr auto Fields(const LeaseSpec*) {
  using T = LeaseSpec;
  return std::tuple{
      F("holderIdentity", &T::holder_identity),
      F("leaseDurationSeconds", &T::lease_duration_seconds, kPositive),
      F("acquireTime", &T::acquire_time),
      F("renewTime", &T::renew_time),
      F("leaseTransitions", &T::lease_transitions, kNonNegative),
  };
}

struct Lease {
  std::string api_version;
  std::string kind;
  ObjectMeta metadata;
  LeaseSpec spec;
  bool operator==(const Lease&) const = default;
};

// ---------------------------------------------------------------------------------------
// Top-level kinds share a head (apiVersion, kind, metadata). Each declares its schema.

constexpr auto Fields(const Pod*) {
  using T = Pod;
  return std::tuple{F("apiVersion", &T::api_version), F("kind", &T::kind),
                    F("metadata", &T::metadata), F("spec", &T::spec), F("status", &T::status)};
}
constexpr auto Fields(const ReplicationController*) {
  using T = ReplicationController;
  return std::tuple{F("apiVersion", &T::api_version), F("kind", &T::kind),
                    F("metadata", &T::metadata), F("spec", &T::spec), F("status", &T::status)};
}
constexpr auto Fields(const Service*) {
  using T = Service;
  return std::tuple{F("apiVersion", &T::api_version), F("kind", &T::kind),
                    F("metadata", &T::metadata), F("spec", &T::spec), F("status", &T::status)};
}
constexpr auto Fields(const Endpoints*) {
  using T = Endpoints;
  return std::tuple{F("apiVersion", &T::api_version), F("kind", &T::kind),
                    F("metadata", &T::metadata), F("subsets", &T::subsets)};
}
constexpr auto Fields(const Node*) {
  using T = Node;
  return std::tuple{F("apiVersion", &T::api_version), F("kind", &T::kind),
                    F("metadata", &T::metadata), F("spec", &T::spec), F("status", &T::status)};
}
constexpr auto Fields(const Namespace*) {
  using T = Namespace;
  return std::tuple{F("apiVersion", &T::api_version), F("kind", &T::kind),
                    F("metadata", &T::metadata), F("spec", &T::spec), F("status", &T::status)};
}
constexpr auto Fields(const Lease*) {
  using T = Lease;
  return std::tuple{F("apiVersion", &T::api_version), F("kind", &T::kind),
                    F("metadata", &T::metadata), F("spec", &T::spec)};
}
constexpr auto Fields(const Secret*) {
  using T = Secret;
  return std::tuple{F("apiVersion", &T::api_version),
                    F("kind", &T::kind),
                    F("metadata", &T::metadata),
                    F("immutable", &T::immutable),
                    F("data", &T::data),
                    F("stringData", &T::string_data),
                    F("type", &T::type).Default(kSecretTypeOpaque)};
}
constexpr auto Fields(const KubeEvent*) {
  using T = KubeEvent;
  return std::tuple{
      F("apiVersion", &T::api_version),
      F("kind", &T::kind),
      F("metadata", &T::metadata),
      F("involvedObject", &T::involved_object),
      F("reason", &T::reason),
      F("message", &T::message),
      F("source", &T::source),
      F("firstTimestamp", &T::first_timestamp, kAlways),
      F("lastTimestamp", &T::last_timestamp, kAlways),
      F("count", &T::count, kNonNegative),
      F("type", &T::type).OneOf("Normal|Warning"),
      F("eventTime", &T::event_time, kAlways),
      F("action", &T::action),
      F("reportingComponent", &T::reporting_component, kAlways),
      F("reportingInstance", &T::reporting_instance, kAlways),
  };
}

// ---------------------------------------------------------------------------------------
// metav1.Status: the body of every API error.

struct StatusCause {
  std::string reason;
  std::string message;
  std::string field;
  bool operator==(const StatusCause&) const = default;
};
constexpr auto Fields(const StatusCause*) {
  return std::tuple{F("reason", &StatusCause::reason), F("message", &StatusCause::message),
                    F("field", &StatusCause::field)};
}

struct StatusDetails {
  std::string name;
  std::string group;
  std::string kind;
  std::string uid;
  std::vector<StatusCause> causes;
  int32_t retry_after_seconds = 0;
  bool operator==(const StatusDetails&) const = default;
};
constexpr auto Fields(const StatusDetails*) {
  using T = StatusDetails;
  return std::tuple{F("name", &T::name),     F("group", &T::group),
                    F("kind", &T::kind),     F("uid", &T::uid),
                    F("causes", &T::causes), F("retryAfterSeconds", &T::retry_after_seconds)};
}

struct ListMeta {
  std::string resource_version;
  std::string continue_;
  bool operator==(const ListMeta&) const = default;
};
constexpr auto Fields(const ListMeta*) {
  return std::tuple{F("resourceVersion", &ListMeta::resource_version),
                    F("continue", &ListMeta::continue_)};
}

struct StatusObject {
  std::string api_version;
  std::string kind;
  ListMeta metadata;
  std::string status;  // "Success" | "Failure"
  std::string message;
  std::string reason;
  std::optional<StatusDetails> details;
  int32_t code = 0;
  bool operator==(const StatusObject&) const = default;
};
constexpr auto Fields(const StatusObject*) {
  using T = StatusObject;
  return std::tuple{F("apiVersion", &T::api_version),
                    F("kind", &T::kind),
                    F("metadata", &T::metadata, kAlways),
                    F("status", &T::status),
                    F("message", &T::message),
                    F("reason", &T::reason),
                    F("details", &T::details),
                    F("code", &T::code)};
}

// ---------------------------------------------------------------------------------------
// Any object of a served kind.

using Object = std::variant<Pod, ReplicationController, Service, Endpoints, Node, Namespace,
                            KubeEvent, Lease, Secret>;

// The metadata every object has.
inline ObjectMeta& Meta(Object& o) {
  return std::visit([](auto& x) -> ObjectMeta& { return x.metadata; }, o);
}
inline const ObjectMeta& Meta(const Object& o) {
  return std::visit([](const auto& x) -> const ObjectMeta& { return x.metadata; }, o);
}

}  // namespace korc::api
