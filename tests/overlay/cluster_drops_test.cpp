// Nothing lost without a word across a node link: messages a link drops because its lane is
// full (a burst larger than max_lane_backlog) never reach the far node, which hears of them in
// LINK_DROPPED frames and reports them to its subscribers as drops. Embedded brokers over real
// HTTP/3 on 127.0.0.1 (cluster_harness.hpp).
#include "cluster_harness.hpp"

namespace flume::overlay {
namespace {

using namespace std::chrono_literals;
using namespace testing;

TEST(ClusterDrops, MessagesALinkDroppedArriveAsGapsAtTheFarSubscriber) {
  ClusterFiles files;
  for (const char *name : {"a", "b"})
    files.issue("one", name);
  // A lane of a's link holds at most 16 KiB unsent: a burst overflows it.
  RunningNode a(files, "a", "one", {},
                [](ClusterConfig &config) { config.max_lane_backlog = 16 * 1024; });
  RunningNode b(files, "b", "one", {a.cluster_address()});
  ASSERT_TRUE(eventually([&] { return a.stats().links_up == 1 && b.stats().links_up == 1; }));

  ClientResult result;
  auto subscriber = Client::connect(b.url(), b.trusting(), result);
  ASSERT_TRUE(subscriber) << result.message;
  SubscribeOptions options;
  options.report_gaps = true;
  options.queue_limit = 65536;  // b's own queue takes the whole burst: the drops are the link's
  auto subscription = subscriber->subscribe("burst.x", options, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(subscriber->flush(3000ms).ok());
  ASSERT_TRUE(eventually([&] { return a.patterns_from("b") == 1; }));

  auto publisher = Client::connect(a.url(), a.trusting(), result);
  ASSERT_TRUE(publisher) << result.message;
  constexpr std::uint64_t kCount = 20000;
  const std::vector<std::uint8_t> payload(512, 'x');
  for (std::uint64_t i = 0; i < kCount; ++i) {
    ClientResult published = publisher->publish("burst.x", payload);
    ASSERT_TRUE(published.ok()) << published.message;
  }
  ASSERT_TRUE(publisher->flush(10000ms).ok());

  // Everything published is received or counted, within a bound.
  std::uint64_t received = 0, counted = 0;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (received + counted < kCount && std::chrono::steady_clock::now() < deadline) {
    Message item;
    if (!subscription->recv(item, 200ms).ok()) continue;
    if (item.is_gap()) {
      counted += item.gap().counted();
    } else {
      ++received;
    }
  }
  std::uint64_t dropped_by_link = 0, reported = 0;
  for (const LinkInfo &link : a.links()) {
    dropped_by_link += link.counters.dropped_backlog;
    reported += link.counters.drops_reported;
  }
  std::cout << "[ drops   ] published " << kCount << ", received " << received << ", counted "
            << counted << "; a's link dropped " << dropped_by_link << " and reported " << reported
            << "\n";
  ASSERT_GT(dropped_by_link, 0u) << "the burst did not overflow the lane: the test proves nothing";
  EXPECT_EQ(reported, dropped_by_link);
  EXPECT_EQ(b.stats().dropped_upstream, dropped_by_link);
  EXPECT_EQ(received + counted, kCount) << "messages vanished without a word";
  Message extra;
  EXPECT_FALSE(subscription->recv(extra, 300ms).ok()) << "more arrived than was published";
}

// A subscriber at b that never reads stalls only itself: its own queue at b overflows (counted
// there), while another subscriber at b gets every message and a's link to b drops nothing.
TEST(ClusterDrops, SlowSubscriberAtTheFarNodeStallsOnlyItself) {
  ClusterFiles files;
  for (const char *name : {"a", "b"})
    files.issue("one", name);
  RunningNode a(files, "a", "one", {});
  RunningNode b(files, "b", "one", {a.cluster_address()});
  ASSERT_TRUE(eventually([&] { return a.stats().links_up == 1 && b.stats().links_up == 1; }));

  ClientResult result;
  auto slow_client = Client::connect(b.url(), b.trusting(), result);
  ASSERT_TRUE(slow_client) << result.message;
  SubscribeOptions small;
  small.queue_limit = 64;        // b queues 64 for it, then drops the oldest
  small.local_queue_limit = 16;  // and it holds 16 unread here
  auto slow = slow_client->subscribe("flow.x", small, nullptr, result);
  ASSERT_TRUE(slow) << result.message;
  auto fast_client = Client::connect(b.url(), b.trusting(), result);
  ASSERT_TRUE(fast_client) << result.message;
  auto fast = fast_client->subscribe("flow.x", {}, nullptr, result);
  ASSERT_TRUE(fast) << result.message;
  ASSERT_TRUE(slow_client->flush(3000ms).ok());
  ASSERT_TRUE(fast_client->flush(3000ms).ok());
  ASSERT_TRUE(eventually([&] { return a.patterns_from("b") == 1; }));

  auto publisher = Client::connect(a.url(), a.trusting(), result);
  ASSERT_TRUE(publisher) << result.message;
  constexpr int kCount = 5000;
  const std::vector<std::uint8_t> payload(256, 'x');
  int received = 0;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(publisher->publish("flow.x", payload).ok());
    // The fast one reads as it goes (bounded waits), the slow one never.
    Message message;
    while (fast->recv(message, 0ms).ok())
      ++received;
  }
  ASSERT_TRUE(publisher->flush(5000ms).ok());
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (received < kCount && std::chrono::steady_clock::now() < deadline) {
    Message message;
    if (fast->recv(message, 200ms).ok()) ++received;
  }
  EXPECT_EQ(received, kCount) << "the fast subscriber missed messages";
  EXPECT_EQ(fast->stats().dropped_by_broker + fast->stats().dropped_locally, 0u);
  std::uint64_t link_drops = 0;
  for (const LinkInfo &link : a.links())
    link_drops += link.counters.dropped_backlog;
  EXPECT_EQ(link_drops, 0u) << "the slow subscriber held up the link";
  // Now the slow one reads: what it gets and what b (and its own queue) counted as dropped add
  // up to everything published; the DROPPED frames come as its stream takes data again.
  std::uint64_t slow_received = 0;
  const auto drain_deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < drain_deadline) {
    const SubscriptionStats stats = slow->stats();
    if (slow_received + stats.dropped_by_broker + stats.dropped_locally >= kCount) break;
    Message message;
    if (slow->recv(message, 100ms).ok()) ++slow_received;
  }
  const SubscriptionStats stats = slow->stats();
  std::cout << "[ slow    ] slow subscriber: received " << slow_received << ", dropped by b "
            << stats.dropped_by_broker << ", dropped locally " << stats.dropped_locally << "\n";
  EXPECT_GT(stats.dropped_by_broker, 0u)
      << "the slow subscriber's queue never overflowed: the test proves nothing";
  EXPECT_EQ(slow_received + stats.dropped_by_broker + stats.dropped_locally,
            static_cast<std::uint64_t>(kCount));
}

}  // namespace
}  // namespace flume::overlay
