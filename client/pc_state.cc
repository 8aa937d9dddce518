#include "client/pc_state.h"

#include <utility>

#include "crypto/office_key.h"

namespace daicho::client {
namespace {

// Local setting names (Replica::SetLocalSetting).
constexpr std::string_view kEnvelopesKey = "daicho.office.envelopes";  // contract \0 serialized envelopes
constexpr std::string_view kHoldsKey = "daicho.relay.holds";           // VersionVector::ToString

}  // namespace

Result<crypto::KeyRing> PcState::HeldRing(const std::string& contract) const {
  if (memory_contract_ == contract && !memory_ring_.empty()) return memory_ring_.Clone();
  DAICHO_ASSIGN_OR_RETURN(auto stored, crypto::LoadOfficeKey(KeyPath()));
  if (!stored || stored->contract != contract) return crypto::KeyRing();
  return std::move(stored->ring);
}

Result<std::optional<crypto::StoredOfficeKey>> PcState::HeldOffice() const {
  if (!memory_ring_.empty()) {
    return std::optional<crypto::StoredOfficeKey>(crypto::StoredOfficeKey{memory_contract_, memory_ring_.Clone()});
  }
  return crypto::LoadOfficeKey(KeyPath());
}

Result<PcOffice> PcState::Office(std::string_view relay_contract, const std::string& passphrase) const {
  DAICHO_ASSIGN_OR_RETURN(auto held, HeldOffice());
  DAICHO_ASSIGN_OR_RETURN(auto envelopes, LoadEnvelopes());
  PcOffice office;
  office.contract = !relay_contract.empty() ? std::string(relay_contract)
                    : held                  ? held->contract
                    : envelopes             ? envelopes->contract
                                            : std::string();
  if (office.contract.empty()) return office;
  if (held && held->contract == office.contract) office.ring = std::move(held->ring);
  const bool envelopes_here = envelopes && envelopes->contract == office.contract && !envelopes->keys.empty();
  if (office.ring.empty() && envelopes_here && !passphrase.empty()) {
    DAICHO_ASSIGN_OR_RETURN(office.ring, crypto::UnwrapWithPassphrase(envelopes->keys, office.contract, passphrase));
  }
  office.has_office_key = !office.ring.empty() || envelopes_here;
  return office;
}

Status PcState::KeepRing(const std::string& contract, const crypto::KeyRing& ring, bool store_key) {
  if (store_key) {
    DAICHO_RETURN_IF_ERROR(crypto::SaveOfficeKey(KeyPath(), contract, ring));
  } else {
    DAICHO_RETURN_IF_ERROR(crypto::RemoveOfficeKey(KeyPath()));
  }
  memory_contract_ = contract;
  memory_ring_ = ring.Clone();
  return Status::Ok();
}

Status PcState::ForgetRing() {
  memory_ring_ = crypto::KeyRing();
  memory_contract_.clear();
  return crypto::RemoveOfficeKey(KeyPath());
}

Status PcState::SaveEnvelopes(const OfficeEnvelopes& envelopes) {
  std::string value = envelopes.contract;
  value.push_back('\0');
  value += crypto::SerializeWrappedOfficeKey(envelopes.keys);
  return replica_.SetLocalSetting(kEnvelopesKey, value);
}

Result<std::optional<OfficeEnvelopes>> PcState::LoadEnvelopes() const {
  DAICHO_ASSIGN_OR_RETURN(auto value, replica_.GetLocalSetting(kEnvelopesKey));
  if (!value) return std::optional<OfficeEnvelopes>();
  const size_t sep = value->find('\0');
  if (sep == std::string::npos) return Corruption("saved office key envelopes are damaged");
  auto keys = crypto::ParseWrappedOfficeKey(std::string_view(*value).substr(sep + 1));
  if (!keys.ok()) return Corruption("saved office key envelopes are damaged");
  return std::optional<OfficeEnvelopes>(OfficeEnvelopes{value->substr(0, sep), *std::move(keys)});
}

Result<VersionVector> PcState::RelayHolds() const {
  DAICHO_ASSIGN_OR_RETURN(auto value, replica_.GetLocalSetting(kHoldsKey));
  if (!value) return VersionVector();
  auto parsed = VersionVector::Parse(*value);
  if (!parsed.ok()) return Status(Code::kCorruption, "saved relay state does not parse: " + parsed.status().message());
  return parsed;
}

Status PcState::RecordRelayReport(const VersionVector& holds) {
  return replica_.SetLocalSetting(kHoldsKey, holds.ToString());
}

Status PcState::LearnFromPeer(const VersionVector& peer_knows_relay_holds) {
  DAICHO_ASSIGN_OR_RETURN(VersionVector holds, RelayHolds());
  if (holds.Dominates(peer_knows_relay_holds)) return Status::Ok();
  holds.Join(peer_knows_relay_holds);
  return RecordRelayReport(holds);
}

}  // namespace daicho::client
