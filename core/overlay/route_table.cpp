#include "overlay/route_table.hpp"

#include <algorithm>
#include <set>

namespace flume::overlay {

void RouteTable::compute(const std::string &self, const std::vector<std::string> &own_links,
                         const LinkStateDb &map) {
  routes_.clear();
  // What each node says it links to; ours from our own links.
  auto advertised = [&](const std::string &node) -> std::vector<std::string> {
    if (node == self) return own_links;
    std::vector<std::string> out;
    if (const LinkStateDb::Entry *entry = map.find(node)) {
      for (const AdvertLink &link : entry->advert.links)
        out.push_back(link.peer);
    }
    return out;
  };
  auto lists = [&](const std::string &node, const std::string &peer) {
    if (node == self) return std::find(own_links.begin(), own_links.end(), peer) != own_links.end();
    const LinkStateDb::Entry *entry = map.find(node);
    if (entry == nullptr) return false;
    return std::any_of(entry->advert.links.begin(), entry->advert.links.end(),
                       [&](const AdvertLink &link) { return link.peer == peer; });
  };

  // Level by level: a node first reached at distance d+1 takes the lowest next hop among its
  // neighbours at distance d, whatever order they were visited in.
  std::set<std::string> frontier = {self};
  std::set<std::string> seen = {self};
  std::map<std::string, std::string> next_hop;  // of the nodes in the frontier
  for (std::size_t hops = 1; !frontier.empty(); ++hops) {
    std::map<std::string, std::string> reached;
    for (const std::string &node : frontier) {
      for (const std::string &peer : advertised(node)) {
        if (seen.count(peer) != 0 || !lists(peer, node)) continue;  // both ends, or no link
        const std::string &via = node == self ? peer : next_hop[node];
        auto [it, fresh] = reached.emplace(peer, via);
        if (!fresh && via < it->second) it->second = via;
      }
    }
    frontier.clear();
    for (auto &[peer, via] : reached) {
      seen.insert(peer);
      frontier.insert(peer);
      routes_[peer] = Route{via, hops};
    }
    next_hop = std::move(reached);
  }
}

std::optional<RouteTable::Route> RouteTable::route_to(const std::string &node) const {
  auto it = routes_.find(node);
  if (it == routes_.end()) return std::nullopt;
  return it->second;
}

}  // namespace flume::overlay
