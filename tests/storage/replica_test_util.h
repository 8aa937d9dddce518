// Helpers shared by the Replica tests: opening replicas quietly, one-line
// commits, and pulling changes from one replica into another.
#ifndef DAICHO_TESTS_STORAGE_REPLICA_TEST_UTIL_H_
#define DAICHO_TESTS_STORAGE_REPLICA_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/value.h"
#include "test_util.h"

namespace daicho::testing {

// Options whose warnings (copied store, clock ahead) are dropped.
inline ReplicaOptions QuietOptions() {
  ReplicaOptions options;
  options.warning_log = [](std::string_view) {};
  return options;
}

inline ReplicaOptions CreateOptions() {
  ReplicaOptions options = QuietOptions();
  options.create_if_missing = true;
  return options;
}

// The opened replica, or nullptr after recording a test failure.
inline std::unique_ptr<Replica> OpenOrNull(const std::string& path, const ReplicaOptions& options) {
  auto opened = Replica::Open(path, options);
  if (!opened.ok()) {
    ADD_FAILURE() << "opening " << path << ": " << opened.status();
    return nullptr;
  }
  return std::move(opened).value();
}

// Commits one register write.
inline Status SetValue(Replica& replica, std::string_view collection, std::string_view id, std::string_view field,
                       Value value) {
  WriteTransaction txn = replica.BeginWrite();
  DAICHO_RETURN_IF_ERROR(txn.Set(collection, id, field, std::move(value)));
  return txn.Commit().status();
}

// Commits one record delete.
inline Status DeleteRecord(Replica& replica, std::string_view collection, std::string_view id) {
  WriteTransaction txn = replica.BeginWrite();
  DAICHO_RETURN_IF_ERROR(txn.Delete(collection, id));
  return txn.Commit().status();
}

// `to` applies every change `from` holds that it lacks.
inline Result<ApplyResult> Pull(Replica& to, const Replica& from) {
  DAICHO_ASSIGN_OR_RETURN(VersionVector vv, to.GetVersionVector());
  DAICHO_ASSIGN_OR_RETURN(std::vector<ChangeBlob> blobs, from.ChangesSince(vv));
  return to.Apply(blobs);
}

// A fixture with a scratch directory for replicas.
class ReplicaDirTest : public ::testing::Test {
 public:
  std::string Path(const std::string& name) const { return tmp_.Sub(name); }
  TempDir tmp_;
};

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_STORAGE_REPLICA_TEST_UTIL_H_
