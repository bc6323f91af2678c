// The ClusterNode's link-state part: its own NODE_ADVERT (sent when its links change, when a
// link's cost or usability moves past the routing margin, and every advert_interval), flooding
// other nodes' adverts on, ageing them out, and dialling the nodes they make known
// (docs/overlay.md, "Routes"; docs/protocol.md 17.7).
#include <algorithm>
#include <chrono>

#include "log/log.hpp"
#include "net/host_port.hpp"
#include "overlay/cluster_node.hpp"
#include "overlay/link_cost.hpp"

namespace flume::overlay {

namespace {

bool wildcard(const std::string &address) {
  return address.rfind("0.0.0.0:", 0) == 0 || address.rfind("[::]:", 0) == 0;
}

}  // namespace

void ClusterNode::start_link_state() {
  advertise_address_ = config_.advertise;
  if (advertise_address_.empty()) {
    const std::string bound = listener_->local_address().to_string();
    if (!wildcard(bound)) advertise_address_ = bound;
  }
  update_own_interest(true);  // no link is up yet: this only makes the first frame
  advert_timer_ = loop_.add_timer([this] { on_advert_timer(); });
  loop_.arm_after(advert_timer_, config_.advert_interval);
}

bool ClusterNode::refused(const std::string &name) const {
  return !name.empty() && std::find(config_.refuse_peers.begin(), config_.refuse_peers.end(),
                                    name) != config_.refuse_peers.end();
}

std::size_t ClusterNode::link_count_up() const {
  return accepted_.size();
}

void ClusterNode::links_changed() {
  if (closing_) return;
  send_own_advert();
  recompute_routes();
}

RouteTable::OwnLink ClusterNode::own_route_link(const NodeLink &link) const {
  RouteTable::OwnLink out{link.peer_name(), 0, link.measurement().usable()};
  auto forced = config_.test_link_cost_us.find(link.peer_name());
  if (forced != config_.test_link_cost_us.end() && forced->second != 0) {
    out.cost_us = forced->second;
    return out;
  }
  // The dialer's own probe numbers, else those the dialer shared (flume-link-measurement),
  // else QUIC's RTT (link_cost_us).
  LinkEstimate estimate = link.measurement().estimate();
  if (estimate.settled == 0 && link.measurement().peer_estimate())
    estimate = *link.measurement().peer_estimate();
  const quic::ConnectionStats q = link.connection().stats();
  out.cost_us = link_cost_us(estimate, static_cast<std::uint64_t>(q.smoothed_rtt.count() / 1000),
                             static_cast<std::uint64_t>(q.rtt_variance.count() / 1000));
  return out;
}

// A link as this node advertises it: its routing cost (100 us units), the RTT and loss behind
// it, and loss_permille = 1000 for a link that is up but unusable (docs/protocol.md 17.7).
AdvertLink ClusterNode::advertised(const NodeLink &link) const {
  const RouteTable::OwnLink own = own_route_link(link);
  AdvertLink out{link.peer_name()};
  LinkEstimate estimate = link.measurement().estimate();
  if (estimate.settled == 0 && link.measurement().peer_estimate())
    estimate = *link.measurement().peer_estimate();
  const std::uint64_t rtt = estimate.route_rtt_us != 0 ? estimate.route_rtt_us : estimate.srtt_us;
  out.cost = advert_cost(own.cost_us);
  out.rtt_us = static_cast<std::uint32_t>(std::min<std::uint64_t>(rtt, UINT32_MAX));
  // At most 999: 1000 means unusable, not "every probe lost".
  out.loss_permille = static_cast<std::uint16_t>(
      estimate.settled == 0
          ? 0
          : std::min<std::uint64_t>(std::uint64_t{estimate.lost} * 1000 / estimate.settled, 999));
  if (!own.usable) out.loss_permille = kUnusableLossPermille;
  return out;
}

void ClusterNode::send_own_advert() {
  NodeAdvert advert;
  advert.origin = config_.node_name;
  advert.epoch = epoch_;
  advert.sequence = ++own_advert_sequence_;
  advert.address = advertise_address_;
  for (LinkId id : accepted_) {
    if (advert.links.size() < kMaxAdvertLinks) advert.links.push_back(advertised(*links_.at(id)));
  }
  std::sort(advert.links.begin(), advert.links.end(),
            [](const AdvertLink &a, const AdvertLink &b) { return a.peer < b.peer; });
  last_advertised_.clear();
  for (const AdvertLink &link : advert.links)
    last_advertised_.emplace(link.peer, link);
  last_advert_ns_ = EventLoop::now_ns();
  const SharedBuffer frame = encode_node_advert(advert);
  if (!frame) {
    FLUME_LOG(log::Level::error, "overlay", "cannot encode this node's NODE_ADVERT");
    return;
  }
  for (auto &[id, link] : links_)
    link->send_control(frame);
}

void ClusterNode::greet_with_link_state(NodeLink &link) {
  for (const auto &[name, entry] : link_state_.entries())
    link.send_control(entry.frame);
}

void ClusterNode::on_advert_timer() {
  if (closing_) return;
  const std::size_t before = link_state_.size();
  const auto cutoff = LinkStateDb::Clock::now() - 3 * config_.advert_interval;
  if (link_state_.expire(cutoff)) {
    stats_.node_adverts_expired += before - link_state_.size();
    forget_interest_of_unknown_nodes();
    link_state_changed();
  }
  send_own_advert();
  loop_.arm_after(advert_timer_, config_.advert_interval);
}

void ClusterNode::link_advert(NodeLink &from, std::span<const std::uint8_t> payload,
                              std::span<const std::uint8_t> whole) {
  std::string error;
  auto advert = parse_node_advert(payload, error);
  if (!advert) {
    ++stats_.node_adverts_rejected;
    FLUME_LOG(log::Level::warn, "overlay", "%s: %s: ignored", from.peer_name().c_str(),
              error.c_str());
    return;
  }
  SharedBuffer frame = SharedBuffer::copy_of(whole);
  if (!frame) return;
  if (link_state_.offer(std::move(*advert), frame, LinkStateDb::Clock::now()) !=
      LinkStateDb::Verdict::newer) {
    ++stats_.node_adverts_stale;
    return;
  }
  ++stats_.node_adverts_accepted;
  // Flood: every other link gets it once; they drop it when it comes round again (not newer).
  for (auto &[id, link] : links_) {
    if (link.get() != &from) link->send_control(frame);
  }
  link_state_changed();
}

void ClusterNode::link_state_changed() {
  recompute_routes();
  dial_learnt_nodes();
}

void ClusterNode::advertise_changes(std::uint64_t now) {
  bool changed = false;
  for (LinkId id : accepted_) {
    const AdvertLink now_link = advertised(*links_.at(id));
    auto last = last_advertised_.find(now_link.peer);
    if (last == last_advertised_.end()) continue;  // a new link: links_changed() sent it
    const bool was_usable = last->second.loss_permille < kUnusableLossPermille;
    const bool is_usable = now_link.loss_permille < kUnusableLossPermille;
    if (was_usable != is_usable ||
        differs_by_margin(cost_from_advert(last->second.cost), cost_from_advert(now_link.cost))) {
      changed = true;
      break;
    }
  }
  if (!changed) return;
  const auto gap = static_cast<std::uint64_t>(std::chrono::nanoseconds(kAdvertMinGap).count());
  if (now - last_advert_ns_ < gap) return;  // the next tick sends it when the gap allows
  ++stats_.adverts_on_change;
  send_own_advert();
}

void ClusterNode::set_test_link_cost(const std::string &peer, std::uint64_t cost_us) {
  config_.test_link_cost_us[peer] = cost_us;
  advertise_changes(EventLoop::now_ns());
  recompute_routes();
}

void ClusterNode::recompute_routes() {
  std::vector<RouteTable::OwnLink> own;
  for (LinkId id : accepted_)
    own.push_back(own_route_link(*links_.at(id)));
  const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  routes_.compute(config_.node_name, own, link_state_, EventLoop::now_ns(),
                  static_cast<std::uint64_t>(unix_ms));
  node_names_.clear();
  for (const auto &[node, entry] : link_state_.entries())
    node_names_.emplace(node_id_of(node), node);
}

void ClusterNode::dial_learnt_nodes() {
  if (closing_) return;
  for (const auto &[node, entry] : link_state_.entries()) {
    const std::string &name = node;
    const std::string &address = entry.advert.address;
    // One dial per pair: the node whose name sorts first dials (its link would win anyway).
    if (address.empty() || !(config_.node_name < name) || refused(name)) continue;
    auto known = std::find_if(peers_.begin(), peers_.end(), [&](const auto &peer) {
      return peer->known_name == name || peer->text == address;
    });
    if (known != peers_.end()) {
      Peer &peer = **known;
      // A learnt node that moved (restarted elsewhere) is dialled at its new address; one
      // whose dials stopped when it left the map is dialled again now it is back.
      if (peer.learnt && peer.connection == nullptr) {
        if (peer.text != address)
          peer.text.clear();  // re-parsed below
        else
          dial(peer);
      }
      if (!peer.learnt || !peer.text.empty()) continue;
    }
    HostPort parsed;
    std::string error;
    std::optional<SocketAddress> socket;
    if (parse_host_port(address, 1, parsed, error) && !parsed.host.empty())
      socket = parse_address(parsed.host, parsed.port.value_or(7338));
    if (!socket) {
      FLUME_LOG(log::Level::warn, "overlay",
                "%s advertises '%s', not a numeric address: not dialled", name.c_str(),
                address.c_str());
      continue;
    }
    Peer *p = nullptr;
    if (known != peers_.end()) {
      p = known->get();
    } else {
      peers_.push_back(std::make_unique<Peer>());
      p = peers_.back().get();
      p->redial = loop_.add_timer([this, p] { dial(*p); });
    }
    p->text = address;
    p->host = parsed.host;
    p->address = *socket;
    p->known_name = name;
    p->learnt = true;
    dial(*p);
  }
}

}  // namespace flume::overlay
