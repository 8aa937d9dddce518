// AdminPanel's insides, shared by its two front ends: the HTML pages
// (panel_html.cc) and the JSON API (panel_json.cc). The operations here are
// written once and answer both.
#ifndef DAICHO_RELAY_ADMIN_PANEL_IMPL_H_
#define DAICHO_RELAY_ADMIN_PANEL_IMPL_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "relay/admin/admin_panel.h"
#include "relay/admin/messages.h"
#include "relay/admin/pages.h"
#include "relay/admin/request_limiter.h"
#include "web/cookie.h"
#include "web/form.h"

namespace daicho::relay::admin {

// One request as the panel sees it.
struct Context {
  explicit Context(const web::HttpRequest& r) : request(r) {}
  const web::HttpRequest& request;
  Lang lang = Lang::kJa;
  web::CookiePairs cookies;
  // The caller's session (cookie or bearer token), when it is live.
  std::optional<ContractNumber> contract;
  std::string token;
  std::optional<RelayService::PanelCaller> caller;
  // What a form must carry as `csrf` (derived from the session, or the
  // pre-session cookie's value).
  std::string csrf;
  // Set-Cookie values to send with the answer.
  web::HeaderFields set_cookies;

  bool admin() const { return caller && caller->admin; }
  bool vendor() const { return caller && caller->vendor; }
  Viewer viewer() const;
};

// What an operation did, for either front end.
struct Answer {
  int http = 200;
  std::string text;   // for a person, in the request's language
  std::string error;  // empty on success; the API's error code otherwise
  uint64_t retry_after_s = 0;
  // On success: the message and its argument (a redirect names them).
  Msg done = Msg::kNotFound;
  std::string arg;
  bool ok() const { return error.empty(); }
};

// A refusal: HTTP status, the sentence, the API's error code.
inline Answer Refused(int http, std::string text, std::string error, uint64_t retry_after_s = 0) {
  Answer answer;
  answer.http = http;
  answer.text = std::move(text);
  answer.error = std::move(error);
  answer.retry_after_s = retry_after_s;
  return answer;
}

// A licence as the vendor's form or API sends it: text, checked here.
struct LicenceInput {
  std::string installed;  // a day or ""
  std::string renews;     // a day or "" (then a year after `installed`)
  std::string licences;   // 1 .. kMaxLicences
  bool backup = false;
  bool billing = false;
};

// A payment as the vendor's form or API sends it.
struct PaymentInputText {
  std::string option;        // "backup", "billing" or "base"
  std::string amount;        // whole yen; "11,000" too
  std::string licence_year;  // a day or "" (the current licence year)
  std::string reference;
  std::string note;
};

// A reset request waiting for the worker.
struct ResetRequest {
  ContractNumber contract;
  std::string user_id;
  std::string address;
  std::string via;  // "panel" or "api", for the audit log
};

struct AdminPanel::Impl {
  Impl(RelayService& service, Mailer& mailer, AdminPanelOptions options);
  ~Impl();

  RelayService& service;
  Mailer& mailer;
  const AdminPanelOptions options;
  const std::shared_ptr<Clock> clock;  // options.clock, or the system clock
  RequestLimiter reset_addresses;
  RequestLimiter reset_accounts;
  RequestLimiter confirm_addresses;

  // ---- Requests ----
  web::HttpResponse Handle(const web::HttpRequest& request);
  web::HttpResponse HandleHtml(Context& ctx);  // panel_html.cc
  web::HttpResponse HandleJson(Context& ctx);  // panel_json.cc
  // Security headers, cookies and caching on every answer.
  web::HttpResponse Finish(Context& ctx, web::HttpResponse response, bool cacheable = false) const;
  // Whether a state-changing request may come from where it came from.
  bool OriginAllowed(const Context& ctx) const;
  // Makes `session` the browser's (cookie) and the context's.
  void StartSession(Context& ctx, const ContractNumber& contract, const RelayService::PanelSession& session);
  void EndSession(Context& ctx);
  std::string SessionCookieName(const Context& ctx) const;
  void Log(const std::string& event, const std::string& detail) const;

  // ---- Operations (both front ends) ----
  Answer LogIn(Context& ctx, std::string_view contract, std::string_view user_id, std::string_view password);
  Answer AddUser(Context& ctx, std::string_view user_id, std::string_view password);
  Answer SetPassword(Context& ctx, std::string_view user_id, std::string_view password);
  Answer SetDisabled(Context& ctx, std::string_view user_id, bool disabled);
  Answer SetAdmin(Context& ctx, std::string_view user_id, bool admin);
  Answer RemoveUser(Context& ctx, std::string_view user_id);
  Answer RevokeDevice(Context& ctx, std::string_view user_id, std::string_view device);
  Answer ChangeOwnPassword(Context& ctx, std::string_view current, std::string_view password);
  // `option`: "backup" or "billing" (an admin's choice).
  Answer SetFreeOption(Context& ctx, std::string_view option);
  // Always the same answer unless the address is over its limit.
  Answer RequestReset(Context& ctx, std::string_view contract, std::string_view user_id);
  Answer ConfirmReset(Context& ctx, std::string_view contract, std::string_view user_id, std::string_view code,
                      std::string_view password);
  // ---- The vendor view (panel_vendor.cc): callers check ctx.caller->vendor ----
  // Every office contract (not the vendor's own) with its licence and
  // evaluation, by number.
  Result<std::vector<VendorContractRow>> VendorContracts() const;
  // One office contract's page data; kNotFound for the vendor's own.
  Result<VendorContractView> VendorContract(const ContractNumber& contract) const;
  // The office contract `text` names (as typed), or nullopt.
  std::optional<ContractNumber> OfficeContract(std::string_view text) const;
  Answer SetLicence(Context& ctx, const ContractNumber& contract, const LicenceInput& input);
  Answer RecordPayment(Context& ctx, const ContractNumber& contract, const PaymentInputText& input);
  // Reads `bytes` as a filings file (`encoding`: auto, utf-8, cp932) and
  // imports it all or nothing (RelayService::ImportFilings); `upload` says
  // what happened (422 with the bad rows).
  Answer ImportFilings(Context& ctx, std::string_view bytes, std::string_view encoding, bool dry_run,
                       FilingsUpload& upload);
  // Explain, with the service's own sentence for a vendor's conflict.
  Answer ExplainVendor(const Context& ctx, const Status& status) const;

  // Every device of the contract with its user.
  Result<std::vector<DeviceRow>> ListDevices(const ContractNumber& contract) const;
  // The user's row, if the contract has that user.
  Result<std::optional<RelayService::UserInfo>> FindUser(const ContractNumber& contract,
                                                         std::string_view user_id) const;

  // A refused operation explained; `unauthenticated` words kUnauthenticated
  // for the operation (a wrong password, a wrong code).
  Answer Explain(const Context& ctx, const Status& status, Msg unauthenticated = Msg::kLoginFailed) const;
  Answer Done(const Context& ctx, Msg msg, std::string_view arg = {}, int http = 200) const;
  Answer Invalid(std::string text) const;
  Answer NotFound(const Context& ctx) const;

  // ---- The reset worker ----
  void RunResets();
  std::mutex reset_mutex;
  std::condition_variable reset_wake;
  std::deque<ResetRequest> reset_queue;
  bool stopping = false;
  std::thread reset_worker;
};

// How a change was made, for the audit log: "panel" or "api".
std::string Via(const Context& ctx);

// The seconds in a throttle's "retry in N s", or 0.
uint64_t RetryAfterSeconds(std::string_view message);

}  // namespace daicho::relay::admin

#endif  // DAICHO_RELAY_ADMIN_PANEL_IMPL_H_
