// Small builders that keep tests short: fully populated objects of every kind.
#pragma once

#include <string>

#include "core/objects.h"

namespace korc::testing {

inline api::ObjectMeta MakeMeta(std::string name, std::string ns = "default") {
  api::ObjectMeta m;
  m.name = std::move(name);
  m.namespace_ = std::move(ns);
  m.uid = "0b9c6f1e-1111-4c2a-9d1e-" + m.name;
  m.resource_version = "42";
  m.generation = 2;
  m.creation_timestamp.unix_ns = 1'790'000'000'000'000'000;
  m.labels = {{"app", "web"}, {"tier", "front"}};
  m.annotations = {{"korc.io/note", "hello \"world\"\n"}};
  return m;
}

inline api::Container MakeContainer(std::string name) {
  api::Container c;
  c.name = std::move(name);
  c.image = "busybox:1.36";
  c.command = {"/bin/sh", "-c"};
  c.args = {"httpd -f -p 8080"};
  c.working_dir = "/srv";
  c.ports = {{"http", 0, 8080, "TCP", ""}};
  c.env = {{"MYSQL_ROOT_PASSWORD", "123456"}, {"EMPTY", ""}};
  c.resources.requests = {{"cpu", *Quantity::Parse("500m")}, {"memory", *Quantity::Parse("64Mi")}};
  c.resources.limits = {{"cpu", *Quantity::Parse("1")}, {"memory", *Quantity::Parse("128Mi")}};
  c.volume_mounts = {{"data", false, "/data", ""}};
  api::Probe live;
  live.http_get = api::HttpGetAction{"/healthz", api::IntOrString::Str("http"), "", "HTTP", {}};
  live.period_seconds = 5;
  c.liveness_probe = live;
  api::Probe ready;
  ready.tcp_socket = api::TcpSocketAction{api::IntOrString::Int(8080), ""};
  c.readiness_probe = ready;
  c.image_pull_policy = "IfNotPresent";
  return c;
}

inline api::Pod MakePod(std::string name = "web-1") {
  api::Pod p;
  p.metadata = MakeMeta(std::move(name));
  p.metadata.owner_references = {{"v1", "ReplicationController", "web", "uid-rc", true, true}};
  p.spec.containers = {MakeContainer("app"), MakeContainer("sidecar")};
  p.spec.containers[1].ports[0].name = "side";
  p.spec.containers[1].ports[0].container_port = 9090;
  p.spec.volumes = {{"data", api::EmptyDirVolumeSource{}}};
  p.spec.restart_policy = "Always";
  p.spec.termination_grace_period_seconds = 30;
  p.spec.node_selector = {{"disk", "ssd"}};
  p.spec.node_name = "node-1";
  p.spec.tolerations = {{"dedicated", "Equal", "db", "NoSchedule", std::nullopt}};
  p.status.phase = "Running";
  p.status.pod_ip = "10.1.0.7";
  p.status.host_ip = "10.0.0.1";
  p.status.start_time.unix_ns = 1'790'000'001'000'000'000;
  p.status.conditions = {{"Ready", "True", {}, {1'790'000'002'000'000'000}, "", ""}};
  api::ContainerStatus cs;
  cs.name = "app";
  cs.ready = true;
  cs.restart_count = 1;
  cs.image = "busybox:1.36";
  cs.image_id = "sha256:abc";
  cs.state.running = api::ContainerStateRunning{{1'790'000'003'000'000'000}};
  cs.last_state.terminated = api::ContainerStateTerminated{
      1, 0, "Error", "", {1'790'000'000'000'000'000}, {1'790'000'001'000'000'000}, "korc://1"};
  p.status.container_statuses = {cs};
  return p;
}

inline api::ReplicationController MakeRc(std::string name = "web", int32_t replicas = 3) {
  api::ReplicationController rc;
  rc.metadata = MakeMeta(name);
  rc.spec.replicas = replicas;
  rc.spec.selector = {{"app", "web"}};
  api::PodTemplateSpec t;
  t.metadata.labels = {{"app", "web"}};
  t.spec = MakePod().spec;
  t.spec.node_name.clear();
  rc.spec.template_ = t;
  rc.status.replicas = replicas;
  rc.status.ready_replicas = 1;
  rc.status.observed_generation = 2;
  return rc;
}

inline api::Service MakeService(std::string name = "web") {
  api::Service s;
  s.metadata = MakeMeta(std::move(name));
  s.spec.selector = {{"app", "web"}};
  s.spec.ports = {{"http", "TCP", 80, api::IntOrString::Str("http"), 0},
                  {"metrics", "TCP", 9090, api::IntOrString::Int(9090), 0}};
  s.spec.cluster_ip = "10.96.0.10";
  s.spec.type = "ClusterIP";
  s.spec.session_affinity = "ClientIP";
  s.spec.session_affinity_config = api::SessionAffinityConfig{api::ClientIpConfig{10800}};
  return s;
}

inline api::Endpoints MakeEndpoints(std::string name = "web") {
  api::Endpoints e;
  e.metadata = MakeMeta(std::move(name));
  api::EndpointSubset sub;
  sub.addresses = {{"10.1.0.7", "", "node-1", api::ObjectReference{"Pod", "default", "web-1"}}};
  sub.not_ready_addresses = {{"10.1.0.8", "", "node-2", std::nullopt}};
  sub.ports = {{"http", 8080, "TCP"}};
  e.subsets = {sub};
  return e;
}

inline api::Node MakeNode(std::string name = "node-1") {
  api::Node n;
  n.metadata = MakeMeta(std::move(name), "");
  n.spec.pod_cidr = "10.1.0.0/24";
  n.spec.taints = {{"dedicated", "db", "NoSchedule", {}}};
  n.status.capacity = {{"cpu", *Quantity::Parse("2")},
                       {"memory", *Quantity::Parse("24Gi")},
                       {"pods", *Quantity::Parse("110")}};
  n.status.allocatable = n.status.capacity;
  n.status.conditions = {{"Ready", "True", {1'790'000'000'000'000'000}, {}, "KubeletReady", "ok"}};
  n.status.addresses = {{"InternalIP", "10.0.0.1"}, {"Hostname", "node-1"}};
  n.status.node_info.kubelet_version = "v1.29.0-korc";
  n.status.node_info.operating_system = "linux";
  n.status.node_info.architecture = "amd64";
  n.status.daemon_endpoints.kubelet_endpoint.port = 10250;
  return n;
}

inline api::Namespace MakeNamespace(std::string name = "team-a") {
  api::Namespace ns;
  ns.metadata = MakeMeta(std::move(name), "");
  ns.spec.finalizers = {"kubernetes"};
  ns.status.phase = "Active";
  return ns;
}

inline api::KubeEvent MakeKubeEvent(std::string name = "web.1") {
  api::KubeEvent e;
  e.metadata = MakeMeta(std::move(name));
  e.involved_object = {"ReplicationController", "default", "web", "uid-rc", "v1", "41", ""};
  e.reason = "SuccessfulCreate";
  e.message = "Created pod: web-1";
  e.source.component = "replication-controller";
  e.first_timestamp.unix_ns = 1'790'000'000'000'000'000;
  e.last_timestamp.unix_ns = 1'790'000'000'000'000'000;
  e.count = 1;
  e.type = "Normal";
  e.event_time.unix_ns = 1'790'000'000'123'456'000;
  e.reporting_component = "korc-controller-manager";
  return e;
}

// A node's Lease as its kubelet renews it.
inline api::Lease MakeLease(std::string name = "node-1") {
  api::Lease l;
  l.metadata = MakeMeta(name);
  l.metadata.namespace_ = "kube-node-lease";
  l.spec.holder_identity = std::move(name);
  l.spec.lease_duration_seconds = 40;
  l.spec.acquire_time.unix_ns = 1'790'000'000'000'001'000;
  l.spec.renew_time.unix_ns = 1'790'000'010'123'456'000;
  l.spec.lease_transitions = 0;
  return l;
}

// A registry credential as `kubectl create secret docker-registry` makes it, with a value
// that is not text.
inline api::Secret MakeSecret(std::string name = "regcred") {
  api::Secret s;
  s.metadata = MakeMeta(std::move(name));
  s.type = "kubernetes.io/dockerconfigjson";
  s.data[".dockerconfigjson"].value =
      R"({"auths":{"registry.local:5000":{"username":"u","password":"p","auth":"dTpw"}}})";
  s.data["binary"].value = std::string("\0\xff\x01 x", 5);
  return s;
}

}  // namespace korc::testing
