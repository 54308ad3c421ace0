#include "core/field_value.h"

#include <algorithm>
#include <type_traits>

#include "core/schema_walk.h"

namespace korc {

namespace {

// Walks `path` one dotted segment at a time through T's schema.
template <class T>
std::optional<std::string> Lookup(const T& v, std::string_view path) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (path.empty()) return v;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (path.empty()) return v ? "true" : "false";
  } else if constexpr (std::is_integral_v<T>) {
    if (path.empty()) return std::to_string(v);
  } else if constexpr (detail::IsOptional<T>::value) {
    if (v) return Lookup(*v, path);
    return Lookup(typename T::value_type{}, path);
  } else if constexpr (schema::Described<T>) {
    auto dot = path.find('.');
    std::string_view head = path.substr(0, dot);
    std::string_view rest = dot == std::string_view::npos ? "" : path.substr(dot + 1);
    if (head.empty()) return std::nullopt;
    std::optional<std::string> out;
    schema::VisitField<T>(head, [&](const auto& f) { out = Lookup(v.*(f.member), rest); });
    return out;
  }
  return std::nullopt;
}

constexpr std::string_view kCommon[] = {"metadata.name", "metadata.namespace"};

}  // namespace

bool IsSelectableField(const KindInfo& kind, std::string_view field) {
  if (std::find(std::begin(kCommon), std::end(kCommon), field) != std::end(kCommon)) return true;
  static const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> kByKind = {
      {"Pod",
       {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
        "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}},
      {"ReplicationController", {"status.replicas"}},
      {"Node", {"spec.unschedulable"}},
      {"Namespace", {"status.phase"}},
      {"Secret", {"type"}},
      {"Event",
       {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
        "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
        "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"}},
  };
  for (const auto& [k, fields] : kByKind) {
    if (k == kind.kind) return std::find(fields.begin(), fields.end(), field) != fields.end();
  }
  return false;
}

std::optional<std::string> FieldValue(const api::Object& object, std::string_view path) {
  if (path == "source") {  // Events: the source component, as Kubernetes selects it
    if (const auto* e = std::get_if<api::KubeEvent>(&object)) return e->source.component;
  }
  return std::visit([&](const auto& o) { return Lookup(o, path); }, object);
}

Status CheckFieldSelector(const KindInfo& kind, const FieldSelector& selector) {
  for (const auto& f : selector.Fields()) {
    if (!IsSelectableField(kind, f)) {
      return Status::BadRequest("field label not supported: " + f);
    }
  }
  return Status::Ok();
}

bool MatchesSelectors(const api::Object& object, const LabelSelector& labels,
                      const FieldSelector& fields) {
  if (!labels.Empty() && !labels.Matches(api::Meta(object).labels)) return false;
  if (fields.Empty()) return true;
  return fields.Matches([&](std::string_view f) { return FieldValue(object, f); });
}

}  // namespace korc
