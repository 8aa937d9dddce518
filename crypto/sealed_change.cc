#include "crypto/sealed_change.h"

#include <sodium.h>

#include "crypto/aead.h"
#include "storage/codec/binary.h"

namespace daicho::crypto {
namespace {

constexpr uint8_t kMagic = 0xDA;
constexpr uint8_t kFormat = 1;
constexpr size_t kHeaderBytes = 2 + 4;
static_assert(kSealOverheadBytes == kHeaderBytes + kAeadOverheadBytes);

std::string AssociatedData(const ChangeAddress& address, KeyId key_id) {
  std::string ad = "daicho change v1";
  storage::BinaryWriter w(ad);
  w.Bytes(address.contract);
  w.Raw(std::string_view(reinterpret_cast<const char*>(address.origin.bytes().data()), ReplicaId::kSize));
  w.Fixed64(address.seq);
  w.Fixed32(key_id);
  return ad;
}

}  // namespace

Result<std::string> SealChange(const KeyRing& ring, const ChangeAddress& address, std::string_view payload) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  if (ring.empty()) return InvalidArgument("no office key to seal changes with");
  const KeyId id = ring.current_id();
  std::string out;
  out.reserve(payload.size() + kSealOverheadBytes);
  storage::BinaryWriter w(out);
  w.Byte(kMagic);
  w.Byte(kFormat);
  w.Fixed32(id);
  AeadSealAppend(out, ring.Find(id)->data(), payload, AssociatedData(address, id));
  return out;
}

Result<KeyId> SealedKeyId(std::string_view sealed) {
  storage::BinaryReader r(sealed);
  uint8_t magic = 0;
  uint8_t format = 0;
  uint32_t id = 0;
  if (!r.Byte(magic) || magic != kMagic || !r.Byte(format) || format != kFormat || !r.Fixed32(id) || id == 0 ||
      sealed.size() < kSealOverheadBytes) {
    return Corruption("not a sealed change payload");
  }
  return id;
}

Result<std::string> OpenChange(const KeyRing& ring, const ChangeAddress& address, std::string_view sealed) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  DAICHO_ASSIGN_OR_RETURN(const KeyId id, SealedKeyId(sealed));
  const KeyRing::Key* key = ring.Find(id);
  if (key == nullptr) {
    return Status(Code::kFailedPrecondition,
                  "the change is sealed under office key " + std::to_string(id) +
                      ", which this PC does not hold (unlock the current office key with the passphrase)");
  }
  std::string plain;
  if (!AeadOpen(plain, key->data(), sealed.substr(kHeaderBytes), AssociatedData(address, id))) {
    return Corruption("a sealed change does not authenticate (damaged, or moved to another seq, origin or contract)");
  }
  return plain;
}

}  // namespace daicho::crypto
