// The URL a PC syncs with: a relay URL ending in "/sync" gets the contract
// appended ("/sync/<contract>"), so that a load balancer in front of several
// relay nodes routes every PC of a contract to one node (docs/protocol.md
// "Paths"). Internal to client/ (RelayClient). Pure string work.
#ifndef DAICHO_CLIENT_RELAY_SYNC_URL_H_
#define DAICHO_CLIENT_RELAY_SYNC_URL_H_

#include <string>
#include <string_view>

namespace daicho::client {

// `url` with "/<contract>" after its path when the path (before any '?') is
// "/sync" or ends in "/sync"; any other URL unchanged. The URL the user
// typed is what the settings keep; this is computed at each connection.
std::string RelaySyncUrl(std::string_view url, std::string_view contract);

}  // namespace daicho::client

#endif  // DAICHO_CLIENT_RELAY_SYNC_URL_H_
