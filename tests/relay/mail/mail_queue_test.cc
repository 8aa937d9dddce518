#include "relay/mail/mail_queue.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "tests/testing/process.h"
#include "tests/testing/test_util.h"

namespace daicho::relay::mail {
namespace {

using std::chrono::milliseconds;
using Kind = MailEvent::Kind;

// A transport that fails its first `failures` deliveries, records every
// attempt, and can be held shut so the queue backs up behind it.
class ScriptedTransport : public MailTransport {
 public:
  struct State {
    std::mutex mutex;
    std::condition_variable opened;
    size_t failures = 0;
    bool held = false;
    size_t entered = 0;                  // deliveries begun, held or not
    std::vector<std::string> attempts;   // the bytes of each delivery tried
    std::vector<std::string> envelopes;  // "from -> to"
  };
  explicit ScriptedTransport(std::shared_ptr<State> state) : state_(std::move(state)) {}

  Status Deliver(std::string_view from, std::string_view to, std::string_view message) override {
    std::unique_lock lock(state_->mutex);
    ++state_->entered;
    state_->opened.wait(lock, [&] { return !state_->held; });
    state_->attempts.emplace_back(message);
    state_->envelopes.push_back(std::string(from) + " -> " + std::string(to));
    if (state_->failures > 0) {
      --state_->failures;
      return Status(Code::kUnavailable, "connection refused");
    }
    return Status::Ok();
  }
  std::string Describe() const override { return "scripted"; }

 private:
  std::shared_ptr<State> state_;
};

class MailQueueTest : public ::testing::Test {
 protected:
  std::unique_ptr<MailQueue> StartQueue(std::vector<milliseconds> retry_delays, size_t max_queued = 1000) {
    MailQueueOptions options;
    options.from = {"noreply@relay.example.jp", "台帳"};
    options.retry_delays = std::move(retry_delays);
    options.max_queued = max_queued;
    options.log = [this](const MailEvent& event) {
      std::lock_guard lock(events_mutex_);
      events_.push_back(event);
    };
    Result<std::unique_ptr<MailQueue>> queue =
        MailQueue::Start(std::make_unique<ScriptedTransport>(transport_), std::move(options));
    EXPECT_TRUE(queue.ok()) << queue.status().ToString();
    return queue.ok() ? std::move(*queue) : nullptr;
  }

  std::vector<MailEvent> Events() {
    std::lock_guard lock(events_mutex_);
    return events_;
  }

  bool WaitForEvents(size_t count) {
    return testing::WaitFor([&] { return Events().size() >= count; });
  }

  std::vector<std::string> Attempts() {
    std::lock_guard lock(transport_->mutex);
    return transport_->attempts;
  }

  std::shared_ptr<ScriptedTransport::State> transport_ = std::make_shared<ScriptedTransport::State>();
  std::mutex events_mutex_;
  std::vector<MailEvent> events_;
};

const MailMessage kMessage{"taro@example.jp", "確認番号", "確認番号は 12345678 です。"};

TEST_F(MailQueueTest, APostedMessageIsDeliveredOnceFromTheSender) {
  auto queue = StartQueue({milliseconds(1)});
  queue->Post(kMessage);
  ASSERT_TRUE(WaitForEvents(1));
  const std::vector<MailEvent> events = Events();
  EXPECT_EQ(events[0].kind, Kind::kSent);
  EXPECT_EQ(events[0].to, "taro@example.jp");
  EXPECT_EQ(events[0].subject, "確認番号");
  EXPECT_EQ(events[0].attempt, 1u);
  ASSERT_EQ(Attempts().size(), 1u);
  EXPECT_EQ(transport_->envelopes[0], "noreply@relay.example.jp -> taro@example.jp");
  EXPECT_NE(Attempts()[0].find("Subject: =?UTF-8?B?"), std::string::npos);
  EXPECT_EQ(queue->Describe(), "scripted");
}

TEST_F(MailQueueTest, AFailedDeliveryIsRetriedWithTheSameMessageUntilItGoesThrough) {
  transport_->failures = 2;
  auto queue = StartQueue({milliseconds(5), milliseconds(10), milliseconds(10)});
  queue->Post(kMessage);
  ASSERT_TRUE(WaitForEvents(3));
  const std::vector<MailEvent> events = Events();
  EXPECT_EQ(events[0].kind, Kind::kRetry);
  EXPECT_EQ(events[0].attempt, 1u);
  EXPECT_EQ(events[0].retry_in, milliseconds(5));
  EXPECT_EQ(events[0].error, "connection refused");
  EXPECT_EQ(events[1].kind, Kind::kRetry);
  EXPECT_EQ(events[1].retry_in, milliseconds(10));
  EXPECT_EQ(events[2].kind, Kind::kSent);
  EXPECT_EQ(events[2].attempt, 3u);
  const std::vector<std::string> attempts = Attempts();
  ASSERT_EQ(attempts.size(), 3u);
  // One Message-ID for every try: a server that got a copy after all drops the duplicate.
  EXPECT_EQ(attempts[0], attempts[1]);
  EXPECT_EQ(attempts[1], attempts[2]);
}

TEST_F(MailQueueTest, AfterTheLastRetryItGivesUpAndSaysWhy) {
  transport_->failures = 100;
  auto queue = StartQueue({milliseconds(1), milliseconds(1)});
  queue->Post(kMessage);
  ASSERT_TRUE(WaitForEvents(3));
  const std::vector<MailEvent> events = Events();
  EXPECT_EQ(events[2].kind, Kind::kGaveUp);
  EXPECT_EQ(events[2].attempt, 3u);
  EXPECT_EQ(events[2].error, "connection refused");
  // Nothing more is tried after giving up.
  queue.reset();
  EXPECT_EQ(Attempts().size(), 3u);
  EXPECT_EQ(Events().size(), 3u);
}

TEST_F(MailQueueTest, AFullQueueDropsNewMailAndLogsItInsteadOfGrowing) {
  transport_->held = true;
  auto queue = StartQueue({}, /*max_queued=*/1);
  queue->Post({"first@example.jp", "s", "t"});
  // The worker takes the first and waits in the transport; one more fits.
  ASSERT_TRUE(testing::WaitFor([&] {
    std::lock_guard lock(transport_->mutex);
    return transport_->entered == 1;
  }));
  queue->Post({"second@example.jp", "s", "t"});
  queue->Post({"third@example.jp", "s", "t"});
  std::vector<MailEvent> events = Events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Kind::kDropped);
  EXPECT_EQ(events[0].to, "third@example.jp");
  EXPECT_EQ(events[0].error, "the mail queue is full");
  {
    std::lock_guard lock(transport_->mutex);
    transport_->held = false;
  }
  transport_->opened.notify_all();
  ASSERT_TRUE(WaitForEvents(3));
  events = Events();
  EXPECT_EQ(events[1].kind, Kind::kSent);
  EXPECT_EQ(events[1].to, "first@example.jp");
  EXPECT_EQ(events[2].kind, Kind::kSent);
  EXPECT_EQ(events[2].to, "second@example.jp");
}

TEST_F(MailQueueTest, AMessageToAnAddressThatIsNotPlainIsDroppedWithoutTryingIt) {
  auto queue = StartQueue({});
  queue->Post({"not an address", "s", "t"});
  ASSERT_TRUE(WaitForEvents(1));
  EXPECT_EQ(Events()[0].kind, Kind::kDropped);
  EXPECT_NE(Events()[0].error.find("not a mail address"), std::string::npos) << Events()[0].error;
  EXPECT_TRUE(Attempts().empty());
}

TEST_F(MailQueueTest, MailStillWaitingWhenTheRelayStopsIsReportedAsDropped) {
  transport_->failures = 1;
  auto queue = StartQueue({std::chrono::hours(1)});
  queue->Post(kMessage);
  ASSERT_TRUE(WaitForEvents(1));
  EXPECT_EQ(Events()[0].kind, Kind::kRetry);
  queue.reset();  // returns at once: the retry an hour away is not waited for
  const std::vector<MailEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, Kind::kDropped);
  EXPECT_EQ(events[1].error, "the relay stopped");
}

TEST(MailQueueStartTest, ASenderThatIsNotAPlainAddressIsRefused) {
  MailQueueOptions options;
  options.from = {"relay", ""};
  Result<std::unique_ptr<MailQueue>> queue =
      MailQueue::Start(std::make_unique<ScriptedTransport>(std::make_shared<ScriptedTransport::State>()), options);
  EXPECT_EQ(queue.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace daicho::relay::mail
