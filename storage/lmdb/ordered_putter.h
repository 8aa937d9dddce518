// OrderedPutter: puts into one database of one write transaction that fill
// pages full when keys arrive in increasing order past the database's end.
//
// LMDB splits a full page in half on a plain put, so keys appended at the
// end (new records created in order, a replica's own next change) leave
// every page of the tail half empty. MDB_APPEND instead starts a new page
// and leaves the full one full. It is only allowed for a key greater than
// the database's last key, so the putter reads that key once, on its first
// Put, and then appends while keys keep increasing past it, falling back to
// plain puts for any key that does not.
//
// Every put into the database during the putter's life must go through it
// (it tracks the largest key itself). Ownership: holds a copy of the largest
// key; borrows nothing across calls. Use one per database per transaction
// attempt. Codes: those of WriteTxn::Put / Append and Cursor::Last.
#ifndef DAICHO_STORAGE_LMDB_ORDERED_PUTTER_H_
#define DAICHO_STORAGE_LMDB_ORDERED_PUTTER_H_

#include <string>
#include <string_view>

#include "storage/lmdb/txn.h"

namespace daicho::storage::lmdb {

class OrderedPutter {
 public:
  explicit OrderedPutter(Dbi dbi) : dbi_(dbi) {}

  Status Put(WriteTxn& txn, std::string_view key, std::string_view value) {
    if (!started_) {
      DAICHO_ASSIGN_OR_RETURN(Cursor cursor, txn.OpenCursor(dbi_));
      DAICHO_RETURN_IF_ERROR(cursor.Last());
      has_last_ = cursor.valid();
      if (has_last_) last_.assign(cursor.key());
      started_ = true;
    }
    if (has_last_ && key <= std::string_view(last_)) return txn.Put(dbi_, key, value);
    DAICHO_RETURN_IF_ERROR(txn.Append(dbi_, key, value));
    last_.assign(key);
    has_last_ = true;
    return Status::Ok();
  }

 private:
  Dbi dbi_;
  bool started_ = false;
  bool has_last_ = false;
  std::string last_;  // the database's largest key, once started_ and has_last_
};

}  // namespace daicho::storage::lmdb

#endif  // DAICHO_STORAGE_LMDB_ORDERED_PUTTER_H_
