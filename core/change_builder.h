// ChangeBuilder: turns a local transaction's buffered edits into a Change.
//
// It coalesces several writes to one field (registers: the last; counters:
// the sum; sets: the last op per element; writes of several kinds: those of
// the kind written last), derives each op's context from the writer's
// current record state (register: the field VV; set remove: the element's
// live dots; delete: the replica's own VV; every field op: its kind context,
// docs/merge-rules.md "Kinds of one name"), clears a kind that the writer goes back to
// after another kind superseded it (a counter restarts from 0, a set from
// empty), and adds an undelete to every record that is hidden at the writer
// and edited without an explicit delete/undelete. Pure: the caller supplies
// the states.
#ifndef DAICHO_CORE_CHANGE_BUILDER_H_
#define DAICHO_CORE_CHANGE_BUILDER_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/change.h"
#include "core/record_state.h"
#include "daicho/record.h"

namespace daicho::core {

class ChangeBuilder {
 public:
  ChangeBuilder() = default;
  // Not copyable: last_ points into this builder's own map.
  ChangeBuilder(const ChangeBuilder&) = delete;
  ChangeBuilder& operator=(const ChangeBuilder&) = delete;
  ChangeBuilder(ChangeBuilder&&) = default;
  ChangeBuilder& operator=(ChangeBuilder&&) = default;

  void Set(const std::string& collection, const std::string& id, const std::string& field, Value value);
  // A register write whose context is `context` instead of the writer's field
  // VV: it supersedes only the values `context` covers, so a value written
  // from an older read (a stale file) stays beside newer ones as a conflict.
  void SetWithContext(const std::string& collection, const std::string& id, const std::string& field, Value value,
                      VersionVector context);
  void Add(const std::string& collection, const std::string& id, const std::string& field, int64_t delta);
  void SetAdd(const std::string& collection, const std::string& id, const std::string& field,
              const std::string& element);
  void SetRemove(const std::string& collection, const std::string& id, const std::string& field,
                 const std::string& element);
  void Delete(const std::string& collection, const std::string& id);
  void Undelete(const std::string& collection, const std::string& id);

  bool empty() const { return records_.empty(); }
  size_t size() const { return op_count_; }
  void Clear();

  // Looks up the writer's current state of a record; nullptr if it has none.
  using StateLookup = std::function<const RecordState*(const std::string& collection, const std::string& id)>;

  // The change for `dot` stamped `hlc`. `own_vv` is the writer's VV including
  // `dot`. Ops come out in the canonical order of change.h.
  Change Build(const Dot& dot, HlcTime hlc, const VersionVector& own_vv, const StateLookup& lookup) const;

  // Records touched, in (collection, id) order.
  std::vector<std::pair<std::string, std::string>> Keys() const;

 private:
  enum class RecordAction { kNone, kDelete, kUndelete };
  // The writes to one field, all of one kind (the last one written).
  struct PendingField {
    FieldKind kind = FieldKind::kRegister;
    std::optional<Value> value;            // register set
    std::optional<VersionVector> context;  // SetWithContext; else the field VV
    std::optional<int64_t> delta;          // counter add (summed)
    std::map<std::string, bool> elements;  // set: element -> added (true) / removed
    // Drops the writes of another kind: one dot cannot order two kinds.
    void SwitchTo(FieldKind new_kind);
  };
  struct PendingRecord {
    // Sorted by name. A vector: a record has a dozen fields, written mostly
    // in order, and a map node per field was a visible share of commit time.
    std::vector<std::pair<std::string, PendingField>> fields;
    RecordAction action = RecordAction::kNone;
  };
  using RecordMap = std::map<std::pair<std::string, std::string>, PendingRecord>;
  PendingRecord& RecordFor(const std::string& collection, const std::string& id);
  static PendingField& FieldFor(PendingRecord& record, const std::string& field);

  RecordMap records_;
  // The record of the previous call: consecutive edits of one record (the
  // common case) skip the map lookup. Map nodes stay put (also when the map
  // is moved), so it stays valid until Clear().
  RecordMap::value_type* last_ = nullptr;
  size_t op_count_ = 0;
};

}  // namespace daicho::core

#endif  // DAICHO_CORE_CHANGE_BUILDER_H_
