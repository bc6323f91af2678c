// Connection: reading packets, timers, and every way a connection ends (with the CloseInfo
// that explains it).
#include "quic/connection.hpp"

#include <ngtcp2/ngtcp2_crypto.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "quic/endpoint.hpp"
#include "quic/quic_socket.hpp"
#include "tls/tls_session.hpp"

namespace flume::quic {

namespace {

std::string hex(std::uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reading

void Connection::on_datagram(const ReceivedDatagram &datagram, std::uint64_t now) {
  ++packets_received_;
  bytes_received_ += datagram.size;
  if (state_ == State::closing) {
    // The peer has not seen our CONNECTION_CLOSE: repeat it, but only for the 1st, 2nd, 4th,
    // 8th… packet, so a peer that keeps sending cannot make us an amplifier.
    ++packets_while_closing_;
    if ((packets_while_closing_ & (packets_while_closing_ - 1)) == 0 && !close_packet_.empty()) {
      const bool connected = own_socket_ != nullptr;
      endpoint_.tx().queue_copy(*socket_, connected ? nullptr : &peer_,
                                connected ? nullptr : &local_, close_packet_);
    }
    return;
  }
  if (state_ == State::draining || state_ == State::dead) return;

  ngtcp2_path path{};
  path.local.addr = const_cast<sockaddr *>(datagram.local.as_sockaddr());
  path.local.addrlen = datagram.local.length;
  path.remote.addr = const_cast<sockaddr *>(datagram.peer.as_sockaddr());
  path.remote.addrlen = datagram.peer.length;
  ngtcp2_pkt_info info{};
  info.ecn = datagram.ecn;
  int rv;
  {
    LibraryCall call(*this);
    rv = ngtcp2_conn_read_pkt(conn_, &path, &info, datagram.data, datagram.size, now);
  }
  if (rv != 0) {
    handle_read_error(rv, now);
    return;
  }
  // The peer is alive, whatever ICMP said. (A forged packet that ngtcp2 dropped also lands here:
  // it can only delay the verdict to the idle timeout, never close a live connection.)
  port_closed_.on_peer_packet();
  run_deferred();
  after_read();
  endpoint_.schedule_write(*this);
}

void Connection::after_read() {
  // ngtcp2 1.11 bug #2193: a peer uni stream whose first frame was RESET_STREAM never closes,
  // so its bookkeeping and the credit returned on close would leak. Any other reset closes the
  // stream within the same read_pkt, so a reset-but-open peer uni stream now is that case.
  if (resets_to_check_.empty()) return;
  std::vector<std::pair<std::int64_t, std::uint64_t>> resets;
  resets.swap(resets_to_check_);
  for (const auto &[id, code] : resets) {
    Stream *stream = find_stream(id);
    if (stream == nullptr || stream->closed) continue;
    stream->closed = true;
    stream->close_code = code;
    closed_events_.push_back(id);
    queue_event();
    if (endpoint_.config().replenish_peer_uni_streams) {
      ngtcp2_conn_extend_max_streams_uni(conn_, 1);
    }
  }
}

void Connection::on_socket_error(int error) {
  // ICMP errors are reported on connected sockets only. Before the handshake they mean nobody
  // listens there. After it, "port unreachable" is a suspicion that the peer is gone, to confirm
  // with a probe (connection_port_closed.cpp); "host/network unreachable" may come from any
  // router on the path during a routing change, a hiccup that loss recovery rides out.
  if (finished_ || state_ == State::dead) return;
  if (handshake_done_) {
    if (error == ECONNREFUSED) on_refused_after_handshake();
    return;
  }
  CloseInfo info;
  info.reason = CloseReason::unreachable;
  info.by_peer = false;
  info.error_code = static_cast<std::uint64_t>(error);
  std::string where = peer_.to_string();
  if (error == ECONNREFUSED) {
    info.message = "connection refused: nothing listens on " + where + " (ICMP port unreachable)";
  } else {
    info.message = "cannot reach " + where + ": " + std::strerror(error);
  }
  finish(std::move(info));
  retire();
}

void Connection::on_timer(std::uint64_t now) {
  if (state_ == State::closing || state_ == State::draining) {
    if (now >= linger_until_) {
      retire();
    } else {
      arm_timer();
    }
    return;
  }
  if (state_ == State::dead) return;
  if (close_requested_ && now >= close_deadline_) endpoint_.schedule_write(*this);

  int rv;
  {
    LibraryCall call(*this);
    rv = ngtcp2_conn_handle_expiry(conn_, now);
  }
  if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    // Silent ends: no CONNECTION_CLOSE goes out (the peer is presumably gone).
    CloseInfo info;
    if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT || !handshake_done_) {
      info.reason = CloseReason::handshake_timeout;
      info.message = "no QUIC handshake with " + peer_.to_string() + " within " +
                     std::to_string(endpoint_.config().handshake_timeout.count()) +
                     " ms (host down, packets filtered, or not a QUIC server)";
    } else {
      info.reason = CloseReason::idle_timeout;
      info.message = "idle timeout: nothing heard from " + peer_.to_string() + " for " +
                     std::to_string(endpoint_.config().idle_timeout.count()) + " ms";
    }
    finish(std::move(info));
    retire();
    return;
  }
  if (rv != 0) {
    handle_liberr(rv, now);
    return;
  }
  run_deferred();
  endpoint_.schedule_write(*this);
}

// ---------------------------------------------------------------------------------------------
// Ending

void Connection::handle_read_error(int rv, std::uint64_t now) {
  switch (rv) {
    case NGTCP2_ERR_DRAINING: {
      // The peer closed (or reset us statelessly): send nothing more, linger 3 PTO so late
      // packets find us instead of drawing stateless resets, then go.
      finish(describe_peer_close());
      start_linger(State::draining, now);
      return;
    }
    case NGTCP2_ERR_CLOSING:
      return;  // we are already closing; on_datagram resends CONNECTION_CLOSE
    case NGTCP2_ERR_DROP_CONN: {
      CloseInfo info;
      info.reason = CloseReason::local_error;
      info.message = "connection dropped (unacceptable packet during the handshake)";
      finish(std::move(info));
      retire();
      return;
    }
    case NGTCP2_ERR_RECV_VERSION_NEGOTIATION: {
      CloseInfo info;
      info.reason = CloseReason::version_mismatch;
      info.by_peer = true;
      info.message = peer_.to_string() + " does not speak QUIC version 1";
      finish(std::move(info));
      retire();
      return;
    }
    case NGTCP2_ERR_CRYPTO: {
      std::uint8_t alert = ngtcp2_conn_get_tls_alert(conn_);
      ngtcp2_ccerr ccerr;
      ngtcp2_ccerr_default(&ccerr);
      ngtcp2_ccerr_set_tls_alert(&ccerr, alert, nullptr, 0);
      finish(describe_tls_failure(alert));
      send_connection_close(ccerr, now);
      return;
    }
    case NGTCP2_ERR_CALLBACK_FAILURE:
      if (alpn_rejected_) {
        ngtcp2_ccerr ccerr;
        ngtcp2_ccerr_default(&ccerr);
        ngtcp2_ccerr_set_tls_alert(&ccerr, tls::kAlertNoApplicationProtocol, nullptr, 0);
        finish(describe_tls_failure(tls::kAlertNoApplicationProtocol));
        send_connection_close(ccerr, now);
        return;
      }
      [[fallthrough]];
    default:
      handle_liberr(rv, now);
  }
}

void Connection::handle_liberr(int rv, std::uint64_t now) {
  ngtcp2_ccerr ccerr;
  ngtcp2_ccerr_default(&ccerr);
  ngtcp2_ccerr_set_liberr(&ccerr, rv, nullptr, 0);
  CloseInfo info;
  info.reason = CloseReason::transport_error;
  info.error_code = ccerr.error_code;
  info.message = std::string("QUIC error: ") + ngtcp2_strerror(rv);
  finish(std::move(info));
  send_connection_close(ccerr, now);
}

void Connection::send_connection_close(const ngtcp2_ccerr &ccerr, std::uint64_t now) {
  if (conn_ == nullptr || ngtcp2_conn_in_closing_period(conn_) ||
      ngtcp2_conn_in_draining_period(conn_)) {
    retire();
    return;
  }
  std::vector<std::uint8_t> packet(endpoint_.config().max_udp_payload);
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info info{};
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn_, &ps.path, &info, packet.data(),
                                                      packet.size(), &ccerr, now);
  if (n <= 0) {  // nothing to say (e.g. no keys yet): just go
    retire();
    return;
  }
  packet.resize(static_cast<std::size_t>(n));
  close_packet_ = std::move(packet);
  const bool connected = own_socket_ != nullptr;
  endpoint_.tx().queue_copy(*socket_, connected ? nullptr : &peer_, connected ? nullptr : &local_,
                            close_packet_);
  ++packets_sent_;
  bytes_sent_ += close_packet_.size();
  start_linger(State::closing, now);
}

void Connection::start_linger(State state, std::uint64_t now) {
  state_ = state;
  linger_until_ = now + 3 * ngtcp2_conn_get_pto(conn_);
  arm_timer();
}

void Connection::finish(CloseInfo info) {
  if (finished_) return;
  finished_ = true;
  info.handshake_completed = handshake_done_;
  close_info_ = std::move(info);
  endpoint_.connection_finished(*this);
}

void Connection::retire() {
  if (state_ == State::dead) return;
  state_ = State::dead;
  endpoint_.loop().disarm(timer_);
  endpoint_.connection_retired(*this);
}

CloseInfo Connection::describe_peer_close() const {
  CloseInfo info;
  info.by_peer = true;
  if (stateless_reset_) {
    info.reason = CloseReason::stateless_reset;
    info.message =
        "the peer no longer knows this connection (stateless reset; it restarted or "
        "lost its state)";
    return info;
  }
  const ngtcp2_ccerr *ccerr = ngtcp2_conn_get_ccerr(conn_);
  info.error_code = ccerr->error_code;
  if (ccerr->reason != nullptr && ccerr->reasonlen > 0) {
    info.reason_phrase.assign(reinterpret_cast<const char *>(ccerr->reason), ccerr->reasonlen);
  }
  std::string phrase = info.reason_phrase.empty() ? std::string() : ": " + info.reason_phrase;
  if (ccerr->type == NGTCP2_CCERR_TYPE_APPLICATION) {
    info.reason = CloseReason::application;
    info.message = "closed by peer: " + application_error_name(ccerr->error_code) + " (" +
                   hex(ccerr->error_code) + ")" + phrase;
    return info;
  }
  if (ccerr->error_code >= NGTCP2_CRYPTO_ERROR && ccerr->error_code <= NGTCP2_CRYPTO_ERROR + 0xff) {
    CloseInfo tls_info =
        describe_tls_failure(static_cast<std::uint8_t>(ccerr->error_code - NGTCP2_CRYPTO_ERROR));
    tls_info.by_peer = true;
    tls_info.reason_phrase = info.reason_phrase;
    return tls_info;
  }
  if (ccerr->error_code == NGTCP2_CONNECTION_REFUSED) {
    info.reason = CloseReason::refused;
    info.message = "the server refused the connection (CONNECTION_REFUSED" + phrase + ")";
    return info;
  }
  if (ccerr->error_code == NGTCP2_NO_ERROR && ccerr->type == NGTCP2_CCERR_TYPE_TRANSPORT) {
    info.reason = CloseReason::transport_error;
    info.message = "closed by peer (transport NO_ERROR" + phrase + ")";
    return info;
  }
  info.reason = CloseReason::transport_error;
  info.message = "closed by peer with transport error " + hex(ccerr->error_code) + phrase;
  return info;
}

CloseInfo Connection::describe_tls_failure(std::uint8_t alert) const {
  CloseInfo info;
  info.tls_alert = alert;
  info.error_code = NGTCP2_CRYPTO_ERROR + alert;
  std::string failure = tls_ ? tls_->verification_failure() : std::string();
  if (!failure.empty()) {
    info.reason = CloseReason::certificate_rejected;
    info.message = failure;
  } else if (alert == tls::kAlertNoApplicationProtocol) {
    info.reason = CloseReason::alpn_mismatch;
    info.message = "ALPN mismatch: the " +
                   std::string(role_ == Role::client ? "server" : "client") + " does not speak " +
                   endpoint_.config().alpn + " (TLS alert " + tls::describe_tls_alert(alert) + ")";
  } else if (alert >= 42 && alert <= 49 && alert != 47) {
    // bad_certificate, unsupported/revoked/expired/unknown certificate, illegal parameter…
    info.reason = CloseReason::certificate_rejected;
    info.message =
        "TLS handshake failed: certificate rejected (alert " + tls::describe_tls_alert(alert) + ")";
  } else {
    info.reason = CloseReason::tls_failure;
    info.message = "TLS handshake failed (alert " + tls::describe_tls_alert(alert) + ")";
  }
  return info;
}

}  // namespace flume::quic
