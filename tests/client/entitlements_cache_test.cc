// The entitlements a PC keeps from the relay's last report
// (client/entitlements_cache.h, RelayClient::GetEntitlements) and the billing
// gate over them (CheckBillingWritable, daicho/entitlements.h).
#include "client/entitlements_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "daicho/entitlements.h"
#include "daicho/relay_client.h"
#include "daicho/replica.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/test_util.h"

namespace daicho {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::system_clock;

constexpr char kRefusedJa[] = "請求管理: 新規の申請があと2件、または追加料金 11,000円 (税込) でご利用いただけます";
constexpr char kRefusedEn[] =
    "billing management: available with 2 more new filings, or an extra fee of ¥11,000 (tax included)";

bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// 2026-04-01 00:00 JST, a renewal day.
system_clock::time_point Renewal() { return system_clock::time_point(milliseconds(1'774'969'200'000)); }

Entitlements Managed(OptionStatus billing) {
  Entitlements e;
  e.known = true;
  e.managed = true;
  e.evaluated_at = Renewal() - hours(24 * 300);
  e.valid_until = Renewal();
  e.backup = {OptionStatus::kPaid, 0, 0, "インターネットバックアップ: 支払済み", "Internet backup: paid"};
  e.billing = {billing, 2, 11000, kRefusedJa, kRefusedEn};
  return e;
}

class EntitlementsCacheTest : public ::testing::Test {
 protected:
  EntitlementsCacheTest() {
    ReplicaOptions options;
    options.create_if_missing = true;
    replica_ = std::move(Replica::Open(dir_.Sub("pc"), options).value());
  }

  testing::TempDir dir_;
  std::unique_ptr<Replica> replica_;
};

TEST_F(EntitlementsCacheTest, NothingStoredIsUnknown) {
  Result<Entitlements> loaded = client::LoadEntitlements(*replica_);
  ASSERT_DAICHO_OK(loaded);
  EXPECT_FALSE(loaded->known);
  EXPECT_FALSE(loaded->managed);
}

TEST_F(EntitlementsCacheTest, StoredReportReadsBackThroughTheRelayClient) {
  Entitlements stored = Managed(OptionStatus::kRefused);
  stored.known = false;  // implied by storing
  ASSERT_DAICHO_OK(client::StoreEntitlements(*replica_, stored));

  Result<Entitlements> loaded = RelayClient(*replica_).GetEntitlements();
  ASSERT_DAICHO_OK(loaded);
  EXPECT_TRUE(loaded->known);
  EXPECT_TRUE(loaded->managed);
  EXPECT_EQ(loaded->evaluated_at, stored.evaluated_at);
  EXPECT_EQ(loaded->valid_until, stored.valid_until);
  EXPECT_EQ(loaded->backup.status, OptionStatus::kPaid);
  EXPECT_EQ(loaded->backup.message_en, "Internet backup: paid");
  EXPECT_EQ(loaded->billing.status, OptionStatus::kRefused);
  EXPECT_EQ(loaded->billing.shortfall, 2u);
  EXPECT_EQ(loaded->billing.fee_yen, 11000);
  EXPECT_EQ(loaded->billing.message_ja, kRefusedJa);
  EXPECT_EQ(loaded->billing.message_en, kRefusedEn);

  // A newer report replaces it whole.
  ASSERT_DAICHO_OK(client::StoreEntitlements(*replica_, Managed(OptionStatus::kFree)));
  EXPECT_EQ(client::LoadEntitlements(*replica_)->billing.status, OptionStatus::kFree);
}

TEST_F(EntitlementsCacheTest, DamagedValueIsCorruptionNotACrash) {
  ASSERT_DAICHO_OK(replica_->SetLocalSetting(client::kEntitlementsSetting, "\xff\xff\xff not protobuf"));
  Result<Entitlements> loaded = client::LoadEntitlements(*replica_);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), Code::kCorruption);
  EXPECT_TRUE(Contains(loaded.status().message(), "sync with the relay")) << loaded.status();
}

TEST_F(EntitlementsCacheTest, UnknownStatusOrNonTextMessageIsCorruption) {
  // Field 5 (billing) holding {status: 9}; then {message_ja: "\xff"}.
  for (const std::string& bytes : {std::string("\x2a\x02\x08\x09", 4), std::string("\x2a\x03\x22\x01\xff", 5)}) {
    ASSERT_DAICHO_OK(replica_->SetLocalSetting(client::kEntitlementsSetting, bytes));
    Result<Entitlements> loaded = RelayClient(*replica_).GetEntitlements();
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), Code::kCorruption) << loaded.status();
  }
}

TEST(BillingGateTest, UnknownOrUnmanagedContractsWriteFreely) {
  EXPECT_DAICHO_OK(CheckBillingWritable(Entitlements{}, Renewal() + hours(24 * 1000)));
  Entitlements unmanaged = Managed(OptionStatus::kRefused);
  unmanaged.managed = false;
  EXPECT_DAICHO_OK(CheckBillingWritable(unmanaged, Renewal() + hours(24 * 1000)));
}

TEST(BillingGateTest, FreePaidForecastAndNotAppliedAreAllowed) {
  for (OptionStatus status :
       {OptionStatus::kFree, OptionStatus::kPaid, OptionStatus::kNeedsFilings, OptionStatus::kNotApplied}) {
    EXPECT_DAICHO_OK(CheckBillingWritable(Managed(status), Renewal() - hours(1)));
  }
}

TEST(BillingGateTest, RefusedSaysTheRelaysSentencesJapaneseFirst) {
  Status s = CheckBillingWritable(Managed(OptionStatus::kRefused), Renewal() - hours(1));
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_EQ(s.message(), std::string(kRefusedJa) + " / " + kRefusedEn);

  Entitlements silent = Managed(OptionStatus::kRefused);
  silent.billing.message_ja.clear();
  silent.billing.message_en.clear();
  s = CheckBillingWritable(silent, Renewal() - hours(1));
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_TRUE(Contains(s.message(), "請求管理")) << s;
  EXPECT_TRUE(Contains(s.message(), "billing management")) << s;
}

TEST(BillingGateTest, StaleReportIsTrustedForTheGracePeriodThenRefused) {
  const Entitlements free = Managed(OptionStatus::kFree);
  EXPECT_DAICHO_OK(CheckBillingWritable(free, Renewal() + hours(1)));
  EXPECT_DAICHO_OK(CheckBillingWritable(free, Renewal() + kEntitlementGracePeriod));
  Status s = CheckBillingWritable(free, Renewal() + kEntitlementGracePeriod + milliseconds(1));
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  // Both languages say what to do and which renewal the report was for.
  EXPECT_EQ(s.message().rfind("請求管理: 契約の更新状況を確認するため、リレーに接続して同期してください", 0), 0u) << s;
  EXPECT_TRUE(Contains(s.message(), "connect to the relay and sync to check the licence renewal")) << s;
  EXPECT_TRUE(Contains(s.message(), "2026-04-01")) << s;
}

}  // namespace
}  // namespace daicho
