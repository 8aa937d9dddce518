// Every sentence the admin panel and its mail show, in Japanese (the
// default: office clerks read it) and English, under a stable id per
// message (a future message catalog can key on it). The credential rules'
// numbers are filled in from relay/password.h, so the browser's checks, the
// server's answers and the rules never disagree.
#ifndef DAICHO_RELAY_ADMIN_MESSAGES_H_
#define DAICHO_RELAY_ADMIN_MESSAGES_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace daicho::relay::admin {

enum class Lang { kJa, kEn };

// "ja" / "en".
std::string_view LangTag(Lang lang);

enum class Msg {
  kAppTitle,
  kNavUsers,
  kNavDevices,
  kNavKey,
  kNavAudit,
  kNavMe,
  kLogOut,
  kOtherLanguage,
  kLoggedInAs,
  kLoginTitle,
  kContractNumber,
  kContractHint,
  kUserId,
  kPassword,
  kPasswordHint,
  kUserIdHint,
  kLogInButton,
  kForgotPassword,
  kLoginFailed,
  kLoginThrottled,
  kAccountDisabled,
  kBusy,
  kSessionEnded,
  kLoggedOut,
  kContractMalformed,
  kUserIdTooShort,
  kUserIdTooLong,
  kUserIdBadCharacters,
  kPasswordTooShort,
  kPasswordTooLong,
  kPasswordBadCharacters,
  kPasswordsDiffer,
  kRequired,
  kUsersTitle,
  kColumnUser,
  kColumnRole,
  kColumnState,
  kColumnLastSync,
  kColumnDevices,
  kRoleAdmin,
  kRoleUser,
  kStateEnabled,
  kStateDisabled,
  kNever,
  kUnknown,
  kEdit,
  kAddUserTitle,
  kAddUserButton,
  kInitialPassword,
  kPasswordConfirm,
  kUserAdded,
  kUserExists,
  kEditUserTitle,
  kNewPassword,
  kChangePasswordButton,
  kPasswordChangedFor,
  kDisableButton,
  kEnableButton,
  kMakeAdminButton,
  kRevokeAdminButton,
  kRemoveButton,
  kRemoveConfirm,
  kRemoveConfirmBox,
  kRemoveNotConfirmed,
  kUserDisabled,
  kUserEnabled,
  kAdminGranted,
  kAdminRevoked,
  kUserRemoved,
  kLastAdmin,
  kDevicesTitle,
  kDevicesIntro,
  kColumnDeviceName,
  kColumnReplica,
  kColumnLastAddress,
  kColumnUnsynced,
  kRecords,
  kNoDevices,
  kRevokeButton,
  kDeviceRevoked,
  kKeyTitle,
  kKeyIntro,
  kKeyId,
  kKeyCreated,
  kKeyChanged,
  kKeyNone,
  kAuditTitle,
  kColumnTime,
  kColumnActor,
  kColumnAction,
  kColumnTarget,
  kColumnVia,
  kOperator,
  kOlder,
  kNoAudit,
  kMeTitle,
  kCurrentPassword,
  kCurrentPasswordWrong,
  kOwnPasswordChanged,
  kResetTitle,
  kResetIntro,
  kResetSendButton,
  kResetSentTitle,
  kResetSent,
  kResetEnterCode,
  kResetCode,
  kResetConfirmButton,
  kResetFailed,
  kResetCodeMalformed,
  kResetDone,
  kTooManyRequests,
  kNotFound,
  kFormExpired,
  kHttpsOnly,
  kInternalError,
  kBackToTop,
  kBackToLogin,
  kActionLogin,
  kActionLoginFailed,
  kActionUserAdd,
  kActionUserPassword,
  kActionUserDisable,
  kActionUserEnable,
  kActionUserAdmin,
  kActionUserUnadmin,
  kActionUserRemove,
  kActionDeviceRevoke,
  kActionPasswordChange,
  kActionResetRequest,
  kActionResetDone,
  kViaCli,
  kViaPanel,
  kViaApi,
  kCount,  // not a message: how many there are
};

// The message's stable id ("user_id.too_short").
std::string_view MessageId(Msg msg);
// The message in `lang`, holes unfilled.
std::string_view Text(Msg msg, Lang lang);
// The message with {0}, {1}, ... replaced by `args` in order.
std::string Format(Msg msg, Lang lang, std::initializer_list<std::string_view> args = {});

// Every message, for the tests that check the table.
std::vector<Msg> AllMessages();

}  // namespace daicho::relay::admin

#endif  // DAICHO_RELAY_ADMIN_MESSAGES_H_
