// Byte-level building blocks of daicho's compact storage formats (change
// payloads, record states): LEB128 varints, zigzag for signed numbers, and
// length-prefixed byte strings.
//
// BinaryWriter appends to a std::string. BinaryReader reads from a view and
// never reads past its end: every Read* returns false on truncated or
// malformed input (an overlong varint, a length beyond the end), leaving the
// caller to report kCorruption with its own context. Values read as views
// point into the reader's input, which must outlive them.
#ifndef DAICHO_STORAGE_CODEC_BINARY_H_
#define DAICHO_STORAGE_CODEC_BINARY_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace daicho::storage {

class BinaryWriter {
 public:
  explicit BinaryWriter(std::string& out) : out_(out) {}

  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }

  void Varint(uint64_t v) {
    char buf[10];
    size_t n = 0;
    while (v >= 0x80) {
      buf[n++] = static_cast<char>((v & 0x7F) | 0x80);
      v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out_.append(buf, n);
  }

  // Small magnitudes of either sign stay short.
  void Signed(int64_t v) { Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }

  void Fixed64(uint64_t v) {
    char buf[8];
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(v >> (8 * i));
    out_.append(buf, 8);
  }

  void Fixed32(uint32_t v) {
    char buf[4];
    for (int i = 0; i < 4; ++i) buf[i] = static_cast<char>(v >> (8 * i));
    out_.append(buf, 4);
  }

  // Raw bytes, no length (the reader knows the size).
  void Raw(std::string_view bytes) { out_.append(bytes); }

  // Length-prefixed bytes.
  void Bytes(std::string_view bytes) {
    Varint(bytes.size());
    out_.append(bytes);
  }

  size_t size() const { return out_.size(); }
  std::string& buffer() { return out_; }

 private:
  std::string& out_;
};

class BinaryReader {
 public:
  explicit BinaryReader(std::string_view in) : in_(in) {}

  bool done() const { return pos_ == in_.size(); }
  size_t position() const { return pos_; }
  std::string_view data() const { return in_; }
  size_t remaining() const { return in_.size() - pos_; }

  bool Byte(uint8_t& out) {
    if (pos_ >= in_.size()) return false;
    out = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }

  // Rejects encodings longer than 10 bytes or overflowing 64 bits.
  bool Varint(uint64_t& out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      const auto b = static_cast<uint8_t>(in_[pos_++]);
      if (shift == 63 && b > 1) return false;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        out = v;
        return true;
      }
    }
    return false;
  }

  bool Signed(int64_t& out) {
    uint64_t v = 0;
    if (!Varint(v)) return false;
    out = static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
    return true;
  }

  bool Fixed64(uint64_t& out) {
    if (remaining() < 8) return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += 8;
    out = v;
    return true;
  }

  bool Fixed32(uint32_t& out) {
    if (remaining() < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += 4;
    out = v;
    return true;
  }

  bool Raw(size_t size, std::string_view& out) {
    if (remaining() < size) return false;
    out = in_.substr(pos_, size);
    pos_ += size;
    return true;
  }

  bool Bytes(std::string_view& out) {
    uint64_t size = 0;
    if (!Varint(size) || size > remaining()) return false;
    out = in_.substr(pos_, static_cast<size_t>(size));
    pos_ += static_cast<size_t>(size);
    return true;
  }

  // Moves to an absolute offset within the input.
  bool Seek(size_t offset) {
    if (offset > in_.size()) return false;
    pos_ = offset;
    return true;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

// Reads a varint only in its shortest form (BinaryReader::Varint also takes
// padded ones, e.g. 0x80 0x00 for 0), so that a format built on it has
// exactly one encoding per value. A varint longer than one byte is padded
// exactly when its last byte, which holds the top bits, is 0.
inline bool ReadCanonicalVarint(BinaryReader& in, uint64_t& out) {
  const size_t start = in.position();
  if (!in.Varint(out)) return false;
  return in.position() - start == 1 || in.data()[in.position() - 1] != '\0';
}

// FNV-1a, 64 bits, fed piece by piece: a quick digest of bytes for telling
// accidental changes apart (a damaged file, an edited cell), not a
// cryptographic hash.
class Fnv1a64 {
 public:
  Fnv1a64& Update(std::string_view bytes) {
    for (char c : bytes) {
      hash_ ^= static_cast<unsigned char>(c);
      hash_ *= 0x100000001b3ull;
    }
    return *this;
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_BINARY_H_
