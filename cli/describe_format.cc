#include "cli/describe_format.h"

#include <algorithm>
#include <ctime>
#include <functional>
#include <set>

#include "cli/output.h"
#include "core/kinds.h"
#include "core/quantity.h"

namespace korc::cli {

namespace {

using api::StringMap;

std::string Str(int64_t v) { return std::to_string(v); }

// Go's %v of a bool.
std::string Bool(bool b) { return b ? "true" : "false"; }

// kubectl's printBool.
std::string TrueFalse(bool b) { return b ? "True" : "False"; }

std::string OrNone(const std::string& s) { return s.empty() ? "<none>" : s; }

std::string Join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? s.npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::string TrimSpace(std::string_view s) {
  const char* ws = " \t\n\r\v\f";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

// Go's time.RFC1123Z. An unset time prints as Go's zero time does, as kubectl shows it.
std::string Rfc1123(int64_t unix_ns, const DescribeOptions& o) {
  if (unix_ns == 0) return "Mon, 01 Jan 0001 00:00:00 +0000";
  int64_t secs = unix_ns / 1'000'000'000;
  if (unix_ns < 0 && unix_ns % 1'000'000'000) --secs;
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (o.utc) {
    gmtime_r(&t, &tm);
  } else {
    localtime_r(&t, &tm);
  }
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S %z", &tm);
  return buf;
}

// kubectl's translateTimestampSince.
std::string Since(int64_t unix_ns, const DescribeOptions& o) {
  if (unix_ns == 0) return "<unknown>";
  return HumanDuration(o.now_ns - unix_ns);
}

// labels.FormatLabels: "a=b,c=d", or "<none>".
std::string FormatLabels(const StringMap& labels) {
  std::string out;
  for (const auto& [k, v] : labels) out += (out.empty() ? "" : ",") + k + "=" + v;
  return OrNone(out);
}

// kubectl's PrefixWriter into a tabwriter: each Write is indented two spaces per level (only
// at its start, whatever newlines it holds); Flush aligns what was written so far on its own.
class PrefixWriter {
 public:
  void Write(int level, std::string_view text) {
    pending_.append(2 * static_cast<size_t>(level), ' ');
    // Terminal control sequences from the server are shown, not obeyed (printers.WriteEscaped).
    for (char c : text) {
      if (c == '\x1b') {
        pending_ += "^[";
      } else if (c == '\r') {
        pending_ += "\\r";
      } else {
        pending_ += c;
      }
    }
  }
  void Flush() {
    out_ += TabAlign(pending_);
    pending_.clear();
  }
  std::string Done() {
    Flush();
    return std::move(out_);
  }

 private:
  std::string pending_;
  std::string out_;
};

void PrintLabelsMultiline(PrefixWriter& w, std::string_view title, const StringMap& labels) {
  w.Write(0, std::string(title) + ":\t");
  if (labels.empty()) {
    w.Write(0, "<none>\n");
    return;
  }
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) w.Write(0, "\t");
    w.Write(0, k + "=" + v + "\n");
    first = false;
  }
}

constexpr size_t kMaxAnnotationLen = 140;
constexpr std::string_view kLastApplied = "kubectl.kubernetes.io/last-applied-configuration";

void PrintAnnotationsMultiline(PrefixWriter& w, std::string_view title,
                               const StringMap& annotations) {
  w.Write(0, std::string(title) + ":\t");
  bool first = true;
  for (const auto& [k, raw] : annotations) {
    if (k == kLastApplied) continue;
    if (!first) w.Write(0, "\t");
    first = false;
    std::string value = raw;
    if (value.ends_with('\n')) value.pop_back();
    if (value.size() + k.size() + 2 > kMaxAnnotationLen || value.find('\n') != value.npos) {
      w.Write(0, k + ":\n");
      for (const auto& line : Split(value, '\n')) {
        std::string s = line.size() > kMaxAnnotationLen - 2
                            ? line.substr(0, kMaxAnnotationLen - 2) + "..."
                            : line;
        w.Write(0, "\t  " + s + "\n");
      }
    } else {
      w.Write(0, k + ": " + value + "\n");
    }
  }
  if (first) w.Write(0, "<none>\n");
}

std::string TaintString(const api::Taint& t) {
  std::string s = t.key;
  if (!t.value.empty()) s += "=" + t.value;
  if (!t.effect.empty()) s += ":" + t.effect;
  return s;
}

void PrintTaintsMultiline(PrefixWriter& w, std::string_view title, std::vector<api::Taint> taints) {
  w.Write(0, std::string(title) + ":\t");
  if (taints.empty()) {
    w.Write(0, "<none>\n");
    return;
  }
  std::stable_sort(taints.begin(), taints.end(), [](const api::Taint& a, const api::Taint& b) {
    return a.effect + "," + a.key < b.effect + "," + b.key;
  });
  for (size_t i = 0; i < taints.size(); ++i) {
    if (i) w.Write(0, "\t");
    w.Write(0, TaintString(taints[i]) + "\n");
  }
}

void PrintTolerationsMultiline(PrefixWriter& w, std::string_view title,
                               const std::vector<api::Toleration>& tolerations) {
  w.Write(0, std::string(title) + ":\t");
  if (tolerations.empty()) {
    w.Write(0, "<none>\n");
    return;
  }
  for (size_t i = 0; i < tolerations.size(); ++i) {
    const auto& t = tolerations[i];
    if (i) w.Write(0, "\t");
    std::string s = t.key;
    if (!t.value.empty()) s += "=" + t.value;
    if (!t.effect.empty()) s += ":" + t.effect;
    // `operator: Exists` with no key and no effect tolerates every taint.
    if (t.operator_ == "Exists" && t.value.empty()) {
      s += (!t.key.empty() || !t.effect.empty()) ? " op=Exists" : "op=Exists";
    }
    if (t.toleration_seconds) s += " for " + Str(*t.toleration_seconds) + "s";
    w.Write(0, s + "\n");
  }
}

// The owner reference marked controller; null when there is none.
const api::OwnerReference* ControllerOf(const api::ObjectMeta& m) {
  for (const auto& r : m.owner_references) {
    if (r.controller.value_or(false)) return &r;
  }
  return nullptr;
}

// Events, oldest first, in kubectl's table; aligned apart from what came before.
void DescribeEvents(std::vector<api::KubeEvent> events, PrefixWriter& w, const DescribeOptions& o) {
  if (events.empty()) {
    w.Write(0, "Events:\t<none>\n");
    return;
  }
  w.Flush();
  // kubectl sorts by lastTimestamp; events.k8s.io-style events may carry only eventTime.
  auto when = [](const api::KubeEvent& e) {
    if (!e.last_timestamp.empty()) return e.last_timestamp.unix_ns;
    if (!e.event_time.empty()) return e.event_time.unix_ns;
    return e.first_timestamp.unix_ns;
  };
  std::stable_sort(events.begin(), events.end(),
                   [&](const auto& a, const auto& b) { return when(a) < when(b); });
  w.Write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
  w.Write(1, "----\t------\t----\t----\t-------\n");
  for (const auto& e : events) {
    std::string first =
        e.event_time.empty() ? Since(e.first_timestamp.unix_ns, o) : Since(e.event_time.unix_ns, o);
    std::string interval = first;
    if (e.count > 1) {
      interval = Since(e.last_timestamp.unix_ns, o) + " (x" + Str(e.count) + " over " + first + ")";
    }
    std::string source = e.source.component.empty() ? e.reporting_component : e.source.component;
    w.Write(1, e.type + "\t" + e.reason + "\t" + interval + "\t" + source + "\t" +
                   TrimSpace(e.message) + "\n");
  }
}

// ---------------------------------------------------------------------------------------
// Pods and pod templates

std::string ContainerPorts(const std::vector<api::ContainerPort>& ports, bool host) {
  std::vector<std::string> out;
  for (const auto& p : ports) {
    out.push_back(Str(host ? p.host_port : p.container_port) + "/" + p.protocol);
  }
  return Join(out, ", ");
}

std::string DescribeProbe(const api::Probe& p) {
  std::string attrs = "delay=" + Str(p.initial_delay_seconds) +
                      "s timeout=" + Str(p.timeout_seconds) + "s period=" + Str(p.period_seconds) +
                      "s #success=" + Str(p.success_threshold) +
                      " #failure=" + Str(p.failure_threshold);
  if (p.exec) return "exec [" + Join(p.exec->command, " ") + "] " + attrs;
  if (p.http_get) {
    const auto& h = *p.http_get;
    std::string scheme = h.scheme;
    std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
    std::string port = h.port.ToString();
    std::string host = h.host.find(':') != std::string::npos ? "[" + h.host + "]" : h.host;
    if (!port.empty()) host += ":" + port;
    std::string path = h.path.empty() || h.path.starts_with('/') ? h.path : "/" + h.path;
    return "http-get " + scheme + "://" + host + path + " " + attrs;
  }
  if (p.tcp_socket) {
    return "tcp-socket " + p.tcp_socket->host + ":" + p.tcp_socket->port.ToString() + " " + attrs;
  }
  return "unknown " + attrs;
}

void DescribeState(std::string_view name, const api::ContainerState& s, PrefixWriter& w,
                   const DescribeOptions& o) {
  std::string n(name);
  if (s.running) {
    w.Write(2, n + ":\tRunning\n");
    w.Write(3, "Started:\t" + Rfc1123(s.running->started_at.unix_ns, o) + "\n");
  } else if (s.waiting) {
    w.Write(2, n + ":\tWaiting\n");
    if (!s.waiting->reason.empty()) w.Write(3, "Reason:\t" + s.waiting->reason + "\n");
  } else if (s.terminated) {
    const auto& t = *s.terminated;
    w.Write(2, n + ":\tTerminated\n");
    if (!t.reason.empty()) w.Write(3, "Reason:\t" + t.reason + "\n");
    if (!t.message.empty()) w.Write(3, "Message:\t" + t.message + "\n");
    w.Write(3, "Exit Code:\t" + Str(t.exit_code) + "\n");
    if (t.signal > 0) w.Write(3, "Signal:\t" + Str(t.signal) + "\n");
    w.Write(3, "Started:\t" + Rfc1123(t.started_at.unix_ns, o) + "\n");
    w.Write(3, "Finished:\t" + Rfc1123(t.finished_at.unix_ns, o) + "\n");
  } else {
    w.Write(2, n + ":\tWaiting\n");
  }
}

// `space` is "" for a pod and "  " inside a pod template, as kubectl indents them.
void DescribeContainers(std::string_view label, const std::vector<api::Container>& containers,
                        const std::vector<api::ContainerStatus>& statuses, PrefixWriter& w,
                        std::string_view space, const DescribeOptions& o) {
  w.Write(0, std::string(space) + std::string(label) + ":" + (containers.empty() ? " <none>" : "") +
                 "\n");
  const std::string name_indent = space.empty() ? "" : " ";
  for (const auto& c : containers) {
    const api::ContainerStatus* status = nullptr;
    for (const auto& s : statuses) {
      if (s.name == c.name) status = &s;
    }
    w.Write(1, name_indent + c.name + ":\n");
    if (status) w.Write(2, "Container ID:\t" + status->container_id + "\n");
    w.Write(2, "Image:\t" + c.image + "\n");
    if (status) w.Write(2, "Image ID:\t" + status->image_id + "\n");
    std::string ports = ContainerPorts(c.ports, false);
    if (ports.find(',') != std::string::npos) {
      w.Write(2, "Ports:\t" + ports + "\n");
    } else {
      w.Write(2, "Port:\t" + OrNone(ports) + "\n");
    }
    std::string host_ports = ContainerPorts(c.ports, true);
    if (host_ports.find(',') != std::string::npos) {
      w.Write(2, "Host Ports:\t" + host_ports + "\n");
    } else {
      w.Write(2, "Host Port:\t" + OrNone(host_ports) + "\n");
    }
    if (!c.command.empty()) {
      w.Write(2, "Command:\n");
      for (const auto& arg : c.command) {
        for (const auto& s : Split(arg, '\n')) w.Write(3, s + "\n");
      }
    }
    if (!c.args.empty()) {
      w.Write(2, "Args:\n");
      for (const auto& arg : c.args) {
        for (const auto& s : Split(arg, '\n')) w.Write(3, s + "\n");
      }
    }
    if (status) {
      DescribeState("State", status->state, w, o);
      if (status->last_state.terminated) DescribeState("Last State", status->last_state, w, o);
      w.Write(2, "Ready:\t" + TrueFalse(status->ready) + "\n");
      w.Write(2, "Restart Count:\t" + Str(status->restart_count) + "\n");
    }
    if (!c.resources.limits.empty()) w.Write(2, "Limits:\n");
    for (const auto& [name, q] : c.resources.limits) w.Write(3, name + ":\t" + q.ToString() + "\n");
    if (!c.resources.requests.empty()) w.Write(2, "Requests:\n");
    for (const auto& [name, q] : c.resources.requests) {
      w.Write(3, name + ":\t" + q.ToString() + "\n");
    }
    if (c.liveness_probe) w.Write(2, "Liveness:\t" + DescribeProbe(*c.liveness_probe) + "\n");
    if (c.readiness_probe) w.Write(2, "Readiness:\t" + DescribeProbe(*c.readiness_probe) + "\n");
    w.Write(2, std::string("Environment:") + (c.env.empty() ? "\t<none>" : "") + "\n");
    for (const auto& e : c.env) {
      auto lines = Split(e.value, '\n');
      for (size_t i = 0; i < lines.size(); ++i) {
        w.Write(3, (i == 0 ? e.name + ":" : "") + "\t" + lines[i] + "\n");
      }
    }
    w.Write(2, std::string("Mounts:") + (c.volume_mounts.empty() ? "\t<none>" : "") + "\n");
    std::vector<api::VolumeMount> mounts = c.volume_mounts;
    std::stable_sort(mounts.begin(), mounts.end(),
                     [](const auto& a, const auto& b) { return a.mount_path < b.mount_path; });
    for (const auto& m : mounts) {
      std::string flags = m.read_only ? "ro" : "rw";
      if (!m.sub_path.empty()) flags += ",path=\"" + m.sub_path + "\"";
      w.Write(3, m.mount_path + " from " + m.name + " (" + flags + ")\n");
    }
  }
}

void DescribeVolumes(const std::vector<api::Volume>& volumes, PrefixWriter& w,
                     std::string_view space) {
  if (volumes.empty()) {
    w.Write(0, std::string(space) + "Volumes:\t<none>\n");
    return;
  }
  w.Write(0, std::string(space) + "Volumes:\n");
  const std::string name_indent = space.empty() ? "" : " ";
  for (const auto& v : volumes) {
    w.Write(1, name_indent + v.name + ":\n");
    if (v.empty_dir) {
      std::string size = v.empty_dir->size_limit && v.empty_dir->size_limit->Sign() > 0
                             ? v.empty_dir->size_limit->ToString()
                             : "<unset>";
      w.Write(2,
              "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
              "    Medium:\t" +
                  v.empty_dir->medium + "\n    SizeLimit:\t" + size + "\n");
    } else {
      w.Write(1, "<unknown>\n");
    }
  }
}

void DescribePodTemplate(const std::optional<api::PodTemplateSpec>& t, PrefixWriter& w,
                         const DescribeOptions& o) {
  w.Write(0, "Pod Template:\n");
  if (!t) {
    w.Write(1, "<unset>\n");
    return;
  }
  PrintLabelsMultiline(w, "  Labels", t->metadata.labels);
  if (!t->metadata.annotations.empty()) {
    PrintAnnotationsMultiline(w, "  Annotations", t->metadata.annotations);
  }
  if (!t->spec.service_account_name.empty()) {
    w.Write(1, "Service Account:\t" + t->spec.service_account_name + "\n");
  }
  DescribeContainers("Containers", t->spec.containers, {}, w, "  ", o);
  DescribeVolumes(t->spec.volumes, w, "  ");
}

// A container's effective requests: those it states, else its limits (the API server
// defaults requests to limits, as Kubernetes does).
api::ResourceList EffectiveRequests(const api::Container& c) {
  api::ResourceList r = c.resources.requests;
  for (const auto& [name, q] : c.resources.limits) r.emplace(name, q);
  return r;
}

// The sums of the pod's containers' requests and limits (resourcehelper.PodRequestsAndLimits).
std::pair<api::ResourceList, api::ResourceList> PodRequestsAndLimits(const api::Pod& pod) {
  api::ResourceList req, lim;
  for (const auto& c : pod.spec.containers) {
    for (const auto& [name, q] : EffectiveRequests(c)) (void)req[name].Add(q);
    for (const auto& [name, q] : c.resources.limits) (void)lim[name].Add(q);
  }
  return {req, lim};
}

Quantity Get(const api::ResourceList& l, const std::string& name) {
  auto it = l.find(name);
  return it == l.end() ? Quantity() : it->second;
}

// Integer percent of `part` over `whole`, by milli-units for cpu, units otherwise; 0 when
// the whole is zero.
int64_t Percent(const Quantity& part, const Quantity& whole, bool milli) {
  double p = milli ? static_cast<double>(part.MilliValue()) : static_cast<double>(part.Value());
  double w = milli ? static_cast<double>(whole.MilliValue()) : static_cast<double>(whole.Value());
  if (w == 0) return 0;
  return static_cast<int64_t>(p / w * 100);
}

std::string QuantityAndPercent(const Quantity& q, const Quantity& whole, bool milli) {
  return q.ToString() + " (" + Str(Percent(q, whole, milli)) + "%)";
}

}  // namespace

// ---------------------------------------------------------------------------------------
// TabAlign: Go's text/tabwriter (minwidth 0, tabwidth 8, padding 2, padchar ' ', no flags).

std::string TabAlign(std::string_view text) {
  struct Cell {
    std::string_view text;
    size_t width;  // in characters (UTF-8 code points), as tabwriter counts runes
  };
  auto runes = [](std::string_view s) {
    return static_cast<size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  };
  std::vector<std::vector<Cell>> lines;
  bool last_unterminated = false;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? text.npos : nl - start);
    std::vector<Cell> cells;
    size_t cs = 0;
    for (;;) {
      size_t tab = line.find('\t', cs);
      std::string_view c = line.substr(cs, tab == std::string_view::npos ? line.npos : tab - cs);
      cells.push_back({c, runes(c)});
      if (tab == std::string_view::npos) break;
      cs = tab + 1;
    }
    lines.push_back(std::move(cells));
    if (nl == std::string_view::npos) {
      last_unterminated = true;
      break;
    }
    start = nl + 1;
  }

  std::string out;
  std::vector<size_t> widths;
  auto write_lines = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const auto& cells = lines[i];
      for (size_t j = 0; j < cells.size(); ++j) {
        out += cells[j].text;
        if (j < widths.size()) out.append(widths[j] - cells[j].width, ' ');
      }
      if (i + 1 < lines.size() || !last_unterminated) out += '\n';
    }
  };
  // The last cell of a line is not tab-terminated and belongs to no column.
  std::function<void(size_t, size_t)> format = [&](size_t line0, size_t line1) {
    const size_t column = widths.size();
    for (size_t i = line0; i < line1; ++i) {
      if (column + 1 >= lines[i].size()) continue;
      write_lines(line0, i);
      line0 = i;
      size_t width = 0;
      for (; i < line1 && column + 1 < lines[i].size(); ++i) {
        width = std::max(width, lines[i][column].width + 2);
      }
      widths.push_back(width);
      format(line0, i);
      widths.pop_back();
      line0 = i;
      if (i == line1) break;
    }
    write_lines(line0, line1);
  };
  format(0, lines.size());
  return out;
}

std::string PodQosClass(const api::PodSpec& spec) {
  auto supported = [](const std::string& n) { return n == "cpu" || n == "memory"; };
  api::ResourceList requests, limits;
  bool guaranteed = true;
  for (const auto& c : spec.containers) {
    for (const auto& [name, q] : EffectiveRequests(c)) {
      if (supported(name) && q.Sign() > 0) (void)requests[name].Add(q);
    }
    std::set<std::string> found;
    for (const auto& [name, q] : c.resources.limits) {
      if (supported(name) && q.Sign() > 0) {
        found.insert(name);
        (void)limits[name].Add(q);
      }
    }
    if (!found.contains("cpu") || !found.contains("memory")) guaranteed = false;
  }
  if (requests.empty() && limits.empty()) return "BestEffort";
  if (guaranteed) {
    for (const auto& [name, q] : requests) {
      auto it = limits.find(name);
      if (it == limits.end() || it->second != q) guaranteed = false;
    }
  }
  return guaranteed && requests.size() == limits.size() ? "Guaranteed" : "Burstable";
}

// ---------------------------------------------------------------------------------------
// Describers

std::string DescribePod(const api::Pod& pod, const std::vector<api::KubeEvent>& events,
                        const DescribeOptions& o) {
  PrefixWriter w;
  const auto& m = pod.metadata;
  w.Write(0, "Name:\t" + m.name + "\n");
  w.Write(0, "Namespace:\t" + m.namespace_ + "\n");
  if (!pod.spec.service_account_name.empty()) {
    w.Write(0, "Service Account:\t" + pod.spec.service_account_name + "\n");
  }
  // Node: where the scheduler placed the pod, and that node's address.
  if (pod.spec.node_name.empty()) {
    w.Write(0, "Node:\t<none>\n");
  } else {
    w.Write(0, "Node:\t" + pod.spec.node_name + "/" + pod.status.host_ip + "\n");
  }
  if (!pod.status.start_time.empty()) {
    w.Write(0, "Start Time:\t" + Rfc1123(pod.status.start_time.unix_ns, o) + "\n");
  }
  PrintLabelsMultiline(w, "Labels", m.labels);
  PrintAnnotationsMultiline(w, "Annotations", m.annotations);
  // A pod nobody has placed or started yet has no phase; it is Pending.
  const std::string phase = pod.status.phase.empty() ? "Pending" : pod.status.phase;
  if (!m.deletion_timestamp.empty() && phase != "Failed" && phase != "Succeeded") {
    w.Write(0, "Status:\tTerminating (lasts " + Since(m.deletion_timestamp.unix_ns, o) + ")\n");
    if (m.deletion_grace_period_seconds) {
      w.Write(0, "Termination Grace Period:\t" + Str(*m.deletion_grace_period_seconds) + "s\n");
    }
  } else {
    w.Write(0, "Status:\t" + phase + "\n");
  }
  if (!pod.status.reason.empty()) w.Write(0, "Reason:\t" + pod.status.reason + "\n");
  if (!pod.status.message.empty()) w.Write(0, "Message:\t" + pod.status.message + "\n");
  w.Write(0, "IP:\t" + pod.status.pod_ip + "\n");
  if (pod.status.pod_ips.empty()) {
    w.Write(0, "IPs:\t<none>\n");
  } else {
    w.Write(0, "IPs:\n");
    for (const auto& ip : pod.status.pod_ips) w.Write(1, "IP:\t" + ip.ip + "\n");
  }
  if (const auto* c = ControllerOf(m))
    w.Write(0, "Controlled By:\t" + c->kind + "/" + c->name + "\n");
  DescribeContainers("Containers", pod.spec.containers, pod.status.container_statuses, w, "", o);
  if (!pod.status.conditions.empty()) {
    w.Write(0, "Conditions:\n  Type\tStatus\n");
    for (const auto& c : pod.status.conditions) w.Write(1, c.type + " \t" + c.status + " \n");
  }
  DescribeVolumes(pod.spec.volumes, w, "");
  w.Write(0, "QoS Class:\t" +
                 (pod.status.qos_class.empty() ? PodQosClass(pod.spec) : pod.status.qos_class) +
                 "\n");
  PrintLabelsMultiline(w, "Node-Selectors", pod.spec.node_selector);
  PrintTolerationsMultiline(w, "Tolerations", pod.spec.tolerations);
  DescribeEvents(events, w, o);
  return w.Done();
}

std::string DescribeReplicationController(const api::ReplicationController& rc,
                                          const std::vector<api::Pod>& pods,
                                          const std::vector<api::KubeEvent>& events,
                                          const DescribeOptions& o) {
  // Pods Status counts only the pods this RC controls, not every pod its selector picks.
  int running = 0, waiting = 0, succeeded = 0, failed = 0;
  for (const auto& p : pods) {
    const auto* c = ControllerOf(p.metadata);
    if (!c || c->uid != rc.metadata.uid) continue;
    const std::string& phase = p.status.phase;
    if (phase == "Running") ++running;
    if (phase == "Pending" || phase.empty()) ++waiting;
    if (phase == "Succeeded") ++succeeded;
    if (phase == "Failed") ++failed;
  }
  PrefixWriter w;
  w.Write(0, "Name:\t" + rc.metadata.name + "\n");
  w.Write(0, "Namespace:\t" + rc.metadata.namespace_ + "\n");
  w.Write(0, "Selector:\t" + FormatLabels(rc.spec.selector) + "\n");
  PrintLabelsMultiline(w, "Labels", rc.metadata.labels);
  PrintAnnotationsMultiline(w, "Annotations", rc.metadata.annotations);
  w.Write(0, "Replicas:\t" + Str(rc.status.replicas) + " current / " +
                 Str(rc.spec.replicas.value_or(1)) + " desired\n");
  w.Write(0, "Pods Status:\t" + Str(running) + " Running / " + Str(waiting) + " Waiting / " +
                 Str(succeeded) + " Succeeded / " + Str(failed) + " Failed\n");
  DescribePodTemplate(rc.spec.template_, w, o);
  if (!rc.status.conditions.empty()) {
    w.Write(0, "Conditions:\n  Type\tStatus\tReason\n");
    w.Write(1, "----\t------\t------\n");
    for (const auto& c : rc.status.conditions) {
      w.Write(1, c.type + " \t" + c.status + "\t" + c.reason + "\n");
    }
  }
  DescribeEvents(events, w, o);
  return w.Done();
}

namespace {

// kubectl's formatEndpoints: up to three "ip:port" of the ready addresses serving the port
// named `port_name`, then "+ N more...".
std::string FormatEndpoints(const api::Endpoints* ep, const std::string& port_name) {
  if (!ep || ep->subsets.empty()) return "<none>";
  std::vector<std::string> list;
  constexpr size_t kMax = 3;
  bool more = false;
  size_t count = 0;
  auto add = [&](const std::string& s) {
    if (list.size() == kMax) {
      more = true;
      return false;
    }
    list.push_back(s);
    return true;
  };
  for (const auto& ss : ep->subsets) {
    if (ss.ports.empty()) {
      count += ss.addresses.size();
      for (const auto& a : ss.addresses) {
        if (!add(a.ip)) break;
      }
      continue;
    }
    for (const auto& port : ss.ports) {
      if (port.name != port_name) continue;
      count += ss.addresses.size();
      for (const auto& a : ss.addresses) {
        std::string host = a.ip.find(':') != std::string::npos ? "[" + a.ip + "]" : a.ip;
        if (!add(host + ":" + Str(port.port))) break;
      }
    }
  }
  std::string out = Join(list, ",");
  if (more) out += " + " + Str(static_cast<int64_t>(count - kMax)) + " more...";
  return out;
}

}  // namespace

std::string DescribeService(const api::Service& svc, const api::Endpoints* endpoints,
                            const std::vector<api::KubeEvent>& events, const DescribeOptions& o) {
  PrefixWriter w;
  w.Write(0, "Name:\t" + svc.metadata.name + "\n");
  w.Write(0, "Namespace:\t" + svc.metadata.namespace_ + "\n");
  PrintLabelsMultiline(w, "Labels", svc.metadata.labels);
  PrintAnnotationsMultiline(w, "Annotations", svc.metadata.annotations);
  w.Write(0, "Selector:\t" + FormatLabels(svc.spec.selector) + "\n");
  w.Write(0, "Type:\t" + svc.spec.type + "\n");
  w.Write(0, "IP:\t" + svc.spec.cluster_ip + "\n");
  w.Write(0, "IPs:\t" + OrNone(Join(svc.spec.cluster_ips, ",")) + "\n");
  if (!svc.spec.external_ips.empty()) {
    w.Write(0, "External IPs:\t" + Join(svc.spec.external_ips, ",") + "\n");
  }
  for (const auto& p : svc.spec.ports) {
    std::string name = p.name.empty() ? "<unset>" : p.name;
    w.Write(0, "Port:\t" + name + "\t" + Str(p.port) + "/" + p.protocol + "\n");
    w.Write(0, "TargetPort:\t" + p.target_port.ToString() + "/" + p.protocol + "\n");
    if (p.node_port) {
      w.Write(0, "NodePort:\t" + name + "\t" + Str(p.node_port) + "/" + p.protocol + "\n");
    }
    w.Write(0, "Endpoints:\t" + FormatEndpoints(endpoints, p.name) + "\n");
  }
  w.Write(0, "Session Affinity:\t" + svc.spec.session_affinity + "\n");
  if (!svc.spec.external_traffic_policy.empty()) {
    w.Write(0, "External Traffic Policy:\t" + svc.spec.external_traffic_policy + "\n");
  }
  DescribeEvents(events, w, o);
  return w.Done();
}

std::string DescribeEndpoints(const api::Endpoints& ep, const std::vector<api::KubeEvent>& events,
                              const DescribeOptions& o) {
  PrefixWriter w;
  w.Write(0, "Name:\t" + ep.metadata.name + "\n");
  w.Write(0, "Namespace:\t" + ep.metadata.namespace_ + "\n");
  PrintLabelsMultiline(w, "Labels", ep.metadata.labels);
  PrintAnnotationsMultiline(w, "Annotations", ep.metadata.annotations);
  w.Write(0, "Subsets:\n");
  auto ips = [](const std::vector<api::EndpointAddress>& as) {
    std::vector<std::string> out;
    for (const auto& a : as) out.push_back(a.ip);
    return OrNone(Join(out, ","));
  };
  for (const auto& ss : ep.subsets) {
    w.Write(1, "Addresses:\t" + ips(ss.addresses) + "\n");
    w.Write(1, "NotReadyAddresses:\t" + ips(ss.not_ready_addresses) + "\n");
    if (!ss.ports.empty()) {
      w.Write(1, "Ports:\n");
      w.Write(2, "Name\tPort\tProtocol\n");
      w.Write(2, "----\t----\t--------\n");
      for (const auto& p : ss.ports) {
        w.Write(2, (p.name.empty() ? "<unset>" : p.name) + "\t" + Str(p.port) + "\t" + p.protocol +
                       "\n");
      }
    }
    w.Write(0, "\n");
  }
  DescribeEvents(events, w, o);
  return w.Done();
}

std::string DescribeNode(const api::Node& node, const std::vector<api::Pod>& pods,
                         const std::vector<api::KubeEvent>& events, const DescribeOptions& o) {
  PrefixWriter w;
  w.Write(0, "Name:\t" + node.metadata.name + "\n");
  std::set<std::string> roles;
  constexpr std::string_view kRolePrefix = "node-role.kubernetes.io/";
  for (const auto& [k, v] : node.metadata.labels) {
    if (k.starts_with(kRolePrefix) && k.size() > kRolePrefix.size()) {
      roles.insert(k.substr(kRolePrefix.size()));
    } else if (k == "kubernetes.io/role" && !v.empty()) {
      roles.insert(v);
    }
  }
  w.Write(0, "Roles:\t" + OrNone(Join({roles.begin(), roles.end()}, ",")) + "\n");
  PrintLabelsMultiline(w, "Labels", node.metadata.labels);
  PrintAnnotationsMultiline(w, "Annotations", node.metadata.annotations);
  w.Write(0, "CreationTimestamp:\t" + Rfc1123(node.metadata.creation_timestamp.unix_ns, o) + "\n");
  PrintTaintsMultiline(w, "Taints", node.spec.taints);
  w.Write(0, "Unschedulable:\t" + Bool(node.spec.unschedulable) + "\n");
  const auto& st = node.status;
  if (!st.conditions.empty()) {
    w.Write(
        0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n");
    w.Write(1, "----\t------\t-----------------\t------------------\t------\t-------\n");
    for (const auto& c : st.conditions) {
      w.Write(1, c.type + " \t" + c.status + " \t" + Rfc1123(c.last_heartbeat_time.unix_ns, o) +
                     " \t" + Rfc1123(c.last_transition_time.unix_ns, o) + " \t" + c.reason + " \t" +
                     c.message + "\n");
    }
  }
  w.Write(0, "Addresses:\n");
  for (const auto& a : st.addresses) w.Write(1, a.type + ":\t" + a.address + "\n");
  auto resources = [&](std::string_view title, const api::ResourceList& list) {
    if (list.empty()) return;
    w.Write(0, std::string(title) + ":\n");
    for (const auto& [name, q] : list) w.Write(0, "  " + name + ":\t" + q.ToString() + "\n");
  };
  resources("Capacity", st.capacity);
  resources("Allocatable", st.allocatable);
  const auto& info = st.node_info;
  w.Write(0, "System Info:\n");
  w.Write(0, "  Machine ID:\t" + info.machine_id + "\n");
  w.Write(0, "  System UUID:\t" + info.system_uuid + "\n");
  w.Write(0, "  Boot ID:\t" + info.boot_id + "\n");
  w.Write(0, "  Kernel Version:\t" + info.kernel_version + "\n");
  w.Write(0, "  OS Image:\t" + info.os_image + "\n");
  w.Write(0, "  Operating System:\t" + info.operating_system + "\n");
  w.Write(0, "  Architecture:\t" + info.architecture + "\n");
  w.Write(0, "  Container Runtime Version:\t" + info.container_runtime_version + "\n");
  w.Write(0, "  Kubelet Version:\t" + info.kubelet_version + "\n");
  w.Write(0, "  Kube-Proxy Version:\t" + info.kube_proxy_version + "\n");
  if (!node.spec.pod_cidr.empty()) w.Write(0, "PodCIDR:\t" + node.spec.pod_cidr + "\n");
  if (!node.spec.pod_cidrs.empty()) {
    w.Write(0, "PodCIDRs:\t" + Join(node.spec.pod_cidrs, ",") + "\n");
  }
  if (!node.spec.provider_id.empty()) w.Write(0, "ProviderID:\t" + node.spec.provider_id + "\n");

  // What the scheduler has placed here, against what the node can give.
  w.Write(0, "Non-terminated Pods:\t(" + Str(static_cast<int64_t>(pods.size())) + " in total)\n");
  w.Write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n");
  w.Write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n");
  const api::ResourceList& allocatable = st.allocatable.empty() ? st.capacity : st.allocatable;
  const Quantity cpu = Get(allocatable, "cpu"), memory = Get(allocatable, "memory");
  api::ResourceList total_req, total_lim;
  for (const auto& p : pods) {
    auto [req, lim] = PodRequestsAndLimits(p);
    for (const auto& [name, q] : req) (void)total_req[name].Add(q);
    for (const auto& [name, q] : lim) (void)total_lim[name].Add(q);
    w.Write(1, p.metadata.namespace_ + "\t" + p.metadata.name + "\t\t" +
                   QuantityAndPercent(Get(req, "cpu"), cpu, true) + "\t" +
                   QuantityAndPercent(Get(lim, "cpu"), cpu, true) + "\t" +
                   QuantityAndPercent(Get(req, "memory"), memory, false) + "\t" +
                   QuantityAndPercent(Get(lim, "memory"), memory, false) + "\t" +
                   Since(p.metadata.creation_timestamp.unix_ns, o) + "\n");
  }
  w.Write(0,
          "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n");
  w.Write(1, "Resource\tRequests\tLimits\n");
  w.Write(1, "--------\t--------\t------\n");
  w.Write(1, "cpu\t" + QuantityAndPercent(Get(total_req, "cpu"), cpu, true) + "\t" +
                 QuantityAndPercent(Get(total_lim, "cpu"), cpu, true) + "\n");
  w.Write(1, "memory\t" + QuantityAndPercent(Get(total_req, "memory"), memory, false) + "\t" +
                 QuantityAndPercent(Get(total_lim, "memory"), memory, false) + "\n");
  DescribeEvents(events, w, o);
  return w.Done();
}

std::string DescribeNamespace(const api::Namespace& ns, const std::vector<api::KubeEvent>& events,
                              const DescribeOptions& o) {
  PrefixWriter w;
  w.Write(0, "Name:\t" + ns.metadata.name + "\n");
  PrintLabelsMultiline(w, "Labels", ns.metadata.labels);
  PrintAnnotationsMultiline(w, "Annotations", ns.metadata.annotations);
  w.Write(0, "Status:\t" + ns.status.phase + "\n");
  DescribeEvents(events, w, o);
  return w.Done();
}

std::string DescribeKubeEvent(const api::KubeEvent& e, const std::vector<api::KubeEvent>& events,
                              const DescribeOptions& o) {
  PrefixWriter w;
  w.Write(0, "Name:\t" + e.metadata.name + "\n");
  w.Write(0, "Namespace:\t" + e.metadata.namespace_ + "\n");
  PrintLabelsMultiline(w, "Labels", e.metadata.labels);
  PrintAnnotationsMultiline(w, "Annotations", e.metadata.annotations);
  // The object the event is about, and what happened to it.
  const auto& io = e.involved_object;
  w.Write(0, "Involved Object:\n");
  w.Write(1, "API Version:\t" + io.api_version + "\n");
  w.Write(1, "Kind:\t" + io.kind + "\n");
  w.Write(1, "Name:\t" + io.name + "\n");
  w.Write(1, "Namespace:\t" + io.namespace_ + "\n");
  if (!io.field_path.empty()) w.Write(1, "Field Path:\t" + io.field_path + "\n");
  w.Write(1, "UID:\t" + io.uid + "\n");
  w.Write(0, "Type:\t" + e.type + "\n");
  w.Write(0, "Reason:\t" + e.reason + "\n");
  w.Write(0, "Message:\t" + e.message + "\n");
  w.Write(0, "Source:\n");
  w.Write(1, "Component:\t" + e.source.component + "\n");
  if (!e.source.host.empty()) w.Write(1, "Host:\t" + e.source.host + "\n");
  w.Write(0, "Count:\t" + Str(e.count) + "\n");
  auto time_or_nil = [&](int64_t ns) { return ns == 0 ? std::string("<nil>") : Rfc1123(ns, o); };
  w.Write(0, "First Timestamp:\t" + time_or_nil(e.first_timestamp.unix_ns) + "\n");
  w.Write(0, "Last Timestamp:\t" + time_or_nil(e.last_timestamp.unix_ns) + "\n");
  w.Write(0, "Event Time:\t" + time_or_nil(e.event_time.unix_ns) + "\n");
  w.Write(0, "Reporting Component:\t" + e.reporting_component + "\n");
  w.Write(0, "Reporting Instance:\t" + e.reporting_instance + "\n");
  DescribeEvents(events, w, o);
  return w.Done();
}

std::string DescribeLease(const api::Lease& l, const std::vector<api::KubeEvent>& events,
                          const DescribeOptions& o) {
  PrefixWriter w;
  w.Write(0, "Name:\t" + l.metadata.name + "\n");
  w.Write(0, "Namespace:\t" + l.metadata.namespace_ + "\n");
  PrintLabelsMultiline(w, "Labels", l.metadata.labels);
  PrintAnnotationsMultiline(w, "Annotations", l.metadata.annotations);
  w.Write(0, "API Version:\t" + std::string(KindOf(api::Object(l)).api_version) + "\n");
  w.Write(0, "Kind:\tLease\n");
  w.Write(0, "Spec:\n");
  const api::LeaseSpec& s = l.spec;
  if (!s.acquire_time.empty()) {
    w.Write(1, "Acquire Time:\t" + api::FormatRfc3339(s.acquire_time.unix_ns, true) + "\n");
  }
  if (!s.holder_identity.empty()) w.Write(1, "Holder Identity:\t" + s.holder_identity + "\n");
  if (s.lease_duration_seconds) {
    w.Write(1, "Lease Duration Seconds:\t" + std::to_string(*s.lease_duration_seconds) + "\n");
  }
  if (s.lease_transitions) {
    w.Write(1, "Lease Transitions:\t" + std::to_string(*s.lease_transitions) + "\n");
  }
  if (!s.renew_time.empty()) {
    w.Write(1, "Renew Time:\t" + api::FormatRfc3339(s.renew_time.unix_ns, true) + "\n");
  }
  DescribeEvents(events, w, o);
  return w.Done();
}

// kubectl's describeSecret: the keys and how many bytes each holds, never the values (not
// even a service account's token, which kubectl shows), and no Events section.
std::string DescribeSecret(const api::Secret& s, const DescribeOptions&) {
  PrefixWriter w;
  w.Write(0, "Name:\t" + s.metadata.name + "\n");
  w.Write(0, "Namespace:\t" + s.metadata.namespace_ + "\n");
  PrintLabelsMultiline(w, "Labels", s.metadata.labels);
  PrintAnnotationsMultiline(w, "Annotations", s.metadata.annotations);
  w.Write(0, "\nType:\t" + s.type + "\n");
  w.Write(0, "\nData\n====\n");
  for (const auto& [key, value] : s.data) {
    w.Write(0, key + ":\t" + std::to_string(value.value.size()) + " bytes\n");
  }
  return w.Done();
}

std::string DescribeObject(const api::Object& object, const Related& related,
                           const DescribeOptions& options) {
  const auto& ev = related.events;
  return std::visit(
      [&](const auto& o) -> std::string {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, api::Pod>) {
          return DescribePod(o, ev, options);
        } else if constexpr (std::is_same_v<T, api::ReplicationController>) {
          return DescribeReplicationController(o, related.pods, ev, options);
        } else if constexpr (std::is_same_v<T, api::Service>) {
          return DescribeService(o, related.endpoints ? &*related.endpoints : nullptr, ev, options);
        } else if constexpr (std::is_same_v<T, api::Endpoints>) {
          return DescribeEndpoints(o, ev, options);
        } else if constexpr (std::is_same_v<T, api::Node>) {
          return DescribeNode(o, related.pods, ev, options);
        } else if constexpr (std::is_same_v<T, api::Namespace>) {
          return DescribeNamespace(o, ev, options);
        } else if constexpr (std::is_same_v<T, api::Lease>) {
          return DescribeLease(o, ev, options);
        } else if constexpr (std::is_same_v<T, api::Secret>) {
          return DescribeSecret(o, options);
        } else {
          return DescribeKubeEvent(o, ev, options);
        }
      },
      object);
}

}  // namespace korc::cli
