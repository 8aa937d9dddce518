// RelayClientAccess: what the office key calls (office_key.cc,
// include/daicho/office_key.h) use of a RelayClient's state: its saved
// settings, its sessions with the relay that fetch and publish the key
// envelopes, and the key it holds (PcState: a key unlocked with
// store_key = false lives only there). Defined in relay_client.cc.
//
// Threading and codes: as RelayClient's.
#ifndef DAICHO_CLIENT_RELAY_CLIENT_ACCESS_H_
#define DAICHO_CLIENT_RELAY_CLIENT_ACCESS_H_

#include <string>

#include "client/pc_state.h"
#include "crypto/key_ring.h"
#include "crypto/office_key.h"
#include "daicho/relay_client.h"
#include "daicho/status.h"

namespace daicho {

struct RelayClientAccess {
  // The saved settings; kFailedPrecondition before the first Connect.
  static Result<RelaySettings> RequireConnected(const RelayClient& client);
  // The relay's envelopes for the connected contract (a connect test,
  // logged in with `password` or the saved login), saved for handing on.
  static Result<crypto::WrappedOfficeKey> FetchOfficeKey(RelayClient& client, const RelaySettings& settings,
                                                         const std::string& password);
  // Stores `keys` on the relay in place of key `replaces` (0: none yet) and
  // saves them for handing on; kProtocolError if the relay kept others.
  static Status PublishOfficeKey(RelayClient& client, const RelaySettings& settings, const std::string& password,
                                 crypto::WrappedOfficeKey keys, crypto::KeyId replaces);
  // The key this client holds (in memory or office.key) and the envelopes.
  static client::PcState& Pc(RelayClient& client);
  static const client::PcState& Pc(const RelayClient& client);
  // kFailedPrecondition: this PC holds a newer office key than the relay's
  // `relay_keys` (a relay restored from an older backup); says what to do.
  static Status RelayKeyOlder(const crypto::WrappedOfficeKey& relay_keys, const crypto::KeyRing& ring);
};

}  // namespace daicho

#endif  // DAICHO_CLIENT_RELAY_CLIENT_ACCESS_H_
