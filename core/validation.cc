#include "core/validation.h"

#include <arpa/inet.h>

#include <nlohmann/json.hpp>
#include <set>
#include <type_traits>

#include "core/cidr.h"
#include "core/codec.h"
#include "core/kinds.h"
#include "core/schema_walk.h"

namespace korc {

namespace {

using detail::FieldPath;
using detail::IsMap;
using detail::IsOptional;
using detail::IsVector;

constexpr std::string_view kDns1123LabelMsg =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
constexpr std::string_view kDns1123SubdomainMsg =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
constexpr std::string_view kDns1035LabelMsg =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
constexpr std::string_view kQualifiedNameMsg =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
constexpr std::string_view kLabelValueMsg =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
constexpr std::string_view kEnvNameMsg =
    "a valid environment variable name must consist of alphabetic characters, digits, '_', "
    "'-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or "
    "'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')";

constexpr std::string_view kConfigKeyMsg =
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    "'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
    "'[-._a-zA-Z0-9]+')";

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

bool MatchesDns1123Label(std::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

std::string MaxLen(size_t n) { return "must be no more than " + std::to_string(n) + " characters"; }

}  // namespace

std::vector<std::string> CheckDns1123Label(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() > 63) out.push_back(MaxLen(63));
  if (!MatchesDns1123Label(v)) out.emplace_back(kDns1123LabelMsg);
  return out;
}

std::vector<std::string> CheckDns1123Subdomain(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() > 253) out.push_back(MaxLen(253));
  bool ok = !v.empty();
  std::string_view rest = v;
  while (ok) {
    auto dot = rest.find('.');
    if (!MatchesDns1123Label(rest.substr(0, dot))) ok = false;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (!ok) out.emplace_back(kDns1123SubdomainMsg);
  return out;
}

std::vector<std::string> CheckDns1035Label(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() > 63) out.push_back(MaxLen(63));
  if (!MatchesDns1123Label(v) || !(v.front() >= 'a' && v.front() <= 'z')) {
    out.emplace_back(kDns1035LabelMsg);
  }
  return out;
}

namespace {
bool MatchesNamePart(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}
}  // namespace

std::vector<std::string> CheckQualifiedName(std::string_view v) {
  std::vector<std::string> out;
  std::string_view name = v;
  auto slash = v.find('/');
  if (slash != std::string_view::npos) {
    std::string_view prefix = v.substr(0, slash);
    name = v.substr(slash + 1);
    if (prefix.empty()) {
      out.emplace_back("prefix part must be non-empty");
    } else {
      for (auto& m : CheckDns1123Subdomain(prefix)) out.push_back("prefix part " + m);
    }
    if (name.find('/') != std::string_view::npos) {
      out.emplace_back(
          "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must "
          "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
          "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') "
          "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')");
      return out;
    }
  }
  if (name.empty()) {
    out.emplace_back("name part must be non-empty");
  } else {
    if (name.size() > 63) out.push_back("name part " + MaxLen(63));
    if (!MatchesNamePart(name)) out.emplace_back(kQualifiedNameMsg);
  }
  return out;
}

std::vector<std::string> CheckLabelValue(std::string_view v) {
  std::vector<std::string> out;
  if (v.empty()) return out;
  if (v.size() > 63) out.push_back(MaxLen(63));
  if (!MatchesNamePart(v)) out.emplace_back(kLabelValueMsg);
  return out;
}

std::vector<std::string> CheckIanaSvcName(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() > 15) out.push_back(MaxLen(15));
  bool letter = false, bad = false;
  for (char c : v) {
    if (c >= 'a' && c <= 'z') letter = true;
    if (!IsLowerAlnum(c) && c != '-') bad = true;
  }
  if (bad)
    out.emplace_back("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (v.find("--") != std::string_view::npos)
    out.emplace_back("must not contain consecutive hyphens");
  if (!letter) out.emplace_back("must contain at least one letter (a-z)");
  if (!v.empty() && (v.front() == '-' || v.back() == '-')) {
    out.emplace_back("must not begin or end with a hyphen");
  }
  return out;
}

std::vector<std::string> CheckConfigMapKey(std::string_view v) {
  std::vector<std::string> out;
  if (v.size() > 253) out.push_back(MaxLen(253));
  bool ok = !v.empty();
  for (char c : v) {
    if (!IsAlnum(c) && c != '-' && c != '_' && c != '.') ok = false;
  }
  if (!ok) out.emplace_back(kConfigKeyMsg);
  if (v == ".") {
    out.emplace_back("must not be '.'");
  } else if (v == "..") {
    out.emplace_back("must not be '..'");
  } else if (v.starts_with("..")) {
    out.emplace_back("must not start with '..'");
  }
  return out;
}

bool IsValidIp(std::string_view v) {
  std::string s(v);
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

namespace {

bool IsStandardResource(std::string_view name) {
  return name == "cpu" || name == "memory" || name == "pods" || name == "ephemeral-storage" ||
         name == "storage" || name.starts_with("hugepages-");
}

// Walks an object by its schema and applies each field's flags; then the per-type hooks.
class Validator {
 public:
  FieldErrors errors;

  void Add(FieldErrorType type, std::string value, std::string detail = {}) {
    errors.push_back({type, path_.Render(), std::move(value), std::move(detail)});
  }
  void AddAt(std::string_view child, FieldErrorType type, std::string value,
             std::string detail = {}) {
    errors.push_back({type, path_.Child(child), std::move(value), std::move(detail)});
  }
  FieldPath& path() { return path_; }

  template <class T>
  void Walk(const T& v) {
    if constexpr (IsOptional<T>::value) {
      if (v) Walk(*v);
    } else if constexpr (IsVector<T>::value) {
      for (size_t i = 0; i < v.size(); ++i) {
        path_.PushIndex(static_cast<int>(i));
        Walk(v[i]);
        path_.Pop();
      }
    } else if constexpr (IsMap<T>::value) {
      if constexpr (schema::Described<typename T::mapped_type>) {
        for (const auto& [k, e] : v) {
          path_.PushMapKey(k);
          Walk(e);
          path_.Pop();
        }
      }
    } else if constexpr (schema::Described<T>) {
      schema::ForEachField<T>([&](const auto& f) {
        path_.Push(f.name);
        CheckField(f, v.*(f.member));
        Walk(v.*(f.member));
        path_.Pop();
      });
      Hook(*this, v);
    }
  }

 private:
  template <class Fd, class V>
  void CheckField(const Fd& f, const V& value) {
    using schema::FieldFlag;
    if constexpr (std::is_same_v<V, std::string>) {
      if (value.empty()) {
        if (f.Has(schema::kRequired)) Add(FieldErrorType::kRequired, {});
        return;
      }
      if (!f.one_of.empty() && !schema::IsOneOf(f.one_of, value)) NotSupported(f.one_of, value);
      auto each = [&](const std::vector<std::string>& msgs) {
        for (const auto& m : msgs) Add(FieldErrorType::kInvalid, GoQuote(value), m);
      };
      if (f.Has(schema::kDns1123Label)) each(CheckDns1123Label(value));
      if (f.Has(schema::kDns1123Subdomain)) each(CheckDns1123Subdomain(value));
      if (f.Has(schema::kIanaSvcName)) each(CheckIanaSvcName(value));
      if (f.Has(schema::kIp) && !IsValidIp(value)) {
        Add(FieldErrorType::kInvalid, GoQuote(value), "must be a valid IP address");
      }
      if (f.Has(schema::kCIdentifier)) {
        bool ok = !(value[0] >= '0' && value[0] <= '9');
        for (char c : value) {
          if (!IsAlnum(c) && c != '_' && c != '-' && c != '.') ok = false;
        }
        if (!ok) Add(FieldErrorType::kInvalid, GoQuote(value), std::string(kEnvNameMsg));
      }
    } else if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
      CheckInt(f, static_cast<int64_t>(value), true);
    } else if constexpr (IsOptional<V>::value) {
      if (!value) {
        if (f.Has(schema::kRequired)) Add(FieldErrorType::kRequired, {});
        return;
      }
      if constexpr (std::is_integral_v<typename V::value_type> &&
                    !std::is_same_v<typename V::value_type, bool>) {
        CheckInt(f, static_cast<int64_t>(*value), false);
      }
    } else if constexpr (IsVector<V>::value) {
      if (value.empty() && f.Has(schema::kRequired)) Add(FieldErrorType::kRequired, {});
      if constexpr (requires { value[0].name; }) {
        if (f.Has(schema::kUniqueNames)) {
          std::set<std::string_view> seen;
          for (size_t i = 0; i < value.size(); ++i) {
            const auto& name = value[i].name;
            if (!name.empty() && !seen.insert(name).second) {
              path_.PushIndex(static_cast<int>(i));
              AddAt("name", FieldErrorType::kDuplicate, GoQuote(name));
              path_.Pop();
            }
          }
        }
      }
    } else if constexpr (std::is_same_v<V, api::StringMap>) {
      if (f.Has(schema::kLabels)) {
        for (const auto& [k, val] : value) {
          for (const auto& m : CheckQualifiedName(k)) Add(FieldErrorType::kInvalid, GoQuote(k), m);
          path_.PushMapKey(k);
          for (const auto& m : CheckLabelValue(val)) {
            Add(FieldErrorType::kInvalid, GoQuote(val), m);
          }
          path_.Pop();
        }
      }
      if (f.Has(schema::kAnnotations)) {
        size_t total = 0;
        for (const auto& [k, val] : value) {
          total += k.size() + val.size();
          for (const auto& m : CheckQualifiedName(std::string_view(k))) {
            Add(FieldErrorType::kInvalid, GoQuote(k), m);
          }
        }
        if (total > 256 * 1024) {
          Add(FieldErrorType::kTooLong, {}, "must have at most 262144 bytes");
        }
      }
    } else if constexpr (std::is_same_v<V, api::ResourceList>) {
      for (const auto& [k, q] : value) {
        path_.PushMapKey(k);
        if (!IsStandardResource(k) && k.find('/') == std::string::npos) {
          Add(FieldErrorType::kInvalid, GoQuote(k),
              "must be a standard resource type or fully qualified");
        } else if (k.find('/') != std::string::npos) {
          for (const auto& m : CheckQualifiedName(k)) Add(FieldErrorType::kInvalid, GoQuote(k), m);
        }
        if (q.Sign() < 0) {
          Add(FieldErrorType::kInvalid, GoQuote(q.ToString()),
              "must be greater than or equal to 0");
        }
        path_.Pop();
      }
    } else if constexpr (std::is_same_v<V, api::IntOrString>) {
      if (value.empty()) {
        if (f.Has(schema::kRequired)) Add(FieldErrorType::kRequired, {});
        return;
      }
      if (f.Has(schema::kPortOrName)) {
        if (value.is_string) {
          for (const auto& m : CheckIanaSvcName(value.str_value)) {
            Add(FieldErrorType::kInvalid, GoQuote(value.str_value), m);
          }
        } else if (value.int_value < 1 || value.int_value > 65535) {
          Add(FieldErrorType::kInvalid, std::to_string(value.int_value),
              "must be between 1 and 65535, inclusive");
        }
      }
    }
  }

  template <class Fd>
  void CheckInt(const Fd& f, int64_t v, bool zero_is_unset) {
    std::string shown = std::to_string(v);
    if (v == 0 && zero_is_unset) {
      if (f.Has(schema::kRequired)) Add(FieldErrorType::kRequired, {});
      return;
    }
    if (f.Has(schema::kPort) && (v < 1 || v > 65535)) {
      Add(FieldErrorType::kInvalid, shown, "must be between 1 and 65535, inclusive");
    }
    // Whether a node port lies in the range is the API server's to say: the range is its
    // flag (--service-node-port-range), and Kubernetes' validation does not know it either.
    if (f.Has(schema::kNodePort) && (v < 1 || v > 65535)) {
      Add(FieldErrorType::kInvalid, shown, "must be between 1 and 65535, inclusive");
    }
    if (f.Has(schema::kNonNegative) && v < 0) {
      Add(FieldErrorType::kInvalid, shown, "must be greater than or equal to 0");
    }
    if (f.Has(schema::kPositive) && v < 1) {
      Add(FieldErrorType::kInvalid, shown, "must be greater than or equal to 1");
    }
  }

  void NotSupported(std::string_view one_of, std::string_view value) {
    std::string supported;
    std::string_view rest = one_of;
    while (true) {
      auto bar = rest.find('|');
      std::string_view alt = rest.substr(0, bar);
      if (!alt.empty()) {
        if (!supported.empty()) supported += ", ";
        supported += GoQuote(alt);
      }
      if (bar == std::string_view::npos) break;
      rest.remove_prefix(bar + 1);
    }
    Add(FieldErrorType::kNotSupported, GoQuote(value), "supported values: " + supported);
  }

  // Per-type rules; the generic one does nothing.
  template <class T>
  static void Hook(Validator&, const T&) {}
  static void Hook(Validator& v, const api::Probe& p);
  static void Hook(Validator& v, const api::PodSpec& p);
  static void Hook(Validator& v, const api::ResourceRequirements& r);
  static void Hook(Validator& v, const api::ServiceSpec& s);
  static void Hook(Validator& v, const api::ReplicationControllerSpec& s);
  static void Hook(Validator& v, const api::NodeSpec& s);
  static void Hook(Validator& v, const api::Secret& s);

  FieldPath path_;
};

void Validator::Hook(Validator& v, const api::Probe& p) {
  int handlers = (p.exec ? 1 : 0) + (p.http_get ? 1 : 0) + (p.tcp_socket ? 1 : 0);
  if (handlers == 0) v.Add(FieldErrorType::kRequired, {}, "must specify a handler type");
  if (handlers > 1)
    v.Add(FieldErrorType::kForbidden, {}, "may not specify more than 1 handler type");
  if (p.exec && p.exec->command.empty()) v.AddAt("exec.command", FieldErrorType::kRequired, {});
}

void Validator::Hook(Validator& v, const api::ResourceRequirements& r) {
  for (const auto& [name, req] : r.requests) {
    auto lim = r.limits.find(name);
    if (lim != r.limits.end() && req.Cmp(lim->second) > 0) {
      v.AddAt("requests", FieldErrorType::kInvalid, GoQuote(req.ToString()),
              "must be less than or equal to " + name + " limit of " + lim->second.ToString());
    }
  }
}

void Validator::Hook(Validator& v, const api::PodSpec& p) {
  std::set<std::string_view> volumes;
  for (const auto& vol : p.volumes) volumes.insert(vol.name);
  for (size_t i = 0; i < p.containers.size(); ++i) {
    const auto& c = p.containers[i];
    for (size_t j = 0; j < c.volume_mounts.size(); ++j) {
      const auto& m = c.volume_mounts[j];
      if (!m.name.empty() && !volumes.contains(m.name)) {
        v.AddAt(
            "containers[" + std::to_string(i) + "].volumeMounts[" + std::to_string(j) + "].name",
            FieldErrorType::kNotFound, GoQuote(m.name));
      }
    }
    std::set<std::string_view> port_names;
    for (size_t j = 0; j < c.ports.size(); ++j) {
      const auto& name = c.ports[j].name;
      if (!name.empty() && !port_names.insert(name).second) {
        v.AddAt("containers[" + std::to_string(i) + "].ports[" + std::to_string(j) + "].name",
                FieldErrorType::kDuplicate, GoQuote(name));
      }
    }
  }
  for (size_t i = 0; i < p.volumes.size(); ++i) {
    if (!p.volumes[i].empty_dir) {
      v.AddAt("volumes[" + std::to_string(i) + "]", FieldErrorType::kRequired, {},
              "must specify a volume type (korc supports emptyDir)");
    }
  }
}

void Validator::Hook(Validator& v, const api::ServiceSpec& s) {
  if (s.type == "ExternalName") {
    if (!s.cluster_ip.empty() || !s.cluster_ips.empty()) {
      v.AddAt("clusterIPs", FieldErrorType::kForbidden, {},
              "may not be set for ExternalName services");
    }
    return;
  }
  if (s.cluster_ip == "None" && (s.type == "NodePort" || s.type == "LoadBalancer")) {
    v.AddAt("clusterIPs[0]", FieldErrorType::kInvalid, GoQuote(s.cluster_ip),
            "may not be set to 'None' for " + s.type + " services");
  }
  if (s.ports.empty()) v.AddAt("ports", FieldErrorType::kRequired, {});
  std::set<std::pair<int32_t, std::string_view>> seen;
  for (size_t i = 0; i < s.ports.size(); ++i) {
    const auto& p = s.ports[i];
    std::string at = "ports[" + std::to_string(i) + "]";
    if (s.ports.size() > 1 && p.name.empty()) v.AddAt(at + ".name", FieldErrorType::kRequired, {});
    if (p.node_port != 0 && s.type == "ClusterIP") {
      v.AddAt(at + ".nodePort", FieldErrorType::kForbidden, {},
              "may not be used when `type` is 'ClusterIP'");
    }
    if (!seen.insert({p.port, p.protocol}).second) {
      v.AddAt(at, FieldErrorType::kDuplicate,
              "core.ServicePort{Name:" + GoQuote(p.name) + ", Protocol:" + GoQuote(p.protocol) +
                  ", Port:" + std::to_string(p.port) + "}");
    }
  }
  if (!s.cluster_ip.empty() && s.cluster_ip != "None" && !IsValidIp(s.cluster_ip)) {
    v.AddAt("clusterIP", FieldErrorType::kInvalid, GoQuote(s.cluster_ip),
            "must be empty, 'None', or a valid IP address");
  }
  if (s.session_affinity_config && s.session_affinity != "ClientIP") {
    v.AddAt("sessionAffinityConfig", FieldErrorType::kInvalid, "",
            "must not be set when sessionAffinity is " + s.session_affinity);
  }
}

std::string GoMap(const api::StringMap& m) {
  std::string out = "map[string]string{";
  bool first = true;
  for (const auto& [k, val] : m) {
    if (!first) out += ", ";
    first = false;
    out += GoQuote(k) + ":" + GoQuote(val);
  }
  return out + "}";
}

void Validator::Hook(Validator& v, const api::ReplicationControllerSpec& s) {
  if (s.selector.empty()) v.AddAt("selector", FieldErrorType::kRequired, {});
  if (!s.template_) return;
  const auto& labels = s.template_->metadata.labels;
  bool matches = !s.selector.empty();
  for (const auto& [k, val] : s.selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != val) matches = false;
  }
  if (!s.selector.empty() && !matches) {
    v.AddAt("template.metadata.labels", FieldErrorType::kInvalid, GoMap(labels),
            "`selector` does not match template `labels`");
  }
  const auto& policy = s.template_->spec.restart_policy;
  if (!policy.empty() && policy != "Always") {
    v.AddAt("template.spec.restartPolicy", FieldErrorType::kNotSupported, GoQuote(policy),
            "supported values: \"Always\"");
  }
}

void Validator::Hook(Validator& v, const api::NodeSpec& s) {
  if (!s.pod_cidr.empty() && !Cidr::Parse(s.pod_cidr)) {
    v.AddAt("podCIDR", FieldErrorType::kInvalid, GoQuote(s.pod_cidr),
            "must be a valid CIDR value, (e.g. 10.9.0.0/16 or 2001:db8::/64)");
  }
  for (size_t i = 0; i < s.pod_cidrs.size(); ++i) {
    if (!Cidr::Parse(s.pod_cidrs[i])) {
      v.AddAt("podCIDRs[" + std::to_string(i) + "]", FieldErrorType::kInvalid,
              GoQuote(s.pod_cidrs[i]),
              "must be a valid CIDR value, (e.g. 10.9.0.0/16 or 2001:db8::/64)");
    }
  }
  if (s.pod_cidrs.size() > 2) {
    v.AddAt("podCIDRs", FieldErrorType::kInvalid, "",
            "may specify no more than one CIDR for each IP family");
  }
}

// Kubernetes shows this instead of a secret value in field errors.
constexpr std::string_view kRedactedValue = "<secret contents redacted>";
constexpr size_t kMaxSecretBytes = 1024 * 1024;  // core.MaxSecretSize

// Why `bytes` would not unmarshal into a Go map[string]interface{}; empty when it would.
// Never quotes the bytes: they are a secret.
std::string NotAJsonObject(std::string_view bytes) {
  auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded()) {
    auto [line, column] = JsonErrorPosition(bytes);
    if (line == 0) return "invalid JSON";
    return "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column);
  }
  if (j.is_object() || j.is_null()) return {};  // Go's Unmarshal takes null too
  std::string type = j.is_array()     ? "array"
                     : j.is_string()  ? "string"
                     : j.is_boolean() ? "bool"
                                      : "number";
  return "json: cannot unmarshal " + type + " into Go value of type map[string]interface {}";
}

// Kubernetes' ValidateSecret: data keys and total size, and what each well-known type
// needs in its data.
void Validator::Hook(Validator& v, const api::Secret& s) {
  auto at = [](std::string_view key) { return "data[" + std::string(key) + "]"; };
  size_t total = 0;
  for (const auto& [key, value] : s.data) {
    for (const auto& m : CheckConfigMapKey(key)) {
      v.AddAt(at(key), FieldErrorType::kInvalid, GoQuote(key), m);
    }
    if (!value.base64_error.empty()) {
      v.AddAt(at(key), FieldErrorType::kInvalid, GoQuote(kRedactedValue), value.base64_error);
    }
    total += value.value.size();
  }
  if (total > kMaxSecretBytes) {
    v.AddAt("data", FieldErrorType::kTooLong, {},
            "must have at most " + std::to_string(kMaxSecretBytes) + " bytes");
  }
  auto json_config = [&](std::string_view key) {
    auto it = s.data.find(std::string(key));
    if (it == s.data.end()) {
      v.AddAt(at(key), FieldErrorType::kRequired, {});
    } else if (it->second.base64_error.empty()) {
      if (std::string why = NotAJsonObject(it->second.value); !why.empty()) {
        v.AddAt(at(key), FieldErrorType::kInvalid, GoQuote(kRedactedValue), why);
      }
    }
  };
  if (s.type == api::kSecretTypeDockerConfigJson) {
    json_config(api::kDockerConfigJsonKey);
  } else if (s.type == api::kSecretTypeDockercfg) {
    json_config(api::kDockerConfigKey);
  } else if (s.type == api::kSecretTypeBasicAuth) {
    // Either may be empty, but one must be there.
    if (!s.data.contains("username") && !s.data.contains("password")) {
      v.AddAt(at("username"), FieldErrorType::kRequired, {});
      v.AddAt(at("password"), FieldErrorType::kRequired, {});
    }
  } else if (s.type == api::kSecretTypeSshAuth) {
    auto it = s.data.find("ssh-privatekey");
    if (it == s.data.end() || it->second.value.empty()) {
      v.AddAt(at("ssh-privatekey"), FieldErrorType::kRequired, {});
    }
  } else if (s.type == api::kSecretTypeTls) {
    for (const char* key : {"tls.crt", "tls.key"}) {
      if (!s.data.contains(key)) v.AddAt(at(key), FieldErrorType::kRequired, {});
    }
  } else if (s.type == api::kSecretTypeServiceAccountToken) {
    constexpr std::string_view kAccount = "kubernetes.io/service-account.name";
    auto it = s.metadata.annotations.find(std::string(kAccount));
    if (it == s.metadata.annotations.end() || it->second.empty()) {
      v.AddAt("metadata.annotations[" + std::string(kAccount) + "]", FieldErrorType::kRequired, {});
    }
  }
}

void ValidateMeta(Validator& v, const KindInfo& kind, const api::ObjectMeta& m) {
  if (m.name.empty()) {
    if (m.generate_name.empty()) {
      v.AddAt("metadata.name", FieldErrorType::kRequired, {}, "name or generateName is required");
    }
  } else {
    std::vector<std::string> msgs;
    switch (kind.name_rule) {
      case NameRule::kDns1123Subdomain:
        msgs = CheckDns1123Subdomain(m.name);
        break;
      case NameRule::kDns1123Label:
        msgs = CheckDns1123Label(m.name);
        break;
      case NameRule::kDns1035Label:
        msgs = CheckDns1035Label(m.name);
        break;
      case NameRule::kPathSegment:
        if (m.name == "." || m.name == "..") msgs.push_back("may not be '.' or '..'");
        if (m.name.find_first_of("/%") != std::string::npos) {
          msgs.push_back("may not contain '/' or '%'");
        }
        break;
    }
    for (const auto& msg : msgs) {
      v.AddAt("metadata.name", FieldErrorType::kInvalid, GoQuote(m.name), msg);
    }
  }
  if (kind.namespaced && m.namespace_.empty()) {
    v.AddAt("metadata.namespace", FieldErrorType::kRequired, {});
  }
  if (!kind.namespaced && !m.namespace_.empty()) {
    v.AddAt("metadata.namespace", FieldErrorType::kForbidden, {}, "not allowed on this type");
  }
}

}  // namespace

FieldErrors Validate(const api::Object& object) {
  Validator v;
  std::visit([&](const auto& o) { v.Walk(o); }, object);
  ValidateMeta(v, KindOf(object), api::Meta(object));
  if (const auto* ev = std::get_if<api::KubeEvent>(&object)) {
    if (ev->involved_object.name.empty() && ev->involved_object.kind.empty()) {
      v.AddAt("involvedObject", FieldErrorType::kRequired, {});
    }
  }
  return std::move(v.errors);
}

FieldErrors ValidateUpdate(const api::Object& current, const api::Object& updated) {
  FieldErrors errors;
  const auto* old_secret = std::get_if<api::Secret>(&current);
  const auto* new_secret = std::get_if<api::Secret>(&updated);
  if (old_secret && new_secret) {
    // Kubernetes' ValidateSecretUpdate. stringData is already in data by now.
    if (old_secret->type != new_secret->type) {
      errors.push_back(
          {FieldErrorType::kInvalid, "type", GoQuote(new_secret->type), "field is immutable"});
    }
    if (old_secret->immutable.value_or(false)) {
      constexpr std::string_view kLocked = "field is immutable when `immutable` is set";
      if (!new_secret->immutable.value_or(false)) {
        errors.push_back({FieldErrorType::kForbidden, "immutable", {}, std::string(kLocked)});
      }
      if (old_secret->data != new_secret->data) {
        errors.push_back({FieldErrorType::kForbidden, "data", {}, std::string(kLocked)});
      }
    }
  }
  const auto* before = std::get_if<api::Node>(&current);
  const auto* after = std::get_if<api::Node>(&updated);
  if (before && after) {
    // Kubernetes' ValidateNodeUpdate: the node IPAM controller may assign a pod CIDR once
    // (from "" to a value); after that, pods on the node hold addresses from it.
    constexpr std::string_view kOnce =
        "node updates may not change podCIDR except from \"\" to valid";
    if (!before->spec.pod_cidr.empty() && before->spec.pod_cidr != after->spec.pod_cidr) {
      errors.push_back({FieldErrorType::kForbidden, "spec.podCIDR", {}, std::string(kOnce)});
    } else if (!before->spec.pod_cidrs.empty() && before->spec.pod_cidrs != after->spec.pod_cidrs) {
      errors.push_back({FieldErrorType::kForbidden, "spec.podCIDRs", {}, std::string(kOnce)});
    }
  }
  return errors;
}

}  // namespace korc
