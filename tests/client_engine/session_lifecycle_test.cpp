// PING/PONG, how a session ends, handlers that call back in, and what a reconnect restores.
#include <gtest/gtest.h>

#include <stdexcept>

#include "session_harness.hpp"

namespace flume::client_engine::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ClientLifecycle = SessionTest;

TEST_F(ClientLifecycle, PingSendsAnEightByteTokenThatThePongReports) {
  open();
  std::uint64_t first = 0, second = 0;
  ASSERT_TRUE(session.ping(first));
  ASSERT_TRUE(session.ping(second));
  EXPECT_NE(first, second);
  SentFrame ping = transport.last_control_frame();
  EXPECT_EQ(ping.type, FrameType::ping);
  ASSERT_EQ(ping.payload.size(), 8u);
  feed(0, concat_bytes({pong_frame(first), pong_frame(second)}));
  auto pongs = events.of(Ev::pong);
  ASSERT_EQ(pongs.size(), 2u);
  EXPECT_EQ(pongs[0].number, first);
  EXPECT_EQ(pongs[1].number, second);
}

TEST_F(ClientLifecycle, PingIsAllowedBeforeTheOkToHello) {
  ASSERT_TRUE(session.start());
  std::uint64_t token = 0;
  ASSERT_TRUE(session.ping(token));
  feed(0, concat_bytes({ok_to_hello(), pong_frame(token)}));
  ASSERT_EQ(events.of(Ev::pong).size(), 1u);
}

TEST_F(ClientLifecycle, UnsolicitedPongsAreIgnored) {
  open();
  feed(0, pong_frame(12345));
  feed(0, encode(FrameType::pong, "", bytes_of("abc")));
  EXPECT_TRUE(events.of(Ev::pong).empty());
  EXPECT_TRUE(transport.closes.empty());
}

TEST_F(ClientLifecycle, BrokerPingIsAnsweredWithTheSamePayload) {
  open();
  feed(0, encode(FrameType::ping, "", bytes_of("liveness")));
  SentFrame pong = transport.last_control_frame();
  EXPECT_EQ(pong.type, FrameType::pong);
  EXPECT_EQ(pong.payload, bytes_of("liveness"));
}

TEST_F(ClientLifecycle, PingOrPongOver64BytesIsProtocolError) {
  for (FrameType type : {FrameType::ping, FrameType::pong}) {
    SCOPED_TRACE(frame_type_name(type));
    FakeTransport t;
    RecordingEvents e;
    Session s(SessionConfig{}, t, e);
    ASSERT_TRUE(s.start());
    s.on_stream_data(0, ok_to_hello(), false);
    s.on_stream_data(0, encode(type, "", Bytes(65, 0)), false);
    ASSERT_EQ(t.closes.size(), 1u);
    EXPECT_EQ(t.closes[0].code, code(ErrorCode::protocol_error));
    EXPECT_THAT(e.of(Ev::session_failed).at(0).message, HasSubstr("at most 64"));
  }
}

TEST_F(ClientLifecycle, ShuttingDownErrorEndsTheSession) {
  open();
  feed(0, error_frame(std::nullopt, std::nullopt, ErrorCode::shutting_down, "maintenance"));
  auto failed = events.of(Ev::session_failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].code, ErrorCode::shutting_down);
  EXPECT_THAT(failed[0].message, HasSubstr("maintenance"));
  EXPECT_EQ(closed_with(), code(ErrorCode::shutting_down));
  EXPECT_TRUE(events.of(Ev::error).empty());
}

TEST_F(ClientLifecycle, ConnectionCloseIsReportedOnceAndClosesNothingAgain) {
  open();
  session.on_connection_closed(code(ErrorCode::pending_limit), "too many bytes pending");
  session.on_connection_closed(0, "");
  auto failed = events.of(Ev::session_failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].code, ErrorCode::pending_limit);
  EXPECT_THAT(failed[0].message, HasSubstr("too many bytes pending"));
  EXPECT_TRUE(transport.closes.empty());  // the connection is already gone
  EXPECT_EQ(session.publish("a", {}).code(), ClientErrc::session_closed);
}

TEST_F(ClientLifecycle, NothingIsProcessedAfterAFailure) {
  open_with_subscription(7, 3);
  feed(0, ok_to(99, 1));  // protocol error: nothing outstanding
  const std::size_t before = events.events.size();
  feed(3, message_frame("orders.a", "after"));
  session.on_stream_closed(3, code(ErrorCode::slow_consumer));
  EXPECT_EQ(events.events.size(), before);
  EXPECT_EQ(transport.closes.size(), 1u);
}

TEST_F(ClientLifecycle, CloseSendsFinAndStopsEvents) {
  open_with_subscription(7, 3);
  ASSERT_TRUE(session.close());
  ASSERT_FALSE(transport.sends.empty());
  EXPECT_TRUE(transport.sends.back().fin);
  EXPECT_TRUE(transport.sends.back().bytes.empty());
  EXPECT_EQ(transport.sends.back().stream_id, 0);
  EXPECT_EQ(session.state(), SessionState::closing);
  const std::size_t before = events.events.size();
  feed(3, message_frame("orders.a", "late"));
  session.on_connection_closed(0, "");
  EXPECT_EQ(events.events.size(), before);
  EXPECT_EQ(session.state(), SessionState::closed);
  EXPECT_TRUE(session.close());  // idempotent
  EXPECT_EQ(session.publish("a", {}).code(), ClientErrc::session_closed);
}

TEST_F(ClientLifecycle, ErrorCloseAfterCloseIsStillReported) {
  open();
  ASSERT_TRUE(session.close());
  session.on_connection_closed(code(ErrorCode::payload_too_large), "frame over the limit");
  ASSERT_EQ(events.of(Ev::session_failed).size(), 1u);
  EXPECT_EQ(events.of(Ev::session_failed)[0].code, ErrorCode::payload_too_large);
}

TEST_F(ClientLifecycle, ResetOfTheControlStreamIsProtocolError) {
  open();
  session.on_stream_closed(0, 0);
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
}

TEST_F(ClientLifecycle, BrokerEndingTheControlStreamIsProtocolError) {
  open();
  feed(0, {}, /*fin=*/true);
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
  EXPECT_THAT(events.of(Ev::session_failed).at(0).message, HasSubstr("FIN"));
}

TEST_F(ClientLifecycle, CloseBeforeStartClosesTheConnection) {
  ASSERT_TRUE(session.close());
  EXPECT_EQ(closed_with(), code(ErrorCode::no_error));
  EXPECT_TRUE(transport.sends.empty());
  EXPECT_EQ(session.start().code(), ClientErrc::session_closed);
  EXPECT_TRUE(events.events.empty());
}

TEST_F(ClientLifecycle, HandlerMayUnsubscribeDuringDelivery) {
  open_with_subscription(7, 3);
  events.after_message = [&](const Delivery &) { ASSERT_TRUE(session.unsubscribe(7)); };
  feed(3, concat_bytes({message_frame("orders.a", "first"), message_frame("orders.b", "second")}));
  EXPECT_THAT(events.payloads(), ElementsAre("first"));
  EXPECT_EQ(transport.last_control_frame().type, FrameType::unsubscribe);
}

TEST_F(ClientLifecycle, HandlerMaySubscribeAgainWhenASubscriptionEnds) {
  open_with_subscription(7, 3);
  events.after_ended = [&](std::uint32_t id) { ASSERT_TRUE(session.subscribe(id, "orders.>")); };
  feed(3, error_frame(std::nullopt, 7, ErrorCode::slow_consumer), /*fin=*/true);
  ASSERT_EQ(events.of(Ev::subscription_ended).size(), 1u);
  EXPECT_EQ(transport.last_control_frame().type, FrameType::subscribe);
  EXPECT_EQ(transport.last_control_frame().subject, "orders.>");
}

TEST_F(ClientLifecycle, HandlerThatThrowsEndsTheSessionWithInternalError) {
  open_with_subscription(7, 3);
  events.after_message = [](const Delivery &) { throw std::runtime_error("application bug"); };
  feed(3, message_frame("orders.a", "boom"));
  EXPECT_EQ(closed_with(), code(ErrorCode::internal_error));
  auto failed = events.of(Ev::session_failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_THAT(failed[0].message, HasSubstr("application bug"));
}

TEST_F(ClientLifecycle, ReentrantDataFromAHandlerIsRefused) {
  open_with_subscription(7, 3);
  Bytes again = message_frame("orders.b", "nested");
  events.after_message = [&](const Delivery &) { session.on_stream_data(3, again, false); };
  feed(3, message_frame("orders.a", "outer"));
  EXPECT_EQ(closed_with(), code(ErrorCode::internal_error));
  EXPECT_THAT(events.payloads(), ElementsAre("outer"));
}

}  // namespace
}  // namespace flume::client_engine::test
