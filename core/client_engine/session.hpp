// The client side of the Flume protocol (docs/protocol.md) as a sans-I/O state machine: calls and
// received bytes in, frames out through a SessionTransport and results out through SessionEvents.
// No sockets, threads or clocks: the threaded client owns those, and one Session lives for one
// QUIC connection. After a reconnect the client makes a new Session and subscribes again to the
// subscriptions it holds.
//
// Decisions the protocol leaves open:
//
// - Messages before the OK. A subscription stream is delivered from its SUBSCRIPTION frame on,
//   even before the OK to SUBSCRIBE (or to HELLO) has arrived: a broker opens the stream only for
//   an accepted SUBSCRIBE, and the application already knows the subscription because it chose the
//   id. Holding the messages until the OK would copy them and, when a control-stream packet is
//   lost, stall every subscription behind it: the head-of-line blocking Flume exists to avoid. So
//   on_message may precede on_subscribe_result; on_subscribe_result still comes exactly once.
// - Matching answers. Every request carries a request_id, and answers must come in request order
//   (6.1): an OK or ERROR must answer the oldest unanswered request, and a request_id that differs
//   from that request's is a PROTOCOL_ERROR. An ERROR without request_id answers no request: it is
//   about a PUBLISH (INVALID_SUBJECT) and goes to on_error, or is a connection error and ends the
//   session.
// - After unsubscribe() no message of that subscription is delivered; the stream is still read
//   (and checked) until its FIN, and the id stays in use until then, so a reused id can never
//   receive the old subscription's messages. Streams for ids the Session does not hold are
//   discarded with STOP_SENDING (NO_ERROR).
// - Payload limits. Publishes are checked against the broker's max_payload, or 65536 before the OK
//   to HELLO (3.3). Received frames are checked against max_payload once known; before that a
//   subscription stream accepts up to the protocol's 16 MiB ceiling, so a stream that overtakes the
//   OK to HELLO is not refused for a limit the client has not yet been told.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "client_engine/client_error.hpp"
#include "client_engine/outbound_frames.hpp"
#include "client_engine/session_io.hpp"
#include "codec/frame_decoder.hpp"
#include "protocol/protocol.hpp"

namespace flume::client_engine {

struct SessionConfig {
  std::string client_name;          // for the broker's logs; at most 255 bytes; omitted if empty
  std::string client_library;       // e.g. "flume-c/0.1.0"; at most 255 bytes; omitted if empty
  std::vector<std::uint8_t> token;  // credentials; at most 4096 bytes; omitted if empty
};

struct SessionStats {
  std::uint64_t messages_published = 0;
  std::uint64_t payload_bytes_published = 0;
  std::uint64_t messages_received = 0;  // delivered through on_message
  std::uint64_t payload_bytes_received = 0;
  std::uint64_t messages_dropped = 0;    // sum of the broker's DROPPED reports
  std::uint64_t messages_discarded = 0;  // received after unsubscribe(), not delivered
  std::uint64_t streams_discarded = 0;   // subscription streams for ids not held (STOP_SENDING)
};

enum class SessionState : std::uint8_t {
  idle,         // constructed; start() sends HELLO
  handshaking,  // HELLO sent; requests may be pipelined
  open,         // OK to HELLO received
  closing,      // close() called: FIN sent on the control stream
  closed,       // over: failed, or the connection ended; see on_session_failed
};

class Session {
 public:
  // Throws only std::bad_alloc; nothing else in this class throws.
  Session(SessionConfig config, SessionTransport &transport, SessionEvents &events);
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  // Sends HELLO on stream 0. Call once the QUIC handshake is complete.
  Result start() noexcept;

  // One PUBLISH on the control stream. Nothing is sent if the subject is invalid or the payload is
  // over max_payload(); the payload is copied into the frame.
  Result publish(std::string_view subject, std::span<const std::uint8_t> payload) noexcept;
  // The same for a frame encoded ahead (encode_publish): its subject was checked when it was
  // encoded; its payload is checked against max_payload() here. An empty frame is refused.
  Result publish(EncodedPublish frame) noexcept;

  // SUBSCRIBE with a nonzero id the application chooses; not reusable until the subscription has
  // ended. queue_limit 0 leaves the broker default. Checked locally first: id, pattern, policy and,
  // once known, max_subscriptions.
  Result subscribe(std::uint32_t id, std::string_view pattern,
                   OverflowPolicy policy = OverflowPolicy::drop_oldest,
                   std::uint32_t queue_limit = 0) noexcept;

  Result unsubscribe(std::uint32_t id) noexcept;

  // Flume PING with an 8-byte token; on_pong(out_token) confirms everything sent before it.
  Result ping(std::uint64_t &out_token) noexcept;

  // Graceful end: FIN on the control stream, after which the broker processes what was sent and
  // closes the connection with NO_ERROR. No events follow except on_session_failed if the
  // connection then closes with an error.
  Result close() noexcept;

  // Bytes received on a broker stream: the control stream (0) or a subscription stream (3, 7, ...).
  // `fin` marks the end of the stream.
  void on_stream_data(std::int64_t stream_id, std::span<const std::uint8_t> bytes,
                      bool fin) noexcept;
  // The broker reset a stream (RESET_STREAM with `app_error`).
  void on_stream_closed(std::int64_t stream_id, std::uint64_t app_error) noexcept;
  // The QUIC connection is gone, for whatever reason (either side's close, idle timeout).
  void on_connection_closed(std::uint64_t app_error, std::string_view reason) noexcept;

  SessionState state() const noexcept { return state_; }
  bool ready() const noexcept { return state_ == SessionState::open; }
  // Zero-valued until ready().
  const ServerInfo &server() const noexcept { return server_; }
  // The payload limit publishes are checked against.
  std::uint32_t max_payload() const noexcept;
  const SessionStats &stats() const noexcept { return stats_; }
  // Why the session is closed ("" while it is not).
  const std::string &close_reason() const noexcept { return close_reason_; }

 private:
  struct Subscription {
    enum class Phase : std::uint8_t { pending, active, unsubscribing };
    std::uint64_t serial = 0;  // tells apart two subscriptions that used the same id in turn
    Phase phase = Phase::pending;
    std::string pattern;
    bool unsubscribe_answered = false;
    std::int64_t stream_id = -1;  // -1 until its SUBSCRIPTION frame arrives
    bool stream_ended = false;
  };

  struct PendingRequest {
    enum class Kind : std::uint8_t { hello, subscribe, unsubscribe };
    Kind kind;
    std::uint32_t request_id;
    std::uint32_t subscription_id;
    std::uint64_t serial;
  };

  struct InboundStream {
    enum class Phase : std::uint8_t {
      awaiting_subscription,
      delivering,
      ended_by_error,
      discarding
    };
    explicit InboundStream(std::uint32_t limit) noexcept : decoder(limit), decoder_limit(limit) {}
    FrameDecoder decoder;
    std::uint32_t decoder_limit;
    Phase phase = Phase::awaiting_subscription;
    std::uint32_t subscription_id = 0;
  };

  // Calls
  Result check_can_send(std::string_view call) const;
  Result check_payload(std::size_t size, std::string_view subject) const;
  void send_control(SharedBuffer frame);
  std::uint32_t next_request_id() noexcept { return next_request_id_++; }

  // Receiving
  void decode(std::int64_t stream_id, InboundStream &stream, std::span<const std::uint8_t> bytes,
              bool fin);
  bool accepting_input() const noexcept;
  std::uint32_t receive_limit(bool control) const noexcept;

  // Control stream (control_stream.cpp)
  void on_control_frame(const Frame &frame);
  void on_ok(const Frame &frame);
  void on_error_frame(const Frame &frame);
  void on_pong_frame(const Frame &frame);
  // False (after failing the session) when `request_id` is present and not the request's.
  bool answers_oldest(std::optional<std::uint32_t> request_id,
                      const PendingRequest &request) noexcept;
  void finish_subscribe(const PendingRequest &request, ErrorCode code, std::string_view message,
                        std::uint32_t effective_queue_limit);
  void finish_unsubscribe(const PendingRequest &request, ErrorCode code, std::string_view message);

  // Subscription streams (subscription_streams.cpp)
  void on_subscription_frame(std::int64_t stream_id, InboundStream &stream, const Frame &frame,
                             bool subject_valid);
  void attach_stream(std::int64_t stream_id, InboundStream &stream, const Frame &frame);
  void discard_stream(std::int64_t stream_id, InboundStream &stream);
  void on_subscription_fin(std::int64_t stream_id, const InboundStream &stream);
  void end_stream(std::int64_t stream_id, std::uint32_t subscription_id, ErrorCode code,
                  std::string_view message);
  Subscription *subscription_on(std::int64_t stream_id, std::uint32_t subscription_id) noexcept;

  // Ends the session: records why, closes the connection with `code` if `close_connection`, and
  // reports on_session_failed once.
  void fail(ErrorCode code, std::string_view message, bool close_connection = true) noexcept;
  void protocol_error(std::string_view message) noexcept {
    fail(ErrorCode::protocol_error, message);
  }
  // Runs a call that invokes event handlers, turning anything thrown into a failed session.
  template <typename Body>
  void guarded(Body &&body) noexcept;

  SessionConfig config_;
  SessionTransport &transport_;
  SessionEvents &events_;
  SessionState state_ = SessionState::idle;
  ServerInfo server_;
  SessionStats stats_;
  std::string close_reason_;

  std::uint32_t next_request_id_ = 1;
  std::uint64_t next_ping_token_ = 1;
  std::uint64_t next_serial_ = 1;
  std::deque<PendingRequest> pending_;
  std::deque<std::uint64_t> pings_;
  std::unordered_map<std::uint32_t, Subscription> subscriptions_;

  InboundStream control_;
  std::unordered_map<std::int64_t, InboundStream> streams_;
  bool dispatching_ = false;  // inside on_stream_data / on_stream_closed / on_connection_closed
};

}  // namespace flume::client_engine
