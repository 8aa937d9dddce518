#include "storage/lmdb/env.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <system_error>
#include <utility>

#include "storage/lmdb/error.h"
#include "storage/lmdb/file_lock.h"

namespace daicho::storage::lmdb {
namespace {

// Paths of the environments open in this process. Never destroyed, so an
// Env that outlives static destruction can still unregister.
struct Registry {
  std::mutex mu;
  std::set<std::string> paths;
};

Registry& GetRegistry() {
  static Registry* registry = new Registry();
  return *registry;
}

bool Register(const std::string& path) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  return r.paths.insert(path).second;
}

void Unregister(const std::string& path) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.paths.erase(path);
}

Status Moved() { return Status(Code::kFailedPrecondition, "Env was moved from"); }

// The registry key. With MDB_NOSUBDIR `dir` is the data file, which may not
// exist yet, so only its directory is canonicalized.
Result<std::string> CanonicalPath(const std::string& dir, unsigned flags) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path path(dir);
  fs::path canonical;
  if (flags & MDB_NOSUBDIR) {
    fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
    canonical = fs::canonical(parent, ec) / path.filename();
  } else {
    canonical = fs::canonical(path, ec);
  }
  if (ec) return LmdbStatus(ec.value(), "resolving LMDB environment path '" + dir + "'");
  return canonical.string();
}

}  // namespace

namespace detail {

EnvCore::~EnvCore() {
  if (env != nullptr) mdb_env_close(env);  // also required after a failed mdb_env_open
  // Only now: closing any descriptor of lock.mdb drops this process's fcntl
  // locks on it, which are LMDB's.
  if (open_lock_fd >= 0) ::close(open_lock_fd);
  if (writer_lock_fd >= 0) ::close(writer_lock_fd);
  if (registered) Unregister(path);
}

Status EnvCore::LockOpening(unsigned flags) {
  const std::string lock_file = (flags & MDB_NOSUBDIR) ? path + "-lock" : path + "/lock.mdb";
  open_lock_fd = options.read_only
                     ? ::open(lock_file.c_str(), O_RDONLY | O_CLOEXEC)
                     : ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, static_cast<mode_t>(options.file_mode));
  if (open_lock_fd < 0) {
    // A read-only environment may have no lock file (read-only media): no
    // one can be initializing one there.
    if (options.read_only) return Status::Ok();
    return LmdbStatus(errno, "opening LMDB lock file " + lock_file, path);
  }
  return LockFileWithin(open_lock_fd, LOCK_EX, options.write_lock_timeout, "the lock file of the database at " + path);
}

Status EnvCore::LockWriter() {
  if (!write_mu.try_lock_for(options.write_lock_timeout)) {
    return Status(Code::kBusy, "the database at " + path +
                                   " is being written by another thread of this program "
                                   "for more than " +
                                   std::to_string(options.write_lock_timeout.count()) +
                                   " ms; try again when it has finished");
  }
  // Only another process can hold the flock now (see write_mu).
  Status locked = LockFileWithin(writer_lock_fd, LOCK_EX, options.write_lock_timeout, "the database at " + path);
  if (!locked.ok()) write_mu.unlock();
  return locked;
}

void EnvCore::UnlockWriter() {
  ::flock(writer_lock_fd, LOCK_UN);
  write_mu.unlock();
}

bool EnvCore::CheckReaders(bool force) {
  const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
  int64_t last = last_reader_check.load();
  const int64_t interval =
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(options.reader_check_interval).count();
  if (!force && now - last < interval) return false;
  // One thread checks per interval; a forced check always runs.
  if (!last_reader_check.compare_exchange_strong(last, now) && !force) return false;
  int dead = 0;
  return mdb_reader_check(env, &dead) == MDB_SUCCESS && dead > 0;
}

Status EnvCore::Enter() {
  // Paired with Resize(): each side publishes its flag, then reads the
  // other's (seq_cst), so at least one of them sees the conflict and backs off.
  live_txns.fetch_add(1);
  if (resizing.load()) {
    live_txns.fetch_sub(1);
    return Status(Code::kBusy, "LMDB map of '" + path + "' is being resized; retry");
  }
  return Status::Ok();
}

void EnvCore::Leave() { live_txns.fetch_sub(1); }

Status EnvCore::Resize(uint64_t size) {
  bool expected = false;
  if (!resizing.compare_exchange_strong(expected, true)) {
    return Status(Code::kBusy, "LMDB map of '" + path + "' is already being resized");
  }
  int live = live_txns.load();
  if (live != 0) {
    resizing.store(false);
    return Status(Code::kFailedPrecondition, "cannot resize LMDB map of '" + path + "': " + std::to_string(live) +
                                                 " transaction(s) live in this process");
  }
  int rc = mdb_env_set_mapsize(env, static_cast<size_t>(size));
  resizing.store(false);
  return LmdbStatus(rc, "mdb_env_set_mapsize(" + std::to_string(size) + ") on '" + path + "'");
}

uint64_t EnvCore::MapSize() const {
  MDB_envinfo info{};
  if (mdb_env_info(env, &info) != MDB_SUCCESS) return 0;
  return info.me_mapsize;
}

Result<MDB_txn*> EnvCore::BeginRaw(bool write) {
  if (write) {
    if (options.read_only) {
      return Status(Code::kFailedPrecondition, "write transaction on read-only LMDB environment '" + path + "'");
    }
    if (writer.load() == std::this_thread::get_id()) {
      return Status(Code::kFailedPrecondition, "this thread already holds a write transaction on '" + path + "'");
    }
  }
  const unsigned flags = write ? 0 : MDB_RDONLY;
  if (write) DAICHO_RETURN_IF_ERROR(LockWriter());
  CheckReaders(/*force=*/false);
  // Retries: once after adopting a map grown by another process, once after
  // clearing the reader slots of dead processes.
  bool resized = false, readers_checked = false;
  for (;;) {
    Status entered = Enter();
    if (!entered.ok()) {
      if (write) UnlockWriter();
      return entered;
    }
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env, nullptr, flags, &txn);
    if (rc == MDB_SUCCESS) {
      if (write) writer.store(std::this_thread::get_id());
      return txn;
    }
    Leave();
    if (rc == MDB_MAP_RESIZED && !resized) {
      resized = true;
      // Size 0 adopts the size recorded by the other process.
      Status adopted = Resize(0);
      if (adopted.ok()) continue;
      if (write) UnlockWriter();
      return Status(Code::kBusy, "LMDB map of '" + path +
                                     "' was grown by another process; retry when no "
                                     "transaction is live (" +
                                     adopted.message() + ")");
    }
    if (rc == MDB_READERS_FULL && !readers_checked) {
      readers_checked = true;
      if (CheckReaders(/*force=*/true)) continue;
    }
    if (write) UnlockWriter();
    return LmdbStatus(rc, std::string(write ? "beginning write" : "beginning read") + " transaction on '" + path + "'");
  }
}

void EnvCore::EndRaw(bool write) {
  if (write) {
    writer.store(std::thread::id());
    UnlockWriter();
  }
  Leave();
}

}  // namespace detail

Result<Env> Env::Open(const std::string& dir, const EnvOptions& options) {
  if (dir.empty()) return InvalidArgument("empty LMDB environment path");
  if (options.map_size == 0 || options.max_map_size < options.map_size) {
    return InvalidArgument("EnvOptions: need 0 < map_size <= max_map_size");
  }
  if (options.write_lock_timeout.count() < 0 || options.reader_check_interval.count() < 0) {
    return InvalidArgument("EnvOptions: negative write_lock_timeout or reader_check_interval");
  }
  unsigned flags = options.flags | MDB_NOTLS;
  if (options.read_only) flags |= MDB_RDONLY;

  DAICHO_ASSIGN_OR_RETURN(std::string path, CanonicalPath(dir, flags));
  auto core = std::make_shared<detail::EnvCore>();
  core->path = path;
  core->options = options;
  if (!Register(path)) {
    return Status(Code::kBusy, "LMDB environment '" + path + "' is already open in this process");
  }
  core->registered = true;  // from here on, ~EnvCore undoes everything on failure

  const std::string context = "opening LMDB environment '" + path + "'";
  int rc = mdb_env_create(&core->env);
  if (rc != MDB_SUCCESS) {
    core->env = nullptr;
    return LmdbStatus(rc, context);
  }
  // A configured map size smaller than the one recorded in an existing
  // environment would win in LMDB, undoing earlier Grow()s. So an existing
  // environment opens at its recorded size and is only raised to
  // options.map_size; a new one starts at options.map_size.
  std::error_code ec;
  const std::filesystem::path data_file =
      (flags & MDB_NOSUBDIR) ? std::filesystem::path(path) : std::filesystem::path(path) / "data.mdb";
  const auto data_size = std::filesystem::file_size(data_file, ec);
  const bool existing = !ec && data_size > 0;
  rc = mdb_env_set_maxdbs(core->env, options.max_dbs);
  if (rc == MDB_SUCCESS && !existing) {
    rc = mdb_env_set_mapsize(core->env, static_cast<size_t>(options.map_size));
  }
  if (rc == MDB_SUCCESS) rc = mdb_env_set_maxreaders(core->env, options.max_readers);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, context, path);
  DAICHO_RETURN_IF_ERROR(core->LockOpening(flags));
  rc = mdb_env_open(core->env, path.c_str(), flags, static_cast<mdb_mode_t>(options.file_mode));
  if (core->open_lock_fd >= 0) ::flock(core->open_lock_fd, LOCK_UN);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, context, path);
  if (core->MapSize() < options.map_size) {
    rc = mdb_env_set_mapsize(core->env, static_cast<size_t>(options.map_size));
    if (rc != MDB_SUCCESS) return LmdbStatus(rc, context + ": raising map size");
  }
  // Slots left by processes killed inside a read transaction while others
  // kept the environment open (an opener alone in it gets a fresh table).
  rc = mdb_reader_check(core->env, nullptr);
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, context + ": clearing stale reader slots");
  core->last_reader_check.store(std::chrono::steady_clock::now().time_since_epoch().count());
  if (!options.read_only) {
    // Created after data.mdb, so a directory holding only this file is
    // never taken for a store.
    const std::string lock_path = (flags & MDB_NOSUBDIR) ? path + "-writer.lock" : path + "/daicho-writer.lock";
    core->writer_lock_fd =
        ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, static_cast<mode_t>(options.file_mode));
    if (core->writer_lock_fd < 0) return LmdbStatus(errno, context + ": opening its writer lock " + lock_path, path);
  }
  return Env(std::move(core));
}

Result<Dbi> Env::OpenDbi(const std::string& name, bool create) {
  if (!core_) return Moved();
  if (name.empty() || name.find('\0') != std::string::npos) {
    return InvalidArgument("LMDB database name must be non-empty and contain no NUL");
  }
  if (create && core_->options.read_only) {
    return Status(Code::kFailedPrecondition, "cannot create database '" + name + "' in read-only environment");
  }
  const bool write = !core_->options.read_only;
  std::lock_guard<std::mutex> lock(core_->dbi_mu);
  DAICHO_ASSIGN_OR_RETURN(MDB_txn * txn, core_->BeginRaw(write));
  MDB_dbi handle = 0;
  int rc = mdb_dbi_open(txn, name.c_str(), create ? MDB_CREATE : 0, &handle);
  if (rc != MDB_SUCCESS) {
    mdb_txn_abort(txn);
    core_->EndRaw(write);
    return LmdbStatus(rc, "opening database '" + name + "' in '" + core_->path + "'");
  }
  // Committing (even a read-only txn) is what makes the handle visible to
  // later transactions; an abort would close it.
  rc = mdb_txn_commit(txn);
  core_->EndRaw(write);
  if (rc != MDB_SUCCESS) {
    return LmdbStatus(rc, "committing open of database '" + name + "' in '" + core_->path + "'");
  }
  return Dbi{handle};
}

Status Env::Grow() {
  if (!core_) return Moved();
  const uint64_t current = core_->MapSize();
  const uint64_t max = core_->options.max_map_size;
  if (current >= max) {
    return Status(Code::kResourceExhausted, "LMDB map of '" + core_->path + "' is already " + std::to_string(current) +
                                                " bytes, the max_map_size");
  }
  const uint64_t target = current > max / 2 ? max : current * 2;
  return core_->Resize(target);
}

uint64_t Env::map_size() const { return core_ ? core_->MapSize() : 0; }

Status Env::Sync() {
  if (!core_) return Moved();
  if (core_->options.read_only) return Status::Ok();  // nothing to flush; LMDB says EACCES
  return LmdbStatus(mdb_env_sync(core_->env, 1), "mdb_env_sync on '" + core_->path + "'", core_->path);
}

const std::string& Env::path() const {
  static const std::string* empty = new std::string();
  return core_ ? core_->path : *empty;
}

}  // namespace daicho::storage::lmdb
