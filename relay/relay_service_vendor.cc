// RelayService, the vendor role: the vendor's staff contract and who may
// record licences, filings and payments (relay_service.h, "Licences and
// entitlements").
#include <optional>
#include <string>

#include "relay/relay_service.h"
#include "relay/relay_service_impl.h"

namespace daicho::relay {

using namespace service_detail;  // the rules shared with relay_service.cc

namespace service_detail {

Status RequireVendor(RelayReadTxn& txn, const Actor& actor) {
  if (actor.is_operator()) return Status::Ok();
  const Status refused(Code::kPermissionDenied, "only the vendor records licences, filings and payments");
  if (!actor.vendor) return refused;
  DAICHO_ASSIGN_OR_RETURN(auto vendor, txn.GetVendorContract());
  if (!vendor) return refused;
  // Asked again here, not trusted from the session: a staff user disabled
  // or removed a moment ago records nothing more.
  DAICHO_ASSIGN_OR_RETURN(auto record, txn.GetContract(*vendor));
  DAICHO_ASSIGN_OR_RETURN(auto account, FindAccount(txn, *vendor, actor.user_id));
  if (!record || record->disabled || !account || account->user_id != actor.user_id || account->disabled) {
    return refused;
  }
  return Status::Ok();
}

Status RefuseVendorContract(RelayReadTxn& txn, const ContractNumber& contract, std::string_view what) {
  DAICHO_ASSIGN_OR_RETURN(auto vendor, txn.GetVendorContract());
  if (vendor && *vendor == contract) {
    return Status(Code::kFailedPrecondition,
                  "contract " + contract.str() + " is the vendor's staff contract: it has no " + std::string(what));
  }
  return Status::Ok();
}

}  // namespace service_detail

Result<bool> RelayService::InitVendorContract(const ContractNumber& contract) {
  bool created = false;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Write([&](RelayWriteTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto named, txn.GetVendorContract());
    if (named && *named != contract) {
      DAICHO_ASSIGN_OR_RETURN(auto earlier, txn.GetContract(*named));
      if (earlier) {
        return Status(Code::kFailedPrecondition,
                      "the vendor's staff contract is already " + named->str() + " (remove it first to name another)");
      }
    }
    DAICHO_ASSIGN_OR_RETURN(bool exists, txn.LockContract(contract));
    created = !exists;
    if (!exists) {
      DAICHO_RETURN_IF_ERROR(txn.PutContract(contract));
    } else {
      DAICHO_ASSIGN_OR_RETURN(auto licence, txn.GetLicence(contract));
      if (licence) {
        return Status(Code::kFailedPrecondition,
                      "contract " + contract.str() + " has a licence recorded: it is an office's, not the vendor's");
      }
    }
    return named == contract ? Status::Ok() : txn.SetVendorContract(contract);
  }));
  return created;
}

Result<std::optional<ContractNumber>> RelayService::VendorContract() const {
  std::optional<ContractNumber> out;
  DAICHO_RETURN_IF_ERROR(impl_->backend->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(out, txn.GetVendorContract());
    return Status::Ok();
  }));
  return out;
}

}  // namespace daicho::relay
