// The panel's vendor view, its operations for both front ends: the office
// contracts as the vendor sees them, and the licence, payment and filings
// import the vendor records through the same RelayService calls as
// daicho-relay's commands (the rules are the service's; here only what the
// web sends is read).

#include "relay/admin/panel_impl.h"
#include "relay/entitlements_view.h"
#include "relay/filings_csv.h"
#include "text/date_text.h"
#include "text/number_text.h"

namespace daicho::relay::admin {
namespace {

// kInvalidArgument naming the text that is not a day, in the page's language.
Result<std::optional<entitlements::Date>> OptionalDay(std::string_view text, Lang lang) {
  if (text.empty()) return std::optional<entitlements::Date>();
  std::optional<entitlements::Date> day = text::ParseDate(text);
  if (!day) return InvalidArgument(Format(Msg::kDateInvalid, lang, {text}));
  return day;
}

}  // namespace

std::optional<ContractNumber> AdminPanel::Impl::OfficeContract(std::string_view text) const {
  Result<ContractNumber> number = ContractNumber::ParseTyped(text);
  if (!number.ok()) return std::nullopt;
  Result<std::optional<ContractNumber>> vendor = service.VendorContract();
  if (!vendor.ok() || *vendor == *number) return std::nullopt;
  return *number;
}

Result<std::vector<VendorContractRow>> AdminPanel::Impl::VendorContracts() const {
  DAICHO_ASSIGN_OR_RETURN(auto contracts, service.ListContracts());
  DAICHO_ASSIGN_OR_RETURN(auto vendor, service.VendorContract());
  std::vector<VendorContractRow> rows;
  for (RelayService::ContractInfo& info : contracts) {
    if (vendor == info.number) continue;
    VendorContractRow row{std::move(info), {}, {}};
    DAICHO_ASSIGN_OR_RETURN(row.licence, service.GetLicence(row.info.number));
    DAICHO_ASSIGN_OR_RETURN(row.evaluation, service.EvaluateEntitlements(row.info.number));
    rows.push_back(std::move(row));
  }
  return rows;
}

Result<VendorContractView> AdminPanel::Impl::VendorContract(const ContractNumber& contract) const {
  DAICHO_ASSIGN_OR_RETURN(auto rows, VendorContracts());
  for (VendorContractRow& row : rows) {
    if (row.info.number != contract) continue;
    VendorContractView view{std::move(row), {}, {}};
    DAICHO_ASSIGN_OR_RETURN(view.filings, service.ListFilings(contract));
    DAICHO_ASSIGN_OR_RETURN(view.payments, service.ListPayments(contract));
    return view;
  }
  return Status(Code::kNotFound, "no office contract " + contract.str());
}

Answer AdminPanel::Impl::SetLicence(Context& ctx, const ContractNumber& contract, const LicenceInput& input) {
  entitlements::Licence licence;
  licence.backup_applied = input.backup;
  licence.billing_applied = input.billing;
  Result<int64_t> licences = text::ParseWholeNumber(input.licences, "licences");
  if (input.licences.empty() || !licences.ok() || *licences < 1 || *licences > entitlements::kMaxLicences) {
    return Invalid(Format(Msg::kLicencesInvalid, ctx.lang, {std::to_string(entitlements::kMaxLicences)}));
  }
  licence.licences = static_cast<uint32_t>(*licences);
  Result<std::optional<entitlements::Date>> installed = OptionalDay(input.installed, ctx.lang);
  if (!installed.ok()) return Invalid(installed.status().message());
  Result<std::optional<entitlements::Date>> renews = OptionalDay(input.renews, ctx.lang);
  if (!renews.ok()) return Invalid(renews.status().message());
  if (!*installed && !*renews) return Invalid(Format(Msg::kRenewsRequired, ctx.lang));
  licence.installed = *installed;
  licence.first_renewal = *renews ? **renews : entitlements::AddYears(**installed, 1);
  const Status set = service.SetLicence(contract, licence, ctx.caller->actor(Via(ctx)));
  if (!set.ok()) return ExplainVendor(ctx, set);
  return Done(ctx, Msg::kLicenceSaved, contract.str());
}

Answer AdminPanel::Impl::RecordPayment(Context& ctx, const ContractNumber& contract, const PaymentInputText& input) {
  RelayService::PaymentInput payment;
  const std::optional<entitlements::Line> line = ParseLineName(input.option);
  if (!line) return Invalid(Format(Msg::kRequired, ctx.lang));
  payment.line = *line;
  // "11,000" or "１１，０００" as a clerk types it; a refund is negative.
  std::string_view amount = input.amount;
  const bool refund = amount.starts_with('-');
  if (refund) amount.remove_prefix(1);
  Result<int64_t> yen = text::ParseWholeNumber(amount, "the amount");
  if (amount.empty() || !yen.ok()) return Invalid(Format(Msg::kAmountInvalid, ctx.lang));
  payment.amount_yen = refund ? -*yen : *yen;
  Result<std::optional<entitlements::Date>> year = OptionalDay(input.licence_year, ctx.lang);
  if (!year.ok()) return Invalid(year.status().message());
  payment.licence_year = *year;
  payment.reference = input.reference;
  payment.note = input.note;
  const Status recorded = service.RecordPayment(contract, payment, ctx.caller->actor(Via(ctx)));
  if (!recorded.ok()) return ExplainVendor(ctx, recorded);
  return Done(ctx, Msg::kPaymentRecorded, text::GroupThousands(payment.amount_yen), 201);
}

Answer AdminPanel::Impl::ImportFilings(Context& ctx, std::string_view bytes, std::string_view encoding_name,
                                       bool dry_run, FilingsUpload& upload) {
  upload = FilingsUpload{};
  upload.dry_run = dry_run;
  const std::optional<text::TextEncoding> encoding =
      text::ParseTextEncoding(encoding_name.empty() ? "auto" : encoding_name);
  if (!encoding) return Invalid(Format(Msg::kRequired, ctx.lang));
  if (bytes.empty()) return Invalid(Format(Msg::kImportNoFile, ctx.lang));
  Result<FilingsFile> file = ReadFilingsCsv(bytes, *encoding);
  if (!file.ok()) return Invalid(Format(Msg::kImportUnreadable, ctx.lang, {file.status().message()}));
  upload.encoding = text::TextEncodingName(file->encoding);
  Result<RelayService::FilingImport> imported =
      service.ImportFilings(file->rows, file->unreadable, dry_run, ctx.caller->actor(Via(ctx)), &upload.problems);
  if (!upload.problems.empty()) {
    return Refused(422, Format(Msg::kImportRefused, ctx.lang, {std::to_string(upload.problems.size())}), "bad_rows");
  }
  if (!imported.ok()) return ExplainVendor(ctx, imported.status());
  upload.imported = *imported;
  const RelayService::FilingImport& done = *imported;
  Answer answer = Done(ctx, Msg::kImportDone);
  answer.text = Format(Msg::kImportDone, ctx.lang,
                       {std::to_string(done.rows), std::to_string(done.added), std::to_string(done.present),
                        std::to_string(done.contracts.size()), upload.encoding});
  return answer;
}

Answer AdminPanel::Impl::ExplainVendor(const Context& ctx, const Status& status) const {
  switch (status.code()) {
    // The service's sentence says what to do (no licence yet, a reference
    // already recorded): shown as it is.
    case Code::kFailedPrecondition:
    case Code::kAlreadyExists:
      return Refused(409, status.message(), "conflict");
    // A staff user disabled meanwhile: the vendor view is gone for them.
    case Code::kPermissionDenied:
      return NotFound(ctx);
    default:
      return Explain(ctx, status);
  }
}

}  // namespace daicho::relay::admin
