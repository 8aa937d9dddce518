#include "web/multipart.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/testing/test_util.h"

namespace daicho::web {
namespace {

constexpr char kBoundary[] = "----daichoBoundary7MA4YWxk";

// A body as a browser sends it: each part `headers` then its content.
std::string Body(const std::vector<std::pair<std::string, std::string>>& parts) {
  std::string body;
  for (const auto& [headers, content] : parts) {
    body += std::string("--") + kBoundary + "\r\n" + headers + "\r\n\r\n" + content + "\r\n";
  }
  return body + "--" + kBoundary + "--\r\n";
}

TEST(MultipartTest, ReadsTheBoundaryQuotedOrNot) {
  auto plain = MultipartBoundary("multipart/form-data; boundary=----abc");
  ASSERT_DAICHO_OK(plain);
  EXPECT_EQ(*plain, "----abc");
  auto quoted = MultipartBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b;c\"");
  ASSERT_DAICHO_OK(quoted);
  EXPECT_EQ(*quoted, "a b;c");
  EXPECT_EQ(MultipartBoundary("application/x-www-form-urlencoded").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(MultipartBoundary("multipart/form-data").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'x')).status().code(),
            Code::kInvalidArgument);
}

TEST(MultipartTest, ReadsOneFileAndPlainFieldsInOrder) {
  const std::string csv = "契約番号,会社ID,申請日\r\n1234-5678-9012,C1,2026-04-01\r\n";
  const std::string body =
      Body({{"Content-Disposition: form-data; name=\"csrf\"", "abc123"},
            {"Content-Disposition: form-data; name=\"file\"; filename=\"C:\\\\Users\\\\x\\\\申請.csv\"\r\n"
             "Content-Type: text/csv",
             csv},
            {"content-disposition: form-data; name=\"dry_run\"", "1"}});
  auto form = ParseMultipart(body, kBoundary);
  ASSERT_DAICHO_OK(form);
  ASSERT_EQ(form->fields.size(), 2u);
  EXPECT_EQ(form->fields[0], std::make_pair(std::string("csrf"), std::string("abc123")));
  EXPECT_EQ(form->fields[1], std::make_pair(std::string("dry_run"), std::string("1")));
  ASSERT_TRUE(form->file.has_value());
  EXPECT_EQ(form->file->field, "file");
  EXPECT_EQ(form->file->filename, "申請.csv");  // no folder
  EXPECT_EQ(form->file->content_type, "text/csv");
  EXPECT_EQ(form->file->data, csv);  // CRLF inside the content kept
}

TEST(MultipartTest, AnEmptyFileAndAPreambleAreFine) {
  const std::string body =
      "preamble\r\n" + Body({{"Content-Disposition: form-data; name=\"file\"; filename=\"\"", ""}});
  auto form = ParseMultipart(body, kBoundary);
  ASSERT_DAICHO_OK(form);
  ASSERT_TRUE(form->file.has_value());
  EXPECT_EQ(form->file->filename, "");
  EXPECT_EQ(form->file->data, "");
}

TEST(MultipartTest, MalformedBodiesAreRefusedSayingWhy) {
  auto refused = [](const std::string& body) {
    auto form = ParseMultipart(body, kBoundary);
    EXPECT_EQ(form.status().code(), Code::kInvalidArgument) << body;
    return std::string(form.status().message());
  };
  EXPECT_NE(refused("no boundary at all").find("no opening boundary"), std::string::npos);
  const std::string good = Body({{"Content-Disposition: form-data; name=\"a\"", "1"}});
  EXPECT_NE(refused(good.substr(0, good.size() - 12)).find("truncated"), std::string::npos);
  EXPECT_NE(refused(Body({{"Content-Disposition: attachment; name=\"a\"", "1"}})).find("form-data"), std::string::npos);
  EXPECT_NE(refused(Body({{"Content-Type: text/plain", "1"}})).find("name"), std::string::npos);
  EXPECT_NE(refused(Body({{"Content-Disposition: form-data; name=\"a\"; filename=\"1.csv\"", "1"},
                          {"Content-Disposition: form-data; name=\"b\"; filename=\"2.csv\"", "2"}}))
                .find("more than one file"),
            std::string::npos);
  EXPECT_NE(
      refused(std::string("--") + kBoundary + "\r\nno colon here\r\n\r\nx\r\n--" + kBoundary + "--").find("no ':'"),
      std::string::npos);
}

TEST(MultipartTest, CapsOnPartsHeadersFieldsAndTheFile) {
  MultipartLimits limits;
  limits.max_parts = 2;
  limits.max_value_bytes = 4;
  limits.max_file_bytes = 8;
  limits.max_part_header_bytes = 80;
  auto code = [&](const std::string& body) { return ParseMultipart(body, kBoundary, limits).status().code(); };
  const std::string field = "Content-Disposition: form-data; name=\"a\"";
  const std::string file = "Content-Disposition: form-data; name=\"f\"; filename=\"x.csv\"";
  EXPECT_EQ(code(Body({{field, "1234"}, {file, "12345678"}})), Code::kOk);
  EXPECT_EQ(code(Body({{field, "1"}, {field, "2"}, {field, "3"}})), Code::kResourceExhausted);
  EXPECT_EQ(code(Body({{field, "12345"}})), Code::kResourceExhausted);
  EXPECT_EQ(code(Body({{file, "123456789"}})), Code::kResourceExhausted);
  EXPECT_EQ(code(Body({{field + "\r\nX-Padding: " + std::string(80, 'p'), "1"}})), Code::kResourceExhausted);
}

}  // namespace
}  // namespace daicho::web
