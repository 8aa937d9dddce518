#include "daicho/version_vector.h"

#include <algorithm>
#include <charconv>

namespace daicho {

uint64_t VersionVector::Get(const ReplicaId& replica) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), replica,
                             [](const Entry& e, const ReplicaId& r) { return e.replica < r; });
  return it != entries_.end() && it->replica == replica ? it->counter : 0;
}

void VersionVector::Advance(const ReplicaId& replica, uint64_t counter) {
  if (counter == 0) return;
  auto it = std::lower_bound(entries_.begin(), entries_.end(), replica,
                             [](const Entry& e, const ReplicaId& r) { return e.replica < r; });
  if (it != entries_.end() && it->replica == replica) {
    it->counter = std::max(it->counter, counter);
  } else {
    entries_.insert(it, Entry{replica, counter});
  }
}

bool VersionVector::Dominates(const VersionVector& other) const {
  // Both sorted: walk them together.
  auto mine = entries_.begin();
  for (const Entry& e : other.entries_) {
    while (mine != entries_.end() && mine->replica < e.replica) ++mine;
    if (mine == entries_.end() || mine->replica != e.replica || mine->counter < e.counter) return false;
  }
  return true;
}

void VersionVector::Join(const VersionVector& other) {
  if (other.entries_.empty()) return;
  if (entries_.empty()) {
    entries_ = other.entries_;
    return;
  }
  std::vector<Entry> merged;
  merged.reserve(entries_.size() + other.entries_.size());
  auto a = entries_.cbegin();
  auto b = other.entries_.cbegin();
  while (a != entries_.cend() || b != other.entries_.cend()) {
    if (b == other.entries_.cend() || (a != entries_.cend() && a->replica < b->replica)) {
      merged.push_back(*a++);
    } else if (a == entries_.cend() || b->replica < a->replica) {
      merged.push_back(*b++);
    } else {
      merged.push_back(Entry{a->replica, std::max(a->counter, b->counter)});
      ++a;
      ++b;
    }
  }
  entries_ = std::move(merged);
}

Causality VersionVector::Compare(const VersionVector& other) const {
  const bool ge = Dominates(other), le = other.Dominates(*this);
  if (ge && le) return Causality::kEqual;
  if (le) return Causality::kBefore;
  if (ge) return Causality::kAfter;
  return Causality::kConcurrent;
}

uint64_t VersionVector::Total() const {
  uint64_t sum = 0;
  for (const Entry& e : entries_) sum += e.counter;
  return sum;
}

std::string VersionVector::ToString() const {
  std::string out;
  for (const Entry& e : entries_) {
    if (!out.empty()) out += ',';
    out += e.replica.ToHex();
    out += ':';
    out += std::to_string(e.counter);
  }
  return out;
}

Result<VersionVector> VersionVector::Parse(std::string_view text) {
  VersionVector vv;
  if (!text.empty() && text.back() == ',') return InvalidArgument("version vector ends with ','");
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      return InvalidArgument("version vector entry '" + std::string(item) + "' lacks ':'");
    }
    DAICHO_ASSIGN_OR_RETURN(ReplicaId id, ReplicaId::FromHex(item.substr(0, colon)));
    std::string_view num = item.substr(colon + 1);
    uint64_t counter = 0;
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), counter);
    if (ec != std::errc() || ptr != num.data() + num.size() || num.empty()) {
      return InvalidArgument("version vector counter '" + std::string(num) + "' is not a number");
    }
    vv.Advance(id, counter);
  }
  return vv;
}

}  // namespace daicho
