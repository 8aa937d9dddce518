// `daicho invoice ...` end to end with the real binary (cli_harness.h):
// create, pay, cancel, show, list, the Excel CSV bytes, the customer link,
// payments from two PCs exchanged by change files, and the billing gate
// refusing writes (invoice commands and generic ones) from the entitlements
// the relay left on the PC. That report is stored in this process between
// commands (client/entitlements_cache.h), as RelayClient stores it.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_harness.h"
#include "client/entitlements_cache.h"
#include "daicho/entitlements.h"
#include "daicho/replica.h"

namespace daicho::testing {
namespace {

using nlohmann::json;

constexpr char kRefusedJa[] = "請求管理: 新規の申請があと2件、または追加料金 11,000円 (税込) でご利用いただけます";
constexpr char kRefusedEn[] =
    "billing management: available with 2 more new filings, or an extra fee of ¥11,000 (tax included)";

class CliInvoiceTest : public CliTest {
 protected:
  CliInvoiceTest() {
    db_ = Init("pc1");
    Ok({"set", "--db", db_, "customers", "c1", "trade_name=株式会社山田建設"});
  }

  // Creates an invoice of 88,000 yen (tax 8,000) issued 2026-12-01; its id.
  std::string Create(const std::string& db, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"invoice", "create", "--db", db, "c1", "--issue-date", "2026-12-01"};
    // Full-width digits and separators, as a Japanese input method types them.
    for (const char* item : {"経営事項審査:1:50,000", "決算変更届：２：１５０００"}) {
      args.insert(args.end(), {"--item", item});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    const std::string out = Ok(args);
    EXPECT_TRUE(Contains(out, "88,000 yen (tax 8,000 yen)")) << out;
    const size_t at = out.find("created invoice ");
    return at == std::string::npos ? "" : out.substr(at + 16, 15);
  }

  json Show(const std::string& db, const std::string& id) {
    return json::parse(Ok({"invoice", "show", "--db", db, id, "--json"}));
  }

  // Leaves `entitlements` on the PC as the relay's last report.
  void Report(const std::string& db, const Entitlements& entitlements) {
    ReplicaOptions options;
    Result<std::unique_ptr<Replica>> replica = Replica::Open(db, options);
    ASSERT_TRUE(replica.ok()) << replica.status();
    ASSERT_DAICHO_OK(client::StoreEntitlements(**replica, entitlements));
  }

  static Entitlements Managed(OptionStatus billing, std::chrono::system_clock::time_point valid_until) {
    Entitlements e;
    e.managed = true;
    e.valid_until = valid_until;
    e.billing = {billing, 2, 11'000, kRefusedJa, kRefusedEn};
    return e;
  }

  std::string db_;
};

TEST_F(CliInvoiceTest, CreatePayAndShowWithTaxPerRate) {
  const std::string id = Create(db_, {"--due-date", "2099-12-31", "--number", "2026-0042"});
  ASSERT_EQ(id.size(), 15u);
  EXPECT_EQ(id.substr(0, 9), "20261201-");
  EXPECT_EQ(Ok({"invoice", "pay", "--db", db_, id, "３０，０００", "--date", "2026-12-05", "--note", "振込"}),
            "recorded 30,000 yen for invoice " + id + ": paid 30,000 yen of 88,000 yen, partly paid\n");

  const std::string shown =
      " (number 2026-0042)\n"
      "customer: c1 株式会社山田建設\n"
      "issued:   2026-12-01\n"
      "due:      2099-12-31\n"
      "state:    partly paid\n"
      "items:\n"
      "  経営事項審査  1 x 50,000 yen = 50,000 yen (tax 10%)\n"
      "  決算変更届  2 x 15,000 yen = 30,000 yen (tax 10%)\n"
      "tax 10%:  8,000 yen on 80,000 yen\n"
      "total:    88,000 yen (tax included)\n"
      "paid:     30,000 yen\n"
      "balance:  58,000 yen\n"
      "payments:\n"
      "  2026-12-05 30,000 yen 振込\n";
  EXPECT_EQ(Ok({"invoice", "show", "--db", db_, id}), "invoice " + id + shown);
  json j = Show(db_, id);
  EXPECT_EQ(j["state"], "partly_paid");
  EXPECT_EQ(j["amount_yen"], 88'000);
  EXPECT_EQ(j["paid_yen"], 30'000);
  EXPECT_EQ(j["balance_yen"], 58'000);
  EXPECT_EQ(j["customer_name"], "株式会社山田建設");
  EXPECT_EQ(j["items"][1]["quantity"], 2);
  EXPECT_EQ(j["tax_by_rate"][0]["tax_yen"], 8'000);
  EXPECT_EQ(j["payments"][0]["note"], "振込");

  // The reduced rate, rounded down once over the invoice: 8% of 999 = 79.92.
  const std::string out = Ok({"invoice", "create", "--db", db_, "c1", "--item", "お茶:3:333", "--tax-rate", "8"});
  EXPECT_TRUE(Contains(out, ": 1,078 yen (tax 79 yen)")) << out;

  EXPECT_EQ(Run({"invoice", "pay", "--db", db_, id, "58,001"}).exit_code, 1);
  EXPECT_EQ(Run({"invoice", "pay", "--db", db_, id, "10円"}).exit_code, 2);
  EXPECT_EQ(Run({"invoice", "create", "--db", db_, "c1", "--item", "説明だけ"}).exit_code, 2);
  EXPECT_TRUE(Contains(Fails({"invoice", "create", "--db", db_, "nobody", "--item", "x:1:1"}), "no customer 'nobody'"));
}

TEST_F(CliInvoiceTest, TheCustomerRecordShowsItsInvoices) {
  const std::string first = Create(db_);
  const std::string second = Create(db_);
  const std::string shown = Ok({"get", "--db", db_, "customers", "c1"});
  EXPECT_TRUE(Contains(shown, "invoices: {" + std::min(first, second) + ", " + std::max(first, second) + "}")) << shown;
}

TEST_F(CliInvoiceTest, ListFiltersAndDerivesOverdueAndCancelled) {
  Ok({"set", "--db", db_, "customers", "c2", "trade_name=有限会社佐藤工務店"});
  const std::string overdue = Create(db_, {"--due-date", "2026-12-02"});
  const std::string cancelled = Create(db_, {"--due-date", "2099-01-31"});
  const std::string paid = Create(db_, {"--due-date", "2099-01-31"});
  const std::string other =
      Ok({"invoice", "create", "--db", db_, "c2", "--item", "更新申請:1:1000", "--issue-date", "2026-12-03"})
          .substr(16, 15);
  EXPECT_EQ(Ok({"invoice", "cancel", "--db", db_, cancelled}), "cancelled invoice " + cancelled + "\n");
  Ok({"invoice", "pay", "--db", db_, paid, "88000"});

  json all = json::parse(Ok({"invoice", "list", "--db", db_, "--json"}));
  ASSERT_EQ(all.size(), 4u);
  std::map<std::string, std::string> states;
  for (const json& invoice : all) states[invoice["id"]] = invoice["state"];
  EXPECT_EQ(states[overdue], "overdue");
  EXPECT_EQ(states[cancelled], "cancelled");
  EXPECT_EQ(states[paid], "paid");
  EXPECT_EQ(states[other], "unpaid");

  json unpaid_c1 = json::parse(Ok({"invoice", "list", "--db", db_, "--unpaid", "--customer", "c1", "--json"}));
  ASSERT_EQ(unpaid_c1.size(), 1u);
  EXPECT_EQ(unpaid_c1[0]["id"], overdue);
  const std::string text = Ok({"invoice", "list", "--db", db_, "--unpaid", "--customer", "c1"});
  EXPECT_EQ(text, overdue +
                      "  2026-12-01  due 2026-12-02  c1 株式会社山田建設  88,000 yen  paid 0  balance 88,000  "
                      "overdue\n");
  EXPECT_EQ(Ok({"invoice", "list", "--db", db_, "--customer", "c3"}), "no invoices for c3\n");
}

TEST_F(CliInvoiceTest, ExportIsExcelFriendlyCsv) {
  const std::string id = Create(db_, {"--due-date", "2099-01-31", "--number", "A,1"});
  Ok({"invoice", "pay", "--db", db_, id, "1000"});
  const std::string expected_rows =
      "id,number,customer,customer_name,issue_date,due_date,subtotal_yen,tax_yen,amount_yen,paid_yen,balance_yen,"
      "state\r\n" +
      id + ",\"A,1\",c1,株式会社山田建設,2026-12-01,2099-01-31,80000,8000,88000,1000,87000,partly_paid\r\n";
  EXPECT_EQ(Ok({"invoice", "export", "--db", db_}), expected_rows);
  EXPECT_EQ(Ok({"invoice", "export", "--db", db_, "--excel"}), "\xEF\xBB\xBF" + expected_rows);
  const std::string file = dir_.Sub("invoices.csv");
  EXPECT_EQ(Ok({"invoice", "export", "--db", db_, "--excel", "--unpaid", "--output", file}),
            "wrote 1 invoice to " + file + "\n");
  EXPECT_EQ(ReadFile(file), "\xEF\xBB\xBF" + expected_rows);
  Ok({"invoice", "pay", "--db", db_, id, "87000"});
  EXPECT_EQ(Ok({"invoice", "export", "--db", db_, "--unpaid"}), expected_rows.substr(0, expected_rows.find('\n') + 1));
}

TEST_F(CliInvoiceTest, PaymentsOnTwoPcsBothCountAfterAnExchange) {
  const std::string pc2 = Init("pc2");
  const std::string id = Create(db_, {"--due-date", "2099-01-31"});
  const std::string file = dir_.Sub("x.changes");
  Ok({"export-changes", "--db", db_, file});
  Ok({"import-changes", "--db", pc2, file});
  Ok({"invoice", "pay", "--db", db_, id, "30000", "--note", "PC1"});
  Ok({"invoice", "pay", "--db", pc2, id, "20000", "--note", "PC2"});
  Ok({"export-changes", "--db", db_, file});
  Ok({"import-changes", "--db", pc2, file});
  Ok({"export-changes", "--db", pc2, file});
  Ok({"import-changes", "--db", db_, file});
  for (const std::string& db : {db_, pc2}) {
    json j = Show(db, id);
    EXPECT_EQ(j["paid_yen"], 50'000) << db;
    EXPECT_EQ(j["payments"].size(), 2u) << db;
  }
}

TEST_F(CliInvoiceTest, RefusedBillingStopsEveryWriteWithTheRelaysSentence) {
  const std::string id = Create(db_);
  const std::string row = dir_.Sub("row.csv");
  WriteFile(row, "id,note\r\n" + id + ",x\r\n");
  Report(db_, Managed(OptionStatus::kRefused, std::chrono::system_clock::now() + std::chrono::hours(24 * 100)));
  const std::string sentence = std::string("permission_denied: ") + kRefusedJa + " / " + kRefusedEn + "\n";

  EXPECT_EQ(Fails({"invoice", "create", "--db", db_, "c1", "--item", "x:1:1"}),
            "daicho: error: creating an invoice for 'c1' (nothing written): " + sentence);
  EXPECT_EQ(Fails({"invoice", "pay", "--db", db_, id, "100"}),
            "daicho: error: recording a payment for invoice '" + id + "' (nothing written): " + sentence);
  EXPECT_EQ(Fails({"invoice", "cancel", "--db", db_, id}),
            "daicho: error: cancelling invoice '" + id + "' (nothing written): " + sentence);
  EXPECT_EQ(Fails({"set", "--db", db_, "invoices", id, "note=x"}),
            "daicho: error: writing 'invoices/" + id + "' (nothing written): " + sentence);
  EXPECT_TRUE(Contains(Fails({"delete", "--db", db_, "invoices", id}), sentence));
  EXPECT_TRUE(Contains(Fails({"undelete", "--db", db_, "invoices", id}), sentence));
  EXPECT_TRUE(Contains(Fails({"resolve", "--db", db_, "invoices", id, "status", "issued"}), sentence));
  EXPECT_TRUE(Contains(Fails({"import", "--db", db_, "invoices", row}), sentence));

  // Reading works, and so does the rest of the ledger.
  EXPECT_EQ(Show(db_, id)["paid_yen"], 0);
  EXPECT_EQ(json::parse(Ok({"invoice", "list", "--db", db_, "--json"})).size(), 1u);
  EXPECT_TRUE(Contains(Ok({"invoice", "export", "--db", db_}), id));
  Ok({"set", "--db", db_, "customers", "c1", "phone=03-1111-1111"});

  // Paid: writes work again at once.
  Report(db_, Managed(OptionStatus::kPaid, std::chrono::system_clock::now() + std::chrono::hours(24 * 100)));
  Ok({"invoice", "pay", "--db", db_, id, "100"});
}

TEST_F(CliInvoiceTest, AReportStaleBeyondTheGracePeriodAsksToSync) {
  Report(db_, Managed(OptionStatus::kFree, std::chrono::system_clock::now() - std::chrono::hours(24 * 29)));
  Create(db_);
  Report(db_, Managed(OptionStatus::kFree, std::chrono::system_clock::now() - std::chrono::hours(24 * 31)));
  const std::string err = Fails({"invoice", "create", "--db", db_, "c1", "--item", "x:1:1"});
  EXPECT_TRUE(
      Contains(err, "permission_denied: 請求管理: 契約の更新状況を確認するため、リレーに接続して同期してください"))
      << err;
  EXPECT_TRUE(Contains(err, "connect to the relay and sync to check the licence renewal")) << err;
}

}  // namespace
}  // namespace daicho::testing
