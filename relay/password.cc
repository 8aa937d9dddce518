#include "relay/password.h"

#include <sodium.h>

#include <algorithm>

#include "crypto/secret_token.h"

namespace daicho::relay {

CredentialProblem CheckUserId(std::string_view user_id) {
  if (user_id.size() < kMinUserIdLength) return CredentialProblem::kTooShort;
  if (user_id.size() > kMaxUserIdLength) return CredentialProblem::kTooLong;
  for (unsigned char c : user_id) {
    if (c < 0x21 || c > 0x7E) return CredentialProblem::kBadCharacters;
  }
  return CredentialProblem::kNone;
}

namespace {

// kInvalidArgument for `problem`: `length_rule` if too short or long,
// `character_rule` for bad characters.
Status Explain(CredentialProblem problem, const std::string& length_rule, const char* character_rule) {
  switch (problem) {
    case CredentialProblem::kNone:
      return Status::Ok();
    case CredentialProblem::kTooShort:
    case CredentialProblem::kTooLong:
      return InvalidArgument(length_rule);
    case CredentialProblem::kBadCharacters:
      break;
  }
  return InvalidArgument(character_rule);
}

}  // namespace

Status ValidateUserId(std::string_view user_id) {
  return Explain(CheckUserId(user_id),
                 "a user id must be " + std::to_string(kMinUserIdLength) + "-" + std::to_string(kMaxUserIdLength) +
                     " characters long; got " + std::to_string(user_id.size()) + " bytes",
                 "a user id (an e-mail address) may only contain printable half-width ASCII characters, without "
                 "spaces");
}

bool IsMailAddress(std::string_view user_id) {
  if (CheckUserId(user_id) != CredentialProblem::kNone) return false;
  const size_t at = user_id.find('@');
  if (at == std::string_view::npos || at == 0) return false;
  const std::string_view local = user_id.substr(0, at);
  const std::string_view domain = user_id.substr(at + 1);
  auto alnum = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  // Dot-atom: atext runs joined by single dots (no quoting, no comments,
  // nothing a mail header would need to escape).
  constexpr std::string_view kAtextSpecials = "!#$%&'*+-/=?^_`{|}~";
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  for (char c : local) {
    if (!alnum(c) && c != '.' && kAtextSpecials.find(c) == std::string_view::npos) return false;
  }
  size_t labels = 0;
  for (size_t begin = 0; begin <= domain.size(); ++labels) {
    const size_t end = std::min(domain.find('.', begin), domain.size());
    const std::string_view label = domain.substr(begin, end - begin);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!alnum(c) && c != '-') return false;
    }
    begin = end + 1;
  }
  return labels >= 2;
}

std::string FoldUserId(std::string_view user_id) {
  std::string folded(user_id);
  for (char& c : folded) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return folded;
}

CredentialProblem CheckPassword(std::string_view password) {
  if (password.size() < kMinPasswordLength) return CredentialProblem::kTooShort;
  if (password.size() > kMaxPasswordLength) return CredentialProblem::kTooLong;
  for (char c : password) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!ok) return CredentialProblem::kBadCharacters;
  }
  return CredentialProblem::kNone;
}

Status ValidatePassword(std::string_view password) {
  // No length in the message: it may be logged, and a password's length is
  // part of the secret.
  return Explain(CheckPassword(password),
                 "a password must be " + std::to_string(kMinPasswordLength) + "-" + std::to_string(kMaxPasswordLength) +
                     " characters long",
                 "a password may only contain half-width letters (A-Z, a-z) and digits (0-9)");
}

Result<std::string> HashPassword(std::string_view password) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status(Code::kResourceExhausted, "hashing a password failed (out of memory for Argon2id)");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
  if (!InitSodium().ok()) return false;
  // libsodium wants a NUL-terminated hash of bounded length.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  const std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

const std::string& DummyPasswordHash() {
  static const std::string hash = [] {
    // A random password nobody knows; on the (out-of-memory) failure path an
    // empty hash still verifies as false, only faster.
    auto hashed = HashPassword(NewDeviceToken());
    return hashed.ok() ? *hashed : std::string();
  }();
  return hash;
}

std::string NewDeviceToken() { return crypto::RandomToken(kDeviceTokenBytes); }

std::string HashDeviceToken(std::string_view token) { return crypto::TokenHash(token); }

bool TokenHashEquals(std::string_view a, std::string_view b) { return crypto::SecretEquals(a, b); }

}  // namespace daicho::relay
