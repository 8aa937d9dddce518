// Record -> JSON for `get --json`, `list --json`, `conflicts --json` and
// `export --format json`.
//
// Shape of one record (keys always in this order, output deterministic):
//   {"collection": "...", "id": "...", "deleted": false,
//    "fields": {"name": value, ...},             // sorted by name
//    "conflicts": {"name": [value, value], ...},  // registers whose siblings
//                                                 // differ, in Record order
//    "kinds": {"name": "counter", ...},           // fields whose kind is not
//                                                 // text: "counter" or "set"
//    "delete_conflict": true,                     // only when set
//    "kind_conflicts": {"name": [{"kind": "counter", "value": 3},
//                                {"kind": "text", "value": "三件"}], ...}}
//                      // only when non-empty: every kind in conflict, the
//                      // shown one first (resolve with `resolve --as KIND`)
// Values: strings and bool/null as JSON, int/double as numbers, counters as
// integers, sets as sorted arrays of strings, bytes as lower-case hex strings.
#ifndef DAICHO_APPS_DAICHO_JSON_OUTPUT_H_
#define DAICHO_APPS_DAICHO_JSON_OUTPUT_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daicho/record.h"
#include "daicho/value.h"

namespace daicho::cli {

// ordered_json keeps keys in insertion order, which is what makes the output
// byte-identical across replicas.
using Json = nlohmann::ordered_json;

Json ValueToJson(const Value& value);
// The shown value of a field: register value, counter total or set elements.
Json FieldToJson(const FieldView& field);
Json RecordToJson(const Record& record);
Json RecordsToJson(const std::vector<Record>& records);

// Pretty-printed (2-space indent), non-ASCII kept as UTF-8, with a final
// newline. Never throws: invalid UTF-8 (which a replica never holds in a
// string) would be replaced rather than abort the program.
std::string DumpJson(const Json& json);

}  // namespace daicho::cli

#endif  // DAICHO_APPS_DAICHO_JSON_OUTPUT_H_
