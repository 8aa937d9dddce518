// Raw loopback TCP for tests that speak below the WebSocket layer: idle
// connections from a chosen 127.x address, closes seen by the peer, plain
// HTTP exchanges (health checks, refused upgrades). Header-only; used by
// tests/transport/hostile_client_test.cc and tests/relay/relay_sync_test.cc.
#ifndef DAICHO_TESTS_TRANSPORT_RAW_SOCKET_H_
#define DAICHO_TESTS_TRANSPORT_RAW_SOCKET_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "tests/testing/test_util.h"

namespace daicho::testing {

// A loopback TCP connection from `source` (127.x.y.z) to `port`; -1 on failure.
inline int ConnectFrom(const char* source, uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether the server closed `fd` (EOF or reset within 2 s).
inline bool PeerClosed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 2000) <= 0) return false;
  char byte;
  return ::recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
}

// Sends `request` over a fresh TCP connection and returns all the server
// answered until it closed (empty if nothing within 5 s).
inline std::string HttpExchange(uint16_t port, const std::string& request) {
  const int fd = ConnectFrom("127.0.0.1", port);
  if (fd < 0) return "";
  std::string answer;
  if (WriteAll(fd, request.data(), request.size())) {
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) break;
      char buffer[4096];
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      answer.append(buffer, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return answer;
}

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TRANSPORT_RAW_SOCKET_H_
