// The meta state (id, epoch, vv, clock) as a transaction reads and writes it.
#include "storage/replica/replica_impl.h"

#include "storage/codec/version_vector_codec.h"

namespace daicho {

using storage::detail::kEpochKey;
using storage::detail::kReplicaIdKey;

namespace {

constexpr std::string_view kVvKey = "vv";
constexpr std::string_view kHlcKey = "hlc";

std::string EncodeHlc(HlcTime t) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((t.wall_ms >> (8 * i)) & 0xff));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((t.logical >> (8 * i)) & 0xff));
  return out;
}

Result<HlcTime> DecodeHlc(std::string_view b) {
  if (b.size() != 12) return Corruption("stored clock state has " + std::to_string(b.size()) + " bytes");
  HlcTime t;
  for (int i = 0; i < 8; ++i) t.wall_ms |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
  for (int i = 0; i < 4; ++i) t.logical |= static_cast<uint32_t>(static_cast<unsigned char>(b[8 + i])) << (8 * i);
  return t;
}

}  // namespace

Result<std::string_view> Replica::Impl::GetMeta(const storage::lmdb::TxnBase& txn, std::string_view key) const {
  auto got = txn.Get(meta, key);
  if (!got.ok() && got.status().code() == Code::kNotFound) {
    return Corruption("replica metadata is incomplete (no " + std::string(key) + ")");
  }
  return got;
}

Result<VersionVector> Replica::Impl::ReadVv(const storage::lmdb::TxnBase& txn) const {
  DAICHO_ASSIGN_OR_RETURN(std::string_view raw, GetMeta(txn, kVvKey));
  std::lock_guard lock(vv_memo_mu);
  if (vv_memo_raw != raw) {
    DAICHO_ASSIGN_OR_RETURN(VersionVector decoded, storage::DecodeVersionVector(raw));
    vv_memo = std::move(decoded);
    vv_memo_raw.emplace(raw);
  }
  return vv_memo;
}

void Replica::Impl::RememberVv(std::string raw, const VersionVector& vv) const {
  std::lock_guard lock(vv_memo_mu);
  vv_memo = vv;
  vv_memo_raw = std::move(raw);
}

Result<MetaState> Replica::Impl::ReadMetaState(const storage::lmdb::TxnBase& txn) const {
  MetaState state;
  DAICHO_ASSIGN_OR_RETURN(std::string_view raw_id, GetMeta(txn, kReplicaIdKey));
  DAICHO_ASSIGN_OR_RETURN(state.id, ReplicaId::FromBytes(raw_id));
  DAICHO_ASSIGN_OR_RETURN(std::string_view raw_epoch, GetMeta(txn, kEpochKey));
  DAICHO_ASSIGN_OR_RETURN(state.epoch, ReplicaId::FromBytes(raw_epoch));
  DAICHO_ASSIGN_OR_RETURN(std::string_view raw_hlc, GetMeta(txn, kHlcKey));
  DAICHO_ASSIGN_OR_RETURN(state.hlc, DecodeHlc(raw_hlc));
  DAICHO_ASSIGN_OR_RETURN(state.vv, ReadVv(txn));
  return state;
}

// A copy, so that a write transaction retried after a map resize, or one that
// fails, leaves the process's clock as it was.
core::HybridClock Replica::Impl::MergedClock(HlcTime stored) const {
  core::HybridClock clock = hlc;
  if (stored > clock.last()) clock.Restore(stored);
  return clock;
}

Status Replica::Impl::PutVvAndClock(storage::lmdb::WriteTxn& txn, const VersionVector& new_vv, HlcTime clock,
                                    std::string& encoded_vv) const {
  encoded_vv = storage::EncodeVersionVector(new_vv);
  DAICHO_RETURN_IF_ERROR(txn.Put(meta, kVvKey, encoded_vv));
  return txn.Put(meta, kHlcKey, EncodeHlc(clock));
}

}  // namespace daicho
