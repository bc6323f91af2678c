// The broker-wide memory budget (BrokerConfig::max_memory_bytes): what it counts, and that the
// subscriptions holding the most take their own overflow policy first while small queues are
// left alone, with every drop counted and reported.
#include <gtest/gtest.h>

#include "broker/delivery_queue.hpp"
#include "broker/memory_budget.hpp"
#include "broker/queue_ranking.hpp"
#include "broker_test_util.hpp"

namespace flume::broker::test {
namespace {

// A MESSAGE frame with a one-letter subject and this payload is 100 bytes.
const std::string kPayload(93, 'p');
// What one such frame costs the budget when one queue holds it.
constexpr std::size_t kCost =
    100 + SharedBuffer::kHeaderSize + kAllocatorOverhead + DeliveryQueue::kEntryCost;

struct Totals {
  std::size_t messages = 0;
  std::uint64_t reported_drops = 0;
  bool slow_consumer = false;
};

Totals totals(const Client &client, std::uint32_t id) {
  Totals t;
  for (const OwnedFrame &f : client.frames(id)) {
    if (f.type == FrameType::message) ++t.messages;
    if (f.type == FrameType::dropped) t.reported_drops += *f.integer(PropertyId::dropped_count);
    if (f.type == FrameType::error &&
        f.error_code() == static_cast<std::uint64_t>(ErrorCode::slow_consumer)) {
      t.slow_consumer = true;
    }
  }
  return t;
}

class BrokerMemoryBudget : public ::testing::Test {
 protected:
  // Room for 30 unshared 100-byte frames in all.
  static BrokerConfig config() {
    BrokerConfig c;
    c.max_memory_bytes = 30 * kCost;
    return c;
  }
  void SetUp() override {
    subscriber.hello();
    publisher.hello();
  }
  void subscribe_stalled(std::uint32_t id, std::string_view subject, OverflowPolicy policy) {
    subscriber.subscribe(subject, id, {.policy = policy, .queue_limit = 1000});
    subscriber.stall(id);
  }
  void publish(std::string_view subject, int count) {
    for (int i = 0; i < count; ++i)
      publisher.publish(subject, kPayload);
  }

  Broker broker{config()};
  Client subscriber{broker};
  Client publisher{broker};
};

TEST_F(BrokerMemoryBudget, TheLargestQueueGivesUpItsOldestAndSmallQueuesAreUntouched) {
  subscribe_stalled(1, "a", OverflowPolicy::drop_oldest);
  subscribe_stalled(2, "b", OverflowPolicy::drop_oldest);
  subscribe_stalled(3, "c", OverflowPolicy::drop_newest);
  publish("b", 2);
  publish("c", 2);
  publish("a", 26);  // exactly full
  EXPECT_EQ(broker.stats().memory_queued_bytes, 30 * kCost);
  EXPECT_EQ(broker.stats().dropped_memory_budget, 0u);

  publish("b", 3);  // b is small: a, the largest, makes room
  publish("c", 3);
  BrokerStats stats = broker.stats();
  EXPECT_EQ(stats.dropped_memory_budget, 6u);
  EXPECT_EQ(stats.dropped_oldest, 6u);
  EXPECT_EQ(stats.memory_queued_bytes, 30 * kCost);
  EXPECT_LE(stats.memory_queued_peak_bytes, stats.memory_budget_bytes);

  publish("a", 10);  // a is the largest itself: its own policy drops its oldest
  stats = broker.stats();
  EXPECT_EQ(stats.dropped_memory_budget, 16u);
  EXPECT_LE(stats.memory_queued_bytes, 30 * kCost);
  expect_all_accounted(stats);

  for (std::uint32_t id : {1u, 2u, 3u})
    subscriber.unstall(id);
  EXPECT_EQ(totals(subscriber, 2).messages, 5u);  // none of the small queues' lost
  EXPECT_EQ(totals(subscriber, 3).messages, 5u);
  const Totals a = totals(subscriber, 1);
  EXPECT_EQ(a.messages + a.reported_drops, 36u);  // published = delivered + dropped
  EXPECT_EQ(a.reported_drops, 16u);
  EXPECT_EQ(subscriber.messages(1).back(), kPayload);
  EXPECT_EQ(broker.stats().memory_queued_bytes, 0u);
  expect_all_accounted(broker.stats());
}

TEST_F(BrokerMemoryBudget, ADropNewestVictimGivesUpItsNewestQueuedMessages) {
  subscribe_stalled(1, "a", OverflowPolicy::drop_newest);
  subscribe_stalled(2, "b", OverflowPolicy::drop_oldest);
  for (int i = 1; i <= 26; ++i) {
    std::string payload = "m";
    payload += std::to_string(i);
    payload.resize(kPayload.size(), '.');
    publisher.publish("a", payload);
  }
  publish("b", 6);  // the last 2 need room: a, the largest, gives up m26 and m25
  const BrokerStats stats = broker.stats();
  EXPECT_EQ(stats.dropped_newest, 2u);
  EXPECT_EQ(stats.dropped_memory_budget, 2u);
  EXPECT_EQ(stats.dropped_oldest, 0u);
  subscriber.unstall(1);
  subscriber.unstall(2);
  EXPECT_EQ(totals(subscriber, 2).messages, 6u);
  const auto frames = subscriber.frames(1);
  const Totals a = totals(subscriber, 1);
  EXPECT_EQ(a.messages, 24u);
  EXPECT_EQ(a.reported_drops, 2u);
  EXPECT_EQ(frames.back().type, FrameType::dropped);  // the gap is at the end: oldest kept
  EXPECT_EQ(subscriber.messages(1).back().substr(0, 4), "m24.");
  expect_all_accounted(broker.stats());
}

TEST_F(BrokerMemoryBudget, AClosePolicyVictimEndsWithSlowConsumer) {
  subscribe_stalled(1, "a", OverflowPolicy::close);
  subscribe_stalled(2, "b", OverflowPolicy::drop_oldest);
  publish("a", 28);
  publish("b", 5);
  const BrokerStats stats = broker.stats();
  EXPECT_EQ(stats.slow_consumer_closes, 1u);
  EXPECT_EQ(stats.dropped_slow_consumer, 28u);
  EXPECT_EQ(stats.dropped_memory_budget, 28u);
  EXPECT_EQ(stats.subscriptions, 1u);
  EXPECT_EQ(stats.memory_queued_bytes, 5 * kCost);
  EXPECT_TRUE(totals(subscriber, 1).slow_consumer);
  subscriber.unstall(2);
  EXPECT_EQ(totals(subscriber, 2).messages, 5u);
  expect_all_accounted(broker.stats());
}

TEST_F(BrokerMemoryBudget, TheLargestWithPolicyCloseEndsItselfWhenItIsTheOneOverflowing) {
  subscribe_stalled(1, "a", OverflowPolicy::close);
  publish("a", 31);
  const BrokerStats stats = broker.stats();
  EXPECT_EQ(stats.slow_consumer_closes, 1u);
  EXPECT_EQ(stats.dropped_slow_consumer, 31u);
  EXPECT_EQ(stats.memory_queued_bytes, 0u);
  expect_all_accounted(stats);
}

TEST_F(BrokerMemoryBudget, AMessageSharedByManyQueuesIsCountedOnce) {
  for (std::uint32_t id = 1; id <= 10; ++id)
    subscribe_stalled(id, "s", OverflowPolicy::drop_oldest);
  publish("s", 5);
  const std::size_t buffer = 100 + SharedBuffer::kHeaderSize + kAllocatorOverhead;
  EXPECT_EQ(broker.stats().memory_queued_bytes, 5 * buffer + 50 * DeliveryQueue::kEntryCost);
  EXPECT_EQ(broker.stats().queued_bytes, 5000u);  // the per-queue view counts each reference
}

TEST_F(BrokerMemoryBudget, EqualQueuesSharingMessagesTakeTurnsAndEveryDropIsReported) {
  for (std::uint32_t id = 1; id <= 4; ++id)
    subscribe_stalled(id, "s", OverflowPolicy::drop_oldest);
  publish("s", 200);  // each buffer costs 132 + 4 * 16: far more than fits
  const BrokerStats stats = broker.stats();
  EXPECT_LE(stats.memory_queued_peak_bytes, stats.memory_budget_bytes);
  EXPECT_GT(stats.dropped_memory_budget, 0u);
  expect_all_accounted(stats);
  std::size_t least = SIZE_MAX, most = 0;
  for (std::uint32_t id = 1; id <= 4; ++id) {
    subscriber.unstall(id);
    const Totals t = totals(subscriber, id);
    EXPECT_EQ(t.messages + t.reported_drops, 200u) << "subscription " << id;
    least = std::min(least, t.messages);
    most = std::max(most, t.messages);
  }
  EXPECT_LE(most - least, 1u);  // nobody was singled out
  EXPECT_EQ(broker.stats().memory_queued_bytes, 0u);
}

TEST_F(BrokerMemoryBudget, ClosingAConnectionReturnsItsQueuedBytesToTheBudget) {
  subscribe_stalled(1, "a", OverflowPolicy::drop_oldest);
  publish("a", 20);
  EXPECT_EQ(broker.stats().memory_queued_bytes, 20 * kCost);
  broker.close_session(subscriber.session);
  subscriber.session = nullptr;
  EXPECT_EQ(broker.stats().memory_queued_bytes, 0u);
  EXPECT_EQ(broker.stats().memory_queued_peak_bytes, 20 * kCost);
  expect_all_accounted(broker.stats());
}

TEST(BrokerMemoryBudgetDefault, IsAQuarterOfTheMachineOrOfTheCgroupLimitWhicheverIsSmaller) {
  constexpr std::size_t GiB = std::size_t{1} << 30;
  EXPECT_EQ(default_memory_budget(16 * GiB, std::nullopt), 4 * GiB);
  EXPECT_EQ(default_memory_budget(16 * GiB, 2 * GiB), GiB / 2);
  EXPECT_EQ(default_memory_budget(16 * GiB, 64 * GiB), 4 * GiB);
  EXPECT_EQ(default_memory_budget(0, std::nullopt), kMinDefaultMemoryBudget);
  EXPECT_EQ(default_memory_budget(128 << 20, std::nullopt), kMinDefaultMemoryBudget);
  EXPECT_GE(default_memory_budget(), kMinDefaultMemoryBudget);
  EXPECT_EQ(Broker(BrokerConfig{}).stats().memory_budget_bytes, default_memory_budget());
}

TEST(QueueRankingBuckets, ALargerByteCountNeverRanksLower) {
  int previous = 0;
  for (std::size_t bytes = 1; bytes < (std::size_t{1} << 40); bytes = bytes * 5 / 4 + 1) {
    const int bucket = QueueRanking::bucket_of(bytes);
    EXPECT_GE(bucket, previous) << bytes;
    EXPECT_LT(bucket, QueueRanking::kBuckets);
    previous = bucket;
  }
  EXPECT_EQ(QueueRanking::bucket_of(0), 0);
  EXPECT_LT(QueueRanking::bucket_of(1000), QueueRanking::bucket_of(1300));
  EXPECT_EQ(QueueRanking::bucket_of(std::numeric_limits<std::size_t>::max()),
            QueueRanking::kBuckets - 1);
}

}  // namespace
}  // namespace flume::broker::test
