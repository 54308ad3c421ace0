// `korc describe` text: pure functions from API objects (and the objects related to them,
// fetched by the caller) to the layout `kubectl describe` prints.
//
// Each describer writes "Label:\tvalue" lines that TabAlign lines up as Go's text/tabwriter
// does for kubectl (minwidth 0, padding 2, spaces), then an "Events:" section: the Events
// whose involvedObject is the described object, oldest first, or "<none>".
//
// Thread-safety: plain functions over values; no I/O, no clock (now comes in the options).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/objects.h"

namespace korc::cli {

struct DescribeOptions {
  int64_t now_ns = 0;  // "now", for ages ("5m") in the Events table and the Node's pods
  bool utc = false;    // print timestamps in UTC rather than the local time zone
};

// What a describer shows beside the object itself; the caller fetches it from the API.
struct Related {
  std::vector<api::KubeEvent> events;  // involving the object
  // ReplicationController: the pods its selector picks (only those it controls count).
  // Node: its non-terminated pods.
  std::vector<api::Pod> pods;
  std::optional<api::Endpoints> endpoints;  // Service: the Endpoints of the same name
};

// The describer for any served kind.
std::string DescribeObject(const api::Object& object, const Related& related,
                           const DescribeOptions& options);

std::string DescribePod(const api::Pod& pod, const std::vector<api::KubeEvent>& events,
                        const DescribeOptions& options);
std::string DescribeReplicationController(const api::ReplicationController& rc,
                                          const std::vector<api::Pod>& pods,
                                          const std::vector<api::KubeEvent>& events,
                                          const DescribeOptions& options);
// `endpoints` may be null (no Endpoints object yet).
std::string DescribeService(const api::Service& service, const api::Endpoints* endpoints,
                            const std::vector<api::KubeEvent>& events,
                            const DescribeOptions& options);
std::string DescribeEndpoints(const api::Endpoints& endpoints,
                              const std::vector<api::KubeEvent>& events,
                              const DescribeOptions& options);
std::string DescribeNode(const api::Node& node, const std::vector<api::Pod>& pods,
                         const std::vector<api::KubeEvent>& events, const DescribeOptions& options);
std::string DescribeNamespace(const api::Namespace& ns, const std::vector<api::KubeEvent>& events,
                              const DescribeOptions& options);
std::string DescribeKubeEvent(const api::KubeEvent& event,
                              const std::vector<api::KubeEvent>& events,
                              const DescribeOptions& options);
// Kubernetes has no dedicated Lease describer; this follows its generic one (the object's
// fields, title-cased).
std::string DescribeLease(const api::Lease& lease, const std::vector<api::KubeEvent>& events,
                          const DescribeOptions& options);

// kubectl's Secret describer: type, then each data key with its size ("password:  6 bytes"),
// never its value.
std::string DescribeSecret(const api::Secret& secret, const DescribeOptions& options);

// A pod's quality-of-service class as Kubernetes computes it from its containers' cpu and
// memory requests and limits: "Guaranteed", "Burstable" or "BestEffort".
std::string PodQosClass(const api::PodSpec& spec);

// Lines of tab-separated cells aligned as Go's text/tabwriter with kubectl's settings: a
// column is a run of adjacent lines that have a cell there, as wide as its widest cell plus
// two spaces; the text after a line's last tab belongs to no column.
std::string TabAlign(std::string_view text);

}  // namespace korc::cli
