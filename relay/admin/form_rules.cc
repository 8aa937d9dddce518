#include "relay/admin/form_rules.h"

#include "relay/password.h"

namespace daicho::relay::admin {
namespace {

// One credential rule as the forms state it: its limits, the browser's
// pattern (matched against the whole value, with the `v` flag) and the
// sentences for each way a value can break it.
struct RuleWords {
  std::string min;
  std::string max;
  std::string_view pattern;
  Msg hint;  // "{0}-{1} ...": the rule in one line
  Msg too_short;
  Msg too_long;
  Msg bad_characters;
};

// Printable ASCII for ids, half-width letters and digits for passwords:
// exactly what CheckUserId and CheckPassword allow.
const RuleWords kUserIdWords{std::to_string(kMinUserIdLength),
                             std::to_string(kMaxUserIdLength),
                             "[!-~]+",
                             Msg::kUserIdHint,
                             Msg::kUserIdTooShort,
                             Msg::kUserIdTooLong,
                             Msg::kUserIdBadCharacters};
const RuleWords kPasswordWords{std::to_string(kMinPasswordLength),
                               std::to_string(kMaxPasswordLength),
                               "[A-Za-z0-9]+",
                               Msg::kPasswordHint,
                               Msg::kPasswordTooShort,
                               Msg::kPasswordTooLong,
                               Msg::kPasswordBadCharacters};

std::optional<std::string> Explain(CredentialProblem problem, const RuleWords& words, Lang lang) {
  switch (problem) {
    case CredentialProblem::kNone:
      return std::nullopt;
    case CredentialProblem::kTooShort:
      return Format(words.too_short, lang, {words.min});
    case CredentialProblem::kTooLong:
      return Format(words.too_long, lang, {words.max});
    case CredentialProblem::kBadCharacters:
      break;
  }
  return Format(words.bad_characters, lang);
}

// The limits and the sentences of one rule as input attributes.
SafeHtml RuleAttributes(const RuleWords& words, Lang lang) {
  return Markup(
      "required minlength=\"{}\" maxlength=\"{}\" pattern=\"{}\" title=\"{}\" data-msg-required=\"{}\" "
      "data-msg-too-short=\"{}\" data-msg-too-long=\"{}\" data-msg-pattern=\"{}\"",
      {words.min, words.max, words.pattern, Format(words.hint, lang, {words.min, words.max}),
       Format(Msg::kRequired, lang), Format(words.too_short, lang, {words.min}),
       Format(words.too_long, lang, {words.max}), Format(words.bad_characters, lang)});
}

}  // namespace

std::optional<std::string> UserIdProblem(std::string_view user_id, Lang lang) {
  return Explain(CheckUserId(user_id), kUserIdWords, lang);
}

std::optional<std::string> PasswordProblem(std::string_view password, Lang lang) {
  return Explain(CheckPassword(password), kPasswordWords, lang);
}

SafeHtml UserIdInput(std::string_view name, std::string_view value, Lang lang) {
  return Markup(
      "<input type=\"text\" id=\"{}\" name=\"{}\" value=\"{}\" {} inputmode=\"email\" autocomplete=\"username\" "
      "autocapitalize=\"none\" spellcheck=\"false\">",
      {name, name, value, RuleAttributes(kUserIdWords, lang)});
}

SafeHtml PasswordInput(std::string_view name, std::string_view autocomplete, Lang lang, std::string_view same_as) {
  const SafeHtml confirmation = same_as.empty() ? SafeHtml()
                                                : Markup(" data-same-as=\"{}\" data-msg-differ=\"{}\"",
                                                         {same_as, Format(Msg::kPasswordsDiffer, lang)});
  return Markup("<input type=\"password\" id=\"{}\" name=\"{}\" {} autocomplete=\"{}\"{}>",
                {name, name, RuleAttributes(kPasswordWords, lang), autocomplete, confirmation});
}

}  // namespace daicho::relay::admin
