// Pieces the relay commands (sync_commands.cc), the LAN peer commands
// (peer_commands.cc) and the office key commands (key_commands.cc) share:
// getting a secret from a file or the terminal, showing what this PC holds of
// the office key, formatting sizes and times, a sync progress bar, and
// running until SIGINT/SIGTERM.
#ifndef DAICHO_APPS_DAICHO_OFFICE_KEY_CLI_H_
#define DAICHO_APPS_DAICHO_OFFICE_KEY_CLI_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <stop_token>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/daicho/commands.h"
#include "apps/daicho/progress.h"
#include "daicho/office_key.h"
#include "daicho/status.h"
#include "daicho/sync_types.h"

namespace daicho::cli {

// Where one secret comes from.
struct SecretRequest {
  std::string file;         // its first line, when non-empty
  std::string file_option;  // "--passphrase-file", for the usage error
  std::string what;         // "the office passphrase", for messages
  std::string prompt;       // "Office passphrase: ", on the terminal
  bool confirm = false;     // a new secret: ask twice on the terminal
};

// The secret, or the Outcome to return instead: a runtime error when the
// file cannot be read or the two typed entries differ; a usage error when no
// file was given and stdin is not a terminal.
struct Secret {
  std::string value;
  std::optional<Outcome> error;
};
Secret GetSecret(const SecretRequest& request);

// True when stdin is a terminal (secrets may be asked for).
bool CanAskOnTerminal();

// "key 2 held (2 keys), stored in the replica directory" or "none held ...".
std::string OfficeKeyText(const OfficeKeyStatus& status);
// {"key_id": N (0: none), "keys_held": N, "stored": bool}
nlohmann::ordered_json OfficeKeyJson(const OfficeKeyStatus& status);

// A failure telling this PC to unlock the office key (not held yet, or
// rotated elsewhere): worth asking for the passphrase.
bool NeedsOfficeKeyUnlock(const Status& status);

// ---- Defined in sync_commands.cc ----

// This PC's host name ("this PC" when unknown).
std::string HostName();
// "512 B", "1.5 KiB", "2.0 MiB".
std::string Bytes(uint64_t n);
// "sent 3 changes (1.2 KiB), received 0 changes (96 B) in 15 ms", and what
// was left for the next sync.
std::string SummaryText(const SyncSummary& s);
// `t` as local time for people, or as ISO 8601 UTC ("...Z") for JSON.
std::string FormatTime(std::chrono::system_clock::time_point t, bool utc);

// A sync's progress bar: changes both ways against the totals known after
// the login, with the bytes moved.
class SyncProgressBar {
 public:
  explicit SyncProgressBar(std::ostream* out) : out_(out) {}
  void Update(const SyncProgress& p);
  // Ends the bar's line, so that what is printed next starts on its own.
  void Finish();

 private:
  std::ostream* out_;
  std::optional<ProgressBar> bar_;
  uint64_t total_ = 0;
};

// Blocks SIGINT and SIGTERM in the calling thread, so that threads started
// after this (a server's) inherit the mask and the signals wait for
// RunUntilSignal instead of killing the process.
void BlockStopSignals();
// Runs `work` on its own thread until it returns or SIGINT/SIGTERM asks it
// to stop (through its stop_token); returns its Status.
Status RunUntilSignal(const std::function<Status(std::stop_token)>& work);

}  // namespace daicho::cli

#endif  // DAICHO_APPS_DAICHO_OFFICE_KEY_CLI_H_
