// LmdbBackend: the relay's embedded RelayBackend, its own LMDB environment
// in one data directory.
//
// Layout (named LMDB databases; a contract number is always 14 bytes, so a
// contract's keys are exactly those starting with its number; schema
// "daicho-relay-v6", docs/formats.md):
//   meta:      "schema" -> kRelaySchema
//              "logins" -> login generation (8, big-endian), bumped by every
//                          commit that ends logins (revoke, passwd, remove,
//                          disable)
//              "vendor_contract" -> the vendor's staff contract number (14
//                          bytes, `vendor init`); absent until named
//   contracts: contract -> "" (exists)
//   users:     contract | folded id | '\0' | id -> Argon2id hash string
//              (folded: FoldUserId; id: the form it was added with)
//   disabled:  contract -> "" (the contract is disabled), or a users key ->
//              "" (that user is disabled)
//   admins:    users key -> "" (that user is an admin)
//   seen:      users key -> last sync (8, big-endian Unix ms) | address
//   devices:   contract | BLAKE2b(token) -> replica id (16) | user id | '\0' |
//              device name | '\0' | last sync (8, big-endian Unix ms; 0:
//              none yet) | unsynced known (1: 0 or 1) | unsynced records (8)
//              | address of the last sync (a zero replica id: issued before
//              v3, bound to the replica that next logs in with it)
//   sessions:  contract | BLAKE2b(token) -> user id | '\0' | created (8) |
//              last seen (8) | address
//   resets:    users key -> salt (16) | keyed BLAKE2b (32) | created (8) |
//              expires (8) | tries left (1)
//   audit:     contract -> row count (8); contract | time (8) | sequence (4)
//              -> actor, address, via, action, target, detail (each a
//              4-byte big-endian length and its bytes)
//   changes:   contract | origin(16) | seq(8, big-endian) -> payload
//   vv:        contract | origin(16) -> held seq (8, big-endian)
//   keys:      contract -> the office key envelopes (crypto/office_key.h)
//   key_times: contract -> created (8) | changed (8), Unix ms
//   licences:  contract -> version (1) = 1 | installed (4, YYYYMMDD
//              big-endian; 0: none) | first renewal (4) | licences (4) |
//              applied options (1: bit 0 backup, bit 1 billing) | free
//              choice (1: 1 backup, 2 billing)
//   filings:   contract | company id | '\0' | day (4) | filing id ->
//              imported (8, Unix ms)
//   payments:  contract | time (8) | sequence (4) -> line (1: 0 base, 1
//              backup, 2 billing) | licence year (4) | amount in yen (8,
//              two's complement) | reference, note, actor (as audit fields)
// Opening a v2 to v5 store upgrades it in one write transaction (v2:
// user keys gain their folded form, device entries a zero replica id; v3:
// device entries gain an empty last sync; v4: device entries gain an
// unknown unsynced count, the v5 databases start empty; v5: the v6
// databases start empty, every contract unmanaged).
//
// Ownership: Open() returns the only handle to a directory in this process
// (a second Open of the same directory gives kBusy); the environment closes
// when the last shared_ptr to the backend goes.
//
// Thread-safety: Read and Write may be called concurrently from any thread.
// Writes are serialized by LMDB; reads run in parallel. A Write whose map is
// full is aborted, the map doubled and the function run again
// (storage/lmdb/growing_writer.h).
#ifndef DAICHO_RELAY_LMDB_LMDB_BACKEND_H_
#define DAICHO_RELAY_LMDB_LMDB_BACKEND_H_

#include <cstdint>
#include <memory>
#include <string>

#include "daicho/status.h"
#include "relay/relay_backend.h"

namespace daicho::relay {

struct LmdbBackendOptions {
  // Create the directory and an empty store if none is there (the relay's
  // commands other than `init` open with false, so a mistyped --data is
  // refused instead of serving an empty store).
  bool create_if_missing = true;
  // First LMDB map size; it doubles whenever the map is full.
  uint64_t initial_map_bytes = 64ull << 20;
  // Check the structure of the data file before opening it (see
  // storage/lmdb/verify.h), so damage is kCorruption, not a crash.
  bool verify_on_open = true;
};

class LmdbBackend final : public RelayBackend {
 public:
  ~LmdbBackend() override;
  LmdbBackend(const LmdbBackend&) = delete;
  LmdbBackend& operator=(const LmdbBackend&) = delete;

  // Opens the store in directory `dir`, upgrading a v2 to v5 store. Codes:
  // kNotFound (missing and !create_if_missing), kInvalidArgument (the
  // directory holds other files or another LMDB database),
  // kFailedPrecondition (a pre-encryption v1 store), kCorruption, kBusy,
  // kIoError.
  static Result<std::shared_ptr<LmdbBackend>> Open(const std::string& dir, const LmdbBackendOptions& options = {});

  Status Read(const std::function<Status(RelayReadTxn&)>& fn) const override;
  Status Write(const std::function<Status(RelayWriteTxn&)>& fn) override;

  struct Impl;

 private:
  explicit LmdbBackend(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_LMDB_LMDB_BACKEND_H_
