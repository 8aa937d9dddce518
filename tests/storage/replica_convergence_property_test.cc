// Convergence of REAL replicas (each an LMDB store in its own directory):
// random edits of every kind on 3-5 replicas, exchanged in random order,
// truncated, shuffled and duplicated. Once everyone has synced with everyone,
// every replica must show the same records (Get, List and ListConflicts,
// down to every sibling's value, which each replica reads from its own
// change log: record states hold no register values), hold identical
// `records` databases (byte for byte once each state's replica indexes are
// replaced by ids: every store numbers replicas in its own dictionary) and
// identical `changes` and `conflicts` databases; counters must count every
// add exactly once.
//
// Runs kCases cases by default; RC_PARAMS (e.g. "max_success=500 seed=1")
// overrides every setting, for longer runs and for replaying a failure.
#include <rapidcheck.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "daicho/replica.h"
#include "storage/replica_test_util.h"
#include "tests/testing/canonical_store.h"
#include "tests/testing/contended_records.h"
#include "tests/testing/test_util.h"

namespace daicho {
namespace {

using ::daicho::testing::Describe;
using ::daicho::testing::TempDir;

constexpr int kCases = 60;
constexpr int kMaxSize = 40;
constexpr int kMaxSteps = 45;
constexpr int kRecords = testing::kContendedRecords;

#define DAICHO_RC_ASSERT_OK(expr)                                                                  \
  do {                                                                                             \
    const auto& daicho_rc_s_ = (expr);                                                             \
    if (!daicho_rc_s_.ok()) RC_FAIL(std::string(#expr) + ": " + daicho_rc_s_.status().ToString()); \
  } while (0)

enum StepKind {
  kSetRegister,
  kCounterAdd,
  kSetAdd,
  kSetRemove,
  kDelete,
  kUndelete,
  kResolve,                // write over whatever conflicts the actor sees on the record
  kMixedKind,              // field "m" used as any kind (reuse, kind conflicts)
  kMultiOp,                // several ops in one transaction, sometimes ending in a delete
  kSync,                   // kSync..kSync+3: weight syncs up
  kRedeliver = kSync + 4,  // an old batch again, to the replica that got it
  kStepKinds,
};

struct Step {
  int kind = 0;
  int actor = 0;  // the editing replica, or the sender
  int other = 0;  // the receiver
  int record = 0;
  int value = 0;         // value / delta / element / choice
  int percent = 100;     // sync: prefix of the changes (<=100) or max_bytes (>100)
  bool twice = false;    // sync: deliver the batch a second time
  bool shuffle = false;  // sync: shuffle the batch
  unsigned seed = 0;
};

std::ostream& operator<<(std::ostream& os, const Step& s) {
  return os << "{kind=" << s.kind << " actor=" << s.actor << " other=" << s.other << " record=" << s.record
            << " value=" << s.value << " percent=" << s.percent << " twice=" << s.twice << " shuffle=" << s.shuffle
            << " seed=" << s.seed << "}";
}

rc::Gen<Step> GenStep(int replicas) {
  return rc::gen::apply(
      [](int kind, int actor, int other, int record, int value, int percent, bool twice, bool shuffle, unsigned seed) {
        return Step{kind, actor, other, record, value, percent, twice, shuffle, seed};
      },
      rc::gen::inRange(0, static_cast<int>(kStepKinds)), rc::gen::inRange(0, replicas), rc::gen::inRange(0, replicas),
      rc::gen::inRange(0, kRecords), rc::gen::inRange(-3, 8), rc::gen::inRange(0, 151), rc::gen::arbitrary<bool>(),
      rc::gen::arbitrary<bool>(), rc::gen::arbitrary<unsigned>());
}

using testing::ContendedCollection;
using testing::ContendedId;
using testing::ContendedValue;

// Everything a user of `replica` can see.
std::string View(const Replica& replica) {
  std::string out;
  ListOptions all;
  all.limit = 0;
  all.include_deleted = true;
  for (const char* collection : {"c", "d"}) {
    for (bool include_deleted : {false, true}) {
      all.include_deleted = include_deleted;
      auto page = replica.List(collection, all);
      if (!page.ok()) return "List failed: " + page.status().ToString();
      out += std::string("list ") + collection + (include_deleted ? " +deleted" : "") + "\n";
      for (const Record& r : page->records) out += Describe(r);
    }
  }
  for (int record = 0; record < kRecords; ++record) {
    auto got = replica.Get(ContendedCollection(record), ContendedId(record));
    out += "get " + ContendedCollection(record) + "/" + ContendedId(record) + ": " +
           (got.ok() ? Describe(*got) : got.status().ToString() + "\n");
  }
  auto conflicts = replica.ListConflicts();
  if (!conflicts.ok()) return "ListConflicts failed: " + conflicts.status().ToString();
  out += "conflicts\n";
  for (const Record& r : *conflicts) out += Describe(r);
  return out;
}

struct Delivery {
  int receiver;
  std::vector<ChangeBlob> batch;
};

class Harness {
 public:
  explicit Harness(int replicas) {
    ReplicaOptions options;
    options.create_if_missing = true;
    options.warning_log = [](std::string_view) {};
    for (int i = 0; i < replicas; ++i) {
      dirs_.push_back(tmp_.Sub("replica" + std::to_string(i)));
      auto opened = Replica::Open(dirs_.back(), options);
      DAICHO_RC_ASSERT_OK(opened);
      replicas_.push_back(std::move(opened).value());
    }
  }

  void Run(const Step& step) {
    if (step.kind >= kSync && step.kind < kRedeliver) return Sync(step);
    if (step.kind == kRedeliver) return Redeliver(step);
    Edit(step);
  }

  // Everyone pulls from everyone until nothing moves.
  void SyncToQuiescence() {
    for (int pass = 0; pass < 4; ++pass) {
      for (size_t to = 0; to < replicas_.size(); ++to) {
        for (size_t from = 0; from < replicas_.size(); ++from) {
          if (to == from) continue;
          auto vv = replicas_[to]->GetVersionVector();
          DAICHO_RC_ASSERT_OK(vv);
          auto batch = replicas_[from]->ChangesSince(*vv);
          DAICHO_RC_ASSERT_OK(batch);
          DAICHO_RC_ASSERT_OK(replicas_[to]->Apply(*batch));
        }
      }
      if (AllVersionVectorsEqual()) return;
    }
    RC_FAIL("version vectors still differ after 4 rounds of syncing everyone with everyone");
  }

  bool HasConflicts() const {
    auto conflicts = replicas_[0]->ListConflicts();
    return conflicts.ok() && !conflicts->empty();
  }

  void CheckConverged() {
    const VersionVector vv = *replicas_[0]->GetVersionVector();
    RC_ASSERT(vv.Total() == commits_);
    const std::string view = View(*replicas_[0]);
    for (size_t i = 1; i < replicas_.size(); ++i) {
      const std::string other = View(*replicas_[i]);
      if (other != view) RC_FAIL("replica 0 shows\n" + view + "\nreplica " + std::to_string(i) + " shows\n" + other);
    }
    // Every counter add counted exactly once, whatever the delivery.
    for (const auto& [record, sum] : counter_sums_) {
      for (const auto& replica : replicas_) {
        auto got = replica->Get(ContendedCollection(record), ContendedId(record));
        DAICHO_RC_ASSERT_OK(got);
        const FieldView* n = got->Find("n");
        RC_ASSERT(n != nullptr);
        RC_ASSERT(n->kind == FieldKind::kCounter);
        RC_ASSERT(n->value == Value(sum));
      }
    }
    // Byte for byte on disk.
    replicas_.clear();
    for (const char* db : {"records", "changes", "conflicts"}) {
      auto first = testing::DumpCanonicalDatabase(dirs_[0], db);
      DAICHO_RC_ASSERT_OK(first);
      if (std::string(db) == "records") RC_ASSERT(first->empty() == (commits_ == 0));
      for (size_t i = 1; i < dirs_.size(); ++i) {
        auto other = testing::DumpCanonicalDatabase(dirs_[i], db);
        DAICHO_RC_ASSERT_OK(other);
        if (*other != *first)
          RC_FAIL(std::string("database '") + db + "' of replica " + std::to_string(i) + " differs from replica 0's");
      }
    }
  }

 private:
  Replica& At(int i) { return *replicas_[static_cast<size_t>(i) % replicas_.size()]; }

  bool AllVersionVectorsEqual() {
    const VersionVector first = *replicas_[0]->GetVersionVector();
    for (const auto& r : replicas_) {
      if (!(*r->GetVersionVector() == first)) return false;
    }
    return true;
  }

  void Edit(const Step& step) {
    Replica& replica = At(step.actor);
    const std::string collection = ContendedCollection(step.record);
    const std::string id = ContendedId(step.record);
    const std::string element = "e" + std::to_string((step.value + 3) % 4);
    WriteTransaction txn = replica.BeginWrite();
    int64_t counter_delta = 0;
    bool counted = false;
    switch (step.kind) {
      case kSetRegister:
        DAICHO_RC_ASSERT_OK(txn.Set(collection, id, step.value % 2 == 0 ? "f0" : "f1", ContendedValue(step.value)));
        break;
      case kCounterAdd:
        DAICHO_RC_ASSERT_OK(txn.Add(collection, id, "n", step.value - 2));
        counter_delta = step.value - 2;
        counted = true;
        break;
      case kSetAdd:
        DAICHO_RC_ASSERT_OK(txn.SetAdd(collection, id, "s", element));
        break;
      case kSetRemove:
        DAICHO_RC_ASSERT_OK(txn.SetRemove(collection, id, "s", element));
        break;
      case kDelete:
      case kUndelete: {
        Status status = step.kind == kDelete ? txn.Delete(collection, id) : txn.Undelete(collection, id);
        if (status.code() == Code::kNotFound) {
          RC_ASSERT(!replica.Get(collection, id).ok());
          return;
        }
        DAICHO_RC_ASSERT_OK(status);
        break;
      }
      case kResolve: {
        auto record = replica.Get(collection, id);
        if (!record.ok()) {
          RC_ASSERT(record.status().code() == Code::kNotFound);
          DAICHO_RC_ASSERT_OK(txn.Set(collection, id, "f0", ContendedValue(step.value)));
          break;
        }
        for (const FieldView& f : record->fields) {
          if (f.kind == FieldKind::kRegister && f.conflict)
            DAICHO_RC_ASSERT_OK(txn.Set(collection, id, f.name, f.value));
          // A kind conflict settles on the counter, whatever kinds it held.
          if (f.kind_conflict) DAICHO_RC_ASSERT_OK(txn.Add(collection, id, f.name, 0));
        }
        if (record->delete_conflict) {
          DAICHO_RC_ASSERT_OK(step.value % 2 == 0 ? txn.Delete(collection, id) : txn.Undelete(collection, id));
        }
        if (txn.size() == 0) DAICHO_RC_ASSERT_OK(txn.Set(collection, id, "f1", ContendedValue(step.value)));
        break;
      }
      case kMixedKind:
        switch ((step.value + 3) % 3) {
          case 0:
            DAICHO_RC_ASSERT_OK(txn.Set(collection, id, "m", ContendedValue(step.value)));
            break;
          case 1:
            DAICHO_RC_ASSERT_OK(txn.Add(collection, id, "m", step.value));
            break;
          default:
            DAICHO_RC_ASSERT_OK(txn.SetAdd(collection, id, "m", element));
            break;
        }
        break;
      case kMultiOp:
        DAICHO_RC_ASSERT_OK(txn.Set(collection, id, "f0", ContendedValue(step.value)));
        DAICHO_RC_ASSERT_OK(txn.Set(collection, id, "f0", ContendedValue(step.value + 1)));  // coalesces
        DAICHO_RC_ASSERT_OK(txn.Add(collection, id, "n", 1));
        DAICHO_RC_ASSERT_OK(txn.Add(collection, id, "n", step.value));
        DAICHO_RC_ASSERT_OK(txn.SetAdd(collection, id, "s", element));
        counter_delta = 1 + step.value;
        counted = true;
        DAICHO_RC_ASSERT_OK(txn.Set(ContendedCollection((step.record + 1) % kRecords),
                                    ContendedId((step.record + 1) % kRecords), "f1", ContendedValue(step.value)));
        if (step.value % 4 == 0 && replica.Get(collection, id).ok()) DAICHO_RC_ASSERT_OK(txn.Delete(collection, id));
        break;
    }
    DAICHO_RC_ASSERT_OK(txn.Commit());
    ++commits_;
    if (counted) counter_sums_[step.record] += counter_delta;
  }

  void Sync(const Step& step) {
    const int n = static_cast<int>(replicas_.size());
    const int from = step.actor % n;
    int to = step.other % n;
    if (to == from) to = (to + 1) % n;
    Replica& sender = *replicas_[from];
    Replica& receiver = *replicas_[to];
    auto vv = receiver.GetVersionVector();
    DAICHO_RC_ASSERT_OK(vv);
    // Over 100: a byte budget instead of a prefix.
    const size_t max_bytes = step.percent > 100 ? static_cast<size_t>(step.percent - 100) * 40 : SIZE_MAX;
    auto changes = sender.ChangesSince(*vv, max_bytes);
    DAICHO_RC_ASSERT_OK(changes);
    std::vector<ChangeBlob> batch = std::move(changes).value();
    if (step.percent <= 100) batch.resize((batch.size() * static_cast<size_t>(step.percent) + 99) / 100);
    if (step.shuffle) std::shuffle(batch.begin(), batch.end(), std::mt19937(step.seed));

    auto applied = receiver.Apply(batch);
    DAICHO_RC_ASSERT_OK(applied);
    RC_ASSERT(applied->applied == batch.size());
    RC_ASSERT(applied->duplicates == 0u);
    if (step.twice) {
      auto again = receiver.Apply(batch);
      DAICHO_RC_ASSERT_OK(again);
      RC_ASSERT(again->applied == 0u);
      RC_ASSERT(again->duplicates == batch.size());
      RC_ASSERT(again->changed.empty());
    }
    history_.push_back(Delivery{to, std::move(batch)});
  }

  void Redeliver(const Step& step) {
    if (history_.empty()) return;
    const Delivery& old = history_[static_cast<size_t>(step.seed) % history_.size()];
    const std::string before = View(*replicas_[old.receiver]);
    auto applied = replicas_[old.receiver]->Apply(old.batch);
    DAICHO_RC_ASSERT_OK(applied);
    RC_ASSERT(applied->applied == 0u);
    RC_ASSERT(applied->duplicates == old.batch.size());
    RC_ASSERT(View(*replicas_[old.receiver]) == before);
  }

  TempDir tmp_;  // declared first: outlives the replicas in it
  std::vector<std::string> dirs_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<Delivery> history_;
  std::map<int, int64_t> counter_sums_;
  uint64_t commits_ = 0;
};

// rapidcheck's gtest glue (rapidcheck/gtest.h) with this file's defaults
// unless RC_PARAMS is set.
template <typename Testable>
void CheckWithDefaults(Testable&& testable) {
  rc::detail::TestParams params = rc::detail::configuration().testParams;
  if (std::getenv("RC_PARAMS") == nullptr) {
    params.maxSuccess = kCases;
    params.maxSize = kMaxSize;
  }
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  rc::detail::TestMetadata metadata;
  metadata.id = std::string(info->test_suite_name()) + "/" + info->name();
  metadata.description = info->name();
  const auto result = rc::detail::checkTestable(std::forward<Testable>(testable), metadata, params);
  if (result.template is<rc::detail::SuccessResult>()) {
    if (!result.template get<rc::detail::SuccessResult>().distribution.empty()) {
      rc::detail::printResultMessage(result, std::cout);
      std::cout << std::endl;
    }
  } else {
    std::ostringstream message;
    rc::detail::printResultMessage(result, message);
    FAIL() << message.str();
  }
}

TEST(ReplicaConvergencePropertyTest, RealReplicasConvergeUnderRandomDelivery) {
  CheckWithDefaults([] {
    const int replicas = *rc::gen::inRange(3, 6);
    const auto steps = *rc::gen::resize(kMaxSteps, rc::gen::container<std::vector<Step>>(GenStep(replicas)));
    Harness harness(replicas);
    for (const Step& step : steps) harness.Run(step);
    harness.SyncToQuiescence();
    RC_CLASSIFY(steps.size() < 15, "fewer than 15 steps");
    RC_CLASSIFY(harness.HasConflicts(), "conflicts at the end");
    harness.CheckConverged();
  });
}

}  // namespace
}  // namespace daicho
