// What tests of a real node share: a network namespace of the test binary's own, and a
// busybox image root.
//
// Network safety: InOwnNetwork() moves the whole test binary into a new network (and
// mount) namespace before any test runs, with only loopback up, so a node's bridge, its
// Pods' addresses and its ClusterIPs exist only there and nothing has a route off the
// machine. Register it once per binary:
//   const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new korc::testing::OwnNetwork);
#pragma once

#include <gtest/gtest.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace korc::testing {

// Set by OwnNetwork::SetUp when the binary runs in its own network namespace.
inline bool g_own_network = false;

class OwnNetwork : public ::testing::Environment {
 public:
  void SetUp() override {
    if (geteuid() != 0) return;
    if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) return;
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    ioctl(fd, SIOCGIFFLAGS, &ifr);
    ifr.ifr_flags |= IFF_UP;
    g_own_network = ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    close(fd);
  }
};

// A busybox root at `dir`: /bin/busybox (Debian's busybox-static) and a link per applet.
inline std::string BuildBusyboxRoot(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir + "/bin");
  fs::create_directories(dir + "/etc");
  fs::create_directories(dir + "/tmp");
  fs::copy_file("/bin/busybox", dir + "/bin/busybox", fs::copy_options::overwrite_existing);
  for (const char* applet : {"sh", "echo", "cat", "sleep", "httpd", "wget", "test", "mkdir", "rm",
                             "touch", "hostname", "ls", "true", "false", "ps", "kill", "env"}) {
    fs::create_symlink("busybox", dir + "/bin/" + applet);
  }
  std::ofstream(dir + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n";
  return dir;
}

}  // namespace korc::testing
