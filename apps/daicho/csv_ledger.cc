#include "apps/daicho/csv_ledger.h"

#include <algorithm>
#include <array>
#include <iterator>
#include <limits>
#include <set>

#include "apps/daicho/field_assignment.h"
#include "apps/daicho/text_output.h"
#include "storage/codec/binary.h"
#include "storage/codec/names.h"

namespace daicho::cli {
namespace {

constexpr std::string_view kTokenPrefix = "v2.";
// Tokens of daicho before register_contexts: read, never written.
constexpr std::string_view kTokenPrefixV1 = "v1.";
constexpr std::string_view kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr size_t kReplicaIdBytes = std::tuple_size_v<ReplicaId::Bytes>;

// Tells an edited cell from the exported one; not a security check: the
// file's owner is the one editing it.
uint64_t Fnv1a(std::initializer_list<std::string_view> parts) {
  storage::Fnv1a64 h;
  for (std::string_view part : parts) h.Update(part);
  return h.value();
}

// Tags and a NUL keep (name, text) pairs from colliding by concatenation.
uint64_t FieldDigest(std::string_view name) { return Fnv1a({"f", name}); }
uint64_t RegisterDigest(std::string_view name, std::string_view text) {
  return Fnv1a({"r", name, std::string_view("\0", 1), text});
}
uint64_t ElementDigest(std::string_view name, std::string_view element) {
  return Fnv1a({"e", name, std::string_view("\0", 1), element});
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : bytes) {
    acc = (acc << 8) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kBase64Url[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0) out += kBase64Url[(acc << (6 - bits)) & 0x3F];
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    size_t v = kBase64Url.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be padding zeros, fewer than a byte.
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

bool EndsWithMarker(std::string_view name) {
  return name.ends_with('#') || name.ends_with("[]") || name.ends_with('!') || name == kVersionColumn;
}

bool Contains(const std::vector<uint64_t>& sorted, uint64_t digest) {
  return std::binary_search(sorted.begin(), sorted.end(), digest);
}

std::optional<int64_t> ExportedTotal(const RowToken& token, std::string_view field) {
  const uint64_t key = FieldDigest(field);
  auto it = std::lower_bound(token.counters.begin(), token.counters.end(),
                             std::make_pair(key, std::numeric_limits<int64_t>::min()));
  if (it == token.counters.end() || it->first != key) return std::nullopt;
  return it->second;
}

// The field `name` as a column of `kind` shows it now; nullptr if the record
// has no such field or shows it as another kind.
const FieldView* FieldOfKind(const Record* record, std::string_view name, FieldKind kind) {
  if (record == nullptr) return nullptr;
  const FieldView* f = record->Find(name);
  return f != nullptr && f->kind == kind ? f : nullptr;
}

CellWrite Write(CellWrite::Type type, std::string field, std::string text, int64_t delta = 0) {
  CellWrite w;
  w.type = type;
  w.field = std::move(field);
  w.text = std::move(text);
  w.delta = delta;
  return w;
}

void PlanRegister(const CsvCell& cell, const FieldView* now, const std::optional<RowToken>& token,
                  const std::string& id, std::string_view collection, RowPlan& plan) {
  const std::string& name = cell.column->field;
  if (token && Contains(token->digests, RegisterDigest(name, cell.text))) return;  // not edited in the file
  std::vector<const Sibling*> all, unseen;
  if (now != nullptr) {
    for (const Sibling& s : now->siblings) {
      all.push_back(&s);
      if (token && !token->ContextFor(name).Covers(s.dot)) unseen.push_back(&s);
    }
  }
  auto holds_cell = [&](const Sibling* s) { return ScalarText(s->value, "") == cell.text; };
  // Already there: every value is the cell's, or (a re-run) a value written
  // since the export is.
  if (!all.empty() && std::all_of(all.begin(), all.end(), holds_cell)) return;
  if (std::any_of(unseen.begin(), unseen.end(), holds_cell)) return;
  ++plan.cells_written;
  if (unseen.empty()) {
    plan.writes.push_back(Write(CellWrite::Type::kSet, name, cell.text));
    return;
  }
  plan.writes.push_back(Write(CellWrite::Type::kSetWithContext, name, cell.text));
  ++plan.conflicts;
  plan.notes.push_back(id + " " + name +
                       " changed on another PC since the export: both values are kept as a "
                       "conflict (settle it with: daicho resolve " +
                       std::string(collection) + " " + id + " " + name + " VALUE)");
}

void PlanCounter(const CsvCell& cell, const FieldView* now, const RecordContext* context, const ReplicaId& self,
                 const std::optional<RowToken>& token, const std::string& id, RowPlan& plan) {
  const std::string& name = cell.column->field;
  const int64_t current = now != nullptr && now->value.type() == Value::Type::kInt ? now->value.as_int() : 0;
  if (cell.number == current) return;
  int64_t delta = 0;
  if (token) {
    // The user's change is the cell's difference to what the file said; a
    // counter merges additions, so other PCs' adds since the export stay.
    const int64_t exported = ExportedTotal(*token, name).value_or(0);
    if (cell.number == exported) return;  // not edited in the file
    // This PC added to it since the export (an earlier run of this import
    // or an edit by hand): adding the difference again would count it twice.
    if (context != nullptr && context->ForField(name).Get(self) > token->seen.Get(self)) {
      plan.notes.push_back(id + " " + name +
                           " was changed on this PC since the export (an earlier import of this "
                           "file?): not added again; it is " +
                           std::to_string(current) + ", the file says " + cell.text + " — check it");
      return;
    }
    delta = CounterDelta(exported, cell.number);
  } else {
    delta = CounterDelta(current, cell.number);
  }
  ++plan.cells_written;
  plan.writes.push_back(Write(CellWrite::Type::kAdd, name, "", delta));
}

void PlanSet(const CsvCell& cell, const FieldView* now, const std::optional<RowToken>& token, RowPlan& plan) {
  const std::string& name = cell.column->field;
  const std::vector<std::string> none;
  const std::vector<std::string>& present = now != nullptr ? now->elements : none;
  std::vector<CellWrite> writes;
  for (const std::string& e : cell.elements) {
    // With a token, an element the file already had at export and that is
    // gone now was removed elsewhere since: the file does not bring it back.
    if (token && Contains(token->digests, ElementDigest(name, e))) continue;
    if (!std::binary_search(present.begin(), present.end(), e)) {
      writes.push_back(Write(CellWrite::Type::kSetAdd, name, e));
    }
  }
  for (const std::string& e : present) {
    if (std::binary_search(cell.elements.begin(), cell.elements.end(), e)) continue;
    // Only elements the user removed from the file: ones added elsewhere
    // since the export stay. An empty element cannot be written in a cell.
    if (e.empty() || (token && !Contains(token->digests, ElementDigest(name, e)))) continue;
    writes.push_back(Write(CellWrite::Type::kSetRemove, name, e));
  }
  if (writes.empty()) return;
  ++plan.cells_written;
  std::move(writes.begin(), writes.end(), std::back_inserter(plan.writes));
}

}  // namespace

std::string ColumnHeader(const CsvColumn& column) {
  switch (column.kind) {
    case FieldKind::kCounter:
      return column.field + "#";
    case FieldKind::kSet:
      return column.field + "[]";
    case FieldKind::kRegister:
      break;
  }
  return EndsWithMarker(column.field) ? column.field + "!" : column.field;
}

Result<CsvLayout> ParseCsvHeader(const std::vector<std::string>& header) {
  CsvLayout layout;
  std::set<std::pair<std::string, FieldKind>> seen;
  for (size_t i = 1; i < header.size(); ++i) {
    const std::string& cell = header[i];
    std::string where = "line 1, column " + std::to_string(i + 1) + ": ";
    if (!IsValidUtf8(cell)) return InvalidArgument(where + "invalid UTF-8 in the header");
    CsvColumn column;
    std::string_view name = cell;
    if (cell == kVersionColumn) {
      if (layout.token_column) {
        return InvalidArgument(where + std::string(kVersionColumn) + " appears twice (one version column)");
      }
      layout.token_column = i;
      layout.columns.push_back({std::string(kVersionColumn), FieldKind::kRegister});
      continue;
    }
    if (name.ends_with("[]")) {
      column.kind = FieldKind::kSet;
      name.remove_suffix(2);
    } else if (name.ends_with('#')) {
      column.kind = FieldKind::kCounter;
      name.remove_suffix(1);
    } else if (name.ends_with('!') && EndsWithMarker(name.substr(0, name.size() - 1))) {
      name.remove_suffix(1);
    }
    if (name.empty()) return InvalidArgument(where + "empty field name in the header");
    if (name.size() > Limits().max_name_bytes) {
      return InvalidArgument(where + "field name longer than " + std::to_string(Limits().max_name_bytes) + " bytes");
    }
    if (storage::CheckNameBytes(name, Limits().max_name_bytes) == storage::NameProblem::kNul) {
      return InvalidArgument(where + "field name contains a NUL byte");
    }
    column.field = std::string(name);
    if (!seen.emplace(column.field, column.kind).second) {
      return InvalidArgument(where + "field " + QuoteForMessage(cell) + " appears twice");
    }
    layout.columns.push_back(std::move(column));
  }
  return layout;
}

std::string SetCellText(const std::vector<std::string>& elements) {
  std::string out;
  for (size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) out += kSetSeparator;
    for (char c : elements[i]) {
      if (c == '\\' || c == kSetSeparator) out += '\\';
      out += c;
    }
  }
  return out;
}

std::vector<std::string> ParseSetCell(std::string_view cell) {
  std::vector<std::string> out;
  std::string element;
  for (size_t i = 0; i <= cell.size(); ++i) {
    if (i == cell.size() || cell[i] == kSetSeparator) {
      if (!element.empty()) out.push_back(std::move(element));
      element.clear();
    } else if (cell[i] == '\\' && i + 1 < cell.size() && (cell[i + 1] == '\\' || cell[i + 1] == kSetSeparator)) {
      element += cell[++i];
    } else {
      element += cell[i];
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

RowToken MakeRowToken(const Record& record, const RecordContext& context, const ReplicaId& exporter,
                      const VersionVector& exporter_vv) {
  RowToken token;
  VersionVector origins = context.record;
  origins.Advance(exporter, 1);
  for (const auto& e : origins.entries()) token.seen.Advance(e.replica, exporter_vv.Get(e.replica));
  for (const FieldView& f : record.fields) {
    switch (f.kind) {
      case FieldKind::kRegister: {
        token.digests.push_back(RegisterDigest(f.name, FieldCellText(f)));
        VersionVector beyond;
        const VersionVector field_context = context.ForField(f.name);
        for (const auto& e : field_context.entries()) {
          if (e.counter > token.seen.Get(e.replica)) beyond.Advance(e.replica, e.counter);
        }
        if (!beyond.empty()) token.register_contexts.emplace_back(FieldDigest(f.name), std::move(beyond));
        break;
      }
      case FieldKind::kSet:
        for (const std::string& e : f.elements) token.digests.push_back(ElementDigest(f.name, e));
        break;
      case FieldKind::kCounter:
        token.counters.emplace_back(FieldDigest(f.name), f.value.type() == Value::Type::kInt ? f.value.as_int() : 0);
        break;
    }
  }
  std::sort(token.digests.begin(), token.digests.end());
  token.digests.erase(std::unique(token.digests.begin(), token.digests.end()), token.digests.end());
  std::sort(token.counters.begin(), token.counters.end());
  std::sort(token.register_contexts.begin(), token.register_contexts.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return token;
}

VersionVector RowToken::ContextFor(std::string_view field) const {
  VersionVector context = seen;
  const uint64_t digest = FieldDigest(field);
  for (const auto& [field_digest, entries] : register_contexts) {
    if (field_digest == digest) context.Join(entries);
  }
  return context;
}

namespace {

void WriteEntries(storage::BinaryWriter& w, const VersionVector& vv) {
  w.Varint(vv.size());
  for (const auto& e : vv.entries()) {
    w.Raw(e.replica.AsStringView());
    w.Varint(e.counter);
  }
}

// False for a damaged list: cut short, a zero counter, a replica twice.
bool ReadEntries(storage::BinaryReader& r, VersionVector& vv) {
  uint64_t n = 0;
  if (!r.Varint(n) || n > r.remaining()) return false;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view raw;
    uint64_t counter = 0;
    if (!r.Raw(kReplicaIdBytes, raw) || !r.Varint(counter) || counter == 0) return false;
    Result<ReplicaId> id = ReplicaId::FromBytes(raw);
    if (!id.ok() || vv.Get(*id) != 0) return false;
    vv.Advance(*id, counter);
  }
  return true;
}

}  // namespace

std::string EncodeRowToken(const RowToken& token) {
  std::string bin;
  storage::BinaryWriter w(bin);
  WriteEntries(w, token.seen);
  w.Varint(token.digests.size());
  for (uint64_t d : token.digests) w.Fixed64(d);
  w.Varint(token.counters.size());
  for (const auto& [digest, total] : token.counters) {
    w.Fixed64(digest);
    w.Signed(total);
  }
  w.Varint(token.register_contexts.size());
  for (const auto& [digest, entries] : token.register_contexts) {
    w.Fixed64(digest);
    WriteEntries(w, entries);
  }
  return std::string(kTokenPrefix) + Base64UrlEncode(bin);
}

Result<RowToken> DecodeRowToken(std::string_view text) {
  const bool v1 = text.starts_with(kTokenPrefixV1);
  if (!v1 && !text.starts_with(kTokenPrefix)) {
    size_t dot = text.find('.');
    if (dot != std::string_view::npos && dot < 8 && text.starts_with('v')) {
      return InvalidArgument("version token of another format (" + QuoteForMessage(text.substr(0, dot)) +
                             "; this daicho reads v1 and v2): export the file again with this version");
    }
    return InvalidArgument("not a daicho version token");
  }
  const Status damaged = InvalidArgument("damaged version token (was the cell edited?)");
  std::optional<std::string> bin = Base64UrlDecode(text.substr(kTokenPrefix.size()));
  if (!bin) return damaged;
  storage::BinaryReader r(*bin);
  RowToken token;
  if (!ReadEntries(r, token.seen)) return damaged;
  uint64_t n = 0;
  if (!r.Varint(n) || n > r.remaining() / 8) return damaged;
  token.digests.resize(n);
  for (uint64_t& d : token.digests) {
    if (!r.Fixed64(d)) return damaged;
  }
  if (!std::is_sorted(token.digests.begin(), token.digests.end())) return damaged;
  if (!r.Varint(n) || n > r.remaining() / 9) return damaged;
  token.counters.resize(n);
  for (auto& [digest, total] : token.counters) {
    if (!r.Fixed64(digest) || !r.Signed(total)) return damaged;
  }
  if (!std::is_sorted(token.counters.begin(), token.counters.end())) return damaged;
  if (!v1) {
    if (!r.Varint(n) || n > r.remaining() / 9) return damaged;
    token.register_contexts.resize(n);
    for (size_t i = 0; i < n; ++i) {
      auto& [digest, entries] = token.register_contexts[i];
      if (!r.Fixed64(digest) || !ReadEntries(r, entries) || entries.empty()) return damaged;
      if (i > 0 && token.register_contexts[i - 1].first >= digest) return damaged;
    }
  }
  if (!r.done()) return damaged;
  return token;
}

Result<ParsedRow> ParseCsvRow(const CsvLayout& layout, size_t line, const std::vector<std::string>& cells) {
  // The store's limits, checked here so that a file it would refuse part way
  // through is refused before anything is written.
  const Limits limits;
  ParsedRow row;
  row.line = line;
  row.id = cells.at(0);
  if (row.id.size() > limits.max_name_bytes) {
    return InvalidArgument("column 1: record id longer than " + std::to_string(limits.max_name_bytes) + " bytes");
  }
  if (storage::CheckNameBytes(row.id, limits.max_name_bytes) == storage::NameProblem::kNul) {
    return InvalidArgument("column 1: record id contains a NUL byte");
  }
  for (size_t i = 1; i < cells.size(); ++i) {
    const std::string& text = cells[i];
    std::string where = "column " + std::to_string(i + 1) + ": ";
    if (text.size() > limits.max_value_bytes && layout.token_column != i) {
      return InvalidArgument(where + "a cell of " + std::to_string(text.size()) + " bytes; at most " +
                             std::to_string(limits.max_value_bytes) + " fit in a field");
    }
    if (layout.token_column == i) {
      if (text.empty()) continue;  // a row added by hand: plain writes
      Result<RowToken> token = DecodeRowToken(text);
      if (!token.ok()) return InvalidArgument(where + token.status().message());
      row.token = std::move(token).value();
      continue;
    }
    CsvCell& cell = row.cells.emplace_back();
    cell.column = &layout.columns[i - 1];
    cell.text = text;
    if (cell.column->kind == FieldKind::kCounter && !text.empty()) {
      Result<int64_t> n = ParseInt64(text);
      if (!n.ok()) {
        return InvalidArgument(where + "counter " + QuoteForMessage(cell.column->field) + ": " + n.status().message());
      }
      cell.number = *n;
    } else if (cell.column->kind == FieldKind::kSet) {
      cell.elements = ParseSetCell(text);
    }
  }
  return row;
}

size_t RowPlan::bytes() const {
  size_t total = 0;
  for (const CellWrite& w : writes) total += w.bytes();
  return total;
}

RowPlan PlanRow(const ParsedRow& row, const Record* current, const RecordContext* context, const ReplicaId& self,
                std::string_view collection) {
  RowPlan plan;
  for (const CsvCell& cell : row.cells) {
    const FieldView* now = FieldOfKind(current, cell.column->field, cell.column->kind);
    switch (cell.column->kind) {
      case FieldKind::kRegister:
        if (!cell.text.empty()) PlanRegister(cell, now, row.token, row.id, collection, plan);
        break;
      case FieldKind::kCounter:
        if (!cell.text.empty()) PlanCounter(cell, now, context, self, row.token, row.id, plan);
        break;
      case FieldKind::kSet:
        // With a token the cell is the whole set (empty: no elements);
        // without one an empty cell says nothing, as for other kinds.
        if (!cell.text.empty() || row.token) PlanSet(cell, now, row.token, plan);
        break;
    }
  }
  // Deleted elsewhere since the export: writing would bring the record back
  // behind the deleter's back.
  if (row.token && current != nullptr && current->deleted && !plan.writes.empty()) {
    plan.notes.push_back(row.id + " was deleted since the export: its " + std::to_string(plan.cells_written) +
                         " edited cell(s) were not imported (bring it back with: daicho undelete " +
                         std::string(collection) + " " + row.id + ", then import again)");
    plan.writes.clear();
    plan.cells_written = 0;
    plan.conflicts = 0;
  }
  plan.only_id = plan.writes.empty() && plan.notes.empty() &&
                 std::all_of(row.cells.begin(), row.cells.end(), [](const CsvCell& c) { return c.text.empty(); });
  return plan;
}

Status ApplyCellWrite(WriteTransaction& txn, std::string_view collection, const ParsedRow& row, const CellWrite& w) {
  switch (w.type) {
    case CellWrite::Type::kSet:
      return txn.Set(collection, row.id, w.field, Value(w.text));
    case CellWrite::Type::kSetWithContext:
      return txn.SetWithContext(collection, row.id, w.field, Value(w.text), row.token->ContextFor(w.field));
    case CellWrite::Type::kAdd:
      return txn.Add(collection, row.id, w.field, w.delta);
    case CellWrite::Type::kSetAdd:
      return txn.SetAdd(collection, row.id, w.field, w.text);
    case CellWrite::Type::kSetRemove:
      return txn.SetRemove(collection, row.id, w.field, w.text);
  }
  return Internal("unknown cell write");
}

}  // namespace daicho::cli
