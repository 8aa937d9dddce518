// CSV import (`daicho import`): the file's bytes decoded as text
// (text/text_encoding.h), parsed (text/csv.h), its header, rows and version
// tokens read and each row planned against the ledger (apps/daicho/
// csv_ledger.h), the writes committed to a fresh replica holding the
// fixture ledger. The steps are ImportCsvCommand's (apps/daicho/commands.cc),
// which cannot be linked here: commands.cc also holds the change-file
// commands, which need the transport, and clang 14 cannot compile the
// transport's coroutines with Boost 1.74. Every record the import wrote must
// read back.
//
// Input: one byte choosing the encoding (0: auto, 1: UTF-8, 2: CP932), then
// the file.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/daicho/csv_ledger.h"
#include "tests/reliability/fuzz/fuzz_support.h"
#include "text/csv.h"
#include "text/text_encoding.h"

namespace {

using namespace daicho;
using namespace daicho::cli;

constexpr char kCollection[] = "customers";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr text::TextEncoding kEncodings[] = {text::TextEncoding::kAuto, text::TextEncoding::kUtf8,
                                                      text::TextEncoding::kCp932, text::TextEncoding::kAuto};
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto decoded = text::DecodeText(bytes, kEncodings[data[0] & 3]);
  if (!decoded.ok()) return 0;
  auto rows = text::ParseCsv(decoded->utf8);
  if (!rows.ok() || rows->empty()) return 0;
  const std::vector<std::string>& header = (*rows)[0].cells;
  auto layout = ParseCsvHeader(header);
  if (!layout.ok()) return 0;
  std::vector<ParsedRow> parsed;
  std::map<std::string, size_t> seen_ids;
  for (size_t r = 1; r < rows->size(); ++r) {
    const text::CsvRow& row = (*rows)[r];
    if (row.cells.size() == 1 && row.cells[0].empty()) continue;
    if (row.cells.size() != header.size() || row.cells[0].empty()) return 0;
    if (!seen_ids.emplace(row.cells[0], row.line).second) return 0;
    auto parsed_row = ParseCsvRow(*layout, row.line, row.cells);
    if (!parsed_row.ok()) return 0;
    parsed.push_back(*std::move(parsed_row));
  }

  fuzz::ScratchReplica replica;
  fuzz::CheckOk(replica->Apply(fuzz::FixtureBlobs()).status(), "fixture ledger");
  auto held = replica->GetVersionVector();
  fuzz::CheckOk(held.status(), "reading the version vector");
  for (const ParsedRow& row : parsed) {
    if (row.token && !held->Dominates(row.token->seen)) return 0;  // the command refuses the file
  }
  WriteTransaction txn = replica->BeginWrite();
  std::vector<std::string> written;
  for (const ParsedRow& row : parsed) {
    std::optional<Record> current;
    std::optional<RecordContext> context;
    auto got = replica->Get(kCollection, row.id);
    if (got.ok()) {
      current = *std::move(got);
      if (row.token) {
        auto ctx = replica->GetRecordContext(kCollection, row.id);
        fuzz::CheckOk(ctx.status(), "reading the context of a record that reads");
        context = *std::move(ctx);
      }
    } else {
      // ParseCsvRow refused every id the store would refuse.
      if (got.status().code() != Code::kNotFound)
        fuzz::Fail("a row's record does not read: " + got.status().ToString());
    }
    const RowPlan plan =
        PlanRow(row, current ? &*current : nullptr, context ? &*context : nullptr, replica->id(), kCollection);
    for (const CellWrite& w : plan.writes) {
      // The parse checked what the store refuses: a write refused here would
      // stop the command after it committed earlier batches.
      const Status written = ApplyCellWrite(txn, kCollection, row, w);
      if (!written.ok()) fuzz::Fail("the store refused a cell the import had checked: " + written.ToString());
    }
    if (!plan.writes.empty()) written.push_back(row.id);
  }
  if (txn.size() == 0) return 0;
  auto committed = txn.Commit();
  if (!committed.ok()) {
    fuzz::Check(committed.status().code() == Code::kResourceExhausted, "an import's commit failed");
    return 0;
  }
  for (const std::string& id : written) {
    fuzz::CheckOk(replica->Get(kCollection, id).status(), "reading a record the import wrote");
  }
  return 0;
}
