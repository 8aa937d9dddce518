// Change files (the USB-stick format): storage::ReadChangeFile on any bytes
// as a file, then what ImportChangeFile (client/change_file.cc) does with
// one: every change opened with the office key when the file is sealed, all
// of them applied to a fresh replica holding the fixture ledger, in batches
// per origin and seq order. ImportChangeFile itself cannot be linked here
// (it reads the PC's relay settings through the client library, which needs
// the transport, and clang 14 cannot compile the transport's coroutines with
// Boost 1.74), so these are its steps, on the same library calls.
//
// Input: one mode byte, then the file. Mode bit 1: the checksum in the
// file's last 8 bytes is made right for the bytes before its end marker, so
// that mutations reach the entries behind it (a fuzzer cannot forge FNV-1a).
// Mode bit 0: the file's payloads are taken as plaintext, sealed here under
// the test office key for the fixture's contract and written back as a
// sealed file, which is then imported: mutations reach the change decoder
// behind the AEAD.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/sealed_change.h"
#include "storage/codec/binary.h"
#include "storage/codec/change_file.h"
#include "tests/reliability/fuzz/fuzz_support.h"

namespace {

using namespace daicho;
using daicho::fuzz::Check;

constexpr size_t kApplyBatchChanges = 1000;

void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  Check(static_cast<bool>(out), "writing the input file");
}

void Import(const std::string& path) {
  auto file = storage::ReadChangeFile(path);
  if (!file.ok()) {
    Check(file.status().code() == Code::kCorruption, "a damaged change file is not kCorruption");
    return;
  }
  if (file->header.key_id != 0) {
    if (file->header.contract != fuzz::kContract) return;  // another office's: refused
    if (fuzz::TestKeyRing().Find(file->header.key_id) == nullptr) return;
    for (ChangeBlob& change : file->changes) {
      auto plain = crypto::OpenChange(
          fuzz::TestKeyRing(), crypto::ChangeAddress{file->header.contract, change.origin, change.seq}, change.payload);
      if (!plain.ok()) return;  // nothing is imported
      change.payload = *std::move(plain);
    }
  }
  std::stable_sort(file->changes.begin(), file->changes.end(), [](const ChangeBlob& a, const ChangeBlob& b) {
    return a.origin != b.origin ? a.origin < b.origin : a.seq < b.seq;
  });
  fuzz::ScratchReplica replica;
  fuzz::CheckOk(replica->Apply(fuzz::FixtureBlobs()).status(), "fixture ledger");
  const std::span<const ChangeBlob> all(file->changes);
  std::vector<RecordKey> changed;
  for (size_t start = 0; start < all.size(); start += kApplyBatchChanges) {
    auto batch = replica->Apply(all.subspan(start, std::min(kApplyBatchChanges, all.size() - start)));
    if (!batch.ok()) break;
    changed.insert(changed.end(), batch->changed.begin(), batch->changed.end());
  }
  for (const RecordKey& key : changed) {
    fuzz::CheckOk(replica->Get(key.collection, key.id).status(), "reading a record an imported change wrote");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string path = fuzz::ScratchDir() + "/input.daicho";
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr size_t kTrailerBytes = 24;  // "DCFEND!!", u64 count, u64 checksum
  if ((data[0] & 2) && bytes.size() >= kTrailerBytes) {
    uint64_t sum = storage::Fnv1a64().Update(std::string_view(bytes).substr(0, bytes.size() - kTrailerBytes)).value();
    for (size_t i = 0; i < 8; ++i, sum >>= 8) bytes[bytes.size() - 8 + i] = static_cast<char>(sum & 0xFF);
  }
  WriteFile(path, bytes);
  if (data[0] & 1) {
    auto file = storage::ReadChangeFile(path);
    if (!file.ok()) return 0;
    for (ChangeBlob& change : file->changes) {
      auto sealed = crypto::SealChange(
          fuzz::TestKeyRing(), crypto::ChangeAddress{fuzz::kContract, change.origin, change.seq}, change.payload);
      fuzz::CheckOk(sealed.status(), "sealing a change");
      change.payload = *std::move(sealed);
    }
    storage::ChangeFileHeader header;
    header.contract = fuzz::kContract;
    header.key_id = fuzz::TestKeyRing().current_id();
    if (!storage::WriteChangeFile(path, header, file->changes).ok()) return 0;
  }
  Import(path);
  return 0;
}
