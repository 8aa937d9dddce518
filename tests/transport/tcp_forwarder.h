// TcpForwarder: a load balancer played on loopback for tests: each
// connection to its port is forwarded to 127.0.0.1:upstream (which may be
// switched, as a balancer moves to another node), optionally after a PROXY
// protocol header. Header-only; used by tests/transport/proxy_server_test.cc
// and tests/relay/relay_drain_test.cc.
#ifndef DAICHO_TESTS_TRANSPORT_TCP_FORWARDER_H_
#define DAICHO_TESTS_TRANSPORT_TCP_FORWARDER_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/testing/test_util.h"
#include "tests/transport/raw_socket.h"

namespace daicho::testing {

class TcpForwarder {
 public:
  // `header` is written to the upstream before anything the client sends.
  explicit TcpForwarder(uint16_t upstream, std::string header = "") : upstream_(upstream), header_(std::move(header)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in local{};
    local.sin_family = AF_INET;
    local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof local;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
    EXPECT_EQ(::listen(listener_, 16), 0);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&local), &size);
    port_ = ntohs(local.sin_port);
    accept_ = std::jthread([this](std::stop_token stop) { AcceptLoop(stop); });
  }
  ~TcpForwarder() {
    accept_.request_stop();
    accept_.join();
    pumps_.clear();  // each joins
    ::close(listener_);
  }
  TcpForwarder(const TcpForwarder&) = delete;
  TcpForwarder& operator=(const TcpForwarder&) = delete;

  uint16_t port() const { return port_; }
  std::string url(const std::string& scheme = "ws", const std::string& path = "/") const {
    return scheme + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Later connections go to `upstream`; those open stay where they are.
  void SetUpstream(uint16_t upstream) { upstream_ = upstream; }

 private:
  void AcceptLoop(std::stop_token stop) {
    while (!stop.stop_requested()) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = ConnectFrom("127.0.0.1", upstream_.load());
      if (server < 0 || !WriteAll(server, header_.data(), header_.size())) {
        ::close(client);  // as a balancer with no node up: the client sees the connection cut
        if (server >= 0) ::close(server);
        continue;
      }
      pumps_.emplace_back([client, server](std::stop_token pump_stop) { Pump(client, server, pump_stop); });
    }
  }

  // Copies bytes both ways until either side closes, then closes both.
  static void Pump(int a, int b, std::stop_token stop) {
    char buffer[16384];
    while (!stop.stop_requested()) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(p, 2, 20) <= 0) continue;
      bool open = true;
      for (int i = 0; i < 2 && open; ++i) {
        if (p[i].revents == 0) continue;
        const ssize_t n = ::recv(p[i].fd, buffer, sizeof buffer, 0);
        open = n > 0 && WriteAll(p[1 - i].fd, buffer, static_cast<size_t>(n));
      }
      if (!open) break;
    }
    ::close(a);
    ::close(b);
  }

  std::atomic<uint16_t> upstream_;
  const std::string header_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::vector<std::jthread> pumps_;  // touched by the accept thread, then the destructor
  std::jthread accept_;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TRANSPORT_TCP_FORWARDER_H_
