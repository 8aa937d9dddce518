#include "storage/lmdb/file_lock.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <system_error>
#include <thread>

namespace daicho::storage::lmdb {
namespace {

// The command line of `pid`, arguments joined by spaces and cut to a length
// that fits a message; "" if it cannot be read (the process just ended).
std::string CommandLine(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string line((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!line.empty() && line.back() == '\0') line.pop_back();
  std::replace(line.begin(), line.end(), '\0', ' ');
  constexpr size_t kMaxChars = 100;
  if (line.size() > kMaxChars) line = line.substr(0, kMaxChars) + "...";
  return line;
}

}  // namespace

Status LockFileWithin(int fd, int operation, std::chrono::milliseconds timeout, std::string_view what) {
  // flock has no timed form: poll, starting fine (a commit takes
  // milliseconds) and backing off so a long wait costs little CPU.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    if (::flock(fd, operation | LOCK_NB) == 0) return Status::Ok();
    const int error = errno;
    if (error == EINTR) continue;
    if (error != EWOULDBLOCK) {
      return IoError("cannot lock " + std::string(what) + ": " + std::generic_category().message(error));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::microseconds(50'000));
  }
  const std::string holder = DescribeFileLockHolder(fd);
  const std::string waited = timeout.count() % 1000 == 0 ? std::to_string(timeout.count() / 1000) + " s"
                                                         : std::to_string(timeout.count()) + " ms";
  return Status(Code::kBusy, std::string(what) + " is in use by another program" +
                                 (holder.empty() ? std::string() : " (" + holder + ")") + " for more than " + waited +
                                 "; try again when it has finished, or end it if it hangs");
}

std::string DescribeFileLockHolder(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "";
  // /proc/locks: "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; lines of
  // waiters carry "->" after the number. The device is MAJ:MIN in hex.
  char file_id[64];
  std::snprintf(file_id, sizeof file_id, "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev),
                static_cast<unsigned long>(st.st_ino));
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    std::istringstream fields(line);
    std::string number, kind, mode, access, id;
    long pid = 0;
    if (!(fields >> number >> kind) || kind == "->" || kind != "FLOCK") continue;
    if (!(fields >> mode >> access >> pid >> id) || id != file_id) continue;
    if (pid <= 0 || pid == static_cast<long>(::getpid())) continue;
    const std::string command = CommandLine(pid);
    return "pid " + std::to_string(pid) + (command.empty() ? std::string() : ": " + command);
  }
  return "";
}

}  // namespace daicho::storage::lmdb
