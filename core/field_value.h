// Field selectors over objects: which fields a kind can be selected by
// (`metadata.name`, `spec.nodeName`, `status.phase`, `involvedObject.name`, ...) and the
// value of such a field, read through the schema so no field is named twice.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/kinds.h"
#include "core/objects.h"
#include "core/selector.h"
#include "core/status.h"

namespace korc {

// Whether `field` may be used in a field selector for `kind`, as Kubernetes allows.
bool IsSelectableField(const KindInfo& kind, std::string_view field);

// The value of a dotted field path ("spec.nodeName") as a string (booleans "true"/"false",
// numbers in decimal, unset fields ""); nullopt when the path names no scalar field.
std::optional<std::string> FieldValue(const api::Object& object, std::string_view path);

// BadRequest naming the first field the selector uses that `kind` does not support
// ("field label not supported: spec.foo").
Status CheckFieldSelector(const KindInfo& kind, const FieldSelector& selector);

// Whether `object` satisfies both selectors (either may be empty).
bool MatchesSelectors(const api::Object& object, const LabelSelector& labels,
                      const FieldSelector& fields);

}  // namespace korc
