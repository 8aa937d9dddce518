// DeviceMarker: identifies the physical copy of a replica's files, so that a
// store copied to another PC or restored from a backup notices it and takes a
// new ReplicaId before its next commit (otherwise two stores would issue the
// same dots and diverge). The marker is the machine id plus the device, inode
// and birth time of the LMDB data file: a copy or a restore makes a new file,
// while renaming the directory on the same disk keeps it. A restore that
// overwrites data.mdb in place keeps the file and is not seen here; the
// replica notices it when a peer sends changes of its own id (Replica::Apply).
#ifndef DAICHO_STORAGE_REPLICA_DEVICE_MARKER_H_
#define DAICHO_STORAGE_REPLICA_DEVICE_MARKER_H_

#include <string>

#include "daicho/status.h"

namespace daicho::storage {

// The marker of the data file at `data_file` on this machine. kIoError if
// the file cannot be examined.
Result<std::string> ComputeDeviceMarker(const std::string& data_file);

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_REPLICA_DEVICE_MARKER_H_
