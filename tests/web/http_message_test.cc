#include "web/http_message.h"

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

namespace daicho::web {
namespace {

TEST(HttpMessageTest, HeaderFindsTheFirstOfANameAndEmptyWhenAbsent) {
  HttpRequest request;
  request.headers = {{"host", "relay.example"}, {"cookie", "a=1"}, {"cookie", "b=2"}};
  EXPECT_EQ(request.Header("cookie"), "a=1");
  EXPECT_EQ(request.Header("host"), "relay.example");
  EXPECT_EQ(request.Header("origin"), "");
}

TEST(HttpMessageTest, CheckResponseAcceptsAnOrdinaryAnswer) {
  HttpResponse response;
  response.status = 303;
  response.headers = {
      {"Location", "/admin/users?x=1"}, {"Content-Type", "text/html; charset=utf-8"}, {"X-Tab", "a\tb"}};
  EXPECT_DAICHO_OK(CheckResponse(response));
}

TEST(HttpMessageTest, CheckResponseRefusesALineBreakInAValue) {
  HttpResponse response;
  response.headers = {{"Location", "/x\r\nSet-Cookie: session=stolen"}};
  EXPECT_EQ(CheckResponse(response).code(), Code::kInternal);
  response.headers = {{"Location", std::string("/x\0y", 4)}};
  EXPECT_EQ(CheckResponse(response).code(), Code::kInternal);
}

TEST(HttpMessageTest, CheckResponseRefusesABadNameOrStatus) {
  HttpResponse response;
  response.headers = {{"Bad Name", "x"}};
  EXPECT_EQ(CheckResponse(response).code(), Code::kInternal);
  response.headers = {{"", "x"}};
  EXPECT_EQ(CheckResponse(response).code(), Code::kInternal);
  response.headers.clear();
  response.status = 101;
  EXPECT_EQ(CheckResponse(response).code(), Code::kInternal);
  response.status = 199;
  EXPECT_EQ(CheckResponse(response).code(), Code::kInternal);
  response.status = 200;
  EXPECT_DAICHO_OK(CheckResponse(response));
  response.status = 600;
  EXPECT_EQ(CheckResponse(response).code(), Code::kInternal);
  response.status = 599;
  EXPECT_DAICHO_OK(CheckResponse(response));
}

TEST(HttpMessageTest, CheckResponseRefusesABodyWhereNoneIsAllowed) {
  HttpResponse response;
  response.status = 204;
  EXPECT_DAICHO_OK(CheckResponse(response));
  response.body = "x";
  EXPECT_EQ(CheckResponse(response).code(), Code::kInternal);
  response.status = 304;
  EXPECT_EQ(CheckResponse(response).code(), Code::kInternal);
  response.status = 200;
  EXPECT_DAICHO_OK(CheckResponse(response));
}

}  // namespace
}  // namespace daicho::web
