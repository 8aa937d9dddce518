#include "relay/admin/html.h"

#include <stdexcept>

namespace daicho::relay::admin {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

SafeHtml& operator+=(SafeHtml& to, const SafeHtml& more) {
  to.html_ += more.html_;
  return to;
}

std::string HtmlArg::Render() const {
  if (const auto* text = std::get_if<std::string_view>(&value_)) return HtmlEscape(*text);
  return std::get<const SafeHtml*>(value_)->str();
}

SafeHtml Markup(std::string_view literal, std::initializer_list<HtmlArg> args) {
  std::string out;
  out.reserve(literal.size() + 32 * args.size());
  auto arg = args.begin();
  size_t start = 0;
  for (size_t hole; (hole = literal.find("{}", start)) != std::string_view::npos; start = hole + 2) {
    if (arg == args.end()) throw std::logic_error("Markup: more holes than arguments in a template");
    out.append(literal.substr(start, hole - start));
    out += (arg++)->Render();
  }
  if (arg != args.end()) throw std::logic_error("Markup: more arguments than holes in a template");
  out.append(literal.substr(start));
  return SafeHtml(std::move(out));
}

}  // namespace daicho::relay::admin
