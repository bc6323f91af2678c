// The ClusterNode's interest and forwarding part: its own NODE_INTEREST (the local patterns,
// aggregated), the other nodes' ones flooded and kept per origin, and messages sent one copy per
// next hop towards the nodes that want them, relayed on by the nodes in between
// (docs/overlay.md, "Routes"; docs/protocol.md 17.8).
#include <algorithm>

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

void ClusterNode::forward_to_interested(std::string_view subject, const SharedBuffer &route,
                                        const SharedBuffer &message, const NodeLink *from,
                                        const std::string &origin_name) {
  stats_.no_route += find_next_hops(subject, origin_name);
  for (const std::string &hop : next_hops_) {
    NodeLink *link = accepted_link_to(hop);
    if (link == nullptr || link == from) continue;
    if (link->forward(subject, route, message) && from != nullptr) ++stats_.messages_relayed;
  }
}

void ClusterNode::on_local_publish(CheckedSubject subject, std::span<const std::uint8_t> payload,
                                   const SharedBuffer &message_frame) {
  try {
    origin_interest_.match(subject.view(), interested_);
    if (interested_.empty()) return;
    const SharedBuffer message =
        message_frame ? message_frame : broker::message_frame(subject, payload);
    const SharedBuffer route =
        encode_route(RouteHeader{node_id_, epoch_, ++sequence_, config_.hop_limit});
    if (!message || !route) return;
    forward_to_interested(subject.view(), route, message, nullptr, config_.node_name);
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
  try {
    SharedBuffer frame = SharedBuffer::copy_of(message);
    if (!frame) return;
    // Relay first: the nodes behind this one should not wait for local delivery.
    auto origin = node_names_.find(route.origin);
    const std::string &origin_name = origin == node_names_.end() ? std::string() : origin->second;
    origin_interest_.match(subject, interested_);
    if (!interested_.empty()) {
      if (route.hop_limit > 1) {
        RouteHeader next = route;
        --next.hop_limit;
        const SharedBuffer relayed = encode_route(next);
        if (relayed) forward_to_interested(subject, relayed, frame, &from, origin_name);
      } else if (interested_.size() > 1 || interested_.front() != origin_name) {
        ++stats_.hop_limit_exceeded;
      }
    }
    local_interest_.match(subject, local_matched_);
    if (local_matched_.empty()) return;  // only passing through
    ++stats_.messages_delivered;
    engine_.deliver_forwarded(CheckedSubject::from_decoded_frame(subject), frame);
  } catch (...) {
    FLUME_LOG(log::Level::error, "overlay", "out of memory relaying a message");
  }
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
