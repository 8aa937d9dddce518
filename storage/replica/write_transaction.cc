// WriteTransaction: edits checked when made and buffered until Commit.
#include "storage/replica/replica_impl.h"

#include "storage/codec/names.h"

namespace daicho::storage::detail {

Status CheckName(std::string_view name, const char* what, const Limits& limits) {
  switch (storage::CheckNameBytes(name, limits.max_name_bytes)) {
    case storage::NameProblem::kEmpty:
      return InvalidArgument(std::string(what) + " must not be empty");
    case storage::NameProblem::kTooLong:
      return Status(Code::kResourceExhausted,
                    std::string(what) + " is longer than " + std::to_string(limits.max_name_bytes) + " bytes");
    case storage::NameProblem::kNul:
      return InvalidArgument(std::string(what) + " contains a NUL byte");
    case storage::NameProblem::kNotUtf8:
      return InvalidArgument(std::string(what) + " is not valid UTF-8");
    case storage::NameProblem::kNone:
      break;
  }
  return Status::Ok();
}

Status CheckRecordArgs(std::string_view collection, std::string_view id, const Limits& limits) {
  DAICHO_RETURN_IF_ERROR(CheckName(collection, "collection", limits));
  DAICHO_RETURN_IF_ERROR(CheckName(id, "record id", limits));
  if (storage::RecordKeyTooLong(collection, id)) {
    return Status(Code::kResourceExhausted, "collection and record id together are longer than " +
                                                std::to_string(storage::kMaxRecordKeyBytes - 1) + " bytes");
  }
  return Status::Ok();
}

}  // namespace daicho::storage::detail

namespace daicho {

using storage::detail::CheckName;
using storage::detail::CheckRecordArgs;

namespace {

Status CheckText(std::string_view text, const char* what, const Limits& limits) {
  if (text.size() > limits.max_value_bytes) {
    return Status(Code::kResourceExhausted,
                  std::string(what) + " is longer than " + std::to_string(limits.max_value_bytes) + " bytes");
  }
  if (!IsValidUtf8(text)) return InvalidArgument(std::string(what) + " is not valid UTF-8");
  return Status::Ok();
}

}  // namespace

struct WriteTransaction::Impl {
  Replica::Impl* replica;
  core::ChangeBuilder builder;
  // The last (collection, id) that passed CheckRecordArgs: a transaction
  // usually sets many fields of one record in a row.
  std::string checked_collection, checked_id;

  Status CheckRoom() const {
    if (builder.size() >= replica->options.limits.max_ops_per_change) {
      return Status(Code::kResourceExhausted, "transaction holds the maximum of " +
                                                  std::to_string(replica->options.limits.max_ops_per_change) +
                                                  " operations; commit it first");
    }
    return Status::Ok();
  }
  Status CheckField(std::string_view collection, std::string_view id, std::string_view field) {
    DAICHO_RETURN_IF_ERROR(CheckRoom());
    if (id != checked_id || collection != checked_collection || checked_id.empty()) {
      DAICHO_RETURN_IF_ERROR(CheckRecordArgs(collection, id, replica->options.limits));
      checked_collection.assign(collection);
      checked_id.assign(id);
    }
    return CheckName(field, "field name", replica->options.limits);
  }
  Status CheckRegisterWrite(std::string_view collection, std::string_view id, std::string_view field,
                            const Value& value) {
    DAICHO_RETURN_IF_ERROR(CheckField(collection, id, field));
    const Limits& limits = replica->options.limits;
    if (value.type() == Value::Type::kString) return CheckText(value.as_string(), "value", limits);
    if (value.type() == Value::Type::kBytes && value.as_bytes().data.size() > limits.max_value_bytes) {
      return Status(Code::kResourceExhausted,
                    "value is longer than " + std::to_string(limits.max_value_bytes) + " bytes");
    }
    return Status::Ok();
  }
};

WriteTransaction::WriteTransaction(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WriteTransaction::~WriteTransaction() = default;

WriteTransaction::WriteTransaction(WriteTransaction&&) noexcept = default;

WriteTransaction& WriteTransaction::operator=(WriteTransaction&&) noexcept = default;

Status WriteTransaction::Set(std::string_view collection, std::string_view id, std::string_view field, Value value) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckRegisterWrite(collection, id, field, value));
  impl_->builder.Set(std::string(collection), std::string(id), std::string(field), std::move(value));
  return Status::Ok();
}

Status WriteTransaction::SetWithContext(std::string_view collection, std::string_view id, std::string_view field,
                                        Value value, VersionVector context) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckRegisterWrite(collection, id, field, value));
  impl_->builder.SetWithContext(std::string(collection), std::string(id), std::string(field), std::move(value),
                                std::move(context));
  return Status::Ok();
}

Status WriteTransaction::Add(std::string_view collection, std::string_view id, std::string_view field, int64_t delta) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckField(collection, id, field));
  impl_->builder.Add(std::string(collection), std::string(id), std::string(field), delta);
  return Status::Ok();
}

Status WriteTransaction::SetAdd(std::string_view collection, std::string_view id, std::string_view field,
                                std::string_view element) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckField(collection, id, field));
  DAICHO_RETURN_IF_ERROR(CheckText(element, "set element", impl_->replica->options.limits));
  impl_->builder.SetAdd(std::string(collection), std::string(id), std::string(field), std::string(element));
  return Status::Ok();
}

Status WriteTransaction::SetRemove(std::string_view collection, std::string_view id, std::string_view field,
                                   std::string_view element) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckField(collection, id, field));
  DAICHO_RETURN_IF_ERROR(CheckText(element, "set element", impl_->replica->options.limits));
  impl_->builder.SetRemove(std::string(collection), std::string(id), std::string(field), std::string(element));
  return Status::Ok();
}

Status WriteTransaction::Delete(std::string_view collection, std::string_view id) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckRoom());
  DAICHO_RETURN_IF_ERROR(CheckRecordArgs(collection, id, impl_->replica->options.limits));
  DAICHO_ASSIGN_OR_RETURN(bool exists, impl_->replica->Exists(collection, id));
  if (!exists) return NotFound("no record " + std::string(collection) + "/" + std::string(id));
  impl_->builder.Delete(std::string(collection), std::string(id));
  return Status::Ok();
}

Status WriteTransaction::Undelete(std::string_view collection, std::string_view id) {
  DAICHO_RETURN_IF_ERROR(impl_->CheckRoom());
  DAICHO_RETURN_IF_ERROR(CheckRecordArgs(collection, id, impl_->replica->options.limits));
  DAICHO_ASSIGN_OR_RETURN(bool exists, impl_->replica->Exists(collection, id));
  if (!exists) return NotFound("no record " + std::string(collection) + "/" + std::string(id));
  impl_->builder.Undelete(std::string(collection), std::string(id));
  return Status::Ok();
}

size_t WriteTransaction::size() const { return impl_->builder.size(); }

Result<CommitInfo> WriteTransaction::Commit() {
  auto result = impl_->replica->Commit(impl_->builder);
  impl_->builder.Clear();
  return result;
}

WriteTransaction Replica::BeginWrite() {
  auto impl = std::make_unique<WriteTransaction::Impl>();
  impl->replica = impl_.get();
  return WriteTransaction(std::move(impl));
}

}  // namespace daicho
