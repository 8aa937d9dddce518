#include "sync/sync_session.h"

#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>

#include "daicho/replica.h"
#include "sync/replica_change_store.h"
#include "sync/wire_codec.h"
#include "tests/testing/test_util.h"

namespace daicho::sync {
namespace {

using daicho::testing::TempDir;
using ChangeKey = std::pair<std::string, uint64_t>;  // (origin hex, seq)

// One PC: a real replica on disk and its ChangeStore view.
struct Pc {
  std::unique_ptr<Replica> replica;
  std::unique_ptr<ReplicaChangeStore> store;
};

Pc OpenPc(const TempDir& dir, const std::string& name) {
  ReplicaOptions options;
  options.create_if_missing = true;
  auto r = Replica::Open(dir.Sub(name), options);
  EXPECT_TRUE(r.ok()) << r.status();
  Pc pc;
  pc.replica = std::move(r).value();
  pc.store = std::make_unique<ReplicaChangeStore>(*pc.replica);
  return pc;
}

SessionOptions Options(SessionRole role, size_t max_in_flight = 4) {
  SessionOptions o;
  o.role = role;
  o.max_in_flight_batches = max_in_flight;
  return o;
}

// Shuttles frames between two sessions: per direction in order (as a
// WebSocket does), the two directions interleaved at random. Watches the
// traffic: unacknowledged batches per sender, batch sizes, which changes
// went over and which were acknowledged.
class FramePipe {
 public:
  FramePipe(SyncSession& a, SyncSession& b, uint32_t seed) : sessions_{&a, &b}, rng_(seed) {}

  // Frames `from` (0 = a, 1 = b) produced, queued for the other side.
  void Send(int from, std::vector<std::string> frames) {
    Direction& d = dirs_[from];
    for (std::string& f : frames) {
      auto m = DecodeFrame(f);
      ASSERT_TRUE(m.ok()) << m.status();
      if (auto* batch = std::get_if<ChangesBatch>(&*m)) {
        size_t payload = 0;
        std::vector<ChangeKey> keys;
        for (const ChangeBlob& c : batch->changes) {
          payload += c.payload.size();
          keys.emplace_back(c.origin.ToHex(), c.seq);
          d.sent.push_back(keys.back());
        }
        ++d.batches;
        if (batch->changes.size() > 1) max_multi_batch_payload_ = std::max(max_multi_batch_payload_, payload);
        d.batch_changes[batch->batch_id] = std::move(keys);
        // Unacknowledged as the sender sees it: until the Ack is delivered.
        d.unacked.insert(batch->batch_id);
        d.max_unacked = std::max(d.max_unacked, d.unacked.size());
      }
      if (auto* part = std::get_if<ChangePart>(&*m); part && part->offset == 0) {
        // A change in parts: a batch of its own, acknowledged once whole.
        d.sent.emplace_back(part->origin.ToHex(), part->seq);
        ++d.batches;
        d.batch_changes[part->batch_id] = {d.sent.back()};
        d.unacked.insert(part->batch_id);
        d.max_unacked = std::max(d.max_unacked, d.unacked.size());
      }
      uint64_t acks = 0;
      if (auto* ack = std::get_if<Ack>(&*m)) {
        // The other direction's batch is durable at the receiver now.
        Direction& other = dirs_[1 - from];
        auto it = other.batch_changes.find(ack->batch_id);
        ASSERT_NE(it, other.batch_changes.end());
        for (auto& k : it->second) other.acked.insert(k);
        acks = ack->batch_id;
      }
      d.queue.push_back(Queued{std::move(f), acks});
    }
  }

  // Delivers one frame from a random non-empty direction. False if idle.
  bool Step() {
    int from;
    if (dirs_[0].queue.empty() && dirs_[1].queue.empty()) return false;
    if (dirs_[0].queue.empty())
      from = 1;
    else if (dirs_[1].queue.empty())
      from = 0;
    else
      from = static_cast<int>(rng_() % 2);
    Queued q = std::move(dirs_[from].queue.front());
    dirs_[from].queue.pop_front();
    if (q.acks != 0) dirs_[1 - from].unacked.erase(q.acks);
    auto out = sessions_[1 - from]->OnFrame(q.frame);
    EXPECT_TRUE(out.ok()) << out.status();
    if (out.ok()) Send(1 - from, std::move(out).value());
    ++delivered_;
    return true;
  }

  // Delivers until idle or `max_frames` were delivered.
  void Run(size_t max_frames = SIZE_MAX) {
    for (size_t i = 0; i < max_frames && Step();) ++i;
  }

  struct Queued {
    std::string frame;
    uint64_t acks = 0;  // the batch id if the frame is an Ack
  };
  struct Direction {
    std::deque<Queued> queue;
    std::map<uint64_t, std::vector<ChangeKey>> batch_changes;
    std::set<uint64_t> unacked;
    std::vector<ChangeKey> sent;
    std::set<ChangeKey> acked;
    size_t max_unacked = 0;
    size_t batches = 0;
  };
  const Direction& from(int side) const { return dirs_[side]; }
  size_t delivered() const { return delivered_; }
  size_t max_multi_batch_payload() const { return max_multi_batch_payload_; }

 private:
  SyncSession* sessions_[2];
  Direction dirs_[2];
  std::mt19937 rng_;
  size_t delivered_ = 0;
  size_t max_multi_batch_payload_ = 0;
};

// Starts `a` (initiator) against `b` and runs the pipe to quiescence.
void SyncThrough(FramePipe& pipe, SyncSession& a, size_t max_frames = SIZE_MAX) {
  auto hello = a.Start();
  ASSERT_DAICHO_OK(hello);
  pipe.Send(0, std::move(hello).value());
  pipe.Run(max_frames);
}

void Write(Replica& r, const std::string& id, const std::string& field, const std::string& value) {
  auto txn = r.BeginWrite();
  ASSERT_DAICHO_OK(txn.Set("customers", id, field, Value(value)));
  ASSERT_DAICHO_OK(txn.Commit());
}

// Records as comparable text: every field, its value, siblings and conflict flag.
std::string Dump(const Replica& r, const std::string& collection) {
  ListOptions lo;
  lo.limit = 0;
  lo.include_deleted = true;
  auto page = r.List(collection, lo);
  EXPECT_TRUE(page.ok()) << page.status();
  if (!page.ok()) return "";
  std::string out;
  for (const Record& rec : page->records) {
    out += rec.id + (rec.deleted ? " deleted" : "") + "\n";
    for (const FieldView& f : rec.fields) {
      out += "  " + f.name + (f.conflict ? " conflict" : "") + " siblings=" + std::to_string(f.siblings.size());
      for (const Sibling& s : f.siblings) {
        out += s.value.type() == Value::Type::kString ? " [" + std::string(s.value.as_string()) + "]" : " [?]";
      }
      out += "\n";
    }
  }
  return out;
}

void ExpectConverged(Pc& a, Pc& b) {
  auto va = a.replica->GetVersionVector();
  auto vb = b.replica->GetVersionVector();
  ASSERT_DAICHO_OK(va);
  ASSERT_DAICHO_OK(vb);
  EXPECT_EQ(*va, *vb);
  EXPECT_EQ(Dump(*a.replica, "customers"), Dump(*b.replica, "customers"));
}

TEST(SyncSessionTest, TwoReplicasWithEditsOnBothSidesConvergeKeepingTheConflict) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir dir;
    Pc a = OpenPc(dir, "a");
    Pc b = OpenPc(dir, "b");
    for (int i = 0; i < 20; ++i) {
      Write(*a.replica, "a" + std::to_string(i), "name", "A-" + std::to_string(i));
      Write(*b.replica, "b" + std::to_string(i), "name", "B-" + std::to_string(i));
    }
    Write(*a.replica, "shared", "phone", "03-1111");
    Write(*b.replica, "shared", "phone", "06-2222");

    SyncSession sa(*a.store, Options(SessionRole::kInitiator, 2), a.replica->id());
    SyncSession sb(*b.store, Options(SessionRole::kAcceptor, 2), b.replica->id());
    FramePipe pipe(sa, sb, seed);
    SyncThrough(pipe, sa);

    EXPECT_EQ(sa.state(), SessionState::kOpen) << sa.status();
    EXPECT_EQ(sb.state(), SessionState::kOpen) << sb.status();
    EXPECT_TRUE(sa.InSync());
    EXPECT_TRUE(sb.InSync());
    ExpectConverged(a, b);
    EXPECT_EQ(sa.stats().changes_sent, 21u);
    EXPECT_EQ(sb.stats().changes_received, 21u);
    EXPECT_EQ(sb.stats().changes_sent, 21u);
    auto shared = b.replica->Get("customers", "shared");
    ASSERT_DAICHO_OK(shared);
    ASSERT_NE(shared->Find("phone"), nullptr);
    EXPECT_TRUE(shared->Find("phone")->conflict);
    EXPECT_EQ(shared->Find("phone")->siblings.size(), 2u);
  }
}

TEST(SyncSessionTest, RandomLiveCommitsDuringSyncConvergeWithoutEchoes) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir dir;
    Pc pcs[2] = {OpenPc(dir, "a"), OpenPc(dir, "b")};
    for (int i = 0; i < 5; ++i) {
      Write(*pcs[0].replica, "r" + std::to_string(i), "name", "a" + std::to_string(i));
      Write(*pcs[1].replica, "r" + std::to_string(i), "name", "b" + std::to_string(i));
    }
    SessionOptions oa = Options(SessionRole::kInitiator, 2);
    SessionOptions ob = Options(SessionRole::kAcceptor, 2);
    oa.purpose = Purpose::kWatch;                   // live pushes (a one-shot sync sends what it had at the start)
    oa.max_batch_bytes = ob.max_batch_bytes = 100;  // many small batches
    SyncSession sa(*pcs[0].store, oa, pcs[0].replica->id());
    SyncSession sb(*pcs[1].store, ob, pcs[1].replica->id());
    SyncSession* sessions[2] = {&sa, &sb};
    FramePipe pipe(sa, sb, seed);
    auto hello = sa.Start();
    ASSERT_DAICHO_OK(hello);
    pipe.Send(0, std::move(hello).value());

    std::mt19937 rng(seed * 977);
    for (int step = 0; step < 400; ++step) {
      const uint32_t r = rng() % 8;
      if (r < 2) {
        // A commit on one side while frames are in flight both ways.
        Write(*pcs[r].replica, "r" + std::to_string(rng() % 5), "name", "v" + std::to_string(step));
        auto push = sessions[r]->OnLocalCommit();
        ASSERT_DAICHO_OK(push);
        pipe.Send(static_cast<int>(r), std::move(push).value());
      } else {
        pipe.Step();
      }
    }
    pipe.Run();

    EXPECT_TRUE(sa.InSync());
    EXPECT_TRUE(sb.InSync());
    ExpectConverged(pcs[0], pcs[1]);
    // Each side only ever sent its own changes: nothing was echoed back.
    for (int side = 0; side < 2; ++side) {
      for (const ChangeKey& k : pipe.from(side).sent) EXPECT_EQ(k.first, pcs[side].replica->id().ToHex());
      EXPECT_EQ(pipe.from(side).sent.size(), pcs[side].replica->GetVersionVector()->Get(pcs[side].replica->id()));
    }
  }
}

// 3,000 customers of 12 fields (~12 MB), committed 100 per change.
void WriteLargeLedger(Replica& r) {
  const std::string filler(300, 'x');
  for (int t = 0; t < 30; ++t) {
    auto txn = r.BeginWrite();
    for (int i = 0; i < 100; ++i) {
      const std::string id = "c" + std::to_string(t * 100 + i);
      for (int f = 0; f < 12; ++f) {
        ASSERT_DAICHO_OK(txn.Set("customers", id, "f" + std::to_string(f), Value(id + filler)));
      }
    }
    ASSERT_DAICHO_OK(txn.Commit());
  }
}

TEST(SyncSessionTest, LargeSyncRespectsBatchSizeAndInFlightLimits) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  WriteLargeLedger(*a.replica);

  constexpr size_t kInFlight = 3;
  SyncSession sa(*a.store, Options(SessionRole::kInitiator, kInFlight), a.replica->id());
  SyncSession sb(*b.store, Options(SessionRole::kAcceptor, kInFlight), b.replica->id());
  FramePipe pipe(sa, sb, 42);
  SyncThrough(pipe, sa);

  EXPECT_TRUE(sa.InSync());
  EXPECT_TRUE(sb.InSync());
  ExpectConverged(a, b);
  EXPECT_GE(pipe.from(0).batches, 10u);  // many batches, not one
  EXPECT_LE(pipe.from(0).max_unacked, kInFlight);
  EXPECT_EQ(pipe.from(0).max_unacked, kInFlight);  // the window was used
  EXPECT_LE(pipe.max_multi_batch_payload(), sa.options().max_batch_bytes);
  EXPECT_EQ(sa.stats().changes_sent, 30u);
  EXPECT_EQ(sa.stats().batches_acked, pipe.from(0).batches);
  EXPECT_EQ(sb.stats().changes_sent, 0u);
}

TEST(SyncSessionTest, CutConnectionResumesWithoutResendingAckedChanges) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  WriteLargeLedger(*a.replica);
  for (int i = 0; i < 10; ++i) Write(*b.replica, "b" + std::to_string(i), "name", "B");

  std::set<ChangeKey> acked_a, acked_b;
  {
    SyncSession sa(*a.store, Options(SessionRole::kInitiator, 2), a.replica->id());
    SyncSession sb(*b.store, Options(SessionRole::kAcceptor, 2), b.replica->id());
    FramePipe pipe(sa, sb, 7);
    SyncThrough(pipe, sa, 9);  // then the connection drops
    acked_a = pipe.from(0).acked;
    acked_b = pipe.from(1).acked;
    ASSERT_FALSE(acked_a.empty());
    ASSERT_LT(acked_a.size(), 30u);
    EXPECT_FALSE(sa.InSync());
  }
  SyncSession sa(*a.store, Options(SessionRole::kInitiator, 2), a.replica->id());
  SyncSession sb(*b.store, Options(SessionRole::kAcceptor, 2), b.replica->id());
  FramePipe pipe(sa, sb, 8);
  SyncThrough(pipe, sa);
  for (const ChangeKey& k : pipe.from(0).sent) EXPECT_EQ(acked_a.count(k), 0u) << k.first << ":" << k.second;
  for (const ChangeKey& k : pipe.from(1).sent) EXPECT_EQ(acked_b.count(k), 0u) << k.first << ":" << k.second;
  EXPECT_EQ(acked_a.size() + pipe.from(0).sent.size(), 30u);
  EXPECT_TRUE(sa.InSync());
  EXPECT_TRUE(sb.InSync());
  ExpectConverged(a, b);
}

TEST(SyncSessionTest, VersionMismatchIsRefusedWithAnError) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  SessionOptions future = Options(SessionRole::kInitiator);
  future.protocol_version = kProtocolVersion + 1;
  SyncSession sa(*a.store, future, a.replica->id());
  SyncSession sb(*b.store, Options(SessionRole::kAcceptor), b.replica->id());
  auto hello = sa.Start();
  ASSERT_DAICHO_OK(hello);
  auto reply = sb.OnFrame(hello->front());
  ASSERT_DAICHO_OK(reply);
  ASSERT_EQ(reply->size(), 1u);
  auto error = DecodeFrame(reply->front());
  ASSERT_DAICHO_OK(error);
  ASSERT_TRUE(std::holds_alternative<ErrorMessage>(*error));
  EXPECT_EQ(std::get<ErrorMessage>(*error).code, Code::kFailedPrecondition);
  EXPECT_EQ(sb.state(), SessionState::kFailed);

  auto nothing = sa.OnFrame(reply->front());
  ASSERT_DAICHO_OK(nothing);
  EXPECT_TRUE(nothing->empty());
  EXPECT_EQ(sa.state(), SessionState::kFailed);
  EXPECT_EQ(sa.status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(sa.OnFrame(reply->front()).status().code(), Code::kFailedPrecondition);
}

TEST(SyncSessionTest, AuthenticateHookRejectsWithUnauthenticated) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  Write(*a.replica, "x", "name", "secret data");
  SessionOptions acceptor = Options(SessionRole::kAcceptor);
  acceptor.authenticate = [](const Hello& h) -> Result<Admission> {
    const auto* p = std::get_if<PasswordCredential>(&h.credentials);
    if (h.contract == "0000-0000-0001" && h.user == "tanaka" && p && p->password == "correct horse") {
      return Admission{};
    }
    return Status(Code::kUnauthenticated, "wrong user or password");
  };
  for (const std::string password : {"wrong", "correct horse"}) {
    SessionOptions initiator = Options(SessionRole::kInitiator);
    initiator.contract = "0000-0000-0001";
    initiator.user = "tanaka";
    initiator.credentials = PasswordCredential{password};
    SyncSession sa(*a.store, initiator, a.replica->id());
    SyncSession sb(*b.store, acceptor, b.replica->id());
    FramePipe pipe(sa, sb, 3);
    SyncThrough(pipe, sa);
    if (password == "wrong") {
      EXPECT_EQ(sb.state(), SessionState::kFailed);
      EXPECT_EQ(sa.status().code(), Code::kUnauthenticated);
      EXPECT_EQ(sa.stats().changes_sent, 0u);
      EXPECT_EQ(b.replica->Get("customers", "x").status().code(), Code::kNotFound);
    } else {
      EXPECT_TRUE(sa.InSync());
    }
    // Whom the Hello named is kept for the server's log, refused or not,
    // but not its password.
    ASSERT_TRUE(sb.peer_hello().has_value());
    EXPECT_EQ(sb.peer_hello()->user, "tanaka");
    EXPECT_TRUE(std::holds_alternative<std::monostate>(sb.peer_hello()->credentials));
    if (password != "wrong") {
      ExpectConverged(a, b);
    }
  }
}

// What the acceptor's authenticate step granted travels in the Welcome, and
// AdmissionFromWelcome gives it back whole.
TEST(SyncSessionTest, WhatTheAcceptorGrantedComesBackFromTheWelcome) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  VersionVector relay_holds;
  relay_holds.Advance(a.replica->id(), 3);
  const crypto::WrappedOfficeKey keys{2, "passphrase-envelope", "recovery-envelope", "sealed-ring"};
  SessionOptions acceptor = Options(SessionRole::kAcceptor);
  acceptor.authenticate = [&](const Hello&) -> Result<Admission> {
    return Admission{"device token", keys, relay_holds, "0000-0000-0001", {}, false};
  };
  SyncSession sa(*a.store, Options(SessionRole::kInitiator), a.replica->id());
  SyncSession sb(*b.store, acceptor, b.replica->id());
  FramePipe pipe(sa, sb, 5);
  SyncThrough(pipe, sa);
  ASSERT_TRUE(sa.welcome().has_value());
  const Admission granted = AdmissionFromWelcome(*sa.welcome());
  EXPECT_EQ(granted.device_token, "device token");
  EXPECT_EQ(granted.office_keys, keys);
  EXPECT_EQ(granted.relay_holds, relay_holds);
  EXPECT_EQ(granted.contract, "0000-0000-0001");
}

// A refused device token tells the PC that its saved login is gone
// (ErrorReason::kLoginRevoked), a refused password does not; End() closes an
// open session with the reason.
TEST(SyncSessionTest, RefusedDeviceTokenAndEndedLoginsCarryTheLoginRevokedReason) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  SessionOptions acceptor = Options(SessionRole::kAcceptor);
  acceptor.authenticate = [](const Hello& h) -> Result<Admission> {
    const auto* token = std::get_if<DeviceTokenCredential>(&h.credentials);
    if (token && token->token == "live token") return Admission{};
    return Status(Code::kUnauthenticated, "unknown, revoked or replaced device token");
  };
  const std::vector<std::pair<Credentials, ErrorReason>> cases = {
      {DeviceTokenCredential{"revoked token"}, ErrorReason::kLoginRevoked},
      {PasswordCredential{"wrong"}, ErrorReason::kNone},
  };
  for (const auto& [credentials, reason] : cases) {
    SessionOptions initiator = Options(SessionRole::kInitiator);
    initiator.credentials = credentials;
    SyncSession sa(*a.store, initiator, a.replica->id());
    SyncSession sb(*b.store, acceptor, b.replica->id());
    FramePipe pipe(sa, sb, 3);
    SyncThrough(pipe, sa);
    ASSERT_TRUE(sa.peer_error().has_value());
    EXPECT_EQ(sa.peer_error()->code, Code::kUnauthenticated);
    EXPECT_EQ(sa.peer_error()->reason, reason);
  }

  SessionOptions initiator = Options(SessionRole::kInitiator);
  initiator.credentials = DeviceTokenCredential{"live token"};
  SyncSession sa(*a.store, initiator, a.replica->id());
  SyncSession sb(*b.store, acceptor, b.replica->id());
  FramePipe pipe(sa, sb, 3);
  SyncThrough(pipe, sa);
  ASSERT_TRUE(sa.InSync());
  const std::vector<std::string> error =
      sb.End(Status(Code::kUnauthenticated, "device revoked"), ErrorReason::kLoginRevoked);
  ASSERT_EQ(error.size(), 1u);
  EXPECT_EQ(sb.state(), SessionState::kFailed);
  EXPECT_TRUE(sb.End(Status(Code::kUnauthenticated, "again"), ErrorReason::kLoginRevoked).empty());
  ASSERT_DAICHO_OK(sa.OnFrame(error[0]));
  EXPECT_EQ(sa.state(), SessionState::kFailed);
  EXPECT_EQ(sa.status().code(), Code::kUnauthenticated);
  ASSERT_TRUE(sa.peer_error().has_value());
  EXPECT_EQ(sa.peer_error()->reason, ErrorReason::kLoginRevoked);
}

// Issue 15: a relay refusing a PC's uploads (Internet backup not entitled)
// still sends it everything; the PC sends nothing, and its one-shot sync ends
// once it holds what the relay held. Nothing of the PC's is lost: its
// changes stay in its log for when uploads are allowed again.
TEST(SyncSessionTest, ARefusedUploadDownloadsEverythingAndSendsNothing) {
  TempDir dir;
  Pc pc = OpenPc(dir, "pc");
  Pc relay = OpenPc(dir, "relay");
  for (int i = 0; i < 5; ++i) Write(*relay.replica, "r" + std::to_string(i), "name", "from the relay");
  for (int i = 0; i < 3; ++i) Write(*pc.replica, "p" + std::to_string(i), "name", "written offline");
  SessionOptions acceptor = Options(SessionRole::kAcceptor);
  Entitlements refused;
  refused.managed = true;
  refused.backup = {OptionState::kRefused, 2, 11000, "新規の申請があと2件", "2 more new filings"};
  acceptor.authenticate = [&](const Hello&) -> Result<Admission> {
    return Admission{"", {}, {}, "", refused, /*uploads_refused=*/true};
  };
  SyncSession sa(*pc.store, Options(SessionRole::kInitiator), pc.replica->id());
  SyncSession sb(*relay.store, acceptor, relay.replica->id());
  FramePipe pipe(sa, sb, 7);
  SyncThrough(pipe, sa);
  EXPECT_TRUE(sa.InSync()) << sa.status();
  ASSERT_TRUE(sa.welcome().has_value());
  EXPECT_TRUE(sa.welcome()->uploads_refused);
  EXPECT_EQ(sa.welcome()->entitlements, refused);
  EXPECT_EQ(sa.stats().changes_sent, 0u);
  EXPECT_EQ(sa.stats().changes_received, 5u);
  EXPECT_EQ(relay.replica->Get("customers", "p0").status().code(), Code::kNotFound);
  EXPECT_DAICHO_OK(pc.replica->Get("customers", "r4"));
  EXPECT_EQ(pc.replica->ChangesSince(VersionVector())->size(), 8u) << "the PC's own changes wait in its log";

  // A PC that sends anyway (an older daicho) gets an Error saying why.
  SyncSession acceptor_again(*relay.store, acceptor, relay.replica->id());
  Hello hello;
  hello.replica_id = pc.replica->id();
  ASSERT_DAICHO_OK(acceptor_again.OnFrame(EncodeFrame(hello)));
  auto changes = pc.replica->ChangesSince(relay.replica->GetVersionVector().value());
  ASSERT_DAICHO_OK(changes);
  auto out = acceptor_again.OnFrame(EncodeFrame(ChangesBatch{1, {changes->front()}}));
  ASSERT_DAICHO_OK(out);
  ASSERT_EQ(out->size(), 1u);
  auto error = DecodeFrame(out->front());
  ASSERT_DAICHO_OK(error);
  ASSERT_TRUE(std::holds_alternative<ErrorMessage>(*error));
  EXPECT_EQ(std::get<ErrorMessage>(*error).code, Code::kPermissionDenied);
  EXPECT_EQ(std::get<ErrorMessage>(*error).message, "新規の申請があと2件 / 2 more new filings");
  EXPECT_EQ(relay.replica->Get("customers", "p0").status().code(), Code::kNotFound);
}

TEST(SyncSessionTest, GapBatchGetsAnErrorAndAppliesNothingWhileDuplicatesAreAcked) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  for (int i = 0; i < 3; ++i) Write(*a.replica, "x" + std::to_string(i), "name", "v");
  auto changes = a.replica->ChangesSince(VersionVector());
  ASSERT_DAICHO_OK(changes);
  ASSERT_EQ(changes->size(), 3u);

  SyncSession sb(*b.store, Options(SessionRole::kAcceptor), b.replica->id());
  Hello hello;
  hello.replica_id = a.replica->id();
  auto welcome = sb.OnFrame(EncodeFrame(hello));
  ASSERT_DAICHO_OK(welcome);
  ASSERT_EQ(welcome->size(), 1u);  // Welcome only: b has nothing a lacks

  auto reply_of = [&](ChangesBatch batch) {
    auto out = sb.OnFrame(EncodeFrame(batch));
    EXPECT_TRUE(out.ok()) << out.status();
    EXPECT_EQ(out->size(), 1u);
    auto m = DecodeFrame(out->front());
    EXPECT_TRUE(m.ok()) << m.status();
    return std::move(m).value();
  };
  Message m1 = reply_of(ChangesBatch{1, {(*changes)[0]}});
  ASSERT_TRUE(std::holds_alternative<Ack>(m1));
  Message m2 = reply_of(ChangesBatch{2, {(*changes)[0]}});  // a duplicate
  ASSERT_TRUE(std::holds_alternative<Ack>(m2));
  EXPECT_EQ(std::get<Ack>(m2).version_vector.Get(a.replica->id()), 1u);
  Message m3 = reply_of(ChangesBatch{3, {(*changes)[2]}});  // seq 3 while 1 is held
  ASSERT_TRUE(std::holds_alternative<ErrorMessage>(m3));
  EXPECT_EQ(std::get<ErrorMessage>(m3).code, Code::kProtocolError);
  EXPECT_EQ(sb.state(), SessionState::kFailed);
  auto vv = b.replica->GetVersionVector();
  ASSERT_DAICHO_OK(vv);
  EXPECT_EQ(vv->Get(a.replica->id()), 1u);
  EXPECT_EQ(b.replica->Get("customers", "x2").status().code(), Code::kNotFound);
}

TEST(SyncSessionTest, GarbageAndOutOfOrderFramesFailTheSessionCleanly) {
  TempDir dir;
  Pc b = OpenPc(dir, "b");
  {
    SyncSession sb(*b.store, Options(SessionRole::kAcceptor), b.replica->id());
    auto out = sb.OnFrame("\xff\xff\xff garbage");
    ASSERT_DAICHO_OK(out);
    ASSERT_EQ(out->size(), 1u);
    EXPECT_EQ(sb.status().code(), Code::kProtocolError);
  }
  {
    // Changes before Hello.
    SyncSession sb(*b.store, Options(SessionRole::kAcceptor), b.replica->id());
    auto out = sb.OnFrame(EncodeFrame(ChangesBatch{1, {ChangeBlob{ReplicaId::Random().value(), 1, "p"}}}));
    ASSERT_DAICHO_OK(out);
    EXPECT_EQ(sb.status().code(), Code::kProtocolError);
  }
  {
    // An oversized frame.
    SessionOptions o = Options(SessionRole::kAcceptor);
    o.limits.max_frame_bytes = 64;
    SyncSession sb(*b.store, o, b.replica->id());
    auto out = sb.OnFrame(std::string(65, '\0'));
    ASSERT_DAICHO_OK(out);
    EXPECT_EQ(sb.status().code(), Code::kResourceExhausted);
  }
}

TEST(SyncSessionTest, BadAcksFailTheSender) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  Write(*a.replica, "x", "name", "v");
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    SyncSession sa(*a.store, Options(SessionRole::kInitiator), a.replica->id());
    ASSERT_DAICHO_OK(sa.Start());
    auto batches = sa.OnFrame(EncodeFrame(Welcome{kProtocolVersion, b.replica->id(), {}, "", {}, {}, "", 0, {}, false}));
    ASSERT_DAICHO_OK(batches);
    ASSERT_EQ(batches->size(), 1u);
    ASSERT_EQ(sa.TEST_in_flight_batches(), 1u);
    VersionVector covers;
    covers.Advance(a.replica->id(), 1);
    std::string bad;
    if (variant == 0) bad = EncodeFrame(Ack{2, covers});  // not in flight
    if (variant == 1) bad = EncodeFrame(Ack{1, {}});      // does not cover the batch
    if (variant == 2) bad = EncodeFrame(Welcome{kProtocolVersion, b.replica->id(), {}, "", {}, {}, "", 0, {}, false});  // twice
    auto out = sa.OnFrame(bad);
    ASSERT_DAICHO_OK(out);
    ASSERT_EQ(out->size(), 1u);
    EXPECT_EQ(sa.state(), SessionState::kFailed);
    EXPECT_EQ(sa.status().code(), Code::kProtocolError);
  }
}

TEST(SyncSessionTest, BatchesAreTrimmedToTheFrameLimitAndALargerChangeGoesInParts) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  for (int i = 0; i < 10; ++i) Write(*a.replica, "x" + std::to_string(i), "name", std::string(1000, 'v'));
  SessionOptions oa = Options(SessionRole::kInitiator);
  SessionOptions ob = Options(SessionRole::kAcceptor);
  oa.limits.max_frame_bytes = ob.limits.max_frame_bytes = 3000;
  {
    SyncSession sa(*a.store, oa, a.replica->id());
    SyncSession sb(*b.store, ob, b.replica->id());
    FramePipe pipe(sa, sb, 5);
    SyncThrough(pipe, sa);
    EXPECT_TRUE(sa.InSync()) << sa.status();
    EXPECT_GE(pipe.from(0).batches, 4u);  // 10 changes of ~1 KB in frames of 3 KB
    ExpectConverged(a, b);
  }
  // A change of ~12 KB (as an older daicho committed beyond one frame), both ways.
  Write(*a.replica, "big-a", "name", std::string(12000, 'a'));
  Write(*b.replica, "big-b", "name", std::string(12000, 'b'));
  {
    SyncSession sa(*a.store, oa, a.replica->id());
    SyncSession sb(*b.store, ob, b.replica->id());
    FramePipe pipe(sa, sb, 6);
    SyncThrough(pipe, sa);
    EXPECT_TRUE(sa.InSync()) << sa.status();
    EXPECT_TRUE(sb.InSync()) << sb.status();
    EXPECT_GE(sa.stats().frames_sent, 5u);  // Hello and at least 4 parts
    EXPECT_EQ(sa.stats().changes_sent, 1u);
    EXPECT_EQ(sb.stats().changes_sent, 1u);
    ExpectConverged(a, b);
  }
  // A peer that takes no parts (an older daicho announces 0), or not that
  // much, is told why instead.
  Write(*a.replica, "big-a2", "name", std::string(12000, 'a'));
  for (size_t peer_limit : {size_t{0}, size_t{5000}}) {
    SCOPED_TRACE("peer limit " + std::to_string(peer_limit));
    SessionOptions small = ob;
    small.limits.max_change_bytes = peer_limit;
    SyncSession sa(*a.store, oa, a.replica->id());
    SyncSession sb(*b.store, small, b.replica->id());
    FramePipe pipe(sa, sb, 5);
    SyncThrough(pipe, sa);
    EXPECT_EQ(sa.state(), SessionState::kFailed);
    EXPECT_EQ(sa.status().code(), Code::kResourceExhausted);
    EXPECT_NE(sa.status().message().find(peer_limit == 0 ? "older daicho" : "5000 bytes the peer accepts"),
              std::string::npos)
        << sa.status();
    EXPECT_EQ(sb.status().code(), Code::kResourceExhausted);  // told by the Error frame
  }
}

// A hostile peer cannot make the receiver keep more than one change of at
// most its max_change_bytes in pieces, nor mix pieces up.
TEST(SyncSessionTest, ChangePartsAreBoundedAndMustComeInOrder) {
  TempDir dir;
  Pc b = OpenPc(dir, "b");
  const ReplicaId origin = ReplicaId::Random().value();
  struct Case {
    const char* name;
    std::vector<Message> frames;
    Code code;
  };
  const std::vector<Case> cases = {
      {"over the limit", {ChangePart{1, origin, 1, 1001, 0, "x"}}, Code::kResourceExhausted},
      {"a second change meanwhile",
       {ChangePart{1, origin, 1, 10, 0, "xx"}, ChangePart{1, origin, 2, 10, 0, "xx"}},
       Code::kProtocolError},
      {"a gap", {ChangePart{1, origin, 1, 10, 0, "xx"}, ChangePart{1, origin, 1, 10, 3, "xx"}}, Code::kProtocolError},
      {"another size",
       {ChangePart{1, origin, 1, 10, 0, "xx"}, ChangePart{1, origin, 1, 11, 2, "xx"}},
       Code::kProtocolError},
      {"a batch meanwhile",
       {ChangePart{1, origin, 1, 10, 0, "xx"}, ChangesBatch{2, {ChangeBlob{origin, 1, "p"}}}},
       Code::kProtocolError},
      {"not starting at 0", {ChangePart{1, origin, 1, 10, 2, "xx"}}, Code::kProtocolError},
      {"out of batch order", {ChangePart{2, origin, 1, 10, 0, "xx"}}, Code::kProtocolError},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    SessionOptions o = Options(SessionRole::kAcceptor);
    o.limits.max_change_bytes = 1000;
    SyncSession sb(*b.store, o, b.replica->id());
    Hello hello;
    hello.replica_id = origin;
    ASSERT_DAICHO_OK(sb.OnFrame(EncodeFrame(hello)));
    ASSERT_EQ(sb.state(), SessionState::kOpen);
    for (const Message& m : c.frames) {
      auto out = sb.OnFrame(EncodeFrame(m));
      ASSERT_DAICHO_OK(out);
    }
    EXPECT_EQ(sb.state(), SessionState::kFailed);
    EXPECT_EQ(sb.status().code(), c.code) << sb.status();
    EXPECT_TRUE(b.replica->GetVersionVector()->empty());
  }
}

// Issue 11 item 4: a one-shot sync never finished while other processes kept
// committing to either replica: "done" compared the live version vector,
// which kept growing, with what the peer had acknowledged. A one-shot sync
// now exchanges what both sides held at the handshake and then ends, on both
// sides at once; what was committed meanwhile waits for the next sync.
TEST(SyncSessionTest, OneShotSyncEndsWithWhatBothHeldAtTheStartWhileBothKeepCommitting) {
  for (uint32_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    TempDir dir;
    Pc a = OpenPc(dir, "a");
    Pc b = OpenPc(dir, "b");
    for (int i = 0; i < 20; ++i) {
      Write(*a.replica, "a" + std::to_string(i), "name", std::string(200, 'a'));
      Write(*b.replica, "b" + std::to_string(i), "name", std::string(200, 'b'));
    }
    const VersionVector a_start = *a.replica->GetVersionVector();
    const VersionVector b_start = *b.replica->GetVersionVector();
    SessionOptions oa = Options(SessionRole::kInitiator, 2);
    SessionOptions ob = Options(SessionRole::kAcceptor, 2);
    oa.max_batch_bytes = ob.max_batch_bytes = 1000;  // several batches each way
    SyncSession sa(*a.store, oa, a.replica->id());
    SyncSession sb(*b.store, ob, b.replica->id());
    FramePipe pipe(sa, sb, seed);
    auto hello = sa.Start();
    ASSERT_DAICHO_OK(hello);
    pipe.Send(0, std::move(hello).value());
    // Another process commits to each replica after every frame; the
    // initiator ends the session as soon as it is in sync.
    int late = 0;
    bool done = false;
    uint64_t a_held_at_welcome = 0;
    while (!done && late < 2000 && pipe.Step()) {
      if (a_held_at_welcome == 0 && sa.state() == SessionState::kOpen) {
        a_held_at_welcome = a.replica->GetVersionVector()->Total();
      }
      Write(*a.replica, "late-a" + std::to_string(late), "name", "x");
      Write(*b.replica, "late-b" + std::to_string(late), "name", "x");
      ++late;
      done = sa.InSync();
    }
    ASSERT_TRUE(done) << "still not in sync after " << late << " frames";
    // The frames already queued (the last Acks) still arrive; they start nothing new.
    pipe.Run();
    EXPECT_TRUE(sb.InSync());
    EXPECT_EQ(sa.TEST_in_flight_batches(), 0u);
    EXPECT_EQ(sb.TEST_in_flight_batches(), 0u);
    EXPECT_TRUE(b.replica->GetVersionVector()->Dominates(a_start));
    EXPECT_TRUE(a.replica->GetVersionVector()->Dominates(b_start));
    // Each sent what it held at the handshake (the initiator's is read when
    // the Welcome arrives), nothing committed later.
    EXPECT_EQ(sa.stats().changes_sent, a_held_at_welcome);
    EXPECT_EQ(sb.stats().changes_sent, 20u);
  }
}

// A store whose Apply fails as a full disk would (fault injection).
class DiskFullStore final : public ChangeStore {
 public:
  explicit DiskFullStore(ChangeStore& inner) : inner_(inner) {}
  Result<VersionVector> GetVersionVector() override { return inner_.GetVersionVector(); }
  Result<std::vector<ChangeBlob>> ChangesSince(const VersionVector& other, size_t max_bytes,
                                               const VersionVector* upto) override {
    return inner_.ChangesSince(other, max_bytes, upto);
  }
  Status Apply(std::span<const ChangeBlob>) override {
    return Status(Code::kIoError, "mdb_txn_commit /secret/path/data.mdb: No space left on device");
  }

 private:
  ChangeStore& inner_;
};

TEST(SyncSessionTest, StoreFailureEndsTheSessionWithoutLeakingDetails) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  Write(*a.replica, "x", "name", "v");
  DiskFullStore full(*b.store);
  SyncSession sa(*a.store, Options(SessionRole::kInitiator), a.replica->id());
  SyncSession sb(full, Options(SessionRole::kAcceptor), b.replica->id());
  FramePipe pipe(sa, sb, 1);
  SyncThrough(pipe, sa);
  EXPECT_EQ(sb.status().code(), Code::kIoError);
  EXPECT_NE(sb.status().message().find("/secret/path"), std::string::npos);
  EXPECT_EQ(sa.status().code(), Code::kUnavailable);
  EXPECT_EQ(sa.status().message().find("/secret/path"), std::string::npos) << sa.status();
  EXPECT_TRUE(pipe.from(0).acked.empty());
}

TEST(SyncSessionTest, LongErrorMessagesAreCutToAValidFrame) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  SessionOptions acceptor = Options(SessionRole::kAcceptor);
  acceptor.authenticate = [](const Hello&) -> Result<Admission> {
    std::string m;
    for (int i = 0; i < 300; ++i) m += "パスワードが違います";
    return Status(Code::kUnauthenticated, m);
  };
  SyncSession sa(*a.store, Options(SessionRole::kInitiator), a.replica->id());
  SyncSession sb(*b.store, acceptor, b.replica->id());
  FramePipe pipe(sa, sb, 1);
  SyncThrough(pipe, sa);
  EXPECT_EQ(sa.status().code(), Code::kUnauthenticated) << sa.status();
  EXPECT_NE(sa.status().message().find("パスワード"), std::string::npos);
}

TEST(SyncSessionTest, LiveCommitsArePushedAfterCatchUp) {
  TempDir dir;
  Pc a = OpenPc(dir, "a");
  Pc b = OpenPc(dir, "b");
  Write(*a.replica, "x", "name", "first");
  SessionOptions watch = Options(SessionRole::kInitiator);
  watch.purpose = Purpose::kWatch;
  SyncSession sa(*a.store, watch, a.replica->id());
  SyncSession sb(*b.store, Options(SessionRole::kAcceptor), b.replica->id());
  FramePipe pipe(sa, sb, 11);
  SyncThrough(pipe, sa);
  ASSERT_TRUE(sa.InSync());

  Write(*a.replica, "x", "name", "second");
  EXPECT_FALSE(sa.InSync());
  auto push = sa.OnLocalCommit();
  ASSERT_DAICHO_OK(push);
  ASSERT_EQ(push->size(), 1u);
  pipe.Send(0, std::move(push).value());
  Write(*b.replica, "y", "name", "from b");
  auto back = sb.OnLocalCommit();
  ASSERT_DAICHO_OK(back);
  pipe.Send(1, std::move(back).value());
  pipe.Run();

  EXPECT_TRUE(sa.InSync());
  EXPECT_TRUE(sb.InSync());
  auto x = b.replica->Get("customers", "x");
  ASSERT_DAICHO_OK(x);
  EXPECT_EQ(x->Find("name")->value, Value(std::string("second")));
  ExpectConverged(a, b);
  // Nothing more to push.
  auto none = sa.OnLocalCommit();
  ASSERT_DAICHO_OK(none);
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace daicho::sync
