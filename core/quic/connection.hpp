// One QUIC connection (either role) on an ngtcp2_conn: its streams, their send queues, flow
// control as seen by the layer above, and its closing. Created and owned by an Endpoint; every
// call belongs to the endpoint's loop thread.
//
// All public calls may be made from inside ConnectionHandler callbacks. Calls that would
// re-enter ngtcp2 unsafely there (reset_stream, stop_sending, close) take effect right after the
// callback returns; data passed to send() leaves in the next write pass, which the endpoint runs
// once per loop iteration for every connection with something to write, so many send() calls
// share packets and syscalls.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "codec/shared_buffer.hpp"
#include "loop/event_loop.hpp"
#include "net/udp_socket.hpp"
#include "quic/close_info.hpp"
#include "quic/connection_id.hpp"
#include "quic/endpoint_config.hpp"
#include "quic/port_closed_detector.hpp"
#include "quic/send_queue.hpp"

namespace flume::tls {
class TlsSession;
}

namespace flume::quic {

class Endpoint;
class QuicSocket;
struct ConnectionCallbacks;

enum class CloseMode : std::uint8_t {
  // Wait (at most EndpointConfig::close_flush_timeout) until everything queued on the streams
  // has been acknowledged, then send CONNECTION_CLOSE: a final ERROR frame reaches the peer.
  flush,
  // CONNECTION_CLOSE in the next write pass; unacknowledged stream data is abandoned.
  immediate,
};

struct ConnectionStats {
  std::chrono::nanoseconds smoothed_rtt{0};
  std::chrono::nanoseconds min_rtt{0};
  std::chrono::nanoseconds latest_rtt{0};
  std::chrono::nanoseconds rtt_variance{0};
  std::uint64_t congestion_window = 0;
  std::uint64_t bytes_in_flight = 0;
  std::uint64_t packets_sent = 0;  // UDP datagrams written by this connection
  std::uint64_t bytes_sent = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t bytes_received = 0;
  // Packets carrying stream data that were declared lost, summed over the connection's streams
  // (ngtcp2 1.11 has no connection-wide loss counter; may include spurious losses).
  std::uint64_t packets_lost = 0;
};

class Connection {
 public:
  // Negative results of open_uni_stream()/open_bidi_stream().
  static constexpr std::int64_t kStreamsBlocked = -1;  // peer's stream credit used up; wait for
                                                       // on_streams_available
  static constexpr std::int64_t kNotOpen = -2;         // handshake not done, or closing

  ~Connection();
  Connection(const Connection &) = delete;
  Connection &operator=(const Connection &) = delete;

  Role role() const noexcept { return role_; }
  // Handshake complete and no close started.
  bool is_established() const noexcept;
  const SocketAddress &peer_address() const noexcept { return peer_; }
  const SocketAddress &local_address() const noexcept { return local_; }
  // Client: the name given to connect(). Server: the SNI the client sent ("" if none).
  const std::string &server_name() const noexcept { return server_name_; }
  std::string negotiated_alpn() const;
  // An application error code's name in this connection's protocol: HTTP/3's (RFC 9114, 9204)
  // on an "h3" connection (node links), Flume's otherwise.
  std::string application_error_name(std::uint64_t code) const;
  // SHA-256 fingerprint of the peer's certificate ("" if none), e.g. for an insecure client's
  // warning ("pin it with --pin …").
  std::string peer_certificate_fingerprint() const;
  // The common name of the peer's certificate ("" if none): an overlay node's name.
  std::string peer_certificate_name() const;

  // --- streams ---
  std::int64_t open_uni_stream() noexcept;
  std::int64_t open_bidi_stream() noexcept;
  std::uint64_t uni_streams_left() const noexcept;
  std::uint64_t bidi_streams_left() const noexcept;

  // Queues bytes [offset, offset + length) of `bytes` (referenced, not copied, until the peer
  // acknowledges them) and optionally the FIN after them. False if the stream cannot send: not
  // ours to write, unknown, reset, already finished, or the connection is not established
  // (before on_connected, or once close() was called).
  bool send(std::int64_t stream_id, SharedBuffer bytes, std::size_t offset, std::size_t length,
            bool fin = false);
  bool send(std::int64_t stream_id, SharedBuffer bytes, bool fin = false) {
    std::size_t size = bytes.size();
    return send(stream_id, std::move(bytes), 0, size, fin);
  }
  bool send_fin(std::int64_t stream_id) { return send(stream_id, SharedBuffer(), 0, 0, true); }
  // Queued bytes not yet handed to QUIC (waiting for flow control or congestion window).
  std::size_t unsent_bytes(std::int64_t stream_id) const noexcept;
  // Unsent plus sent-but-unacknowledged: what this stream holds in memory.
  std::size_t buffered_bytes(std::int64_t stream_id) const noexcept;

  // The handler is done with `n` bytes delivered on the stream: returns their stream credit.
  void consume(std::int64_t stream_id, std::size_t n) noexcept;
  // RESET_STREAM: abandons our sending; queued data is dropped.
  void reset_stream(std::int64_t stream_id, std::uint64_t app_error);
  // STOP_SENDING: asks the peer to stop; data still arriving is discarded.
  void stop_sending(std::int64_t stream_id, std::uint64_t app_error);

  // CONNECTION_CLOSE with an application error code and reason phrase (truncated to 1024
  // bytes). on_closed follows. Further calls are ignored.
  void close(std::uint64_t app_error, std::string_view reason, CloseMode mode = CloseMode::flush);

  ConnectionStats stats() const;
  Endpoint &endpoint() const noexcept { return endpoint_; }

  void *user_data = nullptr;  // the handler's

 private:
  friend class Endpoint;
  friend struct ConnectionCallbacks;

  enum class State : std::uint8_t { handshaking, established, closing, draining, dead };

  struct Stream {
    SendQueue queue;
    bool fin_queued = false;
    bool fin_sent = false;
    bool write_closed = false;        // reset by us, or the library refuses writes (SHUT_WR)
    bool blocked = false;             // waiting for stream credit (extend_max_stream_data)
    bool connection_blocked = false;  // waiting for connection credit
    bool in_ready = false;            // listed in ready_
    bool closed = false;              // stream_close seen (or synthesised); erased once reported
    std::uint64_t close_code = 0;
  };

  enum class DeferredKind : std::uint8_t { reset, stop_sending };
  struct Deferred {
    DeferredKind kind;
    std::int64_t stream_id;
    std::uint64_t code;
  };

  // Keeps ngtcp2 calls that can run callbacks marked, so API calls made from those callbacks
  // know to defer what is unsafe there.
  struct LibraryCall {
    explicit LibraryCall(Connection &c) : c_(c) { ++c_.in_library_; }
    ~LibraryCall() { --c_.in_library_; }
    Connection &c_;
  };

  Connection(Endpoint &endpoint, Role role);

  // --- setup (connection_setup.cpp) ---
  bool init_server(const ngtcp2_pkt_hd &hd, const ngtcp2_cid *original_dcid,
                   ngtcp2_token_type token_type, QuicSocket &socket, const SocketAddress &local,
                   const SocketAddress &peer, std::uint64_t now, std::string &error);
  bool init_client(const SocketAddress &server, std::string_view server_name,
                   std::unique_ptr<QuicSocket> socket, std::uint64_t now, std::string &error);

  // --- I/O driven by the Endpoint (connection.cpp, connection_write.cpp) ---
  void on_datagram(const ReceivedDatagram &datagram, std::uint64_t now);
  void on_timer(std::uint64_t now);
  void on_socket_error(int error);
  void on_refused_after_handshake();
  void write(std::uint64_t now);
  void deliver_events();
  void arm_timer() noexcept;

  // --- internals ---
  bool sendable(std::int64_t stream_id) const noexcept;
  bool is_local_stream(std::int64_t stream_id) const noexcept;
  Stream *find_stream(std::int64_t stream_id) noexcept;
  const Stream *find_stream(std::int64_t stream_id) const noexcept;
  void make_ready(std::int64_t stream_id, Stream &stream);
  bool has_pending(const Stream &stream) const noexcept;
  bool all_acknowledged() const noexcept;
  void apply_sent(std::int64_t stream_id, Stream &stream, std::int64_t ndatalen, bool fin_offered);
  void unblock_connection_level();
  void run_deferred();
  void do_reset(std::int64_t stream_id, std::uint64_t code);
  void do_stop_sending(std::int64_t stream_id, std::uint64_t code);
  void after_read();
  // Makes the next write pass send an ack-eliciting packet (a PING if nothing else is due).
  void request_probe();
  void begin_probe_write() noexcept;
  void end_probe_write(std::uint64_t packets_before) noexcept;
  void notify_connected();
  void queue_event();

  void handle_read_error(int rv, std::uint64_t now);
  void handle_liberr(int rv, std::uint64_t now);
  void send_connection_close(const ngtcp2_ccerr &ccerr, std::uint64_t now);
  void start_linger(State state, std::uint64_t now);
  void finish(CloseInfo info);  // reports the close (once)
  void retire();                // gone for good: the endpoint deletes it after reporting
  CloseInfo describe_peer_close() const;
  CloseInfo describe_tls_failure(std::uint8_t alert) const;

  Endpoint &endpoint_;
  Role role_;
  State state_ = State::handshaking;
  ngtcp2_conn *conn_ = nullptr;
  std::unique_ptr<tls::TlsSession> tls_;
  QuicSocket *socket_ = nullptr;
  std::unique_ptr<QuicSocket> own_socket_;  // client: a connected socket of its own
  SocketAddress local_;
  SocketAddress peer_;
  std::string server_name_;
  TimerId timer_;
  std::vector<CidKey> cids_;  // server: keys this connection holds in the endpoint's map
  // Server: the source address its endpoint counts it under (AddressLimits), until it ends.
  std::optional<AddressLimits::Key> limited_address_;

  std::unordered_map<std::int64_t, Stream> streams_;
  std::deque<std::int64_t> ready_;  // streams with data or FIN to send, round-robin
  std::vector<std::int64_t> connection_blocked_;

  int in_library_ = 0;
  std::vector<Deferred> deferred_;

  // Events for the handler, delivered outside ngtcp2 calls (deliver_events).
  bool event_queued_ = false;
  bool connected_notified_ = false;
  bool handshake_done_ = false;
  bool alpn_rejected_ = false;
  bool stateless_reset_ = false;
  bool streams_available_ = false;
  bool write_scheduled_ = false;
  std::vector<std::int64_t> writable_events_;
  std::vector<std::pair<std::int64_t, std::uint64_t>> reset_events_;  // stream id, code
  std::vector<std::int64_t> closed_events_;
  std::vector<std::int64_t> stopped_events_;  // sending half shut by the peer's STOP_SENDING
  std::vector<std::pair<std::int64_t, std::uint64_t>> resets_to_check_;  // peer uni, #2193

  // ICMP port unreachable after the handshake: a suspicion to confirm (port_closed_detector.hpp).
  PortClosedDetector port_closed_;
  bool probe_pending_ = false;

  // Closing.
  bool close_requested_ = false;
  CloseMode close_mode_ = CloseMode::flush;
  std::uint64_t close_code_ = 0;
  std::string close_reason_;
  std::uint64_t close_deadline_ = EventLoop::kNoDeadline;
  std::vector<std::uint8_t> close_packet_;  // resent while closing, for each packet received
  std::uint64_t packets_while_closing_ = 0;
  std::uint64_t linger_until_ = EventLoop::kNoDeadline;
  bool finished_ = false;
  CloseInfo close_info_;

  // Stats.
  std::uint64_t packets_sent_ = 0;
  std::uint64_t bytes_sent_ = 0;
  std::uint64_t packets_received_ = 0;
  std::uint64_t bytes_received_ = 0;
  std::uint64_t lost_on_closed_streams_ = 0;
};

}  // namespace flume::quic
