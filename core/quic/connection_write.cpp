// The write pass of one connection: stream data, round-robin over ready streams, packed into
// packets straight in the endpoint's TxBatch arena and grouped into GSO runs (by hand: ngtcp2 1.11
// has no aggregation API).
#include <ngtcp2/ngtcp2.h>

#include <algorithm>
#include <array>

#include "quic/connection.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_socket.hpp"

namespace flume::quic {

namespace {

// Upper bound for one pass of one connection, in packets: a full GSO send. With pacing the
// send quantum is usually smaller; when the bound is hit another pass follows in the next loop
// iteration, after other connections had theirs.
constexpr std::size_t kMaxPacketsPerPass = 64;

// iovecs handed to ngtcp2 per write: enough for a full packet of small messages.
constexpr std::size_t kMaxVectors = 16;

SocketAddress address_of(const ngtcp2_addr &addr) {
  return SocketAddress::from(reinterpret_cast<const sockaddr *>(addr.addr), addr.addrlen);
}

}  // namespace

void Connection::apply_sent(std::int64_t stream_id, Stream &stream, std::int64_t ndatalen,
                            bool fin_offered) {
  if (ndatalen < 0) return;
  const bool had_unsent = stream.queue.unsent() > 0;
  stream.queue.mark_sent(static_cast<std::size_t>(ndatalen));
  // The FIN goes out only if all offered data fit, i.e. nothing is left unsent now.
  if (fin_offered && stream.queue.unsent() == 0) stream.fin_sent = true;
  // Everything queued is now QUIC's: a layer that keeps its own backlog and hands over a bounded
  // amount at a time (the broker's subscription queues) refills on this event.
  if (had_unsent && stream.queue.unsent() == 0 && !stream.fin_queued) {
    writable_events_.push_back(stream_id);
    queue_event();
  }
}

void Connection::unblock_connection_level() {
  if (connection_blocked_.empty() || ngtcp2_conn_get_max_data_left(conn_) == 0) return;
  std::vector<std::int64_t> ids;
  ids.swap(connection_blocked_);
  for (std::int64_t id : ids) {
    Stream *stream = find_stream(id);
    if (stream == nullptr || stream->closed) continue;
    stream->connection_blocked = false;
    make_ready(id, *stream);
    writable_events_.push_back(id);
    queue_event();
  }
}

void Connection::write(std::uint64_t now) {
  if (state_ != State::handshaking && state_ != State::established) return;
  if (socket_->blocked()) {  // kept packets first; the endpoint calls us again when they left
    endpoint_.wait_for_socket(*this);
    return;
  }
  if (close_requested_ &&
      (close_mode_ == CloseMode::immediate || now >= close_deadline_ || all_acknowledged())) {
    ngtcp2_ccerr ccerr;
    ngtcp2_ccerr_default(&ccerr);
    ngtcp2_ccerr_set_application_error(&ccerr, close_code_,
                                       reinterpret_cast<const std::uint8_t *>(close_reason_.data()),
                                       close_reason_.size());
    CloseInfo info;
    info.reason = CloseReason::application;
    info.error_code = close_code_;
    info.reason_phrase = close_reason_;
    info.message = "closed locally: " + application_error_name(close_code_) +
                   (close_reason_.empty() ? std::string() : ": " + close_reason_);
    finish(std::move(info));
    send_connection_close(ccerr, now);
    return;
  }
  unblock_connection_level();

  TxBatch &tx = endpoint_.tx();
  const std::size_t max_udp = ngtcp2_conn_get_max_tx_udp_payload_size(conn_);
  const std::size_t path_max = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_);
  std::size_t want = std::max(ngtcp2_conn_get_send_quantum(conn_), path_max);
  want = std::min(want, kMaxPacketsPerPass * max_udp);
  std::span<std::uint8_t> room = tx.reserve(want);
  room = room.first(std::min(room.size(), want));

  const bool connected = own_socket_ != nullptr;
  std::size_t used = 0;
  std::size_t run_start = 0;
  std::size_t segment = 0;
  ngtcp2_path_storage ps, run_path;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_path_storage_zero(&run_path);
  ngtcp2_pkt_info pi{};
  std::array<ngtcp2_vec, kMaxVectors> vec{};

  // Hands [run_start, end) to the batch as one run of `segment`-byte packets.
  auto commit = [&](std::size_t end) {
    if (end > run_start) {
      SocketAddress peer = address_of(run_path.path.remote);
      SocketAddress local = address_of(run_path.path.local);
      if (!connected && !(peer == peer_)) peer_ = peer;  // the client's NAT rebound
      tx.commit(*socket_, connected ? nullptr : &peer, connected ? nullptr : &local,
                room.data() + run_start, end - run_start, segment);
      packets_sent_ += (end - run_start + segment - 1) / segment;
      bytes_sent_ += end - run_start;
    }
    run_start = end;
  };
  auto drop_front = [&](Stream &stream) {
    stream.in_ready = false;
    ready_.pop_front();
  };

  const std::uint64_t packets_before = packets_sent_;
  begin_probe_write();
  bool room_exhausted = true;
  for (;;) {
    const std::size_t left = room.size() - used;
    if (left < path_max) break;
    const std::size_t buflen = left >= max_udp ? max_udp : path_max;

    Stream *stream = nullptr;
    std::int64_t stream_id = -1;
    while (!ready_.empty()) {
      std::int64_t id = ready_.front();
      Stream *candidate = find_stream(id);
      if (candidate != nullptr && candidate->in_ready && has_pending(*candidate) &&
          !candidate->blocked && !candidate->connection_blocked) {
        stream = candidate;
        stream_id = id;
        break;
      }
      if (candidate != nullptr) candidate->in_ready = false;
      ready_.pop_front();
    }
    std::size_t nvec = 0;
    bool fin = false;
    if (stream != nullptr) {
      bool all = false;
      nvec = stream->queue.peek_unsent(vec, all);
      fin = stream->fin_queued && !stream->fin_sent && all;
    }

    std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_ssize ndatalen = -1;
    ngtcp2_ssize n;
    {
      LibraryCall call(*this);
      n = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, room.data() + used, buflen, &ndatalen,
                                    flags, stream_id, vec.data(), nvec, now);
    }
    if (n < 0) {
      if (stream != nullptr && n == NGTCP2_ERR_WRITE_MORE) {
        // The packet has room left: account and offer it the next stream.
        apply_sent(stream_id, *stream, ndatalen, fin);
        if (!has_pending(*stream)) drop_front(*stream);
        continue;
      }
      if (stream != nullptr && n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        drop_front(*stream);
        if (ngtcp2_conn_get_max_stream_data_left(conn_, stream_id) == 0) {
          stream->blocked = true;  // extend_max_stream_data brings it back
        } else {
          stream->connection_blocked = true;  // the next pass with MAX_DATA brings it back
          connection_blocked_.push_back(stream_id);
        }
        continue;
      }
      if (stream != nullptr &&
          (n == NGTCP2_ERR_STREAM_SHUT_WR || n == NGTCP2_ERR_STREAM_NOT_FOUND)) {
        // Reset by us, or by ngtcp2 answering the peer's STOP_SENDING. The latter is news to
        // the handler: on a bidirectional stream no stream_close may ever tell it.
        drop_front(*stream);
        if (!stream->write_closed && n == NGTCP2_ERR_STREAM_SHUT_WR) {
          stopped_events_.push_back(stream_id);
          queue_event();
        }
        stream->write_closed = true;
        stream->queue.drop_unsent();
        continue;
      }
      commit(used);
      handle_liberr(static_cast<int>(n), now);
      return;
    }
    if (stream != nullptr && ndatalen >= 0) {
      // Round-robin per packet: a stream with more to say queues up behind the others.
      apply_sent(stream_id, *stream, ndatalen, fin);
      drop_front(*stream);
      if (has_pending(*stream)) {
        stream->in_ready = true;
        ready_.push_back(stream_id);
      }
    }
    if (n == 0) {  // nothing more to send now: congestion- or pacing-limited, or idle
      room_exhausted = false;
      break;
    }

    const std::size_t size = static_cast<std::size_t>(n);
    if (used == run_start) {
      segment = size;
      ngtcp2_path_copy(&run_path.path, &ps.path);
    } else if (!ngtcp2_path_eq(&run_path.path, &ps.path) || size > segment) {
      // GSO needs one destination and equal sizes: a new run starts with this packet.
      commit(used);
      segment = size;
      ngtcp2_path_copy(&run_path.path, &ps.path);
    }
    used += size;
    // A shorter packet can only be a run's last; a PMTUD probe (larger than the validated
    // path size) goes out alone so its loss costs nothing else.
    if (size < segment || segment > path_max) commit(used);
  }
  commit(used);
  end_probe_write(packets_before);
  ngtcp2_conn_update_pkt_tx_time(conn_, now);
  arm_timer();
  if (room_exhausted) endpoint_.schedule_write(*this);
}

void Connection::arm_timer() noexcept {
  std::uint64_t deadline = EventLoop::kNoDeadline;
  if (state_ == State::closing || state_ == State::draining) {
    deadline = linger_until_;
  } else if (state_ != State::dead && conn_ != nullptr) {
    deadline = ngtcp2_conn_get_expiry(conn_);
    if (close_requested_) deadline = std::min(deadline, close_deadline_);
  }
  endpoint_.loop().arm_at(timer_, deadline);
}

}  // namespace flume::quic
