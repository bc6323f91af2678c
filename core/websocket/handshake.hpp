// What the broker answers to one HTTP request on its WebSocket port (docs/protocol.md 20.1): the
// 101 that opens a `flume.v1` WebSocket, a refusal (400, 403, 426) with a one-line reason, or a
// page. Pure: a parsed request and the Origin allowlist in, the response bytes out.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "websocket/request_head.hpp"

namespace flume::websocket {

inline constexpr std::string_view kSubprotocol = "flume.v1";

struct HandshakeDecision {
  enum class Kind {
    upgrade,  // `response` is the 101; the connection becomes a WebSocket
    refuse,   // `response` is an error; close after writing it
    page,     // a plain GET: the caller serves `target`'s path (or 404)
  };
  Kind kind = Kind::refuse;
  int status = 400;
  std::string reason;    // for people and logs
  std::string response;  // the complete HTTP response head (and body for refusals)
};

// `allowed_origins` empty: any Origin, or none, is accepted. Otherwise Origin must be one of
// them, compared ASCII case-insensitively.
HandshakeDecision decide_handshake(const HttpRequest &request,
                                   const std::vector<std::string> &allowed_origins);

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2): base64(SHA-1(key + GUID)).
std::string websocket_accept_key(std::string_view key);

// A complete HTTP/1.1 response with a body, closing the connection.
std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers = {});

}  // namespace flume::websocket
