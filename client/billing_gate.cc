// The billing gate of daicho/entitlements.h, written once: InvoiceBook and
// the CLI's generic writes to the `invoices` collection both call it.
#include <string>

#include "daicho/entitlements.h"
#include "text/date_text.h"

namespace daicho {

Status CheckBillingWritable(const Entitlements& entitlements, std::chrono::system_clock::time_point now) {
  // Offline-first: a PC that never heard from the relay, and a contract the
  // vendor does not manage, keep every feature.
  if (!entitlements.known || !entitlements.managed) return Status::Ok();
  const OptionEntitlement& billing = entitlements.billing;
  if (billing.status == OptionStatus::kRefused) {
    if (billing.message_ja.empty() && billing.message_en.empty()) {
      return PermissionDenied("請求管理はご利用いただけません / billing management is not available");
    }
    return PermissionDenied(billing.message_ja + " / " + billing.message_en);
  }
  // A report older than a renewal plus the grace period says nothing about
  // this licence year: the PC must ask the relay again.
  if (now > entitlements.valid_until + kEntitlementGracePeriod) {
    const std::string renewal = text::FormatIsoDate(text::JapanDay(entitlements.valid_until));
    return PermissionDenied(
        "請求管理: 契約の更新状況を確認するため、リレーに接続して同期してください（前回の確認は " + renewal +
        " の更新までのものです） / billing management: connect to the relay and sync to check the licence "
        "renewal (the last report was valid until the renewal on " +
        renewal + ")");
  }
  return Status::Ok();
}

}  // namespace daicho
