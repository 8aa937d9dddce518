// Human-readable rendering of values and records for the `daicho` CLI.
//
// Everything here is deterministic: the same Record gives the same bytes, so
// two replicas in the same state print the same thing.
#ifndef DAICHO_APPS_DAICHO_TEXT_OUTPUT_H_
#define DAICHO_APPS_DAICHO_TEXT_OUTPUT_H_

#include <ostream>
#include <string>
#include <string_view>

#include "daicho/record.h"
#include "daicho/value.h"

namespace daicho::cli {

// Lower-case hex of arbitrary bytes ("" for "").
std::string HexLower(std::string_view bytes);

// A scalar as plain text: strings as is, bytes as lower-case hex, numbers in
// shortest round-trip form, true/false, and `null_text` for null.
std::string ScalarText(const Value& value, std::string_view null_text = "null");

// The text of a field as one spreadsheet cell: a register's displayed value
// (null as ""), a counter's total, a set as SetCellText (csv_ledger.h: sorted
// elements joined with ';', '\' and ';' escaped by '\').
std::string FieldCellText(const FieldView& field);

// A field kind as the CLI names it (`resolve --as`, `get --json`): "text",
// "counter" or "set".
const char* KindName(FieldKind kind);

// `text` quoted for an error message: invalid UTF-8 bytes and control
// characters are escaped (\xNN, \n), so a message never carries raw garbage.
std::string QuoteForMessage(std::string_view text);

// Writes a record as lines: "collection/id" with [deleted] / [delete conflict]
// markers, then one "name: value" line per field; a conflicting register is
// followed by one indented line per sibling, the displayed one first.
void WriteRecordText(std::ostream& out, const Record& record);

}  // namespace daicho::cli

#endif  // DAICHO_APPS_DAICHO_TEXT_OUTPUT_H_
