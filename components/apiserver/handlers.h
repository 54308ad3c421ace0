// The REST semantics of the API server: routing of /api/v1 paths to verbs (get, list,
// watch, create, update, patch, delete, deletecollection and the scale, status and binding
// subresources), discovery documents, and metrics. Transport-free: api_server.cc feeds it
// parsed requests and streams watch chunks through a callback.
//
// Thread-safety: every method may be called concurrently from connection threads.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "components/apiserver/http.h"
#include "components/apiserver/service_alloc.h"
#include "components/apiserver/store.h"
#include "core/kinds.h"
#include "storage/event_log.h"

namespace korc::apiserver {

class Handlers {
 public:
  // Services get their ClusterIPs and NodePorts from `services` (service_alloc.h).
  Handlers(storage::EventLog& log, Store& store, Sequencer& sequencer, WatchHub& hub,
           ServiceRanges services)
      : log_(log), store_(store), sequencer_(sequencer), hub_(hub), services_(services) {}

  // Whether the answer is a stream: a watch, or the audit log (see Watch, AuditLog).
  static bool IsWatch(const HttpRequest& req);

  HttpResponse Handle(const HttpRequest& req);

  // Serves a watch. Calls begin() exactly once: with an error response (the caller sends it
  // whole), or with a 200 whose body will be streamed; then write(chunk) for each line of the
  // stream until the watch ends (timeoutSeconds, the client gone: write returns false, or
  // `stopping` set by the server).
  void Watch(const HttpRequest& req, const std::function<void(const HttpResponse&)>& begin,
             const std::function<bool(std::string_view)>& write, const std::atomic<bool>& stopping);

  // GET /korc/v1/log: the event log itself, as JSON lines — seq, time, type, object,
  // actor, cause, basis, reason — the audit trail Kubernetes' API does not carry. Query:
  // since (a seq: events after it; or an RFC 3339 time), follow, kind, namespace, name,
  // actor, includeObject. Streams like Watch.
  void AuditLog(const HttpRequest& req, const std::function<void(const HttpResponse&)>& begin,
                const std::function<bool(std::string_view)>& write,
                const std::atomic<bool>& stopping);

  // Creates the namespaces that exist from the start when they are missing.
  Status EnsureNamespaces(const std::vector<std::string>& names);

 private:
  struct Route {
    const KindInfo* kind = nullptr;
    std::string ns;  // from the path ("" for cluster scope or all namespaces)
    std::string name;
    std::string sub;  // "status", "scale", "binding", ...
  };
  static Route ParseRoute(std::string_view path);
  HttpResponse Dispatch(const HttpRequest& req, const Route& r);
  // The object a write answers with: what it committed, or — when it changed nothing —
  // the current state.
  EntryPtr Current(const Committed& c, const KindInfo& kind, const std::string& ns,
                   const std::string& name) const;
  // Submits to the sequencer with the request's provenance, or only decides when the
  // request asks for dryRun=All.
  Result<Committed> Submit(const HttpRequest& req, Sequencer::Decide decide);
  HttpResponse Get(const HttpRequest& req, const Route& r);
  HttpResponse List(const HttpRequest& req, const Route& r);
  HttpResponse Create(const HttpRequest& req, const Route& r);
  HttpResponse Update(const HttpRequest& req, const Route& r);
  HttpResponse Patch(const HttpRequest& req, const Route& r);
  HttpResponse Delete(const HttpRequest& req, const Route& r);
  HttpResponse DeleteCollection(const HttpRequest& req, const Route& r);
  HttpResponse Scale(const HttpRequest& req, const Route& r);
  HttpResponse Bind(const HttpRequest& req, const Route& r);
  HttpResponse Discovery(const HttpRequest& req);
  HttpResponse Metrics();
  void Count(const std::string& verb, const std::string& resource, int code, double seconds);

  storage::EventLog& log_;
  Store& store_;
  Sequencer& sequencer_;
  WatchHub& hub_;
  const ServiceRanges services_;

  std::mutex metrics_mu_;
  struct Counter {
    uint64_t count = 0;
    double seconds = 0;
  };
  std::map<std::string, Counter> requests_;  // GUARDED_BY(metrics_mu_); "verb|resource|code"
};

}  // namespace korc::apiserver
