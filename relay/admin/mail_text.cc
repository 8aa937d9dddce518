#include "relay/admin/mail_text.h"

#include <string>

#include "relay/admin/pages.h"

namespace daicho::relay::admin {

MailMessage ResetCodeMail(std::string_view to, std::string_view contract, std::string_view code,
                          uint64_t valid_minutes) {
  const std::string minutes = std::to_string(valid_minutes);
  std::string text;
  text += std::string(to) + " 様\n\n";
  text += "台帳 管理画面（契約番号 " + std::string(contract) + "）のパスワード再設定の確認番号は次のとおりです。\n\n";
  text += "    " + std::string(code) + "\n\n";
  text += "有効期限は " + minutes + " 分です。再設定の画面で、この確認番号と新しいパスワードを入力してください。\n";
  text += "お心当たりのない場合は、このメールを破棄してください。パスワードは変わりません。\n\n";
  text += "Your daicho password reset code (contract " + std::string(contract) + ") is " + std::string(code) +
          ". It is valid for " + minutes +
          " minutes. If you did not ask for it, ignore this mail: your password stays as it is.\n";
  return {std::string(to), "【台帳】パスワード再設定の確認番号 / password reset code", std::move(text)};
}

MailMessage PasswordChangedMail(std::string_view to, std::string_view contract, uint64_t changed_unix_ms) {
  const std::string when = FormatTime(changed_unix_ms, Lang::kJa);
  std::string text;
  text += std::string(to) + " 様\n\n";
  text += "台帳 管理画面（契約番号 " + std::string(contract) + "）のパスワードが " + when + " に変更されました。\n";
  text += "ほかの画面やPCのログインはすべて終了しました。PCは新しいパスワードで接続し直してください。\n";
  text += "お心当たりのない場合は、すぐに事務所の管理者またはサポートにご連絡ください。\n\n";
  text += "The password of your daicho account (contract " + std::string(contract) + ") was changed at " + when +
          " (Japan time); all your logins have ended. If this was not you, contact your office's administrator or "
          "support at once.\n";
  return {std::string(to), "【台帳】パスワードが変更されました / your password was changed", std::move(text)};
}

}  // namespace daicho::relay::admin
