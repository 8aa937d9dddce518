#include "apps/daicho/commands.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <sstream>

#include "apps/daicho/csv.h"
#include "apps/daicho/field_assignment.h"
#include "apps/daicho/json_output.h"
#include "apps/daicho/office_key_cli.h"
#include "apps/daicho/progress.h"
#include "apps/daicho/text_output.h"
#include "daicho/change_file.h"
#include "daicho/replica.h"

namespace daicho::cli {
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
Result<std::vector<Record>> ListAll(const Replica& replica, const std::string& collection,
                                    bool include_deleted) {
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

Status ApplyAssignment(WriteTransaction& txn, const std::string& collection,
                       const std::string& id, const FieldAssignment& a) {
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

const char* KindName(FieldKind kind) {
  switch (kind) {
    case FieldKind::kRegister:
      return "text/value";
    case FieldKind::kCounter:
      return "counter";
    case FieldKind::kSet:
      return "set";
  }
  return "unknown";
}

}  // namespace

std::ostream* ProgressStream() { return StderrIsTerminal() ? &std::cerr : nullptr; }

Result<std::unique_ptr<Replica>> OpenReplica(const std::string& db,
                                             const ReplicaOptions& options) {
  Result<std::unique_ptr<Replica>> replica = Replica::Open(db, options);
  if (!replica.ok() && replica.status().code() == Code::kNotFound) {
    return Status(Code::kNotFound,
                  "no daicho replica at " + QuoteForMessage(db) +
                      " (create one with: daicho init --db " + db + ")");
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
  WriteTransaction txn = (*replica)->BeginWrite();
  for (const FieldAssignment& a : parsed) {
    Status s = ApplyAssignment(txn, collection, id, a);
    if (!s.ok()) {
      return Outcome::Failed(s, "setting " + QuoteForMessage(a.field) + " of " +
                                    RecordName(collection, id) + " (nothing written)");
    }
  }
  Result<CommitInfo> info = txn.Commit();
  if (!info.ok()) return Outcome::Failed(info.status(), "committing " + RecordName(collection, id));
  out << "committed " << collection << '/' << id << ": " << info->ops << " operation"
      << (info->ops == 1 ? "" : "s") << " as change " << info->dot.counter << '\n';
  return Outcome::Ok();
}

Outcome GetCommand(const std::string& db, const std::string& collection, const std::string& id,
                   bool json, std::ostream& out) {
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

Outcome ListCommand(const std::string& db, const std::string& collection, bool json,
                    bool include_deleted, std::ostream& out) {
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

Outcome DeleteCommand(const std::string& db, const std::string& collection, const std::string& id,
                      bool undelete, std::ostream& out) {
  const char* verb = undelete ? "undelete" : "delete";
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
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
      // Wrapping, as counter totals do.
      return txn.Add(collection, id, view.name,
                     static_cast<int64_t>(static_cast<uint64_t>(total) - static_cast<uint64_t>(shown)));
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
  Result<Record> record = (*replica)->Get(collection, id);
  if (!record.ok()) {
    if (record.status().code() == Code::kNotFound) {
      return {kExitRuntimeError, "cannot resolve: no record " + RecordName(collection, id)};
    }
    return Outcome::Failed(record.status(), "reading " + RecordName(collection, id));
  }
  const FieldView* view = record->Find(field);
  if (view == nullptr) {
    return {kExitRuntimeError, "cannot resolve: " + RecordName(collection, id) +
                                   " has no field " + QuoteForMessage(field)};
  }
  // Counters and sets merge every edit: only a kind conflict needs settling.
  if (view->kind != FieldKind::kRegister && !view->kind_conflict) {
    return {kExitRuntimeError, "cannot resolve: field " + QuoteForMessage(field) + " is a " +
                                   KindName(view->kind) + ", which never conflicts; change it with `set`"};
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

Outcome ImportCsvCommand(const std::string& db, const std::string& collection,
                         const std::string& file, std::ostream& out) {
  Result<std::string> text = ReadWholeFile(file);
  if (!text.ok()) return Outcome::Failed(text.status(), "reading " + file);
  Result<std::vector<CsvRow>> parsed = ParseCsv(*text);
  if (!parsed.ok()) return Outcome::Failed(parsed.status(), file + " (nothing imported)");
  std::vector<CsvRow>& rows = *parsed;
  if (rows.empty()) return {kExitRuntimeError, file + ": empty file, expected a header row"};

  // Validate the whole file first, so a bad row late in the file does not
  // leave the first batches committed.
  const std::vector<std::string>& header = rows[0].cells;
  std::set<std::string> seen;
  for (size_t i = 1; i < header.size(); ++i) {
    const std::string& name = header[i];
    std::string where = file + ": line 1, column " + std::to_string(i + 1);
    if (name.empty()) return {kExitRuntimeError, where + ": empty field name in the header"};
    if (!IsValidUtf8(name)) return {kExitRuntimeError, where + ": invalid UTF-8 in the header"};
    if (!seen.insert(name).second) {
      return {kExitRuntimeError, where + ": field " + QuoteForMessage(name) + " appears twice"};
    }
  }
  std::vector<const CsvRow*> data;
  data.reserve(rows.size() - 1);
  for (size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& row = rows[r];
    // Spreadsheets often leave blank lines at the end.
    if (row.cells.size() == 1 && row.cells[0].empty()) continue;
    std::string where = file + ": line " + std::to_string(row.line);
    if (row.cells.size() != header.size()) {
      return {kExitRuntimeError, where + ": " + std::to_string(row.cells.size()) +
                                     " cells, but the header has " +
                                     std::to_string(header.size()) + " (nothing imported)"};
    }
    if (row.cells[0].empty()) {
      return {kExitRuntimeError,
              where + ": empty record id in the first column (nothing imported)"};
    }
    for (const std::string& cell : row.cells) {
      if (!IsValidUtf8(cell)) {
        return {kExitRuntimeError,
                where + ": invalid UTF-8 (save the file as UTF-8) (nothing imported)"};
      }
    }
    data.push_back(&row);
  }

  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  ProgressBar progress("importing", data.size(), ProgressStream());
  size_t imported = 0;
  size_t transactions = 0;
  for (size_t start = 0; start < data.size(); start += kImportBatchRows) {
    size_t end = std::min(data.size(), start + kImportBatchRows);
    WriteTransaction txn = (*replica)->BeginWrite();
    for (size_t r = start; r < end; ++r) {
      const CsvRow& row = *data[r];
      for (size_t c = 1; c < row.cells.size(); ++c) {
        if (row.cells[c].empty()) continue;  // empty cell: nothing to say about the field
        Status s = txn.Set(collection, row.cells[0], header[c], Value(row.cells[c]));
        if (!s.ok()) {
          return Outcome::Failed(s, file + ": line " + std::to_string(row.line) + " (" +
                                        std::to_string(imported) + " rows imported before it)");
        }
      }
    }
    // A batch of id-only rows has nothing to commit (Commit would refuse).
    if (txn.size() > 0) {
      Result<CommitInfo> info = txn.Commit();
      if (!info.ok()) {
        return Outcome::Failed(info.status(), "committing rows " + std::to_string(start + 1) +
                                                  "-" + std::to_string(end) + " (" +
                                                  std::to_string(imported) +
                                                  " rows imported before them)");
      }
      ++transactions;
    }
    imported = end;
    progress.Update(imported);
  }
  progress.Finish();
  out << "imported " << imported << " row" << (imported == 1 ? "" : "s") << " into "
      << collection << " (" << transactions << " transaction" << (transactions == 1 ? "" : "s")
      << ")\n";
  return Outcome::Ok();
}

Outcome ExportCommand(const std::string& db, const std::string& collection,
                      const std::string& format, std::ostream& out) {
  if (format != "csv" && format != "json") {
    return Outcome::Usage("unknown export format " + QuoteForMessage(format) +
                          " (use csv or json)");
  }
  auto replica = OpenReplica(db);
  if (!replica.ok()) return Outcome::Failed(replica.status(), "opening " + db);
  Result<std::vector<Record>> records = ListAll(**replica, collection, false);
  if (!records.ok()) {
    return Outcome::Failed(records.status(), "listing " + QuoteForMessage(collection));
  }
  if (format == "json") {
    out << DumpJson(RecordsToJson(*records));
    return Outcome::Ok();
  }
  std::set<std::string> names;
  for (const Record& r : *records) {
    for (const FieldView& f : r.fields) names.insert(f.name);
  }
  std::vector<std::string> header = {"id"};
  header.insert(header.end(), names.begin(), names.end());
  out << FormatCsvRow(header);
  for (const Record& r : *records) {
    std::vector<std::string> cells = {r.id};
    for (const std::string& name : names) {
      const FieldView* f = r.Find(name);
      cells.push_back(f == nullptr ? std::string() : FieldCellText(*f));
    }
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
      context += "; the file starts after what this replica holds: export it again with "
                 "--since set to this replica's `daicho vv`";
    }
    return Outcome::Failed(imported.status(), context);
  }
  const ApplyResult& applied = imported->applied;
  out << "applied " << applied.applied << " change" << (applied.applied == 1 ? "" : "s") << ", "
      << applied.duplicates << " duplicate" << (applied.duplicates == 1 ? "" : "s") << ", "
      << applied.changed.size() << " record" << (applied.changed.size() == 1 ? "" : "s") << " changed\n";
  return Outcome::Ok();
}

}  // namespace daicho::cli
