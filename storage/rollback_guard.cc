#include "storage/rollback_guard.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace daicho::storage {
namespace {

constexpr char kFileName[] = "daicho.guard";
constexpr size_t kMarkSize = 16 + 8 + 16;

// Closes the descriptor (and so drops its flock) on every path.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::optional<RollbackGuard::Mark> Decode(const unsigned char* b) {
  RollbackGuard::Mark mark;
  ReplicaId::Bytes id{}, epoch{};
  std::memcpy(id.data(), b, 16);
  for (int i = 0; i < 8; ++i) mark.seq |= static_cast<uint64_t>(b[16 + i]) << (8 * i);
  std::memcpy(epoch.data(), b + 24, 16);
  mark.id = ReplicaId(id);
  mark.epoch = ReplicaId(epoch);
  return mark;
}

void Encode(const RollbackGuard::Mark& mark, unsigned char* b) {
  std::memcpy(b, mark.id.bytes().data(), 16);
  for (int i = 0; i < 8; ++i) b[16 + i] = static_cast<unsigned char>(mark.seq >> (8 * i));
  std::memcpy(b + 24, mark.epoch.bytes().data(), 16);
}

std::optional<RollbackGuard::Mark> ReadFrom(int fd) {
  unsigned char buf[kMarkSize];
  if (::pread(fd, buf, kMarkSize, 0) != static_cast<ssize_t>(kMarkSize)) return std::nullopt;
  return Decode(buf);
}

}  // namespace

RollbackGuard::RollbackGuard(std::string dir) : path_(std::move(dir) + "/" + kFileName) {}

std::optional<RollbackGuard::Mark> RollbackGuard::Read() const {
  Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return std::nullopt;
  ::flock(fd.get(), LOCK_SH);
  return ReadFrom(fd.get());
}

Status RollbackGuard::Write(const Mark& mark) const {
  Fd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return IoError("cannot open " + path_ + ": " + std::strerror(errno));
  if (::flock(fd.get(), LOCK_EX) != 0) return IoError("cannot lock " + path_ + ": " + std::strerror(errno));
  // Two processes may commit to one store; the later commit's mark must win
  // even if its writer gets here first.
  const std::optional<Mark> current = ReadFrom(fd.get());
  if (current && current->id == mark.id && current->seq > mark.seq) return Status::Ok();
  unsigned char buf[kMarkSize];
  Encode(mark, buf);
  if (::pwrite(fd.get(), buf, kMarkSize, 0) != static_cast<ssize_t>(kMarkSize)) {
    return IoError("cannot write " + path_ + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

bool RollbackGuard::Consistent(const Mark& stored, const std::optional<Mark>& file) {
  if (!file || file->id != stored.id) return false;
  if (file->epoch == stored.epoch) return true;
  // The guard is written after the LMDB commit: a crash between the two
  // leaves the store exactly one commit ahead. A restore only goes back.
  return stored.seq == file->seq + 1;
}

}  // namespace daicho::storage
