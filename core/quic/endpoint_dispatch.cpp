// The server's receive path: one socket, many connections. Datagrams are dispatched by
// destination connection ID (all ours have one length, connection_id.hpp); what matches no
// connection is answered statelessly.
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <array>
#include <chrono>

#include "log/log.hpp"
#include "quic/endpoint.hpp"
#include "quic/quic_socket.hpp"

namespace flume::quic {

namespace {

// Retry tokens carry wall-clock time (they are checked against it, and survive restarts).
std::uint64_t wall_clock_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

void Endpoint::on_listen_readable() {
  for (int i = 0; i < kMaxReadBatches; ++i) {
    IoResult result = listen_socket_->udp().recv_batch(rx_);
    if (result.error != 0) break;  // e.g. a stray ICMP error on the unconnected socket
    std::uint64_t now = EventLoop::now_ns();
    for (const ReceivedDatagram &datagram : rx_.datagrams()) {
      ++stats_.datagrams_received;
      dispatch(datagram, now);
    }
    if (result.would_block || result.count < rx_.capacity()) break;
  }
  settle();
}

void Endpoint::dispatch(const ReceivedDatagram &datagram, std::uint64_t now) {
  if (datagram.size == 0 || datagram.truncated) {
    ++stats_.datagrams_dropped;
    return;
  }
  ngtcp2_version_cid vc{};
  int rv = ngtcp2_pkt_decode_version_cid(&vc, datagram.data, datagram.size, kCidLength);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    send_version_negotiation(vc, datagram);
    return;
  }
  if (rv != 0 || vc.dcidlen > NGTCP2_MAX_CIDLEN) {
    ++stats_.datagrams_dropped;
    return;
  }
  if (auto it = cids_.find(CidKey::of(vc.dcid, vc.dcidlen)); it != cids_.end()) {
    it->second->on_datagram(datagram, now);
    return;
  }
  if (datagram.data[0] & 0x80) {  // long header: maybe a new connection
    accept(datagram, now);
    return;
  }
  maybe_send_stateless_reset(vc, datagram, now);
}

void Endpoint::accept(const ReceivedDatagram &datagram, std::uint64_t now) {
  ngtcp2_pkt_hd hd{};
  // Only an Initial of at least 1200 bytes with a usable DCID starts a connection; a 0-RTT
  // packet that overtook its Initial is dropped (Flume has no 0-RTT anyway).
  if (ngtcp2_accept(&hd, datagram.data, datagram.size) != 0) {
    ++stats_.datagrams_dropped;
    return;
  }
  if (live_connections_ >= config_.max_connections) {
    ++stats_.connections_refused;
    FLUME_LOG(log::Level::warn, "quic", "refused a connection from %s: at the limit of %zu",
              datagram.peer.to_string().c_str(), static_cast<std::size_t>(config_.max_connections));
    send_stateless_close(hd, datagram, NGTCP2_CONNECTION_REFUSED, "server at connection limit");
    return;
  }

  ngtcp2_cid original_dcid{};
  const ngtcp2_cid *original = nullptr;
  ngtcp2_token_type token_type = NGTCP2_TOKEN_TYPE_UNKNOWN;
  if (hd.tokenlen > 0 && hd.token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY2) {
    auto lifetime =
        std::chrono::duration_cast<std::chrono::nanoseconds>(config_.retry_token_lifetime);
    int verified = ngtcp2_crypto_verify_retry_token2(
        &original_dcid, hd.token, hd.tokenlen, token_secret_.data(), token_secret_.size(),
        hd.version, datagram.peer.as_sockaddr(), datagram.peer.length, &hd.dcid,
        static_cast<ngtcp2_duration>(lifetime.count()), wall_clock_ns());
    if (verified == 0) {
      original = &original_dcid;
      token_type = NGTCP2_TOKEN_TYPE_RETRY;
    } else if (verified != NGTCP2_CRYPTO_ERR_UNREADABLE_TOKEN) {
      // Ours, but for another address or expired: the client must start over.
      ++stats_.invalid_tokens;
      send_stateless_close(hd, datagram, NGTCP2_INVALID_TOKEN, "invalid retry token");
      return;
    }
    // Unreadable (another server's, or garbage): as if there were none.
  }
  const bool limited = address_limits_.applies_to(datagram.peer);
  const AddressLimits::Key address = AddressLimits::key_of(datagram.peer);
  if (limited && !admit_address(hd, datagram, address, original != nullptr, now)) return;
  if (original == nullptr && handshakes_in_flight_ >= config_.retry_threshold) {
    send_retry(hd, datagram);
    return;
  }

  std::unique_ptr<Connection> connection(new Connection(*this, Role::server));
  std::string error;
  if (!connection->init_server(hd, original, token_type, *listen_socket_, datagram.local,
                               datagram.peer, now, error)) {
    ++stats_.datagrams_dropped;
    for (const CidKey &key : connection->cids_)
      remove_cid(key);
    return;
  }
  Connection *raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  ++live_connections_;
  ++handshakes_in_flight_;
  ++stats_.connections_accepted;
  if (limited && address_limits_.opened(address, original != nullptr, now)) {
    raw->limited_address_ = address;
  }
  raw->on_datagram(datagram, now);
}

bool Endpoint::admit_address(const ngtcp2_pkt_hd &hd, const ReceivedDatagram &datagram,
                             const AddressLimits::Key &key, bool address_validated,
                             std::uint64_t now) {
  // Logged at most once a second per kind: a flood must not become a flood of log lines.
  auto log_refusal = [&](std::uint64_t count, const char *why) {
    if (now < next_address_log_ns_) return;
    next_address_log_ns_ = now + 1'000'000'000;
    FLUME_LOG(log::Level::warn, "quic", "refused a connection from %s: %s (%llu so far)",
              datagram.peer.to_string().c_str(), why, static_cast<unsigned long long>(count));
  };
  switch (address_limits_.check(key, address_validated, now)) {
    case AddressLimits::Verdict::admit:
      return true;
    case AddressLimits::Verdict::retry:
      // Prove the address first: a spoofed source never comes back, a real one does and is
      // then judged as proven.
      ++stats_.retries_for_address_rate;
      send_retry(hd, datagram);
      return false;
    case AddressLimits::Verdict::drop:  // answering every packet of a flood would cost us more
      ++stats_.dropped_address_rate;
      ++stats_.datagrams_dropped;
      return false;
    case AddressLimits::Verdict::refuse_connections:
      ++stats_.refused_address_connections;
      log_refusal(stats_.refused_address_connections, "too many connections from this address");
      send_stateless_close(hd, datagram, NGTCP2_CONNECTION_REFUSED,
                           "too many connections from this address");
      return false;
    case AddressLimits::Verdict::refuse_rate:
      ++stats_.refused_address_rate;
      log_refusal(stats_.refused_address_rate, "new connections from this address too fast");
      send_stateless_close(hd, datagram, NGTCP2_CONNECTION_REFUSED,
                           "new connections from this address too fast");
      return false;
  }
  return true;
}

void Endpoint::send_version_negotiation(const ngtcp2_version_cid &vc,
                                        const ReceivedDatagram &datagram) {
  // QUIC v1 plus a reserved 0x?a?a?a?a version, so clients keep handling unknown ones (RFC 9000
  // §15, greasing).
  std::uint32_t grease = 0;
  gnutls_rnd(GNUTLS_RND_NONCE, &grease, sizeof grease);
  grease = (grease & 0xf0f0f0f0u) | 0x0a0a0a0au;
  const std::array<std::uint32_t, 2> versions{grease, NGTCP2_PROTO_VER_V1};
  std::uint8_t unused = 0;
  gnutls_rnd(GNUTLS_RND_NONCE, &unused, 1);
  std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> packet{};
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(packet.data(), packet.size(), unused,
                                                        vc.scid, vc.scidlen, vc.dcid, vc.dcidlen,
                                                        versions.data(), versions.size());
  if (n <= 0) return;
  ++stats_.version_negotiations_sent;
  tx_.queue_copy(*listen_socket_, &datagram.peer, &datagram.local,
                 {packet.data(), static_cast<std::size_t>(n)});
}

void Endpoint::send_retry(const ngtcp2_pkt_hd &hd, const ReceivedDatagram &datagram) {
  ngtcp2_cid retry_scid = random_cid();  // our length, so the next Initial dispatches to us
  std::array<std::uint8_t, NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN2> token{};
  ngtcp2_ssize token_length = ngtcp2_crypto_generate_retry_token2(
      token.data(), token_secret_.data(), token_secret_.size(), hd.version,
      datagram.peer.as_sockaddr(), datagram.peer.length, &retry_scid, &hd.dcid, wall_clock_ns());
  if (token_length < 0) return;
  std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> packet{};
  // Never more than 3x what the client sent (anti-amplification; RFC 9000 §8).
  std::size_t limit = std::min(packet.size(), datagram.size * 3);
  ngtcp2_ssize n =
      ngtcp2_crypto_write_retry(packet.data(), limit, hd.version, &hd.scid, &retry_scid, &hd.dcid,
                                token.data(), static_cast<std::size_t>(token_length));
  if (n <= 0) return;
  ++stats_.retries_sent;
  tx_.queue_copy(*listen_socket_, &datagram.peer, &datagram.local,
                 {packet.data(), static_cast<std::size_t>(n)});
}

void Endpoint::send_stateless_close(const ngtcp2_pkt_hd &hd, const ReceivedDatagram &datagram,
                                    std::uint64_t error_code, std::string_view reason) {
  std::array<std::uint8_t, NGTCP2_MAX_UDP_PAYLOAD_SIZE> packet{};
  // An Initial packet protected with keys derived from the client's DCID, which it can read
  // without any state on our side.
  ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(
      packet.data(), std::min(packet.size(), datagram.size * 3), hd.version, &hd.scid, &hd.dcid,
      error_code, reinterpret_cast<const std::uint8_t *>(reason.data()), reason.size());
  if (n <= 0) return;
  tx_.queue_copy(*listen_socket_, &datagram.peer, &datagram.local,
                 {packet.data(), static_cast<std::size_t>(n)});
}

void Endpoint::maybe_send_stateless_reset(const ngtcp2_version_cid &vc,
                                          const ReceivedDatagram &datagram, std::uint64_t now) {
  // RFC 9000 §10.3: a reset must be smaller than what triggered it (no loops between two
  // endpoints that both lost state) and look like a short-header packet: at least 21 bytes.
  // A trigger of CID length + 21 bytes leaves room for both.
  if (datagram.size < kCidLength + 21) {
    ++stats_.datagrams_dropped;
    return;
  }
  // Token bucket: resets are cheap to provoke with spoofed sources.
  double elapsed_s = static_cast<double>(now - reset_refilled_at_) / 1e9;
  reset_refilled_at_ = now;
  reset_tokens_ =
      std::min(static_cast<double>(config_.stateless_reset_burst),
               reset_tokens_ + elapsed_s * static_cast<double>(config_.stateless_reset_rate));
  if (reset_tokens_ < 1) {
    ++stats_.datagrams_dropped;
    return;
  }
  reset_tokens_ -= 1;

  ngtcp2_cid cid{};
  ngtcp2_cid_init(&cid, vc.dcid, vc.dcidlen);
  std::array<std::uint8_t, NGTCP2_STATELESS_RESET_TOKENLEN> token{};
  stateless_reset_token(cid, token.data());
  // Random bytes before the token: one less than the trigger in total, capped at 43 bytes
  // overall like the reference server.
  constexpr std::size_t kMaxRandom = NGTCP2_MAX_CIDLEN + 22 - NGTCP2_STATELESS_RESET_TOKENLEN;
  std::size_t random_length =
      std::min(kMaxRandom, datagram.size - 1 - 1 - NGTCP2_STATELESS_RESET_TOKENLEN);
  std::array<std::uint8_t, kMaxRandom> random{};
  gnutls_rnd(GNUTLS_RND_NONCE, random.data(), random_length);
  std::array<std::uint8_t, 64> packet{};
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(packet.data(), packet.size(), token.data(),
                                                    random.data(), random_length);
  if (n <= 0) return;
  ++stats_.stateless_resets_sent;
  tx_.queue_copy(*listen_socket_, &datagram.peer, &datagram.local,
                 {packet.data(), static_cast<std::size_t>(n)});
}

}  // namespace flume::quic
