// HlcTime: a hybrid-logical-clock stamp (wall milliseconds + logical counter).
//
// Every change carries one. Used to show "last modified" and as the
// deterministic tie-break between concurrent values (highest (hlc, origin)
// is displayed), never for correctness. A plain value type.
#ifndef DAICHO_HLC_TIME_H_
#define DAICHO_HLC_TIME_H_

#include <compare>
#include <cstdint>

namespace daicho {

struct HlcTime {
  uint64_t wall_ms = 0;  // milliseconds since the Unix epoch
  uint32_t logical = 0;  // orders events within one millisecond
  friend auto operator<=>(const HlcTime&, const HlcTime&) = default;
  friend bool operator==(const HlcTime&, const HlcTime&) = default;
};

}  // namespace daicho

#endif  // DAICHO_HLC_TIME_H_
