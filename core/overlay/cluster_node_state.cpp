// The ClusterNode's probe clock and its state document (GET kStatePath, docs/protocol.md 17.9;
// printed by `flume overlay`).
#include <chrono>
#include <cstdio>
#include <string>

#include "log/log.hpp"
#include "overlay/cluster_node.hpp"
#include "overlay/overlay_resources.hpp"

namespace flume::overlay {

namespace {

// Probes are due every 100 ms at the fastest rate (10/s); a finer tick keeps their spacing even
// and notices a dead link within ~50 ms of its deadline, for a few hundred wake-ups a minute.
constexpr std::chrono::milliseconds kProbeTick{50};
constexpr std::uint64_t kRouteEvery = 2;  // ticks: routes recomputed every 100 ms

void append_string(std::string &out, std::string_view text) {
  out += '"';
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", u);
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

void append_field(std::string &out, std::string_view name, std::uint64_t value) {
  append_string(out, name);
  out += ':';
  out += std::to_string(value);
}

void append_estimate(std::string &out, const LinkEstimate &e) {
  out += '{';
  append_field(out, "rate", e.rate);
  out += ',';
  append_field(out, "srtt_us", e.srtt_us);
  out += ',';
  append_field(out, "rttvar_us", e.rttvar_us);
  out += ',';
  append_field(out, "lost", e.lost);
  out += ',';
  append_field(out, "settled", e.settled);
  out += ',';
  append_field(out, "cost_bytes_per_second", e.cost_bytes_per_second);
  out += ',';
  append_field(out, "probes_sent", e.probes_sent);
  out += ',';
  append_field(out, "probes_answered", e.probes_answered);
  out += '}';
}

void append_path(std::string &out, const std::vector<std::string> &path) {
  out += '[';
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (i > 0) out += ',';
    append_string(out, path[i]);
  }
  out += ']';
}

std::uint64_t micros(std::chrono::nanoseconds ns) {
  return static_cast<std::uint64_t>(ns.count() / 1000);
}

}  // namespace

void ClusterNode::tick_links() {
  if (closing_) return;
  const std::uint64_t now = EventLoop::now_ns();
  // A tick may close a link, and a closed link leaves links_: walk a copy of the ids.
  std::vector<LinkId> ids;
  ids.reserve(links_.size());
  for (const auto &[id, link] : links_)
    ids.push_back(id);
  bool usability_changed = false;
  std::vector<LinkId> turned_unusable;
  for (LinkId id : ids) {
    auto it = links_.find(id);
    if (it == links_.end()) continue;
    NodeLink &link = *it->second;
    const bool was_usable = link.measurement().usable();
    link.tick(now);
    // The tick may have closed the link (dead): then on_closed dealt with it.
    if (links_.count(id) == 0 || link.measurement().usable() == was_usable) continue;
    usability_changed = true;
    const auto bound = std::chrono::duration_cast<std::chrono::milliseconds>(
        link.measurement().unusable_after(link.dialer()));
    if (was_usable) {
      ++stats_.links_unusable;
      FLUME_LOG(log::Level::warn, "overlay", "link_unusable: %s: %s for %lld ms",
                link.peer_name().c_str(), link.dialer() ? "a probe unanswered" : "no probe arrived",
                static_cast<long long>(bound.count()));
    } else {
      ++stats_.links_usable_again;
      FLUME_LOG(log::Level::info, "overlay", "link_usable_again: %s: %u probes in a row",
                link.peer_name().c_str(), LinkMeasurement::kUsableAfter);
    }
    if (was_usable && accepted_.count(id) != 0) turned_unusable.push_back(id);
  }
  // Routes follow the live link costs (and the hold time runs out) between adverts: every
  // kRouteEvery ticks, or at once when a link turned (un)usable.
  if (usability_changed || ++ticks_ % kRouteEvery == 0) recompute_routes();
  advertise_changes(now);
  // After the routes moved, so what is sent again takes the new paths.
  for (LinkId id : turned_unusable) {
    auto it = links_.find(id);
    if (it != links_.end()) on_link_unusable(*it->second);
  }
  loop_.arm_after(probe_timer_, kProbeTick);
}

std::string ClusterNode::link_state_document() {
  std::string out = "{\"node\":{";
  append_string(out, "name");
  out += ':';
  append_string(out, config_.node_name);
  out += ",\"epoch\":";
  char epoch[24];
  std::snprintf(epoch, sizeof epoch, "%016llx", static_cast<unsigned long long>(epoch_));
  append_string(out, epoch);
  out += ",\"cluster_address\":";
  append_string(out, listener_ ? listener_->local_address().to_string() : std::string());
  out += ",\"peers\":[";
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    if (i > 0) out += ',';
    append_string(out, peers_[i]->text);
  }
  out += "],\"probe_rate\":" + std::to_string(config_.probe_rate) + "},\"stats\":{";
  const ClusterStats s = stats();
  append_field(out, "links_up", s.links_up);
  out += ',';
  append_field(out, "links_dead", s.links_dead);
  out += ',';
  append_field(out, "links_unusable", s.links_unusable);
  out += ',';
  append_field(out, "links_usable_again", s.links_usable_again);
  out += ',';
  append_field(out, "route_switches", s.route_switches);
  out += ',';
  append_field(out, "messages_forwarded", s.messages_forwarded);
  out += ',';
  append_field(out, "messages_received", s.messages_received);
  out += ',';
  append_field(out, "messages_delivered", s.messages_delivered);
  out += ',';
  append_field(out, "duplicates", s.duplicates);
  out += "},\"links\":[";
  bool first = true;
  for (const auto &[id, link] : links_) {
    // Connections that only ask for this document (flume overlay) are not links.
    if (link->peer_name().empty()) continue;
    if (!first) out += ',';
    first = false;
    out += '{';
    append_string(out, "peer");
    out += ':';
    append_string(out, link->peer_name());
    out += ",\"address\":";
    append_string(out, link->connection().peer_address().to_string());
    out += ",\"direction\":";
    append_string(out, link->dialer() ? "dialed" : "accepted");
    out += ",\"state\":";
    append_string(out, link->up() ? "up" : "starting");
    out += ",\"usable\":";
    out += link->measurement().usable() ? "true" : "false";
    out += ',';
    append_field(out, "cost_us", own_route_link(*link).cost_us);
    out += ",\"measured\":";
    append_estimate(out, link->measurement().estimate());
    out += ",\"peer_measured\":";
    if (const auto &peer = link->measurement().peer_estimate()) {
      append_estimate(out, *peer);
    } else {
      out += "null";
    }
    const quic::ConnectionStats q = link->connection().stats();
    out += ",\"quic\":{";
    append_field(out, "srtt_us", micros(q.smoothed_rtt));
    out += ',';
    append_field(out, "rttvar_us", micros(q.rtt_variance));
    out += ',';
    append_field(out, "min_rtt_us", micros(q.min_rtt));
    out += ',';
    append_field(out, "packets_lost", q.packets_lost);
    out += ',';
    append_field(out, "packets_sent", q.packets_sent);
    out += ',';
    append_field(out, "bytes_sent", q.bytes_sent);
    out += ',';
    append_field(out, "bytes_received", q.bytes_received);
    out += "},\"counters\":{";
    const LinkCounters &c = link->counters();
    append_field(out, "messages_forwarded", c.messages_forwarded);
    out += ',';
    append_field(out, "bytes_forwarded", c.bytes_forwarded);
    out += ',';
    append_field(out, "dropped_backlog", c.dropped_backlog);
    out += ',';
    append_field(out, "messages_received", c.messages_received);
    // The interest of the node at the other end (its NODE_INTEREST, flooded to all).
    out += "},\"interest\":[";
    const std::vector<std::string> patterns =
        origin_interest_.patterns_of(link->peer_name(), kMaxPatternsInState);
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      if (i > 0) out += ',';
      append_string(out, patterns[i]);
    }
    out += "],\"interest_count\":" + std::to_string(origin_interest_.patterns(link->peer_name())) +
           '}';
  }
  // Every other node this one knows of (from NODE_ADVERTs): where it is, its links as it
  // advertised them, the next hop towards it, and its interest.
  out += "],\"nodes\":[";
  first = true;
  for (const auto &[name, entry] : link_state_.entries()) {
    if (!first) out += ',';
    first = false;
    out += '{';
    append_string(out, "name");
    out += ':';
    append_string(out, name);
    out += ",\"address\":";
    append_string(out, entry.advert.address);
    out += ",\"links\":[";
    for (std::size_t i = 0; i < entry.advert.links.size(); ++i) {
      const AdvertLink &advertised = entry.advert.links[i];
      if (i > 0) out += ',';
      out += '{';
      append_string(out, "peer");
      out += ':';
      append_string(out, advertised.peer);
      out += ',';
      append_field(out, "cost", advertised.cost);
      out += ',';
      append_field(out, "rtt_us", advertised.rtt_us);
      out += ',';
      append_field(out, "loss_permille", advertised.loss_permille);
      out += '}';
    }
    out += "],\"next_hop\":";
    // The route and why: its path and cost, and the best path through another next hop.
    if (const auto route = routes_.route_to(name)) {
      append_string(out, route->next_hop);
      out += ",\"hops\":" + std::to_string(route->hops);
      out += ",\"path\":";
      append_path(out, route->path);
      out += ',';
      append_field(out, "cost_us", route->cost_us);
      out += ",\"alternative\":";
      if (route->alternative.empty()) {
        out += "null,\"alternative_path\":null,\"alternative_cost_us\":null";
      } else {
        append_string(out, route->alternative);
        out += ",\"alternative_path\":";
        append_path(out, route->alternative_path);
        out += ',';
        append_field(out, "alternative_cost_us", route->alternative_cost_us);
      }
    } else {
      out +=
          "null,\"hops\":null,\"path\":null,\"cost_us\":null,\"alternative\":null,"
          "\"alternative_path\":null,\"alternative_cost_us\":null";
    }
    out += ",\"interest\":[";
    const std::vector<std::string> patterns =
        origin_interest_.patterns_of(name, kMaxPatternsInState);
    for (std::size_t i = 0; i < patterns.size(); ++i) {
      if (i > 0) out += ',';
      append_string(out, patterns[i]);
    }
    out += "],\"interest_count\":" + std::to_string(origin_interest_.patterns(name)) + '}';
  }
  // The last route changes, oldest first.
  out += "],\"route_changes\":[";
  first = true;
  for (const RouteTable::Change &change : routes_.changes()) {
    if (!first) out += ',';
    first = false;
    out += '{';
    append_field(out, "unix_ms", change.unix_ms);
    out += ",\"destination\":";
    append_string(out, change.destination);
    out += ",\"from\":";
    append_string(out, change.from);
    out += ",\"to\":";
    append_string(out, change.to);
    out += ',';
    append_field(out, "from_cost_us", change.from_cost_us);
    out += ',';
    append_field(out, "to_cost_us", change.to_cost_us);
    out += ",\"reason\":";
    append_string(out, change.reason);
    out += '}';
  }
  out += "],\"local_interest\":[";
  for (std::size_t i = 0; i < local_patterns_.size() && i < kMaxPatternsInState; ++i) {
    if (i > 0) out += ',';
    append_string(out, local_patterns_[i]);
  }
  out += "]}";
  return out;
}

}  // namespace flume::overlay
