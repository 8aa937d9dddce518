#include "client/entitlements_cache.h"

#include <chrono>
#include <string>

#include "client/proto/relay_settings.pb.h"
#include "daicho/value.h"

namespace daicho::client {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

int64_t ToMillis(system_clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

system_clock::time_point FromMillis(int64_t ms) { return system_clock::time_point(milliseconds(ms)); }

void EncodeOption(const OptionEntitlement& option, v1::OptionEntitlement& pb) {
  pb.set_status(static_cast<uint32_t>(option.status));
  pb.set_shortfall(option.shortfall);
  pb.set_fee_yen(option.fee_yen);
  pb.set_message_ja(option.message_ja);
  pb.set_message_en(option.message_en);
}

Result<OptionEntitlement> DecodeOption(const v1::OptionEntitlement& pb) {
  // The messages are shown to the clerk as text, so they must be text.
  if (pb.status() > static_cast<uint32_t>(OptionStatus::kNotApplied) || !IsValidUtf8(pb.message_ja()) ||
      !IsValidUtf8(pb.message_en())) {
    return Corruption("the saved licence entitlements are damaged: sync with the relay to replace them");
  }
  return OptionEntitlement{static_cast<OptionStatus>(pb.status()), pb.shortfall(), pb.fee_yen(), pb.message_ja(),
                           pb.message_en()};
}

}  // namespace

Status StoreEntitlements(Replica& replica, const Entitlements& entitlements) {
  v1::EntitlementsCache pb;
  pb.set_managed(entitlements.managed);
  pb.set_evaluated_ms(ToMillis(entitlements.evaluated_at));
  pb.set_valid_until_ms(ToMillis(entitlements.valid_until));
  EncodeOption(entitlements.backup, *pb.mutable_backup());
  EncodeOption(entitlements.billing, *pb.mutable_billing());
  return replica.SetLocalSetting(kEntitlementsSetting, pb.SerializeAsString());
}

Result<Entitlements> LoadEntitlements(const Replica& replica) {
  DAICHO_ASSIGN_OR_RETURN(auto bytes, replica.GetLocalSetting(kEntitlementsSetting));
  Entitlements entitlements;
  if (!bytes) return entitlements;
  v1::EntitlementsCache pb;
  if (!pb.ParseFromString(*bytes)) {
    return Corruption("the saved licence entitlements do not decode: sync with the relay to replace them");
  }
  entitlements.known = true;
  entitlements.managed = pb.managed();
  entitlements.evaluated_at = FromMillis(pb.evaluated_ms());
  entitlements.valid_until = FromMillis(pb.valid_until_ms());
  DAICHO_ASSIGN_OR_RETURN(entitlements.backup, DecodeOption(pb.backup()));
  DAICHO_ASSIGN_OR_RETURN(entitlements.billing, DecodeOption(pb.billing()));
  return entitlements;
}

}  // namespace daicho::client
