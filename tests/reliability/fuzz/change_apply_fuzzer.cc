// Change application: remote changes applied to a fresh replica (LMDB in the
// scratch directory), with or without the fixture ledger under them, either
// straight (Replica::Apply) or sealed under the test office key and applied
// through SealedChangeStore as a relay sync does. Whatever applied must read
// back: every record a batch changed, its context, the conflict listing and
// the change log.
//
// Input: one mode byte (bit 0: start empty), then chunks (fuzz_support.h),
// each a control byte and a payload. Control bits 0-1: the origin
// (FixedId(1 + n); 1 and 2 wrote the fixture); bit 2: apply the batch so far
// first; bit 3: repeat the origin's last seq (a duplicate) instead of the
// next; bit 4: sealed.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sealed_change.h"
#include "sync/replica_change_store.h"
#include "sync/sealed_change_store.h"
#include "tests/reliability/fuzz/fuzz_support.h"

namespace {

using namespace daicho;
using daicho::fuzz::Check;

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
  return 0;
}
