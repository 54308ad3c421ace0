// The event bus: how every component learns of every committed change, in order, with no
// gap and no duplicate (DESIGN.md, "The bus").
//
// Read this header first. Three parts, all over ZeroMQ:
//   - Publisher: the API server publishes each durable event once, in seq order, on a PUB
//     socket as the multipart message [topic = "kind/namespace"][seq: 8 bytes big-endian]
//     [EncodeEvent bytes]. When idle it also sends a heartbeat carrying the last seq it
//     published, so a subscriber notices when the *last* events of a burst were dropped.
//   - CatchUpServer: a ROUTER socket that answers "events after seq N" with the events read
//     from the log, in batches, ending with a message that carries the seq it read up to and
//     the head.
//   - Subscriber: connects SUB first and buffers, catches up from the log, then splices the
//     buffered live events above what it has (the ZeroMQ Guide's Clone pattern). A jump in
//     live seqs (PUB drops at its high-water mark, a reconnect) or a heartbeat announcing a
//     seq it has not seen triggers catch-up again, so the owner sees a gapless, ordered
//     stream.
//
// Filtering: the Subscriber receives every event and filters by topic itself, because gap
// detection needs the dense global seq; a ZeroMQ-side topic filter would make gaps
// indistinguishable from other topics' events.
//
// Endpoints are ZeroMQ addresses: inproc:// inside one process (korc up), ipc:// on one
// machine, tcp:// across machines. Message formats: bus/README.md.
//
// Lifetimes: the zmq::context_t passed to a factory must outlive what it returns (closing a
// context waits for its sockets). No function here throws; ZeroMQ errors become Status.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"
#include "storage/event_log.h"

namespace zmq {
class context_t;
}

namespace korc::bus {

// Publishes committed events. Thread-safety: Publish may be called from one thread at a
// time (the sequencer's); it never blocks on slow subscribers (PUB drops instead, and they
// heal from the log). An internal thread sends the heartbeats; it stops on destruction.
class Publisher {
 public:
  virtual ~Publisher() = default;
  // Sends each event; events must arrive in increasing, dense seq order across calls (the
  // first call may start at any seq). Invalid, with nothing sent, when they do not.
  // Unavailable when ZeroMQ refuses the send (e.g. its context was shut down).
  virtual Status Publish(std::span<const Event> events) = 0;
  // The endpoint actually bound (a tcp://…:0 request resolves to the real port).
  virtual std::string endpoint() const = 0;
};

struct PublisherOptions {
  std::string endpoint;   // bind address
  int send_hwm = 100000;  // messages queued per subscriber before PUB drops
  // How often the last published seq is announced. It bounds how long a subscriber can stay
  // unaware that the tail of a burst was dropped (or that it joined late). Must be > 0.
  std::chrono::milliseconds heartbeat_interval{100};
};

Result<std::unique_ptr<Publisher>> MakePublisher(zmq::context_t& ctx,
                                                 const PublisherOptions& options);

// Serves catch-up requests from the log on its own thread until destroyed. Destruction
// stops and joins that thread promptly (it never waits for a client). `log` must outlive
// the server. A reply is bounded (a few MiB); the subscriber asks again for the rest.
class CatchUpServer {
 public:
  virtual ~CatchUpServer() = default;
  // The endpoint actually bound (a tcp://…:0 request resolves to the real port).
  virtual std::string endpoint() const = 0;
};

Result<std::unique_ptr<CatchUpServer>> StartCatchUpServer(zmq::context_t& ctx,
                                                          const storage::EventLog& log,
                                                          const std::string& endpoint);

struct SubscriberOptions {
  std::string publisher_endpoint;
  std::string catch_up_endpoint;
  // Deliver only events whose topic ("kind/namespace") matches one of these; empty delivers
  // everything. A filter matches a topic that starts with it at a segment boundary: "Pod/" =
  // every Pod, "Pod/default" = Pods in namespace default (not in "default-2"), "Node/" =
  // every Node (cluster-scoped), "" = everything.
  std::vector<std::string> topic_prefixes;
  // Deliver events with seq > after_seq (0: the whole history).
  uint64_t after_seq = 0;
  // Live messages ZeroMQ buffers for this subscriber (the Clone pattern's buffer while it
  // catches up); beyond it PUB drops and the subscriber heals from the log.
  int receive_hwm = 100000;
  // How long the catch-up server may stay silent while a reply is awaited before Next()
  // answers Unavailable. Must be > 0.
  std::chrono::milliseconds catch_up_timeout{3000};
};

// A gapless, ordered stream of committed events. Thread-safety: one owner thread calls
// Next(); the Subscriber owns its sockets. position() and gaps_healed() may be read from any
// thread.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // The next event, waiting up to `timeout` (0 polls); nullopt on timeout. Errors:
  //   Expired     the history it needs was compacted: the owner must rebuild from a
  //               snapshot/list and subscribe anew. Final: every later call returns it too.
  //   Invalid     the log's head is below this subscriber's position (not the same log).
  //               Final.
  //   Unavailable the catch-up server did not answer within catch_up_timeout. The next
  //               call retries with a fresh connection.
  //   Corruption  a malformed message from the network (the message is dropped; the next
  //               call goes on, healing from the log), or a corrupt log (final).
  virtual Result<std::optional<Event>> Next(std::chrono::milliseconds timeout) = 0;
  // Seq of the last event this subscriber has seen (delivered or filtered out).
  virtual uint64_t position() const = 0;
  // How many times a gap in live events was healed from the log (for metrics and tests).
  virtual uint64_t gaps_healed() const = 0;
  // The log's head as of the first catch-up reply completed; nullopt before it. An owner
  // that must not act on a partial history (a controller) waits until position() reaches it.
  virtual std::optional<uint64_t> initial_head() const = 0;
};

// Connects (SUB first) and sends the first catch-up request; it does not wait for the
// servers. Invalid for bad options or a malformed endpoint.
Result<std::unique_ptr<Subscriber>> Subscribe(zmq::context_t& ctx,
                                              const SubscriberOptions& options);

// The topic of an event: "kind/namespace".
std::string TopicOf(const Event& event);

// Whether `topic` matches `filter` in the sense of SubscriberOptions::topic_prefixes.
bool TopicMatches(std::string_view topic, std::string_view filter);

}  // namespace korc::bus
