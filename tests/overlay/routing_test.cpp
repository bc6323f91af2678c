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
  EXPECT_GE(c.stats().links_refused + a.stats().links_refused, 1u) << "c's dial of a was not refused";
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
  ASSERT_TRUE(eventually([&] { return a.links_up() == 2 && b.links_up() == 2 && c.links_up() == 2; }))
      << "a did not dial c after learning it from b";
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

}  // namespace
}  // namespace flume::overlay
