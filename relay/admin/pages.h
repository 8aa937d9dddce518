// The admin panel's pages as HTML documents: one layout (header with the
// navigation, the language switch and log-out; a notice; the body) and a
// body per page. Every value goes through Markup (html.h); every sentence
// through the message table (messages.h). No state: AdminPanel decides what
// to show and who may see it.
#ifndef DAICHO_RELAY_ADMIN_PAGES_H_
#define DAICHO_RELAY_ADMIN_PAGES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "relay/admin/html.h"
#include "relay/admin/messages.h"
#include "relay/relay_service.h"

namespace daicho::relay::admin {

// Who looks at a page.
struct Viewer {
  Lang lang = Lang::kJa;
  std::string csrf;      // the token every form of this browser carries
  std::string contract;  // empty: not logged in
  std::string user_id;
  bool admin = false;
  bool vendor = false;  // a user of the vendor's staff contract: the vendor view
  bool logged_in() const { return !user_id.empty(); }
};

struct Notice {
  bool ok = true;  // false: an error
  std::string text;
};

// Which navigation entry a page belongs to ("" for none).
enum class Section { kNone, kUsers, kDevices, kKey, kAudit, kLicence, kMe, kVendorContracts, kVendorFilings };

// The whole document. `path` is the page's own path, for the language
// switch link.
std::string RenderPage(const Viewer& viewer, Msg title, Section section, std::string_view path,
                       const std::optional<Notice>& notice, const SafeHtml& body);

// "2026/12/07 16:05" in Japan time (the offices' clock); `never` for 0.
std::string FormatTime(uint64_t unix_ms, Lang lang);

SafeHtml LoginBody(const Viewer& viewer, std::string_view contract, std::string_view user_id);
SafeHtml ResetRequestBody(const Viewer& viewer, std::string_view contract, std::string_view user_id);
SafeHtml ResetSentBody(const Viewer& viewer, uint64_t code_valid_minutes);
SafeHtml ResetConfirmBody(const Viewer& viewer, std::string_view contract, std::string_view user_id);
// A paragraph with one link (back to the panel, to the login page).
SafeHtml LinkBody(const Viewer& viewer, Msg link_text, std::string_view href);

SafeHtml UsersBody(const Viewer& viewer, const std::vector<RelayService::UserInfo>& users);
SafeHtml AddUserBody(const Viewer& viewer, std::string_view user_id);
SafeHtml EditUserBody(const Viewer& viewer, const RelayService::UserInfo& user,
                      const std::vector<RelayService::Device>& devices);

// A device with the user it belongs to.
struct DeviceRow {
  std::string user_id;
  RelayService::Device device;
};
SafeHtml DevicesBody(const Viewer& viewer, const std::vector<DeviceRow>& devices);
SafeHtml KeyBody(const Viewer& viewer, const RelayService::OfficeKeyStatus& key);
// `older_than_ms`: the time to page back from, nullopt when these are the oldest.
SafeHtml AuditBody(const Viewer& viewer, const std::vector<RelayService::AuditEntry>& entries,
                   std::optional<uint64_t> older_than_ms);
SafeHtml MeBody(const Viewer& viewer);
// The contract's licence year, each line's state and why, the forecast, and
// (for an admin of an office with both options) the free-option choice.
// Unmanaged (no evaluation) says nothing is restricted.
SafeHtml LicenceBody(const Viewer& viewer, const std::optional<entitlements::Evaluation>& evaluation,
                     const std::optional<entitlements::Licence>& licence);

// The path of a user's edit page.
std::string UserPagePath(std::string_view user_id);

// ---- The vendor view ----
// One office contract as the vendor sees it.
struct VendorContractRow {
  RelayService::ContractInfo info;
  std::optional<entitlements::Licence> licence;        // nullopt: unmanaged
  std::optional<entitlements::Evaluation> evaluation;  // nullopt: unmanaged
};
// What the licence year's lines that are short cost now (payable today).
int64_t FeeDueYen(const entitlements::YearEvaluation& year);
// Every office contract: number, state, licence facts, statuses, fee due.
SafeHtml VendorContractsBody(const Viewer& viewer, const std::vector<VendorContractRow>& contracts);
// One contract: the licence form, its evaluation and forecast (LicenceBody),
// its filings, its payments and the form recording one.
struct VendorContractView {
  VendorContractRow row;
  std::vector<FilingRecord> filings;
  std::vector<PaymentRecord> payments;
};
SafeHtml VendorContractBody(const Viewer& viewer, const VendorContractView& contract);
std::string VendorContractPath(const ContractNumber& contract);
// What an upload of a filings file did, for its result page.
struct FilingsUpload {
  bool dry_run = false;
  std::optional<RelayService::FilingImport> imported;  // set when it went through
  std::string encoding;                                // what the file was read as
  std::vector<RelayService::RowProblem> problems;      // every bad row, in line order
};
// The upload form, and the outcome of the last upload if there was one.
SafeHtml VendorFilingsBody(const Viewer& viewer, const std::optional<FilingsUpload>& upload);

}  // namespace daicho::relay::admin

#endif  // DAICHO_RELAY_ADMIN_PAGES_H_
