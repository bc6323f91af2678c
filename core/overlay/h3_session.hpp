// HTTP/3 (nghttp3) on one of Flume's QUIC connections (quic::Connection), for node links.
//
// nghttp3 does no I/O: it takes stream bytes and hands back the bytes to send. This glue feeds it
// what the ConnectionHandler receives and, after every call that can produce output, pulls that
// output (flush) into the connection's own send queues, which already do flow control, pacing
// and retransmission. The bytes are copied at that point, so nghttp3 is told at once that they
// are acknowledged and frees its copy: nghttp3 never waits on QUIC's acknowledgements, and what a
// link holds in memory is what the connection holds (Connection::buffered_bytes).
//
// Node links use HTTP/3 in one shape only: long-lived request streams whose request body
// (dialer to listener) and response body (listener to dialer) each carry a stream of Flume
// frames, both open-ended. So this offers exactly that: open a request, answer one with 200,
// append body bytes, and hear of body bytes.
//
// Loop thread only, like the connection. The owner must call the on_* methods from its
// ConnectionHandler and destroy the session before the connection goes (in on_closed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "codec/shared_buffer.hpp"
#include "quic/connection.hpp"

struct nghttp3_conn;

namespace flume::overlay {

class H3Events {
 public:
  virtual ~H3Events() = default;
  // Listener: a request's header section is complete (`path` is its :path).
  virtual void on_request(std::int64_t stream_id, std::string_view path) = 0;
  // Dialer: the response's header section is complete.
  virtual void on_response(std::int64_t stream_id, unsigned status) = 0;
  // Body bytes, in order; valid during the call only.
  virtual void on_body(std::int64_t stream_id, std::span<const std::uint8_t> data) = 0;
  // The peer ended its body (or the stream is gone): no more on_body for it.
  virtual void on_body_end(std::int64_t stream_id) = 0;
};

class H3Session {
 public:
  // Binds the control and QPACK streams (3 unidirectional streams; the peer must allow them).
  // Call once the connection is established. nullptr with `error` set on failure.
  static std::unique_ptr<H3Session> create(quic::Connection &connection, H3Events &events,
                                           std::string &error);
  ~H3Session();
  H3Session(const H3Session &) = delete;
  H3Session &operator=(const H3Session &) = delete;

  // Dialer: a POST to `path` with an open-ended body. The stream id, or -1.
  std::int64_t open_request(std::string_view authority, std::string_view path);
  // Listener: answers a request with `status` and, for 200, an open-ended body.
  bool respond(std::int64_t stream_id, unsigned status);
  // Appends body bytes to a stream opened or answered above; they leave in flush(), at once
  // unless `flush_now` is false (a caller appending several buffers flushes after the last).
  bool send_body(std::int64_t stream_id, SharedBuffer bytes, bool flush_now = true);
  // Short exchanges beside the long-lived streams (probes, the state document; protocol 17.9).
  // Dialer: a GET with extra header fields (name, value) and no body; the stream id, or -1.
  using Fields = std::vector<std::pair<std::string, std::string>>;
  std::int64_t open_get(std::string_view authority, std::string_view path, const Fields &extra);
  // Listener: a complete response (status, extra fields, the whole body) that ends the stream.
  bool respond_complete(std::int64_t stream_id, unsigned status, const Fields &extra,
                        SharedBuffer body);
  // A received header field named flume-* on a stream, while its on_request/on_response runs
  // (nullptr if absent).
  const std::string *received_field(std::int64_t stream_id, std::string_view name) const;
  // HTTP/3 bytes (frames, QPACK-encoded fields) sent and received on a stream so far.
  struct StreamBytes {
    std::uint64_t sent = 0;
    std::uint64_t received = 0;
  };
  StreamBytes stream_bytes(std::int64_t stream_id) const;

  // Body bytes given to send_body not yet handed to QUIC, plus what QUIC has not yet sent.
  std::size_t unsent_body_bytes(std::int64_t stream_id) const;

  // Moves everything nghttp3 has to send into the connection. The methods above do it
  // themselves; call it after on_stream_data & co. (they do too).
  void flush();

  // From the ConnectionHandler.
  void on_stream_data(std::int64_t stream_id, std::span<const std::uint8_t> data, bool fin);
  void on_stream_reset(std::int64_t stream_id, std::uint64_t app_error_code);
  void on_stream_closed(std::int64_t stream_id, std::uint64_t app_error_code);

  // "" while healthy; what went wrong once the session closed the connection.
  const std::string &failure() const noexcept { return failure_; }

 private:
  struct Body {
    std::deque<SharedBuffer> pending;   // not yet given to nghttp3
    std::deque<SharedBuffer> inflight;  // given to nghttp3, not yet "acknowledged"
    std::size_t inflight_offset = 0;    // bytes of inflight.front() already acknowledged
    std::size_t pending_bytes = 0;
    bool complete = false;  // pending holds the whole body: end the stream after it
  };
  struct Callbacks;

  H3Session(quic::Connection &connection, H3Events &events) noexcept
      : connection_(connection), events_(events) {}
  void fail(int rv, std::string_view what);

  quic::Connection &connection_;
  H3Events &events_;
  nghttp3_conn *h3_ = nullptr;
  std::unordered_map<std::int64_t, Body> bodies_;
  std::unordered_map<std::int64_t, std::string> paths_;    // request :path while headers arrive
  std::unordered_map<std::int64_t, unsigned> statuses_;    // response :status while headers arrive
  std::unordered_map<std::int64_t, Fields> flume_fields_;  // flume-* fields while headers arrive
  std::unordered_map<std::int64_t, StreamBytes> stream_bytes_;
  bool flushing_ = false;
  bool in_read_ = false;                 // inside nghttp3_conn_read_stream
  std::vector<std::int64_t> to_resume_;  // streams given body bytes meanwhile
  std::string failure_;
};

}  // namespace flume::overlay
