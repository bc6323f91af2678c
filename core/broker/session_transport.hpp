// The broker's view of one QUIC connection. The glue implements it over the QUIC transport; the
// tests implement it in memory. The Broker calls it synchronously from its own methods.
//
// Reentrancy: an implementation must not call Broker methods from inside these calls (defer them
// to the event loop instead). The Broker refuses such calls and counts them, except close_session,
// which it defers to the end of the outer call so that closing from close() is safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "codec/shared_buffer.hpp"

namespace flume::broker {

class SessionTransport {
 public:
  virtual ~SessionTransport() = default;

  // Opens a server-initiated unidirectional stream and returns its id, or -1 when the peer's
  // stream credit is exhausted; the Broker retries on Broker::on_streams_available().
  virtual std::int64_t open_uni_stream() = 0;

  // Queues bytes on a stream (the control stream is id 0). The transport keeps `bytes` referenced
  // until acknowledged. An empty buffer with `fin` set ends the stream without data.
  virtual void send(std::int64_t stream_id, SharedBuffer bytes, bool fin) = 0;

  // Bytes accepted by send() on this stream but not yet written to the network (held back by
  // flow or congestion control). The Broker keeps at most BrokerConfig::stream_window_bytes here
  // per subscription stream and holds the rest in its own bounded queue.
  virtual std::size_t unsent_bytes(std::int64_t stream_id) const = 0;

  // RESET_STREAM with an application error code.
  virtual void reset_stream(std::int64_t stream_id, std::uint64_t code) = 0;

  // CONNECTION_CLOSE with an application error code. The glue should give a frame just sent on
  // the control stream (the ERROR explaining the close) a chance to be delivered first, and then
  // call Broker::close_session once the connection is gone.
  virtual void close(std::uint64_t code, std::string_view reason) = 0;
};

}  // namespace flume::broker
