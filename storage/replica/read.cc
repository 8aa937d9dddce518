// Reads: records, their contexts, pages of a collection, conflicts.
#include "storage/replica/replica_impl.h"

#include <algorithm>
#include <shared_mutex>

#include "core/merge.h"
#include "core/record_context.h"
#include "core/record_view.h"
#include "storage/codec/state_codec.h"

namespace daicho {

using storage::detail::CheckName;
using storage::detail::CheckRecordArgs;
using storage::detail::RecordKeyBytes;

Result<bool> Replica::Impl::Exists(std::string_view collection, std::string_view record_id) const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, writer.BeginRead(lock));
  auto got = txn.Get(records, RecordKeyBytes(collection, record_id));
  if (got.ok()) return true;
  if (got.status().code() == Code::kNotFound) return false;
  return got.status();
}

Result<core::RecordState> Replica::Impl::ReadState(const storage::lmdb::TxnBase& txn, std::string_view collection,
                                                   std::string_view id) const {
  auto raw = txn.Get(records, RecordKeyBytes(collection, id));
  if (!raw.ok()) {
    if (raw.status().code() == Code::kNotFound) {
      return NotFound("no record " + std::string(collection) + "/" + std::string(id));
    }
    return raw.status();
  }
  return storage::DecodeRecordState(*raw, dict->ForRead(txn));
}

Result<Record> Replica::Get(std::string_view collection, std::string_view id) const {
  DAICHO_RETURN_IF_ERROR(CheckRecordArgs(collection, id, impl_->options.limits));
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(core::RecordState state, impl_->ReadState(txn, collection, id));
  storage::ValueResolver values(txn, impl_->changes, impl_->options.limits);
  DAICHO_RETURN_IF_ERROR(values.Resolve(collection, id, state));
  return core::MakeRecordView(std::string(collection), std::string(id), state);
}

Result<RecordContext> Replica::GetRecordContext(std::string_view collection, std::string_view id) const {
  DAICHO_RETURN_IF_ERROR(CheckRecordArgs(collection, id, impl_->options.limits));
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(core::RecordState state, impl_->ReadState(txn, collection, id));
  RecordContext out;
  out.fields.reserve(state.fields.size());
  for (const core::FieldState& f : state.fields) out.fields.push_back({f.name, core::FieldCausalContext(f)});
  out.record = core::RecordCausalContext(state);
  return out;
}

VersionVector RecordContext::ForField(std::string_view name) const {
  auto it = std::lower_bound(fields.begin(), fields.end(), name,
                             [](const RecordContext::FieldContext& f, std::string_view n) { return f.name < n; });
  return it != fields.end() && it->name == name ? it->context : VersionVector();
}

Result<Page> Replica::List(std::string_view collection, const ListOptions& options) const {
  DAICHO_RETURN_IF_ERROR(CheckName(collection, "collection", impl_->options.limits));
  std::string prefix(collection);
  prefix.push_back('\0');
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(impl_->records));
  DAICHO_RETURN_IF_ERROR(cursor.Seek(prefix + options.start_after));
  const storage::StoreReplicaDictionary::ReadView view = impl_->dict->ForRead(txn);
  // One resolver for the page: its records mostly name the same few changes.
  storage::ValueResolver values(txn, impl_->changes, impl_->options.limits);
  Page page;
  while (cursor.valid() && cursor.key().starts_with(prefix)) {
    std::string_view id = cursor.key().substr(prefix.size());
    if (options.start_after.empty() || id != options.start_after) {
      DAICHO_ASSIGN_OR_RETURN(core::RecordState state, storage::DecodeRecordState(cursor.value(), view));
      if (options.include_deleted || !core::IsHidden(state)) {
        // Only a record that would go on the page proves there is a next page.
        if (options.limit != 0 && page.records.size() == options.limit) {
          page.next_start_after = page.records.back().id;
          break;
        }
        DAICHO_RETURN_IF_ERROR(values.Resolve(collection, id, state));
        page.records.push_back(core::MakeRecordView(std::string(collection), std::string(id), state));
      }
    }
    DAICHO_RETURN_IF_ERROR(cursor.Next());
  }
  return page;
}

Result<std::vector<Record>> Replica::ListConflicts() const {
  std::shared_lock<std::shared_mutex> lock;
  DAICHO_ASSIGN_OR_RETURN(auto txn, impl_->writer.BeginRead(lock));
  DAICHO_ASSIGN_OR_RETURN(auto cursor, txn.OpenCursor(impl_->conflicts));
  const storage::StoreReplicaDictionary::ReadView view = impl_->dict->ForRead(txn);
  storage::ValueResolver values(txn, impl_->changes, impl_->options.limits);
  std::vector<Record> out;
  DAICHO_RETURN_IF_ERROR(cursor.First());
  while (cursor.valid()) {
    const std::string key(cursor.key());
    const size_t sep = key.find('\0');
    if (sep == std::string::npos) return Corruption("conflict index key without separator");
    DAICHO_ASSIGN_OR_RETURN(std::string_view raw, txn.Get(impl_->records, key));
    DAICHO_ASSIGN_OR_RETURN(core::RecordState state, storage::DecodeRecordState(raw, view));
    const std::string_view whole(key);
    DAICHO_RETURN_IF_ERROR(values.Resolve(whole.substr(0, sep), whole.substr(sep + 1), state));
    out.push_back(core::MakeRecordView(key.substr(0, sep), key.substr(sep + 1), state));
    DAICHO_RETURN_IF_ERROR(cursor.Next());
  }
  return out;
}

}  // namespace daicho
