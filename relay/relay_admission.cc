#include "relay/relay_admission.h"

#include <string>
#include <utility>
#include <variant>

namespace daicho::relay {

Result<sync::AcceptedSession> AdmitSession(RelayService& store, const sync::Hello& hello,
                                           const std::string& peer_address) {
  auto contract = ContractNumber::Parse(hello.contract);
  if (!contract.ok()) return Status(Code::kUnauthenticated, contract.status().message());
  sync::AcceptedSession accepted;
  // The vendor's staff contract holds no office data: its users log in to
  // the panel only. Said after the login was checked, so it tells a guesser
  // nothing.
  auto refuse_vendor_contract = [&]() -> Status {
    DAICHO_ASSIGN_OR_RETURN(auto vendor, store.VendorContract());
    if (vendor != *contract) return Status::Ok();
    return Status(Code::kPermissionDenied, "contract " + contract->str() +
                                               " is the vendor's staff contract: it has no office data to sync; "
                                               "its users work in the relay's admin panel");
  };
  if (const auto* password = std::get_if<sync::PasswordCredential>(&hello.credentials)) {
    DAICHO_ASSIGN_OR_RETURN(RelayService::PasswordLogin login,
                            store.LogIn(*contract, hello.user, password->password, peer_address));
    DAICHO_RETURN_IF_ERROR(refuse_vendor_contract());
    if (!hello.device_name.empty()) {
      DAICHO_ASSIGN_OR_RETURN(accepted.admission.device_token,
                              store.IssueDeviceToken(*contract, hello.user, hello.replica_id, hello.device_name));
    }
    accepted.recheck_login = [&store, number = *contract, login = std::move(login)] {
      return store.CheckPasswordLogin(number, login);
    };
  } else if (const auto* token = std::get_if<sync::DeviceTokenCredential>(&hello.credentials)) {
    DAICHO_RETURN_IF_ERROR(store.LogInWithDevice(*contract, hello.user, token->token, hello.replica_id, peer_address));
    DAICHO_RETURN_IF_ERROR(refuse_vendor_contract());
    accepted.recheck_login = [&store, number = *contract, user = hello.user, token = token->token,
                              replica = hello.replica_id] {
      return store.AuthenticateDevice(number, user, token, replica);
    };
  } else {
    return Status(Code::kUnauthenticated, "a login (password or saved device token) is required");
  }
  // For `user list` and `device list`: when and from where this user (any
  // login) and this PC (a saved login) last synced, and the PC's records
  // not yet backed up as it reports them.
  DAICHO_RETURN_IF_ERROR(
      store.RecordDeviceSync(*contract, hello.user, hello.replica_id, peer_address, hello.unsynced_records));
  if (hello.purpose == sync::Purpose::kPublishKeys) {
    DAICHO_RETURN_IF_ERROR(store.PublishOfficeKey(*contract, hello.publish_keys, hello.replaces_key_id));
  }
  DAICHO_ASSIGN_OR_RETURN(accepted.admission.office_keys, store.GetOfficeKey(*contract));
  DAICHO_ASSIGN_OR_RETURN(RelayService::SyncTerms terms, store.SyncTermsFor(*contract));
  accepted.admission.entitlements = terms.entitlements;
  accepted.admission.uploads_refused = terms.uploads_refused;
  // The session also ends when the uploads it may make change (a payment,
  // filings imported, a renewal): the PC reconnects under the new terms.
  accepted.recheck_login = [&store, number = *contract, login_check = std::move(accepted.recheck_login),
                            refused = terms.uploads_refused]() -> Status {
    DAICHO_RETURN_IF_ERROR(login_check());
    DAICHO_ASSIGN_OR_RETURN(RelayService::SyncTerms now, store.SyncTermsFor(number));
    if (now.uploads_refused == refused) return Status::Ok();
    return Status(Code::kFailedPrecondition, now.uploads_refused
                                                 ? "this contract's Internet backup is no longer entitled"
                                                 : "this contract's Internet backup is entitled again");
  };
  DAICHO_ASSIGN_OR_RETURN(accepted.store, store.ContractChanges(*contract));
  accepted.group = contract->str();  // a contract's devices see each other's changes live
  return accepted;
}

}  // namespace daicho::relay
