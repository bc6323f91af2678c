#include "broker/delivery_queue.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace flume::broker {
namespace {

constexpr std::size_t kNoByteLimit = std::numeric_limits<std::size_t>::max() / 2;

SharedBuffer buffer_of(const std::string &text) {
  return SharedBuffer::copy_of({reinterpret_cast<const std::uint8_t *>(text.data()), text.size()});
}

std::string text_of(const SharedBuffer &buffer) {
  return {reinterpret_cast<const char *>(buffer.data()), buffer.size()};
}

TEST(BrokerDeliveryQueue, QueuesInOrderBelowTheLimit) {
  DeliveryQueue queue(OverflowPolicy::drop_oldest, 3);
  for (const char *m : {"a", "b", "c"}) {
    auto result = queue.push(buffer_of(m), kNoByteLimit);
    EXPECT_TRUE(result.queued);
    EXPECT_EQ(result.dropped, 0u);
  }
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.bytes(), 3u);
  EXPECT_EQ(text_of(queue.take_front().frame), "a");
  EXPECT_EQ(text_of(queue.take_front().frame), "b");
  EXPECT_EQ(queue.bytes(), 1u);
}

TEST(BrokerDeliveryQueue, DropOldestEvictsFrontAndCarriesTheGapToTheNextFrame) {
  DeliveryQueue queue(OverflowPolicy::drop_oldest, 2);
  for (const char *m : {"1", "2", "3", "4", "5"})
    queue.push(buffer_of(m), kNoByteLimit);
  ASSERT_EQ(queue.size(), 2u);
  DeliveryQueue::Entry first = queue.take_front();
  EXPECT_EQ(text_of(first.frame), "4");
  EXPECT_EQ(first.dropped_before, 3u);  // 1, 2, 3 lost before "4"
  DeliveryQueue::Entry second = queue.take_front();
  EXPECT_EQ(text_of(second.frame), "5");
  EXPECT_EQ(second.dropped_before, 0u);
  EXPECT_EQ(queue.tail_drops(), 0u);
}

TEST(BrokerDeliveryQueue, DropNewestKeepsQueueAndCountsTheGapAfterIt) {
  DeliveryQueue queue(OverflowPolicy::drop_newest, 2);
  for (const char *m : {"1", "2", "3", "4", "5"})
    queue.push(buffer_of(m), kNoByteLimit);
  EXPECT_EQ(queue.tail_drops(), 3u);
  EXPECT_EQ(text_of(queue.take_front().frame), "1");
  EXPECT_EQ(text_of(queue.take_front().frame), "2");
  // The next frame queued after the gap carries it.
  queue.push(buffer_of("6"), kNoByteLimit);
  EXPECT_EQ(queue.tail_drops(), 0u);
  EXPECT_EQ(queue.front().dropped_before, 3u);
}

TEST(BrokerDeliveryQueue, ClosePolicyAsksToCloseWithoutDropping) {
  DeliveryQueue queue(OverflowPolicy::close, 1);
  EXPECT_TRUE(queue.push(buffer_of("1"), kNoByteLimit).queued);
  auto result = queue.push(buffer_of("2"), kNoByteLimit);
  EXPECT_TRUE(result.close);
  EXPECT_FALSE(result.queued);
  EXPECT_EQ(result.dropped, 0u);
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BrokerDeliveryQueue, ByteRoomCountsAsFullAndDropOldestFreesOnlyItsOwnBytes) {
  DeliveryQueue queue(OverflowPolicy::drop_oldest, 100);
  queue.push(buffer_of("aaaa"), kNoByteLimit);
  queue.push(buffer_of("bbbb"), kNoByteLimit);
  // Room for 2 more bytes only: "cccc" needs one eviction (4 bytes freed).
  auto result = queue.push(buffer_of("cccc"), 2);
  EXPECT_TRUE(result.queued);
  EXPECT_EQ(result.dropped, 1u);
  EXPECT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue.bytes(), 8u);
  // With no room and nothing of its own to evict, the new frame itself is dropped.
  DeliveryQueue empty(OverflowPolicy::drop_oldest, 100);
  auto refused = empty.push(buffer_of("x"), 0);
  EXPECT_FALSE(refused.queued);
  EXPECT_EQ(refused.dropped, 1u);
  EXPECT_EQ(empty.tail_drops(), 1u);
}

TEST(BrokerDeliveryQueue, ClearForgetsFramesAndDrops) {
  DeliveryQueue queue(OverflowPolicy::drop_newest, 1);
  queue.push(buffer_of("1"), kNoByteLimit);
  queue.push(buffer_of("2"), kNoByteLimit);
  EXPECT_EQ(queue.clear(), 1u);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.bytes(), 0u);
  EXPECT_EQ(queue.tail_drops(), 0u);
}

TEST(BrokerDeliveryQueue, QueuedFramesShareTheCallersBuffer) {
  DeliveryQueue a(OverflowPolicy::drop_oldest, 4);
  DeliveryQueue b(OverflowPolicy::drop_oldest, 4);
  SharedBuffer frame = buffer_of("shared");
  a.push(frame, kNoByteLimit);
  b.push(frame, kNoByteLimit);
  EXPECT_EQ(frame.use_count(), 3u);
  EXPECT_EQ(a.front().frame.data(), b.front().frame.data());
}

}  // namespace
}  // namespace flume::broker
