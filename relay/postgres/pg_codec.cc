#include "relay/postgres/pg_codec.h"

#include <chrono>
#include <limits>

namespace daicho::relay::pg {
namespace {

// Big-endian, `bytes` long.
std::string EncodeBigEndian(uint64_t value, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = bytes; i-- > 0;) {
    out[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

// PostgreSQL counts days from 2000-01-01.
constexpr std::chrono::sys_days kPgEpoch{std::chrono::year{2000} / 1 / 1};

}  // namespace

PgParams& PgParams::Add(std::string bytes, int format) {
  lengths_.push_back(static_cast<int>(bytes.size()));
  values_.push_back(std::move(bytes));
  null_.push_back(false);
  formats_.push_back(format);
  return *this;
}

PgParams& PgParams::Bytes(std::string_view value) { return Add(std::string(value), 1); }
PgParams& PgParams::I16(int16_t value) { return Add(EncodeBigEndian(static_cast<uint16_t>(value), 2), 1); }
PgParams& PgParams::I32(int32_t value) { return Add(EncodeBigEndian(static_cast<uint32_t>(value), 4), 1); }
PgParams& PgParams::I64(int64_t value) { return Add(EncodeBigEndian(static_cast<uint64_t>(value), 8), 1); }

PgParams& PgParams::U64(uint64_t value) {
  if (value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) && status_.ok()) {
    status_ = InvalidArgument("the store holds numbers up to 2^63-1, not " + std::to_string(value));
  }
  return I64(static_cast<int64_t>(value));
}

PgParams& PgParams::Bool(bool value) { return Add(std::string(1, value ? '\1' : '\0'), 1); }
PgParams& PgParams::Date(entitlements::Date value) { return Add(EncodeDate(value), 1); }

PgParams& PgParams::Null() {
  Add(std::string(), 1);
  null_.back() = true;
  return *this;
}

PgParams& PgParams::TextFormat(std::string_view value) { return Add(std::string(value), 0); }

const char* const* PgParams::values() const {
  pointers_.clear();
  for (size_t i = 0; i < values_.size(); ++i) pointers_.push_back(null_[i] ? nullptr : values_[i].data());
  return pointers_.data();
}

std::optional<int64_t> DecodeInt(std::string_view field) {
  if (field.size() != 2 && field.size() != 4 && field.size() != 8) return std::nullopt;
  uint64_t value = 0;
  for (char c : field) value = (value << 8) | static_cast<unsigned char>(c);
  // Sign-extend the narrower types.
  const unsigned shift = static_cast<unsigned>(64 - 8 * field.size());
  return static_cast<int64_t>(value << shift) >> shift;
}

std::optional<bool> DecodeBool(std::string_view field) {
  if (field.size() != 1) return std::nullopt;
  return field[0] != '\0';
}

std::string EncodeDate(entitlements::Date value) {
  const auto days = (std::chrono::sys_days(value) - kPgEpoch).count();
  return EncodeBigEndian(static_cast<uint32_t>(static_cast<int32_t>(days)), 4);
}

std::optional<entitlements::Date> DecodeDate(std::string_view field) {
  if (field.size() != 4) return std::nullopt;
  const std::optional<int64_t> days = DecodeInt(field);
  // PostgreSQL's infinite dates are the int32 extremes; the relay never stores them.
  if (!days || *days == std::numeric_limits<int32_t>::max() || *days == std::numeric_limits<int32_t>::min()) {
    return std::nullopt;
  }
  return entitlements::Date(kPgEpoch + std::chrono::days(*days));
}

}  // namespace daicho::relay::pg
