#include "crypto/key_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "crypto/key_ring.h"
#include "tests/testing/test_util.h"

namespace daicho::crypto {
namespace {

namespace fs = std::filesystem;

::testing::AssertionResult SameRing(const KeyRing& a, const KeyRing& b) {
  if (a.ids() != b.ids()) return ::testing::AssertionFailure() << "the rings hold different key ids";
  for (KeyId id : a.ids()) {
    if (*a.Find(id) != *b.Find(id)) return ::testing::AssertionFailure() << "key " << id << " differs";
  }
  return ::testing::AssertionSuccess();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Rewrites `path` with `bytes`, keeping it private (mode 0600).
void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ring = KeyRing::Create();
    ASSERT_DAICHO_OK(ring);
    auto rotated = ring->Rotated();
    ASSERT_DAICHO_OK(rotated);
    ring_ = std::move(*rotated);
    path_ = OfficeKeyPath(dir_.path().string());
  }

  testing::TempDir dir_;
  KeyRing ring_;  // keys 1 and 2
  std::string path_;
};

TEST(OfficeKeyPathTest, IsOfficeKeyInTheReplicaDirectory) {
  EXPECT_EQ(OfficeKeyPath("/data/replica"), "/data/replica/office.key");
  EXPECT_EQ(OfficeKeyPath("/data/replica/"), "/data/replica/office.key");
}

TEST_F(KeyFileTest, SaveLoadRoundTrips) {
  ASSERT_DAICHO_OK(SaveOfficeKey(path_, "contract-0001", ring_));
  auto loaded = LoadOfficeKey(path_);
  ASSERT_DAICHO_OK(loaded);
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->contract, "contract-0001");
  EXPECT_TRUE(SameRing((*loaded)->ring, ring_));
  EXPECT_EQ((*loaded)->ring.current_id(), 2u);
}

TEST_F(KeyFileTest, FileIsPrivateToItsOwner) {
  ASSERT_DAICHO_OK(SaveOfficeKey(path_, "contract-0001", ring_));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KeyFileTest, MissingFileIsNullopt) {
  auto loaded = LoadOfficeKey(path_);
  ASSERT_DAICHO_OK(loaded);
  EXPECT_FALSE(loaded->has_value());
}

TEST_F(KeyFileTest, FileReadableByOthersIsPermissionDenied) {
  ASSERT_DAICHO_OK(SaveOfficeKey(path_, "contract-0001", ring_));
  for (mode_t mode : {mode_t{0644}, mode_t{0640}, mode_t{0604}, mode_t{0660}}) {
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
    auto loaded = LoadOfficeKey(path_);
    EXPECT_EQ(loaded.status().code(), Code::kPermissionDenied) << std::oct << mode;
    EXPECT_NE(loaded.status().message().find(path_), std::string::npos) << loaded.status();
  }
  ASSERT_EQ(::chmod(path_.c_str(), 0400), 0);
  EXPECT_DAICHO_OK(LoadOfficeKey(path_));
}

TEST_F(KeyFileTest, EveryFlippedByteIsCorruptionNamingThePath) {
  ASSERT_DAICHO_OK(SaveOfficeKey(path_, "contract-0001", ring_));
  const std::string good = ReadFile(path_);
  ASSERT_GT(good.size(), 4u + 16u);
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (unsigned char mask : {0x01, 0x80, 0xFF}) {
      std::string damaged = good;
      damaged[pos] = static_cast<char>(damaged[pos] ^ mask);
      WriteFile(path_, damaged);
      auto loaded = LoadOfficeKey(path_);
      ASSERT_EQ(loaded.status().code(), Code::kCorruption) << "byte " << pos << " mask " << int{mask};
      EXPECT_NE(loaded.status().message().find(path_), std::string::npos) << loaded.status();
    }
  }
}

TEST_F(KeyFileTest, EveryTruncationIsCorruptionNamingThePath) {
  ASSERT_DAICHO_OK(SaveOfficeKey(path_, "contract-0001", ring_));
  const std::string good = ReadFile(path_);
  for (size_t n = 0; n < good.size(); ++n) {
    WriteFile(path_, good.substr(0, n));
    auto loaded = LoadOfficeKey(path_);
    ASSERT_EQ(loaded.status().code(), Code::kCorruption) << "length " << n;
    EXPECT_NE(loaded.status().message().find(path_), std::string::npos) << loaded.status();
  }
  WriteFile(path_, good + "x");
  EXPECT_EQ(LoadOfficeKey(path_).status().code(), Code::kCorruption);
}

TEST_F(KeyFileTest, SaveReplacesAtomically) {
  ASSERT_DAICHO_OK(SaveOfficeKey(path_, "contract-0001", ring_));
  auto newer = ring_.Rotated();
  ASSERT_DAICHO_OK(newer);
  // A temp file left by a crash does not get in the way.
  WriteFile(path_ + ".tmp", "half-written");
  ASSERT_DAICHO_OK(SaveOfficeKey(path_, "contract-0002", *newer));
  auto loaded = LoadOfficeKey(path_);
  ASSERT_DAICHO_OK(loaded);
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->contract, "contract-0002");
  EXPECT_TRUE(SameRing((*loaded)->ring, *newer));
  EXPECT_FALSE(fs::exists(path_ + ".tmp"));
  // Only the key file is left in the directory.
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_.path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(KeyFileTest, SaveOverAnExposedFileMakesItPrivate) {
  WriteFile(path_, "old");
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  ASSERT_DAICHO_OK(SaveOfficeKey(path_, "contract-0001", ring_));
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_DAICHO_OK(LoadOfficeKey(path_));
}

TEST_F(KeyFileTest, RemoveThenLoadIsNullopt) {
  ASSERT_DAICHO_OK(SaveOfficeKey(path_, "contract-0001", ring_));
  ASSERT_DAICHO_OK(RemoveOfficeKey(path_));
  EXPECT_FALSE(fs::exists(path_));
  auto loaded = LoadOfficeKey(path_);
  ASSERT_DAICHO_OK(loaded);
  EXPECT_FALSE(loaded->has_value());
  EXPECT_DAICHO_OK(RemoveOfficeKey(path_));  // removing a missing file is fine
}

TEST_F(KeyFileTest, SaveIntoMissingDirectoryIsIoError) {
  const std::string path = OfficeKeyPath(dir_.Sub("no-such-dir"));
  const Status status = SaveOfficeKey(path, "contract-0001", ring_);
  EXPECT_EQ(status.code(), Code::kIoError);
  EXPECT_FALSE(fs::exists(dir_.Sub("no-such-dir")));
}

}  // namespace
}  // namespace daicho::crypto
