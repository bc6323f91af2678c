// Why a connection ended, in a form the client layer can branch on (reason) and show to a user
// (message).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flume::quic {

enum class CloseReason : std::uint8_t {
  application,           // CONNECTION_CLOSE with an application error code (see by_peer)
  transport_error,       // CONNECTION_CLOSE with a QUIC transport error code
  idle_timeout,          // nothing heard for the idle timeout
  handshake_timeout,     // no handshake within handshake_timeout: peer silent or filtered
  unreachable,           // ICMP said nobody listens there (ECONNREFUSED, EHOSTUNREACH, …)
  refused,               // the server refused at transport level (CONNECTION_REFUSED)
  certificate_rejected,  // our check of the server's certificate failed, or the peer's of ours
  alpn_mismatch,         // no common application protocol (TLS alert 120)
  tls_failure,           // any other TLS handshake failure
  stateless_reset,       // the peer no longer knows the connection (e.g. it restarted)
  version_mismatch,      // the server does not speak QUIC v1
  local_error,           // a failure on this side (socket, memory, library error)
};

std::string_view close_reason_name(CloseReason reason) noexcept;

struct CloseInfo {
  CloseReason reason = CloseReason::application;
  bool by_peer = false;              // the peer closed/refused/reset; false: we did
  bool handshake_completed = false;  // whether on_connected ran before
  // Application code (reason == application), QUIC transport code (transport_error, refused,
  // TLS reasons: 0x100 + alert), errno (unreachable before the handshake), else 0.
  std::uint64_t error_code = 0;
  std::uint8_t tls_alert = 0;  // 0 if none
  std::string reason_phrase;   // the CONNECTION_CLOSE reason phrase, sent or received
  // One line for people: "connection refused: nothing listens on 127.0.0.1:7337", "certificate
  // verification failed: name mismatch: …", "closed by peer: SHUTTING_DOWN (0xf): bye", …
  std::string message;
};

}  // namespace flume::quic
