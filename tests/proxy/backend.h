// Test backends for the proxy: a TCP server that greets each connection with its name and
// then echoes, and a UDP server that answers "<name>:<datagram>". Loopback only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace korc::proxy::testing {

inline sockaddr_in Addr(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

inline uint16_t BoundPort(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

class TcpBackend {
 public:
  explicit TcpBackend(std::string name, std::string ip = "127.0.0.1") : name_(std::move(name)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    auto a = Addr(ip, 0);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 128);
    port_ = BoundPort(fd_);
    thread_ = std::thread([this] { Loop(); });
  }
  ~TcpBackend() {
    stop_ = true;
    thread_.join();
    close(fd_);
    std::lock_guard lock(mu_);
    for (auto& t : conns_) t.join();
  }
  uint16_t port() const { return port_; }
  const std::string& name() const { return name_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      std::lock_guard lock(mu_);
      conns_.emplace_back([this, c] { Serve(c); });
    }
  }
  void Serve(int c) {
    std::string hello = name_ + "\n";
    send(c, hello.data(), hello.size(), MSG_NOSIGNAL);
    char buf[65536];
    while (!stop_) {
      pollfd p{c, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t w = send(c, buf + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += w;
      }
    }
    close(c);
  }

  std::string name_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
};

class UdpBackend {
 public:
  explicit UdpBackend(std::string name) : name_(std::move(name)) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto a = Addr("127.0.0.1", 0);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    port_ = BoundPort(fd_);
    thread_ = std::thread([this] {
      char buf[65536];
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        sockaddr_in from{};
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 0) continue;
        std::string reply = name_ + ":" + std::string(buf, n);
        sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    });
  }
  ~UdpBackend() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  std::string name_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Connects to ip:port; -1 with errno set when the connect fails.
inline int Dial(const std::string& ip, uint16_t port, const std::string& from_ip = {}) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (!from_ip.empty()) {
    auto f = Addr(from_ip, 0);
    bind(fd, reinterpret_cast<sockaddr*>(&f), sizeof f);
  }
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  auto a = Addr(ip, port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

// Reads up to and including the first newline.
inline std::string ReadLine(int fd) {
  std::string out;
  char c;
  while (recv(fd, &c, 1, 0) == 1) {
    if (c == '\n') break;
    out += c;
  }
  return out;
}

// The name of the backend that answers a connection to ip:port ("" when none does).
inline std::string WhoAnswers(const std::string& ip, uint16_t port, const std::string& from = {}) {
  int fd = Dial(ip, port, from);
  if (fd < 0) return "";
  std::string name = ReadLine(fd);
  close(fd);
  return name;
}

}  // namespace korc::proxy::testing
