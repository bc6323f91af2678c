// Everything an Endpoint needs to know, with the defaults Flume ships. EndpointConfig::server()
// and ::client() fill in the role-specific values (docs/protocol.md §2, §12).
//
// Loss recovery and latency (why these defaults; measured on loopback with 10% loss each way):
// - congestion_control = BBR (ngtcp2 1.11's BBR is v2). Under 10% random loss BBR kept bulk
//   transfers at 0.1-0.4 s where CUBIC and Reno took 1.6-7 s, and had the best message p99
//   (Reno the worst). Loss-based controllers read random loss as congestion and collapse cwnd;
//   Flume's target is exactly lossy networks.
// - initial_rtt = 10 ms (ngtcp2's default is 333 ms). It sets the first PTO (~3x): a lost
//   first Initial was recovered in 33 ms instead of 1 s. On a WAN path with a longer RTT the
//   cost is one spurious Initial retransmission (~1.2 KB) before the first RTT sample replaces
//   the guess. Raise it for links known to be slow (satellite).
// - max_ack_delay = 1 ms (QUIC default 25 ms). The PTO includes the peer's max_ack_delay, and
//   at low message rates a lost packet is found only by the PTO (no later packets reveal the
//   gap), so it sets the tail: at 10% loss, 10 msg/s, p99 fell from 13 ms (5 ms) to 3-7 ms
//   (docs/benchmarks.md). The price is at most one ACK per millisecond per busy connection,
//   and ack_thresh sends one every second packet anyway when traffic is dense.
// - ack_thresh = 2 (RFC 9000's "ack every second packet"). 1 doubles ACK traffic without a
//   consistent p99 gain in measurements.
// - max_udp_payload = 1452 bytes: fits 1500-byte Ethernet with IPv6; PMTUD probes above 1200.
//
// Flow control (DESIGN.md: one stalled subscription must never starve the others):
// - Connection-level credit is returned as soon as stream data is handed to the handler
//   (on_stream_data), not when the application consumes it, so bytes parked for a slow stream
//   never hold connection credit. Only stream credit waits for Connection::consume(). The
//   connection window then only needs to cover the bandwidth-delay product: 4 MiB initial,
//   auto-tuned up to 16 MiB.
// - Per-stream window 256 KiB initial (four maximum-size 64 KiB messages), auto-tuned up to
//   2 MiB (about 100 Mbit/s x 160 ms). Memory a peer can make us hold is bounded by
//   open streams x max_stream_receive_window.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "net/udp_socket.hpp"
#include "protocol/protocol.hpp"
#include "quic/address_limits.hpp"
#include "tls/client_trust.hpp"
#include "tls/server_credentials.hpp"

namespace flume::quic {

enum class Role : std::uint8_t { server, client };
enum class CongestionControl : std::uint8_t { bbr, cubic, reno };

struct EndpointConfig {
  Role role = Role::server;

  // Server: the address to listen on (port 0 picks one; see Endpoint::local_address()).
  // Client: unused; every connection gets its own connected socket on an ephemeral port, so
  // ICMP errors (port unreachable) reach exactly that connection.
  SocketAddress bind_address;

  std::shared_ptr<const tls::ServerCredentials> server_credentials;  // server role: required
  std::shared_ptr<const tls::ClientTrust> client_trust;              // client role: required
  std::string alpn{kAlpn};

  // --- timeouts ---
  // Bounds a handshake (server: half-open connections; client: connect()). No answer in time
  // closes with CloseReason::handshake_timeout.
  std::chrono::milliseconds handshake_timeout{10'000};
  // Our max_idle_timeout transport parameter; the smaller of both sides applies (at least 3 PTO).
  std::chrono::milliseconds idle_timeout{30'000};
  // Sends a PING after this long without ack-eliciting packets (0 = off). Clients: 10 s.
  std::chrono::milliseconds keep_alive{0};
  // Upper bound for Connection::close(…, CloseMode::flush) waiting for queued data to be acked.
  std::chrono::milliseconds close_flush_timeout{2'000};

  // --- loss recovery (see the block above) ---
  CongestionControl congestion_control = CongestionControl::bbr;
  std::chrono::microseconds initial_rtt{10'000};
  std::chrono::milliseconds max_ack_delay{1};
  std::size_t ack_thresh = 2;
  std::size_t max_udp_payload = 1452;

  // --- flow control (receive side; see the block above) ---
  std::uint64_t stream_receive_window = 256 * 1024;
  std::uint64_t max_stream_receive_window = 2 * 1024 * 1024;  // auto-tuning cap; <= initial: off
  std::uint64_t connection_receive_window = 4 * 1024 * 1024;
  std::uint64_t max_connection_receive_window = 16 * 1024 * 1024;

  // --- stream limits: how many streams the PEER may have open at once ---
  std::uint64_t max_peer_bidi_streams = 0;
  std::uint64_t max_peer_uni_streams = 0;
  // Whether a closed peer stream gives the peer a new one (MAX_STREAMS), keeping the limits above
  // concurrent rather than lifetime totals. The broker keeps bidi at 1 for good (§6.1).
  bool replenish_peer_bidi_streams = true;
  bool replenish_peer_uni_streams = true;

  // --- server only ---
  // Live connections (handshaking ones included). Beyond it new clients are refused at the
  // transport level: a stateless CONNECTION_CLOSE with CONNECTION_REFUSED (0x2) in an Initial
  // packet, which costs no connection state or TLS work; the client sees CloseReason::refused.
  // The broker's application-level limit (TOO_MANY_CONNECTIONS after HELLO, §7) is separate
  // and normally lower, so clients usually get the friendlier application error.
  std::size_t max_connections = 10'000;
  // When this many handshakes are in flight, new clients must first prove their address with a
  // Retry round trip (costs 1 RTT, stops spoofed-source floods from allocating connections).
  // 0: always Retry.
  std::size_t retry_threshold = 64;
  std::chrono::milliseconds retry_token_lifetime{10'000};
  // Per source address (quic/address_limits.hpp): live connections, and handshakes a second
  // (beyond it an unproven address is asked for Retry, a proven one refused with
  // CONNECTION_REFUSED).
  AddressLimitsConfig address_limits;
  // Keys stateless-reset tokens and Retry tokens. Keep it stable across restarts (e.g. read
  // from the data directory) so a restarted broker resets its old connections at once instead
  // of leaving clients to wait for their idle timeout. Empty: random per Endpoint.
  std::optional<std::array<std::uint8_t, 32>> static_secret;
  // Stateless resets answer packets for unknown connections; a token bucket caps them so the
  // broker cannot be used as a reflector: `stateless_reset_burst` at once, refilled at
  // `stateless_reset_rate` per second.
  std::size_t stateless_reset_burst = 100;
  std::size_t stateless_reset_rate = 100;

  // Role defaults. Server: bind 0.0.0.0:7337, peer bidi 1 (the control stream, never
  // replenished), peer uni 100 (publish streams). Client: peer bidi 0, peer uni 1000
  // (subscription streams), keep-alive 10 s.
  static EndpointConfig server(std::shared_ptr<const tls::ServerCredentials> credentials);
  static EndpointConfig client(std::shared_ptr<const tls::ClientTrust> trust);

  // "" when usable, else what is wrong. Debian builds ngtcp2 with assert() on, and it aborts on
  // some bad values (max_ack_delay >= 2^14 ms, initial_rtt 0, max_idle_timeout UINT64_MAX), so
  // Endpoint::open() refuses a config that fails this.
  std::string validate() const;
};

}  // namespace flume::quic
