#include "memory_change_store.h"

#include <algorithm>
#include <utility>

namespace daicho::bench {

void MemoryChangeStore::Commit(const ReplicaId& origin, std::string payload) {
  std::lock_guard lock(mu_);
  std::vector<std::string>& log = logs_[origin];
  log.push_back(std::move(payload));
  held_.Advance(origin, log.size());
}

Result<VersionVector> MemoryChangeStore::GetVersionVector() {
  std::lock_guard lock(mu_);
  return held_;
}

Result<std::vector<ChangeBlob>> MemoryChangeStore::ChangesSince(const VersionVector& other, size_t max_bytes,
                                                                const VersionVector* upto) {
  std::vector<ChangeBlob> out = Read(other, max_bytes, upto);
  if (on_read_) {
    for (const ChangeBlob& change : out) on_read_(change);
  }
  return out;
}

std::vector<ChangeBlob> MemoryChangeStore::Read(const VersionVector& other, size_t max_bytes,
                                                const VersionVector* upto) {
  std::lock_guard lock(mu_);
  std::vector<ChangeBlob> out;
  size_t bytes = 0;
  for (const auto& [origin, log] : logs_) {
    const uint64_t last = upto ? std::min<uint64_t>(log.size(), upto->Get(origin)) : log.size();
    for (uint64_t seq = other.Get(origin) + 1; seq <= last; ++seq) {
      const std::string& payload = log[seq - 1];
      if (!out.empty() && bytes + payload.size() > max_bytes) return out;
      bytes += payload.size();
      out.push_back(ChangeBlob{origin, seq, payload});
    }
  }
  return out;
}

Status MemoryChangeStore::Apply(std::span<const ChangeBlob> changes) {
  std::vector<const ChangeBlob*> stored;
  {
    std::lock_guard lock(mu_);
    VersionVector after = held_;  // the batch checked whole before any of it is stored
    for (const ChangeBlob& change : changes) {
      if (change.seq > after.Get(change.origin) + 1) {
        return Status(Code::kProtocolError, "a gap before seq " + std::to_string(change.seq));
      }
      after.Advance(change.origin, change.seq);
    }
    for (const ChangeBlob& change : changes) {
      std::vector<std::string>& log = logs_[change.origin];
      if (change.seq != log.size() + 1) continue;  // a duplicate
      log.push_back(change.payload);
      stored.push_back(&change);
    }
    held_ = std::move(after);
  }
  if (on_stored_) {
    for (const ChangeBlob* change : stored) on_stored_(*change);
  }
  return Status::Ok();
}

}  // namespace daicho::bench
