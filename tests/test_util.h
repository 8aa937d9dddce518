// Helpers shared by daicho's tests.
#ifndef DAICHO_TESTS_TEST_UTIL_H_
#define DAICHO_TESTS_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "daicho/status.h"

#define ASSERT_DAICHO_OK(expr)                                  \
  do {                                                          \
    const auto& daicho_s_ = (expr);                             \
    ASSERT_TRUE(daicho_s_.ok()) << daicho_s_.status().ToString(); \
  } while (0)
#define EXPECT_DAICHO_OK(expr)                                  \
  do {                                                          \
    const auto& daicho_s_ = (expr);                             \
    EXPECT_TRUE(daicho_s_.ok()) << daicho_s_.status().ToString(); \
  } while (0)

namespace daicho::testing {

// A fresh empty directory removed when the fixture ends.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("daicho-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TEST_UTIL_H_
