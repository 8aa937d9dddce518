#include "tests/reliability/fuzz/fuzz_support.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "core/change_builder.h"
#include "storage/codec/change_codec.h"
#include "tests/core/memory_replica.h"

namespace daicho::fuzz {

const crypto::KeyRing& TestKeyRing() {
  static const crypto::KeyRing* ring = [] {
    CheckOk(crypto::InitSodium(), "libsodium");
    auto* r = new crypto::KeyRing();
    crypto::KeyRing::Key key;
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(0xA5 ^ i);
    CheckOk(r->Add(1, key), "test key");
    return r;
  }();
  return *ring;
}

ReplicaId FixedId(uint8_t n) {
  ReplicaId::Bytes bytes;
  bytes.fill(n);
  return ReplicaId(bytes);
}

std::vector<std::string_view> SplitChunks(std::string_view data) {
  std::vector<std::string_view> chunks;
  while (data.size() >= 2) {
    const size_t n = static_cast<uint8_t>(data[0]) | (static_cast<size_t>(static_cast<uint8_t>(data[1])) << 8);
    data.remove_prefix(2);
    const size_t take = n < data.size() ? n : data.size();
    chunks.push_back(data.substr(0, take));
    data.remove_prefix(take);
  }
  return chunks;
}

std::string JoinChunks(const std::vector<std::string>& chunks) {
  std::string out;
  for (const std::string& c : chunks) {
    const size_t n = c.size() < 0xFFFF ? c.size() : 0xFFFF;
    out.push_back(static_cast<char>(n & 0xFF));
    out.push_back(static_cast<char>(n >> 8));
    out.append(c, 0, n);
  }
  return out;
}

void Fail(const std::string& what) {
  std::fprintf(stderr, "FUZZ INVARIANT BROKEN: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void CheckOk(const Status& status, const char* what) {
  if (!status.ok()) Fail(std::string(what) + ": " + status.ToString());
}

namespace {

struct Scratch {
  std::string path;
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    std::string base = tmp && *tmp ? tmp : "/tmp";
    path = base + "/daicho-fuzz-" + std::to_string(::getpid());
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    std::filesystem::create_directories(path, ec);
    if (ec) Fail("cannot make " + path + ": " + ec.message());
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

const std::string& ScratchDir() {
  static Scratch scratch;
  return scratch.path;
}

ScratchReplica::ScratchReplica() {
  static std::atomic<uint64_t> next{0};
  dir_ = ScratchDir() + "/replica-" + std::to_string(next++);
  ReplicaOptions options;
  options.create_if_missing = true;
  options.verify_on_open = false;
  options.initial_map_bytes = 8u << 20;
  options.warning_log = [](std::string_view) {};  // remote stamps far ahead are normal here
  auto replica = Replica::Open(dir_, options);
  CheckOk(replica.status(), "opening a scratch replica");
  replica_ = std::move(replica).value();
}

ScratchReplica::~ScratchReplica() {
  replica_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

const std::vector<core::Change>& FixtureChanges() {
  static const std::vector<core::Change>* changes = [] {
    using core::testing::MemoryReplica;
    using core::testing::kTestEpochMs;
    MemoryReplica a(FixedId(1), kTestEpochMs);
    MemoryReplica b(FixedId(2), kTestEpochMs + 5);
    core::ChangeBuilder w;
    w.Set("customers", "c1", "name", Value("Tanaka Kōmuten"));
    w.Set("customers", "c1", "phone", Value("03-1234-5678"));
    w.Add("customers", "c1", "filings", 3);
    w.SetAdd("customers", "c1", "trades", "plumbing");
    w.SetAdd("customers", "c1", "trades", "electric");
    w.Set("customers", "c2", "name", Value("Suzuki"));
    w.Set("customers", "c2", "active", Value(true));
    w.Set("customers", "c2", "rate", Value(0.125));
    w.Set("permits", "p1", "number", Value(int64_t{4711}));
    w.Set("permits", "p1", "scan", Bytes{std::string("\x00\x01\xFF", 3)});
    a.Commit(w);
    b.SyncFrom(a);
    // Concurrent: both write c1.name, a removes a trade b adds again, b
    // deletes c2 while a edits it, a reuses "phone" as a counter.
    a.clock().Advance(1000);
    b.clock().Advance(1000);
    w.Set("customers", "c1", "name", Value("Tanaka Construction"));
    w.SetRemove("customers", "c1", "trades", "plumbing");
    w.Set("customers", "c2", "name", Value("Suzuki & Sons"));
    w.Add("customers", "c1", "phone", 2);
    a.Commit(w);
    w.Set("customers", "c1", "name", Value("田中工務店"));
    w.SetAdd("customers", "c1", "trades", "plumbing");
    w.Add("customers", "c1", "filings", -1);
    w.Delete("customers", "c2");
    w.Set("customers", "c3", "name", Value(""));
    w.Set("customers", "c3", "note", Value());
    b.Commit(w);
    b.clock().Advance(1000);
    w.Delete("permits", "p1");
    b.Commit(w);
    w.Undelete("permits", "p1");
    w.SetAdd("permits", "p1", "number", "4711-a");
    b.Commit(w);
    a.SyncFrom(b);
    b.SyncFrom(a);
    a.clock().Advance(1000);
    w.Set("customers", "c1", "name", Value("Tanaka Construction Co."));
    a.Commit(w);
    // Every change once, each origin in seq order.
    auto* out = new std::vector<core::Change>();
    for (const core::Change& c : a.log()) out->push_back(c);
    return out;
  }();
  return *changes;
}

const std::vector<ChangeBlob>& FixtureBlobs() {
  static const std::vector<ChangeBlob>* blobs = [] {
    auto* out = new std::vector<ChangeBlob>();
    for (const core::Change& c : FixtureChanges()) {
      out->push_back(ChangeBlob{c.origin, c.seq, storage::EncodeChangePayload(c)});
    }
    return out;
  }();
  return *blobs;
}

}  // namespace daicho::fuzz
