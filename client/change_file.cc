#include "daicho/change_file.h"

#include <algorithm>
#include <span>
#include <utility>
#include <vector>

#include "client/pc_state.h"
#include "crypto/sealed_change.h"
#include "daicho/relay_client.h"
#include "storage/codec/change_file.h"

namespace daicho {
namespace {

// Changes per Replica::Apply: bounds the size of one LMDB transaction.
constexpr size_t kApplyBatchChanges = 1000;

// The office this PC belongs to: its relay contract, else its key's.
Result<client::PcOffice> OfficeOfThisPc(Replica& replica, const std::string& passphrase) {
  DAICHO_ASSIGN_OR_RETURN(auto settings, RelayClient(replica).Settings());
  return client::PcState(replica).Office(settings ? settings->contract : std::string(), passphrase);
}

crypto::ChangeAddress AddressOf(const std::string& contract, const ChangeBlob& change) {
  return crypto::ChangeAddress{contract, change.origin, change.seq};
}

ChangeFileInfo InfoOf(const storage::ChangeFileHeader& header, size_t changes) {
  return ChangeFileInfo{header.contract, header.key_id, header.version, changes};
}

// The rule deciding which file may go into which PC (daicho/change_file.h,
// docs/security.md), written once.
Status CheckFileBelongsHere(const std::string& path, const storage::ChangeFileHeader& file,
                            const client::PcOffice& pc) {
  // "this change file": the caller names it (the CLI: "importing FILE: ...").
  if (!file.contract.empty() && !pc.contract.empty() && file.contract != pc.contract) {
    return Status(Code::kPermissionDenied, "this change file is from the office with contract " + file.contract +
                                               ", and this PC belongs to contract " + pc.contract +
                                               ": nothing was imported. Import it on a PC of contract " +
                                               file.contract +
                                               "; this PC takes only change files written by PCs of its own office");
  }
  if (file.key_id != 0) {
    if (file.contract.empty()) return Corruption("change file " + path + ": sealed, but names no office (damaged)");
    if (pc.ring.Find(file.key_id) != nullptr) return Status::Ok();
    const std::string unlock = pc.contract.empty() ? "This PC belongs to no office yet: connect it to the office's "
                                                     "relay (`daicho connect`) and run `daicho key unlock`"
                               : pc.has_office_key && pc.ring.empty()
                                   ? "This PC keeps no office.key: give the office passphrase (--passphrase-file), "
                                     "or run `daicho key unlock`"
                                   : "Run `daicho key unlock`";
    return Status(Code::kFailedPrecondition,
                  "this change file is sealed with office key " + std::to_string(file.key_id) + " of contract " +
                      file.contract + ", which this PC does not hold: nothing was imported. " + unlock +
                      " (or, without the relay, `daicho key import KEYFILE`) first, then import it again");
  }
  if (!pc.has_office_key) return Status::Ok();
  const std::string what =
      file.version == 1 ? "this change file is of an older daicho (format version 1): it names no office and is not "
                          "sealed"
                        : "this change file is not sealed with an office key (it was written on a PC without the key)";
  return Status(Code::kFailedPrecondition,
                what + ". The office of this PC (contract " + pc.contract +
                    ") has an office key, so this PC takes only change files sealed with it: nothing was imported. "
                    "Write the file again with `daicho export-changes` on a PC of this office that holds the key "
                    "(`daicho key unlock` there first)");
}

}  // namespace

Result<ChangeFileInfo> ExportChangeFile(Replica& replica, const std::string& path,
                                        const ExportChangesOptions& options) {
  DAICHO_ASSIGN_OR_RETURN(client::PcOffice office, OfficeOfThisPc(replica, options.passphrase));
  if (office.has_office_key && office.ring.empty()) {
    // Unsealed, the file would be refused by every PC of the office that
    // holds the key, and would put the data on the stick in clear.
    return Status(Code::kFailedPrecondition,
                  "the office of contract " + office.contract +
                      " has an office key, which this PC does not hold: unlock it first (`daicho key unlock`, or "
                      "pass the office passphrase), so that the change file is sealed with it");
  }
  DAICHO_ASSIGN_OR_RETURN(std::vector<ChangeBlob> changes, replica.ChangesSince(options.since));
  storage::ChangeFileHeader header;
  header.contract = office.contract;
  header.key_id = office.ring.current_id();
  if (header.key_id != 0) {
    for (ChangeBlob& change : changes) {
      DAICHO_ASSIGN_OR_RETURN(change.payload,
                              crypto::SealChange(office.ring, AddressOf(office.contract, change), change.payload));
    }
  }
  DAICHO_RETURN_IF_ERROR(storage::WriteChangeFile(path, header, changes));
  return InfoOf(header, changes.size());
}

Result<ImportChangesResult> ImportChangeFile(Replica& replica, const std::string& path,
                                             const ImportChangesOptions& options) {
  DAICHO_ASSIGN_OR_RETURN(storage::ChangeFileContents file, storage::ReadChangeFile(path));
  DAICHO_ASSIGN_OR_RETURN(client::PcOffice office, OfficeOfThisPc(replica, options.passphrase));
  DAICHO_RETURN_IF_ERROR(CheckFileBelongsHere(path, file.header, office));
  // Every change is opened before any is applied: one that does not open
  // (tampered, or moved to another seq, origin or contract) applies nothing.
  if (file.header.key_id != 0) {
    for (ChangeBlob& change : file.changes) {
      auto plain = crypto::OpenChange(office.ring, AddressOf(file.header.contract, change), change.payload);
      if (!plain.ok()) {
        return Corruption("change file " + path + ": a change does not open with the office key (" +
                          plain.status().message() + "); nothing was imported");
      }
      change.payload = *std::move(plain);
    }
  }
  // Per origin in seq order, so that no batch boundary can split an origin's
  // run out of order and look like a gap.
  std::stable_sort(file.changes.begin(), file.changes.end(), [](const ChangeBlob& a, const ChangeBlob& b) {
    return a.origin != b.origin ? a.origin < b.origin : a.seq < b.seq;
  });

  ImportChangesResult result;
  result.file = InfoOf(file.header, file.changes.size());
  const std::span<const ChangeBlob> all(file.changes);
  std::vector<RecordKey> changed;
  for (size_t start = 0; start < all.size(); start += kApplyBatchChanges) {
    const size_t count = std::min(kApplyBatchChanges, all.size() - start);
    Result<ApplyResult> batch = replica.Apply(all.subspan(start, count));
    if (!batch.ok()) {
      return Status(batch.status().code(), batch.status().message() + " (" + std::to_string(result.applied.applied) +
                                               " changes of " + path + " were applied before this)");
    }
    result.applied.applied += batch->applied;
    result.applied.duplicates += batch->duplicates;
    changed.insert(changed.end(), batch->changed.begin(), batch->changed.end());
    if (options.on_progress) options.on_progress(start + count, all.size());
  }
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  result.applied.changed = std::move(changed);
  return result;
}

}  // namespace daicho
