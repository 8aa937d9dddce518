#include "tests/reliability/simulation/sim_checks.h"

#include <algorithm>
#include <initializer_list>
#include <set>

#include "core/change.h"
#include "core/record_state.h"
#include "daicho/limits.h"
#include "storage/codec/change_codec.h"
#include "tests/testing/canonical_store.h"

namespace daicho::simulation {
namespace {

std::string DotText(const Dot& dot) { return dot.origin.ToHex().substr(0, 8) + ":" + std::to_string(dot.counter); }

std::string DotsText(const std::set<std::pair<std::string, uint64_t>>& dots) {
  std::string out = "{";
  for (const auto& [origin, counter] : dots) out += " " + origin.substr(0, 8) + ":" + std::to_string(counter);
  return out + " }";
}

std::string VvText(const VersionVector& vv) {
  std::string out = "[";
  for (const auto& e : vv.entries()) out += " " + e.replica.ToHex().substr(0, 8) + ":" + std::to_string(e.counter);
  return out + " ]";
}

std::string DescribeState(const core::RecordState& state) {
  std::string out = "deletes=" + VvText(state.deletes) + " undeletes=" + VvText(state.undeletes);
  for (const core::FieldState& f : state.fields) {
    out += "\n  " + f.name;
    if (f.reg) {
      out += " reg{ctx=" + VvText(f.reg->context) + " kctx=" + VvText(f.reg->kind_context) + " siblings:";
      for (const auto& s : f.reg->siblings) out += " " + DotText(s.dot);
      out += "}";
    }
    if (f.counter) {
      out += " counter{total=" + std::to_string(f.counter->Total()) + " kctx=" + VvText(f.counter->kind_context) + "}";
    }
    if (f.set) {
      out += " set{kctx=" + VvText(f.set->kind_context);
      for (const auto& e : f.set->elements) {
        out += " " + e.value + "(live";
        for (const Dot& d : e.live) out += " " + DotText(d);
        out += " tomb " + VvText(e.tombstone) + ")";
      }
      out += "}";
    }
  }
  return out;
}

std::string PrintableKey(std::string key) {
  std::replace(key.begin(), key.end(), '\0', '/');
  return key;
}

// Both stores' decoded states of a differing record, for the report.
std::string DescribeStates(const std::vector<std::string>& dirs, std::initializer_list<size_t> which,
                           const std::string& key, const std::string& db) {
  if (db != "records") return "";
  std::string out;
  for (size_t i : which) {
    auto states = testing::ReadRecordStates(dirs[i]);
    if (!states.ok()) continue;
    auto it = states->find(key);
    out += "\npc" + std::to_string(i) + ": " + (it == states->end() ? "no such record" : DescribeState(it->second));
  }
  return out;
}

uint64_t Fnv(const std::string& bytes, uint64_t hash) {
  for (unsigned char c : bytes) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}

}  // namespace

Status SimChecks::CheckReplica(const std::string& name, const Replica& replica, const VersionVector& relay_holds,
                               uint64_t commits) const {
  DAICHO_ASSIGN_OR_RETURN(VersionVector holds, replica.GetVersionVector());
  if (!(holds == relay_holds)) {
    return Internal(name + " holds " + holds.ToString() + " but the relay holds " + relay_holds.ToString());
  }
  for (const Dot& dot : acknowledged_) {
    if (!holds.Covers(dot)) return Internal(name + " lacks the acknowledged commit " + DotText(dot));
  }
  if (holds.Total() != commits) {
    return Internal(name + " holds " + std::to_string(holds.Total()) + " changes for " + std::to_string(commits) +
                    " acknowledged commits");
  }
  for (const auto& [key, sum] : counter_sums_) {
    DAICHO_ASSIGN_OR_RETURN(Record record, replica.Get(key.first, key.second));
    const FieldView* n = record.Find("n");
    if (n == nullptr || n->kind != FieldKind::kCounter || !(n->value == Value(sum))) {
      return Internal(name + ": counter " + key.first + "/" + key.second + ".n shows " +
                      (n == nullptr ? std::string("nothing") : n->value.ToDisplayString()) +
                      ", acknowledged adds total " + std::to_string(sum));
    }
  }
  return Status::Ok();
}

Status SimChecks::CollectRegisterWrites(const Replica& replica) {
  register_writes_.clear();
  DAICHO_ASSIGN_OR_RETURN(std::vector<ChangeBlob> changes, replica.ChangesSince(VersionVector()));
  for (const ChangeBlob& blob : changes) {
    DAICHO_ASSIGN_OR_RETURN(core::Change change,
                            storage::DecodeChangePayload(blob.origin, blob.seq, blob.payload, Limits(),
                                                         storage::ValueDecoding::kCheckOnly));
    for (const core::RecordOps& record : change.records) {
      std::string key = record.collection;
      key.push_back('\0');
      key += record.id;
      for (const core::Op& op : record.ops) {
        if (op.type != core::OpType::kSetRegister) continue;
        register_writes_[{key, op.field}].push_back(RegisterWrite{change.dot(), op.context});
      }
    }
  }
  return Status::Ok();
}

Status SimChecks::CheckRegisters(const std::string& dir, const std::string& name) const {
  DAICHO_ASSIGN_OR_RETURN(auto states, testing::ReadRecordStates(dir));
  for (const auto& [where, writes] : register_writes_) {
    std::set<std::pair<std::string, uint64_t>> maximal;
    for (const RegisterWrite& w : writes) {
      const bool covered = std::any_of(writes.begin(), writes.end(), [&w](const RegisterWrite& other) {
        return &other != &w && other.context.Covers(w.dot);
      });
      if (!covered) maximal.emplace(w.dot.origin.ToHex(), w.dot.counter);
    }
    std::set<std::pair<std::string, uint64_t>> held;
    auto state = states.find(where.first);
    const core::FieldState* field = state == states.end() ? nullptr : state->second.FindField(where.second);
    if (field != nullptr && field->reg) {
      for (const core::RegisterSibling& s : field->reg->siblings) held.emplace(s.dot.origin.ToHex(), s.dot.counter);
    }
    if (held != maximal) {
      std::string writes_text;
      for (const RegisterWrite& w : writes) writes_text += "\n  " + DotText(w.dot) + " context " + VvText(w.context);
      return Internal(name + ": register " + PrintableKey(where.first) + "." + where.second + " holds " +
                      DotsText(held) + " but its causally maximal writes are " + DotsText(maximal) +
                      "; its writes:" + writes_text);
    }
  }
  return Status::Ok();
}

Result<std::string> SimChecks::CheckStoresIdentical(const std::vector<std::string>& dirs) const {
  // Per store first: a register off the rules names itself better than a
  // byte difference does.
  for (size_t i = 0; i < dirs.size(); ++i) DAICHO_RETURN_IF_ERROR(CheckRegisters(dirs[i], "pc" + std::to_string(i)));
  uint64_t digest = 0xcbf29ce484222325ull;
  for (const char* db : {"records", "changes", "conflicts"}) {
    DAICHO_ASSIGN_OR_RETURN(auto first, testing::DumpCanonicalDatabase(dirs[0], db));
    for (size_t i = 1; i < dirs.size(); ++i) {
      DAICHO_ASSIGN_OR_RETURN(auto other, testing::DumpCanonicalDatabase(dirs[i], db));
      if (other != first) {
        auto [mine, theirs] = std::mismatch(first.begin(), first.end(), other.begin(), other.end());
        const std::string key = mine != first.end() ? mine->first : theirs->first;
        return Internal(std::string("database '") + db + "' of pc" + std::to_string(i) + " differs from pc0's at key " +
                        PrintableKey(key) + DescribeStates(dirs, {0, i}, key, db));
      }
    }
    for (const auto& [key, value] : first) digest = Fnv(value, Fnv(key, digest));
  }
  return "canonical state " + std::to_string(digest);
}

}  // namespace daicho::simulation
