// Test support for core/: a fake clock, deterministic replica ids, an
// in-memory replica model (MemoryReplica) built only from core's pure pieces,
// and readable dumps of record states and views for failure messages.
//
// MemoryReplica mirrors what storage/ does with LMDB, minus durability: it
// holds a map (collection, id) -> RecordState, its own VersionVector (the
// changes it holds: per origin the contiguous prefix 1..n), its own
// HybridClock over a FakeClock, and the log of every change it holds, in the
// order it applied them (so per-origin seq order holds in the log).
// Not thread-safe; a plain test object.
#ifndef DAICHO_TESTS_CORE_MEMORY_REPLICA_H_
#define DAICHO_TESTS_CORE_MEMORY_REPLICA_H_

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "core/change.h"
#include "core/change_builder.h"
#include "core/hlc.h"
#include "core/merge.h"
#include "core/record_state.h"
#include "core/record_view.h"
#include "daicho/clock.h"
#include "daicho/record.h"
#include "daicho/replica_id.h"
#include "daicho/version_vector.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/replica_ids.h"

namespace daicho::core::testing {

using daicho::testing::FakeClock;
using daicho::testing::IdOf;
using daicho::testing::Vv;

// 2024-01-01T00:00:00Z, a plausible wall clock for fake clocks.
inline constexpr uint64_t kTestEpochMs = 1704067200000ull;
inline constexpr uint64_t kDayMs = 24ull * 3600 * 1000;

// Short, readable tag of a replica id in dumps: its first byte in hex.
inline std::string ShortId(const ReplicaId& id) { return id.ToHex().substr(0, 2); }

inline std::string DumpDot(const Dot& dot) { return ShortId(dot.origin) + ":" + std::to_string(dot.counter); }

inline std::string DumpVv(const VersionVector& vv) {
  std::string out = "{";
  for (const VersionVector::Entry& e : vv.entries()) {
    if (out.size() > 1) out += ",";
    out += ShortId(e.replica) + ":" + std::to_string(e.counter);
  }
  return out + "}";
}

inline std::string DumpHlc(const HlcTime& hlc) {
  return std::to_string(hlc.wall_ms) + "." + std::to_string(hlc.logical);
}

// A value with its type, so 1 and "1" and 1.0 read differently.
inline std::string DumpValue(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull:
      return "null";
    case Value::Type::kBool:
      return v.as_bool() ? "true" : "false";
    case Value::Type::kInt:
      return "i" + v.ToDisplayString();
    case Value::Type::kDouble:
      return "d" + v.ToDisplayString();
    case Value::Type::kString:
      return "\"" + v.as_string() + "\"";
    case Value::Type::kBytes:
      return "b'" + v.ToDisplayString() + "'";
  }
  return "?";
}

inline std::string DumpState(const RecordState& s) {
  std::ostringstream out;
  out << "modified=" << DumpHlc(s.modified) << " deletes=" << DumpVv(s.deletes) << " undeletes=" << DumpVv(s.undeletes)
      << "\n";
  for (const FieldState& f : s.fields) {
    out << "  field " << f.name << "\n";
    if (f.reg) {
      out << "    reg ctx=" << DumpVv(f.reg->context) << " kctx=" << DumpVv(f.reg->kind_context)
          << " newest=" << DumpHlc(f.reg->newest.hlc) << "/" << ShortId(f.reg->newest.origin) << " siblings=[";
      for (const RegisterSibling& sib : f.reg->siblings) {
        out << " " << DumpDot(sib.dot) << "@" << DumpHlc(sib.hlc) << "=" << DumpValue(sib.value);
      }
      out << " ]\n";
    }
    if (f.counter) {
      out << "    counter kctx=" << DumpVv(f.counter->kind_context) << " newest=" << DumpHlc(f.counter->newest.hlc)
          << "/" << ShortId(f.counter->newest.origin) << " [";
      for (const CounterEntry& e : f.counter->entries) {
        out << " " << ShortId(e.replica) << ":+" << e.positive << "-" << e.negative << "@" << e.last_seq;
      }
      out << " ]\n";
    }
    if (f.set) {
      out << "    set kctx=" << DumpVv(f.set->kind_context) << " newest=" << DumpHlc(f.set->newest.hlc) << "/"
          << ShortId(f.set->newest.origin) << "\n";
      for (const SetElement& e : f.set->elements) {
        out << "      " << e.value << " live=[";
        for (const Dot& d : e.live) out << " " << DumpDot(d);
        out << " ] tomb=" << DumpVv(e.tombstone) << "\n";
      }
    }
  }
  return out.str();
}

inline const char* KindName(FieldKind kind) {
  switch (kind) {
    case FieldKind::kRegister:
      return "register";
    case FieldKind::kCounter:
      return "counter";
    case FieldKind::kSet:
      return "set";
  }
  return "?";
}

// Every member of a Record view, one line per field; equal strings iff equal views.
inline std::string DumpView(const Record& r) {
  std::ostringstream out;
  out << r.collection << "/" << r.id << (r.deleted ? " DELETED" : "") << (r.delete_conflict ? " DELETE-CONFLICT" : "")
      << " modified=" << DumpHlc(r.modified) << "\n";
  for (const FieldView& f : r.fields) {
    out << "  " << f.name << " " << KindName(f.kind) << (f.conflict ? " CONFLICT" : "")
        << (f.kind_conflict ? " KIND-CONFLICT" : "") << " modified=" << DumpHlc(f.modified)
        << " value=" << DumpValue(f.value) << " elements=[";
    for (const std::string& e : f.elements) out << " " << e;
    out << " ] siblings=[";
    for (const Sibling& s : f.siblings) {
      out << " " << DumpDot(s.dot) << "@" << DumpHlc(s.hlc) << "=" << DumpValue(s.value);
    }
    out << " ]";
    for (const KindValue& k : f.other_kinds) {
      out << " also " << KindName(k.kind) << "=" << DumpValue(k.value) << "[";
      for (const std::string& e : k.elements) out << " " << e;
      out << " ]";
    }
    out << "\n";
  }
  return out.str();
}

inline std::string DumpChange(const Change& c) {
  std::ostringstream out;
  out << "change " << DumpDot(c.dot()) << " @" << DumpHlc(c.hlc) << "\n";
  for (const RecordOps& r : c.records) {
    for (const Op& op : r.ops) {
      out << "  " << r.collection << "/" << r.id << " ";
      switch (op.type) {
        case OpType::kSetRegister:
          out << "set " << op.field << "=" << DumpValue(op.value) << " ctx=" << DumpVv(op.context);
          break;
        case OpType::kCounterAdd:
          out << "add " << op.field << " " << op.delta;
          break;
        case OpType::kSetAdd:
          out << "set-add " << op.field << " " << op.element;
          break;
        case OpType::kSetRemove:
          out << "set-remove " << op.field << " " << op.element << " observed=[";
          for (const Dot& d : op.observed) out << " " << DumpDot(d);
          out << " ]";
          break;
        case OpType::kDelete:
          out << "delete ctx=" << DumpVv(op.context);
          break;
        case OpType::kUndelete:
          out << "undelete";
          break;
      }
      if (!op.kind_context.empty()) out << " kctx=" << DumpVv(op.kind_context);
      out << "\n";
    }
  }
  return out.str();
}

// What Receive did with a change.
enum class ReceiveResult {
  kApplied,    // applied (and perhaps some buffered successors with it)
  kDuplicate,  // already held (seq <= VV[origin]), ignored
  kBuffered,   // arrived before its predecessors; held back until the gap fills
};

class MemoryReplica {
 public:
  using Key = std::pair<std::string, std::string>;  // (collection, id)

  // `max_skew_ms` as ReplicaOptions::max_clock_skew_ms.
  MemoryReplica(ReplicaId id, uint64_t start_ms, uint64_t max_skew_ms = kDayMs)
      : id_(id), clock_(std::make_shared<FakeClock>(start_ms)), hlc_(clock_, max_skew_ms) {}

  const ReplicaId& id() const { return id_; }
  FakeClock& clock() { return *clock_; }
  const HybridClock& hlc() const { return hlc_; }
  // The changes this replica holds: per origin the contiguous prefix 1..n.
  const VersionVector& vv() const { return vv_; }
  const std::map<Key, RecordState>& records() const { return records_; }
  // Every change held, in the order applied (per-origin seq order holds).
  const std::vector<Change>& log() const { return log_; }
  // Changes received ahead of a gap, not yet applied.
  size_t buffered() const {
    size_t n = 0;
    for (const auto& [origin, by_seq] : pending_) n += by_seq.size();
    return n;
  }
  // Remote stamps too far in the future to adopt (applied all the same).
  size_t future_stamps() const { return future_stamps_; }
  // Each time ApplyRecordOps's "changed" result disagreed with the state
  // (it promises true iff the state changed), a description.
  const std::vector<std::string>& misreports() const { return misreports_; }

  const RecordState* Find(const std::string& collection, const std::string& id) const {
    auto it = records_.find(Key{collection, id});
    return it == records_.end() ? nullptr : &it->second;
  }
  // The read view of a record; an empty view if the record is unknown here.
  Record View(const std::string& collection, const std::string& id) const {
    const RecordState* state = Find(collection, id);
    return MakeRecordView(collection, id, state ? *state : RecordState{});
  }
  // Every record's view, in (collection, id) order, dumped.
  std::string DumpViews() const {
    std::string out;
    for (const auto& [key, state] : records_) out += DumpView(MakeRecordView(key.first, key.second, state));
    return out;
  }

  // Commits the builder's edits as this replica's next change, applies it
  // locally and clears the builder. nullopt (and nothing consumed) if empty.
  std::optional<Change> Commit(ChangeBuilder& builder) {
    if (builder.empty()) return std::nullopt;
    const Dot dot{id_, vv_.Get(id_) + 1};
    const HlcTime hlc = hlc_.Now();
    VersionVector own = vv_;
    own.Advance(dot);
    Change change =
        builder.Build(dot, hlc, own, [this](const std::string& c, const std::string& i) { return Find(c, i); });
    builder.Clear();
    Apply(change);
    return change;
  }

  // Takes a change from anywhere: duplicates are ignored, a change that
  // arrives before its predecessors from the same origin waits for them.
  ReceiveResult Receive(const Change& change) {
    const uint64_t held = vv_.Get(change.origin);
    if (change.seq <= held) return ReceiveResult::kDuplicate;
    if (change.seq > held + 1) {
      pending_[change.origin].emplace(change.seq, change);
      return ReceiveResult::kBuffered;
    }
    if (!hlc_.Observe(change.hlc)) ++future_stamps_;
    Apply(change);
    // Drain what this change unblocked.
    auto it = pending_.find(change.origin);
    while (it != pending_.end() && !it->second.empty()) {
      auto first = it->second.begin();
      const uint64_t now_held = vv_.Get(change.origin);
      if (first->first <= now_held) {
        it->second.erase(first);
        continue;
      }
      if (first->first != now_held + 1) break;
      Change next = std::move(first->second);
      it->second.erase(first);
      if (!hlc_.Observe(next.hlc)) ++future_stamps_;
      Apply(next);
    }
    if (it != pending_.end() && it->second.empty()) pending_.erase(it);
    return ReceiveResult::kApplied;
  }

  // Delivers every change `other` holds that this one lacks, in log order.
  // Returns how many were applied.
  size_t SyncFrom(const MemoryReplica& other) {
    size_t applied = 0;
    for (const Change& c : other.log()) {
      if (Receive(c) == ReceiveResult::kApplied) ++applied;
    }
    return applied;
  }

 private:
  void Apply(const Change& change) {
    for (const RecordOps& ops : change.records) {
      RecordState& state = records_[Key{ops.collection, ops.id}];
      const RecordState before = state;
      const bool reported = ApplyRecordOps(state, ops, change.dot(), change.hlc);
      if (reported != !(state == before)) {
        misreports_.push_back("applying " + DumpDot(change.dot()) + " to " + ops.collection + "/" + ops.id +
                              " reported " + (reported ? "a change" : "no change") + "\nbefore:\n" + DumpState(before) +
                              "after:\n" + DumpState(state));
      }
    }
    vv_.Advance(change.dot());
    log_.push_back(change);
  }

  ReplicaId id_;
  std::shared_ptr<FakeClock> clock_;
  HybridClock hlc_;
  VersionVector vv_;
  std::map<Key, RecordState> records_;
  std::vector<Change> log_;
  std::map<ReplicaId, std::map<uint64_t, Change>> pending_;
  size_t future_stamps_ = 0;
  std::vector<std::string> misreports_;
};

}  // namespace daicho::core::testing

#endif  // DAICHO_TESTS_CORE_MEMORY_REPLICA_H_
