// HELLO, the broker's answer to it, and the checks on that answer.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace flume::client_engine::test {
namespace {

using ::testing::HasSubstr;

using ClientHandshake = SessionTest;

TEST_F(ClientHandshake, StartSendsHelloWithVersionNameLibraryAndToken) {
  ASSERT_TRUE(session.start());
  auto frames = transport.control_frames();
  ASSERT_EQ(frames.size(), 1u);
  const SentFrame &hello = frames[0];
  EXPECT_EQ(hello.type, FrameType::hello);
  EXPECT_EQ(hello.subject, "");
  EXPECT_EQ(hello.prop(PropertyId::protocol_version), 2u);
  EXPECT_EQ(hello.prop_string(PropertyId::client_name), "orders-service");
  EXPECT_EQ(hello.prop_string(PropertyId::client_library), "flume-c/0.1.0");
  EXPECT_EQ(hello.prop_string(PropertyId::token), "secret");
  EXPECT_TRUE(hello.has(PropertyId::request_id));
  EXPECT_FALSE(transport.sends[0].fin);
  EXPECT_EQ(session.state(), SessionState::handshaking);
  EXPECT_FALSE(session.ready());
}

TEST_F(ClientHandshake, EmptyOptionalHelloPropertiesAreOmitted) {
  FakeTransport bare_transport;
  RecordingEvents bare_events;
  Session bare(SessionConfig{}, bare_transport, bare_events);
  ASSERT_TRUE(bare.start());
  SentFrame hello = bare_transport.last_control_frame();
  EXPECT_FALSE(hello.has(PropertyId::client_name));
  EXPECT_FALSE(hello.has(PropertyId::client_library));
  EXPECT_FALSE(hello.has(PropertyId::token));
  EXPECT_EQ(hello.prop(PropertyId::protocol_version), 2u);
}

TEST_F(ClientHandshake, OkToHelloIsParsedIntoServerInfo) {
  ASSERT_TRUE(session.start());
  feed(0, ok_to_hello(1, 131072, 500, "flume-broker/0.1.0"));
  ASSERT_TRUE(session.ready());
  ASSERT_EQ(events.of(Ev::ready).size(), 1u);
  EXPECT_EQ(events.of(Ev::ready)[0].message, "flume-broker/0.1.0");
  EXPECT_EQ(session.server().protocol_version, 1u);
  EXPECT_EQ(session.server().server_name, "flume-broker/0.1.0");
  EXPECT_EQ(session.server().max_payload, 131072u);
  EXPECT_EQ(session.server().max_subscriptions, 500u);
  EXPECT_EQ(session.max_payload(), 131072u);
  EXPECT_TRUE(transport.closes.empty());
}

TEST_F(ClientHandshake, WorkedExampleOkToHelloSplitIntoBytesIsAccepted) {
  // docs/protocol.md section 14, "OK to HELLO", answering request_id 1.
  const Bytes ok = {0x02, 0x00, 0x00, 0x00, 0x00, 0x29, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00,
                    0x01, 0x02, 0x00, 0x02, 0x00, 0x01, 0x0b, 0x00, 0x0c, 0x66, 0x6c, 0x75,
                    0x6d, 0x65, 0x2d, 0x62, 0x72, 0x6f, 0x6b, 0x65, 0x72, 0x0c, 0x00, 0x04,
                    0x00, 0x01, 0x00, 0x00, 0x0e, 0x00, 0x04, 0x00, 0x00, 0x27, 0x10};
  ASSERT_TRUE(session.start());
  feed_in_chunks(0, ok, 1);
  ASSERT_TRUE(session.ready());
  EXPECT_EQ(session.server().server_name, "flume-broker");
  EXPECT_EQ(session.server().max_payload, 65536u);
  EXPECT_EQ(session.server().max_subscriptions, 10000u);
}

TEST_F(ClientHandshake, RefusedHelloReportsCodeAndMessageAndClosesWithThatCode) {
  ASSERT_TRUE(session.start());
  feed(0, error_frame(1, std::nullopt, ErrorCode::authentication_failed, "token expired"));
  auto failed = events.of(Ev::session_failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].code, ErrorCode::authentication_failed);
  EXPECT_THAT(failed[0].message, HasSubstr("token expired"));
  EXPECT_THAT(failed[0].message, HasSubstr("AUTHENTICATION_FAILED"));
  EXPECT_EQ(closed_with(), code(ErrorCode::authentication_failed));
  EXPECT_EQ(session.state(), SessionState::closed);
  EXPECT_TRUE(events.of(Ev::ready).empty());
}

TEST_F(ClientHandshake, CallsAfterRefusedHelloReturnSessionClosedWithTheReason) {
  ASSERT_TRUE(session.start());
  feed(0, error_frame(1, std::nullopt, ErrorCode::unsupported_version, "speaks version 2 only"));
  const std::size_t sent = transport.sends.size();

  Result publish = session.publish("a.b", bytes_of("x"));
  EXPECT_EQ(publish.code(), ClientErrc::session_closed);
  EXPECT_THAT(publish.message(), HasSubstr("UNSUPPORTED_VERSION"));
  EXPECT_THAT(publish.message(), HasSubstr("speaks version 2 only"));
  EXPECT_EQ(session.subscribe(1, "a.*").code(), ClientErrc::session_closed);
  EXPECT_EQ(session.unsubscribe(1).code(), ClientErrc::session_closed);
  std::uint64_t token = 0;
  EXPECT_EQ(session.ping(token).code(), ClientErrc::session_closed);
  EXPECT_EQ(session.start().code(), ClientErrc::session_closed);
  EXPECT_EQ(transport.sends.size(), sent);
}

TEST_F(ClientHandshake, ErrorWithoutRequestIdBeforeOkIsARefusal) {
  ASSERT_TRUE(session.start());
  feed(0, error_frame(std::nullopt, std::nullopt, ErrorCode::too_many_connections, "full"));
  ASSERT_EQ(events.of(Ev::session_failed).size(), 1u);
  EXPECT_EQ(events.of(Ev::session_failed)[0].code, ErrorCode::too_many_connections);
  EXPECT_EQ(closed_with(), code(ErrorCode::too_many_connections));
}

TEST_F(ClientHandshake, CallsBeforeStartAreRefusedAndSendNothing) {
  Result publish = session.publish("a.b", bytes_of("x"));
  EXPECT_EQ(publish.code(), ClientErrc::not_started);
  EXPECT_THAT(publish.message(), HasSubstr("start()"));
  EXPECT_EQ(session.subscribe(1, "a.*").code(), ClientErrc::not_started);
  std::uint64_t token = 0;
  EXPECT_EQ(session.ping(token).code(), ClientErrc::not_started);
  EXPECT_TRUE(transport.sends.empty());
}

TEST_F(ClientHandshake, StartTwiceIsRefused) {
  ASSERT_TRUE(session.start());
  EXPECT_EQ(session.start().code(), ClientErrc::already_started);
  EXPECT_EQ(transport.control_frames().size(), 1u);
}

TEST_F(ClientHandshake, ConfigOverProtocolLimitsIsRefusedBeforeSending) {
  SessionConfig long_name;
  long_name.client_name = std::string(256, 'n');
  Session named(long_name, transport, events);
  Result result = named.start();
  EXPECT_EQ(result.code(), ClientErrc::invalid_config);
  EXPECT_THAT(result.message(), HasSubstr("client_name is 256 bytes"));

  SessionConfig long_token;
  long_token.token = Bytes(4097, 1);
  Session tokened(long_token, transport, events);
  EXPECT_EQ(tokened.start().code(), ClientErrc::invalid_config);
  EXPECT_TRUE(transport.sends.empty());
}

TEST_F(ClientHandshake, OkWithHigherProtocolVersionClosesWithProtocolError) {
  ASSERT_TRUE(session.start());
  feed(0, encode(FrameType::ok, "",
                 Props()
                     .u32(PropertyId::request_id, 1)
                     .u16(PropertyId::protocol_version, 3)
                     .u32(PropertyId::max_payload, 65536)
                     .u32(PropertyId::max_subscriptions, 10)
                     .bytes()));
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
  ASSERT_EQ(events.of(Ev::session_failed).size(), 1u);
  EXPECT_THAT(events.of(Ev::session_failed)[0].message, HasSubstr("protocol_version"));
  EXPECT_FALSE(session.ready());
}

TEST_F(ClientHandshake, OkWithoutMaxPayloadClosesWithProtocolError) {
  ASSERT_TRUE(session.start());
  feed(0, encode(FrameType::ok, "",
                 Props()
                     .u32(PropertyId::request_id, 1)
                     .u16(PropertyId::protocol_version, 1)
                     .u32(PropertyId::max_subscriptions, 10)
                     .bytes()));
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
  EXPECT_THAT(events.of(Ev::session_failed).at(0).message, HasSubstr("max_payload"));
}

TEST_F(ClientHandshake, PingBeforeTheAnswerToHelloIsProtocolError) {
  ASSERT_TRUE(session.start());
  feed(0, encode(FrameType::ping, "", Bytes(8, 0)));
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
  EXPECT_THAT(events.of(Ev::session_failed).at(0).message, HasSubstr("before answering HELLO"));
}

TEST_F(ClientHandshake, RequestsPipelinedBeforeTheOkAreAnsweredInOrder) {
  ASSERT_TRUE(session.start());
  std::uint32_t first = subscribe(1, "a.*");
  std::uint32_t second = subscribe(2, "b.*");
  EXPECT_NE(first, second);
  feed(0, concat_bytes({ok_to_hello(), ok_to(first, 1, 10), ok_to(second, 2, 20)}));
  auto results = events.of(Ev::subscribe_result);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].id, 1u);
  EXPECT_EQ(results[0].number, 10u);
  EXPECT_EQ(results[1].id, 2u);
  EXPECT_EQ(results[1].number, 20u);
  EXPECT_EQ(events.events.front().kind, Ev::ready);
}

}  // namespace
}  // namespace flume::client_engine::test
