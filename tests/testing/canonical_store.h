// What a closed replica's store holds, in a form two replicas can be compared
// by: every key and value of one of its LMDB databases, with record states
// re-encoded so that they name replicas independently of the store (each
// store numbers replicas in its own dictionary), and the record states
// themselves, decoded. Equal ledgers give equal dumps, byte for byte.
//
// The replica must not be open in this process (LMDB refuses a second open).
// Codes: the LMDB wrappers' and the state codec's.
#ifndef DAICHO_TESTS_TESTING_CANONICAL_STORE_H_
#define DAICHO_TESTS_TESTING_CANONICAL_STORE_H_

#include <map>
#include <string>

#include "core/record_state.h"
#include "daicho/status.h"

namespace daicho::testing {

// Key -> value of database `name` ("records", "changes", "conflicts", ...).
// Record states are decoded with the store's replica dictionary and
// re-encoded with one of their own (indexes in order of first use within the
// state, followed by the ids themselves).
Result<std::map<std::string, std::string>> DumpCanonicalDatabase(const std::string& dir, const std::string& name);

// Key (collection \0 id) -> record state, with replica ids resolved.
Result<std::map<std::string, core::RecordState>> ReadRecordStates(const std::string& dir);

}  // namespace daicho::testing

#endif  // DAICHO_TESTS_TESTING_CANONICAL_STORE_H_
