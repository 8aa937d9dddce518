#include "relay/admin/form_rules.h"

#include "relay/password.h"

namespace daicho::relay::admin {
namespace {

const std::string kMinId = std::to_string(kMinUserIdLength);
const std::string kMaxId = std::to_string(kMaxUserIdLength);
const std::string kMinPassword = std::to_string(kMinPasswordLength);
const std::string kMaxPassword = std::to_string(kMaxPasswordLength);
// The browser's patterns (matched against the whole value, with the `v`
// flag): printable ASCII for ids, half-width letters and digits for
// passwords, exactly what CheckUserId and CheckPassword allow.
constexpr std::string_view kUserIdPattern = "[!-~]+";
constexpr std::string_view kPasswordPattern = "[A-Za-z0-9]+";

}  // namespace

std::optional<std::string> UserIdProblem(std::string_view user_id, Lang lang) {
  switch (CheckUserId(user_id)) {
    case CredentialProblem::kNone:
      return std::nullopt;
    case CredentialProblem::kTooShort:
      return Format(Msg::kUserIdTooShort, lang, {kMinId});
    case CredentialProblem::kTooLong:
      return Format(Msg::kUserIdTooLong, lang, {kMaxId});
    case CredentialProblem::kBadCharacters:
      return Format(Msg::kUserIdBadCharacters, lang);
  }
  return Format(Msg::kUserIdBadCharacters, lang);
}

std::optional<std::string> PasswordProblem(std::string_view password, Lang lang) {
  switch (CheckPassword(password)) {
    case CredentialProblem::kNone:
      return std::nullopt;
    case CredentialProblem::kTooShort:
      return Format(Msg::kPasswordTooShort, lang, {kMinPassword});
    case CredentialProblem::kTooLong:
      return Format(Msg::kPasswordTooLong, lang, {kMaxPassword});
    case CredentialProblem::kBadCharacters:
      return Format(Msg::kPasswordBadCharacters, lang);
  }
  return Format(Msg::kPasswordBadCharacters, lang);
}

SafeHtml UserIdInput(std::string_view name, std::string_view value, Lang lang) {
  return Markup(
      "<input type=\"text\" id=\"{}\" name=\"{}\" value=\"{}\" required minlength=\"{}\" maxlength=\"{}\" "
      "pattern=\"{}\" inputmode=\"email\" autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" "
      "title=\"{}\" data-msg-required=\"{}\" data-msg-too-short=\"{}\" data-msg-too-long=\"{}\" "
      "data-msg-pattern=\"{}\">",
      {name, name, value, kMinId, kMaxId, kUserIdPattern, Format(Msg::kUserIdHint, lang, {kMinId, kMaxId}),
       Format(Msg::kRequired, lang), Format(Msg::kUserIdTooShort, lang, {kMinId}),
       Format(Msg::kUserIdTooLong, lang, {kMaxId}), Format(Msg::kUserIdBadCharacters, lang)});
}

SafeHtml PasswordInput(std::string_view name, std::string_view autocomplete, Lang lang, std::string_view same_as) {
  const SafeHtml confirmation = same_as.empty() ? SafeHtml()
                                                : Markup(" data-same-as=\"{}\" data-msg-differ=\"{}\"",
                                                         {same_as, Format(Msg::kPasswordsDiffer, lang)});
  return Markup(
      "<input type=\"password\" id=\"{}\" name=\"{}\" required minlength=\"{}\" maxlength=\"{}\" pattern=\"{}\" "
      "autocomplete=\"{}\" title=\"{}\" data-msg-required=\"{}\" data-msg-too-short=\"{}\" "
      "data-msg-too-long=\"{}\" data-msg-pattern=\"{}\"{}>",
      {name, name, kMinPassword, kMaxPassword, kPasswordPattern, autocomplete,
       Format(Msg::kPasswordHint, lang, {kMinPassword, kMaxPassword}), Format(Msg::kRequired, lang),
       Format(Msg::kPasswordTooShort, lang, {kMinPassword}), Format(Msg::kPasswordTooLong, lang, {kMaxPassword}),
       Format(Msg::kPasswordBadCharacters, lang), confirmation});
}

}  // namespace daicho::relay::admin
