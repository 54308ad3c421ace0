#include "core/defaults.h"

#include <type_traits>

#include "core/schema_walk.h"

namespace korc {

namespace {

using detail::IsMap;
using detail::IsOptional;
using detail::IsVector;

// Defaults that depend on other fields; run after a struct's own constant defaults.
void PostDefault(api::Container& c) {
  if (c.image_pull_policy.empty()) {
    // Kubernetes: Always for `:latest` or an untagged image, IfNotPresent otherwise.
    std::string_view image = c.image;
    auto slash = image.rfind('/');
    std::string_view last = slash == std::string_view::npos ? image : image.substr(slash + 1);
    bool digest = image.find('@') != std::string_view::npos;
    auto colon = last.find(':');
    bool latest =
        !digest && (colon == std::string_view::npos || last.substr(colon + 1) == "latest");
    c.image_pull_policy = latest ? "Always" : "IfNotPresent";
  }
}

void PostDefault(api::ServicePort& p) {
  if (p.target_port.empty()) p.target_port = api::IntOrString::Int(p.port);
}

void PostDefault(api::ServiceSpec& s) {
  // As Kubernetes' SetDefaults_Service: turning affinity off drops its config, so a patch of
  // sessionAffinity back to None is valid without also nulling sessionAffinityConfig.
  if (s.session_affinity == "None") s.session_affinity_config.reset();
  if (s.session_affinity == "ClientIP") {
    if (!s.session_affinity_config) s.session_affinity_config.emplace();
    auto& cfg = s.session_affinity_config->client_ip;
    if (!cfg) cfg.emplace();
    if (!cfg->timeout_seconds) cfg->timeout_seconds = 10800;  // 3 hours, as Kubernetes
  }
  if ((s.type == "NodePort" || s.type == "LoadBalancer") && s.external_traffic_policy.empty()) {
    s.external_traffic_policy = "Cluster";
  }
  if (s.type != "ExternalName" && s.internal_traffic_policy.empty()) {
    s.internal_traffic_policy = "Cluster";
  }
  if (!s.cluster_ip.empty() && s.cluster_ips.empty()) s.cluster_ips = {s.cluster_ip};
}

void PostDefault(api::ReplicationController& rc) {
  if (rc.spec.template_) {
    const auto& labels = rc.spec.template_->metadata.labels;
    if (rc.spec.selector.empty()) rc.spec.selector = labels;
    if (rc.metadata.labels.empty()) rc.metadata.labels = labels;
  }
}

void PostDefault(api::Namespace& ns) {
  if (ns.status.phase.empty()) ns.status.phase = "Active";
}

// The v1 API has both podCIDR and podCIDRs; Kubernetes keeps them in step (podCIDR is
// podCIDRs[0]). One given alone fills the other; both given are left for validation, so a
// change of either is seen (and refused) by ValidateUpdate.
void PostDefault(api::NodeSpec& s) {
  if (s.pod_cidr.empty() && !s.pod_cidrs.empty()) {
    s.pod_cidr = s.pod_cidrs[0];
  } else if (!s.pod_cidr.empty() && s.pod_cidrs.empty()) {
    s.pod_cidrs = {s.pod_cidr};
  }
}

// stringData is write-only, as in Kubernetes (which merges it while converting from v1):
// its keys go into data, overriding what data had under the same key, and it is never
// stored. Running this on every create, update and patch result is what makes
// `kubectl create secret generic --from-literal` and stringData patches work.
void PostDefault(api::Secret& s) {
  for (auto& [key, value] : s.string_data) s.data[key] = api::Bytes{std::move(value), {}};
  s.string_data.clear();
}

template <class T>
struct IsOptionalInt : std::false_type {};
template <class T>
struct IsOptionalInt<std::optional<T>> : std::bool_constant<std::is_integral_v<T>> {};

template <class T>
concept HasPostDefault = requires(T& t) {
  PostDefault(t);
};

template <class T>
void Default(T& v) {
  if constexpr (IsOptional<T>::value) {
    if (v) Default(*v);
  } else if constexpr (IsVector<T>::value) {
    for (auto& e : v) Default(e);
  } else if constexpr (IsMap<T>::value) {
    if constexpr (schema::Described<typename T::mapped_type>) {
      for (auto& [k, e] : v) Default(e);
    }
  } else if constexpr (schema::Described<T>) {
    schema::ForEachField<T>([&](const auto& f) {
      auto& value = v.*(f.member);
      using V = std::remove_cvref_t<decltype(value)>;
      if constexpr (std::is_same_v<V, std::string>) {
        if (value.empty() && !f.default_string.empty()) value = f.default_string;
      } else if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
        if (value == 0 && f.has_default_int) value = static_cast<V>(f.default_int);
      } else if constexpr (IsOptionalInt<V>::value) {
        if (!value && f.has_default_int) value = static_cast<typename V::value_type>(f.default_int);
      } else {
        Default(value);
      }
    });
    if constexpr (HasPostDefault<T>) PostDefault(v);
  }
}

}  // namespace

void ApplyDefaults(api::Object& object) {
  std::visit([](auto& o) { Default(o); }, object);
}

}  // namespace korc
