// Liveness and readiness probes, as the Kubernetes kubelet runs them.
//
// Two parts: the checks themselves (TCP connect, HTTP GET), which block for at most their
// timeout, and ProbeTracker, the pure per-container, per-probe state machine that decides
// when the next check is due and whether the container counts as healthy. Exec probes run
// inside the container and belong to the runtime; their outcome feeds the same tracker.
#pragma once

#include <cstdint>
#include <string>

#include "core/objects.h"
#include "core/status.h"

namespace korc::kubelet::prober {

enum class ProbeResult { kSuccess, kFailure };

struct ProbeOutcome {
  ProbeResult result = ProbeResult::kFailure;
  std::string message;  // why it failed, e.g. "HTTP probe failed with statuscode: 500"
  bool ok() const { return result == ProbeResult::kSuccess; }
};

// The User-Agent of probe requests, as the kubelet of the Kubernetes version korc speaks.
inline constexpr const char* kProbeUserAgent = "kube-probe/1.29";

// Success when a TCP connection to host:port is established within timeout_ms. `host` is
// an address or a name (name lookup is not bounded by the timeout; the kubelet passes pod
// IPs). Thread-safe; blocks up to timeout_ms.
ProbeOutcome ProbeTcp(const std::string& host, int port, int timeout_ms);

// GET scheme://host:port/path with a Host header, User-Agent kube-probe/1.29 and the probe's
// custom headers (which override both). Any status 200..399 is success; redirects are not
// followed (a 3xx counts as success, as the kubelet does for redirects it does not follow).
// The whole exchange, up to the status line, must finish within timeout_ms. HTTPS is not
// implemented: such a probe fails and says so. `host` is where to connect; action.host, if
// set, overrides it. Thread-safe; blocks up to timeout_ms.
ProbeOutcome ProbeHttp(const std::string& host, int port, const api::HttpGetAction& action,
                       int timeout_ms);

// A probe's port: a number as is, a name through the container's ports. Invalid when the
// name is not among them or the number is out of range.
Result<int> ResolvePort(const api::IntOrString& port, const api::Container& container);

enum class ProbeKind { kLiveness, kReadiness };

// ProbeTracker: when a container's probe is due next and whether it passes, in Kubernetes
// terms. The first check is due at started_ns + initialDelaySeconds, then periodSeconds
// after each check. Readiness starts not ready and turns ready after successThreshold
// consecutive successes, not ready after failureThreshold consecutive failures. Liveness
// starts alive and turns unhealthy after failureThreshold consecutive failures (the kubelet
// then restarts the container and makes a new tracker).
//
// Pure: no I/O, no clock (time is passed in). Thread-safety: none; one owner. Copyable.
class ProbeTracker {
 public:
  // Zero fields take the Kubernetes defaults: period 10 s, timeout 1 s, success threshold 1,
  // failure threshold 3.
  ProbeTracker(ProbeKind kind, const api::Probe& probe, int64_t started_ns);

  int64_t NextDueNs() const { return next_due_ns_; }
  void Record(const ProbeOutcome& outcome, int64_t now_ns);
  // Readiness: ready. Liveness: alive.
  bool healthy() const { return healthy_; }
  const std::string& last_message() const { return last_message_; }

  ProbeKind kind() const { return kind_; }
  // The probe with the defaults applied.
  const api::Probe& probe() const { return probe_; }
  int timeout_ms() const { return probe_.timeout_seconds * 1000; }

 private:
  ProbeKind kind_;
  api::Probe probe_;
  int64_t next_due_ns_;
  bool healthy_;
  int successes_ = 0;  // consecutive
  int failures_ = 0;   // consecutive
  std::string last_message_;
};

}  // namespace korc::kubelet::prober
