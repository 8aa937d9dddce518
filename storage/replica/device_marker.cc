#include "storage/replica/device_marker.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace daicho::storage {
namespace {

std::string MachineId() {
  for (const char* path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
    std::ifstream in(path);
    std::string id;
    if (in && std::getline(in, id) && !id.empty()) return id;
  }
  // No machine id (minimal containers): the host name still tells PCs apart.
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) return std::string("host:") + host;
  return "unknown-machine";
}

}  // namespace

Result<std::string> ComputeDeviceMarker(const std::string& data_file) {
  struct statx st {};
  if (statx(AT_FDCWD, data_file.c_str(), 0, STATX_INO | STATX_BTIME, &st) != 0) {
    return IoError("cannot stat " + data_file + ": " + std::strerror(errno));
  }
  std::string marker = MachineId() + "|dev=" + std::to_string(st.stx_dev_major) + ":" +
                       std::to_string(st.stx_dev_minor) + "|ino=" + std::to_string(st.stx_ino);
  // File systems reuse a freed inode number at once, so a backup copied back
  // after deleting the store can get the old inode; its birth time differs.
  if (st.stx_mask & STATX_BTIME) {
    marker += "|born=" + std::to_string(st.stx_btime.tv_sec) + "." + std::to_string(st.stx_btime.tv_nsec);
  }
  return marker;
}

}  // namespace daicho::storage
