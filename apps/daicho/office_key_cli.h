// Pieces the relay commands (sync_commands.cc) and the office key commands
// (key_commands.cc) share: getting a secret from a file or the terminal, and
// showing what this PC holds of the office key.
#ifndef DAICHO_APPS_DAICHO_OFFICE_KEY_CLI_H_
#define DAICHO_APPS_DAICHO_OFFICE_KEY_CLI_H_

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "apps/daicho/commands.h"
#include "daicho/relay_client.h"

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

}  // namespace daicho::cli

#endif  // DAICHO_APPS_DAICHO_OFFICE_KEY_CLI_H_
