// Local settings (a store's own name/value pairs in meta) and the change
// listener.
#include "storage/replica/replica_impl.h"

#include <shared_mutex>

namespace daicho {
namespace {

// Local settings share meta under this prefix. The NUL ends it: no fixed meta
// key contains one and the replica dictionary's keys start "replica\0", so
// no setting name can ever collide with them.
constexpr std::string_view kLocalSettingPrefix{"local_setting\0", 14};

Status CheckLocalSettingName(std::string_view name) {
  if (name.empty()) return InvalidArgument("local setting name must not be empty");
  if (name.size() > kMaxLocalSettingNameBytes) {
    return InvalidArgument("local setting name is longer than " + std::to_string(kMaxLocalSettingNameBytes) + " bytes");
  }
  if (name.find('\0') != std::string_view::npos) return InvalidArgument("local setting name contains a NUL byte");
  return Status::Ok();
}

std::string LocalSettingKey(std::string_view name) {
  std::string key(kLocalSettingPrefix);
  key.append(name);
  return key;
}

}  // namespace

Result<std::optional<std::string>> Replica::GetLocalSetting(std::string_view name) const {
  DAICHO_RETURN_IF_ERROR(CheckLocalSettingName(name));
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  return txn.GetCopy(impl_->meta, LocalSettingKey(name));
}

// Settings touch neither the change log nor id/vv/hlc/epoch, so they need
// no write_mu: LMDB serializes them with commits and applies.
Status Replica::SetLocalSetting(std::string_view name, std::string_view value) {
  DAICHO_RETURN_IF_ERROR(CheckLocalSettingName(name));
  if (value.size() > kMaxLocalSettingValueBytes) {
    return Status(Code::kResourceExhausted,
                  "local setting value is longer than " + std::to_string(kMaxLocalSettingValueBytes) + " bytes");
  }
  const std::string key = LocalSettingKey(name);
  Status status =
      impl_->writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status { return txn.Put(impl_->meta, key, value); });
  return status.WithContext("setting local setting " + std::string(name));
}

Status Replica::EraseLocalSetting(std::string_view name) {
  DAICHO_RETURN_IF_ERROR(CheckLocalSettingName(name));
  const std::string key = LocalSettingKey(name);
  Status status = impl_->writer.Run([&](storage::lmdb::WriteTxn& txn) -> Status {
    Status del = txn.Del(impl_->meta, key);
    return del.code() == Code::kNotFound ? Status::Ok() : del;
  });
  return status.WithContext("erasing local setting " + std::string(name));
}

void Replica::SetChangeListener(std::function<void(const std::vector<RecordKey>&)> listener) {
  std::lock_guard lock(impl_->listener_mu);
  impl_->listener = std::move(listener);
}

}  // namespace daicho
