#include "core/record_state.h"

#include <algorithm>

namespace daicho::core {

int64_t CounterState::Total() const {
  // Unsigned arithmetic wraps instead of overflowing; the cast back gives the
  // two's-complement total, the same on every replica.
  uint64_t total = 0;
  for (const CounterEntry& e : entries) total += e.positive - e.negative;
  return static_cast<int64_t>(total);
}

std::vector<std::string> SetState::Present() const {
  std::vector<std::string> out;
  for (const SetElement& e : elements) {
    if (!e.live.empty()) out.push_back(e.value);
  }
  return out;
}

void ClearKeepingMemory(VersionVector& vv) {
  // Copy-assigning an empty vector keeps the capacity; assigning a
  // temporary would move in its empty buffer and free this one.
  static const VersionVector kEmpty;
  vv = kEmpty;
}

void ClearKeepingMemory(RegisterState& reg) {
  reg.siblings.clear();
  ClearKeepingMemory(reg.context);
  reg.newest = OpStamp{};
  ClearKeepingMemory(reg.kind_context);
}

void ClearKeepingMemory(CounterState& counter) {
  counter.entries.clear();
  counter.newest = OpStamp{};
  ClearKeepingMemory(counter.kind_context);
}

const FieldState* RecordState::FindField(std::string_view name) const {
  auto it = std::lower_bound(fields.begin(), fields.end(), name,
                             [](const FieldState& f, std::string_view n) { return f.name < n; });
  return it != fields.end() && it->name == name ? &*it : nullptr;
}

FieldState& RecordState::FieldFor(std::string_view name) {
  auto it = std::lower_bound(fields.begin(), fields.end(), name,
                             [](const FieldState& f, std::string_view n) { return f.name < n; });
  if (it == fields.end() || it->name != name) {
    it = fields.insert(it, FieldState{});
    it->name = std::string(name);
  }
  return *it;
}

}  // namespace daicho::core
