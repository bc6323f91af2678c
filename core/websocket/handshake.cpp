#include "websocket/handshake.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace flume::websocket {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string base64(const std::uint8_t *data, std::size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((size + 2) / 3 * 4);
  for (std::size_t i = 0; i < size; i += 3) {
    const std::uint32_t n = (std::uint32_t{data[i]} << 16) |
                            (i + 1 < size ? std::uint32_t{data[i + 1]} << 8 : 0) |
                            (i + 2 < size ? std::uint32_t{data[i + 2]} : 0);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < size ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < size ? kAlphabet[n & 63] : '=');
  }
  return out;
}

// A Sec-WebSocket-Key must be 16 bytes in base64: 22 characters of the alphabet and "==".
bool valid_key(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/';
  });
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char &c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const char *status_text(int status) {
  switch (status) {
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 426:
      return "Upgrade Required";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

HandshakeDecision refuse(int status, std::string reason, std::string_view extra_headers = {}) {
  HandshakeDecision d;
  d.kind = HandshakeDecision::Kind::refuse;
  d.status = status;
  d.response = http_response(status, "text/plain; charset=utf-8", reason + "\n", extra_headers);
  d.reason = std::move(reason);
  return d;
}

}  // namespace

std::string websocket_accept_key(std::string_view key) {
  const std::string input = std::string(key) + std::string(kGuid);
  std::array<std::uint8_t, 20> digest{};
  if (gnutls_hash_fast(GNUTLS_DIG_SHA1, input.data(), input.size(), digest.data()) != 0) return {};
  return base64(digest.data(), digest.size());
}

std::string http_response(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + status_text(status) + "\r\n";
  out += "Content-Type: ";
  out += content_type;
  out += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Cache-Control: no-store\r\nConnection: close\r\n";
  out += extra_headers;
  out += "\r\n";
  out += body;
  return out;
}

HandshakeDecision decide_handshake(const HttpRequest &request,
                                   const std::vector<std::string> &allowed_origins) {
  const bool wants_upgrade = request.header("upgrade") != nullptr;
  if (request.method != "GET") return refuse(405, "only GET is served here");
  if (!wants_upgrade) {
    HandshakeDecision d;
    d.kind = HandshakeDecision::Kind::page;
    d.status = 200;
    return d;
  }
  if (!request.header_has_token("upgrade", "websocket")) {
    return refuse(400, "Upgrade must be websocket");
  }
  if (!request.header_has_token("connection", "upgrade")) {
    return refuse(400, "Connection must include upgrade");
  }
  const std::string *version = request.header("sec-websocket-version");
  if (version == nullptr || *version != "13") {
    return refuse(426, "Sec-WebSocket-Version must be 13", "Sec-WebSocket-Version: 13\r\n");
  }
  const std::string *key = request.header("sec-websocket-key");
  if (key == nullptr || !valid_key(*key)) {
    return refuse(400, "Sec-WebSocket-Key must be 16 bytes in base64");
  }
  if (!allowed_origins.empty()) {
    const std::string *origin = request.header("origin");
    if (origin == nullptr) return refuse(403, "an Origin header is required here");
    const std::string have = lower(*origin);
    const bool allowed = std::any_of(allowed_origins.begin(), allowed_origins.end(),
                                     [&](const std::string &o) { return lower(o) == have; });
    if (!allowed) return refuse(403, "Origin " + *origin + " is not allowed");
  }
  if (!request.header_has_token("sec-websocket-protocol", kSubprotocol, false)) {
    return refuse(426, "the subprotocol flume.v1 is required (Sec-WebSocket-Protocol)",
                  "Sec-WebSocket-Protocol: flume.v1\r\nSec-WebSocket-Version: 13\r\n");
  }
  HandshakeDecision d;
  d.kind = HandshakeDecision::Kind::upgrade;
  d.status = 101;
  d.reason = "upgrade";
  d.response =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: " +
      websocket_accept_key(*key) + "\r\nSec-WebSocket-Protocol: flume.v1\r\n\r\n";
  return d;
}

}  // namespace flume::websocket
