// A throw-away directory for a test's or a benchmark's data (replicas, relay
// stores, logs), removed with everything in it when the object goes.
#ifndef DAICHO_TESTS_TESTING_TEMP_DIR_H_
#define DAICHO_TESTS_TESTING_TEMP_DIR_H_

#include <filesystem>
#include <string>

namespace daicho::testing {

// A fresh empty directory under the system's temporary directory. Not
// thread-safe; move-free (a path handed out stays valid for its lifetime).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // The path of `name` inside the directory.
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_TEMP_DIR_H_
