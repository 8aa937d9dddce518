#include "storage/lmdb/verify.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "storage/lmdb/error.h"

namespace daicho::storage::lmdb {
namespace {

// The structures below are LMDB 0.9's (mdb.c), whose field sizes follow the
// build: pgno_t, txnid_t and size_t are 64-bit and integers are in host byte
// order. The offsets were checked against files written by liblmdb 0.9.24.
static_assert(sizeof(void*) == 8 && sizeof(size_t) == 8, "the verifier reads the 64-bit LMDB layout only");
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the verifier reads the little-endian LMDB layout only");

constexpr uint32_t kMagic = 0xBEEFC0DE;  // MDB_MAGIC
constexpr uint32_t kDataVersion = 1;     // MDB_DATA_VERSION (not MDB_DEVEL)
// LMDB takes the page size from the file. It is the OS page size at creation;
// MAX_PAGESIZE is 32 KiB because node offsets are 16-bit. The lower bound only
// guards our own arithmetic (a meta page must hold MDB_meta).
constexpr uint32_t kMinPageSize = 512;
constexpr uint32_t kMaxPageSize = 0x8000;
constexpr uint64_t kNumMetas = 2;                // pages 0 and 1
constexpr uint64_t kInvalidPage = ~uint64_t{0};  // P_INVALID: an empty tree
constexpr unsigned kMaxDepth = 32;               // CURSOR_STACK: deeper trees fail in LMDB
constexpr size_t kMaxKeySize = 511;              // MDB_MAXKEYSIZE of the 0.9 default build

// MDB_page header (PAGEHDRSZ = 16): pgno u64, pad u16, flags u16, then
// lower u16 + upper u16, or (overflow pages) the page count u32.
constexpr size_t kPageHeaderSize = 16;
constexpr size_t kPageFlagsAt = 10;
constexpr size_t kLowerAt = 12;
constexpr size_t kUpperAt = 14;
constexpr size_t kOverflowPagesAt = 12;
constexpr uint16_t kPageBranch = 0x01;
constexpr uint16_t kPageLeaf = 0x02;
constexpr uint16_t kPageOverflow = 0x04;
constexpr uint16_t kPageMeta = 0x08;

// MDB_node header (NODESIZE = 8): lo u16, hi u16, flags u16, ksize u16, then
// the key and (leaf nodes) the data. Leaf: data size = lo | hi << 16. Branch:
// child page = lo | hi << 16 | flags << 32.
constexpr size_t kNodeHeaderSize = 8;
constexpr uint16_t kNodeBigData = 0x01;  // data is the number of an overflow page
constexpr uint16_t kNodeSubData = 0x02;  // data is an MDB_db (named database)
constexpr uint16_t kNodeDupData = 0x04;  // data holds duplicates (DUPSORT)

// MDB_db (48 bytes): pad u32, flags u16, depth u16, branch_pages,
// leaf_pages, overflow_pages, entries, root (u64 each).
constexpr size_t kDbRecordSize = 48;

// MDB_meta after the page header: magic u32, version u32, address u64,
// mapsize u64, dbs[2] (FREE_DBI, MAIN_DBI), last_pg u64, txnid u64. The page
// size and the environment flags are FREE_DBI's md_pad and md_flags.
constexpr size_t kMagicAt = 16;
constexpr size_t kVersionAt = 20;
constexpr size_t kDbsAt = 40;
constexpr size_t kLastPageAt = kDbsAt + 2 * kDbRecordSize;
constexpr size_t kTxnIdAt = kLastPageAt + 8;
constexpr size_t kMetaEnd = kTxnIdAt + 8;

// Environment flags LMDB stores in the meta (mm_flags = me_flags & 0xffff,
// plus MDB_INTEGERKEY for the freelist's keys).
constexpr uint16_t kEnvFlagsAllowed = MDB_INTEGERKEY | MDB_FIXEDMAP | MDB_NOSUBDIR;
constexpr uint16_t kDupFlags = MDB_DUPSORT | MDB_DUPFIXED | MDB_INTEGERDUP | MDB_REVERSEDUP;

template <typename T>
T Load(const unsigned char* p) {
  T value;
  std::memcpy(&value, p, sizeof(value));
  return value;
}

std::string Hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

std::string Num(uint64_t value) { return std::to_string(value); }

// A database name as it may appear in a message: printable, bounded.
std::string PrintableName(const unsigned char* data, size_t size) {
  constexpr size_t kMaxShown = 64;
  std::string out;
  for (size_t i = 0; i < size && i < kMaxShown; ++i) {
    const unsigned char c = data[i];
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    }
  }
  if (size > kMaxShown) out += "...";
  return out;
}

struct DbRecord {
  uint32_t pad = 0;
  uint16_t flags = 0;
  uint16_t depth = 0;
  uint64_t branch_pages = 0;
  uint64_t leaf_pages = 0;
  uint64_t overflow_pages = 0;
  uint64_t entries = 0;
  uint64_t root = kInvalidPage;
};

DbRecord ParseDbRecord(const unsigned char* p) {
  DbRecord db;
  db.pad = Load<uint32_t>(p);
  db.flags = Load<uint16_t>(p + 4);
  db.depth = Load<uint16_t>(p + 6);
  db.branch_pages = Load<uint64_t>(p + 8);
  db.leaf_pages = Load<uint64_t>(p + 16);
  db.overflow_pages = Load<uint64_t>(p + 24);
  db.entries = Load<uint64_t>(p + 32);
  db.root = Load<uint64_t>(p + 40);
  return db;
}

struct Meta {
  std::array<unsigned char, kMetaEnd> raw{};  // header + MDB_meta, as read
  uint64_t stored_pgno = 0;
  uint16_t page_flags = 0;
  uint32_t magic = 0;
  uint32_t version = 0;
  uint32_t page_size = 0;
  uint16_t env_flags = 0;
  DbRecord dbs[2];
  uint64_t last_pg = 0;
  uint64_t txnid = 0;
};

void ParseMeta(Meta* m) {
  const unsigned char* p = m->raw.data();
  m->stored_pgno = Load<uint64_t>(p);
  m->page_flags = Load<uint16_t>(p + kPageFlagsAt);
  m->magic = Load<uint32_t>(p + kMagicAt);
  m->version = Load<uint32_t>(p + kVersionAt);
  m->dbs[0] = ParseDbRecord(p + kDbsAt);
  m->dbs[1] = ParseDbRecord(p + kDbsAt + kDbRecordSize);
  m->page_size = m->dbs[0].pad;
  m->env_flags = m->dbs[0].flags;
  m->last_pg = Load<uint64_t>(p + kLastPageAt);
  m->txnid = Load<uint64_t>(p + kTxnIdAt);
}

// A key inside a page buffer.
struct Key {
  const unsigned char* data = nullptr;
  size_t size = 0;
};

class Verifier {
 public:
  Verifier(std::string path, int fd, uint64_t file_size) : path_(std::move(path)), fd_(fd), file_size_(file_size) {}

  // The verdict on the file, or kBusy if it changed meanwhile.
  Status Run();

 private:
  enum class Kind { kFreeList, kMain, kNamed };
  // LMDB's key order for the database's flags (mdb_default_cmp).
  enum class Order { kBytes, kReverseBytes, kInteger };

  struct Tree {
    Kind kind = Kind::kNamed;
    std::string name;  // for messages
    uint32_t owner = 0;
    DbRecord db;
    Order order = Order::kBytes;
    size_t integer_key_size = 0;  // kInteger: the size every key must have
    uint64_t branch_pages = 0;
    uint64_t leaf_pages = 0;
    uint64_t overflow_pages = 0;
    uint64_t entries = 0;
  };

  // Where a problem lies. Spelled out only when there is one: building the
  // text for every page would dominate the verification time.
  struct Site {
    const Tree* tree = nullptr;
    uint64_t pgno = 0;
    unsigned level = 0;
    bool leaf = false;
    uint64_t referrer = 0;  // 0: the tree's root
    size_t node = SIZE_MAX;

    std::string Describe() const {
      std::string text = tree->name + ", page " + Num(pgno) + " (" + (leaf ? "leaf" : "branch") + " on level " +
                         Num(level) + " of " + Num(tree->db.depth) +
                         (referrer != 0 ? ", referenced by page " + Num(referrer) : ", the root") + ")";
      if (node != SIZE_MAX) text += ", node " + Num(node);
      return text;
    }
  };

  // owner_ value of a page listed in the freelist; tree pages hold their
  // tree's index + 1; 0 is "not seen".
  static constexpr uint32_t kFreeOwner = ~uint32_t{0};

  Status Corrupt(const std::string& what) const { return Corruption("LMDB data file '" + path_ + "': " + what); }
  Status Examine();
  bool Changed() const;
  Status ReadAt(uint64_t offset, size_t length, unsigned char* out) const;
  Status ReadMeta(unsigned index, uint64_t offset, Meta* meta) const;
  Status CheckMetaHeader(unsigned index, const Meta& meta) const;
  Status VerifySnapshot(unsigned index, const Meta& meta);
  Status WalkTree(Tree& tree);
  Status CheckDbRecord(const Tree& tree) const;
  Status VisitPage(Tree& tree, uint64_t pgno, unsigned level, uint64_t referrer, const Key* lower, const Key* upper);
  Status CheckLeafValue(Tree& tree, const Site& site, const unsigned char* node, const Key& key);
  Status CheckOverflow(Tree& tree, const Site& site, uint64_t pgno, uint64_t data_size);
  Status CheckFreeRecord(const Site& site, uint64_t record_txnid, const unsigned char* inline_data,
                         uint64_t file_offset, uint64_t size);
  Status ClaimPages(const Tree& tree, uint64_t first, uint64_t count, uint64_t referrer, const char* what);
  Status ClaimFree(const Site& site, uint64_t pgno, uint64_t record_txnid);
  Status CheckKey(Tree& tree, const Site& site, const Key& key) const;
  Status CheckAccounting();
  int Compare(const Tree& tree, const Key& a, const Key& b) const;
  std::string OwnerName(uint32_t owner) const;

  const std::string path_;
  const int fd_;
  const uint64_t file_size_;
  uint64_t file_pages_ = 0;
  uint32_t page_size_ = 0;
  Meta metas_[2];
  unsigned metas_read_ = 0;

  // State of the snapshot being verified (reset by VerifySnapshot).
  uint64_t last_pg_ = 0;
  uint64_t txnid_ = 0;
  std::vector<uint32_t> owner_;        // per page of the file
  std::vector<uint64_t> free_beyond_;  // freelisted pages past the end of the file
  uint64_t used_pages_ = 0;
  uint64_t free_pages_ = 0;
  std::vector<std::string> tree_names_;                  // by owner - 1
  std::vector<std::pair<std::string, DbRecord>> named_;  // from the main database

  // One page buffer and key list per tree level: a branch page's separator
  // keys stay in its buffer while its children are visited.
  std::vector<unsigned char> buffers_[kMaxDepth + 1];
  std::vector<Key> keys_[kMaxDepth + 1];
  std::vector<unsigned char> node_starts_;  // per 2-byte unit of a page
};

Status Verifier::ReadAt(uint64_t offset, size_t length, unsigned char* out) const {
  size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd_, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return LmdbStatus(errno, "reading LMDB data file '" + path_ + "' at offset " + Num(offset + done));
    }
    if (n == 0) {
      return IoError("reading LMDB data file '" + path_ + "': unexpected end of file at offset " + Num(offset + done) +
                     " (did the file shrink while being verified?)");
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status Verifier::ReadMeta(unsigned index, uint64_t offset, Meta* meta) const {
  if (offset > file_size_ || file_size_ - offset < kMetaEnd) {
    return Corrupt("the file is " + Num(file_size_) + " bytes long, too short to hold meta page " + Num(index) +
                   " at offset " + Num(offset));
  }
  DAICHO_RETURN_IF_ERROR(ReadAt(offset, kMetaEnd, meta->raw.data()));
  ParseMeta(meta);
  return Status::Ok();
}

// The checks LMDB makes itself in mdb_env_read_header (which fail the open
// with MDB_INVALID, cleanly), plus the ones it skips and then relies on.
Status Verifier::CheckMetaHeader(unsigned index, const Meta& m) const {
  const std::string where = "meta page " + Num(index) + ": ";
  if (m.page_flags != kPageMeta) {
    return Corrupt(where + "page flags " + Hex(m.page_flags) + ", expected " + Hex(kPageMeta) + " (P_META)");
  }
  if (m.stored_pgno != index) {
    return Corrupt(where + "stored page number " + Num(m.stored_pgno) + ", expected " + Num(index));
  }
  if (m.magic != kMagic) {
    return Corrupt(where + "magic " + Hex(m.magic) + " is not LMDB's " + Hex(kMagic) +
                   " (not an LMDB file, or a damaged meta page)");
  }
  if (m.version != kDataVersion) {
    return Corrupt(where + "data format version " + Num(m.version) + ", this LMDB reads version " + Num(kDataVersion));
  }
  const uint32_t ps = m.page_size;
  if (ps < kMinPageSize || ps > kMaxPageSize || (ps & (ps - 1)) != 0) {
    return Corrupt(where + "page size " + Num(ps) + " is not a power of two in [" + Num(kMinPageSize) + ", " +
                   Num(kMaxPageSize) + "]");
  }
  return Status::Ok();
}

Status Verifier::Examine() {
  if (file_size_ == 0) {
    return Corrupt("the file is empty; LMDB would silently start a new, empty environment in it");
  }
  DAICHO_RETURN_IF_ERROR(ReadMeta(0, 0, &metas_[0]));
  metas_read_ = 1;
  DAICHO_RETURN_IF_ERROR(CheckMetaHeader(0, metas_[0]));
  page_size_ = metas_[0].page_size;
  // LMDB looks for meta page 1 one page size (as meta page 0 says) further.
  DAICHO_RETURN_IF_ERROR(ReadMeta(1, page_size_, &metas_[1]));
  metas_read_ = 2;
  DAICHO_RETURN_IF_ERROR(CheckMetaHeader(1, metas_[1]));
  if (metas_[1].page_size != page_size_) {
    return Corrupt("the meta pages disagree on the page size (" + Num(page_size_) + " and " + Num(metas_[1].page_size) +
                   " bytes)");
  }
  if (file_size_ % page_size_ != 0) {
    return Corrupt("the file is " + Num(file_size_) + " bytes long, not a whole number of " + Num(page_size_) +
                   "-byte pages (truncated or extended)");
  }
  file_pages_ = file_size_ / page_size_;
  if (file_pages_ < kNumMetas) return Corrupt("the file holds fewer pages than the two meta pages");

  // LMDB opens the meta with the larger txnid (meta 0 on a tie); its readers
  // and writers then find it again as meta page (txnid % 2).
  const unsigned newest = metas_[1].txnid > metas_[0].txnid ? 1 : 0;
  const unsigned older = 1 - newest;
  const Meta& chosen = metas_[newest];
  const Meta& other = metas_[older];
  if ((chosen.txnid & 1) != newest) {
    return Corrupt("meta page " + Num(newest) + " holds the newest txnid " + Num(chosen.txnid) +
                   ", which LMDB would look up on meta page " + Num(chosen.txnid & 1) + ": a txnid is damaged");
  }
  // Every commit writes txnid t on page t % 2, so the other page holds t - 1
  // (both are 0 in a new environment). Anything else means a damaged txnid,
  // which could have made LMDB pick a stale snapshot: refuse rather than guess.
  const bool fresh = chosen.txnid == 0 && other.txnid == 0;
  if (!fresh && other.txnid != chosen.txnid - 1) {
    return Corrupt("the meta pages hold txnids " + Num(metas_[0].txnid) + " (page 0) and " + Num(metas_[1].txnid) +
                   " (page 1), which are not consecutive: a txnid is damaged");
  }

  Status status = VerifySnapshot(newest, chosen);
  if (status.code() == Code::kCorruption && !fresh) {
    // Worth saying whether a rollback target exists (LMDB 0.9.24 itself
    // cannot open the previous snapshot).
    const Status previous = VerifySnapshot(older, other);
    status = Status(Code::kCorruption, status.message() + "; the previous snapshot (txnid " + Num(other.txnid) +
                                           ", meta page " + Num(older) + ") " +
                                           (previous.ok() ? "is intact" : "is damaged too"));
  }

  return status;
}

bool Verifier::Changed() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) != file_size_) return true;
  for (unsigned i = 0; i < metas_read_; ++i) {
    Meta again;
    if (!ReadMeta(i, i * uint64_t{page_size_}, &again).ok() || again.raw != metas_[i].raw) return true;
  }
  return false;
}

Status Verifier::Run() {
  Status verdict = Examine();
  // Without LMDB's reader lock, a writer in another process may have
  // recycled pages under us, or committed a snapshot whose pages lie past the
  // size taken at the start (or we read a meta page it was writing): every
  // commit shows in the meta pages, and every page written in the file size.
  if (Changed()) {
    return Status(Code::kBusy, "LMDB data file '" + path_ +
                                   "' changed while being verified (another process is writing to it); "
                                   "verify it again once it is closed");
  }
  return verdict;
}

Status Verifier::VerifySnapshot(unsigned index, const Meta& m) {
  last_pg_ = m.last_pg;
  txnid_ = m.txnid;
  owner_.assign(file_pages_, 0);
  free_beyond_.clear();
  used_pages_ = 0;
  free_pages_ = 0;
  tree_names_.clear();
  named_.clear();
  node_starts_.assign(page_size_ / 2, 0);

  const std::string where = "meta page " + Num(index) + " (txnid " + Num(m.txnid) + "): ";
  if ((m.env_flags & MDB_INTEGERKEY) == 0 || (m.env_flags & ~kEnvFlagsAllowed) != 0) {
    return Corrupt(where + "environment flags " + Hex(m.env_flags) + " are not LMDB's");
  }
  if (m.last_pg < kNumMetas - 1 || m.last_pg >= UINT64_MAX / page_size_) {
    return Corrupt(where + "last page number " + Num(m.last_pg) + " is impossible");
  }

  Tree free_list;
  free_list.kind = Kind::kFreeList;
  free_list.name = "the freelist (FREE_DBI)";
  free_list.db = m.dbs[0];
  free_list.order = Order::kInteger;
  free_list.integer_key_size = sizeof(uint64_t);
  DAICHO_RETURN_IF_ERROR(WalkTree(free_list));

  Tree main;
  main.kind = Kind::kMain;
  main.name = "the main database (MAIN_DBI)";
  main.db = m.dbs[1];
  DAICHO_RETURN_IF_ERROR(WalkTree(main));

  // named_ grows no further: the named databases hold no F_SUBDATA nodes.
  for (const auto& [name, record] : named_) {
    Tree tree;
    tree.kind = Kind::kNamed;
    tree.name = "database '" + name + "'";
    tree.db = record;
    DAICHO_RETURN_IF_ERROR(WalkTree(tree));
  }
  return CheckAccounting();
}

Status Verifier::CheckDbRecord(const Tree& tree) const {
  const DbRecord& db = tree.db;
  const std::string where = "the record of " + tree.name + ": ";
  // FREE_DBI's md_pad and md_flags hold the page size and environment flags
  // (checked with the meta); its keys are always 8-byte integers.
  if (tree.kind != Kind::kFreeList) {
    if (db.flags & ~(MDB_REVERSEKEY | MDB_INTEGERKEY | kDupFlags)) {
      return Corrupt(where + "unknown database flags " + Hex(db.flags));
    }
    if (db.flags & kDupFlags) {
      return Corrupt(where + "unexpected DUPSORT-family flags " + Hex(db.flags) +
                     " (daicho creates no such database and the verifier does not support them)");
    }
    // Only DUPFIXED pages use md_pad (as their key size).
    if (db.pad != 0) return Corrupt(where + "md_pad " + Num(db.pad) + ", expected 0");
  }
  if (db.root == kInvalidPage) {
    if (db.depth != 0 || db.branch_pages != 0 || db.leaf_pages != 0 || db.overflow_pages != 0 || db.entries != 0) {
      return Corrupt(where + "an empty tree (no root page) with non-zero depth or counters");
    }
    return Status::Ok();
  }
  if (db.depth == 0 || db.depth > kMaxDepth) {
    return Corrupt(where + "tree depth " + Num(db.depth) + " is outside [1, " + Num(kMaxDepth) + "]");
  }
  return Status::Ok();
}

Status Verifier::WalkTree(Tree& tree) {
  DAICHO_RETURN_IF_ERROR(CheckDbRecord(tree));
  tree_names_.push_back(tree.name);
  tree.owner = static_cast<uint32_t>(tree_names_.size());
  if (tree.kind != Kind::kFreeList) {
    tree.order = (tree.db.flags & MDB_REVERSEKEY)   ? Order::kReverseBytes
                 : (tree.db.flags & MDB_INTEGERKEY) ? Order::kInteger
                                                    : Order::kBytes;
  }
  if (tree.db.root == kInvalidPage) return Status::Ok();

  DAICHO_RETURN_IF_ERROR(VisitPage(tree, tree.db.root, 1, 0, nullptr, nullptr));

  const DbRecord& db = tree.db;
  auto mismatch = [&](const char* what, uint64_t recorded, uint64_t found) {
    return Corrupt("the record of " + tree.name + " counts " + Num(recorded) + " " + what + ", the tree holds " +
                   Num(found));
  };
  if (db.entries != tree.entries) return mismatch("entries", db.entries, tree.entries);
  if (db.branch_pages != tree.branch_pages) {
    return mismatch("branch pages", db.branch_pages, tree.branch_pages);
  }
  if (db.leaf_pages != tree.leaf_pages) return mismatch("leaf pages", db.leaf_pages, tree.leaf_pages);
  if (db.overflow_pages != tree.overflow_pages) {
    return mismatch("overflow pages", db.overflow_pages, tree.overflow_pages);
  }
  return Status::Ok();
}

std::string Verifier::OwnerName(uint32_t owner) const {
  if (owner == kFreeOwner) return "the freelist (as a free page)";
  if (owner == 0 || owner > tree_names_.size()) return "?";
  return tree_names_[owner - 1];
}

Status Verifier::ClaimPages(const Tree& tree, uint64_t first, uint64_t count, uint64_t referrer, const char* what) {
  auto fail = [&](const std::string& problem) {
    return Corrupt(tree.name + ": " + what + " " + Num(first) +
                   (count > 1 ? " (+" + Num(count - 1) + " more)" : std::string()) +
                   (referrer != 0 ? ", referenced by page " + Num(referrer) : ", the root") + problem);
  };
  if (first < kNumMetas) return fail(", is a meta page");
  if (first > last_pg_ || count - 1 > last_pg_ - first) {
    return fail(", lies beyond the last page " + Num(last_pg_) + " of the snapshot");
  }
  if (first >= file_pages_ || count > file_pages_ - first) {
    return fail(", lies beyond the end of the file (" + Num(file_pages_) + " pages)");
  }
  for (uint64_t p = first; p < first + count; ++p) {
    const uint32_t previous = owner_[p];
    if (previous != 0) {
      if (previous == tree.owner) {
        return fail(": page " + Num(p) + " is reached twice in " + tree.name + " (a cycle or a shared subtree)");
      }
      if (previous == kFreeOwner) {
        return fail(": page " + Num(p) + " is also listed as free; LMDB would reuse it and overwrite live data");
      }
      return fail(": page " + Num(p) + " also belongs to " + OwnerName(previous));
    }
    owner_[p] = tree.owner;
  }
  used_pages_ += count;
  return Status::Ok();
}

Status Verifier::ClaimFree(const Site& site, uint64_t pgno, uint64_t record_txnid) {
  auto fail = [&](const std::string& problem) {
    return Corrupt(site.Describe() + ": the freelist record of txn " + Num(record_txnid) + " lists page " + Num(pgno) +
                   problem);
  };
  if (pgno < kNumMetas || pgno > last_pg_) {
    return fail(", outside the data pages [2, " + Num(last_pg_) + "]");
  }
  if (pgno < file_pages_) {
    const uint32_t previous = owner_[pgno];
    if (previous == kFreeOwner) return fail(", which is already listed as free");
    if (previous != 0) return fail(", which belongs to " + OwnerName(previous));
    owner_[pgno] = kFreeOwner;
  } else {
    // Pages LMDB freed before ever writing them lie past the end of the file
    // (mm_last_pg notes this); they may only be free.
    free_beyond_.push_back(pgno);
  }
  ++free_pages_;
  return Status::Ok();
}

int Verifier::Compare(const Tree& tree, const Key& a, const Key& b) const {
  switch (tree.order) {
    case Order::kInteger:
      // CheckKey made every key of the tree integer_key_size bytes.
      if (tree.integer_key_size == sizeof(uint32_t)) {
        const uint32_t x = Load<uint32_t>(a.data), y = Load<uint32_t>(b.data);
        return x < y ? -1 : x > y ? 1 : 0;
      } else {
        const uint64_t x = Load<uint64_t>(a.data), y = Load<uint64_t>(b.data);
        return x < y ? -1 : x > y ? 1 : 0;
      }
    case Order::kReverseBytes: {
      // mdb_cmp_memnr: bytes compared from the end, then the shorter first.
      const size_t n = std::min(a.size, b.size);
      for (size_t i = 1; i <= n; ++i) {
        const int diff = int{a.data[a.size - i]} - int{b.data[b.size - i]};
        if (diff != 0) return diff;
      }
      return a.size < b.size ? -1 : a.size > b.size ? 1 : 0;
    }
    case Order::kBytes:
      break;
  }
  // mdb_cmp_memn: memcmp, then the shorter first.
  const int c = std::memcmp(a.data, b.data, std::min(a.size, b.size));
  if (c != 0) return c;
  return a.size < b.size ? -1 : a.size > b.size ? 1 : 0;
}

Status Verifier::CheckKey(Tree& tree, const Site& site, const Key& key) const {
  if (key.size == 0 || key.size > kMaxKeySize) {
    return Corrupt(site.Describe() + ": key size " + Num(key.size) + " is outside LMDB's [1, " + Num(kMaxKeySize) +
                   "]");
  }
  if (tree.order != Order::kInteger) return Status::Ok();
  if (tree.kind == Kind::kFreeList) {
    if (key.size != sizeof(uint64_t)) {
      return Corrupt(site.Describe() + ": freelist key of " + Num(key.size) + " bytes, expected an 8-byte txnid");
    }
    const uint64_t txnid = Load<uint64_t>(key.data);
    if (txnid == 0 || txnid > txnid_) {
      return Corrupt(site.Describe() + ": freelist key txnid " + Num(txnid) + " is outside [1, " + Num(txnid_) + "]");
    }
    return Status::Ok();
  }
  // MDB_INTEGERKEY: unsigned int or size_t keys, all of one size.
  if (key.size != sizeof(uint32_t) && key.size != sizeof(uint64_t)) {
    return Corrupt(site.Describe() + ": integer key of " + Num(key.size) + " bytes");
  }
  if (tree.integer_key_size == 0) tree.integer_key_size = key.size;
  if (key.size != tree.integer_key_size) {
    return Corrupt(site.Describe() + ": integer keys of " + Num(tree.integer_key_size) + " and " + Num(key.size) +
                   " bytes in one database");
  }
  return Status::Ok();
}

Status Verifier::VisitPage(Tree& tree, uint64_t pgno, unsigned level, uint64_t referrer, const Key* lower,
                           const Key* upper) {
  DAICHO_RETURN_IF_ERROR(ClaimPages(tree, pgno, 1, referrer, "page"));
  const size_t ps = page_size_;
  std::vector<unsigned char>& buffer = buffers_[level];
  buffer.resize(ps);
  unsigned char* page = buffer.data();
  DAICHO_RETURN_IF_ERROR(ReadAt(pgno * ps, ps, page));

  const bool is_leaf = level == tree.db.depth;
  Site site{&tree, pgno, level, is_leaf, referrer};
  auto fail = [&](const std::string& problem) { return Corrupt(site.Describe() + ": " + problem); };

  const uint64_t stored = Load<uint64_t>(page);
  if (stored != pgno) return fail("the page header says it is page " + Num(stored));
  const uint16_t flags = Load<uint16_t>(page + kPageFlagsAt);
  const uint16_t expected = is_leaf ? kPageLeaf : kPageBranch;
  if (flags != expected) {
    return fail("page flags " + Hex(flags) + ", expected " + Hex(expected) + (is_leaf ? " (P_LEAF)" : " (P_BRANCH)"));
  }
  const size_t lower_at = Load<uint16_t>(page + kLowerAt);
  const size_t upper_at = Load<uint16_t>(page + kUpperAt);
  if (lower_at < kPageHeaderSize || upper_at > ps || lower_at > upper_at || (lower_at & 1) || (upper_at & 1)) {
    return fail("free-space bounds lower=" + Num(lower_at) + " upper=" + Num(upper_at) + " are not even offsets with " +
                Num(kPageHeaderSize) + " <= lower <= upper <= " + Num(ps));
  }
  const size_t n = (lower_at - kPageHeaderSize) / 2;
  // LMDB asserts 2+ keys per branch page outside the freelist; an empty leaf
  // makes a backwards cursor step index 0xffff.
  const size_t min_keys = is_leaf ? 1 : tree.kind == Kind::kFreeList ? 1 : 2;
  if (n < min_keys) {
    return fail(Num(n) + " keys, a " + (is_leaf ? "leaf" : "branch") + " page holds at least " + Num(min_keys));
  }

  // LMDB keeps the nodes packed: each takes EVEN(header + key + data) bytes
  // and together they fill [upper, page end) exactly. Walking them by size
  // from upper proves that every node lies inside the page and that no two
  // overlap; the index entries must then point at exactly these nodes.
  std::fill(node_starts_.begin() + static_cast<std::ptrdiff_t>(upper_at / 2), node_starts_.end(), 0);
  size_t nodes = 0;
  for (size_t off = upper_at; off < ps;) {
    if (ps - off < kNodeHeaderSize) {
      return fail("the node at offset " + Num(off) + " has its header past the page end");
    }
    const unsigned char* node = page + off;
    const size_t ksize = Load<uint16_t>(node + 6);
    size_t size = kNodeHeaderSize + ksize;
    if (is_leaf) {
      const uint16_t node_flags = Load<uint16_t>(node + 4);
      if (node_flags & ~(kNodeBigData | kNodeSubData | kNodeDupData)) {
        return fail("the node at offset " + Num(off) + " has unknown flags " + Hex(node_flags));
      }
      const uint64_t dsize = Load<uint16_t>(node) | uint64_t{Load<uint16_t>(node + 2)} << 16;
      size += (node_flags & kNodeBigData) ? sizeof(uint64_t) : dsize;
    }
    if (size > ps - off) {
      return fail("the node at offset " + Num(off) + " (" + Num(size) +
                  " bytes with its key and data) runs past the page end");
    }
    if (++nodes > n) return fail("the node area holds more nodes than the " + Num(n) + " index entries");
    node_starts_[off / 2] = 1;
    off += size + (size & 1);  // off and ps are even, so this stays <= ps
  }
  if (nodes != n) return fail(Num(n) + " index entries but " + Num(nodes) + " nodes in the node area");
  for (size_t i = 0; i < n; ++i) {
    const size_t ptr = Load<uint16_t>(page + kPageHeaderSize + 2 * i);
    if (ptr < upper_at || ptr >= ps || (ptr & 1) || !node_starts_[ptr / 2]) {
      return fail("index entry " + Num(i) + " points to offset " + Num(ptr) +
                  ", not to a node (or to one already indexed)");
    }
    node_starts_[ptr / 2] = 0;
  }

  // Keys: strictly ascending, and inside [lower, upper) given by the parent's
  // separators (LMDB ignores the key of a branch page's first node).
  std::vector<Key>& keys = keys_[level];
  keys.resize(n);
  const Key* previous = nullptr;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char* node = page + Load<uint16_t>(page + kPageHeaderSize + 2 * i);
    keys[i] = Key{node + kNodeHeaderSize, Load<uint16_t>(node + 6)};
    if (!is_leaf && i == 0) continue;
    const Key& key = keys[i];
    site.node = i;
    DAICHO_RETURN_IF_ERROR(CheckKey(tree, site, key));
    if (previous != nullptr && Compare(tree, *previous, key) >= 0) {
      return fail("key not greater than the key of node " + Num(i - 1));
    }
    if (lower != nullptr && Compare(tree, key, *lower) < 0) {
      return fail("key sorts before the separator key leading to this page");
    }
    if (upper != nullptr && Compare(tree, key, *upper) >= 0) {
      return fail("key sorts at or after the separator key of the next page");
    }
    previous = &key;
    if (is_leaf) DAICHO_RETURN_IF_ERROR(CheckLeafValue(tree, site, node, key));
  }

  if (is_leaf) {
    ++tree.leaf_pages;
    tree.entries += n;
    return Status::Ok();
  }
  ++tree.branch_pages;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char* node = page + Load<uint16_t>(page + kPageHeaderSize + 2 * i);
    const uint64_t child =
        Load<uint16_t>(node) | uint64_t{Load<uint16_t>(node + 2)} << 16 | uint64_t{Load<uint16_t>(node + 4)} << 32;
    const Key* child_lower = i == 0 ? lower : &keys[i];
    const Key* child_upper = i + 1 < n ? &keys[i + 1] : upper;
    DAICHO_RETURN_IF_ERROR(VisitPage(tree, child, level + 1, pgno, child_lower, child_upper));
  }
  return Status::Ok();
}

Status Verifier::CheckLeafValue(Tree& tree, const Site& site, const unsigned char* node, const Key& key) {
  const uint16_t flags = Load<uint16_t>(node + 4);
  const uint64_t dsize = Load<uint16_t>(node) | uint64_t{Load<uint16_t>(node + 2)} << 16;
  const unsigned char* data = key.data + key.size;
  const bool big = flags & kNodeBigData;
  uint64_t overflow = 0;
  if (big) {
    overflow = Load<uint64_t>(data);
    DAICHO_RETURN_IF_ERROR(CheckOverflow(tree, site, overflow, dsize));
  }
  switch (tree.kind) {
    case Kind::kFreeList: {
      if (flags & (kNodeSubData | kNodeDupData)) {
        return Corrupt(site.Describe() + ": unexpected node flags " + Hex(flags) + " in a freelist record");
      }
      const uint64_t record_txnid = Load<uint64_t>(key.data);
      if (big) {
        return CheckFreeRecord(site, record_txnid, nullptr, overflow * page_size_ + kPageHeaderSize, dsize);
      }
      return CheckFreeRecord(site, record_txnid, data, 0, dsize);
    }
    case Kind::kMain:
      if (flags & kNodeDupData) {
        return Corrupt(site.Describe() + ": unexpected duplicate-data node (flags " + Hex(flags) +
                       ") in the main database, which is not DUPSORT");
      }
      if (flags & kNodeSubData) {
        if (big || dsize != kDbRecordSize) {
          return Corrupt(site.Describe() + ": a named-database node whose record is " + Num(dsize) +
                         (big ? " bytes on overflow pages" : " bytes") + ", expected " + Num(kDbRecordSize) +
                         " inline");
        }
        named_.emplace_back(PrintableName(key.data, key.size), ParseDbRecord(data));
      }
      return Status::Ok();
    case Kind::kNamed:
      if (flags & (kNodeSubData | kNodeDupData)) {
        return Corrupt(site.Describe() + ": unexpected sub-database or duplicate-data node (flags " + Hex(flags) +
                       ") in a database without DUPSORT");
      }
      return Status::Ok();
  }
  return Status::Ok();
}

Status Verifier::CheckOverflow(Tree& tree, const Site& site, uint64_t pgno, uint64_t data_size) {
  auto fail = [&](const std::string& problem) {
    return Corrupt(site.Describe() + ": the value's overflow page " + Num(pgno) + problem);
  };
  if (pgno < kNumMetas) return fail(" is a meta page");
  if (pgno > last_pg_) return fail(" lies beyond the last page " + Num(last_pg_) + " of the snapshot");
  if (pgno >= file_pages_) return fail(" lies beyond the end of the file (" + Num(file_pages_) + " pages)");
  unsigned char header[kPageHeaderSize];
  DAICHO_RETURN_IF_ERROR(ReadAt(pgno * page_size_, sizeof(header), header));
  const uint64_t stored = Load<uint64_t>(header);
  if (stored != pgno) return fail(": the page header says it is page " + Num(stored));
  const uint16_t flags = Load<uint16_t>(header + kPageFlagsAt);
  if (flags != kPageOverflow) {
    return fail(": page flags " + Hex(flags) + ", expected " + Hex(kPageOverflow) + " (P_OVERFLOW)");
  }
  const uint64_t pages = Load<uint32_t>(header + kOverflowPagesAt);
  // OVPAGES(): LMDB may leave a shrunken value in a longer run, never the
  // reverse.
  const uint64_t needed = (kPageHeaderSize - 1 + data_size) / page_size_ + 1;
  if (pages < needed) {
    return fail(": a run of " + Num(pages) + " pages cannot hold the " + Num(data_size) + "-byte value (it needs " +
                Num(needed) + ")");
  }
  DAICHO_RETURN_IF_ERROR(ClaimPages(tree, pgno, pages, site.pgno, "overflow page"));
  tree.overflow_pages += pages;
  return Status::Ok();
}

// A freelist record is an MDB_IDL: a count n, then n page numbers in
// descending order. LMDB reads only the first n + 1 words; the rest of a
// record it reserved larger than needed is left as is.
Status Verifier::CheckFreeRecord(const Site& site, uint64_t record_txnid, const unsigned char* inline_data,
                                 uint64_t file_offset, uint64_t size) {
  auto fail = [&](const std::string& problem) {
    return Corrupt(site.Describe() + ": the freelist record of txn " + Num(record_txnid) + problem);
  };
  if (size < sizeof(uint64_t) || size % sizeof(uint64_t) != 0) {
    return fail(" is " + Num(size) + " bytes, not a list of 8-byte page numbers");
  }
  const uint64_t words = size / sizeof(uint64_t);
  // Records on overflow pages are read in chunks: their size comes from the
  // file, so it must not decide how much memory we take.
  constexpr uint64_t kChunkWords = 4096;
  std::vector<unsigned char> chunk;
  uint64_t chunk_first = 0, chunk_words = 0;
  auto word = [&](uint64_t index, uint64_t* out) -> Status {
    if (inline_data != nullptr) {
      *out = Load<uint64_t>(inline_data + index * sizeof(uint64_t));
      return Status::Ok();
    }
    if (index < chunk_first || index >= chunk_first + chunk_words) {
      chunk_first = index;
      chunk_words = std::min(kChunkWords, words - index);
      chunk.resize(chunk_words * sizeof(uint64_t));
      DAICHO_RETURN_IF_ERROR(ReadAt(file_offset + index * sizeof(uint64_t), chunk.size(), chunk.data()));
    }
    *out = Load<uint64_t>(chunk.data() + (index - chunk_first) * sizeof(uint64_t));
    return Status::Ok();
  };
  uint64_t count = 0;
  DAICHO_RETURN_IF_ERROR(word(0, &count));
  if (count > words - 1) {
    return fail(" claims " + Num(count) + " pages but has room for " + Num(words - 1));
  }
  uint64_t previous = UINT64_MAX;
  for (uint64_t i = 1; i <= count; ++i) {
    uint64_t pgno = 0;
    DAICHO_RETURN_IF_ERROR(word(i, &pgno));
    if (pgno >= previous) {
      return fail(": page numbers not in strictly descending order (" + Num(previous) + " then " + Num(pgno) + ")");
    }
    previous = pgno;
    DAICHO_RETURN_IF_ERROR(ClaimFree(site, pgno, record_txnid));
  }
  return Status::Ok();
}

Status Verifier::CheckAccounting() {
  std::sort(free_beyond_.begin(), free_beyond_.end());
  const auto duplicate = std::adjacent_find(free_beyond_.begin(), free_beyond_.end());
  if (duplicate != free_beyond_.end()) {
    return Corrupt("page " + Num(*duplicate) + " (past the end of the file) is listed as free twice");
  }
  const uint64_t data_pages = last_pg_ + 1 - kNumMetas;
  if (used_pages_ + free_pages_ == data_pages) return Status::Ok();
  // No page was counted twice, so some page in [2, last_pg] is unaccounted.
  uint64_t missing = 0;
  const uint64_t in_file_end = std::min(last_pg_ + 1, file_pages_);
  for (uint64_t p = kNumMetas; p < in_file_end && missing == 0; ++p) {
    if (owner_[p] == 0) missing = p;
  }
  for (uint64_t p = file_pages_, i = 0; missing == 0 && p <= last_pg_; ++p, ++i) {
    if (i >= free_beyond_.size() || free_beyond_[i] != p) missing = p;
  }
  return Corrupt(Num(data_pages - used_pages_ - free_pages_) + " of the data pages [2, " + Num(last_pg_) +
                 "] belong to no database and are not free (the first is page " + Num(missing) +
                 "): a lost subtree or freelist record");
}

}  // namespace

Status VerifyDataFile(const std::string& data_file_path) {
  const int fd = ::open(data_file_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return LmdbStatus(errno, "opening LMDB data file '" + data_file_path + "'");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return LmdbStatus(errno, "stat of LMDB data file '" + data_file_path + "'");
  if (!S_ISREG(st.st_mode)) return IoError("LMDB data file '" + data_file_path + "' is not a regular file");
  Verifier verifier(data_file_path, fd, static_cast<uint64_t>(st.st_size));
  return verifier.Run();
}

}  // namespace daicho::storage::lmdb
