// Path switches over real HTTP/3 on 127.0.0.1: a line a - b - c plus a direct a - c link. While
// 4000 messages flow from a to c, the direct link fails twice: closed at once by a (what it had
// not sent is lost), and, once c has dialled again, by c (what a sends until the close reaches
// it is lost). Each time a re-sends what it had sent on it along a - b - c, c's dedupe window
// drops the copies that had arrived, and its reorder window keeps each subject's order while
// the path switches to b and back.
#include <atomic>
#include <set>
#include <thread>

#include "cluster_harness.hpp"

namespace flume::overlay {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using Peers = std::vector<std::string>;

TEST(PathSwitch, MessagesInFlightOnAFailedLinkArriveOnceInOrderOverTheOtherPath) {
  ClusterFiles files;
  for (const char *name : {"a", "b", "c"})
    files.issue("one", name);
  RunningNode a(files, "a", "one", {});
  RunningNode b(files, "b", "one", Peers{a.cluster_address()});
  RunningNode c(files, "c", "one", Peers{a.cluster_address(), b.cluster_address()});
  ASSERT_TRUE(
      eventually([&] { return a.links_up() == 2 && b.links_up() == 2 && c.links_up() == 2; }));

  ClientResult result;
  auto at_c = Client::connect(c.url(), c.trusting(), result);
  ASSERT_TRUE(at_c) << result.message;
  SubscribeOptions options;
  options.queue_limit = 8192;  // room for every message: a drop here would not be the cluster's
  auto subscriber = at_c->subscribe("orders.>", options, nullptr, result);
  ASSERT_TRUE(subscriber) << result.message;
  // a sends to c directly, and knows the way round through b (b's advert lists c).
  ASSERT_TRUE(eventually([&] {
    return a.on_loop([&] {
      auto route = a.node().routes().route_to("c");
      const auto *via_b = a.node().link_state().find("b");
      bool b_lists_c = false;
      if (via_b != nullptr) {
        for (const AdvertLink &link : via_b->advert.links)
          b_lists_c = b_lists_c || link.peer == "c";
      }
      return route && route->next_hop == "c" && a.node().patterns_of("c") == 1 && b_lists_c;
    });
  }));

  // The publisher goes on in a thread of its own; the direct link fails once c has received a
  // quarter of the messages, so messages are on their way on it (and within a's resend window).
  constexpr int kCount = 4000;
  std::atomic<bool> published{false};
  std::thread publishing([&] {
    ClientResult r;
    auto publisher = Client::connect(a.url(), a.trusting(), r);
    if (!publisher) return;
    const std::string padding(1000, '.');
    for (int i = 0; i < kCount; ++i) {
      const std::string payload = std::to_string(i) + ' ' + padding;
      if (!publisher->publish(i % 2 ? "orders.eu" : "orders.us", bytes(payload)).ok()) return;
      if (i % 50 == 49) std::this_thread::sleep_for(1ms);
    }
    published = publisher->flush(5000ms).ok();
  });

  // Every message once, each subject in publish order, until the counted ones are accounted for.
  std::set<int> seen;
  int last_eu = -1, last_us = -1;
  int received = 0;
  bool failed = false;
  bool failed_again = false;
  while (true) {
    Message message;
    if (!subscriber->recv(message, 2000ms).ok()) break;
    const int n = std::stoi(text(message));
    EXPECT_TRUE(seen.insert(n).second) << n << " arrived twice";
    int &last = message.subject() == "orders.eu" ? last_eu : last_us;
    EXPECT_GT(n, last) << message.subject() << " out of order";
    last = n;
    if (++received == kCount / 4) {
      // a drops the link at once: what it had not sent yet is lost.
      failed = a.on_loop([&] { return a.node().fail_link_for_test("c"); });
    }
    if (received == 3 * kCount / 4) {
      // The link is back (c redials a); now c drops it: what a sends until the close reaches
      // it is lost on the way.
      failed_again =
          eventually([&] { return c.on_loop([&] { return c.node().fail_link_for_test("a"); }); });
    }
  }
  publishing.join();
  ASSERT_TRUE(published) << "the publisher did not get all its messages out";
  ASSERT_TRUE(failed) << "the link a - c was not there to fail";
  ASSERT_TRUE(failed_again) << "the link a - c did not come back to fail again";
  const ClusterStats at_a = a.stats();
  const ClusterStats at_cs = c.stats();
  std::printf(
      "path switch: received %d of %d; a: resent %llu, lost_on_link %llu; c: lost %llu, "
      "late %llu, reordered %llu, duplicates %llu\n",
      received, kCount, static_cast<unsigned long long>(at_a.resent),
      static_cast<unsigned long long>(at_a.lost_on_link),
      static_cast<unsigned long long>(at_cs.lost_in_cluster),
      static_cast<unsigned long long>(at_cs.late), static_cast<unsigned long long>(at_cs.reordered),
      static_cast<unsigned long long>(at_cs.duplicates));
  EXPECT_GT(at_a.resent, 0u) << "the failed link's recent messages were not re-sent";
  EXPECT_EQ(static_cast<std::uint64_t>(received) + at_cs.lost_in_cluster,
            static_cast<std::uint64_t>(kCount))
      << "received and counted lost do not add up to what was published";
  EXPECT_EQ(received, kCount) << "a message had to be given up although a re-sent copy existed";
  EXPECT_EQ(at_cs.reorder_held, 0u);
  // The copies that had arrived before the link failed came again: dropped, not delivered.
  EXPECT_EQ(at_cs.messages_delivered, static_cast<std::uint64_t>(received));
}

}  // namespace
}  // namespace flume::overlay
