#include "relay/admin/pages.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <span>

#include "relay/admin/assets.h"
#include "relay/admin/form_rules.h"
#include "relay/entitlements_view.h"
#include "relay/password.h"
#include "text/date_text.h"
#include "text/number_text.h"
#include "web/form.h"

namespace daicho::relay::admin {
namespace {

// Japan has one time zone and no daylight saving time.
constexpr int64_t kJapanOffsetSeconds = 9 * 3600;

std::string T(Msg msg, Lang lang) { return std::string(Text(msg, lang)); }

SafeHtml CsrfField(const Viewer& viewer) {
  return Markup("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", {viewer.csrf});
}

SafeHtml NavLink(const Viewer& viewer, Section section, Section current, Msg text, std::string_view href) {
  if (section == current) {
    return Markup("<a href=\"{}\" aria-current=\"page\">{}</a>", {href, T(text, viewer.lang)});
  }
  return Markup("<a href=\"{}\">{}</a>", {href, T(text, viewer.lang)});
}

SafeHtml Header(const Viewer& viewer, Section current, std::string_view path) {
  const Lang other = viewer.lang == Lang::kJa ? Lang::kEn : Lang::kJa;
  const SafeHtml language = Markup("<a href=\"{}?lang={}\" lang=\"{}\">{}</a>",
                                   {path, LangTag(other), LangTag(other), T(Msg::kOtherLanguage, viewer.lang)});
  if (!viewer.logged_in()) {
    return Markup("<header><span class=\"brand\">{}</span><span class=\"who\">{}</span></header>",
                  {T(Msg::kAppTitle, viewer.lang), language});
  }
  SafeHtml nav;
  if (viewer.admin) {
    nav += NavLink(viewer, Section::kUsers, current, Msg::kNavUsers, "/admin/users");
    nav += NavLink(viewer, Section::kDevices, current, Msg::kNavDevices, "/admin/devices");
    nav += NavLink(viewer, Section::kKey, current, Msg::kNavKey, "/admin/key");
    nav += NavLink(viewer, Section::kAudit, current, Msg::kNavAudit, "/admin/audit");
  }
  if (viewer.vendor) {
    nav += NavLink(viewer, Section::kVendorContracts, current, Msg::kNavVendorContracts, "/admin/vendor/contracts");
    nav += NavLink(viewer, Section::kVendorFilings, current, Msg::kNavVendorFilings, "/admin/vendor/filings");
  } else {
    nav += NavLink(viewer, Section::kLicence, current, Msg::kNavLicence, "/admin/licence");
  }
  nav += NavLink(viewer, Section::kMe, current, Msg::kNavMe, "/admin/me");
  return Markup(
      "<header><span class=\"brand\">{}</span><nav>{}</nav><span class=\"who\">{}</span>{}"
      "<form method=\"post\" action=\"/admin/logout\">{}<button type=\"submit\">{}</button></form></header>",
      {T(Msg::kAppTitle, viewer.lang), nav, Format(Msg::kLoggedInAs, viewer.lang, {viewer.user_id, viewer.contract}),
       language, CsrfField(viewer), T(Msg::kLogOut, viewer.lang)});
}

SafeHtml Field(Msg label, std::string_view for_id, const SafeHtml& input, Lang lang, std::string_view hint = {}) {
  if (hint.empty()) return Markup("<label for=\"{}\">{}</label>{}", {for_id, T(label, lang), input});
  return Markup("<label for=\"{}\">{} <span class=\"hint\">{}</span></label>{}", {for_id, T(label, lang), hint, input});
}

SafeHtml ContractInput(std::string_view value, Lang lang) {
  return Markup(
      // No pattern: full-width digits and other hyphens, as a Japanese IME
      // types them, are accepted by the server (ContractNumber::ParseTyped).
      "<input type=\"text\" id=\"contract\" name=\"contract\" value=\"{}\" required inputmode=\"numeric\" "
      "autocomplete=\"organization\" maxlength=\"20\" placeholder=\"1234-5678-9012\" title=\"{}\" "
      "data-msg-required=\"{}\">",
      {value, T(Msg::kContractHint, lang), T(Msg::kRequired, lang)});
}

SafeHtml CodeInput(Lang lang) {
  const std::string digits = std::to_string(RelayService::kResetCodeDigits);
  return Markup(
      "<input type=\"text\" id=\"code\" name=\"code\" required inputmode=\"numeric\" autocomplete=\"one-time-code\" "
      "pattern=\"[0-9]{{}}\" minlength=\"{}\" maxlength=\"{}\" data-msg-required=\"{}\" data-msg-pattern=\"{}\" "
      "data-msg-too-short=\"{}\" data-msg-too-long=\"{}\">",
      {digits, digits, digits, T(Msg::kRequired, lang), Format(Msg::kResetCodeMalformed, lang, {digits}),
       Format(Msg::kResetCodeMalformed, lang, {digits}), Format(Msg::kResetCodeMalformed, lang, {digits})});
}

// A one-button form posting `fields` (name, value) to `action`.
SafeHtml ButtonForm(const Viewer& viewer, std::string_view action, const SafeHtml& fields, Msg button,
                    std::string_view button_class = "secondary") {
  return Markup(
      "<form class=\"inline\" method=\"post\" action=\"{}\">{}{}<button type=\"submit\" class=\"{}\">{}</button>"
      "</form>",
      {action, CsrfField(viewer), fields, button_class, T(button, viewer.lang)});
}

SafeHtml Hidden(std::string_view name, std::string_view value) {
  return Markup("<input type=\"hidden\" name=\"{}\" value=\"{}\">", {name, value});
}

std::string Unsynced(const std::optional<uint64_t>& records, Lang lang) {
  if (!records) return T(Msg::kUnknown, lang);
  return Format(Msg::kRecords, lang, {std::to_string(*records)});
}

Msg ActionText(std::string_view action, bool* known) {
  struct Known {
    std::string_view action;
    Msg msg;
  };
  static constexpr std::array<Known, 18> kActions = {{
      {"login", Msg::kActionLogin},
      {"login.failed", Msg::kActionLoginFailed},
      {"user.add", Msg::kActionUserAdd},
      {"user.password", Msg::kActionUserPassword},
      {"user.disable", Msg::kActionUserDisable},
      {"user.enable", Msg::kActionUserEnable},
      {"user.admin", Msg::kActionUserAdmin},
      {"user.unadmin", Msg::kActionUserUnadmin},
      {"user.remove", Msg::kActionUserRemove},
      {"device.revoke", Msg::kActionDeviceRevoke},
      {"password.change", Msg::kActionPasswordChange},
      {"reset.request", Msg::kActionResetRequest},
      {"reset.done", Msg::kActionResetDone},
      {"licence.set", Msg::kActionLicenceSet},
      {"licence.clear", Msg::kActionLicenceClear},
      {"entitlement.free_option", Msg::kActionFreeOption},
      {"payment.record", Msg::kActionPayment},
      {"filings.import", Msg::kActionFilingsImport},
  }};
  for (const Known& k : kActions) {
    if (k.action == action) {
      *known = true;
      return k.msg;
    }
  }
  *known = false;
  return Msg::kUnknown;
}

std::string ViaText(std::string_view via, Lang lang) {
  if (via == "cli") return T(Msg::kViaCli, lang);
  if (via == "panel") return T(Msg::kViaPanel, lang);
  if (via == "api") return T(Msg::kViaApi, lang);
  return std::string(via);
}

}  // namespace

std::string FormatTime(uint64_t unix_ms, Lang lang) {
  if (unix_ms == 0) return T(Msg::kNever, lang);
  const std::time_t local = static_cast<std::time_t>(unix_ms / 1000 + kJapanOffsetSeconds);
  std::tm tm{};
  gmtime_r(&local, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d/%02d/%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min);
  return text;
}

std::string UserPagePath(std::string_view user_id) { return "/admin/user?id=" + web::PercentEncode(user_id); }

std::string RenderPage(const Viewer& viewer, Msg title, Section section, std::string_view path,
                       const std::optional<Notice>& notice, const SafeHtml& body) {
  const SafeHtml notice_html =
      notice ? Markup("<div class=\"notice {}\" role=\"{}\">{}</div>",
                      {notice->ok ? "ok" : "error", notice->ok ? "status" : "alert", notice->text})
             : SafeHtml();
  return Markup(
             "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             "<title>{} - {}</title><link rel=\"stylesheet\" href=\"{}\"><script src=\"{}\" defer></script>"
             "</head><body>{}<main><h1>{}</h1>{}{}</main></body></html>\n",
             {LangTag(viewer.lang), T(title, viewer.lang), T(Msg::kAppTitle, viewer.lang), kStylePath, kScriptPath,
              Header(viewer, section, path), T(title, viewer.lang), notice_html, body})
      .str();
}

SafeHtml LoginBody(const Viewer& viewer, std::string_view contract, std::string_view user_id) {
  const Lang lang = viewer.lang;
  return Markup(
      "<div class=\"panel narrow\"><form method=\"post\" action=\"/admin/login\">{}{}{}{}"
      "<button type=\"submit\">{}</button></form>"
      "<p class=\"links\"><a href=\"/admin/reset\">{}</a></p></div>",
      {CsrfField(viewer), Field(Msg::kContractNumber, "contract", ContractInput(contract, lang), lang),
       Field(Msg::kUserId, "user", UserIdInput("user", user_id, lang), lang),
       Field(Msg::kPassword, "password", PasswordInput("password", "current-password", lang), lang),
       T(Msg::kLogInButton, lang), T(Msg::kForgotPassword, lang)});
}

SafeHtml ResetRequestBody(const Viewer& viewer, std::string_view contract, std::string_view user_id) {
  const Lang lang = viewer.lang;
  return Markup(
      "<div class=\"panel narrow\"><p>{}</p><form method=\"post\" action=\"/admin/reset\">{}{}{}"
      "<button type=\"submit\">{}</button></form>"
      "<p class=\"links\"><a href=\"/admin/reset/confirm\">{}</a><br><a href=\"/admin/login\">{}</a></p></div>",
      {T(Msg::kResetIntro, lang), CsrfField(viewer),
       Field(Msg::kContractNumber, "contract", ContractInput(contract, lang), lang),
       Field(Msg::kUserId, "user", UserIdInput("user", user_id, lang), lang), T(Msg::kResetSendButton, lang),
       T(Msg::kResetEnterCode, lang), T(Msg::kBackToLogin, lang)});
}

SafeHtml ResetSentBody(const Viewer& viewer, uint64_t code_valid_minutes) {
  return Markup(
      "<div class=\"panel narrow\"><p>{}</p><p><a class=\"button\" href=\"/admin/reset/confirm\">{}</a></p></div>",
      {Format(Msg::kResetSent, viewer.lang, {std::to_string(code_valid_minutes)}),
       T(Msg::kResetEnterCode, viewer.lang)});
}

SafeHtml ResetConfirmBody(const Viewer& viewer, std::string_view contract, std::string_view user_id) {
  const Lang lang = viewer.lang;
  const std::string digits = std::to_string(RelayService::kResetCodeDigits);
  return Markup(
      "<div class=\"panel narrow\"><form method=\"post\" action=\"/admin/reset/confirm\">{}{}{}{}{}{}"
      "<button type=\"submit\">{}</button></form><p class=\"links\"><a href=\"/admin/reset\">{}</a></p></div>",
      {CsrfField(viewer), Field(Msg::kContractNumber, "contract", ContractInput(contract, lang), lang),
       Field(Msg::kUserId, "user", UserIdInput("user", user_id, lang), lang),
       Markup("<label for=\"code\">{}</label>{}", {Format(Msg::kResetCode, lang, {digits}), CodeInput(lang)}),
       Field(
           Msg::kNewPassword, "password", PasswordInput("password", "new-password", lang), lang,
           Format(Msg::kPasswordHint, lang, {std::to_string(kMinPasswordLength), std::to_string(kMaxPasswordLength)})),
       Field(Msg::kPasswordConfirm, "password2", PasswordInput("password2", "new-password", lang, "password"), lang),
       T(Msg::kResetConfirmButton, lang), T(Msg::kResetSendButton, lang)});
}

SafeHtml LinkBody(const Viewer& viewer, Msg link_text, std::string_view href) {
  return Markup("<p class=\"links\"><a href=\"{}\">{}</a></p>", {href, T(link_text, viewer.lang)});
}

SafeHtml UsersBody(const Viewer& viewer, const std::vector<RelayService::UserInfo>& users) {
  const Lang lang = viewer.lang;
  SafeHtml rows;
  for (const RelayService::UserInfo& u : users) {
    rows += Markup("<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                   {UserPagePath(u.user_id), u.user_id, T(u.admin ? Msg::kRoleAdmin : Msg::kRoleUser, lang),
                    T(u.disabled ? Msg::kStateDisabled : Msg::kStateEnabled, lang),
                    FormatTime(u.last_sync_ms, lang) + (u.last_address.empty() ? "" : " (" + u.last_address + ")"),
                    std::to_string(u.devices)});
  }
  return Markup(
      "<p><a class=\"button\" href=\"/admin/users/new\">{}</a></p>"
      "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody>"
      "</table>",
      {T(Msg::kAddUserTitle, lang), T(Msg::kColumnUser, lang), T(Msg::kColumnRole, lang), T(Msg::kColumnState, lang),
       T(Msg::kColumnLastSync, lang), T(Msg::kColumnDevices, lang), rows});
}

SafeHtml AddUserBody(const Viewer& viewer, std::string_view user_id) {
  const Lang lang = viewer.lang;
  const std::string min_id = std::to_string(kMinUserIdLength), max_id = std::to_string(kMaxUserIdLength);
  const std::string min_pw = std::to_string(kMinPasswordLength), max_pw = std::to_string(kMaxPasswordLength);
  return Markup(
      "<div class=\"panel narrow\"><form method=\"post\" action=\"/admin/users/new\">{}{}{}{}"
      "<button type=\"submit\">{}</button></form></div>",
      {CsrfField(viewer),
       Field(Msg::kUserId, "user", UserIdInput("user", user_id, lang), lang,
             Format(Msg::kUserIdHint, lang, {min_id, max_id})),
       Field(Msg::kInitialPassword, "password", PasswordInput("password", "new-password", lang), lang,
             Format(Msg::kPasswordHint, lang, {min_pw, max_pw})),
       Field(Msg::kPasswordConfirm, "password2", PasswordInput("password2", "new-password", lang, "password"), lang),
       T(Msg::kAddUserButton, lang)});
}

SafeHtml EditUserBody(const Viewer& viewer, const RelayService::UserInfo& user,
                      const std::vector<RelayService::Device>& devices) {
  const Lang lang = viewer.lang;
  const SafeHtml id = Hidden("id", user.user_id);
  const SafeHtml state = user.disabled ? ButtonForm(viewer, "/admin/user/enable", id, Msg::kEnableButton)
                                       : ButtonForm(viewer, "/admin/user/disable", id, Msg::kDisableButton);
  const SafeHtml role = user.admin ? ButtonForm(viewer, "/admin/user/unadmin", id, Msg::kRevokeAdminButton)
                                   : ButtonForm(viewer, "/admin/user/admin", id, Msg::kMakeAdminButton);
  std::vector<DeviceRow> rows;
  for (const RelayService::Device& d : devices) rows.push_back({user.user_id, d});
  return Markup(
      "<div class=\"panel\"><table><tbody><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr>"
      "<tr><th>{}</th><td>{}</td></tr>"
      "<tr><th>{}</th><td>{}</td></tr></tbody></table><p>{}{}</p></div>"
      "<div class=\"panel\"><h2>{}</h2><form method=\"post\" action=\"/admin/user/password\">{}{}{}{}"
      "<button type=\"submit\">{}</button></form></div>"
      "<div class=\"panel\"><h2>{}</h2>{}</div>"
      "<div class=\"panel\"><h2>{}</h2><p>{}</p><form method=\"post\" action=\"/admin/user/remove\">{}{}"
      "<label><input type=\"checkbox\" name=\"confirm\" value=\"yes\" required> {}</label>"
      "<button type=\"submit\" class=\"danger\">{}</button></form></div>",
      {T(Msg::kColumnUser, lang),
       user.user_id,
       T(Msg::kColumnRole, lang),
       T(user.admin ? Msg::kRoleAdmin : Msg::kRoleUser, lang),
       T(Msg::kColumnState, lang),
       T(user.disabled ? Msg::kStateDisabled : Msg::kStateEnabled, lang),
       T(Msg::kColumnLastSync, lang),
       FormatTime(user.last_sync_ms, lang),
       state,
       role,
       T(Msg::kChangePasswordButton, lang),
       CsrfField(viewer),
       id,
       Field(Msg::kNewPassword, "password", PasswordInput("password", "new-password", lang), lang),
       Field(Msg::kPasswordConfirm, "password2", PasswordInput("password2", "new-password", lang, "password"), lang),
       T(Msg::kChangePasswordButton, lang),
       T(Msg::kNavDevices, lang),
       DevicesBody(viewer, rows),
       T(Msg::kRemoveButton, lang),
       T(Msg::kRemoveConfirm, lang),
       CsrfField(viewer),
       id,
       T(Msg::kRemoveConfirmBox, lang),
       T(Msg::kRemoveButton, lang)});
}

SafeHtml DevicesBody(const Viewer& viewer, const std::vector<DeviceRow>& devices) {
  const Lang lang = viewer.lang;
  if (devices.empty()) return Markup("<p class=\"muted\">{}</p>", {T(Msg::kNoDevices, lang)});
  SafeHtml rows;
  for (const DeviceRow& row : devices) {
    const RelayService::Device& d = row.device;
    // A device from before v3 has no replica id yet: its name identifies it.
    const std::string which = d.replica.IsZero() ? d.name : d.replica.ToHex();
    rows += Markup(
        "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td class=\"mono\">{}</td><td class=\"nowrap\">{}</td><td>{}</td>"
        "<td class=\"num\">{}</td><td>{}</td></tr>",
        {d.name, UserPagePath(row.user_id), row.user_id, d.ShortId(), FormatTime(d.last_sync_ms, lang),
         d.last_address.empty() ? "-" : d.last_address, Unsynced(d.unsynced_records, lang),
         ButtonForm(viewer, "/admin/devices/revoke",
                    Markup("{}{}", {Hidden("user", row.user_id), Hidden("device", which)}), Msg::kRevokeButton,
                    "danger")});
  }
  return Markup(
      "<p>{}</p><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>"
      "</thead><tbody>{}</tbody></table>",
      {T(Msg::kDevicesIntro, lang), T(Msg::kColumnDeviceName, lang), T(Msg::kColumnUser, lang),
       T(Msg::kColumnReplica, lang), T(Msg::kColumnLastSync, lang), T(Msg::kColumnLastAddress, lang),
       T(Msg::kColumnUnsynced, lang), rows});
}

SafeHtml KeyBody(const Viewer& viewer, const RelayService::OfficeKeyStatus& key) {
  const Lang lang = viewer.lang;
  if (key.key_id == 0) {
    return Markup("<div class=\"panel\"><p>{}</p><p>{}</p></div>", {T(Msg::kKeyIntro, lang), T(Msg::kKeyNone, lang)});
  }
  auto when = [lang](uint64_t ms) { return ms == 0 ? T(Msg::kUnknown, lang) : FormatTime(ms, lang); };
  return Markup(
      "<div class=\"panel\"><p>{}</p><table><tbody><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr>"
      "<tr><th>{}</th><td>{}</td></tr></tbody></table></div>",
      {T(Msg::kKeyIntro, lang), T(Msg::kKeyId, lang), std::to_string(key.key_id), T(Msg::kKeyCreated, lang),
       when(key.created_ms), T(Msg::kKeyChanged, lang), when(key.changed_ms)});
}

SafeHtml AuditBody(const Viewer& viewer, const std::vector<RelayService::AuditEntry>& entries,
                   std::optional<uint64_t> older_than_ms) {
  const Lang lang = viewer.lang;
  if (entries.empty()) return Markup("<p class=\"muted\">{}</p>", {T(Msg::kNoAudit, lang)});
  SafeHtml rows;
  for (const RelayService::AuditEntry& e : entries) {
    bool known = false;
    const Msg action = ActionText(e.action, &known);
    const std::string action_text = known ? T(action, lang) : e.action;
    const std::string what = e.detail.empty() ? e.target : e.target + " " + e.detail;
    rows += Markup("<tr><td class=\"nowrap\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                   {FormatTime(e.time_ms, lang), e.actor.empty() ? T(Msg::kOperator, lang) : e.actor, action_text, what,
                    e.address.empty() ? "-" : e.address, ViaText(e.via, lang)});
  }
  const SafeHtml older = older_than_ms ? Markup("<p class=\"links\"><a href=\"/admin/audit?before={}\">{}</a></p>",
                                                {std::to_string(*older_than_ms), T(Msg::kOlder, lang)})
                                       : SafeHtml();
  return Markup(
      "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
      "<tbody>{}</tbody></table>{}",
      {T(Msg::kColumnTime, lang), T(Msg::kColumnActor, lang), T(Msg::kColumnAction, lang), T(Msg::kColumnTarget, lang),
       T(Msg::kColumnLastAddress, lang), T(Msg::kColumnVia, lang), rows, older});
}

SafeHtml MeBody(const Viewer& viewer) {
  const Lang lang = viewer.lang;
  return Markup(
      "<div class=\"panel narrow\"><form method=\"post\" action=\"/admin/me\">{}{}{}{}"
      "<button type=\"submit\">{}</button></form></div>",
      {CsrfField(viewer),
       Field(Msg::kCurrentPassword, "current", PasswordInput("current", "current-password", lang), lang),
       Field(
           Msg::kNewPassword, "password", PasswordInput("password", "new-password", lang), lang,
           Format(Msg::kPasswordHint, lang, {std::to_string(kMinPasswordLength), std::to_string(kMaxPasswordLength)})),
       Field(Msg::kPasswordConfirm, "password2", PasswordInput("password2", "new-password", lang, "password"), lang),
       T(Msg::kChangePasswordButton, lang)});
}

namespace {

std::string DayText(entitlements::Date day, Lang lang) {
  return lang == Lang::kJa ? text::FormatJapaneseDate(day) : text::FormatIsoDate(day);
}

std::string LineName(entitlements::Line line, Lang lang) {
  if (line == entitlements::Line::kBase) return T(Msg::kLineBase, lang);
  const entitlements::Text name = entitlements::OptionName(static_cast<entitlements::Option>(line));
  return lang == Lang::kJa ? name.ja : name.en;
}

Msg StatusText(entitlements::LineStatus status) {
  switch (status) {
    case entitlements::LineStatus::kFree:
      return Msg::kStatusFree;
    case entitlements::LineStatus::kPaid:
      return Msg::kStatusPaid;
    case entitlements::LineStatus::kNeedsFilings:
      return Msg::kStatusNeedsFilings;
    case entitlements::LineStatus::kNeedsPayment:
      return Msg::kStatusRefused;
    case entitlements::LineStatus::kNotApplied:
      return Msg::kStatusNotApplied;
  }
  return Msg::kUnknown;
}

SafeHtml LinesTable(const std::vector<const entitlements::LineResult*>& lines, Lang lang) {
  SafeHtml rows;
  for (const entitlements::LineResult* line : lines) {
    rows += Markup("<tr class=\"{}\"><th>{}</th><td class=\"nowrap\">{}</td><td>{}</td></tr>",
                   {line->allowed() ? "" : "refused", LineName(line->line, lang), T(StatusText(line->status), lang),
                    lang == Lang::kJa ? line->reason.ja : line->reason.en});
  }
  return Markup("<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
                {T(Msg::kColumnItem, lang), T(Msg::kColumnState, lang), T(Msg::kColumnReason, lang), rows});
}

}  // namespace

SafeHtml LicenceBody(const Viewer& viewer, const std::optional<entitlements::Evaluation>& evaluation,
                     const std::optional<entitlements::Licence>& licence) {
  const Lang lang = viewer.lang;
  if (!evaluation || !licence) return Markup("<div class=\"panel\"><p>{}</p></div>", {T(Msg::kLicenceUnmanaged, lang)});
  const entitlements::YearEvaluation& year = evaluation->current;
  const SafeHtml counted =
      year.first_year
          ? Markup("<p>{}</p>", {T(Msg::kLicenceFirstYear, lang)})
          : Markup("<p>{}</p>",
                   {Format(Msg::kLicenceCounted, lang,
                           {std::to_string(year.filings), std::to_string(year.new_filings),
                            DayText(year.count_from, lang), DayText(entitlements::DayBefore(year.count_to), lang)})});
  SafeHtml body =
      Markup("<div class=\"panel\"><p><strong>{}</strong></p>{}{}</div>",
             {Format(Msg::kLicenceYear, lang,
                     {DayText(year.year_start, lang), DayText(entitlements::DayBefore(year.year_end), lang)}),
              counted, LinesTable({&year.base, &year.backup, &year.billing}, lang)});
  if (evaluation->forecast) {
    const entitlements::YearEvaluation& next = *evaluation->forecast;
    body +=
        Markup("<div class=\"panel\"><p><strong>{}</strong></p>{}</div>",
               {Format(Msg::kLicenceForecast, lang, {DayText(next.year_start, lang), DayText(evaluation->today, lang)}),
                LinesTable({&next.backup, &next.billing}, lang)});
  }
  if (viewer.admin && licence->backup_applied && licence->billing_applied) {
    SafeHtml choices;
    for (const entitlements::Option option : {entitlements::Option::kBackup, entitlements::Option::kBilling}) {
      const std::string value = option == entitlements::Option::kBackup ? "backup" : "billing";
      const SafeHtml checked = licence->free_choice == option ? Markup(" checked", {}) : SafeHtml();
      choices += Markup("<label><input type=\"radio\" name=\"option\" value=\"{}\"{}> {}</label>",
                        {value, checked, LineName(static_cast<entitlements::Line>(option), lang)});
    }
    body += Markup(
        "<div class=\"panel narrow\"><form method=\"post\" action=\"/admin/licence/free-option\">{}"
        "<fieldset><legend>{}</legend>{}</fieldset><button type=\"submit\">{}</button></form></div>",
        {CsrfField(viewer), T(Msg::kFreeOptionTitle, lang), choices, T(Msg::kFreeOptionButton, lang)});
  }
  return body;
}

// ---- The vendor view ----

namespace {

std::string Yen(int64_t amount, Lang lang) { return Format(Msg::kYen, lang, {text::GroupThousands(amount)}); }

std::string LicenceFacts(const entitlements::Licence& licence, Lang lang) {
  std::string facts =
      Format(Msg::kLicenceFacts, lang, {std::to_string(licence.licences), DayText(licence.first_renewal, lang)});
  const std::string_view comma = lang == Lang::kJa ? "、" : ", ";
  if (licence.installed)
    facts += std::string(comma) + Format(Msg::kLicenceInstalled, lang, {DayText(*licence.installed, lang)});
  std::string options;
  if (licence.backup_applied) options = LineName(entitlements::Line::kBackup, lang);
  if (licence.billing_applied) {
    options += (options.empty() ? "" : std::string(comma)) + LineName(entitlements::Line::kBilling, lang);
  }
  return facts + std::string(comma) + (options.empty() ? T(Msg::kOptionsNone, lang) : options);
}

SafeHtml StatusCell(const entitlements::LineResult& line, Lang lang) {
  return Markup("<td class=\"nowrap{}\">{}</td>", {line.allowed() ? "" : " refused", T(StatusText(line.status), lang)});
}

SafeHtml TextInput(std::string_view name, std::string_view value, std::string_view extra_hint = {}) {
  return Markup("<input type=\"text\" id=\"{}\" name=\"{}\" value=\"{}\" placeholder=\"{}\">",
                {name, name, value, extra_hint});
}

SafeHtml LicenceForm(const Viewer& viewer, const ContractNumber& number,
                     const std::optional<entitlements::Licence>& licence) {
  const Lang lang = viewer.lang;
  const std::string installed = licence && licence->installed ? text::FormatIsoDate(*licence->installed) : "";
  const std::string renews = licence ? text::FormatIsoDate(licence->first_renewal) : "";
  const std::string licences = std::to_string(licence ? licence->licences : 1);
  SafeHtml options;
  for (const entitlements::Line line : {entitlements::Line::kBackup, entitlements::Line::kBilling}) {
    const bool applied =
        licence && (line == entitlements::Line::kBackup ? licence->backup_applied : licence->billing_applied);
    options += Markup("<label><input type=\"checkbox\" name=\"options\" value=\"{}\"{}> {}</label>",
                      {line == entitlements::Line::kBackup ? "backup" : "billing",
                       applied ? Markup(" checked") : SafeHtml(), LineName(line, lang)});
  }
  return Markup(
      "<div class=\"panel narrow\"><h2>{}</h2><form method=\"post\" action=\"/admin/vendor/contract/licence\">{}{}"
      "{}{}<label for=\"licences\">{}</label><input type=\"number\" id=\"licences\" name=\"licences\" min=\"1\" "
      "max=\"{}\" value=\"{}\" required><fieldset><legend>{}</legend>{}</fieldset>"
      "<button type=\"submit\">{}</button></form></div>",
      {T(Msg::kLicenceFormTitle, lang), CsrfField(viewer), Hidden("n", number.str()),
       Field(Msg::kFieldInstalled, "installed", TextInput("installed", installed, T(Msg::kDateHint, lang)), lang),
       Field(Msg::kFieldRenews, "renews", TextInput("renews", renews, T(Msg::kDateHint, lang)), lang),
       T(Msg::kFieldLicences, lang), std::to_string(entitlements::kMaxLicences), licences, T(Msg::kFieldOptions, lang),
       options, T(Msg::kSaveButton, lang)});
}

SafeHtml PaymentForm(const Viewer& viewer, const ContractNumber& number) {
  const Lang lang = viewer.lang;
  SafeHtml lines;
  for (const entitlements::Line line :
       {entitlements::Line::kBackup, entitlements::Line::kBilling, entitlements::Line::kBase}) {
    lines += Markup("<option value=\"{}\">{}</option>", {relay::LineName(line), LineName(line, lang)});
  }
  return Markup(
      "<div class=\"panel narrow\"><h2>{}</h2><form method=\"post\" action=\"/admin/vendor/contract/pay\">{}{}"
      "<label for=\"option\">{}</label><select id=\"option\" name=\"option\">{}</select>"
      "<label for=\"amount\">{}</label><input type=\"text\" id=\"amount\" name=\"amount\" inputmode=\"numeric\" "
      "required placeholder=\"11000\">{}{}{}<button type=\"submit\">{}</button></form></div>",
      {T(Msg::kPayTitle, lang), CsrfField(viewer), Hidden("n", number.str()), T(Msg::kFieldPaidFor, lang), lines,
       T(Msg::kFieldAmount, lang),
       Field(Msg::kFieldLicenceYear, "licence_year", TextInput("licence_year", "", T(Msg::kDateHint, lang)), lang),
       Field(Msg::kFieldReference, "reference", TextInput("reference", ""), lang),
       Field(Msg::kFieldNote, "note", TextInput("note", ""), lang), T(Msg::kSaveButton, lang)});
}

SafeHtml FilingsTable(const std::vector<FilingRecord>& filings, Lang lang) {
  if (filings.empty()) return Markup("<p class=\"muted\">{}</p>", {T(Msg::kNoFilings, lang)});
  SafeHtml rows;
  for (const FilingRecord& f : filings) {
    rows += Markup("<tr><td>{}</td><td class=\"nowrap\">{}</td><td>{}</td></tr>",
                   {f.company_id, DayText(f.date, lang), f.filing_id.empty() ? "-" : f.filing_id});
  }
  return Markup("<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
                {T(Msg::kColumnCompany, lang), T(Msg::kColumnFiledOn, lang), T(Msg::kColumnFilingId, lang), rows});
}

SafeHtml PaymentsTable(const std::vector<PaymentRecord>& payments, Lang lang) {
  if (payments.empty()) return Markup("<p class=\"muted\">{}</p>", {T(Msg::kNoPayments, lang)});
  SafeHtml rows;
  for (const PaymentRecord& p : payments) {
    rows += Markup(
        "<tr><td class=\"nowrap\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"nowrap\">{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td></tr>",
        {FormatTime(p.time_ms, lang), LineName(p.line, lang), Yen(p.amount_yen, lang), DayText(p.licence_year, lang),
         p.reference.empty() ? "-" : p.reference, p.note, p.actor.empty() ? T(Msg::kOperator, lang) : p.actor});
  }
  return Markup(
      "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
      "<tbody>{}</tbody></table>",
      {T(Msg::kColumnRecorded, lang), T(Msg::kFieldPaidFor, lang), T(Msg::kColumnAmount, lang),
       T(Msg::kColumnLicenceYear, lang), T(Msg::kColumnReference, lang), T(Msg::kColumnNote, lang),
       T(Msg::kColumnActor, lang), rows});
}

}  // namespace

int64_t FeeDueYen(const entitlements::YearEvaluation& year) {
  int64_t due = 0;
  for (const entitlements::LineResult* line : {&year.base, &year.backup, &year.billing}) {
    if (line->status == entitlements::LineStatus::kNeedsPayment) due += line->fee_yen;
  }
  return due;
}

std::string VendorContractPath(const ContractNumber& contract) { return "/admin/vendor/contract?n=" + contract.str(); }

SafeHtml VendorContractsBody(const Viewer& viewer, const std::vector<VendorContractRow>& contracts) {
  const Lang lang = viewer.lang;
  if (contracts.empty()) return Markup("<p class=\"muted\">{}</p>", {T(Msg::kNoContracts, lang)});
  SafeHtml rows;
  for (const VendorContractRow& c : contracts) {
    const SafeHtml number = Markup("<td><a href=\"{}\">{}</a></td><td>{}</td>",
                                   {VendorContractPath(c.info.number), c.info.number.str(),
                                    T(c.info.disabled ? Msg::kStateDisabled : Msg::kStateEnabled, lang)});
    if (!c.evaluation || !c.licence) {
      rows += Markup("<tr>{}<td>{}</td><td>-</td><td>-</td><td>-</td><td class=\"num\">-</td></tr>",
                     {number, T(Msg::kUnmanaged, lang)});
      continue;
    }
    const entitlements::YearEvaluation& year = c.evaluation->current;
    rows += Markup("<tr>{}<td>{}</td>{}{}{}<td class=\"num\">{}</td></tr>",
                   {number, LicenceFacts(*c.licence, lang), StatusCell(year.base, lang), StatusCell(year.backup, lang),
                    StatusCell(year.billing, lang), Yen(FeeDueYen(year), lang)});
  }
  return Markup(
      "<p>{}</p><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"
      "</thead><tbody>{}</tbody></table>",
      {T(Msg::kVendorContractsIntro, lang), T(Msg::kColumnContract, lang), T(Msg::kColumnState, lang),
       T(Msg::kColumnLicence, lang), LineName(entitlements::Line::kBase, lang),
       LineName(entitlements::Line::kBackup, lang), LineName(entitlements::Line::kBilling, lang),
       T(Msg::kColumnFeeDue, lang), rows});
}

SafeHtml VendorContractBody(const Viewer& viewer, const VendorContractView& contract) {
  const Lang lang = viewer.lang;
  const ContractNumber& number = contract.row.info.number;
  // The office's own licence page, less its admin's choice form.
  Viewer reader = viewer;
  reader.admin = false;
  return Markup(
      "<h2>{}</h2>{}{}{}<div class=\"panel\"><h2>{}</h2>{}</div><div class=\"panel\"><h2>{}</h2>{}</div>",
      {Format(Msg::kVendorContractHeading, lang, {number.str()}),
       LicenceBody(reader, contract.row.evaluation, contract.row.licence),
       LicenceForm(viewer, number, contract.row.licence), PaymentForm(viewer, number), T(Msg::kPaymentsTitle, lang),
       PaymentsTable(contract.payments, lang), T(Msg::kFilingsTitle, lang), FilingsTable(contract.filings, lang)});
}

SafeHtml VendorFilingsBody(const Viewer& viewer, const std::optional<FilingsUpload>& upload) {
  const Lang lang = viewer.lang;
  SafeHtml result;
  if (upload && upload->imported) {
    const RelayService::FilingImport& done = *upload->imported;
    result = Markup("<div class=\"panel\"><p><strong>{}</strong></p>{}</div>",
                    {Format(Msg::kImportDone, lang,
                            {std::to_string(done.rows), std::to_string(done.added), std::to_string(done.present),
                             std::to_string(done.contracts.size()), upload->encoding}),
                     upload->dry_run ? Markup("<p>{}</p>", {T(Msg::kImportDryRun, lang)}) : SafeHtml()});
  } else if (upload && !upload->problems.empty()) {
    SafeHtml rows;
    // The first ones on the page (the notice gives the count; the API lists all).
    const size_t shown = std::min(upload->problems.size(), RelayService::kMaxReportedRows);
    for (const RelayService::RowProblem& problem : std::span(upload->problems).first(shown)) {
      rows += Markup("<tr><td class=\"num\">{}</td><td>{}</td></tr>", {std::to_string(problem.line), problem.message});
    }
    // The page's notice says that nothing was imported; this lists why.
    result = Markup(
        "<div class=\"panel\"><table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table></div>",
        {T(Msg::kColumnLine, lang), T(Msg::kColumnProblem, lang), rows});
  }
  SafeHtml encodings;
  for (const auto& [value, label] : {std::pair<std::string_view, std::string>{"auto", T(Msg::kEncodingAuto, lang)},
                                     {"utf-8", "UTF-8"},
                                     {"cp932", "Shift_JIS (CP932)"}}) {
    encodings += Markup("<option value=\"{}\">{}</option>", {value, label});
  }
  return Markup(
      "{}<div class=\"panel narrow\"><p>{}</p><form method=\"post\" action=\"/admin/vendor/filings\" "
      "enctype=\"multipart/form-data\">{}<label for=\"file\">{}</label><input type=\"file\" id=\"file\" "
      "name=\"file\" accept=\".csv,text/csv\" required><label for=\"encoding\">{}</label><select id=\"encoding\" "
      "name=\"encoding\">{}</select><label><input type=\"checkbox\" name=\"dry_run\" value=\"1\"> {}</label>"
      "<button type=\"submit\">{}</button></form></div>",
      {result, T(Msg::kFilingsIntro, lang), CsrfField(viewer), T(Msg::kFieldFile, lang), T(Msg::kFieldEncoding, lang),
       encodings, T(Msg::kDryRun, lang), T(Msg::kImportButton, lang)});
}

}  // namespace daicho::relay::admin
