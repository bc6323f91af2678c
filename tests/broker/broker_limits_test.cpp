// Long-running behaviour: churn gives memory back, and under a random mix of traffic, stalls and
// departures every accepted message stays accounted for.
#include <gtest/gtest.h>

#include <random>

#include "broker_test_util.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLUME_TEST_HEAP_METER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define FLUME_TEST_HEAP_METER 1
#endif
#ifdef FLUME_TEST_HEAP_METER
#include <sanitizer/allocator_interface.h>
#endif

namespace flume::broker::test {
namespace {

// Bytes the process has allocated now, where the sanitizer allocator can tell (the ci preset).
std::optional<std::size_t> heap_in_use() {
#ifdef FLUME_TEST_HEAP_METER
  return __sanitizer_get_current_allocated_bytes();
#else
  return std::nullopt;
#endif
}

TEST(BrokerLimits, ChurnOf100kSubscribeUnsubscribeCyclesLeavesNothingBehind) {
  constexpr int kCycles = 100000;
  Broker broker({});
  Client client(broker);
  client.hello();
  client.transport.record = false;  // keep the fake itself from growing
  // The pattern changes so the router builds and prunes nodes every cycle.
  auto cycle = [&](int i) {
    const std::uint32_t id = static_cast<std::uint32_t>(i % 7) + 1;
    const std::string pattern = "churn." + std::to_string(i) + ".*.>";
    client.control(concat({subscribe_frame(pattern, id), unsubscribe_frame(id)}));
  };
  cycle(0);  // warm up what is allocated once (decoder buffers, hash buckets)
  const std::optional<std::size_t> heap_before = heap_in_use();
  for (int i = 1; i < kCycles; ++i)
    cycle(i);
  const std::optional<std::size_t> heap_after = heap_in_use();
  if (heap_before && heap_after) {
    // 100k cycles of a few hundred bytes each would be tens of MB if anything were kept.
    EXPECT_LT(*heap_after, *heap_before + 64 * 1024)
        << "before " << *heap_before << ", after " << *heap_after;
  }
  EXPECT_FALSE(client.transport.closed);
  EXPECT_EQ(client.transport.streams_opened, static_cast<std::uint64_t>(kCycles));
  EXPECT_EQ(client.transport.fin_count, static_cast<std::uint64_t>(kCycles));
  const BrokerStats stats = broker.stats();
  EXPECT_EQ(stats.subscribes_accepted, static_cast<std::uint64_t>(kCycles));
  EXPECT_EQ(stats.unsubscribes, static_cast<std::uint64_t>(kCycles));
  EXPECT_EQ(stats.subscriptions, 0u);
  EXPECT_EQ(stats.router_patterns, 0u);
  EXPECT_EQ(stats.router_nodes, 1u);  // only the root
  const SessionStats session = broker.session_stats(client.session);
  EXPECT_EQ(session.subscriptions, 0u);
  EXPECT_EQ(session.ending, 0u);
  EXPECT_EQ(session.streams_waiting, 0u);
}

TEST(BrokerLimits, ChurnOfWholeSessionsLeavesNothingBehind) {
  Broker broker({});
  for (int i = 0; i < 2000; ++i) {
    Client client(broker);
    client.hello();
    client.subscribe("s." + std::to_string(i), 1);
    client.subscribe(">", 2);
    client.stall(2);
    client.publish("s." + std::to_string(i), "x");
  }
  const BrokerStats stats = broker.stats();
  EXPECT_EQ(stats.connections, 0u);
  EXPECT_EQ(stats.subscriptions, 0u);
  EXPECT_EQ(stats.router_nodes, 1u);
  EXPECT_EQ(stats.queued_messages, 0u);
  EXPECT_EQ(stats.queued_bytes, 0u);
  EXPECT_EQ(stats.discarded_on_close, 2000u);
  expect_all_accounted(stats);
}

TEST(BrokerLimits, EveryAcceptedMessageIsAccountedForUnderARandomMix) {
  std::mt19937 random(12345);
  BrokerConfig config;
  config.max_pending_bytes_per_connection = 4000;
  Broker broker(config);
  std::vector<std::unique_ptr<Client>> clients;
  std::uint64_t published = 0;
  for (int step = 0; step < 5000; ++step) {
    const int action = static_cast<int>(random() % 100);
    if (clients.size() < 3 || action < 3) {
      clients.push_back(std::make_unique<Client>(broker));
      clients.back()->hello();
      if (random() % 4 == 0) clients.back()->transport.credit = random() % 3;
      continue;
    }
    Client &c = *clients[random() % clients.size()];
    if (c.transport.closed) continue;
    const std::uint32_t id = static_cast<std::uint32_t>(random() % 5) + 1;
    if (action < 6) {
      clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(random() % clients.size()));
    } else if (action < 20) {
      const OverflowPolicy policy = static_cast<OverflowPolicy>(random() % 3 + 1);
      c.subscribe(random() % 2 ? "t.*" : "t.>", id,
                  {.policy = policy, .queue_limit = static_cast<std::uint32_t>(random() % 8 + 1)});
    } else if (action < 25) {
      c.unsubscribe(id);
    } else if (action < 32) {
      const std::int64_t stream = c.stream(id);
      if (stream >= 0) c.transport.unsent[stream] = random() % 2 ? 1u << 30 : 0;
      if (stream >= 0) broker.on_stream_writable(c.session, stream);
    } else if (action < 34) {
      const std::int64_t stream = c.stream(id);
      if (stream >= 0) broker.on_stream_closed(c.session, stream, 0);
    } else if (action < 37) {
      c.transport.credit += 1;
      broker.on_streams_available(c.session);
    } else {
      c.publish(random() % 2 ? "t.a" : "t.b.c", std::string(random() % 200, 'x'));
      ++published;
    }
    expect_all_accounted(broker.stats());
    if (::testing::Test::HasFailure()) {
      FAIL() << "unaccounted messages after step " << step;
    }
  }
  EXPECT_GT(broker.stats().deliveries, 1000u);
  EXPECT_GT(broker.stats().dropped_oldest + broker.stats().dropped_newest, 0u);
  EXPECT_EQ(broker.stats().messages_in + broker.stats().publishes_invalid_subject, published);
  clients.clear();
  const BrokerStats stats = broker.stats();
  EXPECT_EQ(stats.queued_messages, 0u);
  EXPECT_EQ(stats.subscriptions, 0u);
  EXPECT_EQ(stats.router_nodes, 1u);
  expect_all_accounted(stats);
}

}  // namespace
}  // namespace flume::broker::test
