// Pod logs: GET /api/v1/namespaces/{ns}/pods/{name}/log, served as Kubernetes does — the API
// server checks the request against the Pod and its Node, then proxies it to the kubelet's
// /containerLogs/{ns}/{pod}/{container} on the address the Node states and streams the
// answer back (chunk by chunk while following).
//
// Only HTTP serves logs: the bus command channel answers with an error, as it does for
// watches (a log is a long stream, not a command).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "components/apiserver/http.h"
#include "components/apiserver/store.h"

namespace korc::apiserver {

// The kubelet request a pod log request becomes.
struct KubeletLogTarget {
  std::string node;    // the Pod's spec.nodeName (for messages)
  std::string host;    // the Node's InternalIP, exactly as status.addresses gives it
  uint16_t port = 0;   // status.daemonEndpoints.kubeletEndpoint.Port
  std::string target;  // "/containerLogs/default/web/c?follow=true&tailLines=10"
};

// Whether `req` is GET /api/v1/namespaces/{ns}/pods/{name}/log.
bool IsPodLog(const HttpRequest& req);

// Checks a pod log request against the store — the query values, the Pod, its container, its
// Node and the Node's kubelet endpoint — and returns the kubelet request to make; or nullopt
// with *error set to the metav1.Status Kubernetes answers with (404 for a missing Pod, 400 for
// a missing or unknown container, an unbound Pod or a bad query value, ...). `now_ns` (unix
// time) turns sinceTime into the kubelet's sinceSeconds.
std::optional<KubeletLogTarget> ResolvePodLog(const Store& store, const HttpRequest& req,
                                              int64_t now_ns, HttpResponse* error);

// PodLogProxy: serves pod log requests by proxying them to the kubelet.
//
// Thread-safety: Serve may be called concurrently (one call per connection thread); it
// reads the Store's immutable entries and holds no lock while it streams. The Store must
// outlive the proxy.
class PodLogProxy {
 public:
  explicit PodLogProxy(const Store& store) : store_(store) {}

  // Serves one pod log request, the way Handlers::Watch serves a watch: calls begin() exactly
  // once — with an error response (the caller sends it whole) or with a 200 text/plain whose
  // body is then streamed — and write(chunk) for each piece of the kubelet's answer as it
  // arrives. Returns when the kubelet ends its answer, when write returns false, when
  // `client_fd` (the client's connection, only polled here) hangs up, or when `stopping` is
  // set. The kubelet's 4xx answers become metav1.Status errors with its message.
  void Serve(const HttpRequest& req, int client_fd,
             const std::function<void(const HttpResponse&)>& begin,
             const std::function<bool(std::string_view)>& write,
             const std::atomic<bool>& stopping) const;

 private:
  const Store& store_;
};

}  // namespace korc::apiserver
