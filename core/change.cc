#include "core/change.h"

namespace daicho::core {

size_t Change::OpCount() const {
  size_t n = 0;
  for (const RecordOps& r : records) n += r.ops.size();
  return n;
}

}  // namespace daicho::core
