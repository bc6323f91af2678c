// Next hop towards every node of the cluster, by measured cost (docs/overlay.md, "Routes").
//
// Shortest paths (Dijkstra) over link costs (link_cost.hpp), over links that both of their ends
// advertise and neither flags unusable. A link X->Y costs what X says (X's advert entry for Y;
// ours from our live measurement). For every destination the table keeps the cheapest path
// through each of our neighbours, so it knows the best path, the best alternative through
// another next hop, and what the path through the current next hop costs now.
//
// Hysteresis, per destination: the current next hop is kept unless
//  (a) it has no path any more (its link went down, or is unusable): the best path is taken at
//      once; or
//  (b) another path is cheaper by more than max(10%, 2 ms) of the current path's cost
//      (differs_by_margin) continuously for kHoldTime, and its gain beyond that margin, summed
//      over that time, reaches kGainToSwitch: then the best path is taken. The sum makes the
//      hold longer for a path only just past the margin (1 ms past it: 2 s) and leaves it at
//      400 ms for a clear gain (5 ms or more past it): a link whose estimate swings around the
//      alternative's cost (a link alternating faster than the estimator's window) does not
//      move routes back and forth, while a real rise moves them within 2 s.
//  (c) a link that was not up at the last computation gives a cheaper path (by any amount):
//      taken at once (a change of the graph, not noise);
//  (d) a path with fewer hops is cheaper (by any amount) continuously for kHoldTime: taken
//      (relaying costs the relay; without this a route chosen while links came up one by one
//      would stay on a relay that is a little costlier, below the margin, forever).
// Ties go to the lowest next-hop name (nodes with the same map choose the same first routes).
//
// Sans-I/O: the caller passes the map, its own links' costs and the time. Recomputed whole on
// every change and every ~100 ms (a cluster is tens of nodes, not thousands).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "overlay/link_state_db.hpp"

namespace flume::overlay {

class RouteTable {
 public:
  // Why the flapping test link (20 <-> 60 ms every 300 ms) holds: 400 ms is more than one of
  // its phases, and a route moves in under 2 s after a real rise (4 probes + an advert + this).
  static constexpr std::chrono::milliseconds kHoldTime{400};
  // Gain beyond the margin times how long it lasted, microseconds x milliseconds (2 ms x 1 s).
  static constexpr std::uint64_t kGainToSwitch = 2'000'000;
  static constexpr std::size_t kMaxChanges = 32;

  // One of this node's links, as routing sees it.
  struct OwnLink {
    std::string peer;
    std::uint64_t cost_us = 0;
    bool usable = true;
  };

  struct Route {
    std::string next_hop;           // a node this one has a link with
    std::size_t hops = 0;           // 1: the destination is the next hop
    std::vector<std::string> path;  // this node first, the destination last
    std::uint64_t cost_us = 0;      // of that path, now
    std::string alternative;        // the best next hop other than next_hop ("" = none)
    std::uint64_t alternative_cost_us = 0;
    std::vector<std::string> alternative_path;
  };

  struct Change {
    std::uint64_t unix_ms = 0;  // when, milliseconds since the Unix epoch
    std::string destination;
    std::string from;  // "" = no route before
    std::string to;    // "" = no route now
    std::uint64_t from_cost_us = 0;
    std::uint64_t to_cost_us = 0;
    std::string reason;  // "unusable", "link down", "no path", "cheaper by X ms for 400 ms", ...
  };

  // `self`: this node's name; `own`: its links that are up (its own advert, which the map does
  // not hold) with their live costs; `map`: every other node's newest advert. `now_ns`: any
  // monotonic clock (the hold time); `unix_ms`: the wall clock for the change log.
  void compute(const std::string &self, const std::vector<OwnLink> &own, const LinkStateDb &map,
               std::uint64_t now_ns, std::uint64_t unix_ms = 0);

  // The route to `node`; null when it is unknown or unreachable. Valid until the next
  // compute() (a pointer, not a copy: forwarding asks once per message and destination).
  const Route *route_to(const std::string &node) const;
  const std::map<std::string, Route> &routes() const noexcept { return routes_; }
  // The last kMaxChanges changes of next hop, oldest first.
  const std::deque<Change> &changes() const noexcept { return changes_; }
  std::uint64_t switches() const noexcept { return switches_; }

 private:
  struct Pending {
    std::uint64_t since_ns = 0;  // a cheaper path has been cheaper by the margin since then
    std::uint64_t last_ns = 0;   // the last computation that saw it so
    std::uint64_t gain = 0;      // sum of (gain beyond the margin, us) x (time, ms)
  };
  void record(Change change);

  std::map<std::string, Route> routes_;
  std::map<std::string, Pending> pending_;
  std::set<std::string> ever_routed_;
  std::set<std::string> own_peers_;  // our links at the last computation
  std::deque<Change> changes_;
  std::uint64_t switches_ = 0;
};

}  // namespace flume::overlay
