#include "relay/mail/outbox_transport.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/testing/fake_clock.h"
#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace daicho::relay::mail {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Files(const std::string& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

mode_t ModeOf(const std::string& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 0777;
}

TEST(OutboxTransportTest, EachMessageIsOneOwnerOnlyFileNamedInDeliveryOrder) {
  testing::TempDir dir;
  auto clock = std::make_shared<testing::FakeClock>(1796659509000);
  const std::string outbox = dir.Sub("outbox");
  Result<std::unique_ptr<OutboxTransport>> transport = OutboxTransport::Open(outbox, clock);
  ASSERT_DAICHO_OK(transport);
  EXPECT_EQ(ModeOf(outbox), 0700u);
  EXPECT_EQ((*transport)->Describe(), "outbox " + outbox);

  ASSERT_TRUE((*transport)->Deliver("from@x.jp", "a@x.jp", "first message").ok());
  ASSERT_TRUE((*transport)->Deliver("from@x.jp", "b@x.jp", "second message").ok());
  clock->Advance(5);
  ASSERT_TRUE((*transport)->Deliver("from@x.jp", "c@x.jp", "third message").ok());

  const std::vector<std::string> names = Files(outbox);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_TRUE(names[0].starts_with("1796659509000-")) << names[0];
  EXPECT_TRUE(names[2].starts_with("1796659509005-")) << names[2];
  EXPECT_EQ(testing::ReadFile(outbox + "/" + names[0]), "first message");
  EXPECT_EQ(testing::ReadFile(outbox + "/" + names[1]), "second message");
  EXPECT_EQ(testing::ReadFile(outbox + "/" + names[2]), "third message");
  for (const std::string& name : names) {
    EXPECT_TRUE(name.ends_with(".eml")) << name;
    EXPECT_EQ(ModeOf(outbox + "/" + name), 0600u) << name;
  }
}

TEST(OutboxTransportTest, AnExistingDirectoryIsUsedAndAFileInTheWayIsAnError) {
  testing::TempDir dir;
  ASSERT_DAICHO_OK(OutboxTransport::Open(dir.path().string()));
  testing::WriteFile(dir.Sub("file"), "not a directory");
  Result<std::unique_ptr<OutboxTransport>> blocked = OutboxTransport::Open(dir.Sub("file"));
  EXPECT_EQ(blocked.status().code(), Code::kIoError);
  EXPECT_NE(blocked.status().message().find("not a directory"), std::string::npos) << blocked.status().message();
}

TEST(OutboxTransportTest, AnOutboxThatWentAwayGivesAnErrorNotACrash) {
  testing::TempDir dir;
  const std::string outbox = dir.Sub("outbox");
  Result<std::unique_ptr<OutboxTransport>> transport = OutboxTransport::Open(outbox);
  ASSERT_DAICHO_OK(transport);
  fs::remove_all(outbox);
  const Status delivered = (*transport)->Deliver("from@x.jp", "a@x.jp", "message");
  EXPECT_EQ(delivered.code(), Code::kIoError);
  EXPECT_NE(delivered.message().find(outbox), std::string::npos) << delivered.message();
}

}  // namespace
}  // namespace daicho::relay::mail
