#include "relay/login_throttle.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/testing/fake_clock.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {
namespace {

using daicho::testing::FakeClock;

constexpr std::string_view kAccount = "0000-0000-0001taro@example.jp";
constexpr std::string_view kAttacker = "127.0.0.66";
constexpr std::string_view kOwner = "127.0.0.1";

class LoginThrottleTest : public ::testing::Test {
 protected:
  // Logins found wrong.
  void Fail(std::string_view account, std::string_view address, int times = 1) {
    for (int i = 0; i < times; ++i) throttle_.RecordFailure(account, address);
  }

  std::shared_ptr<FakeClock> clock_ = std::make_shared<FakeClock>();
  LoginThrottleOptions options_;
  LoginThrottle throttle_{options_, clock_};
};

TEST_F(LoginThrottleTest, ThrottledAccountIsStillCheckedForAnAddressWithNoRecentFailures) {
  Fail(kAccount, kAttacker, options_.account_failures);
  Status refused = throttle_.Check(kAccount, kAttacker);
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("too many failed logins for this user id"), std::string::npos) << refused;
  EXPECT_NE(refused.message().find("retry in 1 s"), std::string::npos) << refused;
  // The owner's address never failed: the password is checked there.
  EXPECT_DAICHO_OK(throttle_.Check(kAccount, kOwner));
  // An owner who mistyped meanwhile waits for the window like the attacker.
  Fail(kAccount, kOwner);
  EXPECT_EQ(throttle_.Check(kAccount, kOwner).code(), Code::kUnavailable);
  clock_->Advance(options_.initial_window_ms * 2);
  EXPECT_DAICHO_OK(throttle_.Check(kAccount, kOwner));
}

TEST_F(LoginThrottleTest, FailuresOnManyAccountsThrottleTheirAddressOnly) {
  for (int i = 0; i < options_.address_failures; ++i) {
    const std::string account = "0000-0000-0002guess" + std::to_string(i) + "@example.jp";
    Fail(account, kAttacker);
  }
  Status refused = throttle_.Check("0000-0000-0003new@example.jp", kAttacker);
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("too many failed logins from 127.0.0.66"), std::string::npos) << refused;
  EXPECT_NE(refused.message().find("retry in 1 s"), std::string::npos) << refused;
  // Device-token logins (no account) from there too; not other addresses.
  EXPECT_EQ(throttle_.Check({}, kAttacker).code(), Code::kUnavailable);
  EXPECT_DAICHO_OK(throttle_.Check("0000-0000-0003new@example.jp", kOwner));
  // The window doubles with each further failure, up to max_window_ms.
  clock_->Advance(options_.initial_window_ms);
  Fail({}, kAttacker);
  EXPECT_NE(throttle_.Check({}, kAttacker).message().find("retry in 2 s"), std::string::npos);
  for (int i = 0; i < 30; ++i) {
    clock_->Advance(options_.max_window_ms);
    Fail({}, kAttacker);
  }
  EXPECT_NE(throttle_.Check({}, kAttacker).message().find("retry in 300 s"), std::string::npos);
}

TEST_F(LoginThrottleTest, ALoginFromAnAddressRestartsTheAccountButNotTheAddress) {
  Fail(kAccount, kAttacker, options_.account_failures - 1);
  for (int i = 0; i < options_.address_failures - options_.account_failures; ++i) {
    Fail("0000-0000-0001other" + std::to_string(i) + "@example.jp", kAttacker);
  }
  // The attacker's own valid account logs in: its count restarts, the
  // address's does not, so the next failure throttles the address.
  ASSERT_DAICHO_OK(throttle_.Check(kAccount, kAttacker));
  throttle_.RecordSuccess(kAccount);
  Fail(kAccount, kAttacker);
  EXPECT_EQ(throttle_.Check("0000-0000-0001third@example.jp", kAttacker).code(), Code::kUnavailable);
  // ... while the account itself is one failure in, not throttled, even for
  // an address that failed recently.
  Fail("0000-0000-0001fourth@example.jp", "127.0.0.2");
  EXPECT_DAICHO_OK(throttle_.Check(kAccount, "127.0.0.2"));
}

TEST_F(LoginThrottleTest, QuietCountsAreForgotten) {
  Fail(kAccount, kAttacker, options_.account_failures);
  Fail({}, kAttacker, options_.address_failures - options_.account_failures);
  EXPECT_EQ(throttle_.Check(kAccount, kAttacker).code(), Code::kUnavailable);
  clock_->Advance(options_.forget_after_ms);
  EXPECT_DAICHO_OK(throttle_.Check(kAccount, kAttacker));
  // Counting starts again from zero, not from the old total.
  Fail(kAccount, kAttacker);
  EXPECT_DAICHO_OK(throttle_.Check(kAccount, kAttacker));
}

TEST_F(LoginThrottleTest, AnIpv6HostCountsAsItsWholeSlash64) {
  EXPECT_EQ(LoginThrottle::AddressKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(LoginThrottle::AddressKey("::ffff:127.0.0.66"), "127.0.0.66");
  EXPECT_EQ(LoginThrottle::AddressKey("127.0.0.66"), "127.0.0.66");
  EXPECT_EQ(LoginThrottle::AddressKey(std::string(500, 'x')).size(), 64u);
  for (int i = 0; i < options_.address_failures; ++i) Fail({}, "2001:db8:1:2::" + std::to_string(i + 1));
  EXPECT_EQ(throttle_.Check({}, "2001:db8:1:2:ffff::9").code(), Code::kUnavailable);
  EXPECT_DAICHO_OK(throttle_.Check({}, "2001:db8:1:3::1"));
}

TEST(LoginThrottleMemoryTest, TablesStayBoundedWhenFlooded) {
  auto clock = std::make_shared<FakeClock>();
  LoginThrottleOptions options;
  options.address_failures = 1;
  options.max_entries = 8;
  LoginThrottle throttle(options, clock);
  throttle.RecordFailure({}, "127.0.1.0");
  EXPECT_EQ(throttle.Check({}, "127.0.1.0").code(), Code::kUnavailable);
  // A flood of fresh addresses pushes the oldest out instead of growing the
  // table; the newest stay throttled.
  for (int i = 1; i <= 20; ++i) {
    clock->Advance(1);
    throttle.RecordFailure({}, "127.0.1." + std::to_string(i));
  }
  EXPECT_DAICHO_OK(throttle.Check({}, "127.0.1.0"));
  EXPECT_EQ(throttle.Check({}, "127.0.1.20").code(), Code::kUnavailable);
}

}  // namespace
}  // namespace daicho::relay
