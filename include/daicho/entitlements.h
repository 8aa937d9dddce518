// Entitlements: what the vendor's licence lets this office use, as the relay
// last reported it to this PC, and the billing gate built on it.
//
// The relay evaluates the contract's entitlements (the vendor's renewal
// rules: filings made through the vendor, payments) and tells each PC when it
// syncs; the PC keeps the latest report (RelayClient::GetEntitlements reads
// it, no network). Two paid options are judged: "Internet backup" (syncing
// with the relay, enforced by the relay) and "billing management" (the
// `invoices` collection, daicho/invoices.h, enforced on the PC by
// CheckBillingWritable below: the relay sees only sealed changes and cannot
// tell an invoice from a customer). The billing gate is a commercial gate,
// not a security boundary (docs/security.md).
//
// Plain value types; the function is pure and thread-safe.
#ifndef DAICHO_ENTITLEMENTS_H_
#define DAICHO_ENTITLEMENTS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "daicho/status.h"

namespace daicho {

// One option's state for the current licence year. The numbers are stored
// (a PC's cache) and must not change.
enum class OptionStatus : uint8_t {
  kFree = 0,          // free this year (first year, enough filings)
  kPaid = 1,          // the shortfall was paid
  kNeedsFilings = 2,  // usable now; the next renewal needs more filings (a forecast)
  kRefused = 3,       // neither free nor paid: the option may not be used
  kNotApplied = 4,    // the office did not apply for it
};

struct OptionEntitlement {
  OptionStatus status = OptionStatus::kFree;
  uint32_t shortfall = 0;  // new filings still missing
  int64_t fee_yen = 0;     // what paying for the shortfall costs (tax included)
  // One sentence each saying why, with the figures (the relay writes them).
  std::string message_ja, message_en;
};

struct Entitlements {
  bool known = false;    // the relay has told this PC at least once
  bool managed = false;  // the vendor manages this contract's licence; false: nothing is enforced
  std::chrono::system_clock::time_point evaluated_at, valid_until;  // valid_until: the next renewal
  OptionEntitlement backup, billing;
};

// How long after `valid_until` (the renewal the report was made for) a PC
// keeps trusting it without hearing from the relay again.
inline constexpr std::chrono::days kEntitlementGracePeriod{30};

// The billing gate: may this PC write billing data (invoices) at `now`?
// - ok when nothing is known yet (never synced: offline-first) or the
//   contract is not managed (nothing to enforce);
// - kPermissionDenied with the relay's sentences "<ja> / <en>" when billing
//   management is refused;
// - kPermissionDenied asking to connect to the relay when the report is more
//   than kEntitlementGracePeriod past valid_until (a renewal passed unseen).
// Reading, listing and exporting invoices never pass through it.
Status CheckBillingWritable(const Entitlements& entitlements, std::chrono::system_clock::time_point now);

}  // namespace daicho

#endif  // DAICHO_ENTITLEMENTS_H_
