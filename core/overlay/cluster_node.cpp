#include "overlay/cluster_node.hpp"

#include <algorithm>
#include <chrono>

#include "broker/broker_frames.hpp"
#include "log/log.hpp"
#include "net/host_port.hpp"
#include "runtime/broker_server.hpp"
#include "tls/client_trust.hpp"
#include "tls/cluster_certificates.hpp"
#include "tls/server_credentials.hpp"

namespace flume::overlay {

namespace {

constexpr std::uint16_t kDefaultClusterPort = 7338;

void add(LinkCounters &total, const LinkCounters &one) {
  total.messages_forwarded += one.messages_forwarded;
  total.bytes_forwarded += one.bytes_forwarded;
  total.dropped_backlog += one.dropped_backlog;
  total.messages_received += one.messages_received;
  total.resent += one.resent;
  total.lost_on_link += one.lost_on_link;
}

}  // namespace

ClusterNode::ClusterNode(EventLoop &loop, broker::Broker &engine, ClusterConfig config)
    : loop_(loop),
      engine_(engine),
      config_(std::move(config)),
      local_interest_(config_.max_patterns_per_link),
      link_state_(config_.node_name),
      origin_interest_(config_.node_name, config_.max_patterns_per_link),
      reorder_([this](std::string_view subject,
                      const SharedBuffer &frame) { deliver_locally(subject, frame); },
               ReorderWindow::Limits{
                   static_cast<std::uint64_t>(
                       std::chrono::duration_cast<std::chrono::nanoseconds>(config_.reorder_window)
                           .count()),
                   config_.reorder_max_bytes, 16384}) {}

ClusterNode::~ClusterNode() {
  if (hooked_) engine_.set_cluster_hooks(nullptr);
  for (auto &peer : peers_) {
    if (peer->redial.valid()) loop_.remove_timer(peer->redial);
  }
  if (advert_timer_.valid()) loop_.remove_timer(advert_timer_);
  if (probe_timer_.valid()) loop_.remove_timer(probe_timer_);
  if (reorder_timer_.valid()) loop_.remove_timer(reorder_timer_);
  // The endpoints drop their connections without callbacks; the links go with this object.
  listener_.reset();
  dialer_.reset();
}

NodeLink *ClusterNode::link_of(quic::Connection &connection) noexcept {
  return static_cast<NodeLink *>(connection.user_data);
}

const SocketAddress &ClusterNode::local_address() const noexcept {
  return listener_->local_address();
}

std::error_code ClusterNode::open(std::string &message) {
  const auto invalid = std::make_error_code(std::errc::invalid_argument);
  if (!tls::valid_node_name(config_.node_name)) {
    message = "--node-name must be 1-64 letters, digits, '-', '_' or '.'";
    return invalid;
  }
  if (config_.ca_file.empty() || config_.certificate_file.empty() || config_.key_file.empty()) {
    message =
        "a cluster node needs --cluster-ca, --node-cert and --node-key "
        "(made by 'flume-broker cluster init-ca' and 'cluster issue-node')";
    return invalid;
  }
  if (config_.lanes == 0 || config_.lanes > kMaxLanes) {
    message = "--cluster-lanes must be 1 to 64";
    return invalid;
  }
  std::string error;
  auto credentials =
      tls::ServerCredentials::load_files(config_.certificate_file, config_.key_file, error);
  if (!credentials || !credentials->require_client_certificates(config_.ca_file, error)) {
    message = "node certificate: " + error;
    return invalid;
  }
  auto trust = tls::ClientTrust::from_ca_file_with_identity(
      config_.ca_file, config_.certificate_file, config_.key_file, error);
  if (!trust) {
    message = "node certificate: " + error;
    return invalid;
  }
  auto bind = parse_listen_address(config_.listen, error);
  if (!bind) {
    message = "--cluster-listen: " + error;
    return invalid;
  }
  for (const std::string &text : config_.peers) {
    HostPort parsed;
    if (!parse_host_port(text, 1, parsed, error) || parsed.host.empty()) {
      message = "--peer '" + text + "': " + (error.empty() ? "no host" : error);
      return invalid;
    }
    auto address = parse_address(parsed.host, parsed.port.value_or(kDefaultClusterPort));
    if (!address) {
      message = "--peer '" + text + "': '" + parsed.host +
                "' is not a numeric IPv4 or IPv6 address (or localhost)";
      return invalid;
    }
    auto peer = std::make_unique<Peer>();
    peer->text = text;
    peer->host = parsed.host;
    peer->address = *address;
    peers_.push_back(std::move(peer));
  }

  // Peers dial us: one lane stream per request plus the control stream, replenished as they
  // close; HTTP/3's three unidirectional streams (control, QPACK encoder and decoder) each way.
  quic::EndpointConfig server = quic::EndpointConfig::server(credentials);
  server.alpn = "h3";
  server.bind_address = *bind;
  server.max_peer_bidi_streams = 2 * kMaxLanes + 1;
  server.replenish_peer_bidi_streams = true;
  server.max_peer_uni_streams = 3;
  server.max_connections = config_.max_links + 8;
  server.keep_alive = std::chrono::seconds(1);
  listener_ = std::make_unique<quic::Endpoint>(loop_, server, *this);
  if (auto ec = listener_->open(&error)) {
    message = "cannot listen for nodes on " + config_.listen + ": " + error;
    return ec;
  }
  quic::EndpointConfig client = quic::EndpointConfig::client(trust);
  client.alpn = "h3";
  client.max_peer_bidi_streams = 0;
  client.max_peer_uni_streams = 3;
  client.keep_alive = std::chrono::seconds(1);
  dialer_ = std::make_unique<quic::Endpoint>(loop_, client, *this);
  if (auto ec = dialer_->open(&error)) {
    message = "cluster dialer: " + error;
    return ec;
  }

  node_id_ = node_id_of(config_.node_name);
  // The start time, in microseconds: new for each process, and larger for a later start, so
  // adverts of a restarted node supersede its old ones (docs/protocol.md 17.7).
  epoch_ = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  engine_.set_cluster_hooks(this);
  hooked_ = true;
  probe_timer_ = loop_.add_timer([this] { tick_links(); });
  reorder_timer_ = loop_.add_timer([this] { on_reorder_timer(); });
  tick_links();
  for (auto &peer : peers_) {
    Peer *p = peer.get();
    p->redial = loop_.add_timer([this, p] { dial(*p); });
    dial(*p);
  }
  start_link_state();
  return {};
}

void ClusterNode::close() {
  closing_ = true;
  if (hooked_) {
    engine_.set_cluster_hooks(nullptr);
    hooked_ = false;
  }
  for (auto &peer : peers_)
    loop_.disarm(peer->redial);
  if (advert_timer_.valid()) loop_.disarm(advert_timer_);
  if (probe_timer_.valid()) loop_.disarm(probe_timer_);
  if (reorder_timer_.valid()) loop_.disarm(reorder_timer_);
  reorder_armed_ = false;
  if (listener_) listener_->close_all(kH3NoError, "node shutting down", quic::CloseMode::flush);
  if (dialer_) dialer_->close_all(kH3NoError, "node shutting down", quic::CloseMode::flush);
}

void ClusterNode::dial(Peer &peer) {
  if (closing_ || peer.connection != nullptr) return;
  // A learnt node that left the map (its advert aged out) is not dialled until it is back.
  if (peer.learnt && link_state_.find(peer.known_name) == nullptr) return;
  if (refused(peer.known_name) || (peer.learnt && link_count_up() >= config_.learnt_dial_limit)) {
    schedule_redial(peer);
    return;
  }
  // A peer we already have a link with (it dialed us first) needs no second one.
  for (const auto &[id, link] : links_) {
    if (!peer.known_name.empty() && link->peer_name() == peer.known_name) {
      schedule_redial(peer);
      return;
    }
  }
  std::string error;
  peer.connection = dialer_->connect(peer.address, peer.host, &error);
  if (peer.connection == nullptr) {
    FLUME_LOG(log::Level::warn, "overlay", "cannot dial %s: %s", peer.text.c_str(), error.c_str());
    schedule_redial(peer);
  }
}

void ClusterNode::schedule_redial(Peer &peer) {
  if (!closing_) loop_.arm_after(peer.redial, config_.redial_interval);
}

void ClusterNode::on_connected(quic::Connection &connection) {
  if (closing_ || links_.size() >= config_.max_links) {
    connection.close(kH3ExcessiveLoad, "too many node links", quic::CloseMode::immediate);
    return;
  }
  NodeLink::Settings settings;
  settings.node_name = config_.node_name;
  settings.lanes = config_.lanes;
  settings.max_payload = engine_.config().max_payload;
  settings.max_lane_backlog = config_.max_lane_backlog;
  settings.epoch = epoch_;
  settings.probe_rate = config_.probe_rate;
  settings.resend_keep_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(config_.resend_keep).count());
  settings.resend_max_bytes = config_.resend_max_bytes;
  const LinkId id = next_link_++;
  auto link = std::make_unique<NodeLink>(id, connection, *this, settings);
  connection.user_data = link.get();
  NodeLink &ref = *link;
  links_.emplace(id, std::move(link));
  ref.start();
}

void ClusterNode::on_stream_data(quic::Connection &connection, std::int64_t stream_id,
                                 std::span<const std::uint8_t> data, bool fin) {
  if (NodeLink *link = link_of(connection)) link->on_stream_data(stream_id, data, fin);
}

void ClusterNode::on_stream_reset(quic::Connection &connection, std::int64_t stream_id,
                                  std::uint64_t app_error_code) {
  if (NodeLink *link = link_of(connection)) link->on_stream_reset(stream_id, app_error_code);
}

void ClusterNode::on_stream_closed(quic::Connection &connection, std::int64_t stream_id,
                                   std::uint64_t app_error_code) {
  if (NodeLink *link = link_of(connection)) link->on_stream_closed(stream_id, app_error_code);
}

void ClusterNode::on_closed(quic::Connection &connection, const quic::CloseInfo &info) {
  NodeLink *link = link_of(connection);
  connection.user_data = nullptr;
  if (link == nullptr && !info.handshake_completed) ++stats_.handshakes_failed;
  if (link != nullptr) {
    if (link->dead()) ++stats_.links_dead;
    drop_accepted(*link);
    add(closed_links_, link->counters());
    closed_links_evicted_ += link->sent_log().evicted();
    FLUME_LOG(log::Level::info, "overlay", "link with %s (%s) closed: %s",
              link->peer_name().empty() ? "?" : link->peer_name().c_str(),
              connection.peer_address().to_string().c_str(), info.message.c_str());
    links_.erase(link->id());
  } else if (!info.handshake_completed) {
    FLUME_LOG(log::Level::warn, "overlay", "node link to %s failed: %s",
              connection.peer_address().to_string().c_str(), info.message.c_str());
  }
  for (auto &peer : peers_) {
    if (peer->connection == &connection) {
      peer->connection = nullptr;
      schedule_redial(*peer);
    }
  }
}

void ClusterNode::link_closing(NodeLink &link) {
  // Closed from this end (dead, replaced, failed): the routes leave it at once, not when its
  // connection is gone, so no message is handed to a link that can no longer send it.
  drop_accepted(link);
}

bool ClusterNode::drop_accepted(NodeLink &link) {
  if (accepted_.erase(link.id()) == 0) return false;
  --stats_.links_up;
  if (!closing_) {
    // Routes without this link first, then what it had in flight goes out along them.
    links_changed();
    on_link_unusable(link);
  }
  return true;
}

bool ClusterNode::fail_link_for_test(const std::string &peer) {
  NodeLink *link = accepted_link_to(peer);
  if (link == nullptr) return false;
  link->close(kH3GeneralProtocolError, "failed on purpose (test)");
  return true;
}

void ClusterNode::link_up(NodeLink &link) {
  const std::string &name = link.peer_name();
  std::string refusal;
  if (name == config_.node_name) refusal = "a link to this node itself";
  if (refused(name)) refusal = "a link to a refused node (test setting refuse_peers)";
  for (const auto &[id, other] : links_) {
    if (other.get() == &link || accepted_.count(id) == 0 || other->peer_name() != name) continue;
    if (other->peer_epoch() != link.peer_epoch()) {
      // A new process of that node (it restarted): the old link is dead even if its QUIC
      // connection has not timed out yet. Keep the new one.
      ++stats_.links_replaced;
      other->close(kH3NoError, "replaced by a link to a new start of " + name);
      break;
    }
    // Both nodes dialed each other: keep the link dialed by the node whose name sorts first,
    // a rule both ends apply alike, so exactly one link survives.
    const bool keep_new = link.dialer() == (config_.node_name < name);
    if (keep_new) {
      other->close(kH3NoError, "duplicate link to " + name);
    } else {
      refusal = "duplicate link to " + name;
    }
    break;
  }
  if (link.dialer()) {
    for (auto &peer : peers_) {
      if (peer->connection == &link.connection()) peer->known_name = name;
    }
  }
  if (!refusal.empty()) {
    ++stats_.links_refused;
    link.close(kH3NoError, refusal);
    return;
  }
  ++stats_.links_up;
  accepted_.insert(link.id());
  FLUME_LOG(log::Level::info, "overlay", "link with %s (%s) up, %s", name.c_str(),
            link.connection().peer_address().to_string().c_str(),
            link.dialer() ? "dialed" : "accepted");
  greet_with_link_state(link);
  greet_with_interest(link);
  links_changed();
}

ClusterStats ClusterNode::stats() const {
  ClusterStats out = stats_;
  LinkCounters total = closed_links_;
  out.resend_evicted = closed_links_evicted_;
  for (const auto &[id, link] : links_) {
    add(total, link->counters());
    out.resend_evicted += link->sent_log().evicted();
  }
  out.messages_forwarded = total.messages_forwarded;
  out.dropped_backlog = total.dropped_backlog;
  out.resent = total.resent;
  out.lost_on_link = total.lost_on_link;
  out.lost_in_cluster = reorder_.lost();
  out.late = reorder_.late();
  out.reordered = reorder_.reordered();
  out.reorder_given_up_for_bytes = reorder_.given_up_for_bytes();
  out.reorder_held = reorder_.held_messages();
  out.reorder_held_bytes = reorder_.held_bytes();
  if (listener_) out.inbound_handshakes_failed = listener_->stats().handshake_failures;
  out.nodes_known = link_state_.size();
  return out;
}

std::vector<LinkInfo> ClusterNode::links() const {
  std::vector<LinkInfo> out;
  for (const auto &[id, link] : links_) {
    out.push_back(LinkInfo{link->peer_name(), link->connection().peer_address().to_string(),
                           link->dialer(), origin_interest_.patterns(link->peer_name()),
                           link->counters(), link->up(), link->measurement().estimate(),
                           link->measurement().peer_estimate(), link->connection().stats()});
  }
  std::sort(out.begin(), out.end(),
            [](const LinkInfo &a, const LinkInfo &b) { return a.peer_name < b.peer_name; });
  return out;
}

}  // namespace flume::overlay
