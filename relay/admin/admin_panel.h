// AdminPanel: the office's admin web panel (/admin/...) and the same
// operations as a JSON API (/api/v1/..., docs/admin-api.md), as one
// web::HttpHandler over RelayService. Every rule (who may do what, the
// last-admin rule, throttling, sessions, reset codes, the audit log) is
// RelayService's; the panel adds only what is about the web:
// - sessions in cookies (`daicho_session`, `__Host-` prefixed under TLS;
//   HttpOnly, SameSite=Strict, Secure under TLS) and bearer tokens for the
//   API, both a contract number and a 256-bit token the store keeps hashed;
// - a CSRF token on every form (derived from the session, or from a
//   pre-session cookie on the login and reset forms) and the Origin check;
// - security headers on every answer (CSP without inline script, no
//   framing, no caching of pages with data);
// - rate limits on password-reset requests per address and per account,
//   answered identically (same status, headers and body, after the same
//   floor of time) whether the account exists or not: a worker thread looks
//   the account up, issues the code and mails it;
// - plain HTTP only from loopback (a TLS relay serves everyone).
// Anything of another contract, and every admin page for a non-admin,
// answers "not found". The vendor view (/admin/vendor/..., /api/v1/vendor/
// ...) is there only for a session of the vendor's staff contract
// (RelayService::VendorContract): it lists every office contract and
// records licences, filings and payments through the same RelayService
// calls as daicho-relay's commands.
//
// Thread-safety: Handle may be called from several threads at once.
#ifndef DAICHO_RELAY_ADMIN_ADMIN_PANEL_H_
#define DAICHO_RELAY_ADMIN_ADMIN_PANEL_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daicho/clock.h"
#include "relay/admin/request_limiter.h"
#include "relay/mailer.h"
#include "relay/relay_service.h"
#include "web/http_message.h"

namespace daicho::relay::admin {

struct AdminPanelOptions {
  // Origins a form or API call may come from. Empty: only the relay's own
  // (the request's Host, with https under TLS).
  std::vector<std::string> allowed_origins;
  // Every answer to a reset request takes at least this long, so existing
  // and unknown accounts cannot be told apart by time.
  std::chrono::milliseconds reset_answer_floor{400};
  // Reset requests per source address (over it: "too many requests") and
  // per account (over it: silently not mailed, the answer unchanged), and
  // reset confirmations per address.
  RateLimit reset_per_address{10, std::chrono::minutes(15)};
  RateLimit reset_per_account{3, std::chrono::minutes(15)};
  RateLimit confirm_per_address{20, std::chrono::minutes(15)};
  // Reset requests waiting for the worker at most (more are dropped and
  // logged; the requester sees the same answer).
  size_t reset_queue = 256;
  // Time for rate limits and mail dates; nullptr: the system clock.
  std::shared_ptr<Clock> clock;
  // Lines for the operator's log: an event name and a detail (never a code
  // or a password).
  std::function<void(const std::string& event, const std::string& detail)> log;
};

class AdminPanel {
 public:
  // `service` and `mailer` must outlive the panel.
  AdminPanel(RelayService& service, Mailer& mailer, AdminPanelOptions options = {});
  ~AdminPanel();
  AdminPanel(const AdminPanel&) = delete;
  AdminPanel& operator=(const AdminPanel&) = delete;

  // The request paths the panel answers (for SyncServerOptions::http_prefixes).
  static std::vector<std::string> Prefixes();
  // The paths that take a filings file (the vendor view's upload) and the
  // largest body each accepts (for SyncServerOptions::http_upload_paths).
  static constexpr size_t kMaxUploadBytes = size_t{8} << 20;
  static std::vector<std::pair<std::string, size_t>> UploadPaths();

  web::HttpResponse Handle(const web::HttpRequest& request);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace daicho::relay::admin

#endif  // DAICHO_RELAY_ADMIN_ADMIN_PANEL_H_
