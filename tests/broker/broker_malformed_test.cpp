// Malformed input (docs/protocol.md 3.4 and 11.2): framing and protocol errors close only the
// offending connection with their code after an ERROR on its control stream; everyone else goes on.
#include <gtest/gtest.h>

#include "broker_test_util.hpp"

namespace flume::broker::test {
namespace {

class BrokerMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    bystander.hello();
    bystander.subscribe(">", 1);
    offender.hello();
  }
  // The offender got ERROR{code} on its control stream and a close with the same code; the
  // bystander still receives messages.
  void expect_closed_with(ErrorCode expected) {
    EXPECT_TRUE(offender.transport.closed);
    EXPECT_EQ(offender.transport.close_code, code(expected));
    const OwnedFrame error = offender.last_control();
    EXPECT_EQ(error.type, FrameType::error);
    EXPECT_EQ(error.error_code(), code(expected));
    EXPECT_TRUE(error.string(PropertyId::error_message).has_value());
    EXPECT_EQ(broker.stats().connection_closes[code(expected)], 1u);

    Client publisher(broker);
    publisher.hello();
    publisher.publish("still.alive", "yes");
    EXPECT_EQ(bystander.messages(1).back(), "yes");
    EXPECT_FALSE(bystander.transport.closed);
  }

  Broker broker{BrokerConfig{}};
  Client bystander{broker};
  Client offender{broker};
};

TEST_F(BrokerMalformed, UnknownFrameTypeClosesWithUnknownFrameType) {
  offender.control(from_hex("0d 00 00 00 00 00"));
  expect_closed_with(ErrorCode::unknown_frame_type);
}

TEST_F(BrokerMalformed, OversizedPayloadIsRefusedFromTheHeaderAlone) {
  offender.control(from_hex("08 03 00 01 00 01"));  // 65537 bytes announced, none sent
  expect_closed_with(ErrorCode::payload_too_large);
}

TEST_F(BrokerMalformed, PublishWithoutSubjectIsMissingSubject) {
  offender.control(from_hex("08 00 00 00 00 02 68 69"));
  expect_closed_with(ErrorCode::missing_subject);
}

TEST_F(BrokerMalformed, PingWithASubjectIsUnexpectedSubject) {
  offender.control(from_hex("04 01 00 00 00 00 61"));
  expect_closed_with(ErrorCode::unexpected_subject);
}

TEST_F(BrokerMalformed, FinInsideAFrameIsTruncatedFrame) {
  offender.control(from_hex("08 03 00 00 00 02 61 2e 62 68"), true);
  expect_closed_with(ErrorCode::truncated_frame);
}

TEST_F(BrokerMalformed, FinInsideAFrameOnAPublishStreamIsTruncatedFrame) {
  offender.on_stream(2, from_hex("08 03 00 00 00 02 61 2e 62"));
  offender.on_stream(2, {}, true);
  expect_closed_with(ErrorCode::truncated_frame);
}

TEST_F(BrokerMalformed, FinInsideAHeaderIsTruncatedFrameEvenWithAnUnknownType) {
  // 3.4: checks 1-3 wait for the whole header, so a header cut by FIN is TRUNCATED_FRAME.
  offender.control(from_hex("0d 00 00"), true);
  expect_closed_with(ErrorCode::truncated_frame);
}

TEST_F(BrokerMalformed, FinInsideAFrameOnTheWrongStreamIsTruncatedFrame) {
  // 3.4: check 4 (the stream) is made on the complete frame, so the cut comes first.
  std::vector<std::uint8_t> cut = subscribe_frame("a", 1);
  cut.resize(cut.size() - 2);
  offender.on_stream(2, cut, true);
  expect_closed_with(ErrorCode::truncated_frame);
}

TEST_F(BrokerMalformed, AFrameOnTheWrongStreamIsRefusedOnceItsBodyIsRead) {
  const std::vector<std::uint8_t> whole = subscribe_frame("a", 1);
  offender.on_stream(2, {whole.begin(), whole.end() - 1});
  EXPECT_FALSE(offender.transport.closed) << "refused before its body was read";
  offender.on_stream(2, {whole.end() - 1, whole.end()});
  expect_closed_with(ErrorCode::protocol_error);
}

TEST_F(BrokerMalformed, InvalidSubjectOnAPublishStreamIsAnsweredNamingTheStream) {
  offender.on_stream(6, publish_frame("a..b", "x"));
  EXPECT_FALSE(offender.transport.closed);
  const OwnedFrame error = offender.last_control();
  EXPECT_EQ(error.error_code(), code(ErrorCode::invalid_subject));
  EXPECT_FALSE(error.integer(PropertyId::request_id).has_value());
  EXPECT_FALSE(error.integer(PropertyId::subscription_id).has_value());
  EXPECT_NE(error.string(PropertyId::error_message)->find("stream 6"), std::string::npos);
  EXPECT_EQ(broker.stats().publishes_invalid_subject, 1u);
  offender.on_stream(6, publish_frame("still.alive", "yes"));  // the stream goes on
  EXPECT_EQ(bystander.messages(1).back(), "yes");
}

TEST_F(BrokerMalformed, FramingErrorOnAPublishStreamIsReportedOnTheControlStream) {
  offender.on_stream(2, from_hex("0d 00 00 00 00 00"));
  expect_closed_with(ErrorCode::unknown_frame_type);
}

TEST_F(BrokerMalformed, NonPublishFrameOnAPublishStreamIsProtocolError) {
  offender.on_stream(2, subscribe_frame("a", 1));
  expect_closed_with(ErrorCode::protocol_error);
}

TEST_F(BrokerMalformed, BrokerFrameTypesFromTheClientAreProtocolError) {
  offender.control(frame(FrameType::message, "a.b", bytes_of("x")));
  expect_closed_with(ErrorCode::protocol_error);
}

TEST_F(BrokerMalformed, WrongStreamBeatsInvalidSubject) {
  // MESSAGE with a bad subject: the stream check (3.4 step 4) comes before the subject (step 5).
  offender.control(raw_frame(0x09, "a..b", bytes_of("x")));
  expect_closed_with(ErrorCode::protocol_error);
}

TEST_F(BrokerMalformed, DataOnAStreamTheClientCannotSendOnIsProtocolError) {
  offender.on_stream(4, ping_frame("x"));  // a second client bidirectional stream
  expect_closed_with(ErrorCode::protocol_error);
}

TEST_F(BrokerMalformed, PingLongerThan64BytesIsProtocolError) {
  offender.control(ping_frame(std::string(65, 'p')));
  expect_closed_with(ErrorCode::protocol_error);
}

TEST_F(BrokerMalformed, PingOf64BytesIsEchoed) {
  offender.control(ping_frame(std::string(64, 'p')));
  EXPECT_EQ(offender.last_control().type, FrameType::pong);
  EXPECT_EQ(offender.last_control().payload_text(), std::string(64, 'p'));
}

struct BadProperties {
  const char *name;
  std::vector<std::uint8_t> frame;
};

std::vector<BadProperties> bad_property_frames() {
  const auto sid = [](std::uint32_t id) { return Props().u32(PropertyId::subscription_id, id); };
  return {
      {"duplicate_id",
       frame(FrameType::subscribe, "a", sid(1).u32(PropertyId::subscription_id, 2).bytes())},
      {"duplicate_unknown_id",
       frame(FrameType::subscribe, "a", sid(1).raw(0x7F, {1}).raw(0x7F, {2}).bytes())},
      {"duplicate_known_id_undefined_for_the_type",
       frame(FrameType::subscribe, "a",
             sid(1).u32(PropertyId::max_payload, 1).u32(PropertyId::max_payload, 2).bytes())},
      {"wrong_integer_width",
       frame(FrameType::subscribe, "a", Props().raw(0x06, {0, 0, 1}).bytes())},
      {"wrong_width_of_an_undefined_known_id",
       frame(FrameType::subscribe, "a", sid(1).raw(0x0C, {1}).bytes())},
      {"value_past_the_payload",
       frame(FrameType::subscribe, "a", concat({sid(1).bytes(), {0x0A, 0x00, 0x09, 'x'}}))},
      {"short_property_header", frame(FrameType::subscribe, "a", concat({sid(1).bytes(), {0x0A}}))},
      {"missing_subscription_id",
       frame(FrameType::subscribe, "a", Props().u32(PropertyId::request_id, 1).bytes())},
      {"subscription_id_zero", frame(FrameType::subscribe, "a", sid(0).bytes())},
      {"overflow_policy_zero",
       frame(FrameType::subscribe, "a", sid(1).u8(PropertyId::overflow_policy, 0).bytes())},
      {"overflow_policy_four",
       frame(FrameType::subscribe, "a", sid(1).u8(PropertyId::overflow_policy, 4).bytes())},
      {"queue_limit_zero",
       frame(FrameType::subscribe, "a", sid(1).u32(PropertyId::queue_limit, 0).bytes())},
      {"error_message_over_1024",
       frame(FrameType::subscribe, "a",
             sid(1).str(PropertyId::error_message, std::string(1025, 'e')).bytes())},
      {"unsubscribe_without_id", frame(FrameType::unsubscribe, {}, Props().bytes())},
      {"unsubscribe_id_zero", frame(FrameType::unsubscribe, {}, sid(0).bytes())},
  };
}

TEST_F(BrokerMalformed, BadPropertiesAreProtocolError) {
  for (const BadProperties &bad : bad_property_frames()) {
    SCOPED_TRACE(bad.name);
    Client client(broker);
    client.hello();
    client.control(bad.frame);
    EXPECT_TRUE(client.transport.closed);
    EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
    EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::protocol_error));
    EXPECT_TRUE(client.transport.opened.empty());
  }
  EXPECT_EQ(broker.stats().subscriptions, 1u);  // only the bystander's
  EXPECT_FALSE(bystander.transport.closed);
}

TEST_F(BrokerMalformed, BadHelloPropertiesAreProtocolError) {
  const std::vector<std::vector<std::uint8_t>> hellos = {
      from_hex("01 00 00 00 00 06 02 00 03 00 00 01"),  // protocol_version of length 3 (14)
      frame(FrameType::hello, {},
            Props()
                .u16(PropertyId::protocol_version, 1)
                .str(PropertyId::client_name, std::string(256, 'n'))
                .bytes()),
      frame(FrameType::hello, {},
            Props()
                .u16(PropertyId::protocol_version, 1)
                .str(PropertyId::token, std::string(4097, 't'))
                .bytes()),
  };
  for (const auto &hello : hellos) {
    Client client(broker);
    client.control(hello);
    EXPECT_EQ(client.transport.close_code, code(ErrorCode::protocol_error));
    EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::protocol_error));
  }
}

TEST_F(BrokerMalformed, UnknownPropertiesAndUndefinedKnownOnesAreIgnored) {
  offender.control(frame(FrameType::subscribe, "a",
                         Props()
                             .u32(PropertyId::subscription_id, 3)
                             .raw(0x7F, {1, 2, 3})                     // unknown id
                             .u32(PropertyId::max_payload, 5)          // known, not for SUBSCRIBE
                             .str(PropertyId::client_name, "ignored")  // likewise
                             .bytes()));
  EXPECT_FALSE(offender.transport.closed);
  EXPECT_EQ(offender.last_control().type, FrameType::ok);
}

TEST_F(BrokerMalformed, FramesAfterAFatalErrorInTheSameInputAreNotProcessed) {
  offender.control(
      concat({from_hex("0d 00 00 00 00 00"), subscribe_frame("a", 1), ping_frame("never")}));
  EXPECT_TRUE(offender.transport.closed);
  EXPECT_TRUE(offender.transport.opened.empty());
  EXPECT_EQ(offender.control_frames().back().type, FrameType::error);
  // And input after the close is ignored.
  offender.control(ping_frame("late"));
  EXPECT_EQ(offender.control_frames().back().type, FrameType::error);
}

TEST_F(BrokerMalformed, AFailingTransportClosesOnlyThatConnectionWithInternalError) {
  offender.transport.throw_on_open = true;
  offender.subscribe("a", 1);
  EXPECT_TRUE(offender.transport.closed);
  EXPECT_EQ(offender.transport.close_code, code(ErrorCode::internal_error));
  EXPECT_EQ(broker.stats().internal_errors, 1u);
  EXPECT_EQ(broker.stats().subscriptions, 1u);  // the offender's half-made one is gone
  expect_closed_with(ErrorCode::internal_error);
}

TEST_F(BrokerMalformed, ASubscriberWhoseTransportFailsIsClosedAndThePublisherIsNot) {
  Client fragile(broker);
  fragile.hello();
  fragile.subscribe(">", 1);
  fragile.transport.throw_on_send = true;
  offender.publish("a", "x");
  fragile.transport.throw_on_send = false;
  EXPECT_TRUE(fragile.transport.closed);
  EXPECT_EQ(fragile.transport.close_code, code(ErrorCode::internal_error));
  EXPECT_FALSE(offender.transport.closed);
  EXPECT_EQ(bystander.messages(1), std::vector<std::string>{"x"});
  expect_all_accounted(broker.stats());
}

}  // namespace
}  // namespace flume::broker::test
