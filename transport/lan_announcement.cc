#include "transport/lan_announcement.h"

#include <utility>

#include "crypto/discovery_key.h"
#include "storage/codec/binary.h"

namespace daicho::transport {

Result<std::string> EncodeAnnouncement(const crypto::KeyRing& keys, std::string_view contract,
                                       const Announcement& announcement) {
  std::string plain;
  storage::BinaryWriter p(plain);
  p.Raw(announcement.replica_id.AsStringView());
  p.Byte(static_cast<uint8_t>(announcement.sync_port));
  p.Byte(static_cast<uint8_t>(announcement.sync_port >> 8));
  p.Fixed64(announcement.unix_ms);
  p.Bytes(announcement.device_name);
  const auto& entries = announcement.version_vector.entries();
  p.Varint(entries.size());
  for (const auto& e : entries) {
    p.Raw(e.replica.AsStringView());
    p.Varint(e.counter);
  }
  return crypto::SealAnnouncement(keys, contract, std::move(plain));
}

Result<Announcement> DecodeAnnouncement(const crypto::KeyRing& keys, std::string_view contract, std::string_view packet,
                                        std::string* nonce_out) {
  DAICHO_ASSIGN_OR_RETURN(const std::string plain, crypto::OpenAnnouncement(keys, contract, packet, nonce_out));
  Announcement a;
  storage::BinaryReader r(plain);
  std::string_view raw;
  uint8_t lo = 0;
  uint8_t hi = 0;
  std::string_view name;
  uint64_t count = 0;
  if (!r.Raw(ReplicaId::kSize, raw) || !r.Byte(lo) || !r.Byte(hi) || !r.Fixed64(a.unix_ms) || !r.Bytes(name) ||
      !r.Varint(count) || count > r.remaining() / (ReplicaId::kSize + 1)) {
    return Corruption("malformed LAN announcement");
  }
  a.replica_id = *ReplicaId::FromBytes(raw);
  if (a.replica_id.IsZero()) return Corruption("LAN announcement without a replica id");
  a.sync_port = static_cast<uint16_t>(lo | (hi << 8));
  a.device_name = std::string(name);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t counter = 0;
    if (!r.Raw(ReplicaId::kSize, raw) || !r.Varint(counter)) return Corruption("malformed LAN announcement");
    a.version_vector.Advance(*ReplicaId::FromBytes(raw), counter);
  }
  if (!r.done()) return Corruption("trailing bytes in LAN announcement");
  return a;
}

}  // namespace daicho::transport
