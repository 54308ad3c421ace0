#include "components/kubelet/agent/pod_status.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>

namespace korc::kubelet {

namespace {

int64_t Seconds(int64_t ns) { return ns - ns % 1'000'000'000; }

std::string Lookup(const std::vector<std::string>& env, std::string_view name) {
  // The last definition wins, as with the environment the process will see.
  for (auto it = env.rbegin(); it != env.rend(); ++it) {
    if (it->size() > name.size() && it->compare(0, name.size(), name) == 0 &&
        (*it)[name.size()] == '=') {
      return it->substr(name.size() + 1);
    }
  }
  return {};
}

bool Has(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string ExpandVars(const std::string& in, const std::vector<std::string>& env) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$' || i + 1 >= in.size()) {
      out += in[i];
      continue;
    }
    if (in[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (in[i + 1] == '(') {
      size_t close = in.find(')', i + 2);
      if (close != std::string::npos) {
        std::string name = in.substr(i + 2, close - i - 2);
        if (Has(env, name)) {
          out += Lookup(env, name);
          i = close;
          continue;
        }
      }
    }
    out += in[i];
  }
  return out;
}

std::vector<std::string> ServiceEnv(const std::vector<const api::Service*>& services) {
  std::vector<const api::Service*> sorted(services);
  std::sort(sorted.begin(), sorted.end(), [](const api::Service* a, const api::Service* b) {
    return a->metadata.name < b->metadata.name;
  });
  auto upper = [](std::string s) {
    for (auto& c : s)
      c = c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  };
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::vector<std::string> env;
  for (const api::Service* s : sorted) {
    const std::string& ip = s->spec.cluster_ip;
    if (ip.empty() || ip == "None" || s->spec.ports.empty()) continue;
    const std::string prefix = upper(s->metadata.name);
    env.push_back(prefix + "_SERVICE_HOST=" + ip);
    env.push_back(prefix + "_SERVICE_PORT=" + std::to_string(s->spec.ports[0].port));
    for (const auto& p : s->spec.ports) {
      if (!p.name.empty()) {
        env.push_back(prefix + "_SERVICE_PORT_" + upper(p.name) + "=" + std::to_string(p.port));
      }
    }
    const std::string host = ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
    for (size_t i = 0; i < s->spec.ports.size(); ++i) {
      const auto& p = s->spec.ports[i];
      const std::string protocol = p.protocol.empty() ? "TCP" : p.protocol;
      const std::string port = std::to_string(p.port);
      const std::string url = lower(protocol) + "://" + host + ":" + port;
      const std::string at = prefix + "_PORT_" + port + "_" + upper(protocol);
      if (i == 0) env.push_back(prefix + "_PORT=" + url);
      env.push_back(at + "=" + url);
      env.push_back(at + "_PROTO=" + lower(protocol));
      env.push_back(at + "_PORT=" + port);
      env.push_back(at + "_ADDR=" + ip);
    }
  }
  return env;
}

std::vector<std::string> ContainerEnv(const api::Container& container,
                                      const images::ImageConfig& image,
                                      const std::vector<std::string>& extra) {
  std::vector<std::string> env = image.env;
  if (!Has(env, "PATH")) {
    env.insert(env.begin(), "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  }
  env.insert(env.end(), extra.begin(), extra.end());
  for (const auto& v : container.env) env.push_back(v.name + "=" + ExpandVars(v.value, env));
  // One entry per name, the last definition's value, in first-definition order.
  std::vector<std::string> out;
  std::map<std::string, size_t> at;
  for (const auto& e : env) {
    std::string name = e.substr(0, e.find('='));
    auto it = at.find(name);
    if (it == at.end()) {
      at[name] = out.size();
      out.push_back(e);
    } else {
      out[it->second] = e;
    }
  }
  return out;
}

Result<std::vector<std::string>> ContainerArgv(const api::Container& container,
                                               const images::ImageConfig& image,
                                               const std::vector<std::string>& env) {
  std::vector<std::string> argv;
  if (!container.command.empty()) {
    argv = container.command;
    argv.insert(argv.end(), container.args.begin(), container.args.end());
  } else {
    argv = image.entrypoint;
    const auto& rest = container.args.empty() ? image.cmd : container.args;
    argv.insert(argv.end(), rest.begin(), rest.end());
  }
  for (auto& a : argv) a = ExpandVars(a, env);
  if (argv.empty()) {
    return Status::Invalid("container " + container.name +
                           ": no command to run (neither the Pod nor the image gives one)");
  }
  return argv;
}

namespace {

// The entries of the image's /etc/passwd or /etc/group (name:x:id:gid...), as fields. A file
// reached through a symlink is not read: it could name the node's own.
std::vector<std::vector<std::string>> ReadIdFile(const std::string& rootfs, const char* name) {
  std::vector<std::vector<std::string>> out;
  for (const std::string& p : {rootfs + "/etc", rootfs + "/etc/" + name}) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return out;
  }
  std::ifstream in(rootfs + "/etc/" + name);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    size_t start = 0;
    for (;;) {
      size_t colon = line.find(':', start);
      fields.push_back(line.substr(start, colon == std::string::npos ? colon : colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    if (fields.size() >= 3) out.push_back(std::move(fields));
  }
  return out;
}

std::optional<int64_t> Numeric(const std::string& s) {
  if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(s);
}

}  // namespace

Result<ContainerUserIds> ContainerUser(const api::PodSpec& spec, const api::Container& container,
                                       const images::ImageConfig& image,
                                       const std::string& rootfs) {
  auto pick = [&](auto field) {
    if (container.security_context && (*container.security_context).*field) {
      return (*container.security_context).*field;
    }
    return spec.security_context ? (*spec.security_context).*field
                                 : decltype((*spec.security_context).*field){};
  };
  const auto run_as_user = pick(&api::SecurityContext::run_as_user);
  const auto run_as_group = pick(&api::SecurityContext::run_as_group);
  const auto non_root = pick(&api::SecurityContext::run_as_non_root);

  auto passwd = [&] { return ReadIdFile(rootfs, "passwd"); };
  // The primary group of `uid` in the image, else 0.
  auto group_of = [&](int64_t uid) -> int64_t {
    for (const auto& e : passwd()) {
      if (e.size() >= 4 && Numeric(e[2]) == uid) return Numeric(e[3]).value_or(0);
    }
    return 0;
  };
  ContainerUserIds ids;
  if (run_as_user) {
    ids.uid = *run_as_user;
    ids.gid = group_of(ids.uid);
  } else if (!image.user.empty()) {
    const size_t colon = image.user.find(':');
    const std::string user = image.user.substr(0, colon);
    const std::string group = colon == std::string::npos ? "" : image.user.substr(colon + 1);
    if (auto uid = Numeric(user)) {
      ids.uid = *uid;
      ids.gid = group_of(ids.uid);
    } else {
      bool found = false;
      for (const auto& e : passwd()) {
        if (e[0] == user && Numeric(e[2])) {
          ids.uid = *Numeric(e[2]);
          ids.gid = e.size() >= 4 ? Numeric(e[3]).value_or(0) : 0;
          found = true;
          break;
        }
      }
      if (!found) {
        return Status::Invalid("unable to find user " + user +
                               ": no matching entries in the image's passwd file");
      }
    }
    if (!group.empty()) {
      if (auto gid = Numeric(group)) {
        ids.gid = *gid;
      } else {
        bool found = false;
        for (const auto& e : ReadIdFile(rootfs, "group")) {
          if (e[0] == group && Numeric(e[2])) {
            ids.gid = *Numeric(e[2]);
            found = true;
            break;
          }
        }
        if (!found) {
          return Status::Invalid("unable to find group " + group +
                                 ": no matching entries in the image's group file");
        }
      }
    }
  }
  if (run_as_group) ids.gid = *run_as_group;
  if (non_root.value_or(false) && ids.uid == 0) {
    return Status::Invalid("container has runAsNonRoot and image will run as root (container: " +
                           container.name + ")");
  }
  return ids;
}

ResourceLimits ContainerLimits(const api::Container& container) {
  ResourceLimits l;
  const auto& limits = container.resources.limits;
  if (auto it = limits.find("memory"); it != limits.end()) l.memory_bytes = it->second.Value();
  if (auto it = limits.find("cpu"); it != limits.end()) l.cpu_millis = it->second.MilliValue();
  return l;
}

std::string PodPhase(const api::PodSpec& spec, const std::vector<ContainerObservation>& cs) {
  int waiting = 0, running = 0, stopped = 0, succeeded = 0, failed = 0;
  for (const auto& c : cs) {
    if (c.state.running) {
      ++running;
    } else if (c.state.terminated) {
      ++stopped;
      (c.state.terminated->exit_code == 0 ? succeeded : failed)++;
    } else if (c.state.waiting && c.last_state.terminated) {
      ++stopped;  // waiting to restart after having run: CrashLoopBackOff
      (c.last_state.terminated->exit_code == 0 ? succeeded : failed)++;
    } else {
      ++waiting;
    }
  }
  const size_t n = spec.containers.size();
  if (waiting > 0 || cs.size() < n) return "Pending";
  if (running > 0) return "Running";
  if (stopped == static_cast<int>(n)) {
    if (spec.restart_policy == "Always") return "Running";
    if (spec.restart_policy == "OnFailure") return failed > 0 ? "Running" : "Succeeded";
    return failed > 0 ? "Failed" : "Succeeded";
  }
  return "Pending";
}

api::PodStatus ComputePodStatus(const api::Pod& pod, const PodObservation& obs,
                                const std::string& host_ip, int64_t now_ns) {
  const api::PodStatus& cur = pod.status;
  api::PodStatus s = cur;
  s.host_ip = host_ip;
  if (!obs.pod_ip.empty()) {
    s.pod_ip = obs.pod_ip;
    s.pod_ips = {api::PodIP{obs.pod_ip}};
  }
  if (s.start_time.empty() && obs.start_time_ns > 0)
    s.start_time.unix_ns = Seconds(obs.start_time_ns);
  s.phase = PodPhase(pod.spec, obs.containers);
  s.message = obs.message;
  s.reason.clear();

  s.container_statuses.clear();
  bool all_ready = !obs.containers.empty();
  for (const auto& c : obs.containers) {
    api::ContainerStatus cs;
    cs.name = c.name;
    cs.image = c.image;
    cs.image_id = c.image_id;
    cs.container_id = c.container_id;
    cs.state = c.state;
    cs.last_state = c.last_state;
    cs.ready = c.ready;
    cs.restart_count = c.restart_count;
    cs.started = c.started;
    all_ready = all_ready && c.ready;
    s.container_statuses.push_back(std::move(cs));
  }
  if (obs.containers.size() < pod.spec.containers.size()) all_ready = false;

  auto set = [&](const std::string& type, bool value, const std::string& reason) {
    const std::string status = value ? "True" : "False";
    for (auto& c : s.conditions) {
      if (c.type != type) continue;
      if (c.status != status) {
        c.status = status;
        c.last_transition_time.unix_ns = Seconds(now_ns);
      }
      c.reason = value ? "" : reason;
      return;
    }
    api::PodCondition c;
    c.type = type;
    c.status = status;
    c.last_transition_time.unix_ns = Seconds(now_ns);
    c.reason = value ? "" : reason;
    s.conditions.push_back(std::move(c));
  };
  const bool done = s.phase == "Succeeded" || s.phase == "Failed";
  set("PodScheduled", true, "");
  set("Initialized", true, "");
  set("ContainersReady", all_ready && !done, done ? "PodCompleted" : "ContainersNotReady");
  set("Ready", all_ready && !done, done ? "PodCompleted" : "ContainersNotReady");
  // Kubernetes lists them in this order.
  static const std::map<std::string, int> kOrder = {
      {"Initialized", 0}, {"Ready", 1}, {"ContainersReady", 2}, {"PodScheduled", 3}};
  std::stable_sort(s.conditions.begin(), s.conditions.end(), [](const auto& a, const auto& b) {
    auto ia = kOrder.find(a.type), ib = kOrder.find(b.type);
    int oa = ia == kOrder.end() ? 9 : ia->second, ob = ib == kOrder.end() ? 9 : ib->second;
    return oa < ob;
  });
  return s;
}

}  // namespace korc::kubelet
