// An overlay node: a broker engine joined to its peers over node links (docs/overlay.md).
//
// Owns a QUIC server endpoint for the links peers dial (--cluster-listen) and a client endpoint
// for the links it dials (--peer), both mutual TLS with the cluster CA and ALPN h3; the
// NodeLinks on them; what each peer is interested in (InterestTable); and the dedupe window.
// It hooks into the broker engine (broker::ClusterHooks): local interest is advertised on every
// link, a local publish is forwarded on each link whose peer has matching interest (one copy per
// link), and a forwarded message is delivered to local subscribers once.
//
// This slice forwards only messages published locally, over direct links: every node must link
// to every other (the seeds make a full mesh). Relaying, link-state routing and measurement come
// next (docs/overlay.md, "Not yet").
//
// Loop thread only: the same loop as the broker engine.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "broker/broker.hpp"
#include "loop/event_loop.hpp"
#include "overlay/cluster_config.hpp"
#include "overlay/dedupe_window.hpp"
#include "overlay/interest_table.hpp"
#include "overlay/link_state_db.hpp"
#include "overlay/node_link.hpp"
#include "overlay/origin_interest.hpp"
#include "overlay/reorder_window.hpp"
#include "overlay/route_table.hpp"
#include "quic/endpoint.hpp"

namespace flume::overlay {

struct ClusterStats {
  std::uint64_t links_up = 0;           // links past both NODE_HELLOs, now
  std::uint64_t links_refused = 0;      // closed for a bad NODE_HELLO, duplicate or self link
  std::uint64_t handshakes_failed = 0;  // dials that never connected (refused, bad certificate)
  std::uint64_t inbound_handshakes_failed = 0;  // nodes that could not link to us (e.g. wrong CA)
  std::uint64_t messages_forwarded = 0;
  std::uint64_t dropped_backlog = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t messages_delivered = 0;  // fresh ones, handed to the local broker
  std::uint64_t duplicates = 0;
  std::uint64_t too_old = 0;
  std::uint64_t hop_limit_exceeded = 0;
  std::uint64_t own_messages_returned = 0;  // a message of ours came back (a loop)
  std::uint64_t messages_relayed = 0;       // copies sent on for other origins (in forwarded)
  std::uint64_t no_route = 0;               // an interested node with no route to it, per message
  std::uint64_t interest_accepted = 0;      // newer NODE_INTERESTs, kept and flooded on
  std::uint64_t interest_stale = 0;         // old, repeated or our own: dropped
  std::uint64_t interest_rejected = 0;      // malformed or invalid: dropped
  std::uint64_t node_adverts_accepted = 0;  // newer NODE_ADVERTs, kept and flooded on
  std::uint64_t node_adverts_stale = 0;     // old, repeated or our own: dropped
  std::uint64_t node_adverts_rejected = 0;  // malformed or invalid: dropped
  std::uint64_t node_adverts_expired = 0;   // entries that aged out
  std::uint64_t nodes_known = 0;            // other nodes in the link-state map, now
  std::uint64_t links_replaced = 0;         // a restarted peer's new link replaced its old one
  std::uint64_t links_dead = 0;             // closed because the probes showed the peer gone
  // LINK_DROPPED: messages other nodes' links dropped on the way here (counted as drops on the
  // matching local subscriptions), and notices refused (an invalid subject).
  std::uint64_t dropped_upstream = 0;
  std::uint64_t drop_notices_rejected = 0;
  // In-order delivery (docs/overlay.md, "Path switches"): numbers this node waited for in
  // vain (given up after the reorder window or for its byte bound), messages that came after
  // their number was given up (dropped), messages held and then delivered in order, and held now.
  std::uint64_t lost_in_cluster = 0;
  std::uint64_t late = 0;
  std::uint64_t reordered = 0;
  std::uint64_t reorder_given_up_for_bytes = 0;
  std::uint64_t reorder_held = 0;
  std::uint64_t reorder_held_bytes = 0;
  // Links that failed: (message, destination) pairs re-sent along other routes, and those that
  // could not be (the per-link numbers are in LinkCounters).
  std::uint64_t resent = 0;
  std::uint64_t lost_on_link = 0;
  // Copies pushed out of a link's resend log by its byte bound before their second was up:
  // had that link failed, they could not have been re-sent.
  std::uint64_t resend_evicted = 0;
};

struct LinkInfo {
  std::string peer_name;
  std::string peer_address;
  bool dialer = false;
  std::size_t peer_patterns = 0;  // in the peer node's NODE_INTEREST
  LinkCounters counters;
  bool up = false;
  LinkEstimate measured;                      // this node's probe numbers for the link
  std::optional<LinkEstimate> peer_measured;  // the peer's, from its flume-link-measurement
  quic::ConnectionStats quic;                 // QUIC's own estimates (RTT, lost packets)
};

class ClusterNode final : public quic::ConnectionHandler,
                          public broker::ClusterHooks,
                          public LinkOwner {
 public:
  ClusterNode(EventLoop &loop, broker::Broker &engine, ClusterConfig config);
  ~ClusterNode() override;
  ClusterNode(const ClusterNode &) = delete;
  ClusterNode &operator=(const ClusterNode &) = delete;

  // Loads the certificates, listens, hooks into the engine and starts dialing the peers.
  std::error_code open(std::string &message);
  // Closes every link (NO_ERROR) and stops dialing; the engine is unhooked.
  void close();

  const SocketAddress &local_address() const noexcept;
  const ClusterConfig &config() const noexcept { return config_; }
  ClusterStats stats() const;
  std::vector<LinkInfo> links() const;
  // The link-state map: the newest NODE_ADVERT of each other node.
  const LinkStateDb &link_state() const noexcept { return link_state_; }
  // Next hop to every reachable node (fewest hops over links both ends advertise).
  const RouteTable &routes() const noexcept { return routes_; }
  // Patterns in the newest NODE_INTEREST of `node` (0 when none is held).
  std::size_t patterns_of(const std::string &node) const { return origin_interest_.patterns(node); }

  // Test aid only: closes the link with `peer` at once (CloseMode::immediate, what it had not
  // sent is lost), as a failing link would be. False when there is no such link.
  bool fail_link_for_test(const std::string &peer);

 private:
  struct Peer {
    std::string text;  // as configured
    std::string host;
    SocketAddress address;
    quic::Connection *connection = nullptr;  // the dial in progress or the link
    std::string known_name;                  // learnt from its NODE_HELLO (or its advert)
    TimerId redial;
    bool learnt = false;  // from an advert, not a seed: dialled only below learnt_dial_limit
  };

  // quic::ConnectionHandler (both endpoints)
  void on_connected(quic::Connection &connection) override;
  void on_stream_data(quic::Connection &connection, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_stream_reset(quic::Connection &connection, std::int64_t stream_id,
                       std::uint64_t app_error_code) override;
  void on_stream_closed(quic::Connection &connection, std::int64_t stream_id,
                        std::uint64_t app_error_code) override;
  void on_closed(quic::Connection &connection, const quic::CloseInfo &info) override;

  // broker::ClusterHooks
  void on_interest_added(std::string_view pattern) override;
  void on_interest_removed(std::string_view pattern) override;
  void on_local_publish(CheckedSubject subject, std::span<const std::uint8_t> payload,
                        const SharedBuffer &message_frame) override;

  // LinkOwner
  std::string link_state_document() override;  // cluster_node_state.cpp
  void link_up(NodeLink &link) override;
  void link_closing(NodeLink &link) override;
  void link_message(NodeLink &link, const RouteHeader &route, std::string_view subject,
                    std::span<const std::uint8_t> message) override;
  void link_advert(NodeLink &link, std::span<const std::uint8_t> payload,
                   std::span<const std::uint8_t> whole) override;
  void link_node_interest(NodeLink &link, std::span<const std::uint8_t> payload,
                          std::span<const std::uint8_t> whole) override;
  void link_dropped(NodeLink &link, std::string_view subject,
                    const LinkDropped &dropped) override;  // cluster_forwarding.cpp

  // Interest and forwarding (cluster_forwarding.cpp).
  void update_own_interest(bool force);  // our aggregated patterns changed: a new NODE_INTEREST
  void greet_with_interest(NodeLink &link);
  void forget_interest_of_unknown_nodes();
  // Sends `route` + `message` one copy per next hop towards every node whose interest matches,
  // except `origin_name` and the link it came from.
  // next_hops_ := the next hops towards every node whose interest matches `subject`, except
  // `skip_node`, each once; returns how many such nodes have no route.
  std::size_t find_next_hops(std::string_view subject, const std::string &skip_node);
  NodeLink *accepted_link_to(const std::string &name);
  // The link of the next hop towards node id `node`, nullptr when there is none.
  NodeLink *next_link_towards(std::uint64_t node);
  struct Sent {
    std::uint64_t copies = 0;        // ROUTE + MESSAGE copies sent
    std::uint64_t destinations = 0;  // destinations listed in them
    std::uint64_t unrouted = 0;      // destinations with no next hop (or only `avoid`)
  };
  // Sends `message` once per next hop towards `destinations`, each copy's ROUTE (`route` with
  // its destinations replaced) listing only the destinations routed via that hop; never on
  // `avoid`. Every copy sent is kept in its link's sent_log().
  Sent send_towards(const RouteHeader &route, std::span<const RouteDestination> destinations,
                    std::string_view subject, const SharedBuffer &message, const NodeLink *avoid);
  // Hands a message to the local subscribers, in the order of the reorder window.
  void deliver_locally(std::string_view subject, const SharedBuffer &frame);
  void schedule_reorder_timer();
  void on_reorder_timer();
  // `link` failed (closed, dead) or turned unusable: what it sent within the resend window goes
  // out again along the current routes, to the destinations now routed via another link;
  // counted per link (resent, lost_on_link). Routes must no longer use `link` when called.
  void on_link_unusable(NodeLink &link);
  // Takes a closing or closed link out of accepted_ (and the routes, re-sending what it had in
  // flight); false when it was not there.
  bool drop_accepted(NodeLink &link);

  // Link state (cluster_link_state.cpp).
  void start_link_state();
  void links_changed();                        // our links went up or down: a new advert
  void send_own_advert();                      // to every link that is up
  void on_advert_timer();                      // refresh ours, age out others'
  void link_state_changed();                   // the map changed: dial new nodes
  void greet_with_link_state(NodeLink &link);  // a new neighbour gets the whole map
  void dial_learnt_nodes();
  void recompute_routes();
  bool refused(const std::string &name) const;
  std::size_t link_count_up() const;

  static NodeLink *link_of(quic::Connection &connection) noexcept;
  void dial(Peer &peer);
  void schedule_redial(Peer &peer);
  void tick_links();  // every link's probes and liveness (cluster_node_state.cpp)

  EventLoop &loop_;
  broker::Broker &engine_;
  ClusterConfig config_;
  std::unique_ptr<quic::Endpoint> listener_;
  std::unique_ptr<quic::Endpoint> dialer_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::unordered_map<LinkId, std::unique_ptr<NodeLink>> links_;
  LinkId next_link_ = 1;
  std::vector<std::string> local_patterns_;  // our local subscribers' patterns, each once
  InterestTable local_interest_;             // the same, to match relayed messages (key 0)
  std::vector<std::string> own_interest_;    // local_patterns_ aggregated, as last advertised
  std::uint64_t own_interest_sequence_ = 0;
  SharedBuffer own_interest_frame_;
  DedupeWindow dedupe_;
  std::uint64_t node_id_ = 0;
  std::uint64_t epoch_ = 0;
  std::uint64_t sequence_ = 0;
  std::vector<std::string> interested_;               // scratch, per message
  std::vector<std::string> next_hops_;                // scratch, per message: find_next_hops()
  std::vector<LinkId> local_matched_;                 // scratch, per message
  std::vector<RouteDestination> destinations_;        // scratch, per message
  std::vector<RouteDestination> relay_destinations_;  // scratch, per message
  // Per destination node: its id and the next number this node gives it (ROUTE dest_sequence)
  // in each order class.
  struct DestinationNumbers {
    std::uint64_t id = 0;
    std::array<std::uint64_t, kOrderClasses> next{};
  };
  std::unordered_map<std::string, DestinationNumbers> destination_numbers_;
  LinkCounters closed_links_;               // counters of links already gone
  std::uint64_t closed_links_evicted_ = 0;  // their SentLog::evicted()
  ClusterStats stats_;
  // Links that are up and were not refused (self, duplicate, refuse_peers): the ones counted
  // in links_up and listed in our advert.
  std::set<LinkId> accepted_;
  LinkStateDb link_state_;
  RouteTable routes_;
  std::unordered_map<std::uint64_t, std::string> node_names_;  // node_id_of(name) -> name
  OriginInterest origin_interest_;
  ReorderWindow reorder_;
  TimerId reorder_timer_;
  bool reorder_armed_ = false;
  std::string advertise_address_;
  std::uint64_t own_advert_sequence_ = 0;
  TimerId advert_timer_;
  TimerId probe_timer_;
  bool hooked_ = false;
  bool closing_ = false;
};

}  // namespace flume::overlay
