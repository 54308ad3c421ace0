// Server-side printing: the meta.k8s.io/v1 Table kubectl asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. The columns and cells are the ones
// the Kubernetes API server prints for the core kinds (k8s.io/kubernetes
// pkg/printers/internalversion, 1.32), always with the `-o wide` columns, which carry
// priority 1 so that kubectl shows them only with `-o wide`.
//
//   pods:                   Name, Ready, Status, Restarts, Age | IP, Node, Nominated Node,
//                           Readiness Gates
//   replicationcontrollers: Name, Desired, Current, Ready, Age | Containers, Images, Selector
//   services:               Name, Type, Cluster-IP, External-IP, Port(s), Age | Selector
//   endpoints:              Name, Endpoints, Age
//   nodes:                  Name, Status, Roles, Age, Version | Internal-IP, External-IP,
//                           OS-Image, Kernel-Version, Container-Runtime
//   namespaces:             Name, Status, Age
//   events:                 Last Seen, Type, Reason, Object, Subobject|, Source|, Message,
//                           First Seen|, Count|, Name|   (| = priority 1)
//   leases:                 Name, Holder, Age   (coordination.k8s.io/v1)
//   secrets:                Name, Type, Data (the number of keys), Age
//
// Cells are JSON strings except integer columns (RC Desired/Current/Ready), the event
// Count and the secret Data, which are numbers as the real server sends them. Pod Restarts is a
// string since Kubernetes 1.22: "3 (10s ago)" when a container has restarted.
//
// Thread-safety: pure functions; reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/kinds.h"
#include "core/objects.h"

namespace korc::apiserver {

// The JSON of a Table of `objects` (all of `kind`; others are skipped), in the given order:
//   {"kind":"Table","apiVersion":"meta.k8s.io/v1",
//    "metadata":{"resourceVersion":list_resource_version},
//    "columnDefinitions":[{"name","type","format","description","priority"},...],
//    "rows":[{"cells":[...],"object":{...}},...]}
// Each row's `object` is a meta.k8s.io/v1 PartialObjectMetadata carrying the full
// ObjectMeta (kubectl needs it for -A and --show-labels), or the whole object (EncodeJson)
// when `include_object` (the query's includeObject=Object). Pod rows of Succeeded or Failed
// pods carry the row condition `Completed` as the real server's do. Ages are relative to
// `now_ns` (Unix nanoseconds). `include_column_definitions` false leaves the column
// definitions out, as the real server does for every watch event after the first.
std::string RenderTable(const KindInfo& kind, const std::vector<const api::Object*>& objects,
                        std::string_view list_resource_version, bool include_object, int64_t now_ns,
                        bool include_column_definitions = true);

// Kubernetes' duration.HumanDuration: "5s", "3m20s", "15m", "5h", "7h30m", "2d3h", "45d",
// "2y30d", "10y"; "0s" for -1s, "<invalid>" further in the past.
std::string HumanDuration(int64_t duration_ns);

}  // namespace korc::apiserver
