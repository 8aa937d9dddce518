// Builds the public read view (daicho::Record) of a record state: displayed
// values, siblings in display order, conflict flags.
#ifndef DAICHO_CORE_RECORD_VIEW_H_
#define DAICHO_CORE_RECORD_VIEW_H_

#include "core/record_state.h"
#include "daicho/record.h"

namespace daicho::core {

Record MakeRecordView(std::string collection, std::string id, const RecordState& state);

}  // namespace daicho::core

#endif  // DAICHO_CORE_RECORD_VIEW_H_
