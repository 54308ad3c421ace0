// PATCH bodies applied to a stored object: JSON patch (RFC 6902), JSON merge patch
// (RFC 7386) and Kubernetes' strategic merge patch for the core kinds korc serves. The API
// server encodes the current object, calls ApplyPatch, then decodes, admits and stores the
// result like an update; this module only transforms JSON.
//
// Errors follow the Kubernetes API server (k8s.io/apiserver handlers/patch.go):
//   - BadRequest (400): a body that is not JSON or has the wrong shape (a JSON patch that is
//     not an array of operation objects, an operation without "op"/"path"/"value"/"from",
//     an unknown op, a JSON pointer that does not start with "/"; a merge or strategic patch
//     that is not an object; a bad strategic directive or a list element without its merge
//     key).
//   - Invalid (422): a well-formed JSON patch operation that cannot be applied to this
//     object — a "test" that fails, a path that does not exist for remove/replace/move/copy,
//     an array index out of range. Kubernetes answers these with 422 too.
//   - TooLarge (413): a JSON patch with more than 10000 operations, as Kubernetes refuses.
//   - UnsupportedMediaType (415): a strategic merge patch for a kind that has no schema.
//   - Internal: `original_json` is not a JSON object (korc wrote it, so that is a bug).
//
// Thread-safety: free functions over values; reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace korc::apiserver {

enum class PatchType {
  kJsonPatch,            // application/json-patch+json
  kMergePatch,           // application/merge-patch+json
  kStrategicMergePatch,  // application/strategic-merge-patch+json
};

// The patch type a request's Content-Type names, ignoring parameters ("; charset=utf-8") and
// letter case; nullopt for anything else (the server answers 415 Unsupported Media Type).
std::optional<PatchType> ParsePatchType(std::string_view content_type);

// Applies `patch_body` to `original_json`, an object of `kind` (the kind name, "Pod"; a
// resource name such as "pods" is accepted too; "Scale" for the autoscaling/v1 Scale of the
// scale subresource) as EncodeJson wrote it, and returns the
// patched object as compact JSON. `kind` matters only for kStrategicMergePatch, whose list
// merge keys come from the kind's schema:
//   - maps merge recursively, `null` deletes a key;
//   - keyed lists merge element by element: containers/initContainers/ephemeralContainers,
//     volumes and imagePullSecrets by `name`; container ports by `containerPort`, env by
//     `name`, volumeMounts by `mountPath`; pod status conditions by `type`,
//     containerStatuses by `name`, podIPs by `ip`; Service ports by `port`; Node
//     conditions and addresses by `type`; RC status conditions by `type`;
//     metadata.ownerReferences by `uid` (a ReplicationController's spec.template.spec is a
//     Pod spec);
//   - metadata.finalizers and Node spec.podCIDRs merge as sets of values;
//   - every other list (tolerations, command, args, Endpoints subsets, ...) is replaced;
//   - directives: `$patch: replace|delete|merge` (in a map or a list element),
//     `$setElementOrder/<list>`, `$retainKeys`, `$deleteFromPrimitiveList/<list>`.
//     No directive key ever reaches the result.
Result<std::string> ApplyPatch(std::string_view kind, std::string_view original_json,
                               std::string_view patch_body, PatchType type);

}  // namespace korc::apiserver
