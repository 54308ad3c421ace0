// The command channel: how components (controllers, the scheduler, kubelets) ask the API
// server for changes over the bus instead of HTTP (DESIGN.md, "The one loop", step 1).
//
// A command is an API request — method, path, content type and the same JSON body HTTP
// takes — plus its provenance: the component's identity (actor), a deterministic command id
// (the API server applies an id once), the seq of the event that caused it (cause), and the
// view seq and clock reading the decision was made on (basis). The API server answers each
// with the HTTP status code and body it would have sent: the committed object (whose
// resourceVersion is the new seq) or a metav1.Status.
//
//   CommandClient — a DEALER socket; many requests may be outstanding, matched to replies by
//                   a client-chosen tag. One owner thread.
//   CommandServer — a ROUTER socket and a pool of worker threads calling a handler, so many
//                   commands wait on the API server's group commit at once. Each waiting
//                   command holds a worker, so the pool bounds how many share one commit:
//                   512, the sequencer's batch limit (64 capped commits at 64 commands and
//                   halved the scheduler's binds/s, measured by bench/scheduler).
//
// Wire format (bus/README.md): request [""][tag][id][actor][cause][basis][basis_time]
// [reason][method][path][content type][body]; reply [""][tag][code][seq][duplicate][body].
// Numbers are 8 bytes big-endian (code: 4 bytes; duplicate: 1 byte, 0 or 1).
//
// Lifetimes: the zmq::context_t must outlive what the factories return. Nothing here throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"

namespace zmq {
class context_t;
}

namespace korc::bus {

struct CommandRequest {
  uint64_t tag = 0;  // the client's correlation number, echoed in the reply
  std::string id;    // "<reducer>/<cause>/<index>"; empty: not deduplicated
  std::string actor;
  uint64_t cause = 0;
  uint64_t basis = 0;
  int64_t basis_time_ns = 0;
  std::string reason;  // one sentence, recorded as the change's reason
  std::string method;  // "POST", "PUT", "PATCH", "DELETE"
  std::string path;    // "/api/v1/namespaces/default/pods"
  std::string content_type;
  std::string body;
};

struct CommandReply {
  uint64_t tag = 0;
  int code = 0;  // HTTP status code
  // The seq of the change the command made; 0 when it changed nothing. When `duplicate`,
  // the command's id had been applied before, at `seq`, and nothing new was written.
  uint64_t seq = 0;
  bool duplicate = false;
  std::string body;  // the object, or a metav1.Status
};

class CommandClient {
 public:
  virtual ~CommandClient() = default;
  // Queues the request without waiting. Unavailable if ZeroMQ refuses it.
  virtual Status Send(const CommandRequest& request) = 0;
  // The next reply, waiting up to `timeout`; nullopt on timeout. Corruption for a malformed
  // reply (dropped; the next call goes on).
  virtual Result<std::optional<CommandReply>> Receive(std::chrono::milliseconds timeout) = 0;
};

Result<std::unique_ptr<CommandClient>> ConnectCommandClient(zmq::context_t& ctx,
                                                            const std::string& endpoint);

// Serves commands until destroyed; destruction waits for handlers already running.
class CommandServer {
 public:
  virtual ~CommandServer() = default;
  virtual std::string endpoint() const = 0;
};

// Called on a worker thread for each request; its reply goes back to the sender.
using CommandHandler = std::function<CommandReply(const CommandRequest&)>;

Result<std::unique_ptr<CommandServer>> StartCommandServer(zmq::context_t& ctx,
                                                          const std::string& endpoint,
                                                          CommandHandler handler,
                                                          size_t workers = 512);

}  // namespace korc::bus
