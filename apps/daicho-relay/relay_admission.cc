#include "apps/daicho-relay/relay_admission.h"

#include <string>
#include <utility>
#include <variant>

namespace daicho::relay {

Result<net::AcceptedSession> AdmitSession(RelayStore& store, const net::Hello& hello) {
  auto contract = ContractNumber::Parse(hello.contract);
  if (!contract.ok()) return Status(Code::kUnauthenticated, contract.status().message());
  net::AcceptedSession accepted;
  if (const auto* password = std::get_if<net::PasswordCredential>(&hello.credentials)) {
    DAICHO_RETURN_IF_ERROR(store.Authenticate(*contract, hello.user, password->password));
    if (!hello.device_name.empty()) {
      DAICHO_ASSIGN_OR_RETURN(accepted.device_token, store.IssueDeviceToken(*contract, hello.user, hello.device_name));
    }
  } else if (const auto* token = std::get_if<net::DeviceTokenCredential>(&hello.credentials)) {
    DAICHO_ASSIGN_OR_RETURN(std::string user, store.AuthenticateDevice(*contract, token->token));
    if (user != hello.user) return Status(Code::kUnauthenticated, "wrong user or password");
  } else {
    return Status(Code::kUnauthenticated, "a login (password or saved device token) is required");
  }
  if (hello.purpose == net::Purpose::kPublishKeys) {
    DAICHO_RETURN_IF_ERROR(store.PublishOfficeKey(*contract, hello.publish_keys, hello.replaces_key_id));
  }
  DAICHO_ASSIGN_OR_RETURN(accepted.office_keys, store.GetOfficeKey(*contract));
  DAICHO_ASSIGN_OR_RETURN(accepted.store, store.ContractChanges(*contract));
  accepted.group = contract->str();  // a contract's devices see each other's changes live
  return accepted;
}

}  // namespace daicho::relay
