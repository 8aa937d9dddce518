// LoginThrottle: the relay's rule for slowing down password guessing, kept
// in memory (a restart clears it). It counts failed logins per account and
// per source address and says whether a new attempt may be checked:
//
//  - An address (an IPv4 address, or an IPv6 /64: one host's whole range)
//    with `address_failures` failures, on any accounts, known or not, and of
//    any kind (password or device token), is refused while its window lasts.
//  - An account with `account_failures` failures, from any addresses, is
//    refused while its window lasts, but only to addresses that failed a
//    login recently (within forget_after_ms): its owner, logging in from an
//    address with no recent failures, is still checked and accepted, so
//    someone else's guesses never lock the owner out.
//  - A window starts at initial_window_ms and doubles with every further
//    failure up to max_window_ms. An account's count restarts when it logs
//    in (RelayService keys an account by its password too, so a new password
//    starts a fresh count); an address's only when it has not failed for
//    forget_after_ms (a login that succeeds from it does not reset it, so a
//    valid account of one's own cannot launder guesses on others').
//  - Only settled failures count: logins still being checked never do, so
//    an office whose PCs log in at once is not refused. The caller checks
//    again right before each slow password check (RelayService does, once it
//    holds its password-check slot), so guesses queued in parallel see the
//    failures settled while they waited and are throttled as a sequence is.
//
// Memory is bounded: each table keeps at most max_entries entries, forgets
// quiet ones first and then the oldest half.
//
// Thread-safety: every method may be called concurrently from any thread.
// Codes: Check returns kUnavailable with a message saying what was refused
// and when to retry ("retry in N s").
#ifndef DAICHO_RELAY_LOGIN_THROTTLE_H_
#define DAICHO_RELAY_LOGIN_THROTTLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "daicho/clock.h"
#include "daicho/status.h"

namespace daicho::relay {

struct LoginThrottleOptions {
  // Failed logins of one account (from any addresses) before its window.
  int account_failures = 5;
  // Failed logins from one address (on any accounts) before its window:
  // higher than account_failures, as the PCs of an office often share one
  // address behind their router.
  int address_failures = 20;
  // First refusal window; it doubles with every further failure.
  uint64_t initial_window_ms = 1000;
  uint64_t max_window_ms = 5 * 60 * 1000;
  // A count with no failure for this long is forgotten; an address that
  // failed within this time is not "clean" for a throttled account.
  uint64_t forget_after_ms = 15 * 60 * 1000;
  // Largest number of accounts, and of addresses, tracked at once (about
  // 100 bytes each).
  size_t max_entries = 100000;
};

class LoginThrottle {
 public:
  // `clock` must not be null.
  LoginThrottle(const LoginThrottleOptions& options, std::shared_ptr<Clock> clock);
  LoginThrottle(const LoginThrottle&) = delete;
  LoginThrottle& operator=(const LoginThrottle&) = delete;

  // A login on `account` (an account key; empty for a device token, which
  // is not throttled per account) from `address` (the peer's IP address;
  // empty for a local caller) was refused: wrong credentials.
  void RecordFailure(std::string_view account, std::string_view address);
  // A login on `account` held: the account's count restarts. The address's
  // stays (a valid account of one's own does not launder guesses on others).
  void RecordSuccess(std::string_view account);

  // Ok if a login on `account` from `address` may be checked now;
  // kUnavailable "too many failed logins ..., retry in N s" otherwise.
  Status Check(std::string_view account, std::string_view address) const;

  // The key an address is counted under: an IPv4 address as is (also when
  // written IPv4-mapped), an IPv6 address as its /64 prefix, anything else
  // cut to 64 bytes.
  static std::string AddressKey(std::string_view address);

 private:
  struct Entry {
    int failures = 0;
    uint64_t last_failure_ms = 0;
  };
  using Table = std::unordered_map<std::string, Entry>;

  // Milliseconds left in `entry`'s window if it has `threshold` failures or
  // more, else 0.
  uint64_t Remaining(const Entry& entry, int threshold, uint64_t now) const;
  bool Forgotten(const Entry& entry, uint64_t now) const;
  // With mu_ held.
  Status CheckLocked(std::string_view account, const std::string& address_key, bool address_known, uint64_t now) const;
  void Count(Table& table, const std::string& key, uint64_t now);

  const LoginThrottleOptions options_;
  const std::shared_ptr<Clock> clock_;
  mutable std::mutex mu_;
  Table accounts_;
  Table addresses_;
};

}  // namespace daicho::relay

#endif  // DAICHO_RELAY_LOGIN_THROTTLE_H_
