#include "tests/reliability/simulation/simulation.h"

#include <algorithm>
#include <deque>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apps/daicho/csv_ledger.h"
#include "apps/daicho/text_output.h"
#include "daicho/clock.h"
#include "daicho/replica.h"
#include "relay/lmdb/lmdb_backend.h"
#include "relay/relay_admission.h"
#include "relay/relay_service.h"
#include "sync/replica_change_store.h"
#include "sync/sealed_change_store.h"
#include "sync/sync_session.h"
#include "sync/wire_codec.h"
#include "tests/reliability/simulation/deterministic_random.h"
#include "tests/reliability/simulation/sim_checks.h"
#include "tests/reliability/simulation/trace.h"
#include "tests/testing/contended_records.h"

namespace daicho::simulation {
namespace {

constexpr uint64_t kStartMs = 1'780'000'000'000;
// A connection that moves nothing for this long while a session waits is
// given up, as the client's deadline does (frames lost on the way).
constexpr uint64_t kIdleCutMs = 15'000;
constexpr int kRecords = testing::kContendedRecords;
constexpr int kRelayNode = -1;

using testing::ContendedCollection;
using testing::ContendedId;
using testing::ContendedValue;

// A PC's wall clock: the simulation's time plus the PC's own error.
class SimClock final : public Clock {
 public:
  SimClock(const uint64_t& now, int64_t skew_ms) : now_(now), skew_ms_(skew_ms) {}
  uint64_t NowMillis() const override { return now_ + static_cast<uint64_t>(skew_ms_); }

 private:
  const uint64_t& now_;
  const int64_t skew_ms_;
};

struct Pc {
  std::string dir;
  std::shared_ptr<SimClock> clock;
  std::unique_ptr<Replica> replica;  // null while crashed
  std::unique_ptr<sync::ReplicaChangeStore> store;
  std::unique_ptr<sync::SealedChangeStore> sealed;  // the relay's view: sealed changes
  std::string device_token;
};

struct Frame {
  uint64_t due_ms;
  std::string bytes;
};

// One connection: the PC's session (initiator) and the other side's.
struct Link {
  uint64_t id = 0;
  int pc = 0;
  int peer = kRelayNode;  // a PC for LAN links
  std::unique_ptr<sync::SyncSession> initiator;
  std::unique_ptr<sync::ChangeStore> admitted_store;  // the relay's, bound at the Hello
  std::unique_ptr<sync::SyncSession> acceptor;        // the relay's: made at the Hello
  sync::SessionOptions acceptor_options;
  std::deque<Frame> queues[2];  // 0: to the acceptor, 1: to the initiator
  uint64_t last_progress_ms = 0;
  bool closed = false;
};

// A row as `daicho export` writes it, kept as the file the clerk edits.
struct ExportedRow {
  std::string collection;
  std::vector<std::string> header;
  std::vector<std::string> cells;
};

class World {
 public:
  World(const SimulationOptions& options, SimulationFigures& figures)
      : options_(options), rng_(options.seed), figures_(figures), trace_(options.echo_trace) {}

  Status Run() {
    DAICHO_RETURN_IF_ERROR(SetUp());
    for (int step = 0; step < options_.steps; ++step) {
      now_ += rng_.Below(200);
      DAICHO_RETURN_IF_ERROR(Step());
      DAICHO_RETURN_IF_ERROR(CutIdleLinks());
    }
    DAICHO_RETURN_IF_ERROR(HealAndSyncFully());
    return Check();
  }

  Trace& trace() { return trace_; }

 private:
  Status SetUp() {
    const int replicas = 3 + rng_.Index(5);
    figures_.replicas = replicas;
    // Each seed its own network: from clean to one frame in ten lost, one in
    // ten doubled and a third of the rest out of order.
    drop_ = rng_.Chance(0.8) ? 0.02 * static_cast<double>(rng_.Below(6)) : 0;
    duplicate_ = rng_.Chance(0.5) ? 0.02 * static_cast<double>(rng_.Below(6)) : 0;
    reorder_ = rng_.Chance(0.5) ? 0.05 * static_cast<double>(rng_.Below(7)) : 0;
    max_delay_ms_ = 1 + rng_.Below(400);
    trace_.Note("world replicas=" + std::to_string(replicas) + " drop=" + std::to_string(drop_) +
                " dup=" + std::to_string(duplicate_) + " reorder=" + std::to_string(reorder_) +
                " delay<=" + std::to_string(max_delay_ms_));
    relay_dir_ = options_.dir + "/relay";
    std::error_code ec;
    std::filesystem::copy(options_.relay_template, relay_dir_, std::filesystem::copy_options::recursive, ec);
    if (ec) return Status(Code::kIoError, "copying the relay template: " + ec.message());
    DAICHO_RETURN_IF_ERROR(StartRelay());
    DAICHO_ASSIGN_OR_RETURN(contract_, relay::ContractNumber::Parse(kSimContract));
    for (int i = 0; i < replicas; ++i) {
      Pc pc;
      pc.dir = options_.dir + "/pc" + std::to_string(i);
      // Most clocks a little off; now and then one a day and more ahead
      // (its stamps are applied but must not drag the others' clocks).
      const int64_t skew = rng_.Chance(0.1) ? int64_t{30} * 3600 * 1000 : static_cast<int64_t>(rng_.Below(4001)) - 2000;
      pc.clock = std::make_shared<SimClock>(now_, skew);
      pcs_.push_back(std::move(pc));
      DAICHO_RETURN_IF_ERROR(OpenPc(i));
      auto token = relay_->IssueDeviceToken(*contract_, kSimUser, pcs_[i].replica->id(), "pc" + std::to_string(i));
      if (!token.ok()) return token.status();
      pcs_[i].device_token = *std::move(token);
    }
    return Status::Ok();
  }

  Status StartRelay() {
    DAICHO_ASSIGN_OR_RETURN(auto backend, relay::LmdbBackend::Open(relay_dir_));
    DAICHO_ASSIGN_OR_RETURN(relay_, relay::RelayService::Create(std::move(backend)));
    return Status::Ok();
  }

  Status OpenPc(int i) {
    Pc& pc = pcs_[i];
    ReplicaOptions options;
    options.create_if_missing = true;
    options.clock = pc.clock;
    options.warning_log = [](std::string_view) {};
    DAICHO_ASSIGN_OR_RETURN(pc.replica, Replica::Open(pc.dir, options));
    pc.store = std::make_unique<sync::ReplicaChangeStore>(*pc.replica);
    pc.sealed = std::make_unique<sync::SealedChangeStore>(*pc.store, kSimContract, options_.office_key->Clone());
    trace_.Note("pc" + std::to_string(i) + " opened as " + pc.replica->id().ToHex());
    return Status::Ok();
  }

  // ---- One step of activity ----

  Status Step() {
    const uint64_t roll = rng_.Below(100);
    if (roll < 25) return Edit(rng_.Index(pcs_.size()));
    if (roll < 70) return Deliver(1 + rng_.Below(8));
    if (roll < 78) return Connect(rng_.Index(pcs_.size()), rng_.Chance(0.5) ? kRelayNode : rng_.Index(pcs_.size()));
    if (roll < 80) return CutRandomLink();
    if (roll < 83) return TogglePartition();
    if (roll < 86) return ExportRow(rng_.Index(pcs_.size()));
    if (roll < 90) return ImportRow(rng_.Index(pcs_.size()));
    if (roll < 92) return AbandonTransaction(rng_.Index(pcs_.size()));
    if (roll < 95) return CrashOrReopenPc(rng_.Index(pcs_.size()));
    if (roll < 96) return CrashOrRestartRelay();
    return Deliver(1 + rng_.Below(8));
  }

  Status Edit(int p) {
    Pc& pc = pcs_[p];
    if (!pc.replica) return Status::Ok();
    const int record = rng_.Index(kRecords);
    const int value = static_cast<int>(rng_.Below(11)) - 3;
    const std::string collection = ContendedCollection(record);
    const std::string id = ContendedId(record);
    const std::string element = "e" + std::to_string(rng_.Below(4));
    WriteTransaction txn = pc.replica->BeginWrite();
    int64_t counted = 0;
    const uint64_t kind = rng_.Below(10);
    std::string what;
    switch (kind) {
      case 0:
      case 1:
        what = "set";
        DAICHO_RETURN_IF_ERROR(txn.Set(collection, id, value % 2 == 0 ? "f0" : "f1", ContendedValue(value)));
        break;
      case 2:
        what = "add";
        counted = value - 2;
        DAICHO_RETURN_IF_ERROR(txn.Add(collection, id, "n", counted));
        break;
      case 3:
        what = "set-add";
        DAICHO_RETURN_IF_ERROR(txn.SetAdd(collection, id, "s", element));
        break;
      case 4:
        what = "set-remove";
        DAICHO_RETURN_IF_ERROR(txn.SetRemove(collection, id, "s", element));
        break;
      case 5:
      case 6: {
        what = kind == 5 ? "delete" : "undelete";
        Status s = kind == 5 ? txn.Delete(collection, id) : txn.Undelete(collection, id);
        if (s.code() == Code::kNotFound) return Status::Ok();  // nothing to delete yet
        DAICHO_RETURN_IF_ERROR(s);
        break;
      }
      case 7: {
        what = "resolve";
        DAICHO_RETURN_IF_ERROR(Resolve(*pc.replica, txn, collection, id, value));
        break;
      }
      case 8:
        what = "reuse";
        switch (rng_.Below(3)) {
          case 0:
            DAICHO_RETURN_IF_ERROR(txn.Set(collection, id, "m", ContendedValue(value)));
            break;
          case 1:
            DAICHO_RETURN_IF_ERROR(txn.Add(collection, id, "m", value));
            break;
          default:
            DAICHO_RETURN_IF_ERROR(txn.SetAdd(collection, id, "m", element));
            break;
        }
        break;
      default:
        what = "multi";
        DAICHO_RETURN_IF_ERROR(txn.Set(collection, id, "f0", ContendedValue(value)));
        DAICHO_RETURN_IF_ERROR(txn.Set(collection, id, "f0", ContendedValue(value + 1)));  // coalesces
        DAICHO_RETURN_IF_ERROR(txn.Add(collection, id, "n", 1));
        DAICHO_RETURN_IF_ERROR(txn.Add(collection, id, "n", value));
        counted = 1 + value;
        DAICHO_RETURN_IF_ERROR(txn.SetAdd(collection, id, "s", element));
        DAICHO_RETURN_IF_ERROR(txn.Set(ContendedCollection((record + 1) % kRecords),
                                       ContendedId((record + 1) % kRecords), "f1", ContendedValue(value)));
        if (value % 4 == 0 && pc.replica->Get(collection, id).ok()) DAICHO_RETURN_IF_ERROR(txn.Delete(collection, id));
        break;
    }
    DAICHO_RETURN_IF_ERROR(CommitAcknowledged(p, txn, what + " " + collection + "/" + id));
    if (counted != 0) checks_.CountAdd(collection, id, counted);
    return Status::Ok();
  }

  // Writes over whatever conflicts the PC shows on the record, as a clerk
  // picking a value does.
  Status Resolve(const Replica& replica, WriteTransaction& txn, const std::string& collection, const std::string& id,
                 int value) {
    auto record = replica.Get(collection, id);
    if (!record.ok()) {
      if (record.status().code() != Code::kNotFound) return record.status();
      return txn.Set(collection, id, "f0", ContendedValue(value));
    }
    for (const FieldView& f : record->fields) {
      if (f.kind == FieldKind::kRegister && f.conflict)
        DAICHO_RETURN_IF_ERROR(txn.Set(collection, id, f.name, f.value));
      if (f.kind_conflict) DAICHO_RETURN_IF_ERROR(txn.Add(collection, id, f.name, 0));
    }
    if (record->delete_conflict) {
      DAICHO_RETURN_IF_ERROR(value % 2 == 0 ? txn.Delete(collection, id) : txn.Undelete(collection, id));
    }
    if (txn.size() == 0) return txn.Set(collection, id, "f1", ContendedValue(value));
    return Status::Ok();
  }

  Status CommitAcknowledged(int p, WriteTransaction& txn, const std::string& what) {
    DAICHO_ASSIGN_OR_RETURN(CommitInfo info, txn.Commit());
    ++figures_.commits;
    checks_.Acknowledge(info.dot);
    trace_.Note("pc" + std::to_string(p) + " commit " + std::to_string(info.dot.counter) + " " + what);
    return NotifyNode(p, nullptr);
  }

  // A transaction begun and dropped: the PC crashed before committing it,
  // so none of it may show anywhere.
  Status AbandonTransaction(int p) {
    Pc& pc = pcs_[p];
    if (!pc.replica) return Status::Ok();
    DAICHO_ASSIGN_OR_RETURN(VersionVector before, pc.replica->GetVersionVector());
    {
      WriteTransaction txn = pc.replica->BeginWrite();
      DAICHO_RETURN_IF_ERROR(txn.Set("c", "r0", "f0", Value("never committed")));
      DAICHO_RETURN_IF_ERROR(txn.Add("c", "r0", "n", 1000));
    }
    ++figures_.abandoned;
    DAICHO_ASSIGN_OR_RETURN(VersionVector after, pc.replica->GetVersionVector());
    if (!(after == before)) return Internal("an abandoned transaction changed pc" + std::to_string(p) + "'s changes");
    trace_.Note("pc" + std::to_string(p) + " abandoned a transaction");
    return Status::Ok();
  }

  // ---- CSV export and import with version tokens ----

  Status ExportRow(int p) {
    Pc& pc = pcs_[p];
    if (!pc.replica) return Status::Ok();
    const int record = rng_.Index(kRecords);
    DAICHO_ASSIGN_OR_RETURN(VersionVector seen, pc.replica->GetVersionVector());
    auto got = pc.replica->Get(ContendedCollection(record), ContendedId(record));
    if (!got.ok()) return got.status().code() == Code::kNotFound ? Status::Ok() : got.status();
    DAICHO_ASSIGN_OR_RETURN(RecordContext context,
                            pc.replica->GetRecordContext(ContendedCollection(record), ContendedId(record)));
    ExportedRow row{ContendedCollection(record), {"id"}, {got->id}};
    for (const FieldView& f : got->fields) {
      row.header.push_back(cli::ColumnHeader(cli::CsvColumn{f.name, f.kind}));
      row.cells.push_back(cli::FieldCellText(f));
    }
    row.header.emplace_back(cli::kVersionColumn);
    row.cells.push_back(cli::EncodeRowToken(cli::MakeRowToken(*got, context, pc.replica->id(), seen)));
    trace_.Note("pc" + std::to_string(p) + " exported " + row.collection + "/" + got->id);
    exports_.push_back(std::move(row));
    return Status::Ok();
  }

  // The clerk edits some cells of an exported row (the file may have gone to
  // another PC) and imports it.
  Status ImportRow(int p) {
    Pc& pc = pcs_[p];
    if (!pc.replica || exports_.empty()) return Status::Ok();
    ExportedRow file = exports_[rng_.Below(exports_.size())];
    DAICHO_ASSIGN_OR_RETURN(cli::CsvLayout layout, cli::ParseCsvHeader(file.header));
    for (size_t c = 0; c + 1 < file.header.size(); ++c) {
      if (layout.token_column && c + 1 == *layout.token_column) continue;
      if (!rng_.Chance(0.4)) continue;
      std::string& cell = file.cells[c + 1];
      switch (layout.columns[c].kind) {
        case FieldKind::kRegister:
          cell = "csv" + std::to_string(rng_.Below(3));
          break;
        case FieldKind::kCounter: {
          int64_t total = 0;
          if (!cell.empty()) total = std::stoll(cell);
          cell = std::to_string(total + static_cast<int64_t>(rng_.Below(7)) - 3);
          break;
        }
        case FieldKind::kSet: {
          std::vector<std::string> elements = cli::ParseSetCell(cell);
          if (!elements.empty() && rng_.Chance(0.5)) {
            elements.erase(elements.begin() + static_cast<std::ptrdiff_t>(rng_.Below(elements.size())));
          } else {
            elements.push_back("e" + std::to_string(rng_.Below(4)));
          }
          cell = cli::SetCellText(elements);
          break;
        }
      }
    }
    // Now and then a file whose token column was cleared: plain writes.
    if (layout.token_column && rng_.Chance(0.1)) file.cells[*layout.token_column].clear();
    DAICHO_ASSIGN_OR_RETURN(cli::ParsedRow row, cli::ParseCsvRow(layout, 2, file.cells));
    // As `daicho import` does: a token speaking of changes this PC lacks is
    // refused; the clerk then syncs first or deletes the token column.
    DAICHO_ASSIGN_OR_RETURN(VersionVector held, pc.replica->GetVersionVector());
    if (row.token && !held.Dominates(row.token->seen)) {
      trace_.Note("pc" + std::to_string(p) + " refused a file exported from changes it lacks");
      if (rng_.Chance(0.5)) return Status::Ok();
      row.token.reset();
    }
    std::optional<Record> current;
    std::optional<RecordContext> context;
    auto got = pc.replica->Get(file.collection, row.id);
    if (got.ok()) {
      current = *std::move(got);
      DAICHO_ASSIGN_OR_RETURN(context, pc.replica->GetRecordContext(file.collection, row.id));
    } else if (got.status().code() != Code::kNotFound) {
      return got.status();
    }
    const cli::RowPlan plan = cli::PlanRow(row, current ? &*current : nullptr, context ? &*context : nullptr,
                                           pc.replica->id(), file.collection);
    if (plan.writes.empty()) return Status::Ok();
    WriteTransaction txn = pc.replica->BeginWrite();
    int64_t counted = 0;
    for (const cli::CellWrite& w : plan.writes) {
      DAICHO_RETURN_IF_ERROR(cli::ApplyCellWrite(txn, file.collection, row, w));
      if (w.type == cli::CellWrite::Type::kAdd && w.field == "n") counted += w.delta;
    }
    DAICHO_RETURN_IF_ERROR(CommitAcknowledged(
        p, txn, "csv import " + file.collection + "/" + row.id + " conflicts=" + std::to_string(plan.conflicts)));
    if (counted != 0) checks_.CountAdd(file.collection, row.id, counted);
    ++figures_.csv_imports;
    return Status::Ok();
  }

  // ---- The network ----

  static std::pair<int, int> PairOf(int a, int b) { return a < b ? std::pair{a, b} : std::pair{b, a}; }
  bool Partitioned(const Link& link) const { return partitions_.count(PairOf(link.pc, link.peer)) > 0; }

  Status Connect(int p, int peer, sync::Purpose purpose = sync::Purpose::kSync, bool choose = true) {
    if (peer == p || !pcs_[p].replica) return Status::Ok();
    if (peer == kRelayNode ? !relay_ : !pcs_[peer].replica) return Status::Ok();
    for (const Link& l : links_) {
      if (!l.closed && PairOf(l.pc, l.peer) == PairOf(p, peer)) return Status::Ok();
    }
    Link& link = links_.emplace_back();
    link.id = ++figures_.connections;
    link.pc = p;
    link.peer = peer;
    link.last_progress_ms = now_;
    sync::SessionOptions options;
    options.role = sync::SessionRole::kInitiator;
    options.purpose = choose && rng_.Chance(0.5) ? sync::Purpose::kWatch : purpose;
    if (choose) {
      options.max_batch_bytes = size_t{256} << rng_.Below(8);
      options.max_in_flight_batches = 1 + rng_.Below(4);
    }
    sync::ChangeStore* store = pcs_[p].store.get();
    if (peer == kRelayNode) {
      options.contract = kSimContract;
      options.user = kSimUser;
      options.credentials = sync::DeviceTokenCredential{pcs_[p].device_token};
      options.on_welcome = [](const sync::Welcome& welcome) {
        if (welcome.uploads_refused) return Status(Code::kInternal, "the relay refused the simulated office's uploads");
        return Status::Ok();
      };
      store = pcs_[p].sealed.get();
    } else {
      sync::SessionOptions accepting;
      accepting.role = sync::SessionRole::kAcceptor;
      link.acceptor = std::make_unique<sync::SyncSession>(*pcs_[peer].store, accepting, pcs_[peer].replica->id());
    }
    link.initiator = std::make_unique<sync::SyncSession>(*store, std::move(options), pcs_[p].replica->id());
    trace_.Note("link " + std::to_string(link.id) + " pc" + std::to_string(p) + " -> " + NodeName(peer) +
                (link.initiator->options().purpose == sync::Purpose::kWatch ? " watch" : " sync"));
    DAICHO_ASSIGN_OR_RETURN(std::vector<std::string> hello, link.initiator->Start());
    Send(link, 0, std::move(hello));
    return Status::Ok();
  }

  static std::string NodeName(int node) { return node == kRelayNode ? "relay" : "pc" + std::to_string(node); }

  void Send(Link& link, int direction, std::vector<std::string> frames) {
    for (std::string& f : frames) {
      if (Partitioned(link) || rng_.Chance(drop_)) {
        ++figures_.frames_dropped;
        continue;
      }
      const uint64_t due = now_ + rng_.Below(max_delay_ms_ + 1);
      if (rng_.Chance(duplicate_)) {
        ++figures_.frames_duplicated;
        link.queues[direction].push_back(Frame{due + 1, f});
      }
      link.queues[direction].push_back(Frame{due, std::move(f)});
    }
  }

  // Delivers up to `count` frames that are due, each from a random link and
  // direction; a reordering network may pick any due frame of a direction.
  Status Deliver(uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
      std::vector<std::pair<Link*, int>> ready;
      for (Link& l : links_) {
        for (int d = 0; d < 2; ++d) {
          if (!l.closed && !l.queues[d].empty() && l.queues[d].front().due_ms <= now_) ready.emplace_back(&l, d);
        }
      }
      if (ready.empty()) {
        now_ += 1 + rng_.Below(max_delay_ms_ + 1);
        continue;
      }
      auto [link, direction] = ready[rng_.Below(ready.size())];
      std::deque<Frame>& queue = link->queues[direction];
      size_t pick = 0;
      if (queue.size() > 1 && rng_.Chance(reorder_)) {
        pick = rng_.Below(queue.size());
        if (pick != 0) ++figures_.frames_reordered;
      }
      std::string frame = std::move(queue[pick].bytes);
      queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(pick));
      if (Partitioned(*link)) {
        ++figures_.frames_dropped;
        continue;
      }
      DAICHO_RETURN_IF_ERROR(DeliverFrame(*link, direction, frame));
      SweepClosedLinks();
    }
    return Status::Ok();
  }

  Status DeliverFrame(Link& link, int direction, const std::string& frame) {
    ++figures_.frames_delivered;
    link.last_progress_ms = now_;
    if (direction == 0 && !link.acceptor) {
      // The relay binds the contract's store once the Hello proved who
      // connects, as its server does.
      auto message = sync::DecodeFrame(frame);
      if (!message.ok() || !std::holds_alternative<sync::Hello>(*message)) {
        return Close(link, "relay: the first frame is not a Hello");
      }
      auto accepted = relay::AdmitSession(*relay_, std::get<sync::Hello>(*message), "127.0.0.1");
      if (!accepted.ok()) return Close(link, "relay refused the login: " + accepted.status().ToString());
      link.admitted_store = std::move(accepted->store);
      link.acceptor_options.role = sync::SessionRole::kAcceptor;
      link.acceptor_options.authenticate = [admission = accepted->admission](const sync::Hello&) {
        return Result<sync::Admission>(admission);
      };
      DAICHO_ASSIGN_OR_RETURN(ReplicaId relay_id, ReplicaId::FromBytes(std::string(16, '\x52')));
      link.acceptor = std::make_unique<sync::SyncSession>(*link.admitted_store, link.acceptor_options, relay_id);
    }
    sync::SyncSession& to = direction == 0 ? *link.acceptor : *link.initiator;
    auto out = to.OnFrame(frame);
    if (!out.ok()) return Close(link, "after its failure: " + out.status().ToString());
    Send(link, 1 - direction, *std::move(out));
    if (to.state() == sync::SessionState::kFailed) {
      ++figures_.sessions_failed;
      return Close(link, std::string(direction == 0 ? "acceptor" : "initiator") + " failed: " + to.status().ToString());
    }
    DAICHO_RETURN_IF_ERROR(NotifyNode(direction == 0 ? link.peer : link.pc, &to));
    if (link.acceptor && link.initiator->options().purpose == sync::Purpose::kSync && link.initiator->InSync() &&
        link.acceptor->InSync()) {
      return Close(link, "in sync");
    }
    return Status::Ok();
  }

  // A node's store gained changes: its other open sessions push them live
  // (the relay to the contract's other devices, a PC to its peers).
  Status NotifyNode(int node, const sync::SyncSession* except) {
    for (Link& l : links_) {
      if (l.closed) continue;
      sync::SyncSession* sessions[2] = {l.pc == node ? l.initiator.get() : nullptr,
                                        l.peer == node ? l.acceptor.get() : nullptr};
      for (int side = 0; side < 2; ++side) {
        sync::SyncSession* s = sessions[side];
        if (s == nullptr || s == except || s->state() != sync::SessionState::kOpen) continue;
        auto out = s->OnLocalCommit();
        if (!out.ok()) {
          DAICHO_RETURN_IF_ERROR(Close(l, "live push failed: " + out.status().ToString()));
          break;
        }
        Send(l, side == 0 ? 0 : 1, *std::move(out));
      }
    }
    return Status::Ok();
  }

  Status Close(Link& link, const std::string& why) {
    if (link.closed) return Status::Ok();
    link.closed = true;
    last_close_reason_ = why;
    trace_.Note("link " + std::to_string(link.id) + " closed: " + why);
    return Status::Ok();
  }

  void SweepClosedLinks() {
    links_.remove_if([](const Link& l) { return l.closed; });
  }

  Status CutRandomLink() {
    if (links_.empty()) return Status::Ok();
    auto it = links_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(rng_.Below(links_.size())));
    DAICHO_RETURN_IF_ERROR(Close(*it, "cut"));
    SweepClosedLinks();
    return Status::Ok();
  }

  // The client gives up on a connection that moved nothing for kIdleCutMs
  // while a session still waits for something; a live one in sync stays.
  Status CutIdleLinks() {
    for (Link& l : links_) {
      if (l.closed || now_ - l.last_progress_ms < kIdleCutMs) continue;
      if (!l.queues[0].empty() || !l.queues[1].empty()) continue;
      const bool live_in_sync = l.acceptor && l.initiator->state() == sync::SessionState::kOpen &&
                                l.initiator->InSync() && l.acceptor->InSync();
      if (live_in_sync) continue;
      ++figures_.idle_cuts;
      DAICHO_RETURN_IF_ERROR(Close(l, "idle past the deadline"));
    }
    SweepClosedLinks();
    return Status::Ok();
  }

  Status TogglePartition() {
    const int a = rng_.Index(pcs_.size());
    const int b = rng_.Chance(0.5) ? kRelayNode : rng_.Index(pcs_.size());
    if (a == b) return Status::Ok();
    const auto pair = PairOf(a, b);
    if (partitions_.erase(pair) > 0) {
      trace_.Note("healed " + NodeName(a) + " | " + NodeName(b));
    } else {
      partitions_.insert(pair);
      ++figures_.partitions;
      trace_.Note("partitioned " + NodeName(a) + " | " + NodeName(b));
    }
    return Status::Ok();
  }

  Status CloseLinksOf(int node, const std::string& why) {
    for (Link& l : links_) {
      if (l.pc == node || l.peer == node) DAICHO_RETURN_IF_ERROR(Close(l, why));
    }
    SweepClosedLinks();
    return Status::Ok();
  }

  // ---- Crashes ----

  Status CrashOrReopenPc(int p) {
    Pc& pc = pcs_[p];
    if (pc.replica) {
      DAICHO_RETURN_IF_ERROR(CloseLinksOf(p, "pc" + std::to_string(p) + " crashed"));
      pc.sealed.reset();
      pc.store.reset();
      pc.replica.reset();
      ++figures_.pc_crashes;
      trace_.Note("pc" + std::to_string(p) + " crashed");
      return Status::Ok();
    }
    trace_.Note("pc" + std::to_string(p) + " reopened");
    return OpenPc(p);
  }

  Status CrashOrRestartRelay() {
    if (relay_) {
      DAICHO_RETURN_IF_ERROR(CloseLinksOf(kRelayNode, "relay crashed"));
      relay_.reset();
      ++figures_.relay_crashes;
      trace_.Note("relay crashed");
      return Status::Ok();
    }
    trace_.Note("relay restarted");
    return StartRelay();
  }

  // ---- The end: heal, sync everyone fully, check ----

  Status HealAndSyncFully() {
    trace_.Note("heal");
    drop_ = duplicate_ = reorder_ = 0;
    partitions_.clear();
    for (Link& l : links_) DAICHO_RETURN_IF_ERROR(Close(l, "heal"));
    SweepClosedLinks();
    if (!relay_) DAICHO_RETURN_IF_ERROR(StartRelay());
    for (size_t p = 0; p < pcs_.size(); ++p) {
      if (!pcs_[p].replica) DAICHO_RETURN_IF_ERROR(OpenPc(static_cast<int>(p)));
    }
    // Two rounds: the first brings everything to the relay, the second
    // everything from it to every PC.
    for (int round = 0; round < 2; ++round) {
      for (size_t p = 0; p < pcs_.size(); ++p) {
        DAICHO_RETURN_IF_ERROR(Connect(static_cast<int>(p), kRelayNode, sync::Purpose::kSync, /*choose=*/false));
        for (int i = 0; !links_.empty(); ++i) {
          if (i > 1'000'000) return Internal("a full sync of pc" + std::to_string(p) + " did not finish");
          DAICHO_RETURN_IF_ERROR(Deliver(1));
          if (!links_.empty() && links_.front().queues[0].empty() && links_.front().queues[1].empty()) {
            return Internal("a full sync of pc" + std::to_string(p) + " stalled: " + StallReason(links_.front()));
          }
        }
        if (last_close_reason_ != "in sync") {
          return Internal("a full sync of pc" + std::to_string(p) + " ended: " + last_close_reason_);
        }
      }
    }
    return Status::Ok();
  }

  static std::string StallReason(const Link& l) {
    std::string why = "initiator " + l.initiator->status().ToString();
    if (l.acceptor) why += ", acceptor " + l.acceptor->status().ToString();
    return why;
  }

  Status Check() {
    DAICHO_ASSIGN_OR_RETURN(auto relay_store, relay_->ContractChanges(*contract_));
    DAICHO_ASSIGN_OR_RETURN(VersionVector relay_vv, relay_store->GetVersionVector());
    std::vector<std::string> dirs;
    for (size_t p = 0; p < pcs_.size(); ++p) {
      const std::string name = "pc" + std::to_string(p);
      DAICHO_RETURN_IF_ERROR(checks_.CheckReplica(name, *pcs_[p].replica, relay_vv, figures_.commits));
      if (p == 0) {
        DAICHO_RETURN_IF_ERROR(checks_.CollectRegisterWrites(*pcs_[p].replica));
        DAICHO_ASSIGN_OR_RETURN(auto conflicts, pcs_[p].replica->ListConflicts());
        figures_.conflicts = conflicts.size();
      }
      dirs.push_back(pcs_[p].dir);
    }
    pcs_.clear();  // closes every store: the byte comparison reads them from disk
    DAICHO_ASSIGN_OR_RETURN(std::string canonical, checks_.CheckStoresIdentical(dirs));
    trace_.Note(canonical);
    return Status::Ok();
  }

  const SimulationOptions& options_;
  SimRandom rng_;
  SimulationFigures& figures_;
  Trace trace_;
  SimChecks checks_;
  uint64_t now_ = kStartMs;
  double drop_ = 0;
  double duplicate_ = 0;
  double reorder_ = 0;
  uint64_t max_delay_ms_ = 1;
  std::string relay_dir_;
  std::optional<relay::ContractNumber> contract_;
  std::unique_ptr<relay::RelayService> relay_;  // null while crashed
  std::vector<Pc> pcs_;
  std::list<Link> links_;
  std::set<std::pair<int, int>> partitions_;
  std::vector<ExportedRow> exports_;
  std::string last_close_reason_;
};

}  // namespace

SimulationFigures& SimulationFigures::operator+=(const SimulationFigures& other) {
  commits += other.commits;
  abandoned += other.abandoned;
  csv_imports += other.csv_imports;
  frames_delivered += other.frames_delivered;
  frames_dropped += other.frames_dropped;
  frames_duplicated += other.frames_duplicated;
  frames_reordered += other.frames_reordered;
  connections += other.connections;
  sessions_failed += other.sessions_failed;
  idle_cuts += other.idle_cuts;
  partitions += other.partitions;
  pc_crashes += other.pc_crashes;
  relay_crashes += other.relay_crashes;
  conflicts += other.conflicts > 0 ? 1 : 0;
  return *this;
}

Status CreateRelayTemplate(const std::string& dir, const crypto::KeyRing& office_key) {
  DAICHO_ASSIGN_OR_RETURN(auto backend, relay::LmdbBackend::Open(dir));
  DAICHO_ASSIGN_OR_RETURN(auto relay, relay::RelayService::Create(std::move(backend)));
  DAICHO_ASSIGN_OR_RETURN(relay::ContractNumber contract, relay::ContractNumber::Parse(kSimContract));
  DAICHO_RETURN_IF_ERROR(relay->AddContract(contract));
  DAICHO_RETURN_IF_ERROR(relay->AddUser(contract, kSimUser, "Simulation2026"));
  // The relay never opens the envelopes; the PCs already hold the key.
  return relay->PublishOfficeKey(
      contract, crypto::WrappedOfficeKey{office_key.current_id(), "passphrase-envelope", "recovery-envelope", ""}, 0);
}

Result<SimulationFigures> RunSimulation(const SimulationOptions& options) {
  ReseedRandombytes(options.seed);
  SimulationFigures figures;
  World world(options, figures);
  Status status = world.Run();
  figures.trace_hash = world.trace().hash();
  if (!status.ok()) return Status(status.code(), status.message() + "\nlast events:\n" + world.trace().Tail());
  return figures;
}

}  // namespace daicho::simulation
