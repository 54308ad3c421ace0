// The command channel (bus/command.h): a DEALER client and a ROUTER server whose requests
// are handled on a pool of worker threads.
//
// ZeroMQ sockets belong to one thread, so workers never touch the ROUTER: each sends its
// reply through its own PUSH socket to a PULL the server thread polls next to the ROUTER,
// and the server thread forwards it to the requester.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "bus/command.h"
#include "bus/wire.h"

namespace korc::bus {
namespace {

std::atomic<uint64_t> next_server_id{0};

std::string EncodeCode(int code) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i)
    out[i] = static_cast<char>((static_cast<uint32_t>(code) >> (24 - 8 * i)) & 0xff);
  return out;
}

bool DecodeCode(const zmq::message_t& frame, int* code) {
  if (frame.size() != 4) return false;
  const auto* p = static_cast<const unsigned char*>(frame.data());
  *code = static_cast<int>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) |
                           uint32_t{p[3]});
  return true;
}

// Request frames after the empty delimiter: tag id actor cause basis basis_time reason method
// path content_type body.
constexpr size_t kRequestFrames = 11;

bool ParseRequest(std::vector<zmq::message_t>& f, size_t at, CommandRequest* r) {
  if (f.size() != at + kRequestFrames) return false;
  uint64_t basis_time = 0;
  if (!wire::DecodeSeq(f[at], &r->tag) || !wire::DecodeSeq(f[at + 3], &r->cause) ||
      !wire::DecodeSeq(f[at + 4], &r->basis) || !wire::DecodeSeq(f[at + 5], &basis_time)) {
    return false;
  }
  r->basis_time_ns = static_cast<int64_t>(basis_time);
  r->id = f[at + 1].to_string();
  r->actor = f[at + 2].to_string();
  r->reason = f[at + 6].to_string();
  r->method = f[at + 7].to_string();
  r->path = f[at + 8].to_string();
  r->content_type = f[at + 9].to_string();
  r->body = f[at + 10].to_string();
  return true;
}

class ZmqCommandClient final : public CommandClient {
 public:
  explicit ZmqCommandClient(zmq::socket_t dealer) : dealer_(std::move(dealer)) {}

  Status Send(const CommandRequest& r) override {
    const std::string tag = wire::EncodeSeq(r.tag), cause = wire::EncodeSeq(r.cause),
                      basis = wire::EncodeSeq(r.basis),
                      basis_time = wire::EncodeSeq(static_cast<uint64_t>(r.basis_time_ns));
    const std::string_view frames[] = {"",       tag,    r.id,           r.actor,
                                       cause,    basis,  basis_time,     r.reason,
                                       r.method, r.path, r.content_type, r.body};
    try {
      for (size_t i = 0; i < std::size(frames); ++i) {
        auto flags = i + 1 < std::size(frames) ? zmq::send_flags::sndmore : zmq::send_flags::none;
        if (!dealer_.send(zmq::buffer(frames[i]), flags)) {
          return Status::Unavailable("command channel: send would block");
        }
      }
      return Status::Ok();
    } catch (const zmq::error_t& err) {
      return wire::FromZmqError(err, "command channel: send");
    }
  }

  Result<std::optional<CommandReply>> Receive(std::chrono::milliseconds timeout) override {
    try {
      wire::PollIn(dealer_, timeout.count());
      std::vector<zmq::message_t> f;
      if (!zmq::recv_multipart(dealer_, std::back_inserter(f), zmq::recv_flags::dontwait)) {
        return std::optional<CommandReply>();
      }
      CommandReply reply;
      if (f.size() != 6 || f[0].size() != 0 || !wire::DecodeSeq(f[1], &reply.tag) ||
          !DecodeCode(f[2], &reply.code) || !wire::DecodeSeq(f[3], &reply.seq) ||
          f[4].size() != 1) {
        return Status::Corruption("command channel: malformed reply (" + std::to_string(f.size()) +
                                  " frames)");
      }
      reply.duplicate = *static_cast<const char*>(f[4].data()) != 0;
      reply.body = f[5].to_string();
      return std::optional<CommandReply>(std::move(reply));
    } catch (const zmq::error_t& err) {
      return wire::FromZmqError(err, "command channel: receive");
    }
  }

 private:
  zmq::socket_t dealer_;
};

class ZmqCommandServer final : public CommandServer {
 public:
  ZmqCommandServer(zmq::context_t& ctx, zmq::socket_t router, std::string endpoint,
                   CommandHandler handler, size_t workers)
      : ctx_(ctx),
        router_(std::move(router)),
        endpoint_(std::move(endpoint)),
        handler_(std::move(handler)),
        replies_endpoint_("inproc://korc-bus-command-replies-" +
                          std::to_string(next_server_id.fetch_add(1))),
        replies_(ctx, zmq::socket_type::pull) {
    replies_.set(zmq::sockopt::linger, 0);
    replies_.bind(replies_endpoint_);
    for (size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { Work(); });
    thread_ = std::thread([this] { Run(); });
  }

  ~ZmqCommandServer() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    thread_.join();
  }

  std::string endpoint() const override { return endpoint_; }

 private:
  struct Job {
    std::string identity;
    CommandRequest request;
  };

  bool stopping() {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // The server thread: owns router_ and replies_.
  void Run() {
    zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                               {replies_.handle(), 0, ZMQ_POLLIN, 0}};
    std::vector<zmq::message_t> f;
    // Workers only finish what they started once stopping; the thread keeps forwarding their
    // replies until they have all exited (the destructor joins them first).
    while (!stopping()) {
      try {
        zmq::poll(items, 2, std::chrono::milliseconds(100));
        if (items[1].revents & ZMQ_POLLIN) {
          while (true) {
            f.clear();
            if (!zmq::recv_multipart(replies_, std::back_inserter(f), zmq::recv_flags::dontwait))
              break;
            // [identity][tag][code][seq][duplicate][body] -> ROUTER [identity][""][tag]...
            if (f.size() != 6) continue;
            const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
            try {
              if (!router_.send(f[0], more)) continue;
              router_.send(zmq::message_t(), more);
              for (size_t i = 1; i < 6; ++i) {
                router_.send(f[i], i + 1 < 6 ? more : zmq::send_flags::dontwait);
              }
            } catch (const zmq::error_t& err) {
              // The requester left (ROUTER_MANDATORY says EHOSTUNREACH): its reply is dropped
              // and serving goes on. A client that comes back re-sends under the same id.
              if (err.num() != EHOSTUNREACH) throw;
            }
          }
        }
        if (items[0].revents & ZMQ_POLLIN) {
          while (true) {
            f.clear();
            if (!zmq::recv_multipart(router_, std::back_inserter(f), zmq::recv_flags::dontwait))
              break;
            Job job;
            if (f.size() < 2 || f[1].size() != 0 || !ParseRequest(f, 2, &job.request)) {
              if (!f.empty()) SendMalformed(f);
              continue;
            }
            job.identity = f[0].to_string();
            {
              std::lock_guard lock(mu_);
              jobs_.push_back(std::move(job));
            }
            cv_.notify_one();
          }
        }
      } catch (const zmq::error_t& err) {
        if (err.num() == EINTR) continue;
        return;  // ETERM or an unexpected error: stop serving
      }
    }
  }

  void SendMalformed(std::vector<zmq::message_t>& f) {
    uint64_t tag = 0;
    if (f.size() > 2) wire::DecodeSeq(f[2], &tag);
    const std::string body =
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
        "\"message\":\"malformed command: wrong frame count or field sizes\","
        "\"reason\":\"BadRequest\",\"code\":400}";
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    try {
      if (!router_.send(f[0], more)) return;
      router_.send(zmq::message_t(), more);
      router_.send(zmq::buffer(wire::EncodeSeq(tag)), more);
      router_.send(zmq::buffer(EncodeCode(400)), more);
      router_.send(zmq::buffer(wire::EncodeSeq(0)), more);
      router_.send(zmq::buffer(std::string(1, '\0')), more);
      router_.send(zmq::buffer(body), zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
    }
  }

  void Work() {
    zmq::socket_t push(ctx_, zmq::socket_type::push);
    push.set(zmq::sockopt::linger, 1000);  // a reply in flight at shutdown still goes out
    push.connect(replies_endpoint_);
    while (true) {
      Job job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      CommandReply reply = handler_(job.request);
      const std::string tag = wire::EncodeSeq(job.request.tag), code = EncodeCode(reply.code),
                        seq = wire::EncodeSeq(reply.seq),
                        duplicate(1, reply.duplicate ? '\1' : '\0');
      try {
        push.send(zmq::buffer(job.identity), zmq::send_flags::sndmore);
        push.send(zmq::buffer(tag), zmq::send_flags::sndmore);
        push.send(zmq::buffer(code), zmq::send_flags::sndmore);
        push.send(zmq::buffer(seq), zmq::send_flags::sndmore);
        push.send(zmq::buffer(duplicate), zmq::send_flags::sndmore);
        push.send(zmq::buffer(reply.body), zmq::send_flags::none);
      } catch (const zmq::error_t&) {
        return;  // the context is closing
      }
    }
  }

  zmq::context_t& ctx_;
  zmq::socket_t router_;  // used only by thread_
  const std::string endpoint_;
  CommandHandler handler_;
  const std::string replies_endpoint_;
  zmq::socket_t replies_;  // used only by thread_ (bound before the workers start)

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;   // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<CommandClient>> ConnectCommandClient(zmq::context_t& ctx,
                                                            const std::string& endpoint) {
  if (endpoint.empty()) return Status::Invalid("command channel: empty endpoint");
  try {
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::sndhwm, 0);  // the runtime bounds what it has outstanding
    dealer.set(zmq::sockopt::rcvhwm, 0);
    dealer.connect(endpoint);
    return std::unique_ptr<CommandClient>(new ZmqCommandClient(std::move(dealer)));
  } catch (const zmq::error_t& err) {
    return wire::FromZmqError(err, "command channel: connect " + endpoint);
  }
}

Result<std::unique_ptr<CommandServer>> StartCommandServer(zmq::context_t& ctx,
                                                          const std::string& endpoint,
                                                          CommandHandler handler, size_t workers) {
  if (endpoint.empty()) return Status::Invalid("command server: empty endpoint");
  if (!handler || workers == 0) return Status::Invalid("command server: no handler or workers");
  try {
    zmq::socket_t router(ctx, zmq::socket_type::router);
    router.set(zmq::sockopt::linger, 0);
    router.set(zmq::sockopt::router_mandatory, true);
    router.set(zmq::sockopt::sndhwm, 0);
    router.set(zmq::sockopt::rcvhwm, 0);
    router.bind(endpoint);
    std::string bound = router.get(zmq::sockopt::last_endpoint);
    return std::unique_ptr<CommandServer>(new ZmqCommandServer(
        ctx, std::move(router), std::move(bound), std::move(handler), workers));
  } catch (const zmq::error_t& err) {
    return wire::FromZmqError(err, "command server: bind " + endpoint);
  }
}

}  // namespace korc::bus
