// The relay's rules, run through RelayService over every backend (typed
// tests; today the LMDB one): contracts, credentials and throttling, device
// tokens, disabling, the login generation, change stores and the office key,
// and the admin panel's rules (roles, audit, sessions, own password, reset).
// A backend passes when this whole suite does. LMDB-only behaviour (opening
// a directory, map growth, upgrades) is in tests/relay/lmdb/.
#include "relay/relay_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "crypto/sealed_change.h"
#include "daicho/replica.h"
#include "relay/lmdb/lmdb_backend.h"
#include "relay/password.h"
#include "tests/relay/relay_service_fixture.h"
#include "tests/relay/relay_test_util.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/test_util.h"

namespace daicho::relay {
namespace {

using daicho::testing::FakeClock;
using daicho::testing::TempDir;

TYPED_TEST_SUITE(RelayServiceTest, Backends, BackendNames);

TYPED_TEST(RelayServiceTest, ContractsAreAddedOnce) {
  EXPECT_FALSE(*this->store_->HasContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  EXPECT_TRUE(*this->store_->HasContract(this->a_));
  EXPECT_EQ(this->store_->AddContract(this->a_).code(), Code::kAlreadyExists);
  EXPECT_FALSE(*this->store_->HasContract(this->b_));
}

TYPED_TEST(RelayServiceTest, UsersBelongToAnExistingContract) {
  EXPECT_EQ(this->store_->AddUser(this->a_, "taro@example.jp", "Password1").code(), Code::kNotFound);
  EXPECT_EQ(UserIds(*this->store_, this->a_).status().code(), Code::kNotFound);
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  EXPECT_EQ(this->store_->AddUser(this->a_, "ab", "Password1").code(), Code::kInvalidArgument);
  EXPECT_EQ(this->store_->AddUser(this->a_, "taro@example.jp", "short").code(), Code::kInvalidArgument);
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  EXPECT_EQ(this->store_->AddUser(this->a_, "taro@example.jp", "Password2").code(), Code::kAlreadyExists);
  auto users = UserIds(*this->store_, this->a_);
  ASSERT_DAICHO_OK(users);
  EXPECT_EQ(*users, std::vector<std::string>{"taro@example.jp"});
  auto users_b = UserIds(*this->store_, this->b_);
  ASSERT_DAICHO_OK(users_b);
  EXPECT_TRUE(users_b->empty());
  EXPECT_EQ(this->store_->SetPassword(this->b_, "taro@example.jp", "Password3").code(), Code::kNotFound);
}

TYPED_TEST(RelayServiceTest, WrongPasswordUnknownUserAndUnknownContractLookAlike) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  ASSERT_DAICHO_OK(this->store_->LogIn(this->a_, "taro@example.jp", "Password1"));
  Status wrong = this->store_->LogIn(this->a_, "taro@example.jp", "Password2").status();
  Status unknown_user = this->store_->LogIn(this->a_, "hanako@example.jp", "Password1").status();
  Status unknown_contract = this->store_->LogIn(this->b_, "taro@example.jp", "Password1").status();
  EXPECT_EQ(wrong.code(), Code::kUnauthenticated);
  EXPECT_EQ(unknown_user.code(), Code::kUnauthenticated);
  EXPECT_EQ(unknown_contract.code(), Code::kUnauthenticated);
  EXPECT_EQ(wrong.message(), unknown_user.message());
  EXPECT_EQ(wrong.message(), unknown_contract.message());
  Status malformed = this->store_->LogIn(this->a_, "x", "Password1").status();
  EXPECT_EQ(malformed.code(), Code::kUnauthenticated);
  EXPECT_EQ(malformed.message(), wrong.message());

  ASSERT_DAICHO_OK(this->store_->SetPassword(this->a_, "taro@example.jp", "NewPassword9"));
  EXPECT_EQ(this->store_->LogIn(this->a_, "taro@example.jp", "Password1").status().code(), Code::kUnauthenticated);
  ASSERT_DAICHO_OK(this->store_->LogIn(this->a_, "taro@example.jp", "NewPassword9"));
}

TYPED_TEST(RelayServiceTest, ThrottlesAnAccountAfterFiveFailuresWithGrowingWindow) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  const std::string user = "taro@example.jp";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(this->store_->LogIn(this->a_, user, "WrongPass1").status().code(), Code::kUnauthenticated) << i;
  }
  // Locked: even the right password is refused without being checked.
  Status refused = this->store_->LogIn(this->a_, user, "Password1").status();
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("retry in 1 s"), std::string::npos) << refused;
  // Another account is not affected.
  EXPECT_EQ(this->store_->LogIn(this->a_, "hanako@example.jp", "Password1").status().code(), Code::kUnauthenticated);

  this->clock_->Advance(1000);  // first window over: one more try, which fails
  EXPECT_EQ(this->store_->LogIn(this->a_, user, "WrongPass1").status().code(), Code::kUnauthenticated);
  this->clock_->Advance(1000);  // the window doubled to 2 s
  refused = this->store_->LogIn(this->a_, user, "Password1").status();
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("retry in 1 s"), std::string::npos) << refused;
  this->clock_->Advance(1000);
  ASSERT_DAICHO_OK(this->store_->LogIn(this->a_, user, "Password1"));
  // Success reset the count: a single failure does not lock again.
  EXPECT_EQ(this->store_->LogIn(this->a_, user, "WrongPass1").status().code(), Code::kUnauthenticated);
  ASSERT_DAICHO_OK(this->store_->LogIn(this->a_, user, "Password1"));
}

TYPED_TEST(RelayServiceTest, ThrottleWindowIsCappedAtFiveMinutes) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  // Unknown accounts are throttled the same way (ids cannot be probed fast).
  const std::string user = "nobody@example.jp";
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(this->store_->LogIn(this->a_, user, "WrongPass1").status().code(), Code::kUnauthenticated);
  for (int i = 0; i < 12; ++i) {
    this->clock_->Advance(5 * 60 * 1000);
    EXPECT_EQ(this->store_->LogIn(this->a_, user, "WrongPass1").status().code(), Code::kUnauthenticated) << i;
  }
  Status refused = this->store_->LogIn(this->a_, user, "WrongPass1").status();
  EXPECT_EQ(refused.code(), Code::kUnavailable);
  EXPECT_NE(refused.message().find("retry in 300 s"), std::string::npos) << refused;
}

// Issue 12 item 4: someone guessing an account's password from elsewhere
// cannot lock its owner out.
TYPED_TEST(RelayServiceTest, OwnerLogsInFromACleanAddressWhileAnAttackersGuessesAreThrottled) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  const std::string attacker = "127.0.0.66";
  for (int i = 0; i < 8; ++i) {
    Status refused =
        this->store_->LogIn(this->a_, "taro@example.jp", "Guess" + std::to_string(1000 + i), attacker).status();
    EXPECT_TRUE(refused.code() == Code::kUnauthenticated || refused.code() == Code::kUnavailable) << refused;
  }
  // The attacker's address is refused without a check, even with the right
  // password ...
  Status throttled = this->store_->LogIn(this->a_, "taro@example.jp", "Password1", attacker).status();
  EXPECT_EQ(throttled.code(), Code::kUnavailable) << throttled;
  EXPECT_NE(throttled.message().find("too many failed logins"), std::string::npos) << throttled;
  EXPECT_NE(throttled.message().find("retry in "), std::string::npos) << throttled;
  // ... while the owner, from an address with no failures, gets in.
  auto owner = this->store_->LogIn(this->a_, "Taro@Example.jp", "Password1", "127.0.0.1");
  ASSERT_DAICHO_OK(owner);
  EXPECT_EQ(owner->user_id, "taro@example.jp");
}

// Issue 12 item 4: guessing on many ids, known or not, from one address gets
// that address throttled, and only that address.
TYPED_TEST(RelayServiceTest, AnAddressGuessingManyUnknownIdsIsThrottled) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  const std::string scanner = "127.0.0.66";
  const int allowed = RelayServiceOptions().throttle.address_failures;
  for (int i = 0; i < allowed; ++i) {
    // Unknown ids in a known contract, and in a contract that does not exist.
    const ContractNumber& contract = i % 2 ? this->a_ : this->b_;
    Status refused =
        this->store_->LogIn(contract, "guess" + std::to_string(i) + "@example.jp", "Password1", scanner).status();
    EXPECT_EQ(refused.code(), Code::kUnauthenticated) << i << ": " << refused;
  }
  Status throttled = this->store_->LogIn(this->a_, "another@example.jp", "Password1", scanner).status();
  EXPECT_EQ(throttled.code(), Code::kUnavailable) << throttled;
  EXPECT_NE(throttled.message().find("retry in 1 s"), std::string::npos) << throttled;
  // Known users too, while the window lasts; other addresses are untouched.
  EXPECT_EQ(this->store_->LogIn(this->a_, "taro@example.jp", "Password1", scanner).status().code(), Code::kUnavailable);
  EXPECT_DAICHO_OK(this->store_->LogIn(this->a_, "taro@example.jp", "Password1", "127.0.0.1"));
  this->clock_->Advance(1000);
  EXPECT_EQ(this->store_->LogIn(this->a_, "guess@example.jp", "Password1", scanner).status().code(),
            Code::kUnauthenticated);
  // Each further failure doubles the window.
  throttled = this->store_->LogIn(this->a_, "taro@example.jp", "Password1", scanner).status();
  EXPECT_EQ(throttled.code(), Code::kUnavailable) << throttled;
  EXPECT_NE(throttled.message().find("retry in 2 s"), std::string::npos) << throttled;
}

// Issue 12 item 4: unknown contracts and users cost what a wrong password
// does, one Argon2id check through the same gate (no timing oracle), and a
// throttled refusal costs none.
TYPED_TEST(RelayServiceTest, EveryCheckedLoginPassesThePasswordGateOnce) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  const PasswordGate& gate = this->store_->TEST_password_gate();
  auto entries = [&] { return gate.stats().entered; };
  const uint64_t start = entries();
  ASSERT_DAICHO_OK(this->store_->LogIn(this->a_, "taro@example.jp", "Password1", "127.0.0.1"));
  EXPECT_EQ(entries(), start + 1);
  EXPECT_EQ(this->store_->LogIn(this->a_, "taro@example.jp", "Password2", "127.0.0.1").status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(entries(), start + 2) << "wrong password";
  EXPECT_EQ(this->store_->LogIn(this->a_, "hanako@example.jp", "Password1", "127.0.0.1").status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(entries(), start + 3) << "unknown user";
  EXPECT_EQ(this->store_->LogIn(this->b_, "taro@example.jp", "Password1", "127.0.0.1").status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(entries(), start + 4) << "unknown contract";
  for (int i = 0; i < 4; ++i) (void)this->store_->LogIn(this->a_, "taro@example.jp", "Password2", "127.0.0.1");
  EXPECT_EQ(this->store_->LogIn(this->a_, "taro@example.jp", "Password2", "127.0.0.1").status().code(),
            Code::kUnavailable);
  EXPECT_EQ(entries(), start + 8) << "a throttled attempt is refused without a check";
}

// Issue 12 item 4: a burst of logins never runs more Argon2id checks at once
// than the cap; the excess waits its turn or is told the relay is busy.
TYPED_TEST(RelayServiceTest, ConcurrentLoginsStayWithinTheCheckCap) {
  this->options_.password_checks.max_concurrent = 2;
  this->options_.password_checks.max_queued = 3;
  this->options_.password_checks.max_wait = std::chrono::minutes(5);
  this->Reopen();
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  // AddUser's hash passed the gate too.
  const uint64_t entered_before = this->store_->TEST_password_gate().stats().entered;
  constexpr int kLogins = 12;
  std::atomic<int> accepted{0};
  std::atomic<int> busy{0};
  std::vector<std::thread> threads;
  threads.reserve(kLogins);
  for (int t = 0; t < kLogins; ++t) {
    threads.emplace_back([&, t] {
      auto login = this->store_->LogIn(this->a_, "taro@example.jp", "Password1", "127.0.0." + std::to_string(t + 1));
      if (login.ok()) {
        ++accepted;
      } else {
        EXPECT_EQ(login.status().code(), Code::kUnavailable) << login.status();
        EXPECT_NE(login.status().message().find("busy checking logins"), std::string::npos) << login.status();
        ++busy;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const PasswordGate::Stats stats = this->store_->TEST_password_gate().stats();
  EXPECT_EQ(accepted + busy, kLogins);
  EXPECT_GE(accepted.load(), 2);
  EXPECT_EQ(stats.entered - entered_before, static_cast<uint64_t>(accepted.load()));
  EXPECT_EQ(stats.refused, static_cast<uint64_t>(busy.load()));
  EXPECT_LE(stats.peak_running, 2u);
  EXPECT_EQ(stats.running, 0u);
  EXPECT_EQ(stats.queued, 0u);
}

// Issue 12 item 4: guesses sent in parallel from one address are throttled
// as if sent one after the other, however many wait for a check at once.
TYPED_TEST(RelayServiceTest, ParallelGuessesFromOneAddressAreThrottledLikeSequentialOnes) {
  this->options_.password_checks.max_queued = 64;
  this->options_.password_checks.max_wait = std::chrono::minutes(5);
  this->Reopen();
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  const int allowed = this->options_.throttle.address_failures;
  std::atomic<int> checked{0};
  std::atomic<int> throttled{0};
  std::vector<std::thread> threads;
  threads.reserve(allowed + 10);
  for (int t = 0; t < allowed + 10; ++t) {
    threads.emplace_back([&, t] {
      Status refused =
          this->store_->LogIn(this->a_, "guess" + std::to_string(t) + "@example.jp", "Password1", "127.0.0.66")
              .status();
      if (refused.code() == Code::kUnauthenticated) ++checked;
      if (refused.code() == Code::kUnavailable &&
          refused.message().find("too many failed logins from") != std::string::npos) {
        ++throttled;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // Each check starts only after asking the throttle with its slot held: at
  // most the checks already running when the limit was reached get past it.
  const int running_at_once = static_cast<int>(this->options_.password_checks.max_concurrent);
  EXPECT_GE(checked.load(), allowed);
  EXPECT_LE(checked.load(), allowed + running_at_once - 1);
  EXPECT_EQ(checked + throttled, allowed + 10);
}

// Issue 12 item 4: logins still being checked are no failures. The PCs of
// an office, behind one address where somebody mistyped a password a minute
// ago, log in with the right one at the same moment: none is refused.
TYPED_TEST(RelayServiceTest, RightPasswordsSentAtOnceAreAllAcceptedAfterARecentTypo) {
  this->options_.password_checks.max_queued = 64;
  this->options_.password_checks.max_wait = std::chrono::minutes(5);
  this->Reopen();
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  const std::string office = "127.0.0.77";
  EXPECT_EQ(this->store_->LogIn(this->a_, "taro@example.jp", "Password2", office).status().code(),
            Code::kUnauthenticated);
  const int pcs = this->options_.throttle.account_failures + 3;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  threads.reserve(pcs);
  for (int t = 0; t < pcs; ++t) {
    threads.emplace_back([&] {
      auto login = this->store_->LogIn(this->a_, "taro@example.jp", "Password1", office);
      EXPECT_DAICHO_OK(login);
      if (login.ok()) ++accepted;
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), pcs);
}

// Issue 12 item 4: guessed device tokens count against the address too.
TYPED_TEST(RelayServiceTest, DeviceTokenGuessesThrottleTheirAddress) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  auto token = this->store_->IssueDeviceToken(this->a_, "taro@example.jp", Origin(1), "PC-1");
  ASSERT_DAICHO_OK(token);
  const std::string scanner = "127.0.0.66";
  const uint64_t checks = this->store_->TEST_password_gate().stats().entered;
  for (int i = 0; i < this->options_.throttle.address_failures; ++i) {
    EXPECT_EQ(this->store_->LogInWithDevice(this->a_, "taro@example.jp", NewDeviceToken(), Origin(1), scanner).code(),
              Code::kUnauthenticated);
  }
  EXPECT_EQ(this->store_->TEST_password_gate().stats().entered, checks) << "a token needs no Argon2id check";
  Status refused = this->store_->LogInWithDevice(this->a_, "taro@example.jp", *token, Origin(1), scanner);
  EXPECT_EQ(refused.code(), Code::kUnavailable) << refused;
  EXPECT_EQ(this->store_->LogIn(this->a_, "taro@example.jp", "Password1", scanner).status().code(), Code::kUnavailable);
  // The PC itself, at its own address, keeps syncing.
  EXPECT_DAICHO_OK(this->store_->LogInWithDevice(this->a_, "taro@example.jp", *token, Origin(1), "127.0.0.1"));
}

TYPED_TEST(RelayServiceTest, DeviceTokensAuthenticateUntilRevoked) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  const ReplicaId pc1 = Origin(1);
  const ReplicaId pc2 = Origin(2);
  EXPECT_EQ(this->store_->IssueDeviceToken(this->a_, "hanako@example.jp", pc1, "PC-1").status().code(),
            Code::kNotFound);
  EXPECT_EQ(this->store_->IssueDeviceToken(this->a_, "taro@example.jp", pc1, "").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(this->store_->IssueDeviceToken(this->a_, "taro@example.jp", ReplicaId(), "PC-1").status().code(),
            Code::kInvalidArgument);

  auto token = this->store_->IssueDeviceToken(this->a_, "taro@example.jp", pc1, "PC-1");
  ASSERT_DAICHO_OK(token);
  EXPECT_EQ(token->size(), kDeviceTokenBytes);
  auto token2 = this->store_->IssueDeviceToken(this->a_, "taro@example.jp", pc2, "PC-2");
  ASSERT_DAICHO_OK(token2);

  EXPECT_DAICHO_OK(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token, pc1));
  // Contract B never accepts contract A's token, nor another user's login.
  EXPECT_EQ(this->store_->AuthenticateDevice(this->b_, "taro@example.jp", *token, pc1).code(), Code::kUnauthenticated);
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "hanako@example.jp", "Password2"));
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "hanako@example.jp", *token, pc1).code(),
            Code::kUnauthenticated);
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", NewDeviceToken(), pc1).code(),
            Code::kUnauthenticated);
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", "short", pc1).code(), Code::kUnauthenticated);
  auto devices = this->store_->ListDevices(this->a_, "taro@example.jp");
  ASSERT_DAICHO_OK(devices);
  ASSERT_EQ(devices->size(), 2u);
  EXPECT_EQ((*devices)[0].name, "PC-1");
  EXPECT_EQ((*devices)[0].replica, pc1);
  EXPECT_EQ((*devices)[0].ShortId(), pc1.ToHex().substr(0, 8));
  EXPECT_EQ((*devices)[1].name, "PC-2");

  // The stored bytes hold only hashes.
  const std::string data = this->factory_.StoredBytes();
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.find(*token), std::string::npos);
  EXPECT_EQ(data.find(*token2), std::string::npos);
  EXPECT_NE(data.find(HashDeviceToken(*token)), std::string::npos);

  ASSERT_DAICHO_OK(this->store_->RevokeDevice(this->a_, "taro@example.jp", "PC-1"));
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token, pc1).code(), Code::kUnauthenticated);
  EXPECT_EQ(this->store_->RevokeDevice(this->a_, "taro@example.jp", "PC-1").code(), Code::kNotFound);
  ASSERT_DAICHO_OK(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token2, pc2));

  // Re-issuing for the same replica replaces its token; survives a reopen.
  auto token3 = this->store_->IssueDeviceToken(this->a_, "taro@example.jp", pc2, "PC-2");
  ASSERT_DAICHO_OK(token3);
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token2, pc2).code(), Code::kUnauthenticated);
  this->Reopen();
  EXPECT_DAICHO_OK(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token3, pc2));
}

// Issue 11 item 8: two PCs named alike (the default name is the host name)
// are two devices; before, the second login revoked the first PC's token.
TYPED_TEST(RelayServiceTest, DevicesAreReplicasSoPcsOfOneNameKeepTheirLogins) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  const ReplicaId pc1 = Origin(1);
  const ReplicaId pc2 = Origin(2);
  auto token1 = this->store_->IssueDeviceToken(this->a_, "taro@example.jp", pc1, "OFFICE-PC");
  ASSERT_DAICHO_OK(token1);
  auto token2 = this->store_->IssueDeviceToken(this->a_, "taro@example.jp", pc2, "OFFICE-PC");
  ASSERT_DAICHO_OK(token2);
  EXPECT_DAICHO_OK(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token1, pc1));
  EXPECT_DAICHO_OK(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token2, pc2));
  auto devices = this->store_->ListDevices(this->a_, "taro@example.jp");
  ASSERT_DAICHO_OK(devices);
  ASSERT_EQ(devices->size(), 2u);
  EXPECT_EQ((*devices)[0].replica, pc1);
  EXPECT_EQ((*devices)[1].replica, pc2);

  // A rename replaces the label of that PC only.
  auto renamed = this->store_->IssueDeviceToken(this->a_, "taro@example.jp", pc1, "FRONT-DESK");
  ASSERT_DAICHO_OK(renamed);
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token1, pc1).code(), Code::kUnauthenticated);
  EXPECT_DAICHO_OK(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *renamed, pc1));
  EXPECT_DAICHO_OK(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token2, pc2));
  devices = this->store_->ListDevices(this->a_, "taro@example.jp");
  ASSERT_DAICHO_OK(devices);
  ASSERT_EQ(devices->size(), 2u);
  EXPECT_EQ((*devices)[0].name, "FRONT-DESK");
  EXPECT_EQ((*devices)[1].name, "OFFICE-PC");

  // An ambiguous name is refused naming the ids; an id (any case) revokes one.
  ASSERT_DAICHO_OK(this->store_->IssueDeviceToken(this->a_, "taro@example.jp", pc1, "OFFICE-PC"));
  Status ambiguous = this->store_->RevokeDevice(this->a_, "taro@example.jp", "OFFICE-PC");
  EXPECT_EQ(ambiguous.code(), Code::kFailedPrecondition);
  EXPECT_NE(ambiguous.message().find(pc2.ToHex().substr(0, 8)), std::string::npos) << ambiguous;
  ASSERT_DAICHO_OK(this->store_->RevokeDevice(this->a_, "taro@example.jp", FoldUserId(pc2.ToHex()).substr(0, 8)));
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token2, pc2).code(), Code::kUnauthenticated);
  EXPECT_EQ(this->store_->ListDevices(this->a_, "taro@example.jp")->size(), 1u);
}

// Issue 11 item 9: everything that ends logins raises the generation a
// serving process polls, and a live session's login check then fails.
TYPED_TEST(RelayServiceTest, RevokePasswordChangeAndRemovalEndLoginsAndRaiseTheGeneration) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "hanako@example.jp", "Password2"));
  auto generation = [&] {
    auto g = this->store_->LoginGeneration();
    EXPECT_DAICHO_OK(g);
    return g.ok() ? *g : 0;
  };
  const uint64_t start = generation();
  auto token1 = this->store_->IssueDeviceToken(this->a_, "taro@example.jp", Origin(1), "PC-1");
  auto token2 = this->store_->IssueDeviceToken(this->a_, "taro@example.jp", Origin(2), "PC-2");
  auto hanako_token = this->store_->IssueDeviceToken(this->a_, "hanako@example.jp", Origin(3), "PC-3");
  ASSERT_DAICHO_OK(token1);
  ASSERT_DAICHO_OK(token2);
  ASSERT_DAICHO_OK(hanako_token);
  EXPECT_EQ(generation(), start) << "a new login ends none";

  ASSERT_DAICHO_OK(this->store_->RevokeDevice(this->a_, "taro@example.jp", "PC-1"));
  EXPECT_GT(generation(), start);
  const uint64_t after_revoke = generation();

  auto login = this->store_->LogIn(this->a_, "taro@example.jp", "Password1");
  ASSERT_DAICHO_OK(login);
  EXPECT_EQ(login->user_id, "taro@example.jp");
  EXPECT_DAICHO_OK(this->store_->CheckPasswordLogin(this->a_, *login));
  ASSERT_DAICHO_OK(this->store_->SetPassword(this->a_, "taro@example.jp", "Password9"));
  EXPECT_GT(generation(), after_revoke);
  EXPECT_EQ(this->store_->CheckPasswordLogin(this->a_, *login).code(), Code::kUnauthenticated);
  // A new password signs the user out on every PC, not other users.
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token2, Origin(2)).code(),
            Code::kUnauthenticated);
  EXPECT_TRUE(this->store_->ListDevices(this->a_, "taro@example.jp")->empty());
  EXPECT_DAICHO_OK(this->store_->AuthenticateDevice(this->a_, "hanako@example.jp", *hanako_token, Origin(3)));

  auto hanako_login = this->store_->LogIn(this->a_, "hanako@example.jp", "Password2");
  ASSERT_DAICHO_OK(hanako_login);
  const uint64_t before_remove = generation();
  ASSERT_DAICHO_OK(this->store_->RemoveUser(this->a_, "HANAKO@example.jp"));
  EXPECT_GT(generation(), before_remove);
  EXPECT_EQ(this->store_->CheckPasswordLogin(this->a_, *hanako_login).code(), Code::kUnauthenticated);
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "hanako@example.jp", *hanako_token, Origin(3)).code(),
            Code::kUnauthenticated);
  EXPECT_EQ(UserIds(*this->store_, this->a_).value(), std::vector<std::string>{"taro@example.jp"});
  EXPECT_EQ(this->store_->RemoveUser(this->a_, "hanako@example.jp").code(), Code::kNotFound);
  // Re-adding the id does not revive the old login.
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "hanako@example.jp", "Password2"));
  EXPECT_EQ(this->store_->CheckPasswordLogin(this->a_, *hanako_login).code(), Code::kUnauthenticated);
}

// Issue 12 item 7: a disabled contract or user is refused at login with a
// clear reason (after the password proved right: a guesser learns nothing),
// its logins in progress end (login generation) and nothing is deleted, so
// enabling it again lets the same saved logins in.
TYPED_TEST(RelayServiceTest, DisablingAContractOrUserRefusesRightLoginsUntilEnabledAndKeepsEverything) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "hanako@example.jp", "Password2"));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->b_, "jiro@example.jp", "Password3"));
  auto token = this->store_->IssueDeviceToken(this->a_, "taro@example.jp", Origin(1), "PC-1");
  ASSERT_DAICHO_OK(token);
  auto login = this->store_->LogIn(this->a_, "taro@example.jp", "Password1");
  ASSERT_DAICHO_OK(login);
  const uint64_t start = this->store_->LoginGeneration().value();

  ASSERT_DAICHO_OK(this->store_->SetContractDisabled(this->a_, true));
  EXPECT_GT(this->store_->LoginGeneration().value(), start);
  const Status refused = this->store_->LogIn(this->a_, "taro@example.jp", "Password1").status();
  EXPECT_EQ(refused.code(), Code::kPermissionDenied);
  EXPECT_NE(refused.message().find("contract 0000-0000-0001 is disabled"), std::string::npos) << refused;
  EXPECT_EQ(this->store_->LogIn(this->a_, "taro@example.jp", "Wrong1234").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token, Origin(1)).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(this->store_->CheckPasswordLogin(this->a_, *login).code(), Code::kPermissionDenied);
  EXPECT_DAICHO_OK(this->store_->LogIn(this->b_, "jiro@example.jp", "Password3"));  // other contracts go on
  ASSERT_DAICHO_OK(this->store_->SetContractDisabled(this->a_, true));              // idempotent
  auto contracts = this->store_->ListContracts();
  ASSERT_DAICHO_OK(contracts);
  ASSERT_EQ(contracts->size(), 2u);
  EXPECT_TRUE((*contracts)[0].disabled);
  EXPECT_FALSE((*contracts)[1].disabled);

  ASSERT_DAICHO_OK(this->store_->SetContractDisabled(this->a_, false));
  EXPECT_DAICHO_OK(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token, Origin(1)));
  EXPECT_DAICHO_OK(this->store_->CheckPasswordLogin(this->a_, *login));

  const uint64_t before_user = this->store_->LoginGeneration().value();
  ASSERT_DAICHO_OK(this->store_->SetUserDisabled(this->a_, "TARO@example.jp", true));
  EXPECT_GT(this->store_->LoginGeneration().value(), before_user);
  const Status user_refused = this->store_->LogIn(this->a_, "taro@example.jp", "Password1").status();
  EXPECT_EQ(user_refused.code(), Code::kPermissionDenied);
  EXPECT_NE(user_refused.message().find("user taro@example.jp of contract 0000-0000-0001 is disabled"),
            std::string::npos)
      << user_refused;
  EXPECT_EQ(this->store_->AuthenticateDevice(this->a_, "taro@example.jp", *token, Origin(1)).code(),
            Code::kPermissionDenied);
  EXPECT_EQ(this->store_->CheckPasswordLogin(this->a_, *login).code(), Code::kPermissionDenied);
  EXPECT_DAICHO_OK(this->store_->LogIn(this->a_, "hanako@example.jp", "Password2"));
  auto users = this->store_->ListUserInfo(this->a_);
  ASSERT_DAICHO_OK(users);
  EXPECT_TRUE(users->at(1).disabled);   // taro
  EXPECT_FALSE(users->at(0).disabled);  // hanako
  this->Reopen();
  EXPECT_EQ(this->store_->LogIn(this->a_, "taro@example.jp", "Password1").status().code(), Code::kPermissionDenied);
  ASSERT_DAICHO_OK(this->store_->SetUserDisabled(this->a_, "taro@example.jp", false));
  EXPECT_DAICHO_OK(this->store_->LogIn(this->a_, "taro@example.jp", "Password1"));
  EXPECT_FALSE(this->store_->ListUserInfo(this->a_)->at(1).disabled);
  EXPECT_EQ(this->store_->SetUserDisabled(this->a_, "nobody@example.jp", true).code(), Code::kNotFound);
  EXPECT_EQ(this->store_->SetContractDisabled(Contract("0000-0000-0009"), true).code(), Code::kNotFound);

  // A removed user's mark goes with it: the id added again is enabled.
  ASSERT_DAICHO_OK(this->store_->SetUserDisabled(this->a_, "hanako@example.jp", true));
  ASSERT_DAICHO_OK(this->store_->RemoveUser(this->a_, "hanako@example.jp"));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "hanako@example.jp", "Password2"));
  EXPECT_DAICHO_OK(this->store_->LogIn(this->a_, "hanako@example.jp", "Password2"));
}

// Issue 12 item 7: removing a contract needs it disabled first, then deletes
// everything it had (an operator's "cancel the contract"), and nothing of
// another contract.
TYPED_TEST(RelayServiceTest, RemovingAContractNeedsItDisabledAndDeletesOnlyItsData) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  for (const ContractNumber& c : {this->a_, this->b_}) {
    ASSERT_DAICHO_OK(this->store_->AddUser(c, "taro@example.jp", "Password1"));
    ASSERT_DAICHO_OK(this->store_->IssueDeviceToken(c, "taro@example.jp", Origin(1), "PC-1"));
    ASSERT_DAICHO_OK(
        this->store_->PublishOfficeKey(c, crypto::WrappedOfficeKey{1, "passphrase-env", "recovery-env", ""}, 0));
    auto changes = this->store_->ContractChanges(c);
    ASSERT_DAICHO_OK(changes);
    ASSERT_DAICHO_OK((*changes)->Apply(std::vector{Blob(Origin(1), 1), Blob(Origin(1), 2)}));
  }
  // The panel's data of both: an admin with a session, a last sync and a
  // pending reset code.
  std::map<std::string, std::string> sessions;
  std::string a_code;
  for (const ContractNumber& c : {this->a_, this->b_}) {
    ASSERT_DAICHO_OK(this->store_->AddUser(c, "hanako@example.jp", "Password1"));
    ASSERT_DAICHO_OK(this->store_->SetUserAdmin(c, "hanako@example.jp", true));
    ASSERT_DAICHO_OK(this->store_->RecordDeviceSync(c, "hanako@example.jp", Origin(2), "127.0.0.2"));
    auto session = this->store_->OpenPanelSession(c, "hanako@example.jp", "Password1", "");
    ASSERT_DAICHO_OK(session);
    sessions[c.str()] = session->token;
    auto code = this->store_->IssueResetCode(c, "hanako@example.jp", "");
    ASSERT_DAICHO_OK(code);
    ASSERT_TRUE(code->has_value());
    if (c == this->a_) a_code = (*code)->code;
  }
  const size_t b_rows = this->store_->ListAudit(this->b_, UINT64_MAX, 1000)->size();
  ASSERT_DAICHO_OK(this->store_->SetUserDisabled(this->a_, "taro@example.jp", true));
  auto a_changes = this->store_->ContractChanges(this->a_);
  ASSERT_DAICHO_OK(a_changes);

  const Status enabled = this->store_->RemoveContract(this->a_);
  EXPECT_EQ(enabled.code(), Code::kFailedPrecondition);
  EXPECT_NE(enabled.message().find("disable it first"), std::string::npos) << enabled;
  EXPECT_TRUE(*this->store_->HasContract(this->a_));

  ASSERT_DAICHO_OK(this->store_->SetContractDisabled(this->a_, true));
  const uint64_t before = this->store_->LoginGeneration().value();
  ASSERT_DAICHO_OK(this->store_->RemoveContract(this->a_));
  EXPECT_GT(this->store_->LoginGeneration().value(), before);
  EXPECT_FALSE(*this->store_->HasContract(this->a_));
  EXPECT_EQ(this->store_->RemoveContract(this->a_).code(), Code::kNotFound);
  // A handle opened before cannot write into the removed contract.
  EXPECT_EQ((*a_changes)->Apply(std::vector{Blob(Origin(1), 3)}).code(), Code::kNotFound);
  auto contracts = this->store_->ListContracts();
  ASSERT_DAICHO_OK(contracts);
  ASSERT_EQ(contracts->size(), 1u);
  EXPECT_EQ((*contracts)[0].number, this->b_);
  EXPECT_EQ((*contracts)[0].users, 2u);
  EXPECT_EQ((*contracts)[0].devices, 1u);
  EXPECT_EQ((*contracts)[0].key_id, 1u);

  // The number added again starts empty and enabled.
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  EXPECT_TRUE(UserIds(*this->store_, this->a_)->empty());
  EXPECT_TRUE(this->store_->GetOfficeKey(this->a_)->empty());
  EXPECT_TRUE((*this->store_->ContractChanges(this->a_))->GetVersionVector()->empty());
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  EXPECT_DAICHO_OK(this->store_->LogIn(this->a_, "taro@example.jp", "Password1"));
  EXPECT_TRUE(this->store_->ListDevices(this->a_, "taro@example.jp")->empty());
  EXPECT_EQ(this->store_->ListAudit(this->a_, UINT64_MAX, 1000)->size(), 1u) << "only the new user.add";
  EXPECT_EQ(this->store_->GetOfficeKeyStatus(this->a_)->created_ms, 0u);
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "hanako@example.jp", "Password1"));
  EXPECT_FALSE(this->store_->ListUserInfo(this->a_)->at(0).admin);
  EXPECT_EQ(this->store_->ListUserInfo(this->a_)->at(0).last_sync_ms, 0u);
  EXPECT_EQ(this->store_->CheckPanelSession(this->a_, sessions[this->a_.str()], "").status().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(this->store_->ConfirmPasswordReset(this->a_, "hanako@example.jp", a_code, "Password2", "").code(),
            Code::kUnauthenticated);
  // Contract B is untouched.
  EXPECT_TRUE(this->store_->CheckPanelSession(this->b_, sessions[this->b_.str()], "")->admin);
  EXPECT_EQ(this->store_->ListAudit(this->b_, UINT64_MAX, 1000)->size(), b_rows);
  EXPECT_EQ(this->store_->ListUserInfo(this->b_)->at(0).last_address, "127.0.0.2");
  auto b_changes = this->store_->ContractChanges(this->b_);
  ASSERT_DAICHO_OK(b_changes);
  EXPECT_EQ((*b_changes)->GetVersionVector()->Get(Origin(1)), 2u);
  EXPECT_EQ((*b_changes)->ChangesSince(VersionVector(), SIZE_MAX, nullptr)->size(), 2u);
  EXPECT_DAICHO_OK(this->store_->LogIn(this->b_, "taro@example.jp", "Password1"));
  EXPECT_EQ(this->store_->GetOfficeKey(this->b_)->current_key_id, 1u);
}

// Issue 12 item 7: `device list` shows when and from where each PC last
// synced; recorded at login, kept across reopen, other devices untouched.
TYPED_TEST(RelayServiceTest, DevicesRecordTheirLastSyncTimeAndAddress) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  ASSERT_DAICHO_OK(this->store_->IssueDeviceToken(this->a_, "taro@example.jp", Origin(1), "PC-1"));
  ASSERT_DAICHO_OK(this->store_->IssueDeviceToken(this->a_, "taro@example.jp", Origin(2), "PC-2"));
  auto devices = this->store_->ListDevices(this->a_, "taro@example.jp");
  ASSERT_DAICHO_OK(devices);
  EXPECT_EQ((*devices)[0].last_sync_ms, 0u);
  EXPECT_EQ((*devices)[0].last_address, "");

  const uint64_t first = this->clock_->NowMillis();
  ASSERT_DAICHO_OK(this->store_->RecordDeviceSync(this->a_, "taro@example.jp", Origin(1), "127.0.0.5"));
  // Within the minute from the same address: kept as it was (no write).
  this->clock_->Advance(30'000);
  ASSERT_DAICHO_OK(this->store_->RecordDeviceSync(this->a_, "taro@example.jp", Origin(1), "127.0.0.5"));
  EXPECT_EQ(this->store_->ListDevices(this->a_, "taro@example.jp")->at(0).last_sync_ms, first);
  this->clock_->Advance(30'000);
  ASSERT_DAICHO_OK(this->store_->RecordDeviceSync(this->a_, "Taro@Example.jp", Origin(2), "127.0.0.6"));
  // A PC without a saved login has nothing to record.
  ASSERT_DAICHO_OK(this->store_->RecordDeviceSync(this->a_, "taro@example.jp", Origin(3), "127.0.0.7"));
  EXPECT_EQ(this->store_->RecordDeviceSync(this->a_, "nobody@example.jp", Origin(1), "127.0.0.5").code(),
            Code::kNotFound);
  this->Reopen();
  devices = this->store_->ListDevices(this->a_, "taro@example.jp");
  ASSERT_DAICHO_OK(devices);
  ASSERT_EQ(devices->size(), 2u);
  EXPECT_EQ((*devices)[0].last_sync_ms, first);
  EXPECT_EQ((*devices)[0].last_address, "127.0.0.5");
  EXPECT_EQ((*devices)[1].last_sync_ms, first + 60'000);
  EXPECT_EQ((*devices)[1].last_address, "127.0.0.6");
  // The token still logs in; a rename keeps nothing stale.
  ASSERT_DAICHO_OK(this->store_->IssueDeviceToken(this->a_, "taro@example.jp", Origin(1), "PC-1 renamed"));
  devices = this->store_->ListDevices(this->a_, "taro@example.jp");
  EXPECT_EQ((*devices)[0].name, "PC-1 renamed");
}

// Issue 11 item 10: e-mail ids are one account whatever their letter case.
TYPED_TEST(RelayServiceTest, UserIdsIgnoreLetterCaseAndKeepTheSpellingTheyWereAddedWith) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "Yamada@Example.jp", "Password1"));
  Status twin = this->store_->AddUser(this->a_, "yamada@example.jp", "Password2");
  EXPECT_EQ(twin.code(), Code::kAlreadyExists);
  EXPECT_NE(twin.message().find("as Yamada@Example.jp"), std::string::npos) << twin;
  EXPECT_EQ(UserIds(*this->store_, this->a_).value(), std::vector<std::string>{"Yamada@Example.jp"});
  for (const char* spelling : {"Yamada@Example.jp", "yamada@example.jp", "YAMADA@EXAMPLE.JP"}) {
    auto login = this->store_->LogIn(this->a_, spelling, "Password1");
    ASSERT_DAICHO_OK(login);
    EXPECT_EQ(login->user_id, "Yamada@Example.jp");
  }
  EXPECT_EQ(this->store_->LogIn(this->a_, "yamada@example.jp", "Password2").status().code(), Code::kUnauthenticated);
  auto token = this->store_->IssueDeviceToken(this->a_, "YAMADA@example.jp", Origin(1), "PC-1");
  ASSERT_DAICHO_OK(token);
  EXPECT_DAICHO_OK(this->store_->AuthenticateDevice(this->a_, "yamada@EXAMPLE.jp", *token, Origin(1)));
  EXPECT_EQ(this->store_->ListDevices(this->a_, "yamada@example.jp")->size(), 1u);
  // Failures of all spellings count against one account (the first was
  // "Password2" above).
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(
        this->store_->LogIn(this->a_, i % 2 ? "yamada@example.jp" : "YAMADA@example.jp", "WrongPass1").status().code(),
        Code::kUnauthenticated);
  }
  EXPECT_EQ(this->store_->LogIn(this->a_, "Yamada@Example.jp", "Password1").status().code(), Code::kUnavailable);
  ASSERT_DAICHO_OK(this->store_->SetPassword(this->a_, "yamada@example.jp", "Password3"));
  EXPECT_DAICHO_OK(this->store_->LogIn(this->a_, "Yamada@Example.jp", "Password3"));
  this->Reopen();
  EXPECT_DAICHO_OK(this->store_->LogIn(this->a_, "yAmAdA@example.jp", "Password3"));
  EXPECT_TRUE(this->store_->CaseConflicts()->empty());
}

TYPED_TEST(RelayServiceTest, ChangeStoreNeedsAnExistingContract) {
  EXPECT_EQ(this->store_->ContractChanges(this->a_).status().code(), Code::kNotFound);
}

TYPED_TEST(RelayServiceTest, AppliesChangesAndServesThemSince) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  auto changes = this->store_->ContractChanges(this->a_);
  ASSERT_DAICHO_OK(changes);
  sync::ChangeStore& store = **changes;
  const ReplicaId x = Origin(1), y = Origin(2);
  // Out of order within an origin and interleaved: sorted before applying.
  std::vector<ChangeBlob> batch = {Blob(x, 2), Blob(y, 1), Blob(x, 1), Blob(x, 3, std::string(1000, '\xff'))};
  ASSERT_DAICHO_OK(store.Apply(batch));
  auto vv = store.GetVersionVector();
  ASSERT_DAICHO_OK(vv);
  EXPECT_EQ(vv->Get(x), 3u);
  EXPECT_EQ(vv->Get(y), 1u);

  auto all = store.ChangesSince(VersionVector(), SIZE_MAX, nullptr);
  ASSERT_DAICHO_OK(all);
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].origin, x);
  EXPECT_EQ((*all)[0].seq, 1u);
  EXPECT_EQ((*all)[2].payload, std::string(1000, '\xff'));
  EXPECT_EQ((*all)[3].origin, y);

  VersionVector have;
  have.Advance(x, 2);
  auto rest = store.ChangesSince(have, SIZE_MAX, nullptr);
  ASSERT_DAICHO_OK(rest);
  ASSERT_EQ(rest->size(), 2u);
  EXPECT_EQ((*rest)[0].seq, 3u);
  EXPECT_EQ((*rest)[1].origin, y);

  // max_bytes: at least one change, then stops before going over.
  auto first = store.ChangesSince(VersionVector(), 1, nullptr);
  ASSERT_DAICHO_OK(first);
  EXPECT_EQ(first->size(), 1u);
  auto some = store.ChangesSince(VersionVector(), 100, nullptr);
  ASSERT_DAICHO_OK(some);
  EXPECT_EQ(some->size(), 2u);
  auto none = store.ChangesSince(*vv, SIZE_MAX, nullptr);
  ASSERT_DAICHO_OK(none);
  EXPECT_TRUE(none->empty());
  // upto: only what it names (a one-shot sync sends what was held at its start).
  VersionVector upto;
  upto.Advance(x, 1);
  auto bounded = store.ChangesSince(VersionVector(), SIZE_MAX, &upto);
  ASSERT_DAICHO_OK(bounded);
  ASSERT_EQ(bounded->size(), 1u);
  EXPECT_EQ((*bounded)[0].origin, x);
  EXPECT_EQ((*bounded)[0].seq, 1u);
}

TYPED_TEST(RelayServiceTest, DuplicatesAreIgnoredAndGapsStoreNothing) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  auto store = std::move(this->store_->ContractChanges(this->a_).value());
  const ReplicaId x = Origin(1), y = Origin(2);
  ASSERT_DAICHO_OK(store->Apply(std::vector{Blob(x, 1), Blob(x, 2)}));
  ASSERT_DAICHO_OK(store->Apply(std::vector{Blob(x, 1), Blob(x, 2), Blob(x, 3), Blob(x, 3)}));
  EXPECT_EQ(store->GetVersionVector()->Get(x), 3u);
  EXPECT_EQ(store->ChangesSince(VersionVector(), SIZE_MAX, nullptr)->size(), 3u);

  // y:1 is fine but x:5 leaves a gap: the whole batch is refused.
  Status gap = store->Apply(std::vector{Blob(y, 1), Blob(x, 5)});
  EXPECT_EQ(gap.code(), Code::kProtocolError);
  // Operators read these messages in logs: they stay word for word.
  EXPECT_EQ(gap.message(),
            "storing changes of contract 0000-0000-0001: gap: change " + x.ToHex() + ":5 arrived but 4 is missing")
      << gap;
  EXPECT_EQ(store->GetVersionVector()->Get(y), 0u);
  EXPECT_EQ(store->ChangesSince(VersionVector(), SIZE_MAX, nullptr)->size(), 3u);
  EXPECT_EQ(store->Apply(std::vector{Blob(y, 2)}).code(), Code::kProtocolError);

  // The same dot with other bytes is a reused replica id, not a duplicate.
  Status reused = store->Apply(std::vector{Blob(x, 2, "something else")});
  EXPECT_EQ(reused.code(), Code::kProtocolError);
  EXPECT_EQ(reused.message(), "storing changes of contract 0000-0000-0001: change " + x.ToHex() +
                                  ":2 differs from the one the relay holds")
      << reused;
  // Within one batch too: the second copy differs from the one staged first.
  EXPECT_EQ(store->Apply(std::vector{Blob(y, 1), Blob(y, 1, "something else")}).code(), Code::kProtocolError);
  EXPECT_EQ(store->GetVersionVector()->Get(y), 0u);
  EXPECT_EQ(store->Apply(std::vector{Blob(ReplicaId(), 1)}).code(), Code::kProtocolError);
  EXPECT_EQ(store->Apply(std::vector{Blob(y, 0)}).code(), Code::kProtocolError);
}

TYPED_TEST(RelayServiceTest, OversizedPayloadIsRefused) {
  this->options_.max_change_bytes = 100;
  this->Reopen();
  RelayService* store = this->store_.get();
  const ContractNumber a = Contract("1111-2222-3333");
  ASSERT_DAICHO_OK(store->AddContract(a));
  auto changes = std::move(store->ContractChanges(a).value());
  ASSERT_DAICHO_OK(changes->Apply(std::vector{Blob(Origin(1), 1, std::string(100, 'x'))}));
  EXPECT_EQ(changes->Apply(std::vector{Blob(Origin(1), 2, std::string(101, 'x'))}).code(), Code::kResourceExhausted);
  EXPECT_EQ(changes->GetVersionVector()->Get(Origin(1)), 1u);
}

TYPED_TEST(RelayServiceTest, ContractsNeverSeeEachOthersChanges) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  auto store_a = std::move(this->store_->ContractChanges(this->a_).value());
  auto store_b = std::move(this->store_->ContractChanges(this->b_).value());
  const ReplicaId x = Origin(1);
  // The same origin in both contracts (a replica id is only unique per
  // office in practice, but nothing must depend on that).
  ASSERT_DAICHO_OK(store_a->Apply(std::vector{Blob(x, 1, "secret of A"), Blob(x, 2, "more of A")}));
  ASSERT_DAICHO_OK(store_b->Apply(std::vector{Blob(x, 1, "B's own")}));
  EXPECT_EQ(store_a->GetVersionVector()->Get(x), 2u);
  EXPECT_EQ(store_b->GetVersionVector()->Get(x), 1u);
  auto seen_by_b = store_b->ChangesSince(VersionVector(), SIZE_MAX, nullptr);
  ASSERT_DAICHO_OK(seen_by_b);
  ASSERT_EQ(seen_by_b->size(), 1u);
  EXPECT_EQ((*seen_by_b)[0].payload, "B's own");
  // Everything B serves, from the very start, is B's own.
  VersionVector a_vv = store_a->GetVersionVector().value();
  VersionVector zero;
  auto more = store_b->ChangesSince(zero, SIZE_MAX, nullptr);
  for (const auto& blob : *more) EXPECT_EQ(blob.payload.find("of A"), std::string::npos);
  // B continuing at seq 2 is a gap check against B's own VV, not A's.
  EXPECT_DAICHO_OK(store_b->Apply(std::vector{Blob(x, 2, "B again")}));
  EXPECT_EQ(store_a->ChangesSince(a_vv, SIZE_MAX, nullptr)->size(), 0u);
  EXPECT_EQ((*store_a->ChangesSince(zero, SIZE_MAX, nullptr))[1].payload, "more of A");
}

TYPED_TEST(RelayServiceTest, ReopenKeepsEverything) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "taro@example.jp", "Password1"));
  {
    auto changes = std::move(this->store_->ContractChanges(this->a_).value());
    ASSERT_DAICHO_OK(changes->Apply(std::vector{Blob(Origin(7), 1), Blob(Origin(7), 2)}));
  }
  this->Reopen();
  EXPECT_TRUE(*this->store_->HasContract(this->a_));
  EXPECT_EQ(*UserIds(*this->store_, this->a_), std::vector<std::string>{"taro@example.jp"});
  ASSERT_DAICHO_OK(this->store_->LogIn(this->a_, "taro@example.jp", "Password1"));
  auto changes = std::move(this->store_->ContractChanges(this->a_).value());
  EXPECT_EQ(changes->GetVersionVector()->Get(Origin(7)), 2u);
  auto all = changes->ChangesSince(VersionVector(), SIZE_MAX, nullptr);
  ASSERT_DAICHO_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].payload, Blob(Origin(7), 2).payload);
}

TYPED_TEST(RelayServiceTest, ParallelAppliesToDifferentContracts) {
  RelayService* store = this->store_.get();
  constexpr int kContracts = 4;
  constexpr int kBatches = 25;
  std::vector<ContractNumber> contracts;
  for (int i = 0; i < kContracts; ++i) {
    contracts.push_back(Contract("0000-0000-000" + std::to_string(i)));
    ASSERT_DAICHO_OK(store->AddContract(contracts.back()));
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  threads.reserve(kContracts * 2);
  for (int t = 0; t < kContracts * 2; ++t) {
    threads.emplace_back([&, t] {
      // Two threads per contract, each with its own origin.
      auto changes = store->ContractChanges(contracts[t % kContracts]);
      if (!changes.ok()) {
        ++failures;
        return;
      }
      const ReplicaId origin = Origin(static_cast<uint8_t>(t + 1));
      for (int b = 0; b < kBatches; ++b) {
        const uint64_t seq = static_cast<uint64_t>(b) * 2;
        if (!(*changes)->Apply(std::vector{Blob(origin, seq + 1), Blob(origin, seq + 2)}).ok()) ++failures;
        if (!(*changes)->ChangesSince(VersionVector(), 4096, nullptr).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (int c = 0; c < kContracts; ++c) {
    auto changes = std::move(store->ContractChanges(contracts[c]).value());
    VersionVector vv = changes->GetVersionVector().value();
    EXPECT_EQ(vv.size(), 2u);
    EXPECT_EQ(vv.Get(Origin(static_cast<uint8_t>(c + 1))), 2u * kBatches);
    EXPECT_EQ(vv.Get(Origin(static_cast<uint8_t>(c + 1 + kContracts))), 2u * kBatches);
    EXPECT_EQ(changes->ChangesSince(VersionVector(), SIZE_MAX, nullptr)->size(), 4u * kBatches);
  }
}

// A backend whose every Write runs its function twice, the first run rolled
// back: what LMDB does when the map is full and a SQL database on a
// serialization failure. An effect applied outside the transaction (a
// throttle count, a token, a clock read) would show twice.
class RerunningBackend final : public RelayBackend {
 public:
  explicit RerunningBackend(std::shared_ptr<RelayBackend> inner) : inner_(std::move(inner)) {}

  Status Read(const std::function<Status(RelayReadTxn&)>& fn) const override { return inner_->Read(fn); }

  Status Write(const std::function<Status(RelayWriteTxn&)>& fn) override {
    Status first = inner_->Write([&](RelayWriteTxn& txn) -> Status {
      DAICHO_RETURN_IF_ERROR(fn(txn));
      return Status(Code::kBusy, "rolled back to run again");
    });
    if (first.code() == Code::kBusy && first.message() == "rolled back to run again") ++reruns_;
    return inner_->Write(fn);
  }

  int reruns() const { return reruns_; }

 private:
  std::shared_ptr<RelayBackend> inner_;
  int reruns_ = 0;
};

TYPED_TEST(RelayServiceTest, WritesThatRunAgainApplyTheirEffectsOnce) {
  this->store_.reset();
  auto opened = this->factory_.Open();
  ASSERT_DAICHO_OK(opened);
  auto backend = std::make_shared<RerunningBackend>(*std::move(opened));
  auto created = RelayService::Create(backend, this->options_);
  ASSERT_DAICHO_OK(created);
  RelayService& store = **created;
  const ContractNumber& a = this->a_;
  const std::string user = "taro@example.jp";
  ASSERT_DAICHO_OK(store.AddContract(a));
  ASSERT_DAICHO_OK(store.AddUser(a, user, "Password1"));
  const uint64_t start = store.LoginGeneration().value();

  // A token issued (and one replaced) once: the one returned works.
  auto first = store.IssueDeviceToken(a, user, Origin(1), "PC-1");
  ASSERT_DAICHO_OK(first);
  EXPECT_DAICHO_OK(store.AuthenticateDevice(a, user, *first, Origin(1)));
  EXPECT_EQ(store.LoginGeneration().value(), start);
  auto second = store.IssueDeviceToken(a, user, Origin(1), "PC-1");
  ASSERT_DAICHO_OK(second);
  EXPECT_DAICHO_OK(store.AuthenticateDevice(a, user, *second, Origin(1)));
  EXPECT_EQ(store.AuthenticateDevice(a, user, *first, Origin(1)).code(), Code::kUnauthenticated);
  EXPECT_EQ(store.ListDevices(a, user)->size(), 1u);
  EXPECT_EQ(store.LoginGeneration().value(), start + 1);

  // The last sync is the time of the call.
  this->clock_->Advance(5 * 60 * 1000);
  ASSERT_DAICHO_OK(store.RecordDeviceSync(a, user, Origin(1), "127.0.0.9"));
  EXPECT_EQ(store.ListDevices(a, user)->at(0).last_sync_ms, this->clock_->NowMillis());

  // Each commit that ends logins raises the generation by one.
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, user, true));
  EXPECT_EQ(store.LoginGeneration().value(), start + 2);
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, user, false));
  ASSERT_DAICHO_OK(store.RevokeDevice(a, user, "PC-1"));
  EXPECT_EQ(store.LoginGeneration().value(), start + 3);
  ASSERT_DAICHO_OK(store.SetPassword(a, user, "Password2"));
  EXPECT_EQ(store.LoginGeneration().value(), start + 4);

  // Audit rows, sessions and reset tries count once.
  const size_t rows = store.ListAudit(a, UINT64_MAX, 1000)->size();
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, user, true));
  EXPECT_EQ(store.ListAudit(a, UINT64_MAX, 1000)->size(), rows + 1);
  auto session = store.OpenPanelSession(a, user, "Password2", "127.0.0.1");
  ASSERT_DAICHO_OK(session);
  this->clock_->Advance(5 * 60 * 1000);
  EXPECT_DAICHO_OK(store.CheckPanelSession(a, session->token, "127.0.0.2"));
  auto code = store.IssueResetCode(a, user, "");
  ASSERT_DAICHO_OK(code);
  ASSERT_TRUE(code->has_value());
  for (int i = 0; i < 4; ++i) {
    std::string guess = (*code)->code;
    guess[0] = static_cast<char>('0' + (guess[0] - '0' + 1 + i) % 10);
    EXPECT_EQ(store.ConfirmPasswordReset(a, user, guess, "Password3", "").code(), Code::kUnauthenticated);
  }
  // The fifth try is still there: each wrong one spent exactly one.
  ASSERT_DAICHO_OK(store.ConfirmPasswordReset(a, user, (*code)->code, "Password3", ""));
  EXPECT_EQ(store.LoginGeneration().value(), start + 5);
  EXPECT_EQ(store.ListAudit(a, UINT64_MAX, 1000)->size(), rows + 4);  // admin, login, reset request, reset

  // Throttling counts each refused login once.
  const int allowed = RelayServiceOptions().throttle.address_failures;
  for (int i = 0; i < allowed; ++i) {
    EXPECT_EQ(store.LogInWithDevice(a, user, NewDeviceToken(), Origin(2), "127.0.0.66").code(), Code::kUnauthenticated)
        << i;
  }
  EXPECT_EQ(store.LogInWithDevice(a, user, NewDeviceToken(), Origin(2), "127.0.0.66").code(), Code::kUnavailable);

  // A batch is stored once, its version vector advanced once.
  auto changes = std::move(store.ContractChanges(a).value());
  ASSERT_DAICHO_OK(changes->Apply(std::vector{Blob(Origin(3), 1), Blob(Origin(3), 2), Blob(Origin(3), 1)}));
  EXPECT_EQ(changes->GetVersionVector()->Get(Origin(3)), 2u);
  EXPECT_EQ(changes->ChangesSince(VersionVector(), SIZE_MAX, nullptr)->size(), 2u);

  ASSERT_DAICHO_OK(store.SetContractDisabled(a, true));
  ASSERT_DAICHO_OK(store.RemoveContract(a));
  EXPECT_EQ(store.LoginGeneration().value(), start + 7);
  EXPECT_GE(backend->reruns(), 20);
}

// ---- Admin panel: roles, audit, sessions, own password, reset (issue 14) ----

// An admin of contract a_ acting through the panel.
Actor PanelActor(const std::string& user_id, const std::string& address = "127.0.0.20") {
  return Actor{user_id, address, "panel"};
}

// The audit rows of `contract`, newest first, as "actor action target".
template <typename Store>
std::vector<std::string> AuditLines(Store& store, const ContractNumber& contract) {
  auto rows = store.ListAudit(contract, UINT64_MAX, 1000);
  EXPECT_DAICHO_OK(rows);
  std::vector<std::string> out;
  if (!rows.ok()) return out;
  for (const AuditRecord& row : *rows) out.push_back(row.actor + " " + row.action + " " + row.target);
  return out;
}

TYPED_TEST(RelayServiceTest, UserInfoListsRolesStatesDevicesAndTheLastSyncByAnyLogin) {
  RelayService& store = *this->store_;
  this->AddContractWithUsers(this->a_, {"Taro@example.jp", "hanako@example.jp"});
  ASSERT_DAICHO_OK(store.IssueDeviceToken(this->a_, "taro@example.jp", Origin(1), "PC-1"));
  ASSERT_DAICHO_OK(store.IssueDeviceToken(this->a_, "taro@example.jp", Origin(2), "PC-2"));
  ASSERT_DAICHO_OK(store.SetUserAdmin(this->a_, "TARO@example.jp", true));
  ASSERT_DAICHO_OK(store.SetUserDisabled(this->a_, "hanako@example.jp", true));
  // Hanako's PC has no saved login: her password login is her last sync all the same.
  ASSERT_DAICHO_OK(store.RecordDeviceSync(this->a_, "hanako@example.jp", Origin(3), "127.0.0.3"));
  const uint64_t hanako_sync = this->clock_->NowMillis();
  this->clock_->Advance(90'000);
  ASSERT_DAICHO_OK(store.RecordDeviceSync(this->a_, "taro@example.jp", Origin(1), "127.0.0.1"));
  this->Reopen();
  auto users = this->store_->ListUserInfo(this->a_);
  ASSERT_DAICHO_OK(users);
  ASSERT_EQ(users->size(), 2u);
  const RelayService::UserInfo& hanako = (*users)[0];
  const RelayService::UserInfo& taro = (*users)[1];
  EXPECT_EQ(hanako.user_id, "hanako@example.jp");
  EXPECT_FALSE(hanako.admin);
  EXPECT_TRUE(hanako.disabled);
  EXPECT_EQ(hanako.devices, 0u);
  EXPECT_EQ(hanako.last_sync_ms, hanako_sync);
  EXPECT_EQ(hanako.last_address, "127.0.0.3");
  EXPECT_EQ(taro.user_id, "Taro@example.jp");
  EXPECT_TRUE(taro.admin);
  EXPECT_FALSE(taro.disabled);
  EXPECT_EQ(taro.devices, 2u);
  EXPECT_EQ(taro.last_sync_ms, hanako_sync + 90'000);
  EXPECT_EQ(taro.last_address, "127.0.0.1");
  ASSERT_DAICHO_OK(this->store_->SetUserAdmin(this->a_, "taro@example.jp", false));
  EXPECT_FALSE(this->store_->ListUserInfo(this->a_)->at(1).admin);
  EXPECT_EQ(this->store_->SetUserAdmin(this->a_, "nobody@example.jp", true).code(), Code::kNotFound);
  EXPECT_EQ(this->store_->ListUserInfo(this->b_).status().code(), Code::kNotFound);
}

TYPED_TEST(RelayServiceTest, PcsReportTheirUnsyncedRecordsAndANewCountIsWrittenWithinTheMinute) {
  RelayService& store = *this->store_;
  this->AddContractWithUsers(this->a_, {"taro@example.jp"});
  ASSERT_DAICHO_OK(store.IssueDeviceToken(this->a_, "taro@example.jp", Origin(1), "PC-1"));
  EXPECT_EQ(store.ListDevices(this->a_, "taro@example.jp")->at(0).unsynced_records, std::nullopt);
  ASSERT_DAICHO_OK(store.RecordDeviceSync(this->a_, "taro@example.jp", Origin(1), "127.0.0.1", 12));
  EXPECT_EQ(store.ListDevices(this->a_, "taro@example.jp")->at(0).unsynced_records, 12u);
  this->clock_->Advance(10'000);
  ASSERT_DAICHO_OK(store.RecordDeviceSync(this->a_, "taro@example.jp", Origin(1), "127.0.0.1", 0));
  auto device = store.ListDevices(this->a_, "taro@example.jp")->at(0);
  EXPECT_EQ(device.unsynced_records, 0u);
  EXPECT_EQ(device.last_sync_ms, this->clock_->NowMillis());
  // A PC that does not report keeps the last count.
  this->clock_->Advance(60'000);
  ASSERT_DAICHO_OK(store.RecordDeviceSync(this->a_, "taro@example.jp", Origin(1), "127.0.0.1"));
  this->Reopen();
  device = this->store_->ListDevices(this->a_, "taro@example.jp")->at(0);
  EXPECT_EQ(device.unsynced_records, 0u);
  EXPECT_EQ(device.last_sync_ms, this->clock_->NowMillis());
}

// Issue 14: only enabled admins of the contract manage its users, checked
// in the write of the change; a refused change changes nothing and writes
// no audit row.
TYPED_TEST(RelayServiceTest, OnlyEnabledAdminsOfTheContractManageItsUsers) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  this->AddContractWithUsers(a, {"boss@example.jp", "clerk@example.jp"});
  this->AddContractWithUsers(this->b_, {"other@example.jp"});
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "boss@example.jp", true));
  ASSERT_DAICHO_OK(store.SetUserAdmin(this->b_, "other@example.jp", true));
  ASSERT_DAICHO_OK(store.IssueDeviceToken(a, "boss@example.jp", Origin(1), "PC-1"));
  const size_t rows = AuditLines(store, a).size();
  const uint64_t generation = store.LoginGeneration().value();

  // A plain user, an admin of another contract, an unknown id.
  for (const Actor& actor : {PanelActor("clerk@example.jp"), PanelActor("other@example.jp"),
                             PanelActor("nobody@example.jp"), Actor{"boss@example.jp ", "", "api"}}) {
    SCOPED_TRACE(actor.user_id);
    EXPECT_EQ(store.AddUser(a, "new@example.jp", "Password1", actor).code(), Code::kPermissionDenied);
    EXPECT_EQ(store.SetPassword(a, "boss@example.jp", "Password2", actor).code(), Code::kPermissionDenied);
    EXPECT_EQ(store.RemoveUser(a, "boss@example.jp", actor).code(), Code::kPermissionDenied);
    EXPECT_EQ(store.SetUserDisabled(a, "boss@example.jp", true, actor).code(), Code::kPermissionDenied);
    EXPECT_EQ(store.SetUserAdmin(a, "clerk@example.jp", true, actor).code(), Code::kPermissionDenied);
    EXPECT_EQ(store.RevokeDevice(a, "boss@example.jp", "PC-1", actor).code(), Code::kPermissionDenied);
    // Asked before the target is looked up: a non-admin learns nothing of ids.
    EXPECT_EQ(store.SetUserDisabled(a, "nobody@example.jp", true, actor).code(), Code::kPermissionDenied);
  }
  EXPECT_EQ(AuditLines(store, a).size(), rows);
  EXPECT_EQ(store.LoginGeneration().value(), generation);
  EXPECT_EQ(store.ListUserInfo(a)->size(), 2u);
  EXPECT_DAICHO_OK(store.LogIn(a, "boss@example.jp", "Password1"));
  EXPECT_EQ(store.ListDevices(a, "boss@example.jp")->size(), 1u);
  EXPECT_FALSE(store.ListUserInfo(a)->at(1).admin);

  // The admin may; a disabled admin may not.
  const Actor boss = PanelActor("boss@example.jp");
  ASSERT_DAICHO_OK(store.AddUser(a, "new@example.jp", "Password1", boss));
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "clerk@example.jp", true, boss));
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "boss@example.jp", true, PanelActor("clerk@example.jp")));
  EXPECT_EQ(store.RemoveUser(a, "new@example.jp", boss).code(), Code::kPermissionDenied);
  // So may an admin of a disabled contract not.
  ASSERT_DAICHO_OK(store.SetContractDisabled(a, true));
  EXPECT_EQ(store.RemoveUser(a, "new@example.jp", PanelActor("clerk@example.jp")).code(), Code::kPermissionDenied);
  // The operator may do anything.
  ASSERT_DAICHO_OK(store.RemoveUser(a, "new@example.jp"));
}

// Issue 14: a user's change never leaves a contract without an enabled
// admin; the operator's may (and the operator can name another).
TYPED_TEST(RelayServiceTest, TheLastEnabledAdminStaysUnlessTheOperatorActs) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  this->AddContractWithUsers(a, {"boss@example.jp", "clerk@example.jp"});
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "boss@example.jp", true));
  const Actor boss = PanelActor("boss@example.jp");
  for (const Status& refused :
       {store.SetUserAdmin(a, "boss@example.jp", false, boss), store.SetUserDisabled(a, "boss@example.jp", true, boss),
        store.RemoveUser(a, "boss@example.jp", boss)}) {
    EXPECT_EQ(refused.code(), Code::kFailedPrecondition) << refused;
    EXPECT_NE(refused.message().find("last admin"), std::string::npos) << refused;
  }
  EXPECT_TRUE(store.ListUserInfo(a)->at(0).admin);
  EXPECT_FALSE(store.ListUserInfo(a)->at(0).disabled);
  // A disabled admin does not count.
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "clerk@example.jp", true, boss));
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "clerk@example.jp", true, boss));
  EXPECT_EQ(store.SetUserAdmin(a, "boss@example.jp", false, boss).code(), Code::kFailedPrecondition);
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "clerk@example.jp", false, boss));
  // With another enabled admin, stepping down is fine.
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "boss@example.jp", false, boss));
  EXPECT_EQ(store.SetUserAdmin(a, "clerk@example.jp", false, PanelActor("clerk@example.jp")).code(),
            Code::kFailedPrecondition);
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "clerk@example.jp", false));
  auto users = store.ListUserInfo(a);
  EXPECT_FALSE(users->at(0).admin || users->at(1).admin);
}

// Issue 14: every change writes its audit row (who, what, whom, when, from
// where, how) in the write that makes it, and none when it fails.
TYPED_TEST(RelayServiceTest, EveryChangeIsAuditedInItsOwnWriteAndFailuresAreNot) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  this->AddContractWithUsers(a, {"boss@example.jp"});
  ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "boss@example.jp", true));
  const Actor boss = PanelActor("boss@example.jp", "192.0.2.7");
  const uint64_t t0 = this->clock_->NowMillis();
  this->clock_->Advance(1000);
  ASSERT_DAICHO_OK(store.AddUser(a, "clerk@example.jp", "Password1", boss));
  ASSERT_DAICHO_OK(store.IssueDeviceToken(a, "clerk@example.jp", Origin(1), "PC-1"));
  ASSERT_DAICHO_OK(store.SetPassword(a, "clerk@example.jp", "Password2", boss));
  ASSERT_DAICHO_OK(store.IssueDeviceToken(a, "clerk@example.jp", Origin(1), "PC-1"));
  this->clock_->Advance(1000);
  ASSERT_DAICHO_OK(store.RevokeDevice(a, "clerk@example.jp", "PC-1", boss));
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "clerk@example.jp", true, boss));
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "clerk@example.jp", false, boss));
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "clerk@example.jp", true, boss));
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "clerk@example.jp", false, boss));
  ASSERT_DAICHO_OK(store.RemoveUser(a, "clerk@example.jp", boss));
  // Failures: no row.
  EXPECT_EQ(store.AddUser(a, "boss@example.jp", "Password1", boss).code(), Code::kAlreadyExists);
  EXPECT_EQ(store.RevokeDevice(a, "boss@example.jp", "nothing", boss).code(), Code::kNotFound);
  EXPECT_EQ(store.SetUserAdmin(a, "boss@example.jp", false, boss).code(), Code::kFailedPrecondition);
  const std::vector<std::string> expected = {"boss@example.jp user.remove clerk@example.jp",
                                             "boss@example.jp user.unadmin clerk@example.jp",
                                             "boss@example.jp user.admin clerk@example.jp",
                                             "boss@example.jp user.enable clerk@example.jp",
                                             "boss@example.jp user.disable clerk@example.jp",
                                             "boss@example.jp device.revoke clerk@example.jp",
                                             "boss@example.jp user.password clerk@example.jp",
                                             "boss@example.jp user.add clerk@example.jp",
                                             " user.admin boss@example.jp",
                                             " user.add boss@example.jp"};
  EXPECT_EQ(AuditLines(store, a), expected);
  auto rows = store.ListAudit(a, UINT64_MAX, 3);
  ASSERT_DAICHO_OK(rows);
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].time_ms, t0 + 2000);
  EXPECT_EQ((*rows)[0].address, "192.0.2.7");
  EXPECT_EQ((*rows)[0].via, "panel");
  EXPECT_EQ((*rows)[2].action, "user.admin");
  // Older than a time: the page after.
  rows = store.ListAudit(a, t0 + 2000, 10);
  ASSERT_DAICHO_OK(rows);
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].action, "user.password");
  EXPECT_EQ((*rows)[3].via, "cli");
  EXPECT_EQ((*rows)[3].actor, "");
  EXPECT_TRUE(store.ListAudit(a, t0, 10)->empty());
  EXPECT_TRUE(store.ListAudit(this->b_, UINT64_MAX, 10)->empty());
  EXPECT_EQ(store.ListAudit(Contract("9999-9999-9999"), UINT64_MAX, 10).status().code(), Code::kNotFound);
}

// The audit log keeps each contract's newest rows (the service keeps
// RelayService::kAuditRowsKept): a backend's rule, run through it directly.
TYPED_TEST(RelayServiceTest, AuditLogsKeepTheNewestRowsOfEachContract) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  this->store_.reset();
  auto backend = this->factory_.Open();
  ASSERT_DAICHO_OK(backend);
  auto append = [&](const ContractNumber& contract, uint64_t time_ms, const std::string& action) {
    return (*backend)->Write([&](RelayWriteTxn& txn) -> Status {
      DAICHO_RETURN_IF_ERROR(
          txn.AppendAudit(contract, AuditRecord{time_ms, "", "", "cli", action, "", std::string("x\0y", 3)}));
      return txn.TrimAudit(contract, 5);
    });
  };
  // Two rows per millisecond: they keep their order.
  for (int i = 0; i < 12; ++i) ASSERT_DAICHO_OK(append(this->a_, 1000 + i / 2, "a" + std::to_string(i)));
  ASSERT_DAICHO_OK(append(this->b_, 1000, "b0"));
  std::vector<AuditRecord> rows, rows_b;
  ASSERT_DAICHO_OK((*backend)->Read([&](RelayReadTxn& txn) -> Status {
    DAICHO_ASSIGN_OR_RETURN(rows, txn.ListAudit(this->a_, UINT64_MAX, 100));
    DAICHO_ASSIGN_OR_RETURN(rows_b, txn.ListAudit(this->b_, UINT64_MAX, 100));
    return Status::Ok();
  }));
  std::vector<std::string> actions;
  for (const AuditRecord& row : rows) actions.push_back(row.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"a11", "a10", "a9", "a8", "a7"}));
  EXPECT_EQ(rows[0].time_ms, 1005u);
  EXPECT_EQ(rows[0].detail, std::string("x\0y", 3));
  ASSERT_EQ(rows_b.size(), 1u);
  EXPECT_EQ(rows_b[0].action, "b0");
}

// Issue 14: a panel login is LogIn (same throttle, gate, messages) plus a
// session; checked logins are audited.
TYPED_TEST(RelayServiceTest, PanelLoginsAreLogInsWithASessionAndAreAudited) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  this->AddContractWithUsers(a, {"Taro@example.jp"});
  const PasswordGate& gate = store.TEST_password_gate();
  const uint64_t entered = gate.stats().entered;
  auto session = store.OpenPanelSession(a, "taro@example.jp", "Password1", "127.0.0.2");
  ASSERT_DAICHO_OK(session);
  EXPECT_EQ(gate.stats().entered, entered + 1);
  EXPECT_EQ(session->token.size(), RelayService::kPanelTokenBytes);
  EXPECT_EQ(session->user_id, "Taro@example.jp");
  EXPECT_FALSE(session->admin);
  auto caller = store.CheckPanelSession(a, session->token, "127.0.0.2");
  ASSERT_DAICHO_OK(caller);
  EXPECT_EQ(caller->user_id, "Taro@example.jp");
  EXPECT_FALSE(caller->admin);
  const Actor actor = caller->actor("api");
  EXPECT_EQ(actor.user_id, "Taro@example.jp");
  EXPECT_EQ(actor.address, "127.0.0.2");
  EXPECT_EQ(actor.via, "api");
  // A role given later shows at once.
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "taro@example.jp", true));
  EXPECT_TRUE(store.CheckPanelSession(a, session->token, "127.0.0.2")->admin);
  // Refusals are LogIn's, with its messages.
  const Status wrong = store.OpenPanelSession(a, "taro@example.jp", "Password2", "127.0.0.3").status();
  EXPECT_EQ(wrong.message(), store.LogIn(a, "nobody@example.jp", "Password1").status().message());
  EXPECT_EQ(store.OpenPanelSession(this->b_, "taro@example.jp", "Password1", "127.0.0.3").status().code(),
            Code::kUnauthenticated);
  for (int i = 0; i < 5; ++i) (void)store.OpenPanelSession(a, "taro@example.jp", "Guess0000", "127.0.0.4");
  EXPECT_EQ(store.OpenPanelSession(a, "taro@example.jp", "Password1", "127.0.0.4").status().code(), Code::kUnavailable);
  const std::vector<std::string> lines = AuditLines(store, a);
  ASSERT_GE(lines.size(), 4u);
  // Throttled attempts were not checked: only checked ones are rows.
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "Taro@example.jp login.failed Taro@example.jp"), 4 + 1);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "Taro@example.jp login Taro@example.jp"), 1);
  EXPECT_EQ(lines.back(), " user.add Taro@example.jp");
  ASSERT_DAICHO_OK(store.ClosePanelSession(a, session->token));
  EXPECT_EQ(store.CheckPanelSession(a, session->token, "127.0.0.2").status().code(), Code::kUnauthenticated);
  EXPECT_DAICHO_OK(store.ClosePanelSession(a, session->token));
}

// Issue 14: sessions end when idle for 30 minutes and 12 hours after their
// login; use is recorded to the minute.
TYPED_TEST(RelayServiceTest, PanelSessionsExpireWhenIdleAndAfterTheirAbsoluteLifetime) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  this->AddContractWithUsers(a, {"taro@example.jp"});
  const uint64_t idle = this->options_.panel_idle_ms;
  auto first = store.OpenPanelSession(a, "taro@example.jp", "Password1", "127.0.0.2");
  ASSERT_DAICHO_OK(first);
  const std::string expired_message = store.CheckPanelSession(a, std::string(32, 'x'), "").status().message();
  // Used every 29 minutes, it lives until its 12 hours are up.
  uint64_t lived = 0;
  while (lived + idle - 60'000 < this->options_.panel_absolute_ms) {
    this->clock_->Advance(idle - 60'000);
    lived += idle - 60'000;
    ASSERT_DAICHO_OK(store.CheckPanelSession(a, first->token, "127.0.0.2"));
  }
  this->clock_->Advance(this->options_.panel_absolute_ms - lived);
  Status ended = store.CheckPanelSession(a, first->token, "127.0.0.2").status();
  EXPECT_EQ(ended.code(), Code::kUnauthenticated);
  EXPECT_EQ(ended.message(), expired_message);

  // Idle: each use restarts the 30 minutes, but a use within the minute of
  // the recorded one is not recorded.
  auto second = store.OpenPanelSession(a, "taro@example.jp", "Password1", "127.0.0.2");
  ASSERT_DAICHO_OK(second);
  this->clock_->Advance(idle - 1);
  ASSERT_DAICHO_OK(store.CheckPanelSession(a, second->token, "127.0.0.2"));
  this->clock_->Advance(30'000);
  ASSERT_DAICHO_OK(store.CheckPanelSession(a, second->token, "127.0.0.2"));
  this->clock_->Advance(idle - 30'000);
  EXPECT_EQ(store.CheckPanelSession(a, second->token, "127.0.0.2").status().message(), expired_message);
  // Once expired, always: the session was deleted.
  this->clock_->StepBack(idle);
  EXPECT_EQ(store.CheckPanelSession(a, second->token, "127.0.0.2").status().message(), expired_message);
}

// Issue 14: a session belongs to its contract, and dies with its user's
// password change, disabling, removal or reset.
TYPED_TEST(RelayServiceTest, PanelSessionsEndWithPasswordChangeDisableRemovalAndReset) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  this->AddContractWithUsers(a, {"taro@example.jp", "hanako@example.jp"});
  ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  auto open = [&] { return store.OpenPanelSession(a, "taro@example.jp", "Password1", "127.0.0.2").value().token; };
  auto alive = [&](const std::string& token) { return store.CheckPanelSession(a, token, "127.0.0.2").ok(); };
  const std::string hanako = store.OpenPanelSession(a, "hanako@example.jp", "Password1", "").value().token;
  std::string token = open();
  EXPECT_TRUE(alive(token));
  EXPECT_EQ(store.CheckPanelSession(this->b_, token, "127.0.0.2").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(store.CheckPanelSession(Contract("9999-9999-9999"), token, "").status().code(), Code::kUnauthenticated);
  ASSERT_DAICHO_OK(store.ClosePanelSession(this->b_, token));
  EXPECT_TRUE(alive(token));

  ASSERT_DAICHO_OK(store.SetPassword(a, "taro@example.jp", "Password1"));
  EXPECT_FALSE(alive(token));
  token = open();
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "taro@example.jp", true));
  EXPECT_FALSE(alive(token));
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "taro@example.jp", false));
  EXPECT_FALSE(alive(token)) << "enabling again revives no session";
  token = open();
  ASSERT_DAICHO_OK(store.SetContractDisabled(a, true));
  EXPECT_FALSE(alive(token));
  ASSERT_DAICHO_OK(store.SetContractDisabled(a, false));
  EXPECT_TRUE(alive(token)) << "a contract's disabling keeps its sessions, refused meanwhile";
  auto code = store.IssueResetCode(a, "taro@example.jp", "");
  ASSERT_DAICHO_OK(code);
  ASSERT_TRUE(code->has_value());
  ASSERT_DAICHO_OK(store.ConfirmPasswordReset(a, "taro@example.jp", (*code)->code, "Password1", ""));
  EXPECT_FALSE(alive(token));
  token = open();
  ASSERT_DAICHO_OK(store.RemoveUser(a, "taro@example.jp"));
  EXPECT_FALSE(alive(token));
  ASSERT_DAICHO_OK(store.AddUser(a, "taro@example.jp", "Password1"));
  EXPECT_FALSE(alive(token)) << "a new account of the same id inherits nothing";
  EXPECT_TRUE(alive(hanako)) << "another user's session is untouched";
}

// Issue 14: "change my password" checks the current one like a login and
// signs the user out everywhere but the browser that asked.
TYPED_TEST(RelayServiceTest, ChangingOwnPasswordChecksTheCurrentOneAndKeepsOnlyTheAskingBrowser) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  this->AddContractWithUsers(a, {"taro@example.jp"});
  const std::string other_browser = store.OpenPanelSession(a, "taro@example.jp", "Password1", "").value().token;
  auto token = store.IssueDeviceToken(a, "taro@example.jp", Origin(1), "PC-1");
  ASSERT_DAICHO_OK(token);
  const uint64_t generation = store.LoginGeneration().value();
  uint64_t entered = store.TEST_password_gate().stats().entered;

  EXPECT_EQ(store.ChangeOwnPassword(a, "taro@example.jp", "Password1", "short", "").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(store.TEST_password_gate().stats().entered, entered) << "refused before any hashing";
  const Status wrong = store.ChangeOwnPassword(a, "taro@example.jp", "Password9", "NewPassword2", "").status();
  EXPECT_EQ(wrong.code(), Code::kUnauthenticated);
  EXPECT_EQ(wrong.message(), store.LogIn(a, "taro@example.jp", "Password9").status().message());
  EXPECT_DAICHO_OK(store.CheckPanelSession(a, other_browser, ""));

  entered = store.TEST_password_gate().stats().entered;
  auto changed = store.ChangeOwnPassword(a, "Taro@example.jp", "Password1", "NewPassword2", "127.0.0.8");
  ASSERT_DAICHO_OK(changed);
  // Verify the current password, hash the new one: two gated operations.
  EXPECT_EQ(store.TEST_password_gate().stats().entered, entered + 2);
  EXPECT_EQ(changed->user_id, "taro@example.jp");
  EXPECT_DAICHO_OK(store.CheckPanelSession(a, changed->token, "127.0.0.8"));
  EXPECT_EQ(store.CheckPanelSession(a, other_browser, "").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(store.AuthenticateDevice(a, "taro@example.jp", *token, Origin(1)).code(), Code::kUnauthenticated);
  EXPECT_GT(store.LoginGeneration().value(), generation);
  EXPECT_DAICHO_OK(store.LogIn(a, "taro@example.jp", "NewPassword2"));
  EXPECT_EQ(AuditLines(store, a).front(), "taro@example.jp password.change taro@example.jp");
  // A user disabled meanwhile cannot.
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "taro@example.jp", true));
  EXPECT_EQ(store.ChangeOwnPassword(a, "taro@example.jp", "NewPassword2", "NewPassword3", "").status().code(),
            Code::kPermissionDenied);
}

// Issue 14: AddUser and SetPassword hash through the password gate, as
// logins do: a full gate refuses them instead of running one more hash.
TYPED_TEST(RelayServiceTest, AddingUsersAndSettingPasswordsPassThePasswordGate) {
  this->options_.password_checks.max_concurrent = 1;
  this->options_.password_checks.max_queued = 0;
  this->Reopen();
  RelayService& store = *this->store_;
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  PasswordGate& gate = store.TEST_password_gate();
  const uint64_t entered = gate.stats().entered;
  ASSERT_DAICHO_OK(store.AddUser(this->a_, "taro@example.jp", "Password1"));
  EXPECT_EQ(gate.stats().entered, entered + 1);
  ASSERT_DAICHO_OK(store.SetPassword(this->a_, "taro@example.jp", "Password2"));
  EXPECT_EQ(gate.stats().entered, entered + 2);
  {
    auto held = gate.Enter();
    ASSERT_DAICHO_OK(held);
    EXPECT_EQ(store.AddUser(this->a_, "hanako@example.jp", "Password1").code(), Code::kUnavailable);
    EXPECT_EQ(store.SetPassword(this->a_, "taro@example.jp", "Password3").code(), Code::kUnavailable);
  }
  EXPECT_EQ(store.ListUserInfo(this->a_)->size(), 1u);
  EXPECT_DAICHO_OK(store.LogIn(this->a_, "taro@example.jp", "Password2"));
}

// Issue 14: a reset code is 8 digits, valid 30 minutes for 5 tries, used
// once; a new request replaces it.
TYPED_TEST(RelayServiceTest, ResetCodesExpireAllowFiveTriesAreUsedOnceAndReplacedByANewRequest) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  const std::string user = "taro@example.jp";
  this->AddContractWithUsers(a, {"Taro@example.jp"});
  auto issue = [&] {
    auto code = store.IssueResetCode(a, user, "127.0.0.9");
    EXPECT_DAICHO_OK(code);
    return code.ok() && code->has_value() ? **code : RelayService::IssuedResetCode{};
  };
  const RelayService::IssuedResetCode first = issue();
  ASSERT_EQ(first.code.size(), 8u);
  EXPECT_EQ(first.code.find_first_not_of("0123456789"), std::string::npos);
  EXPECT_EQ(first.user_id, "Taro@example.jp");
  EXPECT_EQ(first.expires_ms, this->clock_->NowMillis() + this->options_.reset_code_ms);
  // `tries` wrong guesses at `code` (each a different digit at `place`).
  auto guess_wrong = [&](const std::string& code, int tries, size_t place) {
    for (int i = 0; i < tries; ++i) {
      std::string guess = code;
      guess[place] = static_cast<char>('0' + (guess[place] - '0' + 1 + i) % 10);
      EXPECT_EQ(store.ConfirmPasswordReset(a, user, guess, "NewPassword9", "").code(), Code::kUnauthenticated) << i;
    }
  };

  // Expired: refused even when right.
  this->clock_->Advance(this->options_.reset_code_ms);
  EXPECT_EQ(store.ConfirmPasswordReset(a, user, first.code, "NewPassword2", "").code(), Code::kUnauthenticated);
  // Five tries: four wrong, then the right one still works ...
  RelayService::IssuedResetCode second = issue();
  guess_wrong(second.code, 4, 0);
  ASSERT_DAICHO_OK(store.ConfirmPasswordReset(a, "TARO@example.jp", second.code, "NewPassword2", "127.0.0.9"));
  EXPECT_DAICHO_OK(store.LogIn(a, user, "NewPassword2"));
  // ... once.
  EXPECT_EQ(store.ConfirmPasswordReset(a, user, second.code, "NewPassword3", "").code(), Code::kUnauthenticated);
  // Five wrong tries kill a code.
  RelayService::IssuedResetCode third = issue();
  guess_wrong(third.code, 5, 1);
  EXPECT_EQ(store.ConfirmPasswordReset(a, user, third.code, "NewPassword3", "").code(), Code::kUnauthenticated);
  // A new request replaces the pending code.
  RelayService::IssuedResetCode fourth = issue();
  RelayService::IssuedResetCode fifth = issue();
  if (fourth.code != fifth.code) {
    EXPECT_EQ(store.ConfirmPasswordReset(a, user, fourth.code, "NewPassword4", "").code(), Code::kUnauthenticated);
  }
  ASSERT_DAICHO_OK(store.ConfirmPasswordReset(a, user, fifth.code, "NewPassword4", ""));
  EXPECT_DAICHO_OK(store.LogIn(a, user, "NewPassword4"));
  const std::vector<std::string> lines = AuditLines(store, a);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "Taro@example.jp reset.request Taro@example.jp"), 5);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), "Taro@example.jp reset.done Taro@example.jp"), 2);
  EXPECT_EQ(store.ListAudit(a, UINT64_MAX, 1)->at(0).address, "");
}

// Issue 14: no code exists for an unknown contract or user, a disabled
// one, or an id no mail can reach; every failed confirmation reads alike.
TYPED_TEST(RelayServiceTest, ResetCodesOnlyForEnabledMailAccountsAndFailuresLookAlike) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  this->AddContractWithUsers(a, {"taro@example.jp", "hanako@example.jp", "office-pc"});
  ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "hanako@example.jp", true));
  const size_t rows = AuditLines(store, a).size();
  for (const auto& [contract, user] :
       std::vector<std::pair<ContractNumber, std::string>>{{a, "nobody@example.jp"},
                                                           {this->b_, "taro@example.jp"},
                                                           {Contract("9999-9999-9999"), "taro@example.jp"},
                                                           {a, "hanako@example.jp"},
                                                           {a, "office-pc"}}) {
    auto code = store.IssueResetCode(contract, user, "");
    ASSERT_DAICHO_OK(code);
    EXPECT_FALSE(code->has_value()) << contract.str() << " " << user;
  }
  EXPECT_EQ(AuditLines(store, a).size(), rows) << "nothing written";

  const Status no_code = store.ConfirmPasswordReset(a, "taro@example.jp", "12345678", "NewPassword2", "");
  EXPECT_EQ(no_code.code(), Code::kUnauthenticated);
  auto issued = store.IssueResetCode(a, "taro@example.jp", "");
  ASSERT_DAICHO_OK(issued);
  ASSERT_TRUE(issued->has_value());
  const std::string wrong_code = (*issued)->code == "00000000" ? "00000001" : "00000000";
  for (const Status& refused :
       {store.ConfirmPasswordReset(a, "taro@example.jp", wrong_code, "NewPassword2", ""),
        store.ConfirmPasswordReset(a, "taro@example.jp", "not a code", "NewPassword2", ""),
        store.ConfirmPasswordReset(a, "nobody@example.jp", (*issued)->code, "NewPassword2", ""),
        store.ConfirmPasswordReset(this->b_, "taro@example.jp", (*issued)->code, "NewPassword2", ""),
        store.ConfirmPasswordReset(Contract("9999-9999-9999"), "taro@example.jp", (*issued)->code, "NewPassword2", ""),
        store.ConfirmPasswordReset(a, "x", (*issued)->code, "NewPassword2", "")}) {
    EXPECT_EQ(refused.code(), no_code.code());
    EXPECT_EQ(refused.message(), no_code.message());
  }
  // The new password's shape is checked first, with its rule.
  const Status bad_password = store.ConfirmPasswordReset(a, "taro@example.jp", (*issued)->code, "short", "");
  EXPECT_EQ(bad_password.code(), Code::kInvalidArgument);
  EXPECT_EQ(bad_password.message(), ValidatePassword("short").message());
  // Disabled after the request: refused alike.
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "taro@example.jp", true));
  ASSERT_DAICHO_OK(store.SetUserDisabled(a, "taro@example.jp", false));
  EXPECT_EQ(store.ConfirmPasswordReset(a, "taro@example.jp", (*issued)->code, "NewPassword2", "").message(),
            no_code.message())
      << "disabling deleted the code";
  EXPECT_DAICHO_OK(store.LogIn(a, "taro@example.jp", "Password1"));
}

// Issue 14: the owner resets while someone's guesses throttle the account,
// and the reset signs the user out everywhere and lifts the throttle.
TYPED_TEST(RelayServiceTest, ResetWorksWhileThrottledEndsEveryLoginAndLiftsTheThrottle) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  this->AddContractWithUsers(a, {"taro@example.jp"});
  auto device = store.IssueDeviceToken(a, "taro@example.jp", Origin(1), "PC-1");
  ASSERT_DAICHO_OK(device);
  const std::string session = store.OpenPanelSession(a, "taro@example.jp", "Password1", "").value().token;
  for (int i = 0; i < 8; ++i) (void)store.LogIn(a, "taro@example.jp", "Guess" + std::to_string(1000 + i), "192.0.2.66");
  ASSERT_EQ(store.LogIn(a, "taro@example.jp", "Password1", "192.0.2.66").status().code(), Code::kUnavailable);
  const uint64_t generation = store.LoginGeneration().value();
  const uint64_t entered = store.TEST_password_gate().stats().entered;

  auto code = store.IssueResetCode(a, "taro@example.jp", "192.0.2.66");
  ASSERT_DAICHO_OK(code);
  ASSERT_TRUE(code->has_value());
  ASSERT_DAICHO_OK(store.ConfirmPasswordReset(a, "taro@example.jp", (*code)->code, "NewPassword2", "192.0.2.66"));
  EXPECT_EQ(store.TEST_password_gate().stats().entered, entered + 1) << "the new password's hash is gated";
  EXPECT_EQ(store.AuthenticateDevice(a, "taro@example.jp", *device, Origin(1)).code(), Code::kUnauthenticated);
  EXPECT_EQ(store.CheckPanelSession(a, session, "").status().code(), Code::kUnauthenticated);
  EXPECT_EQ(store.LoginGeneration().value(), generation + 1);
  EXPECT_DAICHO_OK(store.LogIn(a, "taro@example.jp", "NewPassword2", "192.0.2.66"));
}

// Issue 14: nothing of another contract is found through any call, and a
// refused call changes nothing.
TYPED_TEST(RelayServiceTest, AnotherContractsIdsAreNotFoundAndChangeNothing) {
  RelayService& store = *this->store_;
  const ContractNumber& a = this->a_;
  const ContractNumber& b = this->b_;
  this->AddContractWithUsers(a, {"boss@example.jp"});
  ASSERT_DAICHO_OK(this->store_->AddContract(b));
  ASSERT_DAICHO_OK(store.SetUserAdmin(a, "boss@example.jp", true));
  ASSERT_DAICHO_OK(store.AddUser(b, "b-user@example.jp", "Password1"));
  ASSERT_DAICHO_OK(store.IssueDeviceToken(b, "b-user@example.jp", Origin(2), "B-PC"));
  const Actor boss = PanelActor("boss@example.jp");
  const uint64_t generation = store.LoginGeneration().value();
  const size_t rows = AuditLines(store, a).size();
  EXPECT_EQ(store.SetPassword(a, "b-user@example.jp", "Password2", boss).code(), Code::kNotFound);
  EXPECT_EQ(store.RemoveUser(a, "b-user@example.jp", boss).code(), Code::kNotFound);
  EXPECT_EQ(store.SetUserDisabled(a, "b-user@example.jp", true, boss).code(), Code::kNotFound);
  EXPECT_EQ(store.SetUserAdmin(a, "b-user@example.jp", true, boss).code(), Code::kNotFound);
  EXPECT_EQ(store.RevokeDevice(a, "b-user@example.jp", "B-PC", boss).code(), Code::kNotFound);
  EXPECT_EQ(store.RevokeDevice(a, "boss@example.jp", Origin(2).ToHex(), boss).code(), Code::kNotFound);
  EXPECT_TRUE(store.ListDevices(a, "b-user@example.jp")->empty());
  // The admin of a acting on b is no admin there.
  EXPECT_EQ(store.SetPassword(b, "b-user@example.jp", "Password2", boss).code(), Code::kPermissionDenied);
  EXPECT_EQ(store.LoginGeneration().value(), generation);
  EXPECT_EQ(AuditLines(store, a).size(), rows);
  EXPECT_EQ(store.ListAudit(b, UINT64_MAX, 10)->size(), 1u) << "only b's own user.add";
  EXPECT_DAICHO_OK(store.LogIn(b, "b-user@example.jp", "Password1"));
  EXPECT_EQ(store.ListDevices(b, "b-user@example.jp")->size(), 1u);
  EXPECT_FALSE(store.ListUserInfo(b)->at(0).admin);
}

TYPED_TEST(RelayServiceTest, OfficeKeyStatusSaysWhenTheKeyWasMadeAndChangedWithoutKeyMaterial) {
  RelayService& store = *this->store_;
  ASSERT_DAICHO_OK(this->store_->AddContract(this->a_));
  auto status = store.GetOfficeKeyStatus(this->a_);
  ASSERT_DAICHO_OK(status);
  EXPECT_EQ(status->key_id, 0u);
  EXPECT_EQ(status->created_ms, 0u);
  const uint64_t made = this->clock_->NowMillis();
  ASSERT_DAICHO_OK(store.PublishOfficeKey(this->a_, crypto::WrappedOfficeKey{1, "pass", "recovery", ""}, 0));
  this->clock_->Advance(1000);
  // A new passphrase changes the envelopes, not the key.
  ASSERT_DAICHO_OK(store.PublishOfficeKey(this->a_, crypto::WrappedOfficeKey{1, "pass2", "recovery", ""}, 1));
  status = store.GetOfficeKeyStatus(this->a_);
  EXPECT_EQ(status->key_id, 1u);
  EXPECT_EQ(status->created_ms, made);
  EXPECT_EQ(status->changed_ms, made + 1000);
  this->clock_->Advance(1000);
  // A refused publication records nothing.
  EXPECT_EQ(store.PublishOfficeKey(this->a_, crypto::WrappedOfficeKey{2, "p", "r", "ring"}, 0).code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(store.GetOfficeKeyStatus(this->a_)->changed_ms, made + 1000);
  ASSERT_DAICHO_OK(store.PublishOfficeKey(this->a_, crypto::WrappedOfficeKey{2, "p", "r", "ring"}, 1));
  this->Reopen();
  status = this->store_->GetOfficeKeyStatus(this->a_);
  EXPECT_EQ(status->key_id, 2u);
  EXPECT_EQ(status->created_ms, made + 2000);
  EXPECT_EQ(status->changed_ms, made + 2000);
  EXPECT_EQ(this->store_->GetOfficeKeyStatus(this->b_).status().code(), Code::kNotFound);
}

// ---- End-to-end encryption: the relay stores envelopes and only sealed changes ----

crypto::WrappedOfficeKey Envelopes(crypto::KeyId id, std::string tag = "") {
  // The relay never opens envelopes, so any bytes do here.
  return crypto::WrappedOfficeKey{id, "passphrase-env" + tag, "recovery-env" + tag, id > 1 ? "ring" : ""};
}

template <typename Factory>
class RelayServiceSealingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Open();
    ASSERT_DAICHO_OK(store_->AddContract(a_));
    changes_ = std::move(store_->ContractChanges(a_).value());
    ring_ = std::move(crypto::KeyRing::Create().value());
  }

  void Open() {
    auto backend = factory_.Open();
    ASSERT_DAICHO_OK(backend);
    store_ = std::move(RelayService::Create(*std::move(backend)).value());
  }

  ChangeBlob Sealed(const crypto::KeyRing& ring, uint64_t seq) {
    auto sealed = crypto::SealChange(ring, {a_.str(), x_, seq}, "plaintext " + std::to_string(seq));
    return ChangeBlob{x_, seq, std::move(sealed).value()};
  }

  Factory factory_;
  std::unique_ptr<RelayService> store_;
  std::unique_ptr<sync::ChangeStore> changes_;
  crypto::KeyRing ring_;
  const ContractNumber a_ = Contract("0000-0000-0001");
  const ContractNumber b_ = Contract("0000-0000-0002");
  const ReplicaId x_ = Origin(1);
};
TYPED_TEST_SUITE(RelayServiceSealingTest, Backends, BackendNames);

TYPED_TEST(RelayServiceSealingTest, ChangesAreRefusedUntilTheOfficeKeyIsSetUp) {
  EXPECT_TRUE(this->store_->GetOfficeKey(this->a_)->empty());
  const Status refused = this->changes_->Apply(std::vector{this->Sealed(this->ring_, 1)});
  EXPECT_EQ(refused.code(), Code::kFailedPrecondition);
  EXPECT_NE(refused.message().find("key init"), std::string::npos) << refused;
  EXPECT_EQ(this->changes_->GetVersionVector()->Get(this->x_), 0u);
}

TYPED_TEST(RelayServiceSealingTest, OnlyChangesSealedUnderTheCurrentKeyAreStored) {
  ASSERT_DAICHO_OK(this->store_->PublishOfficeKey(this->a_, Envelopes(1), 0));
  // Plaintext is refused, and with it the whole batch.
  EXPECT_EQ(this->changes_->Apply(std::vector{this->Sealed(this->ring_, 1), Blob(this->x_, 2)}).code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(this->changes_->GetVersionVector()->Get(this->x_), 0u);
  ASSERT_DAICHO_OK(this->changes_->Apply(std::vector{this->Sealed(this->ring_, 1)}));

  // After a rotation, a PC still sealing under key 1 is refused.
  auto rotated = std::move(this->ring_.Rotated().value());
  ASSERT_DAICHO_OK(this->store_->PublishOfficeKey(this->a_, Envelopes(2), 1));
  const Status stale = this->changes_->Apply(std::vector{this->Sealed(this->ring_, 2)});
  EXPECT_EQ(stale.code(), Code::kFailedPrecondition);
  EXPECT_NE(stale.message().find("key unlock"), std::string::npos) << stale;
  ASSERT_DAICHO_OK(this->changes_->Apply(std::vector{this->Sealed(rotated, 2)}));
  // Older changes stay as they were sealed (holders of the new ring open them).
  auto all = this->changes_->ChangesSince(VersionVector(), SIZE_MAX, nullptr);
  ASSERT_DAICHO_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(*crypto::SealedKeyId((*all)[0].payload), 1u);
  EXPECT_EQ(*crypto::SealedKeyId((*all)[1].payload), 2u);
  EXPECT_EQ(*crypto::OpenChange(rotated, {this->a_.str(), this->x_, 1}, (*all)[0].payload), "plaintext 1");
}

TYPED_TEST(RelayServiceSealingTest, ADuplicateUploadWithOtherCiphertextIsIgnored) {
  ASSERT_DAICHO_OK(this->store_->PublishOfficeKey(this->a_, Envelopes(1), 0));
  const ChangeBlob first = this->Sealed(this->ring_, 1);
  ASSERT_DAICHO_OK(this->changes_->Apply(std::vector{first}));
  // The same change sealed again (as a second PC passing it on would) has a
  // new nonce; the relay keeps the first copy.
  ASSERT_DAICHO_OK(this->changes_->Apply(std::vector{this->Sealed(this->ring_, 1)}));
  EXPECT_EQ(this->changes_->ChangesSince(VersionVector(), SIZE_MAX, nullptr)->at(0).payload, first.payload);
}

TYPED_TEST(RelayServiceSealingTest, PublishingIsCompareAndSwapOnTheKeyId) {
  EXPECT_EQ(this->store_->PublishOfficeKey(this->a_, Envelopes(1), 1).code(), Code::kFailedPrecondition);  // none yet
  ASSERT_DAICHO_OK(this->store_->PublishOfficeKey(this->a_, Envelopes(1), 0));
  // A second "first PC" loses: the office keeps one key.
  EXPECT_EQ(this->store_->PublishOfficeKey(this->a_, Envelopes(1, "-other"), 0).code(), Code::kFailedPrecondition);
  // Going back is not a rotation.
  EXPECT_EQ(this->store_->PublishOfficeKey(this->a_, Envelopes(1), 2).code(), Code::kInvalidArgument);
  EXPECT_EQ(this->store_->PublishOfficeKey(this->a_, crypto::WrappedOfficeKey{}, 1).code(), Code::kInvalidArgument);
  // Same id: a new passphrase envelope.
  ASSERT_DAICHO_OK(this->store_->PublishOfficeKey(this->a_, Envelopes(1, "-new-passphrase"), 1));
  ASSERT_DAICHO_OK(this->store_->PublishOfficeKey(this->a_, Envelopes(2), 1));
  EXPECT_EQ(this->store_->PublishOfficeKey(this->a_, Envelopes(2, "-late"), 1).code(), Code::kFailedPrecondition);
  EXPECT_EQ(*this->store_->GetOfficeKey(this->a_), Envelopes(2));
  // Issue 12 item 8: after a restore from a backup older than a rotation,
  // a PC holding key 3 rotates to key 4 over the relay's key 2.
  ASSERT_DAICHO_OK(this->store_->PublishOfficeKey(this->a_, Envelopes(4), 2));
  EXPECT_EQ(*this->store_->GetOfficeKey(this->a_), Envelopes(4));
  EXPECT_EQ(this->store_->GetOfficeKey(Contract("9999-9999-9999")).status().code(), Code::kNotFound);
}

TYPED_TEST(RelayServiceSealingTest, EnvelopesBelongToTheirContractSurviveReopenAndPasswordResets) {
  ASSERT_DAICHO_OK(this->store_->AddContract(this->b_));
  ASSERT_DAICHO_OK(this->store_->AddUser(this->a_, "office@example.jp", "FirstPassword1"));
  ASSERT_DAICHO_OK(this->store_->PublishOfficeKey(this->a_, Envelopes(1), 0));
  EXPECT_TRUE(this->store_->GetOfficeKey(this->b_)->empty());
  ASSERT_DAICHO_OK(this->store_->SetPassword(this->a_, "office@example.jp", "ResetPassword2"));
  this->changes_.reset();
  this->store_.reset();
  this->Open();
  EXPECT_EQ(*this->store_->GetOfficeKey(this->a_), Envelopes(1));
}
}  // namespace
}  // namespace daicho::relay
