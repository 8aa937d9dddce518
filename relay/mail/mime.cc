#include "relay/mail/mime.h"

#include <openssl/evp.h>

#include <array>
#include <ctime>

namespace daicho::relay::mail {
namespace {

constexpr size_t kMaxEncodedWord = 75;  // RFC 2047 section 2
constexpr size_t kBodyLineChars = 76;   // RFC 2045 section 6.8
constexpr std::string_view kWordPrefix = "=?UTF-8?B?";
constexpr std::string_view kWordSuffix = "?=";

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

bool NeedsEncoding(std::string_view text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7E) return true;
  }
  // An ASCII text that looks like an encoded word must be encoded too.
  return text.find("=?") != std::string_view::npos;
}

// Length of the UTF-8 sequence `lead` starts (1 for a stray byte, which is
// then carried through unchanged).
size_t Utf8Length(unsigned char lead) {
  if (lead >= 0xF0 && lead <= 0xF7) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

std::string CanonicalLineEnds(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

}  // namespace

std::string EncodeHeaderText(std::string_view text) {
  if (!NeedsEncoding(text)) return std::string(text);
  // 3 input bytes make 4 output characters: the most input one word holds.
  constexpr size_t kMaxWordInput = (kMaxEncodedWord - kWordPrefix.size() - kWordSuffix.size()) / 4 * 3;
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = start;
    while (end < text.size()) {
      const size_t next = std::min(text.size(), end + Utf8Length(static_cast<unsigned char>(text[end])));
      if (next - start > kMaxWordInput) break;
      end = next;
    }
    if (!out.empty()) out += "\r\n ";
    out += kWordPrefix;
    out += Base64(text.substr(start, end - start));
    out += kWordSuffix;
    start = end;
  }
  return out;
}

std::string MailDate(uint64_t unix_ms) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 40> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays.at(utc.tm_wday),
                utc.tm_mday, kMonths.at(utc.tm_mon), utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return buffer.data();
}

Result<std::string> ComposeMessage(const MailSender& from, const MailMessage& message, uint64_t date_unix_ms,
                                   std::string_view message_id) {
  if (!IsMailAddress(from.address)) {
    return Status(Code::kInvalidArgument, "the sender address \"" + from.address + "\" is not a mail address");
  }
  if (!IsMailAddress(message.to)) {
    return Status(Code::kInvalidArgument, "the recipient \"" + message.to + "\" is not a mail address");
  }
  std::string out;
  out += "From: ";
  if (!from.display_name.empty()) out += EncodeHeaderText(from.display_name) + " ";
  out += "<" + from.address + ">\r\n";
  out += "To: <" + message.to + ">\r\n";
  out += "Subject: " + EncodeHeaderText(message.subject) + "\r\n";
  out += "Date: " + MailDate(date_unix_ms) + "\r\n";
  out += "Message-ID: <" + std::string(message_id) + ">\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: base64\r\n";
  out += "\r\n";
  const std::string body = Base64(CanonicalLineEnds(message.text));
  for (size_t i = 0; i < body.size(); i += kBodyLineChars) {
    out += body.substr(i, kBodyLineChars);
    out += "\r\n";
  }
  return out;
}

}  // namespace daicho::relay::mail
