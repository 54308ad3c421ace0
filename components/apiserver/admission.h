// Admission: the one path every new or changed object takes before the sequencer gives it a
// seq — namespace filled, defaults applied, unknown fields warned about or refused,
// validation, and the server-set metadata (uid, creationTimestamp, resourceVersion,
// generation). HTTP handlers, the bus command channel and the offline `korc import` all call
// these functions, so an object is admitted the same way whichever door it came through.
//
// Thread-safety: free functions over values; NewUid() is safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/codec.h"
#include "core/event.h"
#include "core/field_error.h"
#include "core/objects.h"
#include "core/status.h"

namespace korc::apiserver {

// kubectl's --validate / the API's fieldValidation query parameter.
enum class FieldValidation { kIgnore, kWarn, kStrict };

struct AdmitOptions {
  std::string default_namespace = "default";
  FieldValidation field_validation = FieldValidation::kWarn;
};

// The object as a create would store it (before the server-set fields), or why it cannot
// be created: BadRequest for unknown fields under kStrict ("strict decoding error: unknown
// field \"spec.foo\""), Invalid with every field error otherwise. Warnings (unknown fields
// under kWarn) are appended to `warnings`.
// `field_errors`, when given, receives the validation errors one by one (the API server
// reports them as metav1.Status causes).
Result<api::Object> AdmitNew(Decoded decoded, const AdmitOptions& options,
                             std::vector<std::string>* warnings,
                             FieldErrors* field_errors = nullptr);

// Defaults `object` and validates it; Invalid (with `field_errors` filled when given) when
// it breaks a rule. Updates and patches take this path for their result.
Status DefaultAndValidate(api::Object& object, FieldErrors* field_errors = nullptr);

// Kubernetes' "unknown field" policy applied to a decoded body: BadRequest under kStrict,
// warnings under kWarn.
Status CheckUnknownFields(const std::vector<std::string>& unknown, FieldValidation policy,
                          std::vector<std::string>* warnings);

// Sets what the server owns on a new object committed at `seq`: uid, creationTimestamp,
// resourceVersion, generation 1, and a name from generateName when it has none.
void StampCreated(api::Object& object, uint64_t seq, int64_t now_ns);

// Carries the server-owned fields of `current` over to `updated` (uid, creationTimestamp,
// name, namespace), bumps generation when the spec changed, and sets resourceVersion to seq.
void StampUpdated(const api::Object& current, api::Object& updated, uint64_t seq);

// The log record of a committed change to `object`.
Event MakeEvent(EventType type, const api::Object& object, uint64_t seq, int64_t now_ns,
                std::string actor, std::string reason, uint64_t cause = 0);

// A random RFC 4122 version-4 UUID.
std::string NewUid();

}  // namespace korc::apiserver
