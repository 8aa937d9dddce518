#include "crypto/peer_channel.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "crypto/key_ring.h"
#include "storage/codec/binary.h"
#include "tests/testing/test_util.h"

namespace daicho::crypto {
namespace {

using Role = PeerChannel::Role;

// Offsets within the handshake messages (see peer_channel.cc).
constexpr size_t kTypeOffset = 4;
constexpr size_t kKeyIdOffset = 5;
constexpr size_t kEphemeralOffset = 9;

void SetKeyId(std::string& message, uint32_t id) {
  for (size_t i = 0; i < 4; ++i) message[kKeyIdOffset + i] = static_cast<char>(id >> (8 * i));
}

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

// The three messages of one handshake.
struct Handshake {
  std::string m1, m2, m3;
};

class PeerChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ring = KeyRing::Create();
    ASSERT_DAICHO_OK(ring);
    office_ = std::move(*ring);
    auto other = KeyRing::Create();
    ASSERT_DAICHO_OK(other);
    other_office_ = std::move(*other);
  }

  PeerChannel Initiator(const KeyRing& ring) { return PeerChannel(Role::kInitiator, contract_, ring); }
  PeerChannel Acceptor(const KeyRing& ring) { return PeerChannel(Role::kAcceptor, contract_, ring); }

  // Runs a whole handshake between two channels of the same office.
  Handshake Establish(PeerChannel& initiator, PeerChannel& acceptor) {
    Handshake h;
    auto m1 = initiator.Start();
    EXPECT_DAICHO_OK(m1);
    if (!m1.ok()) return h;
    h.m1 = *m1;
    auto m2 = acceptor.OnHandshakeMessage(h.m1);
    EXPECT_DAICHO_OK(m2);
    if (!m2.ok() || !m2->has_value()) return h;
    h.m2 = **m2;
    EXPECT_FALSE(acceptor.established());
    auto m3 = initiator.OnHandshakeMessage(h.m2);
    EXPECT_DAICHO_OK(m3);
    if (!m3.ok() || !m3->has_value()) return h;
    h.m3 = **m3;
    EXPECT_TRUE(initiator.established());
    auto done = acceptor.OnHandshakeMessage(h.m3);
    EXPECT_DAICHO_OK(done);
    if (done.ok()) {
      EXPECT_FALSE(done->has_value());
    }
    EXPECT_TRUE(acceptor.established());
    return h;
  }

  std::string SealOk(PeerChannel& channel, std::string_view frame) {
    auto sealed = channel.Seal(frame);
    EXPECT_DAICHO_OK(sealed);
    return sealed.ok() ? *sealed : std::string();
  }

  // Every call of a dead channel fails with kFailedPrecondition.
  void ExpectDead(PeerChannel& channel) {
    EXPECT_TRUE(channel.failed());
    EXPECT_FALSE(channel.established());
    EXPECT_EQ(channel.Start().status().code(), Code::kFailedPrecondition);
    EXPECT_EQ(channel.OnHandshakeMessage("DPC1").status().code(), Code::kFailedPrecondition);
    EXPECT_EQ(channel.Seal("x").status().code(), Code::kFailedPrecondition);
    EXPECT_EQ(channel.Open(std::string(40, 'x')).status().code(), Code::kFailedPrecondition);
  }

  std::string contract_ = "contract-0001";
  KeyRing office_;
  KeyRing other_office_;
};

TEST_F(PeerChannelTest, SameOfficeEstablishesAndExchangesFramesBothWays) {
  PeerChannel initiator = Initiator(office_);
  PeerChannel acceptor = Acceptor(office_.Clone());
  Establish(initiator, acceptor);
  EXPECT_EQ(initiator.peer_key_id(), 1u);
  EXPECT_EQ(acceptor.peer_key_id(), 1u);

  std::string big(1 << 20, '\0');
  std::mt19937 rng(11);
  for (char& c : big) c = static_cast<char>(rng());
  const std::vector<std::string> frames = {std::string(), "x", "顧客台帳: 山田太郎さんの住所を更新しました",
                                           std::string("nul\0inside", 10), big};
  for (const std::string& frame : frames) {
    const std::string to_acceptor = SealOk(initiator, frame);
    EXPECT_EQ(to_acceptor.size(), frame.size() + kFrameOverheadBytes);
    auto opened = acceptor.Open(to_acceptor);
    ASSERT_DAICHO_OK(opened);
    EXPECT_EQ(*opened, frame);

    const std::string to_initiator = SealOk(acceptor, frame);
    EXPECT_EQ(to_initiator.size(), frame.size() + kFrameOverheadBytes);
    auto back = initiator.Open(to_initiator);
    ASSERT_DAICHO_OK(back);
    EXPECT_EQ(*back, frame);
  }
  EXPECT_TRUE(initiator.established());
  EXPECT_TRUE(acceptor.established());
}

TEST_F(PeerChannelTest, CiphertextDoesNotContainThePlaintext) {
  PeerChannel initiator = Initiator(office_);
  PeerChannel acceptor = Acceptor(office_);
  Establish(initiator, acceptor);
  const std::string canary = "CANARY-山田太郎-1234567890";
  std::string frame;
  for (int i = 0; i < 50; ++i) frame += canary;
  const std::string sealed = SealOk(initiator, frame);
  EXPECT_FALSE(Contains(sealed, canary));
  // The same frame sealed again differs (the counter moved on).
  const std::string again = SealOk(initiator, frame);
  EXPECT_NE(sealed, again);
}

TEST_F(PeerChannelTest, HandshakeMessagesHaveFixedSizesAndNeverCarryTheDataKey) {
  PeerChannel initiator = Initiator(office_);
  PeerChannel acceptor = Acceptor(office_);
  const Handshake h = Establish(initiator, acceptor);
  EXPECT_EQ(h.m1.size(), kPeerHelloBytes);
  EXPECT_EQ(h.m2.size(), kPeerReplyBytes);
  EXPECT_EQ(h.m3.size(), kPeerConfirmBytes);
  const KeyRing::Key* key = office_.Find(1);
  ASSERT_NE(key, nullptr);
  const std::string_view key_bytes(reinterpret_cast<const char*>(key->data()), key->size());
  for (const std::string* m : {&h.m1, &h.m2, &h.m3}) {
    EXPECT_FALSE(Contains(*m, key_bytes.substr(0, 8)));
    EXPECT_FALSE(Contains(*m, key_bytes.substr(16, 8)));
  }
}

TEST_F(PeerChannelTest, AcceptorOfAnotherOfficeIsRefusedByTheInitiator) {
  PeerChannel initiator = Initiator(office_);
  PeerChannel acceptor = Acceptor(other_office_);
  auto m1 = initiator.Start();
  ASSERT_DAICHO_OK(m1);
  auto m2 = acceptor.OnHandshakeMessage(*m1);
  ASSERT_DAICHO_OK(m2);  // same key id 1: only the MAC tells them apart
  ASSERT_TRUE(m2->has_value());
  auto m3 = initiator.OnHandshakeMessage(**m2);
  EXPECT_EQ(m3.status().code(), Code::kUnauthenticated);
  EXPECT_TRUE(Contains(m3.status().message(), "does not hold this office's key"));
  EXPECT_FALSE(acceptor.established());
  EXPECT_EQ(acceptor.Seal("secret").status().code(), Code::kFailedPrecondition);
  ExpectDead(initiator);
}

TEST_F(PeerChannelTest, InitiatorOfAnotherOfficeIsRefusedAndTheAcceptorNeverEstablishes) {
  // The foreign initiator refuses M2 itself; a peer that goes on anyway with
  // an M3 it made up (it cannot compute the MAC) is refused by the acceptor.
  PeerChannel intruder = Initiator(other_office_);
  PeerChannel acceptor = Acceptor(office_);
  auto m1 = intruder.Start();
  ASSERT_DAICHO_OK(m1);
  auto m2 = acceptor.OnHandshakeMessage(*m1);
  ASSERT_DAICHO_OK(m2);
  EXPECT_EQ(intruder.OnHandshakeMessage(**m2).status().code(), Code::kUnauthenticated);

  std::string forged = "DPC1";
  forged.push_back('\x03');
  forged.append(32, '\0');
  std::mt19937 rng(3);
  for (size_t i = 5; i < forged.size(); ++i) forged[i] = static_cast<char>(rng());
  auto done = acceptor.OnHandshakeMessage(forged);
  EXPECT_EQ(done.status().code(), Code::kUnauthenticated);
  EXPECT_FALSE(acceptor.established());
  ExpectDead(acceptor);
}

TEST_F(PeerChannelTest, SameKeyWithAnotherContractIsRefused) {
  PeerChannel initiator(Role::kInitiator, "contract-0001", office_);
  PeerChannel acceptor(Role::kAcceptor, "contract-0002", office_);
  auto m1 = initiator.Start();
  ASSERT_DAICHO_OK(m1);
  auto m2 = acceptor.OnHandshakeMessage(*m1);
  ASSERT_DAICHO_OK(m2);
  EXPECT_EQ(initiator.OnHandshakeMessage(**m2).status().code(), Code::kUnauthenticated);
  EXPECT_FALSE(initiator.established());
  EXPECT_FALSE(acceptor.established());
}

TEST_F(PeerChannelTest, InitiatorWithoutTheKeyFailsPrecondition) {
  const KeyRing empty;
  PeerChannel initiator = Initiator(empty);
  auto m1 = initiator.Start();
  EXPECT_EQ(m1.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(m1.status().message(), "this PC does not hold the office key"));
  ExpectDead(initiator);
  EXPECT_TRUE(Contains(initiator.Seal("x").status().message(), "this PC does not hold the office key"));
}

TEST_F(PeerChannelTest, AcceptorWithoutTheKeyFailsPrecondition) {
  const KeyRing empty;
  PeerChannel initiator = Initiator(office_);
  PeerChannel acceptor = Acceptor(empty);
  auto m1 = initiator.Start();
  ASSERT_DAICHO_OK(m1);
  auto m2 = acceptor.OnHandshakeMessage(*m1);
  EXPECT_EQ(m2.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(m2.status().message(), "this PC does not hold the office key"));
  ExpectDead(acceptor);
}

// What an initiator holding `key` would answer to M2 (peer_channel.cc:
// mac_I under K_auth of that key): a PC that skips its own checks.
std::string ConfirmUnder(const KeyRing::Key& key, const std::string& contract, const std::string& m1,
                         const std::string& m2) {
  std::string auth_input = "daicho peer auth v1";
  storage::BinaryWriter(auth_input).Bytes(contract);
  unsigned char auth[32];
  crypto_generichash(auth, sizeof auth, reinterpret_cast<const unsigned char*>(auth_input.data()), auth_input.size(),
                     key.data(), key.size());
  const std::string mac_input = "daicho peer initiator mac v1" + m1 + m2;
  unsigned char mac[32];
  crypto_generichash(mac, sizeof mac, reinterpret_cast<const unsigned char*>(mac_input.data()), mac_input.size(), auth,
                     sizeof auth);
  return std::string("DPC1\x03", 5) + std::string(reinterpret_cast<const char*>(mac), sizeof mac);
}

// A PC that missed a rotation (key 1) reaches one holding key 2: the MACs run
// under key 1, which both hold, so each side learns that the other is of the
// office and which must unlock, from its own point of view; neither side
// establishes, even when the old-key PC answers M3 correctly.
TEST_F(PeerChannelTest, InitiatorThatMissedARotationIsToldToUnlockAndTheAcceptorNeverEstablishes) {
  auto rotated = office_.Rotated();
  ASSERT_DAICHO_OK(rotated);
  PeerChannel initiator = Initiator(office_);  // key 1
  PeerChannel acceptor = Acceptor(*rotated);   // keys 1, 2
  auto m1 = initiator.Start();
  ASSERT_DAICHO_OK(m1);
  auto m2 = acceptor.OnHandshakeMessage(*m1);
  ASSERT_DAICHO_OK(m2);
  ASSERT_TRUE(m2->has_value());
  EXPECT_EQ(acceptor.peer_key_id(), 1u);
  auto m3 = initiator.OnHandshakeMessage(**m2);
  EXPECT_EQ(m3.status().code(), Code::kFailedPrecondition) << m3.status();
  EXPECT_TRUE(Contains(m3.status().message(), "this PC holds office key 1 and the other PC key 2")) << m3.status();
  EXPECT_TRUE(Contains(m3.status().message(), "run `daicho key unlock` on this PC")) << m3.status();
  EXPECT_EQ(initiator.peer_key_id(), 2u);
  ExpectDead(initiator);

  auto done = acceptor.OnHandshakeMessage(ConfirmUnder(*office_.Find(1), contract_, *m1, **m2));
  EXPECT_EQ(done.status().code(), Code::kFailedPrecondition) << done.status();
  EXPECT_TRUE(Contains(done.status().message(), "this PC holds office key 2 and the other PC key 1")) << done.status();
  EXPECT_TRUE(Contains(done.status().message(), "run `daicho key unlock` on the other PC")) << done.status();
  ExpectDead(acceptor);
}

TEST_F(PeerChannelTest, AcceptorThatMissedARotationIsNamedToTheInitiator) {
  auto rotated = office_.Rotated();
  ASSERT_DAICHO_OK(rotated);
  PeerChannel initiator = Initiator(*rotated);  // keys 1, 2
  PeerChannel acceptor = Acceptor(office_);     // key 1
  auto m1 = initiator.Start();
  ASSERT_DAICHO_OK(m1);
  auto m2 = acceptor.OnHandshakeMessage(*m1);
  ASSERT_DAICHO_OK(m2);
  auto m3 = initiator.OnHandshakeMessage(**m2);
  EXPECT_EQ(m3.status().code(), Code::kFailedPrecondition) << m3.status();
  EXPECT_TRUE(Contains(m3.status().message(), "this PC holds office key 2 and the other PC key 1")) << m3.status();
  EXPECT_TRUE(Contains(m3.status().message(), "run `daicho key unlock` on the other PC")) << m3.status();
  ExpectDead(initiator);
  // The acceptor, given the right M3 under key 1, says the same from its side.
  auto done = acceptor.OnHandshakeMessage(ConfirmUnder(*office_.Find(1), contract_, *m1, **m2));
  EXPECT_EQ(done.status().code(), Code::kFailedPrecondition) << done.status();
  EXPECT_TRUE(Contains(done.status().message(), "this PC holds office key 1 and the other PC key 2")) << done.status();
  ExpectDead(acceptor);
}

// Another office's PC is "not this office's key" whatever key ids the two
// hold, never "unlock".
TEST_F(PeerChannelTest, AnotherOfficeWithAnotherKeyIdIsNotToldToUnlock) {
  auto other_rotated = other_office_.Rotated();
  ASSERT_DAICHO_OK(other_rotated);
  auto rotated = office_.Rotated();
  ASSERT_DAICHO_OK(rotated);
  struct Pair {
    const KeyRing* initiator;
    const KeyRing* acceptor;
  };
  for (const Pair& p : {Pair{&*other_rotated, &office_}, Pair{&office_, &*other_rotated},
                        Pair{&other_office_, &*rotated}, Pair{&*rotated, &other_office_}}) {
    PeerChannel initiator = Initiator(*p.initiator);
    PeerChannel acceptor = Acceptor(*p.acceptor);
    auto m1 = initiator.Start();
    ASSERT_DAICHO_OK(m1);
    auto m2 = acceptor.OnHandshakeMessage(*m1);
    ASSERT_DAICHO_OK(m2);
    auto m3 = initiator.OnHandshakeMessage(**m2);
    EXPECT_EQ(m3.status().code(), Code::kUnauthenticated) << m3.status();
    EXPECT_EQ(m3.status().message(), "the peer does not hold this office's key");
    // Its own key, answered anyway: the acceptor says the same.
    const KeyRing::Key* own = p.initiator->Find(std::min(p.initiator->current_id(), p.acceptor->current_id()));
    auto done = acceptor.OnHandshakeMessage(ConfirmUnder(*own, contract_, *m1, **m2));
    EXPECT_EQ(done.status().code(), Code::kUnauthenticated) << done.status();
    ExpectDead(acceptor);
  }
  // A key id lower than the acceptor's that it does not hold: not of this
  // office (this office's PCs hold every older key).
  KeyRing only_key_3;
  ASSERT_DAICHO_OK(only_key_3.Add(3, *office_.Find(1)));
  PeerChannel initiator = Initiator(*rotated);  // key 2
  PeerChannel acceptor = Acceptor(only_key_3);
  auto m1 = initiator.Start();
  ASSERT_DAICHO_OK(m1);
  auto m2 = acceptor.OnHandshakeMessage(*m1);
  EXPECT_EQ(m2.status().code(), Code::kUnauthenticated) << m2.status();
  ExpectDead(acceptor);
}

// Key ids travel in clear: changing one on the way is refused, never taken
// for a rotation.
TEST_F(PeerChannelTest, RelabeledKeyIdsAreRefused) {
  auto rotated = office_.Rotated();
  ASSERT_DAICHO_OK(rotated);
  PeerChannel initiator = Initiator(office_);  // key 1
  PeerChannel acceptor = Acceptor(*rotated);   // key 2
  auto m1 = initiator.Start();
  ASSERT_DAICHO_OK(m1);
  std::string relabeled = *m1;
  SetKeyId(relabeled, 2);
  auto m2 = acceptor.OnHandshakeMessage(relabeled);
  ASSERT_DAICHO_OK(m2);
  auto m3 = initiator.OnHandshakeMessage(**m2);
  EXPECT_EQ(m3.status().code(), Code::kUnauthenticated) << m3.status();
  EXPECT_EQ(initiator.peer_key_id(), 2u);
  ExpectDead(initiator);
  // The same for a reply relabeled on its way back.
  PeerChannel same_key = Initiator(*rotated);  // key 2
  PeerChannel replying = Acceptor(*rotated);   // key 2
  auto hello = same_key.Start();
  ASSERT_DAICHO_OK(hello);
  auto reply = replying.OnHandshakeMessage(*hello);
  ASSERT_DAICHO_OK(reply);
  std::string relabeled_reply = **reply;
  SetKeyId(relabeled_reply, 1);
  EXPECT_EQ(same_key.OnHandshakeMessage(relabeled_reply).status().code(), Code::kUnauthenticated);
}

TEST_F(PeerChannelTest, RecordedHandshakeReplayedToANewAcceptorIsRefused) {
  PeerChannel initiator = Initiator(office_);
  PeerChannel acceptor = Acceptor(office_);
  const Handshake recorded = Establish(initiator, acceptor);

  PeerChannel fresh = Acceptor(office_);
  auto m2 = fresh.OnHandshakeMessage(recorded.m1);
  ASSERT_DAICHO_OK(m2);
  EXPECT_NE(**m2, recorded.m2);  // fresh ephemeral key and nonce
  auto done = fresh.OnHandshakeMessage(recorded.m3);
  EXPECT_EQ(done.status().code(), Code::kUnauthenticated);
  EXPECT_FALSE(fresh.established());
  ExpectDead(fresh);
}

TEST_F(PeerChannelTest, RecordedReplyReplayedToANewInitiatorIsRefused) {
  PeerChannel initiator = Initiator(office_);
  PeerChannel acceptor = Acceptor(office_);
  const Handshake recorded = Establish(initiator, acceptor);

  PeerChannel fresh = Initiator(office_);
  ASSERT_DAICHO_OK(fresh.Start());
  EXPECT_EQ(fresh.OnHandshakeMessage(recorded.m2).status().code(), Code::kUnauthenticated);
  ExpectDead(fresh);
}

TEST_F(PeerChannelTest, ConfirmationOfAnotherSessionIsRefused) {
  PeerChannel i1 = Initiator(office_);
  PeerChannel a1 = Acceptor(office_);
  PeerChannel i2 = Initiator(office_);
  PeerChannel a2 = Acceptor(office_);
  auto m1a = i1.Start();
  auto m1b = i2.Start();
  ASSERT_DAICHO_OK(m1a);
  ASSERT_DAICHO_OK(m1b);
  auto m2a = a1.OnHandshakeMessage(*m1a);
  auto m2b = a2.OnHandshakeMessage(*m1b);
  ASSERT_DAICHO_OK(m2a);
  ASSERT_DAICHO_OK(m2b);
  auto m3b = i2.OnHandshakeMessage(**m2b);
  ASSERT_DAICHO_OK(m3b);
  EXPECT_EQ(a1.OnHandshakeMessage(**m3b).status().code(), Code::kUnauthenticated);
  EXPECT_FALSE(a1.established());
}

TEST_F(PeerChannelTest, InitiatorRefusesAReplyMeantForAnotherHello) {
  // A man in the middle hands the initiator the acceptor's answer to another
  // session's M1: its MAC covers the other transcript.
  PeerChannel i1 = Initiator(office_);
  PeerChannel i2 = Initiator(office_);
  PeerChannel a2 = Acceptor(office_);
  ASSERT_DAICHO_OK(i1.Start());
  auto m1b = i2.Start();
  ASSERT_DAICHO_OK(m1b);
  auto m2b = a2.OnHandshakeMessage(*m1b);
  ASSERT_DAICHO_OK(m2b);
  EXPECT_EQ(i1.OnHandshakeMessage(**m2b).status().code(), Code::kUnauthenticated);
}

TEST_F(PeerChannelTest, SubstitutedEphemeralKeyIsRefused) {
  PeerChannel initiator = Initiator(office_);
  PeerChannel acceptor = Acceptor(office_);
  auto m1 = initiator.Start();
  ASSERT_DAICHO_OK(m1);
  auto m2 = acceptor.OnHandshakeMessage(*m1);
  ASSERT_DAICHO_OK(m2);
  std::string tampered = **m2;
  tampered[kEphemeralOffset] = static_cast<char>(tampered[kEphemeralOffset] ^ 0x01);
  EXPECT_EQ(initiator.OnHandshakeMessage(tampered).status().code(), Code::kUnauthenticated);

  PeerChannel initiator2 = Initiator(office_);
  PeerChannel acceptor2 = Acceptor(office_);
  auto n1 = initiator2.Start();
  ASSERT_DAICHO_OK(n1);
  std::string m1_tampered = *n1;
  m1_tampered[kEphemeralOffset + 5] = static_cast<char>(m1_tampered[kEphemeralOffset + 5] ^ 0x80);
  auto n2 = acceptor2.OnHandshakeMessage(m1_tampered);
  ASSERT_DAICHO_OK(n2);
  // The acceptor's MAC covers the tampered M1, which the initiator never sent.
  EXPECT_EQ(initiator2.OnHandshakeMessage(**n2).status().code(), Code::kUnauthenticated);
}

TEST_F(PeerChannelTest, UnusableEphemeralKeyIsAProtocolError) {
  PeerChannel initiator = Initiator(office_);
  PeerChannel acceptor = Acceptor(office_);
  auto m1 = initiator.Start();
  ASSERT_DAICHO_OK(m1);
  std::string zero_key = *m1;
  for (size_t i = 0; i < 32; ++i) zero_key[kEphemeralOffset + i] = '\0';
  EXPECT_EQ(acceptor.OnHandshakeMessage(zero_key).status().code(), Code::kProtocolError);
  ExpectDead(acceptor);
}

// Variants of a valid handshake message that are not one.
std::vector<std::pair<std::string, std::string>> Malformed(const std::string& valid, bool has_key_id) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("empty", std::string());
  std::string garbage(valid.size(), '\0');
  std::mt19937 rng(5);
  for (char& c : garbage) c = static_cast<char>(rng());
  out.emplace_back("garbage", garbage);
  out.emplace_back("truncated", valid.substr(0, valid.size() - 1));
  out.emplace_back("header only", valid.substr(0, 5));
  out.emplace_back("oversized", valid + "x");
  out.emplace_back("huge", valid + std::string(1 << 20, 'x'));
  std::string magic = valid;
  magic[0] = 'X';
  out.emplace_back("wrong magic", magic);
  std::string version = valid;
  version[3] = '2';
  out.emplace_back("other version", version);
  for (uint8_t type : {0, 1, 2, 3, 9, 255}) {
    if (type == static_cast<uint8_t>(valid[kTypeOffset])) continue;
    std::string t = valid;
    t[kTypeOffset] = static_cast<char>(type);
    out.emplace_back("type " + std::to_string(type), t);
  }
  if (has_key_id) {
    std::string zero = valid;
    SetKeyId(zero, 0);
    out.emplace_back("key id 0", zero);
  }
  return out;
}

TEST_F(PeerChannelTest, MalformedHelloIsAProtocolErrorAndKillsTheAcceptor) {
  PeerChannel initiator = Initiator(office_);
  auto m1 = initiator.Start();
  ASSERT_DAICHO_OK(m1);
  for (const auto& [name, message] : Malformed(*m1, /*has_key_id=*/true)) {
    SCOPED_TRACE(name);
    PeerChannel acceptor = Acceptor(office_);
    EXPECT_EQ(acceptor.OnHandshakeMessage(message).status().code(), Code::kProtocolError);
    EXPECT_EQ(acceptor.OnHandshakeMessage(*m1).status().code(), Code::kFailedPrecondition);
    ExpectDead(acceptor);
  }
}

TEST_F(PeerChannelTest, MalformedReplyIsAProtocolErrorAndKillsTheInitiator) {
  PeerChannel acceptor = Acceptor(office_);
  PeerChannel probe = Initiator(office_);
  auto probe_m1 = probe.Start();
  ASSERT_DAICHO_OK(probe_m1);
  auto valid = acceptor.OnHandshakeMessage(*probe_m1);
  ASSERT_DAICHO_OK(valid);
  for (const auto& [name, message] : Malformed(**valid, /*has_key_id=*/true)) {
    SCOPED_TRACE(name);
    PeerChannel initiator = Initiator(office_);
    ASSERT_DAICHO_OK(initiator.Start());
    EXPECT_EQ(initiator.OnHandshakeMessage(message).status().code(), Code::kProtocolError);
    ExpectDead(initiator);
  }
}

TEST_F(PeerChannelTest, MalformedConfirmationIsAProtocolErrorAndKillsTheAcceptor) {
  PeerChannel probe_i = Initiator(office_);
  PeerChannel probe_a = Acceptor(office_);
  const Handshake h = Establish(probe_i, probe_a);
  for (const auto& [name, message] : Malformed(h.m3, /*has_key_id=*/false)) {
    SCOPED_TRACE(name);
    PeerChannel initiator = Initiator(office_);
    PeerChannel acceptor = Acceptor(office_);
    auto m1 = initiator.Start();
    ASSERT_DAICHO_OK(m1);
    ASSERT_DAICHO_OK(acceptor.OnHandshakeMessage(*m1));
    EXPECT_EQ(acceptor.OnHandshakeMessage(message).status().code(), Code::kProtocolError);
    EXPECT_FALSE(acceptor.established());
    ExpectDead(acceptor);
  }
}

TEST_F(PeerChannelTest, CallsInTheWrongStateFailAndKillTheChannel) {
  const std::vector<std::pair<std::string, std::function<Status(PeerChannel&, PeerChannel&)>>> cases = {
      {"acceptor Start", [](PeerChannel&, PeerChannel& a) { return a.Start().status(); }},
      {"initiator message before Start",
       [](PeerChannel& i, PeerChannel&) { return i.OnHandshakeMessage(std::string(105, 'x')).status(); }},
      {"Start twice",
       [](PeerChannel& i, PeerChannel&) {
         (void)i.Start();
         return i.Start().status();
       }},
      {"Seal before the handshake", [](PeerChannel& i, PeerChannel&) { return i.Seal("x").status(); }},
      {"Open before the handshake", [](PeerChannel&, PeerChannel& a) { return a.Open(std::string(20, 'x')).status(); }},
      {"acceptor Seal after M1 (before the initiator proved the key)",
       [](PeerChannel& i, PeerChannel& a) {
         auto m1 = i.Start();
         if (m1.ok()) (void)a.OnHandshakeMessage(*m1);
         return a.Seal("secret").status();
       }},
  };
  for (const auto& [name, call] : cases) {
    SCOPED_TRACE(name);
    PeerChannel initiator = Initiator(office_);
    PeerChannel acceptor = Acceptor(office_);
    const Status s = call(initiator, acceptor);
    EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s;
    EXPECT_TRUE(initiator.failed() || acceptor.failed());
  }

  PeerChannel initiator = Initiator(office_);
  PeerChannel acceptor = Acceptor(office_);
  const Handshake h = Establish(initiator, acceptor);
  EXPECT_EQ(acceptor.OnHandshakeMessage(h.m3).status().code(), Code::kFailedPrecondition);
  ExpectDead(acceptor);
  EXPECT_EQ(initiator.Start().status().code(), Code::kFailedPrecondition);
  ExpectDead(initiator);
}

// Two channels of one office, established.
class PeerChannelFramesTest : public PeerChannelTest {
 protected:
  void SetUp() override {
    PeerChannelTest::SetUp();
    initiator_ = std::make_unique<PeerChannel>(Role::kInitiator, contract_, office_);
    acceptor_ = std::make_unique<PeerChannel>(Role::kAcceptor, contract_, office_);
    Establish(*initiator_, *acceptor_);
    ASSERT_TRUE(initiator_->established());
    ASSERT_TRUE(acceptor_->established());
  }

  void ExpectRefused(const std::string& message) {
    auto opened = acceptor_->Open(message);
    EXPECT_EQ(opened.status().code(), Code::kCorruption) << opened.status();
    ExpectDead(*acceptor_);
  }

  std::unique_ptr<PeerChannel> initiator_;
  std::unique_ptr<PeerChannel> acceptor_;
};

TEST_F(PeerChannelFramesTest, ReorderedFramesAreRefused) {
  const std::string f0 = SealOk(*initiator_, "first");
  const std::string f1 = SealOk(*initiator_, "second");
  ExpectRefused(f1);
  EXPECT_EQ(acceptor_->Open(f0).status().code(), Code::kFailedPrecondition);
}

TEST_F(PeerChannelFramesTest, ReplayedFrameIsRefused) {
  const std::string f0 = SealOk(*initiator_, "pay 100");
  ASSERT_DAICHO_OK(acceptor_->Open(f0));
  ExpectRefused(f0);
}

TEST_F(PeerChannelFramesTest, DroppedFrameIsNoticedAtTheNext) {
  const std::string f0 = SealOk(*initiator_, "a");
  (void)SealOk(*initiator_, "b");  // lost on the way
  const std::string f2 = SealOk(*initiator_, "c");
  ASSERT_DAICHO_OK(acceptor_->Open(f0));
  ExpectRefused(f2);
}

TEST_F(PeerChannelFramesTest, TruncatedFramesAreRefused) {
  const std::string f0 = SealOk(*initiator_, "some frame");
  ExpectRefused(f0.substr(0, f0.size() - 1));
}

TEST_F(PeerChannelFramesTest, FrameShorterThanItsTagIsRefused) { ExpectRefused(std::string(15, 'x')); }

TEST_F(PeerChannelFramesTest, EmptyMessageIsRefused) { ExpectRefused(std::string()); }

TEST_F(PeerChannelFramesTest, ExtendedFrameIsRefused) {
  const std::string f0 = SealOk(*initiator_, "some frame");
  ExpectRefused(f0 + "x");
}

TEST_F(PeerChannelTest, FlippedBitAnywhereInAFrameIsRefused) {
  const std::string frame = "invoice 2024-07";
  for (size_t pos = 0; pos < frame.size() + kFrameOverheadBytes; ++pos) {
    SCOPED_TRACE(pos);
    PeerChannel initiator = Initiator(office_);
    PeerChannel acceptor = Acceptor(office_);
    Establish(initiator, acceptor);
    std::string sealed = SealOk(initiator, frame);
    sealed[pos] = static_cast<char>(sealed[pos] ^ (1 << (pos % 8)));
    EXPECT_EQ(acceptor.Open(sealed).status().code(), Code::kCorruption);
    ExpectDead(acceptor);
  }
}

TEST_F(PeerChannelFramesTest, FramesDoNotOpenInTheOtherDirection) {
  const std::string from_initiator = SealOk(*initiator_, "to the acceptor");
  auto reflected = initiator_->Open(from_initiator);
  EXPECT_EQ(reflected.status().code(), Code::kCorruption);
  ExpectDead(*initiator_);

  const std::string from_acceptor = SealOk(*acceptor_, "to the initiator");
  EXPECT_EQ(acceptor_->Open(from_acceptor).status().code(), Code::kCorruption);
  ExpectDead(*acceptor_);
}

TEST_F(PeerChannelFramesTest, FramesOfAnotherSessionDoNotOpen) {
  PeerChannel other_initiator = Initiator(office_);
  PeerChannel other_acceptor = Acceptor(office_);
  Establish(other_initiator, other_acceptor);
  const std::string mine = SealOk(*initiator_, "same words");
  const std::string theirs = SealOk(other_initiator, "same words");
  EXPECT_NE(mine, theirs);  // other session keys
  ExpectRefused(theirs);
}

TEST_F(PeerChannelFramesTest, EveryCallFailsAfterAFailureAndNamesIt) {
  ExpectRefused("garbage that is long enough");
  auto later = acceptor_->Seal("x");
  EXPECT_EQ(later.status().code(), Code::kFailedPrecondition);
  EXPECT_TRUE(Contains(later.status().message(), "does not authenticate")) << later.status();
  // The other side is unaffected until its transport is closed.
  EXPECT_TRUE(initiator_->established());
}

TEST_F(PeerChannelFramesTest, MovedChannelCarriesOn) {
  ASSERT_DAICHO_OK(acceptor_->Open(SealOk(*initiator_, "one")));
  PeerChannel moved = std::move(*initiator_);
  EXPECT_TRUE(moved.established());
  EXPECT_FALSE(initiator_->established());
  EXPECT_EQ(initiator_->Seal("x").status().code(), Code::kFailedPrecondition);
  auto opened = acceptor_->Open(SealOk(moved, "two"));
  ASSERT_DAICHO_OK(opened);
  EXPECT_EQ(*opened, "two");
}

}  // namespace
}  // namespace daicho::crypto
