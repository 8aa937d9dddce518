#include "storage/codec/binary.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace daicho::storage {
namespace {

TEST(BinaryTest, VarintsRoundTripAtEveryLengthBoundary) {
  std::string buf;
  BinaryWriter w(buf);
  const uint64_t values[] = {
      0, 1, 127, 128, 16383, 16384, (1ull << 35) - 1, 1ull << 35, std::numeric_limits<uint64_t>::max()};
  for (uint64_t v : values) w.Varint(v);
  EXPECT_EQ(buf.substr(0, 4), std::string("\x00\x01\x7f\x80", 4));
  BinaryReader r(buf);
  for (uint64_t v : values) {
    uint64_t got = 0;
    ASSERT_TRUE(r.Varint(got));
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(r.done());
}

TEST(BinaryTest, SignedNumbersOfSmallMagnitudeStayShort) {
  std::string buf;
  BinaryWriter w(buf);
  const int64_t values[] = {
      0, -1, 1, -64, 63, -65, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()};
  for (int64_t v : values) w.Signed(v);
  EXPECT_EQ(buf.substr(0, 5), std::string("\x00\x01\x02\x7f\x7e", 5));
  BinaryReader r(buf);
  for (int64_t v : values) {
    int64_t got = 0;
    ASSERT_TRUE(r.Signed(got));
    EXPECT_EQ(got, v);
  }
}

TEST(BinaryTest, MalformedVarintsAreRefused) {
  uint64_t v = 0;
  EXPECT_FALSE(BinaryReader(std::string("\x80", 1)).Varint(v)) << "truncated";
  EXPECT_FALSE(BinaryReader(std::string(10, '\xff') + '\x01').Varint(v)) << "longer than 10 bytes";
  EXPECT_FALSE(BinaryReader(std::string(9, '\xff') + '\x02').Varint(v)) << "overflows 64 bits";
  EXPECT_FALSE(BinaryReader("").Varint(v));
}

TEST(BinaryTest, CanonicalVarintsAcceptOnlyTheShortestForm) {
  struct Case {
    std::string bytes;
    bool accepted;
    uint64_t value;  // when accepted
  };
  const Case cases[] = {
      {std::string("\x00", 1), true, 0},
      {std::string("\x7f"), true, 127},
      {std::string("\x80\x01"), true, 128},
      {std::string("\xff\x7f"), true, 16383},
      {std::string("\x80\x80\x01"), true, 16384},
      {std::string(9, '\xff') + '\x01', true, std::numeric_limits<uint64_t>::max()},
      {std::string(9, '\x80') + '\x01', true, 1ull << 63},
      {std::string("\x80\x00", 2), false, 0},       // 0 padded to two bytes
      {std::string("\x81\x00", 2), false, 0},       // 1 padded
      {std::string("\xff\x00", 2), false, 0},       // 127 padded
      {std::string("\x80\x81\x00", 3), false, 0},   // 128 padded to three bytes
      {std::string(9, '\x80') + '\x00', false, 0},  // 0 in ten bytes
      {std::string(9, '\xff') + '\x02', false, 0},  // overflows 64 bits
      {std::string("\x80"), false, 0},              // truncated
      {"", false, 0},
  };
  for (const Case& c : cases) {
    BinaryReader r(c.bytes);
    uint64_t v = 0;
    ASSERT_EQ(ReadCanonicalVarint(r, v), c.accepted) << "bytes of size " << c.bytes.size();
    if (c.accepted) {
      EXPECT_EQ(v, c.value);
      EXPECT_TRUE(r.done());
    }
  }
  // What BinaryWriter writes is the shortest form, at every length.
  for (int bits = 0; bits <= 64; ++bits) {
    const uint64_t v = bits == 0 ? 0 : bits == 64 ? std::numeric_limits<uint64_t>::max() : (1ull << bits) - 1;
    std::string buf;
    BinaryWriter(buf).Varint(v);
    BinaryReader r(buf);
    uint64_t out = 0;
    EXPECT_TRUE(ReadCanonicalVarint(r, out)) << v;
    EXPECT_EQ(out, v);
    // The same value with one padding byte more is refused.
    if (buf.size() < 10) {
      std::string padded = buf;
      padded.back() = static_cast<char>(padded.back() | 0x80);
      padded.push_back('\0');
      BinaryReader p(padded);
      EXPECT_TRUE(BinaryReader(padded).Varint(out)) << "the plain reader takes it";
      EXPECT_FALSE(ReadCanonicalVarint(p, out)) << v;
    }
  }
}

TEST(BinaryTest, BytesAndFixedWidthsNeverReadPastTheEnd) {
  std::string buf;
  BinaryWriter w(buf);
  w.Bytes("株式会社");
  w.Fixed32(0xDEADBEEF);
  w.Fixed64(0x0123456789ABCDEFull);
  w.Byte(7);
  BinaryReader r(buf);
  std::string_view s;
  uint32_t f32 = 0;
  uint64_t f64 = 0;
  uint8_t b = 0;
  ASSERT_TRUE(r.Bytes(s));
  EXPECT_EQ(s, "株式会社");
  ASSERT_TRUE(r.Fixed32(f32));
  EXPECT_EQ(f32, 0xDEADBEEFu);
  ASSERT_TRUE(r.Fixed64(f64));
  EXPECT_EQ(f64, 0x0123456789ABCDEFull);
  ASSERT_TRUE(r.Byte(b));
  EXPECT_EQ(b, 7);
  EXPECT_FALSE(r.Byte(b));

  // Every truncation of the buffer fails somewhere instead of over-reading.
  for (size_t cut = 0; cut < buf.size(); ++cut) {
    BinaryReader t(std::string_view(buf).substr(0, cut));
    const bool all = t.Bytes(s) && t.Fixed32(f32) && t.Fixed64(f64) && t.Byte(b);
    EXPECT_FALSE(all) << "cut at " << cut;
  }
  // A length claiming more than is there.
  std::string lying;
  BinaryWriter(lying).Varint(1000);
  lying += "short";
  EXPECT_FALSE(BinaryReader(lying).Bytes(s));
}

TEST(BinaryTest, SeekStaysWithinTheInput) {
  BinaryReader r("abc");
  EXPECT_TRUE(r.Seek(3));
  EXPECT_TRUE(r.done());
  EXPECT_FALSE(r.Seek(4));
  std::string_view out;
  EXPECT_TRUE(r.Seek(1));
  EXPECT_TRUE(r.Raw(2, out));
  EXPECT_EQ(out, "bc");
}

TEST(BinaryTest, Fnv1a64MatchesTheReferenceAndIsTheSameInPieces) {
  // Reference values of FNV-1a 64 (the empty string is the offset basis).
  EXPECT_EQ(Fnv1a64().value(), 0xcbf29ce484222325ull);
  EXPECT_EQ(Fnv1a64().Update("a").value(), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(Fnv1a64().Update("foobar").value(), 0x85944171f73967e8ull);
  EXPECT_EQ(Fnv1a64().Update("foo").Update("").Update("bar").value(), Fnv1a64().Update("foobar").value());
}

}  // namespace
}  // namespace daicho::storage
