// ngtcp2 calls these from inside read_pkt, writev_stream and handle_expiry. They update the
// Connection and queue events; only stream data (whose bytes live only for the call) and the
// on_connected that must precede it reach the handler directly.
#include "quic/connection_callbacks.hpp"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>

#include "quic/connection.hpp"
#include "quic/endpoint.hpp"
#include "tls/tls_session.hpp"

namespace flume::quic {

namespace {

Connection &of(void *user_data) {
  return *static_cast<Connection *>(user_data);
}

}  // namespace

ngtcp2_callbacks ConnectionCallbacks::table(Role role) noexcept {
  ngtcp2_callbacks callbacks{};
  if (role == Role::client) {
    callbacks.client_initial = ngtcp2_crypto_client_initial_cb;
    callbacks.recv_retry = ngtcp2_crypto_recv_retry_cb;
  } else {
    callbacks.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  }
  callbacks.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  callbacks.encrypt = ngtcp2_crypto_encrypt_cb;
  callbacks.decrypt = ngtcp2_crypto_decrypt_cb;
  callbacks.hp_mask = ngtcp2_crypto_hp_mask_cb;
  callbacks.update_key = ngtcp2_crypto_update_key_cb;
  callbacks.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  callbacks.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  callbacks.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  callbacks.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  callbacks.rand = rand;
  callbacks.get_new_connection_id = get_new_connection_id;
  callbacks.remove_connection_id = remove_connection_id;
  callbacks.handshake_completed = handshake_completed;
  callbacks.recv_stream_data = recv_stream_data;
  callbacks.acked_stream_data_offset = acked_stream_data_offset;
  callbacks.stream_open = stream_open;
  callbacks.stream_close = stream_close;
  callbacks.stream_reset = stream_reset;
  callbacks.extend_max_local_streams_bidi = extend_max_local_streams;
  callbacks.extend_max_local_streams_uni = extend_max_local_streams;
  callbacks.extend_max_stream_data = extend_max_stream_data;
  callbacks.recv_stateless_reset = recv_stateless_reset;
  return callbacks;
}

int ConnectionCallbacks::handshake_completed(ngtcp2_conn *, void *user_data) {
  Connection &c = of(user_data);
  // GNUTLS_ALPN_MANDATORY makes the server refuse a client without our protocol; this catches
  // the other direction, a server that selected nothing (or something else).
  if (!c.tls_->alpn_matches()) {
    c.alpn_rejected_ = true;
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  c.handshake_done_ = true;
  c.state_ = Connection::State::established;
  if (c.role_ == Role::server) c.server_name_ = c.tls_->requested_server_name();
  c.endpoint_.handshake_completed(c);
  c.queue_event();
  return 0;
}

int ConnectionCallbacks::recv_stream_data(ngtcp2_conn *conn, std::uint32_t flags,
                                          std::int64_t stream_id, std::uint64_t,
                                          const std::uint8_t *data, std::size_t datalen,
                                          void *user_data, void *) {
  Connection &c = of(user_data);
  // Connection credit goes back as soon as the bytes are the handler's; only stream credit
  // waits for consume(), so a stalled stream cannot hold the connection window (DESIGN.md).
  ngtcp2_conn_extend_max_offset(conn, datalen);
  c.notify_connected();  // 1-RTT data can ride in the same flight as the handshake's end
  Connection::Stream &stream = c.streams_[stream_id];
  if (c.finished_ || stream.closed) return 0;
  bool fin = (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0;
  c.endpoint_.handler_.on_stream_data(c, stream_id, {data, datalen}, fin);
  return 0;
}

int ConnectionCallbacks::acked_stream_data_offset(ngtcp2_conn *, std::int64_t stream_id,
                                                  std::uint64_t offset, std::uint64_t datalen,
                                                  void *user_data, void *) {
  Connection &c = of(user_data);
  if (Connection::Stream *stream = c.find_stream(stream_id)) {
    stream->queue.acknowledge_until(offset + datalen);
  }
  // A close waiting for queued data to be acknowledged may be able to go now.
  if (c.close_requested_) c.endpoint_.schedule_write(c);
  return 0;
}

int ConnectionCallbacks::stream_open(ngtcp2_conn *, std::int64_t stream_id, void *user_data) {
  of(user_data).streams_.try_emplace(stream_id);
  return 0;
}

int ConnectionCallbacks::stream_close(ngtcp2_conn *conn, std::uint32_t flags,
                                      std::int64_t stream_id, std::uint64_t app_error_code,
                                      void *user_data, void *) {
  Connection &c = of(user_data);
  Connection::Stream &stream = c.streams_[stream_id];
  if (stream.closed) return 0;  // already synthesised (the #2193 workaround)
  stream.closed = true;
  stream.close_code = (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) ? app_error_code : 0;
  c.lost_on_closed_streams_ += ngtcp2_conn_get_stream_loss_count(conn, stream_id);
  // The library kept pointers to unacknowledged bytes until now; after the close it never
  // touches them again.
  stream.queue.clear();
  c.closed_events_.push_back(stream_id);
  c.queue_event();
  if (!c.is_local_stream(stream_id)) {
    // The peer gets its stream back, keeping the configured limit a concurrent one (ngtcp2
    // grants new credit itself only for streams it closed without telling us).
    const EndpointConfig &config = c.endpoint_.config_;
    bool uni = (stream_id & 0x2) != 0;
    if (uni && config.replenish_peer_uni_streams) ngtcp2_conn_extend_max_streams_uni(conn, 1);
    if (!uni && config.replenish_peer_bidi_streams) ngtcp2_conn_extend_max_streams_bidi(conn, 1);
  }
  return 0;
}

int ConnectionCallbacks::stream_reset(ngtcp2_conn *, std::int64_t stream_id, std::uint64_t,
                                      std::uint64_t app_error_code, void *user_data, void *) {
  Connection &c = of(user_data);
  c.streams_.try_emplace(stream_id);  // RESET_STREAM may be the first frame of a stream
  c.reset_events_.emplace_back(stream_id, app_error_code);
  bool peer_uni = (stream_id & 0x2) != 0 && !c.is_local_stream(stream_id);
  if (peer_uni) c.resets_to_check_.emplace_back(stream_id, app_error_code);  // see after_read
  c.queue_event();
  return 0;
}

int ConnectionCallbacks::extend_max_local_streams(ngtcp2_conn *, std::uint64_t, void *user_data) {
  Connection &c = of(user_data);
  c.streams_available_ = true;
  c.queue_event();
  return 0;
}

int ConnectionCallbacks::extend_max_stream_data(ngtcp2_conn *, std::int64_t stream_id,
                                                std::uint64_t, void *user_data, void *) {
  Connection &c = of(user_data);
  Connection::Stream *stream = c.find_stream(stream_id);
  if (stream == nullptr || !stream->blocked) return 0;
  stream->blocked = false;
  c.make_ready(stream_id, *stream);
  c.writable_events_.push_back(stream_id);
  c.queue_event();
  return 0;
}

void ConnectionCallbacks::rand(std::uint8_t *dest, std::size_t destlen, const ngtcp2_rand_ctx *) {
  gnutls_rnd(GNUTLS_RND_NONCE, dest, destlen);
}

int ConnectionCallbacks::get_new_connection_id(ngtcp2_conn *, ngtcp2_cid *cid, std::uint8_t *token,
                                               std::size_t cidlen, void *user_data) {
  Connection &c = of(user_data);
  *cid = random_cid(cidlen);
  c.endpoint_.stateless_reset_token(*cid, token);
  if (c.role_ == Role::server) {
    CidKey key = CidKey::of(*cid);
    c.endpoint_.add_cid(key, c);
    c.cids_.push_back(key);
  }
  return 0;
}

int ConnectionCallbacks::remove_connection_id(ngtcp2_conn *, const ngtcp2_cid *cid,
                                              void *user_data) {
  Connection &c = of(user_data);
  if (c.role_ != Role::server) return 0;
  CidKey key = CidKey::of(*cid);
  c.endpoint_.remove_cid(key);
  std::erase(c.cids_, key);
  return 0;
}

int ConnectionCallbacks::recv_stateless_reset(ngtcp2_conn *, const ngtcp2_pkt_stateless_reset *,
                                              void *user_data) {
  of(user_data).stateless_reset_ = true;
  return 0;
}

}  // namespace flume::quic
