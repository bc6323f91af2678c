#include "quic/endpoint_config.hpp"

namespace flume::quic {

EndpointConfig EndpointConfig::server(std::shared_ptr<const tls::ServerCredentials> credentials) {
  EndpointConfig config;
  config.role = Role::server;
  config.bind_address = parse_address("0.0.0.0", kDefaultPort).value_or(SocketAddress{});
  config.server_credentials = std::move(credentials);
  config.max_peer_bidi_streams = 1;
  config.replenish_peer_bidi_streams = false;
  config.max_peer_uni_streams = 100;
  return config;
}

EndpointConfig EndpointConfig::client(std::shared_ptr<const tls::ClientTrust> trust) {
  EndpointConfig config;
  config.role = Role::client;
  config.client_trust = std::move(trust);
  config.max_peer_bidi_streams = 0;
  config.max_peer_uni_streams = 1000;
  config.keep_alive = std::chrono::milliseconds(10'000);
  return config;
}

std::string EndpointConfig::validate() const {
  using namespace std::chrono;
  if (role == Role::server && !server_credentials) return "server role needs server_credentials";
  if (role == Role::server && bind_address.empty()) return "server role needs a bind_address";
  if (role == Role::client && !client_trust) return "client role needs client_trust";
  if (alpn.empty() || alpn.size() > 255) return "alpn must be 1 to 255 bytes";
  if (initial_rtt <= microseconds::zero()) return "initial_rtt must be positive";
  // ngtcp2 asserts max_ack_delay < 2^14 ms.
  if (max_ack_delay < milliseconds::zero() || max_ack_delay >= milliseconds(1 << 14)) {
    return "max_ack_delay must be below 16384 ms";
  }
  // 0 would disable it; hours-long values overflow inside 1.11 (#2157).
  if (idle_timeout <= milliseconds::zero() || idle_timeout > hours(24)) {
    return "idle_timeout must be between 1 ms and 24 h";
  }
  if (handshake_timeout <= milliseconds::zero() || handshake_timeout > hours(1)) {
    return "handshake_timeout must be between 1 ms and 1 h";
  }
  if (keep_alive < milliseconds::zero()) return "keep_alive must not be negative";
  if (max_udp_payload < 1200 || max_udp_payload > 1472) {
    return "max_udp_payload must be between 1200 and 1472";
  }
  if (ack_thresh == 0) return "ack_thresh must be at least 1";
  if (stream_receive_window == 0 || connection_receive_window == 0) {
    return "receive windows must be positive";
  }
  if (max_peer_bidi_streams > (1ull << 60) || max_peer_uni_streams > (1ull << 60)) {
    return "stream limits must be below 2^60";
  }
  if (max_connections == 0) return "max_connections must be at least 1";
  return {};
}

}  // namespace flume::quic
