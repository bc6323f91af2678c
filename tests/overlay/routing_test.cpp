// Link-state adverts, membership learnt from them, routes and relaying, with embedded nodes over
// real HTTP/3 on 127.0.0.1 (cluster_harness.hpp). Topologies that are not a full mesh use the
// test-only ClusterConfig::refuse_peers.
#include "cluster_harness.hpp"

namespace flume::overlay {
namespace {

using namespace std::chrono_literals;
using namespace testing;
using Peers = std::vector<std::string>;

ClusterFiles files_for(std::initializer_list<const char *> names) {
  ClusterFiles files;
  for (const char *name : names)
    files.issue("one", name);
  return files;
}

std::function<void(ClusterConfig &)> refusing(std::string name,
                                              std::chrono::milliseconds interval = 10000ms) {
  return [name, interval](ClusterConfig &config) {
    config.refuse_peers = {name};
    config.advert_interval = interval;
  };
}

TEST(LinkState, AdvertsFloodThroughANodeToNodesThatNeverLink) {
  ClusterFiles files = files_for({"a", "b", "c"});
  RunningNode a(files, "a", "one", {}, refusing("c"));
  RunningNode b(files, "b", "one", {a.cluster_address()});
  RunningNode c(files, "c", "one", {b.cluster_address(), a.cluster_address()}, refusing("a"));
  using Map = std::map<std::string, std::vector<std::string>>;
  ASSERT_TRUE(eventually([&] {
    return a.link_state() == Map{{"b", {"a", "c"}}, {"c", {"b"}}} &&
           c.link_state() == Map{{"a", {"b"}}, {"b", {"a", "c"}}};
  })) << "a and c did not learn each other's links through b";
  EXPECT_EQ(a.links_up(), 1u);
  EXPECT_EQ(c.links_up(), 1u);
  EXPECT_GE(c.stats().links_refused + a.stats().links_refused, 1u)
      << "c's dial of a was not refused";
  EXPECT_EQ(a.stats().node_adverts_rejected, 0u);
  const auto address = a.on_loop([&] {
    const LinkStateDb::Entry *entry = a.node().link_state().find("c");
    return entry ? entry->advert.address : std::string();
  });
  EXPECT_EQ(address, c.cluster_address()) << "the advertised address is the bound one";
}

TEST(Routes, ANodeReachesTheFarEndOfAChainThroughTheMiddle) {
  ClusterFiles files = files_for({"a", "b", "c"});
  RunningNode a(files, "a", "one", {}, refusing("c"));
  RunningNode b(files, "b", "one", {a.cluster_address()});
  RunningNode c(files, "c", "one", {b.cluster_address()}, refusing("a"));
  auto route = [](RunningNode &node, const std::string &to) {
    return node.on_loop([&] {
      auto found = node.node().routes().route_to(to);
      return found ? found->next_hop + "/" + std::to_string(found->hops) : std::string("none");
    });
  };
  ASSERT_TRUE(eventually([&] { return route(a, "c") == "b/2" && route(c, "a") == "b/2"; }))
      << route(a, "c") << " " << route(c, "a");
  EXPECT_EQ(route(a, "b"), "b/1");
  EXPECT_EQ(route(b, "a"), "a/1");
  EXPECT_EQ(route(b, "c"), "c/1");
}

TEST(LinkState, AdvertsOfAVanishedNodeAgeOut) {
  ClusterFiles files = files_for({"a", "b", "c"});
  RunningNode a(files, "a", "one", {}, refusing("c", 200ms));
  RunningNode b(files, "b", "one", {a.cluster_address()},
                [](ClusterConfig &config) { config.advert_interval = 200ms; });
  auto c = std::make_unique<RunningNode>(files, "c", "one", Peers{b.cluster_address()},
                                         refusing("a", 200ms));
  ASSERT_TRUE(eventually([&] { return a.link_state().count("c") == 1; }));
  // c stops without a word (its connections are dropped, not closed): b holds a dead link
  // until QUIC's idle timeout, but c's advert is no longer refreshed.
  c.reset();
  ASSERT_TRUE(eventually([&] { return a.link_state().count("c") == 0; }, 3000ms))
      << "c's advert did not age out";
  EXPECT_GE(a.stats().node_adverts_expired, 1u);
  EXPECT_EQ(a.link_state().count("b"), 1u) << "b's refreshed advert aged out too";
}

TEST(Membership, NodesLearntFromAdvertsAreDialledIntoAFullMesh) {
  ClusterFiles files = files_for({"a", "b", "c"});
  RunningNode a(files, "a", "one", {});
  RunningNode b(files, "b", "one", {a.cluster_address()});
  RunningNode c(files, "c", "one", {b.cluster_address()});  // knows only b
  ASSERT_TRUE(eventually([&] {
    return a.links_up() == 2 && b.links_up() == 2 && c.links_up() == 2;
  })) << "a did not dial c after learning it from b";
  // In a triangle every advert comes round again: dropped as not newer, counted, not looping.
  auto sum = [&](auto field) { return field(a.stats()) + field(b.stats()) + field(c.stats()); };
  auto stale = [](const ClusterStats &s) { return s.node_adverts_stale; };
  auto accepted = [](const ClusterStats &s) { return s.node_adverts_accepted; };
  ASSERT_TRUE(eventually([&] { return sum(stale) >= 1; }));
  // Adverts also go out when a link's measured cost moves past the routing margin (which a busy
  // test machine's loopback RTTs may do while links settle), so look for a quiet 300 ms within
  // 5 s: an advert circulating for ever would never leave one.
  bool quiet = false;
  for (int i = 0; i < 16 && !quiet; ++i) {
    const auto before = sum(accepted);
    std::this_thread::sleep_for(300ms);
    quiet = sum(accepted) == before;
  }
  EXPECT_TRUE(quiet) << "adverts keep circulating with nothing changing";
}

TEST(Membership, NoLearntDialsPastTheLinkLimit) {
  ClusterFiles files = files_for({"a", "b", "c"});
  RunningNode a(files, "a", "one", {}, [](ClusterConfig &config) { config.learnt_dial_limit = 1; });
  RunningNode b(files, "b", "one", {a.cluster_address()});
  RunningNode c(files, "c", "one", {b.cluster_address()});
  ASSERT_TRUE(eventually([&] { return a.link_state().count("c") == 1 && c.links_up() == 1; }));
  std::this_thread::sleep_for(1000ms);  // time for a dial that must not happen (redial: 200 ms)
  EXPECT_EQ(a.links_up(), 1u);
  EXPECT_EQ(c.links_up(), 1u);
}

std::function<void(ClusterConfig &)> refusing_all(Peers names) {
  return [names](ClusterConfig &config) { config.refuse_peers = names; };
}

// a - b - c in a line, d hanging off b; a and c never link, nor d with a or c.
TEST(Relaying, MessagesReachTheFarEndThroughTheMiddleOnceInOrder) {
  ClusterFiles files = files_for({"a", "b", "c", "d"});
  RunningNode a(files, "a", "one", {}, refusing_all({"c", "d"}));
  auto b = std::make_unique<RunningNode>(files, "b", "one", Peers{a.cluster_address()});
  RunningNode c(files, "c", "one", {b->cluster_address()}, refusing_all({"a", "d"}));
  RunningNode d(files, "d", "one", {b->cluster_address()}, refusing_all({"a", "c"}));
  ASSERT_TRUE(eventually([&] { return b->links_up() == 3; }));

  ClientResult result;
  auto at_c = Client::connect(c.url(), c.trusting(), result);
  ASSERT_TRUE(at_c) << result.message;
  auto far = at_c->subscribe("orders.>", {}, nullptr, result);
  ASSERT_TRUE(far) << result.message;
  auto narrower = at_c->subscribe("orders.eu", {}, nullptr, result);  // aggregated away
  ASSERT_TRUE(narrower) << result.message;
  auto at_b = Client::connect(b->url(), b->trusting(), result);
  ASSERT_TRUE(at_b) << result.message;
  auto middle = at_b->subscribe("orders.eu", {}, nullptr, result);
  ASSERT_TRUE(middle) << result.message;
  ASSERT_TRUE(eventually([&] {
    return a.on_loop([&] {
      auto route = a.node().routes().route_to("c");
      return route && route->next_hop == "b" && a.node().patterns_of("c") == 1 &&
             a.node().patterns_of("b") == 1;
    });
  })) << "a has no route to c or did not learn c's interest";

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
    result = far->recv(message, 3000ms);
    ASSERT_TRUE(result.ok()) << "after " << i << " messages: " << result.message;
    (message.subject() == "orders.eu" ? eu : us).push_back(std::stoi(text(message)));
  }
  for (std::size_t i = 0; i < eu.size(); ++i)
    EXPECT_EQ(eu[i], static_cast<int>(2 * i + 1));
  for (std::size_t i = 0; i < us.size(); ++i)
    EXPECT_EQ(us[i], static_cast<int>(2 * i));
  EXPECT_EQ(eu.size(), us.size());
  for (int i = 0; i < kCount / 2; ++i) {
    Message message;
    ASSERT_TRUE(middle->recv(message, 3000ms).ok()) << "b's own subscriber, message " << i;
    EXPECT_EQ(message.subject(), "orders.eu");
    ASSERT_TRUE(narrower->recv(message, 3000ms).ok()) << "c's second subscriber, message " << i;
  }
  Message extra;
  EXPECT_FALSE(far->recv(extra, 300ms).ok()) << "a message arrived twice";
  EXPECT_FALSE(middle->recv(extra, 10ms).ok()) << "a message arrived twice at b";

  // One copy per next hop: a sent each message once (to b), b relayed each once (to c).
  EXPECT_EQ(a.stats().messages_forwarded, static_cast<std::uint64_t>(kCount));
  EXPECT_EQ(b->stats().messages_relayed, static_cast<std::uint64_t>(kCount));
  EXPECT_EQ(b->stats().messages_delivered, static_cast<std::uint64_t>(kCount / 2));
  EXPECT_EQ(c.stats().messages_delivered, static_cast<std::uint64_t>(kCount));
  EXPECT_EQ(c.stats().duplicates, 0u);
  EXPECT_EQ(d.stats().messages_received, 0u) << "a node without interest got data";

  // b goes without a word (its connections dropped, not closed): a and c still hold dead links
  // to it for a while; publishing on meanwhile crashes nothing and delivers nothing twice.
  b.reset();
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(publisher->publish("orders.eu", bytes("late")).ok());
  ASSERT_TRUE(publisher->flush(3000ms).ok());
  EXPECT_EQ(c.stats().messages_delivered, static_cast<std::uint64_t>(kCount));
}

TEST(Restart, ARestartedNodeIsAcceptedAtOnceAndItsStaleLinkReplaced) {
  ClusterFiles files = files_for({"a", "b"});
  RunningNode a(files, "a", "one", {});
  auto b = std::make_unique<RunningNode>(files, "b", "one", Peers{a.cluster_address()});
  ASSERT_TRUE(eventually([&] { return a.links_up() == 1 && b->links_up() == 1; }));
  // b dies without a word: a still holds the link (QUIC's idle timeout is 30 s).
  b.reset();
  EXPECT_EQ(a.links_up(), 1u);
  const auto started = std::chrono::steady_clock::now();
  b = std::make_unique<RunningNode>(files, "b", "one", Peers{a.cluster_address()});
  ASSERT_TRUE(
      eventually([&] { return b->links_up() == 1 && a.stats().links_replaced == 1; }, 5000ms))
      << "the new b was refused as a duplicate of the dead one";
  EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
  ASSERT_TRUE(eventually([&] { return a.links_up() == 1; }));
  EXPECT_EQ(a.stats().links_refused, 0u);

  // And the new link carries messages.
  ClientResult result;
  auto subscriber = Client::connect(b->url(), b->trusting(), result);
  ASSERT_TRUE(subscriber) << result.message;
  auto subscription = subscriber->subscribe("x", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(eventually([&] { return a.patterns_from("b") == 1; }));
  auto publisher = Client::connect(a.url(), a.trusting(), result);
  ASSERT_TRUE(publisher) << result.message;
  ASSERT_TRUE(publisher->publish("x", bytes("after the restart")).ok());
  Message message;
  ASSERT_TRUE(subscription->recv(message, 3000ms).ok());
  EXPECT_EQ(text(message), "after the restart");
}

}  // namespace
}  // namespace flume::overlay
