#include "relay/admin/admin_panel.h"

#include <array>
#include <regex>

#include "core/hex.h"
#include "crypto/secret_token.h"
#include "relay/admin/assets.h"
#include "relay/admin/form_rules.h"
#include "relay/admin/mail_text.h"
#include "relay/admin/panel_impl.h"
#include "relay/entitlements_view.h"
#include "relay/password.h"
#include "web/accept_language.h"
#include "web/origin.h"

namespace daicho::relay::admin {
namespace {

constexpr std::string_view kLangCookie = "daicho_lang";
constexpr std::string_view kPreSessionCookie = "daicho_csrf";
constexpr std::string_view kCsrfLabel = "daicho-csrf-v1";
constexpr size_t kPreSessionBytes = 32;

// A request over a RequestLimiter's limit, told when to come back.
Answer TooManyRequests(const Context& ctx, uint64_t wait_ms) {
  const uint64_t seconds = (wait_ms + 999) / 1000;
  return Refused(429, Format(Msg::kTooManyRequests, ctx.lang, {std::to_string(seconds)}), "too_many_requests", seconds);
}

bool IsLoopback(std::string_view address) { return address.starts_with("127.") || address == "::1"; }

Lang LangOf(std::string_view tag) { return tag == "en" ? Lang::kEn : Lang::kJa; }

// The session a cookie or bearer value names: "CONTRACT.HEXTOKEN".
std::optional<std::pair<ContractNumber, std::string>> ParseSessionValue(std::string_view value) {
  const size_t dot = value.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  Result<ContractNumber> contract = ContractNumber::Parse(value.substr(0, dot));
  std::optional<std::string> token = core::HexDecode(value.substr(dot + 1));
  if (!contract.ok() || !token || token->size() != RelayService::kPanelTokenBytes) return std::nullopt;
  return std::make_pair(*contract, *token);
}

}  // namespace

// ---- Small pieces ----

std::string Via(const Context& ctx) { return ctx.request.path.starts_with("/api/") ? "api" : "panel"; }

uint64_t RetryAfterSeconds(std::string_view message) {
  static const std::regex kRetry("retry in ([0-9]+) s");
  std::match_results<std::string_view::const_iterator> match;
  if (!std::regex_search(message.begin(), message.end(), match, kRetry)) return 0;
  return std::stoull(match[1].str());
}

Viewer Context::viewer() const {
  Viewer viewer;
  viewer.lang = lang;
  viewer.csrf = csrf;
  if (caller && contract) {
    viewer.contract = contract->str();
    viewer.user_id = caller->user_id;
    viewer.admin = caller->admin;
    viewer.vendor = caller->vendor;
  }
  return viewer;
}

// ---- The panel ----

AdminPanel::AdminPanel(RelayService& service, Mailer& mailer, AdminPanelOptions options)
    : impl_(std::make_unique<Impl>(service, mailer, std::move(options))) {}

AdminPanel::~AdminPanel() = default;

std::vector<std::string> AdminPanel::Prefixes() { return {"/admin", "/api/"}; }

std::vector<std::pair<std::string, size_t>> AdminPanel::UploadPaths() {
  return {{"/admin/vendor/filings", kMaxUploadBytes}, {"/api/v1/vendor/filings", kMaxUploadBytes}};
}

web::HttpResponse AdminPanel::Handle(const web::HttpRequest& request) { return impl_->Handle(request); }

AdminPanel::Impl::Impl(RelayService& service, Mailer& mailer, AdminPanelOptions options)
    : service(service),
      mailer(mailer),
      options(std::move(options)),
      clock(this->options.clock ? this->options.clock : SystemClock()),
      reset_addresses(this->options.reset_per_address, clock),
      reset_accounts(this->options.reset_per_account, clock),
      confirm_addresses(this->options.confirm_per_address, clock) {
  reset_worker = std::thread([this] { RunResets(); });
}

AdminPanel::Impl::~Impl() {
  {
    std::lock_guard lock(reset_mutex);
    stopping = true;
  }
  reset_wake.notify_all();
  reset_worker.join();
}

void AdminPanel::Impl::Log(const std::string& event, const std::string& detail) const {
  if (options.log) options.log(event, detail);
}

web::HttpResponse AdminPanel::Impl::Handle(const web::HttpRequest& request) {
  Context ctx(request);
  ctx.cookies = web::ParseCookies(request.Header("cookie"));
  static const std::vector<std::string> kLanguages = {"ja", "en"};
  const std::optional<std::string> lang_cookie = web::FindCookie(ctx.cookies, kLangCookie);
  ctx.lang = LangOf(lang_cookie && (*lang_cookie == "ja" || *lang_cookie == "en")
                        ? *lang_cookie
                        : web::PickLanguage(request.Header("accept-language"), kLanguages, "ja"));

  const bool api = request.path.starts_with("/api/");
  // Passwords and session cookies never cross a network in clear.
  if (!request.tls && !IsLoopback(request.peer_address)) {
    web::HttpResponse refused{403, {}, {}};
    if (api) {
      refused.headers.emplace_back("Content-Type", "application/json");
      refused.body =
          R"({"error":"https_required","message":")" + std::string(Text(Msg::kHttpsOnly, Lang::kEn)) + "\"}\n";
    } else {
      refused.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
      refused.body =
          std::string(Text(Msg::kHttpsOnly, Lang::kJa)) + "\n" + std::string(Text(Msg::kHttpsOnly, Lang::kEn)) + "\n";
    }
    return Finish(ctx, std::move(refused));
  }

  // The style sheet and the script need no session: served before any
  // store read, and cacheable.
  if (request.method == "GET" || request.method == "HEAD") {
    if (request.path == kStylePath) {
      return Finish(ctx, {200, {{"Content-Type", "text/css; charset=utf-8"}}, std::string(kStyleCss)}, true);
    }
    if (request.path == kScriptPath) {
      return Finish(ctx, {200, {{"Content-Type", "text/javascript; charset=utf-8"}}, std::string(kFormsJs)}, true);
    }
  }

  // The session: a bearer token for the API, the cookie for pages.
  std::optional<std::pair<ContractNumber, std::string>> session;
  if (api) {
    const std::string_view authorization = request.Header("authorization");
    if (authorization.starts_with("Bearer ")) session = ParseSessionValue(authorization.substr(7));
  } else if (auto cookie = web::FindCookie(ctx.cookies, SessionCookieName(ctx))) {
    session = ParseSessionValue(*cookie);
  }
  if (session) {
    Result<RelayService::PanelCaller> caller =
        service.CheckPanelSession(session->first, session->second, request.peer_address);
    if (caller.ok()) {
      ctx.contract = session->first;
      ctx.token = session->second;
      ctx.caller = *caller;
    } else if (!api) {
      EndSession(ctx);  // a dead cookie is cleared
    }
  }
  if (ctx.caller) {
    ctx.csrf = core::HexEncode(crypto::KeyedTokenHash(ctx.token, kCsrfLabel));
  } else if (!api) {
    // Forms before a login (log in, reset) carry a random value that must
    // match a cookie only this site can set (double submit).
    std::optional<std::string> pre = web::FindCookie(ctx.cookies, kPreSessionCookie);
    if (pre && pre->size() == 2 * kPreSessionBytes && core::HexDecode(*pre)) {
      ctx.csrf = *pre;
    } else {
      ctx.csrf = core::HexEncode(crypto::RandomToken(kPreSessionBytes));
      web::SetCookie cookie;
      cookie.name = std::string(kPreSessionCookie);
      cookie.value = ctx.csrf;
      cookie.secure = request.tls;
      if (Result<std::string> value = web::BuildSetCookie(cookie); value.ok()) {
        ctx.set_cookies.emplace_back("Set-Cookie", *value);
      }
    }
  }
  return api ? HandleJson(ctx) : HandleHtml(ctx);
}

std::string AdminPanel::Impl::SessionCookieName(const Context& ctx) const {
  // __Host-: the browser keeps it only if Secure, for this host, path "/".
  return ctx.request.tls ? "__Host-daicho_session" : "daicho_session";
}

void AdminPanel::Impl::StartSession(Context& ctx, const ContractNumber& contract,
                                    const RelayService::PanelSession& session) {
  ctx.contract = contract;
  ctx.token = session.token;
  ctx.caller = RelayService::PanelCaller{session.user_id, session.admin, ctx.request.peer_address, session.vendor};
  ctx.csrf = core::HexEncode(crypto::KeyedTokenHash(ctx.token, kCsrfLabel));
  web::SetCookie cookie;
  cookie.name = SessionCookieName(ctx);
  cookie.value = contract.str() + "." + core::HexEncode(session.token);
  cookie.secure = ctx.request.tls;
  if (Result<std::string> value = web::BuildSetCookie(cookie); value.ok()) {
    ctx.set_cookies.emplace_back("Set-Cookie", *value);
  }
}

void AdminPanel::Impl::EndSession(Context& ctx) {
  if (ctx.contract && !ctx.token.empty()) (void)service.ClosePanelSession(*ctx.contract, ctx.token);
  ctx.caller.reset();
  ctx.token.clear();
  web::SetCookie cookie;
  cookie.name = SessionCookieName(ctx);
  cookie.value = "";
  cookie.secure = ctx.request.tls;
  cookie.expire_now = true;
  if (Result<std::string> value = web::BuildSetCookie(cookie); value.ok()) {
    ctx.set_cookies.emplace_back("Set-Cookie", *value);
  }
}

bool AdminPanel::Impl::OriginAllowed(const Context& ctx) const {
  const std::string_view origin = ctx.request.Header("origin");
  if (!origin.empty() &&
      !web::OriginAllowed(origin, ctx.request.Header("host"), ctx.request.tls, options.allowed_origins)) {
    return false;
  }
  // Browsers without Origin on a form post still say where it came from.
  const std::string_view site = ctx.request.Header("sec-fetch-site");
  return site.empty() || site == "same-origin" || site == "none";
}

web::HttpResponse AdminPanel::Impl::Finish(Context& ctx, web::HttpResponse response, bool cacheable) const {
  auto& h = response.headers;
  // No inline script or style anywhere: the CSP can forbid them outright.
  h.emplace_back("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
                 "frame-ancestors 'none'; base-uri 'none'");
  h.emplace_back("X-Frame-Options", "DENY");
  h.emplace_back("X-Content-Type-Options", "nosniff");
  // Not no-referrer: under it a browser sends "Origin: null" on form posts,
  // which the Origin check must refuse.
  h.emplace_back("Referrer-Policy", "same-origin");
  h.emplace_back("Cache-Control", cacheable ? "public, max-age=3600" : "no-store");
  if (ctx.request.tls) h.emplace_back("Strict-Transport-Security", "max-age=31536000");
  for (auto& cookie : ctx.set_cookies) h.push_back(std::move(cookie));
  ctx.set_cookies.clear();
  return response;
}

// ---- Operations ----

Answer AdminPanel::Impl::Done(const Context& ctx, Msg msg, std::string_view arg, int http) const {
  Answer answer;
  answer.http = http;
  answer.text = Format(msg, ctx.lang, {arg});
  answer.done = msg;
  answer.arg = std::string(arg);
  return answer;
}

Answer AdminPanel::Impl::Invalid(std::string text) const { return Refused(400, std::move(text), "invalid", 0); }

Answer AdminPanel::Impl::NotFound(const Context& ctx) const {
  return Refused(404, Format(Msg::kNotFound, ctx.lang), "not_found", 0);
}

Answer AdminPanel::Impl::Explain(const Context& ctx, const Status& status, Msg unauthenticated) const {
  const Lang lang = ctx.lang;
  switch (status.code()) {
    case Code::kUnauthenticated:
      return Refused(401, Format(unauthenticated, lang), "unauthenticated", 0);
    case Code::kUnavailable: {
      const uint64_t seconds = RetryAfterSeconds(status.message());
      if (seconds > 0) {
        return Refused(429, Format(Msg::kLoginThrottled, lang, {std::to_string(seconds)}), "throttled", seconds);
      }
      return Refused(503, Format(Msg::kBusy, lang), "busy", 1);
    }
    // A non-admin's attempt looks like a page that is not there.
    case Code::kPermissionDenied:
      if (ctx.caller && !ctx.caller->admin) return NotFound(ctx);
      return Refused(403, Format(Msg::kAccountDisabled, lang), "disabled", 0);
    case Code::kFailedPrecondition:
      return Refused(409, Format(Msg::kLastAdmin, lang), "last_admin", 0);
    case Code::kAlreadyExists:
      return Refused(409, Format(Msg::kUserExists, lang), "exists", 0);
    case Code::kNotFound:
      return NotFound(ctx);
    case Code::kInvalidArgument:
      return Invalid(status.message());
    default:
      Log("panel_error", status.ToString());
      return Refused(500, Format(Msg::kInternalError, lang), "internal", 0);
  }
}

Answer AdminPanel::Impl::LogIn(Context& ctx, std::string_view contract_text, std::string_view user_id,
                               std::string_view password) {
  Result<ContractNumber> contract = ContractNumber::ParseTyped(contract_text);
  if (!contract.ok()) return Invalid(Format(Msg::kContractMalformed, ctx.lang));
  Result<RelayService::PanelSession> session =
      service.OpenPanelSession(*contract, user_id, password, ctx.request.peer_address, Via(ctx));
  if (!session.ok()) return Explain(ctx, session.status());
  StartSession(ctx, *contract, *session);
  return Done(ctx, Msg::kLoginTitle);
}

Answer AdminPanel::Impl::AddUser(Context& ctx, std::string_view user_id, std::string_view password) {
  if (auto problem = UserIdProblem(user_id, ctx.lang)) return Invalid(*problem);
  if (auto problem = PasswordProblem(password, ctx.lang)) return Invalid(*problem);
  const Status added = service.AddUser(*ctx.contract, user_id, password, ctx.caller->actor(Via(ctx)));
  if (!added.ok()) return Explain(ctx, added);
  return Done(ctx, Msg::kUserAdded, user_id, 201);
}

Answer AdminPanel::Impl::SetPassword(Context& ctx, std::string_view user_id, std::string_view password) {
  if (auto problem = PasswordProblem(password, ctx.lang)) return Invalid(*problem);
  const Status set = service.SetPassword(*ctx.contract, user_id, password, ctx.caller->actor(Via(ctx)));
  if (!set.ok()) return Explain(ctx, set);
  return Done(ctx, Msg::kPasswordChangedFor, user_id);
}

Answer AdminPanel::Impl::SetDisabled(Context& ctx, std::string_view user_id, bool disabled) {
  const Status set = service.SetUserDisabled(*ctx.contract, user_id, disabled, ctx.caller->actor(Via(ctx)));
  if (!set.ok()) return Explain(ctx, set);
  return Done(ctx, disabled ? Msg::kUserDisabled : Msg::kUserEnabled, user_id);
}

Answer AdminPanel::Impl::SetAdmin(Context& ctx, std::string_view user_id, bool admin) {
  const Status set = service.SetUserAdmin(*ctx.contract, user_id, admin, ctx.caller->actor(Via(ctx)));
  if (!set.ok()) return Explain(ctx, set);
  return Done(ctx, admin ? Msg::kAdminGranted : Msg::kAdminRevoked, user_id);
}

Answer AdminPanel::Impl::RemoveUser(Context& ctx, std::string_view user_id) {
  const Status removed = service.RemoveUser(*ctx.contract, user_id, ctx.caller->actor(Via(ctx)));
  if (!removed.ok()) return Explain(ctx, removed);
  return Done(ctx, Msg::kUserRemoved, user_id);
}

Answer AdminPanel::Impl::RevokeDevice(Context& ctx, std::string_view user_id, std::string_view device) {
  // The device list names each device, so its name is shown back.
  std::string name(device);
  if (Result<std::vector<RelayService::Device>> devices = service.ListDevices(*ctx.contract, user_id); devices.ok()) {
    for (const RelayService::Device& d : *devices) {
      if (d.replica.ToHex() == device) name = d.name;
    }
  }
  const Status revoked = service.RevokeDevice(*ctx.contract, user_id, device, ctx.caller->actor(Via(ctx)));
  // Two devices from before v3 sharing a name: the relay lists their ids.
  if (revoked.code() == Code::kFailedPrecondition) return Refused(409, revoked.message(), "ambiguous");
  if (!revoked.ok()) return Explain(ctx, revoked);
  return Done(ctx, Msg::kDeviceRevoked, name);
}

Answer AdminPanel::Impl::SetFreeOption(Context& ctx, std::string_view option) {
  const std::optional<entitlements::Line> line = ParseLineName(option);
  if (!line || *line == entitlements::Line::kBase) return Invalid(Format(Msg::kRequired, ctx.lang));
  const auto chosen = static_cast<entitlements::Option>(*line);
  const Status set = service.SetFreeOption(*ctx.contract, chosen, ctx.caller->actor(Via(ctx)));
  if (!set.ok()) return Explain(ctx, set);
  const entitlements::Text name = entitlements::OptionName(chosen);
  return Done(ctx, Msg::kFreeOptionChanged, ctx.lang == Lang::kJa ? name.ja : name.en);
}

Answer AdminPanel::Impl::ChangeOwnPassword(Context& ctx, std::string_view current, std::string_view password) {
  if (auto problem = PasswordProblem(password, ctx.lang)) return Invalid(*problem);
  const ContractNumber contract = *ctx.contract;
  const std::string user_id = ctx.caller->user_id;
  Result<RelayService::PanelSession> session =
      service.ChangeOwnPassword(contract, user_id, current, password, ctx.request.peer_address, Via(ctx));
  if (!session.ok()) return Explain(ctx, session.status(), Msg::kCurrentPasswordWrong);
  StartSession(ctx, contract, *session);
  if (IsMailAddress(user_id)) {
    mailer.Post(PasswordChangedMail(user_id, contract.str(), clock->NowMillis()));
  }
  return Done(ctx, Msg::kOwnPasswordChanged);
}

Answer AdminPanel::Impl::RequestReset(Context& ctx, std::string_view contract_text, std::string_view user_id) {
  const std::string& address = ctx.request.peer_address;
  if (const uint64_t wait_ms = reset_addresses.Take(address); wait_ms > 0) {
    Log("reset_limited", "address=" + address);
    return TooManyRequests(ctx, wait_ms);
  }
  // From here on, the answer is the same whatever the account: what
  // differs happens on the worker thread.
  Result<ContractNumber> contract = ContractNumber::ParseTyped(contract_text);
  if (contract.ok() && !user_id.empty()) {
    const std::string account = contract->str() + "/" + FoldUserId(user_id);
    if (reset_accounts.Take(account) > 0) {
      Log("reset_limited", "account=" + account);
    } else {
      std::lock_guard lock(reset_mutex);
      if (reset_queue.size() < options.reset_queue) {
        reset_queue.push_back({*contract, std::string(user_id), address, Via(ctx)});
        reset_wake.notify_one();
      } else {
        Log("reset_dropped", "the reset queue is full");
      }
    }
  }
  return Done(ctx, Msg::kResetSent, std::to_string(service.ResetCodeValidMinutes()), 202);
}

void AdminPanel::Impl::RunResets() {
  std::unique_lock lock(reset_mutex);
  while (true) {
    reset_wake.wait(lock, [this] { return stopping || !reset_queue.empty(); });
    if (stopping) return;
    ResetRequest request = std::move(reset_queue.front());
    reset_queue.pop_front();
    lock.unlock();
    Result<std::optional<RelayService::IssuedResetCode>> issued =
        service.IssueResetCode(request.contract, request.user_id, request.address, request.via);
    if (!issued.ok()) {
      Log("reset_error", issued.status().ToString());
    } else if (*issued) {
      const RelayService::IssuedResetCode& code = **issued;
      mailer.Post(ResetCodeMail(code.user_id, request.contract.str(), code.code, service.ResetCodeValidMinutes()));
    }
    lock.lock();
  }
}

Answer AdminPanel::Impl::ConfirmReset(Context& ctx, std::string_view contract_text, std::string_view user_id,
                                      std::string_view code, std::string_view password) {
  if (auto problem = PasswordProblem(password, ctx.lang)) return Invalid(*problem);
  const std::string& address = ctx.request.peer_address;
  if (const uint64_t wait_ms = confirm_addresses.Take(address); wait_ms > 0) return TooManyRequests(ctx, wait_ms);
  Result<ContractNumber> contract = ContractNumber::ParseTyped(contract_text);
  if (!contract.ok()) return Invalid(Format(Msg::kContractMalformed, ctx.lang));
  const Status reset = service.ConfirmPasswordReset(*contract, user_id, code, password, address, Via(ctx));
  if (!reset.ok()) return Explain(ctx, reset, Msg::kResetFailed);
  if (IsMailAddress(user_id)) {
    mailer.Post(PasswordChangedMail(user_id, contract->str(), clock->NowMillis()));
  }
  return Done(ctx, Msg::kResetDone);
}

Result<std::vector<DeviceRow>> AdminPanel::Impl::ListDevices(const ContractNumber& contract) const {
  DAICHO_ASSIGN_OR_RETURN(auto users, service.ListUserInfo(contract));
  std::vector<DeviceRow> rows;
  for (const RelayService::UserInfo& user : users) {
    if (user.devices == 0) continue;
    DAICHO_ASSIGN_OR_RETURN(auto devices, service.ListDevices(contract, user.user_id));
    for (RelayService::Device& d : devices) rows.push_back({user.user_id, std::move(d)});
  }
  return rows;
}

Result<std::optional<RelayService::UserInfo>> AdminPanel::Impl::FindUser(const ContractNumber& contract,
                                                                         std::string_view user_id) const {
  DAICHO_ASSIGN_OR_RETURN(auto users, service.ListUserInfo(contract));
  const std::string folded = FoldUserId(user_id);
  for (RelayService::UserInfo& user : users) {
    if (FoldUserId(user.user_id) == folded) return std::optional<RelayService::UserInfo>(std::move(user));
  }
  return std::optional<RelayService::UserInfo>();
}

}  // namespace daicho::relay::admin
