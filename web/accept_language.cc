#include "web/accept_language.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "web/text.h"

namespace daicho::web {
namespace {

struct Range {
  std::string tag;  // lower case; "*" for any
  int q = 1000;     // the q-value in thousandths
};

// RFC 9110 section 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
std::optional<int> ParseQ(std::string_view text) {
  if (text.empty() || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  int q = (text[0] - '0') * 1000;
  if (text.size() == 1) return q;
  if (text[1] != '.' || text.size() > 5) return std::nullopt;
  int scale = 100;
  for (const char c : text.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    q += (c - '0') * scale;
    scale /= 10;
  }
  if (q > 1000) return std::nullopt;
  return q;
}

// "ja, en-US;q=0.8" -> {ja 1000, en-us 800}; malformed ranges left out.
std::vector<Range> ParseRanges(std::string_view header) {
  std::vector<Range> ranges;
  while (!header.empty()) {
    const size_t end = header.find(',');
    std::string_view piece = header.substr(0, end);
    header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
    const size_t semi = piece.find(';');
    const std::string_view tag = TrimOws(piece.substr(0, semi));
    if (tag.empty()) continue;
    Range range{AsciiLower(tag)};
    if (semi != std::string_view::npos) {
      const std::string_view param = TrimOws(piece.substr(semi + 1));
      const std::optional<int> q =
          param.size() > 2 && EqualsIgnoreCase(param.substr(0, 2), "q=") ? ParseQ(param.substr(2)) : std::nullopt;
      if (!q) continue;
      range.q = *q;
    }
    ranges.push_back(std::move(range));
  }
  return ranges;
}

// Whether `range` (lower case) asks for `tag`: equal, or a longer form of it.
bool Matches(const std::string& range, std::string_view tag) {
  const std::string lower = AsciiLower(tag);
  return range == lower || (range.size() > lower.size() && range.starts_with(lower) && range[lower.size()] == '-');
}

}  // namespace

std::string PickLanguage(std::string_view accept_language, std::span<const std::string> supported,
                         std::string_view fallback) {
  std::vector<Range> ranges = ParseRanges(accept_language);
  std::stable_sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.q > b.q; });
  // A q=0 range refuses its tag and the longer forms of it ("en;q=0"
  // refuses en-US), not the shorter ("en-GB;q=0" leaves en acceptable).
  auto refused = [&](const std::string& tag) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [&](const Range& r) { return r.q == 0 && r.tag != "*" && Matches(AsciiLower(tag), r.tag); });
  };
  for (const Range& range : ranges) {
    if (range.q == 0) break;  // sorted: every later range is refused too
    for (const std::string& tag : supported) {
      const bool asked = range.tag == "*" || Matches(range.tag, tag);
      if (asked && !refused(tag)) return tag;
    }
  }
  return std::string(fallback);
}

}  // namespace daicho::web
