// Clusters of embedded brokers linked over real HTTP/3 with mutual TLS on 127.0.0.1, and
// threaded clients publishing and subscribing through them (cluster_harness.hpp).
#include "cluster_harness.hpp"

namespace flume::overlay {
namespace {

using namespace std::chrono_literals;
using namespace testing;

TEST(Cluster, MessagesPublishedAtOneNodeReachASubscriberAtAnotherOnceInOrder) {
  ClusterFiles files;
  for (const char *name : {"a", "b", "c"})
    files.issue("one", name);
  RunningNode a(files, "a", "one", {});
  RunningNode b(files, "b", "one", {a.cluster_address()});
  RunningNode c(files, "c", "one", {a.cluster_address(), b.cluster_address()});
  ASSERT_TRUE(eventually([&] {
    return a.stats().links_up == 2 && b.stats().links_up == 2 && c.stats().links_up == 2;
  })) << "the full mesh did not come up";
  // Routes settle: a route chosen through b while a's link to c was still coming up moves to
  // the direct link (fewer hops) once that measures cheaper, after the hold time.
  ASSERT_TRUE(eventually([&] {
    return a.on_loop([&] {
      auto route = a.node().routes().route_to("c");
      return route && route->next_hop == "c";
    });
  })) << "a's route to c never went direct";

  ClientResult result;
  auto subscriber = Client::connect(c.url(), c.trusting(), result);
  ASSERT_TRUE(subscriber) << result.message;
  auto subscription = subscriber->subscribe("orders.>", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  // b's subscribers want something else: b must get no data at all.
  auto other = Client::connect(b.url(), b.trusting(), result);
  ASSERT_TRUE(other) << result.message;
  auto elsewhere = other->subscribe("inventory.>", {}, nullptr, result);
  ASSERT_TRUE(elsewhere) << result.message;
  ASSERT_TRUE(eventually([&] { return a.patterns_from("c") == 1 && a.patterns_from("b") == 1; }));

  auto publisher = Client::connect(a.url(), a.trusting(), result);
  ASSERT_TRUE(publisher) << result.message;
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(
        publisher->publish(i % 2 ? "orders.eu" : "orders.us", bytes(std::to_string(i))).ok());
  }
  ASSERT_TRUE(publisher->flush(3000ms).ok());

  std::vector<int> eu, us;
  for (int i = 0; i < kCount; ++i) {
    Message message;
    result = subscription->recv(message, 3000ms);
    ASSERT_TRUE(result.ok()) << "after " << i << " messages: " << result.message;
    (message.subject() == "orders.eu" ? eu : us).push_back(std::stoi(text(message)));
  }
  // In publish order per subject (the publisher's order), and nothing twice.
  for (std::size_t i = 0; i < eu.size(); ++i)
    EXPECT_EQ(eu[i], static_cast<int>(2 * i + 1));
  for (std::size_t i = 0; i < us.size(); ++i)
    EXPECT_EQ(us[i], static_cast<int>(2 * i));
  Message extra;
  EXPECT_FALSE(subscription->recv(extra, 300ms).ok()) << "a message arrived twice";

  EXPECT_EQ(a.stats().messages_forwarded, static_cast<std::uint64_t>(kCount));
  EXPECT_EQ(c.stats().messages_delivered, static_cast<std::uint64_t>(kCount));
  EXPECT_EQ(b.stats().messages_received, 0u) << "a node without interest got data";
}

TEST(Cluster, WithdrawnInterestStopsForwarding) {
  ClusterFiles files;
  files.issue("one", "a");
  files.issue("one", "b");
  RunningNode a(files, "a", "one", {});
  RunningNode b(files, "b", "one", {a.cluster_address()});
  ASSERT_TRUE(eventually([&] { return a.stats().links_up == 1 && b.stats().links_up == 1; }));
  ClientResult result;
  auto subscriber = Client::connect(b.url(), b.trusting(), result);
  ASSERT_TRUE(subscriber) << result.message;
  auto subscription = subscriber->subscribe("x", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(eventually([&] { return a.patterns_from("b") == 1; }));
  subscription.reset();  // unsubscribes
  ASSERT_TRUE(eventually([&] { return a.patterns_from("b") == 0; }));
  auto publisher = Client::connect(a.url(), a.trusting(), result);
  ASSERT_TRUE(publisher) << result.message;
  ASSERT_TRUE(publisher->publish("x", bytes("late")).ok());
  ASSERT_TRUE(publisher->flush(3000ms).ok());
  EXPECT_EQ(a.stats().messages_forwarded, 0u);
}

TEST(Cluster, NodeWithACertificateFromAnotherCaIsRefused) {
  ClusterFiles files;
  files.issue("one", "a");
  files.issue("other", "rogue");
  RunningNode a(files, "a", "one", {});
  RunningNode rogue(files, "rogue", "other", {a.cluster_address()});
  ASSERT_TRUE(eventually([&] {
    return rogue.stats().handshakes_failed >= 1 && a.stats().inbound_handshakes_failed >= 1;
  })) << "the rogue's dial was not refused";
  EXPECT_EQ(a.stats().links_up, 0u);
  EXPECT_EQ(rogue.stats().links_up, 0u);
}

}  // namespace
}  // namespace flume::overlay
