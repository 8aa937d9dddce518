// Property tests of the merge rules, on 3-5 in-memory replicas that edit
// concurrently and exchange changes partially, in random order, with
// duplicates:
//  - after delivering everything everywhere, all replicas hold equal states
//    and show equal views;
//  - the order changes are delivered in does not matter;
//  - re-applying held changes changes nothing, and ApplyRecordOps reports a
//    change exactly when there is one;
//  - every view, converged or not, is what docs/merge-rules.md says,
//    checked against a reference model that evaluates the rules from the set
//    of changes held and each change's causal past instead of from the
//    compacted contexts core/ keeps.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/change_builder.h"
#include "core/merge.h"
#include "core/record_view.h"
#include "memory_replica.h"
#include "tests/testing/test_util.h"

namespace daicho::core {
namespace {

using testing::DumpChange;
using testing::DumpState;
using testing::DumpView;
using testing::IdOf;
using testing::kDayMs;
using testing::kTestEpochMs;
using testing::MemoryReplica;
using testing::ReceiveResult;

// ------------------------------------------------------------ the workload

// A few records, fields and elements, so that edits collide often.
const std::pair<std::string, std::string> kRecordKeys[] = {{"customers", "c1"}, {"customers", "c2"}, {"permits", "p1"}};
constexpr int kNumRecords = 3;
// Per kind two names of its own and one shared by every kind ("mixed"),
// which produces kind conflicts.
const char* const kRegisterFields[] = {"name", "phone", "mixed"};
const char* const kCounterFields[] = {"filings", "visits", "mixed"};
const char* const kSetFields[] = {"trades", "areas", "mixed"};
constexpr int kNumFields = 3;
const char* const kElements[] = {"大工", "電気", "管"};
constexpr int kNumElements = 3;
constexpr int kNumValues = 6;

Value ValueFor(int v) {
  switch (v) {
    case 0:
      return Value();
    case 1:
      return Value(true);
    case 2:
      return Value(7);
    case 3:
      return Value("山田建設");
    case 4:
      return Value("株式会社山田建設");
    default:
      return Value(Bytes{"\x01\xfe"});
  }
}

int64_t DeltaFor(int v) {
  switch (v) {
    case 0:
      return 1;
    case 1:
      return -1;
    case 2:
      return 5;
    case 3:
      return -3;
    case 4:
      return std::numeric_limits<int64_t>::max();
    default:
      return std::numeric_limits<int64_t>::min();
  }
}

enum class EditKind { kSet, kAdd, kSetAdd, kSetRemove, kDelete, kUndelete, kResolve };

// One call on a ChangeBuilder.
struct Edit {
  EditKind kind = EditKind::kSet;
  int record = 0;
  int field = 0;
  int element = 0;
  int value = 0;
};

enum class StepKind {
  kCommit,   // `replica` commits one transaction of `edits`
  kDeliver,  // `picks` of `replica`'s log go to `target`, in that order (repeats = duplicates)
  kSync,     // `target` receives `replica`'s whole log
  kTick,     // `replica`'s wall clock moves (see RunTick)
};

struct Step {
  StepKind kind = StepKind::kCommit;
  int replica = 0;
  int target = 0;
  std::vector<Edit> edits;
  std::vector<int> picks;
  int tick = 0;
};

std::ostream& operator<<(std::ostream& os, const Edit& e) {
  static const char* const kNames[] = {"set", "add", "set-add", "set-remove", "delete", "undelete", "resolve"};
  os << kNames[static_cast<int>(e.kind)] << "(r" << e.record;
  switch (e.kind) {
    case EditKind::kSet:
      os << " " << kRegisterFields[e.field] << "=" << testing::DumpValue(ValueFor(e.value));
      break;
    case EditKind::kResolve:
      os << " " << kRegisterFields[e.field];
      break;
    case EditKind::kAdd:
      os << " " << kCounterFields[e.field] << " " << DeltaFor(e.value);
      break;
    case EditKind::kSetAdd:
    case EditKind::kSetRemove:
      os << " " << kSetFields[e.field] << " " << kElements[e.element];
      break;
    case EditKind::kDelete:
    case EditKind::kUndelete:
      break;
  }
  return os << ")";
}

std::ostream& operator<<(std::ostream& os, const Step& s) {
  switch (s.kind) {
    case StepKind::kCommit:
      os << "commit@" << s.replica << "[";
      for (const Edit& e : s.edits) os << " " << e;
      return os << " ]";
    case StepKind::kDeliver:
      os << "deliver " << s.replica << "->" << s.target << " picks[";
      for (int p : s.picks) os << " " << p;
      return os << " ]";
    case StepKind::kSync:
      return os << "sync " << s.replica << "->" << s.target;
    case StepKind::kTick:
      return os << "tick@" << s.replica << " " << s.tick;
  }
  return os;
}

rc::Gen<Edit> GenEdit() {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::weightedElement<int>({{5, 0}, {3, 1}, {3, 2}, {3, 3}, {3, 4}, {1, 5}, {2, 6}}),
                     rc::gen::inRange(0, kNumRecords), rc::gen::inRange(0, kNumFields),
                     rc::gen::inRange(0, kNumElements), rc::gen::inRange(0, kNumValues)),
      [](const std::tuple<int, int, int, int, int>& t) {
        Edit e;
        e.kind = static_cast<EditKind>(std::get<0>(t));
        e.record = std::get<1>(t);
        e.field = std::get<2>(t);
        e.element = std::get<3>(t);
        e.value = std::get<4>(t);
        return e;
      });
}

rc::Gen<Step> GenStep(int num_replicas) {
  const auto replica = rc::gen::inRange(0, num_replicas);
  // The target differs from the source: an offset in [1, n).
  const auto offset = rc::gen::inRange(1, num_replicas);
  auto commit = rc::gen::map(
      rc::gen::tuple(replica,
                     rc::gen::mapcat(rc::gen::inRange(1, 4),
                                     [](int k) { return rc::gen::container<std::vector<Edit>>(k, GenEdit()); })),
      [](const std::tuple<int, std::vector<Edit>>& t) {
        Step s;
        s.kind = StepKind::kCommit;
        s.replica = std::get<0>(t);
        s.edits = std::get<1>(t);
        return s;
      });
  auto deliver = rc::gen::map(
      rc::gen::tuple(
          replica, offset,
          rc::gen::mapcat(rc::gen::inRange(1, 7),
                          [](int k) { return rc::gen::container<std::vector<int>>(k, rc::gen::inRange(0, 64)); })),
      [num_replicas](const std::tuple<int, int, std::vector<int>>& t) {
        Step s;
        s.kind = StepKind::kDeliver;
        s.replica = std::get<0>(t);
        s.target = (std::get<0>(t) + std::get<1>(t)) % num_replicas;
        s.picks = std::get<2>(t);
        return s;
      });
  auto sync = rc::gen::map(rc::gen::tuple(replica, offset), [num_replicas](const std::tuple<int, int>& t) {
    Step s;
    s.kind = StepKind::kSync;
    s.replica = std::get<0>(t);
    s.target = (std::get<0>(t) + std::get<1>(t)) % num_replicas;
    return s;
  });
  auto tick = rc::gen::map(rc::gen::tuple(replica, rc::gen::inRange(0, 20)), [](const std::tuple<int, int>& t) {
    Step s;
    s.kind = StepKind::kTick;
    s.replica = std::get<0>(t);
    s.tick = std::get<1>(t);
    return s;
  });
  return rc::gen::weightedOneOf<Step>({{6, commit}, {4, deliver}, {1, sync}, {2, tick}});
}

// ------------------------------------------------------------- the world

// Replicas plus global knowledge of every change ever committed.
struct World {
  std::vector<std::unique_ptr<MemoryReplica>> replicas;
  // Every committed change by dot (so per origin in seq order).
  std::map<Dot, Change> changes;
  // Each change's causal past: the writer's VV right after committing it
  // (every change it held, and itself).
  std::map<Dot, VersionVector> pasts;

  explicit World(int n) {
    for (int i = 0; i < n; ++i) {
      replicas.push_back(std::make_unique<MemoryReplica>(IdOf(static_cast<uint8_t>(i + 1)),
                                                         kTestEpochMs + 13 * static_cast<uint64_t>(i), kDayMs));
    }
  }

  VersionVector AllChanges() const {
    VersionVector vv;
    for (const auto& [dot, change] : changes) vv.Advance(dot);
    return vv;
  }
};

void RunCommit(World& world, const Step& step) {
  MemoryReplica& r = *world.replicas[step.replica];
  ChangeBuilder builder;
  for (const Edit& e : step.edits) {
    const auto& [collection, id] = kRecordKeys[e.record];
    switch (e.kind) {
      case EditKind::kSet:
        builder.Set(collection, id, kRegisterFields[e.field], ValueFor(e.value));
        break;
      case EditKind::kAdd:
        builder.Add(collection, id, kCounterFields[e.field], DeltaFor(e.value));
        break;
      case EditKind::kSetAdd:
        builder.SetAdd(collection, id, kSetFields[e.field], kElements[e.element]);
        break;
      case EditKind::kSetRemove:
        builder.SetRemove(collection, id, kSetFields[e.field], kElements[e.element]);
        break;
      case EditKind::kDelete:
        builder.Delete(collection, id);
        break;
      case EditKind::kUndelete:
        builder.Undelete(collection, id);
        break;
      case EditKind::kResolve: {
        // Write the displayed value back: what a user does to accept it.
        const Record view = r.View(collection, id);
        const FieldView* f = view.Find(kRegisterFields[e.field]);
        Value v = f && f->kind == FieldKind::kRegister && !f->siblings.empty() ? f->value : Value("resolved");
        builder.Set(collection, id, kRegisterFields[e.field], v);
        break;
      }
    }
  }
  std::optional<Change> change = r.Commit(builder);
  RC_ASSERT(change.has_value());
  RC_ASSERT(change->origin == r.id());
  RC_ASSERT(change->seq == r.vv().Get(r.id()));
  world.pasts[change->dot()] = r.vv();
  world.changes[change->dot()] = std::move(*change);
}

void RunTick(MemoryReplica& r, int tick) {
  if (tick == 0) {
    r.clock().Advance(40 * kDayMs);  // someone sets the date wrong: far beyond max skew
  } else if (tick == 1) {
    r.clock().StepBack(2 * 3600 * 1000);  // clock corrected backwards
  } else {
    r.clock().Advance(static_cast<uint64_t>(tick) * 7);
  }
}

void RunStep(World& world, const Step& step) {
  switch (step.kind) {
    case StepKind::kCommit:
      RunCommit(world, step);
      break;
    case StepKind::kDeliver: {
      const MemoryReplica& from = *world.replicas[step.replica];
      MemoryReplica& to = *world.replicas[step.target];
      if (from.log().empty()) break;
      for (int p : step.picks) to.Receive(from.log()[static_cast<size_t>(p) % from.log().size()]);
      break;
    }
    case StepKind::kSync:
      world.replicas[step.target]->SyncFrom(*world.replicas[step.replica]);
      break;
    case StepKind::kTick:
      RunTick(*world.replicas[step.replica], step.tick);
      break;
  }
}

// Delivers everything everywhere until nothing new is applied.
void Quiesce(World& world) {
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto& from : world.replicas) {
      for (auto& to : world.replicas) {
        if (from != to && to->SyncFrom(*from) > 0) progress = true;
      }
    }
  }
}

// ----------------------------------------------------- the reference model

// The merge rules of docs/merge-rules.md evaluated from the set of changes a replica
// holds, with global knowledge, instead of from the contexts, tombstones and
// compacted vectors core/ keeps, and independent of delivery order.
// "Change y held x" is pasts[y].Covers(x) (the writer's VV at commit).
//
// Two readings of "seen", both checked:
//  - kCausal, the plain meaning, valid where everything is held (converged):
//    a register write supersedes the writes its writer held; a set remove
//    removes the adds its writer held.
//  - kAsSpecified, the rules word for word, valid for any held set (a replica
//    holds per origin a prefix, not a causally closed set): a register write
//    supersedes what its context covers, and its context (the writer's field
//    VV) carries the contexts of the writes the writer applied, so it reaches
//    writes the writer never held (B holds C's write, which saw A's; B's write
//    supersedes A's even where C's change has not arrived). A set remove
//    removes the adds R = VV(observed) + its dot covers: not an add its writer
//    held but had already seen removed (by a remove that may not be here yet).
// Deletes cover what their writer held in both readings (the context is the
// writer's own VV).
FieldKind KindOfOp(OpType type) {
  switch (type) {
    case OpType::kCounterAdd:
      return FieldKind::kCounter;
    case OpType::kSetAdd:
    case OpType::kSetRemove:
      return FieldKind::kSet;
    default:
      return FieldKind::kRegister;
  }
}

class Reference {
 public:
  enum class Reading { kCausal, kAsSpecified };

  Reference(const std::map<Dot, Change>& changes, const std::map<Dot, VersionVector>& pasts, Reading reading)
      : changes_(changes), pasts_(pasts), reading_(reading) {
    for (const auto& [dot, change] : changes_) {
      for (const RecordOps& r : change.records) {
        for (const Op& op : r.ops) {
          if (op.type == OpType::kSetRegister) writes_[{r.collection, r.id, op.field}].push_back(dot);
        }
      }
    }
  }

  // The view of a record at a replica holding the changes `held` covers.
  Record View(const std::string& collection, const std::string& id, const VersionVector& held) const {
    struct Delivered {
      const Op* op;
      Dot dot;
      HlcTime hlc;
    };
    std::map<std::string, std::vector<Delivered>> by_field;
    std::vector<Delivered> deletes, undeletes;
    Record record;
    record.collection = collection;
    record.id = id;
    for (const auto& [dot, change] : changes_) {
      if (!held.Covers(dot)) continue;
      for (const RecordOps& r : change.records) {
        if (r.collection != collection || r.id != id) continue;
        for (const Op& op : r.ops) {
          record.modified = std::max(record.modified, change.hlc);
          const Delivered d{&op, dot, change.hlc};
          if (op.type == OpType::kDelete) {
            deletes.push_back(d);
          } else if (op.type == OpType::kUndelete) {
            undeletes.push_back(d);
          } else {
            by_field[op.field].push_back(d);
          }
        }
      }
    }

    std::vector<Dot> live;  // every live dot of the record
    for (const auto& [name, ops] : by_field) {
      FieldView view;
      view.name = name;
      std::vector<Delivered> writes, adds, set_ops;
      std::map<ReplicaId, Dot> last_add;
      for (const Delivered& d : ops) {
        view.modified = std::max(view.modified, d.hlc);
        switch (d.op->type) {
          case OpType::kSetRegister:
            writes.push_back(d);
            break;
          case OpType::kCounterAdd: {
            adds.push_back(d);
            Dot& last = last_add[d.dot.origin];
            last = std::max(last, d.dot);
            break;
          }
          default:
            set_ops.push_back(d);
            break;
        }
      }
      // Kinds of one name (docs/merge-rules.md), word for word from the held ops: per
      // kind its field VV (every dot its ops name: their own, register
      // contexts, observed set dots), KC (the join of its ops' kind
      // contexts) and top (its newest op).
      struct KindFacts {
        bool held = false;
        VersionVector field_vv;
        VersionVector kc;
        OpStamp top;
      };
      std::map<FieldKind, KindFacts> kinds;
      for (const Delivered& d : ops) {
        KindFacts& k = kinds[KindOfOp(d.op->type)];
        k.held = true;
        k.kc.Join(d.op->kind_context);
        k.top = std::max(k.top, OpStamp{d.hlc, d.dot.origin});
        k.field_vv.Advance(d.dot);
        if (d.op->type == OpType::kSetRegister) k.field_vv.Join(d.op->context);
        for (const Dot& o : d.op->observed) k.field_vv.Advance(o);
      }
      auto has_state = [&](FieldKind k) { return kinds.count(k) > 0 && !kinds.at(k).field_vv.empty(); };
      auto superseded = [&](FieldKind k) {
        if (kinds.count(k) == 0) return false;
        for (const auto& [other, facts] : kinds) {
          if (other != k && has_state(other) && facts.kc.Dominates(kinds.at(k).field_vv)) return true;
        }
        return false;
      };
      std::vector<FieldKind> shown;  // not superseded, newest top first
      for (const auto& [k, facts] : kinds) {
        if (has_state(k) && !superseded(k)) shown.push_back(k);
      }
      std::sort(shown.begin(), shown.end(),
                [&](FieldKind a, FieldKind b) { return kinds.at(a).top > kinds.at(b).top; });
      if (!shown.empty()) view.kind = shown.front();
      view.kind_conflict = shown.size() > 1;

      // Dots of a superseded kind are not live dots for delete/undelete.
      const bool register_superseded = superseded(FieldKind::kRegister);
      // Register: the writes no other held write has seen.
      std::vector<Sibling> siblings;
      for (const Delivered& w : writes) {
        bool superseded = false;
        for (const Delivered& other : writes) {
          if (other.dot == w.dot) continue;
          if (reading_ == Reading::kCausal ? Seen(w.dot, other.dot)
                                           : FieldWritesSeenBy({collection, id, name}, other.dot).count(w.dot) > 0) {
            superseded = true;
          }
        }
        if (!superseded) {
          siblings.push_back(Sibling{w.op->value, w.dot, w.hlc});
          if (!register_superseded) live.push_back(w.dot);
        }
      }
      std::sort(siblings.begin(), siblings.end(), [](const Sibling& a, const Sibling& b) {
        return OpStamp{a.hlc, a.dot.origin} > OpStamp{b.hlc, b.dot.origin};
      });
      // Counter: each origin's last add is live.
      uint64_t total = 0;
      for (const Delivered& a : adds) total += static_cast<uint64_t>(a.op->delta);
      if (!superseded(FieldKind::kCounter)) {
        for (const auto& [origin, dot] : last_add) live.push_back(dot);
      }
      // Set: an add survives unless a remove of the element saw it.
      std::set<std::string> present;
      for (const Delivered& a : set_ops) {
        if (a.op->type != OpType::kSetAdd) continue;
        bool removed = false;
        for (const Delivered& r : set_ops) {
          if (r.op->type != OpType::kSetRemove || r.op->element != a.op->element) continue;
          if (reading_ == Reading::kCausal ? Seen(a.dot, r.dot) : RemoveCovers(*r.op, r.dot, a.dot)) removed = true;
        }
        if (!removed) {
          present.insert(a.op->element);
          if (!superseded(FieldKind::kSet)) live.push_back(a.dot);
        }
      }

      switch (view.kind) {
        case FieldKind::kRegister:
          view.siblings = siblings;
          if (!siblings.empty()) view.value = siblings.front().value;
          for (const Sibling& s : siblings) {
            if (!(s.value == siblings.front().value)) view.conflict = true;
          }
          break;
        case FieldKind::kCounter:
          view.value = static_cast<int64_t>(total);
          break;
        case FieldKind::kSet:
          view.elements.assign(present.begin(), present.end());
          break;
      }
      for (size_t i = 1; i < shown.size(); ++i) {
        KindValue& other = view.other_kinds.emplace_back();
        other.kind = shown[i];
        switch (shown[i]) {
          case FieldKind::kRegister:
            if (!siblings.empty()) other.value = siblings.front().value;
            break;
          case FieldKind::kCounter:
            other.value = static_cast<int64_t>(total);
            break;
          case FieldKind::kSet:
            other.elements.assign(present.begin(), present.end());
            break;
        }
      }
      record.fields.push_back(std::move(view));
    }

    // Delete / undelete: "D covers x" iff some delete saw x.
    auto covered = [&](const Dot& x) {
      return std::any_of(deletes.begin(), deletes.end(), [&](const Delivered& del) { return Seen(x, del.dot); });
    };
    bool undeletes_covered = true;
    for (const Delivered& u : undeletes) {
      live.push_back(u.dot);
      if (!covered(u.dot)) undeletes_covered = false;
    }
    const bool all_covered = std::all_of(live.begin(), live.end(), covered);
    record.deleted = !deletes.empty() && all_covered;
    record.delete_conflict = !deletes.empty() && !record.deleted && undeletes_covered;
    return record;
  }

 private:
  using FieldKey = std::tuple<std::string, std::string, std::string>;  // collection, id, field

  // Whether change `by` held `x` (a change holds itself).
  bool Seen(const Dot& x, const Dot& by) const { return pasts_.at(by).Covers(x); }

  // R = VV(observed) + the remove's own dot covers `add`.
  static bool RemoveCovers(const Op& remove, const Dot& remove_dot, const Dot& add) {
    if (remove_dot.origin == add.origin && remove_dot.counter >= add.counter) return true;
    return std::any_of(remove.observed.begin(), remove.observed.end(),
                       [&](const Dot& o) { return o.origin == add.origin && o.counter >= add.counter; });
  }

  // The register writes of `field` that write `w` saw: those its writer
  // held, and, transitively, those each of them saw.
  const std::set<Dot>& FieldWritesSeenBy(const FieldKey& field, const Dot& w) const {
    auto memo = seen_.find({field, w});
    if (memo != seen_.end()) return memo->second;
    std::set<Dot> seen;
    for (const Dot& v : writes_.at(field)) {
      if (v == w || !Seen(v, w)) continue;
      seen.insert(v);
      const std::set<Dot>& more = FieldWritesSeenBy(field, v);
      seen.insert(more.begin(), more.end());
    }
    return seen_[{field, w}] = std::move(seen);
  }

  const std::map<Dot, Change>& changes_;
  const std::map<Dot, VersionVector>& pasts_;
  const Reading reading_;
  std::map<FieldKey, std::vector<Dot>> writes_;  // every register write, by field
  mutable std::map<std::pair<FieldKey, Dot>, std::set<Dot>> seen_;
};

std::string DumpAllChanges(const World& world) {
  std::string out;
  for (const auto& [dot, change] : world.changes) {
    out += DumpChange(change);
    out += "  past=" + testing::DumpVv(world.pasts.at(dot)) + "\n";
  }
  return out;
}

// Every replica holds every change, and all states and views agree.
void CheckConverged(const World& world) {
  const VersionVector all = world.AllChanges();
  const MemoryReplica& first = *world.replicas[0];
  for (size_t i = 0; i < world.replicas.size(); ++i) {
    const MemoryReplica& r = *world.replicas[i];
    RC_ASSERT(r.buffered() == 0u);
    RC_ASSERT(r.vv() == all);
    RC_ASSERT(r.log().size() == world.changes.size());
    if (r.records() != first.records()) {
      std::string msg = "replica " + std::to_string(i) + " differs from replica 0\n";
      for (const auto& [key, state] : r.records()) {
        const RecordState* other = first.Find(key.first, key.second);
        if (other && *other == state) continue;
        msg += key.first + "/" + key.second + " at replica " + std::to_string(i) + ":\n" + DumpState(state);
        msg += "at replica 0:\n" + (other ? DumpState(*other) : std::string("(absent)\n"));
      }
      RC_FAIL(msg + "changes:\n" + DumpAllChanges(world));
    }
    RC_ASSERT(r.DumpViews() == first.DumpViews());
  }
}

// The converged views are what the rules say, in both readings.
void CheckAgainstReference(const World& world) {
  const MemoryReplica& r = *world.replicas[0];
  for (Reference::Reading reading : {Reference::Reading::kCausal, Reference::Reading::kAsSpecified}) {
    const Reference reference(world.changes, world.pasts, reading);
    for (const auto& [key, state] : r.records()) {
      const std::string got = DumpView(MakeRecordView(key.first, key.second, state));
      const std::string want = DumpView(reference.View(key.first, key.second, r.vv()));
      if (got != want) {
        RC_FAIL(std::string("view differs from the reference model (") +
                (reading == Reference::Reading::kCausal ? "causal" : "as specified") + ")\ngot:\n" + got + "want:\n" +
                want + "state:\n" + DumpState(state) + "changes:\n" + DumpAllChanges(world));
      }
    }
  }
}

// Which records and names a workload's edits go to.
enum class Focus {
  kSpread,  // every record, field and element
  // One record and one field name per kind, two elements, so that ops
  // collide as often as possible; ~200 steps, not shrunk (shrinking many
  // such runs can take minutes).
  kNarrow,
  // As kNarrow, but every kind uses the one shared name: a name reused with
  // another kind, sequentially and concurrently, all the time.
  kOneName,
};

World RunRandomWorkload(Focus focus = Focus::kSpread) {
  const int n = *rc::gen::inRange(3, 6);
  // Up to ~500 steps: enough for conflicts of every kind to arise and resolve.
  auto steps = focus != Focus::kSpread
                   ? *rc::gen::noShrink(rc::gen::scale(2.0, rc::gen::container<std::vector<Step>>(GenStep(n))))
                   : *rc::gen::scale(5.0, rc::gen::container<std::vector<Step>>(GenStep(n)));
  if (focus != Focus::kSpread) {
    for (Step& step : steps) {
      for (Edit& e : step.edits) {
        e.record = 0;
        e.field = focus == Focus::kOneName ? kNumFields - 1 : 0;
        e.element %= 2;
      }
    }
  }
  World world(n);
  for (const Step& step : steps) RunStep(world, step);
  return world;
}

// Kinds by causality alone, where everything is held: the kinds of a name's
// causally newest ops (those no other op of the name has seen) all show,
// and a name whose newest ops are all of one kind shows that kind alone when
// they held every op of the other kinds. Delivery across origins is not
// causal, so "seen" is not transitive: a writer may hold an op that saw an
// add without holding the add, and that add then comes back as a conflict.
// Returns whether some field showed a kind other than its newest op's by
// (hlc, origin) order: a sequential reuse written with an older clock.
bool CheckKindsCausally(const World& world) {
  using FieldKey = std::tuple<std::string, std::string, std::string>;
  std::map<FieldKey, std::map<Dot, FieldKind>> ops;  // one kind per (field, change)
  for (const auto& [dot, change] : world.changes) {
    for (const RecordOps& r : change.records) {
      for (const Op& op : r.ops) {
        if (op.type != OpType::kDelete && op.type != OpType::kUndelete) {
          ops[{r.collection, r.id, op.field}][dot] = KindOfOp(op.type);
        }
      }
    }
  }
  const MemoryReplica& replica = *world.replicas[0];
  bool clock_disagreed = false;
  for (const auto& [key, by_dot] : ops) {
    const auto& [collection, id, field] = key;
    std::set<FieldKind> newest_kinds;
    for (const auto& [x, kind] : by_dot) {
      const bool seen = std::any_of(by_dot.begin(), by_dot.end(), [&](const auto& other) {
        return other.first != x && world.pasts.at(other.first).Covers(x);
      });
      if (!seen) newest_kinds.insert(kind);
    }
    const Record view = replica.View(collection, id);
    const FieldView* f = view.Find(field);
    RC_ASSERT(f != nullptr);
    std::set<FieldKind> shown = {f->kind};
    for (const KindValue& k : f->other_kinds) shown.insert(k.kind);
    for (FieldKind k : newest_kinds) {
      if (shown.count(k) == 0) {
        RC_FAIL(collection + "/" + id + " " + field + ": the kind of a causally newest op does not show\n" +
                DumpView(view) + "changes:\n" + DumpAllChanges(world));
      }
    }
    // An op of another kind is held under the newest kind's context when some
    // op of that kind was written by a replica that held it.
    auto held_by_kind = [&](const Dot& x, FieldKind kind) {
      return std::any_of(by_dot.begin(), by_dot.end(), [&](const auto& other) {
        return other.second == kind && world.pasts.at(other.first).Covers(x);
      });
    };
    if (newest_kinds.size() == 1) {
      const FieldKind newest = *newest_kinds.begin();
      const bool others_held = std::all_of(by_dot.begin(), by_dot.end(), [&](const auto& op) {
        return op.second == newest || held_by_kind(op.first, newest);
      });
      if (others_held) {
        RC_ASSERT(!f->kind_conflict);
        RC_ASSERT(f->kind == newest);
      }
    }
    // Which kind the newest stamp alone would have shown.
    const RecordState* state = replica.Find(collection, id);
    const FieldState* fs = state->FindField(field);
    OpStamp top;
    FieldKind by_clock = f->kind;
    if (fs->reg && fs->reg->newest > top) top = fs->reg->newest, by_clock = FieldKind::kRegister;
    if (fs->counter && fs->counter->newest > top) top = fs->counter->newest, by_clock = FieldKind::kCounter;
    if (fs->set && fs->set->newest > top) top = fs->set->newest, by_clock = FieldKind::kSet;
    if (by_clock != f->kind) clock_disagreed = true;
  }
  return clock_disagreed;
}

// --------------------------------------------------------------- properties

RC_GTEST_PROP(ConvergencePropertyTest, ReplicasConvergeAfterRandomPartialDuplicatedDelivery, ()) {
  World world = RunRandomWorkload();
  Quiesce(world);
  CheckConverged(world);
  CheckAgainstReference(world);
  CheckKindsCausally(world);

  // What the runs covered (printed by rapidcheck).
  bool value_conflict = false, kind_conflict = false, delete_conflict = false, hidden = false;
  for (const auto& [key, state] : world.replicas[0]->records()) {
    const Record view = MakeRecordView(key.first, key.second, state);
    // The storage conflict index uses HasConflict; listings use the view.
    RC_ASSERT(HasConflict(state) == view.has_conflict());
    delete_conflict = delete_conflict || view.delete_conflict;
    hidden = hidden || view.deleted;
    for (const FieldView& f : view.fields) {
      value_conflict = value_conflict || f.conflict;
      kind_conflict = kind_conflict || f.kind_conflict;
    }
  }
  size_t future_stamps = 0;
  for (const auto& r : world.replicas) future_stamps += r->future_stamps();
  RC_CLASSIFY(world.changes.size() >= 50, ">= 50 changes");
  RC_CLASSIFY(value_conflict, "value conflict");
  RC_CLASSIFY(kind_conflict, "kind conflict");
  RC_CLASSIFY(delete_conflict, "delete conflict");
  RC_CLASSIFY(hidden, "hidden record");
  RC_CLASSIFY(future_stamps > 0, "remote stamp beyond max skew");
}

std::vector<const Change*> RandomPerOriginOrder(const std::map<Dot, Change>& changes, std::mt19937& rng,
                                                bool duplicates);

// A name reused with other kinds, sequentially and concurrently, by 3-5
// replicas: they converge, match the reference model before and after
// convergence, and show what causality says (docs/merge-rules.md "Kinds of one
// name"); the cases the rules name each occur (printed by rapidcheck).
RC_GTEST_PROP(ConvergencePropertyTest, NameReusedWithOtherKindsConvergesAsCausalitySays, ()) {
  World world = RunRandomWorkload(Focus::kOneName);
  Quiesce(world);
  CheckConverged(world);
  CheckAgainstReference(world);
  const bool clock_disagreed = CheckKindsCausally(world);

  // Delivery order does not matter either, also when a reuse arrives before
  // the ops it supersedes (other origins' changes in any order).
  std::mt19937 rng(*rc::gen::arbitrary<uint32_t>());
  MemoryReplica late(IdOf(0xf0), kTestEpochMs);
  for (const Change* c : RandomPerOriginOrder(world.changes, rng, /*duplicates=*/true)) late.Receive(*c);
  RC_ASSERT(late.records() == world.replicas[0]->records());

  bool superseded = false, kind_conflict = false, three_kinds = false, restarted = false;
  for (const auto& [key, state] : world.replicas[0]->records()) {
    for (const FieldState& f : state.fields) {
      const size_t held = f.reg.has_value() + f.counter.has_value() + f.set.has_value();
      three_kinds = three_kinds || held == 3;
      superseded = superseded || IsSuperseded(f, FieldKind::kRegister) || IsSuperseded(f, FieldKind::kCounter) ||
                   IsSuperseded(f, FieldKind::kSet);
      kind_conflict = kind_conflict || HasKindConflict(f);
    }
    RC_ASSERT(HasConflict(state) == MakeRecordView(key.first, key.second, state).has_conflict());
  }
  for (const auto& [dot, change] : world.changes) {
    for (const RecordOps& r : change.records) {
      for (const Op& op : r.ops) restarted = restarted || (op.type == OpType::kSetRemove && !op.kind_context.empty());
    }
  }
  RC_CLASSIFY(superseded, "a kind superseded");
  RC_CLASSIFY(kind_conflict, "kind conflict");
  RC_CLASSIFY(three_kinds, "three kinds held");
  RC_CLASSIFY(restarted, "set reused after another kind");
  RC_CLASSIFY(clock_disagreed, "causality overrode the clock");
}

// ApplyRecordOps returns true iff the state changed (storage reports changed
// records to listeners from it). Narrow workloads, several per case: a
// misreport needs a rare interleaving. The message shows the change applied
// and the state before and after it.
RC_GTEST_PROP(ConvergencePropertyTest, ApplyReportsAChangeExactlyWhenTheStateChanges, ()) {
  for (int run = 0; run < 32; ++run) {
    World world = RunRandomWorkload(run % 2 == 0 ? Focus::kNarrow : Focus::kOneName);
    Quiesce(world);
    for (const auto& r : world.replicas) {
      if (r->misreports().empty()) continue;
      const std::string& first = r->misreports().front();
      // "applying <dot> to ..." : show that change too.
      std::string op_text;
      for (const auto& [dot, change] : world.changes) {
        if (first.rfind("applying " + testing::DumpDot(dot) + " ", 0) == 0) op_text = DumpChange(change);
      }
      RC_FAIL("replica " + testing::ShortId(r->id()) + ": " + first + op_text);
    }
  }
}

// Every change once per origin in seq order, origins interleaved at random,
// with random re-deliveries of changes already sent.
std::vector<const Change*> RandomPerOriginOrder(const std::map<Dot, Change>& changes, std::mt19937& rng,
                                                bool duplicates) {
  std::map<ReplicaId, std::vector<const Change*>> queues;
  for (const auto& [dot, change] : changes) queues[dot.origin].push_back(&change);
  std::vector<std::pair<std::vector<const Change*>*, size_t>> cursors;
  for (auto& [origin, queue] : queues) cursors.emplace_back(&queue, 0);
  std::vector<const Change*> order;
  while (!cursors.empty()) {
    const size_t i = std::uniform_int_distribution<size_t>(0, cursors.size() - 1)(rng);
    auto& [queue, next] = cursors[i];
    order.push_back((*queue)[next++]);
    if (next == queue->size()) cursors.erase(cursors.begin() + static_cast<std::ptrdiff_t>(i));
    if (duplicates && std::uniform_int_distribution<int>(0, 4)(rng) == 0) {
      order.push_back(order[std::uniform_int_distribution<size_t>(0, order.size() - 1)(rng)]);
    }
  }
  return order;
}

RC_GTEST_PROP(ConvergencePropertyTest, DeliveryOrderDoesNotMatter, ()) {
  World world = RunRandomWorkload();
  Quiesce(world);
  const uint32_t seed = *rc::gen::arbitrary<uint32_t>();
  std::mt19937 rng(seed);

  // Two fresh replicas receive every change in two different per-origin orders.
  MemoryReplica first(IdOf(0xf0), kTestEpochMs);
  MemoryReplica second(IdOf(0xf1), kTestEpochMs);
  for (const Change* c : RandomPerOriginOrder(world.changes, rng, /*duplicates=*/false)) {
    RC_ASSERT(first.Receive(*c) == ReceiveResult::kApplied);
  }
  for (const Change* c : RandomPerOriginOrder(world.changes, rng, /*duplicates=*/true)) {
    RC_ASSERT(second.Receive(*c) != ReceiveResult::kBuffered);
  }
  // A third in a fully random order, with duplicates: out-of-order changes
  // wait for their predecessors.
  MemoryReplica third(IdOf(0xf2), kTestEpochMs);
  std::vector<const Change*> shuffled;
  for (const auto& [dot, change] : world.changes) shuffled.push_back(&change);
  const size_t originals = shuffled.size();
  for (size_t i = 0; i < originals / 3; ++i) shuffled.push_back(shuffled[rng() % originals]);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  for (const Change* c : shuffled) third.Receive(*c);

  const VersionVector all = world.AllChanges();
  for (const MemoryReplica* r : {&first, &second, &third}) {
    RC_ASSERT(r->vv() == all);
    RC_ASSERT(r->buffered() == 0u);
  }
  if (first.records() != second.records() || first.records() != third.records()) {
    RC_FAIL("delivery order changed the state\nfirst:\n" + first.DumpViews() + "second:\n" + second.DumpViews() +
            "third:\n" + third.DumpViews() + "changes:\n" + DumpAllChanges(world));
  }
  // Record states hold nothing replica-specific: the writers agree too.
  RC_ASSERT(first.records() == world.replicas[0]->records());
}

RC_GTEST_PROP(ConvergencePropertyTest, ReapplyingHeldChangesChangesNothing, ()) {
  World world = RunRandomWorkload();
  Quiesce(world);
  std::map<MemoryReplica::Key, RecordState> states = world.replicas[0]->records();
  for (const auto& [dot, change] : world.changes) {
    for (const RecordOps& ops : change.records) {
      RecordState& state = states[{ops.collection, ops.id}];
      const RecordState before = state;
      ApplyRecordOps(state, ops, dot, change.hlc);
      if (!(state == before)) {
        RC_FAIL("re-applying " + testing::DumpDot(dot) + " changed " + ops.collection + "/" + ops.id + "\nbefore:\n" +
                DumpState(before) + "after:\n" + DumpState(state));
      }
    }
  }
}

// Before full sync too: after every step, the replica the step touched shows
// what the rules say for the changes it holds (per origin a prefix, not
// necessarily causally closed).
RC_GTEST_PROP(ConvergencePropertyTest, EveryReplicaMatchesTheReferenceAfterEveryStep, ()) {
  const int n = *rc::gen::inRange(3, 6);
  const auto steps = *rc::gen::scale(5.0, rc::gen::container<std::vector<Step>>(GenStep(n)));
  World world(n);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    RunStep(world, step);
    if (step.kind == StepKind::kTick) continue;
    const MemoryReplica& replica = *world.replicas[step.kind == StepKind::kCommit ? step.replica : step.target];
    const Reference reference(world.changes, world.pasts, Reference::Reading::kAsSpecified);
    for (const auto& [key, state] : replica.records()) {
      const std::string got = DumpView(MakeRecordView(key.first, key.second, state));
      const std::string want = DumpView(reference.View(key.first, key.second, replica.vv()));
      if (got != want) {
        RC_FAIL("after step " + std::to_string(i) + ", replica " + testing::ShortId(replica.id()) + " holding " +
                testing::DumpVv(replica.vv()) + " differs from the reference\ngot:\n" + got + "want:\n" + want +
                "state:\n" + DumpState(state) + "changes:\n" + DumpAllChanges(world));
      }
    }
  }
}

}  // namespace
}  // namespace daicho::core
