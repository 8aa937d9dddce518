// daicho: command-line demo of the daicho ledger library.
//
// This file only wires CLI11 to the commands in commands.h and turns their
// Outcome into an exit code: 0 ok, 1 runtime error, 2 usage error.
#include <exception>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/daicho/commands.h"

namespace {

using daicho::cli::Outcome;

constexpr const char* kSetHelp =
    "Each assignment is one of:\n"
    "  FIELD=TEXT     set FIELD to the string TEXT ('=' inside TEXT is fine)\n"
    "  FIELD:=JSON    set a typed value: 42 (integer), 1.5 (double), true, false,\n"
    "                 null or \"a JSON string\"\n"
    "  FIELD+=N       add N (may be negative: filings+=-1) to a counter\n"
    "  FIELD[]+=X     add X to a set;  FIELD[]-=X  remove X from it\n"
    "Nothing is written if any assignment is malformed.";

constexpr const char* kResolveHelp =
    "A value conflict (two PCs changed one text field) is settled by writing the\n"
    "value to keep. A kind conflict (two PCs used one field name as different\n"
    "kinds, e.g. a counter and a text) is settled by writing it with the kind to\n"
    "keep: --as text (default), --as counter (VALUE is the total) or --as set\n"
    "(every VALUE is an element to keep). `get` shows the kinds in conflict.";

constexpr const char* kImportHelp =
    "CSV: RFC 4180, CRLF or LF line ends, UTF-8 (a byte-order mark is skipped) or\n"
    "Shift_JIS (CP932, as Excel's \"CSV (comma delimited)\" on a Japanese Windows):\n"
    "a file that is not UTF-8 is read as Shift_JIS; the summary says which.\n"
    "The first row names the fields; the first column holds the record id (its\n"
    "header is ignored). NAME# is a counter (a cell sets its total), NAME[] a set\n"
    "(elements joined with ';', '\\' escapes ';' and '\\'), any other name a text\n"
    "field. Only cells that differ from the ledger are written; empty cells are\n"
    "skipped. With the daicho.version column of `export`, only cells edited in\n"
    "the file are written, and a text cell whose field changed since the export\n"
    "is kept beside the newer value as a conflict (see docs/formats.md). The\n"
    "whole file is checked first (nothing is written if a row is bad), then\n"
    "written in transactions of at most 1000 rows and 4 MiB; a re-run of the\n"
    "same file leaves what is already there alone.";

constexpr const char* kExportHelp =
    "Formats:\n"
    "csv:  header 'id' then every field sorted, counters as NAME# (their total),\n"
    "      sets as NAME[] (elements sorted and joined with ';', '\\' escaping ';'\n"
    "      and '\\'), then daicho.version: a token that lets `import` keep newer\n"
    "      edits (leave it as it is). One row per record in id order; text as is,\n"
    "      numbers in shortest form, null and missing fields as empty cells, bytes\n"
    "      as hex; a conflicting field shows its displayed value. UTF-8, CRLF line\n"
    "      ends; --excel puts a byte-order mark first so that Excel reads it as UTF-8.\n"
    "json: an array of records as printed by `get --json`.";

constexpr const char* kChangeFileHelp =
    "A change file names this PC's office (contract number, office key id) and, when\n"
    "this PC holds the office key, is encrypted with it: only PCs of the same office\n"
    "holding that key can import it. A file of another office is refused, and so is a\n"
    "file written without the key (or by an older daicho) on a PC whose office has\n"
    "one. PCs of no office exchange unencrypted files. See docs/security.md.";

constexpr const char* kGetJsonHelp =
    "Print JSON: {\"collection\",\"id\",\"deleted\",\"fields\":{name:value},\n"
    "\"conflicts\":{name:[every sibling value]}} (+ \"delete_conflict\":true when set)";

constexpr const char* kKeyHelp =
    "Everything a PC sends to the relay is encrypted with the office key, which the\n"
    "relay never sees. The office's first PC runs `key init` once (it prints the\n"
    "recovery code: print it and keep it offline); every other PC runs `key unlock`\n"
    "(or `connect ... --passphrase-file F`) with the office passphrase, or `key\n"
    "recover` with the recovery code. Secrets are read from the --*-file options\n"
    "(first line) or asked on the terminal, never taken on the command line. The\n"
    "key is kept in the replica directory (office.key, owner-only) unless\n"
    "--no-store-key. After a PC is lost or a member leaves: `key rotate`, then\n"
    "`key unlock` on every other PC.\n"
    "A PC that cannot reach the relay gets the key from an office PC serving with\n"
    "--share-key (`key unlock --peer URL`) or from a file (`key export FILE` on a PC\n"
    "holding it, `key import FILE` on the new one); either way only the\n"
    "passphrase-wrapped key moves, and the passphrase is still needed.";

constexpr const char* kServeHelp =
    "Other PCs of the office sync with this one directly (`daicho sync --peer URL` or\n"
    "`sync --peers`), authenticated and encrypted with the office key; a PC of another\n"
    "office is refused. The replica stays usable by other processes meanwhile. Prints\n"
    "'serving on HOST:PORT' first. Firewall: TCP 47480 (sync) and UDP 47474 (multicast\n"
    "239.255.42.99, announcements). See docs/lan-sync.md.";

constexpr const char* kInvoiceHelp =
    "Billing management (請求管理): invoices to the office's customers, kept in the\n"
    "collection `invoices` and synced like customers; the customer's record lists its\n"
    "invoices (field invoices[]). Amounts are whole yen, prices exclude tax; tax is\n"
    "computed per rate over the invoice and rounded down. Payments from several PCs\n"
    "all count; paid / partly paid / unpaid / overdue is worked out when read.\n"
    "Billing management is a paid option: writes are refused (with the reason) when\n"
    "the relay last reported it as not entitled, or when this PC has not heard from\n"
    "the relay for 30 days after the licence renewal; show, list and export always\n"
    "work. See docs/formats.md.";

constexpr const char* kInvoiceExportHelp =
    "CSV columns: id, number, customer, customer_name, issue_date, due_date,\n"
    "subtotal_yen, tax_yen, amount_yen, paid_yen, balance_yen, state; integers without\n"
    "separators and dates YYYY-MM-DD, so that Excel reads numbers and dates. UTF-8,\n"
    "CRLF line ends; --excel puts a byte-order mark first.";

// --lan-interface and --lan-port, shared by serve, peers and sync.
void AddLanOptions(CLI::App* sub, daicho::cli::LanArgs& lan) {
  sub->add_option("--lan-interface", lan.interface_address,
                  "Local address of the LAN interface for announcements (default: the system's choice)");
  sub->add_option("--lan-port", lan.port, "UDP port of the announcements (default 47474)")->check(CLI::Range(1, 65535));
}

// Runs `command` when `sub` was chosen and records its outcome.
void OnRun(CLI::App* sub, Outcome& outcome, std::function<Outcome()> command) {
  sub->callback([&outcome, command = std::move(command)] { outcome = command(); });
}

int Run(int argc, char** argv) {
  CLI::App app{"daicho: an offline-first customer ledger (demo CLI)", "daicho"};
  app.set_version_flag("--version", "daicho " DAICHO_VERSION);
  app.require_subcommand(1);
  app.footer(
      "--db may be given before or after the command. Every command has --help.\n"
      "Exit codes: 0 ok, 1 error (message on stderr), 2 usage error.");
  // --db may be given before or after the subcommand.
  app.fallthrough();
  std::string db;
  app.add_option("--db", db, "Replica directory")->required();

  Outcome outcome;
  std::ostream& out = std::cout;
  std::string collection, id, field, value, file, format = "csv", since;
  std::vector<std::string> assignments;
  bool json = false, include_deleted = false;

  auto* init = app.add_subcommand("init", "Create a replica in --db and print its id (hex)");
  OnRun(init, outcome, [&] { return daicho::cli::InitCommand(db, out); });

  auto* id_cmd = app.add_subcommand("id", "Print the replica's id (hex)");
  OnRun(id_cmd, outcome, [&] { return daicho::cli::IdCommand(db, out); });

  auto* vv = app.add_subcommand("vv", "Print the replica's version vector (hex:n,...), for export-changes --since");
  OnRun(vv, outcome, [&] { return daicho::cli::VersionVectorCommand(db, out); });

  auto* set = app.add_subcommand("set", "Write fields of one record in one transaction");
  set->footer(kSetHelp);
  set->add_option("collection", collection, "Collection, e.g. customers")->required();
  set->add_option("id", id, "Record id")->required();
  set->add_option("assignments", assignments, "FIELD=TEXT, FIELD:=JSON, FIELD+=N, FIELD[]+=X, FIELD[]-=X")->required();
  OnRun(set, outcome, [&] { return daicho::cli::SetCommand(db, collection, id, assignments, out); });

  auto* get = app.add_subcommand("get", "Show one record: 'name: value' per field, conflicting values listed below");
  get->add_option("collection", collection, "Collection")->required();
  get->add_option("id", id, "Record id")->required();
  get->add_flag("--json", json, kGetJsonHelp);
  OnRun(get, outcome, [&] { return daicho::cli::GetCommand(db, collection, id, json, out); });

  auto* list = app.add_subcommand("list", "Show every record of a collection, in id order");
  list->add_option("collection", collection, "Collection")->required();
  list->add_flag("--json", json, "Print a JSON array of records as `get --json` prints them");
  list->add_flag("--include-deleted", include_deleted, "Also show deleted records");
  OnRun(list, outcome, [&] { return daicho::cli::ListCommand(db, collection, json, include_deleted, out); });

  auto* conflicts = app.add_subcommand("conflicts", "Show every record with a field, kind or delete conflict");
  conflicts->add_flag("--json", json, "Print a JSON array of records ([] when none)");
  OnRun(conflicts, outcome, [&] { return daicho::cli::ConflictsCommand(db, json, out); });

  auto* del = app.add_subcommand("delete", "Hide a record (its data is kept for undelete)");
  del->add_option("collection", collection, "Collection")->required();
  del->add_option("id", id, "Record id")->required();
  OnRun(del, outcome, [&] { return daicho::cli::DeleteCommand(db, collection, id, /*undelete=*/false, out); });

  auto* undel = app.add_subcommand("undelete", "Bring a deleted record back");
  undel->add_option("collection", collection, "Collection")->required();
  undel->add_option("id", id, "Record id")->required();
  OnRun(undel, outcome, [&] { return daicho::cli::DeleteCommand(db, collection, id, /*undelete=*/true, out); });

  auto* resolve = app.add_subcommand("resolve", "Settle a conflict: write VALUE over every conflicting value of FIELD");
  resolve->footer(kResolveHelp);
  resolve->add_option("collection", collection, "Collection")->required();
  resolve->add_option("id", id, "Record id")->required();
  resolve->add_option("field", field, "Field name")->required();
  std::vector<std::string> resolve_values;
  resolve->add_option("value", resolve_values, "The value to keep (a set: every element to keep)")->required();
  std::string resolve_kind = "text";
  resolve->add_option("--as", resolve_kind, "Kind of the value: text, counter or set")
      ->check(CLI::IsMember({"text", "counter", "set"}));
  OnRun(resolve, outcome, [&] {
    const daicho::FieldKind kind = resolve_kind == "counter" ? daicho::FieldKind::kCounter
                                   : resolve_kind == "set"   ? daicho::FieldKind::kSet
                                                             : daicho::FieldKind::kRegister;
    return daicho::cli::ResolveCommand(db, collection, id, field, resolve_values, kind, out);
  });

  auto* import_cmd = app.add_subcommand("import", "Import records from a CSV file");
  import_cmd->footer(kImportHelp);
  import_cmd->add_option("collection", collection, "Collection")->required();
  import_cmd->add_option("file", file, "CSV file")->required();
  std::string encoding = "auto";
  import_cmd->add_option("--encoding", encoding,
                         "Text encoding of the file: auto (default: UTF-8, else Shift_JIS), utf-8 or cp932 "
                         "(Shift_JIS as Excel writes it)");
  OnRun(import_cmd, outcome, [&] { return daicho::cli::ImportCsvCommand(db, collection, file, encoding, out); });

  auto* export_cmd =
      app.add_subcommand("export", "Write every (not deleted) record of a collection to stdout as CSV or JSON");
  export_cmd->footer(kExportHelp);
  export_cmd->add_option("collection", collection, "Collection")->required();
  export_cmd->add_option("--format", format, "csv (default) or json")->check(CLI::IsMember({"csv", "json"}));
  bool excel = false;
  export_cmd->add_flag("--excel", excel,
                       "CSV for Excel: UTF-8 with a byte-order mark, so that Excel shows Japanese text as it is");
  OnRun(export_cmd, outcome, [&] { return daicho::cli::ExportCommand(db, collection, format, excel, out); });

  daicho::cli::InvoiceCreateArgs invoice_args;
  daicho::InvoiceFilter invoice_filter;
  std::string invoice_id, invoice_amount, invoice_date, invoice_note, invoice_output;
  auto* invoice = app.add_subcommand("invoice", "Billing management: create invoices, record payments, list, export");
  invoice->require_subcommand(1);
  invoice->fallthrough();
  invoice->footer(kInvoiceHelp);
  auto* invoice_create = invoice->add_subcommand("create", "Issue an invoice to a customer and print its id");
  invoice_create->add_option("customer", invoice_args.customer, "Customer id (a record of customers)")->required();
  invoice_create
      ->add_option("--item", invoice_args.items,
                   "DESCRIPTION:QUANTITY:UNIT_PRICE, price in yen without tax (repeat for more items)")
      ->required();
  invoice_create->add_option("--tax-rate", invoice_args.tax_rate, "Tax rate of the items in %: 10 (default) or 8")
      ->check(CLI::IsMember({10, 8}));
  invoice_create->add_option("--issue-date", invoice_args.issue_date,
                             "2026-12-01, 2026/12/1 or 令和8年12月1日 (default: today)");
  invoice_create->add_option("--due-date", invoice_args.due_date,
                             "As --issue-date (default: the last day of the month after the issue date)");
  invoice_create->add_option("--number", invoice_args.number, "The office's own invoice number");
  OnRun(invoice_create, outcome, [&] { return daicho::cli::InvoiceCreateCommand(db, invoice_args, out); });
  auto* invoice_pay = invoice->add_subcommand("pay", "Record a payment received for an invoice");
  invoice_pay->add_option("id", invoice_id, "Invoice id")->required();
  invoice_pay->add_option("amount", invoice_amount, "Yen received (11000 or 11,000)")->required();
  invoice_pay->add_option("--date", invoice_date,
                          "Day received: 2026-12-05, 2026/12/5 or 令和8年12月5日 (default: today)");
  invoice_pay->add_option("--note", invoice_note, "A note kept with the payment (e.g. 振込)");
  OnRun(invoice_pay, outcome, [&] {
    return daicho::cli::InvoicePayCommand(db, invoice_id, invoice_amount, invoice_date, invoice_note, out);
  });
  auto* invoice_cancel = invoice->add_subcommand("cancel", "Cancel an invoice (it stays readable)");
  invoice_cancel->add_option("id", invoice_id, "Invoice id")->required();
  OnRun(invoice_cancel, outcome, [&] { return daicho::cli::InvoiceCancelCommand(db, invoice_id, out); });
  auto* invoice_show = invoice->add_subcommand("show", "Show an invoice: items, tax per rate, payments, state");
  invoice_show->add_option("id", invoice_id, "Invoice id")->required();
  invoice_show->add_flag("--json", json, "Print one JSON object");
  OnRun(invoice_show, outcome, [&] { return daicho::cli::InvoiceShowCommand(db, invoice_id, json, out); });
  auto* invoice_list = invoice->add_subcommand("list", "List invoices, one line each, in id order");
  invoice_list->add_flag("--unpaid", invoice_filter.unpaid_only, "Only invoices not paid in full (and not cancelled)");
  invoice_list->add_option("--customer", invoice_filter.customer, "Only this customer's invoices");
  invoice_list->add_flag("--json", json, "Print a JSON array of invoices as `invoice show --json` prints them");
  OnRun(invoice_list, outcome, [&] { return daicho::cli::InvoiceListCommand(db, invoice_filter, json, out); });
  auto* invoice_export = invoice->add_subcommand("export", "Write invoices as CSV for Excel, one row each");
  invoice_export->footer(kInvoiceExportHelp);
  invoice_export->add_flag("--unpaid", invoice_filter.unpaid_only,
                           "Only invoices not paid in full (and not cancelled)");
  invoice_export->add_flag("--excel", excel,
                           "CSV for Excel: UTF-8 with a byte-order mark, so that Excel shows Japanese text as it is");
  invoice_export->add_option("--output", invoice_output, "File to write (default: stdout)");
  OnRun(invoice_export, outcome,
        [&] { return daicho::cli::InvoiceExportCommand(db, invoice_filter.unpaid_only, excel, invoice_output, out); });

  auto* export_changes =
      app.add_subcommand("export-changes", "Write the changes this replica holds to a change file (for a USB stick)");
  export_changes->add_option("file", file, "Change file to write")->required();
  export_changes->add_option("--since", since,
                             "Only changes the holder of this version vector lacks (from `daicho vv` on it); "
                             "default: everything");
  std::string change_file_passphrase;
  export_changes->add_option("--passphrase-file", change_file_passphrase,
                             "Office passphrase (first line), only when this PC keeps no office.key (--no-store-key)");
  export_changes->footer(kChangeFileHelp);
  OnRun(export_changes, outcome,
        [&] { return daicho::cli::ExportChangesCommand(db, file, since, change_file_passphrase, out); });

  auto* import_changes =
      app.add_subcommand("import-changes", "Apply a change file; changes already held are skipped (idempotent)");
  import_changes->add_option("file", file, "Change file to read")->required();
  import_changes->add_option("--passphrase-file", change_file_passphrase,
                             "Office passphrase (first line), only when this PC keeps no office.key (--no-store-key)");
  import_changes->footer(kChangeFileHelp);
  OnRun(import_changes, outcome,
        [&] { return daicho::cli::ImportChangesCommand(db, file, change_file_passphrase, out); });

  daicho::cli::ConnectArgs connect_args;
  auto* connect = app.add_subcommand(
      "connect", "Log in to a relay (no changes move), report why not, and save the settings for sync");
  connect->add_option("url", connect_args.url, "wss://host[:port]/path (ws:// for loopback)")->required();
  connect->add_option("--contract", connect_args.contract, "Contract number NNNN-NNNN-NNNN")->required();
  connect->add_option("--user", connect_args.user, "User id")->required();
  connect->add_option("--password-file", connect_args.password_file,
                      "File whose first line is the password (default: ask on the terminal, echo off)");
  connect->add_flag("--save-password", connect_args.save_password,
                    "Save a revocable device token for this PC (never the password)");
  connect->add_option("--device-name", connect_args.device_name,
                      "Name of this PC on the relay (default: the host name)");
  connect->add_option("--tls-ca", connect_args.tls_ca_file,
                      "PEM file of CA certificates to trust for wss:// (default: the system's)");
  connect->add_option("--passphrase-file", connect_args.passphrase_file,
                      "After connecting, unlock the office key with this file's first line (the office passphrase)");
  connect->add_flag_callback(
      "--no-store-key", [&connect_args] { connect_args.store_key = false; },
      "With --passphrase-file: do not keep the office key on this PC (sync asks each time)");
  OnRun(connect, outcome, [&] { return daicho::cli::ConnectCommand(db, connect_args, out); });

  daicho::cli::SyncArgs sync_args;
  auto* sync = app.add_subcommand(
      "sync",
      "Sync both ways with the saved relay (or with --peer/--peers, directly with office PCs on the LAN); exit 0 "
      "when both hold the same changes");
  sync->add_flag("--watch", sync_args.watch,
                 "Stay connected and sync live until Ctrl-C (reconnects after cuts); with --peer/--peers: sync with "
                 "the office PCs every --interval-ms instead (the relay watch is a separate `sync --watch`)");
  sync->add_option("--password-file", sync_args.password_file, "Needed only when connect saved no login");
  sync->add_option("--passphrase-file", sync_args.passphrase_file,
                   "Office passphrase (first line), needed only when this PC does not hold the relay's current "
                   "office key (first sync, after `key rotate` elsewhere, or --no-store-key)");
  sync->add_flag_callback(
      "--no-store-key", [&sync_args] { sync_args.store_key = false; },
      "Keep a key unlocked with --passphrase-file only for this sync, not on this PC");
  auto* sync_peer = sync->add_option("--peer", sync_args.peer_url,
                                     "Sync directly with the office PC serving at this URL (ws://ADDRESS:47480/) "
                                     "instead of the relay");
  auto* sync_peers = sync->add_flag("--peers", sync_args.peers,
                                    "Sync directly with every office PC found on the LAN (see `daicho peers`) "
                                    "instead of the relay; exit 1 if any failed");
  sync_peer->excludes(sync_peers);
  sync->add_option("--wait-ms", sync_args.wait_ms, "--peers: how long to listen for the office's PCs (default 2000)")
      ->check(CLI::NonNegativeNumber);
  sync->add_option("--interval-ms", sync_args.interval_ms,
                   "--watch with --peer/--peers: pause between rounds (default 5000)")
      ->check(CLI::NonNegativeNumber);
  AddLanOptions(sync, sync_args.lan);
  OnRun(sync, outcome, [&] { return daicho::cli::SyncCommand(db, sync_args, out); });

  daicho::cli::ServeArgs serve_args;
  auto* serve =
      app.add_subcommand("serve", "Serve this replica to the office's other PCs on the LAN (direct sync) until Ctrl-C");
  serve->footer(kServeHelp);
  serve->add_option("--listen", serve_args.listen, "HOST:PORT to accept PCs on (default 0.0.0.0:47480; port 0: any)");
  serve->add_option("--device-name", serve_args.device_name, "Name other PCs see (default: the host name)");
  serve->add_flag_callback(
      "--no-announce", [&serve_args] { serve_args.announce = false; },
      "Do not announce this PC on the LAN (reachable by URL only)");
  serve->add_flag("--share-key", serve_args.share_key,
                  "Hand the passphrase-wrapped office key to PCs without it (`key unlock --peer`); see "
                  "docs/lan-sync.md for what this exposes");
  serve
      ->add_option("--announce-interval-ms", serve_args.announce_interval_ms,
                   "How often to announce this PC (default 5000)")
      ->check(CLI::PositiveNumber);
  serve->add_option("--passphrase-file", serve_args.passphrase_file,
                    "Office passphrase (first line), only when this PC keeps no office.key (--no-store-key)");
  AddLanOptions(serve, serve_args.lan);
  OnRun(serve, outcome, [&] { return daicho::cli::ServeCommand(db, serve_args, out); });

  daicho::cli::PeersArgs peers_args;
  auto* peers = app.add_subcommand("peers",
                                   "List the office's PCs serving on the LAN now (name, URL, last seen, "
                                   "how far behind or ahead)");
  peers->add_flag("--json", peers_args.json,
                  "Print [{\"name\", \"url\", \"replica_id\", \"last_seen\", \"behind\", \"ahead\"}]");
  peers->add_option("--wait-ms", peers_args.wait_ms, "How long to listen for announcements (default 2000)")
      ->check(CLI::NonNegativeNumber);
  peers->add_option("--passphrase-file", peers_args.passphrase_file,
                    "Office passphrase (first line), only when this PC keeps no office.key (--no-store-key)");
  AddLanOptions(peers, peers_args.lan);
  OnRun(peers, outcome, [&] { return daicho::cli::PeersCommand(db, peers_args, out); });

  auto* status = app.add_subcommand("status", "Show the last sync and how many records are not backed up");
  status->add_flag("--json", json, "Print {\"unsynced_records\": N, \"last_sync\": ISO time or null, ...}");
  OnRun(status, outcome, [&] { return daicho::cli::StatusCommand(db, json, out); });

  auto* admin = app.add_subcommand(
      "admin", "Show the office's admin panel on the relay (users, devices, passwords) and open it in the browser");
  OnRun(admin, outcome, [&] { return daicho::cli::AdminCommand(db, out); });

  daicho::cli::KeyArgs key_args;
  auto* key = app.add_subcommand("key", "The office key that encrypts everything sent to the relay (end to end)");
  key->require_subcommand(1);
  key->fallthrough();
  key->footer(kKeyHelp);
  struct KeySub {
    const char* name;
    daicho::cli::KeyAction action;
    const char* help;
  };
  using daicho::cli::KeyAction;
  const KeySub key_subs[] = {
      {"init", KeyAction::kInit,
       "First PC of a contract: create the office key, protect it with a new passphrase, print the recovery code"},
      {"unlock", KeyAction::kUnlock, "Unlock the office key on this PC with the office passphrase"},
      {"recover", KeyAction::kRecover, "Unlock the office key with the recovery code (forgotten passphrase)"},
      {"rotate", KeyAction::kRotate,
       "Make a new office key for changes from now on (after a PC is lost or a member leaves); prints a new "
       "recovery code"},
      {"passphrase", KeyAction::kPassphrase, "Change the office passphrase (the key and recovery code stay)"},
      {"status", KeyAction::kStatus, "Show which office key this PC holds (no network)"},
      {"forget", KeyAction::kForget, "Remove the office key from this PC (no network)"},
      {"export", KeyAction::kExport,
       "Write the passphrase-wrapped office key to FILE, for `key import` on a PC that cannot reach the relay"},
      {"import", KeyAction::kImport, "Unlock the office key from a FILE written by `key export` (no network)"},
  };
  for (const KeySub& k : key_subs) {
    auto* sub = key->add_subcommand(k.name, k.help);
    const KeyAction action = k.action;
    const bool relay_only = action != KeyAction::kStatus && action != KeyAction::kForget &&
                            action != KeyAction::kExport && action != KeyAction::kImport;
    const bool online = relay_only;
    if (online) {
      sub->add_option("--password-file", key_args.password_file,
                      "Relay password (first line), needed only when connect saved no login");
    }
    if (action == KeyAction::kExport || action == KeyAction::kImport) {
      sub->add_option("file", key_args.file,
                      action == KeyAction::kExport ? "File to write" : "File written by `daicho key export`")
          ->required();
    }
    if (action == KeyAction::kUnlock) {
      sub->add_option("--peer", key_args.peer_url,
                      "Get the passphrase-wrapped key from the office PC serving at this URL (`serve --share-key`) "
                      "instead of the relay");
    }
    if (action == KeyAction::kInit || action == KeyAction::kUnlock || action == KeyAction::kRotate ||
        action == KeyAction::kImport) {
      sub->add_option("--passphrase-file", key_args.passphrase_file,
                      action == KeyAction::kRotate
                          ? "Passphrase for the new key, the current one or a new one (first line); default: ask"
                          : "Office passphrase (first line); default: ask on the terminal");
    }
    if (action == KeyAction::kRecover) {
      sub->add_option("--recovery-file", key_args.recovery_file,
                      "Recovery code (first line); default: ask on the terminal");
    }
    if (action == KeyAction::kPassphrase) {
      sub->add_option("--new-passphrase-file", key_args.new_passphrase_file,
                      "New office passphrase (first line); default: ask twice on the terminal");
    }
    if ((online && action != KeyAction::kPassphrase) || action == KeyAction::kImport) {
      sub->add_flag_callback(
          "--no-store-key", [&key_args] { key_args.store_key = false; },
          "Do not keep the key on this PC (sync then needs the passphrase each time)");
    }
    if (action == KeyAction::kStatus) {
      sub->add_flag("--json", key_args.json, "Print {\"key_id\": N (0: none), \"keys_held\": N, \"stored\": bool}");
    }
    OnRun(sub, outcome, [&, action] { return daicho::cli::KeyCommand(db, action, key_args, out); });
  }

  auto* backup = app.add_subcommand("backup", "Turn relay sync off or on for this replica");
  backup->require_subcommand(1);
  auto* backup_disable = backup->add_subcommand("disable", "Stop syncing with the relay (work stays offline)");
  OnRun(backup_disable, outcome, [&] { return daicho::cli::BackupCommand(db, /*enable=*/false, out); });
  auto* backup_enable = backup->add_subcommand("enable", "Sync with the relay again");
  OnRun(backup_enable, outcome, [&] { return daicho::cli::BackupCommand(db, /*enable=*/true, out); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help and version exit 0 via app.exit; every other parse error is a
    // usage error (CLI11's own codes would collide with ours).
    int code = app.exit(e);
    return code == 0 ? daicho::cli::kExitOk : daicho::cli::kExitUsageError;
  }
  std::cout.flush();
  if (outcome.exit_code != daicho::cli::kExitOk) {
    std::cerr << "daicho: error: " << outcome.error << '\n';
    if (outcome.exit_code == daicho::cli::kExitUsageError) {
      std::cerr << "Run with --help for more information.\n";
    }
  }
  return outcome.exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  // Last line of defence: std exceptions (bad_alloc, a CLI11 surprise) become
  // an error message and exit code 1, never an abort.
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "daicho: internal error: " << e.what() << '\n';
  } catch (...) {
    std::cerr << "daicho: internal error: unknown exception\n";
  }
  return daicho::cli::kExitRuntimeError;
}
