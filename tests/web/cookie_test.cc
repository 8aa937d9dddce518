#include "web/cookie.h"

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"

namespace daicho::web {
namespace {

TEST(CookieTest, ParsesPairsTrimmingSpacesAndQuotes) {
  EXPECT_EQ(ParseCookies("session=abc; lang=ja;csrf=\"x-y\" ;  empty="),
            (CookiePairs{{"session", "abc"}, {"lang", "ja"}, {"csrf", "x-y"}, {"empty", ""}}));
}

TEST(CookieTest, SkipsPiecesWithoutANameOrAnEqualsSign) {
  EXPECT_EQ(ParseCookies("flag; =orphan; a=1;;"), (CookiePairs{{"a", "1"}}));
  EXPECT_EQ(ParseCookies(""), CookiePairs{});
}

TEST(CookieTest, KeepsEqualsSignsInsideAValue) {
  EXPECT_EQ(ParseCookies("token=YWJj=="), (CookiePairs{{"token", "YWJj=="}}));
}

TEST(CookieTest, FindCookieReturnsTheFirstOccurrenceCaseSensitively) {
  const CookiePairs cookies = ParseCookies("s=ours; S=other; s=planted");
  EXPECT_EQ(FindCookie(cookies, "s"), "ours");
  EXPECT_EQ(FindCookie(cookies, "S"), "other");
  EXPECT_EQ(FindCookie(cookies, "missing"), std::nullopt);
}

TEST(CookieTest, BuildsASessionCookieWithEveryAttribute) {
  SetCookie cookie;
  cookie.name = "__Host-session";
  cookie.value = "1234-5678-9012.abc_DEF-1";
  cookie.secure = true;
  auto built = BuildSetCookie(cookie);
  ASSERT_DAICHO_OK(built);
  EXPECT_EQ(*built, "__Host-session=1234-5678-9012.abc_DEF-1; Path=/; HttpOnly; Secure; SameSite=Strict");
}

TEST(CookieTest, BuildsMaxAgeLaxAndScriptReadableCookies) {
  SetCookie cookie;
  cookie.name = "lang";
  cookie.value = "en";
  cookie.max_age = std::chrono::hours(24 * 365);
  cookie.http_only = false;
  cookie.same_site = SameSite::kLax;
  cookie.path = "/admin";
  auto built = BuildSetCookie(cookie);
  ASSERT_DAICHO_OK(built);
  EXPECT_EQ(*built, "lang=en; Path=/admin; Max-Age=31536000; SameSite=Lax");
}

TEST(CookieTest, ExpireNowDropsTheValueAndDatesTheCookieInThePast) {
  SetCookie cookie;
  cookie.name = "session";
  cookie.value = "still-secret";
  cookie.max_age = std::chrono::seconds(600);
  cookie.expire_now = true;
  auto built = BuildSetCookie(cookie);
  ASSERT_DAICHO_OK(built);
  EXPECT_EQ(*built, "session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict");
}

TEST(CookieTest, RefusesNamesValuesAndPathsThatWouldBreakTheHeader) {
  SetCookie cookie;
  cookie.name = "a";
  for (const char* bad_value : {"x;y", "x y", "x\r\nSet-Cookie: y=1", "\"q\"", "a,b", "\xE5\xB1\xB1", "a\\b"}) {
    cookie.value = bad_value;
    EXPECT_EQ(BuildSetCookie(cookie).status().code(), Code::kInvalidArgument) << bad_value;
  }
  cookie.value = "ok";
  for (const char* bad_name : {"", "a b", "a=b", "a;b"}) {
    cookie.name = bad_name;
    EXPECT_EQ(BuildSetCookie(cookie).status().code(), Code::kInvalidArgument) << bad_name;
  }
  cookie.name = "a";
  cookie.path = "/x; Domain=evil.example";
  EXPECT_EQ(BuildSetCookie(cookie).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace daicho::web
