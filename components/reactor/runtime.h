// The runtime every reducer runs in (DESIGN.md, "The one loop"; reducer.h): it subscribes
// through the bus (gapless, catching up from the log on start), folds events into the view,
// wakes keys, runs Reconcile for keys that are ready, and sends the resulting commands over
// the command channel. The reducer stays pure; everything with I/O or time lives here.
//
// What a key waits for before it is reconciled:
//   - the first catch-up: nothing is decided on a partial history;
//   - its previous decision's commands to be answered (one decision per key at a time);
//   - expectations: once a command is accepted at seq W, the view must reach W, so a burst
//     of events never makes a decision twice on a view that lacks its own earlier effects;
//   - its back-off after failed commands, or the requeue time the reducer asked for.
//
// Command ids are "<reducer>/<cause>/<index>/<key>", where cause is the seq of the latest
// event that woke the key. A restarted runtime that decides again on the same cause produces
// the same ids, and the API server applies each id once. If the server answers that an id
// was applied at a seq the decision could already see, the id is stale (a different
// decision reused the cause): the key takes the view's seq as its cause and decides again.
//
// Thread-safety: Run() is the one thread that owns the subscriber, the command client, the
// view and the keys; stats() may be read from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "components/reactor/reducer.h"
#include "core/status.h"

namespace zmq {
class context_t;
}

namespace korc::reactor {

struct RuntimeOptions {
  std::string publisher_endpoint;
  std::string catch_up_endpoint;
  std::string command_endpoint;
  // Commands outstanding at once across all keys; further decisions wait for answers.
  size_t max_in_flight = 1024;
  // A command not answered within this is sent again with the same id.
  std::chrono::milliseconds command_timeout{20000};
  // Back-off of a key whose commands failed: doubling from min to max.
  std::chrono::milliseconds min_backoff{5};
  std::chrono::milliseconds max_backoff{60000};
  // The clock handed to reducers (unix ns). Default: the system clock.
  std::function<int64_t()> clock;
  // The longest the loop waits for events when idle: how soon a Wake() from another thread
  // is noticed. Reducers that watch the world as well as the log (the kubelet) lower it.
  std::chrono::milliseconds idle_wait{100};
};

struct RuntimeStats {
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> reconciles{0};
  std::atomic<uint64_t> commands_sent{0};
  std::atomic<uint64_t> commands_accepted{0};
  std::atomic<uint64_t> commands_failed{0};
  std::atomic<uint64_t> commands_resent{0};
  std::atomic<uint64_t> stale_ids{0};
  std::atomic<uint64_t> view_seq{0};
  std::atomic<bool> synced{false};
};

class Runtime {
 public:
  // `reducer` and `ctx` must outlive the runtime.
  Runtime(zmq::context_t& ctx, const Reducer& reducer, RuntimeOptions options);
  ~Runtime();

  // Runs until `stop` becomes true (checked at least every 100 ms). Returns an error only
  // when it cannot go on: the bus history it needs was compacted (Expired), the log is not
  // the one it followed (Invalid), or the endpoints are malformed.
  Status Run(const std::atomic<bool>& stop);

  const RuntimeStats& stats() const { return stats_; }
  // Asks for `key` to be reconciled again, from any thread: for reducers whose decisions
  // also depend on what they observe outside the log (the kubelet's containers). The
  // decision's cause is the view's seq at the time. Noticed within options.idle_wait.
  void Wake(std::string key);
  // The view. Only from the thread that ran Run(), after it returned (tests).
  const View& view() const;

  // "<reducer>/<cause>/<index>/<key>", and back; false when `id` is not of that form.
  static std::string CommandId(std::string_view reducer, uint64_t cause, size_t index,
                               std::string_view key);
  static bool ParseCommandId(std::string_view id, std::string* reducer, uint64_t* cause,
                             size_t* index, std::string* key);

 private:
  class Loop;
  zmq::context_t& ctx_;
  const Reducer& reducer_;
  RuntimeOptions options_;
  RuntimeStats stats_;
  std::unique_ptr<Loop> loop_;
};

}  // namespace korc::reactor
