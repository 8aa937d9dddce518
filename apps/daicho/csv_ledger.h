// The ledger's CSV format for `daicho export` / `daicho import` (described
// for users in docs/formats.md, "CSV export and import"): which column holds
// which field of which kind, how a set is written in one cell, the per-row
// version token, and the rule that turns one row into writes.
//
// Columns: the first is the record id. A header `NAME#` is a counter,
// `NAME[]` a set, anything else a register (text); a register whose name
// itself ends in '#', "[]" or '!', or is the token column's name, gets one
// '!' appended. The column named kVersionColumn holds the version tokens.
//
// Version token: what the exporting replica had seen of the record (its
// version vector, restricted to the replicas that touched the record, plus
// itself) and what the row said at export (digests of register cells and set
// elements, counter totals). It lets the importer tell which cells the user
// edited in the file and whether the ledger changed since the export, so a
// stale file never overwrites newer edits (see PlanRow).
//
// Pure but for ApplyCellWrite: nothing else here touches a replica. Errors are kInvalidArgument with a
// message for people.
#ifndef DAICHO_APPS_DAICHO_CSV_LEDGER_H_
#define DAICHO_APPS_DAICHO_CSV_LEDGER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daicho/record.h"
#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/value.h"
#include "daicho/version_vector.h"

namespace daicho::cli {

// The header of the version token column (export writes it last).
inline constexpr std::string_view kVersionColumn = "daicho.version";
// Separator of set elements in one cell; '\' escapes it and itself.
inline constexpr char kSetSeparator = ';';

struct CsvColumn {
  std::string field;
  FieldKind kind = FieldKind::kRegister;
  friend bool operator==(const CsvColumn&, const CsvColumn&) = default;
};

// The header cell for a column, with its kind marker.
std::string ColumnHeader(const CsvColumn& column);

// A file's header, decoded: header[0] is the id; every other cell is a field
// column or the token column.
struct CsvLayout {
  // Index i is header cell i + 1 (the token column's entry is a stand-in).
  std::vector<CsvColumn> columns;
  std::optional<size_t> token_column;  // index into the header, if present
};
// Errors name the column: an empty name, a name the store refuses (too long,
// a NUL byte), a field (name and kind) twice, two token columns.
Result<CsvLayout> ParseCsvHeader(const std::vector<std::string>& header);

// A set as one cell: elements in the given order joined by ';', with '\' and
// ';' inside an element escaped by '\'.
std::string SetCellText(const std::vector<std::string>& elements);
// The elements of a set cell, sorted and without duplicates. A '\' before
// any other character is kept as is (a typed Windows path); empty elements
// (";;", a trailing ';') are skipped. Never fails.
std::vector<std::string> ParseSetCell(std::string_view cell);

struct RowToken {
  // The exporter's version vector, restricted to the replicas that touched
  // the record and the exporter itself.
  VersionVector seen;
  // Sorted digests of the row's register cells and set elements (CellDigest).
  std::vector<uint64_t> digests;
  // Sorted (FieldDigest(name), total) of the row's counter cells.
  std::vector<std::pair<uint64_t, int64_t>> counters;
  // Sorted (FieldDigest(name), entries) of the register fields whose context
  // at the exporter reached past `seen`: writes it held as superseded by a
  // write it had (one whose writer saw them) without holding them itself.
  // A write over the exported value must supersede them too, or a replica
  // that receives them after it would bring them back (v2 tokens; empty in
  // v1 ones).
  std::vector<std::pair<uint64_t, VersionVector>> register_contexts;
  // What a write of register `field` over the exported value supersedes:
  // `seen` joined with the field's entry of register_contexts.
  VersionVector ContextFor(std::string_view field) const;
  friend bool operator==(const RowToken&, const RowToken&) = default;
};

// The token of one exported row. `exporter_vv` was read before `record`.
RowToken MakeRowToken(const Record& record, const RecordContext& context, const ReplicaId& exporter,
                      const VersionVector& exporter_vv);
// "v2." + base64url (no padding) of the binary form (docs/formats.md).
std::string EncodeRowToken(const RowToken& token);
// Reads v2 tokens and the v1 tokens of earlier versions (which lack
// register_contexts). kInvalidArgument saying what is wrong (not a daicho
// token, another format version, damaged).
Result<RowToken> DecodeRowToken(std::string_view text);

// One row of a file, checked and parsed (cells as typed values).
struct CsvCell {
  const CsvColumn* column = nullptr;
  std::string text;                   // as in the file
  int64_t number = 0;                 // counter columns, when text is not empty
  std::vector<std::string> elements;  // set columns (ParseSetCell)
};
struct ParsedRow {
  size_t line = 0;
  std::string id;
  std::optional<RowToken> token;
  std::vector<CsvCell> cells;  // one per field column
};
// Parses one data row (`cells` as many as the header). Errors name the
// column: an id or a cell the store would refuse (too long, an id with a NUL
// byte), a counter cell that is not an integer, a bad token.
Result<ParsedRow> ParseCsvRow(const CsvLayout& layout, size_t line, const std::vector<std::string>& cells);

// One write of an import.
struct CellWrite {
  enum class Type { kSet, kSetWithContext, kAdd, kSetAdd, kSetRemove };
  Type type = Type::kSet;
  std::string field;
  std::string text;   // kSet, kSetWithContext: the value; kSetAdd/kSetRemove: the element
  int64_t delta = 0;  // kAdd
  size_t bytes() const { return field.size() + text.size() + 16; }
};

// What importing one row does.
struct RowPlan {
  std::vector<CellWrite> writes;  // kSetWithContext: the row token's ContextFor(field)
  size_t cells_written = 0;       // cells that give writes
  size_t conflicts = 0;           // of those, registers kept beside a newer value
  bool only_id = false;           // no cell holds anything, nothing to write
  // Sentences for the clerk about this row (without "line N: ").
  std::vector<std::string> notes;
  size_t bytes() const;
};

// The import rule (docs/formats.md): a cell is written only if it differs
// from the current value. With a token, a cell the user did not edit in the
// file is left alone; an edited register cell whose field has a value the
// exporter had not seen is written with the exported context (a conflict
// beside the newer value, never an overwrite); a counter cell adds its
// difference to the exported total; a set cell adds and removes its
// difference to the exported elements. `current` / `context` are the
// record's state now (nullptr: no such record); `self` the importing replica.
RowPlan PlanRow(const ParsedRow& row, const Record* current, const RecordContext* context, const ReplicaId& self,
                std::string_view collection);

// Adds one write of `row`'s plan to `txn` (the only function here that
// touches a replica). The transaction's codes.
Status ApplyCellWrite(WriteTransaction& txn, std::string_view collection, const ParsedRow& row, const CellWrite& w);

}  // namespace daicho::cli

#endif  // DAICHO_APPS_DAICHO_CSV_LEDGER_H_
