// An office PC as an app embeds the library, for tests that sync through a
// real relay: a replica and its RelayClient, and the customers' names the
// tests write and read. Header-only; used by the relay's end-to-end, drain
// and topology tests.
#ifndef DAICHO_TESTS_RELAY_OFFICE_PC_H_
#define DAICHO_TESTS_RELAY_OFFICE_PC_H_

#include <memory>
#include <string>
#include <utility>

#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "tests/testing/test_util.h"

namespace daicho::testing {

struct OfficePc {
  std::unique_ptr<Replica> replica;
  std::unique_ptr<RelayClient> client;
};

// A new PC's replica at `path` and its client, not connected yet.
inline OfficePc OpenOfficePc(const std::string& path) {
  OfficePc pc;
  ReplicaOptions options;
  options.create_if_missing = true;
  auto replica = Replica::Open(path, options);
  EXPECT_DAICHO_OK(replica);
  pc.replica = std::move(replica).value();
  pc.client = std::make_unique<RelayClient>(*pc.replica);
  return pc;
}

// A new PC at `path` connected with `settings`, its login saved.
inline OfficePc ConnectedOfficePc(const std::string& path, const RelaySettings& settings, const std::string& password) {
  OfficePc pc = OpenOfficePc(path);
  EXPECT_DAICHO_OK(pc.client->Connect(settings, password, /*save_password=*/true));
  return pc;
}

// Sets customer `id`'s name.
inline void SetName(Replica& replica, const std::string& id, const std::string& name) {
  WriteTransaction txn = replica.BeginWrite();
  ASSERT_DAICHO_OK(txn.Set("customers", id, "name", name));
  ASSERT_DAICHO_OK(txn.Commit());
}

// Customer `id`'s displayed name, or "" if the replica has none.
inline std::string NameOf(const Replica& replica, const std::string& id) {
  auto record = replica.Get("customers", id);
  if (!record.ok()) return "";
  const FieldView* field = record->Find("name");
  return field != nullptr && field->value.is_string() ? field->value.as_string() : "";
}

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_RELAY_OFFICE_PC_H_
