#include "websocket/ws_session.hpp"

#include <wslay/wslay.h>

#include <algorithm>
#include <cerrno>

#include "log/log.hpp"
#include "protocol/protocol.hpp"

namespace flume::websocket {

namespace {

constexpr std::int64_t kControlStream = 0;
bool is_client_uni(std::int64_t id) {
  return id % 4 == 2;
}
bool is_server_uni(std::int64_t id) {
  return id % 4 == 3;
}

// Close reasons are at most 123 bytes (a control frame's 125 less the code); cut at a UTF-8
// character boundary so the reason stays valid.
std::string_view cut_reason(std::string_view reason) {
  if (reason.size() <= 123) return reason;
  std::size_t end = 123;
  while (end > 0 && (static_cast<unsigned char>(reason[end]) & 0xc0) == 0x80)
    --end;
  return reason.substr(0, end);
}

}  // namespace

// wslay calls back into the session through user_data.
struct WsSession::Callbacks {
  static WsSession &self(void *user_data) { return *static_cast<WsSession *>(user_data); }

  static ssize_t recv(wslay_event_context_ptr ctx, std::uint8_t *buf, std::size_t len, int,
                      void *user_data) {
    WsSession &s = self(user_data);
    if (s.input_.empty()) {
      wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
      return -1;
    }
    const std::size_t n = std::min(len, s.input_.size());
    std::copy_n(s.input_.data(), n, buf);
    s.input_ = s.input_.subspan(n);
    return static_cast<ssize_t>(n);
  }

  // Takes every byte: frames then sit whole in output_, so a Close written by hand (fail_frame)
  // never lands inside one. pump() bounds output_ by not asking wslay to send past the mark.
  static ssize_t send(wslay_event_context_ptr, const std::uint8_t *data, std::size_t len, int,
                      void *user_data) {
    WsSession &s = self(user_data);
    s.output_.insert(s.output_.end(), data, data + len);
    return static_cast<ssize_t>(len);
  }

  static void on_msg(wslay_event_context_ptr, const wslay_event_on_msg_recv_arg *arg,
                     void *user_data) {
    WsSession &s = self(user_data);
    if (arg->opcode == WSLAY_BINARY_FRAME) {
      s.on_message({arg->msg, arg->msg_length});
    } else if (arg->opcode == WSLAY_TEXT_FRAME) {
      s.fail(WSLAY_CODE_UNSUPPORTED_DATA, "flume.v1 uses binary messages only");
    }
    // Close: wslay answers it by itself; Ping: wslay answers with Pong; Pong: nothing to do.
  }
};

WsSession::WsSession(broker::Broker &engine, WsSessionConfig config)
    : engine_(engine), config_(config) {
  wslay_event_callbacks callbacks{};
  callbacks.recv_callback = &Callbacks::recv;
  callbacks.send_callback = &Callbacks::send;
  callbacks.on_msg_recv_callback = &Callbacks::on_msg;
  if (wslay_event_context_server_init(&ctx_, &callbacks, this) != 0) {
    ctx_ = nullptr;
    done_ = true;
    return;
  }
  wslay_event_config_set_max_recv_msg_length(ctx_, config_.max_message_bytes);
}

WsSession::~WsSession() {
  end_engine_session();
  if (ctx_ != nullptr) wslay_event_context_free(ctx_);
}

bool WsSession::open(std::uint64_t now_ns, std::string peer) {
  if (ctx_ == nullptr) return false;
  last_input_ns_ = now_ns;
  last_ping_ns_ = now_ns;
  session_ = engine_.open_session(*this, now_ns, std::move(peer));
  if (session_ == nullptr) {
    done_ = true;
    return false;
  }
  flush();
  return true;
}

void WsSession::end_engine_session() {
  if (session_ == nullptr) return;
  broker::Session *s = session_;
  session_ = nullptr;
  engine_.close_session(s);
}

void WsSession::on_transport_gone() {
  done_ = true;
  end_engine_session();
}

void WsSession::on_input(std::span<const std::uint8_t> bytes, std::uint64_t now_ns) {
  if (done_ || bytes.empty()) return;
  last_input_ns_ = now_ns;
  input_ = bytes;
  in_input_ = true;
  // wslay reads until the input is used up (WOULDBLOCK) or it stops reading after a Close.
  for (int round = 0; round < 64 && !input_.empty() && wslay_event_want_read(ctx_); ++round) {
    const int rv = wslay_event_recv(ctx_);
    if (rv == WSLAY_ERR_CALLBACK_FAILURE) {
      // wslay's frame layer refused a frame header (a fragmented or over-long control frame, a
      // bad length) and queued a Close without a code; RFC 6455 wants 1002.
      fail_frame(WSLAY_CODE_PROTOCOL_ERROR, "malformed WebSocket frame header");
      break;
    }
    if (rv != 0) {
      on_transport_gone();  // out of memory
      break;
    }
  }
  input_ = {};
  in_input_ = false;
  flush();
}

void WsSession::on_message(std::span<const std::uint8_t> message) {
  if (close_requested_ || close_code_ != 0 || session_ == nullptr) return;
  StreamMessage m;
  const char *why = nullptr;
  if (!parse_stream_message(message, m, why)) {
    fail(4000 + static_cast<std::uint16_t>(ErrorCode::protocol_error), why);
    return;
  }
  dispatch(m);
}

void WsSession::dispatch(const StreamMessage &m) {
  const std::uint16_t protocol_error = 4000 + static_cast<std::uint16_t>(ErrorCode::protocol_error);
  const bool data = m.op == StreamOp::data || m.op == StreamOp::data_fin;
  const bool fin = m.op == StreamOp::data_fin;
  if (m.stream_id == kControlStream) {
    if (data) {
      engine_.on_stream_data(session_, kControlStream, m.data, fin);
    } else if (m.op == StreamOp::reset) {
      engine_.on_stream_reset(session_, kControlStream, m.code);
    } else {
      engine_.on_stream_stopped(session_, kControlStream, m.code);
    }
    return;
  }
  if (is_client_uni(m.stream_id)) {
    if (m.op == StreamOp::stop) return fail(protocol_error, "STOP on a publish stream");
    if (!open_publish_.contains(m.stream_id)) {
      if (m.stream_id <= highest_publish_) {
        return fail(protocol_error, "message on a publish stream that has ended");
      }
      if (open_publish_.size() >= config_.max_publish_streams) {
        return fail(protocol_error, "too many publish streams open at once");
      }
      highest_publish_ = m.stream_id;
      open_publish_.insert(m.stream_id);
    }
    if (data) {
      engine_.on_stream_data(session_, m.stream_id, m.data, fin);
    } else {
      engine_.on_stream_reset(session_, m.stream_id, m.code);
    }
    if (m.op != StreamOp::data && session_ != nullptr) {
      // Ended (FIN or reset): the stream is done both ways, as QUIC would report.
      open_publish_.erase(m.stream_id);
      engine_.on_stream_closed(session_, m.stream_id, m.code);
    }
    return;
  }
  if (is_server_uni(m.stream_id) && m.op == StreamOp::stop && m.stream_id < next_uni_stream_) {
    engine_.on_stream_stopped(session_, m.stream_id, m.code);
    return;
  }
  fail(protocol_error, "a stream id or op the client may not use");
}

void WsSession::fail(std::uint16_t ws_code, std::string_view reason) {
  FLUME_LOG(log::Level::info, "websocket", "closing with %u: %.*s", unsigned{ws_code},
            static_cast<int>(reason.size()), reason.data());
  pending_.clear();
  unsent_.clear();
  queue_close(ws_code, reason);
}

void WsSession::fail_frame(std::uint16_t ws_code, std::string_view reason) {
  FLUME_LOG(log::Level::info, "websocket", "closing with %u: %.*s", unsigned{ws_code},
            static_cast<int>(reason.size()), reason.data());
  // wslay will send nothing more (its own Close has no code); ours goes after the whole frames
  // already in output_.
  wslay_event_shutdown_write(ctx_);
  pending_.clear();
  unsent_.clear();
  const std::string_view cut = cut_reason(reason);
  output_.push_back(0x88);  // FIN, Close; a server's frames are not masked
  output_.push_back(static_cast<std::uint8_t>(2 + cut.size()));
  output_.push_back(static_cast<std::uint8_t>(ws_code >> 8));
  output_.push_back(static_cast<std::uint8_t>(ws_code));
  output_.insert(output_.end(), cut.begin(), cut.end());
  close_code_ = ws_code;
  close_written_by_hand_ = true;
}

void WsSession::queue_close(std::uint16_t ws_code, std::string_view reason) {
  if (close_code_ != 0 || ctx_ == nullptr) return;
  const std::string_view cut = cut_reason(reason);
  if (wslay_event_queue_close(ctx_, ws_code, reinterpret_cast<const std::uint8_t *>(cut.data()),
                              cut.size()) == 0) {
    close_code_ = ws_code;
  }
}

// --- SessionTransport -------------------------------------------------------------------------

std::int64_t WsSession::open_uni_stream() {
  const std::int64_t id = next_uni_stream_;
  next_uni_stream_ += 4;
  return id;
}

void WsSession::send(std::int64_t stream_id, SharedBuffer bytes, bool fin) {
  if (close_code_ != 0 || ended_.contains(stream_id)) return;
  if (fin && stream_id != kControlStream) ended_.insert(stream_id);
  unsent_[stream_id] += bytes.size();
  pending_.push_back({stream_id, fin ? StreamOp::data_fin : StreamOp::data, std::move(bytes), {}});
  mark_pending();
}

std::size_t WsSession::unsent_bytes(std::int64_t stream_id) const {
  const auto it = unsent_.find(stream_id);
  return it == unsent_.end() ? 0 : it->second;
}

void WsSession::reset_stream(std::int64_t stream_id, std::uint64_t code) {
  if (close_code_ != 0 || !ended_.insert(stream_id).second) return;
  // What is still queued for the stream is abandoned with it, as QUIC would.
  std::erase_if(pending_, [&](const Pending &p) { return p.stream_id == stream_id; });
  unsent_.erase(stream_id);
  pending_.push_back(
      {stream_id, StreamOp::reset, {}, encode_stream_signal(stream_id, StreamOp::reset, code)});
  mark_pending();
}

void WsSession::close(std::uint64_t code, std::string_view reason) {
  if (close_requested_) return;
  close_requested_ = true;
  requested_code_ =
      code == 0 ? 1000 : static_cast<std::uint16_t>(4000 + std::min<std::uint64_t>(code, 999));
  requested_reason_ = std::string(cut_reason(reason));
  mark_pending();
}

void WsSession::mark_pending() {
  if (in_input_ || pending_signalled_) return;
  pending_signalled_ = true;
  if (on_pending_) on_pending_();
}

// --- output -----------------------------------------------------------------------------------

void WsSession::pump() {
  if (ctx_ == nullptr) return;
  // Frame queued stream bytes while wslay and the output buffer have room.
  while (!pending_.empty() && close_code_ == 0 &&
         wslay_event_get_queued_msg_length(ctx_) < config_.output_high_water) {
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    std::vector<std::uint8_t> message = std::move(p.message);
    if (message.empty()) {
      message.resize(kMaxStreamHeader + p.bytes.size());
      const std::size_t header = write_stream_header(message.data(), p.stream_id, p.op);
      std::copy_n(p.bytes.data(), p.bytes.size(), message.data() + header);
      message.resize(header + p.bytes.size());
      auto it = unsent_.find(p.stream_id);
      if (it != unsent_.end()) {
        it->second -= std::min(it->second, p.bytes.size());
        if (it->second == 0) {
          unsent_.erase(it);
          drained_.push_back(p.stream_id);
        }
      }
    }
    // A stream's last message is framed: the engine never writes to it again, so forgetting it
    // keeps ended_ as small as the number of streams still ending.
    if (p.op != StreamOp::data && p.stream_id != kControlStream) ended_.erase(p.stream_id);
    wslay_event_msg msg{WSLAY_BINARY_FRAME, message.data(), message.size()};
    if (wslay_event_queue_msg(ctx_, &msg) != 0) break;  // closing: nothing more goes out
  }
  for (int round = 0; round < 2; ++round) {
    if (wslay_event_want_write(ctx_) &&
        output_.size() - output_offset_ < config_.output_high_water) {
      const int rv = wslay_event_send(ctx_);
      if (rv != 0 && rv != WSLAY_ERR_WOULDBLOCK) on_transport_gone();
    }
    // wslay sends control frames ahead of queued messages, so the engine's Close is queued only
    // once everything before it (the ERROR explaining it) is framed.
    if (!pending_.empty() || !close_requested_ || close_code_ != 0 ||
        wslay_event_get_queued_msg_count(ctx_) != 0) {
      break;
    }
    queue_close(requested_code_, requested_reason_);
  }
}

void WsSession::flush() {
  pending_signalled_ = false;
  if (done_) return;
  const bool was_busy = in_input_;
  in_input_ = true;
  // Telling the engine a stream drained may make it send more: a few rounds at most.
  for (int round = 0; round < 8; ++round) {
    pump();
    if (drained_.empty() || session_ == nullptr) break;
    std::vector<std::int64_t> drained;
    drained.swap(drained_);
    for (std::int64_t id : drained) {
      if (session_ != nullptr && unsent_bytes(id) == 0) engine_.on_stream_writable(session_, id);
    }
  }
  in_input_ = was_busy;
  pending_signalled_ = false;
}

bool WsSession::done() const noexcept {
  // Our Close (ours, or wslay's answer to the peer's) is framed and written: nothing more can
  // be said on this WebSocket.
  return done_ ||
         (ctx_ != nullptr && (wslay_event_get_close_sent(ctx_) || close_written_by_hand_) &&
          !wslay_event_want_write(ctx_) && output_offset_ == output_.size());
}

std::span<const std::uint8_t> WsSession::output() const noexcept {
  return std::span<const std::uint8_t>(output_).subspan(output_offset_);
}

void WsSession::consume_output(std::size_t n) noexcept {
  output_offset_ += std::min(n, output_.size() - output_offset_);
  if (output_offset_ == output_.size()) {
    output_.clear();
    output_offset_ = 0;
  }
}

void WsSession::on_tick(std::uint64_t now_ns) {
  if (done_) return;
  if (ctx_ != nullptr && (wslay_event_get_close_sent(ctx_) || close_written_by_hand_)) {
    if (close_sent_ns_ == 0) close_sent_ns_ = now_ns;
    if (now_ns - close_sent_ns_ > config_.close_linger_ns) on_transport_gone();
    return;
  }
  const std::uint64_t quiet = now_ns - last_input_ns_;
  if (quiet > config_.idle_close_ns) {
    FLUME_LOG(log::Level::info, "websocket", "closing: nothing received for %llu s",
              static_cast<unsigned long long>(quiet / 1'000'000'000));
    on_transport_gone();
    return;
  }
  if (quiet > config_.ping_after_ns && now_ns - last_ping_ns_ > config_.ping_after_ns) {
    last_ping_ns_ = now_ns;
    wslay_event_msg ping{WSLAY_PING, nullptr, 0};
    wslay_event_queue_msg(ctx_, &ping);
  }
  flush();
}

}  // namespace flume::websocket
