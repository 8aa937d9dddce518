// State codec: the compact binary encoding of a record's CRDT state (the
// values of the `records` database), on storage/codec/binary.h. The format is
// described in docs/formats.md ("Record states").
//
// Replicas are named by their index in a ReplicaDictionary, so the bytes are
// meaningful only together with the dictionary they were encoded with (the
// store's). Encoding is deterministic for one dictionary: equal states give
// equal bytes. What the merge rules usually imply is left out: a register's
// context when it is exactly its siblings' dots, a "newest" stamp equal to the
// newest sibling's, a set tombstone equal to the element's live dots, HLCs
// equal to the record's `modified`, a lone sibling equal to the previous
// field's lone sibling (the fields one change wrote).
//
// Register siblings carry no value: a sibling's value lives once, in the
// change its dot names (the `changes` database), and is read from there
// (storage/replica/value_resolver.h). EncodeRecordState ignores sibling values;
// DecodeRecordState leaves them null.
//
// Decoding validates everything and returns kCorruption for bytes that are
// not exactly a canonical encoding: truncation, trailing bytes, unknown flags,
// replica indexes the dictionary lacks, fields / siblings / entries / elements
// / version vectors out of order or repeated, bad UTF-8, empty or NUL-holding
// field names, fields without a kind, dots with counter 0, anything stored
// that the flags say is implied.
#ifndef DAICHO_STORAGE_CODEC_STATE_CODEC_H_
#define DAICHO_STORAGE_CODEC_STATE_CODEC_H_

#include <string>
#include <string_view>

#include "core/record_state.h"
#include "daicho/status.h"
#include "storage/codec/binary.h"
#include "storage/codec/replica_dictionary.h"

namespace daicho::storage {

// Codes: those of `dict.IndexOf` (assigning an index writes to the store).
Result<std::string> EncodeRecordState(const core::RecordState& state, ReplicaDictionary& dict);
// The same into `out`, replacing its contents and reusing its capacity.
Status EncodeRecordState(const core::RecordState& state, ReplicaDictionary& dict, std::string& out);
// Codes: kCorruption, and those of `dict.IdAt` other than kCorruption.
Result<core::RecordState> DecodeRecordState(std::string_view bytes, const ReplicaDictionary& dict);
// The same into `state`, which is overwritten entirely but keeps the memory
// it holds (one state reused for record after record allocates little).
// After an error `state` holds some valid but unspecified value.
Status DecodeRecordState(std::string_view bytes, const ReplicaDictionary& dict, core::RecordState& state);

}  // namespace daicho::storage

#endif  // DAICHO_STORAGE_CODEC_STATE_CODEC_H_
