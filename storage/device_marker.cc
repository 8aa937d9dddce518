#include "storage/device_marker.h"

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
  struct stat st {};
  if (stat(data_file.c_str(), &st) != 0) {
    return IoError("cannot stat " + data_file + ": " + std::strerror(errno));
  }
  return MachineId() + "|dev=" + std::to_string(static_cast<unsigned long long>(st.st_dev)) +
         "|ino=" + std::to_string(static_cast<unsigned long long>(st.st_ino));
}

}  // namespace daicho::storage
