#include "transport/proxy_protocol.h"

#include <arpa/inet.h>

namespace daicho::transport {
namespace {

constexpr std::string_view kSignature("\r\n\r\n\0\r\nQUIT\n", 12);
constexpr uint8_t kVersion2 = 0x20;
constexpr uint8_t kCommandLocal = 0x00;
constexpr uint8_t kCommandProxy = 0x01;
constexpr uint8_t kTcpOverIpv4 = 0x11;
constexpr uint8_t kTcpOverIpv6 = 0x21;
constexpr size_t kIpv4Block = 4 + 4 + 2 + 2;    // source, destination, their ports
constexpr size_t kIpv6Block = 16 + 16 + 2 + 2;  // the same, IPv6

uint8_t Byte(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }

Status Malformed(const std::string& why) { return Status(Code::kProtocolError, "PROXY protocol header: " + why); }

}  // namespace

Result<size_t> ProxyV2HeaderSize(std::string_view prelude) {
  if (prelude.size() != kProxyV2PreludeBytes) return Malformed("cut short");
  if (prelude.substr(0, kSignature.size()) != kSignature) return Malformed("no version 2 signature");
  const uint8_t version_command = Byte(prelude, 12);
  if ((version_command & 0xF0) != kVersion2) return Malformed("not version 2");
  const uint8_t command = version_command & 0x0F;
  if (command != kCommandLocal && command != kCommandProxy) return Malformed("unknown command");
  const size_t size = kProxyV2PreludeBytes + (size_t{Byte(prelude, 14)} << 8 | Byte(prelude, 15));
  if (size > kMaxProxyV2HeaderBytes) {
    return Status(Code::kResourceExhausted, "PROXY protocol header of " + std::to_string(size) + " bytes, over the " +
                                                std::to_string(kMaxProxyV2HeaderBytes) + " accepted");
  }
  return size;
}

Result<ProxyHeader> ParseProxyV2Header(std::string_view header) {
  if (header.size() < kProxyV2PreludeBytes) return Malformed("cut short");
  DAICHO_ASSIGN_OR_RETURN(size_t size, ProxyV2HeaderSize(header.substr(0, kProxyV2PreludeBytes)));
  if (header.size() != size) return Malformed("length does not match");
  ProxyHeader out;
  if ((Byte(header, 12) & 0x0F) == kCommandLocal) {
    out.local = true;
    return out;
  }
  const std::string_view block = header.substr(kProxyV2PreludeBytes);
  const uint8_t family = Byte(header, 13);
  char text[INET6_ADDRSTRLEN] = {};
  size_t port_at = 0;
  if (family == kTcpOverIpv4) {
    if (block.size() < kIpv4Block) return Malformed("IPv4 addresses cut short");
    inet_ntop(AF_INET, block.data(), text, sizeof text);
    port_at = 8;
  } else if (family == kTcpOverIpv6) {
    if (block.size() < kIpv6Block) return Malformed("IPv6 addresses cut short");
    inet_ntop(AF_INET6, block.data(), text, sizeof text);
    port_at = 32;
  } else {
    return Malformed("not TCP over IPv4 or IPv6");
  }
  out.address = text;
  out.port = static_cast<uint16_t>(Byte(block, port_at) << 8 | Byte(block, port_at + 1));
  return out;
}

}  // namespace daicho::transport
