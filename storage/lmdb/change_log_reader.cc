#include "storage/lmdb/change_log_reader.h"

#include <cstring>
#include <utility>

namespace daicho::storage::lmdb {
namespace {

constexpr size_t kSeqBytes = 8;

// Makes `key` the key of (origin, seq), reusing its memory.
void AssignChangeLogKey(std::string& key, std::string_view prefix, const ReplicaId& origin, uint64_t seq) {
  key.reserve(prefix.size() + ReplicaId::kSize + kSeqBytes);
  key.assign(prefix);
  key.append(origin.AsStringView());
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>((seq >> shift) & 0xff));
}

}  // namespace

std::string ChangeLogKey(std::string_view prefix, const ReplicaId& origin, uint64_t seq) {
  std::string key;
  AssignChangeLogKey(key, prefix, origin, seq);
  return key;
}

LmdbChangeLogReader::LmdbChangeLogReader(Cursor cursor, std::string prefix)
    : cursor_(std::move(cursor)), prefix_(std::move(prefix)) {}

Status LmdbChangeLogReader::Seek(const ReplicaId& origin, uint64_t seq) {
  AssignChangeLogKey(seek_key_, prefix_, origin, seq);
  at_entry_ = false;
  DAICHO_RETURN_IF_ERROR(cursor_.Seek(seek_key_));
  Load();
  return Status::Ok();
}

Status LmdbChangeLogReader::Next() {
  at_entry_ = false;
  DAICHO_RETURN_IF_ERROR(cursor_.Next());
  Load();
  return Status::Ok();
}

const core::ChangeLogEntry* LmdbChangeLogReader::current() const { return at_entry_ ? &entry_ : nullptr; }

void LmdbChangeLogReader::Load() {
  if (!cursor_.valid()) return;
  const std::string_view key = cursor_.key();
  if (key.size() != prefix_.size() + ReplicaId::kSize + kSeqBytes || !key.starts_with(prefix_)) return;
  ReplicaId::Bytes origin;
  std::memcpy(origin.data(), key.data() + prefix_.size(), ReplicaId::kSize);
  entry_.origin = ReplicaId(origin);
  uint64_t seq = 0;
  for (char c : key.substr(prefix_.size() + ReplicaId::kSize)) seq = seq << 8 | static_cast<unsigned char>(c);
  entry_.seq = seq;
  entry_.payload = cursor_.value();
  at_entry_ = true;
}

}  // namespace daicho::storage::lmdb
