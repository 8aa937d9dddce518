#include "relay/admin/messages.h"

#include <iterator>

namespace daicho::relay::admin {
namespace {

struct Entry {
  Msg msg;
  std::string_view id;
  std::string_view ja;
  std::string_view en;
};

// In Msg's order (checked below and by messages_test). {0}, {1}, ... are
// filled by Format.
constexpr Entry kEntries[] = {
    {Msg::kAppTitle, "app.title", "台帳 管理画面", "daicho admin panel"},
    {Msg::kNavUsers, "nav.users", "ユーザー", "Users"},
    {Msg::kNavDevices, "nav.devices", "端末", "Devices"},
    {Msg::kNavKey, "nav.key", "事務所キー", "Office key"},
    {Msg::kNavAudit, "nav.audit", "操作履歴", "Audit log"},
    {Msg::kNavMe, "nav.me", "パスワード変更", "My password"},
    {Msg::kLogOut, "nav.logout", "ログアウト", "Log out"},
    {Msg::kOtherLanguage, "nav.other_language", "English", "日本語"},
    {Msg::kLoggedInAs, "nav.logged_in_as", "{0}（契約番号 {1}）", "{0} (contract {1})"},
    {Msg::kLoginTitle, "login.title", "管理画面へのログイン", "Log in to the admin panel"},
    {Msg::kContractNumber, "field.contract", "契約番号", "Contract number"},
    {Msg::kContractHint, "field.contract_hint", "12桁の数字（例: 1234-5678-9012）", "12 digits, e.g. 1234-5678-9012"},
    {Msg::kUserId, "field.user_id", "ユーザーID（メールアドレス）", "User ID (e-mail address)"},
    {Msg::kPassword, "field.password", "パスワード", "Password"},
    {Msg::kPasswordHint, "field.password_hint", "半角英数字 {0}〜{1} 文字", "{0}-{1} half-width letters and digits"},
    {Msg::kUserIdHint, "field.user_id_hint", "{0}〜{1} 文字（空白なし）", "{0}-{1} characters, no spaces"},
    {Msg::kLogInButton, "login.button", "ログイン", "Log in"},
    {Msg::kForgotPassword, "login.forgot", "パスワードを忘れた方", "Forgot your password?"},
    {Msg::kLoginFailed, "login.failed", "契約番号、ユーザーID、パスワードのいずれかが違います。",
     "The contract number, user ID or password is wrong."},
    {Msg::kLoginThrottled, "login.throttled",
     "ログインの失敗が続いたため、しばらくログインできません。{0} 秒後にもう一度お試しください。"
     "パスワードを忘れた場合は「パスワードを忘れた方」から再設定できます。",
     "Too many failed logins: try again in {0} seconds. If you forgot your password, reset it with "
     "\"Forgot your password?\"."},
    {Msg::kAccountDisabled, "login.disabled",
     "このアカウントは使えない状態です。事務所の管理者にお問い合わせください。",
     "This account is disabled: ask your office's administrator."},
    {Msg::kBusy, "error.busy", "ただいま混み合っています。少し待ってからもう一度お試しください。",
     "The server is busy: try again in a moment."},
    {Msg::kSessionEnded, "login.session_ended", "ログインの有効期限が切れました。もう一度ログインしてください。",
     "Your login has expired: log in again."},
    {Msg::kLoggedOut, "login.logged_out", "ログアウトしました。", "You have logged out."},
    {Msg::kContractMalformed, "contract.malformed", "契約番号は 1234-5678-9012 のように12桁の数字で入力してください。",
     "Enter the contract number as 12 digits, e.g. 1234-5678-9012."},
    {Msg::kUserIdTooShort, "user_id.too_short", "ユーザーIDは {0} 文字以上で入力してください。",
     "The user ID must have at least {0} characters."},
    {Msg::kUserIdTooLong, "user_id.too_long", "ユーザーIDは {0} 文字以内で入力してください。",
     "The user ID must have at most {0} characters."},
    {Msg::kUserIdBadCharacters, "user_id.bad_characters",
     "ユーザーIDには半角の英数字と記号だけが使えます（空白や全角文字は使えません）。",
     "The user ID may hold only half-width letters, digits and symbols (no spaces, no full-width characters)."},
    {Msg::kPasswordTooShort, "password.too_short", "パスワードは {0} 文字以上で入力してください。",
     "The password must have at least {0} characters."},
    {Msg::kPasswordTooLong, "password.too_long", "パスワードは {0} 文字以内で入力してください。",
     "The password must have at most {0} characters."},
    {Msg::kPasswordBadCharacters, "password.bad_characters", "パスワードには半角の英字と数字だけが使えます。",
     "The password may hold only half-width letters and digits."},
    {Msg::kPasswordsDiffer, "password.differ", "確認のために入力したパスワードが一致しません。",
     "The two passwords you typed differ."},
    {Msg::kRequired, "field.required", "入力してください。", "Please fill in this field."},
    {Msg::kUsersTitle, "users.title", "ユーザー一覧", "Users"},
    {Msg::kColumnUser, "column.user", "ユーザーID", "User ID"},
    {Msg::kColumnRole, "column.role", "権限", "Role"},
    {Msg::kColumnState, "column.state", "状態", "State"},
    {Msg::kColumnLastSync, "column.last_sync", "最終同期", "Last sync"},
    {Msg::kColumnDevices, "column.devices", "端末", "Devices"},
    {Msg::kRoleAdmin, "role.admin", "管理者", "Administrator"},
    {Msg::kRoleUser, "role.user", "一般", "User"},
    {Msg::kStateEnabled, "state.enabled", "有効", "Enabled"},
    {Msg::kStateDisabled, "state.disabled", "無効", "Disabled"},
    {Msg::kNever, "time.never", "なし", "never"},
    {Msg::kUnknown, "value.unknown", "不明", "unknown"},
    {Msg::kEdit, "users.edit", "編集", "Edit"},
    {Msg::kAddUserTitle, "users.add_title", "ユーザーの追加", "Add a user"},
    {Msg::kAddUserButton, "users.add_button", "追加する", "Add"},
    {Msg::kInitialPassword, "users.initial_password", "初期パスワード", "Initial password"},
    {Msg::kPasswordConfirm, "field.password_confirm", "パスワード（確認）", "Password (again)"},
    {Msg::kUserAdded, "users.added", "{0} を追加しました。", "Added {0}."},
    {Msg::kUserExists, "users.exists", "そのユーザーIDはすでに使われています。", "That user ID is already in use."},
    {Msg::kEditUserTitle, "user.title", "ユーザーの編集", "Edit user"},
    {Msg::kNewPassword, "field.new_password", "新しいパスワード", "New password"},
    {Msg::kChangePasswordButton, "user.change_password", "パスワードを変更する", "Change the password"},
    {Msg::kPasswordChangedFor, "user.password_changed",
     "{0} のパスワードを変更しました。{0} のPCは、新しいパスワードで接続し直すまで同期できません。",
     "Changed the password of {0}. Their PCs sync again once connected with the new password."},
    {Msg::kDisableButton, "user.disable", "無効にする", "Disable"},
    {Msg::kEnableButton, "user.enable", "有効にする", "Enable"},
    {Msg::kMakeAdminButton, "user.make_admin", "管理者にする", "Make administrator"},
    {Msg::kRevokeAdminButton, "user.revoke_admin", "管理者から外す", "Remove administrator role"},
    {Msg::kRemoveButton, "user.remove", "このユーザーを削除する", "Remove this user"},
    {Msg::kRemoveConfirm, "user.remove_confirm",
     "削除すると元に戻せません。このユーザーのPCの保存済みログインも取り消されます。",
     "This cannot be undone; the saved logins of the user's PCs are revoked too."},
    {Msg::kRemoveConfirmBox, "user.remove_confirm_box", "削除してよいことを確認しました", "I am sure"},
    {Msg::kRemoveNotConfirmed, "user.remove_not_confirmed", "削除するには確認のチェックを入れてください。",
     "Tick the box to confirm the removal."},
    {Msg::kUserDisabled, "user.disabled", "{0} を無効にしました。同期中のPCも止まります。",
     "Disabled {0}; their PCs stop syncing."},
    {Msg::kUserEnabled, "user.enabled", "{0} を有効にしました。", "Enabled {0}."},
    {Msg::kAdminGranted, "user.admin_granted", "{0} を管理者にしました。", "{0} is now an administrator."},
    {Msg::kAdminRevoked, "user.admin_revoked", "{0} を管理者から外しました。", "{0} is no longer an administrator."},
    {Msg::kUserRemoved, "user.removed", "{0} を削除しました。", "Removed {0}."},
    {Msg::kLastAdmin, "user.last_admin",
     "管理者がいなくなるため、この操作はできません。先に別のユーザーを管理者にしてください。",
     "This would leave the office without an administrator: make another user an administrator first."},
    {Msg::kDevicesTitle, "devices.title", "端末一覧", "Devices"},
    {Msg::kDevicesIntro, "devices.intro",
     "パスワードを保存して同期しているPCです。ログインを取り消すと、そのPCの同期はすぐに止まります。",
     "PCs that sync with a saved password. Revoking a login stops that PC's sync at once."},
    {Msg::kColumnDeviceName, "column.device_name", "端末名", "Name"},
    {Msg::kColumnReplica, "column.replica", "端末ID", "ID"},
    {Msg::kColumnLastAddress, "column.last_address", "接続元", "From"},
    {Msg::kColumnUnsynced, "column.unsynced", "未バックアップ（前回接続時）", "Not backed up (at last connect)"},
    {Msg::kRecords, "value.records", "{0} 件", "{0} records"},
    {Msg::kNoDevices, "devices.none", "パスワードを保存したPCはまだありません。", "No PC has saved its login yet."},
    {Msg::kRevokeButton, "devices.revoke", "ログインを取り消す", "Revoke login"},
    {Msg::kDeviceRevoked, "devices.revoked", "{0} のログインを取り消しました。同期中だった場合も止まりました。",
     "Revoked the login of {0}; its sync has stopped."},
    {Msg::kKeyTitle, "key.title", "事務所キー", "Office key"},
    {Msg::kKeyIntro, "key.intro",
     "台帳のデータは事務所キーで暗号化されています。キーの中身はサーバーに保存されず、この画面にも表示されません。",
     "The ledger is encrypted with the office key. The key itself is never stored on the server nor shown here."},
    {Msg::kKeyId, "key.id", "キー番号", "Key number"},
    {Msg::kKeyCreated, "key.created", "作成日時", "Created"},
    {Msg::kKeyChanged, "key.changed", "最終変更日時", "Last changed"},
    {Msg::kKeyNone, "key.none", "事務所キーはまだ設定されていません。最初のPCで「daicho key init」を実行してください。",
     "No office key yet: run \"daicho key init\" on the first PC."},
    {Msg::kAuditTitle, "audit.title", "操作履歴", "Audit log"},
    {Msg::kColumnTime, "column.time", "日時", "Time"},
    {Msg::kColumnActor, "column.actor", "実行者", "By"},
    {Msg::kColumnAction, "column.action", "操作", "Action"},
    {Msg::kColumnTarget, "column.target", "対象", "Target"},
    {Msg::kColumnVia, "column.via", "経路", "Via"},
    {Msg::kOperator, "audit.operator", "サービス運営者", "the service operator"},
    {Msg::kOlder, "audit.older", "さらに前の履歴", "Older entries"},
    {Msg::kNoAudit, "audit.none", "履歴はまだありません。", "Nothing recorded yet."},
    {Msg::kMeTitle, "me.title", "パスワードの変更", "Change my password"},
    {Msg::kCurrentPassword, "field.current_password", "現在のパスワード", "Current password"},
    {Msg::kCurrentPasswordWrong, "me.current_wrong", "現在のパスワードが違います。", "The current password is wrong."},
    {Msg::kOwnPasswordChanged, "me.changed",
     "パスワードを変更しました。ほかの画面やPCのログインは終了しました。PCは新しいパスワードで接続し直してください。",
     "Your password was changed. Your other logins have ended: connect your PCs again with the new password."},
    {Msg::kResetTitle, "reset.title", "パスワードの再設定", "Reset your password"},
    {Msg::kResetIntro, "reset.intro",
     "契約番号とユーザーID（メールアドレス）を入力してください。登録されていれば、そのアドレスに確認番号をお送りします"
     "。",
     "Enter your contract number and user ID (e-mail address). If they are registered, a confirmation code is "
     "mailed to that address."},
    {Msg::kResetSendButton, "reset.send", "確認番号を送る", "Send the code"},
    {Msg::kResetSentTitle, "reset.sent_title", "メールをご確認ください", "Check your mail"},
    {Msg::kResetSent, "reset.sent",
     "登録されているアカウントであれば、確認番号を記載したメールをお送りしました。確認番号の有効期限は {0} 分です。"
     "メールが届かない場合は、契約番号とユーザーIDを確かめてもう一度お試しください。",
     "If the account is registered, a mail with a confirmation code is on its way. The code is valid for {0} "
     "minutes. If no mail arrives, check the contract number and user ID and try again."},
    {Msg::kResetEnterCode, "reset.enter_code", "確認番号と新しいパスワードを入力する",
     "Enter the code and a new password"},
    {Msg::kResetCode, "field.reset_code", "確認番号（{0}桁）", "Confirmation code ({0} digits)"},
    {Msg::kResetConfirmButton, "reset.confirm", "パスワードを設定する", "Set the password"},
    {Msg::kResetFailed, "reset.failed",
     "確認番号が違うか、有効期限が切れています。確認番号をもう一度請求してください。",
     "The code is wrong or has expired: ask for a new code."},
    {Msg::kResetCodeMalformed, "reset.code_malformed", "確認番号は {0} 桁の数字です。", "The code has {0} digits."},
    {Msg::kResetDone, "reset.done",
     "パスワードを再設定しました。新しいパスワードでログインしてください。PCも新しいパスワードで接続し直してください"
     "。",
     "Your password has been reset. Log in with the new password, and connect your PCs again with it."},
    {Msg::kTooManyRequests, "error.too_many_requests",
     "短い時間に操作が多すぎます。{0} 秒ほど待ってからもう一度お試しください。",
     "Too many requests: wait about {0} seconds and try again."},
    {Msg::kNotFound, "error.not_found", "お探しのページは見つかりません。", "There is no such page."},
    {Msg::kFormExpired, "error.form_expired",
     "画面の有効期限が切れました。ページを開き直してからもう一度お試しください。",
     "This form has expired: reload the page and try again."},
    {Msg::kHttpsOnly, "error.https_only", "この管理画面は暗号化された接続（https）でのみ使えます。",
     "This admin panel is served over an encrypted connection (https) only."},
    {Msg::kInternalError, "error.internal",
     "サーバーでエラーが起きました。時間をおいてもう一度お試しください。続く場合はサポートにご連絡ください。",
     "The server ran into an error: try again later, and contact support if it persists."},
    {Msg::kBackToTop, "nav.back", "管理画面のトップへ", "Back to the admin panel"},
    {Msg::kBackToLogin, "nav.back_to_login", "ログイン画面へ", "Back to the login page"},
    {Msg::kActionLogin, "audit.action.login", "ログイン", "Logged in"},
    {Msg::kActionLoginFailed, "audit.action.login_failed", "ログイン失敗", "Failed login"},
    {Msg::kActionUserAdd, "audit.action.user_add", "ユーザー追加", "Added user"},
    {Msg::kActionUserPassword, "audit.action.user_password", "パスワード変更（管理者）",
     "Password set by an administrator"},
    {Msg::kActionUserDisable, "audit.action.user_disable", "ユーザーを無効化", "Disabled user"},
    {Msg::kActionUserEnable, "audit.action.user_enable", "ユーザーを有効化", "Enabled user"},
    {Msg::kActionUserAdmin, "audit.action.user_admin", "管理者に設定", "Made administrator"},
    {Msg::kActionUserUnadmin, "audit.action.user_unadmin", "管理者から解除", "Removed administrator role"},
    {Msg::kActionUserRemove, "audit.action.user_remove", "ユーザー削除", "Removed user"},
    {Msg::kActionDeviceRevoke, "audit.action.device_revoke", "端末のログイン取り消し", "Revoked a PC's login"},
    {Msg::kActionPasswordChange, "audit.action.password_change", "本人によるパスワード変更", "Changed own password"},
    {Msg::kActionResetRequest, "audit.action.reset_request", "パスワード再設定の請求", "Asked for a password reset"},
    {Msg::kActionResetDone, "audit.action.reset_done", "パスワード再設定", "Reset the password"},
    {Msg::kViaCli, "audit.via.cli", "サーバーのコマンド", "server command"},
    {Msg::kViaPanel, "audit.via.panel", "管理画面", "admin panel"},
    {Msg::kViaApi, "audit.via.api", "API", "API"},
    {Msg::kNavLicence, "nav.licence", "ライセンス", "Licence"},
    {Msg::kLicenceTitle, "licence.title", "ライセンスとオプション", "Licence and options"},
    {Msg::kLicenceUnmanaged, "licence.unmanaged",
     "この契約のライセンスはベンダーの管理対象ではありません。オプションの制限はありません。",
     "The vendor does not manage this contract's licence: no option is restricted."},
    {Msg::kLicenceYear, "licence.year", "ライセンス年度 {0}〜{1}", "Licence year {0} to {1}"},
    {Msg::kLicenceCounted, "licence.counted", "判定対象の申請: {0}件（うち新規追加 {1}件）、{2}〜{3}",
     "Filings counted: {0} ({1} new additional), {2} to {3}"},
    {Msg::kLicenceFirstYear, "licence.first_year", "導入後1年目のため、すべて無料です。",
     "The first year after installation: everything is free."},
    {Msg::kColumnItem, "column.item", "項目", "Item"},
    {Msg::kColumnReason, "column.reason", "内容", "Details"},
    {Msg::kLineBase, "licence.line.base", "基本更新", "Base renewal"},
    {Msg::kStatusFree, "licence.status.free", "無料", "Free"},
    {Msg::kStatusPaid, "licence.status.paid", "お支払い済み", "Paid"},
    {Msg::kStatusNeedsFilings, "licence.status.needs_filings", "申請が必要", "Filings needed"},
    {Msg::kStatusRefused, "licence.status.refused", "ご利用いただけません", "Not available"},
    {Msg::kStatusNotApplied, "licence.status.not_applied", "お申し込みなし", "Not applied for"},
    {Msg::kLicenceForecast, "licence.forecast", "次回更新（{0}）の見通し（{1}までの申請）",
     "Next renewal ({0}), on the filings up to {1}"},
    {Msg::kFreeOptionTitle, "licence.free_option", "申請が40〜49件のときに無料にするオプション",
     "The option kept free with 40 to 49 filings"},
    {Msg::kFreeOptionButton, "licence.free_option.button", "変更する", "Change"},
    {Msg::kFreeOptionChanged, "licence.free_option.changed", "無料にするオプションを「{0}」にしました。",
     "The option kept free is now {0}."},
    {Msg::kActionLicenceSet, "audit.action.licence_set", "ライセンスの登録", "Recorded the licence"},
    {Msg::kActionLicenceClear, "audit.action.licence_clear", "ライセンス管理の終了", "Stopped managing the licence"},
    {Msg::kActionFreeOption, "audit.action.free_option", "無料オプションの選択", "Chose the free option"},
    {Msg::kActionPayment, "audit.action.payment", "お支払いの記録", "Recorded a payment"},
    {Msg::kActionFilingsImport, "audit.action.filings_import", "申請記録の取り込み", "Imported filing records"},
    {Msg::kNavVendorContracts, "nav.vendor_contracts", "契約一覧", "Contracts"},
    {Msg::kNavVendorFilings, "nav.vendor_filings", "申請記録の取り込み", "Import filings"},
    {Msg::kVendorContractsTitle, "vendor.contracts.title", "契約一覧（ベンダー）", "Office contracts (vendor)"},
    {Msg::kVendorContractsIntro, "vendor.contracts.intro",
     "各契約の現在のライセンス年度の判定です。契約番号を選ぶとライセンスの記録と入金の記録ができます。",
     "Each contract as judged for its current licence year. Choose a contract number to record its licence and "
     "payments."},
    {Msg::kNoContracts, "vendor.contracts.none", "契約はありません。", "There are no contracts."},
    {Msg::kColumnContract, "column.contract", "契約番号", "Contract"},
    {Msg::kColumnLicence, "column.licence", "ライセンス", "Licence"},
    {Msg::kColumnFeeDue, "column.fee_due", "未払いの追加料金", "Fee due"},
    {Msg::kLicenceFacts, "vendor.licence_facts", "{0}本、更新日 {1}", "{0} licence(s), renews {1}"},
    {Msg::kLicenceInstalled, "vendor.licence_installed", "導入日 {0}", "installed {0}"},
    {Msg::kOptionsNone, "vendor.options_none", "オプションなし", "no options"},
    {Msg::kUnmanaged, "vendor.unmanaged", "管理対象外", "unmanaged"},
    {Msg::kYen, "vendor.yen", "{0}円", "{0} yen"},
    {Msg::kVendorContractTitle, "vendor.contract.title", "契約の詳細（ベンダー）", "Contract (vendor)"},
    {Msg::kVendorContractHeading, "vendor.contract.heading", "契約番号 {0}", "Contract {0}"},
    {Msg::kLicenceFormTitle, "vendor.licence.title", "ライセンスの記録", "Record the licence"},
    {Msg::kFieldInstalled, "vendor.field.installed", "導入日（新規導入の場合。1年目は無料）",
     "Installation day (a new installation: its first year is free)"},
    {Msg::kFieldRenews, "vendor.field.renews", "初回の更新日（空欄: 導入日の1年後）",
     "First renewal day (empty: a year after the installation)"},
    {Msg::kDateHint, "vendor.field.date_hint", "例: 2026-04-01", "e.g. 2026-04-01"},
    {Msg::kFieldLicences, "vendor.field.licences", "ライセンス数", "Licences"},
    {Msg::kFieldOptions, "vendor.field.options", "申し込みオプション", "Options applied for"},
    {Msg::kSaveButton, "vendor.save", "記録する", "Save"},
    {Msg::kLicenceSaved, "vendor.licence.saved", "契約 {0} のライセンスを記録しました。",
     "Recorded the licence of contract {0}."},
    {Msg::kFilingsTitle, "vendor.filings.title", "申請記録", "Filings"},
    {Msg::kColumnCompany, "column.company", "会社ID", "Company id"},
    {Msg::kColumnFiledOn, "column.filed_on", "申請日", "Filed on"},
    {Msg::kColumnFilingId, "column.filing_id", "申請番号", "Filing id"},
    {Msg::kNoFilings, "vendor.filings.none", "取り込まれた申請はありません。", "No filings imported."},
    {Msg::kPaymentsTitle, "vendor.payments.title", "入金", "Payments"},
    {Msg::kColumnRecorded, "column.recorded", "記録日時", "Recorded"},
    {Msg::kColumnAmount, "column.amount", "金額（税込）", "Amount (tax incl.)"},
    {Msg::kColumnLicenceYear, "column.licence_year", "ライセンス年度", "Licence year"},
    {Msg::kColumnReference, "column.reference", "受付番号", "Reference"},
    {Msg::kColumnNote, "column.note", "メモ", "Note"},
    {Msg::kNoPayments, "vendor.payments.none", "入金の記録はありません。", "No payments recorded."},
    {Msg::kPayTitle, "vendor.pay.title", "入金を記録", "Record a payment"},
    {Msg::kFieldPaidFor, "vendor.field.paid_for", "対象", "Paid for"},
    {Msg::kFieldAmount, "vendor.field.amount", "金額（円、税込。返金は負の数）",
     "Amount (yen, tax included; a refund is negative)"},
    {Msg::kFieldLicenceYear, "vendor.field.licence_year", "ライセンス年度の初日（空欄: 今年度）",
     "First day of the licence year (empty: the current one)"},
    {Msg::kFieldReference, "vendor.field.reference", "受付番号（任意。同じ番号は二度記録できません）",
     "Reference (optional; one is recorded once)"},
    {Msg::kFieldNote, "vendor.field.note", "メモ（任意）", "Note (optional)"},
    {Msg::kPaymentRecorded, "vendor.pay.recorded", "入金 {0}円を記録しました。", "Recorded a payment of {0} yen."},
    {Msg::kAmountInvalid, "vendor.pay.amount_invalid", "金額は整数（円）で入力してください。",
     "Write the amount as whole yen."},
    {Msg::kDateInvalid, "vendor.date_invalid", "「{0}」は日付として読めません（例: 2026-04-01）。",
     "'{0}' is not a date (e.g. 2026-04-01)."},
    {Msg::kLicencesInvalid, "vendor.licences_invalid", "ライセンス数は 1〜{0} の整数で入力してください。",
     "Licences is a whole number from 1 to {0}."},
    {Msg::kRenewsRequired, "vendor.renews_required", "導入日か初回の更新日を入力してください。",
     "Give the installation day, the first renewal day or both."},
    {Msg::kVendorFilingsTitle, "vendor.import.title", "申請記録の取り込み", "Import filing records"},
    {Msg::kFilingsIntro, "vendor.import.intro",
     "CSVファイル（UTF-8 "
     "またはShift_"
     "JIS）の1行が1件の申請です。見出し行に「契約番号」「会社ID」「申請日」（任意で「申請番号」）の列が必要です。すべて"
     "の行を取り込むか、問題があれば1行も取り込みません。同じファイルをもう一度取り込んでも件数は増えません。",
     "One row of a CSV file (UTF-8 or Shift_JIS) is one filing. The header row names the columns contract, company_id "
     "and filed_on (filing_id optional; Japanese names work too). Every row is imported or, if any row has a problem, "
     "none. Importing a file again adds nothing."},
    {Msg::kFieldFile, "vendor.import.file", "ファイル", "File"},
    {Msg::kFieldEncoding, "vendor.import.encoding", "文字コード", "Encoding"},
    {Msg::kEncodingAuto, "vendor.import.encoding_auto", "自動判定", "Detect"},
    {Msg::kDryRun, "vendor.import.dry_run", "確認のみ（取り込まない）", "Check only (import nothing)"},
    {Msg::kImportButton, "vendor.import.button", "取り込む", "Import"},
    {Msg::kImportDone, "vendor.import.done", "{0}行: 新規 {1}件、取り込み済み {2}件（{3}契約）。文字コード: {4}",
     "{0} rows: {1} new, {2} already imported ({3} contracts). Read as {4}."},
    {Msg::kImportDryRun, "vendor.import.dry_run_done", "確認のみで、何も取り込んでいません。",
     "Checked only: nothing was imported."},
    {Msg::kImportRefused, "vendor.import.refused", "問題のある行が {0}件あるため、何も取り込んでいません。",
     "{0} rows have problems: nothing was imported."},
    {Msg::kImportUnreadable, "vendor.import.unreadable", "ファイルを読めないため、何も取り込んでいません: {0}",
     "The file cannot be read, nothing was imported: {0}"},
    {Msg::kImportNoFile, "vendor.import.no_file", "取り込むファイルを選んでください。", "Choose a file to import."},
    {Msg::kColumnLine, "column.line", "行", "Line"},
    {Msg::kColumnProblem, "column.problem", "問題", "Problem"},
};
static_assert(std::size(kEntries) == static_cast<size_t>(Msg::kCount), "one entry per message");

constexpr bool InMsgOrder() {
  for (size_t i = 0; i < std::size(kEntries); ++i) {
    if (kEntries[i].msg != static_cast<Msg>(i)) return false;
  }
  return true;
}
static_assert(InMsgOrder(), "kEntries lists the messages in Msg's order");

const Entry& EntryOf(Msg msg) { return kEntries[static_cast<size_t>(msg)]; }

}  // namespace

std::string_view LangTag(Lang lang) { return lang == Lang::kJa ? "ja" : "en"; }

std::string_view MessageId(Msg msg) { return EntryOf(msg).id; }

std::string_view Text(Msg msg, Lang lang) { return lang == Lang::kJa ? EntryOf(msg).ja : EntryOf(msg).en; }

std::string Format(Msg msg, Lang lang, std::initializer_list<std::string_view> args) {
  const std::string_view text = Text(msg, lang);
  std::string out;
  out.reserve(text.size() + 16 * args.size());
  for (size_t i = 0; i < text.size(); ++i) {
    // "{N}" with a single digit N names args[N]; anything else is literal.
    if (text[i] == '{' && i + 2 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '9' && text[i + 2] == '}') {
      const auto n = static_cast<size_t>(text[i + 1] - '0');
      if (n < args.size()) {
        out += *(args.begin() + n);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::vector<Msg> AllMessages() {
  std::vector<Msg> all;
  for (const Entry& entry : kEntries) all.push_back(entry.msg);
  return all;
}

}  // namespace daicho::relay::admin
