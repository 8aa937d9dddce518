// The LAN announcement's contents and their sealed packet (docs/formats.md
// "LAN announcements"), apart from LanDiscovery's sockets so that they build
// without Asio (the fuzz tree, tests/reliability/fuzz/, decodes them alone).
//
// Free functions on values, thread-safe. Codes: EncodeAnnouncement:
// kInvalidArgument (an empty key ring), kResourceExhausted (a packet over
// kMaxAnnouncementPacketBytes); DecodeAnnouncement: kCorruption (malformed),
// kUnauthenticated (unknown key id or failed authentication).
#ifndef DAICHO_TRANSPORT_LAN_ANNOUNCEMENT_H_
#define DAICHO_TRANSPORT_LAN_ANNOUNCEMENT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/key_ring.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"

namespace daicho::transport {

// The contents of one announcement.
struct Announcement {
  ReplicaId replica_id;
  std::string device_name;
  uint16_t sync_port = 0;
  uint64_t unix_ms = 0;
  VersionVector version_vector;
};

// Seals `announcement` under `keys`' current key for `contract`. For tests
// and tools; the running instance uses it too.
Result<std::string> EncodeAnnouncement(const crypto::KeyRing& keys, std::string_view contract,
                                       const Announcement& announcement);
// Opens a packet; checks magic, key, authentication and the plaintext's
// shape, not time or replay. The packet's nonce is in `nonce` if given.
Result<Announcement> DecodeAnnouncement(const crypto::KeyRing& keys, std::string_view contract, std::string_view packet,
                                        std::string* nonce = nullptr);

}  // namespace daicho::transport

#endif  // DAICHO_TRANSPORT_LAN_ANNOUNCEMENT_H_
