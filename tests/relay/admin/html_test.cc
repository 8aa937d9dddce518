#include "relay/admin/html.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace daicho::relay::admin {
namespace {

TEST(HtmlEscapeTest, EscapesEveryCharacterThatCouldOpenMarkupOrLeaveAnAttribute) {
  EXPECT_EQ(HtmlEscape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(HtmlEscape("株式会社山田建設 taro@example.jp"), "株式会社山田建設 taro@example.jp");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(MarkupTest, TextIsEscapedAndSafeHtmlIsNot) {
  const SafeHtml cell = Markup("<td>{}</td>", {"<b>id</b>"});
  EXPECT_EQ(cell.str(), "<td>&lt;b&gt;id&lt;/b&gt;</td>");
  const SafeHtml row = Markup("<tr>{}{}</tr>", {cell, std::string("a\"b")});
  EXPECT_EQ(row.str(), "<tr><td>&lt;b&gt;id&lt;/b&gt;</td>a&quot;b</tr>");
  EXPECT_EQ(Markup("<p>no holes</p>").str(), "<p>no holes</p>");
}

TEST(MarkupTest, AValueCannotLeaveItsAttribute) {
  const SafeHtml input = Markup("<input name=\"user\" value=\"{}\">", {"\" onfocus=\"alert(1)"});
  EXPECT_EQ(input.str(), "<input name=\"user\" value=\"&quot; onfocus=&quot;alert(1)\">");
}

TEST(MarkupTest, HolesAndArgumentsMustMatch) {
  EXPECT_THROW(Markup("<td>{}</td><td>{}</td>", {"one"}), std::logic_error);
  EXPECT_THROW(Markup("<td>{}</td>", {"one", "two"}), std::logic_error);
}

TEST(MarkupTest, AppendedMarkupStaysSafe) {
  SafeHtml rows;
  EXPECT_TRUE(rows.empty());
  rows += Markup("<li>{}</li>", {"<a>"});
  rows += Markup("<li>{}</li>", {"b"});
  EXPECT_EQ(Markup("<ul>{}</ul>", {rows}).str(), "<ul><li>&lt;a&gt;</li><li>b</li></ul>");
}

}  // namespace
}  // namespace daicho::relay::admin
