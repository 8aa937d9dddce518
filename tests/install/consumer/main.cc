// Opens a replica, commits a customer, reads it back, and asks the relay
// client about it (no relay needed): exits 0 iff all worked.
#include <cstdio>
#include <string>

#include "daicho/relay_client.h"
#include "daicho/replica.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  daicho::ReplicaOptions options;
  options.create_if_missing = true;
  auto replica = daicho::Replica::Open(argv[1], options);
  if (!replica.ok()) {
    std::fprintf(stderr, "%s\n", replica.status().ToString().c_str());
    return 1;
  }
  daicho::WriteTransaction txn = (*replica)->BeginWrite();
  if (!txn.Set("customers", "c1", "name", "株式会社山田建設").ok() || !txn.Commit().ok()) return 1;
  auto record = (*replica)->Get("customers", "c1");
  if (!record.ok() || record->Find("name")->value.as_string() != "株式会社山田建設") return 1;
  daicho::RelayClient client(**replica);
  auto backup = client.GetBackupStatus();
  if (!backup.ok() || backup->configured || backup->unsynced_records != 1) return 1;
  // Port 1 on loopback: nothing listens, so the login test reports it.
  daicho::Status refused =
      client.Connect({.url = "ws://127.0.0.1:1/", .contract = "1234-5678-9012", .user = "suzuki"}, "Password1", false);
  if (refused.code() != daicho::Code::kUnavailable) return 1;
  std::printf("ok %s\n", (*replica)->id().ToHex().c_str());
  return 0;
}
