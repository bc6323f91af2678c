// One Flume session over one WebSocket (docs/protocol.md 19): the broker engine's
// SessionTransport, with wslay doing the WebSocket framing. Sans-I/O: the caller feeds it the
// bytes read from the socket (on_input) and writes out what output() holds; it never touches a
// socket, a clock or the event loop.
//
// Bounded: a message over `max_message_bytes` closes with 1009 (wslay); at most
// `max_publish_streams` publish streams at once; each stream has at most what the engine
// chooses to hand over (it keeps BrokerConfig::stream_window_bytes in unsent_bytes() and queues
// the rest under its overflow policy, exactly as for a QUIC stream that is blocked), and beyond
// the per-stream queues at most about 2 x output_high_water bytes (plus one message) are framed
// and waiting for the socket. A slow browser tab therefore costs no more memory than a slow QUIC
// client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "broker/broker.hpp"
#include "broker/session_transport.hpp"
#include "codec/shared_buffer.hpp"
#include "websocket/stream_message.hpp"

struct wslay_event_context;

namespace flume::websocket {

struct WsSessionConfig {
  // The largest message accepted (1009 beyond): the largest frame plus headers.
  std::size_t max_message_bytes = 65536 + 1024;
  std::size_t max_publish_streams = 100;  // QUIC's initial_max_streams_uni default
  // Framed bytes waiting for the socket beyond which nothing more is framed.
  std::size_t output_high_water = 256 * 1024;
  std::uint64_t ping_after_ns = 10'000'000'000;   // nothing received for this long: Ping
  std::uint64_t idle_close_ns = 30'000'000'000;   // nothing received for this long: give up
  std::uint64_t close_linger_ns = 5'000'000'000;  // our Close sent: wait this long for the rest
};

class WsSession final : public broker::SessionTransport {
 public:
  WsSession(broker::Broker &engine, WsSessionConfig config);
  ~WsSession() override;  // closes the engine session if it is still open
  WsSession(const WsSession &) = delete;
  WsSession &operator=(const WsSession &) = delete;

  // Starts the engine session (after the 101 response). False when memory ran out; the session
  // is then done().
  bool open(std::uint64_t now_ns, std::string peer);

  // Bytes read from the socket.
  void on_input(std::span<const std::uint8_t> bytes, std::uint64_t now_ns);
  // Keep-alive and the bounded wait for a close; call about once a second.
  void on_tick(std::uint64_t now_ns);
  // Frames what the engine queued since the last call and tells the engine which streams have
  // room again. Call after anything outside this class may have made the engine send.
  void flush();

  // What to write to the socket next, and how much of it was written.
  std::span<const std::uint8_t> output() const noexcept;
  void consume_output(std::size_t n) noexcept;

  // The WebSocket is finished (closed both ways or given up): close the socket, then destroy.
  bool done() const noexcept;
  // The socket failed or the peer went away: the engine session ends now.
  void on_transport_gone();

  // Called (at most once between flushes) when the engine queued bytes from outside on_input():
  // the owner should call flush() soon, from the event loop, not from inside this call.
  void set_on_pending(std::function<void()> callback) { on_pending_ = std::move(callback); }

  broker::Session *session() const noexcept { return session_; }
  // The close code sent, 0 if none yet (for tests and logs).
  std::uint16_t close_code_sent() const noexcept { return close_code_; }

  // broker::SessionTransport
  std::int64_t open_uni_stream() override;
  void send(std::int64_t stream_id, SharedBuffer bytes, bool fin) override;
  std::size_t unsent_bytes(std::int64_t stream_id) const override;
  void reset_stream(std::int64_t stream_id, std::uint64_t code) override;
  void close(std::uint64_t code, std::string_view reason) override;

 private:
  struct Callbacks;
  struct Pending {
    std::int64_t stream_id;
    StreamOp op;
    SharedBuffer bytes;                 // DATA, DATA_FIN
    std::vector<std::uint8_t> message;  // RESET: the whole message
  };

  void on_message(std::span<const std::uint8_t> message);
  void dispatch(const StreamMessage &m);
  void fail(std::uint16_t ws_code, std::string_view reason);
  void queue_close(std::uint16_t ws_code, std::string_view reason);
  void fail_frame(std::uint16_t ws_code, std::string_view reason);
  void pump();
  void mark_pending();
  void end_engine_session();

  broker::Broker &engine_;
  WsSessionConfig config_;
  wslay_event_context *ctx_ = nullptr;
  broker::Session *session_ = nullptr;

  std::span<const std::uint8_t> input_;  // what wslay's recv callback reads from
  std::vector<std::uint8_t> output_;
  std::size_t output_offset_ = 0;

  std::deque<Pending> pending_;
  std::unordered_map<std::int64_t, std::size_t> unsent_;  // per stream, in pending_
  std::vector<std::int64_t> drained_;                     // streams whose unsent reached 0
  // Streams whose FIN or RESET is queued but not yet framed: nothing more may be sent on them.
  std::unordered_set<std::int64_t> ended_;
  std::int64_t next_uni_stream_ = 3;
  std::unordered_set<std::int64_t> open_publish_;
  std::int64_t highest_publish_ = -1;

  std::function<void()> on_pending_;
  bool pending_signalled_ = false;
  bool in_input_ = false;         // inside on_input or flush: no on_pending_ callback needed
  bool close_requested_ = false;  // by the engine: frame the queue, then Close
  std::uint16_t requested_code_ = 1000;
  std::string requested_reason_;
  std::uint16_t close_code_ = 0;
  std::uint64_t last_input_ns_ = 0;
  std::uint64_t last_ping_ns_ = 0;
  std::uint64_t close_sent_ns_ = 0;
  bool close_written_by_hand_ = false;
  bool done_ = false;
};

}  // namespace flume::websocket
