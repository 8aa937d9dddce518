// Tests of the change file container (storage::WriteChangeFile /
// ReadChangeFile): the USB-stick carrier of changes between replicas, with
// the header naming the office. Damage of any kind must be reported as
// kCorruption, never crash or hand back altered changes. Which office may
// import a file is tested in tests/client/change_file_test.cc.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "change_file_v1.h"
#include "daicho/replica.h"
#include "storage/codec/change_file.h"
#include "tests/testing/random_bytes.h"
#include "tests/testing/test_util.h"

namespace daicho::storage {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using ::daicho::testing::RandomBytes;
using ::daicho::testing::TempDir;

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool SameBlobs(const std::vector<ChangeBlob>& a, const std::vector<ChangeBlob>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].origin != b[i].origin || a[i].seq != b[i].seq || a[i].payload != b[i].payload) return false;
  }
  return true;
}

std::vector<ChangeBlob> SampleBlobs() {
  const ReplicaId a = ReplicaId::Random().value();
  const ReplicaId b = ReplicaId::Random().value();
  return {
      {a, 1, "first payload"},         {a, 2, ""},  // an empty payload is still a change
      {b, 1, "\0\x01\xff binary \0"s}, {a, 3, std::string(70000, 'z')},
      {b, 2, "株式会社山田建設"},
  };
}

const ChangeFileHeader kOffice{kChangeFileVersion, "1234-5678-9012", 3};

class ChangeFileTest : public ::testing::Test {
 protected:
  std::string File(const std::string& name) const { return tmp_.Sub(name); }
  TempDir tmp_;
};

TEST_F(ChangeFileTest, WriteThenReadRoundTrips) {
  const std::vector<ChangeBlob> blobs = SampleBlobs();
  ASSERT_DAICHO_OK(WriteChangeFile(File("changes.dcf"), kOffice, blobs));
  auto read = ReadChangeFile(File("changes.dcf"));
  ASSERT_DAICHO_OK(read);
  EXPECT_TRUE(SameBlobs(read->changes, blobs));
  // No temporary file is left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(tmp_.path()), fs::directory_iterator()), 1);
}

TEST_F(ChangeFileTest, HeaderNamesTheOffice) {
  ASSERT_DAICHO_OK(WriteChangeFile(File("office.dcf"), kOffice, SampleBlobs()));
  auto read = ReadChangeFile(File("office.dcf"));
  ASSERT_DAICHO_OK(read);
  EXPECT_EQ(read->header.version, kChangeFileVersion);
  EXPECT_EQ(read->header.contract, "1234-5678-9012");
  EXPECT_EQ(read->header.key_id, 3u);

  const std::vector<ChangeBlob> blobs = SampleBlobs();
  ASSERT_DAICHO_OK(WriteChangeFile(File("none.dcf"), ChangeFileHeader{}, blobs));
  read = ReadChangeFile(File("none.dcf"));
  ASSERT_DAICHO_OK(read);
  EXPECT_EQ(read->header.contract, "");
  EXPECT_EQ(read->header.key_id, 0u);
  EXPECT_TRUE(SameBlobs(read->changes, blobs));
}

TEST_F(ChangeFileTest, Version1FilesAreReadAsNamingNoOffice) {
  const std::vector<ChangeBlob> blobs = SampleBlobs();
  WriteFileBytes(File("old.dcf"), ::daicho::testing::Version1ChangeFile(blobs));
  auto read = ReadChangeFile(File("old.dcf"));
  ASSERT_DAICHO_OK(read);
  EXPECT_EQ(read->header.version, 1u);
  EXPECT_EQ(read->header.contract, "");
  EXPECT_EQ(read->header.key_id, 0u);
  EXPECT_TRUE(SameBlobs(read->changes, blobs));
}

TEST_F(ChangeFileTest, ANewerVersionIsCorruptionSayingToUpdate) {
  ASSERT_DAICHO_OK(WriteChangeFile(File("ok.dcf"), kOffice, SampleBlobs()));
  std::string bytes = ReadFileBytes(File("ok.dcf"));
  bytes[8] = 3;
  WriteFileBytes(File("v3.dcf"), bytes);
  auto read = ReadChangeFile(File("v3.dcf"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Code::kCorruption) << read.status();
  EXPECT_NE(read.status().message().find("version 3"), std::string::npos) << read.status();
  EXPECT_NE(read.status().message().find("update"), std::string::npos) << read.status();
}

TEST_F(ChangeFileTest, AContractTooLongIsRefusedAndNothingWritten) {
  const ChangeFileHeader header{kChangeFileVersion, std::string(kMaxChangeFileContractBytes + 1, '1'), 1};
  Status written = WriteChangeFile(File("long.dcf"), header, SampleBlobs());
  EXPECT_EQ(written.code(), Code::kInvalidArgument) << written;
  EXPECT_FALSE(fs::exists(File("long.dcf")));
}

TEST_F(ChangeFileTest, EmptyFileOfChangesRoundTrips) {
  ASSERT_DAICHO_OK(WriteChangeFile(File("empty.dcf"), kOffice, {}));
  auto read = ReadChangeFile(File("empty.dcf"));
  ASSERT_DAICHO_OK(read);
  EXPECT_TRUE(read->changes.empty());
}

TEST_F(ChangeFileTest, WritingOverAnExistingFileReplacesIt) {
  const std::vector<ChangeBlob> blobs = SampleBlobs();
  ASSERT_DAICHO_OK(WriteChangeFile(File("changes.dcf"), kOffice, blobs));
  const std::vector<ChangeBlob> fewer(blobs.begin(), blobs.begin() + 2);
  ASSERT_DAICHO_OK(WriteChangeFile(File("changes.dcf"), kOffice, fewer));
  auto read = ReadChangeFile(File("changes.dcf"));
  ASSERT_DAICHO_OK(read);
  EXPECT_TRUE(SameBlobs(read->changes, fewer));
}

TEST_F(ChangeFileTest, CarriesChangesBetweenReplicas) {
  ReplicaOptions options;
  options.create_if_missing = true;
  auto a = Replica::Open(tmp_.Sub("a"), options);
  auto b = Replica::Open(tmp_.Sub("b"), options);
  ASSERT_DAICHO_OK(a);
  ASSERT_DAICHO_OK(b);
  {
    WriteTransaction txn = (*a)->BeginWrite();
    ASSERT_DAICHO_OK(txn.Set("customers", "c1", "name", Value("株式会社山田建設")));
    ASSERT_DAICHO_OK(txn.Add("customers", "c1", "visits", 2));
    ASSERT_DAICHO_OK(txn.Commit());
  }
  auto changes = (*a)->ChangesSince(*(*b)->GetVersionVector());
  ASSERT_DAICHO_OK(changes);
  ASSERT_DAICHO_OK(WriteChangeFile(File("usb.dcf"), kOffice, *changes));
  auto carried = ReadChangeFile(File("usb.dcf"));
  ASSERT_DAICHO_OK(carried);
  auto applied = (*b)->Apply(carried->changes);
  ASSERT_DAICHO_OK(applied);
  EXPECT_EQ(applied->applied, 1u);
  auto record = (*b)->Get("customers", "c1");
  ASSERT_DAICHO_OK(record);
  EXPECT_EQ(record->Find("name")->value, Value("株式会社山田建設"));
  EXPECT_EQ(record->Find("visits")->value, Value(2));
}

TEST_F(ChangeFileTest, TruncatedFileIsCorruption) {
  ASSERT_DAICHO_OK(WriteChangeFile(File("full.dcf"), kOffice, SampleBlobs()));
  const std::string full = ReadFileBytes(File("full.dcf"));
  ASSERT_GT(full.size(), 70000u);
  std::vector<size_t> lengths = {0, 1, 7, 8, 11, 12, 13, 35, 36, 37, 100, full.size() / 2};
  for (size_t cut = 1; cut <= 40; ++cut) lengths.push_back(full.size() - cut);
  for (size_t length : lengths) {
    SCOPED_TRACE("first " + std::to_string(length) + " of " + std::to_string(full.size()) + " bytes");
    WriteFileBytes(File("cut.dcf"), full.substr(0, length));
    auto read = ReadChangeFile(File("cut.dcf"));
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), Code::kCorruption) << read.status();
  }
}

TEST_F(ChangeFileTest, AnyFlippedByteIsCorruption) {
  const ReplicaId a = ReplicaId::Random().value();
  const std::vector<ChangeBlob> blobs = {{a, 1, "abc"}, {a, 2, "defgh"}, {ReplicaId::Random().value(), 7, "\x01\x02"}};
  ASSERT_DAICHO_OK(WriteChangeFile(File("ok.dcf"), kOffice, blobs));
  const std::string good = ReadFileBytes(File("ok.dcf"));
  for (size_t pos = 0; pos < good.size(); ++pos) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string bad = good;
      bad[pos] = static_cast<char>(bad[pos] ^ mask);
      WriteFileBytes(File("bad.dcf"), bad);
      auto read = ReadChangeFile(File("bad.dcf"));
      ASSERT_FALSE(read.ok()) << "byte " << pos << " ^ " << int{mask} << " went unnoticed";
      EXPECT_EQ(read.status().code(), Code::kCorruption) << "byte " << pos << ": " << read.status();
    }
  }
}

TEST_F(ChangeFileTest, AppendedBytesAreCorruption) {
  ASSERT_DAICHO_OK(WriteChangeFile(File("ok.dcf"), kOffice, SampleBlobs()));
  const std::string good = ReadFileBytes(File("ok.dcf"));
  for (const std::string& extra : {"\n"s, "\0"s, good}) {
    WriteFileBytes(File("long.dcf"), good + extra);
    auto read = ReadChangeFile(File("long.dcf"));
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), Code::kCorruption) << read.status();
  }
}

TEST_F(ChangeFileTest, WrongMagicIsCorruption) {
  ASSERT_DAICHO_OK(WriteChangeFile(File("ok.dcf"), kOffice, SampleBlobs()));
  std::string bytes = ReadFileBytes(File("ok.dcf"));
  bytes.replace(0, 8, "PK\x03\x04zzzz");
  WriteFileBytes(File("zip.dcf"), bytes);
  auto read = ReadChangeFile(File("zip.dcf"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Code::kCorruption) << read.status();

  // Something else entirely (a text file picked by mistake).
  WriteFileBytes(File("notes.txt"), std::string(200, 'a'));
  read = ReadChangeFile(File("notes.txt"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Code::kCorruption) << read.status();
}

TEST_F(ChangeFileTest, RandomBytesAreCorruption) {
  std::mt19937 rng(99);
  for (int i = 0; i < 200; ++i) {
    std::string bytes = RandomBytes(rng, rng() % 300);
    if (i % 2 == 0 && bytes.size() >= 8) bytes.replace(0, 8, "DAICHOCF");  // past the magic
    WriteFileBytes(File("random.dcf"), bytes);
    auto read = ReadChangeFile(File("random.dcf"));
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.status().code(), Code::kCorruption) << read.status();
  }
}

TEST_F(ChangeFileTest, MissingFileIsNotFound) {
  auto read = ReadChangeFile(File("nowhere.dcf"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Code::kNotFound) << read.status();
}

TEST_F(ChangeFileTest, WritingIntoAMissingDirectoryFailsCleanly) {
  Status written = WriteChangeFile(tmp_.Sub("no/such/dir/changes.dcf"), kOffice, SampleBlobs());
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.code(), Code::kIoError) << written;
}

}  // namespace
}  // namespace daicho::storage
