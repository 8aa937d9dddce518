#include "apps/daicho/commands.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <sstream>

#include "apps/daicho/csv_ledger.h"
#include "apps/daicho/field_assignment.h"
#include "apps/daicho/json_output.h"
#include "apps/daicho/office_key_cli.h"
#include "apps/daicho/progress.h"
#include "apps/daicho/text_output.h"
#include "daicho/change_file.h"
#include "daicho/replica.h"
#include "text/csv.h"
#include "text/text_encoding.h"

namespace daicho::cli {

using text::CsvRow;
using text::DecodedText;
using text::DecodeText;
using text::FormatCsvRow;
using text::kUtf8ByteOrderMark;
using text::ParseCsv;
using text::ParseTextEncoding;
using text::TextEncoding;
using text::TextEncodingName;

namespace {

std::string RecordName(const std::string& collection, const std::string& id) {
  return QuoteForMessage(collection + "/" + id);
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open " + QuoteForMessage(path) + ": " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return IoError("cannot read " + QuoteForMessage(path));
  return std::move(buffer).str();
}

// Every record of a collection, paging through Replica::List.
Result<std::vector<Record>> ListAll(const Replica& replica, const std::string& collection, bool include_deleted) {
  std::vector<Record> all;
  ListOptions options;
  options.limit = 500;
  options.include_deleted = include_deleted;
  while (true) {
    DAICHO_ASSIGN_OR_RETURN(Page page, replica.List(collection, options));
    bool empty_page = page.records.empty();
    std::move(page.records.begin(), page.records.end(), std::back_inserter(all));
    // An empty page also ends the loop, so a cursor that fails to advance
    // cannot spin forever.
    if (page.next_start_after.empty() || empty_page) break;
    options.start_after = std::move(page.next_start_after);
  }
  return all;
}

void WriteRecordsText(std::ostream& out, const std::vector<Record>& records) {
  for (size_t i = 0; i < records.size(); ++i) {
    if (i > 0) out << '\n';
    WriteRecordText(out, records[i]);
  }
}

Status ApplyAssignment(WriteTransaction& txn, const std::string& collection, const std::string& id,
                       const FieldAssignment& a) {
  switch (a.op) {
    case AssignmentOp::kSetText:
    case AssignmentOp::kSetTyped:
      return txn.Set(collection, id, a.field, a.value);
    case AssignmentOp::kCounterAdd:
      return txn.Add(collection, id, a.field, a.delta);
    case AssignmentOp::kSetAdd:
      return txn.SetAdd(collection, id, a.field, a.element);
    case AssignmentOp::kSetRemove:
      return txn.SetRemove(collection, id, a.field, a.element);
  }
  return Internal("unknown assignment operation");
}

}  // namespace

std::ostream* ProgressStream() { return StderrIsTerminal() ? &std::cerr : nullptr; }

Result<std::unique_ptr<Replica>> OpenReplica(const std::string& db, const ReplicaOptions& options) {
  Result<std::unique_ptr<Replica>> replica = Replica::Open(db, options);
  if (!replica.ok() && replica.status().code() == Code::kNotFound) {
    return Status(Code::kNotFound,
                  "no daicho replica at " + QuoteForMessage(db) + " (create one with: daicho init --db " + db + ")");
  }
  return replica;
}

Outcome Outcome::Failed(const Status& status, const std::string& context) {
  return {kExitRuntimeError, context + ": " + status.ToString()};
}

Outcome InitCommand(const std::string& db, std::ostream& out) {
  ReplicaOptions options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  Result<std::unique_ptr<Replica>> replica = Replica::Open(db, options);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "creating a replica at " + db);
  out << (*replica)->id().ToHex() << '\n';
  return Outcome::Ok();
}

Outcome IdCommand(const std::string& db, std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  out << (*replica)->id().ToHex() << '\n';
  return Outcome::Ok();
}

Outcome VersionVectorCommand(const std::string& db, std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  Result<VersionVector> vv = (*replica)->GetVersionVector();
  if (!vv.ok()) return Outcome::Failed(vv.status(), "reading the version vector");
  out << vv->ToString() << '\n';
  return Outcome::Ok();
}

Outcome SetCommand(const std::string& db, const std::string& collection, const std::string& id,
                   const std::vector<std::string>& assignments, std::ostream& out) {
  // Parse everything before touching the replica: one bad argument must
  // leave nothing written.
  if (assignments.empty()) return Outcome::Usage("set needs at least one FIELD=VALUE");
  std::vector<FieldAssignment> parsed;
  parsed.reserve(assignments.size());
  for (const std::string& arg : assignments) {
    Result<FieldAssignment> a = ParseFieldAssignment(arg);
    if (!a.ok()) return Outcome::Usage(a.status().message());
    parsed.push_back(std::move(a).value());
  }

  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  if (Status s = CheckCollectionWritable(**replica, collection); !s.ok()) {
    return Outcome::Failed(s, "writing " + RecordName(collection, id) + " (nothing written)");
  }
  WriteTransaction txn = (*replica)->BeginWrite();
  for (const FieldAssignment& a : parsed) {
    Status s = ApplyAssignment(txn, collection, id, a);
    if (!s.ok()) {
      return Outcome::Failed(
          s, "setting " + QuoteForMessage(a.field) + " of " + RecordName(collection, id) + " (nothing written)");
    }
  }
  Result<CommitInfo> info = txn.Commit();
  if (!info.ok()) return Outcome::Failed(info.status(), "committing " + RecordName(collection, id));
  out << "committed " << collection << '/' << id << ": " << info->ops << " operation" << (info->ops == 1 ? "" : "s")
      << " as change " << info->dot.counter << '\n';
  return Outcome::Ok();
}

Outcome GetCommand(const std::string& db, const std::string& collection, const std::string& id, bool json,
                   std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  Result<Record> record = (*replica)->Get(collection, id);
  if (!record.ok()) {
    if (record.status().code() == Code::kNotFound) {
      return {kExitRuntimeError, "no record " + RecordName(collection, id)};
    }
    return Outcome::Failed(record.status(), "reading " + RecordName(collection, id));
  }
  if (json) {
    out << DumpJson(RecordToJson(*record));
  } else {
    WriteRecordText(out, *record);
  }
  return Outcome::Ok();
}

Outcome ListCommand(const std::string& db, const std::string& collection, bool json, bool include_deleted,
                    std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  Result<std::vector<Record>> records = ListAll(**replica, collection, include_deleted);
  if (!records.ok()) {
    return Outcome::Failed(records.status(), "listing " + QuoteForMessage(collection));
  }
  if (json) {
    out << DumpJson(RecordsToJson(*records));
  } else if (records->empty()) {
    out << "no records in " << QuoteForMessage(collection) << '\n';
  } else {
    WriteRecordsText(out, *records);
  }
  return Outcome::Ok();
}

Outcome ConflictsCommand(const std::string& db, bool json, std::ostream& out) {
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  Result<std::vector<Record>> records = (*replica)->ListConflicts();
  if (!records.ok()) return Outcome::Failed(records.status(), "listing conflicts");
  if (json) {
    out << DumpJson(RecordsToJson(*records));
  } else if (records->empty()) {
    out << "no conflicts\n";
  } else {
    WriteRecordsText(out, *records);
  }
  return Outcome::Ok();
}

Outcome DeleteCommand(const std::string& db, const std::string& collection, const std::string& id, bool undelete,
                      std::ostream& out) {
  const char* verb = undelete ? "undelete" : "delete";
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  if (Status s = CheckCollectionWritable(**replica, collection); !s.ok()) {
    return Outcome::Failed(s, std::string(verb) + " " + RecordName(collection, id) + " (nothing written)");
  }
  WriteTransaction txn = (*replica)->BeginWrite();
  Status s = undelete ? txn.Undelete(collection, id) : txn.Delete(collection, id);
  if (s.code() == Code::kNotFound) {
    return {kExitRuntimeError, std::string("cannot ") + verb + ": no record " + RecordName(collection, id)};
  }
  if (!s.ok()) return Outcome::Failed(s, std::string(verb) + " " + RecordName(collection, id));
  Result<CommitInfo> info = txn.Commit();
  if (!info.ok()) return Outcome::Failed(info.status(), "committing " + RecordName(collection, id));
  out << (undelete ? "undeleted " : "deleted ") << collection << '/' << id << '\n';
  return Outcome::Ok();
}

namespace {

// What one kind of `view` holds, if that kind shows (alone or in a kind
// conflict); nullopt if the field does not show it (never used, or
// superseded: writing it then starts afresh).
std::optional<KindValue> ShownKindValue(const FieldView& view, FieldKind kind) {
  if (view.kind == kind) return KindValue{view.kind, view.value, view.elements};
  for (const KindValue& other : view.other_kinds) {
    if (other.kind == kind) return other;
  }
  return std::nullopt;
}

// Writes `values` as the field's content of kind `kind` in `txn`: a text,
// a counter total (the difference to what the counter shows) or the set's
// elements (adds and removes of the difference).
Status WriteResolution(WriteTransaction& txn, const std::string& collection, const std::string& id,
                       const FieldView& view, FieldKind kind, const std::vector<std::string>& values) {
  const std::optional<KindValue> current = ShownKindValue(view, kind);
  switch (kind) {
    case FieldKind::kRegister:
      return txn.Set(collection, id, view.name, Value(values.front()));
    case FieldKind::kCounter: {
      DAICHO_ASSIGN_OR_RETURN(const int64_t total, ParseInt64(values.front()));
      const int64_t shown = current && current->value.type() == Value::Type::kInt ? current->value.as_int() : 0;
      return txn.Add(collection, id, view.name, CounterDelta(shown, total));
    }
    case FieldKind::kSet: {
      const std::set<std::string> wanted(values.begin(), values.end());
      for (const std::string& element : wanted) DAICHO_RETURN_IF_ERROR(txn.SetAdd(collection, id, view.name, element));
      if (current) {
        for (const std::string& element : current->elements) {
          if (wanted.count(element) == 0) DAICHO_RETURN_IF_ERROR(txn.SetRemove(collection, id, view.name, element));
        }
      }
      return Status::Ok();
    }
  }
  return Internal("unknown field kind");
}

}  // namespace

Outcome ResolveCommand(const std::string& db, const std::string& collection, const std::string& id,
                       const std::string& field, const std::vector<std::string>& values, FieldKind kind,
                       std::ostream& out) {
  for (const std::string& value : values) {
    if (!IsValidUtf8(value)) return Outcome::Usage("invalid UTF-8 in " + QuoteForMessage(value));
  }
  if (values.empty()) return Outcome::Usage("resolve needs the value to keep");
  if (kind != FieldKind::kSet && values.size() > 1) {
    return Outcome::Usage(std::string("a ") + KindName(kind) + " keeps one value; got " +
                          std::to_string(values.size()) + " (only a set takes several elements)");
  }
  if (kind == FieldKind::kCounter && !ParseInt64(values.front()).ok()) {
    return Outcome::Usage("a counter keeps a whole number; got " + QuoteForMessage(values.front()));
  }
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  if (Status s = CheckCollectionWritable(**replica, collection); !s.ok()) {
    return Outcome::Failed(s, "resolving " + RecordName(collection, id) + " (nothing written)");
  }
  Result<Record> record = (*replica)->Get(collection, id);
  if (!record.ok()) {
    if (record.status().code() == Code::kNotFound) {
      return {kExitRuntimeError, "cannot resolve: no record " + RecordName(collection, id)};
    }
    return Outcome::Failed(record.status(), "reading " + RecordName(collection, id));
  }
  const FieldView* view = record->Find(field);
  if (view == nullptr) {
    return {kExitRuntimeError,
            "cannot resolve: " + RecordName(collection, id) + " has no field " + QuoteForMessage(field)};
  }
  // Counters and sets merge every edit: only a kind conflict needs settling.
  if (view->kind != FieldKind::kRegister && !view->kind_conflict) {
    return {kExitRuntimeError, "cannot resolve: field " + QuoteForMessage(field) + " is a " + KindName(view->kind) +
                                   ", which never conflicts; change it with `set`"};
  }
  const bool had_conflict = view->conflict || view->kind_conflict;
  WriteTransaction txn = (*replica)->BeginWrite();
  Status s = WriteResolution(txn, collection, id, *view, kind, values);
  if (!s.ok()) return Outcome::Failed(s, "setting " + QuoteForMessage(field));
  Result<CommitInfo> info = txn.Commit();
  if (!info.ok()) return Outcome::Failed(info.status(), "committing " + RecordName(collection, id));
  std::string shown;
  for (const std::string& value : values) shown += (shown.empty() ? "" : ", ") + value;
  out << "resolved " << collection << '/' << id << ' ' << field << " = "
      << (kind == FieldKind::kSet ? "{" + shown + "}" : shown)
      << (kind == FieldKind::kRegister ? "" : std::string(" (as a ") + KindName(kind) + ")")
      << (had_conflict ? "" : " (there was no conflict; the value was set)") << '\n';
  return Outcome::Ok();
}

namespace {

// Counts and messages of one `import`.
struct ImportReport {
  size_t rows_changed = 0;
  size_t rows_unchanged = 0;
  size_t rows_only_id = 0;
  size_t cells_written = 0;
  size_t conflicts = 0;
  size_t transactions = 0;
  bool split_by_size = false;
  std::string read_as;             // the file's text encoding and why: "UTF-8"
  std::vector<std::string> notes;  // "line N: ..."
};

constexpr size_t kMaxImportNotes = 50;

std::string Plural(size_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

void WriteImportReport(std::ostream& out, const std::string& collection, const ImportReport& r) {
  for (size_t i = 0; i < r.notes.size() && i < kMaxImportNotes; ++i) out << r.notes[i] << '\n';
  if (r.notes.size() > kMaxImportNotes) {
    out << "... and " << r.notes.size() - kMaxImportNotes << " more such lines\n";
  }
  out << "imported into " << collection << ": " << Plural(r.rows_changed, "row", "rows") << " changed, "
      << r.rows_unchanged << " unchanged, " << r.rows_only_id << " with only an id; "
      << Plural(r.cells_written, "cell", "cells") << " written, " << Plural(r.conflicts, "conflict", "conflicts")
      << " kept beside newer values; " << Plural(r.transactions, "transaction", "transactions");
  if (r.split_by_size) out << " (split by size: at most " << (kImportBatchBytes >> 20) << " MiB of cells each)";
  out << "; read as " << r.read_as << '\n';
}

}  // namespace

Outcome ImportCsvCommand(const std::string& db, const std::string& collection, const std::string& file,
                         const std::string& encoding, std::ostream& out) {
  const std::optional<TextEncoding> wanted = ParseTextEncoding(encoding);
  if (!wanted) {
    return Outcome::Usage("unknown --encoding " + QuoteForMessage(encoding) + " (use auto, utf-8 or cp932)");
  }
  Result<std::string> bytes = ReadWholeFile(file);
  if (!bytes.ok()) return Outcome::Failed(bytes.status(), "reading " + file);
  Result<DecodedText> text = DecodeText(*bytes, *wanted);
  if (!text.ok()) {
    if (text.status().code() != Code::kInvalidArgument) return Outcome::Failed(text.status(), "reading " + file);
    return {kExitRuntimeError,
            file + ": " + text.status().message() +
                " (nothing imported; save it again from Excel as \"CSV UTF-8\" or \"CSV (comma delimited)\"; "
                "--encoding utf-8 or --encoding cp932 says which of the two the file is in)"};
  }
  std::string().swap(*bytes);  // only the decoded text is needed from here on
  Result<std::vector<CsvRow>> parsed = ParseCsv(text->utf8);
  if (!parsed.ok()) return Outcome::Failed(parsed.status(), file + " (nothing imported)");
  std::vector<CsvRow>& rows = *parsed;
  if (rows.empty()) return {kExitRuntimeError, file + ": empty file, expected a header row"};

  // Check and parse the whole file first (cells, tokens), so that a bad row
  // late in the file leaves nothing imported.
  const std::vector<std::string>& header = rows[0].cells;
  Result<CsvLayout> layout = ParseCsvHeader(header);
  if (!layout.ok()) return {kExitRuntimeError, file + ": " + layout.status().message() + " (nothing imported)"};
  std::vector<ParsedRow> data;
  data.reserve(rows.size() - 1);
  std::map<std::string, size_t> first_line;
  for (size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    // Spreadsheets often leave blank lines at the end.
    if (row.cells.size() == 1 && row.cells[0].empty()) continue;
    std::string where = file + ": line " + std::to_string(row.line);
    if (row.cells.size() != header.size()) {
      return {kExitRuntimeError, where + ": " + std::to_string(row.cells.size()) + " cells, but the header has " +
                                     std::to_string(header.size()) + " (nothing imported)"};
    }
    if (row.cells[0].empty()) {
      return {kExitRuntimeError, where + ": empty record id in the first column (nothing imported)"};
    }
    // Each row is planned against the ledger as it was before the import.
    auto [it, first] = first_line.emplace(row.cells[0], row.line);
    if (!first) {
      return {kExitRuntimeError, where + ": record " + QuoteForMessage(row.cells[0]) + " already appears on line " +
                                     std::to_string(it->second) + " (one row per record; nothing imported)"};
    }
    Result<ParsedRow> parsed_row = ParseCsvRow(*layout, row.line, row.cells);
    if (!parsed_row.ok()) {
      return {kExitRuntimeError, where + ", " + parsed_row.status().message() + " (nothing imported)"};
    }
    data.push_back(std::move(parsed_row).value());
  }

  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  if (Status s = CheckCollectionWritable(**replica, collection); !s.ok()) {
    return Outcome::Failed(s, "importing " + file + " into " + QuoteForMessage(collection) + " (nothing imported)");
  }
  const ReplicaId self = (*replica)->id();
  // A token speaks of changes the importer must hold to tell edited cells
  // from exported ones (and counters would count twice once it receives
  // them): refuse before writing anything.
  Result<VersionVector> held = (*replica)->GetVersionVector();
  if (!held.ok()) return Outcome::Failed(held.status(), "reading " + db);
  for (const ParsedRow& row : data) {
    if (!row.token || held->Dominates(row.token->seen)) continue;
    return {kExitRuntimeError,
            file + ": line " + std::to_string(row.line) +
                ": the file was exported from changes this PC has not "
                "received yet: sync with the PC that exported it first, or, to import the values as they are, "
                "delete the " +
                std::string(kVersionColumn) + " column (nothing imported)"};
  }
  ProgressBar progress("importing", data.size(), ProgressStream());
  ImportReport report;
  WriteTransaction txn = (*replica)->BeginWrite();
  size_t batch_rows = 0;
  size_t batch_bytes = 0;
  size_t batch_first_line = 0;
  size_t rows_done = 0;  // rows before the current batch, all committed
  // Commits the batch; a batch of unchanged rows has nothing to commit.
  auto commit = [&](size_t last_line) -> Outcome {
    if (txn.size() > 0) {
      Result<CommitInfo> info = txn.Commit();
      if (!info.ok()) {
        return Outcome::Failed(info.status(), file + ": committing lines " + std::to_string(batch_first_line) + "-" +
                                                  std::to_string(last_line) +
                                                  " (the rows before them are imported; run the "
                                                  "import again: rows already imported are left alone)");
      }
      ++report.transactions;
    }
    batch_rows = 0;
    batch_bytes = 0;
    return Outcome::Ok();
  };
  for (size_t r = 0; r < data.size(); ++r) {
    const ParsedRow& row = data[r];
    std::string where = file + ": line " + std::to_string(row.line);
    std::optional<Record> current;
    std::optional<RecordContext> context;
    Result<Record> got = (*replica)->Get(collection, row.id);
    if (got.ok()) {
      current = std::move(got).value();
      if (row.token) {
        Result<RecordContext> ctx = (*replica)->GetRecordContext(collection, row.id);
        if (!ctx.ok()) return Outcome::Failed(ctx.status(), where);
        context = std::move(ctx).value();
      }
    } else if (got.status().code() != Code::kNotFound) {
      return Outcome::Failed(got.status(), where);
    }
    RowPlan plan = PlanRow(row, current ? &*current : nullptr, context ? &*context : nullptr, self, collection);
    for (const std::string& note : plan.notes) report.notes.push_back("line " + std::to_string(row.line) + ": " + note);
    if (plan.only_id) {
      report.notes.push_back("line " + std::to_string(row.line) + ": only an id, nothing to write");
      ++report.rows_only_id;
    } else if (plan.writes.empty()) {
      ++report.rows_unchanged;
    } else {
      // A batch ends before a row that would take it over the budget, so one
      // record's cells stay in one change unless the row alone exceeds it.
      const size_t row_bytes = plan.bytes();
      if (batch_rows > 0 && (batch_rows == kImportBatchRows || batch_bytes + row_bytes > kImportBatchBytes)) {
        if (batch_rows < kImportBatchRows) report.split_by_size = true;
        if (Outcome o = commit(data[r - 1].line); o.exit_code != kExitOk) return o;
        rows_done = r;
      }
      if (batch_rows == 0) batch_first_line = row.line;
      for (const CellWrite& w : plan.writes) {
        if (batch_bytes > 0 && batch_bytes + w.bytes() > kImportBatchBytes) {
          report.split_by_size = true;
          if (Outcome o = commit(row.line); o.exit_code != kExitOk) return o;
          batch_first_line = row.line;
        }
        Status s = ApplyCellWrite(txn, collection, row, w);
        if (!s.ok()) {
          return Outcome::Failed(s, where + ", field " + QuoteForMessage(w.field) + " (" +
                                        Plural(rows_done, "row", "rows") + " imported before it)");
        }
        batch_bytes += w.bytes();
      }
      ++batch_rows;
      ++report.rows_changed;
      report.cells_written += plan.cells_written;
      report.conflicts += plan.conflicts;
    }
    progress.Update(r + 1);
  }
  if (Outcome o = commit(data.empty() ? 0 : data.back().line); o.exit_code != kExitOk) return o;
  progress.Finish();
  report.read_as = TextEncodingName(text->encoding);
  if (text->detected && text->encoding == TextEncoding::kCp932) report.read_as += ", as it is not UTF-8";
  WriteImportReport(out, collection, report);
  return Outcome::Ok();
}

Outcome ExportCommand(const std::string& db, const std::string& collection, const std::string& format, bool excel,
                      std::ostream& out) {
  if (format != "csv" && format != "json") {
    return Outcome::Usage("unknown export format " + QuoteForMessage(format) + " (use csv or json)");
  }
  if (excel && format != "csv") return Outcome::Usage("--excel is for --format csv");
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  // Read before the records: a change that lands in between is then not
  // covered by the rows' tokens, so an import treats it as newer than the
  // file (a conflict at worst), never as seen.
  Result<VersionVector> seen = (*replica)->GetVersionVector();
  if (!seen.ok()) return Outcome::Failed(seen.status(), "reading " + db);
  Result<std::vector<Record>> records = ListAll(**replica, collection, false);
  if (!records.ok()) {
    return Outcome::Failed(records.status(), "listing " + QuoteForMessage(collection));
  }
  if (format == "json") {
    out << DumpJson(RecordsToJson(*records));
    return Outcome::Ok();
  }
  std::set<std::pair<std::string, FieldKind>> kinds;
  for (const Record& r : *records) {
    for (const FieldView& f : r.fields) kinds.emplace(f.name, f.kind);
  }
  std::vector<CsvColumn> columns;
  std::vector<std::string> header = {"id"};
  for (const auto& [name, kind] : kinds) {
    columns.push_back({name, kind});
    header.push_back(ColumnHeader(columns.back()));
  }
  header.emplace_back(kVersionColumn);
  // Without the mark Excel reads the file as the system's code page
  // (Shift_JIS on a Japanese Windows) and garbles every Japanese cell.
  if (excel) out << kUtf8ByteOrderMark;
  out << FormatCsvRow(header);
  for (const Record& r : *records) {
    Result<RecordContext> context = (*replica)->GetRecordContext(collection, r.id);
    if (!context.ok()) return Outcome::Failed(context.status(), "reading " + RecordName(collection, r.id));
    std::vector<std::string> cells = {r.id};
    for (const CsvColumn& column : columns) {
      const FieldView* f = r.Find(column.field);
      cells.push_back(f == nullptr || f->kind != column.kind ? std::string() : FieldCellText(*f));
    }
    cells.push_back(EncodeRowToken(MakeRowToken(r, *context, (*replica)->id(), *seen)));
    out << FormatCsvRow(cells);
  }
  return Outcome::Ok();
}

namespace {

// The office passphrase from --passphrase-file; "" when not given.
Secret ChangeFilePassphrase(const std::string& file) {
  if (file.empty()) return {};
  return GetSecret({file, "--passphrase-file", "the office passphrase", "", false});
}

}  // namespace

Outcome ExportChangesCommand(const std::string& db, const std::string& file, const std::string& since,
                             const std::string& passphrase_file, std::ostream& out) {
  ExportChangesOptions options;
  Result<VersionVector> since_vv = VersionVector::Parse(since);
  if (!since_vv.ok()) {
    return Outcome::Usage("--since: " + since_vv.status().message() +
                          " (expected the output of `daicho vv`, e.g. hex:3,hex:5)");
  }
  options.since = *std::move(since_vv);
  Secret passphrase = ChangeFilePassphrase(passphrase_file);
  if (passphrase.error) return *passphrase.error;
  options.passphrase = std::move(passphrase.value);
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  Result<ChangeFileInfo> written = ExportChangeFile(**replica, file, options);
  if (!written.ok()) return Outcome::Failed(written.status(), "writing " + file);
  out << "wrote " << written->changes << " change" << (written->changes == 1 ? "" : "s") << " to " << file;
  if (written->key_id != 0) {
    out << " (contract " << written->contract << ", sealed with office key " << written->key_id << ")";
  } else if (!written->contract.empty()) {
    out << " (contract " << written->contract << ", not sealed: this PC holds no office key)";
  }
  out << '\n';
  return Outcome::Ok();
}

Outcome ImportChangesCommand(const std::string& db, const std::string& file, const std::string& passphrase_file,
                             std::ostream& out) {
  ImportChangesOptions options;
  Secret passphrase = ChangeFilePassphrase(passphrase_file);
  if (passphrase.error) return *passphrase.error;
  options.passphrase = std::move(passphrase.value);
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  std::optional<ProgressBar> progress;
  options.on_progress = [&progress](size_t done, size_t total) {
    if (!progress) progress.emplace("applying", total, ProgressStream());
    progress->Update(done);
  };
  Result<ImportChangesResult> imported = ImportChangeFile(**replica, file, options);
  if (progress) progress->Finish();
  if (!imported.ok()) {
    std::string context = "importing " + file;
    if (imported.status().code() == Code::kProtocolError &&
        imported.status().message().find("gap") != std::string::npos) {
      context +=
          "; the file starts after what this replica holds: export it again with "
          "--since set to this replica's `daicho vv`";
    }
    return Outcome::Failed(imported.status(), context);
  }
  const ApplyResult& applied = imported->applied;
  out << "applied " << applied.applied << " change" << (applied.applied == 1 ? "" : "s") << ", " << applied.duplicates
      << " duplicate" << (applied.duplicates == 1 ? "" : "s") << ", " << applied.changed.size() << " record"
      << (applied.changed.size() == 1 ? "" : "s") << " changed\n";
  return Outcome::Ok();
}

}  // namespace daicho::cli
