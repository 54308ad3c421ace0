// KubeletServer: the kubelet's own HTTP endpoint. The API server proxies
// `GET /api/v1/namespaces/{ns}/pods/{name}/log` here, as Kubernetes does:
//
//   GET /containerLogs/{namespace}/{pod}/{container}?follow=&previous=&timestamps=
//       &tailLines=N&limitBytes=N&sinceSeconds=N&sinceTime=RFC3339
//     -> 200 text/plain (chunked and flushed as it goes when following),
//        404 text/plain when the resolver does not know the container, 400 for bad values.
//   GET /healthz -> 200 "ok"
//   GET /metrics -> 200 Prometheus text from options.metrics (404 when there is none): the
//                   node's Service proxy counters live here, as kube-proxy's do on :10249
//
// Plain HTTP on loopback by default: no TLS or authentication, so it must not listen beyond
// the machine (or the node's private network in multi-node tests).
//
// Thread-safety: Start/Stop/destruction from one thread; port() from any. Connections are
// served one thread each (a follow blocks its thread while it streams). The resolver is
// called from connection threads concurrently and must be thread-safe; it and whatever it
// captures must outlive the server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/status.h"

namespace korc::kubelet {

// One `kubectl logs` request, parsed from the URL.
struct LogRequest {
  std::string pod_namespace, pod, container;
  bool follow = false, previous = false, timestamps = false;
  std::optional<int64_t> tail_lines, limit_bytes, since_seconds;
  std::optional<int64_t> since_ns;  // sinceTime, when given instead of sinceSeconds
};

// Where a container's log is. A follow continues while `running()` is true (and then sends
// what is left); null means not running.
struct LogLocation {
  std::string path;
  std::function<bool()> running;
};

// Finds the log for a request (`previous` picks the previous attempt). NotFound becomes a
// 404 with its message; BadRequest/Invalid a 400; other errors a 500.
using LogResolver = std::function<Result<LogLocation>(const LogRequest&)>;

struct KubeletServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0 picks a free port
  // The body of GET /metrics; called from connection threads, so it must be thread-safe.
  std::function<std::string()> metrics;
};

class KubeletServer {
 public:
  static Result<std::unique_ptr<KubeletServer>> Start(const KubeletServerOptions& options,
                                                      LogResolver resolver);
  ~KubeletServer();  // Stop()
  KubeletServer(const KubeletServer&) = delete;
  KubeletServer& operator=(const KubeletServer&) = delete;

  // The bound port (useful with port 0).
  uint16_t port() const;
  // Stops accepting, ends open follows (within ~100 ms) and connections, joins every thread.
  // Idempotent.
  void Stop();

 private:
  class Impl;
  explicit KubeletServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace korc::kubelet
