// The admin panel's HTTP handling (relay/admin/admin_panel.h): requests as
// the transport hands them over (web::HttpRequest), answered by AdminPanel
// over a RelayService on LMDB in the scratch directory. The relay holds an
// office contract with an admin and a clerk, and the vendor's staff
// contract; the harness logs them in once (through the API) and signs the
// input's requests with their sessions, so mutations reach the pages and
// calls behind the login. Every answer must be one the transport can write
// (web::CheckResponse).
//
// Input: one flags byte (bits 0-1: no login, the admin's session cookie,
// the clerk's bearer token, the vendor's bearer token; bit 2: over TLS; bit
// 3: from a non-loopback address), then the request as text: a line
// "METHOD TARGET", header lines "name: value", an empty line, the body. The
// text "{csrf}" in the target or body becomes the session's CSRF token.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <regex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "relay/admin/admin_panel.h"
#include "relay/lmdb/lmdb_backend.h"
#include "relay/relay_service.h"
#include "tests/reliability/fuzz/fuzz_support.h"
#include "web/http_message.h"

namespace {

using namespace daicho;
using daicho::fuzz::Check;
using relay::RelayService;

constexpr char kHost[] = "relay.example.jp";
constexpr char kVendorContract[] = "9999-0000-0001";
constexpr char kAdmin[] = "yamada@example.jp";
constexpr char kClerk[] = "clerk@example.jp";
constexpr char kVendor[] = "staff@vendor.example.jp";
constexpr char kPassword[] = "Yamada2024office";

class DroppedMail final : public relay::Mailer {
 public:
  void Post(relay::MailMessage) override {}
};

struct Login {
  std::string token;
  std::string csrf;
};

class Relay {
 public:
  Relay() { Open(); }

  web::HttpResponse Handle(const web::HttpRequest& request) { return panel_->Handle(request); }

  // Starts over with a new relay when a request ended a harness session (a
  // logout, a password change): logging in again could be throttled.
  void KeepSessions() {
    if (Valid(admin_) && Valid(clerk_) && Valid(vendor_)) return;
    Open();
  }

  const Login& admin() const { return admin_; }
  const Login& clerk() const { return clerk_; }
  const Login& vendor() const { return vendor_; }

 private:
  void Open() {
    panel_.reset();
    service_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
    static int generation = 0;
    dir_ = fuzz::ScratchDir() + "/relay-" + std::to_string(generation++);
    auto backend = relay::LmdbBackend::Open(dir_);
    fuzz::CheckOk(backend.status(), "opening the relay's store");
    auto service = RelayService::Create(*std::move(backend));
    fuzz::CheckOk(service.status(), "relay service");
    service_ = *std::move(service);
    const auto office = sync::ContractNumber::Parse(fuzz::kContract).value();
    const auto vendor = sync::ContractNumber::Parse(kVendorContract).value();
    fuzz::CheckOk(service_->AddContract(office), "contract");
    fuzz::CheckOk(service_->AddUser(office, kAdmin, kPassword), "admin");
    fuzz::CheckOk(service_->SetUserAdmin(office, kAdmin, true), "admin");
    fuzz::CheckOk(service_->AddUser(office, kClerk, kPassword), "clerk");
    fuzz::CheckOk(service_->InitVendorContract(vendor).status(), "vendor contract");
    fuzz::CheckOk(service_->AddUser(vendor, kVendor, kPassword), "vendor staff");
    relay::admin::AdminPanelOptions panel;
    panel.reset_answer_floor = std::chrono::milliseconds(0);
    panel_ = std::make_unique<relay::admin::AdminPanel>(*service_, mail_, panel);
    admin_ = LogIn(fuzz::kContract, kAdmin);
    clerk_ = LogIn(fuzz::kContract, kClerk);
    vendor_ = LogIn(kVendorContract, kVendor);
  }

  web::HttpRequest Base(std::string method, std::string target) {
    web::HttpRequest request;
    request.method = std::move(method);
    request.target = target;
    const size_t q = target.find('?');
    request.path = target.substr(0, q);
    request.query = q == std::string::npos ? "" : target.substr(q + 1);
    request.peer_address = "127.0.0.1";
    request.headers = {{"host", kHost}};
    return request;
  }

  Login LogIn(const std::string& contract, const std::string& user) {
    web::HttpRequest request = Base("POST", "/api/v1/login");
    request.headers.emplace_back("content-type", "application/json");
    request.body = nlohmann::json{{"contract", contract}, {"user", user}, {"password", kPassword}}.dump();
    web::HttpResponse answer = panel_->Handle(request);
    if (answer.status != 200) fuzz::Fail("harness login refused: " + answer.body);
    Login login;
    login.token = nlohmann::json::parse(answer.body).value("token", "");
    // The CSRF token a form of this session carries, as the pages print it.
    web::HttpRequest page = Base("GET", "/admin/password");
    page.headers.emplace_back("cookie", "daicho_session=" + login.token);
    const web::HttpResponse form = panel_->Handle(page);
    std::smatch m;
    if (std::regex_search(form.body, m, std::regex("name=\"csrf\" value=\"([0-9a-f]+)\""))) login.csrf = m[1];
    if (login.token.empty() || login.csrf.empty()) fuzz::Fail("harness login gave no session: " + form.body);
    return login;
  }

  bool Valid(const Login& login) {
    web::HttpRequest request = Base("GET", "/api/v1/entitlements");
    request.headers.emplace_back("authorization", "Bearer " + login.token);
    return panel_->Handle(request).status != 401;
  }

  DroppedMail mail_;
  std::string dir_;
  std::unique_ptr<RelayService> service_;
  std::unique_ptr<relay::admin::AdminPanel> panel_;
  Login admin_, clerk_, vendor_;
};

void ReplaceAll(std::string& s, std::string_view from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static Relay* relay = new Relay();
  static uint64_t runs = 0;
  if (++runs % 64 == 0) relay->KeepSessions();

  const uint8_t flags = data[0];
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Login* login = nullptr;
  switch (flags & 3) {
    case 1:
      login = &relay->admin();
      break;
    case 2:
      login = &relay->clerk();
      break;
    case 3:
      login = &relay->vendor();
      break;
  }
  web::HttpRequest request;
  request.tls = (flags & 4) != 0;
  request.peer_address = (flags & 8) ? "192.0.2.7" : "127.0.0.1";
  request.headers = {{"host", kHost}};
  const std::string csrf = login ? login->csrf : std::string();
  // The request line.
  size_t eol = text.find('\n');
  std::string line(text.substr(0, eol));
  text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
  const size_t space = line.find(' ');
  request.method = line.substr(0, space);
  request.target = space == std::string::npos ? "/" : line.substr(space + 1);
  ReplaceAll(request.target, "{csrf}", csrf);
  const size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  request.query = q == std::string::npos ? "" : request.target.substr(q + 1);
  // Header lines up to an empty one.
  while (!text.empty()) {
    eol = text.find('\n');
    const std::string_view header = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (header.empty()) break;
    const size_t colon = header.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = header.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    request.headers.emplace_back(Lower(header.substr(0, colon)), std::string(value));
  }
  request.body = std::string(text);
  ReplaceAll(request.body, "{csrf}", csrf);
  if ((flags & 3) == 1) {
    request.headers.emplace_back("cookie",
                                 std::string(request.tls ? "__Host-" : "") + "daicho_session=" + login->token);
    request.headers.emplace_back("origin", std::string(request.tls ? "https://" : "http://") + kHost);
  } else if (login) {
    request.headers.emplace_back("authorization", "Bearer " + login->token);
  }

  const web::HttpResponse response = relay->Handle(request);
  const Status writable = web::CheckResponse(response);
  if (!writable.ok()) fuzz::Fail("the panel answered what the transport cannot write: " + writable.ToString());
  return 0;
}
