// Test helpers of the relay's tests: contract numbers, origins and blobs,
// and a RelayService over the LMDB backend in a directory, opened as
// `daicho-relay` opens its --data. Header-only.
#ifndef DAICHO_TESTS_RELAY_RELAY_TEST_UTIL_H_
#define DAICHO_TESTS_RELAY_RELAY_TEST_UTIL_H_

#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daicho/replica.h"
#include "daicho/status.h"
#include "relay/lmdb/lmdb_backend.h"
#include "relay/relay_service.h"

namespace daicho::relay {

inline Result<std::unique_ptr<RelayService>> OpenLmdbRelay(const std::string& dir,
                                                           const RelayServiceOptions& options = {},
                                                           const LmdbBackendOptions& lmdb = {}) {
  DAICHO_ASSIGN_OR_RETURN(auto backend, LmdbBackend::Open(dir, lmdb));
  return RelayService::Create(std::move(backend), options);
}

inline ContractNumber Contract(std::string_view text) { return ContractNumber::Parse(text).value(); }

inline ReplicaId Origin(uint8_t n) {
  ReplicaId::Bytes b{};
  b[0] = n;
  b[15] = 0x5a;
  return ReplicaId(b);
}

inline ChangeBlob Blob(const ReplicaId& origin, uint64_t seq, std::string payload = "") {
  if (payload.empty()) payload = "payload " + origin.ToHex() + ":" + std::to_string(seq);
  return ChangeBlob{origin, seq, std::move(payload)};
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The contract's user ids (as added, by folded id), from ListUserInfo.
inline Result<std::vector<std::string>> UserIds(const RelayService& store, const ContractNumber& contract) {
  DAICHO_ASSIGN_OR_RETURN(auto users, store.ListUserInfo(contract));
  std::vector<std::string> ids;
  ids.reserve(users.size());
  for (RelayService::UserInfo& user : users) ids.push_back(std::move(user.user_id));
  return ids;
}

// For tests about storing opaque blobs; the sealing rule has its own tests
// (RelayServiceSealingTest).
inline RelayServiceOptions OpaqueBlobOptions() {
  RelayServiceOptions options;
  options.require_sealed_changes = false;
  return options;
}

}  // namespace daicho::relay

#endif  // DAICHO_TESTS_RELAY_RELAY_TEST_UTIL_H_
