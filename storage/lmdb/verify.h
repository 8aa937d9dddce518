// VerifyDataFile: a structural check of an LMDB 0.9 data file (data.mdb),
// made before the environment is mapped, so that a damaged file is refused
// with kCorruption instead of crashing the process.
//
// Caveats first:
// - Run it while no other process has the environment open. It reads the
//   file without LMDB's reader lock, so a writer in another process can
//   recycle pages under it. Every commit changes a meta page (and growth the
//   file size); when either differs at the end from the start, the result is
//   kBusy, never a verdict on the file. In daicho: verify before Env::Open,
//   and treat kBusy as "in use elsewhere".
// - "Ok" is about structure, not content: damage inside values (and inside
//   keys, as long as their order survives) is not seen. daicho's codec
//   rejects damaged values when it decodes them.
// - Only the layout of 64-bit little-endian LMDB 0.9 (MDB_DATA_VERSION 1,
//   MDB_MAXKEYSIZE 511) is understood; other builds do not compile it.
//
// Why it exists: LMDB keeps no checksums. It trusts every page number, page
// header and node offset it finds in the map, so a damaged B-tree page (a
// bad sector, a half-restored backup) makes it read or write out of bounds
// (SIGSEGV/SIGBUS) or fail an assertion (abort) in mdb_cursor_get/next/put.
// The file is read with pread only, never mmap, so a file shorter than its
// metadata claims cannot SIGBUS the verifier itself.
//
// What is checked (everything LMDB follows when it opens, reads and writes
// the snapshot it will use):
// - The file: a regular file, not empty, a whole number of pages, at least
//   the two meta pages.
// - Both meta pages, as LMDB reads them: page flags P_META and page number,
//   magic 0xBEEFC0DE, data version 1, the same power-of-two page size
//   (512..32768). LMDB uses the meta with the larger txnid and then finds it
//   again as meta page (txnid % 2), so that parity must hold; and the two
//   txnids must be consecutive (or both 0), as every commit leaves them. A
//   damaged txnid (which could make LMDB pick a stale snapshot) thus fails
//   the file rather than being trusted either way (one exception below).
// - The chosen meta: environment flags, last page number (no overflow of
//   (last_pg + 1) * page_size), and the records of the free-page database
//   (FREE_DBI), the main database and every named database (F_SUBDATA nodes
//   of the main database): flags (DUPSORT-family databases are refused as
//   "unsupported": daicho has none), md_pad, depth 1..32 (LMDB's cursor
//   stack), root in range, or an empty tree with all counters 0.
// - Every branch and leaf page of those trees: page number in
//   [2, last_pg] and inside the file, stored page number equal to its
//   position, flags exactly P_BRANCH above the last level and exactly P_LEAF
//   on level md_depth (so all leaves are at the same depth), lower/upper
//   even and within the page with lower <= upper, at least 1 key per leaf
//   and 2 per branch (1 in FREE_DBI, as LMDB's own assertion allows), node
//   headers, keys and inline data that exactly tile [upper, page end) with
//   one index entry per node, known node flags, key sizes 1..511, keys in
//   strictly ascending order (LMDB's comparison for the database's flags)
//   and inside the range their parent's separator keys give them.
// - Overflow values (F_BIGDATA): first page in range, flags P_OVERFLOW, its
//   page count (mp_pages) large enough for the value and keeping the run
//   inside the file and below last_pg. Only that page header is read, not
//   the value.
// - Freelist records: 8-byte txnid keys in [1, txnid], values that are LMDB
//   ID lists (count word within the record, strictly descending page
//   numbers in [2, last_pg]). Pages past the end of the file may be listed
//   here (LMDB never wrote them), nowhere else.
// - Page accounting: no page is reached twice (within a tree: a cycle;
//   across trees or the freelist: shared), and every page in [2, last_pg]
//   is either used by exactly one tree or free, as LMDB maintains.
// - Counters: each tree's entries, branch, leaf and overflow page counts
//   equal its record's.
//
// What is not checked, or cannot be:
// - Value bytes, free space inside pages, and keys beyond their size and
//   order: damage there reads as wrong data, never as a fault.
// - The older snapshot (the other meta page's trees), which LMDB does not
//   read. It is only examined, when the newest one fails, to say in the
//   message whether it is intact (a rollback target for a repair tool).
// - A txnid damaged into exactly "newest + 1" on the older meta page looks
//   like one more commit: LMDB opens that stale snapshot, and so does the
//   check. It is verified like any snapshot (its recycled pages usually fail
//   it); if it passes, the store silently loses its last commit, no crash.
// - mm_mapsize and mm_address: LMDB raises a too small map size to the data
//   size and ignores the address without MDB_FIXEDMAP; a huge size fails
//   mmap cleanly.
// - The lock file (lock.mdb): the first process to open the environment
//   rebuilds it.
// - Damage that happens after the check, while the environment is open.
// - Files written with MDB_WRITEMAP, which sizes the file to the map size: a
//   map size that is not a whole number of pages fails the size check (daicho
//   does not use MDB_WRITEMAP).
//
// Cost: one pread per branch/leaf page, one small pread per overflow value,
// and the freelist records; nothing else. Memory: 4 bytes per page of the
// file plus one page buffer per tree level. Measured on a 270 MB ledger
// (100k records, 66k pages, 50k of them tree pages): about 45 ms with the
// file in the page cache, 150-220 ms from a cold cache (reading the whole
// file with cat takes 150 ms cold).
//
// Thread-safety: no shared state; concurrent calls are fine.
#ifndef DAICHO_STORAGE_LMDB_VERIFY_H_
#define DAICHO_STORAGE_LMDB_VERIFY_H_

#include <string>

#include "daicho/status.h"

namespace daicho::storage::lmdb {

// Verifies the LMDB data file at `data_file_path` (the data.mdb inside an
// environment directory, or the file itself with MDB_NOSUBDIR).
// Codes: kOk (structurally sound: every page number, page header, node and
// freelist entry LMDB will follow to open, read and write the snapshot is
// consistent, so it does not fault on them), kCorruption (the message
// names the page number and what is wrong; an empty file is kCorruption too,
// since LMDB would silently start a new environment in it), kNotFound (no
// such file), kIoError (cannot open or read it), kBusy (the file changed
// while being verified: another process is writing; retry later).
Status VerifyDataFile(const std::string& data_file_path);

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_VERIFY_H_
