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

}  // namespace
}  // namespace flume::overlay
