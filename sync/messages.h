// The sync protocol's messages as plain C++ values (the wire form is
// sync/proto/sync.proto; sync/wire_codec.h converts between the two).
//
// Plain value types: no ownership beyond their members, thread-safe as any
// const value. Values decoded by DecodeFrame have passed every field check
// (ids of 16 bytes, seqs and counters > 0, sizes within CodecLimits).
#ifndef DAICHO_SYNC_MESSAGES_H_
#define DAICHO_SYNC_MESSAGES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crypto/office_key.h"
#include "daicho/replica.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"
#include "daicho/version_vector.h"

namespace daicho::sync {

// The protocol version this build speaks.
inline constexpr uint32_t kProtocolVersion = 1;

// Why the initiator connects (same numbers as the wire enum Purpose).
enum class Purpose : uint32_t {
  kSync = 1,         // exchange changes; the initiator closes when in sync
  kWatch = 2,        // exchange changes, then stay for live pushes
  kConnectTest = 3,  // authenticate only; no changes are exchanged
  kPublishKeys = 4,  // authenticate and store Hello::publish_keys; no changes
};

// Connect tests and key publishing authenticate only: no changes flow.
inline bool ExchangesChanges(Purpose purpose) { return purpose == Purpose::kSync || purpose == Purpose::kWatch; }

// Login with a password.
struct PasswordCredential {
  std::string password;
  friend bool operator==(const PasswordCredential&, const PasswordCredential&) = default;
};
// Login with a device token the relay issued earlier.
struct DeviceTokenCredential {
  std::string token;
  friend bool operator==(const DeviceTokenCredential&, const DeviceTokenCredential&) = default;
};
// No secret (PC to PC; the peer proof is a later addition).
using Credentials = std::variant<std::monostate, PasswordCredential, DeviceTokenCredential>;

// First frame, initiator -> acceptor.
struct Hello {
  uint32_t protocol_version = kProtocolVersion;
  ReplicaId replica_id;
  VersionVector version_vector;  // what the initiator holds
  Purpose purpose = Purpose::kSync;
  std::string contract;  // relay login only: "NNNN-NNNN-NNNN"
  std::string user;      // relay login only
  Credentials credentials;
  // With a password: ask for a device token for this PC name ("save
  // password"). Empty: none.
  std::string device_name;
  // Purpose::kPublishKeys: the office key to store in place of the one with
  // id `replaces_key_id` (0: none yet).
  crypto::WrappedOfficeKey publish_keys;
  uint32_t replaces_key_id = 0;
  // Between PCs: what the initiator knows the relay holds.
  VersionVector relay_holds;
  // The largest change payload received (in ChangePart frames when it does
  // not fit one frame); 0 from a peer that cannot take parts.
  uint64_t max_change_bytes = 0;
  // Relay sync: records of the PC the relay lacked as the session began
  // (unknown: nullopt).
  std::optional<uint64_t> unsynced_records;
  friend bool operator==(const Hello&, const Hello&) = default;
};

// Reply to an accepted Hello.
// One paid option as the relay judged it for the contract (issue 15). The
// states' numbers are the wire's.
enum class OptionState : uint32_t {
  kFree = 0,
  kPaid = 1,
  kNeedsFilings = 2,  // a forecast state; allowed
  kRefused = 3,       // neither free nor paid: not usable
  kNotApplied = 4,    // the office did not apply for it
};
inline constexpr uint32_t kMaxOptionState = 4;

struct OptionEntitlement {
  OptionState state = OptionState::kFree;
  uint32_t shortfall = 0;  // filings missing
  uint64_t fee_yen = 0;    // what paying for them costs
  std::string message_ja;  // the reason, one sentence with the figures
  std::string message_en;
  friend bool operator==(const OptionEntitlement&, const OptionEntitlement&) = default;
};

// A relay's evaluation of the contract's licence entitlements (empty and
// unmanaged between PCs, or for a contract the vendor does not manage).
struct Entitlements {
  bool managed = false;
  int64_t evaluated_ms = 0;    // Unix ms
  int64_t valid_until_ms = 0;  // the next renewal (00:00 in Japan), Unix ms
  OptionEntitlement backup;
  OptionEntitlement billing;
  friend bool operator==(const Entitlements&, const Entitlements&) = default;
};

struct Welcome {
  uint32_t protocol_version = kProtocolVersion;
  ReplicaId replica_id;                  // the acceptor's (a relay's own id for a relay)
  VersionVector version_vector;          // what the acceptor holds
  std::string device_token;              // issued on the Hello's device_name request
  crypto::WrappedOfficeKey office_keys;  // a relay's: the contract's office key
  VersionVector relay_holds;             // between PCs: what the acceptor knows the relay holds
  std::string contract;                  // a PC handing out its office key envelope
  uint64_t max_change_bytes = 0;         // as Hello::max_change_bytes
  Entitlements entitlements;             // a relay's: the contract's licence entitlements
  // A relay refusing this PC's uploads (Internet backup not entitled): the
  // session only downloads; the initiator sends no changes.
  bool uploads_refused = false;
  friend bool operator==(const Welcome&, const Welcome&) = default;
};

// Changes the receiver lacks, ascending seq per origin.
struct ChangesBatch {
  uint64_t batch_id = 0;  // 1, 2, 3... per direction and session
  std::vector<ChangeBlob> changes;
};
inline bool operator==(const ChangesBatch& a, const ChangesBatch& b) {
  if (a.batch_id != b.batch_id || a.changes.size() != b.changes.size()) return false;
  for (size_t i = 0; i < a.changes.size(); ++i) {
    const ChangeBlob& x = a.changes[i];
    const ChangeBlob& y = b.changes[i];
    if (x.origin != y.origin || x.seq != y.seq || x.payload != y.payload) return false;
  }
  return true;
}

// A piece of a change too large for one frame: the change is batch
// `batch_id` on its own, its payload `total_bytes` long, `data` goes at
// `offset` (sync/proto/sync.proto, ChangePart).
struct ChangePart {
  uint64_t batch_id = 0;
  ReplicaId origin;
  uint64_t seq = 0;
  uint64_t total_bytes = 0;
  uint64_t offset = 0;
  std::string data;
  friend bool operator==(const ChangePart&, const ChangePart&) = default;
};

// A batch is durably committed; `version_vector` is all the receiver holds.
struct Ack {
  uint64_t batch_id = 0;
  VersionVector version_vector;
  friend bool operator==(const Ack&, const Ack&) = default;
};

// What an Error means beyond its code (same numbers as the wire enum).
enum class ErrorReason : uint32_t {
  kNone = 0,
  // The session's login no longer holds (device token unknown, revoked or
  // replaced; device revoked, password changed or user removed while live).
  kLoginRevoked = 1,
  // The contract's entitlements changed while connected (a payment, filings
  // imported, a renewal): reconnect at once to sync under the new terms.
  kEntitlementChanged = 2,
};

// Ends the session. `code` is never kOk.
struct ErrorMessage {
  Code code = Code::kInternal;
  std::string message;
  ErrorReason reason = ErrorReason::kNone;
  friend bool operator==(const ErrorMessage&, const ErrorMessage&) = default;
};

// One frame's content.
using Message = std::variant<Hello, Welcome, ChangesBatch, Ack, ErrorMessage, ChangePart>;

}  // namespace daicho::sync

#endif  // DAICHO_SYNC_MESSAGES_H_
