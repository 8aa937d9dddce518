// Helpers shared by daicho's tests.
#ifndef DAICHO_TESTS_TESTING_TEST_UTIL_H_
#define DAICHO_TESTS_TESTING_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <string>

#include "daicho/status.h"
#include "tests/testing/temp_dir.h"

#define ASSERT_DAICHO_OK(expr)                                    \
  do {                                                            \
    const auto& daicho_s_ = (expr);                               \
    ASSERT_TRUE(daicho_s_.ok()) << daicho_s_.status().ToString(); \
  } while (0)
#define EXPECT_DAICHO_OK(expr)                                    \
  do {                                                            \
    const auto& daicho_s_ = (expr);                               \
    EXPECT_TRUE(daicho_s_.ok()) << daicho_s_.status().ToString(); \
  } while (0)

namespace daicho::testing {

// Writes all of `data` to `fd` (retrying short writes and EINTR): for test
// processes talking over pipes. False on error.
inline bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads exactly `size` bytes from `fd`; false on EOF or error.
inline bool ReadAll(int fd, void* data, size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Everything `fd` gives until EOF or an error (a pipe whose writer died).
inline std::string ReadToEnd(int fd) {
  std::string bytes;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    bytes.append(buf, static_cast<size_t>(n));
  }
  return bytes;
}

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_TEST_UTIL_H_
