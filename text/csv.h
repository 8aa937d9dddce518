// CSV (RFC 4180) reading and writing, for `daicho import` / `daicho export`;
// a module below apps/ so that the relay can read CSV files too.
//
// Reader: fields separated by ',', records by CRLF, LF or a lone CR; a field
// starting with '"' is quoted and may hold commas, line breaks and doubled
// quotes (""); a UTF-8 byte-order mark at the start is skipped (Excel writes
// one). A quote inside an unquoted field is kept literally, as spreadsheets
// do. An unterminated quoted field or text after a closing quote is an error
// (kInvalidArgument naming the line), never a silent misread.
// Writer: quotes a field only when it holds ',', '"', CR or LF; ends every
// record with CRLF as RFC 4180 says.
#ifndef DAICHO_TEXT_CSV_H_
#define DAICHO_TEXT_CSV_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "daicho/status.h"

namespace daicho::text {

// What Excel writes first in a "CSV UTF-8" file (and reads as "this is UTF-8").
inline constexpr std::string_view kUtf8ByteOrderMark = "\xEF\xBB\xBF";

struct CsvRow {
  size_t line = 0;                 // 1-based line on which the record starts
  std::vector<std::string> cells;  // at least one (a blank line is one "")
};

// Parses a whole document. A final line break does not start a new record.
Result<std::vector<CsvRow>> ParseCsv(std::string_view text);

// One field, quoted if needed.
std::string EscapeCsvField(std::string_view field);
// One record: escaped fields joined with ',' and terminated by CRLF.
std::string FormatCsvRow(const std::vector<std::string>& cells);

}  // namespace daicho::text

#endif  // DAICHO_TEXT_CSV_H_
