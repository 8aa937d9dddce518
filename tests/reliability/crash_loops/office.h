// The office the crash loops work with: one contract and user on the relay,
// PCs that log in as that user and share one office key. Shared by the
// upload and disk-full loops.
#ifndef DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_OFFICE_H_
#define DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_OFFICE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "daicho/status.h"

namespace daicho::reliability {

inline constexpr char kContract[] = "2468-1357-9753";
inline constexpr char kUser[] = "crash@example.jp";
inline constexpr char kPassword[] = "Crash2026";
inline constexpr char kPassphrase[] = "office passphrase for the crash loops";

// A replica at `path` (created if missing), its warnings dropped.
Result<std::unique_ptr<Replica>> OpenPc(const std::string& path);

// Commits `count` transactions, each one record `prefix`N with a memo of
// `memo_bytes`.
Status CommitMemos(Replica& replica, const std::string& prefix, uint64_t count, size_t memo_bytes);

// The office's first PC: logs in to the relay at `url`, saving the login
// (a device token), and creates the office key, kept on the PC.
Status ConnectFirstPc(Replica& replica, const std::string& url);

// A sync of a PC that logs in with the password and unlocks the office key
// with the passphrase (a PC that saved neither).
Result<SyncSummary> SyncWithPassword(Replica& replica, const std::string& url);

}  // namespace daicho::reliability

#endif  // DAICHO_TESTS_RELIABILITY_CRASH_LOOPS_OFFICE_H_
