#include "daicho/replica_id.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>

#include "core/hex.h"

namespace daicho {

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
  const std::optional<std::string> bytes = core::HexDecode(hex);
  if (!bytes) return InvalidArgument("replica id has a non-hex character");
  return FromBytes(*bytes);
}

Result<ReplicaId> ReplicaId::FromBytes(std::string_view raw) {
  if (raw.size() != kSize) {
    return InvalidArgument("replica id must be 16 bytes, got " + std::to_string(raw.size()));
  }
  Bytes b{};
  std::memcpy(b.data(), raw.data(), kSize);
  return ReplicaId(b);
}

std::string ReplicaId::ToHex() const { return core::HexEncode(AsStringView()); }

bool ReplicaId::IsZero() const {
  return std::all_of(bytes_.begin(), bytes_.end(), [](uint8_t v) { return v == 0; });
}

}  // namespace daicho
