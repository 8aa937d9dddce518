#include "crypto/discovery_key.h"

#include <sodium.h>

#include <array>

#include "storage/codec/binary.h"

namespace daicho::crypto {
namespace {

constexpr std::string_view kMagic = "DLA1";
constexpr std::string_view kAdPrefix = "daicho lan announce v1";
constexpr std::string_view kKdfLabel = "daicho discovery v1";
constexpr size_t kHeaderBytes = 4 + 4;
static_assert(kAeadKeyBytes == crypto_generichash_BYTES);

const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// K_disc = BLAKE2b-256(key = data key, "daicho discovery v1" ‖ varint len ‖ contract).
class DiscoveryKey {
 public:
  DiscoveryKey(const KeyRing::Key& data_key, std::string_view contract) {
    std::string input(kKdfLabel);
    storage::BinaryWriter w(input);
    w.Bytes(contract);
    crypto_generichash(key_.data(), key_.size(), U(input), input.size(), data_key.data(), data_key.size());
  }
  ~DiscoveryKey() { sodium_memzero(key_.data(), key_.size()); }
  DiscoveryKey(const DiscoveryKey&) = delete;
  DiscoveryKey& operator=(const DiscoveryKey&) = delete;
  const unsigned char* data() const { return key_.data(); }

 private:
  std::array<unsigned char, kAeadKeyBytes> key_{};
};

std::string AssociatedData(KeyId key_id) {
  std::string ad(kAdPrefix);
  storage::BinaryWriter w(ad);
  w.Fixed32(key_id);
  return ad;
}

}  // namespace

Result<std::string> SealAnnouncement(const KeyRing& keys, std::string_view contract, std::string plaintext) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  if (keys.empty()) return InvalidArgument("no office key to seal LAN announcements with");
  const size_t total = kAnnouncementOverheadBytes + plaintext.size();
  if (total > kMaxAnnouncementPacketBytes) {
    sodium_memzero(plaintext.data(), plaintext.size());
    return Status(Code::kResourceExhausted, "LAN announcement of " + std::to_string(total) + " bytes exceeds " +
                                                std::to_string(kMaxAnnouncementPacketBytes));
  }
  const KeyId id = keys.current_id();
  const DiscoveryKey key(*keys.Find(id), contract);
  std::string out(kMagic);
  out.reserve(total);
  storage::BinaryWriter w(out);
  w.Fixed32(id);
  AeadSealAppend(out, key.data(), plaintext, AssociatedData(id));
  sodium_memzero(plaintext.data(), plaintext.size());
  return out;
}

Result<std::string> OpenAnnouncement(const KeyRing& keys, std::string_view contract, std::string_view packet,
                                     std::string* nonce) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  if (packet.size() > kMaxAnnouncementPacketBytes || packet.size() < kAnnouncementOverheadBytes ||
      packet.substr(0, kMagic.size()) != kMagic) {
    return Corruption("not a LAN announcement");
  }
  storage::BinaryReader header(packet.substr(kMagic.size()));
  uint32_t id = 0;
  (void)header.Fixed32(id);
  const KeyRing::Key* data_key = keys.Find(id);
  if (data_key == nullptr) return Status(Code::kUnauthenticated, "LAN announcement under an unknown key");
  const DiscoveryKey key(*data_key, contract);
  std::string plaintext;
  if (!AeadOpen(plaintext, key.data(), packet.substr(kHeaderBytes), AssociatedData(id))) {
    return Status(Code::kUnauthenticated, "LAN announcement does not authenticate (another office or damaged)");
  }
  if (nonce != nullptr) *nonce = std::string(packet.substr(kHeaderBytes, kAeadNonceBytes));
  return plaintext;
}

}  // namespace daicho::crypto
