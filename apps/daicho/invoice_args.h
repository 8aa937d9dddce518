// An --item "説明:数量:単価" of `daicho invoice create`, parsed. Pure
// parsing: nothing here touches a replica; errors are kInvalidArgument with a
// message that quotes the argument. The limits of an item (quantity, price,
// rate) are InvoiceBook's (daicho/invoices.h).
#ifndef DAICHO_APPS_DAICHO_INVOICE_ARGS_H_
#define DAICHO_APPS_DAICHO_INVOICE_ARGS_H_

#include <cstdint>
#include <string_view>

#include "daicho/invoices.h"
#include "daicho/status.h"

namespace daicho::cli {

// "DESCRIPTION:QUANTITY:UNIT_PRICE" (':' or the full-width '：'), split at
// the last two separators so that the description may hold colons; the
// description is kept as typed, the numbers are read by
// text::ParseWholeNumber ("15,000", full-width digits). The item gets
// `tax_rate_percent`.
Result<InvoiceItem> ParseInvoiceItem(std::string_view text, uint32_t tax_rate_percent);

}  // namespace daicho::cli

#endif  // DAICHO_APPS_DAICHO_INVOICE_ARGS_H_
