#include "apps/daicho-relay/licence_commands.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <utility>

#include "relay/entitlements_view.h"
#include "relay/filings_csv.h"
#include "text/date_text.h"
#include "text/number_text.h"

namespace daicho::apps {
namespace {

using entitlements::Date;
using entitlements::LineResult;
using entitlements::LineStatus;
using relay::ContractNumber;
using relay::RelayService;

Result<Date> DayArgument(const std::string& flag, const std::string& text) {
  std::optional<Date> day = text::ParseDate(text);
  if (!day) return InvalidArgument(flag + " '" + text + "' is not a date (write 2026-04-01)");
  return *day;
}

// "backup,billing", "backup", "billing" or "none".
Status ParseOptions(const std::string& text, entitlements::Licence& licence) {
  licence.backup_applied = licence.billing_applied = false;
  if (text == "none") return Status::Ok();
  std::stringstream list(text);
  for (std::string name; std::getline(list, name, ',');) {
    if (name == "backup") {
      licence.backup_applied = true;
    } else if (name == "billing") {
      licence.billing_applied = true;
    } else {
      return InvalidArgument("--options takes backup, billing, backup,billing or none; got '" + text + "'");
    }
  }
  return Status::Ok();
}

// "free", "short 2 (11,000 yen)" ...: one cell of the side-by-side table.
std::string LineCell(const LineResult& line) {
  switch (line.status) {
    case LineStatus::kFree:
      return "free (" + std::string(relay::BasisName(line.basis)) + ")";
    case LineStatus::kPaid:
      return "paid " + text::GroupThousands(line.paid_yen) + " yen";
    case LineStatus::kNeedsFilings:
      return "needs " + std::to_string(line.shortfall) + " more";
    case LineStatus::kNeedsPayment:
      return (line.line == entitlements::Line::kBase ? "short " : "REFUSED: short ") + std::to_string(line.shortfall) +
             " (" + text::GroupThousands(line.fee_yen) + " yen)";
    case LineStatus::kNotApplied:
      return "not applied";
  }
  return "?";
}

std::string CountWindow(const entitlements::YearEvaluation& year) {
  return text::FormatIsoDate(year.count_from) + ".." + text::FormatIsoDate(entitlements::DayBefore(year.count_to));
}

// Rows of facts, a column per contract: what the vendor compares.
void PrintTable(const std::vector<std::pair<ContractNumber, std::optional<entitlements::Evaluation>>>& evaluated,
                std::ostream& out) {
  std::vector<std::pair<std::string, std::vector<std::string>>> rows = {
      {"contract", {}},         {"licence year from", {}}, {"first year (free)", {}},
      {"counted from..to", {}}, {"filings", {}},           {"new additional", {}},
      {"base renewal", {}},     {"Internet backup", {}},   {"billing", {}}};
  for (const auto& [number, evaluation] : evaluated) {
    std::vector<std::string> cells;
    if (!evaluation) {
      cells = {number.str(), "unmanaged", "-", "-", "-", "-", "-", "-", "-"};
    } else {
      const entitlements::YearEvaluation& year = evaluation->current;
      cells = {number.str(),
               text::FormatIsoDate(year.year_start),
               year.first_year ? "yes" : "no",
               CountWindow(year),
               std::to_string(year.filings),
               std::to_string(year.new_filings),
               LineCell(year.base),
               LineCell(year.backup),
               LineCell(year.billing)};
    }
    for (size_t i = 0; i < rows.size(); ++i) rows[i].second.push_back(cells[i]);
  }
  size_t label_width = 0;
  for (const auto& row : rows) label_width = std::max(label_width, row.first.size());
  std::vector<size_t> widths(evaluated.size(), 0);
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.second.size(); ++c) widths[c] = std::max(widths[c], row.second[c].size());
  }
  for (const auto& [label, cells] : rows) {
    out << label << std::string(label_width - label.size() + 2, ' ');
    for (size_t c = 0; c < cells.size(); ++c) {
      out << cells[c];
      if (c + 1 < cells.size()) out << std::string(widths[c] - cells[c].size() + 2, ' ');
    }
    out << '\n';
  }
}

void PrintReasons(const ContractNumber& number, const entitlements::Evaluation& evaluation, std::ostream& out) {
  out << "\n" << number.str() << " (today " << text::FormatIsoDate(evaluation.today) << "):\n";
  for (const LineResult* line : {&evaluation.current.base, &evaluation.current.backup, &evaluation.current.billing}) {
    out << "  " << relay::LineName(line->line) << ": " << line->reason.ja << "\n    " << line->reason.en << '\n';
  }
  if (evaluation.forecast) {
    out << "  next renewal " << text::FormatIsoDate(evaluation.forecast->year_start) << " (filings "
        << CountWindow(*evaluation.forecast) << " so far: " << evaluation.forecast->filings << ", new "
        << evaluation.forecast->new_filings << "):\n";
    for (const LineResult* line : {&evaluation.forecast->backup, &evaluation.forecast->billing}) {
      out << "  " << relay::LineName(line->line) << ": " << line->reason.ja << "\n    " << line->reason.en << '\n';
    }
  }
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::kIoError, "cannot open " + path);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status(Code::kIoError, "cannot read " + path);
  return bytes;
}

}  // namespace

LicenceCommands::LicenceCommands(CLI::App& app, CLI::App& contract) {
  licence_ = contract.add_subcommand(
      "licence", "record a contract's licence facts (the entitlement rules then apply), or --unmanaged");
  licence_->add_option("NUMBER", contract_)->required();
  licence_->add_option("--installed", installed_, "day of a new installation: its first licence year is free");
  licence_->add_option("--renews", renews_,
                       "first renewal day; licence years run between its anniversaries (default: a year after "
                       "--installed)");
  licence_->add_option("--licences", licences_, "licences the office pays for (default 1)")
      ->check(CLI::Range(1u, entitlements::kMaxLicences));
  licence_->add_option("--options", options_, "options applied for: backup, billing, backup,billing or none");
  licence_->add_flag("--unmanaged", unmanaged_, "forget the licence facts: nothing is enforced for the contract");

  pay_ = contract.add_subcommand("pay", "record a payment for a missing filing fee (or a refund with --refund)");
  pay_->add_option("NUMBER", contract_)->required();
  pay_->add_option("--option", option_, "what it pays for: backup, billing or base")->required();
  pay_->add_option("--amount", amount_, "yen, tax included")->required()->check(CLI::PositiveNumber);
  pay_->add_option("--licence-year", licence_year_,
                   "first day of the licence year paid for (default: the current licence year)");
  pay_->add_option("--reference", reference_, "the receipt or transfer id (a repeated one is refused)");
  pay_->add_option("--note", note_, "a note for the vendor");
  pay_->add_flag("--refund", refund_, "record the amount as paid back");

  payments_ = contract.add_subcommand("payments", "list a contract's payments");
  payments_->add_option("NUMBER", contract_)->required();

  free_option_ = contract.add_subcommand("free-option",
                                         "the option an office with 40 to 49 filings keeps free (the office's choice)");
  free_option_->add_option("NUMBER", contract_)->required();
  free_option_->add_option("OPTION", option_, "backup or billing")->required();

  entitlements_ =
      contract.add_subcommand("entitlements", "evaluate contracts' entitlements now (several numbers: side by side)");
  entitlements_->add_option("NUMBER", contracts_)->required();
  entitlements_->add_option("--date", on_day_, "evaluate as on this day (what-if)");
  entitlements_->add_flag("--json", json_, "print JSON (docs/admin-api.md)");

  CLI::App* filings = app.add_subcommand("filings", "the filings the vendor made for offices")->require_subcommand(1);
  filings_import_ =
      filings->add_subcommand("import", "import filing records from a CSV file (UTF-8 or Shift_JIS): all rows or none");
  filings_import_->add_option("FILE", file_)->required();
  filings_import_->add_option("--encoding", encoding_, "auto (default), utf-8 or cp932");
  filings_import_->add_flag("--dry-run", dry_run_, "check and count only; nothing is written");
  filings_list_ = filings->add_subcommand("list", "list a contract's filings: company id, day, filing id");
  filings_list_->add_option("NUMBER", contract_)->required();

  CLI::App* vendor = app.add_subcommand("vendor", "the vendor's staff in the admin panel")->require_subcommand(1);
  vendor_init_ = vendor->add_subcommand(
      "init", "name the vendor's staff contract (created if missing): its users see the panel's vendor view");
  vendor_init_->add_option("NUMBER", contract_)->required();
}

bool LicenceCommands::Chosen() const {
  return *licence_ || *pay_ || *payments_ || *free_option_ || *entitlements_ || *filings_import_ || *filings_list_ ||
         *vendor_init_;
}

Status LicenceCommands::Run(RelayService& store, std::ostream& out) const {
  if (*licence_) return Licence(store, out);
  if (*pay_) return Pay(store, out);
  if (*payments_) return Payments(store, out);
  if (*free_option_) return FreeOption(store, out);
  if (*entitlements_) return Entitlements(store, out);
  if (*filings_import_) return ImportFilings(store, out);
  if (*vendor_init_) return InitVendor(store, out);
  return ListFilings(store, out);
}

Status LicenceCommands::Licence(RelayService& store, std::ostream& out) const {
  DAICHO_ASSIGN_OR_RETURN(ContractNumber number, ContractNumber::Parse(contract_));
  if (unmanaged_) {
    if (!installed_.empty() || !renews_.empty() || !options_.empty()) {
      return InvalidArgument("--unmanaged takes no other licence flags");
    }
    DAICHO_RETURN_IF_ERROR(store.ClearLicence(number));
    out << "contract " << number.str()
        << " is unmanaged now: no entitlement is enforced (its filings and payments are kept)\n";
    return Status::Ok();
  }
  if (options_.empty()) return InvalidArgument("--options is required (backup, billing, backup,billing or none)");
  if (renews_.empty() && installed_.empty()) return InvalidArgument("give --renews, --installed or both");
  entitlements::Licence licence;
  licence.licences = licences_;
  DAICHO_RETURN_IF_ERROR(ParseOptions(options_, licence));
  if (!installed_.empty()) {
    DAICHO_ASSIGN_OR_RETURN(Date installed, DayArgument("--installed", installed_));
    licence.installed = installed;
  }
  if (!renews_.empty()) {
    DAICHO_ASSIGN_OR_RETURN(licence.first_renewal, DayArgument("--renews", renews_));
  } else {
    licence.first_renewal = entitlements::AddYears(*licence.installed, 1);
  }
  DAICHO_RETURN_IF_ERROR(store.SetLicence(number, licence));
  out << "recorded the licence of contract " << number.str() << ": " << licence.licences << " licence(s), renews "
      << text::FormatIsoDate(licence.first_renewal) << ", options " << options_ << '\n';
  return Entitlements(store, out);
}

Status LicenceCommands::Pay(RelayService& store, std::ostream& out) const {
  DAICHO_ASSIGN_OR_RETURN(ContractNumber number, ContractNumber::Parse(contract_));
  RelayService::PaymentInput payment;
  const std::optional<entitlements::Line> line = relay::ParseLineName(option_);
  if (!line) return InvalidArgument("--option takes backup, billing or base; got '" + option_ + "'");
  payment.line = *line;
  payment.amount_yen = refund_ ? -amount_ : amount_;
  payment.reference = reference_;
  payment.note = note_;
  if (!licence_year_.empty()) {
    DAICHO_ASSIGN_OR_RETURN(Date year, DayArgument("--licence-year", licence_year_));
    payment.licence_year = year;
  }
  DAICHO_RETURN_IF_ERROR(store.RecordPayment(number, payment));
  out << "recorded " << (refund_ ? "a refund of " : "") << text::GroupThousands(amount_) << " yen for " << option_
      << " of contract " << number.str() << '\n';
  return Entitlements(store, out);
}

Status LicenceCommands::Payments(RelayService& store, std::ostream& out) const {
  DAICHO_ASSIGN_OR_RETURN(ContractNumber number, ContractNumber::Parse(contract_));
  DAICHO_ASSIGN_OR_RETURN(std::vector<relay::PaymentRecord> payments, store.ListPayments(number));
  if (payments.empty()) out << "no payments recorded for contract " << number.str() << '\n';
  for (const relay::PaymentRecord& p : payments) {
    const auto day = text::JapanDay(std::chrono::system_clock::time_point(std::chrono::milliseconds(p.time_ms)));
    out << text::FormatIsoDate(day) << "  " << relay::LineName(p.line) << "  " << text::GroupThousands(p.amount_yen)
        << " yen  licence year " << text::FormatIsoDate(p.licence_year) << "  "
        << (p.reference.empty() ? "-" : p.reference) << "  " << (p.actor.empty() ? "operator" : p.actor)
        << (p.note.empty() ? "" : "  " + p.note) << '\n';
  }
  return Status::Ok();
}

Status LicenceCommands::FreeOption(RelayService& store, std::ostream& out) const {
  DAICHO_ASSIGN_OR_RETURN(ContractNumber number, ContractNumber::Parse(contract_));
  const std::optional<entitlements::Line> line = relay::ParseLineName(option_);
  if (!line || *line == entitlements::Line::kBase) {
    return InvalidArgument("the free option is backup or billing; got '" + option_ + "'");
  }
  DAICHO_RETURN_IF_ERROR(store.SetFreeOption(number, static_cast<entitlements::Option>(*line)));
  out << "contract " << number.str() << " keeps " << option_ << " free when it has 40 to 49 filings\n";
  return Entitlements(store, out);
}

Status LicenceCommands::Entitlements(RelayService& store, std::ostream& out) const {
  std::optional<Date> on;
  if (!on_day_.empty()) {
    DAICHO_ASSIGN_OR_RETURN(Date day, DayArgument("--date", on_day_));
    on = day;
  }
  std::vector<std::pair<ContractNumber, std::optional<entitlements::Evaluation>>> evaluated;
  for (const std::string& text : contracts_.empty() ? std::vector<std::string>{contract_} : contracts_) {
    DAICHO_ASSIGN_OR_RETURN(ContractNumber number, ContractNumber::Parse(text));
    DAICHO_ASSIGN_OR_RETURN(auto evaluation, store.EvaluateEntitlements(number, on));
    evaluated.emplace_back(number, std::move(evaluation));
  }
  if (json_) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [number, evaluation] : evaluated) {
      nlohmann::json entry = evaluation ? relay::EvaluationJson(*evaluation) : nlohmann::json::object();
      entry["contract"] = number.str();
      entry["managed"] = evaluation.has_value();
      list.push_back(std::move(entry));
    }
    out << (list.size() == 1 ? list[0] : list).dump(2) << '\n';
    return Status::Ok();
  }
  PrintTable(evaluated, out);
  for (const auto& [number, evaluation] : evaluated) {
    if (evaluation) PrintReasons(number, *evaluation, out);
  }
  return Status::Ok();
}

Status LicenceCommands::ImportFilings(RelayService& store, std::ostream& out) const {
  const std::optional<text::TextEncoding> encoding = text::ParseTextEncoding(encoding_);
  if (!encoding) return InvalidArgument("--encoding takes auto, utf-8 or cp932; got '" + encoding_ + "'");
  DAICHO_ASSIGN_OR_RETURN(std::string bytes, ReadWholeFile(file_));
  Result<relay::FilingsFile> file = relay::ReadFilingsCsv(bytes, *encoding);
  if (!file.ok()) return file.status().WithContext(file_ + ": nothing was imported");
  Result<RelayService::FilingImport> imported = store.ImportFilings(file->rows, file->unreadable, dry_run_);
  if (!imported.ok()) return imported.status().WithContext(file_);
  out << (dry_run_ ? "would import " : "imported ") << imported->rows << " rows: " << imported->added << " new, "
      << imported->present << " already imported, for " << imported->contracts.size() << " contract(s); read as "
      << text::TextEncodingName(file->encoding) << '\n';
  for (const ContractNumber& number : imported->contracts) out << "  " << number.str() << '\n';
  return Status::Ok();
}

Status LicenceCommands::ListFilings(RelayService& store, std::ostream& out) const {
  DAICHO_ASSIGN_OR_RETURN(ContractNumber number, ContractNumber::Parse(contract_));
  DAICHO_ASSIGN_OR_RETURN(std::vector<relay::FilingRecord> filings, store.ListFilings(number));
  if (filings.empty()) out << "no filings imported for contract " << number.str() << '\n';
  for (const relay::FilingRecord& f : filings) {
    out << f.company_id << "  " << text::FormatIsoDate(f.date) << "  " << (f.filing_id.empty() ? "-" : f.filing_id)
        << '\n';
  }
  return Status::Ok();
}

Status LicenceCommands::InitVendor(RelayService& store, std::ostream& out) const {
  DAICHO_ASSIGN_OR_RETURN(ContractNumber number, ContractNumber::Parse(contract_));
  DAICHO_ASSIGN_OR_RETURN(bool created, store.InitVendorContract(number));
  out << "contract " << number.str() << (created ? " was added and" : "")
      << " is the vendor's staff contract: its users log in to the admin panel's vendor view and never sync; add "
         "staff with `daicho-relay user add "
      << number.str() << " USER`\n";
  return Status::Ok();
}

}  // namespace daicho::apps
