// The API server's state and its one writer.
//
//   Store      — the committed state of every object (a projection of the log), read by
//                GET/LIST/WATCH handlers from any thread.
//   Sequencer  — the only writer: requests queue up, one thread decides each against the
//                state plus the earlier decisions of the same batch, assigns seqs, commits
//                the whole batch to the event log with one synced write (group commit), and
//                only then applies it to the Store, tells watchers and the bus, and answers.
//   WatchHub   — fans committed events out to open watches.
//
// DESIGN.md, "The one loop", steps 1-3.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "components/apiserver/http.h"
#include "core/event.h"
#include "core/objects.h"
#include "core/status.h"
#include "storage/event_log.h"

namespace korc::bus {
class Publisher;
}

namespace korc::apiserver {

// One object as the server holds it: typed, and encoded once for answering reads.
struct Entry {
  api::Object object;
  std::string json;
  uint64_t seq = 0;
};
using EntryPtr = std::shared_ptr<const Entry>;

// Thread-safety: reads take a shared lock; Apply (the sequencer's) an exclusive one.
// Entries are immutable once published, so readers keep them without copying.
class Store {
 public:
  // Loads the current objects from the log's `objects` projection.
  static Result<std::unique_ptr<Store>> Load(const storage::EventLog& log);

  EntryPtr Get(std::string_view kind, std::string_view ns, std::string_view name) const;
  // Objects of `kind` (in `ns`, or every namespace when empty), in key order, and the head
  // seq they are consistent with.
  std::vector<EntryPtr> List(std::string_view kind, std::string_view ns,
                             uint64_t* head = nullptr) const;
  uint64_t head() const;

  // REQUIRES: called by the sequencer, in seq order. entry == nullptr removes the object.
  void Apply(uint64_t seq, const std::string& key, EntryPtr entry);

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, EntryPtr, std::less<>> objects_;  // GUARDED_BY(mu_), by ObjectKey
  uint64_t head_ = 0;                                     // GUARDED_BY(mu_)
};

// A committed change as watchers see it.
struct WatchEvent {
  EventType type;
  EntryPtr entry;  // the object after the change (for DELETED, its last state)
  // The log record (who, why, cause, basis) without its object, for the audit stream.
  std::shared_ptr<const Event> record;
};
using WatchEventPtr = std::shared_ptr<const WatchEvent>;

// One open watch's queue. Thread-safety: Push from the sequencer, Pop from the watch's
// connection thread.
class Watcher {
 public:
  explicit Watcher(size_t capacity) : capacity_(capacity) {}
  // False (and the watcher closes) when the consumer has fallen `capacity` events behind:
  // the client must re-list, as with Kubernetes' "too old resource version".
  bool Push(WatchEventPtr e);
  // Waits until an event arrives, the watcher closes, or the deadline passes.
  enum class Pop { kEvent, kTimeout, kClosed };
  Pop Next(std::chrono::steady_clock::time_point deadline, WatchEventPtr* out);
  void Close();
  bool overflowed() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<WatchEventPtr> queue_;  // GUARDED_BY(mu_)
  bool closed_ = false;              // GUARDED_BY(mu_)
  bool overflowed_ = false;          // GUARDED_BY(mu_)
  size_t capacity_;
};

class WatchHub {
 public:
  // Registers a watcher that sees every event committed after the returned head.
  std::shared_ptr<Watcher> Register(const Store& store, uint64_t* head, size_t capacity = 100000);
  void Unregister(const std::shared_ptr<Watcher>& w);
  void Broadcast(const std::vector<WatchEventPtr>& events);
  void CloseAll();
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Watcher>> watchers_;  // GUARDED_BY(mu_)
};

// What a decision wants done to one object.
struct Change {
  EventType type;
  api::Object object;  // stamped with its resourceVersion (= seq) by the decider
  std::string reason;
};

// What a decision sees: the committed state plus the earlier changes of its batch.
class BatchView {
 public:
  BatchView(const Store& store, uint64_t head) : store_(store), next_seq_(head + 1) {}
  // The current object, or nullptr when there is none.
  const api::Object* Get(std::string_view kind, std::string_view ns, std::string_view name);
  // Objects of a kind in a namespace (empty: all), including this batch's changes.
  std::vector<const api::Object*> List(std::string_view kind, std::string_view ns);
  // The seq the next change of this decision will get.
  uint64_t NextSeq() const { return next_seq_; }

 private:
  friend class Sequencer;
  const Store& store_;
  uint64_t next_seq_;
  // Objects changed earlier in this batch; a null object means deleted.
  std::map<std::string, std::shared_ptr<api::Object>, std::less<>> overlay_;
  std::vector<EntryPtr> keep_alive_;
};

struct Committed {
  uint64_t seq = 0;
  EventType type = EventType::kAdded;
  EntryPtr entry;
  // The request's command id had already been applied (at `seq`); `entry` is the object as
  // that change left it, and nothing new was written.
  bool duplicate = false;
};

// Thread-safety: Submit from any thread; one internal thread decides and commits.
class Sequencer {
 public:
  // Decides the changes for one request against the view; an error answers the request
  // and changes nothing. Changes are committed in order; the first is the request's answer.
  using Decide = std::function<Result<std::vector<Change>>(BatchView&)>;

  struct Options {
    std::string actor_default = "system:anonymous";
    size_t max_batch = 512;
  };
  Sequencer(storage::EventLog& log, Store& store, WatchHub& hub, bus::Publisher* publisher,
            Options options);
  ~Sequencer();

  // Blocks until the change is durable (or refused). The provenance goes into the log. A
  // request whose provenance.command id the log already holds is not decided again: it is
  // answered with that earlier change (Committed::duplicate).
  Result<Committed> Submit(Decide decide, Provenance provenance);

  // Runs `decide` against the committed state on the calling thread and answers with what
  // would have been written — validated and stamped, but with no seq — writing nothing
  // (Kubernetes' dryRun=All).
  Result<Committed> DryRun(const Decide& decide) const;

  // Figures for /metrics.
  uint64_t batches() const;
  uint64_t batched_requests() const;

 private:
  struct Request;
  void Loop();
  void Commit(std::vector<std::shared_ptr<Request>>& batch);
  // The answer to a command already applied at `seq`, read back from the log.
  Result<Committed> AnswerDuplicate(uint64_t seq) const;

  storage::EventLog& log_;
  Store& store_;
  WatchHub& hub_;
  bus::Publisher* publisher_;
  Options options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Request>> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                       // GUARDED_BY(mu_)
  int64_t last_time_ns_ = 0;                    // only the sequencer thread touches it
  std::atomic<uint64_t> batches_{0};
  std::atomic<uint64_t> batched_requests_{0};
  std::thread thread_;
};

}  // namespace korc::apiserver
