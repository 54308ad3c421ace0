#include "components/proxy/proxy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "components/kubelet/network/service_addresses.h"

namespace korc::proxy {

void ProxyReducer::Wake(const reactor::View&, const Event& e, const api::Object*,
                        std::vector<std::string>* keys) const {
  if (e.kind == "Service" || e.kind == "Endpoints") {
    keys->push_back(reactor::NamespacedKey(e.ns, e.name));
  }
}

void ProxyReducer::AllKeys(const reactor::View& view, std::vector<std::string>* keys) const {
  for (const api::Service* s : view.ListAs<api::Service>()) {
    keys->push_back(reactor::NamespacedKey(s->metadata.namespace_, s->metadata.name));
  }
}

reactor::Decision ProxyReducer::Reconcile(const reactor::View& view, const std::string& key,
                                          int64_t) const {
  auto slash = key.find('/');
  std::string ns = key.substr(0, slash), name = key.substr(slash + 1);
  const auto* service = view.Get<api::Service>(ns, name);
  std::vector<ServicePortEntry> entries;
  if (service) entries = BuildServicePorts(*service, view.Get<api::Endpoints>(ns, name));
  size_t backends = entries.empty() ? 0 : entries.front().backends.size();
  size_t ports = entries.size();
  sink_(key, std::move(entries));
  reactor::Decision d;
  d.reason = service ? fmt::format("{} port(s), {} ready backend(s)", ports, backends)
                     : std::string("service gone");
  return d;
}

Result<std::unique_ptr<Proxy>> Proxy::Start(zmq::context_t& ctx, ProxyOptions options) {
  std::unique_ptr<Proxy> p(new Proxy());
  bool manage = options.manage_addresses.value_or(geteuid() == 0);
  if (manage) {
    auto addresses = kubelet::network::ServiceAddresses::Open();
    if (addresses.ok()) {
      p->addresses_ = std::move(*addresses);
      // What an earlier proxy left behind goes until the table says otherwise.
      KORC_RETURN_IF_ERROR(p->addresses_->Sync({}));
    } else if (options.manage_addresses.has_value()) {
      return addresses.status();
    } else {
      // Root without CAP_NET_ADMIN (a container, say): ClusterIPs must be local already.
      spdlog::warn("proxy: cannot bind ClusterIPs on this node ({}); using them as they are",
                   addresses.status().message());
    }
  }
  ProxierOptions po;
  po.node_port_addresses = options.node_port_addresses;
  po.addresses = p->addresses_.get();
  po.connect_timeout = options.connect_timeout;
  KORC_ASSIGN_OR_RETURN(p->proxier_, Proxier::Start(po));
  Proxier* proxier = p->proxier_.get();
  p->reducer_ = std::make_unique<ProxyReducer>(
      [proxier](const std::string& service, std::vector<ServicePortEntry> entries) {
        proxier->Update(service, std::move(entries));
      });
  p->runtime_ = std::make_unique<reactor::Runtime>(ctx, *p->reducer_, options.bus);
  Proxy* self = p.get();
  p->thread_ = std::thread([self] {
    Status s = self->runtime_->Run(self->stop_);
    if (!s.ok()) spdlog::error("proxy: {}", s.message());
  });
  spdlog::info("proxy: ClusterIPs {}; NodePorts on {}",
               p->addresses_ ? "bound on " + p->addresses_->link()
                             : std::string("used as they are (not root: a loopback range)"),
               fmt::join(options.node_port_addresses, ", "));
  return p;
}

std::string Proxy::address_link() const { return addresses_ ? addresses_->link() : ""; }

void Proxy::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (proxier_) proxier_->Stop();
  if (addresses_) {
    if (Status st = addresses_->Clear(); !st.ok()) spdlog::warn("proxy: {}", st.message());
  }
}

Proxy::~Proxy() { Stop(); }

}  // namespace korc::proxy
