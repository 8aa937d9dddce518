// What the libFuzzer targets of tests/reliability/fuzz/ share: the office
// key every sealed input is sealed with (so mutations reach the decoders
// behind the AEAD), fixed replica ids, inputs made of several chunks, a fresh
// replica per run in a scratch directory, and the fixture ledger (changes of
// two PCs with every kind of op, conflicts and deletes) that seeds and
// harnesses build on. A failed invariant aborts: libFuzzer keeps the input.
#ifndef DAICHO_TESTS_RELIABILITY_FUZZ_FUZZ_SUPPORT_H_
#define DAICHO_TESTS_RELIABILITY_FUZZ_FUZZ_SUPPORT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/change.h"
#include "crypto/key_ring.h"
#include "daicho/replica.h"
#include "daicho/replica_id.h"
#include "daicho/status.h"

namespace daicho::fuzz {

// The contract every sealed input is bound to.
inline constexpr char kContract[] = "1234-5678-9012";

// The test office key: id 1, fixed bytes. Never a real office's.
const crypto::KeyRing& TestKeyRing();

// Fixed replica ids 1..255 (every byte `n`), as the fixture ledger uses.
ReplicaId FixedId(uint8_t n);

// An input holding several messages: each chunk is a 2-byte little-endian
// length and that many bytes (the last one may be cut short).
std::vector<std::string_view> SplitChunks(std::string_view data);
std::string JoinChunks(const std::vector<std::string>& chunks);

// Aborts the run naming the broken invariant (a finding).
[[noreturn]] void Fail(const std::string& what);
inline void Check(bool ok, const char* what) {
  if (!ok) Fail(what);
}
// Aborts when `status` is not ok: the harness's own setup failed.
void CheckOk(const Status& status, const char* what);

// A directory for this process's scratch files, removed at exit. Under
// $TMPDIR (run.sh points it at /dev/shm when that exists).
const std::string& ScratchDir();

// A new, empty replica in its own scratch directory, removed with it.
class ScratchReplica {
 public:
  // verify_on_open off: a fresh file needs no check, and each run opens one.
  ScratchReplica();
  ~ScratchReplica();
  ScratchReplica(const ScratchReplica&) = delete;
  ScratchReplica& operator=(const ScratchReplica&) = delete;
  Replica& operator*() { return *replica_; }
  Replica* operator->() { return replica_.get(); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<Replica> replica_;
};

// The fixture ledger: changes of PCs FixedId(1) and FixedId(2) over
// collections "customers" and "permits": registers written concurrently
// (a conflict), counters, sets with concurrent add and remove, a name reused
// as another kind, a delete and a concurrent edit (a delete conflict), an
// undelete. In an order that applies without gaps; stamps from a fake clock,
// so the bytes are the same on every run.
const std::vector<core::Change>& FixtureChanges();
// The same as blobs (payloads in the storage format, unsealed).
const std::vector<ChangeBlob>& FixtureBlobs();

}  // namespace daicho::fuzz

#endif  // DAICHO_TESTS_RELIABILITY_FUZZ_FUZZ_SUPPORT_H_
