#include "relay/entitlements/entitlement_text.h"

#include <string>

#include "text/date_text.h"
#include "text/number_text.h"

namespace daicho::entitlements {

namespace {

std::string JaDate(Date d) { return text::FormatJapaneseDate(d); }
std::string EnDate(Date d) { return text::FormatIsoDate(d); }

std::string Num(uint32_t n) { return std::to_string(n); }

// "1 filing", "2 filings".
std::string Filings(uint32_t n, const char* adjective = "") {
  return Num(n) + " " + adjective + (n == 1 ? "filing" : "filings");
}

std::string Licences(uint32_t n) { return Num(n) + (n == 1 ? " licence" : " licences"); }

// An English phrase at the start of a sentence.
std::string Capitalized(std::string name) {
  if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') name[0] = static_cast<char>(name[0] - 'a' + 'A');
  return name;
}

Text FirstYear(const ReasonFacts& f) {
  if (f.installed) {
    return {"導入後1年目のため無料です（" + JaDate(*f.installed) + " 導入、" + JaDate(f.free_until) + " まで）",
            "Free in the first year after installation (installed " + EnDate(*f.installed) + ", free until " +
                EnDate(f.free_until) + ")"};
  }
  return {"最初の更新日より前のため無料です（" + JaDate(f.free_until) + " まで）",
          "Free before the first renewal (until " + EnDate(f.free_until) + ")"};
}

Text Threshold(uint32_t threshold, const ReasonFacts& f, bool chosen) {
  const std::string ja = "年間の申請 " + Num(f.filings) + "件（" + Num(threshold) + "件以上）のため";
  const std::string en = "Free: " + Filings(f.filings) + " in the year (" + Num(threshold) + " or more)";
  if (chosen) return {ja + "、選択されたこのオプションが無料です", en + ", and the office chose this option"};
  return {ja + "無料です", en};
}

// "（ライセンス 2本 × 3件）" and "(2 licences × 3)".
Text PerLicence(const ReasonFacts& f) {
  return {"（ライセンス " + Num(f.licences) + "本 × " + Num(kBaseFilingsPerLicence) + "件）",
          "(" + Licences(f.licences) + " × " + Num(kBaseFilingsPerLicence) + ")"};
}

Text BaseReason(const LineResult& r, const ReasonFacts& f) {
  const Text per = PerLicence(f);
  switch (r.status) {
    case LineStatus::kPaid:
      return {"基本更新: 追加料金 " + text::GroupThousands(r.paid_yen) + "円 (税込) のお支払いにより満たしています" +
                  per.ja,
              "Base renewal: met by an extra fee of ¥" + text::GroupThousands(r.paid_yen) + " (tax included) paid " +
                  per.en};
    case LineStatus::kNeedsFilings:
      return {
          "基本更新: 次回更新（" + JaDate(f.renewal) + "）までに申請があと" + Num(r.shortfall) + "件必要です" + per.ja,
          "Base renewal: " + Num(r.shortfall) + " more " + (r.shortfall == 1 ? "filing" : "filings") +
              " needed by the next renewal (" + EnDate(f.renewal) + ") " + per.en};
    case LineStatus::kNeedsPayment:
      return {"基本更新: 申請があと" + Num(r.shortfall) + "件、または追加料金 " + text::GroupThousands(r.fee_yen) +
                  "円 (税込) が必要です" + per.ja,
              "Base renewal: " + Num(r.shortfall) + " more " + (r.shortfall == 1 ? "filing" : "filings") +
                  " or an extra fee of ¥" + text::GroupThousands(r.fee_yen) + " (tax included) needed " + per.en};
    case LineStatus::kFree:
    case LineStatus::kNotApplied:
      break;
  }
  return {"基本更新: 申請 " + Num(r.counted) + "件で満たしています" + per.ja,
          "Base renewal: met with " + Filings(r.counted) + " " + per.en};
}

Text OptionShortfall(const LineResult& r, const ReasonFacts& f) {
  const std::string more = Num(r.shortfall) + " more new " + (r.shortfall == 1 ? "filing" : "filings");
  if (r.status == LineStatus::kNeedsFilings) {
    return {"次回更新（" + JaDate(f.renewal) + "）までに新規の申請があと" + Num(r.shortfall) + "件必要です",
            Capitalized(more) + " needed by the next renewal (" + EnDate(f.renewal) + ")"};
  }
  // The refusal sentence, with the period it was judged on.
  const Text name = OptionName(static_cast<Option>(r.line));
  return {
      name.ja + ": 新規の申請があと" + Num(r.shortfall) + "件、または追加料金 " + text::GroupThousands(r.fee_yen) +
          "円 (税込) でご利用いただけます（" + JaDate(f.count_from) + "〜" + JaDate(f.count_last) + " の申請で判定）",
      name.en + ": available with " + more + ", or an extra fee of ¥" + text::GroupThousands(r.fee_yen) +
          " (tax included) (judged on filings " + EnDate(f.count_from) + " to " + EnDate(f.count_last) + ")"};
}

}  // namespace

Text OptionName(Option option) {
  switch (option) {
    case Option::kBackup:
      return {"インターネットバックアップ", "Internet backup"};
    case Option::kBilling:
      return {"請求管理", "Billing management"};
  }
  return {};
}

Text LineReason(const LineResult& r, const ReasonFacts& f) {
  switch (r.basis) {
    case Basis::kFirstYear:
      return FirstYear(f);
    case Basis::kFiftyOrMore:
      return Threshold(kFilingsForBothFree, f, false);
    case Basis::kFortyOrMoreChosen:
      return Threshold(kFilingsForOneFree, f, f.both_applied);
    case Basis::kNewFilings:
      return {"新規追加の申請 " + Num(r.counted) + "件（必要 " + Num(r.required) + "件）のため無料です",
              "Free: " + Filings(r.counted, "new additional ") + " (" + Num(r.required) + " needed)"};
    case Basis::kPayment:
      if (r.line == Line::kBase) return BaseReason(r, f);
      return {"追加料金 " + text::GroupThousands(r.paid_yen) + "円 (税込) のお支払いにより利用できます",
              "Available: an extra fee of ¥" + text::GroupThousands(r.paid_yen) + " (tax included) was paid"};
    case Basis::kBaseFilings:
      return BaseReason(r, f);
    case Basis::kShortfall:
      if (r.line == Line::kBase) return BaseReason(r, f);
      return OptionShortfall(r, f);
    case Basis::kNotApplied:
      return {"お申し込みがありません", "Not applied for"};
  }
  return {};
}

}  // namespace daicho::entitlements
