// The sealing of LAN announcements (transport/lan_discovery.h): a
// per-contract discovery key derived from the office's data key, and the
// packet around the AEAD. The packet layout is in docs/formats.md "LAN
// announcements"; the plaintext's layout belongs to the transport.
//
// The discovery key is a subkey of the data key, so the data key itself never
// seals anything on the LAN and one office key shared by two contracts still
// gives two disjoint discovery networks. Free functions, thread-safe.
#ifndef DAICHO_CRYPTO_DISCOVERY_KEY_H_
#define DAICHO_CRYPTO_DISCOVERY_KEY_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "crypto/aead.h"
#include "crypto/key_ring.h"
#include "daicho/status.h"

namespace daicho::crypto {

// A packet is never longer than this (one datagram).
inline constexpr size_t kMaxAnnouncementPacketBytes = 8 * 1024;
// What a packet adds to its plaintext: magic, key id, nonce and tag.
inline constexpr size_t kAnnouncementOverheadBytes = 4 + 4 + kAeadOverheadBytes;

// Seals `plaintext` under the discovery key of `keys`' current key for
// `contract`; the plaintext is wiped. kInvalidArgument when `keys` is empty,
// kResourceExhausted when the packet would exceed kMaxAnnouncementPacketBytes
// (nothing is sealed then).
Result<std::string> SealAnnouncement(const KeyRing& keys, std::string_view contract, std::string plaintext);

// Opens a packet under whichever of `keys` its key id names (a PC that has
// not yet seen a rotation still reads the others). The packet's nonce goes to
// `nonce` if given. kCorruption when it is no announcement (size, magic),
// kUnauthenticated for an unknown key id or a packet that does not
// authenticate (another office or contract, or damaged).
Result<std::string> OpenAnnouncement(const KeyRing& keys, std::string_view contract, std::string_view packet,
                                     std::string* nonce = nullptr);

}  // namespace daicho::crypto

#endif  // DAICHO_CRYPTO_DISCOVERY_KEY_H_
