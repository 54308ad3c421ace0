#include "components/reactor/reducer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/codec.h"

namespace korc::reactor {

bool View::Keeps(std::string_view kind) const {
  return kinds_.empty() || std::find(kinds_.begin(), kinds_.end(), kind) != kinds_.end();
}

Status View::Apply(const Event& e, std::optional<api::Object>* previous) {
  Advance(e.seq);
  if (previous) previous->reset();
  if (!Keeps(e.kind)) return Status::Ok();
  std::string key = ObjectKey(e.kind, e.ns, e.name);
  if (e.type == EventType::kDeleted) {
    auto it = items_.find(key);
    if (it != items_.end()) {
      IndexPod(key, &it->second.object, nullptr);
      if (previous) *previous = std::move(it->second.object);
      items_.erase(it);
    }
    return Status::Ok();
  }
  auto object = DecodeJson(e.object);
  if (!object.ok()) {
    return Status::Corruption("event " + std::to_string(e.seq) + " (" + key +
                              "): " + object.status().message());
  }
  auto [it, inserted] = items_.try_emplace(std::move(key));
  ViewItem& item = it->second;
  IndexPod(it->first, inserted ? nullptr : &item.object, &object->object);
  if (previous && !inserted) *previous = std::move(item.object);
  item.object = std::move(object->object);
  item.seq = e.seq;
  item.time_ns = e.time_ns;
  return Status::Ok();
}

void View::IndexPod(const std::string& key, const api::Object* before, const api::Object* after) {
  const auto* b = before ? std::get_if<api::Pod>(before) : nullptr;
  const auto* a = after ? std::get_if<api::Pod>(after) : nullptr;
  const std::string* from = b && !b->spec.node_name.empty() ? &b->spec.node_name : nullptr;
  const std::string* to = a && !a->spec.node_name.empty() ? &a->spec.node_name : nullptr;
  if (from && to && *from == *to) return;
  if (from) {
    auto it = pods_by_node_.find(*from);
    if (it != pods_by_node_.end()) {
      it->second.erase(key);
      if (it->second.empty()) pods_by_node_.erase(it);
    }
  }
  if (to) pods_by_node_[*to].insert(key);
}

std::vector<const api::Pod*> View::PodsOnNode(std::string_view node) const {
  std::vector<const api::Pod*> out;
  auto it = pods_by_node_.find(node);
  if (it == pods_by_node_.end()) return out;
  out.reserve(it->second.size());
  for (const auto& key : it->second) {
    auto item = items_.find(key);
    if (item == items_.end()) continue;
    if (const auto* pod = std::get_if<api::Pod>(&item->second.object)) out.push_back(pod);
  }
  return out;
}

const ViewItem* View::Find(std::string_view kind, std::string_view ns,
                           std::string_view name) const {
  auto it = items_.find(ObjectKey(kind, ns, name));
  return it == items_.end() ? nullptr : &it->second;
}

std::vector<const ViewItem*> View::List(std::string_view kind, std::string_view ns) const {
  std::string prefix = std::string(kind) + "/";
  if (!ns.empty()) prefix.append(ns).push_back('/');
  std::vector<const ViewItem*> out;
  for (auto it = items_.lower_bound(prefix);
       it != items_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
    out.push_back(&it->second);
  }
  return out;
}

std::string NamespacedKey(std::string_view ns, std::string_view name) {
  std::string key;
  key.reserve(ns.size() + name.size() + 1);
  key.append(ns).push_back('/');
  key.append(name);
  return key;
}

std::string_view VerbName(Verb v) {
  switch (v) {
    case Verb::kCreate:
      return "create";
    case Verb::kUpdate:
      return "update";
    case Verb::kUpdateStatus:
      return "status";
    case Verb::kPatch:
      return "patch";
    case Verb::kDelete:
      return "delete";
    case Verb::kBind:
      return "bind";
  }
  return "unknown";
}

namespace {
Command ForObject(Verb verb, const api::Object& object, std::string reason) {
  const api::ObjectMeta& m = api::Meta(object);
  Command c;
  c.verb = verb;
  c.kind = std::string(KindOf(object).kind);
  c.ns = m.namespace_;
  c.name = m.name;
  c.body = EncodeJson(object);
  c.reason = std::move(reason);
  return c;
}
}  // namespace

Command Command::Create(const api::Object& object, std::string reason) {
  return ForObject(Verb::kCreate, object, std::move(reason));
}

Command Command::Update(const api::Object& object, std::string reason) {
  return ForObject(Verb::kUpdate, object, std::move(reason));
}

Command Command::UpdateStatus(const api::Object& object, std::string reason) {
  return ForObject(Verb::kUpdateStatus, object, std::move(reason));
}

Command Command::Patch(std::string kind, std::string ns, std::string name, std::string merge_patch,
                       std::string reason) {
  return Command{Verb::kPatch,
                 std::move(kind),
                 std::move(ns),
                 std::move(name),
                 std::move(merge_patch),
                 std::move(reason),
                 {}};
}

Command Command::Delete(std::string kind, std::string ns, std::string name, std::string uid,
                        std::string reason, std::string propagation) {
  nlohmann::json opts = nlohmann::json::object();
  if (!uid.empty()) opts["preconditions"]["uid"] = uid;
  if (!propagation.empty()) opts["propagationPolicy"] = propagation;
  std::string body = opts.empty() ? std::string() : opts.dump();
  return Command{Verb::kDelete,
                 std::move(kind),
                 std::move(ns),
                 std::move(name),
                 std::move(body),
                 std::move(reason),
                 {}};
}

Command Command::Bind(std::string ns, std::string pod, std::string node, std::string reason) {
  nlohmann::json b = {{"apiVersion", "v1"},
                      {"kind", "Binding"},
                      {"metadata", {{"name", pod}, {"namespace", ns}}},
                      {"target", {{"apiVersion", "v1"}, {"kind", "Node"}, {"name", node}}}};
  return Command{Verb::kBind,       "Pod", std::move(ns), std::move(pod), b.dump(),
                 std::move(reason), {}};
}

Command RecordEvent(EventRecord r, std::string what) {
  api::KubeEvent e;
  e.api_version = kApiVersion;
  e.kind = KindName<api::KubeEvent>();
  e.metadata.generate_name = r.about.name + ".";
  e.metadata.namespace_ = std::move(r.ns);
  e.involved_object = std::move(r.about);
  e.involved_object.api_version = kApiVersion;
  e.reason = std::move(r.reason);
  e.message = std::move(r.message);
  e.source.component = r.component;
  e.reporting_component = std::move(r.component);
  e.first_timestamp.unix_ns = r.now_ns;
  e.last_timestamp.unix_ns = r.now_ns;
  e.count = 1;
  e.type = std::move(r.type);
  e.action = std::move(r.action);
  if (what.empty()) what = "record event " + e.reason + ": " + e.message;
  return Command::Create(api::Object(std::move(e)), std::move(what));
}

}  // namespace korc::reactor
