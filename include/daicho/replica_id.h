// ReplicaId: the 16-byte random identity of one replica (one PC's store).
//
// Made once when a replica is created and never reused: a store copied to
// another PC or restored from a backup takes a new id before its next commit.
// Shown to people as 32 lower-case hex digits. A plain value type; thread-safe
// as any const value.
#ifndef DAICHO_REPLICA_ID_H_
#define DAICHO_REPLICA_ID_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "daicho/status.h"

namespace daicho {

class ReplicaId {
 public:
  static constexpr size_t kSize = 16;
  using Bytes = std::array<uint8_t, kSize>;

  ReplicaId() = default;  // all zero: "no replica", never issued by Random()
  explicit ReplicaId(const Bytes& bytes) : bytes_(bytes) {}

  // 16 bytes from the OS random source (getrandom). Never all zero.
  // Codes: kIoError when the OS gives no randomness (there is no safe
  // fallback: ids could repeat and replicas would diverge).
  static Result<ReplicaId> Random();
  // Parses exactly 32 hex digits (either case). kInvalidArgument otherwise.
  static Result<ReplicaId> FromHex(std::string_view hex);
  // Takes exactly 16 raw bytes. kInvalidArgument otherwise.
  static Result<ReplicaId> FromBytes(std::string_view raw);

  const Bytes& bytes() const { return bytes_; }
  std::string_view AsStringView() const { return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()}; }
  std::string ToHex() const;
  bool IsZero() const;

  friend auto operator<=>(const ReplicaId&, const ReplicaId&) = default;
  friend bool operator==(const ReplicaId&, const ReplicaId&) = default;

 private:
  Bytes bytes_{};
};

}  // namespace daicho

#endif  // DAICHO_REPLICA_ID_H_
