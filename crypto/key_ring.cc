#include "crypto/key_ring.h"

#include <sodium.h>

#include <algorithm>
#include <utility>

#include "storage/codec/binary.h"

namespace daicho::crypto {
namespace {

// Format version of Serialize(); bumped if the layout ever changes.
constexpr uint8_t kRingFormat = 1;
// A ring grows by one key per rotation; this bounds what Parse accepts.
constexpr size_t kMaxKeys = 100000;

}  // namespace

Status InitSodium() {
  // sodium_init may run repeatedly, but -1 (no random source) must be
  // remembered and reported every time.
  static const int rc = sodium_init();
  if (rc < 0) return Internal("libsodium could not be initialized (no usable random source)");
  return Status::Ok();
}

KeyRing::~KeyRing() { Wipe(); }

KeyRing::KeyRing(KeyRing&& other) noexcept : entries_(std::move(other.entries_)) { other.entries_.clear(); }

KeyRing& KeyRing::operator=(KeyRing&& other) noexcept {
  if (this != &other) {
    Wipe();
    entries_ = std::move(other.entries_);
    other.entries_.clear();
  }
  return *this;
}

void KeyRing::Wipe() {
  if (!entries_.empty()) sodium_memzero(entries_.data(), entries_.size() * sizeof(Entry));
  entries_.clear();
}

Result<KeyRing> KeyRing::Create() {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  KeyRing ring;
  ring.entries_.push_back(Entry{1, {}});
  randombytes_buf(ring.entries_.back().key.data(), kDataKeyBytes);
  return ring;
}

KeyRing KeyRing::Clone() const {
  KeyRing copy;
  copy.entries_ = entries_;
  return copy;
}

Result<KeyRing> KeyRing::Rotated() const {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  if (current_id() == UINT32_MAX) return Status(Code::kResourceExhausted, "no key id left for a rotation");
  KeyRing next = Clone();
  // Reserve first so the push cannot reallocate (and leave an unwiped copy).
  next.entries_.reserve(next.entries_.size() + 1);
  next.entries_.push_back(Entry{current_id() + 1, {}});
  randombytes_buf(next.entries_.back().key.data(), kDataKeyBytes);
  return next;
}

const KeyRing::Key* KeyRing::Find(KeyId id) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), id, [](const Entry& e, KeyId v) { return e.id < v; });
  if (it == entries_.end() || it->id != id) return nullptr;
  return &it->key;
}

std::vector<KeyId> KeyRing::ids() const {
  std::vector<KeyId> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.id);
  return out;
}

Status KeyRing::Add(KeyId id, const Key& key) {
  if (id == 0) return Corruption("key id 0 is not a key");
  auto it = std::lower_bound(entries_.begin(), entries_.end(), id, [](const Entry& e, KeyId v) { return e.id < v; });
  if (it != entries_.end() && it->id == id) {
    if (sodium_memcmp(it->key.data(), key.data(), kDataKeyBytes) != 0) {
      return Corruption("two different keys claim office key id " + std::to_string(id));
    }
    return Status::Ok();
  }
  // Copy into a larger vector by hand so the old buffer is wiped, not just freed.
  std::vector<Entry> grown;
  grown.reserve(entries_.size() + 1);
  grown.insert(grown.end(), entries_.begin(), it);
  grown.push_back(Entry{id, key});
  grown.insert(grown.end(), it, entries_.end());
  Wipe();
  entries_ = std::move(grown);
  return Status::Ok();
}

std::string KeyRing::Serialize() const {
  std::string out;
  storage::BinaryWriter w(out);
  w.Byte(kRingFormat);
  w.Varint(entries_.size());
  for (const Entry& e : entries_) {
    w.Fixed32(e.id);
    w.Raw(std::string_view(reinterpret_cast<const char*>(e.key.data()), kDataKeyBytes));
  }
  return out;
}

Result<KeyRing> KeyRing::Parse(std::string_view bytes) {
  storage::BinaryReader r(bytes);
  uint8_t format = 0;
  uint64_t count = 0;
  if (!r.Byte(format) || format != kRingFormat) return Corruption("office key ring: unknown format");
  if (!r.Varint(count) || count > kMaxKeys) return Corruption("office key ring: bad key count");
  KeyRing ring;
  ring.entries_.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint32_t id = 0;
    std::string_view key;
    if (!r.Fixed32(id) || !r.Raw(kDataKeyBytes, key)) return Corruption("office key ring: truncated");
    if (id == 0 || id <= ring.current_id()) return Corruption("office key ring: key ids out of order");
    Entry e{id, {}};
    std::copy(key.begin(), key.end(), e.key.begin());
    ring.entries_.push_back(e);
    sodium_memzero(&e, sizeof e);
  }
  if (!r.done()) return Corruption("office key ring: trailing bytes");
  return ring;
}

}  // namespace daicho::crypto
