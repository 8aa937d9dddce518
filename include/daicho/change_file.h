// Change files: an office's changes carried between its PCs on a USB stick,
// for PCs that cannot sync over a network (docs/formats.md "Change files").
//
// A file names the office it is from (the contract number and the office key
// id) and, written on a PC that holds the office key, every change in it is
// sealed with that key as on the way to the relay (XChaCha20-Poly1305,
// docs/security.md): the stick holds no customer data in clear, and only PCs
// of the same office can import it. The office of a PC is the contract of
// its relay settings (RelayClient::Connect), else the contract of the office
// key it holds (unlocked from a peer or a key file).
//
// Which file goes into which PC:
// - a sealed file: only into a PC of the same contract that holds the key
//   the file is sealed with (otherwise: unlock the office key first);
// - a file naming another contract than this PC's: never;
// - an unsealed file (written on a PC without an office key; also every
//   version 1 file, which names no office): only into a PC whose office has
//   no office key, neither held here nor known to be set up.
// A refused import applies nothing and says which office the file is from,
// which this PC belongs to and what to do.
//
// Thread-safety: functions borrow the Replica for the call, as its own
// methods do. Errors: kPermissionDenied (a file of another office),
// kFailedPrecondition (this PC must unlock the office key, or the file must
// be written again on a PC holding it), kUnauthenticated (a wrong
// passphrase), kNotFound (no file), kCorruption (a truncated, damaged or
// tampered file: nothing is applied), kProtocolError (the file starts after
// what this PC holds), kIoError and the replica's own codes.
#ifndef DAICHO_CHANGE_FILE_H_
#define DAICHO_CHANGE_FILE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"

namespace daicho {

// What a change file says about itself.
struct ChangeFileInfo {
  // The office's contract number; "" when written on a PC of no office (and
  // in every version 1 file).
  std::string contract;
  // The office key id its changes are sealed with; 0: not sealed.
  uint32_t key_id = 0;
  // The file format version (2; 1 for files of older daicho versions).
  uint32_t version = 0;
  size_t changes = 0;
};

struct ExportChangesOptions {
  // Only the changes the holder of this version vector lacks (the other PC's
  // Replica::GetVersionVector); empty: everything.
  VersionVector since;
  // The office passphrase, only when this PC keeps no office.key (it then
  // opens the envelopes saved by an earlier unlock).
  std::string passphrase;
};

struct ImportChangesOptions {
  // As in ExportChangesOptions.
  std::string passphrase;
  // Called after each applied batch: changes done so far, and the total.
  std::function<void(size_t done, size_t total)> on_progress;
};

struct ImportChangesResult {
  ChangeFileInfo file;
  ApplyResult applied;  // over all batches
};

// Writes the changes of `replica` (those `options.since` lacks) to `path`,
// named and, with the office key held here, sealed for this PC's office.
// Written to `path`.tmp, fsynced and renamed: the target is either the old
// file or the whole new one. kFailedPrecondition when this PC's office has
// an office key that this PC does not hold (an unsealed file would be of no
// use to its other PCs).
Result<ChangeFileInfo> ExportChangeFile(Replica& replica, const std::string& path,
                                        const ExportChangesOptions& options = {});

// Checks that `path` belongs to this PC's office, opens every change, then
// applies them (in batches, each one durable). Changes already held are
// skipped, so importing a file twice changes nothing. A refused, damaged or
// unopenable file applies nothing.
Result<ImportChangesResult> ImportChangeFile(Replica& replica, const std::string& path,
                                             const ImportChangesOptions& options = {});

}  // namespace daicho

#endif  // DAICHO_CHANGE_FILE_H_
