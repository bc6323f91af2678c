// A QUIC endpoint on ngtcp2 for either role.
//
// Server: one UDP socket serves every connection. Datagrams are read in batches (recvmmsg, at
// most kMaxReadBatches per wake-up so one busy socket cannot starve the loop) and dispatched by
// destination connection ID; unknown versions get Version Negotiation, unknown short-header
// packets a (rate-limited) stateless reset, new Initials a connection, a Retry (when too many
// handshakes are in flight) or a refusal (at max_connections).
// Client: connect() gives each connection its own connected socket, so ICMP errors reach it.
//
// Writing: send() and every read or timer only schedule a write pass; one pass per loop
// iteration writes each connection's packets into a shared TxBatch (GSO runs, sendmmsg for the
// rest), so the syscall count grows with the number of batches, not packets. Pacing and every
// other timer come from ngtcp2's expiry, one loop timer per connection.
//
// Not thread-safe: an Endpoint, its Connections and its handler belong to the loop thread.
// Other threads reach it through EventLoop::post(). The handler must not destroy the Endpoint
// from inside a callback.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "loop/event_loop.hpp"
#include "net/udp_socket.hpp"
#include "quic/connection.hpp"
#include "quic/connection_handler.hpp"
#include "quic/connection_id.hpp"
#include "quic/endpoint_config.hpp"
#include "quic/tx_batch.hpp"

namespace flume::quic {

class QuicSocket;

struct EndpointStats {
  std::uint64_t datagrams_received = 0;
  std::uint64_t datagrams_sent = 0;     // including stateless replies
  std::uint64_t datagrams_dropped = 0;  // unparseable, truncated, or for nobody
  std::uint64_t recv_syscalls = 0;
  std::uint64_t send_syscalls = 0;
  std::uint64_t gso_sends = 0;  // send syscalls that carried several packets via UDP_SEGMENT
  std::uint64_t write_flushes = 0;
  std::uint64_t connections_accepted = 0;
  std::uint64_t handshake_failures = 0;           // server connections that never completed
  std::uint64_t connections_refused = 0;          // at max_connections
  std::uint64_t refused_address_connections = 0;  // the address at max_connections_per_address
  std::uint64_t refused_address_rate = 0;         // a proven address over its handshake rate
  std::uint64_t dropped_address_rate = 0;      // unanswered: over the rate and the Retry rate too
  std::uint64_t retries_for_address_rate = 0;  // Retry asked of an address over its rate
  std::uint64_t retries_sent = 0;
  std::uint64_t invalid_tokens = 0;
  std::uint64_t version_negotiations_sent = 0;
  std::uint64_t stateless_resets_sent = 0;
};

class Endpoint {
 public:
  static constexpr int kMaxReadBatches = 16;  // recvmmsg calls per wake-up (64 datagrams each)

  Endpoint(EventLoop &loop, EndpointConfig config, ConnectionHandler &handler);
  // Drops every connection at once: no packets, no callbacks. For a graceful end call
  // close_all() and let the loop run until connection_count() is 0 first.
  ~Endpoint();
  Endpoint(const Endpoint &) = delete;
  Endpoint &operator=(const Endpoint &) = delete;

  // Validates the config; a server binds and starts listening. `message` (if given) gets a
  // readable explanation on failure.
  std::error_code open(std::string *message = nullptr);

  // Client role: starts connecting to `server`. `server_name` is what the certificate must name
  // (and the SNI if it is a DNS name); empty means the server's IP address. Returns nullptr (with
  // `error` set, and no callback ever) if it cannot even start; otherwise the outcome arrives as
  // on_connected, or on_closed (refused/unreachable, handshake_timeout, certificate_rejected,
  // alpn_mismatch, …) within the handshake timeout. `socket_error`, if given, gets the errno
  // when this side could not make its UDP socket (EMFILE: out of descriptors), else 0.
  Connection *connect(const SocketAddress &server, std::string_view server_name,
                      std::string *error = nullptr, int *socket_error = nullptr);

  // Closes every connection with an application error (each gets on_closed).
  void close_all(std::uint64_t app_error, std::string_view reason,
                 CloseMode mode = CloseMode::immediate);
  // Closes, at once, the connections whose handshake has not completed: a shutting-down server
  // has nothing to finish with them, and a client that vanished mid-handshake would otherwise
  // hold the shutdown until the handshake timeout.
  void close_handshaking(std::uint64_t app_error, std::string_view reason);

  // Connections not yet closed (handshaking ones included).
  std::size_t connection_count() const noexcept { return live_connections_; }
  // Server: the bound address (with the real port after binding port 0).
  const SocketAddress &local_address() const noexcept { return local_address_; }
  const EndpointConfig &config() const noexcept { return config_; }
  ConnectionHandler &handler() const noexcept { return handler_; }
  EventLoop &loop() const noexcept { return loop_; }
  EndpointStats stats() const noexcept;

 private:
  friend class Connection;
  friend struct ConnectionCallbacks;

  // --- server receive path (endpoint_dispatch.cpp) ---
  void on_listen_readable();
  void dispatch(const ReceivedDatagram &datagram, std::uint64_t now);
  void accept(const ReceivedDatagram &datagram, std::uint64_t now);
  void send_version_negotiation(const ngtcp2_version_cid &vc, const ReceivedDatagram &datagram);
  void send_retry(const ngtcp2_pkt_hd &hd, const ReceivedDatagram &datagram);
  // Stops counting a connection against its source address (once, whichever end comes first).
  void release_address(Connection &connection) noexcept;
  // Per-address admission for a new connection; false when it was answered (Retry or refusal).
  bool admit_address(const ngtcp2_pkt_hd &hd, const ReceivedDatagram &datagram,
                     const AddressLimits::Key &key, bool address_validated, std::uint64_t now);
  void send_stateless_close(const ngtcp2_pkt_hd &hd, const ReceivedDatagram &datagram,
                            std::uint64_t error_code, std::string_view reason);
  void maybe_send_stateless_reset(const ngtcp2_version_cid &vc, const ReceivedDatagram &datagram,
                                  std::uint64_t now);

  // --- client receive path ---
  void on_client_readable(Connection &connection);

  // --- for connections ---
  void on_connection_timer(Connection &connection);
  void schedule_write(Connection &connection);
  void wait_for_socket(Connection &connection);
  void queue_event(Connection &connection);
  void connection_finished(Connection &connection);
  void connection_retired(Connection &connection);
  void handshake_completed(Connection &connection);
  void add_cid(const CidKey &key, Connection &connection);
  void remove_cid(const CidKey &key);
  void stateless_reset_token(const ngtcp2_cid &cid, std::uint8_t *token) const;
  TxBatch &tx() noexcept { return tx_; }

  // --- the end of every loop callback: write passes, flush, events, reaping ---
  void settle(bool reap_now = false);
  void run_write_passes();
  void deliver_events();
  void log_failed_handshake(const Connection &connection) const;
  void reap();
  void on_socket_drained(QuicSocket &socket);

  EventLoop &loop_;
  EndpointConfig config_;
  ConnectionHandler &handler_;
  bool open_ = false;
  bool settling_ = false;

  std::unique_ptr<QuicSocket> listen_socket_;
  SocketAddress local_address_;
  RecvBatch rx_;
  TxBatch tx_;
  TimerId flush_timer_;

  std::unordered_map<Connection *, std::unique_ptr<Connection>> connections_;
  std::unordered_map<CidKey, Connection *, CidKeyHash> cids_;
  AddressLimits address_limits_;
  std::size_t live_connections_ = 0;
  std::uint64_t next_address_log_ns_ = 0;
  std::size_t handshakes_in_flight_ = 0;

  std::vector<Connection *> write_queue_;
  std::vector<Connection *> event_queue_;
  std::vector<Connection *> finished_queue_;
  std::vector<Connection *> retired_;
  std::vector<Connection *> waiting_for_socket_;

  std::array<std::uint8_t, 32> reset_secret_{};  // keys stateless-reset tokens
  std::array<std::uint8_t, 32> token_secret_{};  // keys Retry tokens
  double reset_tokens_ = 0;                      // the stateless-reset token bucket
  std::uint64_t reset_refilled_at_ = 0;

  EndpointStats stats_;
  UdpSocketCounters retired_socket_counters_;  // closed client sockets' share of the stats
  std::uint64_t retired_socket_datagrams_ = 0;
};

}  // namespace flume::quic
