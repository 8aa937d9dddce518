#include "storage/codec/state_codec.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "storage/codec/names.h"

namespace daicho::storage {
namespace {

// State header flags.
constexpr uint8_t kHasDeletes = 1 << 0;
constexpr uint8_t kHasUndeletes = 1 << 1;
constexpr uint8_t kStateFlagsKnown = kHasDeletes | kHasUndeletes;

// Field flags.
constexpr uint8_t kRegister = 1 << 0;
constexpr uint8_t kCounter = 1 << 1;
constexpr uint8_t kSet = 1 << 2;
constexpr uint8_t kContextImplied = 1 << 3;  // register context = its siblings' dots
constexpr uint8_t kNewestImplied = 1 << 4;   // register newest = the newest sibling's stamp
constexpr uint8_t kOneSibling = 1 << 5;      // register holds one sibling; no count
// With kOneSibling: the sibling's dot and hlc are the previous field's, whose
// register holds one sibling too (fields written by one change). Not stored.
constexpr uint8_t kSameSibling = 1 << 6;
// Each kind's kind context follows the kinds (at least one is not empty).
constexpr uint8_t kKindContexts = 1 << 7;
constexpr uint8_t kKinds = kRegister | kCounter | kSet;
constexpr uint8_t kRegisterFlags = kContextImplied | kNewestImplied | kOneSibling | kSameSibling;
constexpr uint8_t kFieldFlagsKnown = kKinds | kRegisterFlags | kKindContexts;

bool HasKindContexts(const core::FieldState& f) {
  return (f.reg && !f.reg->kind_context.empty()) || (f.counter && !f.counter->kind_context.empty()) ||
         (f.set && !f.set->kind_context.empty());
}

// HLC heads, relative to the state's `modified` (m).
constexpr uint64_t kHlcSame = 0;      // = m
constexpr uint64_t kHlcSameWall = 1;  // m.wall_ms, logical follows
constexpr uint64_t kHlcAbsolute = 2;  // wall_ms and logical follow (wall_ms > m.wall_ms)
constexpr uint64_t kHlcBehind = 3;    // head - 2 = m.wall_ms - wall_ms, logical follows
constexpr uint64_t kMaxWallBehind = std::numeric_limits<uint64_t>::max() - 2;

// A register's context is implied when it is exactly the join of its
// siblings' dots: every sibling is covered and every entry is some sibling.
bool ContextImplied(const core::RegisterState& reg) {
  const std::vector<VersionVector::Entry>& entries = reg.context.entries();
  // Each entry must be a sibling's dot, and entries name distinct replicas.
  if (entries.size() > reg.siblings.size()) return false;
  if (reg.siblings.size() == 1) {  // the usual register: no searching
    const Dot& dot = reg.siblings[0].dot;
    return entries.size() == 1 && entries[0].counter == dot.counter && entries[0].replica == dot.origin;
  }
  for (const core::RegisterSibling& s : reg.siblings) {
    if (!reg.context.Covers(s.dot)) return false;
  }
  for (const VersionVector::Entry& e : reg.context.entries()) {
    const Dot dot{e.replica, e.counter};
    auto it = std::lower_bound(reg.siblings.begin(), reg.siblings.end(), dot,
                               [](const core::RegisterSibling& s, const Dot& d) { return s.dot < d; });
    if (it == reg.siblings.end() || it->dot != dot) return false;
  }
  return true;
}

// The same for a set element's tombstone and its live dots.
bool TombstoneImplied(const core::SetElement& e) {
  for (const Dot& d : e.live) {
    if (!e.tombstone.Covers(d)) return false;
  }
  for (const VersionVector::Entry& entry : e.tombstone.entries()) {
    if (!std::binary_search(e.live.begin(), e.live.end(), Dot{entry.replica, entry.counter})) return false;
  }
  return true;
}

std::optional<core::OpStamp> NewestSibling(const std::vector<core::RegisterSibling>& siblings) {
  std::optional<core::OpStamp> newest;
  for (const core::RegisterSibling& s : siblings) {
    core::OpStamp stamp{s.hlc, s.dot.origin};
    if (!newest || *newest < stamp) newest = stamp;
  }
  return newest;
}

bool ReadBytes(BinaryReader& in, std::string_view& out) {
  uint64_t size = 0;
  return ReadCanonicalVarint(in, size) && size <= in.remaining() && in.Raw(static_cast<size_t>(size), out);
}

class Encoder {
 public:
  Encoder(ReplicaDictionary& dict, std::string& out, HlcTime modified) : dict_(dict), out_(out), modified_(modified) {}

  BinaryWriter& out() { return out_; }

  Status Replica(const ReplicaId& id) {
    // Most of a state names one replica: skip the lookup for a repeat.
    if (!memo_valid_ || id != memo_id_) {
      DAICHO_ASSIGN_OR_RETURN(memo_index_, dict_.IndexOf(id));
      memo_id_ = id;
      memo_valid_ = true;
    }
    out_.Varint(memo_index_);
    return Status::Ok();
  }

  Status PutDot(const Dot& dot) {
    DAICHO_RETURN_IF_ERROR(Replica(dot.origin));
    out_.Varint(dot.counter);
    return Status::Ok();
  }

  void PutHlc(HlcTime t) {
    if (t == modified_) {
      out_.Varint(kHlcSame);
      return;
    }
    if (t.wall_ms == modified_.wall_ms) {
      out_.Varint(kHlcSameWall);
    } else if (t.wall_ms < modified_.wall_ms && modified_.wall_ms - t.wall_ms <= kMaxWallBehind) {
      out_.Varint(modified_.wall_ms - t.wall_ms + (kHlcBehind - 1));
    } else {
      out_.Varint(kHlcAbsolute);
      out_.Varint(t.wall_ms);
    }
    out_.Varint(t.logical);
  }

  Status PutStamp(const core::OpStamp& s) {
    PutHlc(s.hlc);
    return Replica(s.origin);
  }

  Status PutVv(const VersionVector& vv) {
    out_.Varint(vv.size());
    for (const VersionVector::Entry& e : vv.entries()) {
      DAICHO_RETURN_IF_ERROR(Replica(e.replica));
      out_.Varint(e.counter);
    }
    return Status::Ok();
  }

  Status PutRegister(const core::RegisterState& reg, uint8_t flags) {
    if ((flags & kOneSibling) == 0) out_.Varint(reg.siblings.size());
    for (const core::RegisterSibling& s : reg.siblings) {
      if (flags & kSameSibling) break;
      DAICHO_RETURN_IF_ERROR(PutDot(s.dot));
      PutHlc(s.hlc);  // the value is in the change s.dot names, not here
    }
    if ((flags & kContextImplied) == 0) DAICHO_RETURN_IF_ERROR(PutVv(reg.context));
    if ((flags & kNewestImplied) == 0) DAICHO_RETURN_IF_ERROR(PutStamp(reg.newest));
    return Status::Ok();
  }

  Status PutCounter(const core::CounterState& counter) {
    out_.Varint(counter.entries.size());
    for (const core::CounterEntry& e : counter.entries) {
      DAICHO_RETURN_IF_ERROR(Replica(e.replica));
      out_.Varint(e.positive);
      out_.Varint(e.negative);
      out_.Varint(e.last_seq);
    }
    return PutStamp(counter.newest);
  }

  Status PutSet(const core::SetState& set) {
    out_.Varint(set.elements.size());
    for (const core::SetElement& e : set.elements) {
      out_.Bytes(e.value);
      const bool implied = TombstoneImplied(e);
      out_.Varint(static_cast<uint64_t>(e.live.size()) << 1 | (implied ? 1 : 0));
      for (const Dot& d : e.live) DAICHO_RETURN_IF_ERROR(PutDot(d));
      if (!implied) DAICHO_RETURN_IF_ERROR(PutVv(e.tombstone));
    }
    return PutStamp(set.newest);
  }

 private:
  ReplicaDictionary& dict_;
  BinaryWriter out_;
  HlcTime modified_;
  bool memo_valid_ = false;
  ReplicaId memo_id_;
  uint32_t memo_index_ = 0;
};

class Decoder {
 public:
  Decoder(std::string_view bytes, const ReplicaDictionary& dict) : in_(bytes), dict_(dict) {}

  BinaryReader& in() { return in_; }
  void set_modified(HlcTime t) { modified_ = t; }

  Status Bad(const std::string& detail) const {
    return Corruption("stored record state: " + detail + " (at byte " + std::to_string(in_.position()) + ")");
  }
  Status Truncated() const { return Bad("truncated"); }

  Result<uint64_t> Varint() {
    uint64_t v = 0;
    if (!ReadCanonicalVarint(in_, v)) return Bad("truncated or padded number");
    return v;
  }

  Result<uint8_t> Byte() {
    uint8_t b = 0;
    if (!in_.Byte(b)) return Truncated();
    return b;
  }

  // A count of items that take at least one byte each: no count can promise
  // more items than bytes remain, so reserve() stays bounded.
  Result<size_t> Count(const char* what) {
    DAICHO_ASSIGN_OR_RETURN(uint64_t n, Varint());
    if (n > in_.remaining()) return Bad(std::string(what) + " count " + std::to_string(n) + " exceeds the input");
    return static_cast<size_t>(n);
  }

  Result<std::string_view> Text(const char* what) {
    std::string_view s;
    if (!ReadBytes(in_, s)) return Truncated();
    if (!IsValidUtf8(s)) return Bad(std::string(what) + " is not valid UTF-8");
    return s;
  }

  Result<ReplicaId> Replica() {
    DAICHO_ASSIGN_OR_RETURN(uint64_t index, Varint());
    if (!memo_valid_ || index != memo_index_) {
      auto id = dict_.IdAt(index);
      if (!id.ok()) {
        if (id.status().code() == Code::kCorruption) return Bad(id.status().message());
        return id.status();
      }
      memo_id_ = *id;
      memo_index_ = index;
      memo_valid_ = true;
    }
    return memo_id_;
  }

  Result<Dot> GetDot() {
    DAICHO_ASSIGN_OR_RETURN(ReplicaId id, Replica());
    DAICHO_ASSIGN_OR_RETURN(uint64_t counter, Varint());
    if (counter == 0) return Bad("dot with counter 0");
    return Dot{id, counter};
  }

  Result<uint32_t> Logical() {
    DAICHO_ASSIGN_OR_RETURN(uint64_t v, Varint());
    if (v > std::numeric_limits<uint32_t>::max()) return Bad("HLC logical counter out of range");
    return static_cast<uint32_t>(v);
  }

  Result<HlcTime> GetHlc() {
    DAICHO_ASSIGN_OR_RETURN(uint64_t head, Varint());
    HlcTime t;
    if (head == kHlcSame) return modified_;
    if (head == kHlcSameWall) {
      t.wall_ms = modified_.wall_ms;
    } else if (head == kHlcAbsolute) {
      DAICHO_ASSIGN_OR_RETURN(t.wall_ms, Varint());
      if (t.wall_ms <= modified_.wall_ms && modified_.wall_ms - t.wall_ms <= kMaxWallBehind) {
        return Bad("HLC stored absolute where a relative form applies");
      }
    } else {
      const uint64_t behind = head - (kHlcBehind - 1);
      if (behind > modified_.wall_ms) return Bad("HLC before the epoch");
      t.wall_ms = modified_.wall_ms - behind;
    }
    DAICHO_ASSIGN_OR_RETURN(t.logical, Logical());
    if (t == modified_) return Bad("HLC equal to the record's stored in long form");
    return t;
  }

  Result<core::OpStamp> GetStamp() {
    DAICHO_ASSIGN_OR_RETURN(HlcTime hlc, GetHlc());
    DAICHO_ASSIGN_OR_RETURN(ReplicaId id, Replica());
    return core::OpStamp{hlc, id};
  }

  // Entries in strictly increasing replica order, counters >= 1.
  Result<VersionVector> GetVv(const char* what) {
    DAICHO_ASSIGN_OR_RETURN(size_t n, Count(what));
    VersionVector vv;
    std::optional<ReplicaId> prev;
    for (size_t i = 0; i < n; ++i) {
      DAICHO_ASSIGN_OR_RETURN(ReplicaId id, Replica());
      DAICHO_ASSIGN_OR_RETURN(uint64_t counter, Varint());
      if (counter == 0) return Bad(std::string(what) + " entry with counter 0");
      if (prev && !(*prev < id)) return Bad(std::string(what) + " entries out of order or repeated");
      prev = id;
      vv.Advance(id, counter);
    }
    return vv;
  }

  // `previous`: the single sibling of the previous field's register, if
  // that field has a register of exactly one sibling.
  Status GetRegister(uint8_t flags, core::RegisterState& reg, const std::optional<core::RegisterSibling>& previous) {
    size_t n = 1;
    if ((flags & kOneSibling) == 0) {
      if (flags & kSameSibling) return Bad("same-sibling flag on a register of several siblings");
      DAICHO_ASSIGN_OR_RETURN(n, Count("sibling"));
      if (n == 1) return Bad("one sibling stored with a count");
    }
    reg.siblings.reserve(n);
    if (flags & kSameSibling) {
      if (!previous) return Bad("same-sibling flag without a previous single sibling");
      reg.siblings.push_back(core::RegisterSibling{previous->dot, previous->hlc, Value()});
      n = 0;
    }
    for (size_t i = 0; i < n; ++i) {
      DAICHO_ASSIGN_OR_RETURN(Dot dot, GetDot());
      if (!reg.siblings.empty() && !(reg.siblings.back().dot < dot)) return Bad("siblings out of order or repeated");
      DAICHO_ASSIGN_OR_RETURN(HlcTime hlc, GetHlc());
      if ((flags & kOneSibling) && previous && previous->dot == dot && previous->hlc == hlc) {
        return Bad("sibling stored though the same as the previous field's");
      }
      core::RegisterSibling& s = reg.siblings.emplace_back();
      s.dot = dot;
      s.hlc = hlc;  // s.value stays null: the change s.dot holds it (ValueResolver)
    }
    if (flags & kContextImplied) {
      for (const core::RegisterSibling& s : reg.siblings) reg.context.Advance(s.dot);
    } else {
      DAICHO_ASSIGN_OR_RETURN(reg.context, GetVv("register context"));
      if (ContextImplied(reg)) return Bad("register context stored though implied");
    }
    const std::optional<core::OpStamp> implied = NewestSibling(reg.siblings);
    if (flags & kNewestImplied) {
      if (!implied) return Bad("register without siblings has an implied newest stamp");
      reg.newest = *implied;
    } else {
      DAICHO_ASSIGN_OR_RETURN(reg.newest, GetStamp());
      if (implied == reg.newest) return Bad("register newest stamp stored though implied");
    }
    return Status::Ok();
  }

  Status GetCounter(core::CounterState& counter) {
    DAICHO_ASSIGN_OR_RETURN(size_t n, Count("counter entry"));
    counter.entries.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      core::CounterEntry e;
      DAICHO_ASSIGN_OR_RETURN(e.replica, Replica());
      if (!counter.entries.empty() && !(counter.entries.back().replica < e.replica)) {
        return Bad("counter entries out of order or repeated");
      }
      DAICHO_ASSIGN_OR_RETURN(e.positive, Varint());
      DAICHO_ASSIGN_OR_RETURN(e.negative, Varint());
      DAICHO_ASSIGN_OR_RETURN(e.last_seq, Varint());
      counter.entries.push_back(e);
    }
    DAICHO_ASSIGN_OR_RETURN(counter.newest, GetStamp());
    return Status::Ok();
  }

  Status GetSet(core::SetState& set) {
    DAICHO_ASSIGN_OR_RETURN(size_t n, Count("set element"));
    set.elements.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      DAICHO_ASSIGN_OR_RETURN(std::string_view value, Text("set element"));
      if (!set.elements.empty() && !(set.elements.back().value < value)) {
        return Bad("set elements out of order or repeated");
      }
      core::SetElement& e = set.elements.emplace_back();
      e.value = value;
      DAICHO_ASSIGN_OR_RETURN(uint64_t live_tag, Varint());
      const uint64_t live = live_tag >> 1;
      if (live > in_.remaining()) return Bad("live dot count exceeds the input");
      e.live.reserve(static_cast<size_t>(live));
      for (uint64_t j = 0; j < live; ++j) {
        DAICHO_ASSIGN_OR_RETURN(Dot dot, GetDot());
        if (!e.live.empty() && !(e.live.back() < dot)) return Bad("live dots out of order or repeated");
        e.live.push_back(dot);
      }
      if (live_tag & 1) {
        for (const Dot& d : e.live) e.tombstone.Advance(d);
      } else {
        DAICHO_ASSIGN_OR_RETURN(e.tombstone, GetVv("set tombstone"));
        if (TombstoneImplied(e)) return Bad("set tombstone stored though implied");
      }
    }
    DAICHO_ASSIGN_OR_RETURN(set.newest, GetStamp());
    return Status::Ok();
  }

 private:
  BinaryReader in_;
  const ReplicaDictionary& dict_;
  HlcTime modified_;
  bool memo_valid_ = false;
  uint64_t memo_index_ = 0;
  ReplicaId memo_id_;
};

}  // namespace

Status EncodeRecordState(const core::RecordState& state, ReplicaDictionary& dict, std::string& bytes) {
  bytes.clear();
  bytes.reserve(16 + 48 * state.fields.size());
  Encoder enc(dict, bytes, state.modified);
  BinaryWriter& out = enc.out();
  out.Byte((state.deletes.empty() ? 0 : kHasDeletes) | (state.undeletes.empty() ? 0 : kHasUndeletes));
  out.Varint(state.modified.wall_ms);
  out.Varint(state.modified.logical);
  out.Varint(state.fields.size());
  const core::RegisterSibling* previous = nullptr;  // the previous field's single sibling
  for (const core::FieldState& f : state.fields) {
    out.Bytes(f.name);
    uint8_t flags = (f.reg ? kRegister : 0) | (f.counter ? kCounter : 0) | (f.set ? kSet : 0);
    if (f.reg) {
      if (ContextImplied(*f.reg)) flags |= kContextImplied;
      if (NewestSibling(f.reg->siblings) == f.reg->newest) flags |= kNewestImplied;
      if (f.reg->siblings.size() == 1) {
        flags |= kOneSibling;
        const core::RegisterSibling& s = f.reg->siblings[0];
        if (previous != nullptr && previous->dot == s.dot && previous->hlc == s.hlc) flags |= kSameSibling;
      }
    }
    previous = f.reg && f.reg->siblings.size() == 1 ? &f.reg->siblings[0] : nullptr;
    const bool kind_contexts = HasKindContexts(f);
    if (kind_contexts) flags |= kKindContexts;
    out.Byte(flags);
    if (f.reg) DAICHO_RETURN_IF_ERROR(enc.PutRegister(*f.reg, flags));
    if (f.counter) DAICHO_RETURN_IF_ERROR(enc.PutCounter(*f.counter));
    if (f.set) DAICHO_RETURN_IF_ERROR(enc.PutSet(*f.set));
    if (kind_contexts) {
      if (f.reg) DAICHO_RETURN_IF_ERROR(enc.PutVv(f.reg->kind_context));
      if (f.counter) DAICHO_RETURN_IF_ERROR(enc.PutVv(f.counter->kind_context));
      if (f.set) DAICHO_RETURN_IF_ERROR(enc.PutVv(f.set->kind_context));
    }
  }
  if (!state.deletes.empty()) DAICHO_RETURN_IF_ERROR(enc.PutVv(state.deletes));
  if (!state.undeletes.empty()) DAICHO_RETURN_IF_ERROR(enc.PutVv(state.undeletes));
  return Status::Ok();
}

Result<std::string> EncodeRecordState(const core::RecordState& state, ReplicaDictionary& dict) {
  std::string bytes;
  DAICHO_RETURN_IF_ERROR(EncodeRecordState(state, dict, bytes));
  return bytes;
}

Status DecodeRecordState(std::string_view bytes, const ReplicaDictionary& dict, core::RecordState& state) {
  Decoder d(bytes, dict);
  DAICHO_ASSIGN_OR_RETURN(uint8_t state_flags, d.Byte());
  if (state_flags & ~kStateFlagsKnown) return d.Bad("unknown state flags " + std::to_string(state_flags));
  DAICHO_ASSIGN_OR_RETURN(state.modified.wall_ms, d.Varint());
  DAICHO_ASSIGN_OR_RETURN(state.modified.logical, d.Logical());
  d.set_modified(state.modified);
  DAICHO_ASSIGN_OR_RETURN(size_t field_count, d.Count("field"));
  // The fields already there are overwritten in place, keeping their memory.
  state.fields.resize(field_count);
  std::optional<core::RegisterSibling> previous;  // the previous field's single sibling
  for (size_t i = 0; i < field_count; ++i) {
    std::string_view name;
    if (!ReadBytes(d.in(), name)) return d.Truncated();
    // No length limit: decoding a state takes no Limits.
    switch (CheckNameBytes(name, std::numeric_limits<size_t>::max())) {
      case NameProblem::kEmpty:
        return d.Bad("empty field name");
      case NameProblem::kNul:
        return d.Bad("field name contains a NUL byte");
      case NameProblem::kNotUtf8:
        return d.Bad("field name is not valid UTF-8");
      case NameProblem::kTooLong:
      case NameProblem::kNone:
        break;
    }
    if (i > 0 && !(state.fields[i - 1].name < name)) return d.Bad("fields out of order or repeated");
    core::FieldState& f = state.fields[i];
    f.name = name;
    DAICHO_ASSIGN_OR_RETURN(uint8_t flags, d.Byte());
    // Every stored field has at least one kind: the views rely on it.
    if ((flags & kKinds) == 0) return d.Bad("field " + f.name + " holds no state");
    if (flags & ~kFieldFlagsKnown) return d.Bad("unknown field flags " + std::to_string(flags));
    if ((flags & kRegister) == 0 && (flags & kRegisterFlags) != 0) return d.Bad("register flags without a register");
    if (flags & kRegister) {
      if (f.reg) {
        core::ClearKeepingMemory(*f.reg);
      } else {
        f.reg.emplace();
      }
      DAICHO_RETURN_IF_ERROR(d.GetRegister(flags, *f.reg, previous));
    } else {
      f.reg.reset();
    }
    previous.reset();
    if (f.reg && f.reg->siblings.size() == 1) previous = f.reg->siblings[0];
    if (flags & kCounter) {
      if (f.counter) {
        core::ClearKeepingMemory(*f.counter);
      } else {
        f.counter.emplace();
      }
      DAICHO_RETURN_IF_ERROR(d.GetCounter(*f.counter));
    } else {
      f.counter.reset();
    }
    f.set.reset();
    if (flags & kSet) DAICHO_RETURN_IF_ERROR(d.GetSet(f.set.emplace()));
    if (flags & kKindContexts) {
      if (f.reg) {
        DAICHO_ASSIGN_OR_RETURN(f.reg->kind_context, d.GetVv("register kind context"));
      }
      if (f.counter) {
        DAICHO_ASSIGN_OR_RETURN(f.counter->kind_context, d.GetVv("counter kind context"));
      }
      if (f.set) {
        DAICHO_ASSIGN_OR_RETURN(f.set->kind_context, d.GetVv("set kind context"));
      }
      if (!HasKindContexts(f)) return d.Bad("empty kind contexts stored");
    }
  }
  if (state_flags & kHasDeletes) {
    DAICHO_ASSIGN_OR_RETURN(state.deletes, d.GetVv("deletes"));
    if (state.deletes.empty()) return d.Bad("empty deletes stored");
  } else {
    core::ClearKeepingMemory(state.deletes);
  }
  if (state_flags & kHasUndeletes) {
    DAICHO_ASSIGN_OR_RETURN(state.undeletes, d.GetVv("undeletes"));
    if (state.undeletes.empty()) return d.Bad("empty undeletes stored");
  } else {
    core::ClearKeepingMemory(state.undeletes);
  }
  if (!d.in().done()) return d.Bad(std::to_string(d.in().remaining()) + " trailing bytes");
  return Status::Ok();
}

Result<core::RecordState> DecodeRecordState(std::string_view bytes, const ReplicaDictionary& dict) {
  core::RecordState state;
  DAICHO_RETURN_IF_ERROR(DecodeRecordState(bytes, dict, state));
  return state;
}

}  // namespace daicho::storage
