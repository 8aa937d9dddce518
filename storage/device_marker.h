// DeviceMarker: identifies the physical copy of a replica's files, so that a
// store copied to another PC or restored from a backup notices it and takes a
// new ReplicaId before its next commit (otherwise two stores would issue the
// same dots and diverge). The marker is the machine id plus the device and
// inode of the LMDB data file: a copy or a restore gets a new inode, while
// renaming the directory on the same disk does not change it.
#ifndef DAICHO_STORAGE_DEVICE_MARKER_H_
#define DAICHO_STORAGE_DEVICE_MARKER_H_

#include <string>

#include "daicho/status.h"

namespace daicho::storage {

// The marker of the data file at `data_file` on this machine. kIoError if
// the file cannot be examined.
Result<std::string> ComputeDeviceMarker(const std::string& data_file);

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_DEVICE_MARKER_H_
