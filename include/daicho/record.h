// Record, FieldView, Sibling: what a read of the ledger returns.
//
// A record is (collection, id) -> fields. Each field has a kind:
//  - register: holds one Value; concurrent writes that did not see each other
//    are all kept as siblings (a conflict) and one is displayed;
//  - counter:  an integer that merges additions from every replica;
//  - set:      a set of strings where a concurrent add wins over a remove.
// Plain value types, copied out of the store: holding one keeps nothing open.
#ifndef DAICHO_RECORD_H_
#define DAICHO_RECORD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "daicho/hlc_time.h"
#include "daicho/value.h"
#include "daicho/version_vector.h"

namespace daicho {

enum class FieldKind { kRegister = 0, kCounter = 1, kSet = 2 };

// One concurrent value of a register field.
struct Sibling {
  Value value;
  Dot dot;      // the change that wrote it
  HlcTime hlc;  // when it was written (writer's clock)
};

// What one kind of a field holds: a register's displayed value, a counter's
// total, or a set's present elements.
struct KindValue {
  FieldKind kind = FieldKind::kRegister;
  Value value;                        // kRegister, kCounter (int64)
  std::vector<std::string> elements;  // kSet, sorted bytewise
};

struct FieldView {
  std::string name;
  // The kind shown. A name used with another kind later (a counter, then a
  // text) shows the kind written last: the writer had seen the other kind.
  // A name used with several kinds concurrently (by writers that had not
  // seen each other's kind) shows the kind whose newest operation is
  // newest, and is a kind conflict (see other_kinds).
  FieldKind kind = FieldKind::kRegister;
  // kRegister: the displayed value (the sibling with highest (hlc, origin)).
  // kCounter: the total as an int64. kSet: null (see elements).
  Value value;
  // kSet: the present elements, sorted bytewise.
  std::vector<std::string> elements;
  // kRegister: every sibling, the displayed one first, the rest by
  // descending (hlc, origin). One entry when there is no conflict.
  std::vector<Sibling> siblings;
  // kRegister: siblings hold at least two different values.
  bool conflict = false;
  // The name was used with other kinds concurrently: other_kinds shows what
  // they hold. Writing the field with any kind resolves it.
  bool kind_conflict = false;
  // With kind_conflict: the other kinds in conflict, newest first.
  std::vector<KindValue> other_kinds;
  // Newest change that touched this field.
  HlcTime modified;
};

struct RecordKey {
  std::string collection;
  std::string id;
  friend auto operator<=>(const RecordKey&, const RecordKey&) = default;
  friend bool operator==(const RecordKey&, const RecordKey&) = default;
};

struct Record {
  std::string collection;
  std::string id;
  // Hidden by a delete that saw every edit. Its fields are still returned:
  // an undelete brings them all back.
  bool deleted = false;
  // Deleted on one replica while edited concurrently on another: the record
  // stays visible. Resolve by deleting again or undeleting.
  bool delete_conflict = false;
  HlcTime modified;               // newest change that touched the record
  std::vector<FieldView> fields;  // sorted by name

  // Any field conflict, kind conflict or delete conflict.
  bool has_conflict() const;
  // The field named `name`, or nullptr.
  const FieldView* Find(std::string_view name) const;
};

}  // namespace daicho

#endif  // DAICHO_RECORD_H_
