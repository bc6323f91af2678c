// RouteTable by measured cost, with numbers alone and a fake clock: shortest paths over link
// costs, the best alternative, hysteresis (a hold time and a margin), immediate moves off an
// unusable or lost link, ties; and the routing RTT estimator fed a flapping link end to end.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "overlay/link_cost.hpp"
#include "overlay/link_measurement.hpp"
#include "overlay/link_state_db.hpp"
#include "overlay/route_table.hpp"

namespace flume::overlay {
namespace {

constexpr std::uint64_t kMs = 1'000'000;  // ns
constexpr std::uint64_t kUs = 1000;       // us per ms

// Adverts from "node: peer=ms peer=ms!" lines (ms: the link's one-way cost; "!": unusable).
LinkStateDb map_of(const std::string &self, const std::vector<std::string> &lines,
                   std::uint64_t sequence = 1) {
  LinkStateDb db(self);
  for (const std::string &line : lines) {
    const auto colon = line.find(':');
    NodeAdvert advert{line.substr(0, colon), 1, sequence, "", {}};
    std::string rest = line.substr(colon + 1);
    for (std::size_t at = 0; at < rest.size();) {
      const auto space = rest.find(' ', at);
      const auto end = space == std::string::npos ? rest.size() : space;
      std::string item = rest.substr(at, end - at);
      at = end + 1;
      if (item.empty()) continue;
      const auto eq = item.find('=');
      AdvertLink link{item.substr(0, eq)};
      const bool unusable = item.back() == '!';
      link.cost = advert_cost(std::stoull(item.substr(eq + 1)) * kUs);
      if (unusable) link.loss_permille = kUnusableLossPermille;
      advert.links.push_back(link);
    }
    db.offer(std::move(advert), {}, LinkStateDb::Clock::now());
  }
  return db;
}

RouteTable::OwnLink link(const std::string &peer, std::uint64_t ms, bool usable = true) {
  return {peer, ms * kUs, usable};
}

// The triangle: a - c direct, a - b - c through b.
LinkStateDb triangle(std::uint64_t ac, std::uint64_t ab, std::uint64_t bc,
                     std::uint64_t sequence = 1) {
  return map_of("a",
                {"b: a=" + std::to_string(ab) + " c=" + std::to_string(bc),
                 "c: a=" + std::to_string(ac) + " b=" + std::to_string(bc)},
                sequence);
}

TEST(RouteCost, ACheaperRelayWinsOverTheDirectLinkAndTheDirectOneIsTheAlternative) {
  RouteTable table;
  table.compute("a", {link("b", 20), link("c", 80)}, triangle(80, 20, 20), 0);
  const auto route = table.route_to("c");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->next_hop, "b");
  EXPECT_EQ(route->path, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(route->hops, 2u);
  EXPECT_EQ(route->cost_us, 40'000u);
  EXPECT_EQ(route->alternative, "c");
  EXPECT_EQ(route->alternative_path, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(route->alternative_cost_us, 80'000u);
  EXPECT_TRUE(table.changes().empty());  // a first route is not a change
}

TEST(RouteCost, ARiseMovesTheRouteOnlyAfterTheHoldTime) {
  RouteTable table;
  std::uint64_t t = 1000 * kMs;
  table.compute("a", {link("b", 20), link("c", 80)}, triangle(80, 20, 20, 1), t);
  ASSERT_EQ(table.route_to("c")->next_hop, "b");
  // b - c rises to 100 ms: through b costs 120, direct 80.
  const LinkStateDb raised = triangle(80, 20, 100, 2);
  table.compute("a", {link("b", 20), link("c", 80)}, raised, t);
  EXPECT_EQ(table.route_to("c")->next_hop, "b");
  EXPECT_EQ(table.route_to("c")->cost_us, 120'000u);
  table.compute("a", {link("b", 20), link("c", 80)}, raised, t + 300 * kMs);
  EXPECT_EQ(table.route_to("c")->next_hop, "b");  // held
  table.compute("a", {link("b", 20), link("c", 80)}, raised, t + 400 * kMs);
  EXPECT_EQ(table.route_to("c")->next_hop, "c");
  ASSERT_EQ(table.changes().size(), 1u);
  const RouteTable::Change &change = table.changes().back();
  EXPECT_EQ(change.destination, "c");
  EXPECT_EQ(change.from, "b");
  EXPECT_EQ(change.to, "c");
  EXPECT_EQ(change.from_cost_us, 120'000u);
  EXPECT_EQ(change.to_cost_us, 80'000u);
  EXPECT_EQ(change.reason, "cheaper by 40.0 ms for 400 ms");
  EXPECT_EQ(table.switches(), 1u);
}

TEST(RouteCost, ABetterPathThatDoesNotLastTheHoldOrTheMarginMovesNothing) {
  RouteTable table;
  std::uint64_t t = 1000 * kMs;
  table.compute("a", {link("b", 20), link("c", 80)}, triangle(80, 20, 20, 1), t);
  // Cheaper by 30 ms for 300 ms, then not: the hold starts again from zero.
  table.compute("a", {link("b", 20), link("c", 10)}, triangle(10, 20, 20, 2), t + 100 * kMs);
  table.compute("a", {link("b", 20), link("c", 10)}, triangle(10, 20, 20, 2), t + 400 * kMs);
  table.compute("a", {link("b", 20), link("c", 80)}, triangle(80, 20, 20, 3), t + 450 * kMs);
  table.compute("a", {link("b", 20), link("c", 10)}, triangle(10, 20, 20, 4), t + 500 * kMs);
  table.compute("a", {link("b", 20), link("c", 10)}, triangle(10, 20, 20, 4), t + 850 * kMs);
  EXPECT_EQ(table.route_to("c")->next_hop, "b");
  EXPECT_TRUE(table.changes().empty());
}

// The square a - b - d and a - c - d: two paths of two hops each.
LinkStateDb square(std::uint64_t bd, std::uint64_t cd, std::uint64_t sequence) {
  return map_of("a",
                {"b: a=10 d=" + std::to_string(bd), "c: a=10 d=" + std::to_string(cd),
                 "d: b=" + std::to_string(bd) + " c=" + std::to_string(cd)},
                sequence);
}

TEST(RouteCost, APathCheaperByLessThanTheMarginMovesNothingHoweverLong) {
  RouteTable table;
  const std::uint64_t t = 1000 * kMs;
  const std::vector<RouteTable::OwnLink> own = {link("b", 10), link("c", 10)};
  table.compute("a", own, square(30, 30, 1), t);  // a tie: b
  ASSERT_EQ(table.route_to("d")->next_hop, "b");
  // Through c cheaper by less than 10% (40 -> 37 ms) for 5 s: stays.
  for (std::uint64_t i = 0; i < 50; ++i)
    table.compute("a", own, square(30, 27, 2), t + i * 100 * kMs);
  EXPECT_EQ(table.route_to("d")->next_hop, "b");
  // By less than 2 ms on a fast path (3 -> 1.5 ms, 50%) for 5 s: stays.
  const std::vector<RouteTable::OwnLink> fast = {link("b", 1), link("c", 1)};
  LinkStateDb slow_b = map_of("a", {"b: a=1 d=2", "c: a=1 d=1", "d: b=2 c=1"}, 3);
  for (std::uint64_t i = 0; i < 50; ++i)
    table.compute("a", fast, slow_b, t + (50 + i) * 100 * kMs);
  EXPECT_EQ(table.route_to("d")->next_hop, "b");
  EXPECT_TRUE(table.changes().empty());
}

TEST(RouteCost, FewerHopsCheaperAtAllWinAfterTheHoldAndANewLinkAtOnce) {
  RouteTable table;
  const std::uint64_t t = 1000 * kMs;
  // Only a - b - c at first (a's link to c is not up yet): through b.
  table.compute("a", {link("b", 1)}, map_of("a", {"b: a=1 c=1", "c: b=1"}, 1), t);
  ASSERT_EQ(table.route_to("c")->next_hop, "b");
  // The direct link comes up, a little cheaper (1.5 against 2 ms, below the margin): a new
  // link, taken at once.
  const LinkStateDb mesh = map_of("a", {"b: a=1 c=1", "c: a=1 b=1"}, 2);
  table.compute("a", {link("b", 1), {"c", 1'500, true}}, mesh, t + 100 * kMs);
  EXPECT_EQ(table.route_to("c")->next_hop, "c");
  ASSERT_EQ(table.changes().size(), 1u);
  EXPECT_EQ(table.changes().back().reason, "new link");
  // Forced back through b (the direct link briefly unusable), then usable again at the old
  // cost: not a new link, but fewer hops and cheaper, so back after the hold.
  table.compute("a", {link("b", 1), {"c", 1'500, false}}, mesh, t + 200 * kMs);
  EXPECT_EQ(table.route_to("c")->next_hop, "b");
  table.compute("a", {link("b", 1), {"c", 1'500, true}}, mesh, t + 300 * kMs);
  table.compute("a", {link("b", 1), {"c", 1'500, true}}, mesh, t + 600 * kMs);
  EXPECT_EQ(table.route_to("c")->next_hop, "b");  // held
  table.compute("a", {link("b", 1), {"c", 1'500, true}}, mesh, t + 700 * kMs);
  EXPECT_EQ(table.route_to("c")->next_hop, "c");
  EXPECT_EQ(table.changes().back().reason, "fewer hops, cheaper by 0.5 ms for 400 ms");
}

TEST(RouteCost, AnUnusableFirstLinkMovesTheRouteAtOnce) {
  RouteTable table;
  table.compute("a", {link("b", 20), link("c", 80)}, triangle(80, 20, 20), 0);
  ASSERT_EQ(table.route_to("c")->next_hop, "b");
  table.compute("a", {link("b", 20, false), link("c", 80)}, triangle(80, 20, 20), 1);
  EXPECT_EQ(table.route_to("c")->next_hop, "c");
  EXPECT_EQ(table.route_to("b")->next_hop, "c");  // b itself, the long way round
  EXPECT_EQ(table.route_to("b")->path, (std::vector<std::string>{"a", "c", "b"}));
  ASSERT_EQ(table.changes().size(), 2u);
  EXPECT_EQ(table.changes().back().reason, "unusable");
  // The far end flagging it (loss_permille 1000 in its advert) counts as much as ours.
  RouteTable other;
  other.compute("a", {link("b", 20), link("c", 80)}, triangle(80, 20, 20, 1), 0);
  other.compute("a", {link("b", 20), link("c", 80)},
                map_of("a", {"b: a=20! c=20", "c: a=80 b=20"}, 2), 1);
  EXPECT_EQ(other.route_to("c")->next_hop, "c");
  // A link down (gone from our own links) too.
  RouteTable third;
  third.compute("a", {link("b", 20), link("c", 80)}, triangle(80, 20, 20), 0);
  third.compute("a", {link("c", 80)}, triangle(80, 20, 20), 1);
  EXPECT_EQ(third.route_to("c")->next_hop, "c");
  EXPECT_EQ(third.changes().back().reason, "link down");
  EXPECT_EQ(third.changes().back().from_cost_us, 40'000u);
}

TEST(RouteCost, UnusableLinksAreLeftOutAndAnUnreachableNodeLosesItsRoute) {
  RouteTable table;
  table.compute("a", {link("b", 20)}, map_of("a", {"b: a=20 c=20", "c: b=20"}), 0);
  ASSERT_EQ(table.route_to("c")->next_hop, "b");
  table.compute("a", {link("b", 20)}, map_of("a", {"b: a=20 c=20", "c: b=20!"}, 2), 1);
  EXPECT_FALSE(table.route_to("c"));
  ASSERT_EQ(table.changes().size(), 1u);
  EXPECT_EQ(table.changes().back().to, "");
  EXPECT_EQ(table.changes().back().reason, "no path");
  table.compute("a", {link("b", 20)}, map_of("a", {"b: a=20 c=20", "c: b=20"}, 3), 2);
  EXPECT_EQ(table.route_to("c")->next_hop, "b");
  EXPECT_EQ(table.changes().back().reason, "route found");
}

TEST(RouteCost, EqualPathsGoToTheLowestNextHopAndFewerHopsWinThroughTheHopCost) {
  RouteTable table;
  // a-b-d and a-c-d cost the same: b.
  table.compute("a", {link("c", 10), link("b", 10)},
                map_of("a", {"c: a=10 d=10", "b: a=10 d=10", "d: b=10 c=10"}), 0);
  EXPECT_EQ(table.route_to("d")->next_hop, "b");
  EXPECT_EQ(table.route_to("d")->alternative, "c");
  // Direct 20 ms against 10 + 10 through b: the per-hop cost makes the direct link cheaper.
  table.compute("a", {link("b", 10), link("c", 20)}, map_of("a", {"b: a=10 c=10", "c: a=20 b=10"}),
                0);
  EXPECT_EQ(link_cost_us(20'000 * 2, 0, 0), 20'500u);
  RouteTable fresh;
  fresh.compute("a",
                {{"b", link_cost_us(20'000, 0, 0), true}, {"c", link_cost_us(40'000, 0, 0), true}},
                LinkStateDb("a"), 0);
  LinkStateDb db("a");
  db.offer({"b", 1, 1, "", {{"a", advert_cost(10'500), 0, 0}, {"c", advert_cost(10'500), 0, 0}}},
           {}, LinkStateDb::Clock::now());
  db.offer({"c", 1, 1, "", {{"a", advert_cost(20'500), 0, 0}, {"b", advert_cost(10'500), 0, 0}}},
           {}, LinkStateDb::Clock::now());
  fresh.compute("a", {{"b", 10'500, true}, {"c", 20'500, true}}, db, 0);
  EXPECT_EQ(fresh.route_to("c")->next_hop, "c");  // 20.5 ms against 21 ms
}

TEST(LinkCost, HalfTheRttPlusLossTimesARecoveryPlusTheHopCost) {
  EXPECT_EQ(link_cost_us(40'000, 5'000, 0), 20'500u);
  // 10% loss: one in ten packets costs another RTT plus 4 RTTVAR (60 ms) more: +6 ms.
  EXPECT_EQ(link_cost_us(40'000, 5'000, 100), 26'500u);
  EXPECT_EQ(advert_cost(20'500), 205u);
  EXPECT_EQ(advert_cost(20'501), 206u);
  EXPECT_EQ(advert_cost(0), 1u);
  EXPECT_EQ(advert_cost(UINT64_MAX / 2), 65535u);
  EXPECT_TRUE(differs_by_margin(40'000, 35'999));
  EXPECT_FALSE(differs_by_margin(40'000, 36'000));
  EXPECT_FALSE(differs_by_margin(3'000, 1'000));  // 2 ms at least
  EXPECT_TRUE(differs_by_margin(3'000, 999));
  LinkEstimate none;
  EXPECT_EQ(link_cost_us(none, 1'000, 200), 1'000u);  // QUIC's RTT before any probe
}

// The whole chain with a flapping link: a - c alternates between 20 and 60 ms one way every
// 300 ms (probe RTTs of 40 and 120 ms, a little jitter), measured at 4 probes a second by a's
// LinkMeasurement; a - b - c is a steady 20 + 20 ms. Routes recomputed every 100 ms for 10 s,
// at several phases of the probes against the flapping: at most one switch.
TEST(RouteCost, AFlappingLinkDoesNotMakeRoutesFlap) {
  for (std::uint64_t phase_ms = 0; phase_ms < 300; phase_ms += 37) {
    SCOPED_TRACE("phase " + std::to_string(phase_ms) + " ms");
    LinkMeasurement m(4);
    RouteTable table;
    const std::uint64_t t0 = 1'000'000 * kMs;
    m.start(t0);
    std::uint64_t id = 0;
    std::uint64_t seed = 12345 + phase_ms;
    struct InFlight {
      std::uint64_t id;
      std::uint64_t answer_at;
    };
    std::vector<InFlight> flying;
    const LinkStateDb db = map_of("a", {"b: a=20 c=20", "c: a=40 b=20"});
    for (std::uint64_t t = t0; t < t0 + 10'000 * kMs; t += 10 * kMs) {
      if (m.probe_due(t)) {
        const std::uint64_t since = (t - t0) / kMs + phase_ms;
        const std::uint64_t one_way = (since / 300) % 2 == 0 ? 20 : 60;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::uint64_t jitter = (seed >> 33) % 3;  // 0-2 ms
        m.on_probe_sent(t, ++id, 0);
        flying.push_back({id, t + (2 * one_way + jitter) * kMs});
      }
      for (auto it = flying.begin(); it != flying.end();) {
        if (it->answer_at <= t) {
          m.on_probe_answered(t, it->id, 0);
          it = flying.erase(it);
        } else {
          ++it;
        }
      }
      m.expire(t);
      if ((t - t0) % (100 * kMs) == 0) {
        const std::uint64_t cost = link_cost_us(m.estimate(), 40'000, 10'000);
        table.compute("a", {{"b", 20'000, true}, {"c", cost, true}}, db, t);
      }
    }
    EXPECT_LE(table.switches(), 1u);
  }
}

// And a real rise on the direct link (20 -> 100 ms one way) is followed within 2 s: probes at
// 4/s, routes every 100 ms, the hold included.
TEST(RouteCost, ARealRiseMeasuredByProbesMovesTheRouteWithinTwoSeconds) {
  LinkMeasurement m(4);
  RouteTable table;
  const std::uint64_t t0 = 1'000'000 * kMs;
  m.start(t0);
  std::uint64_t id = 0;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> flying;  // id, answer at
  const LinkStateDb db = map_of("a", {"b: a=20 c=20", "c: a=20 b=20"});
  const std::uint64_t rise = t0 + 3000 * kMs;
  std::uint64_t moved = 0;
  for (std::uint64_t t = t0; t < t0 + 8000 * kMs && moved == 0; t += 10 * kMs) {
    if (m.probe_due(t)) {
      m.on_probe_sent(t, ++id, 0);
      flying.emplace_back(id, t + (t < rise ? 40 : 200) * kMs);
    }
    for (auto it = flying.begin(); it != flying.end();) {
      if (it->second <= t) {
        m.on_probe_answered(t, it->first, 0);
        it = flying.erase(it);
      } else {
        ++it;
      }
    }
    m.expire(t);
    if ((t - t0) % (100 * kMs) == 0) {
      table.compute("a", {{"b", 20'000, true}, {"c", link_cost_us(m.estimate(), 0, 0), true}}, db,
                    t);
      if (t < rise) {
        ASSERT_EQ(table.route_to("c")->next_hop, "c");
      } else if (table.route_to("c")->next_hop == "b") {
        moved = t;
      }
    }
  }
  ASSERT_NE(moved, 0u);
  EXPECT_LT(moved - rise, 1600 * kMs);  // 4 probes, the hold: room for an advert on the way
  EXPECT_LE(table.switches(), 1u);
}

}  // namespace
}  // namespace flume::overlay
