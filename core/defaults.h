// Defaulting: fills what a user may leave out, as Kubernetes' defaulters do
// (restartPolicy Always, protocol TCP, terminationGracePeriodSeconds 30, service type
// ClusterIP, targetPort = port, an RC's selector from its template labels, ...).
//
// Constant defaults come from the schema (Field::Default); the few that depend on other
// fields are the per-type hooks in defaults.cc. Idempotent: defaulting twice changes
// nothing the second time.
#pragma once

#include "core/objects.h"

namespace korc {

void ApplyDefaults(api::Object& object);

}  // namespace korc
