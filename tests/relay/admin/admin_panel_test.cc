// AdminPanel called with HttpRequest values (no socket), over a real
// RelayService on LMDB and a mailer that keeps what it is given: the rules
// that the browser tests cannot reach from loopback (plain HTTP from
// another address, TLS cookies), and the panel's small pieces.
#include "relay/admin/admin_panel.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <mutex>
#include <regex>

#include "relay/admin/form_rules.h"
#include "relay/admin/panel_impl.h"
#include "relay/admin/request_limiter.h"
#include "relay/password.h"
#include "tests/relay/relay_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"
#include "text/date_text.h"

namespace daicho::relay::admin {
namespace {

constexpr char kContract[] = "1234-5678-9012";
constexpr char kAdmin[] = "yamada@example.jp";
constexpr char kPassword[] = "Yamada2024office";

class KeptMail : public Mailer {
 public:
  void Post(MailMessage message) override {
    std::lock_guard lock(mutex_);
    messages_.push_back(std::move(message));
  }
  std::vector<MailMessage> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  std::mutex mutex_;
  std::vector<MailMessage> messages_;
};

std::string HeaderOf(const web::HttpResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

class AdminPanelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto service = OpenLmdbRelay(dir_.Sub("relay"));
    ASSERT_DAICHO_OK(service);
    service_ = std::move(*service);
    ASSERT_TRUE(service_->AddContract(Contract(kContract)).ok());
    ASSERT_TRUE(service_->AddUser(Contract(kContract), kAdmin, kPassword).ok());
    ASSERT_TRUE(service_->SetUserAdmin(Contract(kContract), kAdmin, true).ok());
    AdminPanelOptions options;
    options.reset_answer_floor = std::chrono::milliseconds(0);
    panel_ = std::make_unique<AdminPanel>(*service_, mail_, options);
  }

  web::HttpRequest Request(std::string method, std::string path, std::string body = {}) {
    web::HttpRequest request;
    request.method = std::move(method);
    request.target = path;
    const size_t q = path.find('?');
    request.path = path.substr(0, q);
    request.query = q == std::string::npos ? "" : path.substr(q + 1);
    request.body = std::move(body);
    request.peer_address = "127.0.0.1";
    request.headers = {{"host", "relay.example.jp"}};
    if (request.method == "POST") {
      request.headers.emplace_back("content-type", "application/json");
    }
    return request;
  }

  testing::TempDir dir_;
  std::unique_ptr<RelayService> service_;
  KeptMail mail_;
  std::unique_ptr<AdminPanel> panel_;
};

TEST_F(AdminPanelTest, PlainHttpIsServedToLoopbackOnly) {
  web::HttpRequest page = Request("GET", "/admin/login");
  page.peer_address = "192.0.2.7";
  web::HttpResponse refused = panel_->Handle(page);
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("https"), std::string::npos) << refused.body;
  EXPECT_EQ(HeaderOf(refused, "Set-Cookie"), "");

  web::HttpRequest login =
      Request("POST", "/api/v1/login",
              R"({"contract":"1234-5678-9012","user":"yamada@example.jp","password":"Yamada2024office"})");
  login.peer_address = "192.0.2.7";
  const uint64_t checks = service_->TEST_password_gate().stats().entered;
  EXPECT_EQ(panel_->Handle(login).status, 403);
  EXPECT_EQ(service_->TEST_password_gate().stats().entered, checks);  // the password was not even checked

  page.tls = true;
  EXPECT_EQ(panel_->Handle(page).status, 200);
}

TEST_F(AdminPanelTest, UnderTlsTheSessionCookieIsHostBoundAndSecure) {
  web::HttpRequest page = Request("GET", "/admin/login");
  page.tls = true;
  page.peer_address = "192.0.2.7";
  web::HttpResponse form = panel_->Handle(page);
  EXPECT_EQ(HeaderOf(form, "Strict-Transport-Security"), "max-age=31536000");
  const std::string pre = HeaderOf(form, "Set-Cookie");
  EXPECT_NE(pre.find("; Secure"), std::string::npos) << pre;
  const std::string csrf = std::regex_replace(pre, std::regex("^daicho_csrf=([0-9a-f]+);.*$"), "$1");

  web::HttpRequest login =
      Request("POST", "/admin/login",
              "csrf=" + csrf + "&contract=1234-5678-9012&user=yamada%40example.jp&password=" + kPassword);
  login.headers = {{"host", "relay.example.jp"},
                   {"origin", "https://relay.example.jp"},
                   {"cookie", "daicho_csrf=" + csrf},
                   {"content-type", "application/x-www-form-urlencoded"}};
  login.tls = true;
  login.peer_address = "192.0.2.7";
  web::HttpResponse answer = panel_->Handle(login);
  EXPECT_EQ(answer.status, 303) << answer.body;
  const std::string session = HeaderOf(answer, "Set-Cookie");
  EXPECT_TRUE(session.starts_with("__Host-daicho_session=1234-5678-9012.")) << session;
  EXPECT_NE(session.find("; Secure"), std::string::npos) << session;
  EXPECT_NE(session.find("HttpOnly"), std::string::npos) << session;
  EXPECT_NE(session.find("SameSite=Strict"), std::string::npos) << session;
}

TEST_F(AdminPanelTest, AResetRequestMailsACodeOnlyForAnExistingAccountAndAnswersTheSame) {
  web::HttpResponse existing =
      panel_->Handle(Request("POST", "/api/v1/reset", R"({"contract":"1234-5678-9012","user":"yamada@example.jp"})"));
  web::HttpResponse unknown =
      panel_->Handle(Request("POST", "/api/v1/reset", R"({"contract":"1234-5678-9012","user":"nobody@example.jp"})"));
  EXPECT_EQ(existing.status, 202);
  EXPECT_EQ(existing.body, unknown.body);
  EXPECT_EQ(existing.headers, unknown.headers);
  ASSERT_TRUE(testing::WaitFor([&] { return !mail_.messages().empty(); }));
  const MailMessage mail = mail_.messages()[0];
  EXPECT_EQ(mail.to, kAdmin);
  std::smatch code;
  ASSERT_TRUE(std::regex_search(mail.text, code, std::regex("\n    ([0-9]{8})\n"))) << mail.text;
  // The worker is done with the unknown one too: still one mail.
  panel_.reset();
  EXPECT_EQ(mail_.messages().size(), 1u);
}

TEST_F(AdminPanelTest, TheAuditLogSaysWhetherAChangeCameThroughThePanelOrTheApi) {
  web::HttpResponse login = panel_->Handle(
      Request("POST", "/api/v1/login",
              R"({"contract":"1234-5678-9012","user":"yamada@example.jp","password":"Yamada2024office"})"));
  ASSERT_EQ(login.status, 200) << login.body;
  auto audit = service_->ListAudit(Contract(kContract), UINT64_MAX, 1);
  ASSERT_DAICHO_OK(audit);
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "login");
  EXPECT_EQ((*audit)[0].via, "api");
  EXPECT_EQ((*audit)[0].address, "127.0.0.1");
}

// Issue 15: every user of the office sees the licence year and why an option
// is refused, with the figures, in both languages and in the API; an admin
// chooses the option kept free at 40 to 49 filings.
TEST_F(AdminPanelTest, TheLicencePageShowsWhyAnOptionIsRefusedAndAnAdminChoosesTheFreeOption) {
  const ContractNumber contract = Contract(kContract);
  ASSERT_DAICHO_OK(service_->AddUser(contract, "clerk@example.jp", "Clerk2024office"));
  auto session_of = [&](const std::string& user, const std::string& password) {
    web::HttpResponse login = panel_->Handle(
        Request("POST", "/api/v1/login",
                R"({"contract":"1234-5678-9012","user":")" + user + R"(","password":")" + password + R"("})"));
    EXPECT_EQ(login.status, 200) << login.body;
    return nlohmann::json::parse(login.body, nullptr, false).value("token", "");
  };
  const std::string clerk = session_of("clerk@example.jp", "Clerk2024office");
  const std::string admin = session_of(kAdmin, kPassword);
  auto page_as = [&](const std::string& token, const std::string& path) {
    web::HttpRequest request = Request("GET", path);
    request.headers.emplace_back("cookie", "daicho_session=" + token);
    return panel_->Handle(request);
  };
  auto api_as = [&](const std::string& token, std::string method, const std::string& path, std::string body = {}) {
    web::HttpRequest request = Request(std::move(method), path, std::move(body));
    request.headers.emplace_back("authorization", "Bearer " + token);
    return panel_->Handle(request);
  };

  web::HttpResponse unmanaged = page_as(clerk, "/admin/licence");
  ASSERT_EQ(unmanaged.status, 200) << unmanaged.body;
  EXPECT_NE(unmanaged.body.find("ベンダーの管理対象ではありません"), std::string::npos);

  // Renewed 30 days ago, no filings in the year before: both options refused.
  const entitlements::Date today = service_->Today();
  entitlements::Licence licence;
  licence.first_renewal =
      entitlements::AddYears(entitlements::Date{std::chrono::sys_days(today) - std::chrono::days(30)}, -1);
  licence.backup_applied = licence.billing_applied = true;
  ASSERT_DAICHO_OK(service_->SetLicence(contract, licence));
  web::HttpResponse refused = page_as(clerk, "/admin/licence");
  ASSERT_EQ(refused.status, 200);
  EXPECT_NE(refused.body.find(
                "インターネットバックアップ: 新規の申請があと2件、または追加料金 11,000円 (税込) でご利用いただけます"),
            std::string::npos)
      << refused.body;
  EXPECT_NE(refused.body.find("ご利用いただけません"), std::string::npos);
  EXPECT_EQ(refused.body.find("name=\"option\""), std::string::npos) << "only an admin chooses";
  web::HttpResponse english = page_as(clerk, "/admin/licence?lang=en");
  EXPECT_EQ(english.status, 303) << "the language switch is remembered";
  web::HttpRequest in_english = Request("GET", "/admin/licence");
  in_english.headers.emplace_back("cookie", "daicho_session=" + clerk + "; daicho_lang=en");
  web::HttpResponse en = panel_->Handle(in_english);
  EXPECT_NE(en.body.find("Billing management: available with 2 more new filings, or an extra fee of ¥11,000"),
            std::string::npos)
      << en.body;

  web::HttpResponse json = api_as(clerk, "GET", "/api/v1/entitlements");
  ASSERT_EQ(json.status, 200) << json.body;
  const nlohmann::json evaluation = nlohmann::json::parse(json.body);
  EXPECT_EQ(evaluation["managed"], true);
  EXPECT_EQ(evaluation["current"]["backup"]["status"], "needs_payment");
  EXPECT_EQ(evaluation["current"]["backup"]["fee_yen"], 11000);
  EXPECT_EQ(api_as(clerk, "POST", "/api/v1/entitlements/free-option", R"({"option":"billing"})").status, 404)
      << "not there for a user who is no admin";

  EXPECT_NE(page_as(admin, "/admin/licence").body.find("name=\"option\" value=\"billing\""), std::string::npos);
  web::HttpResponse chosen = api_as(admin, "POST", "/api/v1/entitlements/free-option", R"({"option":"billing"})");
  EXPECT_EQ(chosen.status, 200) << chosen.body;
  EXPECT_EQ((*service_->GetLicence(contract))->free_choice, entitlements::Option::kBilling);
  EXPECT_EQ(api_as(admin, "POST", "/api/v1/entitlements/free-option", R"({"option":"base"})").status, 400);
  auto audit = service_->ListAudit(contract, UINT64_MAX, 1);
  ASSERT_DAICHO_OK(audit);
  EXPECT_EQ((*audit)[0].action, "entitlement.free_option");
  EXPECT_EQ((*audit)[0].actor, kAdmin);
  EXPECT_NE(page_as(admin, "/admin/audit").body.find("無料オプションの選択"), std::string::npos);
}

// The vendor view (issue 15): users of the vendor's staff contract list
// every office, record a licence and a payment and import filings, in the
// pages and in the API; an office's users never see it, and the staff never
// reach another contract's office pages.
class VendorViewTest : public AdminPanelTest {
 protected:
  static constexpr char kVendor[] = "9999-0000-0001";
  static constexpr char kStaff[] = "staff@vendor.jp";
  static constexpr char kStaffPassword[] = "Staff2024vendor";

  void SetUp() override {
    AdminPanelTest::SetUp();
    ASSERT_DAICHO_OK(service_->InitVendorContract(Contract(kVendor)));
    ASSERT_DAICHO_OK(service_->AddUser(Contract(kVendor), kStaff, kStaffPassword));
    staff_ = SessionOf(kVendor, kStaff, kStaffPassword);
    office_ = SessionOf(kContract, kAdmin, kPassword);
  }

  std::string SessionOf(const std::string& contract, const std::string& user, const std::string& password) {
    web::HttpResponse login =
        panel_->Handle(Request("POST", "/api/v1/login",
                               nlohmann::json{{"contract", contract}, {"user", user}, {"password", password}}.dump()));
    EXPECT_EQ(login.status, 200) << login.body;
    return nlohmann::json::parse(login.body, nullptr, false).value("token", "");
  }
  web::HttpResponse Page(const std::string& token, const std::string& path) {
    web::HttpRequest request = Request("GET", path);
    request.headers.emplace_back("cookie", "daicho_session=" + token);
    return panel_->Handle(request);
  }
  // The form token a page of this session carries.
  std::string Csrf(const std::string& token) {
    const std::string body = Page(token, "/admin/vendor/filings").body;
    std::smatch match;
    EXPECT_TRUE(std::regex_search(body, match, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\"")));
    return match.size() > 1 ? match[1].str() : "";
  }
  web::HttpResponse Form(const std::string& token, const std::string& path, const std::string& fields,
                         const std::string& content_type = "application/x-www-form-urlencoded") {
    web::HttpRequest request = Request("POST", path, fields);
    request.headers = {{"host", "relay.example.jp"},
                       {"origin", "http://relay.example.jp"},
                       {"cookie", "daicho_session=" + token},
                       {"content-type", content_type}};
    return panel_->Handle(request);
  }
  // A multipart/form-data upload of `file` as a browser posts it.
  web::HttpResponse Upload(const std::string& token, const std::string& file, bool dry_run = false) {
    const std::string boundary = "----daichoTestBoundary";
    std::string body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + Csrf(token) +
                       "\r\n--" + boundary +
                       "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"filings.csv\"\r\n"
                       "Content-Type: text/csv\r\n\r\n" +
                       file + "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"encoding\"\r\n\r\nauto";
    if (dry_run) body += "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"dry_run\"\r\n\r\n1";
    body += "\r\n--" + boundary + "--\r\n";
    return Form(token, "/admin/vendor/filings", body, "multipart/form-data; boundary=" + boundary);
  }
  web::HttpResponse Api(const std::string& token, std::string method, const std::string& path, std::string body = {},
                        const std::string& content_type = "application/json") {
    web::HttpRequest request = Request(std::move(method), path, std::move(body));
    request.headers = {
        {"host", "relay.example.jp"}, {"authorization", "Bearer " + token}, {"content-type", content_type}};
    return panel_->Handle(request);
  }
  // Renewed 30 days ago: the licence year's first day, as the form writes it.
  std::string RenewedDay() {
    const entitlements::Date renewed{std::chrono::sys_days(service_->Today()) - std::chrono::days(30)};
    return text::FormatIsoDate(entitlements::AddYears(renewed, -1));
  }
  // A filing day inside the counted year (before the renewal 30 days ago).
  std::string CountedDay() {
    return text::FormatIsoDate(entitlements::Date{std::chrono::sys_days(service_->Today()) - std::chrono::days(60)});
  }

  std::string staff_, office_;
};

TEST_F(VendorViewTest, OnlyTheVendorsStaffSeeTheVendorViewAndNeverAnotherContractsOfficePages) {
  for (const char* path :
       {"/admin/vendor/contracts", "/admin/vendor/filings", "/admin/vendor/contract?n=1234-5678-9012"}) {
    EXPECT_EQ(Page(office_, path).status, 404) << path << ": an office's admin";
    EXPECT_EQ(Page(staff_, path).status, 200) << path;
  }
  EXPECT_EQ(Api(office_, "GET", "/api/v1/vendor/contracts").status, 404);
  EXPECT_EQ(Api(office_, "POST", "/api/v1/vendor/filings", "contract,company_id,filed_on\n", "text/csv").status, 404);
  EXPECT_EQ(Api(office_, "GET", "/api/v1/vendor/contracts/1234-5678-9012/payments").status, 404);
  EXPECT_EQ(Form(office_, "/admin/vendor/contract/pay", "csrf=x&n=1234-5678-9012&option=backup&amount=11000").status,
            403)
      << "no form token of the vendor's";
  EXPECT_TRUE(service_->ListPayments(Contract(kContract))->empty());

  web::HttpResponse home = Page(staff_, "/admin/");
  EXPECT_EQ(home.status, 303);
  EXPECT_EQ(HeaderOf(home, "Location"), "/admin/vendor/contracts");
  const std::string list = Page(staff_, "/admin/vendor/contracts").body;
  EXPECT_NE(list.find("/admin/vendor/contract?n=1234-5678-9012"), std::string::npos) << list;
  EXPECT_EQ(list.find("/admin/vendor/contract?n=9999-0000-0001"), std::string::npos) << "not an office";
  EXPECT_EQ(Page(staff_, "/admin/vendor/contract?n=9999-0000-0001").status, 404);
  EXPECT_EQ(Page(staff_, "/admin/vendor/contract?n=1111-2222-3333").status, 404);
  // The office pages the staff session reaches are its own contract's.
  EXPECT_EQ(Page(staff_, "/admin/users").status, 404) << "staff are not admins of the office";
  web::HttpRequest crossed = Request("GET", "/admin/me");
  crossed.headers.emplace_back("cookie",
                               "daicho_session=" + std::string(kContract) + staff_.substr(std::string(kVendor).size()));
  EXPECT_EQ(panel_->Handle(crossed).status, 303) << "the token is the vendor contract's only: a login again";
}

TEST_F(VendorViewTest, TheStaffRecordALicenceImportAShiftJisFileAndRecordAPaymentInThePages) {
  const ContractNumber office = Contract(kContract);
  web::HttpResponse saved = Form(staff_, "/admin/vendor/contract/licence",
                                 "csrf=" + Csrf(staff_) + "&n=1234-5678-9012&installed=&renews=" + RenewedDay() +
                                     "&licences=1&options=backup&options=billing");
  ASSERT_EQ(saved.status, 303) << saved.body;
  EXPECT_TRUE(HeaderOf(saved, "Location").starts_with("/admin/vendor/contract?n=1234-5678-9012&notice="));
  ASSERT_TRUE(service_->GetLicence(office)->has_value());
  const std::string refused = Page(staff_, "/admin/vendor/contract?n=1234-5678-9012").body;
  EXPECT_NE(refused.find("新規の申請があと2件、または追加料金 11,000円 (税込) でご利用いただけます"), std::string::npos)
      << refused;
  EXPECT_EQ(refused.find("name=\"option\" value=\"billing\""), std::string::npos) << "not the office's choice form";
  EXPECT_NE(Page(staff_, "/admin/vendor/contracts").body.find("38,500円"), std::string::npos)
      << "base 3 filings short (16,500) and each option 2 (11,000 each)";

  // 契約番号,会社ID,申請日 in Shift_JIS, a row with a day that is no day.
  const std::string header = "\x8C_\x96\xF1\x94\xD4\x8D\x86,\x89\xEF\x8E\xD0ID,\x90\\\x90\xBF\x93\xFA\r\n";
  const std::string bad = header + "1234-5678-9012,K-001," + CountedDay() + "\r\n1234-5678-9012,K-002,2026-13-01\r\n";
  web::HttpResponse errors = Upload(staff_, bad);
  EXPECT_EQ(errors.status, 422) << errors.body;
  EXPECT_NE(errors.body.find("<td class=\"num\">3</td><td>filing day &#39;2026-13-01&#39; is not a date"),
            std::string::npos)
      << errors.body;
  EXPECT_TRUE(service_->ListFilings(office)->empty()) << "not even the good row";
  const std::string good =
      header + "1234-5678-9012,K-001," + CountedDay() + "\r\n1234-5678-9012,K-002," + CountedDay() + "\r\n";
  web::HttpResponse unknown = Upload(staff_, good + "1111-2222-3333,K-003," + CountedDay() + "\r\n");
  EXPECT_EQ(unknown.status, 422) << unknown.body;
  EXPECT_NE(unknown.body.find("問題のある行が 1件あるため、何も取り込んでいません。"), std::string::npos)
      << unknown.body;
  EXPECT_NE(unknown.body.find("<td class=\"num\">4</td><td>no contract 1111-2222-3333 on this relay</td>"),
            std::string::npos)
      << unknown.body;
  EXPECT_TRUE(service_->ListFilings(office)->empty()) << "nothing half-imported";
  web::HttpResponse checked = Upload(staff_, good, /*dry_run=*/true);
  EXPECT_EQ(checked.status, 200) << checked.body;
  EXPECT_NE(checked.body.find("確認のみで、何も取り込んでいません。"), std::string::npos);
  EXPECT_TRUE(service_->ListFilings(office)->empty());
  web::HttpResponse imported = Upload(staff_, good);
  EXPECT_EQ(imported.status, 200) << imported.body;
  EXPECT_NE(imported.body.find("2行: 新規 2件、取り込み済み 0件（1契約）。文字コード: Shift_JIS (CP932)"),
            std::string::npos)
      << imported.body;
  EXPECT_EQ(service_->ListFilings(office)->size(), 2u);
  EXPECT_NE(Upload(staff_, good).body.find("2行: 新規 0件、取り込み済み 2件"), std::string::npos) << "idempotent";

  web::HttpResponse paid = Form(
      staff_, "/admin/vendor/contract/pay",
      "csrf=" + Csrf(staff_) + "&n=1234-5678-9012&option=backup&amount=11%2C000&licence_year=&reference=R-1&note=");
  ASSERT_EQ(paid.status, 303) << paid.body;
  const std::string after = Page(staff_, HeaderOf(paid, "Location")).body;
  EXPECT_NE(after.find("入金 11,000円を記録しました。"), std::string::npos) << after;
  EXPECT_NE(after.find("R-1"), std::string::npos);
  web::HttpResponse twice = Form(staff_, "/admin/vendor/contract/pay",
                                 "csrf=" + Csrf(staff_) + "&n=1234-5678-9012&option=backup&amount=11000&reference=R-1");
  EXPECT_EQ(twice.status, 409) << "a reference is recorded once";
  EXPECT_EQ(
      Form(staff_, "/admin/vendor/contract/pay", "csrf=" + Csrf(staff_) + "&n=1234-5678-9012&option=backup&amount=x")
          .status,
      400);
  auto evaluation = service_->EvaluateEntitlements(office);
  ASSERT_DAICHO_OK(evaluation);
  EXPECT_EQ((*evaluation)->current.backup.paid_yen, 11000);

  // The office sees who acted, through which door.
  auto audit = service_->ListAudit(office, UINT64_MAX, 10);
  ASSERT_DAICHO_OK(audit);
  EXPECT_EQ((*audit)[0].action, "payment.record");
  EXPECT_EQ((*audit)[0].actor, kStaff);
  EXPECT_EQ((*audit)[0].via, "panel");
}

TEST_F(VendorViewTest, TheApiListsContractsAndRecordsLicencesPaymentsAndFilings) {
  web::HttpResponse licence =
      Api(staff_, "PUT", "/api/v1/vendor/contracts/1234-5678-9012/licence",
          nlohmann::json{{"renews", RenewedDay()}, {"licences", 1}, {"options", {"backup", "billing"}}}.dump());
  ASSERT_EQ(licence.status, 200) << licence.body;
  EXPECT_EQ(
      Api(staff_, "PUT", "/api/v1/vendor/contracts/1234-5678-9012/licence", R"({"licences":0,"renews":"x"})").status,
      400);
  const nlohmann::json contracts = nlohmann::json::parse(Api(staff_, "GET", "/api/v1/vendor/contracts").body);
  ASSERT_EQ(contracts["contracts"].size(), 1u) << contracts.dump();
  EXPECT_EQ(contracts["contracts"][0]["contract"], kContract);
  EXPECT_EQ(contracts["contracts"][0]["backup"], "needs_payment");
  EXPECT_EQ(contracts["contracts"][0]["fee_due_yen"], 38500);
  EXPECT_EQ(contracts["contracts"][0]["licence"]["options"], nlohmann::json({"backup", "billing"}));

  const std::string csv = "contract,company_id,filed_on\n1234-5678-9012,K-1," + CountedDay() +
                          "\n1234-5678-9012,K-2,someday\n9999-0000-0001,K-3," + CountedDay() + "\n";
  web::HttpResponse bad = Api(staff_, "POST", "/api/v1/vendor/filings", csv, "text/csv");
  ASSERT_EQ(bad.status, 422) << bad.body;
  const nlohmann::json errors = nlohmann::json::parse(bad.body);
  EXPECT_EQ(errors["error"], "bad_rows");
  ASSERT_EQ(errors["errors"].size(), 2u) << bad.body;
  EXPECT_EQ(errors["errors"][0]["line"], 3);
  EXPECT_EQ(errors["errors"][1]["line"], 4);
  EXPECT_NE(errors["errors"][1]["message"].get<std::string>().find("vendor's staff contract"), std::string::npos);
  web::HttpResponse dry = Api(staff_, "POST", "/api/v1/vendor/filings?dry_run=1&encoding=utf-8",
                              "contract,company_id,filed_on\n1234-5678-9012,K-1," + CountedDay() + "\n", "text/csv");
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(nlohmann::json::parse(dry.body)["new"], 1);
  EXPECT_TRUE(
      nlohmann::json::parse(Api(staff_, "GET", "/api/v1/vendor/contracts/1234-5678-9012/filings").body)["filings"]
          .empty());
  web::HttpResponse good = Api(staff_, "POST", "/api/v1/vendor/filings",
                               "contract,company_id,filed_on\n1234-5678-9012,K-1," + CountedDay() + "\n", "text/csv");
  ASSERT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(nlohmann::json::parse(good.body)["contracts"], nlohmann::json({kContract}));
  EXPECT_EQ(nlohmann::json::parse(Api(staff_, "GET", "/api/v1/vendor/contracts/1234-5678-9012/filings").body)["filings"]
                .size(),
            1u);

  web::HttpResponse paid = Api(staff_, "POST", "/api/v1/vendor/contracts/1234-5678-9012/payments",
                               R"({"option":"billing","amount_yen":11000,"reference":"T-9"})");
  ASSERT_EQ(paid.status, 201) << paid.body;
  const nlohmann::json payments =
      nlohmann::json::parse(Api(staff_, "GET", "/api/v1/vendor/contracts/1234-5678-9012/payments").body);
  ASSERT_EQ(payments["payments"].size(), 1u);
  EXPECT_EQ(payments["payments"][0]["option"], "billing");
  EXPECT_EQ(payments["payments"][0]["actor"], kStaff);
  const nlohmann::json evaluation =
      nlohmann::json::parse(Api(staff_, "GET", "/api/v1/vendor/contracts/1234-5678-9012/entitlements").body);
  EXPECT_EQ(evaluation["current"]["billing"]["status"], "paid");
  EXPECT_EQ(evaluation["licence"]["licences"], 1);
  EXPECT_EQ(Api(staff_, "GET", "/api/v1/vendor/contracts/9999-0000-0001/entitlements").status, 404);
  EXPECT_EQ((*service_->ListAudit(Contract(kContract), UINT64_MAX, 1))[0].via, "api");
}

TEST_F(AdminPanelTest, TheStyleSheetAndScriptAreServedWithoutASession) {
  for (const char* path : {"/admin/static/style.css", "/admin/static/forms.js"}) {
    web::HttpRequest request = Request("GET", path);
    request.headers.emplace_back("cookie", "daicho_session=1234-5678-9012." + std::string(64, 'a'));
    web::HttpResponse asset = panel_->Handle(request);
    EXPECT_EQ(asset.status, 200) << path;
    EXPECT_TRUE(HeaderOf(asset, "Cache-Control").starts_with("public")) << path;
    EXPECT_EQ(HeaderOf(asset, "Set-Cookie"), "") << path;  // not even the dead session is looked at
    EXPECT_FALSE(asset.body.empty()) << path;
  }
}

TEST_F(AdminPanelTest, ANoticeNotOnTheListIsNotShown) {
  web::HttpResponse page = panel_->Handle(Request("GET", "/admin/login?notice=login.failed&arg=x"));
  EXPECT_EQ(page.body.find("notice"), std::string::npos);
  page = panel_->Handle(Request("GET", "/admin/login?notice=login.logged_out"));
  EXPECT_NE(page.body.find("ログアウトしました。"), std::string::npos);
}

TEST(RetryAfterSecondsTest, ReadsTheThrottlesWait) {
  EXPECT_EQ(RetryAfterSeconds("too many failed logins for this account; retry in 12 s"), 12u);
  EXPECT_EQ(RetryAfterSeconds("the relay is busy checking logins; retry in a moment"), 0u);
}

TEST(RetryAfterSecondsTest, ReadsWhatTheRelaySaysWhenItThrottles) {
  testing::TempDir dir;
  RelayServiceOptions options;
  options.throttle.account_failures = 1;
  auto service = OpenLmdbRelay(dir.Sub("relay"), options);
  ASSERT_DAICHO_OK(service);
  ASSERT_TRUE((*service)->AddContract(Contract(kContract)).ok());
  ASSERT_TRUE((*service)->AddUser(Contract(kContract), kAdmin, kPassword).ok());
  EXPECT_FALSE((*service)->LogIn(Contract(kContract), kAdmin, "Wrong12345x", "192.0.2.1").ok());
  const Status throttled = (*service)->LogIn(Contract(kContract), kAdmin, "Wrong12345x", "192.0.2.1").status();
  ASSERT_EQ(throttled.code(), Code::kUnavailable) << throttled.ToString();
  EXPECT_GE(RetryAfterSeconds(throttled.message()), 1u) << throttled.message();
}

TEST(RequestLimiterTest, CountsPerKeyInFixedWindows) {
  auto clock = std::make_shared<testing::FakeClock>(1'000'000);
  RequestLimiter limiter({2, std::chrono::seconds(60), 1000}, clock);
  EXPECT_EQ(limiter.Take("a"), 0u);
  EXPECT_EQ(limiter.Take("a"), 0u);
  EXPECT_EQ(limiter.Take("a"), 60'000u);
  EXPECT_EQ(limiter.Take("b"), 0u);
  clock->Advance(59'000);
  EXPECT_EQ(limiter.Take("a"), 1'000u);
  clock->Advance(1'000);
  EXPECT_EQ(limiter.Take("a"), 0u);
}

TEST(RequestLimiterTest, AFloodOfKeysIsBoundedAndRefused) {
  auto clock = std::make_shared<testing::FakeClock>(1'000'000);
  RequestLimiter limiter({5, std::chrono::seconds(60), 3}, clock);
  EXPECT_EQ(limiter.Take("a"), 0u);
  EXPECT_EQ(limiter.Take("b"), 0u);
  EXPECT_EQ(limiter.Take("c"), 0u);
  EXPECT_GT(limiter.Take("d"), 0u);  // full: a new key waits
  EXPECT_EQ(limiter.Take("a"), 0u);  // known keys go on
  clock->Advance(60'000);
  EXPECT_EQ(limiter.Take("d"), 0u);  // expired windows made room
}

TEST(FormRulesTest, TheBrowsersLimitsAreTheRelaysRules) {
  const std::string id = UserIdInput("user", "", Lang::kJa).str();
  EXPECT_NE(id.find("minlength=\"" + std::to_string(kMinUserIdLength) + "\""), std::string::npos) << id;
  EXPECT_NE(id.find("maxlength=\"" + std::to_string(kMaxUserIdLength) + "\""), std::string::npos) << id;
  const std::string password = PasswordInput("password", "new-password", Lang::kJa).str();
  EXPECT_NE(password.find("minlength=\"" + std::to_string(kMinPasswordLength) + "\""), std::string::npos);
  EXPECT_NE(password.find("maxlength=\"" + std::to_string(kMaxPasswordLength) + "\""), std::string::npos);
  // The pattern and the server agree on every printable ASCII character.
  const std::regex id_pattern("[!-~]+"), password_pattern("[A-Za-z0-9]+");
  for (int c = 0x20; c < 0x7F; ++c) {
    const std::string id_text(kMinUserIdLength, static_cast<char>(c));
    EXPECT_EQ(std::regex_match(id_text, id_pattern), !UserIdProblem(id_text, Lang::kEn).has_value()) << c;
    const std::string password_text(kMinPasswordLength, static_cast<char>(c));
    EXPECT_EQ(std::regex_match(password_text, password_pattern), !PasswordProblem(password_text, Lang::kEn).has_value())
        << c;
  }
  EXPECT_EQ(UserIdProblem("ab", Lang::kJa), "ユーザーIDは 3 文字以上で入力してください。");
  EXPECT_EQ(PasswordProblem("abc1234", Lang::kJa), "パスワードは 8 文字以上で入力してください。");
  EXPECT_EQ(PasswordProblem("パスワード12345", Lang::kEn), "The password may hold only half-width letters and digits.");
}

}  // namespace
}  // namespace daicho::relay::admin
