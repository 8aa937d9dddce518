// Reading the vendor's filing records from a CSV file (`daicho-relay filings
// import`, the vendor view's upload): UTF-8 or Shift_JIS (CP932) as Excel
// saves it, a header row naming the columns in any order (English or
// Japanese names, any letter case; other columns are ignored), one filing a
// row. The rows go to RelayService::ImportFilings, which checks them against
// the store and imports all or none.
#ifndef DAICHO_RELAY_FILINGS_CSV_H_
#define DAICHO_RELAY_FILINGS_CSV_H_

#include <string_view>
#include <vector>

#include "daicho/status.h"
#include "relay/relay_service.h"
#include "text/text_encoding.h"

namespace daicho::relay {

// The columns and the names their header cell may have.
//   contract:   contract, contract_number, 契約番号
//   company id: company_id, company, 会社ID, 会社コード, 許可番号
//   filing day: filed_on, date, 申請日, 提出日
//   filing id:  filing_id, 申請番号, 受付番号 (optional)
struct FilingsFile {
  std::vector<RelayService::FilingRow> rows;
  // Rows whose cells are missing or do not read (a contract number or day
  // that is not one), with their line.
  std::vector<RelayService::RowProblem> unreadable;
  text::TextEncoding encoding = text::TextEncoding::kUtf8;  // what it was read as
};

// kInvalidArgument when the file as a whole cannot be read: bytes that are
// not text in the encoding, broken CSV quoting, no header row, or a required
// column missing (the message names the accepted column names). Blank rows
// are skipped.
Result<FilingsFile> ReadFilingsCsv(std::string_view bytes, text::TextEncoding encoding);

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_FILINGS_CSV_H_
