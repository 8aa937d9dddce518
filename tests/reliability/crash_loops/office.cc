#include "tests/reliability/crash_loops/office.h"

#include "daicho/office_key.h"

namespace daicho::reliability {

Result<std::unique_ptr<Replica>> OpenPc(const std::string& path) {
  ReplicaOptions options;
  options.create_if_missing = true;
  options.warning_log = [](std::string_view) {};
  return Replica::Open(path, options);
}

Status CommitMemos(Replica& replica, const std::string& prefix, uint64_t count, size_t memo_bytes) {
  const std::string memo(memo_bytes, 'm');
  for (uint64_t i = 0; i < count; ++i) {
    WriteTransaction txn = replica.BeginWrite();
    DAICHO_RETURN_IF_ERROR(txn.Set("customers", prefix + std::to_string(i), "memo", Value(memo)));
    DAICHO_RETURN_IF_ERROR(txn.Commit().status());
  }
  return Status::Ok();
}

Status ConnectFirstPc(Replica& replica, const std::string& url) {
  RelayClient client(replica);
  RelaySettings settings{url, kContract, kUser, "", "", "first-pc"};
  DAICHO_RETURN_IF_ERROR(client.Connect(settings, kPassword, /*save_password=*/true));
  return InitOfficeKey(client, kPassphrase).status();
}

Result<SyncSummary> SyncWithPassword(Replica& replica, const std::string& url) {
  RelayClient client(replica);
  DAICHO_ASSIGN_OR_RETURN(auto saved, client.Settings());
  if (!saved || saved->url != url) {
    RelaySettings settings{url, kContract, kUser, "", "", ""};
    DAICHO_RETURN_IF_ERROR(client.Connect(settings, kPassword, /*save_password=*/false));
  }
  SyncOptions sync;
  sync.password = kPassword;
  sync.passphrase = kPassphrase;
  return client.Sync(sync);
}

}  // namespace daicho::reliability
