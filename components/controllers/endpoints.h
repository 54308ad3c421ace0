// The endpoints controller (Kubernetes' pkg/controller/endpoint) as a pure reducer.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "components/reactor/reducer.h"

namespace korc::controllers {

// EndpointsReducer keeps the Endpoints of every Service that has a selector in step with the
// Pods the selector matches: one address per Pod with an IP (ready ones in `addresses`, the
// others in `notReadyAddresses`), the Service's ports resolved against each Pod (a named
// targetPort is looked up in the Pod's container ports), grouped into subsets as Kubernetes'
// RepackSubsets does and sorted so that the same Pods always give the same bytes. It writes
// only when the subsets or labels differ from what is stored, deletes the Endpoints of a
// Service that is gone, and leaves the Endpoints of a Service without selector alone.
//
// Keys are "namespace/name" of a Service. Wake: a Service event wakes it; a Pod event wakes
// the Services of its namespace whose selector matches its old or new labels; an Endpoints
// event wakes the same-named Service, except an ADDED by someone else (as Kubernetes, which
// has no add handler: Endpoints created before their selector-less Service survive).
//
// Thread-safety: immutable; every method may be called from any thread.
class EndpointsReducer final : public reactor::Reducer {
 public:
  std::string_view name() const override { return "system:controller:endpoint"; }
  std::vector<std::string> kinds() const override;
  void Wake(const reactor::View& view, const Event& e, const api::Object* before,
            std::vector<std::string>* keys) const override;
  void AllKeys(const reactor::View& view, std::vector<std::string>* keys) const override;
  reactor::Decision Reconcile(const reactor::View& view, const std::string& key,
                              int64_t now_ns) const override;
};

}  // namespace korc::controllers
