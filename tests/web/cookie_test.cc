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

// A cookie with the defaults but for its name and value.
SetCookie Cookie(std::string name, std::string value) {
  SetCookie cookie;
  cookie.name = std::move(name);
  cookie.value = std::move(value);
  return cookie;
}

// The header value, or the error's text (which no expected value equals).
std::string Built(const SetCookie& cookie) {
  auto built = BuildSetCookie(cookie);
  return built.ok() ? *built : built.status().ToString();
}

TEST(CookieTest, BuildsASessionCookieWithEveryAttribute) {
  SetCookie cookie = Cookie("__Host-session", "1234-5678-9012.abc_DEF-1");
  cookie.secure = true;
  EXPECT_EQ(Built(cookie), "__Host-session=1234-5678-9012.abc_DEF-1; Path=/; HttpOnly; Secure; SameSite=Strict");
}

TEST(CookieTest, BuildsMaxAgeLaxAndScriptReadableCookies) {
  SetCookie cookie = Cookie("lang", "en");
  cookie.path = "/admin";
  cookie.max_age = std::chrono::hours(24 * 365);
  cookie.http_only = false;
  cookie.same_site = SameSite::kLax;
  EXPECT_EQ(Built(cookie), "lang=en; Path=/admin; Max-Age=31536000; SameSite=Lax");
}

TEST(CookieTest, ExpireNowDropsTheValueAndDatesTheCookieInThePast) {
  SetCookie cookie = Cookie("session", "still-secret");
  cookie.max_age = std::chrono::seconds(600);
  cookie.expire_now = true;
  EXPECT_EQ(Built(cookie),
            "session=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict");
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
