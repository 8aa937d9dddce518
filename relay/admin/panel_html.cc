// The panel's HTML front end: pages, forms, redirects after a change
// (Post/Redirect/Get with the outcome as a notice id), every page usable
// without JavaScript.
#include <algorithm>
#include <array>
#include <optional>

#include "crypto/secret_token.h"
#include "relay/admin/panel_impl.h"
#include "web/multipart.h"

namespace daicho::relay::admin {
namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";

// Notices a redirect may name (?notice=ID&arg=VALUE): only these, so a link
// cannot put arbitrary sentences on a page.
constexpr std::array kNotices = {
    Msg::kUserAdded,          Msg::kPasswordChangedFor, Msg::kUserDisabled,    Msg::kUserEnabled,
    Msg::kAdminGranted,       Msg::kAdminRevoked,       Msg::kUserRemoved,     Msg::kDeviceRevoked,
    Msg::kOwnPasswordChanged, Msg::kResetDone,          Msg::kLoggedOut,       Msg::kSessionEnded,
    Msg::kFreeOptionChanged,  Msg::kLicenceSaved,       Msg::kPaymentRecorded,
};

std::string Field(const web::FormFields& fields, std::string_view name) {
  for (const auto& [key, value] : fields) {
    if (key == name) return value;
  }
  return {};
}

web::HttpResponse Redirect(std::string location) {
  return web::HttpResponse{303, {{"Location", std::move(location)}}, {}};
}

std::string WithNotice(std::string_view path, Msg msg, std::string_view arg = {}) {
  std::string location(path);
  location += path.find('?') == std::string_view::npos ? '?' : '&';
  location += "notice=" + web::PercentEncode(MessageId(msg));
  if (!arg.empty()) location += "&arg=" + web::PercentEncode(arg);
  return location;
}

// Where a logged-in user starts: the vendor view, the users or their own page.
std::string_view HomePath(const Context& ctx) {
  if (ctx.vendor()) return "/admin/vendor/contracts";
  return ctx.admin() ? "/admin/users" : "/admin/me";
}

// A posted form's fields; an upload path's multipart form also its file.
Result<web::FormFields> ParsePosted(const web::HttpRequest& request, std::optional<web::MultipartFile>& file) {
  const std::string_view type = request.Header("content-type");
  const auto paths = AdminPanel::UploadPaths();
  const bool upload =
      std::any_of(paths.begin(), paths.end(), [&](const auto& entry) { return entry.first == request.path; });
  if (!upload || !type.starts_with("multipart/")) return web::ParseForm(request.body, {});
  DAICHO_ASSIGN_OR_RETURN(std::string boundary, web::MultipartBoundary(type));
  web::MultipartLimits limits;
  limits.max_file_bytes = AdminPanel::kMaxUploadBytes;
  DAICHO_ASSIGN_OR_RETURN(web::MultipartForm form, web::ParseMultipart(request.body, boundary, limits));
  file = std::move(form.file);
  return std::move(form.fields);
}

}  // namespace

web::HttpResponse AdminPanel::Impl::HandleHtml(Context& ctx) {
  const web::HttpRequest& request = ctx.request;
  const std::string& path = request.path;
  const bool get = request.method == "GET" || request.method == "HEAD";
  const bool post = request.method == "POST";
  Result<web::FormFields> query = web::ParseForm(request.query, {});
  const web::FormFields no_fields;
  const web::FormFields& params = query.ok() ? *query : no_fields;

  auto page = [&](int status, Msg title, Section section, const SafeHtml& body,
                  std::optional<Notice> notice = std::nullopt) {
    if (!notice) {
      // A notice named by the redirect that led here.
      const std::string id = Field(params, "notice");
      for (const Msg msg : kNotices) {
        if (MessageId(msg) == id) notice = Notice{true, Format(msg, ctx.lang, {Field(params, "arg")})};
      }
    }
    web::HttpResponse response{
        status, {{"Content-Type", std::string(kHtml)}}, RenderPage(ctx.viewer(), title, section, path, notice, body)};
    return Finish(ctx, std::move(response));
  };
  auto error_page = [&](const Answer& answer, Msg title, Section section, const SafeHtml& body) {
    web::HttpResponse response = page(answer.http, title, section, body, Notice{false, answer.text});
    if (answer.retry_after_s > 0) response.headers.emplace_back("Retry-After", std::to_string(answer.retry_after_s));
    return response;
  };
  auto not_found = [&] {
    return page(404, Msg::kNotFound, Section::kNone, LinkBody(ctx.viewer(), Msg::kBackToTop, "/admin/"));
  };

  // The language switch: remembered in a cookie, then the same page again.
  if (get && (Field(params, "lang") == "ja" || Field(params, "lang") == "en")) {
    web::SetCookie cookie;
    cookie.name = "daicho_lang";
    cookie.value = Field(params, "lang");
    cookie.http_only = false;  // not a secret
    cookie.secure = request.tls;
    cookie.max_age = std::chrono::hours(24 * 365);
    if (Result<std::string> value = web::BuildSetCookie(cookie); value.ok()) {
      ctx.set_cookies.emplace_back("Set-Cookie", *value);
    }
    return Finish(ctx, Redirect(path));
  }

  web::FormFields form;
  std::optional<web::MultipartFile> upload;
  if (post) {
    Result<web::FormFields> parsed = ParsePosted(request, upload);
    // A form from elsewhere, or without this browser's token, changes nothing.
    const char* refused = !parsed.ok()          ? "malformed form"
                          : !OriginAllowed(ctx) ? "from another site"
                          : ctx.csrf.empty() || !crypto::SecretEquals(Field(*parsed, "csrf"), ctx.csrf)
                              ? "no or wrong form token"
                              : nullptr;
    if (refused != nullptr) {
      Log("form_refused", std::string(refused) + ": path=" + path + " address=" + request.peer_address +
                              " origin=" + std::string(request.Header("origin")));
      return page(403, Msg::kFormExpired, Section::kNone, LinkBody(ctx.viewer(), Msg::kBackToTop, "/admin/"),
                  Notice{false, Format(Msg::kFormExpired, ctx.lang)});
    }
    form = std::move(*parsed);
  } else if (!get) {
    return Finish(ctx, {405, {{"Allow", "GET, HEAD, POST"}, {"Content-Type", "text/plain; charset=utf-8"}}, "405\n"});
  }

  // ---- Pages without a login ----
  if (get && (path == "/admin" || path == "/admin/")) {
    if (!ctx.caller) return Finish(ctx, Redirect("/admin/login"));
    return Finish(ctx, Redirect(std::string(HomePath(ctx))));
  }
  if (path == "/admin/login") {
    if (get) {
      if (ctx.caller) return Finish(ctx, Redirect("/admin/"));
      return page(200, Msg::kLoginTitle, Section::kNone, LoginBody(ctx.viewer(), "", ""));
    }
    const std::string contract = Field(form, "contract"), user = Field(form, "user");
    const Answer answer = LogIn(ctx, contract, user, Field(form, "password"));
    if (!answer.ok()) {
      return error_page(answer, Msg::kLoginTitle, Section::kNone, LoginBody(ctx.viewer(), contract, user));
    }
    return Finish(ctx, Redirect(std::string(HomePath(ctx))));
  }
  if (path == "/admin/logout" && post) {
    EndSession(ctx);
    return Finish(ctx, Redirect(WithNotice("/admin/login", Msg::kLoggedOut)));
  }
  if (path == "/admin/reset") {
    if (get) return page(200, Msg::kResetTitle, Section::kNone, ResetRequestBody(ctx.viewer(), "", ""));
    const Answer answer = RequestReset(ctx, Field(form, "contract"), Field(form, "user"));
    web::HttpResponse response =
        answer.ok() ? Finish(ctx, Redirect("/admin/reset/sent"))
                    : error_page(answer, Msg::kResetTitle, Section::kNone, ResetRequestBody(ctx.viewer(), "", ""));
    // The same floor of time for every answer: existing and unknown
    // accounts cannot be told apart by it.
    response.min_latency = options.reset_answer_floor;
    return response;
  }
  if (path == "/admin/reset/sent" && get) {
    return page(200, Msg::kResetSentTitle, Section::kNone,
                ResetSentBody(ctx.viewer(), service.ResetCodeValidMinutes()));
  }
  if (path == "/admin/reset/confirm") {
    if (get) return page(200, Msg::kResetTitle, Section::kNone, ResetConfirmBody(ctx.viewer(), "", ""));
    const std::string contract = Field(form, "contract"), user = Field(form, "user");
    const std::string password = Field(form, "password");
    const Answer answer = password != Field(form, "password2")
                              ? Invalid(Format(Msg::kPasswordsDiffer, ctx.lang))
                              : ConfirmReset(ctx, contract, user, Field(form, "code"), password);
    if (!answer.ok()) {
      return error_page(answer, Msg::kResetTitle, Section::kNone, ResetConfirmBody(ctx.viewer(), contract, user));
    }
    return Finish(ctx, Redirect(WithNotice("/admin/login", Msg::kResetDone)));
  }
  if (!path.starts_with("/admin/")) return not_found();

  // ---- Everything else needs a login ----
  if (!ctx.caller) {
    return Finish(ctx, Redirect(post ? WithNotice("/admin/login", Msg::kSessionEnded) : "/admin/login"));
  }
  const ContractNumber contract = *ctx.contract;
  const Viewer viewer = ctx.viewer();

  if (path == "/admin/me") {
    if (get) return page(200, Msg::kMeTitle, Section::kMe, MeBody(viewer));
    const std::string password = Field(form, "password");
    const Answer answer = password != Field(form, "password2")
                              ? Invalid(Format(Msg::kPasswordsDiffer, ctx.lang))
                              : ChangeOwnPassword(ctx, Field(form, "current"), password);
    if (!answer.ok()) return error_page(answer, Msg::kMeTitle, Section::kMe, MeBody(ctx.viewer()));
    return Finish(ctx, Redirect(WithNotice("/admin/me", Msg::kOwnPasswordChanged)));
  }

  auto failed_read = [&](const Status& status) {
    const Answer answer = Explain(ctx, status);
    return error_page(answer, answer.http == 404 ? Msg::kNotFound : Msg::kInternalError, Section::kNone,
                      LinkBody(viewer, Msg::kBackToTop, "/admin/"));
  };
  // Every user of the office sees its licence; an admin chooses the free
  // option.
  auto licence_page = [&](std::optional<Answer> refused) {
    Result<std::optional<entitlements::Evaluation>> evaluation = service.EvaluateEntitlements(contract);
    if (!evaluation.ok()) return failed_read(evaluation.status());
    Result<std::optional<entitlements::Licence>> licence = service.GetLicence(contract);
    if (!licence.ok()) return failed_read(licence.status());
    const SafeHtml body = LicenceBody(viewer, *evaluation, *licence);
    if (refused) return error_page(*refused, Msg::kLicenceTitle, Section::kLicence, body);
    return page(200, Msg::kLicenceTitle, Section::kLicence, body);
  };
  if (path == "/admin/licence" && get) return licence_page(std::nullopt);
  if (path == "/admin/licence/free-option" && post) {
    const Answer answer = SetFreeOption(ctx, Field(form, "option"));
    if (!answer.ok()) return licence_page(answer);
    return Finish(ctx, Redirect(WithNotice("/admin/licence", answer.done, answer.arg)));
  }

  // ---- The vendor view: not there for an office's users ----
  if (path.starts_with("/admin/vendor/")) {
    if (!ctx.vendor()) return not_found();
    auto contract_page = [&](const ContractNumber& number, std::optional<Answer> refused) {
      Result<VendorContractView> view = VendorContract(number);
      if (!view.ok()) return failed_read(view.status());
      const SafeHtml body = VendorContractBody(viewer, *view);
      if (refused) return error_page(*refused, Msg::kVendorContractTitle, Section::kVendorContracts, body);
      return page(200, Msg::kVendorContractTitle, Section::kVendorContracts, body);
    };
    if (path == "/admin/vendor/contracts" && get) {
      Result<std::vector<VendorContractRow>> rows = VendorContracts();
      if (!rows.ok()) return failed_read(rows.status());
      return page(200, Msg::kVendorContractsTitle, Section::kVendorContracts, VendorContractsBody(viewer, *rows));
    }
    if (path == "/admin/vendor/contract" && get) {
      const std::optional<ContractNumber> number = OfficeContract(Field(params, "n"));
      if (!number) return not_found();
      return contract_page(*number, std::nullopt);
    }
    if ((path == "/admin/vendor/contract/licence" || path == "/admin/vendor/contract/pay") && post) {
      const std::optional<ContractNumber> number = OfficeContract(Field(form, "n"));
      if (!number) return not_found();
      Answer answer;
      if (path.ends_with("/licence")) {
        LicenceInput input{Field(form, "installed"), Field(form, "renews"), Field(form, "licences")};
        for (const auto& [name, value] : form) {
          if (name == "options" && value == "backup") input.backup = true;
          if (name == "options" && value == "billing") input.billing = true;
        }
        answer = SetLicence(ctx, *number, input);
      } else {
        answer = RecordPayment(ctx, *number,
                               {Field(form, "option"), Field(form, "amount"), Field(form, "licence_year"),
                                Field(form, "reference"), Field(form, "note")});
      }
      if (answer.http == 404) return not_found();
      if (!answer.ok()) return contract_page(*number, answer);
      return Finish(ctx, Redirect(WithNotice(VendorContractPath(*number), answer.done, answer.arg)));
    }
    if (path == "/admin/vendor/filings") {
      if (get) return page(200, Msg::kVendorFilingsTitle, Section::kVendorFilings, VendorFilingsBody(viewer, {}));
      FilingsUpload result;
      const Answer answer = ImportFilings(ctx, upload ? std::string_view(upload->data) : std::string_view(),
                                          Field(form, "encoding"), Field(form, "dry_run") == "1", result);
      if (answer.http == 404) return not_found();
      const SafeHtml body = VendorFilingsBody(viewer, result);
      if (!answer.ok()) return error_page(answer, Msg::kVendorFilingsTitle, Section::kVendorFilings, body);
      return page(200, Msg::kVendorFilingsTitle, Section::kVendorFilings, body);  // the counts are in `body`
    }
    return not_found();
  }

  // ---- Admin pages: not there for anyone else ----
  if (!ctx.admin()) return not_found();

  if (path == "/admin/users" && get) {
    Result<std::vector<RelayService::UserInfo>> users = service.ListUserInfo(contract);
    if (!users.ok()) return failed_read(users.status());
    return page(200, Msg::kUsersTitle, Section::kUsers, UsersBody(viewer, *users));
  }
  if (path == "/admin/users/new") {
    if (get) return page(200, Msg::kAddUserTitle, Section::kUsers, AddUserBody(viewer, ""));
    const std::string user = Field(form, "user"), password = Field(form, "password");
    const Answer answer = password != Field(form, "password2") ? Invalid(Format(Msg::kPasswordsDiffer, ctx.lang))
                                                               : AddUser(ctx, user, password);
    if (!answer.ok()) return error_page(answer, Msg::kAddUserTitle, Section::kUsers, AddUserBody(viewer, user));
    return Finish(ctx, Redirect(WithNotice("/admin/users", Msg::kUserAdded, user)));
  }
  if (path == "/admin/user" && get) {
    Result<std::optional<RelayService::UserInfo>> user = FindUser(contract, Field(params, "id"));
    if (!user.ok()) return failed_read(user.status());
    if (!*user) return not_found();
    Result<std::vector<RelayService::Device>> devices = service.ListDevices(contract, (*user)->user_id);
    if (!devices.ok()) return failed_read(devices.status());
    return page(200, Msg::kEditUserTitle, Section::kUsers, EditUserBody(viewer, **user, *devices));
  }
  if (path.starts_with("/admin/user/") && post) {
    const std::string action = path.substr(std::string_view("/admin/user/").size());
    const std::string user = Field(form, "id");
    Answer answer;
    if (action == "password") {
      const std::string password = Field(form, "password");
      answer = password != Field(form, "password2") ? Invalid(Format(Msg::kPasswordsDiffer, ctx.lang))
                                                    : SetPassword(ctx, user, password);
    } else if (action == "disable" || action == "enable") {
      answer = SetDisabled(ctx, user, action == "disable");
    } else if (action == "admin" || action == "unadmin") {
      answer = SetAdmin(ctx, user, action == "admin");
    } else if (action == "remove") {
      if (Field(form, "confirm") != "yes") {
        answer = Invalid(Format(Msg::kRemoveNotConfirmed, ctx.lang));
      } else {
        answer = RemoveUser(ctx, user);
        if (answer.ok()) return Finish(ctx, Redirect(WithNotice("/admin/users", Msg::kUserRemoved, user)));
      }
    } else {
      return not_found();
    }
    if (answer.http == 404) return not_found();
    if (answer.ok()) return Finish(ctx, Redirect(WithNotice(UserPagePath(user), answer.done, answer.arg)));
    // Shown on the user's page, as it is now.
    Result<std::optional<RelayService::UserInfo>> info = FindUser(contract, user);
    if (!info.ok() || !*info) return not_found();
    Result<std::vector<RelayService::Device>> devices = service.ListDevices(contract, (*info)->user_id);
    return error_page(answer, Msg::kEditUserTitle, Section::kUsers,
                      EditUserBody(viewer, **info, devices.ok() ? *devices : std::vector<RelayService::Device>{}));
  }
  if (path == "/admin/devices" && get) {
    Result<std::vector<DeviceRow>> devices = ListDevices(contract);
    if (!devices.ok()) return failed_read(devices.status());
    return page(200, Msg::kDevicesTitle, Section::kDevices, DevicesBody(viewer, *devices));
  }
  if (path == "/admin/devices/revoke" && post) {
    const Answer answer = RevokeDevice(ctx, Field(form, "user"), Field(form, "device"));
    if (answer.http == 404) return not_found();
    if (answer.ok()) return Finish(ctx, Redirect(WithNotice("/admin/devices", answer.done, answer.arg)));
    Result<std::vector<DeviceRow>> devices = ListDevices(contract);
    return error_page(answer, Msg::kDevicesTitle, Section::kDevices,
                      DevicesBody(viewer, devices.ok() ? *devices : std::vector<DeviceRow>{}));
  }
  if (path == "/admin/key" && get) {
    Result<RelayService::OfficeKeyStatus> key = service.GetOfficeKeyStatus(contract);
    if (!key.ok()) return failed_read(key.status());
    return page(200, Msg::kKeyTitle, Section::kKey, KeyBody(viewer, *key));
  }
  if (path == "/admin/audit" && get) {
    constexpr size_t kPageRows = 100;
    uint64_t before = UINT64_MAX;
    if (const std::string text = Field(params, "before"); !text.empty()) {
      before = std::strtoull(text.c_str(), nullptr, 10);
    }
    Result<std::vector<RelayService::AuditEntry>> entries = service.ListAudit(contract, before, kPageRows);
    if (!entries.ok()) return failed_read(entries.status());
    std::optional<uint64_t> older;
    if (entries->size() == kPageRows) older = entries->back().time_ms;
    return page(200, Msg::kAuditTitle, Section::kAudit, AuditBody(viewer, *entries, older));
  }
  return not_found();
}

}  // namespace daicho::relay::admin
