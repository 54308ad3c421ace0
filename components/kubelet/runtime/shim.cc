#include "components/kubelet/runtime/shim.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace korc::kubelet::shim {

using nlohmann::json;

std::string EncodeConfig(const ShimConfig& c) {
  json mounts = json::array();
  for (const auto& m : c.mounts) {
    mounts.push_back({{"host", m.host_path}, {"container", m.container_path}, {"ro", m.read_only}});
  }
  return json{{"argv", c.argv},
              {"env", c.env},
              {"cwd", c.cwd},
              {"uid", c.uid},
              {"gid", c.gid},
              {"rootfs", c.rootfs},
              {"netns", c.netns},
              {"hostname", c.hostname},
              {"isolate", c.isolate},
              {"mounts", mounts},
              {"cgroup", c.cgroup},
              {"logPath", c.log_path},
              {"logMaxBytes", c.log_max_bytes},
              {"logMaxFiles", c.log_max_files}}
      .dump();
}

Result<ShimConfig> DecodeConfig(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("shim config is not JSON");
  ShimConfig c;
  try {
    c.argv = j.value("argv", std::vector<std::string>{});
    c.env = j.value("env", std::vector<std::string>{});
    c.cwd = j.value("cwd", std::string("/"));
    c.uid = j.value("uid", int64_t{0});
    c.gid = j.value("gid", int64_t{0});
    c.rootfs = j.value("rootfs", std::string());
    c.netns = j.value("netns", std::string());
    c.hostname = j.value("hostname", std::string());
    c.isolate = j.value("isolate", false);
    for (const auto& m : j.value("mounts", json::array())) {
      c.mounts.push_back({m.value("host", std::string()), m.value("container", std::string()),
                          m.value("ro", false)});
    }
    c.cgroup = j.value("cgroup", std::string());
    c.log_path = j.value("logPath", std::string());
    c.log_max_bytes = j.value("logMaxBytes", int64_t{10 * 1024 * 1024});
    c.log_max_files = j.value("logMaxFiles", 5);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("shim config: ") + e.what());
  }
  if (c.argv.empty()) return Status::Invalid("shim config: no command to run");
  return c;
}

std::string EncodeExit(const ShimExit& e) {
  return json{{"exitCode", e.exit_code},
              {"signal", e.signal},
              {"finishedAt", e.finished_ns},
              {"reason", e.reason},
              {"message", e.message}}
      .dump();
}

Result<ShimExit> DecodeExit(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("shim exit is not JSON");
  ShimExit e;
  try {
    e.exit_code = j.value("exitCode", 0);
    e.signal = j.value("signal", 0);
    e.finished_ns = j.value("finishedAt", int64_t{0});
    e.reason = j.value("reason", std::string());
    e.message = j.value("message", std::string());
  } catch (const json::exception& ex) {
    return Status::Corruption(std::string("shim exit: ") + ex.what());
  }
  return e;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": not found");
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

Status WriteFileAtomic(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Internal("cannot write " + tmp + ": " + strerror(errno));
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return Status::Internal("cannot write " + tmp + ": " + strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::Internal("cannot rename " + tmp + ": " + strerror(errno));
  }
  return Status::Ok();
}

}  // namespace korc::kubelet::shim
