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
  Dot dot;        // the change that wrote it
  HlcTime hlc;    // when it was written (writer's clock)
};

struct FieldView {
  std::string name;
  // The kind shown. If the name was used with several kinds concurrently,
  // the one whose newest operation is newest; see kind_conflict.
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
  // The name is used with more than one kind (both states are kept).
  bool kind_conflict = false;
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
  HlcTime modified;                // newest change that touched the record
  std::vector<FieldView> fields;   // sorted by name

  // Any field conflict, kind conflict or delete conflict.
  bool has_conflict() const;
  // The field named `name`, or nullptr.
  const FieldView* Find(std::string_view name) const;
};

}  // namespace daicho

#endif  // DAICHO_RECORD_H_
