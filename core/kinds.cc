#include "core/kinds.h"

#include <array>

namespace korc {

namespace {

template <class T>
constexpr size_t IndexOf() {
  size_t i = 0;
  bool found = false;
  [&]<size_t... Is>(std::index_sequence<Is...>) {
    ((!found && std::is_same_v<T, std::variant_alternative_t<Is, api::Object>>
          ? (found = true, i = Is, 0)
          : 0),
     ...);
  }
  (std::make_index_sequence<std::variant_size_v<api::Object>>());
  return i;
}

constexpr std::array kKinds = {
    KindInfo{"Pod", "pods", "pod", "po", true, NameRule::kDns1123Subdomain, IndexOf<api::Pod>()},
    KindInfo{"ReplicationController", "replicationcontrollers", "replicationcontroller", "rc", true,
             NameRule::kDns1123Subdomain, IndexOf<api::ReplicationController>()},
    KindInfo{"Service", "services", "service", "svc", true, NameRule::kDns1035Label,
             IndexOf<api::Service>()},
    KindInfo{"Endpoints", "endpoints", "endpoints", "ep", true, NameRule::kDns1123Subdomain,
             IndexOf<api::Endpoints>()},
    KindInfo{"Node", "nodes", "node", "no", false, NameRule::kDns1123Subdomain,
             IndexOf<api::Node>()},
    KindInfo{"Namespace", "namespaces", "namespace", "ns", false, NameRule::kDns1123Label,
             IndexOf<api::Namespace>()},
    KindInfo{"Event", "events", "event", "ev", true, NameRule::kPathSegment,
             IndexOf<api::KubeEvent>()},
    KindInfo{"Secret", "secrets", "secret", "", true, NameRule::kDns1123Subdomain,
             IndexOf<api::Secret>()},
    KindInfo{"Lease", "leases", "lease", "", true, NameRule::kDns1123Subdomain,
             IndexOf<api::Lease>(), "coordination.k8s.io", "coordination.k8s.io/v1"},
};

bool EqualFold(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

template <size_t... Is>
api::Object MakeAt(size_t index, std::index_sequence<Is...>) {
  api::Object out;
  ((index == Is ? (out.emplace<Is>(), 0) : 0), ...);
  return out;
}

}  // namespace

std::span<const KindInfo> Kinds() { return kKinds; }

const KindInfo* FindKind(std::string_view kind) {
  for (const auto& k : kKinds) {
    if (k.kind == kind) return &k;
  }
  return nullptr;
}

const KindInfo* FindResource(std::string_view name) {
  for (const auto& k : kKinds) {
    if (EqualFold(name, k.resource) || EqualFold(name, k.singular) || EqualFold(name, k.kind) ||
        (!k.short_name.empty() && EqualFold(name, k.short_name))) {
      return &k;
    }
  }
  return nullptr;
}

const KindInfo& KindOf(const api::Object& object) {
  for (const auto& k : kKinds) {
    if (k.variant_index == object.index()) return k;
  }
  __builtin_unreachable();  // every alternative is registered (checked by kinds tests)
}

api::Object NewObject(const KindInfo& info) {
  return MakeAt(info.variant_index, std::make_index_sequence<std::variant_size_v<api::Object>>());
}

}  // namespace korc
