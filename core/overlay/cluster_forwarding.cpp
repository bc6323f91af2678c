// The ClusterNode's interest and forwarding part: its own NODE_INTEREST (the local patterns,
// aggregated), the other nodes' ones flooded and kept per origin, and messages sent one copy per
// next hop towards the nodes that want them, relayed on by the nodes in between
// (docs/overlay.md, "Routes"; docs/protocol.md 17.8).
#include <algorithm>
#include <deque>

#include "broker/broker_frames.hpp"
#include "log/log.hpp"
#include "overlay/cluster_node.hpp"
#include "overlay/pattern_cover.hpp"

namespace flume::overlay {

void ClusterNode::on_interest_added(std::string_view pattern) {
  try {
    local_patterns_.emplace_back(pattern);
    local_interest_.add(0, pattern);
    update_own_interest(false);
  } catch (...) {
    FLUME_LOG(log::Level::error, "overlay", "out of memory advertising a pattern");
  }
}

void ClusterNode::on_interest_removed(std::string_view pattern) {
  auto it = std::find(local_patterns_.begin(), local_patterns_.end(), pattern);
  if (it == local_patterns_.end()) return;
  local_patterns_.erase(it);
  local_interest_.remove(0, pattern);
  try {
    update_own_interest(false);
  } catch (...) {
    FLUME_LOG(log::Level::error, "overlay", "out of memory withdrawing a pattern");
  }
}

void ClusterNode::update_own_interest(bool force) {
  std::vector<std::string> aggregated = minimal_patterns(local_patterns_);
  if (!force && aggregated == own_interest_ && own_interest_frame_) return;
  NodeInterest interest{config_.node_name, epoch_, ++own_interest_sequence_, aggregated};
  SharedBuffer frame = encode_node_interest(interest);
  if (!frame) {
    // Too many patterns for one frame: everything is wanted instead. More traffic reaches this
    // node (its engine drops what no subscriber matches), never less.
    FLUME_LOG(log::Level::warn, "overlay",
              "%zu patterns do not fit in a NODE_INTEREST: advertising '>' instead",
              aggregated.size());
    interest.patterns = {">"};
    frame = encode_node_interest(interest);
    if (!frame) return;
  }
  own_interest_ = std::move(aggregated);
  own_interest_frame_ = frame;
  for (LinkId id : accepted_)
    links_.at(id)->send_control(frame);
}

void ClusterNode::greet_with_interest(NodeLink &link) {
  link.send_control(own_interest_frame_);  // made in start_link_state, even when empty
  for (const SharedBuffer &frame : origin_interest_.frames())
    link.send_control(frame);
}

void ClusterNode::link_node_interest(NodeLink &from, std::span<const std::uint8_t> payload,
                                     std::span<const std::uint8_t> whole) {
  std::string error;
  auto interest = parse_node_interest(payload, error);
  if (!interest) {
    ++stats_.interest_rejected;
    FLUME_LOG(log::Level::warn, "overlay", "%s: %s: ignored", from.peer_name().c_str(),
              error.c_str());
    return;
  }
  SharedBuffer frame = SharedBuffer::copy_of(whole);
  if (!frame) return;
  switch (origin_interest_.offer(*interest, frame)) {
    case OriginInterest::Verdict::stale:
    case OriginInterest::Verdict::own:
      ++stats_.interest_stale;
      return;
    case OriginInterest::Verdict::over_limit:
      ++stats_.interest_rejected;  // kept in part (or not at all): still flooded on, whole
      break;
    case OriginInterest::Verdict::newer:
      ++stats_.interest_accepted;
      break;
  }
  for (LinkId id : accepted_) {
    NodeLink *link = links_.at(id).get();
    if (link != &from) link->send_control(frame);
  }
}

void ClusterNode::forget_interest_of_unknown_nodes() {
  // A node whose advert aged out is gone: its interest goes with it.
  for (const std::string &origin : origin_interest_.origins()) {
    if (link_state_.find(origin) == nullptr) origin_interest_.forget(origin);
  }
}

NodeLink *ClusterNode::accepted_link_to(const std::string &name) {
  for (LinkId id : accepted_) {
    NodeLink *link = links_.at(id).get();
    if (link->peer_name() == name) return link;
  }
  return nullptr;
}

std::size_t ClusterNode::find_next_hops(std::string_view subject, const std::string &skip_node) {
  std::size_t unrouted = 0;
  origin_interest_.match(subject, interested_);
  next_hops_.clear();
  for (const std::string &node : interested_) {
    if (node == skip_node) continue;
    if (auto found = routes_.route_to(node)) {
      next_hops_.push_back(found->next_hop);
    } else {
      ++unrouted;
    }
  }
  std::sort(next_hops_.begin(), next_hops_.end());
  next_hops_.erase(std::unique(next_hops_.begin(), next_hops_.end()), next_hops_.end());
  return unrouted;
}

NodeLink *ClusterNode::next_link_towards(std::uint64_t node) {
  auto name = node_names_.find(node);
  if (name == node_names_.end()) return nullptr;
  auto route = routes_.route_to(name->second);
  return route ? accepted_link_to(route->next_hop) : nullptr;
}

ClusterNode::Sent ClusterNode::send_towards(const RouteHeader &route,
                                            std::span<const RouteDestination> destinations,
                                            std::string_view subject, const SharedBuffer &message,
                                            const NodeLink *avoid) {
  Sent sent;
  // Local, not a member: a link closing while this sends re-sends through here too.
  std::vector<std::pair<NodeLink *, std::vector<RouteDestination>>> hop_groups;
  for (const RouteDestination &destination : destinations) {
    NodeLink *link = next_link_towards(destination.node);
    if (link == nullptr || link == avoid) {
      ++sent.unrouted;
      continue;
    }
    auto group = std::find_if(hop_groups.begin(), hop_groups.end(),
                              [link](const auto &g) { return g.first == link; });
    if (group == hop_groups.end()) group = hop_groups.insert(hop_groups.end(), {link, {}});
    group->second.push_back(destination);
  }
  const std::uint64_t now = EventLoop::now_ns();
  for (auto &[link, group] : hop_groups) {
    for (std::size_t first = 0; first < group.size(); first += kMaxRouteDestinations) {
      const std::size_t last = std::min(group.size(), first + kMaxRouteDestinations);
      RouteHeader copy{route.origin, route.epoch, route.sequence, route.hop_limit, {}};
      copy.destinations.assign(group.begin() + static_cast<std::ptrdiff_t>(first),
                               group.begin() + static_cast<std::ptrdiff_t>(last));
      const SharedBuffer frame = encode_route(copy);
      if (!frame || !link->forward(subject, frame, message)) continue;  // counted by the link
      ++sent.copies;
      sent.destinations += copy.destinations.size();
      link->sent_log().record(now, std::move(copy), subject, message);
    }
  }
  return sent;
}

void ClusterNode::on_local_publish(CheckedSubject subject, std::span<const std::uint8_t> payload,
                                   const SharedBuffer &message_frame) {
  try {
    origin_interest_.match(subject.view(), interested_);
    if (interested_.empty()) return;
    const SharedBuffer message =
        message_frame ? message_frame : broker::message_frame(subject, payload);
    if (!message) return;
    // Each destination gets the next of its own numbers, so it sees gaps and order; a node with
    // no route gets none (counted in no_route here: nothing was sent that it could miss).
    destinations_.clear();
    const std::uint8_t order_class = order_class_of(subject.view());
    for (const std::string &node : interested_) {
      if (node == config_.node_name) continue;
      if (!routes_.route_to(node)) {
        ++stats_.no_route;
        continue;
      }
      DestinationNumbers &numbers = destination_numbers_[node];
      if (numbers.id == 0) numbers.id = node_id_of(node);
      destinations_.push_back({numbers.id, numbers.next[order_class]++});
    }
    if (destinations_.empty()) return;
    const RouteHeader route{node_id_, epoch_, ++sequence_, config_.hop_limit, {}};
    stats_.no_route +=
        send_towards(route, destinations_, subject.view(), message, nullptr).unrouted;
  } catch (...) {
    FLUME_LOG(log::Level::error, "overlay", "out of memory forwarding a message");
  }
}

void ClusterNode::link_message(NodeLink &from, const RouteHeader &route, std::string_view subject,
                               std::span<const std::uint8_t> message) {
  ++stats_.messages_received;
  if (route.origin == node_id_) {
    ++stats_.own_messages_returned;
    return;
  }
  if (route.hop_limit == 0) {
    ++stats_.hop_limit_exceeded;
    return;
  }
  try {
    SharedBuffer frame = SharedBuffer::copy_of(message);
    if (!frame) return;
    // Relay first, by the list and not by this node's view of interest: the nodes behind this
    // one should not wait for local delivery. A copy is relayed even when this node has seen
    // the message before (a re-send after a link failed lists only nodes that still need it);
    // lists only shrink and the hop limit falls, so copies cannot circle for ever.
    const RouteDestination *own = nullptr;
    relay_destinations_.clear();
    for (const RouteDestination &destination : route.destinations) {
      if (destination.node == node_id_) {
        own = &destination;
      } else {
        relay_destinations_.push_back(destination);
      }
    }
    if (!relay_destinations_.empty()) {
      if (route.hop_limit > 1) {
        RouteHeader next{route.origin,
                         route.epoch,
                         route.sequence,
                         static_cast<std::uint8_t>(route.hop_limit - 1),
                         {}};
        const Sent sent = send_towards(next, relay_destinations_, subject, frame, &from);
        stats_.no_route += sent.unrouted;
        stats_.messages_relayed += sent.copies;
      } else {
        ++stats_.hop_limit_exceeded;
      }
    }
    if (own == nullptr) return;  // only passing through
    switch (dedupe_.check(route.origin, route.epoch, route.sequence)) {
      case DedupeWindow::Verdict::duplicate:
        ++stats_.duplicates;
        return;
      case DedupeWindow::Verdict::too_old:
        ++stats_.too_old;
        return;
      case DedupeWindow::Verdict::fresh:
        break;
    }
    switch (reorder_.offer(route.origin, order_class_of(subject), route.epoch, own->sequence,
                           subject, frame, EventLoop::now_ns())) {
      case ReorderWindow::Verdict::held:
        schedule_reorder_timer();
        break;
      case ReorderWindow::Verdict::duplicate:
        ++stats_.duplicates;
        break;
      case ReorderWindow::Verdict::delivered:
      case ReorderWindow::Verdict::late:  // counted by the window
        break;
    }
  } catch (...) {
    FLUME_LOG(log::Level::error, "overlay", "out of memory relaying a message");
  }
}

void ClusterNode::deliver_locally(std::string_view subject, const SharedBuffer &frame) {
  local_interest_.match(subject, local_matched_);
  if (local_matched_.empty()) return;  // the subscribers left since this node's last interest
  ++stats_.messages_delivered;
  engine_.deliver_forwarded(CheckedSubject::from_decoded_frame(subject), frame);
}

void ClusterNode::schedule_reorder_timer() {
  if (reorder_armed_ || !reorder_timer_.valid()) return;
  const auto due = reorder_.next_deadline();
  if (!due) return;
  const std::uint64_t now = EventLoop::now_ns();
  // At least 5 ms apart: expiry scans what is held, so a burst of gaps costs one scan per tick.
  const std::uint64_t wait = std::max<std::uint64_t>(*due > now ? *due - now : 0, 5'000'000);
  loop_.arm_after(reorder_timer_, std::chrono::nanoseconds(wait));
  reorder_armed_ = true;
}

void ClusterNode::on_reorder_timer() {
  reorder_armed_ = false;
  try {
    reorder_.expire(EventLoop::now_ns());
  } catch (...) {
    FLUME_LOG(log::Level::error, "overlay", "out of memory delivering held messages");
  }
  schedule_reorder_timer();
}

void ClusterNode::on_link_unusable(NodeLink &link) {
  std::deque<SentCopy> copies = link.sent_log().take(EventLoop::now_ns());
  if (copies.empty()) return;
  std::uint64_t resent = 0;
  std::uint64_t lost = 0;
  try {
    for (const SentCopy &copy : copies) {
      const Sent sent =
          send_towards(copy.route, copy.route.destinations, copy.subject, copy.message, &link);
      resent += sent.destinations;
      lost += copy.route.destinations.size() - sent.destinations;
    }
  } catch (...) {
    FLUME_LOG(log::Level::error, "overlay", "out of memory re-sending a failed link's messages");
  }
  link.count_failover(resent, lost);
  FLUME_LOG(log::Level::info, "overlay",
            "link with %s unusable: %llu of its recent messages re-sent along other routes, %llu "
            "not (no other route)",
            link.peer_name().c_str(), static_cast<unsigned long long>(resent),
            static_cast<unsigned long long>(lost));
}

void ClusterNode::link_dropped(NodeLink &from, std::string_view subject,
                               const LinkDropped &dropped) {
  SubjectError error = SubjectError::ok;
  const std::optional<CheckedSubject> checked = CheckedSubject::check(subject, error);
  if (!checked) {
    ++stats_.drop_notices_rejected;
    return;
  }
  stats_.dropped_upstream += dropped.count;
  try {
    // On towards the other interested nodes behind this one: their subscribers missed these too.
    if (dropped.hop_limit > 1) {
      const SharedBuffer relayed = encode_link_dropped(
          subject, LinkDropped{dropped.count, static_cast<std::uint8_t>(dropped.hop_limit - 1)});
      find_next_hops(subject, config_.node_name);
      for (const std::string &hop : next_hops_) {
        NodeLink *link = accepted_link_to(hop);
        if (link != nullptr && link != &from && relayed) link->send_control(relayed);
      }
    }
  } catch (...) {
    FLUME_LOG(log::Level::error, "overlay", "out of memory relaying a LINK_DROPPED");
  }
  local_interest_.match(subject, local_matched_);
  if (!local_matched_.empty()) engine_.count_cluster_drops(*checked, dropped.count);
}

}  // namespace flume::overlay
