// The CatchUpServer (bus/bus.h): a ROUTER socket on its own thread answering "events after
// seq N" from the EventLog.
//
// Each reply is bounded (kMaxReplyEvents / kMaxReplyBytes) and a subscriber has at most one
// request outstanding, so a reply always fits in ZeroMQ's queues: the server never blocks on
// a slow client and never loses part of a reply to a high-water mark. A subscriber far behind
// asks again from where the last reply ended; that is its flow control.
#include <atomic>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "bus/bus.h"
#include "bus/wire.h"

namespace korc::bus {
namespace {

constexpr size_t kMaxBatchEvents = 256;
constexpr size_t kMaxBatchBytes = 256 * 1024;
constexpr size_t kMaxReplyEvents = 8192;
constexpr size_t kMaxReplyBytes = 4 * 1024 * 1024;
// Requests handled per wake-up before the control socket is looked at again.
constexpr int kRequestsPerWakeUp = 64;

std::atomic<uint64_t> next_control_id{0};

class ZmqCatchUpServer final : public CatchUpServer {
 public:
  ZmqCatchUpServer(const storage::EventLog& log, zmq::socket_t router, std::string endpoint,
                   zmq::socket_t control_owner, zmq::socket_t control_thread)
      : log_(log),
        endpoint_(std::move(endpoint)),
        router_(std::move(router)),
        control_owner_(std::move(control_owner)),
        control_thread_(std::move(control_thread)) {
    thread_ = std::thread([this] { Run(); });
  }

  ~ZmqCatchUpServer() override {
    stopping_.store(true);
    try {
      control_owner_.send(zmq::str_buffer("stop"), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
      // The context is shutting down: the thread sees ETERM, or stopping_ at its next poll.
    }
    thread_.join();
  }

  ZmqCatchUpServer(const ZmqCatchUpServer&) = delete;
  ZmqCatchUpServer& operator=(const ZmqCatchUpServer&) = delete;

  std::string endpoint() const override { return endpoint_; }

 private:
  // The server thread: owns router_ and control_thread_ from construction on.
  void Run() {
    zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                               {control_thread_.handle(), 0, ZMQ_POLLIN, 0}};
    std::vector<zmq::message_t> frames;
    while (!stopping_.load()) {
      try {
        // The timeout is only a backstop for a lost stop message; the control socket wakes
        // the thread at once.
        zmq::poll(items, 2, std::chrono::milliseconds(500));
        if (items[1].revents & ZMQ_POLLIN) return;
        if (!(items[0].revents & ZMQ_POLLIN)) continue;
        for (int i = 0; i < kRequestsPerWakeUp && !stopping_.load(); ++i) {
          frames.clear();
          if (!zmq::recv_multipart(router_, std::back_inserter(frames),
                                   zmq::recv_flags::dontwait)) {
            break;
          }
          Serve(frames);
        }
      } catch (const zmq::error_t& err) {
        if (err.num() == ETERM) return;
        if (err.num() == EINTR) continue;
        return;  // nothing else is expected from poll/recv; stop rather than spin
      }
    }
  }

  // Streams one reply. A send that fails (the client left, or its queue is somehow full)
  // abandons the reply: the client times out and asks again.
  void Serve(std::vector<zmq::message_t>& frames) {
    if (frames.empty()) return;
    const std::string identity = frames[0].to_string();
    uint64_t request_id = 0, after_seq = 0;
    const bool well_formed = frames.size() == 4 && frames[1].size() == 0 &&
                             wire::DecodeSeq(frames[2], &request_id) &&
                             wire::DecodeSeq(frames[3], &after_seq);
    const std::string id_bytes = wire::EncodeSeq(request_id);
    if (!well_formed) {
      SendError(identity, id_bytes,
                Status::BadRequest("malformed catch-up request (" + std::to_string(frames.size()) +
                                   " frames)"));
      return;
    }

    const uint64_t head = log_.Head();
    uint64_t read_to = after_seq;
    std::vector<std::string> batch;
    size_t batch_bytes = 0, reply_events = 0, reply_bytes = 0;
    bool sent = true;
    auto flush = [&] {
      if (batch.empty()) return true;
      bool ok = SendBatch(identity, id_bytes, batch);
      batch.clear();
      batch_bytes = 0;
      return ok;
    };
    Status read = Status::Ok();
    if (after_seq < head) {
      read = log_.ReadEvents(after_seq + 1, head, [&](Event& e) {
        batch.push_back(EncodeEvent(e));
        batch_bytes += batch.back().size();
        reply_bytes += batch.back().size();
        ++reply_events;
        read_to = e.seq;
        if (batch.size() >= kMaxBatchEvents || batch_bytes >= kMaxBatchBytes) {
          if (!(sent = flush())) return false;
        }
        return reply_events < kMaxReplyEvents && reply_bytes < kMaxReplyBytes;
      });
    }
    if (!sent) return;
    if (!read.ok()) {
      SendError(identity, id_bytes, read);
      return;
    }
    if (!flush()) return;
    const std::string read_to_bytes = wire::EncodeSeq(read_to);
    const std::string head_bytes = wire::EncodeSeq(head);
    const std::string_view tail[] = {read_to_bytes, head_bytes};
    Send(identity, id_bytes, wire::kEndTag, tail);
  }

  bool SendBatch(const std::string& identity, const std::string& id_bytes,
                 const std::vector<std::string>& events) {
    std::vector<std::string_view> views(events.begin(), events.end());
    return Send(identity, id_bytes, wire::kBatchTag, views);
  }

  void SendError(const std::string& identity, const std::string& id_bytes, const Status& s) {
    const std::string_view tail[] = {wire::ErrorName(s.code()), s.message()};
    Send(identity, id_bytes, wire::kErrorTag, tail);
  }

  // [identity][""][request id][tag][tail...]. False when the message could not be queued.
  bool Send(const std::string& identity, const std::string& id_bytes, char tag,
            std::span<const std::string_view> tail) {
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    try {
      // With ROUTER_MANDATORY the first frame fails (EHOSTUNREACH) when the client is gone,
      // and a full queue answers EAGAIN (an empty result) instead of dropping silently.
      if (!router_.send(zmq::buffer(identity), more)) return false;
      router_.send(zmq::message_t(), more);
      router_.send(zmq::buffer(id_bytes), more);
      router_.send(zmq::buffer(&tag, 1), tail.empty() ? zmq::send_flags::dontwait : more);
      for (size_t i = 0; i < tail.size(); ++i) {
        router_.send(zmq::buffer(tail[i]), i + 1 < tail.size() ? more : zmq::send_flags::dontwait);
      }
      return true;
    } catch (const zmq::error_t& err) {
      if (err.num() == ETERM) throw;  // ends Run()
      return false;
    }
  }

  const storage::EventLog& log_;
  const std::string endpoint_;
  std::atomic<bool> stopping_{false};
  zmq::socket_t router_;          // used only by thread_
  zmq::socket_t control_owner_;   // used only by the destructor
  zmq::socket_t control_thread_;  // used only by thread_
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<CatchUpServer>> StartCatchUpServer(zmq::context_t& ctx,
                                                          const storage::EventLog& log,
                                                          const std::string& endpoint) {
  if (endpoint.empty()) return Status::Invalid("bus catch-up server: empty endpoint");
  try {
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::router_mandatory, true);
    router.bind(endpoint);
    std::string bound = router.get(zmq::sockopt::last_endpoint);

    const std::string control_endpoint =
        "inproc://korc-bus-catch-up-control-" + std::to_string(next_control_id.fetch_add(1));
    zmq::socket_t control_owner(ctx, zmq::socket_type::pair);
    control_owner.set(zmq::sockopt::linger, 0);
    control_owner.bind(control_endpoint);
    zmq::socket_t control_thread(ctx, zmq::socket_type::pair);
    control_thread.set(zmq::sockopt::linger, 0);
    control_thread.connect(control_endpoint);

    return std::unique_ptr<CatchUpServer>(
        new ZmqCatchUpServer(log, std::move(router), std::move(bound), std::move(control_owner),
                             std::move(control_thread)));
  } catch (const zmq::error_t& err) {
    return wire::FromZmqError(err, "bus catch-up server: bind " + endpoint);
  }
}

}  // namespace korc::bus
