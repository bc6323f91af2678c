// NODE_ADVERT frames and the link-state map, with bytes alone.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "overlay/link_cost.hpp"
#include "overlay/link_state_db.hpp"
#include "overlay/overlay_frames.hpp"
#include "overlay/route_table.hpp"

namespace flume::overlay {
namespace {

using namespace std::chrono_literals;

std::vector<std::uint8_t> payload_of(const SharedBuffer &frame) {
  return {frame.data() + 6, frame.data() + frame.size()};
}

NodeAdvert advert(std::string origin, std::uint64_t epoch, std::uint64_t sequence,
                  std::vector<std::string> peers = {}) {
  NodeAdvert out{std::move(origin), epoch, sequence, "127.0.0.1:7501", {}};
  for (auto &peer : peers)
    out.links.push_back(AdvertLink{std::move(peer)});
  return out;
}

TEST(NodeAdvert, RoundTripsEveryField) {
  NodeAdvert in{"node-b", 1234, 99, "[::1]:7338", {{"a", 1, 0, 0}, {"c.x", 7, 250000, 999}}};
  const SharedBuffer frame = encode_node_advert(in);
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame.data()[0], 0x24);
  std::string error;
  auto out = parse_node_advert(payload_of(frame), error);
  ASSERT_TRUE(out) << error;
  EXPECT_EQ(out->origin, in.origin);
  EXPECT_EQ(out->epoch, 1234u);
  EXPECT_EQ(out->sequence, 99u);
  EXPECT_EQ(out->address, in.address);
  EXPECT_EQ(out->links, in.links);
}

TEST(NodeAdvert, EveryTruncationAndAnyTrailingByteIsRejected) {
  const auto payload = payload_of(encode_node_advert(advert("b", 1, 2, {"a", "c"})));
  std::string error;
  for (std::size_t size = 0; size < payload.size(); ++size) {
    EXPECT_FALSE(parse_node_advert(std::span(payload).first(size), error)) << size;
    EXPECT_FALSE(error.empty());
  }
  auto longer = payload;
  longer.push_back(0);
  EXPECT_FALSE(parse_node_advert(longer, error));
  EXPECT_NE(error.find("longer"), std::string::npos) << error;
}

TEST(NodeAdvert, InvalidNamesTooManyLinksAndRepeatedPeersAreRejected) {
  std::string error;
  auto payload = payload_of(encode_node_advert(advert("b", 1, 2, {"a"})));
  auto bad_origin = payload;
  bad_origin[1] = ' ';  // "b" becomes " "
  EXPECT_FALSE(parse_node_advert(bad_origin, error));
  EXPECT_NE(error.find("invalid node name"), std::string::npos) << error;

  auto bad_peer = payload;
  bad_peer[payload.size() - 9] = '/';  // the peer "a"
  EXPECT_FALSE(parse_node_advert(bad_peer, error));
  EXPECT_NE(error.find("invalid peer"), std::string::npos) << error;

  auto twice = payload_of(encode_node_advert(advert("b", 1, 2, {"a", "a"})));
  EXPECT_FALSE(parse_node_advert(twice, error));
  EXPECT_NE(error.find("twice"), std::string::npos) << error;

  // A link count over the limit is refused from the count alone, before reading the links.
  auto many = payload_of(encode_node_advert(advert("b", 1, 2)));
  many[many.size() - 2] = 0x01;
  many[many.size() - 1] = 0x01;  // 257
  EXPECT_FALSE(parse_node_advert(many, error));
  EXPECT_NE(error.find("257 links"), std::string::npos) << error;

  // The encoder refuses what the parser would.
  std::vector<std::string> peers;
  for (std::size_t i = 0; i <= kMaxAdvertLinks; ++i)
    peers.push_back(std::string("n").append(std::to_string(i)));
  EXPECT_FALSE(encode_node_advert(advert("b", 1, 2, peers)));
  EXPECT_FALSE(encode_node_advert(advert(std::string(65, 'x'), 1, 2)));
  EXPECT_FALSE(encode_node_advert(NodeAdvert{"b", 1, 2, std::string(256, '1'), {}}));
  peers.pop_back();
  auto largest = encode_node_advert(advert("b", 1, 2, peers));
  ASSERT_TRUE(largest);
  EXPECT_TRUE(parse_node_advert(payload_of(largest), error)) << error;
}

TEST(LinkStateDb, KeepsOnlyNewerAdvertsByEpochThenSequence) {
  LinkStateDb db("self");
  const auto t = LinkStateDb::Clock::now();
  EXPECT_EQ(db.offer(advert("b", 10, 5, {"a"}), {}, t), LinkStateDb::Verdict::newer);
  EXPECT_EQ(db.offer(advert("b", 10, 5), {}, t), LinkStateDb::Verdict::stale);  // repeated
  EXPECT_EQ(db.offer(advert("b", 10, 4), {}, t), LinkStateDb::Verdict::stale);  // older
  EXPECT_EQ(db.find("b")->advert.links.size(), 1u);
  EXPECT_EQ(db.offer(advert("b", 10, 6), {}, t), LinkStateDb::Verdict::newer);
  EXPECT_TRUE(db.find("b")->advert.links.empty());
  // A restart: a later epoch wins even with a small sequence; the old epoch no longer does.
  EXPECT_EQ(db.offer(advert("b", 11, 1), {}, t), LinkStateDb::Verdict::newer);
  EXPECT_EQ(db.offer(advert("b", 10, 100), {}, t), LinkStateDb::Verdict::stale);
  EXPECT_EQ(db.offer(advert("self", 99, 1), {}, t), LinkStateDb::Verdict::own);
  EXPECT_EQ(db.size(), 1u);
}

TEST(LinkStateDb, EntriesNotRefreshedAgeOut) {
  LinkStateDb db("self");
  const auto t = LinkStateDb::Clock::now();
  db.offer(advert("b", 1, 1), {}, t);
  db.offer(advert("c", 1, 1), {}, t);
  db.offer(advert("c", 1, 2), {}, t + 20s);  // refreshed
  EXPECT_FALSE(db.expire(t));
  EXPECT_TRUE(db.expire(t + 10s));
  EXPECT_EQ(db.find("b"), nullptr);
  ASSERT_NE(db.find("c"), nullptr);
  EXPECT_EQ(db.size(), 1u);
}

TEST(LinkStateDb, HoldsNoMoreNodesThanItsLimit) {
  LinkStateDb db("self", 2);
  const auto t = LinkStateDb::Clock::now();
  EXPECT_EQ(db.offer(advert("a", 1, 1), {}, t), LinkStateDb::Verdict::newer);
  EXPECT_EQ(db.offer(advert("b", 1, 1), {}, t), LinkStateDb::Verdict::newer);
  EXPECT_EQ(db.offer(advert("c", 1, 1), {}, t), LinkStateDb::Verdict::stale);
  EXPECT_EQ(db.offer(advert("a", 1, 2), {}, t), LinkStateDb::Verdict::newer);  // known: fine
  EXPECT_EQ(db.size(), 2u);
}

// A map from "node: peer peer ..." lines, as the adverts of those nodes.
LinkStateDb map_of(const std::string &self, std::vector<std::string> lines) {
  LinkStateDb db(self);
  for (const std::string &line : lines) {
    const auto colon = line.find(':');
    std::vector<std::string> peers;
    std::string rest = line.substr(colon + 1);
    for (std::size_t at = 0; at < rest.size();) {
      const auto space = rest.find(' ', at);
      const auto end = space == std::string::npos ? rest.size() : space;
      if (end > at) peers.push_back(rest.substr(at, end - at));
      at = end + 1;
    }
    db.offer(advert(line.substr(0, colon), 1, 1, peers), {}, LinkStateDb::Clock::now());
  }
  return db;
}

// Own links of equal cost (one advert unit, as map_of's adverts give every link).
std::vector<RouteTable::OwnLink> own(const std::vector<std::string> &peers) {
  std::vector<RouteTable::OwnLink> out;
  for (const std::string &peer : peers)
    out.push_back({peer, cost_from_advert(1), true});
  return out;
}

std::map<std::string, std::string> next_hops(const RouteTable &table) {
  std::map<std::string, std::string> out;
  for (const auto &[node, route] : table.routes()) {
    std::string text = route.next_hop;
    text += '/';
    text += std::to_string(route.hops);
    out[node] = text;
  }
  return out;
}

TEST(RouteTable, FewestHopsThroughTheChain) {
  // a - b - c - d
  RouteTable table;
  table.compute("a", own({"b"}), map_of("a", {"b: a c", "c: b d", "d: c"}), 0);
  EXPECT_EQ(next_hops(table),
            (std::map<std::string, std::string>{{"b", "b/1"}, {"c", "b/2"}, {"d", "b/3"}}));
  EXPECT_FALSE(table.route_to("e"));
  EXPECT_EQ(table.route_to("d")->next_hop, "b");
}

TEST(RouteTable, TiesGoToTheLowestNextHopWhateverTheOrder) {
  // a links to c and b; both reach d in one more hop; e hangs off d.
  RouteTable table;
  table.compute("a", own({"c", "b"}), map_of("a", {"c: d a", "b: a d", "d: c b e", "e: d"}), 0);
  EXPECT_EQ(table.route_to("d")->next_hop, "b");
  EXPECT_EQ(table.route_to("d")->hops, 2u);
  EXPECT_EQ(table.route_to("e")->next_hop, "b");
  EXPECT_EQ(table.route_to("e")->hops, 3u);
  // A shorter path wins over a lower name: f is one hop from c only.
  table.compute("a", own({"b", "c"}), map_of("a", {"b: a x", "x: b f", "c: a f", "f: c x"}), 0);
  EXPECT_EQ(table.route_to("f")->next_hop, "c");
}

TEST(RouteTable, OnlyLinksBothEndsAdvertiseCount) {
  RouteTable table;
  // b claims c, c does not claim b: c is unreachable; a's own link to x has no advert from x.
  table.compute("a", own({"b", "x"}), map_of("a", {"b: a c", "c: d", "d: c"}), 0);
  EXPECT_EQ(next_hops(table), (std::map<std::string, std::string>{{"b", "b/1"}}));
  // b does not list a (its advert is older than the link): b is not reachable yet either.
  table.compute("a", own({"b"}), map_of("a", {"b: c", "c: b"}), 0);
  EXPECT_TRUE(table.routes().empty());
  // An advert of ours never comes from the map: only own_links says what a links to.
  table.compute("a", own({}), map_of("a", {"b: a"}), 0);
  EXPECT_TRUE(table.routes().empty());
}

TEST(RouteTable, CyclesAndSelfLoopsEndTheWalk) {
  RouteTable table;
  table.compute("a", own({"b", "c"}), map_of("a", {"b: a c b", "c: a b"}), 0);
  EXPECT_EQ(next_hops(table), (std::map<std::string, std::string>{{"b", "b/1"}, {"c", "c/1"}}));
}

}  // namespace
}  // namespace flume::overlay
