#include "overlay/route_table.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <queue>
#include <unordered_map>
#include <utility>

#include "overlay/link_cost.hpp"

namespace flume::overlay {

namespace {

constexpr std::uint64_t kInfinity = std::numeric_limits<std::uint64_t>::max();

// The cluster's graph as routing sees it: node i's usable links to j with i's cost for them.
struct Graph {
  std::vector<std::string> names;  // index 0: this node
  std::unordered_map<std::string, std::size_t> index;
  std::vector<std::vector<std::pair<std::size_t, std::uint64_t>>> edges;
};

// How node `from` sees its link to `to`: listed or not, usable, its cost.
struct Claim {
  bool listed = false;
  bool usable = false;
  std::uint64_t cost_us = 0;
};

Claim claim_of(const std::string &self, const std::vector<RouteTable::OwnLink> &own,
               const LinkStateDb &map, const std::string &from, const std::string &to) {
  if (from == self) {
    for (const RouteTable::OwnLink &link : own) {
      if (link.peer == to) return {true, link.usable, link.cost_us};
    }
    return {};
  }
  const LinkStateDb::Entry *entry = map.find(from);
  if (entry == nullptr) return {};
  for (const AdvertLink &link : entry->advert.links) {
    if (link.peer == to)
      return {true, link.loss_permille < kUnusableLossPermille, cost_from_advert(link.cost)};
  }
  return {};
}

Graph graph_of(const std::string &self, const std::vector<RouteTable::OwnLink> &own,
               const LinkStateDb &map) {
  Graph g;
  g.names.push_back(self);
  for (const auto &[name, entry] : map.entries()) {
    if (name != self) g.names.push_back(name);
  }
  for (std::size_t i = 0; i < g.names.size(); ++i)
    g.index.emplace(g.names[i], i);
  g.edges.resize(g.names.size());
  auto peers_of = [&](const std::string &node) {
    std::vector<std::string> out;
    if (node == self) {
      for (const RouteTable::OwnLink &link : own)
        out.push_back(link.peer);
    } else if (const LinkStateDb::Entry *entry = map.find(node)) {
      for (const AdvertLink &link : entry->advert.links)
        out.push_back(link.peer);
    }
    return out;
  };
  for (std::size_t i = 0; i < g.names.size(); ++i) {
    for (const std::string &peer : peers_of(g.names[i])) {
      auto j = g.index.find(peer);
      if (j == g.index.end() || j->second == i) continue;
      // Both ends list the link, and neither calls it unusable.
      const Claim mine = claim_of(self, own, map, g.names[i], peer);
      const Claim theirs = claim_of(self, own, map, peer, g.names[i]);
      if (!mine.listed || !theirs.listed || !mine.usable || !theirs.usable) continue;
      g.edges[i].emplace_back(j->second, std::max<std::uint64_t>(mine.cost_us, 1));
    }
  }
  return g;
}

// The cheapest path to every node whose first link is 0 -> `first`, never back through 0.
// `dist`/`pred` are indexed like the graph.
void paths_through(const Graph &g, std::size_t first, std::uint64_t first_cost,
                   std::vector<std::uint64_t> &dist, std::vector<std::size_t> &pred) {
  dist.assign(g.names.size(), kInfinity);
  pred.assign(g.names.size(), 0);
  using Item = std::pair<std::uint64_t, std::size_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
  dist[first] = first_cost;
  queue.emplace(first_cost, first);
  while (!queue.empty()) {
    const auto [d, node] = queue.top();
    queue.pop();
    if (d != dist[node]) continue;
    for (const auto &[next, cost] : g.edges[node]) {
      if (next == 0) continue;
      const std::uint64_t through = d + cost;
      if (through < dist[next]) {
        dist[next] = through;
        pred[next] = node;
        queue.emplace(through, next);
      }
    }
  }
}

std::string cheaper_reason(std::uint64_t by_us, std::uint64_t for_ms) {
  char text[96];
  std::snprintf(text, sizeof text, "cheaper by %.1f ms for %llu ms", double(by_us) / 1000.0,
                static_cast<unsigned long long>(for_ms));
  return text;
}

struct Candidate {
  std::string next_hop;
  std::uint64_t cost_us = 0;
  std::vector<std::string> path;
};

}  // namespace

void RouteTable::compute(const std::string &self, const std::vector<OwnLink> &own,
                         const LinkStateDb &map, std::uint64_t now_ns, std::uint64_t unix_ms) {
  const Graph g = graph_of(self, own, map);

  // Per destination, the cheapest path through each neighbour, cheapest first (ties: name).
  std::map<std::string, std::vector<Candidate>> candidates;
  std::vector<std::uint64_t> dist;
  std::vector<std::size_t> pred;
  for (const auto &[first, first_cost] : g.edges[0]) {
    paths_through(g, first, first_cost, dist, pred);
    for (std::size_t dest = 1; dest < g.names.size(); ++dest) {
      if (dist[dest] == kInfinity) continue;
      Candidate c{g.names[first], dist[dest], {}};
      // Bounded: each step moves to a node settled earlier, at most names.size() of them.
      for (std::size_t at = dest, steps = 0; steps <= g.names.size(); ++steps) {
        c.path.push_back(g.names[at]);
        if (at == first) break;
        at = pred[at];
      }
      c.path.push_back(self);
      std::reverse(c.path.begin(), c.path.end());
      candidates[g.names[dest]].push_back(std::move(c));
    }
  }
  for (auto &[dest, list] : candidates) {
    std::sort(list.begin(), list.end(), [](const Candidate &a, const Candidate &b) {
      return a.cost_us != b.cost_us ? a.cost_us < b.cost_us : a.next_hop < b.next_hop;
    });
  }

  auto own_link = [&](const std::string &peer) -> const OwnLink * {
    for (const OwnLink &link : own) {
      if (link.peer == peer) return &link;
    }
    return nullptr;
  };

  std::map<std::string, Route> next;
  for (const auto &[dest, list] : candidates) {
    const Candidate &best = list.front();
    const Candidate *chosen = &best;
    auto old = routes_.find(dest);
    if (old == routes_.end()) {
      if (ever_routed_.count(dest) != 0)
        record({unix_ms, dest, "", best.next_hop, 0, best.cost_us, "route found"});
      ever_routed_.insert(dest);
      pending_.erase(dest);
    } else {
      const std::string &current = old->second.next_hop;
      auto kept = std::find_if(list.begin(), list.end(),
                               [&](const Candidate &c) { return c.next_hop == current; });
      if (kept == list.end()) {
        // (a) No path through the current next hop any more: move at once.
        const OwnLink *link = own_link(current);
        const char *why = link == nullptr ? "link down" : !link->usable ? "unusable" : "no path";
        record({unix_ms, dest, current, best.next_hop, old->second.cost_us, best.cost_us, why});
        pending_.erase(dest);
      } else if (best.next_hop != current && best.cost_us < kept->cost_us &&
                 own_peers_.count(best.next_hop) == 0) {
        // (c) A link that just came up gives a cheaper path: a change of the graph, not
        // noise, so taken at once (else a route chosen while the links came up one by one
        // would stay on a relay that is only a little costlier, forever).
        record({unix_ms, dest, current, best.next_hop, kept->cost_us, best.cost_us, "new link"});
        pending_.erase(dest);
      } else if (best.next_hop != current && best.cost_us < kept->cost_us &&
                 (differs_by_margin(kept->cost_us, best.cost_us) ||
                  best.path.size() < kept->path.size())) {
        // (b) Something is cheaper by the margin, or (d) cheaper at all with fewer hops: only
        // after it has stayed so for the hold (and for (b), the summed gain).
        const bool fewer_hops =
            best.path.size() < kept->path.size() && !differs_by_margin(kept->cost_us, best.cost_us);
        auto [pending, fresh] = pending_.emplace(dest, Pending{now_ns, now_ns, 0});
        Pending &p = pending->second;
        const std::uint64_t beyond =
            fewer_hops ? 0 : kept->cost_us - best.cost_us - margin_us(kept->cost_us);
        if (!fresh && now_ns > p.last_ns) {
          const std::uint64_t elapsed_ms = (now_ns - p.last_ns) / 1'000'000;
          p.gain = std::min<std::uint64_t>(p.gain + beyond * elapsed_ms, kGainToSwitch);
          p.last_ns = now_ns;
        }
        const auto hold = static_cast<std::uint64_t>(std::chrono::nanoseconds(kHoldTime).count());
        if (now_ns - p.since_ns >= hold && (fewer_hops || p.gain >= kGainToSwitch)) {
          record({unix_ms, dest, current, best.next_hop, kept->cost_us, best.cost_us,
                  (fewer_hops ? "fewer hops, " : "") +
                      cheaper_reason(kept->cost_us - best.cost_us,
                                     (now_ns - p.since_ns) / 1'000'000)});
          pending_.erase(dest);
        } else {
          chosen = &*kept;
        }
      } else {
        pending_.erase(dest);
        chosen = &*kept;
      }
    }
    Route route{
        chosen->next_hop, chosen->path.size() - 1, chosen->path, chosen->cost_us, {}, 0, {}};
    for (const Candidate &c : list) {
      if (c.next_hop == chosen->next_hop) continue;
      route.alternative = c.next_hop;
      route.alternative_cost_us = c.cost_us;
      route.alternative_path = c.path;
      break;
    }
    next.emplace(dest, std::move(route));
  }
  for (const auto &[dest, route] : routes_) {
    if (next.count(dest) != 0) continue;
    const OwnLink *link = own_link(route.next_hop);
    const char *why = link == nullptr ? "link down" : !link->usable ? "unusable" : "no path";
    record({unix_ms, dest, route.next_hop, "", route.cost_us, 0, why});
    pending_.erase(dest);
  }
  routes_ = std::move(next);
  own_peers_.clear();
  for (const OwnLink &link : own)
    own_peers_.insert(link.peer);
  // Destinations that left the map entirely are forgotten (bounded by the map's size).
  for (auto it = ever_routed_.begin(); it != ever_routed_.end();) {
    if (map.find(*it) == nullptr && routes_.count(*it) == 0)
      it = ever_routed_.erase(it);
    else
      ++it;
  }
}

void RouteTable::record(Change change) {
  if (!change.from.empty() && !change.to.empty()) ++switches_;
  changes_.push_back(std::move(change));
  while (changes_.size() > kMaxChanges)
    changes_.pop_front();
}

const RouteTable::Route *RouteTable::route_to(const std::string &node) const {
  auto it = routes_.find(node);
  return it == routes_.end() ? nullptr : &it->second;
}

}  // namespace flume::overlay
