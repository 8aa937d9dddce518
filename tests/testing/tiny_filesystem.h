// A small tmpfs for disk-full tests, mounted at a directory inside a mount
// namespace private to the test process (so nothing outside ever sees it,
// and it goes away with the process), plus a filler file that fills it.
// Needs CAP_SYS_ADMIN (root); without it Mount() says why and the test
// skips. Child processes forked or started afterwards (the CLI, a relay)
// inherit the namespace and see the mount. Header-only.
#ifndef DAICHO_TESTS_TESTING_TINY_FILESYSTEM_H_
#define DAICHO_TESTS_TESTING_TINY_FILESYSTEM_H_

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

namespace daicho::testing {

class TinyFilesystem {
 public:
  TinyFilesystem() = default;
  TinyFilesystem(const TinyFilesystem&) = delete;
  TinyFilesystem& operator=(const TinyFilesystem&) = delete;
  ~TinyFilesystem() {
    if (!dir_.empty()) ::umount2(dir_.c_str(), MNT_DETACH);
  }

  // Mounts a tmpfs of `bytes` at `dir` (created if missing). "" on success,
  // otherwise why it cannot be done here (give it to GTEST_SKIP).
  std::string Mount(const std::string& dir, uint64_t bytes) {
    // A namespace of our own, whose mounts do not propagate back out.
    if (::unshare(CLONE_NEWNS) != 0) return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return std::string("making mounts private: ") + std::strerror(errno);
    }
    std::filesystem::create_directories(dir);
    const std::string size = "size=" + std::to_string(bytes) + ",mode=0700";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, size.c_str()) != 0) {
      return std::string("mounting a tmpfs: ") + std::strerror(errno);
    }
    dir_ = dir;
    return "";
  }

  // Writes the filler file until the file system refuses more; true if it
  // did (the file system is full now).
  bool Fill() {
    const int fd = ::open(Filler().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    std::string chunk(4096, 'x');
    ssize_t n = 0;
    // A short write means "nearly full": the next one fails.
    while ((n = ::write(fd, chunk.data(), chunk.size())) >= 0 || errno == EINTR) {
    }
    const bool full = errno == ENOSPC;
    ::close(fd);
    return full;
  }

  // Deletes the filler: the space is free again.
  void Free() { std::filesystem::remove(Filler()); }

 private:
  std::string Filler() const { return dir_ + "/filler"; }

  std::string dir_;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_TINY_FILESYSTEM_H_
