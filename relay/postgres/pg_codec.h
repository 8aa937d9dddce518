// Binary parameters and results of libpq (resultFormat 1), so no value is
// printed and parsed as text: int2/int4/int8, bool, bytea, text and date in
// PostgreSQL's binary wire forms (network byte order; a date is the days
// since 2000-01-01). Pure code: no connection, no libpq call.
//
// uint64_t values go into bigint columns: PgParams refuses one above
// INT64_MAX (kInvalidArgument, reported by status()) rather than storing a
// negative number.
#ifndef DAICHO_RELAY_POSTGRES_PG_CODEC_H_
#define DAICHO_RELAY_POSTGRES_PG_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daicho/status.h"
#include "relay/entitlements/entitlements.h"

namespace daicho::relay::pg {

// The parameters of one statement, in order ($1, $2, ...). Each is sent in
// binary, except those added with TextFormat.
class PgParams {
 public:
  PgParams& Bytes(std::string_view value);  // bytea, or text (its binary form is its bytes)
  PgParams& I16(int16_t value);
  PgParams& I32(int32_t value);
  PgParams& I64(int64_t value);
  PgParams& U64(uint64_t value);  // a bigint; above INT64_MAX: status() fails
  PgParams& Bool(bool value);
  PgParams& Date(entitlements::Date value);
  PgParams& Null();
  // A parameter in PostgreSQL's text form (an array literal, say).
  PgParams& TextFormat(std::string_view value);

  // Ok, or why a value cannot be sent.
  const Status& status() const { return status_; }
  int size() const { return static_cast<int>(values_.size()); }
  // Arrays for PQsendQueryPrepared, valid while this object is unchanged.
  const char* const* values() const;
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  PgParams& Add(std::string bytes, int format);

  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  mutable std::vector<const char*> pointers_;
  Status status_;
};

// Decoders of one binary result field. Each returns nullopt when the bytes
// have the wrong size for the type (the caller reports kCorruption).
std::optional<int64_t> DecodeInt(std::string_view field);  // int2, int4 or int8 by size
std::optional<bool> DecodeBool(std::string_view field);
std::optional<entitlements::Date> DecodeDate(std::string_view field);

// A date as PostgreSQL's binary date (4 bytes).
std::string EncodeDate(entitlements::Date value);

}  // namespace daicho::relay::pg

#endif  // DAICHO_RELAY_POSTGRES_PG_CODEC_H_
