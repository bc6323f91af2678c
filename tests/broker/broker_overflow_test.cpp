// Slow subscribers: bounded queues, the three overflow policies, DROPPED frames where the gap is,
// and isolation of a stalled stream from everything else (docs/protocol.md 8.3 and 9).
#include <gtest/gtest.h>

#include "broker_test_util.hpp"

namespace flume::broker::test {
namespace {

// Types of the frames on a stream after SUBSCRIPTION, as letters: M message, D dropped, E error.
std::string shape(const std::vector<OwnedFrame> &frames) {
  std::string out;
  for (std::size_t i = 1; i < frames.size(); ++i) {
    switch (frames[i].type) {
      case FrameType::message:
        out += 'M';
        break;
      case FrameType::dropped:
        out += 'D';
        break;
      case FrameType::error:
        out += 'E';
        break;
      default:
        out += '?';
    }
  }
  return out;
}

class BrokerOverflow : public ::testing::Test {
 protected:
  void SetUp() override {
    subscriber.hello();
    publisher.hello();
  }
  void publish_numbered(int from, int to) {
    for (int i = from; i <= to; ++i) {
      // Appended, not "m" + std::to_string(i): GCC 12 at -O3 reports a false -Wrestrict there
      // (GCC bug 105329).
      std::string payload = "m";
      payload += std::to_string(i);
      publisher.publish("s", payload);
    }
  }

  Broker broker{BrokerConfig{}};
  Client subscriber{broker};
  Client publisher{broker};
};

TEST_F(BrokerOverflow, DropOldestKeepsTheNewestAndReportsTheExactGapBeforeThem) {
  subscriber.subscribe("s", 1, {.policy = OverflowPolicy::drop_oldest, .queue_limit = 4});
  subscriber.stall(1);
  publish_numbered(1, 10);
  EXPECT_EQ(broker.stats().dropped_oldest, 6u);
  EXPECT_EQ(broker.stats().queued_messages, 4u);
  subscriber.unstall(1);
  const auto frames = subscriber.frames(1);
  EXPECT_EQ(shape(frames), "DMMMM");
  EXPECT_EQ(frames[1].integer(PropertyId::dropped_count), 6u);
  EXPECT_EQ(subscriber.messages(1), numbered("m", 7, 10));
  EXPECT_EQ(broker.session_stats(subscriber.session).dropped, 6u);
  expect_all_accounted(broker.stats());
}

TEST_F(BrokerOverflow, DropNewestKeepsTheOldestAndReportsTheGapAfterThem) {
  subscriber.subscribe("s", 1, {.policy = OverflowPolicy::drop_newest, .queue_limit = 4});
  subscriber.stall(1);
  publish_numbered(1, 10);
  EXPECT_EQ(broker.stats().dropped_newest, 6u);
  subscriber.unstall(1);
  const auto frames = subscriber.frames(1);
  EXPECT_EQ(shape(frames), "MMMMD");
  EXPECT_EQ(frames.back().integer(PropertyId::dropped_count), 6u);
  EXPECT_EQ(subscriber.messages(1), numbered("m", 1, 4));
  // Later messages flow again with no further DROPPED.
  publish_numbered(11, 11);
  EXPECT_EQ(shape(subscriber.frames(1)), "MMMMDM");
  expect_all_accounted(broker.stats());
}

TEST_F(BrokerOverflow, DroppedCountsOnlyDropsSinceThePreviousDropped) {
  subscriber.subscribe("s", 1, {.policy = OverflowPolicy::drop_newest, .queue_limit = 1});
  subscriber.stall(1);
  publish_numbered(1, 3);  // m1 queued, 2 dropped
  subscriber.unstall(1);
  subscriber.stall(1);
  publish_numbered(4, 8);  // m4 queued, 4 dropped
  subscriber.unstall(1);
  const auto frames = subscriber.frames(1);
  EXPECT_EQ(shape(frames), "MDMD");
  EXPECT_EQ(frames[2].integer(PropertyId::dropped_count), 2u);
  EXPECT_EQ(frames[4].integer(PropertyId::dropped_count), 4u);
}

TEST_F(BrokerOverflow, ClosePolicyEndsTheSubscriptionWithSlowConsumerAndFreesTheId) {
  subscriber.subscribe("s", 1, {.policy = OverflowPolicy::close, .queue_limit = 3});
  subscriber.stall(1);
  publish_numbered(1, 4);
  const std::int64_t stream = subscriber.stream(1);
  const auto frames = subscriber.transport.frames(stream);
  EXPECT_EQ(shape(frames), "E");  // the queue was discarded, not written
  EXPECT_EQ(frames.back().error_code(), code(ErrorCode::slow_consumer));
  EXPECT_EQ(frames.back().integer(PropertyId::subscription_id), 1u);
  EXPECT_TRUE(subscriber.transport.fin_sent(stream));
  EXPECT_FALSE(subscriber.transport.closed);

  const BrokerStats stats = broker.stats();
  EXPECT_EQ(stats.slow_consumer_closes, 1u);
  EXPECT_EQ(stats.dropped_slow_consumer, 4u);  // 3 queued + the one that overflowed
  EXPECT_EQ(stats.subscriptions, 0u);
  EXPECT_EQ(stats.queued_messages, 0u);
  expect_all_accounted(stats);

  publish_numbered(5, 5);  // would trip the fake's send-after-FIN check
  subscriber.subscribe("s", 1);
  EXPECT_EQ(subscriber.last_control().type, FrameType::ok);
}

TEST_F(BrokerOverflow, SlowConsumerWithoutAStreamIsToldOnceCreditArrives) {
  subscriber.transport.credit = 0;
  subscriber.subscribe("s", 1, {.policy = OverflowPolicy::close, .queue_limit = 1});
  publish_numbered(1, 2);
  EXPECT_EQ(broker.stats().slow_consumer_closes, 1u);
  EXPECT_EQ(broker.session_stats(subscriber.session).ending, 1u);
  subscriber.transport.credit = 1;
  broker.on_streams_available(subscriber.session);
  const auto frames = subscriber.frames(1);
  EXPECT_EQ(shape(frames), "E");
  EXPECT_TRUE(subscriber.transport.fin_sent(subscriber.stream(1)));
  EXPECT_EQ(broker.session_stats(subscriber.session).ending, 0u);
}

TEST_F(BrokerOverflow, OutstandingDropsAreReportedBeforeFin) {
  subscriber.subscribe("s", 1, {.policy = OverflowPolicy::drop_newest, .queue_limit = 2});
  subscriber.stall(1);
  publish_numbered(1, 5);
  subscriber.unsubscribe(1);
  subscriber.unstall(1);
  const auto frames = subscriber.frames(1);
  EXPECT_EQ(shape(frames), "MMD");
  EXPECT_EQ(frames.back().integer(PropertyId::dropped_count), 3u);
  EXPECT_TRUE(subscriber.transport.fin_sent(subscriber.stream(1)));
}

TEST_F(BrokerOverflow, AStalledSubscriptionDoesNotHoldBackAnotherOnTheSameSession) {
  subscriber.subscribe("s", 1, {.queue_limit = 2});
  subscriber.subscribe("s", 2, {.queue_limit = 2});
  subscriber.stall(1);
  publish_numbered(1, 20);
  EXPECT_EQ(subscriber.messages(2), numbered("m", 1, 20));
  EXPECT_TRUE(subscriber.messages(1).empty());
  EXPECT_EQ(broker.stats().dropped_oldest, 18u);
  expect_all_accounted(broker.stats());
}

TEST_F(BrokerOverflow, AStalledSubscriberDoesNotHoldBackOtherSessions) {
  Client healthy(broker);
  healthy.hello();
  healthy.subscribe("s", 1);
  subscriber.subscribe("s", 1, {.policy = OverflowPolicy::close, .queue_limit = 1});
  subscriber.stall(1);
  publish_numbered(1, 30);
  EXPECT_EQ(healthy.messages(1), numbered("m", 1, 30));
  EXPECT_EQ(broker.stats().slow_consumer_closes, 1u);
  EXPECT_FALSE(healthy.transport.closed);
}

TEST_F(BrokerOverflow, TheTransportGetsAtMostTheWindowAndTheRestWaitsInTheQueue) {
  // Models the transport filling up: every send adds to the stream's unsent bytes.
  subscriber.subscribe("s", 1, {.queue_limit = 1000});
  const std::int64_t stream = subscriber.stream(1);
  subscriber.transport.on_send = [&] {
    subscriber.transport.unsent[stream] = subscriber.transport.stream_bytes(stream).size();
  };
  const std::string payload(1000, 'x');
  for (int i = 0; i < 200; ++i)
    publisher.publish("s", payload);
  subscriber.transport.on_send = nullptr;
  const std::size_t written = subscriber.transport.stream_bytes(stream).size();
  const std::size_t window = BrokerConfig{}.stream_window_bytes;
  EXPECT_GE(written, window);
  EXPECT_LT(written, window + 1100);  // at most one frame past the window
  EXPECT_GT(broker.stats().queued_messages, 100u);
  subscriber.unstall(1);
  EXPECT_EQ(subscriber.messages(1).size(), 200u);
  EXPECT_EQ(broker.stats().queued_messages, 0u);
}

TEST(BrokerPendingLimit, ConnectionPendingBytesAreTreatedAsAFullQueue) {
  BrokerConfig config;
  config.max_pending_bytes_per_connection = 1000;
  Broker broker(config);
  Client subscriber(broker), publisher(broker);
  subscriber.hello();
  publisher.hello();
  subscriber.subscribe("s", 1, {.policy = OverflowPolicy::drop_newest});
  subscriber.subscribe("s", 2, {.policy = OverflowPolicy::drop_oldest});
  subscriber.stall(1);
  subscriber.stall(2);
  const std::string payload(93, 'p');  // 100-byte MESSAGE frames with subject "s"
  for (int i = 0; i < 20; ++i)
    publisher.publish("s", payload);
  const SessionStats session = broker.session_stats(subscriber.session);
  EXPECT_LE(session.queued_bytes, 1000u);
  EXPECT_EQ(session.queued_messages, 10u);
  EXPECT_FALSE(subscriber.transport.closed);
  const BrokerStats stats = broker.stats();
  // Each message is two deliveries; 40 in all, 10 fit, 30 dropped by either policy.
  EXPECT_EQ(stats.deliveries, 40u);
  EXPECT_EQ(stats.dropped_newest + stats.dropped_oldest, 30u);
  expect_all_accounted(stats);
  // The queue drains and the reported drops add up.
  subscriber.unstall(1);
  subscriber.unstall(2);
  std::uint64_t reported = 0;
  std::size_t delivered = 0;
  for (std::uint32_t id : {1u, 2u}) {
    for (const OwnedFrame &f : subscriber.frames(id)) {
      if (f.type == FrameType::dropped) reported += *f.integer(PropertyId::dropped_count);
      if (f.type == FrameType::message) ++delivered;
    }
  }
  EXPECT_EQ(reported, 30u);
  EXPECT_EQ(delivered, 10u);
}

TEST(BrokerPendingLimit, HeldPublishBytesOverTheLimitCloseWithPendingLimit) {
  BrokerConfig config;
  config.max_pending_bytes_per_connection = 100;
  Broker broker(config);
  Client client(broker);
  client.control(std::vector<std::uint8_t>{0x01});  // stream 0 opened, HELLO not complete
  client.on_stream(2, publish_frame("a", std::string(60, 'x')));
  EXPECT_FALSE(client.transport.closed);
  client.on_stream(6, publish_frame("a", std::string(60, 'x')));
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::pending_limit));
  EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::pending_limit));
  EXPECT_EQ(broker.stats().held_publish_bytes, 0u);
}

TEST(BrokerPendingLimit, AClientThatNeverReadsItsControlStreamIsClosedWithPendingLimit) {
  BrokerConfig config;
  config.max_pending_bytes_per_connection = 4096;
  Broker broker(config);
  Client client(broker);
  client.hello();
  client.transport.unsent[kControlStreamId] = 5000;
  client.control(ping_frame("anyone?"));
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::pending_limit));
}

TEST(BrokerPendingLimit, EndedSubscriptionsWaitingForCreditAreBounded) {
  BrokerConfig config;
  config.max_subscriptions_per_connection = 3;
  Broker broker(config);
  Client client(broker);
  client.transport.credit = 0;
  client.hello();
  for (std::uint32_t id = 1; id <= 3; ++id) {
    client.subscribe("a", id);
    client.unsubscribe(id);
  }
  EXPECT_FALSE(client.transport.closed);
  EXPECT_EQ(broker.session_stats(client.session).ending, 3u);
  client.subscribe("a", 4);
  client.unsubscribe(4);
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::pending_limit));
}

}  // namespace
}  // namespace flume::broker::test
