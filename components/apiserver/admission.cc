#include "components/apiserver/admission.h"

#include <cstdio>
#include <random>

#include "core/defaults.h"
#include "core/field_error.h"
#include "core/kinds.h"
#include "core/validation.h"

namespace korc::apiserver {

namespace {

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

// Kubernetes' generateName alphabet: no vowels (no accidental words), no confusable digits.
std::string RandomSuffix() {
  static constexpr std::string_view kAlphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (int i = 0; i < 5; ++i) s += kAlphabet[Rng()() % kAlphabet.size()];
  return s;
}

// Whether a change touches the spec-like part of an object (what bumps generation).
bool SameSpec(const api::Object& a, const api::Object& b) {
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (requires { x.spec; }) {
          return x.spec == y.spec;
        } else if constexpr (std::is_same_v<T, api::Endpoints>) {
          return x.subsets == y.subsets;
        } else {
          return true;
        }
      },
      a);
}

// Kubernetes' QoS classes: Guaranteed when every container limits cpu and memory and
// requests equal limits; BestEffort when nothing is requested or limited; else Burstable.
std::string QosClass(const api::Pod& pod) {
  bool any = false, guaranteed = true;
  for (const auto& c : pod.spec.containers) {
    const auto& req = c.resources.requests;
    const auto& lim = c.resources.limits;
    any = any || !req.empty() || !lim.empty();
    for (const char* r : {"cpu", "memory"}) {
      auto l = lim.find(r);
      if (l == lim.end()) {
        guaranteed = false;
        continue;
      }
      auto q = req.find(r);
      if (q != req.end() && q->second.Cmp(l->second) != 0) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

}  // namespace

std::string NewUid() {
  uint64_t a = Rng()(), b = Rng()();
  a = (a & 0xffffffffffff0fffull) | 0x0000000000004000ull;  // version 4
  b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;  // RFC 4122 variant
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffull));
  return buf;
}

Status CheckUnknownFields(const std::vector<std::string>& unknown, FieldValidation policy,
                          std::vector<std::string>* warnings) {
  if (policy == FieldValidation::kStrict && !unknown.empty()) {
    std::string msg = "strict decoding error: ";
    for (size_t i = 0; i < unknown.size(); ++i) {
      if (i) msg += ", ";
      msg += "unknown field " + GoQuote(unknown[i]);
    }
    return Status::BadRequest(std::move(msg));
  }
  if (policy == FieldValidation::kWarn && warnings) {
    for (const auto& f : unknown) warnings->push_back("unknown field " + GoQuote(f));
  }
  return Status::Ok();
}

Status DefaultAndValidate(api::Object& object, FieldErrors* field_errors) {
  ApplyDefaults(object);
  FieldErrors errors = Validate(object);
  if (errors.empty()) return Status::Ok();
  const api::ObjectMeta& meta = api::Meta(object);
  Status st = InvalidStatus(KindOf(object).kind, meta.name.empty() ? meta.generate_name : meta.name,
                            errors);
  if (field_errors) *field_errors = std::move(errors);
  return st;
}

Result<api::Object> AdmitNew(Decoded decoded, const AdmitOptions& options,
                             std::vector<std::string>* warnings, FieldErrors* field_errors) {
  KORC_RETURN_IF_ERROR(
      CheckUnknownFields(decoded.unknown_fields, options.field_validation, warnings));
  api::Object obj = std::move(decoded.object);
  api::ObjectMeta& meta = api::Meta(obj);
  if (KindOf(obj).namespaced && meta.namespace_.empty()) {
    meta.namespace_ = options.default_namespace;
  }
  KORC_RETURN_IF_ERROR(DefaultAndValidate(obj, field_errors));
  return obj;
}

void StampCreated(api::Object& object, uint64_t seq, int64_t now_ns) {
  api::ObjectMeta& m = api::Meta(object);
  if (m.name.empty()) m.name = m.generate_name + RandomSuffix();
  m.uid = NewUid();
  m.creation_timestamp.unix_ns = now_ns - now_ns % 1'000'000'000;  // Time has second precision
  m.resource_version = std::to_string(seq);
  m.generation = 1;
  m.deletion_timestamp = {};
  m.deletion_grace_period_seconds.reset();
  if (auto* pod = std::get_if<api::Pod>(&object)) {
    // A new Pod has not been scheduled or started: Pending, with the QoS class its
    // containers' requests and limits give it.
    if (pod->status.phase.empty()) pod->status.phase = "Pending";
    if (pod->status.qos_class.empty()) pod->status.qos_class = QosClass(*pod);
  }
}

void StampUpdated(const api::Object& current, api::Object& updated, uint64_t seq) {
  const api::ObjectMeta& cur = api::Meta(current);
  api::ObjectMeta& m = api::Meta(updated);
  m.name = cur.name;
  m.namespace_ = cur.namespace_;
  m.uid = cur.uid;
  m.creation_timestamp = cur.creation_timestamp;
  m.generation = SameSpec(current, updated) ? cur.generation : cur.generation + 1;
  m.resource_version = std::to_string(seq);
}

Event MakeEvent(EventType type, const api::Object& object, uint64_t seq, int64_t now_ns,
                std::string actor, std::string reason, uint64_t cause) {
  const api::ObjectMeta& m = api::Meta(object);
  Event e;
  e.seq = seq;
  e.time_ns = now_ns;
  e.type = type;
  e.kind = KindOf(object).kind;
  e.ns = m.namespace_;
  e.name = m.name;
  e.uid = m.uid;
  e.object = EncodeJson(object);
  e.actor = std::move(actor);
  e.cause = cause;
  e.reason = std::move(reason);
  return e;
}

}  // namespace korc::apiserver
