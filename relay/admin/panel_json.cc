// The panel's JSON API (docs/admin-api.md): the same operations as the
// pages, for a vendor's scripts. A session is opened with POST
// /api/v1/login and then named in `Authorization: Bearer CONTRACT.TOKEN`;
// browsers never send that header by themselves, so no CSRF token is needed.
#include <vector>

#include <nlohmann/json.hpp>

#include "core/hex.h"
#include "relay/admin/panel_impl.h"
#include "relay/entitlements_view.h"
#include "text/date_text.h"

namespace daicho::relay::admin {
namespace {

using nlohmann::json;

web::HttpResponse Json(int status, const json& body) {
  return web::HttpResponse{status, {{"Content-Type", "application/json"}}, body.dump() + "\n"};
}

json Error(const Answer& answer) { return json{{"error", answer.error}, {"message", answer.text}}; }

std::string Text(const json& body, const char* name) {
  const auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json UserJson(const RelayService::UserInfo& u) {
  return json{{"user", u.user_id},
              {"admin", u.admin},
              {"disabled", u.disabled},
              {"devices", u.devices},
              {"last_sync_ms", u.last_sync_ms},
              {"last_address", u.last_address}};
}

json DeviceJson(const DeviceRow& row) {
  const RelayService::Device& d = row.device;
  return json{{"user", row.user_id},
              {"name", d.name},
              {"replica", d.replica.IsZero() ? std::string() : d.replica.ToHex()},
              {"short_id", d.ShortId()},
              {"last_sync_ms", d.last_sync_ms},
              {"last_address", d.last_address},
              {"unsynced_records", d.unsynced_records ? json(*d.unsynced_records) : json(nullptr)}};
}

json AuditJson(const RelayService::AuditEntry& e) {
  return json{{"time_ms", e.time_ms}, {"actor", e.actor},   {"address", e.address}, {"via", e.via},
              {"action", e.action},   {"target", e.target}, {"detail", e.detail}};
}

// An evaluation as both entitlements routes answer it.
json EntitlementsJson(const ContractNumber& contract, const std::optional<entitlements::Evaluation>& evaluation) {
  json out = evaluation ? EvaluationJson(*evaluation) : json::object();
  out["contract"] = contract.str();
  out["managed"] = evaluation.has_value();
  return out;
}

json LicenceJson(const entitlements::Licence& licence) {
  json options = json::array();
  if (licence.backup_applied) options.push_back("backup");
  if (licence.billing_applied) options.push_back("billing");
  return json{{"installed", licence.installed ? json(text::FormatIsoDate(*licence.installed)) : json(nullptr)},
              {"renews", text::FormatIsoDate(licence.first_renewal)},
              {"licences", licence.licences},
              {"options", options},
              {"free_option", LineName(static_cast<entitlements::Line>(licence.free_choice))}};
}

json VendorRowJson(const VendorContractRow& row) {
  json out{{"contract", row.info.number.str()},
           {"disabled", row.info.disabled},
           {"users", row.info.users},
           {"managed", row.evaluation.has_value()},
           {"licence", row.licence ? LicenceJson(*row.licence) : json(nullptr)}};
  if (row.evaluation) {
    const entitlements::YearEvaluation& year = row.evaluation->current;
    out["year_start"] = text::FormatIsoDate(year.year_start);
    for (const entitlements::LineResult* line : {&year.base, &year.backup, &year.billing}) {
      out[std::string(LineName(line->line))] = LineStatusName(line->status);
    }
    out["fee_due_yen"] = FeeDueYen(year);
  }
  return out;
}

json PaymentJson(const PaymentRecord& p) {
  return json{{"time_ms", p.time_ms},
              {"option", LineName(p.line)},
              {"licence_year", text::FormatIsoDate(p.licence_year)},
              {"amount_yen", p.amount_yen},
              {"reference", p.reference},
              {"note", p.note},
              {"actor", p.actor}};
}

json FilingJson(const FilingRecord& f) {
  return json{{"company_id", f.company_id},
              {"date", text::FormatIsoDate(f.date)},
              {"filing_id", f.filing_id},
              {"imported_ms", f.imported_ms}};
}

// `items` as a JSON array, each by `to_json`.
template <typename Item, typename ToJson>
json ListOf(const std::vector<Item>& items, ToJson to_json) {
  json list = json::array();
  for (const Item& item : items) list.push_back(to_json(item));
  return list;
}

// A JSON value as form text: strings as they are, numbers written out.
std::string Scalar(const json& body, const char* name) {
  const auto it = body.find(name);
  if (it == body.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

}  // namespace

web::HttpResponse AdminPanel::Impl::HandleJson(Context& ctx) {
  const web::HttpRequest& request = ctx.request;
  const std::string& path = request.path;
  const bool get = request.method == "GET";
  // PUT only replaces a contract's licence; it is read like a POST.
  const bool post = request.method == "POST" || request.method == "PUT";
  // The vendor's filings upload is CSV, not JSON.
  const bool csv_body = path == "/api/v1/vendor/filings";
  if (request.method == "PUT" && !(path.starts_with("/api/v1/vendor/contracts/") && path.ends_with("/licence"))) {
    return Finish(ctx, Json(405, {{"error", "method_not_allowed"}, {"message", "use GET or POST"}}));
  }

  auto reply = [&](const Answer& answer, json ok_body = json::object()) {
    if (!answer.ok()) {
      web::HttpResponse response = Json(answer.http, Error(answer));
      if (answer.retry_after_s > 0) response.headers.emplace_back("Retry-After", std::to_string(answer.retry_after_s));
      return Finish(ctx, std::move(response));
    }
    ok_body["message"] = answer.text;
    return Finish(ctx, Json(answer.http, ok_body));
  };
  auto failed = [&](const Status& status) { return reply(Explain(ctx, status)); };
  auto not_found = [&] { return reply(NotFound(ctx)); };

  json body = json::object();
  if (post) {
    // A page of another site cannot post JSON here unnoticed either.
    if (!OriginAllowed(ctx)) return reply(Refused(403, "request from another site refused", "forbidden", 0));
    if (!request.body.empty() && !csv_body) {
      body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
      if (!body.is_object()) return reply(Invalid("the body must be a JSON object"));
    }
  } else if (!get) {
    return reply(Refused(405, "use GET, POST or PUT", "method_not_allowed", 0));
  }

  // ---- Without a session ----
  if (path == "/api/v1/login" && post) {
    const Answer answer = LogIn(ctx, Text(body, "contract"), Text(body, "user"), Text(body, "password"));
    if (!answer.ok()) return reply(answer);
    return reply(answer, {{"token", ctx.contract->str() + "." + core::HexEncode(ctx.token)},
                          {"user", ctx.caller->user_id},
                          {"admin", ctx.caller->admin}});
  }
  if (path == "/api/v1/reset" && post) {
    web::HttpResponse response = reply(RequestReset(ctx, Text(body, "contract"), Text(body, "user")));
    response.min_latency = options.reset_answer_floor;
    return response;
  }
  if (path == "/api/v1/reset/confirm" && post) {
    return reply(
        ConfirmReset(ctx, Text(body, "contract"), Text(body, "user"), Text(body, "code"), Text(body, "password")));
  }

  // ---- With a session ----
  if (!ctx.caller) return reply(Explain(ctx, Status(Code::kUnauthenticated, ""), Msg::kSessionEnded));
  const ContractNumber contract = *ctx.contract;
  if (path == "/api/v1/logout" && post) {
    EndSession(ctx);
    return reply(Done(ctx, Msg::kLoggedOut));
  }
  if (path == "/api/v1/me/password" && post) {
    const Answer answer = ChangeOwnPassword(ctx, Text(body, "current"), Text(body, "password"));
    if (!answer.ok()) return reply(answer);
    return reply(answer, {{"token", contract.str() + "." + core::HexEncode(ctx.token)}});
  }
  if (path == "/api/v1/entitlements" && get) {
    Result<std::optional<entitlements::Evaluation>> evaluation = service.EvaluateEntitlements(contract);
    if (!evaluation.ok()) return failed(evaluation.status());
    return Finish(ctx, Json(200, EntitlementsJson(contract, *evaluation)));
  }
  if (path == "/api/v1/entitlements/free-option" && post) return reply(SetFreeOption(ctx, Text(body, "option")));

  // ---- The vendor view: not there for an office's users ----
  if (path.starts_with("/api/v1/vendor/")) {
    if (!ctx.vendor()) return not_found();
    if (path == "/api/v1/vendor/contracts" && get) {
      Result<std::vector<VendorContractRow>> rows = VendorContracts();
      if (!rows.ok()) return failed(rows.status());
      return Finish(ctx, Json(200, {{"contracts", ListOf(*rows, VendorRowJson)}}));
    }
    if (path == "/api/v1/vendor/filings" && request.method == "POST") {
      std::string encoding = "auto";
      bool dry_run = false;
      if (Result<web::FormFields> query = web::ParseForm(request.query, {}); query.ok()) {
        for (const auto& [name, value] : *query) {
          if (name == "encoding") encoding = value;
          if (name == "dry_run") dry_run = value == "1" || value == "true";
        }
      }
      FilingsUpload upload;
      const Answer answer = ImportFilings(ctx, request.body, encoding, dry_run, upload);
      if (answer.error == "bad_rows") {
        json errors = json::array();
        for (const auto& problem : upload.problems)
          errors.push_back({{"line", problem.line}, {"message", problem.message}});
        return Finish(ctx, Json(422, {{"error", "bad_rows"},
                                      {"message", answer.text},
                                      {"bad_rows", upload.problems.size()},
                                      {"errors", errors}}));
      }
      if (!answer.ok()) return reply(answer);
      json contracts = json::array();
      for (const ContractNumber& number : upload.imported->contracts) contracts.push_back(number.str());
      return reply(answer, {{"rows", upload.imported->rows},
                            {"new", upload.imported->added},
                            {"present", upload.imported->present},
                            {"contracts", contracts},
                            {"encoding", upload.encoding},
                            {"dry_run", dry_run}});
    }
    // /api/v1/vendor/contracts/{n}/{what}
    constexpr std::string_view kContracts = "/api/v1/vendor/contracts/";
    if (!path.starts_with(kContracts)) return not_found();
    const std::string rest = path.substr(kContracts.size());
    const size_t slash = rest.find('/');
    const std::optional<ContractNumber> number = OfficeContract(rest.substr(0, slash));
    if (!number || slash == std::string::npos) return not_found();
    const std::string what = rest.substr(slash + 1);
    if (Result<bool> exists = service.HasContract(*number); !exists.ok() || !*exists) return not_found();
    if (what == "entitlements" && get) {
      Result<std::optional<entitlements::Evaluation>> evaluation = service.EvaluateEntitlements(*number);
      if (!evaluation.ok()) return failed(evaluation.status());
      json out = EntitlementsJson(*number, *evaluation);
      Result<std::optional<entitlements::Licence>> licence = service.GetLicence(*number);
      if (!licence.ok()) return failed(licence.status());
      out["licence"] = *licence ? LicenceJson(**licence) : json(nullptr);
      return Finish(ctx, Json(200, out));
    }
    if (what == "licence" && post) {
      LicenceInput input{Scalar(body, "installed"), Scalar(body, "renews"), Scalar(body, "licences")};
      if (input.licences.empty()) input.licences = "1";
      if (const auto options = body.find("options"); options != body.end() && options->is_array()) {
        for (const json& option : *options) {
          if (option == "backup") input.backup = true;
          if (option == "billing") input.billing = true;
        }
      }
      return reply(SetLicence(ctx, *number, input));
    }
    if (what == "payments" && get) {
      Result<std::vector<PaymentRecord>> payments = service.ListPayments(*number);
      if (!payments.ok()) return failed(payments.status());
      return Finish(ctx, Json(200, {{"payments", ListOf(*payments, PaymentJson)}}));
    }
    if (what == "payments" && request.method == "POST") {
      return reply(RecordPayment(ctx, *number,
                                 {Text(body, "option"), Scalar(body, "amount_yen"), Text(body, "licence_year"),
                                  Text(body, "reference"), Text(body, "note")}));
    }
    if (what == "filings" && get) {
      Result<std::vector<FilingRecord>> filings = service.ListFilings(*number);
      if (!filings.ok()) return failed(filings.status());
      return Finish(ctx, Json(200, {{"filings", ListOf(*filings, FilingJson)}}));
    }
    return not_found();
  }
  if (!ctx.admin()) return not_found();

  if (path == "/api/v1/users" && get) {
    Result<std::vector<RelayService::UserInfo>> users = service.ListUserInfo(contract);
    if (!users.ok()) return failed(users.status());
    json list = json::array();
    for (const auto& u : *users) list.push_back(UserJson(u));
    return Finish(ctx, Json(200, {{"users", list}}));
  }
  if (path == "/api/v1/users" && post) return reply(AddUser(ctx, Text(body, "user"), Text(body, "password")));
  if (path.starts_with("/api/v1/users/") && post) {
    const std::string action = path.substr(std::string_view("/api/v1/users/").size());
    const std::string user = Text(body, "user");
    if (action == "password") return reply(SetPassword(ctx, user, Text(body, "password")));
    if (action == "disable" || action == "enable") return reply(SetDisabled(ctx, user, action == "disable"));
    if (action == "admin" || action == "unadmin") return reply(SetAdmin(ctx, user, action == "admin"));
    if (action == "remove") return reply(RemoveUser(ctx, user));
    return not_found();
  }
  if (path == "/api/v1/devices" && get) {
    Result<std::vector<DeviceRow>> devices = ListDevices(contract);
    if (!devices.ok()) return failed(devices.status());
    json list = json::array();
    for (const auto& row : *devices) list.push_back(DeviceJson(row));
    return Finish(ctx, Json(200, {{"devices", list}}));
  }
  if (path == "/api/v1/devices/revoke" && post) {
    return reply(RevokeDevice(ctx, Text(body, "user"), Text(body, "device")));
  }
  if (path == "/api/v1/key" && get) {
    Result<RelayService::OfficeKeyStatus> key = service.GetOfficeKeyStatus(contract);
    if (!key.ok()) return failed(key.status());
    return Finish(
        ctx, Json(200, {{"key_id", key->key_id}, {"created_ms", key->created_ms}, {"changed_ms", key->changed_ms}}));
  }
  if (path == "/api/v1/audit" && get) {
    Result<web::FormFields> query = web::ParseForm(request.query, {});
    uint64_t before = UINT64_MAX;
    size_t limit = 100;
    if (query.ok()) {
      for (const auto& [name, value] : *query) {
        if (name == "before") before = std::strtoull(value.c_str(), nullptr, 10);
        if (name == "limit") limit = std::clamp<size_t>(std::strtoull(value.c_str(), nullptr, 10), 1, 1000);
      }
    }
    Result<std::vector<RelayService::AuditEntry>> entries = service.ListAudit(contract, before, limit);
    if (!entries.ok()) return failed(entries.status());
    json list = json::array();
    for (const auto& e : *entries) list.push_back(AuditJson(e));
    return Finish(ctx, Json(200, {{"entries", list}}));
  }
  return not_found();
}

}  // namespace daicho::relay::admin
