// The Publisher (bus/bus.h) over a ZeroMQ PUB socket.
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <zmq.hpp>

#include "bus/bus.h"
#include "bus/wire.h"

namespace korc::bus {
namespace {

class ZmqPublisher final : public Publisher {
 public:
  ZmqPublisher(zmq::socket_t socket, std::string endpoint,
               std::chrono::milliseconds heartbeat_interval)
      : endpoint_(std::move(endpoint)),
        heartbeat_interval_(heartbeat_interval),
        socket_(std::move(socket)) {
    heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
  }

  ~ZmqPublisher() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    heartbeat_thread_.join();
  }

  ZmqPublisher(const ZmqPublisher&) = delete;
  ZmqPublisher& operator=(const ZmqPublisher&) = delete;

  Status Publish(std::span<const Event> events) override {
    std::lock_guard lock(mu_);
    uint64_t prev = last_seq_;
    for (const Event& e : events) {
      if (e.seq == 0 || (prev != 0 && e.seq != prev + 1)) {
        return Status::Invalid("bus publisher at " + endpoint_ + ": event seq " +
                               std::to_string(e.seq) + " is out of order (expected seq " +
                               std::to_string(prev + 1) + ")");
      }
      prev = e.seq;
    }
    try {
      for (const Event& e : events) {
        SendLocked(TopicOf(e), e.seq, EncodeEvent(e));
        last_seq_ = e.seq;
      }
    } catch (const zmq::error_t& err) {
      return wire::FromZmqError(err, "bus publisher at " + endpoint_ + ": send");
    }
    return Status::Ok();
  }

  std::string endpoint() const override { return endpoint_; }

 private:
  // PUB never blocks and never answers EAGAIN: at the high-water mark it drops the whole
  // multipart message for that subscriber, which then sees a gap and heals from the log.
  // REQUIRES: mu_ held. Throws zmq::error_t.
  void SendLocked(std::string_view topic, uint64_t seq, std::string_view body) {
    const std::string seq_bytes = wire::EncodeSeq(seq);
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    socket_.send(zmq::buffer(topic), more);
    socket_.send(zmq::buffer(seq_bytes), more);
    socket_.send(zmq::buffer(body), zmq::send_flags::dontwait);
  }

  // Heartbeats go through the same socket as the events and after them, so a subscriber
  // that reads heartbeat S without having seen seq S knows for certain that it missed it.
  void HeartbeatLoop() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, heartbeat_interval_, [this] { return stopping_; })) {
      try {
        SendLocked("", last_seq_, "");
      } catch (const zmq::error_t& err) {
        if (err.num() == ETERM) return;  // the context is shutting down
      }
    }
  }

  const std::string endpoint_;
  const std::chrono::milliseconds heartbeat_interval_;

  std::mutex mu_;
  std::condition_variable cv_;
  zmq::socket_t socket_;   // guarded by mu_ (the publishing thread and the heartbeat thread)
  uint64_t last_seq_ = 0;  // guarded by mu_; 0 until the first Publish
  bool stopping_ = false;  // guarded by mu_
  std::thread heartbeat_thread_;
};

}  // namespace

Result<std::unique_ptr<Publisher>> MakePublisher(zmq::context_t& ctx,
                                                 const PublisherOptions& options) {
  if (options.endpoint.empty()) return Status::Invalid("bus publisher: empty endpoint");
  if (options.send_hwm < 0) return Status::Invalid("bus publisher: negative send_hwm");
  if (options.heartbeat_interval.count() <= 0) {
    return Status::Invalid("bus publisher: heartbeat_interval must be positive");
  }
  try {
    zmq::socket_t socket(ctx, zmq::socket_type::pub);
    socket.set(zmq::sockopt::sndhwm, options.send_hwm);
    socket.set(zmq::sockopt::linger, 0);
    socket.bind(options.endpoint);
    std::string bound = socket.get(zmq::sockopt::last_endpoint);
    return std::unique_ptr<Publisher>(
        new ZmqPublisher(std::move(socket), std::move(bound), options.heartbeat_interval));
  } catch (const zmq::error_t& err) {
    return wire::FromZmqError(err, "bus publisher: bind " + options.endpoint);
  }
}

}  // namespace korc::bus
