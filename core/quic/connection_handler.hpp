// What an Endpoint tells the layer above (broker or client engine). Every call happens on the
// endpoint's loop thread, never while Flume holds a lock, and never re-entrantly from a call the
// handler itself made into the Endpoint or a Connection.
//
// Lifetimes: a Connection& is valid from the first callback that names it (or from connect()'s
// return) until on_closed() returns. Server connections appear with on_connected(); ones that
// fail their handshake are never shown to the handler. Client connections from connect() always
// end with exactly one on_closed(), after on_connected() if the handshake succeeded.
#pragma once

#include <cstdint>
#include <span>

#include "quic/close_info.hpp"

namespace flume::quic {

class Connection;

class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;

  // Handshake complete: ALPN agreed; on a client the server's certificate passed verification.
  virtual void on_connected(Connection &connection) = 0;

  // Stream bytes, in order, without gaps; `fin` marks the end (data may be empty then). The
  // span is valid during the call only. Connection credit is returned at once; stream credit
  // only when the handler calls connection.consume(stream_id, n), which is how a slow reader
  // back-pressures its stream and nothing else.
  virtual void on_stream_data(Connection &connection, std::int64_t stream_id,
                              std::span<const std::uint8_t> data, bool fin) = 0;

  // The peer abandoned sending on the stream (RESET_STREAM) with `app_error_code`; no more data
  // arrives on it. on_stream_closed follows once both directions are done.
  virtual void on_stream_reset(Connection &, std::int64_t /*stream_id*/,
                               std::uint64_t /*app_error_code*/) {}

  // The peer sent STOP_SENDING on a stream we still meant to write: ngtcp2 1.11 answers it with
  // RESET_STREAM by itself (copying the peer's code) and tells nobody, so this is reported when a
  // write pass finds the stream's sending half shut, i.e. the next time we have data for it. On
  // a stream that is ours alone (unidirectional) on_stream_closed follows; on a bidirectional one
  // it may never come while the peer keeps its half open, which is why this exists.
  virtual void on_stream_stopped(Connection &, std::int64_t /*stream_id*/) {}

  // The stream is gone in both directions: FIN sent and acknowledged / received, or reset.
  // `app_error_code` is the code of a RESET_STREAM or of the peer's STOP_SENDING (ngtcp2 1.11
  // answers STOP_SENDING with RESET_STREAM by itself), 0 for a clean end. Data still queued on
  // it is released. Peer-opened streams give the peer a new stream credit here (if configured).
  virtual void on_stream_closed(Connection &connection, std::int64_t stream_id,
                                std::uint64_t app_error_code) = 0;

  // The stream can take more: a write pass handed the last of its queued bytes to QUIC
  // (unsent_bytes() fell to 0; not after the FIN), or flow-control credit came back while data
  // waited for it. A sender that keeps at most N bytes unsent and its own backlog elsewhere
  // refills here; nothing else tells it that congestion or flow control let data go.
  virtual void on_stream_writable(Connection &, std::int64_t /*stream_id*/) {}

  // The peer raised MAX_STREAMS: open_uni_stream()/open_bidi_stream() may succeed again.
  virtual void on_streams_available(Connection &) {}

  // The connection is over (see CloseInfo). The Connection& is invalid once this returns.
  virtual void on_closed(Connection &connection, const CloseInfo &info) = 0;

  // A server connection the handler never saw ended in its handshake: connection_count() fell
  // without an on_closed. For whoever waits for that count (a shutting-down server).
  virtual void on_handshake_abandoned() {}
};

}  // namespace flume::quic
