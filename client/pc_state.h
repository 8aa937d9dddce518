// PcState: what a PC keeps about its office beside the ledger, shared by
// relay sync (RelayClient) and direct sync between PCs (PeerSync):
// - the office key ring: this object's memory (a key unlocked without
//   storing it), else the replica directory's office.key;
// - the office key envelopes last seen from the relay, so that the PC can
//   hand the passphrase-wrapped key to a new PC of the office on the LAN;
// - what the relay is known to hold ("backed up"), reported by the relay
//   itself or passed on by a peer that synced with it.
// The envelopes and relay state are replica local settings (never synced).
//
// Ownership: borrows the Replica. Not thread-safe (one per client object).
// Codes: the replica's and crypto/key_file.h's.
#ifndef DAICHO_CLIENT_PC_STATE_H_
#define DAICHO_CLIENT_PC_STATE_H_

#include <optional>
#include <string>
#include <string_view>

#include "crypto/key_file.h"
#include "crypto/office_key.h"
#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"

namespace daicho::client {

// Envelopes as kept for handing on, with their contract.
struct OfficeEnvelopes {
  std::string contract;
  crypto::WrappedOfficeKey keys;
};

// The office a PC belongs to, as change files name it.
struct PcOffice {
  std::string contract;         // "" : none known
  crypto::KeyRing ring;         // its keys held here (or opened with a passphrase); empty: none
  bool has_office_key = false;  // the office has a key: held here, or its envelopes were seen
};

class PcState {
 public:
  explicit PcState(Replica& replica) : replica_(replica) {}

  // The key ring held for `contract` (empty if none is held for it).
  Result<crypto::KeyRing> HeldRing(const std::string& contract) const;
  // Whatever office key this PC holds, with its contract; nullopt if none.
  Result<std::optional<crypto::StoredOfficeKey>> HeldOffice() const;
  // This PC's office: the contract `relay_contract` (of the relay settings;
  // "" if none), else the held office key's, else the saved envelopes'. A
  // key not held is opened from the saved envelopes with `passphrase`, if
  // given (kUnauthenticated when wrong).
  Result<PcOffice> Office(std::string_view relay_contract, const std::string& passphrase) const;
  // Keeps `ring` in memory and, with `store_key`, in office.key (else
  // removes office.key).
  Status KeepRing(const std::string& contract, const crypto::KeyRing& ring, bool store_key);
  // Drops the key from memory and disk.
  Status ForgetRing();

  // The office key envelopes, for handing to a new PC.
  Status SaveEnvelopes(const OfficeEnvelopes& envelopes);
  Result<std::optional<OfficeEnvelopes>> LoadEnvelopes() const;

  // What the relay holds: the relay's own newest report replaces what was
  // known (a relay restored from a backup holds less); a peer's report only
  // adds to it.
  Result<VersionVector> RelayHolds() const;
  Status RecordRelayReport(const VersionVector& holds);
  Status LearnFromPeer(const VersionVector& peer_knows_relay_holds);

  std::string KeyPath() const { return crypto::OfficeKeyPath(replica_.path()); }

 private:
  Replica& replica_;
  std::string memory_contract_;
  crypto::KeyRing memory_ring_;
};

}  // namespace daicho::client

#endif  // DAICHO_CLIENT_PC_STATE_H_
