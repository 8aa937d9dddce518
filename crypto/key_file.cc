#include "crypto/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "storage/codec/binary.h"

namespace daicho::crypto {
namespace {

constexpr std::string_view kMagic = "DOK1";
constexpr size_t kChecksumBytes = 16;
// A ring of many rotations is still tiny; anything larger is not ours.
constexpr off_t kMaxFileBytes = 4 << 20;

std::string Checksum(std::string_view bytes) {
  std::string sum(kChecksumBytes, '\0');
  crypto_generichash(reinterpret_cast<unsigned char*>(sum.data()), sum.size(),
                     reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), nullptr, 0);
  return sum;
}

Status Errno(std::string_view what, const std::string& path) {
  return IoError(std::string(what) + " " + path + ": " + std::strerror(errno));
}

// Wipes a string holding secret bytes before it is freed.
struct WipeOnExit {
  std::string& s;
  ~WipeOnExit() { sodium_memzero(s.data(), s.size()); }
};

Status WriteAllAndSync(int fd, std::string_view bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("writing", path);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return Errno("syncing", path);
  return Status::Ok();
}

std::string DirectoryOf(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string OfficeKeyPath(std::string_view replica_dir) {
  std::string path(replica_dir);
  if (!path.empty() && path.back() != '/') path.push_back('/');
  return path + "office.key";
}

Status WriteOwnerOnlyFile(const std::string& path, std::string_view bytes) {
  const std::string temp = path + ".tmp";
  ::unlink(temp.c_str());  // a leftover of a crash; O_EXCL below insists on a fresh file
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("creating", temp);
  Status written = WriteAllAndSync(fd, bytes, temp);
  if (::close(fd) != 0 && written.ok()) written = Errno("closing", temp);
  if (!written.ok()) {
    ::unlink(temp.c_str());
    return written;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    Status failed = Errno("replacing", path);
    ::unlink(temp.c_str());
    return failed;
  }
  // The rename is durable only once the directory is synced.
  const std::string dir = DirectoryOf(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("opening", dir);
  const bool synced = ::fsync(dir_fd) == 0;
  ::close(dir_fd);
  if (!synced) return Errno("syncing", dir);
  return Status::Ok();
}

Status SaveOfficeKey(const std::string& path, std::string_view contract, const KeyRing& ring) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  std::string bytes(kMagic);
  WipeOnExit wipe_bytes{bytes};
  storage::BinaryWriter w(bytes);
  w.Bytes(contract);
  std::string ring_bytes = ring.Serialize();
  WipeOnExit wipe_ring{ring_bytes};
  w.Bytes(ring_bytes);
  w.Raw(Checksum(bytes));

  return WriteOwnerOnlyFile(path, bytes);
}

Result<std::optional<StoredOfficeKey>> LoadOfficeKey(const std::string& path) {
  DAICHO_RETURN_IF_ERROR(InitSodium());
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<StoredOfficeKey>();
    return Errno("opening", path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const Status failed = Errno("reading", path);
    ::close(fd);
    return failed;
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status(Code::kPermissionDenied,
                  path + " can be read by other users; the office key must be private (chmod 600 it)");
  }
  if (st.st_size > kMaxFileBytes) {
    ::close(fd);
    return Corruption(path + " is too large to be an office key file");
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  WipeOnExit wipe_bytes{bytes};
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const Status failed = n < 0 ? Errno("reading", path) : Corruption(path + " shrank while being read");
      ::close(fd);
      return failed;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);

  const std::string damaged = path + " is damaged: unlock the office key again (daicho key unlock)";
  if (bytes.size() < kMagic.size() + kChecksumBytes || std::string_view(bytes).substr(0, kMagic.size()) != kMagic) {
    return Corruption(damaged);
  }
  const std::string_view body = std::string_view(bytes).substr(0, bytes.size() - kChecksumBytes);
  const std::string expected = Checksum(body);
  if (sodium_memcmp(expected.data(), bytes.data() + body.size(), kChecksumBytes) != 0) return Corruption(damaged);
  storage::BinaryReader r(body.substr(kMagic.size()));
  std::string_view contract;
  std::string_view ring_bytes;
  if (!r.Bytes(contract) || !r.Bytes(ring_bytes) || !r.done()) return Corruption(damaged);
  auto ring = KeyRing::Parse(ring_bytes);
  if (!ring.ok()) return Corruption(damaged);
  return std::optional<StoredOfficeKey>(StoredOfficeKey{std::string(contract), *std::move(ring)});
}

Status RemoveOfficeKey(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno("removing", path);
  return Status::Ok();
}

}  // namespace daicho::crypto
