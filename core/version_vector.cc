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
  // Raise the shared entries in place and count the new replicas; usually
  // there are none, and a join allocates nothing.
  size_t missing = 0;
  auto a = entries_.begin();
  for (const Entry& e : other.entries_) {
    while (a != entries_.end() && a->replica < e.replica) ++a;
    if (a != entries_.end() && a->replica == e.replica) {
      a->counter = std::max(a->counter, e.counter);
    } else {
      ++missing;
    }
  }
  if (missing == 0) return;
  // Merge from the back into the grown vector: each entry moves at most
  // once, and the shared ones are already raised.
  ptrdiff_t i = static_cast<ptrdiff_t>(entries_.size()) - 1;
  ptrdiff_t j = static_cast<ptrdiff_t>(other.entries_.size()) - 1;
  entries_.resize(entries_.size() + missing);
  ptrdiff_t k = static_cast<ptrdiff_t>(entries_.size()) - 1;
  while (j >= 0) {
    const Entry& b = other.entries_[static_cast<size_t>(j)];
    if (i >= 0 && b.replica < entries_[static_cast<size_t>(i)].replica) {
      entries_[static_cast<size_t>(k--)] = entries_[static_cast<size_t>(i--)];
    } else if (i >= 0 && b.replica == entries_[static_cast<size_t>(i)].replica) {
      entries_[static_cast<size_t>(k--)] = entries_[static_cast<size_t>(i--)];
      --j;
    } else {
      entries_[static_cast<size_t>(k--)] = b;
      --j;
    }
  }
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

uint64_t VersionVector::CountMissingFrom(const VersionVector& other) const {
  uint64_t missing = 0;
  for (const Entry& e : entries_) missing += e.counter - std::min(e.counter, other.Get(e.replica));
  return missing;
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
