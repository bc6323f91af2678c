// Routing by cost over real HTTP/3 on 127.0.0.1: embedded brokers whose link costs are forced
// through the ClusterConfig test aid (every loopback link measures alike), so the measured-cost
// machinery (adverts carrying costs, Dijkstra, hysteresis, usability) runs for real and the
// routes follow. Every wait is bounded in time.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "cluster_harness.hpp"

namespace flume::overlay::testing {
namespace {

std::function<void(ClusterConfig &)> costs(std::map<std::string, std::uint64_t> ms,
                                           std::vector<std::string> refuse = {}) {
  return [ms = std::move(ms), refuse = std::move(refuse)](ClusterConfig &config) {
    for (const auto &[peer, cost] : ms)
      config.test_link_cost_us[peer] = cost * 1000;
    config.refuse_peers = refuse;
  };
}

std::string next_hop(RunningNode &node, const std::string &to) {
  return node.on_loop([&] {
    auto route = node.node().routes().route_to(to);
    return route ? route->next_hop : std::string();
  });
}

// a - c direct costs 80 ms, a - b - c 20 + 20 ms: a sends c's messages through b. Then b - c
// rises to 100 ms: a goes direct within 2 s.
TEST(CostRouting, ACheaperRelayCarriesTheMessagesAndARiseMovesThemBackWithinTwoSeconds) {
  ClusterFiles files;
  for (const char *name : {"a", "b", "c"})
    files.issue("ca", name);
  RunningNode a(files, "a", "ca", {}, costs({{"b", 20}, {"c", 80}}));
  RunningNode b(files, "b", "ca", {a.cluster_address()}, costs({{"a", 20}, {"c", 20}}));
  RunningNode c(files, "c", "ca", {a.cluster_address(), b.cluster_address()},
                costs({{"a", 80}, {"b", 20}}));
  ASSERT_TRUE(eventually([&] { return next_hop(a, "c") == "b"; }, 10000ms));
  const auto route = a.on_loop([&] { return *a.node().routes().route_to("c"); });
  EXPECT_EQ(route.path, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(route.cost_us, 40'000u);
  EXPECT_EQ(route.alternative, "c");
  EXPECT_EQ(route.alternative_cost_us, 80'000u);

  ClientResult result;
  auto at_c = Client::connect(c.url(), c.trusting(), result);
  ASSERT_TRUE(at_c) << result.message;
  auto sub = at_c->subscribe("orders.>", {}, nullptr, result);
  ASSERT_TRUE(sub) << result.message;
  ASSERT_TRUE(eventually([&] { return a.on_loop([&] { return a.node().patterns_of("c"); }) > 0; }));
  auto publisher = Client::connect(a.url(), a.trusting(), result);
  ASSERT_TRUE(publisher) << result.message;
  auto publish_and_receive = [&](int count) {
    for (int i = 0; i < count; ++i)
      ASSERT_TRUE(publisher->publish("orders.eu", bytes(std::to_string(i))).ok());
    ASSERT_TRUE(publisher->flush(3000ms).ok());
    for (int i = 0; i < count; ++i) {
      Message message;
      ASSERT_TRUE(sub->recv(message, 3000ms).ok()) << "message " << i;
      EXPECT_EQ(text(message), std::to_string(i));
    }
  };
  publish_and_receive(50);
  EXPECT_EQ(b.stats().messages_relayed, 50u);  // through b, not direct

  const auto rise = std::chrono::steady_clock::now();
  b.on_loop([&] {
    b.node().set_test_link_cost("c", 100'000);
    return 0;
  });
  c.on_loop([&] {
    c.node().set_test_link_cost("b", 100'000);
    return 0;
  });
  ASSERT_TRUE(eventually([&] { return next_hop(a, "c") == "c"; }, 5000ms));
  const auto moved = std::chrono::steady_clock::now() - rise;
  EXPECT_LT(moved, 2000ms);
  EXPECT_GE(moved, RouteTable::kHoldTime);
  const auto changes = a.on_loop([&] { return a.node().routes().changes(); });
  ASSERT_FALSE(changes.empty());
  EXPECT_EQ(changes.back().destination, "c");
  EXPECT_EQ(changes.back().from, "b");
  EXPECT_EQ(changes.back().to, "c");
  EXPECT_EQ(changes.back().reason.rfind("cheaper by 40.0 ms", 0), 0u) << changes.back().reason;
  publish_and_receive(20);
  EXPECT_EQ(b.stats().messages_relayed, 50u);  // direct now
}

// a - c - d costs 10 + 10 ms, a - b - d 30 + 30 ms (a and d, b and c never link). c's loop
// stops dead: its links go silent, both a (listener of a - c) and d (dialer of c - d) call them
// unusable within 1 s, and a's route to d moves to b at once (on its own link's verdict or on
// d's advert, whichever comes first).
TEST(CostRouting, ASilentLinkTurnsUnusableWithinASecondAndTheRouteMovesAroundIt) {
  ClusterFiles files;
  for (const char *name : {"a", "b", "c", "d"})
    files.issue("ca", name);
  RunningNode a(files, "a", "ca", {}, costs({{"b", 30}, {"c", 10}}, {"d"}));
  RunningNode b(files, "b", "ca", {a.cluster_address()}, costs({{"a", 30}, {"d", 30}}, {"c"}));
  RunningNode c(files, "c", "ca", {a.cluster_address()}, costs({{"a", 10}, {"d", 10}}, {"b"}));
  RunningNode d(files, "d", "ca", {b.cluster_address(), c.cluster_address()},
                costs({{"b", 30}, {"c", 10}}, {"a"}));
  ASSERT_TRUE(eventually([&] { return next_hop(a, "d") == "c"; }, 10000ms));
  // Probes have run for a while (the listener knows the dialer's rate).
  ASSERT_TRUE(eventually([&] {
    for (const LinkInfo &link : a.links()) {
      if (link.peer_name == "c" && link.peer_measured && link.peer_measured->settled >= 4)
        return true;
    }
    return false;
  }));
  EXPECT_EQ(a.stats().links_unusable, 0u);
  const auto stopped = std::chrono::steady_clock::now();
  c.freeze();
  ASSERT_TRUE(eventually([&] { return next_hop(a, "d") == "b"; }, 3000ms));
  const auto moved = std::chrono::steady_clock::now() - stopped;
  EXPECT_LT(moved, 1000ms);
  // Both ends of c's links call them unusable (d dials c, c dialled a).
  ASSERT_TRUE(eventually([&] { return d.stats().links_unusable >= 1; }, 3000ms));
  ASSERT_TRUE(eventually([&] { return a.stats().links_unusable >= 1; }, 3000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 1000ms);
  const auto changes = a.on_loop([&] { return a.node().routes().changes(); });
  auto to_d = std::find_if(changes.rbegin(), changes.rend(), [](const RouteTable::Change &change) {
    return change.destination == "d";
  });
  ASSERT_NE(to_d, changes.rend());
  EXPECT_EQ(to_d->from, "c");
  EXPECT_EQ(to_d->to, "b");
  // Whichever came first: a's own link unusable, or d's advert saying c - d is.
  EXPECT_TRUE(to_d->reason == "unusable" || to_d->reason == "no path") << to_d->reason;
  // c itself is out of reach now: every link of it is unusable.
  EXPECT_EQ(next_hop(a, "c"), "");
  // The link is still open (unusable, not dead) at this point.
  EXPECT_EQ(a.stats().links_dead, 0u);
}

}  // namespace
}  // namespace flume::overlay::testing
