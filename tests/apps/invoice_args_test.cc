// An --item of `daicho invoice create` (apps/daicho/invoice_args.h).
#include "apps/daicho/invoice_args.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/test_util.h"

namespace daicho::cli {
namespace {

TEST(InvoiceArgsTest, ItemSplitsAtTheLastTwoSeparators) {
  Result<InvoiceItem> item = ParseInvoiceItem("経営事項審査: 申請書作成:2:15,000", 8);
  ASSERT_DAICHO_OK(item);
  EXPECT_EQ(item->description, "経営事項審査: 申請書作成");
  EXPECT_EQ(item->quantity, 2);
  EXPECT_EQ(item->unit_price_yen, 15'000);
  EXPECT_EQ(item->tax_rate_percent, 8u);

  // Full-width separators and digits, as a Japanese input method types them;
  // the description keeps its own full-width characters.
  item = ParseInvoiceItem("第２期 顧問料：１：３０，０００", 10);
  ASSERT_DAICHO_OK(item);
  EXPECT_EQ(item->description, "第２期 顧問料");
  EXPECT_EQ(item->quantity, 1);
  EXPECT_EQ(item->unit_price_yen, 30'000);
}

TEST(InvoiceArgsTest, MalformedItemsSayWhatIsExpected) {
  for (const std::string bad : {"説明だけ", "説明:1", ":1", "説明:一:100", "説明:1:百円", "説明:1:", "説明::100"}) {
    Result<InvoiceItem> item = ParseInvoiceItem(bad, 10);
    EXPECT_EQ(item.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(item.status().message().find("--item"), std::string::npos) << item.status();
  }
  EXPECT_NE(ParseInvoiceItem("x:1", 10).status().message().find("DESCRIPTION:QUANTITY:UNIT_PRICE"), std::string::npos);
  // An empty description is InvoiceBook's to refuse (it names the item).
  EXPECT_DAICHO_OK(ParseInvoiceItem(":1:1", 10));
}

}  // namespace
}  // namespace daicho::cli
