#include "relay/mail/mime.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <vector>

#include "tests/testing/test_util.h"

namespace daicho::relay::mail {
namespace {

std::string DecodeBase64(std::string_view text) {
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  EXPECT_GE(n, 0) << "not base64: " << text;
  out.resize(static_cast<size_t>(std::max(n, 0)));
  // EVP_DecodeBlock keeps the zero bytes that padding stands for.
  const size_t padding = text.ends_with("==") ? 2 : text.ends_with("=") ? 1 : 0;
  out.resize(out.size() - padding);
  return out;
}

std::vector<std::string> Split(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + separator.size()) {
    parts.push_back(text.substr(start, at - start));
  }
  parts.push_back(text.substr(start));
  return parts;
}

// Decodes a folded header value of encoded words back to its text, checking
// each word's shape on the way.
std::string DecodeHeaderText(const std::string& value) {
  std::string text;
  for (const std::string& word : Split(value, "\r\n ")) {
    EXPECT_LE(word.size(), 75u) << word;
    EXPECT_TRUE(word.starts_with("=?UTF-8?B?") && word.ends_with("?=")) << word;
    text += DecodeBase64(word.substr(10, word.size() - 12));
  }
  return text;
}

bool IsCompleteUtf8(std::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    const size_t n = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (i + n > bytes.size()) return false;
    i += n;
  }
  return true;
}

TEST(EncodeHeaderTextTest, PlainAsciiStaysReadable) { EXPECT_EQ(EncodeHeaderText("Password reset"), "Password reset"); }

TEST(EncodeHeaderTextTest, JapaneseBecomesShortEncodedWordsSplitBetweenCharacters) {
  const std::string subject = "【台帳】パスワード再設定の確認番号のお知らせ（株式会社山田建設 行政書士事務所）";
  const std::string encoded = EncodeHeaderText(subject);
  EXPECT_EQ(DecodeHeaderText(encoded), subject);
  for (const std::string& word : Split(encoded, "\r\n ")) {
    EXPECT_TRUE(IsCompleteUtf8(DecodeBase64(word.substr(10, word.size() - 12)))) << word;
  }
  EXPECT_GT(Split(encoded, "\r\n ").size(), 1u);
}

TEST(EncodeHeaderTextTest, LineBreaksAndEncodedWordLookalikesAreEncodedNotPassedThrough) {
  const std::string injected = "Hello\r\nBcc: victim@example.jp";
  const std::string encoded = EncodeHeaderText(injected);
  EXPECT_EQ(encoded.find("Bcc"), std::string::npos);
  EXPECT_EQ(DecodeHeaderText(encoded), injected);
  EXPECT_EQ(DecodeHeaderText(EncodeHeaderText("=?UTF-8?B?x?=")), "=?UTF-8?B?x?=");
}

TEST(MailDateTest, FormatsUtcInEnglishWhateverTheLocale) {
  EXPECT_EQ(MailDate(1796659509000), "Mon, 07 Dec 2026 16:05:09 +0000");
  EXPECT_EQ(MailDate(0), "Thu, 01 Jan 1970 00:00:00 +0000");
}

TEST(ComposeMessageTest, MakesAMimeMessageWithEncodedSubjectAndBase64Body) {
  const MailSender from{"noreply@relay.example.jp", "台帳 管理画面"};
  const MailMessage message{"taro@example.jp", "確認番号",
                            "確認番号は 12345678 です。\nYour confirmation code is 12345678.\n"};
  Result<std::string> composed = ComposeMessage(from, message, 1796659509000, "1.abc@relay.example.jp");
  ASSERT_DAICHO_OK(composed);
  const std::string& bytes = *composed;
  const size_t blank = bytes.find("\r\n\r\n");
  ASSERT_NE(blank, std::string::npos);
  const std::vector<std::string> headers = Split(bytes.substr(0, blank), "\r\n");
  EXPECT_EQ(headers[0], "From: " + EncodeHeaderText(from.display_name) + " <noreply@relay.example.jp>");
  EXPECT_EQ(headers[1], "To: <taro@example.jp>");
  EXPECT_EQ(headers[2], "Subject: " + EncodeHeaderText("確認番号"));
  EXPECT_EQ(headers[3], "Date: Mon, 07 Dec 2026 16:05:09 +0000");
  EXPECT_EQ(headers[4], "Message-ID: <1.abc@relay.example.jp>");
  EXPECT_EQ(headers[5], "MIME-Version: 1.0");
  EXPECT_EQ(headers[6], "Content-Type: text/plain; charset=UTF-8");
  EXPECT_EQ(headers[7], "Content-Transfer-Encoding: base64");

  std::string body;
  for (const std::string& line : Split(bytes.substr(blank + 4), "\r\n")) {
    EXPECT_LE(line.size(), 76u);
    body += line;
  }
  EXPECT_EQ(DecodeBase64(body), "確認番号は 12345678 です。\r\nYour confirmation code is 12345678.\r\n");
  // No bare LF anywhere: every line ends in CRLF.
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\n') {
      EXPECT_TRUE(i > 0 && bytes[i - 1] == '\r') << "bare LF at " << i;
    }
  }
}

TEST(ComposeMessageTest, RefusesARecipientOrSenderThatIsNotAPlainAddress) {
  const MailSender from{"noreply@relay.example.jp", ""};
  Result<std::string> bad_to = ComposeMessage(from, {"taro@example.jp\r\nBcc: x@y.jp", "s", "t"}, 0, "1@x");
  EXPECT_EQ(bad_to.status().code(), Code::kInvalidArgument);
  Result<std::string> bad_from = ComposeMessage({"relay", ""}, {"taro@example.jp", "s", "t"}, 0, "1@x");
  EXPECT_EQ(bad_from.status().code(), Code::kInvalidArgument);
  Result<std::string> plain = ComposeMessage(from, {"taro@example.jp", "s", "t"}, 0, "1@x");
  ASSERT_DAICHO_OK(plain);
  EXPECT_TRUE(plain->starts_with("From: <noreply@relay.example.jp>\r\n"));
}

}  // namespace
}  // namespace daicho::relay::mail
