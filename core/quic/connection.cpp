// Connection: the API the handler uses, and the events it gets back.
#include "quic/connection.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <iterator>

#include "quic/endpoint.hpp"
#include "quic/quic_socket.hpp"
#include "tls/tls_session.hpp"

namespace flume::quic {

namespace {

constexpr std::size_t kMaxReasonPhrase = 1024;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Queries

bool Connection::is_established() const noexcept {
  return state_ == State::established && !close_requested_;
}

std::string Connection::application_error_name(std::uint64_t code) const {
  if (negotiated_alpn() != "h3") return std::string(error_code_name(code));
  static constexpr const char *kH3Names[] = {"H3_NO_ERROR",
                                             "H3_GENERAL_PROTOCOL_ERROR",
                                             "H3_INTERNAL_ERROR",
                                             "H3_STREAM_CREATION_ERROR",
                                             "H3_CLOSED_CRITICAL_STREAM",
                                             "H3_FRAME_UNEXPECTED",
                                             "H3_FRAME_ERROR",
                                             "H3_EXCESSIVE_LOAD",
                                             "H3_ID_ERROR",
                                             "H3_SETTINGS_ERROR",
                                             "H3_MISSING_SETTINGS",
                                             "H3_REQUEST_REJECTED",
                                             "H3_REQUEST_CANCELLED",
                                             "H3_REQUEST_INCOMPLETE",
                                             "H3_MESSAGE_ERROR",
                                             "H3_CONNECT_ERROR",
                                             "H3_VERSION_FALLBACK"};
  if (code >= 0x100 && code < 0x100 + std::size(kH3Names)) return kH3Names[code - 0x100];
  if (code == 0x200) return "QPACK_DECOMPRESSION_FAILED";
  if (code == 0x201) return "QPACK_ENCODER_STREAM_ERROR";
  if (code == 0x202) return "QPACK_DECODER_STREAM_ERROR";
  return "H3 error";
}

std::string Connection::negotiated_alpn() const {
  return tls_ ? tls_->negotiated_alpn() : std::string();
}

std::string Connection::peer_certificate_fingerprint() const {
  return tls_ ? tls_->peer_fingerprint() : std::string();
}

std::string Connection::peer_certificate_name() const {
  return tls_ ? tls_->peer_common_name() : std::string();
}

std::uint64_t Connection::uni_streams_left() const noexcept {
  return is_established() ? ngtcp2_conn_get_streams_uni_left(conn_) : 0;
}

std::uint64_t Connection::bidi_streams_left() const noexcept {
  return is_established() ? ngtcp2_conn_get_streams_bidi_left(conn_) : 0;
}

bool Connection::is_local_stream(std::int64_t stream_id) const noexcept {
  // Bit 0 of a stream ID is set for server-initiated streams.
  return ((stream_id & 0x1) != 0) == (role_ == Role::server);
}

bool Connection::sendable(std::int64_t stream_id) const noexcept {
  bool uni = (stream_id & 0x2) != 0;
  return !uni || is_local_stream(stream_id);
}

Connection::Stream *Connection::find_stream(std::int64_t stream_id) noexcept {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : &it->second;
}

const Connection::Stream *Connection::find_stream(std::int64_t stream_id) const noexcept {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : &it->second;
}

std::size_t Connection::unsent_bytes(std::int64_t stream_id) const noexcept {
  const Stream *stream = find_stream(stream_id);
  return stream ? static_cast<std::size_t>(stream->queue.unsent()) : 0;
}

std::size_t Connection::buffered_bytes(std::int64_t stream_id) const noexcept {
  const Stream *stream = find_stream(stream_id);
  return stream ? static_cast<std::size_t>(stream->queue.unacked()) : 0;
}

ConnectionStats Connection::stats() const {
  ConnectionStats out;
  out.packets_sent = packets_sent_;
  out.bytes_sent = bytes_sent_;
  out.packets_received = packets_received_;
  out.bytes_received = bytes_received_;
  out.packets_lost = lost_on_closed_streams_;
  if (conn_ == nullptr) return out;
  ngtcp2_conn_info info{};
  ngtcp2_conn_get_conn_info(conn_, &info);
  out.smoothed_rtt = std::chrono::nanoseconds(info.smoothed_rtt);
  out.min_rtt = std::chrono::nanoseconds(info.min_rtt);
  out.latest_rtt = std::chrono::nanoseconds(info.latest_rtt);
  out.rtt_variance = std::chrono::nanoseconds(info.rttvar);
  out.congestion_window = info.cwnd;
  out.bytes_in_flight = info.bytes_in_flight;
  for (const auto &[id, stream] : streams_) {
    if (!stream.closed) out.packets_lost += ngtcp2_conn_get_stream_loss_count(conn_, id);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Streams

std::int64_t Connection::open_uni_stream() noexcept {
  if (!is_established()) return kNotOpen;
  std::int64_t id = -1;
  int rv = ngtcp2_conn_open_uni_stream(conn_, &id, nullptr);
  if (rv != 0) return rv == NGTCP2_ERR_STREAM_ID_BLOCKED ? kStreamsBlocked : kNotOpen;
  streams_.try_emplace(id);
  return id;
}

std::int64_t Connection::open_bidi_stream() noexcept {
  if (!is_established()) return kNotOpen;
  std::int64_t id = -1;
  int rv = ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr);
  if (rv != 0) return rv == NGTCP2_ERR_STREAM_ID_BLOCKED ? kStreamsBlocked : kNotOpen;
  streams_.try_emplace(id);
  return id;
}

bool Connection::has_pending(const Stream &stream) const noexcept {
  if (stream.write_closed || stream.closed) return false;
  return stream.queue.unsent() > 0 || (stream.fin_queued && !stream.fin_sent);
}

void Connection::make_ready(std::int64_t stream_id, Stream &stream) {
  if (stream.in_ready || stream.blocked || stream.connection_blocked || !has_pending(stream)) {
    return;
  }
  stream.in_ready = true;
  ready_.push_back(stream_id);
  endpoint_.schedule_write(*this);
}

bool Connection::send(std::int64_t stream_id, SharedBuffer bytes, std::size_t offset,
                      std::size_t length, bool fin) {
  if (state_ != State::established || close_requested_ || !sendable(stream_id)) return false;
  Stream *stream = find_stream(stream_id);
  if (stream == nullptr || stream->closed || stream->write_closed || stream->fin_queued) {
    return false;
  }
  if (offset > bytes.size() || length > bytes.size() - offset) return false;
  stream->queue.append(std::move(bytes), offset, length);
  stream->fin_queued = fin;
  make_ready(stream_id, *stream);
  return true;
}

void Connection::consume(std::int64_t stream_id, std::size_t n) noexcept {
  if (n == 0 || conn_ == nullptr || state_ == State::dead || finished_) return;
  if (ngtcp2_conn_extend_max_stream_offset(conn_, stream_id, n) == 0) {
    // MAX_STREAM_DATA goes out in the next pass (ngtcp2 sends it once half the window is used).
    endpoint_.schedule_write(*this);
  }
}

void Connection::reset_stream(std::int64_t stream_id, std::uint64_t app_error) {
  if (state_ != State::established || finished_) return;
  if (in_library_ > 0) {
    deferred_.push_back({DeferredKind::reset, stream_id, app_error});
    return;
  }
  do_reset(stream_id, app_error);
}

void Connection::stop_sending(std::int64_t stream_id, std::uint64_t app_error) {
  if (state_ != State::established || finished_) return;
  if (in_library_ > 0) {
    deferred_.push_back({DeferredKind::stop_sending, stream_id, app_error});
    return;
  }
  do_stop_sending(stream_id, app_error);
}

void Connection::do_reset(std::int64_t stream_id, std::uint64_t code) {
  Stream *stream = find_stream(stream_id);
  if (stream == nullptr || stream->closed || !sendable(stream_id)) return;
  if (ngtcp2_conn_shutdown_stream_write(conn_, 0, stream_id, code) != 0) return;
  stream->write_closed = true;
  // Bytes never handed to ngtcp2 go now; those in flight stay until stream_close, since the
  // library may still reference them.
  stream->queue.drop_unsent();
  endpoint_.schedule_write(*this);
}

void Connection::do_stop_sending(std::int64_t stream_id, std::uint64_t code) {
  if (ngtcp2_conn_shutdown_stream_read(conn_, 0, stream_id, code) == 0) {
    endpoint_.schedule_write(*this);
  }
}

void Connection::run_deferred() {
  if (deferred_.empty()) return;
  std::vector<Deferred> work;
  work.swap(deferred_);
  for (const Deferred &d : work) {
    if (state_ != State::established || finished_) break;
    if (d.kind == DeferredKind::reset) {
      do_reset(d.stream_id, d.code);
    } else {
      do_stop_sending(d.stream_id, d.code);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Closing on request

void Connection::close(std::uint64_t app_error, std::string_view reason, CloseMode mode) {
  if (close_requested_ || finished_ || state_ == State::closing || state_ == State::draining ||
      state_ == State::dead) {
    return;
  }
  close_requested_ = true;
  close_mode_ = mode;
  close_code_ = app_error;
  close_reason_ = std::string(reason.substr(0, kMaxReasonPhrase));
  std::uint64_t now = EventLoop::now_ns();
  close_deadline_ =
      mode == CloseMode::immediate
          ? now
          : now + static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                 endpoint_.config().close_flush_timeout)
                                                 .count());
  // Nothing to wait for before the handshake: there are no streams yet.
  if (state_ == State::handshaking) close_deadline_ = now;
  endpoint_.schedule_write(*this);
  arm_timer();
}

bool Connection::all_acknowledged() const noexcept {
  for (const auto &[id, stream] : streams_) {
    // A reset stream's bytes in flight will never be acknowledged; nothing to wait for there.
    if (!stream.closed && !stream.write_closed && stream.queue.unacked() > 0) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Events for the handler

void Connection::queue_event() {
  if (!event_queued_) {
    event_queued_ = true;
    endpoint_.queue_event(*this);
  }
}

void Connection::notify_connected() {
  if (!handshake_done_ || connected_notified_ || finished_) return;
  connected_notified_ = true;
  endpoint_.handler().on_connected(*this);
}

void Connection::deliver_events() {
  event_queued_ = false;
  notify_connected();
  ConnectionHandler &handler = endpoint_.handler();
  const bool tell = connected_notified_ && !finished_;
  if (streams_available_) {
    streams_available_ = false;
    if (tell) handler.on_streams_available(*this);
  }
  // Each list is swapped out first: the handler may cause more events while we walk it.
  if (!reset_events_.empty()) {
    std::vector<std::pair<std::int64_t, std::uint64_t>> events;
    events.swap(reset_events_);
    for (const auto &[id, code] : events) {
      if (tell && !finished_) handler.on_stream_reset(*this, id, code);
    }
  }
  if (!stopped_events_.empty()) {
    std::vector<std::int64_t> events;
    events.swap(stopped_events_);
    for (std::int64_t id : events) {
      if (tell && !finished_ && find_stream(id) != nullptr) handler.on_stream_stopped(*this, id);
    }
  }
  if (!writable_events_.empty()) {
    std::vector<std::int64_t> events;
    events.swap(writable_events_);
    for (std::int64_t id : events) {
      const Stream *stream = find_stream(id);
      if (tell && !finished_ && stream != nullptr && !stream->closed) {
        handler.on_stream_writable(*this, id);
      }
    }
  }
  if (!closed_events_.empty()) {
    std::vector<std::int64_t> events;
    events.swap(closed_events_);
    for (std::int64_t id : events) {
      auto it = streams_.find(id);
      if (it == streams_.end()) continue;
      std::uint64_t code = it->second.close_code;
      streams_.erase(it);
      if (tell && !finished_) handler.on_stream_closed(*this, id, code);
    }
  }
}

}  // namespace flume::quic
