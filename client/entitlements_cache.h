// The entitlements the relay last reported (daicho/entitlements.h), kept in
// the replica as the local setting "daicho.relay.entitlements" (never
// synced), so that every process on the PC sees the same report.
//
// RelayClient stores what each login's answer carries; readers (the billing
// gate of InvoiceBook and the CLI, `daicho status`) load it without network.
// Codes: the replica's; kCorruption for a stored value that does not decode.
#ifndef DAICHO_CLIENT_ENTITLEMENTS_CACHE_H_
#define DAICHO_CLIENT_ENTITLEMENTS_CACHE_H_

#include <string_view>

#include "daicho/entitlements.h"
#include "daicho/replica.h"
#include "daicho/status.h"

namespace daicho::client {

inline constexpr std::string_view kEntitlementsSetting = "daicho.relay.entitlements";

// Replaces the stored report with `entitlements` (its `known` is implied).
Status StoreEntitlements(Replica& replica, const Entitlements& entitlements);
// The stored report; known = false (everything default) when none is stored.
Result<Entitlements> LoadEntitlements(const Replica& replica);

}  // namespace daicho::client

#endif  // DAICHO_CLIENT_ENTITLEMENTS_CACHE_H_
