#include "websocket/request_head.hpp"

#include <gtest/gtest.h>

#include <string>

namespace flume::websocket {
namespace {

std::span<const std::uint8_t> bytes(const std::string &text) {
  return {reinterpret_cast<const std::uint8_t *>(text.data()), text.size()};
}

const std::string kUpgrade =
    "GET /chat?x=1 HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat, flume.v1\r\n\r\n";

TEST(RequestHead, ParsesAnUpgradeRequestAndLowerCasesHeaderNames) {
  RequestHeadParser parser;
  std::size_t consumed = 0;
  ASSERT_EQ(parser.feed(bytes(kUpgrade), consumed), RequestHeadParser::Status::complete);
  EXPECT_EQ(consumed, kUpgrade.size());
  const HttpRequest &r = parser.request();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/chat?x=1");
  ASSERT_NE(r.header("sec-websocket-key"), nullptr);
  EXPECT_EQ(*r.header("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_TRUE(r.header_has_token("connection", "upgrade"));
  EXPECT_TRUE(r.header_has_token("sec-websocket-protocol", "flume.v1", false));
  EXPECT_FALSE(r.header_has_token("sec-websocket-protocol", "FLUME.V1", false));
}

TEST(RequestHead, AssemblesAHeadFedOneByteAtATime) {
  RequestHeadParser parser;
  std::size_t consumed = 0;
  for (std::size_t i = 0; i + 1 < kUpgrade.size(); ++i) {
    ASSERT_EQ(parser.feed(bytes(kUpgrade).subspan(i, 1), consumed),
              RequestHeadParser::Status::need_more)
        << "at byte " << i;
  }
  ASSERT_EQ(parser.feed(bytes(kUpgrade).subspan(kUpgrade.size() - 1), consumed),
            RequestHeadParser::Status::complete);
  EXPECT_EQ(consumed, 1u);
  EXPECT_EQ(*parser.request().header("sec-websocket-version"), "13");
}

TEST(RequestHead, LeavesTheBytesAfterTheHeadToTheCaller) {
  const std::string input = kUpgrade + "\x82\x85rest";
  RequestHeadParser parser;
  std::size_t consumed = 0;
  ASSERT_EQ(parser.feed(bytes(input), consumed), RequestHeadParser::Status::complete);
  EXPECT_EQ(consumed, kUpgrade.size());
}

TEST(RequestHead, RefusesAHeadOverTheBoundWith431) {
  RequestHeadParser parser(256);
  const std::string input = "GET / HTTP/1.1\r\nX-Long: " + std::string(400, 'a') + "\r\n\r\n";
  std::size_t consumed = 0;
  EXPECT_EQ(parser.feed(bytes(input), consumed), RequestHeadParser::Status::refused);
  EXPECT_EQ(parser.refusal_status(), 431);
}

TEST(RequestHead, RefusesTooManyHeaderFieldsWith431) {
  std::string input = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 100; ++i)
    input += "X-" + std::to_string(i) + ": v\r\n";
  input += "\r\n";
  RequestHeadParser parser;
  std::size_t consumed = 0;
  EXPECT_EQ(parser.feed(bytes(input), consumed), RequestHeadParser::Status::refused);
  EXPECT_EQ(parser.refusal_status(), 431);
}

TEST(RequestHead, RefusesGarbageWith400) {
  RequestHeadParser parser;
  std::size_t consumed = 0;
  EXPECT_EQ(parser.feed(bytes("\x16\x03\x01 not http\r\n\r\n"), consumed),
            RequestHeadParser::Status::refused);
  EXPECT_EQ(parser.refusal_status(), 400);
  EXPECT_NE(parser.refusal_reason().find("malformed"), std::string::npos);
}

}  // namespace
}  // namespace flume::websocket
