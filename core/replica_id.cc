#include "daicho/replica_id.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace daicho {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<ReplicaId> ReplicaId::Random() {
  Bytes b{};
  do {
    size_t got = 0;
    while (got < b.size()) {
      ssize_t r = getrandom(b.data() + got, b.size() - got, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        return IoError(std::string("getrandom failed: ") + std::strerror(errno));
      }
      got += static_cast<size_t>(r);
    }
  } while (std::all_of(b.begin(), b.end(), [](uint8_t v) { return v == 0; }));
  return ReplicaId(b);
}

Result<ReplicaId> ReplicaId::FromHex(std::string_view hex) {
  if (hex.size() != kSize * 2) {
    return InvalidArgument("replica id must be 32 hex digits, got " + std::to_string(hex.size()) + " characters");
  }
  Bytes b{};
  for (size_t i = 0; i < kSize; ++i) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgument("replica id has a non-hex character");
    b[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return ReplicaId(b);
}

Result<ReplicaId> ReplicaId::FromBytes(std::string_view raw) {
  if (raw.size() != kSize) {
    return InvalidArgument("replica id must be 16 bytes, got " + std::to_string(raw.size()));
  }
  Bytes b{};
  std::memcpy(b.data(), raw.data(), kSize);
  return ReplicaId(b);
}

std::string ReplicaId::ToHex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kSize * 2, '0');
  for (size_t i = 0; i < kSize; ++i) {
    out[2 * i] = kHex[bytes_[i] >> 4];
    out[2 * i + 1] = kHex[bytes_[i] & 15];
  }
  return out;
}

bool ReplicaId::IsZero() const {
  return std::all_of(bytes_.begin(), bytes_.end(), [](uint8_t v) { return v == 0; });
}

}  // namespace daicho
