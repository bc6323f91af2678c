// Next hop towards every node of the cluster, from the link-state map: fewest hops (breadth-
// first), over links that both of their ends advertise, ties broken by the lowest next-hop
// name so every node computes the same paths from the same map. Sans-I/O; recomputed whole on
// every change (a cluster is tens of nodes, not thousands).
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "overlay/link_state_db.hpp"

namespace flume::overlay {

class RouteTable {
 public:
  struct Route {
    std::string next_hop;  // a node this one has a link with
    std::size_t hops = 0;  // 1: the destination is the next hop
  };

  // `self`: this node's name; `own_links`: the peers its links that are up lead to (its own
  // advert, which the map does not hold); `map`: every other node's newest advert.
  void compute(const std::string &self, const std::vector<std::string> &own_links,
               const LinkStateDb &map);

  // The route to `node`; nullopt when it is unknown or unreachable.
  std::optional<Route> route_to(const std::string &node) const;
  const std::map<std::string, Route> &routes() const noexcept { return routes_; }

 private:
  std::map<std::string, Route> routes_;
};

}  // namespace flume::overlay
