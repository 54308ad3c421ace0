// The Subscriber (bus/bus.h): the ZeroMQ Guide's Clone pattern over a SUB socket (live
// events) and a DEALER socket (catch-up from the log), driven entirely from Next() on the
// owner's thread.
//
// Two phases. Catching up: ask the catch-up server for the events after `fetched_to_`,
// deliver them, ask again until a reply ends at the head it read. Live: read the SUB socket;
// seq <= position is a duplicate (the catch-up already had it), position + 1 is delivered,
// anything higher — or a heartbeat announcing a seq above position — means PUB dropped
// something, so go back to catching up from position. Every event the publisher sends was
// appended first, so the log always has what the live stream missed.
//
// While catching up, live messages are not read: they wait in the SUB socket's queue, which
// is the Clone pattern's buffer, bounded by receive_hwm. If it overflows, PUB drops the
// newest and the splice sees a gap and catches up once more — memory stays bounded however
// long the history is.
#include <algorithm>
#include <atomic>
#include <deque>
#include <utility>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "bus/bus.h"
#include "bus/wire.h"

namespace korc::bus {
namespace {

using Clock = std::chrono::steady_clock;

class ZmqSubscriber final : public Subscriber {
 public:
  ZmqSubscriber(zmq::context_t& ctx, SubscriberOptions options, zmq::socket_t sub)
      : ctx_(ctx),
        options_(std::move(options)),
        sub_(std::move(sub)),
        position_(options_.after_seq),
        fetched_to_(options_.after_seq) {}

  ZmqSubscriber(const ZmqSubscriber&) = delete;
  ZmqSubscriber& operator=(const ZmqSubscriber&) = delete;

  // Sends the first catch-up request. Throws zmq::error_t.
  void Start() { SendCatchUpRequest(); }

  Result<std::optional<Event>> Next(std::chrono::milliseconds timeout) override {
    const Clock::time_point deadline = Clock::now() + timeout;
    try {
      for (;;) {
        if (!final_error_.ok()) return final_error_;
        while (!pending_.empty()) {
          Event e = std::move(pending_.front());
          pending_.pop_front();
          position_.store(e.seq, std::memory_order_relaxed);
          if (healing_gap_ && e.seq >= gap_seq_) {
            healing_gap_ = false;
            gaps_healed_.fetch_add(1, std::memory_order_relaxed);
          }
          if (Wanted(TopicOf(e))) return std::optional<Event>(std::move(e));
        }
        if (catching_up_) {
          KORC_ASSIGN_OR_RETURN(bool progressed, ReceiveCatchUp(deadline));
          if (!progressed) return std::optional<Event>();
          continue;
        }
        KORC_ASSIGN_OR_RETURN(LiveResult live, ReceiveLive(deadline));
        if (live.event) return std::move(live.event);
        if (!live.progressed) return std::optional<Event>();
      }
    } catch (const zmq::error_t& err) {
      return wire::FromZmqError(err, "bus subscriber");
    }
  }

  uint64_t position() const override { return position_.load(std::memory_order_relaxed); }
  std::optional<uint64_t> initial_head() const override {
    int64_t h = initial_head_.load(std::memory_order_relaxed);
    return h < 0 ? std::nullopt : std::optional<uint64_t>(static_cast<uint64_t>(h));
  }
  uint64_t gaps_healed() const override { return gaps_healed_.load(std::memory_order_relaxed); }

 private:
  struct LiveResult {
    std::optional<Event> event;  // an event to deliver
    bool progressed = false;     // something was handled; Next() should go on
  };

  bool Wanted(std::string_view topic) const {
    if (options_.topic_prefixes.empty()) return true;
    for (const std::string& filter : options_.topic_prefixes) {
      if (TopicMatches(topic, filter)) return true;
    }
    return false;
  }

  uint64_t pos() const { return position_.load(std::memory_order_relaxed); }

  // Asks for the events after fetched_to_ on a DEALER socket, opened fresh after a timeout
  // (the Guide's Lazy Pirate: a reply to an abandoned request can then never arrive).
  // Throws zmq::error_t.
  void SendCatchUpRequest() {
    if (!dealer_) {
      dealer_.emplace(ctx_, zmq::socket_type::dealer);
      dealer_->set(zmq::sockopt::linger, 0);
      dealer_->connect(options_.catch_up_endpoint);
    }
    ++request_id_;
    const std::string id = wire::EncodeSeq(request_id_);
    const std::string after = wire::EncodeSeq(fetched_to_);
    dealer_->send(zmq::message_t(), zmq::send_flags::sndmore);
    dealer_->send(zmq::buffer(id), zmq::send_flags::sndmore);
    dealer_->send(zmq::buffer(after), zmq::send_flags::none);
    awaiting_reply_ = true;
    reply_deadline_ = Clock::now() + options_.catch_up_timeout;
  }

  void StartCatchUp(uint64_t announced_seq) {
    catching_up_ = true;
    healing_gap_ = true;
    fetched_to_ = pos();
    gap_seq_ = announced_seq;
  }

  // Waits for and handles one catch-up reply message. False when `deadline` passed first.
  Result<bool> ReceiveCatchUp(Clock::time_point deadline) {
    if (!awaiting_reply_) SendCatchUpRequest();
    std::vector<zmq::message_t> frames;
    for (;;) {
      frames.clear();
      // Read before looking at the clock: a reply may have waited while the owner was busy.
      if (zmq::recv_multipart(*dealer_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        KORC_RETURN_IF_ERROR(HandleReply(frames));
        return true;
      }
      const Clock::time_point now = Clock::now();
      if (now >= reply_deadline_) {
        dealer_.reset();
        awaiting_reply_ = false;
        return Status::Unavailable("bus: the catch-up server at " + options_.catch_up_endpoint +
                                   " did not answer within " +
                                   std::to_string(options_.catch_up_timeout.count()) + " ms");
      }
      if (now >= deadline) return false;
      wire::PollIn(*dealer_, wire::PollMillis(now, std::min(deadline, reply_deadline_)));
    }
  }

  Status Malformed(const std::string& what) {
    // The reply stream can no longer be trusted: drop it and ask again on a fresh socket.
    dealer_.reset();
    awaiting_reply_ = false;
    pending_.clear();
    fetched_to_ = pos();
    return Status::Corruption("bus: the catch-up server at " + options_.catch_up_endpoint +
                              " sent " + what);
  }

  Status HandleReply(std::vector<zmq::message_t>& frames) {
    uint64_t id = 0;
    if (frames.size() < 3 || frames[0].size() != 0 || !wire::DecodeSeq(frames[1], &id) ||
        frames[2].size() != 1) {
      return Malformed("a malformed reply (" + std::to_string(frames.size()) + " frames)");
    }
    if (id != request_id_) return Status::Ok();  // a stale reply
    reply_deadline_ = Clock::now() + options_.catch_up_timeout;
    const char tag = *static_cast<const char*>(frames[2].data());
    switch (tag) {
      case wire::kBatchTag:
        for (size_t i = 3; i < frames.size(); ++i) {
          Result<Event> e = DecodeEvent(frames[i].to_string_view());
          if (!e.ok()) return Malformed("an undecodable event: " + e.status().message());
          if (e->seq != fetched_to_ + 1) {
            return Malformed("seq " + std::to_string(e->seq) + " after seq " +
                             std::to_string(fetched_to_));
          }
          fetched_to_ = e->seq;
          pending_.push_back(std::move(e).value());
        }
        return Status::Ok();
      case wire::kEndTag: {
        uint64_t read_to = 0, head = 0;
        if (frames.size() != 5 || !wire::DecodeSeq(frames[3], &read_to) ||
            !wire::DecodeSeq(frames[4], &head)) {
          return Malformed("a malformed end of reply");
        }
        if (read_to != fetched_to_) {
          return Malformed("an end at seq " + std::to_string(read_to) + " after seq " +
                           std::to_string(fetched_to_));
        }
        awaiting_reply_ = false;
        if (head < fetched_to_) {
          final_error_ = Status::Invalid(
              "bus: the log behind the catch-up server at " + options_.catch_up_endpoint +
              " ends at seq " + std::to_string(head) + ", below this subscriber's position " +
              std::to_string(fetched_to_) + " (not the same log?)");
          return final_error_;
        }
        if (read_to < head) {
          SendCatchUpRequest();  // the reply was capped; fetch the rest while delivering
          return Status::Ok();
        }
        catching_up_ = false;
        if (initial_head_.load(std::memory_order_relaxed) < 0) {
          initial_head_.store(static_cast<int64_t>(head), std::memory_order_relaxed);
        }
        if (healing_gap_ && head < gap_seq_) {
          // Never when both serve the same log: the publisher sends only what was appended.
          healing_gap_ = false;
          return Status::Internal(
              "bus: the publisher at " + options_.publisher_endpoint + " announced seq " +
              std::to_string(gap_seq_) + " but the log behind " + options_.catch_up_endpoint +
              " ends at seq " + std::to_string(head) + " (are they serving the same log?)");
        }
        return Status::Ok();
      }
      case wire::kErrorTag: {
        if (frames.size() != 5) return Malformed("a malformed error reply");
        awaiting_reply_ = false;
        Status s(wire::ErrorCode(frames[3].to_string_view()),
                 "catch-up from " + options_.catch_up_endpoint + ": " + frames[4].to_string());
        // Only unavailability is worth retrying; the others (Expired, Corruption, ...) will
        // answer the same every time.
        if (s.code() != Code::kUnavailable) final_error_ = s;
        return s;
      }
      default:
        return Malformed(std::string("a reply with unknown tag '") + tag + "'");
    }
  }

  // Reads live messages until one is delivered, a gap starts a catch-up, or `deadline`.
  Result<LiveResult> ReceiveLive(Clock::time_point deadline) {
    std::vector<zmq::message_t> frames;
    for (;;) {
      frames.clear();
      if (!zmq::recv_multipart(sub_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        const Clock::time_point now = Clock::now();
        if (now >= deadline) return LiveResult{};
        wire::PollIn(sub_, wire::PollMillis(now, deadline));
        continue;
      }
      uint64_t seq = 0;
      if (frames.size() != 3 || !wire::DecodeSeq(frames[1], &seq)) {
        return Status::Corruption("bus: the publisher at " + options_.publisher_endpoint +
                                  " sent a malformed message (" + std::to_string(frames.size()) +
                                  " frames)");
      }
      const std::string_view topic = frames[0].to_string_view();
      const uint64_t position = pos();
      if (topic.empty()) {  // a heartbeat: seq is the last one published
        if (seq > position) {
          StartCatchUp(seq);
          return LiveResult{.progressed = true};
        }
      } else if (seq == position + 1) {
        if (!Wanted(topic)) {
          position_.store(seq, std::memory_order_relaxed);
        } else {
          Event e;
          Status decoded = DecodeEventInto(frames[2].to_string_view(), &e);
          if (decoded.ok() && e.seq != seq) {
            decoded = Status::Corruption("event carries seq " + std::to_string(e.seq));
          }
          if (!decoded.ok()) {
            // Not delivered and position not advanced: the next message shows a gap, which
            // heals from the log.
            return Status::Corruption("bus: the publisher at " + options_.publisher_endpoint +
                                      " sent seq " + std::to_string(seq) + ": " +
                                      decoded.message());
          }
          position_.store(seq, std::memory_order_relaxed);
          return LiveResult{.event = std::move(e), .progressed = true};
        }
      } else if (seq > position + 1) {
        StartCatchUp(seq);
        return LiveResult{.progressed = true};
      }
      // seq <= position: the catch-up already delivered it.
      if (Clock::now() >= deadline) return LiveResult{};
    }
  }

  zmq::context_t& ctx_;
  const SubscriberOptions options_;
  zmq::socket_t sub_;
  std::optional<zmq::socket_t> dealer_;  // open while catching up (reset after a timeout)

  std::atomic<uint64_t> position_;  // written only by the owner thread
  std::atomic<int64_t> initial_head_{-1};  // written only by the owner thread; -1: not yet
  std::atomic<uint64_t> gaps_healed_{0};

  bool catching_up_ = true;
  bool awaiting_reply_ = false;
  uint64_t request_id_ = 0;
  Clock::time_point reply_deadline_;
  uint64_t fetched_to_;        // the last seq fetched from the log (>= position_ while pending)
  std::deque<Event> pending_;  // fetched, not yet delivered; seqs fetched_to_ - size + 1 ...
  bool healing_gap_ = false;   // a gap in the live stream is being filled from the log
  uint64_t gap_seq_ = 0;       // the live seq that revealed it; healed once delivered
  Status final_error_;         // once set, every Next() returns it
};

}  // namespace

Result<std::unique_ptr<Subscriber>> Subscribe(zmq::context_t& ctx,
                                              const SubscriberOptions& options) {
  if (options.publisher_endpoint.empty() || options.catch_up_endpoint.empty()) {
    return Status::Invalid("bus subscriber: empty publisher or catch-up endpoint");
  }
  if (options.receive_hwm < 0) return Status::Invalid("bus subscriber: negative receive_hwm");
  if (options.catch_up_timeout.count() <= 0) {
    return Status::Invalid("bus subscriber: catch_up_timeout must be positive");
  }
  try {
    // SUB first: whatever is published from here on is either queued for us or, if
    // dropped, revealed by a later seq or heartbeat.
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::rcvhwm, options.receive_hwm);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, "");
    sub.connect(options.publisher_endpoint);
    auto subscriber = std::make_unique<ZmqSubscriber>(ctx, options, std::move(sub));
    subscriber->Start();
    return std::unique_ptr<Subscriber>(std::move(subscriber));
  } catch (const zmq::error_t& err) {
    return wire::FromZmqError(err, "bus subscriber: connect " + options.publisher_endpoint + " / " +
                                       options.catch_up_endpoint);
  }
}

}  // namespace korc::bus
