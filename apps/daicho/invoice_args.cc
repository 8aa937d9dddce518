#include "apps/daicho/invoice_args.h"

#include <string>
#include <utility>

#include "apps/daicho/text_output.h"
#include "text/number_text.h"

namespace daicho::cli {
namespace {

// Where the last separator (':' or the full-width '：') before `end` starts
// and how long it is; npos if none.
std::pair<size_t, size_t> LastSeparator(std::string_view text, size_t end) {
  constexpr std::string_view kWide = "\xEF\xBC\x9A";  // '：'
  const size_t ascii = text.substr(0, end).rfind(':');
  const size_t wide = text.substr(0, end).rfind(kWide);
  if (wide != std::string_view::npos && (ascii == std::string_view::npos || wide > ascii)) return {wide, kWide.size()};
  return {ascii, 1};
}

}  // namespace

Result<InvoiceItem> ParseInvoiceItem(std::string_view text, uint32_t tax_rate_percent) {
  const auto [price_at, price_sep] = LastSeparator(text, text.size());
  const auto [quantity_at, quantity_sep] =
      price_at == std::string_view::npos ? std::pair{price_at, size_t{0}} : LastSeparator(text, price_at);
  if (quantity_at == std::string_view::npos) {
    return InvalidArgument("--item " + QuoteForMessage(text) + ": expected DESCRIPTION:QUANTITY:UNIT_PRICE");
  }
  const std::string where = "--item " + QuoteForMessage(text) + ": the ";
  InvoiceItem item;
  item.description = std::string(text.substr(0, quantity_at));
  const size_t quantity_from = quantity_at + quantity_sep;
  DAICHO_ASSIGN_OR_RETURN(
      item.quantity, text::ParseWholeNumber(text.substr(quantity_from, price_at - quantity_from), where + "quantity"));
  DAICHO_ASSIGN_OR_RETURN(item.unit_price_yen,
                          text::ParseWholeNumber(text.substr(price_at + price_sep), where + "unit price"));
  item.tax_rate_percent = tax_rate_percent;
  return item;
}

}  // namespace daicho::cli
