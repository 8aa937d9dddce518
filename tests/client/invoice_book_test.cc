// Billing management (daicho/invoices.h): invoices with Japanese invoice
// totals, payments that merge across PCs, derived states, the customer link,
// and the billing gate in front of every write.
#include "daicho/invoices.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "client/entitlements_cache.h"
#include "daicho/entitlements.h"
#include "daicho/replica.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_util.h"

namespace daicho {
namespace {

using namespace std::chrono_literals;

constexpr char kTradeName[] = "株式会社山田建設";

// Noon in Japan on the given day, as Unix ms.
uint64_t JapanNoon(std::chrono::year_month_day day) {
  const std::chrono::sys_days days{day};
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(days.time_since_epoch() + std::chrono::hours(3)).count());
}

InvoiceItem Item(std::string description, int64_t quantity, int64_t unit_price, uint32_t rate = 10) {
  return InvoiceItem{std::move(description), quantity, unit_price, rate};
}

TEST(InvoiceTotalsTest, TaxIsPerRateOverTheInvoiceRoundedDownNotPerLine) {
  // Per line, 10% of 5 yen rounds down to 0 twice; over the invoice it is 1.
  Result<InvoiceTotals> totals = ComputeInvoiceTotals(std::vector<InvoiceItem>{
      Item("印紙代行", 1, 5), Item("郵送料", 1, 5), Item("お茶", 3, 333, 8), Item("書類作成", 2, 30'000)});
  ASSERT_DAICHO_OK(totals);
  ASSERT_EQ(totals->by_rate.size(), 2u);
  EXPECT_EQ(totals->by_rate[0].rate_percent, 10u);
  EXPECT_EQ(totals->by_rate[0].subtotal_yen, 60'010);
  EXPECT_EQ(totals->by_rate[0].tax_yen, 6'001);  // 6001.0
  EXPECT_EQ(totals->by_rate[1].rate_percent, 8u);
  EXPECT_EQ(totals->by_rate[1].subtotal_yen, 999);
  EXPECT_EQ(totals->by_rate[1].tax_yen, 79);  // 79.92 rounded down
  EXPECT_EQ(totals->subtotal_yen, 61'009);
  EXPECT_EQ(totals->tax_yen, 6'080);
  EXPECT_EQ(totals->amount_yen, 67'089);
}

TEST(InvoiceTotalsTest, OnlyRatesUsedAreListed) {
  Result<InvoiceTotals> totals = ComputeInvoiceTotals(std::vector<InvoiceItem>{Item("弁当", 1, 1'001, 8)});
  ASSERT_DAICHO_OK(totals);
  ASSERT_EQ(totals->by_rate.size(), 1u);
  EXPECT_EQ(totals->by_rate[0].rate_percent, 8u);
  EXPECT_EQ(totals->tax_yen, 80);  // 80.08
  EXPECT_EQ(totals->amount_yen, 1'081);
}

TEST(InvoiceTotalsTest, BadItemsAreRefusedNamingTheItem) {
  const std::vector<std::vector<InvoiceItem>> bad = {
      {},
      {Item("", 1, 100)},
      {Item("二行\nの説明", 1, 100)},
      {Item("ok", 1, 100), Item("数量ゼロ", 0, 100)},
      {Item("数量過大", kMaxInvoiceQuantity + 1, 1)},
      {Item("負の単価", 1, -1)},
      {Item("単価過大", 1, kMaxInvoiceUnitPriceYen + 1)},
      {Item("税率5%", 1, 100, 5)},
      std::vector<InvoiceItem>(kMaxInvoiceItems + 1, Item("多すぎ", 1, 1)),
  };
  for (const auto& items : bad) {
    Result<InvoiceTotals> totals = ComputeInvoiceTotals(items);
    EXPECT_EQ(totals.status().code(), Code::kInvalidArgument) << items.size();
  }
  EXPECT_NE(ComputeInvoiceTotals(bad[3]).status().message().find("item 2"), std::string::npos);
  EXPECT_DAICHO_OK(
      ComputeInvoiceTotals(std::vector<InvoiceItem>{Item("上限", kMaxInvoiceQuantity, kMaxInvoiceUnitPriceYen)}));
}

class InvoiceBookTest : public ::testing::Test {
 protected:
  InvoiceBookTest() {
    clock_->Set(JapanNoon(2026y / 12 / 7));
    a_ = Open("a");
    AddCustomer(*a_, "c1");
  }

  std::unique_ptr<Replica> Open(const std::string& name) {
    ReplicaOptions options;
    options.create_if_missing = true;
    options.clock = clock_;
    return std::move(Replica::Open(dir_.Sub(name), options).value());
  }

  InvoiceBook Book(Replica& replica) { return InvoiceBook(replica, InvoiceBookOptions{clock_}); }

  static void AddCustomer(Replica& replica, const std::string& id) {
    WriteTransaction txn = replica.BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", id, "trade_name", Value(kTradeName)));
    ASSERT_DAICHO_OK(txn.Commit());
  }

  static InvoiceDraft Draft(const std::string& customer = "c1") {
    InvoiceDraft draft;
    draft.customer = customer;
    draft.items = {Item("経営事項審査 申請書作成", 1, 50'000), Item("決算変更届", 2, 15'000)};
    draft.issue_date = "2026-12-01";
    draft.due_date = "2026-12-31";
    draft.number = "2026-0042";
    return draft;
  }

  // Sends `from`'s changes that `to` lacks to `to`, as a sync would.
  static void Deliver(const Replica& from, Replica& to) {
    Result<std::vector<ChangeBlob>> changes = from.ChangesSince(to.GetVersionVector().value());
    ASSERT_DAICHO_OK(changes);
    ASSERT_DAICHO_OK(to.Apply(*changes));
  }

  static void RefuseBilling(Replica& replica) {
    Entitlements e;
    e.managed = true;
    e.valid_until = std::chrono::system_clock::time_point(std::chrono::milliseconds(JapanNoon(2027y / 4 / 1)));
    e.billing = {OptionStatus::kRefused, 2, 11'000, "請求管理: 追加料金 11,000円 (税込) でご利用いただけます",
                 "billing management: available for an extra fee of ¥11,000 (tax included)"};
    ASSERT_DAICHO_OK(client::StoreEntitlements(replica, e));
  }

  testing::TempDir dir_;
  std::shared_ptr<testing::FakeClock> clock_ = std::make_shared<testing::FakeClock>();
  std::unique_ptr<Replica> a_;
};

TEST_F(InvoiceBookTest, CreateStoresTheInvoiceAndLinksItFromTheCustomerInOneChange) {
  const uint64_t before = a_->GetVersionVector()->Get(a_->id());
  Result<std::string> id = Book(*a_).Create(Draft());
  ASSERT_DAICHO_OK(id);
  EXPECT_TRUE(std::regex_match(*id, std::regex("20261201-[0-9A-HJKMNP-TV-Z]{6}"))) << *id;
  EXPECT_EQ(a_->GetVersionVector()->Get(a_->id()), before + 1);

  Result<Record> customer = a_->Get("customers", "c1");
  ASSERT_DAICHO_OK(customer);
  const FieldView* link = customer->Find("invoices");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->kind, FieldKind::kSet);
  EXPECT_EQ(link->elements, std::vector<std::string>{*id});

  Result<Invoice> invoice = Book(*a_).Get(*id);
  ASSERT_DAICHO_OK(invoice);
  EXPECT_EQ(invoice->customer, "c1");
  EXPECT_EQ(invoice->customer_name, kTradeName);
  EXPECT_EQ(invoice->number, "2026-0042");
  EXPECT_EQ(invoice->issue_date, "2026-12-01");
  EXPECT_EQ(invoice->due_date, "2026-12-31");
  ASSERT_EQ(invoice->items.size(), 2u);
  EXPECT_EQ(invoice->items[1].description, "決算変更届");
  EXPECT_EQ(invoice->items[1].quantity, 2);
  EXPECT_EQ(invoice->items[1].unit_price_yen, 15'000);
  EXPECT_EQ(invoice->items[1].tax_rate_percent, 10u);
  EXPECT_EQ(invoice->totals.subtotal_yen, 80'000);
  EXPECT_EQ(invoice->totals.tax_yen, 8'000);
  EXPECT_EQ(invoice->totals.amount_yen, 88'000);
  EXPECT_EQ(invoice->paid_yen, 0);
  EXPECT_EQ(invoice->state, InvoiceState::kUnpaid);
  EXPECT_EQ(invoice->balance_yen(), 88'000);

  // Stored as plain fields another app (or `daicho get`) can read.
  Result<Record> record = a_->Get("invoices", *id);
  ASSERT_DAICHO_OK(record);
  EXPECT_EQ(record->Find("amount_yen")->value, Value(int64_t{88'000}));
  EXPECT_EQ(record->Find("item.02.description")->value, Value("決算変更届"));
  EXPECT_EQ(record->Find("status")->value, Value("issued"));
}

TEST_F(InvoiceBookTest, DatesDefaultToTodayAndTheEndOfTheNextMonth) {
  clock_->Set(JapanNoon(2027y / 1 / 31));
  InvoiceDraft draft = Draft();
  draft.issue_date.clear();
  draft.due_date.clear();
  draft.number.clear();
  Result<std::string> id = Book(*a_).Create(draft);
  ASSERT_DAICHO_OK(id);
  EXPECT_EQ(id->substr(0, 9), "20270131-");
  Result<Invoice> invoice = Book(*a_).Get(*id);
  ASSERT_DAICHO_OK(invoice);
  EXPECT_EQ(invoice->issue_date, "2027-01-31");
  EXPECT_EQ(invoice->due_date, "2027-02-28");
  EXPECT_EQ(invoice->number, "");
  EXPECT_EQ(a_->Get("invoices", *id)->Find("number"), nullptr);
}

TEST_F(InvoiceBookTest, DatesAreReadAsPeopleWriteThemAndStoredIso) {
  InvoiceDraft draft = Draft();
  draft.issue_date = "２０２６/12/1";
  draft.due_date = "令和9年1月15日";
  Result<std::string> id = Book(*a_).Create(draft);
  ASSERT_DAICHO_OK(id);
  EXPECT_EQ(Book(*a_).Get(*id)->issue_date, "2026-12-01");
  EXPECT_EQ(Book(*a_).Get(*id)->due_date, "2027-01-15");
  ASSERT_DAICHO_OK(Book(*a_).RecordPayment(*id, 1'000, "2026/12/9"));
  EXPECT_EQ(Book(*a_).Get(*id)->payments[0].date, "2026-12-09");
}

TEST_F(InvoiceBookTest, BadDraftsWriteNothing) {
  const VersionVector before = a_->GetVersionVector().value();
  InvoiceDraft unknown = Draft("nobody");
  EXPECT_EQ(Book(*a_).Create(unknown).status().code(), Code::kNotFound);
  InvoiceDraft bad_date = Draft();
  bad_date.issue_date = "12/01";
  EXPECT_EQ(Book(*a_).Create(bad_date).status().code(), Code::kInvalidArgument);
  InvoiceDraft no_such_day = Draft();
  no_such_day.due_date = "2027-02-29";
  EXPECT_EQ(Book(*a_).Create(no_such_day).status().code(), Code::kInvalidArgument);
  InvoiceDraft due_first = Draft();
  due_first.due_date = "2026-11-30";
  EXPECT_EQ(Book(*a_).Create(due_first).status().code(), Code::kInvalidArgument);
  InvoiceDraft no_items = Draft();
  no_items.items.clear();
  EXPECT_EQ(Book(*a_).Create(no_items).status().code(), Code::kInvalidArgument);
  // A deleted customer is no customer.
  WriteTransaction txn = a_->BeginWrite();
  ASSERT_DAICHO_OK(txn.Delete("customers", "c1"));
  ASSERT_DAICHO_OK(txn.Commit());
  const VersionVector after_delete = a_->GetVersionVector().value();
  EXPECT_EQ(Book(*a_).Create(Draft()).status().code(), Code::kNotFound);
  EXPECT_EQ(a_->GetVersionVector().value(), after_delete);
  EXPECT_NE(before, after_delete);
  EXPECT_EQ(a_->List("invoices")->records.size(), 0u);
}

TEST_F(InvoiceBookTest, PaymentsDeriveTheStateAndOverpayingIsRefused) {
  InvoiceBook book = Book(*a_);
  const std::string id = book.Create(Draft()).value();
  ASSERT_DAICHO_OK(book.RecordPayment(id, 30'000, "2026-12-05", "振込 一部"));
  Result<Invoice> invoice = book.Get(id);
  ASSERT_DAICHO_OK(invoice);
  EXPECT_EQ(invoice->state, InvoiceState::kPartlyPaid);
  EXPECT_EQ(invoice->paid_yen, 30'000);
  EXPECT_EQ(invoice->balance_yen(), 58'000);

  Status over = book.RecordPayment(id, 58'001);
  EXPECT_EQ(over.code(), Code::kFailedPrecondition) << over;
  EXPECT_NE(over.message().find("58000"), std::string::npos) << over;
  EXPECT_EQ(book.RecordPayment(id, 0).code(), Code::kInvalidArgument);
  EXPECT_EQ(book.RecordPayment(id, 1, "12/05").code(), Code::kInvalidArgument);
  EXPECT_EQ(book.RecordPayment(id, 1, "2026-02-30").code(), Code::kInvalidArgument);
  EXPECT_EQ(book.RecordPayment("20261201-ZZZZZZ", 1).code(), Code::kNotFound);

  // The same amount twice on one day is two payments.
  ASSERT_DAICHO_OK(book.RecordPayment(id, 29'000));
  ASSERT_DAICHO_OK(book.RecordPayment(id, 29'000));
  invoice = book.Get(id);
  ASSERT_DAICHO_OK(invoice);
  EXPECT_EQ(invoice->state, InvoiceState::kPaid);
  EXPECT_EQ(invoice->balance_yen(), 0);
  ASSERT_EQ(invoice->payments.size(), 3u);
  EXPECT_EQ(invoice->payments[0].date, "2026-12-05");
  EXPECT_EQ(invoice->payments[0].amount_yen, 30'000);
  EXPECT_EQ(invoice->payments[0].note, "振込 一部");
  EXPECT_EQ(invoice->payments[1].date, "2026-12-07");
  EXPECT_EQ(invoice->payments[2].amount_yen, 29'000);
  EXPECT_EQ(invoice->payments[2].note, "");
}

TEST_F(InvoiceBookTest, OverdueIsDerivedFromTodayAndNeverStored) {
  InvoiceBook book = Book(*a_);
  const std::string unpaid = book.Create(Draft()).value();
  const std::string partly = book.Create(Draft()).value();
  const std::string paid = book.Create(Draft()).value();
  ASSERT_DAICHO_OK(book.RecordPayment(partly, 1'000));
  ASSERT_DAICHO_OK(book.RecordPayment(paid, 88'000));

  clock_->Set(JapanNoon(2026y / 12 / 31));  // the due day itself: not yet overdue
  EXPECT_EQ(book.Get(unpaid)->state, InvoiceState::kUnpaid);
  EXPECT_EQ(book.Get(partly)->state, InvoiceState::kPartlyPaid);
  const VersionVector before = a_->GetVersionVector().value();
  clock_->Set(JapanNoon(2027y / 1 / 1));
  EXPECT_EQ(book.Get(unpaid)->state, InvoiceState::kOverdue);
  EXPECT_EQ(book.Get(partly)->state, InvoiceState::kOverdue);
  EXPECT_EQ(book.Get(paid)->state, InvoiceState::kPaid);
  EXPECT_EQ(a_->GetVersionVector().value(), before);
  EXPECT_EQ(a_->Get("invoices", unpaid)->Find("status")->value, Value("issued"));
}

TEST_F(InvoiceBookTest, CancelledInvoicesTakeNoPaymentsAndLeaveTheUnpaidList) {
  InvoiceBook book = Book(*a_);
  const std::string id = book.Create(Draft()).value();
  ASSERT_DAICHO_OK(book.Cancel(id));
  EXPECT_EQ(book.Get(id)->state, InvoiceState::kCancelled);
  EXPECT_EQ(book.RecordPayment(id, 100).code(), Code::kFailedPrecondition);
  EXPECT_EQ(book.Cancel("20261201-ZZZZZZ").code(), Code::kNotFound);
  InvoiceFilter unpaid;
  unpaid.unpaid_only = true;
  EXPECT_TRUE(book.List(unpaid)->empty());
  EXPECT_EQ(book.List()->size(), 1u);
}

TEST_F(InvoiceBookTest, ListFiltersByCustomerAndUnpaid) {
  AddCustomer(*a_, "c2");
  InvoiceBook book = Book(*a_);
  const std::string c1_paid = book.Create(Draft("c1")).value();
  const std::string c1_open = book.Create(Draft("c1")).value();
  const std::string c2_open = book.Create(Draft("c2")).value();
  ASSERT_DAICHO_OK(book.RecordPayment(c1_paid, 88'000));

  auto ids = [&](const InvoiceFilter& filter) {
    std::vector<std::string> out;
    Result<std::vector<Invoice>> listed = book.List(filter);
    EXPECT_DAICHO_OK(listed);
    if (!listed.ok()) return out;
    for (const Invoice& invoice : *listed) out.push_back(invoice.id);
    return out;
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(ids({}), sorted({c1_paid, c1_open, c2_open}));
  EXPECT_EQ(ids({true, ""}), sorted({c1_open, c2_open}));
  EXPECT_EQ(ids({false, "c1"}), sorted({c1_paid, c1_open}));
  EXPECT_EQ(ids({true, "c1"}), std::vector<std::string>{c1_open});
  EXPECT_TRUE(ids({false, "c3"}).empty());
  EXPECT_EQ(a_->Get("customers", "c2")->Find("invoices")->elements, std::vector<std::string>{c2_open});
}

TEST_F(InvoiceBookTest, AnInvoiceRecordMissingItsFieldsIsCorruption) {
  WriteTransaction txn = a_->BeginWrite();
  ASSERT_DAICHO_OK(txn.Set("invoices", "x", "customer", Value("c1")));
  ASSERT_DAICHO_OK(txn.Commit());
  Result<Invoice> invoice = Book(*a_).Get("x");
  EXPECT_EQ(invoice.status().code(), Code::kCorruption);
  EXPECT_NE(invoice.status().message().find("issue_date"), std::string::npos) << invoice.status();
  EXPECT_EQ(Book(*a_).List().status().code(), Code::kCorruption);

  // An item edited out of range by another program.
  const std::string id = Book(*a_).Create(Draft()).value();
  WriteTransaction edit = a_->BeginWrite();
  ASSERT_DAICHO_OK(edit.Set("invoices", id, "item.02.quantity", Value(int64_t{0})));
  ASSERT_DAICHO_OK(edit.Commit());
  invoice = Book(*a_).Get(id);
  EXPECT_EQ(invoice.status().code(), Code::kCorruption);
  EXPECT_NE(invoice.status().message().find("item 2: the quantity"), std::string::npos) << invoice.status();
}

TEST_F(InvoiceBookTest, RefusedBillingStopsEveryWriteButNotReading) {
  InvoiceBook book = Book(*a_);
  const std::string id = book.Create(Draft()).value();
  RefuseBilling(*a_);
  const VersionVector before = a_->GetVersionVector().value();

  Status checked = book.CheckWritable();
  EXPECT_EQ(checked.code(), Code::kPermissionDenied);
  EXPECT_EQ(checked.message(),
            "請求管理: 追加料金 11,000円 (税込) でご利用いただけます / billing management: available for an extra fee "
            "of ¥11,000 (tax included)");
  EXPECT_EQ(book.Create(Draft()).status().code(), Code::kPermissionDenied);
  EXPECT_EQ(book.RecordPayment(id, 1'000).code(), Code::kPermissionDenied);
  EXPECT_EQ(book.Cancel(id).code(), Code::kPermissionDenied);
  EXPECT_EQ(a_->GetVersionVector().value(), before);

  EXPECT_DAICHO_OK(book.Get(id));
  EXPECT_EQ(book.List()->size(), 1u);
}

TEST_F(InvoiceBookTest, AStaleReportRefusesWritesAfterTheGracePeriod) {
  Entitlements e;
  e.managed = true;
  e.valid_until = std::chrono::system_clock::time_point(std::chrono::milliseconds(JapanNoon(2027y / 4 / 1)));
  ASSERT_DAICHO_OK(client::StoreEntitlements(*a_, e));
  InvoiceBook book = Book(*a_);
  ASSERT_DAICHO_OK(book.Create(Draft()));
  clock_->Set(JapanNoon(2027y / 5 / 1));  // 30 days after the renewal: still trusted
  ASSERT_DAICHO_OK(book.Create(Draft()));
  clock_->Set(JapanNoon(2027y / 5 / 2));
  Status s = book.Create(Draft()).status();
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_NE(s.message().find("リレーに接続して同期してください"), std::string::npos) << s;
}

TEST_F(InvoiceBookTest, PaymentsRecordedOfflineOnTwoPcsBothCount) {
  auto b = Open("b");
  const std::string id = Book(*a_).Create(Draft()).value();
  Deliver(*a_, *b);

  // Both PCs offline: each records a payment for the same invoice.
  ASSERT_DAICHO_OK(Book(*a_).RecordPayment(id, 30'000, "2026-12-08", "PC1 振込"));
  ASSERT_DAICHO_OK(Book(*b).RecordPayment(id, 20'000, "2026-12-09", "PC2 現金"));
  Deliver(*a_, *b);
  Deliver(*b, *a_);

  for (Replica* replica : {a_.get(), b.get()}) {
    Result<Invoice> invoice = Book(*replica).Get(id);
    ASSERT_DAICHO_OK(invoice);
    EXPECT_EQ(invoice->paid_yen, 50'000);
    EXPECT_EQ(invoice->state, InvoiceState::kPartlyPaid);
    ASSERT_EQ(invoice->payments.size(), 2u);
    EXPECT_EQ(invoice->payments[0].note, "PC1 振込");
    EXPECT_EQ(invoice->payments[1].note, "PC2 現金");
    EXPECT_FALSE(replica->Get("invoices", id)->has_conflict());
  }
}

TEST(InvoiceStateNameTest, NamesAreStable) {
  EXPECT_EQ(InvoiceStateName(InvoiceState::kUnpaid), "unpaid");
  EXPECT_EQ(InvoiceStateName(InvoiceState::kPartlyPaid), "partly_paid");
  EXPECT_EQ(InvoiceStateName(InvoiceState::kPaid), "paid");
  EXPECT_EQ(InvoiceStateName(InvoiceState::kOverdue), "overdue");
  EXPECT_EQ(InvoiceStateName(InvoiceState::kCancelled), "cancelled");
}

}  // namespace
}  // namespace daicho
