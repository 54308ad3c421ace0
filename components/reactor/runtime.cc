#include "components/reactor/runtime.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <deque>
#include <map>
#include <mutex>
#include <unordered_map>
#include <zmq.hpp>

#include "bus/bus.h"
#include "bus/command.h"
#include "core/kinds.h"

namespace korc::reactor {

namespace {

using Steady = std::chrono::steady_clock;

int64_t SystemNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The API request a command is: method, path and content type around its body.
void ToRequest(const Command& c, bus::CommandRequest* r) {
  const KindInfo* kind = FindKind(c.kind);
  std::string path = kind ? kind->CollectionPath(c.ns) : "/api/v1/" + c.kind;
  if (c.verb != Verb::kCreate) path += "/" + c.name;
  r->content_type = "application/json";
  r->body = c.body;
  switch (c.verb) {
    case Verb::kCreate:
      r->method = "POST";
      break;
    case Verb::kUpdate:
      r->method = "PUT";
      break;
    case Verb::kUpdateStatus:
      r->method = "PUT";
      path += "/status";
      break;
    case Verb::kPatch:
      r->method = "PATCH";
      r->content_type = "application/merge-patch+json";
      break;
    case Verb::kDelete:
      r->method = "DELETE";
      break;
    case Verb::kBind:
      r->method = "POST";
      path += "/binding";
      break;
  }
  r->path = std::move(path);
}

}  // namespace

std::string Runtime::CommandId(std::string_view reducer, uint64_t cause, size_t index,
                               std::string_view key) {
  std::string id;
  id.reserve(reducer.size() + key.size() + 24);
  id.append(reducer).push_back('/');
  id.append(std::to_string(cause)).push_back('/');
  id.append(std::to_string(index)).push_back('/');
  id.append(key);
  return id;
}

bool Runtime::ParseCommandId(std::string_view id, std::string* reducer, uint64_t* cause,
                             size_t* index, std::string* key) {
  size_t a = id.find('/');
  if (a == std::string_view::npos) return false;
  size_t b = id.find('/', a + 1);
  if (b == std::string_view::npos) return false;
  size_t c = id.find('/', b + 1);
  if (c == std::string_view::npos) return false;
  std::string_view cause_s = id.substr(a + 1, b - a - 1), index_s = id.substr(b + 1, c - b - 1);
  auto r1 = std::from_chars(cause_s.data(), cause_s.data() + cause_s.size(), *cause);
  auto r2 = std::from_chars(index_s.data(), index_s.data() + index_s.size(), *index);
  if (r1.ec != std::errc() || r1.ptr != cause_s.data() + cause_s.size() || r2.ec != std::errc() ||
      r2.ptr != index_s.data() + index_s.size()) {
    return false;
  }
  *reducer = std::string(id.substr(0, a));
  *key = std::string(id.substr(c + 1));
  return true;
}

class Runtime::Loop {
 public:
  Loop(zmq::context_t& ctx, const Reducer& reducer, const RuntimeOptions& options,
       RuntimeStats& stats)
      : ctx_(ctx), reducer_(reducer), options_(options), stats_(stats) {
    if (!options_.clock) options_.clock = SystemNowNs;
    view_.KeepKinds(reducer_.kinds());
  }

  void PostWake(std::string key) {
    std::lock_guard<std::mutex> l(inbox_mu_);
    inbox_.push_back(std::move(key));
  }

  Status Run(const std::atomic<bool>& stop) {
    bus::SubscriberOptions so;
    so.publisher_endpoint = options_.publisher_endpoint;
    so.catch_up_endpoint = options_.catch_up_endpoint;
    for (const auto& k : reducer_.kinds()) so.topic_prefixes.push_back(k + "/");
    KORC_ASSIGN_OR_RETURN(sub_, bus::Subscribe(ctx_, so));
    KORC_ASSIGN_OR_RETURN(client_, bus::ConnectCommandClient(ctx_, options_.command_endpoint));
    auto log = spdlog::default_logger();
    Steady::time_point last_resend_check = Steady::now();
    while (!stop.load()) {
      KORC_RETURN_IF_ERROR(ReadEvents());
      DrainInbox();
      ReadReplies();
      const Steady::time_point now = Steady::now();
      FireTimers(now);
      ReleaseWaiting();
      if (synced_) ReconcileReady(now);
      if (now - last_resend_check > std::chrono::milliseconds(100)) {
        ResendOverdue(now);
        last_resend_check = now;
      }
    }
    return Status::Ok();
  }

  const View& view() const { return view_; }

 private:
  struct KeyState {
    uint64_t cause = 0;     // seq of the latest event that woke it (or of its own change)
    uint64_t wait_seq = 0;  // expectation: not decided again before the view reaches it
    size_t in_flight = 0;   // commands of its last decision not answered yet
    bool dirty = false;     // needs a reconcile
    bool queued = false;    // in ready_
    bool refused = false;   // a command of the current decision failed
    int failures = 0;       // consecutive decisions with a refused command
    Steady::time_point not_before{};
  };
  struct InFlight {
    std::string key;
    bus::CommandRequest request;
    Steady::time_point deadline;  // resend (same id) when no answer came by then
  };

  Status ReadEvents() {
    std::chrono::milliseconds timeout = WaitBudget();
    std::optional<api::Object> before;
    std::vector<std::string> keys;
    for (int n = 0; n < 4096; ++n) {
      auto next = sub_->Next(n == 0 ? timeout : std::chrono::milliseconds(0));
      if (!next.ok()) {
        Code code = next.status().code();
        if (code == Code::kExpired || code == Code::kInvalid) return next.status();
        spdlog::warn("{}: bus: {}", reducer_.name(), next.status().message());
        break;
      }
      if (!next->has_value()) break;
      const Event& e = **next;
      stats_.events.fetch_add(1, std::memory_order_relaxed);
      if (Status st = view_.Apply(e, &before); !st.ok()) {
        spdlog::error("{}: {}", reducer_.name(), st.message());
        continue;
      }
      keys.clear();
      reducer_.Wake(view_, e, before ? &*before : nullptr, &keys);
      for (const auto& k : keys) Wake(k, e.seq);
    }
    view_.Advance(sub_->position());
    stats_.view_seq.store(view_.seq(), std::memory_order_relaxed);
    if (!synced_) {
      auto head = sub_->initial_head();
      if (head && view_.seq() >= *head) {
        synced_ = true;
        stats_.synced.store(true);
        std::vector<std::string> all;
        reducer_.AllKeys(view_, &all);
        for (const auto& k : all) Wake(k, 0);
        spdlog::info("{}: caught up at seq {}; {} keys to check", reducer_.name(), view_.seq(),
                     all.size());
      }
    }
    return Status::Ok();
  }

  void DrainInbox() {
    std::vector<std::string> keys;
    {
      std::lock_guard<std::mutex> l(inbox_mu_);
      keys.swap(inbox_);
    }
    for (const auto& k : keys) Wake(k, view_.seq());
  }

  // How long the bus may block: not at all when work is ready, briefly while answers are
  // due (the command client has its own socket), else until the next timer.
  std::chrono::milliseconds WaitBudget() const {
    if (synced_ && !ready_.empty() && in_flight_.size() < options_.max_in_flight) {
      return std::chrono::milliseconds(0);
    }
    if (!in_flight_.empty()) return std::chrono::milliseconds(1);
    std::chrono::milliseconds budget = options_.idle_wait;
    if (!timers_.empty()) {
      auto until =
          std::chrono::ceil<std::chrono::milliseconds>(timers_.begin()->first - Steady::now());
      budget = std::clamp(until, std::chrono::milliseconds(0), budget);
    }
    return budget;
  }

  void Wake(const std::string& key, uint64_t seq) {
    KeyState& st = keys_[key];
    st.cause = std::max(st.cause, seq);
    st.dirty = true;
    Enqueue(key, st);
  }

  void Enqueue(const std::string& key, KeyState& st) {
    if (st.queued) return;
    st.queued = true;
    ready_.push_back(key);
  }

  void FireTimers(Steady::time_point now) {
    while (!timers_.empty() && timers_.begin()->first <= now) {
      std::string key = std::move(timers_.begin()->second);
      timers_.erase(timers_.begin());
      KeyState& st = keys_[key];
      st.dirty = true;
      Enqueue(key, st);
    }
  }

  void ReleaseWaiting() {
    while (!waiting_.empty() && waiting_.begin()->first <= view_.seq()) {
      std::string key = std::move(waiting_.begin()->second);
      waiting_.erase(waiting_.begin());
      KeyState& st = keys_[key];
      if (st.dirty) Enqueue(key, st);
    }
  }

  void ReconcileReady(Steady::time_point now) {
    for (size_t budget = ready_.size(); budget > 0 && !ready_.empty(); --budget) {
      if (in_flight_.size() >= options_.max_in_flight) return;
      std::string key = std::move(ready_.front());
      ready_.pop_front();
      KeyState& st = keys_[key];
      st.queued = false;
      if (!st.dirty || st.in_flight > 0) continue;  // re-queued when its answers are in
      if (view_.seq() < st.wait_seq) {
        waiting_.emplace(st.wait_seq, key);
        continue;
      }
      if (now < st.not_before) {
        timers_.emplace(st.not_before, key);
        continue;
      }
      st.dirty = false;
      Decide(key, st, now);
    }
  }

  void Decide(const std::string& key, KeyState& st, Steady::time_point now) {
    const int64_t clock = options_.clock();
    const uint64_t basis = view_.seq();
    if (st.cause == 0) st.cause = basis;
    Decision d = reducer_.Reconcile(view_, key, clock);
    stats_.reconciles.fetch_add(1, std::memory_order_relaxed);
    if (d.requeue_after) {
      timers_.emplace(now + std::chrono::duration_cast<Steady::duration>(*d.requeue_after), key);
    }
    if (d.commands.empty()) {
      if (!d.reason.empty()) spdlog::debug("{} {}: {}", reducer_.name(), key, d.reason);
      return;
    }
    spdlog::info("{} {}: {} ({} command{}, basis {})", reducer_.name(), key, d.reason,
                 d.commands.size(), d.commands.size() == 1 ? "" : "s", basis);
    for (size_t i = 0; i < d.commands.size(); ++i) {
      Command& c = d.commands[i];
      InFlight f;
      f.key = key;
      bus::CommandRequest& r = f.request;
      r.tag = next_tag_++;
      r.id = CommandId(reducer_.name(), st.cause, i, key);
      r.actor = std::string(reducer_.name());
      r.cause = st.cause;
      r.basis = basis;
      r.basis_time_ns = clock;
      r.reason = c.reason.empty() ? d.reason : c.reason;
      ToRequest(c, &r);
      f.deadline = now + options_.command_timeout;
      Send(f.request);
      ++st.in_flight;
      in_flight_.emplace(r.tag, std::move(f));
    }
  }

  void Send(const bus::CommandRequest& r) {
    stats_.commands_sent.fetch_add(1, std::memory_order_relaxed);
    if (Status st = client_->Send(r); !st.ok()) {
      // Left in flight: the resend after command_timeout tries again with the same id.
      spdlog::warn("{}: sending {}: {}", reducer_.name(), r.id, st.message());
    }
  }

  void ReadReplies() {
    while (!in_flight_.empty()) {
      auto reply = client_->Receive(std::chrono::milliseconds(0));
      if (!reply.ok()) {
        spdlog::warn("{}: {}", reducer_.name(), reply.status().message());
        continue;
      }
      if (!reply->has_value()) return;
      HandleReply(**reply);
    }
  }

  void HandleReply(const bus::CommandReply& rep) {
    auto it = in_flight_.find(rep.tag);
    if (it == in_flight_.end()) return;  // an answer to a copy already answered
    const int code = rep.code;
    if (code >= 500 || code == 429) {
      // The server could not decide (shutting down, log unavailable): the same id again.
      spdlog::warn("{}: {} answered {}; sending it again", reducer_.name(), it->second.request.id,
                   code);
      it->second.deadline = Steady::now() + options_.min_backoff * 20;
      return;
    }
    InFlight f = std::move(it->second);
    in_flight_.erase(it);
    KeyState& st = keys_[f.key];
    --st.in_flight;
    if (code >= 200 && code < 300) {
      stats_.commands_accepted.fetch_add(1, std::memory_order_relaxed);
      if (rep.duplicate && rep.seq != 0 && rep.seq <= f.request.basis) {
        // The id was spent on a change this decision could already see: it belongs to an
        // earlier decision. Decide again under a fresh cause.
        stats_.stale_ids.fetch_add(1, std::memory_order_relaxed);
        st.cause = std::max(st.cause, view_.seq());
        st.dirty = true;
      } else if (rep.seq != 0) {
        st.wait_seq = std::max(st.wait_seq, rep.seq);
        st.cause = std::max(st.cause, rep.seq);
      }
    } else {
      stats_.commands_failed.fetch_add(1, std::memory_order_relaxed);
      st.refused = true;
      spdlog::log(code == 409 || code == 404 ? spdlog::level::debug : spdlog::level::warn,
                  "{}: {} {} {} refused ({}): {}", reducer_.name(), f.request.method,
                  f.request.path, f.request.id, code, rep.body.substr(0, 400));
    }
    if (st.in_flight > 0) return;
    if (st.refused) {
      // The view was stale (409) or the reducer asked for something impossible: decide
      // again once events have caught up, backing off while it keeps failing.
      st.refused = false;
      st.failures = std::min(st.failures + 1, 30);
      auto delay = options_.min_backoff * (int64_t{1} << std::min(st.failures - 1, 20));
      st.not_before = Steady::now() + std::min<Steady::duration>(delay, options_.max_backoff);
      st.dirty = true;
    } else {
      st.failures = 0;
    }
    if (st.dirty) Enqueue(f.key, st);
  }

  void ResendOverdue(Steady::time_point now) {
    for (auto& [tag, f] : in_flight_) {
      if (f.deadline > now) continue;
      stats_.commands_resent.fetch_add(1, std::memory_order_relaxed);
      f.deadline = now + options_.command_timeout;
      Send(f.request);
    }
  }

  zmq::context_t& ctx_;
  const Reducer& reducer_;
  RuntimeOptions options_;
  RuntimeStats& stats_;
  std::unique_ptr<bus::Subscriber> sub_;
  std::unique_ptr<bus::CommandClient> client_;
  View view_;
  bool synced_ = false;
  std::unordered_map<std::string, KeyState> keys_;
  std::deque<std::string> ready_;
  std::multimap<uint64_t, std::string> waiting_;           // by the seq they wait for
  std::multimap<Steady::time_point, std::string> timers_;  // requeues and back-offs
  std::map<uint64_t, InFlight> in_flight_;                 // by tag
  uint64_t next_tag_ = 1;
  std::mutex inbox_mu_;
  std::vector<std::string> inbox_;  // external wakes; guarded by inbox_mu_
};

Runtime::Runtime(zmq::context_t& ctx, const Reducer& reducer, RuntimeOptions options)
    : ctx_(ctx),
      reducer_(reducer),
      options_(std::move(options)),
      loop_(std::make_unique<Loop>(ctx_, reducer_, options_, stats_)) {}

Runtime::~Runtime() = default;

Status Runtime::Run(const std::atomic<bool>& stop) { return loop_->Run(stop); }

void Runtime::Wake(std::string key) { loop_->PostWake(std::move(key)); }

const View& Runtime::view() const { return loop_->view(); }

}  // namespace korc::reactor
