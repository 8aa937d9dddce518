// The vendor's licence commands of daicho-relay: a contract's licence facts,
// payments, the office's free option and its entitlements (`contract
// licence|pay|payments|free-option|entitlements`), and the filings the
// vendor made (`filings import|list`), and the vendor's staff contract
// (`vendor init`). The rules are RelayService's; this
// file only reads flags and prints.
#ifndef DAICHO_APPS_DAICHO_RELAY_LICENCE_COMMANDS_H_
#define DAICHO_APPS_DAICHO_RELAY_LICENCE_COMMANDS_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "daicho/status.h"
#include "relay/relay_service.h"

namespace daicho::apps {

class LicenceCommands {
 public:
  // Adds the commands: the `contract` ones under `contract`, `filings` and
  // `vendor` to `app`.
  LicenceCommands(CLI::App& app, CLI::App& contract);
  LicenceCommands(const LicenceCommands&) = delete;
  LicenceCommands& operator=(const LicenceCommands&) = delete;

  // Whether the command line chose one of them.
  bool Chosen() const;
  // Runs the chosen one, printing to `out`. kInvalidArgument for flags that
  // do not fit together or do not read (a day, a contract number).
  Status Run(relay::RelayService& store, std::ostream& out) const;

 private:
  Status Licence(relay::RelayService& store, std::ostream& out) const;
  Status Pay(relay::RelayService& store, std::ostream& out) const;
  Status Payments(relay::RelayService& store, std::ostream& out) const;
  Status FreeOption(relay::RelayService& store, std::ostream& out) const;
  Status Entitlements(relay::RelayService& store, std::ostream& out) const;
  Status ImportFilings(relay::RelayService& store, std::ostream& out) const;
  Status ListFilings(relay::RelayService& store, std::ostream& out) const;
  Status InitVendor(relay::RelayService& store, std::ostream& out) const;

  CLI::App* licence_ = nullptr;
  CLI::App* pay_ = nullptr;
  CLI::App* payments_ = nullptr;
  CLI::App* free_option_ = nullptr;
  CLI::App* entitlements_ = nullptr;
  CLI::App* filings_import_ = nullptr;
  CLI::App* filings_list_ = nullptr;
  CLI::App* vendor_init_ = nullptr;

  std::string contract_;
  std::vector<std::string> contracts_;
  // contract licence
  std::string installed_, renews_, options_;
  uint32_t licences_ = 1;
  bool unmanaged_ = false;
  // contract pay
  std::string option_, licence_year_, reference_, note_;
  int64_t amount_ = 0;
  bool refund_ = false;
  // contract entitlements
  std::string on_day_;
  bool json_ = false;
  // filings import
  std::string file_, encoding_ = "auto";
  bool dry_run_ = false;
};

}  // namespace daicho::apps

#endif  // DAICHO_APPS_DAICHO_RELAY_LICENCE_COMMANDS_H_
