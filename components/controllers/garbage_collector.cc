#include "components/controllers/garbage_collector.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>
#include <utility>

#include "core/codec.h"

namespace korc::controllers {

namespace {

using reactor::Command;
using reactor::Decision;
using reactor::View;
using reactor::ViewItem;

// In ObjectKey order, so that scanning them in turn lists objects in key order.
constexpr std::string_view kKinds[] = {"Endpoints", "Pod", "ReplicationController", "Service"};

bool Watched(std::string_view kind) {
  return std::find(std::begin(kKinds), std::end(kKinds), kind) != std::end(kKinds);
}

bool HasFinalizer(const api::ObjectMeta& m, std::string_view f) {
  return std::find(m.finalizers.begin(), m.finalizers.end(), f) != m.finalizers.end();
}

bool IsTerminal(const api::Pod& pod) {
  return pod.status.phase == "Succeeded" || pod.status.phase == "Failed";
}

std::string Describe(const api::OwnerReference& ref) { return ref.kind + " " + ref.name; }

std::string Describe(std::string_view kind, std::string_view ns, std::string_view name) {
  return std::string(kind) + " " + std::string(ns) + "/" + std::string(name);
}

void AddKey(std::vector<std::string>* keys, size_t from, std::string key) {
  if (std::find(keys->begin() + from, keys->end(), key) == keys->end()) {
    keys->push_back(std::move(key));
  }
}

// What an ownerReference points at, as attemptToDeleteItem classifies it.
enum class Owner {
  kAlive,       // exists (or cannot be checked: a kind outside the view)
  kGone,        // no object of that kind and name with that uid: the reference dangles
  kForeground,  // being deleted with foregroundDeletion: waits for its dependents
  kOrphaning,   // being deleted with orphan: lets its dependents go
};

Owner Classify(const View& view, const std::string& ns, const api::OwnerReference& ref) {
  if (!Watched(ref.kind)) return Owner::kAlive;
  const ViewItem* item = view.Find(ref.kind, ns, ref.name);
  if (!item) return Owner::kGone;
  const api::ObjectMeta& m = api::Meta(item->object);
  if (m.uid != ref.uid) return Owner::kGone;  // the name now belongs to another object
  if (!m.deletion_timestamp.empty()) {
    if (HasFinalizer(m, kFinalizerForeground)) return Owner::kForeground;
    if (HasFinalizer(m, kFinalizerOrphan)) return Owner::kOrphaning;
  }
  return Owner::kAlive;
}

struct Dependent {
  std::string kind;
  const ViewItem* item;
  const api::OwnerReference* ref;  // its reference to the owner
};

// The objects in `ns` (every namespace when empty) with a reference to `uid`, in key order.
std::vector<Dependent> Dependents(const View& view, std::string_view ns, std::string_view uid) {
  std::vector<Dependent> out;
  for (std::string_view kind : kKinds) {
    for (const ViewItem* item : view.List(kind, ns)) {
      for (const api::OwnerReference& ref : api::Meta(item->object).owner_references) {
        if (ref.uid == uid) {
          out.push_back({std::string(kind), item, &ref});
          break;
        }
      }
    }
  }
  return out;
}

// The merge patch that leaves `refs` as the object's ownerReferences. A merge patch replaces
// the whole list, so it carries the uid and resourceVersion the decision saw: the server
// refuses it (409) rather than lose a reference another writer added in between.
std::string OwnerReferencesPatch(const api::ObjectMeta& m,
                                 const std::vector<api::OwnerReference>& refs) {
  nlohmann::json meta = nlohmann::json::object();
  if (refs.empty()) {
    meta["ownerReferences"] = nullptr;
  } else {
    api::ObjectMeta only;
    only.owner_references = refs;
    meta["ownerReferences"] = nlohmann::json::parse(EncodeJsonAs(only))["ownerReferences"];
  }
  meta["resourceVersion"] = m.resource_version;
  meta["uid"] = m.uid;
  return nlohmann::json{{"metadata", std::move(meta)}}.dump();
}

std::string Join(const std::vector<std::string>& parts, size_t max = 3) {
  std::string out;
  for (size_t i = 0; i < parts.size() && i < max; ++i) out += (i ? ", " : "") + parts[i];
  if (parts.size() > max) out += ", ...";
  return out;
}

// The decision for an object that is not being deleted, as a dependent of its owners.
Decision DependentDecision(const View& view, const std::string& kind, const ViewItem& item,
                           const std::string& label) {
  Decision d;
  const api::ObjectMeta& m = api::Meta(item.object);
  if (m.owner_references.empty()) {
    d.reason = label + ": no owners";
    return d;
  }
  std::vector<std::pair<const api::OwnerReference*, Owner>> owners;
  bool any_alive = false;
  std::vector<std::string> gone, foreground;
  for (const api::OwnerReference& ref : m.owner_references) {
    Owner o = Classify(view, m.namespace_, ref);
    owners.emplace_back(&ref, o);
    any_alive |= o == Owner::kAlive;
    if (o == Owner::kGone) gone.push_back(Describe(ref));
    if (o == Owner::kForeground) foreground.push_back(Describe(ref));
  }

  // References to drop: always those of an orphaning owner; those of gone or foreground
  // owners when a live owner keeps the object (it then outlives them).
  std::vector<api::OwnerReference> keep;
  std::vector<std::string> dropped;
  for (const auto& [ref, o] : owners) {
    if (o == Owner::kOrphaning || (any_alive && o != Owner::kAlive)) {
      dropped.push_back(Describe(*ref) + (o == Owner::kGone         ? " (gone)"
                                          : o == Owner::kForeground ? " (being deleted)"
                                                                    : " (orphaning)"));
    } else {
      keep.push_back(*ref);
    }
  }
  if (!dropped.empty()) {
    d.commands.push_back(Command::Patch(kind, m.namespace_, m.name, OwnerReferencesPatch(m, keep),
                                        "remove ownerReferences to " + Join(dropped, 99) +
                                            " from " + Describe(kind, m.namespace_, m.name)));
    d.reason = label + ": dropping references to " + Join(dropped);
    return d;
  }
  if (any_alive) {
    d.reason = label + ": owners alive";
    return d;
  }
  const std::string what = Describe(kind, m.namespace_, m.name);
  if (!foreground.empty()) {
    // Deleted in the foreground itself when it owns something in turn, so that the owner
    // keeps waiting for the whole chain (Kubernetes does the same).
    bool owns = !Dependents(view, m.namespace_, m.uid).empty();
    d.commands.push_back(Command::Delete(kind, m.namespace_, m.name, m.uid,
                                         "delete " + what + ": its owner " + Join(foreground) +
                                             " is being deleted in the foreground",
                                         owns ? "Foreground" : "Background"));
    d.reason = label + ": owner " + Join(foreground) + " is being deleted in the foreground";
    return d;
  }
  d.commands.push_back(Command::Delete(kind, m.namespace_, m.name, m.uid,
                                       "delete " + what + ": its owner " + Join(gone) +
                                           (gone.size() == 1 ? " is" : " are") + " gone",
                                       "Background"));
  d.reason = label + ": every owner is gone (" + Join(gone) + "), deleting it";
  return d;
}

// The decision for an object that is being deleted, as an owner waiting on its dependents.
Decision OwnerDecision(const View& view, const std::string& kind, const ViewItem& item,
                       const std::string& label) {
  Decision d;
  const api::ObjectMeta& m = api::Meta(item.object);
  const bool foreground = HasFinalizer(m, kFinalizerForeground);
  const bool orphan = HasFinalizer(m, kFinalizerOrphan);
  if (!foreground && !orphan) {
    d.reason = label + ": being deleted, no garbage-collector finalizer";
    return d;
  }
  std::vector<Dependent> deps = Dependents(view, m.namespace_, m.uid);
  std::vector<std::string> remove, waiting;
  if (orphan) {
    if (deps.empty()) {
      remove.push_back(std::string(kFinalizerOrphan));
    } else {
      waiting.push_back("orphaning " + std::to_string(deps.size()) + " dependent" +
                        (deps.size() == 1 ? "" : "s"));
    }
  }
  if (foreground) {
    std::vector<std::string> blocking;
    for (const Dependent& dep : deps) {
      if (dep.ref->block_owner_deletion.value_or(false)) {
        const api::ObjectMeta& dm = api::Meta(dep.item->object);
        blocking.push_back(Describe(dep.kind, dm.namespace_, dm.name));
      }
    }
    if (blocking.empty()) {
      remove.push_back(std::string(kFinalizerForeground));
    } else {
      waiting.push_back("foreground deletion waiting for " + std::to_string(blocking.size()) +
                        " blocking dependent" + (blocking.size() == 1 ? "" : "s") + " (" +
                        Join(blocking) + ")");
    }
  }
  if (!remove.empty()) {
    api::Object updated = item.object;
    auto& finalizers = api::Meta(updated).finalizers;
    for (const std::string& f : remove) {
      finalizers.erase(std::remove(finalizers.begin(), finalizers.end(), f), finalizers.end());
    }
    std::string what =
        "remove finalizer " + Join(remove) + " from " + Describe(kind, m.namespace_, m.name);
    d.commands.push_back(Command::Update(
        updated, what + ": no " + (foreground ? "blocking " : "") + "dependents left"));
    waiting.insert(waiting.begin(), what);
  }
  d.reason = label + ": " + Join(waiting, 99);
  return d;
}

}  // namespace

std::vector<std::string> GarbageCollectorReducer::kinds() const {
  return {std::begin(kKinds), std::end(kKinds)};
}

void GarbageCollectorReducer::Wake(const View& view, const Event& e, const api::Object* before,
                                   std::vector<std::string>* keys) const {
  if (!Watched(e.kind)) return;
  const size_t from = keys->size();
  AddKey(keys, from, ObjectKey(e.kind, e.ns, e.name));
  const ViewItem* after = view.Find(e.kind, e.ns, e.name);
  const api::ObjectMeta* old_m = before ? &api::Meta(*before) : nullptr;
  const api::ObjectMeta* new_m = after ? &api::Meta(after->object) : nullptr;
  const bool gone = e.type == EventType::kDeleted || !new_m;
  const bool deleting_changed =
      new_m && (old_m ? old_m->deletion_timestamp != new_m->deletion_timestamp ||
                            old_m->finalizers != new_m->finalizers
                      : !new_m->deletion_timestamp.empty());

  // As an owner: its dependents, when it went away or its deletion state changed. Scanning
  // the view costs a pass over it, so not on the many events that change neither.
  if (gone || deleting_changed) {
    const std::string uid = new_m ? new_m->uid : old_m ? old_m->uid : e.uid;
    for (const Dependent& dep : Dependents(view, e.ns, uid)) {
      const api::ObjectMeta& dm = api::Meta(dep.item->object);
      AddKey(keys, from, ObjectKey(dep.kind, dm.namespace_, dm.name));
    }
  }
  // As a dependent: its owners, which may be waiting for it to go or to let go of them.
  const bool refs_changed = old_m && new_m &&
                            (old_m->owner_references != new_m->owner_references ||
                             old_m->deletion_timestamp != new_m->deletion_timestamp);
  if (gone || refs_changed) {
    for (const api::ObjectMeta* m : {old_m, new_m}) {
      if (!m) continue;
      for (const api::OwnerReference& ref : m->owner_references) {
        if (Watched(ref.kind)) AddKey(keys, from, ObjectKey(ref.kind, e.ns, ref.name));
      }
    }
  }
  // A pod that just terminated may take the cluster over the threshold.
  if (e.kind == KindName<api::Pod>() && after && options_.terminated_pod_threshold > 0) {
    const api::Pod* new_pod = std::get_if<api::Pod>(&after->object);
    const api::Pod* old_pod = before ? std::get_if<api::Pod>(before) : nullptr;
    if (new_pod && IsTerminal(*new_pod) && !(old_pod && IsTerminal(*old_pod))) {
      AddKey(keys, from, std::string(kTerminatedPodsKey));
    }
  }
}

void GarbageCollectorReducer::AllKeys(const View& view, std::vector<std::string>* keys) const {
  for (std::string_view kind : kKinds) {
    for (const ViewItem* item : view.List(kind)) {
      const api::ObjectMeta& m = api::Meta(item->object);
      keys->push_back(ObjectKey(kind, m.namespace_, m.name));
    }
  }
  keys->push_back(std::string(kTerminatedPodsKey));
}

Decision GarbageCollectorReducer::Reconcile(const View& view, const std::string& key,
                                            int64_t /*now_ns*/) const {
  if (key == kTerminatedPodsKey) return TerminatedPods(view);
  const std::string label = "gc " + key;
  auto first = key.find('/');
  auto second = first == std::string::npos ? first : key.find('/', first + 1);
  if (second == std::string::npos) {
    Decision d;
    d.reason = "gc: ignoring malformed key \"" + key + "\"";
    return d;
  }
  std::string kind = key.substr(0, first);
  const ViewItem* item =
      view.Find(kind, std::string_view(key).substr(first + 1, second - first - 1),
                std::string_view(key).substr(second + 1));
  if (!item) {
    Decision d;
    d.reason = label + ": gone";
    return d;
  }
  // A terminating object is only an owner here: as a dependent it is already on its way out.
  if (!api::Meta(item->object).deletion_timestamp.empty()) {
    return OwnerDecision(view, kind, *item, label);
  }
  return DependentDecision(view, kind, *item, label);
}

Decision GarbageCollectorReducer::TerminatedPods(const View& view) const {
  Decision d;
  const int threshold = options_.terminated_pod_threshold;
  std::vector<const api::Pod*> terminal;
  for (const api::Pod* pod : view.ListAs<api::Pod>()) {
    if (IsTerminal(*pod)) terminal.push_back(pod);
  }
  const std::string count = std::to_string(terminal.size()) + " terminated pods";
  if (threshold <= 0 || terminal.size() <= static_cast<size_t>(threshold)) {
    d.reason = "gc terminated pods: " + count + ", threshold " + std::to_string(threshold);
    return d;
  }
  // Oldest first; the name breaks ties so that the choice never depends on event order.
  std::sort(terminal.begin(), terminal.end(), [](const api::Pod* a, const api::Pod* b) {
    return std::tie(a->metadata.creation_timestamp, a->metadata.namespace_, a->metadata.name) <
           std::tie(b->metadata.creation_timestamp, b->metadata.namespace_, b->metadata.name);
  });
  const size_t excess = terminal.size() - threshold;
  for (size_t i = 0; i < excess; ++i) {
    const api::ObjectMeta& m = terminal[i]->metadata;
    if (!m.deletion_timestamp.empty()) continue;  // already going
    d.commands.push_back(
        Command::Delete(std::string(KindName<api::Pod>()), m.namespace_, m.name, m.uid,
                        "delete terminated pod " + m.namespace_ + "/" + m.name + ": " + count +
                            " exceed the threshold of " + std::to_string(threshold),
                        "Background"));
  }
  d.reason = "gc terminated pods: " + count + " over the threshold of " +
             std::to_string(threshold) + ", deleting the " + std::to_string(excess) + " oldest";
  return d;
}

}  // namespace korc::controllers
