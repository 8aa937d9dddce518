#include "storage/replica/rollback_guard.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "storage/lmdb/file_lock.h"

namespace daicho::storage {
namespace {

constexpr char kFileName[] = "daicho.guard";
constexpr size_t kMarkSize = 16 + 8 + 16;

RollbackGuard::Mark Decode(const unsigned char* b) {
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

}  // namespace

RollbackGuard::Lock::~Lock() {
  if (fd_ >= 0) ::close(fd_);  // drops the flock
}

RollbackGuard::Lock::Lock(Lock&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), exclusive_(other.exclusive_), path_(std::move(other.path_)) {}

RollbackGuard::Lock& RollbackGuard::Lock::operator=(Lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    exclusive_ = other.exclusive_;
    path_ = std::move(other.path_);
  }
  return *this;
}

std::optional<RollbackGuard::Mark> RollbackGuard::Lock::Read() const {
  if (fd_ < 0) return std::nullopt;
  unsigned char buf[kMarkSize];
  if (::pread(fd_, buf, kMarkSize, 0) != static_cast<ssize_t>(kMarkSize)) return std::nullopt;
  return Decode(buf);
}

Status RollbackGuard::Lock::Write(const Mark& mark) const {
  if (fd_ < 0 || !exclusive_) return Status(Code::kFailedPrecondition, path_ + " is not locked for writing");
  unsigned char buf[kMarkSize];
  Encode(mark, buf);
  if (::pwrite(fd_, buf, kMarkSize, 0) != static_cast<ssize_t>(kMarkSize)) {
    return IoError("cannot write " + path_ + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

RollbackGuard::RollbackGuard(std::string dir, std::chrono::milliseconds timeout)
    : path_(std::move(dir) + "/" + kFileName), timeout_(timeout) {}

Result<RollbackGuard::Lock> RollbackGuard::LockExclusive() const {
  const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot open " + path_ + ": " + std::strerror(errno));
  Lock lock(fd, /*exclusive=*/true, path_);
  DAICHO_RETURN_IF_ERROR(lmdb::LockFileWithin(fd, LOCK_EX, timeout_, What()));
  return lock;
}

Result<RollbackGuard::Lock> RollbackGuard::LockShared() const {
  const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  Lock lock(fd, /*exclusive=*/false, path_);
  if (fd < 0) return lock;
  Status locked = lmdb::LockFileWithin(fd, LOCK_SH, timeout_, What());
  // A failed flock leaves it unlocked: a read could then see a torn or
  // lagging mark, which only ever sends the opener down the checked path
  // (Replica::Impl::LoadExisting). A timeout is reported.
  if (locked.code() == Code::kBusy) return locked;
  return lock;
}

std::string RollbackGuard::What() const { return "the replica at " + path_.substr(0, path_.rfind('/')); }

bool RollbackGuard::Consistent(const Mark& stored, const std::optional<Mark>& file) {
  if (!file || file->id != stored.id) return false;
  if (file->epoch == stored.epoch) return true;
  // The guard is written after the LMDB commit: a crash between the two
  // leaves the store exactly one commit ahead. A restore only goes back.
  return stored.seq == file->seq + 1;
}

}  // namespace daicho::storage
