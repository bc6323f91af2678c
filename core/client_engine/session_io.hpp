// What a client Session needs from the world (SessionTransport) and tells it (SessionEvents).
// The threaded client implements both: the transport over one QUIC connection, the events by
// handing results to the application. Tests implement them in memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "codec/shared_buffer.hpp"
#include "protocol/protocol.hpp"

namespace flume::client_engine {

// The Session calls these synchronously from its own methods. An implementation must not call back
// into the Session from inside them (queue the work instead).
class SessionTransport {
 public:
  virtual ~SessionTransport() = default;

  // Queues bytes on a client stream; the control stream is 0, which the glue opens on the first
  // send. The transport keeps `bytes` referenced until QUIC has them acknowledged. An empty buffer
  // with `fin` set ends the stream without data.
  virtual void send(std::int64_t stream_id, SharedBuffer bytes, bool fin) = 0;

  // STOP_SENDING on a broker stream (a subscription stream the Session no longer wants).
  virtual void stop_sending(std::int64_t stream_id, std::uint64_t code) = 0;

  // CONNECTION_CLOSE with an application error code; `reason` goes in the reason phrase. The glue
  // reports the end of the connection later through Session::on_connection_closed.
  virtual void close(std::uint64_t code, std::string_view reason) = 0;
};

// From the broker's OK to HELLO (section 7).
struct ServerInfo {
  std::uint16_t protocol_version = 0;
  std::string server_name;  // empty if the broker did not say
  std::uint32_t max_payload = 0;
  std::uint32_t max_subscriptions = 0;
};

// One delivered message. The views are valid only during on_message: they point into the bytes
// given to on_stream_data, or into the stream's decoder when a frame arrived in pieces.
struct Delivery {
  std::uint32_t subscription_id;
  std::string_view subject;
  std::span<const std::uint8_t> payload;
};

// Called synchronously from Session methods, on the thread that calls them. A handler may call
// start, publish, subscribe, unsubscribe, ping, close and the accessors; it must not call
// on_stream_data, on_stream_closed or on_connection_closed (the Session refuses that as an internal
// error) and must not destroy the Session. A handler that throws ends the session with
// INTERNAL_ERROR.
class SessionEvents {
 public:
  virtual ~SessionEvents() = default;

  // The broker accepted HELLO. Publishes are now checked against server.max_payload.
  virtual void on_ready(const ServerInfo &server) = 0;

  // A MESSAGE for a subscription the application holds, in stream order. May come before the
  // subscription's on_subscribe_result (see Session).
  virtual void on_message(const Delivery &delivery) = 0;

  // The broker dropped `count` messages of this subscription since its previous report (8.3).
  virtual void on_dropped(std::uint32_t subscription_id, std::uint64_t count) = 0;

  // The answer to subscribe(): NO_ERROR with the broker's effective queue limit (0 if it did not
  // say), or the refusal (INVALID_SUBJECT, DUPLICATE_SUBSCRIPTION, TOO_MANY_SUBSCRIPTIONS...) with
  // the broker's explanation. Exactly once per accepted subscribe() call, unless the session ends.
  virtual void on_subscribe_result(std::uint32_t subscription_id, ErrorCode code,
                                   std::string_view message,
                                   std::uint32_t effective_queue_limit) = 0;

  // The answer to unsubscribe(). UNKNOWN_SUBSCRIPTION is reported as NO_ERROR: the subscription
  // had already ended (section 6.3). No on_message for this id follows once unsubscribe() is
  // called.
  virtual void on_unsubscribed(std::uint32_t subscription_id, ErrorCode code,
                               std::string_view message) = 0;

  // The broker ended a subscription the application did not unsubscribe: ERROR {SLOW_CONSUMER} on
  // its stream, a RESET_STREAM with the code (SHUTTING_DOWN...), or a FIN (NO_ERROR). The id is
  // free for reuse from this call on.
  virtual void on_subscription_ended(std::uint32_t subscription_id, ErrorCode code,
                                     std::string_view message) = 0;

  // The PONG for ping(token): the broker has processed everything sent on the control stream
  // before that PING (section 6.1), which is what flush() waits for.
  virtual void on_pong(std::uint64_t token) = 0;

  // A request error that answers no request of this Session: the broker refused a PUBLISH
  // (INVALID_SUBJECT; it carries no request_id, so ping() locates it) or reported INTERNAL_ERROR.
  virtual void on_error(ErrorCode code, std::string_view message) = 0;

  // The session is over: the broker refused HELLO, reported a connection error, or broke the
  // protocol (the Session then closed the connection with the matching code), or the connection
  // closed. Called at most once; every later call returns ClientErrc::session_closed.
  virtual void on_session_failed(ErrorCode code, std::string_view message) = 0;
};

}  // namespace flume::client_engine
