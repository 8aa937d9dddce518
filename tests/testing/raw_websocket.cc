#include "tests/testing/raw_websocket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace daicho::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A fixed masking key: masking protects proxies' caches, not secrets, and
// a fixed one lets a header and its payload be written apart.
constexpr uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

int Remaining(Clock::time_point end) {
  const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

std::string Header(uint8_t first, bool masked, uint64_t length) {
  std::string out;
  out.push_back(static_cast<char>(first));
  const uint8_t mask_bit = masked ? 0x80 : 0x00;
  if (length < 126) {
    out.push_back(static_cast<char>(mask_bit | length));
  } else if (length <= 0xffff) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(length >> 8));
    out.push_back(static_cast<char>(length & 0xff));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((length >> shift) & 0xff));
  }
  if (masked) out.append(reinterpret_cast<const char*>(kMask), sizeof kMask);
  return out;
}

}  // namespace

std::string EncodeRawFrame(const RawFrame& frame) {
  const uint8_t first =
      static_cast<uint8_t>((frame.fin ? 0x80 : 0x00) | ((frame.rsv & 0x7) << 4) | (frame.opcode & 0xf));
  std::string out = Header(first, frame.masked, frame.payload.size());
  std::string payload = frame.payload;
  if (frame.masked) MaskPayload(payload, 0);
  return out + payload;
}

std::string EncodeRawFrameHeader(uint8_t opcode, bool fin, uint64_t length) {
  return Header(static_cast<uint8_t>((fin ? 0x80 : 0x00) | (opcode & 0xf)), /*masked=*/true, length);
}

void MaskPayload(std::string& payload, uint64_t offset) {
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ kMask[(offset + i) % 4]);
}

std::string UpgradeRequest(uint16_t port, std::string_view path, std::string_view extra_headers) {
  std::string request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  request += extra_headers;
  request += "\r\n";
  return request;
}

RawConnection::RawConnection(const std::string& source, uint16_t port, int receive_buffer) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (receive_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  remote.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

RawConnection::~RawConnection() { Close(); }

RawConnection::RawConnection(RawConnection&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

RawConnection& RawConnection::operator=(RawConnection&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void RawConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawConnection::Send(std::string_view bytes, milliseconds timeout) {
  if (fd_ < 0) return false;
  const auto end = Clock::now() + timeout;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
    pollfd p{fd_, POLLOUT, 0};
    const int left = Remaining(end);
    if (left == 0 || ::poll(&p, 1, left) <= 0) return false;
    if ((p.revents & (POLLERR | POLLHUP)) != 0) return false;
  }
  return true;
}

std::string RawConnection::ReadResponseHeader(milliseconds timeout) {
  if (fd_ < 0) return "";
  const auto end = Clock::now() + timeout;
  std::string got;
  // Byte by byte: what follows the blank line (frames) stays in the socket.
  while (got.size() < 16384) {
    pollfd p{fd_, POLLIN, 0};
    const int left = Remaining(end);
    if (left == 0 || ::poll(&p, 1, left) <= 0) return "";
    char c;
    if (::recv(fd_, &c, 1, 0) != 1) return "";
    got.push_back(c);
    if (got.size() >= 4 && got.compare(got.size() - 4, 4, "\r\n\r\n") == 0) return got;
  }
  return "";
}

bool RawConnection::ReadExactly(char* data, size_t size, Clock::time_point end) {
  for (size_t got = 0; got < size;) {
    pollfd p{fd_, POLLIN, 0};
    const int left = Remaining(end);
    if (left == 0 || ::poll(&p, 1, left) <= 0) return false;
    const ssize_t n = ::recv(fd_, data + got, size - got, 0);
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  return true;
}

std::optional<std::string> RawConnection::ReadMessage(milliseconds timeout) {
  if (fd_ < 0) return std::nullopt;
  const auto end = Clock::now() + timeout;
  std::string message;
  for (;;) {
    uint8_t head[2];
    if (!ReadExactly(reinterpret_cast<char*>(head), 2, end)) return std::nullopt;
    uint64_t length = head[1] & 0x7f;
    const size_t extra = length == 126 ? 2 : length == 127 ? 8 : 0;
    if (extra > 0) {
      uint8_t bytes[8];
      if (!ReadExactly(reinterpret_cast<char*>(bytes), extra, end)) return std::nullopt;
      length = 0;
      for (size_t i = 0; i < extra; ++i) length = (length << 8) | bytes[i];
    }
    if ((head[1] & 0x80) != 0 || length > (64u << 20)) return std::nullopt;  // a server never masks
    std::string payload(length, '\0');
    if (!ReadExactly(payload.data(), payload.size(), end)) return std::nullopt;
    const uint8_t opcode = head[0] & 0x0f;
    if (opcode == kOpClose) return std::nullopt;
    if (opcode >= 0x8) continue;  // ping, pong
    message += payload;
    if ((head[0] & 0x80) != 0) return message;
  }
}

bool RawConnection::DrainNow() {
  if (fd_ < 0) return false;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) continue;
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
}

bool RawConnection::DrainUntilClosed(milliseconds timeout) {
  const auto end = Clock::now() + timeout;
  for (;;) {
    if (!DrainNow()) return true;
    pollfd p{fd_, POLLIN, 0};
    const int left = Remaining(end);
    if (left == 0) return false;
    ::poll(&p, 1, left);
  }
}

}  // namespace daicho::testing
