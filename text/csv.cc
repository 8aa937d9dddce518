#include "text/csv.h"

namespace daicho::text {

Result<std::vector<CsvRow>> ParseCsv(std::string_view text) {
  if (text.starts_with(kUtf8ByteOrderMark)) text.remove_prefix(kUtf8ByteOrderMark.size());
  std::vector<CsvRow> rows;
  const size_t n = text.size();
  size_t pos = 0;
  size_t line = 1;

  while (pos < n) {
    CsvRow row;
    row.line = line;
    bool row_done = false;
    while (!row_done) {
      std::string cell;
      if (pos < n && text[pos] == '"') {
        const size_t start_line = line;
        ++pos;
        bool closed = false;
        while (pos < n) {
          char c = text[pos];
          if (c == '"') {
            if (pos + 1 < n && text[pos + 1] == '"') {
              cell += '"';
              pos += 2;
              continue;
            }
            ++pos;
            closed = true;
            break;
          }
          // Count CRLF once; a lone CR also ends a line.
          if (c == '\n' && !(pos > 0 && text[pos - 1] == '\r')) ++line;
          if (c == '\r') ++line;
          cell += c;
          ++pos;
        }
        if (!closed) {
          return InvalidArgument("line " + std::to_string(start_line) +
                                 ": quoted field is never closed (missing '\"')");
        }
        if (pos < n && text[pos] != ',' && text[pos] != '\r' && text[pos] != '\n') {
          return InvalidArgument("line " + std::to_string(line) +
                                 ": unexpected text after a closing quote "
                                 "(a quote inside a quoted field must be doubled: \"\")");
        }
      } else {
        size_t end = text.find_first_of(",\r\n", pos);
        if (end == std::string_view::npos) end = n;
        cell.assign(text.substr(pos, end - pos));
        pos = end;
      }
      row.cells.push_back(std::move(cell));

      if (pos >= n) {
        row_done = true;
      } else if (text[pos] == ',') {
        ++pos;  // another field follows, possibly an empty one at the very end
      } else {
        if (text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n') ++pos;
        ++pos;
        ++line;
        row_done = true;
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string EscapeCsvField(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string FormatCsvRow(const std::vector<std::string>& cells) {
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out += ',';
    out += EscapeCsvField(cells[i]);
  }
  out += "\r\n";
  return out;
}

}  // namespace daicho::text
