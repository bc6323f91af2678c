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

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "broker/broker.hpp"
#include "loop/event_loop.hpp"
#include "overlay/cluster_config.hpp"
#include "overlay/dedupe_window.hpp"
#include "overlay/interest_table.hpp"
#include "overlay/node_link.hpp"
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
  std::uint64_t adverts_rejected = 0;
  std::uint64_t links_dead = 0;  // closed because the probes showed the peer gone
};

struct LinkInfo {
  std::string peer_name;
  std::string peer_address;
  bool dialer = false;
  std::size_t peer_patterns = 0;
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

 private:
  struct Peer {
    std::string text;  // as configured
    std::string host;
    SocketAddress address;
    quic::Connection *connection = nullptr;  // the dial in progress or the link
    std::string known_name;                  // learnt from its NODE_HELLO
    TimerId redial;
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
  bool link_interest(NodeLink &link, bool add, std::string_view pattern) override;
  void link_message(NodeLink &link, const RouteHeader &route, std::string_view subject,
                    std::span<const std::uint8_t> message) override;

  static NodeLink *link_of(quic::Connection &connection) noexcept;
  void dial(Peer &peer);
  void schedule_redial(Peer &peer);
  void advertise(bool add, std::string_view pattern);
  void tick_links();  // every link's probes and liveness (cluster_node_state.cpp)

  EventLoop &loop_;
  broker::Broker &engine_;
  ClusterConfig config_;
  std::unique_ptr<quic::Endpoint> listener_;
  std::unique_ptr<quic::Endpoint> dialer_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::unordered_map<LinkId, std::unique_ptr<NodeLink>> links_;
  LinkId next_link_ = 1;
  InterestTable interest_;
  std::vector<std::string> local_patterns_;  // what we advertise, in the order it appeared
  DedupeWindow dedupe_;
  std::uint64_t node_id_ = 0;
  std::uint64_t epoch_ = 0;
  std::uint64_t sequence_ = 0;
  std::uint64_t advert_sequence_ = 0;
  std::vector<LinkId> matched_;
  LinkCounters closed_links_;  // counters of links already gone
  ClusterStats stats_;
  TimerId probe_timer_;
  bool hooked_ = false;
  bool closing_ = false;
};

}  // namespace flume::overlay
