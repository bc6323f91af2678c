// Connection lifecycle: HELLO, refusals, the HELLO timeout, the end of the control stream and
// shutdown (docs/protocol.md sections 6.1 and 7).
#include <gtest/gtest.h>

#include "broker_test_util.hpp"

namespace flume::broker::test {
namespace {

constexpr std::uint64_t kSecond = 1'000'000'000;

// A frame header alone, announcing a subject and payload that are not sent.
std::vector<std::uint8_t> header_only(std::uint8_t type, std::uint8_t subject_length,
                                      std::uint32_t payload_length) {
  std::vector<std::uint8_t> out(kFrameHeaderSize);
  write_header(out.data(), static_cast<FrameType>(type), subject_length, payload_length);
  return out;
}

TEST(BrokerHello, HelloIsAnsweredWithOkCarryingVersionLimitsAndRequestId) {
  BrokerConfig config;
  config.max_payload = 100000;
  config.max_subscriptions_per_connection = 77;
  Broker broker(config);
  Client client(broker);
  client.control(hello_frame(1, 42, "demo"));
  auto frames = client.control_frames();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, FrameType::ok);
  EXPECT_EQ(frames[0].integer(PropertyId::request_id), 42u);
  EXPECT_EQ(frames[0].integer(PropertyId::protocol_version), 1u);
  EXPECT_EQ(frames[0].integer(PropertyId::max_payload), 100000u);
  EXPECT_EQ(frames[0].integer(PropertyId::max_subscriptions), 77u);
  EXPECT_EQ(frames[0].string(PropertyId::server_name), std::string(kDefaultServerName));
  EXPECT_FALSE(client.transport.closed);
  EXPECT_EQ(broker.session_stats(client.session).state, SessionState::open);
  EXPECT_EQ(broker.session_stats(client.session).client_name, "demo");
  EXPECT_EQ(broker.stats().hellos_accepted, 1u);
}

TEST(BrokerHello, OkWithoutRequestIdWhenHelloHadNone) {
  Broker broker({});
  Client client(broker);
  client.control(hello_frame());
  EXPECT_FALSE(client.last_control().integer(PropertyId::request_id).has_value());
}

TEST(BrokerHello, HigherClientVersionIsAnsweredWithTheBrokersVersionTwo) {
  Broker broker({});
  Client client(broker);
  client.control(hello_frame(7));
  EXPECT_EQ(client.last_control().type, FrameType::ok);
  EXPECT_EQ(client.last_control().integer(PropertyId::protocol_version), 2u);
}

TEST(BrokerHello, VersionZeroIsRefusedWithUnsupportedVersionThenClose) {
  Broker broker({});
  Client client(broker);
  client.control(hello_frame(0, 9));
  const OwnedFrame error = client.last_control();
  EXPECT_EQ(error.type, FrameType::error);
  EXPECT_EQ(error.error_code(), code(ErrorCode::unsupported_version));
  EXPECT_EQ(error.integer(PropertyId::request_id), 9u);
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::unsupported_version));
  EXPECT_EQ(broker.stats().hellos_refused, 1u);
  EXPECT_EQ(broker.stats().connections, 0u);
}

TEST(BrokerHello, AuthHookSeesTokenAndNameAndItsRefusalClosesWithAuthenticationFailed) {
  std::string seen_token, seen_name;
  BrokerConfig config;
  config.authenticate = [&](std::span<const std::uint8_t> token, std::string_view name) {
    seen_token.assign(token.begin(), token.end());
    seen_name = std::string(name);
    return seen_token == "good";
  };
  Broker broker(config);
  Client good(broker);
  good.control(hello_frame(1, {}, "app", "good"));
  EXPECT_EQ(good.last_control().type, FrameType::ok);
  EXPECT_EQ(seen_name, "app");

  Client bad(broker);
  bad.control(hello_frame(1, 5, "app", "bad"));
  EXPECT_EQ(seen_token, "bad");
  EXPECT_EQ(bad.last_control().error_code(), code(ErrorCode::authentication_failed));
  EXPECT_EQ(bad.last_control().integer(PropertyId::request_id), 5u);
  EXPECT_EQ(bad.transport.close_code, code(ErrorCode::authentication_failed));
  EXPECT_FALSE(good.transport.closed);
}

TEST(BrokerHello, AuthHookThatThrowsClosesOnlyThatConnectionWithInternalError) {
  BrokerConfig config;
  config.authenticate = [](std::span<const std::uint8_t>, std::string_view name) -> bool {
    if (name == "boom") throw std::runtime_error("hook failed");
    return true;
  };
  Broker broker(config);
  Client boom(broker);
  boom.control(hello_frame(1, {}, "boom"));
  EXPECT_EQ(boom.transport.close_code, code(ErrorCode::internal_error));
  Client fine(broker);
  fine.control(hello_frame(1, {}, "fine"));
  EXPECT_EQ(fine.last_control().type, FrameType::ok);
  EXPECT_EQ(broker.stats().internal_errors, 1u);
}

TEST(BrokerHello, ConnectionOverTheLimitIsRefusedAtHelloWithTooManyConnections) {
  BrokerConfig config;
  config.max_connections = 1;
  Broker broker(config);
  Client first(broker);
  Client second(broker);
  EXPECT_FALSE(second.transport.closed);  // waits for HELLO to explain itself
  EXPECT_TRUE(broker.session_stats(second.session).over_limit);
  second.control(hello_frame(1, 3));
  EXPECT_EQ(second.last_control().error_code(), code(ErrorCode::too_many_connections));
  EXPECT_EQ(second.last_control().integer(PropertyId::request_id), 3u);
  EXPECT_EQ(second.transport.close_code, code(ErrorCode::too_many_connections));
  first.hello();
  EXPECT_FALSE(first.transport.closed);

  // Once the first goes, there is room again.
  broker.close_session(first.session);
  first.session = nullptr;
  Client third(broker);
  third.hello();
  EXPECT_EQ(broker.stats().connections, 1u);
}

TEST(BrokerHello, ConnectionsBeyondTheRefusalBacklogAreClosedAtOnce) {
  BrokerConfig config;
  config.max_connections = 1;
  config.max_refusing_connections = 2;
  Broker broker(config);
  Client admitted(broker);
  Client waiting1(broker), waiting2(broker), immediate(broker);
  EXPECT_FALSE(waiting1.transport.closed);
  EXPECT_FALSE(waiting2.transport.closed);
  EXPECT_TRUE(immediate.transport.closed);
  EXPECT_EQ(immediate.transport.close_code, code(ErrorCode::too_many_connections));
  EXPECT_TRUE(immediate.transport.writes.empty());  // the client never opened stream 0
  EXPECT_EQ(broker.stats().refused_at_open, 1u);
  EXPECT_EQ(broker.stats().connections_refusing, 2u);
}

TEST(BrokerHello, FirstFrameOtherThanHelloIsProtocolError) {
  Broker broker({});
  Client client(broker);
  client.control(ping_frame("x"));
  EXPECT_EQ(client.last_control().type, FrameType::error);
  EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::protocol_error));
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
  EXPECT_EQ(client.control_frames().size(), 1u);  // no PONG
}

TEST(BrokerHello, SecondHelloIsProtocolError) {
  Broker broker({});
  Client client(broker);
  client.control(concat({hello_frame(), hello_frame()}));
  auto frames = client.control_frames();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].type, FrameType::ok);
  EXPECT_EQ(frames[1].error_code(), code(ErrorCode::protocol_error));
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
}

TEST(BrokerHello, HelloLargerThanASmallConfiguredLimitIsAcceptedAndTheLimitHoldsAfterIt) {
  // 3.3: before the OK a client may assume 65536; a HELLO carrying a 4096-byte token (4122 bytes
  // of payload) must not fail on a broker configured with 1024.
  BrokerConfig config;
  config.max_payload = 1024;
  Broker broker(config);
  Client client(broker);
  client.control(hello_frame(1, 9, "big", std::string(4096, 't')));
  ASSERT_EQ(client.last_control().type, FrameType::ok);
  EXPECT_EQ(client.last_control().integer(PropertyId::max_payload), 1024u);
  client.control(header_only(0x08, 1, 1025));  // every later frame has the configured limit
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::payload_too_large));
}

TEST(BrokerHello, FirstFrameOver65536IsPayloadTooLargeEvenUnderALargerLimitThanConfigured) {
  BrokerConfig config;
  config.max_payload = 1024;
  Broker broker(config);
  Client client(broker);
  client.control(header_only(0x01, 0, 65537));
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::payload_too_large));
}

TEST(BrokerHello, FirstFrameMayUseAConfiguredLimitAbove65536) {
  BrokerConfig config;
  config.max_payload = 100000;
  Broker broker(config);
  Client client(broker);
  client.control(header_only(0x01, 0, 65537));  // header only: accepted, waiting for the body
  EXPECT_FALSE(client.transport.closed);
}

TEST(BrokerHello, HelloMissingProtocolVersionIsProtocolError) {
  Broker broker({});
  Client client(broker);
  client.control(frame(FrameType::hello, {}, Props().u32(PropertyId::request_id, 1).bytes()));
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
}

TEST(BrokerHello, HelloSplitIntoSingleBytesIsReassembled) {
  Broker broker({});
  Client client(broker);
  for (std::uint8_t byte : hello_frame(1, 1, "split"))
    client.control({byte});
  EXPECT_EQ(client.last_control().type, FrameType::ok);
}

TEST(BrokerHello, SessionWithoutHelloIsClosedAtTheTimeoutAndNotBefore) {
  Broker broker({});
  Client silent(broker, 5 * kSecond);
  Client talker(broker, 5 * kSecond);
  silent.control(std::vector<std::uint8_t>{0x01, 0x00});  // half a header: stream 0 exists
  talker.hello();
  EXPECT_EQ(broker.next_timer(), 15 * kSecond);
  broker.on_timer(15 * kSecond - 1);
  EXPECT_FALSE(silent.transport.closed);
  broker.on_timer(15 * kSecond);
  EXPECT_TRUE(silent.transport.closed);
  EXPECT_EQ(silent.transport.close_code, code(ErrorCode::protocol_error));
  EXPECT_EQ(silent.last_control().error_code(), code(ErrorCode::protocol_error));
  EXPECT_FALSE(talker.transport.closed);
  EXPECT_EQ(broker.stats().hello_timeouts, 1u);
  EXPECT_FALSE(broker.next_timer().has_value());
}

TEST(BrokerHello, TimeoutWithoutAControlStreamClosesWithoutWriting) {
  Broker broker({});
  Client client(broker, 0);
  broker.on_timer(10 * kSecond);
  EXPECT_TRUE(client.transport.closed);
  EXPECT_TRUE(client.transport.writes.empty());
}

TEST(BrokerHello, FramesPipelinedAfterARefusedHelloAreDiscarded) {
  Broker broker({});
  Client subscriber(broker);
  subscriber.hello();
  subscriber.subscribe("a", 1);
  Client client(broker);
  client.control(concat({hello_frame(0), subscribe_frame("a", 1), publish_frame("a", "x")}));
  EXPECT_EQ(client.control_frames().size(), 1u);  // only the ERROR
  EXPECT_TRUE(client.transport.opened.empty());
  EXPECT_TRUE(subscriber.messages(1).empty());
  EXPECT_EQ(broker.stats().messages_in, 0u);
}

TEST(BrokerHello, ControlStreamFinClosesGracefullyAfterProcessingWhatPrecedesIt) {
  Broker broker({});
  Client subscriber(broker);
  subscriber.hello();
  subscriber.subscribe("a", 1);
  Client client(broker);
  client.control(concat({hello_frame(), publish_frame("a", "last words")}), true);
  EXPECT_EQ(subscriber.messages(1), std::vector<std::string>{"last words"});
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::no_error));
  EXPECT_EQ(client.control_frames().size(), 1u);  // the OK, no ERROR
}

TEST(BrokerHello, ControlStreamClosedByQuicIsProtocolError) {
  Broker broker({});
  Client client(broker);
  client.hello();
  broker.on_stream_closed(client.session, kControlStreamId, 0);
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
  EXPECT_EQ(client.control_frames().size(), 1u);  // no ERROR: our half may be gone too
}

TEST(BrokerHello, ControlStreamResetAtAFrameBoundaryIsProtocolErrorExplainedOnOurHalf) {
  Broker broker({});
  Client subscriber(broker), client(broker);
  subscriber.hello();
  subscriber.subscribe("a", 1);
  client.hello();
  client.publish("a", "before the reset");
  broker.on_stream_reset(client.session, kControlStreamId, 0);
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
  EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::protocol_error));
  // Frames the broker had before the reset were processed; nothing after it is.
  EXPECT_EQ(subscriber.messages(1), std::vector<std::string>{"before the reset"});
}

TEST(BrokerHello, ControlStreamResetInsideAFrameIsProtocolErrorNotTruncatedFrame) {
  Broker broker({});
  Client client(broker);
  client.hello();
  std::vector<std::uint8_t> partial = ping_frame("cut short");
  partial.resize(partial.size() - 2);
  client.control(partial);
  broker.on_stream_reset(client.session, kControlStreamId, 0x10);
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
  EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::protocol_error));
}

TEST(BrokerHello, ControlStreamResetBeforeHelloIsProtocolError) {
  Broker broker({});
  Client client(broker);
  broker.on_stream_reset(client.session, kControlStreamId, 0);
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
  EXPECT_TRUE(client.transport.writes.empty());  // never opened by the client: nothing to answer on
}

TEST(BrokerHello, ControlStreamStopSendingIsProtocolErrorWithoutAnErrorFrame) {
  Broker broker({});
  Client client(broker);
  client.hello();
  broker.on_stream_stopped(client.session, kControlStreamId, 0);
  EXPECT_TRUE(client.transport.closed);
  EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
  EXPECT_EQ(client.control_frames().size(), 1u);  // only the OK: our half is gone
  EXPECT_EQ(broker.stats().connection_closes[code(ErrorCode::protocol_error)], 1u);
}

TEST(BrokerHello, ShutdownSendsShuttingDownOnEveryControlStreamThenCloses) {
  Broker broker({});
  Client a(broker), b(broker), c(broker);
  a.hello();
  b.hello();
  a.subscribe("x", 1);
  broker.begin_shutdown();
  for (Client *client : {&a, &b}) {
    EXPECT_EQ(client->last_control().error_code(), code(ErrorCode::shutting_down));
    EXPECT_TRUE(client->transport.closed);
    EXPECT_EQ(client->transport.close_code, code(ErrorCode::shutting_down));
  }
  EXPECT_TRUE(c.transport.closed);  // never sent anything: closed without a frame
  EXPECT_TRUE(c.transport.writes.empty());
  EXPECT_EQ(broker.stats().subscriptions, 0u);
  EXPECT_EQ(broker.stats().connections, 0u);

  Client late(broker);
  EXPECT_TRUE(late.transport.closed);
  EXPECT_EQ(late.transport.close_code, code(ErrorCode::shutting_down));
}

TEST(BrokerHello, CloseSessionFromInsideTransportCloseIsDeferredSafely) {
  Broker broker({});
  Client client(broker);
  client.transport.on_close = [&] {
    broker.close_session(client.session);  // what a glue might do
  };
  client.control(hello_frame(0));
  EXPECT_TRUE(client.transport.closed);
  // The session is gone now; the broker no longer knows it.
  EXPECT_EQ(broker.session_stats(client.session).state, SessionState::closed);
  EXPECT_EQ(broker.session_stats(client.session).peer, "");
  client.session = nullptr;
}

TEST(BrokerHello, OtherBrokerCallsFromInsideTheTransportAreRefusedAndCounted) {
  Broker broker({});
  Client client(broker);
  client.transport.on_send = [&] {
    broker.on_stream_data(client.session, kControlStreamId, ping_frame("re"), false);
  };
  client.control(hello_frame());
  client.transport.on_send = nullptr;
  EXPECT_EQ(client.control_frames().size(), 1u);  // the OK, no PONG for the reentrant PING
  EXPECT_EQ(broker.stats().reentrant_calls_refused, 1u);
}

TEST(BrokerHello, UnknownSessionPointersAreIgnored) {
  Broker broker({});
  Client client(broker);
  Session *bogus = reinterpret_cast<Session *>(&client);
  broker.on_stream_data(bogus, 0, hello_frame(), false);
  broker.on_stream_writable(bogus, 3);
  broker.on_streams_available(bogus);
  broker.on_stream_closed(bogus, 0, 0);
  broker.on_stream_reset(bogus, 0, 0);
  broker.on_stream_stopped(bogus, 0, 0);
  broker.close_session(bogus);
  broker.close_session(nullptr);
  EXPECT_TRUE(client.transport.writes.empty());
  EXPECT_EQ(broker.stats().connections, 1u);
}

}  // namespace
}  // namespace flume::broker::test
