// Subscription streams: delivery, drops, the ways a subscription ends, and malformed broker input.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace flume::client_engine::test {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ClientStreams = SessionTest;

TEST_F(ClientStreams, MessagesArriveInOrderWhenFedOneByteAtATime) {
  open();
  std::uint32_t request_id = subscribe(7, "orders.>");
  feed(0, ok_to(request_id, 7));
  Bytes stream = concat_bytes({subscription_frame(7), message_frame("orders.eu", "one"),
                               message_frame("orders.us", std::string(300, 'b')),
                               message_frame("orders.eu.created", "")});
  feed_in_chunks(3, stream, 1);
  auto messages = events.of(Ev::message);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].id, 7u);
  EXPECT_EQ(messages[0].message, "orders.eu");
  EXPECT_EQ(messages[0].payload, "one");
  EXPECT_EQ(messages[1].message, "orders.us");
  EXPECT_EQ(messages[1].payload, std::string(300, 'b'));
  EXPECT_EQ(messages[2].message, "orders.eu.created");
  EXPECT_EQ(messages[2].payload, "");
  EXPECT_EQ(session.stats().messages_received, 3u);
  EXPECT_EQ(session.stats().payload_bytes_received, 303u);
}

TEST_F(ClientStreams, WholeFramesAreDeliveredWithoutCopying) {
  open_with_subscription(7, 3);
  Bytes input = message_frame("orders.eu", "zero-copy");
  feed(3, input);
  auto messages = events.of(Ev::message);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_GE(messages[0].payload_address, input.data());
  EXPECT_LT(messages[0].payload_address, input.data() + input.size());
}

TEST_F(ClientStreams, MessagesBeforeTheOkToSubscribeAreDeliveredAtOnce) {
  open();
  std::uint32_t request_id = subscribe(7, "orders.>");
  feed(3, concat_bytes({subscription_frame(7), message_frame("orders.a", "1"),
                        message_frame("orders.b", "2")}));
  EXPECT_THAT(events.payloads(), ElementsAre("1", "2"));
  EXPECT_TRUE(events.of(Ev::subscribe_result).empty());
  feed(0, ok_to(request_id, 7, 1024));
  ASSERT_EQ(events.of(Ev::subscribe_result).size(), 1u);
  feed(3, message_frame("orders.c", "3"));
  EXPECT_THAT(events.payloads(), ElementsAre("1", "2", "3"));
}

TEST_F(ClientStreams, StreamOvertakingTheOkToHelloMayCarryMoreThan64KiB) {
  // The broker's limit is 128 KiB; its OK to HELLO is delayed by loss on the control stream.
  ASSERT_TRUE(session.start());
  std::uint32_t request_id = subscribe(7, "big");
  feed(3, concat_bytes({subscription_frame(7), message_frame("big", std::string(100000, 'x'))}));
  ASSERT_EQ(events.of(Ev::message).size(), 1u);
  EXPECT_EQ(events.of(Ev::message)[0].payload.size(), 100000u);
  feed(0, concat_bytes({ok_to_hello(1, 131072), ok_to(request_id, 7)}));
  EXPECT_TRUE(session.ready());
  EXPECT_TRUE(transport.closes.empty());
}

TEST_F(ClientStreams, AfterTheOkFramesOverTheAnnouncedLimitAreRefused) {
  open(/*max_payload=*/1000);
  std::uint32_t request_id = subscribe(7, "a");
  feed(0, ok_to(request_id, 7));
  feed(3, concat_bytes({subscription_frame(7), message_frame("a", std::string(1001, 'x'))}));
  EXPECT_EQ(closed_with(), code(ErrorCode::payload_too_large));
  EXPECT_TRUE(events.of(Ev::message).empty());
  EXPECT_THAT(events.of(Ev::session_failed).at(0).message, HasSubstr("1000 bytes"));
}

TEST_F(ClientStreams, StreamOpenedBeforeTheOkTakesTheAnnouncedLimitAfterIt) {
  ASSERT_TRUE(session.start());
  std::uint32_t request_id = subscribe(7, "a");
  feed(3, concat_bytes({subscription_frame(7), message_frame("a", std::string(5000, 'x'))}));
  feed(0, concat_bytes({ok_to_hello(1, /*max_payload=*/4096), ok_to(request_id, 7)}));
  ASSERT_TRUE(session.ready());
  feed(3, message_frame("a", std::string(4097, 'y')));
  EXPECT_EQ(closed_with(), code(ErrorCode::payload_too_large));
  EXPECT_EQ(events.of(Ev::message).size(), 1u);
}

TEST_F(ClientStreams, DroppedReportsTheCount) {
  open_with_subscription(7, 3);
  feed(3, concat_bytes(
              {message_frame("orders.a", "1"), dropped_frame(5), message_frame("orders.b", "2")}));
  auto dropped = events.of(Ev::dropped);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].id, 7u);
  EXPECT_EQ(dropped[0].number, 5u);
  EXPECT_EQ(session.stats().messages_dropped, 5u);
  // The gap sits between the two messages.
  ASSERT_EQ(events.events.size(), 5u);  // ready, subscribe_result, message, dropped, message
  EXPECT_EQ(events.events[3].kind, Ev::dropped);
}

TEST_F(ClientStreams, SlowConsumerErrorEndsTheSubscription) {
  open_with_subscription(7, 3);
  feed(3, error_frame(std::nullopt, 7, ErrorCode::slow_consumer, "queue full"));
  auto ended = events.of(Ev::subscription_ended);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].id, 7u);
  EXPECT_EQ(ended[0].code, ErrorCode::slow_consumer);
  EXPECT_THAT(ended[0].message, HasSubstr("queue full"));
  feed(3, {}, /*fin=*/true);
  EXPECT_TRUE(transport.closes.empty());
  EXPECT_EQ(events.of(Ev::subscription_ended).size(), 1u);
  EXPECT_TRUE(session.subscribe(7, "orders.>"));  // the broker freed the id (6.3)
}

TEST_F(ClientStreams, FrameAfterTheEndingErrorIsProtocolError) {
  open_with_subscription(7, 3);
  feed(3, concat_bytes({error_frame(std::nullopt, 7, ErrorCode::slow_consumer),
                        message_frame("orders.a", "late")}));
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
  EXPECT_TRUE(events.of(Ev::message).empty());
}

TEST_F(ClientStreams, StreamResetEndsTheSubscriptionWithTheResetCode) {
  open_with_subscription(7, 3);
  session.on_stream_closed(3, code(ErrorCode::shutting_down));
  auto ended = events.of(Ev::subscription_ended);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].code, ErrorCode::shutting_down);
  EXPECT_THAT(ended[0].message, HasSubstr("SHUTTING_DOWN"));
  EXPECT_TRUE(session.ready());
}

TEST_F(ClientStreams, ResetWithAnUnknownCodeIsReportedAsInternalError) {
  open_with_subscription(7, 3);
  session.on_stream_closed(3, 0x1234);
  EXPECT_EQ(events.of(Ev::subscription_ended).at(0).code, ErrorCode::internal_error);
  EXPECT_THAT(events.of(Ev::subscription_ended).at(0).message, HasSubstr("4660"));
}

TEST_F(ClientStreams, StreamForAnUnknownIdIsStoppedAndNotDelivered) {
  open();
  feed(3, concat_bytes({subscription_frame(99), message_frame("a.b", "not yours")}));
  EXPECT_TRUE(events.of(Ev::message).empty());
  ASSERT_EQ(transport.stop_sendings.size(), 1u);
  EXPECT_EQ(transport.stop_sendings[0], (std::pair<std::int64_t, std::uint64_t>{3, 0}));
  feed(3, message_frame("a.b", "more"), /*fin=*/true);
  EXPECT_TRUE(events.of(Ev::message).empty());
  EXPECT_TRUE(transport.closes.empty());
  EXPECT_TRUE(events.of(Ev::session_failed).empty());
  EXPECT_EQ(session.stats().streams_discarded, 1u);
}

TEST_F(ClientStreams, MessagesAfterUnsubscribeAreNotDeliveredButTheStreamIsRead) {
  open_with_subscription(7, 3);
  feed(3, message_frame("orders.a", "before"));
  std::uint32_t request_id = unsubscribe(7);
  feed(3, message_frame("orders.b", "after"));
  feed(0, ok_to(request_id, 7));
  feed(3, message_frame("orders.c", "after the OK"), /*fin=*/true);
  EXPECT_THAT(events.payloads(), ElementsAre("before"));
  EXPECT_EQ(session.stats().messages_discarded, 2u);
  EXPECT_TRUE(transport.stop_sendings.empty());
  EXPECT_TRUE(events.of(Ev::subscription_ended).empty());
}

TEST_F(ClientStreams, FinWithoutErrorEndsTheSubscriptionWithNoError) {
  open_with_subscription(7, 3);
  feed(3, {}, /*fin=*/true);
  auto ended = events.of(Ev::subscription_ended);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].code, ErrorCode::no_error);
}

TEST_F(ClientStreams, FirstFrameOtherThanSubscriptionIsProtocolError) {
  open();
  subscribe(7, "a.*");
  feed(3, message_frame("a.b", "x"));
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
  EXPECT_THAT(events.of(Ev::session_failed).at(0).message, HasSubstr("SUBSCRIPTION"));
  EXPECT_TRUE(events.of(Ev::message).empty());
}

TEST_F(ClientStreams, MessageWithAnInvalidSubjectClosesWithInvalidSubject) {
  open_with_subscription(7, 3);
  // MESSAGE "a..b": well framed, so the decoder hands it over flagged invalid_subject.
  Bytes bad = {0x09, 0x04, 0x00, 0x00, 0x00, 0x01, 'a', '.', '.', 'b', 'x'};
  feed(3, bad);
  EXPECT_EQ(closed_with(), code(ErrorCode::invalid_subject));
  EXPECT_TRUE(events.of(Ev::message).empty());
  EXPECT_THAT(events.of(Ev::session_failed).at(0).message, HasSubstr("\"a..b\""));
}

TEST_F(ClientStreams, MalformedHeadersCloseWithTheirCode) {
  struct Case {
    const char *name;
    Bytes bytes;
    ErrorCode expected;
  };
  const Case cases[] = {
      {"unknown type 0x0d", {0x0d, 0x00, 0x00, 0x00, 0x00, 0x00}, ErrorCode::unknown_frame_type},
      {"MESSAGE without subject",
       {0x09, 0x00, 0x00, 0x00, 0x00, 0x02, 'h', 'i'},
       ErrorCode::missing_subject},
      {"DROPPED with a subject",
       {0x0b, 0x01, 0x00, 0x00, 0x00, 0x00, 'a'},
       ErrorCode::unexpected_subject},
      {"payload over 65536",
       {0x09, 0x03, 0x00, 0x01, 0x00, 0x01, 'a', '.', 'b'},
       ErrorCode::payload_too_large},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    FakeTransport t;
    RecordingEvents e;
    Session s(SessionConfig{}, t, e);
    ASSERT_TRUE(s.start());
    s.on_stream_data(0, ok_to_hello(), false);
    ASSERT_TRUE(s.subscribe(7, "a.*"));
    s.on_stream_data(3, subscription_frame(7), false);
    s.on_stream_data(3, c.bytes, false);
    ASSERT_EQ(t.closes.size(), 1u);
    EXPECT_EQ(t.closes[0].code, code(c.expected));
    ASSERT_EQ(e.of(Ev::session_failed).size(), 1u);
    EXPECT_EQ(e.of(Ev::session_failed)[0].code, c.expected);
    EXPECT_THAT(e.of(Ev::session_failed)[0].message, HasSubstr("subscription stream 3"));
    EXPECT_EQ(s.state(), SessionState::closed);
  }
}

TEST_F(ClientStreams, MalformedHeaderOnTheControlStreamClosesWithItsCode) {
  open();
  feed(0, Bytes{0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x61});  // PING with a subject
  EXPECT_EQ(closed_with(), code(ErrorCode::unexpected_subject));
  EXPECT_THAT(events.of(Ev::session_failed).at(0).message, HasSubstr("control stream"));
}

TEST_F(ClientStreams, FinInsideAFrameClosesWithTruncatedFrame) {
  open_with_subscription(7, 3);
  Bytes frame = message_frame("orders.a", "hello");
  frame.pop_back();
  feed(3, frame, /*fin=*/true);
  EXPECT_EQ(closed_with(), code(ErrorCode::truncated_frame));
  EXPECT_TRUE(events.of(Ev::message).empty());
}

TEST_F(ClientStreams, MalformedPropertiesCloseWithProtocolError) {
  struct Case {
    const char *name;
    Bytes frame;
  };
  const Case cases[] = {
      {"DROPPED with count 0", dropped_frame(0)},
      {"DROPPED without count", encode(FrameType::dropped, "", {})},
      {"duplicate property",
       encode(FrameType::dropped, "",
              Props().u64(PropertyId::dropped_count, 1).u64(PropertyId::dropped_count, 2).bytes())},
      {"integer of the wrong width",
       encode(FrameType::dropped, "", Props().u32(PropertyId::dropped_count, 1).bytes())},
      {"property running past the payload",
       encode(FrameType::dropped, "", Bytes{0x0d, 0x00, 0x08, 0x00})},
      {"error_message over 1024 bytes",
       encode(FrameType::error, "",
              Props()
                  .u16(PropertyId::error_code, 14)
                  .str(PropertyId::error_message, std::string(1025, 'm'))
                  .bytes())},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.name);
    FakeTransport t;
    RecordingEvents e;
    Session s(SessionConfig{}, t, e);
    ASSERT_TRUE(s.start());
    s.on_stream_data(0, ok_to_hello(), false);
    ASSERT_TRUE(s.subscribe(7, "a.*"));
    s.on_stream_data(3, concat_bytes({subscription_frame(7), c.frame}), false);
    ASSERT_EQ(t.closes.size(), 1u);
    EXPECT_EQ(t.closes[0].code, code(ErrorCode::protocol_error));
    EXPECT_TRUE(e.of(Ev::dropped).empty());
    EXPECT_TRUE(e.of(Ev::subscription_ended).empty());
  }
}

TEST_F(ClientStreams, UnknownPropertiesAreIgnored) {
  open_with_subscription(7, 3);
  Bytes dropped = encode(FrameType::dropped, "",
                         Props()
                             .raw({0x7f, 0x00, 0x02, 0xaa, 0xbb})
                             .u64(PropertyId::dropped_count, 3)
                             .u32(PropertyId::request_id, 9)  // known, not defined for DROPPED
                             .bytes());
  feed(3, dropped);
  EXPECT_EQ(events.of(Ev::dropped).at(0).number, 3u);
  EXPECT_TRUE(transport.closes.empty());
}

TEST_F(ClientStreams, DataOnAStreamTheBrokerMayNotUseIsProtocolError) {
  open();
  feed(1, subscription_frame(7));  // a broker-initiated bidirectional stream
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
}

TEST_F(ClientStreams, SecondStreamForOneSubscriptionIsDiscarded) {
  open_with_subscription(7, 3);
  feed(7, concat_bytes({subscription_frame(7), message_frame("orders.x", "dup")}));
  EXPECT_TRUE(events.of(Ev::message).empty());
  ASSERT_EQ(transport.stop_sendings.size(), 1u);
  EXPECT_EQ(transport.stop_sendings[0].first, 7);
  feed(3, message_frame("orders.y", "real"));
  EXPECT_THAT(events.payloads(), ElementsAre("real"));
}

TEST_F(ClientStreams, SubscriptionsDoNotShareDecoders) {
  open();
  std::uint32_t r1 = subscribe(1, "a");
  std::uint32_t r2 = subscribe(2, "b");
  feed(0, concat_bytes({ok_to(r1, 1), ok_to(r2, 2)}));
  Bytes s3 = concat_bytes({subscription_frame(1), message_frame("a", "from-3")});
  Bytes s7 = concat_bytes({subscription_frame(2), message_frame("b", "from-7")});
  // Interleave halves: each stream's partial frame must wait in its own decoder.
  const std::size_t h3 = s3.size() - 3, h7 = s7.size() - 3;
  feed(3, Bytes(s3.begin(), s3.begin() + static_cast<std::ptrdiff_t>(h3)));
  feed(7, Bytes(s7.begin(), s7.begin() + static_cast<std::ptrdiff_t>(h7)));
  feed(7, Bytes(s7.begin() + static_cast<std::ptrdiff_t>(h7), s7.end()));
  feed(3, Bytes(s3.begin() + static_cast<std::ptrdiff_t>(h3), s3.end()));
  auto messages = events.of(Ev::message);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].id, 2u);
  EXPECT_EQ(messages[0].payload, "from-7");
  EXPECT_EQ(messages[1].id, 1u);
  EXPECT_EQ(messages[1].payload, "from-3");
}

}  // namespace
}  // namespace flume::client_engine::test
