// Change application: remote changes applied to a fresh replica (LMDB in the
// scratch directory), with or without the fixture ledger under them, either
// straight (Replica::Apply) or sealed under the test office key and applied
// through SealedChangeStore as a relay sync does. Whatever applied must read
// back: every record a batch changed, its context, the conflict listing and
// the change log; and a second replica given every change held, the origins
// in the opposite order, must show every record the same (the merge rules
// do not depend on the order across origins). That last check is made only
// for histories that can happen: a change whose contexts claim to have seen
// itself or a later change of its own origin, directly or through others
// (two changes that saw each other), is made by no replica, and the merge
// rules promise nothing for it (see CausallyPossible).
//
// Input: one mode byte (bit 0: start empty), then chunks (fuzz_support.h),
// each a control byte and a payload. Control bits 0-1: the origin
// (FixedId(1 + n); 1 and 2 wrote the fixture); bit 2: apply the batch so far
// first; bit 3: repeat the origin's last seq (a duplicate) instead of the
// next; bit 4: sealed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sealed_change.h"
#include "storage/codec/change_codec.h"
#include "sync/replica_change_store.h"
#include "sync/sealed_change_store.h"
#include "tests/reliability/fuzz/fuzz_support.h"

namespace {

using namespace daicho;
using daicho::fuzz::Check;

std::string DumpValue(const Value& v) {
  std::string out = std::to_string(static_cast<int>(v.type())) + ":";
  switch (v.type()) {
    case Value::Type::kNull:
      break;
    case Value::Type::kBool:
      out += v.as_bool() ? "1" : "0";
      break;
    case Value::Type::kInt:
      out += std::to_string(v.as_int());
      break;
    case Value::Type::kDouble: {
      uint64_t bits = 0;
      const double d = v.as_double();
      std::memcpy(&bits, &d, sizeof bits);
      out += std::to_string(bits);
      break;
    }
    case Value::Type::kString:
      out += v.as_string();
      break;
    case Value::Type::kBytes:
      out += v.as_bytes().data;
      break;
  }
  return out + ";";
}

std::string DumpDot(const Dot& d) { return d.origin.ToHex() + ":" + std::to_string(d.counter); }

// Everything a read shows of a record, as one string.
std::string Dump(const Record& r) {
  std::string out =
      r.collection + "/" + r.id + (r.deleted ? " deleted" : "") + (r.delete_conflict ? " delete-conflict" : "") + "\n";
  for (const FieldView& f : r.fields) {
    out += f.name + " " + std::to_string(static_cast<int>(f.kind)) + " " + DumpValue(f.value);
    for (const std::string& e : f.elements) out += " e:" + e;
    for (const Sibling& s : f.siblings) out += " s:" + DumpValue(s.value) + DumpDot(s.dot);
    out += f.conflict ? " conflict" : "";
    out += f.kind_conflict ? " kind-conflict" : "";
    for (const KindValue& k : f.other_kinds) {
      out += " k:" + std::to_string(static_cast<int>(k.kind)) + DumpValue(k.value);
      for (const std::string& e : k.elements) out += " e:" + e;
    }
    out += "\n";
  }
  return out;
}

std::string DumpVv(const VersionVector& vv) {
  std::string out = "{";
  for (const auto& e : vv.entries()) out += e.replica.ToHex().substr(0, 2) + ":" + std::to_string(e.counter) + " ";
  return out + "}";
}

// The held changes' ops, for the message of a broken invariant.
std::string DumpChanges(const std::vector<ChangeBlob>& log) {
  std::string out;
  for (const ChangeBlob& blob : log) {
    auto change = storage::DecodeChangePayload(blob.origin, blob.seq, blob.payload, Limits{});
    out += "change " + DumpDot(Dot{blob.origin, blob.seq}).substr(30) + "\n";
    if (!change.ok()) continue;
    for (const core::RecordOps& record : change->records) {
      for (const core::Op& op : record.ops) {
        out += "  " + record.collection + "/" + record.id + " op " + std::to_string(static_cast<int>(op.type)) + " " +
               op.field + " " + DumpValue(op.value) + " ctx" + DumpVv(op.context) + " kctx" + DumpVv(op.kind_context) +
               " delta " + std::to_string(op.delta) + " elem " + op.element + " observed " +
               std::to_string(op.observed.size()) + "\n";
      }
    }
  }
  return out;
}

// Whether the held changes form a history replicas can make: the causal past
// each change claims (its ops' contexts, kind contexts and observed dots,
// closed over the changes it names and its origin's earlier changes) never
// reaches the change itself.
bool CausallyPossible(const std::vector<ChangeBlob>& log) {
  std::map<Dot, VersionVector> past;
  std::map<ReplicaId, uint64_t> held;
  for (const ChangeBlob& blob : log) {
    auto change = storage::DecodeChangePayload(blob.origin, blob.seq, blob.payload, Limits{});
    fuzz::CheckOk(change.status(), "decoding a held change");
    VersionVector& seen = past[Dot{blob.origin, blob.seq}];
    if (blob.seq > 1) seen.Advance(blob.origin, blob.seq - 1);
    for (const core::RecordOps& record : change->records) {
      for (const core::Op& op : record.ops) {
        seen.Join(op.context);
        seen.Join(op.kind_context);
        for (const Dot& d : op.observed) seen.Advance(d);
      }
    }
    held[blob.origin] = std::max(held[blob.origin], blob.seq);
  }
  for (bool grew = true; grew;) {
    grew = false;
    for (auto& [dot, seen] : past) {
      VersionVector closed = seen;
      for (const auto& e : seen.entries()) {
        const uint64_t upto = std::min(e.counter, held[e.replica]);
        if (upto == 0) continue;
        auto it = past.find(Dot{e.replica, upto});
        if (it != past.end()) closed.Join(it->second);
      }
      if (!(closed == seen)) {
        seen = std::move(closed);
        grew = true;
      }
      if (seen.Get(dot.origin) >= dot.counter) return false;
    }
  }
  return true;
}

struct Batch {
  std::vector<ChangeBlob> plain;
  std::vector<ChangeBlob> sealed;
};

class Harness {
 public:
  Harness(bool with_fixture) : store_(*replica_), sealed_store_(store_, fuzz::kContract, fuzz::TestKeyRing().Clone()) {
    if (with_fixture) fuzz::CheckOk(replica_->Apply(fuzz::FixtureBlobs()).status(), "fixture ledger");
    Reload();
  }

  void Add(uint8_t control, std::string_view payload) {
    if (control & 4) Flush();
    const ReplicaId origin = fuzz::FixedId(static_cast<uint8_t>(1 + (control & 3)));
    uint64_t& next = next_[origin];
    const uint64_t seq = (control & 8) && next > 1 ? next - 1 : next++;
    ChangeBlob blob{origin, seq, std::string(payload)};
    if (control & 16) {
      auto sealed =
          crypto::SealChange(fuzz::TestKeyRing(), crypto::ChangeAddress{fuzz::kContract, origin, seq}, payload);
      fuzz::CheckOk(sealed.status(), "sealing a change");
      blob.payload = *std::move(sealed);
      batch_.sealed.push_back(std::move(blob));
    } else {
      batch_.plain.push_back(std::move(blob));
    }
  }

  void Flush() {
    if (!batch_.plain.empty()) {
      auto applied = replica_->Apply(batch_.plain);
      if (applied.ok()) {
        for (const RecordKey& key : applied->changed) changed_.push_back(key);
      }
    }
    if (!batch_.sealed.empty()) (void)sealed_store_.Apply(batch_.sealed);
    batch_ = {};
    Reload();
  }

  // Everything applied reads back.
  void CheckReads() {
    for (const RecordKey& key : changed_) {
      auto record = replica_->Get(key.collection, key.id);
      fuzz::CheckOk(record.status(), "reading a record an applied change wrote");
      fuzz::CheckOk(replica_->GetRecordContext(key.collection, key.id).status(), "reading a record's context");
      auto page = replica_->List(key.collection, ListOptions{.limit = 20, .include_deleted = true});
      fuzz::CheckOk(page.status(), "listing a collection an applied change wrote");
    }
    fuzz::CheckOk(replica_->ListConflicts().status(), "listing conflicts");
    auto log = replica_->ChangesSince(VersionVector());
    fuzz::CheckOk(log.status(), "reading the change log");
    auto vv = replica_->GetVersionVector();
    fuzz::CheckOk(vv.status(), "reading the version vector");
    size_t held = 0;
    for (const auto& e : vv->entries()) held += e.counter;
    Check(log->size() == held, "the change log and the version vector disagree");
    fuzz::CheckOk(replica_->RecordsChangedSince(VersionVector()).status(), "scanning the changed records");
  }

  // The same changes, applied with the origins in the opposite order, give
  // the same records.
  void CheckOrderIndependence() {
    auto log = replica_->ChangesSince(VersionVector());
    fuzz::CheckOk(log.status(), "reading the change log");
    const std::vector<ChangeBlob> held = *log;
    if (!CausallyPossible(held)) return;
    std::stable_sort(log->begin(), log->end(),
                     [](const ChangeBlob& a, const ChangeBlob& b) { return b.origin < a.origin; });
    fuzz::ScratchReplica other;
    fuzz::CheckOk(other->Apply(*log).status(), "applying held changes in another order");
    auto keys = replica_->RecordsChangedSince(VersionVector());
    fuzz::CheckOk(keys.status(), "scanning the changed records");
    for (const RecordKey& key : *keys) {
      auto a = replica_->Get(key.collection, key.id);
      auto b = other->Get(key.collection, key.id);
      fuzz::CheckOk(a.status(), "reading a record");
      fuzz::CheckOk(b.status(), "reading a record applied in another order");
      if (Dump(*a) != Dump(*b)) {
        fuzz::Fail("the order of origins changed a record:\n" + Dump(*a) + "-- versus --\n" + Dump(*b) +
                   "-- the changes held --\n" + DumpChanges(held));
      }
    }
  }

 private:
  void Reload() {
    auto vv = replica_->GetVersionVector();
    fuzz::CheckOk(vv.status(), "reading the version vector");
    next_.clear();
    for (uint8_t n = 1; n <= 4; ++n) next_[fuzz::FixedId(n)] = vv->Get(fuzz::FixedId(n)) + 1;
  }

  fuzz::ScratchReplica replica_;
  sync::ReplicaChangeStore store_;
  sync::SealedChangeStore sealed_store_;
  std::map<ReplicaId, uint64_t> next_;
  Batch batch_;
  std::vector<RecordKey> changed_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Harness harness((data[0] & 1) == 0);
  for (std::string_view chunk :
       fuzz::SplitChunks(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1))) {
    if (chunk.empty()) continue;
    harness.Add(static_cast<uint8_t>(chunk[0]), chunk.substr(1));
  }
  harness.Flush();
  harness.CheckReads();
  harness.CheckOrderIndependence();
  return 0;
}
