// The `daicho` subcommands, one function each, independent of CLI11.
//
// Each opens the replica at `db`, does its work, writes its normal output to
// `out` and returns an Outcome: the process exit code and, on failure, the
// message for stderr. Nothing here throws on bad input; a command that fails
// writes nothing to the replica unless it says otherwise (`import` commits
// every 1000 rows, so a failure late in a file keeps the earlier batches).
#ifndef DAICHO_APPS_DAICHO_COMMANDS_H_
#define DAICHO_APPS_DAICHO_COMMANDS_H_

#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "daicho/invoices.h"
#include "daicho/replica.h"
#include "daicho/status.h"

namespace daicho::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;  // a Status from the library or a file
inline constexpr int kExitUsageError = 2;    // the command line itself is wrong

struct Outcome {
  int exit_code = kExitOk;
  std::string error;  // empty when exit_code == kExitOk

  static Outcome Ok() { return {}; }
  static Outcome Usage(std::string message) { return {kExitUsageError, std::move(message)}; }
  // `context` says what was being done ("reading customers/c1").
  static Outcome Failed(const Status& status, const std::string& context);
};

// Rows per transaction in `import`: bounds memory and the size of one LMDB
// transaction.
inline constexpr size_t kImportBatchRows = 1000;
// Cell data per transaction in `import` (values, elements, field names): a
// committed change must stay well under the sync frame limit (16 MiB). A
// batch ends before a row that would exceed it; only a row larger than this
// on its own is split over several transactions.
inline constexpr size_t kImportBatchBytes = size_t{4} << 20;

Outcome InitCommand(const std::string& db, std::ostream& out);
Outcome IdCommand(const std::string& db, std::ostream& out);
Outcome VersionVectorCommand(const std::string& db, std::ostream& out);
Outcome SetCommand(const std::string& db, const std::string& collection, const std::string& id,
                   const std::vector<std::string>& assignments, std::ostream& out);
Outcome GetCommand(const std::string& db, const std::string& collection, const std::string& id, bool json,
                   std::ostream& out);
Outcome ListCommand(const std::string& db, const std::string& collection, bool json, bool include_deleted,
                    std::ostream& out);
Outcome ConflictsCommand(const std::string& db, bool json, std::ostream& out);
// undelete = false: `delete`; true: `undelete`.
Outcome DeleteCommand(const std::string& db, const std::string& collection, const std::string& id, bool undelete,
                      std::ostream& out);
// `values`: one text or counter total (`kind` kRegister / kCounter), or the
// elements a set keeps. Settles a value conflict (register) or a kind
// conflict (any kind: the field then holds only what is written).
Outcome ResolveCommand(const std::string& db, const std::string& collection, const std::string& id,
                       const std::string& field, const std::vector<std::string>& values, FieldKind kind,
                       std::ostream& out);
// encoding: "auto" (UTF-8, else Shift_JIS), "utf-8" or "cp932"
// (text_encoding.h); the summary says which one the file was read as.
Outcome ImportCsvCommand(const std::string& db, const std::string& collection, const std::string& file,
                         const std::string& encoding, std::ostream& out);
// format: "csv" or "json". excel (csv only): a UTF-8 byte-order mark first,
// so that Excel reads the file as UTF-8 (rows end with CRLF either way).
Outcome ExportCommand(const std::string& db, const std::string& collection, const std::string& format, bool excel,
                      std::ostream& out);
// Change files name this PC's office and are sealed with its key
// (daicho/change_file.h). since: a VersionVector in ToString() form; ""
// exports everything. passphrase_file: the office passphrase (first line),
// only for a PC keeping no office.key; "" for none.
Outcome ExportChangesCommand(const std::string& db, const std::string& file, const std::string& since,
                             const std::string& passphrase_file, std::ostream& out);
Outcome ImportChangesCommand(const std::string& db, const std::string& file, const std::string& passphrase_file,
                             std::ostream& out);

// ---- Relay sync (sync_commands.cc) ----

struct ConnectArgs {
  std::string url;
  std::string contract;
  std::string user;
  std::string password_file;  // first line is the password
  std::string tls_ca_file;    // wss:// trust; empty: the system's
  std::string device_name;    // for --save-password; empty: the host name
  bool save_password = false;
  // Non-empty: after connecting, unlock the office key with this file's
  // passphrase (a contract without a key yet gets a hint to `key init`).
  std::string passphrase_file;
  bool store_key = true;  // false: --no-store-key
};
// Logs in to the relay (no changes move) and saves the settings.
Outcome ConnectCommand(const std::string& db, const ConnectArgs& args, std::ostream& out);

// Where office PCs announce themselves on the LAN (see LanOptions).
struct LanArgs {
  std::string interface_address;  // --lan-interface; empty: the library's default (0.0.0.0)
  int port = 0;                   // --lan-port; 0: the library's default (47474)
};

struct SyncArgs {
  std::string password_file;    // needed only when no login was saved
  std::string passphrase_file;  // needed only when this PC lacks the relay's current office key
  bool store_key = true;        // false: --no-store-key
  bool watch = false;           // stay connected until SIGINT/SIGTERM
  // Direct sync with office PCs instead of the relay (peer_commands.cc):
  std::string peer_url;  // --peer URL: this one PC
  bool peers = false;    // --peers: every PC found on the LAN
  LanArgs lan;
  int wait_ms = 2000;      // --peers: how long to listen for announcements
  int interval_ms = 5000;  // --watch with a peer: pause between rounds
};
// Syncs with the saved relay, or with --peer/--peers with office PCs
// directly (PeerSyncCommand). Without --passphrase-file, on a terminal, asks
// for the office passphrase when the sync fails for lack of the office key.
Outcome SyncCommand(const std::string& db, const SyncArgs& args, std::ostream& out);
// Last sync, "not backed up" records and the office key held; json: one
// JSON object.
Outcome StatusCommand(const std::string& db, bool json, std::ostream& out);
// `daicho admin`: prints the admin panel's URL (the old system's "show admin
// site" button) and opens it in the desktop's browser when there is one
// (DISPLAY or WAYLAND_DISPLAY set, xdg-open on PATH).
Outcome AdminCommand(const std::string& db, std::ostream& out);
// enable = false: `backup disable`.
Outcome BackupCommand(const std::string& db, bool enable, std::ostream& out);

// ---- Direct sync between the office's PCs on the LAN (peer_commands.cc) ----

// `sync --peer URL` / `sync --peers` [--watch]: one line per peer; with
// --peers every peer is tried and the exit code is 1 if any failed.
Outcome PeerSyncCommand(const std::string& db, const SyncArgs& args, std::ostream& out);

struct ServeArgs {
  std::string listen = "0.0.0.0:47480";  // HOST:PORT (port 0: any free port)
  std::string device_name;               // empty: the host name
  bool announce = true;                  // false: --no-announce
  bool share_key = false;                // hand the passphrase-wrapped key envelope to new PCs
  LanArgs lan;
  int announce_interval_ms = 0;  // 0: the library's default
  std::string passphrase_file;   // only when this PC keeps no office.key
};
// Serves the replica to the office's PCs until SIGINT/SIGTERM: prints
// "serving on HOST:PORT" (the real port) first, "stopped" at the end.
Outcome ServeCommand(const std::string& db, const ServeArgs& args, std::ostream& out);

struct PeersArgs {
  bool json = false;
  int wait_ms = 2000;
  LanArgs lan;
  std::string passphrase_file;
};
// Lists the office's PCs announcing themselves on the LAN.
Outcome PeersCommand(const std::string& db, const PeersArgs& args, std::ostream& out);

// ---- Office key (key_commands.cc) ----

// kExport / kImport: the passphrase-wrapped key in a file (key_commands.cc).
enum class KeyAction { kInit, kUnlock, kRecover, kRotate, kPassphrase, kStatus, kForget, kExport, kImport };

// Secrets come from the files (first line) or, when a file is not given and
// stdin is a terminal, from the terminal with echo off (a new passphrase is
// asked twice); otherwise the command is a usage error.
struct KeyArgs {
  std::string password_file;        // login when no device token is saved
  std::string passphrase_file;      // init, unlock, rotate (the new key's passphrase)
  std::string recovery_file;        // recover
  std::string new_passphrase_file;  // passphrase
  bool store_key = true;            // false: --no-store-key (init, unlock, recover, rotate)
  bool json = false;                // status
  std::string peer_url;             // unlock --peer URL: from an office PC instead of the relay
  std::string file;                 // export, import
};
// `daicho key init|unlock|recover|rotate|passphrase|status|forget`. init and
// rotate print the new recovery code once.
Outcome KeyCommand(const std::string& db, KeyAction action, const KeyArgs& args, std::ostream& out);

// ---- Billing management (invoice_commands.cc) ----
// Every write passes the billing gate (daicho/entitlements.h); a refused one
// fails with the relay's sentence, Japanese first, and writes nothing.

struct InvoiceCreateArgs {
  std::string customer;            // id of a record in `customers`
  std::vector<std::string> items;  // "DESCRIPTION:QUANTITY:UNIT_PRICE" (invoice_args.h)
  int tax_rate = 10;               // 10 or 8, for every --item
  std::string issue_date;          // a day as text::ParseDate reads it; "" today
  std::string due_date;            // likewise; "" the end of the next month
  std::string number;              // the office's own invoice number
};
Outcome InvoiceCreateCommand(const std::string& db, const InvoiceCreateArgs& args, std::ostream& out);
// amount: yen as text::ParseWholeNumber reads it ("11,000"); date: as
// text::ParseDate reads it, "" today.
Outcome InvoicePayCommand(const std::string& db, const std::string& id, const std::string& amount,
                          const std::string& date, const std::string& note, std::ostream& out);
Outcome InvoiceCancelCommand(const std::string& db, const std::string& id, std::ostream& out);
Outcome InvoiceShowCommand(const std::string& db, const std::string& id, bool json, std::ostream& out);
Outcome InvoiceListCommand(const std::string& db, const InvoiceFilter& filter, bool json, std::ostream& out);
// CSV (one row per invoice, invoice_commands.cc names the columns) to
// `output`, or to `out` when it is "". excel: a UTF-8 byte-order mark first.
Outcome InvoiceExportCommand(const std::string& db, bool unpaid_only, bool excel, const std::string& output,
                             std::ostream& out);
// The billing gate for `set`, `delete`, `undelete`, `resolve` and `import`:
// ok for every collection but `invoices`, which InvoiceBook::CheckWritable
// decides.
Status CheckCollectionWritable(Replica& replica, const std::string& collection);

// ---- Shared by the command files ----

// Opens the replica at `db`, with a hint to `init` when there is none.
Result<std::unique_ptr<Replica>> OpenReplica(const std::string& db, const ReplicaOptions& options = {});
// Where progress bars draw: stderr when it is a terminal, else nowhere.
std::ostream* ProgressStream();

}  // namespace daicho::cli

#endif  // DAICHO_APPS_DAICHO_COMMANDS_H_
