#include "sync/wire_codec.h"

#include <random>
#include <string>

#include "tests/testing/test_util.h"

namespace daicho::sync {
namespace {

ReplicaId Id(uint8_t b) {
  ReplicaId::Bytes bytes{};
  bytes.fill(b);
  return ReplicaId(bytes);
}

VersionVector Vv(std::initializer_list<std::pair<uint8_t, uint64_t>> entries) {
  VersionVector vv;
  for (auto [b, c] : entries) vv.Advance(Id(b), c);
  return vv;
}

template <typename T>
T RoundTrip(const T& m) {
  auto decoded = DecodeFrame(EncodeFrame(m));
  EXPECT_TRUE(decoded.ok()) << decoded.status();
  if (!decoded.ok()) return T{};
  EXPECT_TRUE(std::holds_alternative<T>(*decoded));
  return std::get<T>(std::move(decoded).value());
}

TEST(WireCodecTest, HelloRoundTripsWithEachCredential) {
  Hello h;
  h.replica_id = Id(1);
  h.version_vector = Vv({{1, 5}, {2, 7}});
  h.purpose = Purpose::kWatch;
  h.contract = "0000-0000-0001";
  h.user = "tanaka";
  EXPECT_EQ(RoundTrip(h), h);
  h.credentials = PasswordCredential{"secret password"};
  EXPECT_EQ(RoundTrip(h), h);
  h.credentials = DeviceTokenCredential{std::string("\0\xff tok", 6)};
  EXPECT_EQ(RoundTrip(h), h);
  h.credentials = PasswordCredential{"secret password"};
  h.device_name = "受付のPC";
  EXPECT_EQ(RoundTrip(h), h);
  h.purpose = Purpose::kPublishKeys;
  h.publish_keys = crypto::WrappedOfficeKey{2, "pass-env", "recovery-env", "ring"};
  h.replaces_key_id = 1;
  EXPECT_EQ(RoundTrip(h), h);
  h.relay_holds = Vv({{1, 3}});
  EXPECT_EQ(RoundTrip(h), h);
  h.max_change_bytes = kMaxWireChangeBytes;
  EXPECT_EQ(RoundTrip(h), h);
  // Zero unsynced records is a report, not the field's absence.
  h.unsynced_records = 0;
  EXPECT_EQ(RoundTrip(h), h);
  h.unsynced_records = 123456;
  EXPECT_EQ(RoundTrip(h), h);
}

TEST(WireCodecTest, AHelloWithoutAnUnsyncedCountDecodesAsUnknown) {
  Hello h;
  h.replica_id = Id(1);
  Result<Message> decoded = DecodeFrame(EncodeFrame(h));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_FALSE(std::get<Hello>(*decoded).unsynced_records.has_value());
}

TEST(WireCodecTest, OfficeKeysMustMatchTheirKeyId) {
  Hello h;
  h.replica_id = Id(1);
  h.purpose = Purpose::kPublishKeys;
  // Publishing nothing is refused.
  EXPECT_EQ(DecodeFrame(EncodeFrame(h)).status().code(), Code::kProtocolError);
  // A key id without its passphrase envelope is refused.
  h.publish_keys = crypto::WrappedOfficeKey{1, "", "recovery-env", ""};
  EXPECT_EQ(DecodeFrame(EncodeFrame(h)).status().code(), Code::kProtocolError);
  // Oversized envelopes are refused before use.
  h.publish_keys = crypto::WrappedOfficeKey{1, std::string(5000, 'x'), "r", ""};
  EXPECT_EQ(DecodeFrame(EncodeFrame(h)).status().code(), Code::kResourceExhausted);
}

// Issue 15: a relay's entitlements are bounded like every other field; a
// state this build does not know is refused, not guessed.
TEST(WireCodecTest, WelcomeEntitlementsAreChecked) {
  Welcome w{kProtocolVersion, Id(9), Vv({{3, 1}}), "", {}, {}, "", 0, {}, false};
  w.entitlements.managed = true;
  w.entitlements.billing.message_en = std::string(CodecLimits().max_string_bytes + 1, 'x');
  EXPECT_EQ(DecodeFrame(EncodeFrame(w)).status().code(), Code::kResourceExhausted);
  w.entitlements.billing.message_en = "ok";
  w.entitlements.backup.state = static_cast<OptionState>(kMaxOptionState + 1);
  EXPECT_EQ(DecodeFrame(EncodeFrame(w)).status().code(), Code::kProtocolError);
}

TEST(WireCodecTest, OtherMessagesRoundTrip) {
  Welcome w{kProtocolVersion, Id(9), Vv({{3, 1}}), "", {}, {}, "", 0, {}, false};
  EXPECT_EQ(RoundTrip(w), w);
  w.device_token = std::string("\0\x01token", 7);
  EXPECT_EQ(RoundTrip(w), w);
  w.office_keys = crypto::WrappedOfficeKey{3, "pass-env", "recovery-env", ""};
  EXPECT_EQ(RoundTrip(w), w);
  w.relay_holds = Vv({{1, 4}, {2, 7}});
  EXPECT_EQ(RoundTrip(w), w);
  w.max_change_bytes = 1u << 30;
  EXPECT_EQ(RoundTrip(w), w);
  w.entitlements = Entitlements{true,
                                1'780'000'000'000,
                                1'800'000'000'000,
                                {OptionState::kRefused, 2, 11000, "インターネットバックアップ: 新規の申請があと2件", "2 more"},
                                {OptionState::kFree, 0, 0, "無料です", "free"}};
  w.uploads_refused = true;
  EXPECT_EQ(RoundTrip(w), w);
  ChangePart part{3, Id(1), 4, 100, 60, std::string(40, '\xff')};
  EXPECT_EQ(RoundTrip(part), part);
  ChangesBatch b{7,
                 {ChangeBlob{Id(1), 1, "a"}, ChangeBlob{Id(1), 2, std::string(1000, '\0')}, ChangeBlob{Id(2), 9, ""}}};
  EXPECT_EQ(RoundTrip(b), b);
  Ack a{7, Vv({{1, 2}, {2, 9}})};
  EXPECT_EQ(RoundTrip(a), a);
  ErrorMessage e{Code::kUnauthenticated, "wrong password"};
  EXPECT_EQ(RoundTrip(e), e);
}

// The receiver keeps a change's parts until it is whole: its size is bounded
// before anything is kept, and no part may run past it.
TEST(WireCodecTest, ChangePartsAreBoundedByTheChangeLimit) {
  CodecLimits limits;
  limits.max_change_bytes = 100;
  EXPECT_DAICHO_OK(DecodeFrame(EncodeFrame(ChangePart{1, Id(1), 1, 100, 0, "x"}), limits));
  EXPECT_EQ(DecodeFrame(EncodeFrame(ChangePart{1, Id(1), 1, 101, 0, "x"}), limits).status().code(),
            Code::kResourceExhausted);
  EXPECT_EQ(DecodeFrame(EncodeFrame(ChangePart{1, Id(1), 1, 100, 99, "xy"}), limits).status().code(),
            Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(ChangePart{1, Id(1), 1, 100, 200, "x"}), limits).status().code(),
            Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(ChangePart{1, Id(1), 1, 100, 0, ""}), limits).status().code(),
            Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(ChangePart{0, Id(1), 1, 100, 0, "x"}), limits).status().code(),
            Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(ChangePart{1, Id(1), 0, 100, 0, "x"}), limits).status().code(),
            Code::kProtocolError);
}

TEST(WireCodecTest, OversizedFrameIsRefusedBeforeParsing) {
  CodecLimits limits;
  limits.max_frame_bytes = 100;
  ChangesBatch b{1, {ChangeBlob{Id(1), 1, std::string(200, 'x')}}};
  auto r = DecodeFrame(EncodeFrame(b), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kResourceExhausted);
}

TEST(WireCodecTest, CountAndStringLimitsAreEnforced) {
  CodecLimits limits;
  limits.max_changes_per_batch = 2;
  limits.max_version_vector_entries = 1;
  limits.max_string_bytes = 4;
  ChangesBatch b{1, {ChangeBlob{Id(1), 1, "a"}, ChangeBlob{Id(1), 2, "b"}, ChangeBlob{Id(1), 3, "c"}}};
  EXPECT_EQ(DecodeFrame(EncodeFrame(b), limits).status().code(), Code::kResourceExhausted);
  Ack a{1, Vv({{1, 1}, {2, 1}})};
  EXPECT_EQ(DecodeFrame(EncodeFrame(a), limits).status().code(), Code::kResourceExhausted);
  Hello h;
  h.replica_id = Id(1);
  h.user = "too long";
  EXPECT_EQ(DecodeFrame(EncodeFrame(h), limits).status().code(), Code::kResourceExhausted);
}

TEST(WireCodecTest, InvalidFieldsAreProtocolErrors) {
  // A zero seq, a zero batch id, an empty batch, a zero replica id.
  EXPECT_EQ(DecodeFrame(EncodeFrame(ChangesBatch{1, {ChangeBlob{Id(1), 0, "a"}}})).status().code(),
            Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(ChangesBatch{0, {ChangeBlob{Id(1), 1, "a"}}})).status().code(),
            Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(ChangesBatch{1, {}})).status().code(), Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(ChangesBatch{1, {ChangeBlob{ReplicaId(), 1, "a"}}})).status().code(),
            Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(Ack{0, {}})).status().code(), Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(Hello{})).status().code(), Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(ErrorMessage{Code::kOk, ""})).status().code(), Code::kProtocolError);
  EXPECT_EQ(DecodeFrame(EncodeFrame(ErrorMessage{static_cast<Code>(99), ""})).status().code(), Code::kProtocolError);
  // An empty frame holds no message.
  EXPECT_EQ(DecodeFrame("").status().code(), Code::kProtocolError);
}

TEST(WireCodecTest, ErrorReasonRoundTripsAndAnUnknownOneReadsAsNone) {
  const ErrorMessage revoked{Code::kUnauthenticated, "device revoked", ErrorReason::kLoginRevoked};
  auto decoded = DecodeFrame(EncodeFrame(revoked));
  ASSERT_DAICHO_OK(decoded);
  EXPECT_EQ(std::get<ErrorMessage>(*decoded), revoked);
  // Frame.error(5) { code(1)=10, message(2)="x", reason(3)=7 }: a reason
  // from a newer peer is as good as none.
  const std::string newer("\x2a\x07\x08\x0a\x12\x01x\x18\x07", 9);
  decoded = DecodeFrame(newer);
  ASSERT_DAICHO_OK(decoded);
  EXPECT_EQ(std::get<ErrorMessage>(*decoded), (ErrorMessage{Code::kUnauthenticated, "x", ErrorReason::kNone}));
}

TEST(WireCodecTest, ShortReplicaIdAndMismatchedVectorAreRejected) {
  // Hand-made frames: Frame.ack(4) { batch_id(1)=1, vv(2) { replica_ids(1)="abc" counters(2)=1 } }.
  const std::string short_id(
      "\x22\x0b\x08\x01\x12\x07\x0a\x03"
      "abc"
      "\x10\x01",
      13);
  auto r = DecodeFrame(short_id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kProtocolError);
  EXPECT_NE(r.status().message().find("not 16"), std::string::npos) << r.status();
  // Frame.ack { batch_id=1, vv { counters=1 } }: a counter without an id.
  const std::string lopsided("\x22\x06\x08\x01\x12\x02\x10\x01", 8);
  EXPECT_EQ(DecodeFrame(lopsided).status().code(), Code::kProtocolError);
}

TEST(WireCodecTest, TruncatedFramesGiveCleanErrors) {
  ChangesBatch b{3, {ChangeBlob{Id(1), 1, std::string(300, 'p')}, ChangeBlob{Id(2), 4, "q"}}};
  const std::string frame = EncodeFrame(b);
  for (size_t n = 0; n < frame.size(); ++n) {
    auto r = DecodeFrame(std::string_view(frame).substr(0, n));
    // A prefix may happen to be a valid smaller message; it must never crash
    // and an error must be one of the two documented codes.
    if (!r.ok()) {
      EXPECT_TRUE(r.status().code() == Code::kProtocolError || r.status().code() == Code::kResourceExhausted)
          << r.status();
    }
  }
}

TEST(WireCodecTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(12345);
  CodecLimits limits;
  limits.max_frame_bytes = 4096;
  const std::string valid = EncodeFrame(ChangesBatch{1, {ChangeBlob{Id(5), 1, "hello"}}});
  size_t errors = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 5000);
      for (char& c : bytes) c = static_cast<char>(rng());
    } else {
      // Mutations of a valid frame reach deeper into the parser.
      bytes = valid;
      for (int k = 0; k < 3; ++k) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    auto r = DecodeFrame(bytes, limits);
    if (!r.ok()) {
      ++errors;
      ASSERT_TRUE(r.status().code() == Code::kProtocolError || r.status().code() == Code::kResourceExhausted)
          << r.status();
      ASSERT_FALSE(r.status().message().empty());
    }
  }
  EXPECT_GT(errors, 10000u);
}

}  // namespace
}  // namespace daicho::sync
