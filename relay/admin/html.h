// HTML for the admin panel, escaped in one place: pages are built from
// literal templates whose `{}` holes are filled by Markup(), which escapes
// every value unless it is SafeHtml, i.e. markup Markup() itself produced.
// So a user id or a device name holding `<script>` can only ever appear as
// text.
#ifndef DAICHO_RELAY_ADMIN_HTML_H_
#define DAICHO_RELAY_ADMIN_HTML_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace daicho::relay::admin {

// & < > " ' as character references: safe in text and in quoted attributes.
std::string HtmlEscape(std::string_view text);

// Markup that needs no escaping: made only by Markup() and Join().
class SafeHtml {
 public:
  SafeHtml() = default;
  const std::string& str() const { return html_; }
  bool empty() const { return html_.empty(); }

 private:
  friend SafeHtml Markup(std::string_view, std::initializer_list<class HtmlArg>);
  friend SafeHtml& operator+=(SafeHtml&, const SafeHtml&);
  explicit SafeHtml(std::string html) : html_(std::move(html)) {}
  std::string html_;
};

// Appends markup to markup (a list of rows, say).
SafeHtml& operator+=(SafeHtml& to, const SafeHtml& more);

// One value for a hole: text (escaped) or SafeHtml (as is).
class HtmlArg {
 public:
  HtmlArg(std::string_view text) : value_(text) {}                      // NOLINT: implicit by design
  HtmlArg(const std::string& text) : value_(std::string_view(text)) {}  // NOLINT
  HtmlArg(const char* text) : value_(std::string_view(text)) {}         // NOLINT
  HtmlArg(const SafeHtml& html) : value_(&html) {}                      // NOLINT
  std::string Render() const;

 private:
  std::variant<std::string_view, const SafeHtml*> value_;
};

// `literal` with each `{}` replaced by the next argument. The template must
// be a literal of the program, never data. Throws std::logic_error when the
// holes and the arguments differ in number (a programming error, caught by
// the page tests).
SafeHtml Markup(std::string_view literal, std::initializer_list<HtmlArg> args = {});

}  // namespace daicho::relay::admin

#endif  // DAICHO_RELAY_ADMIN_HTML_H_
