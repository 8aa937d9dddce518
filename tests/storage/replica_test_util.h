// Helpers shared by the Replica tests: opening replicas quietly, one-line
// commits, pulling changes from one replica into another, describing
// records for comparison, and the ReplicaTest fixture.
#ifndef DAICHO_TESTS_STORAGE_REPLICA_TEST_UTIL_H_
#define DAICHO_TESTS_STORAGE_REPLICA_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daicho/replica.h"
#include "daicho/status.h"
#include "daicho/value.h"
#include "tests/testing/random_bytes.h"
#include "tests/testing/test_util.h"

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

// The fixture of the Replica API tests (replica_*_test.cc): one test suite
// across their files, so one class.
class ReplicaTest : public ReplicaDirTest {};

// A Japanese company name and address, as a ledger holds them.
inline constexpr std::string_view kYamada = "株式会社山田建設 東京都千代田区";

inline Status Exchange(Replica& a, Replica& b) {
  DAICHO_RETURN_IF_ERROR(Pull(a, b).status());
  return Pull(b, a).status();
}

inline std::string Describe(const Value& v) {
  static constexpr const char* kTypes[] = {"null", "bool", "int", "double", "string", "bytes"};
  return std::string(kTypes[static_cast<int>(v.type())]) + ":" + v.ToDisplayString();
}

// Every visible detail of a record, for comparing replicas.
inline std::string Describe(const Record& r) {
  std::ostringstream out;
  out << r.collection << "/" << r.id << (r.deleted ? " deleted" : "") << (r.delete_conflict ? " delete_conflict" : "")
      << " modified=" << r.modified.wall_ms << "." << r.modified.logical << "\n";
  for (const FieldView& f : r.fields) {
    out << "  " << f.name << " kind=" << static_cast<int>(f.kind) << " value=" << Describe(f.value)
        << (f.conflict ? " conflict" : "") << (f.kind_conflict ? " kind_conflict" : "");
    for (const std::string& e : f.elements) out << " elem=" << e;
    for (const Sibling& s : f.siblings) {
      out << " sib=" << Describe(s.value) << "@" << s.dot.origin.ToHex() << ":" << s.dot.counter;
    }
    for (const KindValue& k : f.other_kinds) {
      out << " also kind=" << static_cast<int>(k.kind) << " value=" << Describe(k.value);
      for (const std::string& e : k.elements) out << " elem=" << e;
    }
    out << "\n";
  }
  return out.str();
}

inline std::string Describe(const std::vector<Record>& records) {
  std::string out;
  for (const Record& r : records) out += Describe(r);
  return out;
}

// Every record of `collection`, hidden ones included.
inline std::string DumpCollection(const Replica& replica, std::string_view collection) {
  ListOptions options;
  options.limit = 0;
  options.include_deleted = true;
  auto page = replica.List(collection, options);
  if (!page.ok()) return "error: " + page.status().ToString();
  return Describe(page->records);
}

inline std::string ReadFileBytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void WriteFileBytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_STORAGE_REPLICA_TEST_UTIL_H_
