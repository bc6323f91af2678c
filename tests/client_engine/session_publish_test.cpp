// publish(): local checks before anything is sent, the frame on the wire, and the broker's
// INVALID_SUBJECT answer.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace flume::client_engine::test {
namespace {

using ::testing::HasSubstr;

using ClientPublish = SessionTest;

TEST_F(ClientPublish, PublishSendsTheWorkedExampleFrame) {
  open();
  transport.sends.clear();
  ASSERT_TRUE(session.publish("a.b", bytes_of("hi")));
  ASSERT_EQ(transport.sends.size(), 1u);
  // docs/protocol.md section 14, PUBLISH a.b "hi".
  EXPECT_EQ(transport.sends[0].bytes,
            (Bytes{0x08, 0x03, 0x00, 0x00, 0x00, 0x02, 0x61, 0x2e, 0x62, 0x68, 0x69}));
  EXPECT_EQ(transport.sends[0].stream_id, 0);
  EXPECT_EQ(session.stats().messages_published, 1u);
  EXPECT_EQ(session.stats().payload_bytes_published, 2u);
}

TEST_F(ClientPublish, EmptyPayloadIsAllowed) {
  open();
  ASSERT_TRUE(session.publish("a.b", {}));
  EXPECT_EQ(transport.last_control_frame().type, FrameType::publish);
  EXPECT_TRUE(transport.last_control_frame().payload.empty());
}

TEST_F(ClientPublish, InvalidSubjectsAreRefusedWithTheRuleAndSendNothing) {
  open();
  const std::size_t sent = transport.sends.size();
  struct Case {
    std::string subject;
    std::string reason;
  };
  const Case cases[] = {
      {"a..b", describe(SubjectError::empty_token)},
      {"orders.*", describe(SubjectError::wildcard_in_subject)},
      {"a b", describe(SubjectError::invalid_byte)},
      {"", describe(SubjectError::empty)},
      {std::string(256, 'x'), describe(SubjectError::too_long)},
  };
  for (const Case &c : cases) {
    Result result = session.publish(c.subject, bytes_of("x"));
    EXPECT_EQ(result.code(), ClientErrc::invalid_subject) << c.subject;
    EXPECT_THAT(result.message(), HasSubstr(c.reason)) << c.subject;
  }
  EXPECT_EQ(transport.sends.size(), sent);
  EXPECT_EQ(session.stats().messages_published, 0u);
}

TEST_F(ClientPublish, InvalidSubjectMessageShowsControlBytesEscaped) {
  open();
  Result result = session.publish(std::string_view("a.\x01", 3), bytes_of("x"));
  EXPECT_THAT(result.message(), HasSubstr("\"a.\\x01\""));
}

TEST_F(ClientPublish, PayloadOverTheAnnouncedLimitIsRefusedWithTheLimit) {
  open(/*max_payload=*/1000);
  const std::size_t sent = transport.sends.size();
  Result result = session.publish("a.b", Bytes(1001, 0));
  EXPECT_EQ(result.code(), ClientErrc::payload_too_large);
  EXPECT_THAT(result.message(), HasSubstr("1001 bytes"));
  EXPECT_THAT(result.message(), HasSubstr("1000 bytes"));
  EXPECT_THAT(result.message(), HasSubstr("max_payload"));
  EXPECT_EQ(transport.sends.size(), sent);
  EXPECT_TRUE(session.publish("a.b", Bytes(1000, 0)));
}

TEST_F(ClientPublish, BeforeTheOkThePayloadLimitIs65536) {
  ASSERT_TRUE(session.start());
  Result result = session.publish("a.b", Bytes(65537, 0));
  EXPECT_EQ(result.code(), ClientErrc::payload_too_large);
  EXPECT_THAT(result.message(), HasSubstr("65536"));
  EXPECT_TRUE(session.publish("a.b", Bytes(65536, 0)));  // pipelined before the OK (6.1)
  EXPECT_EQ(transport.last_control_frame().payload.size(), 65536u);
}

TEST_F(ClientPublish, LargerAnnouncedLimitAllowsLargerPublishes) {
  open(/*max_payload=*/200000);
  EXPECT_TRUE(session.publish("a.b", Bytes(150000, 7)));
}

TEST_F(ClientPublish, FrameEncodedAheadIsSentAsIsAndCounted) {
  open();
  transport.sends.clear();
  SubjectError error = SubjectError::ok;
  auto subject = CheckedSubject::check("a.b", error);
  ASSERT_TRUE(subject);
  const Bytes payload = bytes_of("hi");
  ASSERT_TRUE(session.publish(encode_publish(*subject, payload, kDefaultMaxPayload)));
  ASSERT_EQ(transport.sends.size(), 1u);
  EXPECT_EQ(transport.sends[0].bytes,
            (Bytes{0x08, 0x03, 0x00, 0x00, 0x00, 0x02, 0x61, 0x2e, 0x62, 0x68, 0x69}));
  EXPECT_EQ(session.stats().messages_published, 1u);
  EXPECT_EQ(session.stats().payload_bytes_published, 2u);
}

TEST_F(ClientPublish, FrameEncodedAheadIsStillCheckedAgainstTheAnnouncedLimit) {
  open(/*max_payload=*/1000);  // the frame was encoded against a larger limit
  const std::size_t sent = transport.sends.size();
  SubjectError error = SubjectError::ok;
  auto subject = CheckedSubject::check("a.b", error);
  Result result = session.publish(encode_publish(*subject, Bytes(1001, 0), kDefaultMaxPayload));
  EXPECT_EQ(result.code(), ClientErrc::payload_too_large);
  EXPECT_THAT(result.message(), HasSubstr("1000 bytes"));
  EXPECT_EQ(transport.sends.size(), sent);
  EXPECT_EQ(session.publish(EncodedPublish()).code(), ClientErrc::out_of_memory);
}

TEST_F(ClientPublish, InvalidSubjectErrorWithoutRequestIdGoesToOnError) {
  open();
  feed(0, error_frame(std::nullopt, std::nullopt, ErrorCode::invalid_subject,
                      "subject has an empty token"));
  auto errors = events.of(Ev::error);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, ErrorCode::invalid_subject);
  EXPECT_THAT(errors[0].message, HasSubstr("PUBLISH"));
  EXPECT_THAT(errors[0].message, HasSubstr("subject has an empty token"));
  EXPECT_TRUE(session.ready());
  EXPECT_TRUE(transport.closes.empty());
  EXPECT_TRUE(events.of(Ev::session_failed).empty());
}

TEST_F(ClientPublish, PublishErrorDoesNotConsumeTheAnswerToAPendingRequest) {
  open();
  std::uint32_t request_id = subscribe(5, "a.*");
  feed(0, concat_bytes({error_frame(std::nullopt, std::nullopt, ErrorCode::invalid_subject, "bad"),
                        ok_to(request_id, 5, 64)}));
  ASSERT_EQ(events.of(Ev::error).size(), 1u);
  auto results = events.of(Ev::subscribe_result);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code, ErrorCode::no_error);
  EXPECT_EQ(results[0].number, 64u);
}

}  // namespace
}  // namespace flume::client_engine::test
