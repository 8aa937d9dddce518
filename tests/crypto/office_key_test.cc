#include "crypto/office_key.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cctype>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "crypto/key_ring.h"
#include "tests/testing/test_util.h"

// Passphrase wrapping and unwrapping runs Argon2id MODERATE (about 256 MiB and
// 0.5-1 s each), so this file shares one wrapped rotated ring across tests and
// keeps to about a dozen passphrase operations in all. Everything done with
// the recovery code, and every refusal that comes before the key derivation,
// is cheap and is tested exhaustively.

namespace daicho::crypto {
namespace {

constexpr std::string_view kContract = "contract-0001";
constexpr std::string_view kPassphrase = "correct horse battery staple";

// Envelope layout (office_key.cc): format, kind, key id u32 LE, then for the
// passphrase kind opslimit u64 LE and memlimit u64 LE, then the salt.
constexpr size_t kOpsLimitOffset = 6;
constexpr size_t kMemLimitOffset = 14;
constexpr size_t kPassphraseHeaderBytes = 22 + crypto_pwhash_SALTBYTES;

::testing::AssertionResult SameRing(const KeyRing& a, const KeyRing& b) {
  if (a.ids() != b.ids()) return ::testing::AssertionFailure() << "the rings hold different key ids";
  for (KeyId id : a.ids()) {
    if (*a.Find(id) != *b.Find(id)) return ::testing::AssertionFailure() << "key " << id << " differs";
  }
  return ::testing::AssertionSuccess();
}

uint64_t ReadU64(const std::string& bytes, size_t offset) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[offset + i])) << (8 * i);
  return v;
}

void WriteU64(std::string& bytes, size_t offset, uint64_t v) {
  for (size_t i = 0; i < 8; ++i) bytes[offset + i] = static_cast<char>(v >> (8 * i));
}

class OfficeKeyTest : public ::testing::Test {
 protected:
  struct Shared {
    KeyRing ring;  // keys 1 and 2, 2 current
    std::string recovery_code;
    WrappedOfficeKey wrapped;  // `ring` wrapped for kContract under kPassphrase and `recovery_code`
  };

  static void SetUpTestSuite() { setup_status_ = MakeShared(); }
  static void TearDownTestSuite() { shared_.reset(); }
  void SetUp() override { ASSERT_DAICHO_OK(setup_status_); }

  static Status MakeShared() {
    auto shared = std::make_unique<Shared>();
    DAICHO_ASSIGN_OR_RETURN(KeyRing first, KeyRing::Create());
    DAICHO_ASSIGN_OR_RETURN(shared->ring, first.Rotated());
    DAICHO_ASSIGN_OR_RETURN(shared->recovery_code, NewRecoveryCode());
    DAICHO_ASSIGN_OR_RETURN(shared->wrapped,
                            WrapOfficeKey(shared->ring, kContract, kPassphrase, shared->recovery_code));
    shared_ = std::move(shared);
    return Status::Ok();
  }

  static const KeyRing& ring() { return shared_->ring; }
  static const std::string& code() { return shared_->recovery_code; }
  static const WrappedOfficeKey& wrapped() { return shared_->wrapped; }

  // Opens with the recovery code (cheap: no Argon2id).
  static Result<KeyRing> Recover(const WrappedOfficeKey& w) { return UnwrapWithRecoveryCode(w, kContract, code()); }

  static inline std::unique_ptr<Shared> shared_;
  static inline Status setup_status_;
};

TEST_F(OfficeKeyTest, WrappedEnvelopeDescribesTheCurrentKey) {
  EXPECT_FALSE(wrapped().empty());
  EXPECT_EQ(wrapped().current_key_id, 2u);
  EXPECT_FALSE(wrapped().passphrase_wrapped.empty());
  EXPECT_FALSE(wrapped().recovery_wrapped.empty());
  EXPECT_FALSE(wrapped().sealed_ring.empty()) << "key 1 must travel in the sealed ring";
  EXPECT_EQ(ReadU64(wrapped().passphrase_wrapped, kOpsLimitOffset), crypto_pwhash_OPSLIMIT_MODERATE);
  EXPECT_EQ(ReadU64(wrapped().passphrase_wrapped, kMemLimitOffset), crypto_pwhash_MEMLIMIT_MODERATE);
  // No key appears in the clear.
  for (KeyId id : ring().ids()) {
    const std::string key(reinterpret_cast<const char*>(ring().Find(id)->data()), kDataKeyBytes);
    for (const std::string* field :
         {&wrapped().passphrase_wrapped, &wrapped().recovery_wrapped, &wrapped().sealed_ring}) {
      EXPECT_EQ(field->find(key), std::string::npos) << "key " << id;
    }
  }
}

TEST_F(OfficeKeyTest, PassphraseOpensTheWholeRotatedRing) {  // 1 passphrase operation
  auto opened = UnwrapWithPassphrase(wrapped(), kContract, kPassphrase);
  ASSERT_DAICHO_OK(opened);
  EXPECT_EQ(opened->ids(), (std::vector<KeyId>{1, 2}));
  EXPECT_EQ(opened->current_id(), 2u);
  EXPECT_TRUE(SameRing(*opened, ring()));
}

TEST_F(OfficeKeyTest, RecoveryCodeOpensTheWholeRotatedRing) {
  auto opened = Recover(wrapped());
  ASSERT_DAICHO_OK(opened);
  EXPECT_TRUE(SameRing(*opened, ring()));
  // As typed: lower case, spaces instead of hyphens.
  std::string typed;
  for (char c : code()) typed.push_back(c == '-' ? ' ' : static_cast<char>(std::tolower(c)));
  auto typed_opened = UnwrapWithRecoveryCode(wrapped(), kContract, typed);
  ASSERT_DAICHO_OK(typed_opened);
  EXPECT_TRUE(SameRing(*typed_opened, ring()));
}

TEST_F(OfficeKeyTest, SingleKeyRingRoundTrips) {  // 1 passphrase operation
  auto single = KeyRing::Create();
  ASSERT_DAICHO_OK(single);
  auto code = NewRecoveryCode();
  ASSERT_DAICHO_OK(code);
  auto w = WrapOfficeKey(*single, "contract-0009", "もう一つの事務所の合言葉です", *code);
  ASSERT_DAICHO_OK(w);
  EXPECT_EQ(w->current_key_id, 1u);
  EXPECT_TRUE(w->sealed_ring.empty());
  auto opened = UnwrapWithRecoveryCode(*w, "contract-0009", *code);
  ASSERT_DAICHO_OK(opened);
  EXPECT_TRUE(SameRing(*opened, *single));
}

TEST_F(OfficeKeyTest, RingWithoutOlderKeysRoundTrips) {  // 1 passphrase operation
  // A ring whose only key is not key 1 (built by hand; rotation never makes one).
  KeyRing lone;
  ASSERT_DAICHO_OK(lone.Add(3, *ring().Find(2)));
  auto w = WrapOfficeKey(lone, kContract, kPassphrase, code());
  ASSERT_DAICHO_OK(w);
  EXPECT_EQ(w->current_key_id, 3u);
  auto opened = Recover(*w);
  ASSERT_DAICHO_OK(opened);
  EXPECT_TRUE(SameRing(*opened, lone));
}

TEST_F(OfficeKeyTest, WrongPassphraseIsUnauthenticated) {  // 1 passphrase operation
  auto opened = UnwrapWithPassphrase(wrapped(), kContract, "correct horse battery stapler");
  EXPECT_EQ(opened.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(opened.status().message().find("stapler"), std::string::npos) << "the passphrase must not be echoed";
}

TEST_F(OfficeKeyTest, WrongRecoveryCodeIsUnauthenticated) {
  auto other = NewRecoveryCode();
  ASSERT_DAICHO_OK(other);
  ASSERT_NE(*other, code());
  EXPECT_EQ(UnwrapWithRecoveryCode(wrapped(), kContract, *other).status().code(), Code::kUnauthenticated);
  // One character off.
  std::string near = code();
  near.back() = near.back() == '2' ? '3' : '2';
  EXPECT_EQ(UnwrapWithRecoveryCode(wrapped(), kContract, near).status().code(), Code::kUnauthenticated);
  // Not a recovery code at all.
  EXPECT_EQ(UnwrapWithRecoveryCode(wrapped(), kContract, "1234").status().code(), Code::kInvalidArgument);
}

TEST_F(OfficeKeyTest, EnvelopeIsBoundToItsContract) {  // 1 passphrase operation
  for (std::string_view other : {"contract-0002", "contract-000", "contract-00010", ""}) {
    EXPECT_EQ(UnwrapWithRecoveryCode(wrapped(), other, code()).status().code(), Code::kUnauthenticated) << other;
  }
  EXPECT_FALSE(UnwrapWithPassphrase(wrapped(), "contract-0002", kPassphrase).ok());
}

TEST_F(OfficeKeyTest, EveryFlippedBitOfTheRecoveryEnvelopeFails) {
  const std::string& good = wrapped().recovery_wrapped;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      WrappedOfficeKey w = wrapped();
      w.recovery_wrapped[pos] = static_cast<char>(w.recovery_wrapped[pos] ^ (1 << bit));
      auto opened = Recover(w);
      ASSERT_FALSE(opened.ok()) << "byte " << pos << " bit " << bit;
      EXPECT_TRUE(opened.status().code() == Code::kCorruption || opened.status().code() == Code::kUnauthenticated)
          << opened.status();
    }
  }
}

TEST_F(OfficeKeyTest, EveryTruncationOfTheRecoveryEnvelopeFails) {
  const std::string& good = wrapped().recovery_wrapped;
  for (size_t n = 0; n < good.size(); ++n) {
    WrappedOfficeKey w = wrapped();
    w.recovery_wrapped.resize(n);
    EXPECT_FALSE(Recover(w).ok()) << "length " << n;
  }
  WrappedOfficeKey w = wrapped();
  w.recovery_wrapped.push_back('\0');
  EXPECT_FALSE(Recover(w).ok());
}

TEST_F(OfficeKeyTest, EveryFlippedBitOfTheSealedRingIsCorruption) {
  const std::string& good = wrapped().sealed_ring;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      WrappedOfficeKey w = wrapped();
      w.sealed_ring[pos] = static_cast<char>(w.sealed_ring[pos] ^ (1 << bit));
      EXPECT_EQ(Recover(w).status().code(), Code::kCorruption) << "byte " << pos << " bit " << bit;
    }
  }
}

TEST_F(OfficeKeyTest, EveryTruncationOfTheSealedRingIsCorruption) {
  // Including dropping it altogether: the older keys must not silently vanish.
  const std::string& good = wrapped().sealed_ring;
  for (size_t n = 0; n < good.size(); ++n) {
    WrappedOfficeKey w = wrapped();
    w.sealed_ring.resize(n);
    EXPECT_EQ(Recover(w).status().code(), Code::kCorruption) << "length " << n;
  }
  WrappedOfficeKey w = wrapped();
  w.sealed_ring.push_back('\0');
  EXPECT_EQ(Recover(w).status().code(), Code::kCorruption);
}

TEST_F(OfficeKeyTest, ChangedCurrentKeyIdIsRefused) {
  for (KeyId id : {KeyId{1}, KeyId{3}, KeyId{UINT32_MAX}}) {
    WrappedOfficeKey w = wrapped();
    w.current_key_id = id;
    // The passphrase path refuses before any key derivation.
    EXPECT_EQ(UnwrapWithPassphrase(w, kContract, kPassphrase).status().code(), Code::kCorruption) << id;
    EXPECT_EQ(Recover(w).status().code(), Code::kCorruption) << id;
  }
  WrappedOfficeKey w = wrapped();
  w.current_key_id = 0;
  EXPECT_EQ(UnwrapWithPassphrase(w, kContract, kPassphrase).status().code(), Code::kFailedPrecondition);
  EXPECT_EQ(Recover(w).status().code(), Code::kFailedPrecondition);
}

TEST_F(OfficeKeyTest, SwappedEnvelopesAreCorruption) {
  WrappedOfficeKey w = wrapped();
  std::swap(w.passphrase_wrapped, w.recovery_wrapped);
  EXPECT_EQ(UnwrapWithPassphrase(w, kContract, kPassphrase).status().code(), Code::kCorruption);
  EXPECT_EQ(Recover(w).status().code(), Code::kCorruption);
}

TEST_F(OfficeKeyTest, DamagedPassphraseEnvelopeHeaderIsRefusedBeforeDerivation) {
  const std::string& good = wrapped().passphrase_wrapped;
  // Format, kind and key id.
  for (size_t pos = 0; pos < kOpsLimitOffset; ++pos) {
    for (int bit = 0; bit < 8; ++bit) {
      WrappedOfficeKey w = wrapped();
      w.passphrase_wrapped[pos] = static_cast<char>(w.passphrase_wrapped[pos] ^ (1 << bit));
      EXPECT_EQ(UnwrapWithPassphrase(w, kContract, kPassphrase).status().code(), Code::kCorruption)
          << "byte " << pos << " bit " << bit;
    }
  }
  // Cut anywhere before the sealed key starts.
  for (size_t n = 0; n < kPassphraseHeaderBytes; ++n) {
    WrappedOfficeKey w = wrapped();
    w.passphrase_wrapped = good.substr(0, n);
    EXPECT_EQ(UnwrapWithPassphrase(w, kContract, kPassphrase).status().code(), Code::kCorruption) << n;
  }
}

TEST_F(OfficeKeyTest, DamagedPassphraseEnvelopeBodyFails) {  // 3 passphrase operations
  const std::string& good = wrapped().passphrase_wrapped;
  WrappedOfficeKey salt = wrapped();
  salt.passphrase_wrapped[kPassphraseHeaderBytes - 1] ^= 0x01;
  WrappedOfficeKey tag = wrapped();
  tag.passphrase_wrapped.back() ^= 0x40;
  WrappedOfficeKey cut = wrapped();
  cut.passphrase_wrapped = good.substr(0, good.size() - 1);
  for (const WrappedOfficeKey* w : {&salt, &tag, &cut}) {
    auto opened = UnwrapWithPassphrase(*w, kContract, kPassphrase);
    ASSERT_FALSE(opened.ok());
    EXPECT_TRUE(opened.status().code() == Code::kCorruption || opened.status().code() == Code::kUnauthenticated)
        << opened.status();
  }
}

TEST_F(OfficeKeyTest, ArgonLimitsOutsideTheAcceptedRangeAreCorruption) {
  const struct {
    size_t offset;
    uint64_t value;
  } patches[] = {
      {kOpsLimitOffset, crypto_pwhash_OPSLIMIT_MODERATE - 1},
      {kOpsLimitOffset, crypto_pwhash_OPSLIMIT_INTERACTIVE},
      {kOpsLimitOffset, 0},
      {kOpsLimitOffset, crypto_pwhash_OPSLIMIT_SENSITIVE + 1},
      {kOpsLimitOffset, UINT64_MAX},
      {kMemLimitOffset, crypto_pwhash_MEMLIMIT_MODERATE - 1},
      {kMemLimitOffset, crypto_pwhash_MEMLIMIT_INTERACTIVE},
      {kMemLimitOffset, 0},
      {kMemLimitOffset, uint64_t{crypto_pwhash_MEMLIMIT_SENSITIVE} + 1},
      {kMemLimitOffset, UINT64_MAX},
  };
  for (const auto& patch : patches) {
    WrappedOfficeKey w = wrapped();
    WriteU64(w.passphrase_wrapped, patch.offset, patch.value);
    EXPECT_EQ(UnwrapWithPassphrase(w, kContract, kPassphrase).status().code(), Code::kCorruption)
        << "offset " << patch.offset << " value " << patch.value;
  }
}

TEST_F(OfficeKeyTest, RewrapChangesOnlyThePassphrase) {  // 3 passphrase operations
  constexpr std::string_view kNew = "新しい事務所の合言葉 2025";
  auto rewrapped = RewrapWithPassphrase(wrapped(), ring(), kContract, kNew);
  ASSERT_DAICHO_OK(rewrapped);
  EXPECT_EQ(rewrapped->current_key_id, wrapped().current_key_id);
  EXPECT_EQ(rewrapped->recovery_wrapped, wrapped().recovery_wrapped);
  EXPECT_EQ(rewrapped->sealed_ring, wrapped().sealed_ring);
  EXPECT_NE(rewrapped->passphrase_wrapped, wrapped().passphrase_wrapped);

  auto by_new = UnwrapWithPassphrase(*rewrapped, kContract, kNew);
  ASSERT_DAICHO_OK(by_new);
  EXPECT_TRUE(SameRing(*by_new, ring()));
  EXPECT_EQ(UnwrapWithPassphrase(*rewrapped, kContract, kPassphrase).status().code(), Code::kUnauthenticated);
  auto by_code = Recover(*rewrapped);
  ASSERT_DAICHO_OK(by_code);
  EXPECT_TRUE(SameRing(*by_code, ring()));
}

TEST_F(OfficeKeyTest, RewrapRefusesARingWithoutTheCurrentKey) {
  auto older = KeyRing::Create();  // key 1 only; the envelope's current key is 2
  ASSERT_DAICHO_OK(older);
  EXPECT_EQ(RewrapWithPassphrase(wrapped(), *older, kContract, "a new passphrase").status().code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(RewrapWithPassphrase(wrapped(), KeyRing(), kContract, "a new passphrase").status().code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(RewrapWithPassphrase(WrappedOfficeKey{}, ring(), kContract, "a new passphrase").status().code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(RewrapWithPassphrase(wrapped(), ring(), kContract, "short").status().code(), Code::kInvalidArgument);
}

TEST_F(OfficeKeyTest, WrapRefusesBadInputs) {
  EXPECT_EQ(WrapOfficeKey(KeyRing(), kContract, kPassphrase, code()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(WrapOfficeKey(ring(), kContract, "short", code()).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(WrapOfficeKey(ring(), kContract, kPassphrase, "not a code").status().code(), Code::kInvalidArgument);
}

TEST_F(OfficeKeyTest, UnwrapOfAnEmptyEnvelopeIsFailedPrecondition) {
  EXPECT_EQ(UnwrapWithPassphrase(WrappedOfficeKey{}, kContract, kPassphrase).status().code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(UnwrapWithRecoveryCode(WrappedOfficeKey{}, kContract, code()).status().code(), Code::kFailedPrecondition);
}

TEST(PassphraseTest, LengthBounds) {
  EXPECT_EQ(ValidatePassphrase("").code(), Code::kInvalidArgument);
  EXPECT_EQ(ValidatePassphrase(std::string(kMinPassphraseLength - 1, 'a')).code(), Code::kInvalidArgument);
  EXPECT_DAICHO_OK(ValidatePassphrase(std::string(kMinPassphraseLength, 'a')));
  EXPECT_DAICHO_OK(ValidatePassphrase(std::string(kMaxPassphraseLength, 'a')));
  EXPECT_EQ(ValidatePassphrase(std::string(kMaxPassphraseLength + 1, 'a')).code(), Code::kInvalidArgument);
}

TEST(PassphraseTest, AcceptsAnyScriptRefusesInvalidUtf8) {
  EXPECT_DAICHO_OK(ValidatePassphrase("山田税理士事務所の合言葉"));
  EXPECT_DAICHO_OK(ValidatePassphrase("correct horse battery staple"));
  for (const std::string& bad : {std::string("abcdefghij\xff"), std::string("abcdefghij\xc3"),
                                 std::string("\xe5\xb1\xb1\xe7\x94"
                                             "abcdefgh"),
                                 std::string("\xc0\xaf"
                                             "abcdefghij")}) {
    const Status status = ValidatePassphrase(bad);
    EXPECT_EQ(status.code(), Code::kInvalidArgument);
    EXPECT_EQ(status.message().find("abcdefgh"), std::string::npos) << "the passphrase must not be echoed";
  }
}

TEST(RecoveryCodeTest, NewCodeIsEightGroupsOfFourCrockfordCharacters) {
  auto code = NewRecoveryCode();
  ASSERT_DAICHO_OK(code);
  ASSERT_EQ(code->size(), 39u) << *code;
  for (size_t i = 0; i < code->size(); ++i) {
    const char c = (*code)[i];
    if (i % 5 == 4) {
      EXPECT_EQ(c, '-') << *code;
    } else {
      EXPECT_NE(std::string_view("0123456789ABCDEFGHJKMNPQRSTVWXYZ").find(c), std::string_view::npos) << *code;
    }
  }
  auto normalized = NormalizeRecoveryCode(*code);
  ASSERT_DAICHO_OK(normalized);
  EXPECT_EQ(normalized->size(), 32u);
}

TEST(RecoveryCodeTest, NewCodesDiffer) {
  std::set<std::string> codes;
  for (int i = 0; i < 20; ++i) {
    auto code = NewRecoveryCode();
    ASSERT_DAICHO_OK(code);
    codes.insert(*code);
  }
  EXPECT_EQ(codes.size(), 20u);
}

TEST(RecoveryCodeTest, NormalizeAcceptsCodesAsTyped) {
  const std::string canonical = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  for (std::string_view typed : {"0123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ", "0123456789abcdefghjkmnpqrstvwxyz",
                                 " 0123 4567 89ab cdef ghjk mnpq rstv wxyz ", "O123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ",
                                 "o123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ"}) {
    auto normalized = NormalizeRecoveryCode(typed);
    ASSERT_DAICHO_OK(normalized);
    EXPECT_EQ(*normalized, canonical) << typed;
  }
  // I, i, L and l are all read as 1.
  for (std::string_view typed :
       {"I111-1111-1111-1111-1111-1111-1111-1111", "i111-1111-1111-1111-1111-1111-1111-1111",
        "L111-1111-1111-1111-1111-1111-1111-1111", "l111-1111-1111-1111-1111-1111-1111-1111"}) {
    auto normalized = NormalizeRecoveryCode(typed);
    ASSERT_DAICHO_OK(normalized);
    EXPECT_EQ(*normalized, std::string(32, '1')) << typed;
  }
}

TEST(RecoveryCodeTest, NormalizeRefusesOtherInput) {
  for (std::string_view typed :
       {"U123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ", "u123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ",
        "0123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXY", "0123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ0", "",
        "0123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXY!", "０123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ"}) {
    EXPECT_EQ(NormalizeRecoveryCode(typed).status().code(), Code::kInvalidArgument) << typed;
  }
}

}  // namespace
}  // namespace daicho::crypto
