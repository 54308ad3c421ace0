#include "components/apiserver/store.h"

#include <atomic>
#include <chrono>
#include <future>

#include "bus/bus.h"
#include "core/codec.h"
#include "core/kinds.h"

namespace korc::apiserver {

// ---------------------------------------------------------------------------------------
// Store

Result<std::unique_ptr<Store>> Store::Load(const storage::EventLog& log) {
  auto store = std::make_unique<Store>();
  // Read the head first: objects written after it are simply newer, and the sequencer (the
  // only writer) is not running yet, so the two agree.
  store->head_ = log.Head();
  KORC_ASSIGN_OR_RETURN(auto objects, log.List("", ""));
  for (auto& o : objects) {
    auto d = DecodeJson(o.object);
    if (!d.ok()) {
      return Status::Corruption("stored " + o.kind + " " + o.ns + "/" + o.name + ": " +
                                d.status().message());
    }
    auto e = std::make_shared<Entry>();
    e->object = std::move(d->object);
    e->json = std::move(o.object);
    e->seq = o.seq;
    store->objects_.emplace(ObjectKey(o.kind, o.ns, o.name), std::move(e));
  }
  return store;
}

EntryPtr Store::Get(std::string_view kind, std::string_view ns, std::string_view name) const {
  std::shared_lock lock(mu_);
  auto it = objects_.find(ObjectKey(kind, ns, name));
  return it == objects_.end() ? nullptr : it->second;
}

std::vector<EntryPtr> Store::List(std::string_view kind, std::string_view ns,
                                  uint64_t* head) const {
  std::string prefix(kind);
  prefix += '/';
  if (!ns.empty()) {
    prefix += ns;
    prefix += '/';
  }
  std::vector<EntryPtr> out;
  std::shared_lock lock(mu_);
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out.push_back(it->second);
  }
  if (head) *head = head_;
  return out;
}

uint64_t Store::head() const {
  std::shared_lock lock(mu_);
  return head_;
}

void Store::Apply(uint64_t seq, const std::string& key, EntryPtr entry) {
  std::unique_lock lock(mu_);
  if (entry) {
    objects_[key] = std::move(entry);
  } else {
    objects_.erase(key);
  }
  head_ = seq;
}

// ---------------------------------------------------------------------------------------
// Watches

bool Watcher::Push(WatchEventPtr e) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return false;
    if (queue_.size() >= capacity_) {
      overflowed_ = true;
      closed_ = true;
    } else {
      queue_.push_back(std::move(e));
    }
  }
  cv_.notify_one();
  return !overflowed_;
}

Watcher::Pop Watcher::Next(std::chrono::steady_clock::time_point deadline, WatchEventPtr* out) {
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return !queue_.empty() || closed_; });
  if (!queue_.empty()) {
    *out = std::move(queue_.front());
    queue_.pop_front();
    return Pop::kEvent;
  }
  return closed_ ? Pop::kClosed : Pop::kTimeout;
}

void Watcher::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool Watcher::overflowed() const {
  std::lock_guard lock(mu_);
  return overflowed_;
}

std::shared_ptr<Watcher> WatchHub::Register(const Store& store, uint64_t* head, size_t capacity) {
  auto w = std::make_shared<Watcher>(capacity);
  // Holding the hub lock across reading the head means no broadcast can slip between the
  // two: the watcher sees exactly the events after *head.
  std::lock_guard lock(mu_);
  *head = store.head();
  watchers_.push_back(w);
  return w;
}

void WatchHub::Unregister(const std::shared_ptr<Watcher>& w) {
  std::lock_guard lock(mu_);
  std::erase(watchers_, w);
}

void WatchHub::Broadcast(const std::vector<WatchEventPtr>& events) {
  std::lock_guard lock(mu_);
  for (auto& w : watchers_) {
    for (const auto& e : events) {
      if (!w->Push(e)) break;
    }
  }
}

void WatchHub::CloseAll() {
  std::lock_guard lock(mu_);
  for (auto& w : watchers_) w->Close();
}

size_t WatchHub::size() const {
  std::lock_guard lock(mu_);
  return watchers_.size();
}

// ---------------------------------------------------------------------------------------
// BatchView

const api::Object* BatchView::Get(std::string_view kind, std::string_view ns,
                                  std::string_view name) {
  std::string key = ObjectKey(kind, ns, name);
  if (auto it = overlay_.find(key); it != overlay_.end()) return it->second.get();
  EntryPtr e = store_.Get(kind, ns, name);
  if (!e) return nullptr;
  keep_alive_.push_back(e);
  return &e->object;
}

std::vector<const api::Object*> BatchView::List(std::string_view kind, std::string_view ns) {
  std::map<std::string, const api::Object*> merged;
  for (auto& e : store_.List(kind, ns)) {
    const api::ObjectMeta& m = api::Meta(e->object);
    merged[ObjectKey(kind, m.namespace_, m.name)] = &e->object;
    keep_alive_.push_back(e);
  }
  std::string prefix = std::string(kind) + "/" + (ns.empty() ? "" : std::string(ns) + "/");
  for (auto& [key, obj] : overlay_) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    if (obj) {
      merged[key] = obj.get();
    } else {
      merged.erase(key);
    }
  }
  std::vector<const api::Object*> out;
  for (auto& [k, o] : merged) out.push_back(o);
  return out;
}

// ---------------------------------------------------------------------------------------
// Sequencer

struct Sequencer::Request {
  Decide decide;
  Provenance provenance;
  std::promise<Result<Committed>> done;
};

Sequencer::Sequencer(storage::EventLog& log, Store& store, WatchHub& hub, bus::Publisher* publisher,
                     Options options)
    : log_(log), store_(store), hub_(hub), publisher_(publisher), options_(std::move(options)) {
  thread_ = std::thread([this] { Loop(); });
}

Sequencer::~Sequencer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<Committed> Sequencer::Submit(Decide decide, Provenance provenance) {
  auto req = std::make_shared<Request>();
  req->decide = std::move(decide);
  req->provenance = std::move(provenance);
  if (req->provenance.actor.empty()) req->provenance.actor = options_.actor_default;
  auto future = req->done.get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return Status::Unavailable("the API server is shutting down");
    queue_.push_back(std::move(req));
  }
  cv_.notify_one();
  return future.get();
}

Result<Committed> Sequencer::DryRun(const Decide& decide) const {
  BatchView view(store_, store_.head());
  KORC_ASSIGN_OR_RETURN(std::vector<Change> changes, decide(view));
  if (changes.empty()) return Committed{};
  Change& c = changes.front();
  api::Meta(c.object).resource_version.clear();  // never committed, so it has none
  auto entry = std::make_shared<Entry>();
  entry->json = EncodeJson(c.object);
  entry->object = std::move(c.object);
  return Committed{0, c.type, std::move(entry)};
}

uint64_t Sequencer::batches() const { return batches_.load(); }
uint64_t Sequencer::batched_requests() const { return batched_requests_.load(); }

void Sequencer::Loop() {
  while (true) {
    std::vector<std::shared_ptr<Request>> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      // Everything that queued while the previous batch was being synced goes in this one:
      // that is the group commit.
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Commit(batch);
  }
}

void Sequencer::Commit(std::vector<std::shared_ptr<Request>>& batch) {
  const uint64_t head = store_.head();
  BatchView view(store_, head);
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  now = std::max(now, last_time_ns_);  // event times never go backwards
  last_time_ns_ = now;

  struct Pending {
    std::shared_ptr<Request> req;
    size_t first = 0, count = 0;  // its events in `events`
  };
  std::vector<Pending> accepted;
  std::vector<Event> events;
  std::vector<EntryPtr> entries;
  // Commands of this batch by id, so a copy sent twice is answered like the first. Only
  // copies that made changes are recorded; a copy of one that changed nothing is decided
  // on its own.
  std::map<std::string, size_t, std::less<>> batch_commands;  // id -> index in accepted
  std::vector<std::pair<std::shared_ptr<Request>, size_t>> repeats;
  for (auto& req : batch) {
    const Provenance& prov = req->provenance;
    if (!prov.command.empty()) {
      if (auto it = batch_commands.find(prov.command); it != batch_commands.end()) {
        repeats.emplace_back(req, it->second);
        continue;
      }
      Result<uint64_t> seen = log_.FindCommand(prov.command);
      if (!seen.ok() || *seen != 0) {
        req->done.set_value(seen.ok() ? AnswerDuplicate(*seen) : Result<Committed>(seen.status()));
        continue;
      }
    }
    uint64_t before = view.next_seq_;
    Result<std::vector<Change>> changes = req->decide(view);
    if (!changes.ok() || changes->empty()) {
      view.next_seq_ = before;
      // No changes: nothing to commit; the request is answered with the current state.
      req->done.set_value(changes.ok() ? Result<Committed>(Committed{})
                                       : Result<Committed>(changes.status()));
      continue;
    }
    Pending p{req, events.size(), changes->size()};
    if (!prov.reason.empty()) changes->front().reason = prov.reason;
    for (auto& c : *changes) {
      uint64_t seq = view.next_seq_++;
      api::ObjectMeta& m = api::Meta(c.object);
      if (c.type != EventType::kDeleted) m.resource_version = std::to_string(seq);
      const KindInfo& kind = KindOf(c.object);
      auto entry = std::make_shared<Entry>();
      entry->seq = seq;
      entry->object = c.object;
      entry->json = EncodeJson(c.object);
      Event e;
      e.seq = seq;
      e.time_ns = now;
      e.type = c.type;
      e.kind = kind.kind;
      e.ns = m.namespace_;
      e.name = m.name;
      e.uid = m.uid;
      e.object = entry->json;
      e.actor = prov.actor;
      e.cause = prov.cause;
      // A component decided on its own view; a person's request is decided here, on ours.
      e.basis = prov.basis != 0 ? prov.basis : head;
      e.basis_time_ns = prov.basis != 0 ? prov.basis_time_ns : now;
      e.reason = std::move(c.reason);
      e.command = prov.command;
      std::string key = ObjectKey(kind.kind, m.namespace_, m.name);
      view.overlay_[key] =
          c.type == EventType::kDeleted ? nullptr : std::make_shared<api::Object>(c.object);
      events.push_back(std::move(e));
      entries.push_back(std::move(entry));
    }
    if (!prov.command.empty()) batch_commands.emplace(prov.command, accepted.size());
    accepted.push_back(std::move(p));
  }
  if (events.empty()) return;

  Status st = log_.Append(events);
  if (!st.ok()) {
    for (auto& p : accepted) {
      p.req->done.set_value(
          Status::Unavailable("could not commit to the event log: " + st.message()));
    }
    for (auto& r : repeats) {
      r.first->done.set_value(
          Status::Unavailable("could not commit to the event log: " + st.message()));
    }
    return;
  }
  batches_.fetch_add(1);
  batched_requests_.fetch_add(accepted.size());

  std::vector<WatchEventPtr> watch_events;
  for (size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    std::string key = ObjectKey(e.kind, e.ns, e.name);
    store_.Apply(e.seq, key, e.type == EventType::kDeleted ? nullptr : entries[i]);
    auto record = std::make_shared<Event>(e);
    record->object.clear();  // the entry holds it
    watch_events.push_back(
        std::make_shared<WatchEvent>(WatchEvent{e.type, entries[i], std::move(record)}));
  }
  hub_.Broadcast(watch_events);
  if (publisher_) {
    Status pub = publisher_->Publish(events);
    (void)pub;  // subscribers heal any gap from the log; the commit itself stands
  }
  for (auto& p : accepted) {
    p.req->done.set_value(Committed{events[p.first].seq, events[p.first].type, entries[p.first]});
  }
  for (auto& [req, i] : repeats) {
    const Pending& p = accepted[i];
    req->done.set_value(
        Committed{events[p.first].seq, events[p.first].type, entries[p.first], true});
  }
}

Result<Committed> Sequencer::AnswerDuplicate(uint64_t seq) const {
  Result<Committed> answer = Status::Internal("command's change at seq " + std::to_string(seq) +
                                              " is missing from the log");
  Status st = log_.ReadEvents(seq, seq, [&](Event& e) {
    auto decoded = DecodeJson(e.object);
    if (!decoded.ok()) {
      answer = decoded.status();
      return false;
    }
    auto entry = std::make_shared<Entry>();
    entry->seq = e.seq;
    entry->json = std::move(e.object);
    entry->object = std::move(decoded->object);
    answer = Committed{e.seq, e.type, std::move(entry), true};
    return false;
  });
  // History compacted below it: the change happened; answer without the object.
  if (st.code() == Code::kExpired) return Committed{seq, EventType::kModified, nullptr, true};
  if (!st.ok()) return st;
  return answer;
}

}  // namespace korc::apiserver
