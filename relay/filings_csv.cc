#include "relay/filings_csv.h"

#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "text/csv.h"
#include "text/date_text.h"

namespace daicho::relay {
namespace {

enum Column : size_t { kContract, kCompany, kDay, kFilingId, kColumns };

struct ColumnNames {
  std::string_view what;  // for messages
  std::vector<std::string_view> names;
  bool required;
};

const std::array<ColumnNames, kColumns>& Columns() {
  static const std::array<ColumnNames, kColumns> columns = {{
      {"contract number", {"contract", "contract_number", "契約番号"}, true},
      {"company id", {"company_id", "company", "会社ID", "会社コード", "許可番号"}, true},
      {"filing day", {"filed_on", "date", "申請日", "提出日"}, true},
      {"filing id", {"filing_id", "申請番号", "受付番号"}, false},
  }};
  return columns;
}

std::string Trimmed(std::string_view cell) {
  // Half-width and ideographic (U+3000) spaces around a cell are typing noise.
  for (;;) {
    if (!cell.empty() && (cell.front() == ' ' || cell.front() == '\t')) {
      cell.remove_prefix(1);
    } else if (!cell.empty() && (cell.back() == ' ' || cell.back() == '\t')) {
      cell.remove_suffix(1);
    } else if (cell.starts_with("\xE3\x80\x80")) {
      cell.remove_prefix(3);
    } else if (cell.ends_with("\xE3\x80\x80")) {
      cell.remove_suffix(3);
    } else {
      return std::string(cell);
    }
  }
}

std::string Lowered(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; });
  return out;
}

std::string NameList(const ColumnNames& column) {
  std::string out;
  for (std::string_view name : column.names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

}  // namespace

Result<FilingsFile> ReadFilingsCsv(std::string_view bytes, text::TextEncoding encoding) {
  DAICHO_ASSIGN_OR_RETURN(text::DecodedText decoded, text::DecodeText(bytes, encoding));
  DAICHO_ASSIGN_OR_RETURN(std::vector<text::CsvRow> rows, text::ParseCsv(decoded.utf8));
  const auto blank = [](const text::CsvRow& row) {
    return std::all_of(row.cells.begin(), row.cells.end(), [](const std::string& c) { return Trimmed(c).empty(); });
  };
  auto header = std::find_if_not(rows.begin(), rows.end(), blank);
  if (header == rows.end()) return InvalidArgument("the filings file is empty: it needs a header row and filings");
  std::array<std::optional<size_t>, kColumns> at;
  for (size_t cell = 0; cell < header->cells.size(); ++cell) {
    const std::string name = Lowered(Trimmed(header->cells[cell]));
    for (size_t column = 0; column < kColumns; ++column) {
      const auto& names = Columns()[column].names;
      if (std::none_of(names.begin(), names.end(), [&](std::string_view known) { return Lowered(known) == name; })) {
        continue;
      }
      if (at[column]) {
        return InvalidArgument("line " + std::to_string(header->line) + ": two columns are the " +
                               std::string(Columns()[column].what));
      }
      at[column] = cell;
    }
  }
  for (size_t column = 0; column < kColumns; ++column) {
    if (Columns()[column].required && !at[column]) {
      return InvalidArgument("line " + std::to_string(header->line) + ": no " + std::string(Columns()[column].what) +
                             " column; its header may be " + NameList(Columns()[column]));
    }
  }
  FilingsFile file;
  file.encoding = decoded.encoding;
  for (auto row = header + 1; row != rows.end(); ++row) {
    if (blank(*row)) continue;
    const auto cell = [&](Column column) {
      return at[column] && *at[column] < row->cells.size() ? Trimmed(row->cells[*at[column]]) : std::string();
    };
    const std::string contract_text = cell(kContract), company = cell(kCompany), day_text = cell(kDay);
    Result<ContractNumber> contract = ContractNumber::ParseTyped(contract_text);
    const std::optional<entitlements::Date> day = text::ParseDate(day_text);
    std::string problem;
    if (!contract.ok()) {
      problem = "contract number '" + contract_text + "' is not NNNN-NNNN-NNNN";
    } else if (company.empty()) {
      problem = "the company id is empty";
    } else if (!day) {
      problem = "filing day '" + day_text + "' is not a date (write 2026-04-01, 2026/4/1 or 令和8年4月1日)";
    }
    if (!problem.empty()) {
      file.unreadable.push_back({row->line, std::move(problem)});
      continue;
    }
    file.rows.push_back({row->line, *contract, company, *day, cell(kFilingId)});
  }
  return file;
}

}  // namespace daicho::relay
