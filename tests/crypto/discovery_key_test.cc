#include "crypto/discovery_key.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

#include "crypto/key_ring.h"
#include "tests/testing/test_util.h"

namespace daicho::crypto {
namespace {

constexpr std::string_view kContract = "1234-5678";

std::string Bytes(const unsigned char* data, size_t n) { return std::string(reinterpret_cast<const char*>(data), n); }
const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// The packet of docs/formats.md "LAN announcements", built from libsodium
// directly: K_disc, then "DLA1" ‖ u32 key_id ‖ nonce ‖ XChaCha20-Poly1305.
std::string DiscoveryKeyByHand(const KeyRing::Key& data_key, std::string_view contract) {
  std::string input = "daicho discovery v1";
  input.push_back(static_cast<char>(contract.size()));  // varint of a length below 128
  input.append(contract);
  unsigned char key[crypto_generichash_BYTES];
  crypto_generichash(key, sizeof key, U(input), input.size(), data_key.data(), data_key.size());
  return Bytes(key, sizeof key);
}

std::string KeyIdBytes(KeyId id) {
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(id >> (8 * i)));
  return out;
}

class DiscoveryKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ring = KeyRing::Create();
    ASSERT_DAICHO_OK(ring);
    ring1_ = std::move(*ring);
    auto rotated = ring1_.Rotated();
    ASSERT_DAICHO_OK(rotated);
    ring12_ = std::move(*rotated);
  }

  KeyRing ring1_;
  KeyRing ring12_;
};

TEST_F(DiscoveryKeyTest, SealedAnnouncementOpensUnderTheSameOfficeAndContract) {
  auto packet = SealAnnouncement(ring12_, kContract, "who I am");
  ASSERT_DAICHO_OK(packet);
  EXPECT_EQ(packet->size(), kAnnouncementOverheadBytes + 8);
  EXPECT_EQ(packet->substr(0, 8), "DLA1" + KeyIdBytes(2));
  std::string nonce;
  auto opened = OpenAnnouncement(ring12_, kContract, *packet, &nonce);
  ASSERT_DAICHO_OK(opened);
  EXPECT_EQ(*opened, "who I am");
  EXPECT_EQ(nonce, packet->substr(8, kAeadNonceBytes));
}

TEST_F(DiscoveryKeyTest, PacketIsTheDocumentedLayout) {
  ASSERT_GE(sodium_init(), 0);
  auto packet = SealAnnouncement(ring12_, kContract, "plaintext");
  ASSERT_DAICHO_OK(packet);
  const std::string key = DiscoveryKeyByHand(*ring12_.Find(2), kContract);
  const std::string ad = "daicho lan announce v1" + KeyIdBytes(2);
  const std::string_view sealed = std::string_view(*packet).substr(8);
  const std::string_view nonce = sealed.substr(0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  const std::string_view cipher = sealed.substr(nonce.size());
  std::string plain(cipher.size() - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long plain_size = 0;
  ASSERT_EQ(
      crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()), &plain_size, nullptr,
                                                 U(cipher), cipher.size(), U(ad), ad.size(), U(nonce), U(key)),
      0);
  EXPECT_EQ(plain, "plaintext");

  // And the other way: a packet made by hand opens.
  std::string by_hand = "DLA1" + KeyIdBytes(1);
  unsigned char hand_nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  randombytes_buf(hand_nonce, sizeof hand_nonce);
  by_hand += Bytes(hand_nonce, sizeof hand_nonce);
  const std::string message = "made by hand";
  const std::string hand_key = DiscoveryKeyByHand(*ring12_.Find(1), kContract);
  const std::string hand_ad = "daicho lan announce v1" + KeyIdBytes(1);
  std::string out(message.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long out_size = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(out.data()), &out_size, U(message),
                                             message.size(), U(hand_ad), hand_ad.size(), nullptr, hand_nonce,
                                             U(hand_key));
  by_hand += out;
  auto opened = OpenAnnouncement(ring12_, kContract, by_hand);
  ASSERT_DAICHO_OK(opened);
  EXPECT_EQ(*opened, message);
}

TEST_F(DiscoveryKeyTest, AnotherContractOrOfficeCannotOpen) {
  auto packet = SealAnnouncement(ring1_, kContract, "secret");
  ASSERT_DAICHO_OK(packet);
  EXPECT_EQ(OpenAnnouncement(ring1_, "1234-5679", *packet).status().code(), Code::kUnauthenticated);
  auto stranger = KeyRing::Create();
  ASSERT_DAICHO_OK(stranger);
  EXPECT_EQ(OpenAnnouncement(*stranger, kContract, *packet).status().code(), Code::kUnauthenticated);
}

TEST_F(DiscoveryKeyTest, OlderKeysStillOpenAndUnknownKeysDoNot) {
  auto old_packet = SealAnnouncement(ring1_, kContract, "before the rotation");
  ASSERT_DAICHO_OK(old_packet);
  auto opened = OpenAnnouncement(ring12_, kContract, *old_packet);
  ASSERT_DAICHO_OK(opened);
  EXPECT_EQ(*opened, "before the rotation");

  auto new_packet = SealAnnouncement(ring12_, kContract, "after the rotation");
  ASSERT_DAICHO_OK(new_packet);
  auto unknown = OpenAnnouncement(ring1_, kContract, *new_packet);
  EXPECT_EQ(unknown.status().code(), Code::kUnauthenticated);
  EXPECT_EQ(unknown.status().message(), "LAN announcement under an unknown key");
}

TEST_F(DiscoveryKeyTest, AnyChangedByteFailsToAuthenticate) {
  auto packet = SealAnnouncement(ring1_, kContract, "whole");
  ASSERT_DAICHO_OK(packet);
  for (size_t i = 8; i < packet->size(); ++i) {
    std::string damaged = *packet;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    EXPECT_EQ(OpenAnnouncement(ring1_, kContract, damaged).status().code(), Code::kUnauthenticated) << i;
  }
}

TEST_F(DiscoveryKeyTest, WhatIsNoAnnouncementIsCorruption) {
  auto packet = SealAnnouncement(ring1_, kContract, "");
  ASSERT_DAICHO_OK(packet);
  std::string wrong_magic = *packet;
  wrong_magic[3] = '2';
  EXPECT_EQ(OpenAnnouncement(ring1_, kContract, wrong_magic).status().code(), Code::kCorruption);
  EXPECT_EQ(OpenAnnouncement(ring1_, kContract, packet->substr(0, packet->size() - 1)).status().code(),
            Code::kCorruption);
  EXPECT_EQ(OpenAnnouncement(ring1_, kContract, std::string(kMaxAnnouncementPacketBytes + 1, 'D')).status().code(),
            Code::kCorruption);
}

TEST_F(DiscoveryKeyTest, EmptyRingOrOversizedPacketIsNotSealed) {
  EXPECT_EQ(SealAnnouncement(KeyRing(), kContract, "x").status().code(), Code::kInvalidArgument);
  const size_t largest = kMaxAnnouncementPacketBytes - kAnnouncementOverheadBytes;
  auto full = SealAnnouncement(ring1_, kContract, std::string(largest, 'v'));
  ASSERT_DAICHO_OK(full);
  EXPECT_EQ(full->size(), kMaxAnnouncementPacketBytes);
  EXPECT_DAICHO_OK(OpenAnnouncement(ring1_, kContract, *full));
  EXPECT_EQ(SealAnnouncement(ring1_, kContract, std::string(largest + 1, 'v')).status().code(),
            Code::kResourceExhausted);
}

}  // namespace
}  // namespace daicho::crypto
