// Hand-made client traffic for hostile-client tests: WebSocket frames
// with any opcode, RSV bits, FIN and mask (RFC 6455 section 5.2), upgrade
// requests with extra headers, and a raw TCP connection from a chosen
// loopback address whose writes and reads never hold a test for long.
// Linux, IPv4 loopback. A connection may have one thread writing (Send)
// beside one reading (ReadMessage, DrainNow), no more.
#ifndef DAICHO_TESTS_TESTING_RAW_WEBSOCKET_H_
#define DAICHO_TESTS_TESTING_RAW_WEBSOCKET_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace daicho::testing {

// WebSocket opcodes (RFC 6455 section 5.2); 0x3-0x7 and 0xB-0xF are reserved.
inline constexpr uint8_t kOpContinuation = 0x0;
inline constexpr uint8_t kOpText = 0x1;
inline constexpr uint8_t kOpBinary = 0x2;
inline constexpr uint8_t kOpClose = 0x8;
inline constexpr uint8_t kOpPing = 0x9;

// One frame as a client would write it, rules optional.
struct RawFrame {
  uint8_t opcode = kOpBinary;
  bool fin = true;
  uint8_t rsv = 0;     // RSV1..3 in bits 0x4, 0x2, 0x1 (0x4: "compressed")
  bool masked = true;  // clients must mask; false is a protocol violation
  std::string payload;
};

// The frame's bytes (header, masking key, masked payload).
std::string EncodeRawFrame(const RawFrame& frame);
// Only the header (and masking key) of a frame announcing `length` payload
// bytes; the payload must follow masked with MaskPayload and the same key.
std::string EncodeRawFrameHeader(uint8_t opcode, bool fin, uint64_t length);
// Masks `payload` in place as EncodeRawFrameHeader's key wants, `offset`
// bytes into the frame's payload.
void MaskPayload(std::string& payload, uint64_t offset);

// A WebSocket upgrade request for `path` on 127.0.0.1:`port`, with
// `extra_headers` (each ending in "\r\n") before the blank line.
std::string UpgradeRequest(uint16_t port, std::string_view path, std::string_view extra_headers = {});

class RawConnection {
 public:
  // Connects from `source` (127.x.y.z) to 127.0.0.1:`port`. `receive_buffer`
  // > 0 sets SO_RCVBUF first (a client that never reads fills it sooner).
  RawConnection(const std::string& source, uint16_t port, int receive_buffer = 0);
  RawConnection() = default;  // no connection
  ~RawConnection();
  RawConnection(RawConnection&& other) noexcept;
  RawConnection& operator=(RawConnection&& other) noexcept;
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  // Writes all of `bytes`; false once the peer closed, or when it could not
  // all be written within `timeout` (a server that stopped reading).
  bool Send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  // The answer's status line and headers up to the blank line; "" if the
  // connection closed first or nothing complete came within `timeout`.
  std::string ReadResponseHeader(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // The next whole data message the server sent (unmasked frames, their
  // payloads joined; control frames skipped); nullopt when the connection
  // closed or the message was not complete within `timeout`.
  std::optional<std::string> ReadMessage(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Reads and drops what is there now; false once the peer closed (EOF or
  // reset).
  bool DrainNow();
  // Reads and drops what arrives until the peer closed (true) or `timeout`
  // passed (false).
  bool DrainUntilClosed(std::chrono::milliseconds timeout);
  void Close();

 private:
  // Exactly `size` bytes, or false (closed, or not before `end`).
  bool ReadExactly(char* data, size_t size, std::chrono::steady_clock::time_point end);

  int fd_ = -1;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_RAW_WEBSOCKET_H_
