// The node's Service proxy (kube-proxy's job; the proxy half of `korc node`). One reducer
// follows Services and Endpoints through the bus like every other component; for each
// Service it turns the two objects into the proxier's table (service_table.h) and hands it
// to the Proxier, which opens the listeners and relays connections. It never writes to the
// API: its decisions are the listeners themselves.
//
// Keys are "namespace/name" of a Service; an Endpoints change wakes the Service of the same
// name.
//
// Thread-safety: Proxy: Start/Stop from one thread, metrics() from any. ProxyReducer: its
// runtime's thread only (its side effect goes to the thread-safe Proxier).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "components/proxy/proxier.h"
#include "components/reactor/reducer.h"
#include "components/reactor/runtime.h"

namespace zmq {
class context_t;
}

namespace korc::kubelet::network {
class ServiceAddresses;
}

namespace korc::proxy {

class ProxyReducer final : public reactor::Reducer {
 public:
  using Sink = std::function<void(const std::string& service, std::vector<ServicePortEntry>)>;
  explicit ProxyReducer(Sink sink) : sink_(std::move(sink)) {}

  std::string_view name() const override { return "system:kube-proxy"; }
  std::vector<std::string> kinds() const override { return {"Service", "Endpoints"}; }
  void Wake(const reactor::View& view, const Event& e, const api::Object* before,
            std::vector<std::string>* keys) const override;
  void AllKeys(const reactor::View& view, std::vector<std::string>* keys) const override;
  reactor::Decision Reconcile(const reactor::View& view, const std::string& key,
                              int64_t now_ns) const override;

 private:
  Sink sink_;
};

struct ProxyOptions {
  // NodePorts listen here: the node's InternalIP and loopback.
  std::vector<std::string> node_port_addresses = {"127.0.0.1"};
  // Bind ClusterIPs on the node (a dummy link, or lo): default when the process may.
  std::optional<bool> manage_addresses;
  std::chrono::milliseconds connect_timeout{1000};
  reactor::RuntimeOptions bus;  // endpoints of the API server's bus
};

class Proxy {
 public:
  // `ctx` must outlive the proxy.
  static Result<std::unique_ptr<Proxy>> Start(zmq::context_t& ctx, ProxyOptions options);
  ~Proxy();  // Stop()

  // Stops following the bus, closes every listener and connection, and removes the
  // ClusterIPs it added. Idempotent.
  void Stop();
  bool synced() const { return runtime_ && runtime_->stats().synced.load(); }
  Proxier& proxier() { return *proxier_; }
  // Where ClusterIPs are bound ("" when they are not managed).
  std::string address_link() const;

 private:
  Proxy() = default;
  std::unique_ptr<kubelet::network::ServiceAddresses> addresses_;
  std::unique_ptr<Proxier> proxier_;
  std::unique_ptr<ProxyReducer> reducer_;
  std::unique_ptr<reactor::Runtime> runtime_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace korc::proxy
