#include "relay/login_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace daicho::relay {
namespace {

constexpr size_t kMaxAddressKeyBytes = 64;

std::string RetryIn(uint64_t remaining_ms) { return "retry in " + std::to_string((remaining_ms + 999) / 1000) + " s"; }

}  // namespace

LoginThrottle::LoginThrottle(const LoginThrottleOptions& options, std::shared_ptr<Clock> clock)
    : options_(options), clock_(std::move(clock)) {}

std::string LoginThrottle::AddressKey(std::string_view address) {
  std::string text(address.substr(0, kMaxAddressKeyBytes));
  unsigned char v6[16];
  if (inet_pton(AF_INET6, text.c_str(), v6) != 1) return text;  // IPv4 (or not an address)
  static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char out[INET6_ADDRSTRLEN];
  if (std::equal(std::begin(kMappedPrefix), std::end(kMappedPrefix), v6)) {
    return inet_ntop(AF_INET, v6 + 12, out, sizeof(out)) ? std::string(out) : text;
  }
  // One host or site is given a whole /64: counting single addresses would
  // let it change address after every refusal.
  std::fill(v6 + 8, v6 + 16, 0);
  return inet_ntop(AF_INET6, v6, out, sizeof(out)) ? std::string(out) + "/64" : text;
}

uint64_t LoginThrottle::Remaining(const Entry& entry, int threshold, uint64_t now) const {
  if (entry.failures < threshold) return 0;
  uint64_t window = options_.initial_window_ms;
  for (int i = threshold; i < entry.failures && window < options_.max_window_ms; ++i) window *= 2;
  const uint64_t until = entry.last_failure_ms + std::min(window, options_.max_window_ms);
  return now < until ? until - now : 0;
}

bool LoginThrottle::Forgotten(const Entry& entry, uint64_t now) const {
  return now >= entry.last_failure_ms + options_.forget_after_ms;
}

Status LoginThrottle::Check(std::string_view account, std::string_view address) const {
  const std::string address_key = AddressKey(address);
  const uint64_t now = clock_->NowMillis();
  std::lock_guard lock(mu_);
  return CheckLocked(account, address_key, !address.empty(), now);
}

Status LoginThrottle::CheckLocked(std::string_view account, const std::string& address_key, bool address_known,
                                  uint64_t now) const {
  const auto from = addresses_.find(address_key);
  const bool address_failed_recently = from != addresses_.end() && !Forgotten(from->second, now);
  if (address_failed_recently) {
    if (uint64_t remaining = Remaining(from->second, options_.address_failures, now)) {
      return Status(Code::kUnavailable, "too many failed logins from " +
                                            (address_known ? address_key : std::string("this address")) + ": " +
                                            RetryIn(remaining) + " (check the user id and password first)");
    }
  }
  if (account.empty() || !address_failed_recently) return Status::Ok();
  const auto it = accounts_.find(std::string(account));
  if (it == accounts_.end() || Forgotten(it->second, now)) return Status::Ok();
  if (uint64_t remaining = Remaining(it->second, options_.account_failures, now)) {
    return Status(Code::kUnavailable, "too many failed logins for this user id: " + RetryIn(remaining) +
                                          " (check the user id and password first)");
  }
  return Status::Ok();
}

void LoginThrottle::RecordFailure(std::string_view account, std::string_view address) {
  const std::string address_key = AddressKey(address);
  const uint64_t now = clock_->NowMillis();
  std::lock_guard lock(mu_);
  if (!account.empty()) Count(accounts_, std::string(account), now);
  Count(addresses_, address_key, now);
}

void LoginThrottle::RecordSuccess(std::string_view account) {
  if (account.empty()) return;
  std::lock_guard lock(mu_);
  accounts_.erase(std::string(account));
}

void LoginThrottle::Count(Table& table, const std::string& key, uint64_t now) {
  auto it = table.find(key);
  if (it == table.end() && table.size() >= options_.max_entries) {
    std::erase_if(table, [&](const auto& entry) { return Forgotten(entry.second, now); });
    if (table.size() >= options_.max_entries) {
      // Still full of fresh entries (many addresses or ids at once): the
      // oldest half goes, so memory stays bounded.
      std::vector<uint64_t> times;
      times.reserve(table.size());
      for (const auto& entry : table) times.push_back(entry.second.last_failure_ms);
      auto middle = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2);
      std::nth_element(times.begin(), middle, times.end());
      const uint64_t cutoff = *middle;
      std::erase_if(table, [&](const auto& entry) { return entry.second.last_failure_ms <= cutoff; });
    }
  }
  if (it == table.end()) it = table.emplace(key, Entry{}).first;
  // A count that went quiet restarts rather than resuming a long window.
  if (Forgotten(it->second, now)) it->second = Entry{};
  ++it->second.failures;
  it->second.last_failure_ms = now;
}

}  // namespace daicho::relay
