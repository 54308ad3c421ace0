// What every controller, the scheduler and the kubelet are made of: a view of the objects
// they care about, folded from the event stream, and a pure reducer that turns the view and
// a key into commands (DESIGN.md, "Reducers and commands"; STYLE.md, "Reducers").
//
//   View     — typed objects of the kinds a reducer watches, with the seq and log time of
//              each object's last change. Built only from events.
//   Command  — one request to the API server (create, update, status, patch, delete, bind),
//              carried as the same JSON body the HTTP API takes, so commands go through the
//              same admission code as a person's request.
//   Reducer  — Wake() maps an event to the keys it concerns; Reconcile() decides for one
//              key. No I/O, no wall clock (time is passed in), no randomness: the same view,
//              key and time give the same decision.
//
// The runtime (runtime.h) owns everything else: subscription, the view, the key queue,
// expectations, command ids, retries.
//
// Thread-safety: View is a plain value (one thread folds; const methods may be called
// concurrently). Reducers are immutable after construction.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/kinds.h"
#include "core/objects.h"
#include "core/status.h"

namespace korc::reactor {

// One object in a view.
struct ViewItem {
  api::Object object;
  uint64_t seq = 0;     // seq of its last change (= resourceVersion)
  int64_t time_ns = 0;  // log time of its last change
};

class View {
 public:
  // Folds one event (ADDED/MODIFIED put the object, DELETED removes it) and advances seq()
  // to e.seq. Events of kinds the view does not keep only advance seq(). Corruption when
  // the object does not decode; the view is then unchanged except for seq(). When
  // `previous` is given, the object the view held before (if any) is moved there.
  Status Apply(const Event& e, std::optional<api::Object>* previous = nullptr);
  // Marks the view as current through `seq` without an event (the runtime's subscriber saw
  // events of other kinds).
  void Advance(uint64_t seq) {
    if (seq > seq_) seq_ = seq;
  }
  // Restricts the kinds kept (empty: every kind). Call before the first Apply.
  void KeepKinds(std::vector<std::string> kinds) { kinds_ = std::move(kinds); }

  uint64_t seq() const { return seq_; }
  size_t size() const { return items_.size(); }

  const ViewItem* Find(std::string_view kind, std::string_view ns, std::string_view name) const;
  // The typed object, or nullptr when absent (or of another type).
  template <class T>
  const T* Get(std::string_view ns, std::string_view name) const;
  // Objects of `kind` in `ns` (every namespace when empty), in name order.
  std::vector<const ViewItem*> List(std::string_view kind, std::string_view ns = {}) const;
  template <class T>
  std::vector<const T*> ListAs(std::string_view ns = {}) const;
  // The Pods whose spec.nodeName is `node`, in ObjectKey order (an index kept by Apply: the
  // kubelet-like reducers and node lifecycle ask this per node, and a scan of every Pod per
  // node would make them quadratic).
  std::vector<const api::Pod*> PodsOnNode(std::string_view node) const;

 private:
  bool Keeps(std::string_view kind) const;
  void IndexPod(const std::string& key, const api::Object* before, const api::Object* after);
  std::map<std::string, std::set<std::string>, std::less<>> pods_by_node_;  // node -> keys
  std::vector<std::string> kinds_;
  std::map<std::string, ViewItem, std::less<>> items_;  // by ObjectKey
  uint64_t seq_ = 0;
};

// The usual key of a reducer over one namespaced kind: "namespace/name".
std::string NamespacedKey(std::string_view ns, std::string_view name);

// Persisted in the log as part of each change's command id; never renumber.
enum class Verb : uint8_t {
  kCreate = 1,        // POST the object (metadata.name, or generateName)
  kUpdate = 2,        // PUT the object; its resourceVersion is the precondition
  kUpdateStatus = 3,  // PUT .../status
  kPatch = 4,         // merge patch (RFC 7386) of `body`
  kDelete = 5,        // DELETE; `body` is DeleteOptions JSON (may be empty)
  kBind = 6,          // POST pods/{name}/binding; `body` is a Binding
};
std::string_view VerbName(Verb v);

struct Command {
  Verb verb = Verb::kCreate;
  std::string kind;  // "Pod"
  std::string ns;
  std::string name;    // empty for a create with generateName
  std::string body;    // JSON, as the HTTP API takes it
  std::string reason;  // why, one short sentence; empty: the decision's reason
  // Filled by the runtime, not by reducers: "<reducer>/<cause seq>/<index>/<key>".
  std::string id;

  bool operator==(const Command&) const = default;

  static Command Create(const api::Object& object, std::string reason = {});
  static Command Update(const api::Object& object, std::string reason = {});
  static Command UpdateStatus(const api::Object& object, std::string reason = {});
  static Command Patch(std::string kind, std::string ns, std::string name, std::string merge_patch,
                       std::string reason = {});
  // With a uid precondition when `uid` is not empty: the delete refuses (409) if the name now
  // belongs to another object. `propagation` is "" (the server's default), "Background",
  // "Foreground" or "Orphan".
  static Command Delete(std::string kind, std::string ns, std::string name, std::string uid = {},
                        std::string reason = {}, std::string propagation = {});
  static Command Bind(std::string ns, std::string pod, std::string node, std::string reason = {});
};

// A Kubernetes Event (what `kubectl describe` lists) about one object, for a reducer to
// record its decision as kube-controller-manager and kube-scheduler do.
struct EventRecord {
  api::ObjectReference about;   // apiVersion is filled in
  std::string ns;               // where it is filed: the object's namespace, "default" for a Node
  std::string type = "Normal";  // or "Warning"
  std::string reason;           // "SuccessfulCreate"
  std::string message;
  std::string action;     // optional: "Scheduling"
  std::string component;  // source and reporting component: "replication-controller"
  int64_t now_ns = 0;     // first and last timestamp
};
// The create command for it. The name is left to the server (generateName "<object>."), so
// a replayed decision, which keeps its command id, still records it once. `what` is the
// command's reason; by default "record event <reason>: <message>".
Command RecordEvent(EventRecord record, std::string what = {});

struct Decision {
  std::vector<Command> commands;
  // Reconcile this key again after this long even if nothing wakes it (time-driven rules:
  // heartbeats, back-off).
  std::optional<std::chrono::nanoseconds> requeue_after;
  std::string reason;  // one line; the runtime logs it
};

class Reducer {
 public:
  virtual ~Reducer() = default;
  // The component identity that signs its changes: "system:controller:replication".
  virtual std::string_view name() const = 0;
  // The kinds its view needs.
  virtual std::vector<std::string> kinds() const = 0;
  // Appends the keys `e` concerns. `before` is the object as the view held it before the
  // event (nullptr if it had none); the view already includes the event.
  virtual void Wake(const View& view, const Event& e, const api::Object* before,
                    std::vector<std::string>* keys) const = 0;
  // Every key the reducer is responsible for in the view (run once after the first catch-up,
  // so a restarted controller checks everything).
  virtual void AllKeys(const View& view, std::vector<std::string>* keys) const = 0;
  virtual Decision Reconcile(const View& view, const std::string& key, int64_t now_ns) const = 0;
};

// ---- inline template definitions ----

template <class T>
const T* View::Get(std::string_view ns, std::string_view name) const {
  const ViewItem* item = Find(KindName<T>(), ns, name);
  return item ? std::get_if<T>(&item->object) : nullptr;
}

template <class T>
std::vector<const T*> View::ListAs(std::string_view ns) const {
  std::vector<const T*> out;
  for (const ViewItem* item : List(KindName<T>(), ns)) {
    if (const T* t = std::get_if<T>(&item->object)) out.push_back(t);
  }
  return out;
}

}  // namespace korc::reactor
