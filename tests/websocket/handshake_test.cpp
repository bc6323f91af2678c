#include "websocket/handshake.hpp"

#include <gtest/gtest.h>

namespace flume::websocket {
namespace {

HttpRequest upgrade_request() {
  // Built whole rather than assigned member by member: GCC 12 at -O3 warns (-Wrestrict) about
  // assigning a string literal to a std::string, a known false positive.
  HttpRequest r{"GET",
                "/",
                {{"host", "localhost"},
                 {"upgrade", "websocket"},
                 {"connection", "Upgrade"},
                 {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
                 {"sec-websocket-version", "13"},
                 {"sec-websocket-protocol", "flume.v1"},
                 {"origin", "https://app.example"}}};
  return r;
}

void set(HttpRequest &r, const std::string &name, const std::string &value) {
  for (auto &[key, v] : r.headers) {
    if (key == name) v = value;
  }
}

TEST(Handshake, AcceptKeyIsTheOneFromRfc6455) {
  // RFC 6455 1.3's example.
  EXPECT_EQ(websocket_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, AnswersAValidUpgradeWith101AndTheSubprotocol) {
  const auto d = decide_handshake(upgrade_request(), {});
  ASSERT_EQ(d.kind, HandshakeDecision::Kind::upgrade);
  EXPECT_NE(d.response.find("HTTP/1.1 101"), std::string::npos);
  EXPECT_NE(d.response.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos);
  EXPECT_NE(d.response.find("Sec-WebSocket-Protocol: flume.v1\r\n"), std::string::npos);
}

TEST(Handshake, RefusesAnUpgradeWithoutTheSubprotocolWith426AndSaysWhy) {
  auto r = upgrade_request();
  set(r, "sec-websocket-protocol", "chat");
  const auto d = decide_handshake(r, {});
  EXPECT_EQ(d.kind, HandshakeDecision::Kind::refuse);
  EXPECT_EQ(d.status, 426);
  EXPECT_NE(d.response.find("flume.v1 is required"), std::string::npos);
}

TEST(Handshake, RefusesAnOriginNotOnTheAllowlistWith403) {
  const auto d = decide_handshake(upgrade_request(), {"https://other.example"});
  EXPECT_EQ(d.status, 403);
  EXPECT_NE(d.response.find("Origin https://app.example is not allowed"), std::string::npos);
}

TEST(Handshake, AcceptsAnAllowedOriginWhateverItsCase) {
  const auto d = decide_handshake(upgrade_request(), {"https://APP.example"});
  EXPECT_EQ(d.kind, HandshakeDecision::Kind::upgrade);
}

TEST(Handshake, WithAnAllowlistRefusesARequestWithoutOrigin) {
  auto r = upgrade_request();
  std::erase_if(r.headers, [](const auto &h) { return h.first == "origin"; });
  EXPECT_EQ(decide_handshake(r, {"https://app.example"}).status, 403);
  EXPECT_EQ(decide_handshake(r, {}).kind, HandshakeDecision::Kind::upgrade);
}

TEST(Handshake, RefusesBadKeysVersionsAndMethods) {
  auto bad_key = upgrade_request();
  set(bad_key, "sec-websocket-key", "short");
  EXPECT_EQ(decide_handshake(bad_key, {}).status, 400);
  auto bad_version = upgrade_request();
  set(bad_version, "sec-websocket-version", "8");
  EXPECT_EQ(decide_handshake(bad_version, {}).status, 426);
  auto post = upgrade_request();
  post.method = std::string("POST");
  EXPECT_EQ(decide_handshake(post, {}).status, 405);
  auto no_upgrade_token = upgrade_request();
  set(no_upgrade_token, "connection", "keep-alive");
  EXPECT_EQ(decide_handshake(no_upgrade_token, {}).status, 400);
}

TEST(Handshake, APlainGetIsAPageRequest) {
  const HttpRequest r{"GET", "/", {}};
  EXPECT_EQ(decide_handshake(r, {"https://app.example"}).kind, HandshakeDecision::Kind::page);
}

}  // namespace
}  // namespace flume::websocket
