// subscribe() and unsubscribe(): local checks, the frames sent, and matching the broker's answers.
#include <gtest/gtest.h>

#include "session_harness.hpp"

namespace flume::client_engine::test {
namespace {

using ::testing::HasSubstr;

using ClientSubscribe = SessionTest;

TEST_F(ClientSubscribe, SubscribeSendsTheWorkedExampleFrame) {
  open();
  transport.sends.clear();
  // Request id 2 follows HELLO's 1, so this is byte for byte the example in section 14.
  ASSERT_TRUE(session.subscribe(7, "a.*", OverflowPolicy::drop_newest, 256));
  EXPECT_EQ(transport.last_send_bytes(),
            (Bytes{0x06, 0x03, 0x00, 0x00, 0x00, 0x19, 0x61, 0x2e, 0x2a, 0x01, 0x00, 0x04,
                   0x00, 0x00, 0x00, 0x02, 0x06, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07, 0x07,
                   0x00, 0x01, 0x02, 0x08, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00}));
}

TEST_F(ClientSubscribe, DefaultQueueLimitIsOmittedAndPolicyIsExplicit) {
  open();
  subscribe(9, "orders.>");
  SentFrame frame = transport.last_control_frame();
  EXPECT_EQ(frame.type, FrameType::subscribe);
  EXPECT_EQ(frame.subject, "orders.>");
  EXPECT_EQ(frame.prop(PropertyId::subscription_id), 9u);
  EXPECT_EQ(frame.prop(PropertyId::overflow_policy), 1u);
  EXPECT_FALSE(frame.has(PropertyId::queue_limit));
}

TEST_F(ClientSubscribe, OkReportsTheEffectiveQueueLimit) {
  open();
  std::uint32_t request_id = subscribe(7, "a.*", OverflowPolicy::close, 5000);
  feed(0, ok_to(request_id, 7, 1024));
  auto results = events.of(Ev::subscribe_result);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].id, 7u);
  EXPECT_EQ(results[0].code, ErrorCode::no_error);
  EXPECT_EQ(results[0].number, 1024u);
}

TEST_F(ClientSubscribe, LocalChecksRefuseBadRequestsAndSendNothing) {
  open();
  subscribe(7, "a.*");
  const std::size_t sent = transport.sends.size();

  Result zero = session.subscribe(0, "a.*");
  EXPECT_EQ(zero.code(), ClientErrc::invalid_subscription_id);
  EXPECT_THAT(zero.message(), HasSubstr("reserved"));

  Result pattern = session.subscribe(8, "a.>.b");
  EXPECT_EQ(pattern.code(), ClientErrc::invalid_pattern);
  EXPECT_THAT(pattern.message(), HasSubstr(describe(SubjectError::full_wildcard_not_last)));

  Result wildcard = session.subscribe(8, "a.b*");
  EXPECT_EQ(wildcard.code(), ClientErrc::invalid_pattern);

  Result duplicate = session.subscribe(7, "b.*");
  EXPECT_EQ(duplicate.code(), ClientErrc::subscription_id_in_use);
  EXPECT_THAT(duplicate.message(), HasSubstr("\"a.*\""));

  Result policy = session.subscribe(8, "b.*", static_cast<OverflowPolicy>(4));
  EXPECT_EQ(policy.code(), ClientErrc::invalid_overflow_policy);

  EXPECT_EQ(transport.sends.size(), sent);
}

TEST_F(ClientSubscribe, AnnouncedMaxSubscriptionsIsCheckedLocally) {
  open(65536, /*max_subscriptions=*/2);
  subscribe(1, "a");
  subscribe(2, "b");
  const std::size_t sent = transport.sends.size();
  Result third = session.subscribe(3, "c");
  EXPECT_EQ(third.code(), ClientErrc::too_many_subscriptions);
  EXPECT_THAT(third.message(), HasSubstr("allows 2"));
  EXPECT_EQ(transport.sends.size(), sent);
  // An unsubscribed one no longer counts: the broker frees it before reading the next SUBSCRIBE.
  unsubscribe(2);
  EXPECT_TRUE(session.subscribe(3, "c"));
}

TEST_F(ClientSubscribe, RefusedSubscribeReportsCodeAndFreesTheId) {
  open();
  std::uint32_t request_id = subscribe(8, "a.*");
  feed(0, error_frame(request_id, 8, ErrorCode::too_many_subscriptions, "limit is 10000"));
  auto results = events.of(Ev::subscribe_result);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code, ErrorCode::too_many_subscriptions);
  EXPECT_THAT(results[0].message, HasSubstr("limit is 10000"));
  EXPECT_THAT(results[0].message, HasSubstr("\"a.*\""));
  EXPECT_TRUE(session.subscribe(8, "a.*"));
  EXPECT_TRUE(session.ready());
}

TEST_F(ClientSubscribe, AnswersWithoutRequestIdAreMatchedByOrder) {
  open();
  subscribe(1, "a");
  subscribe(2, "b");
  feed(0, concat_bytes({ok_to(std::nullopt, 1), ok_to(std::nullopt, 2)}));
  auto results = events.of(Ev::subscribe_result);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].id, 1u);
  EXPECT_EQ(results[1].id, 2u);
  EXPECT_TRUE(transport.closes.empty());
}

TEST_F(ClientSubscribe, AnswerOutOfRequestOrderIsProtocolError) {
  open();
  std::uint32_t first = subscribe(1, "a");
  std::uint32_t second = subscribe(2, "b");
  // Right subscription, wrong request_id: only the request_id tells the answers apart.
  feed(0, ok_to(second, 1));
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
  auto failed = events.of(Ev::session_failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_THAT(failed[0].message, HasSubstr("request order"));
  EXPECT_THAT(failed[0].message,
              HasSubstr("answered request_id " + std::to_string(second) +
                        ", but the oldest unanswered request is SUBSCRIBE with request_id " +
                        std::to_string(first)));
  EXPECT_TRUE(events.of(Ev::subscribe_result).empty());
}

TEST_F(ClientSubscribe, ErrorOutOfRequestOrderIsProtocolError) {
  open();
  subscribe(1, "a");
  std::uint32_t second = subscribe(2, "b");
  feed(0, error_frame(second, 1, ErrorCode::invalid_subject, "bad"));
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
  EXPECT_TRUE(events.of(Ev::subscribe_result).empty());
}

TEST_F(ClientSubscribe, OkForAnotherSubscriptionIdIsProtocolError) {
  open();
  subscribe(1, "a");
  feed(0, ok_to(std::nullopt, 99));
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
}

TEST_F(ClientSubscribe, ErrorNamingAnotherSubscriptionIsProtocolError) {
  open();
  std::uint32_t request_id = subscribe(1, "a");
  feed(0, error_frame(request_id, 2, ErrorCode::invalid_subject));
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
  EXPECT_TRUE(events.of(Ev::subscribe_result).empty());
}

TEST_F(ClientSubscribe, OkWithNoRequestOutstandingIsProtocolError) {
  open();
  feed(0, ok_to(5, 1));
  EXPECT_EQ(closed_with(), code(ErrorCode::protocol_error));
  EXPECT_THAT(events.of(Ev::session_failed).at(0).message, HasSubstr("no request"));
}

TEST_F(ClientSubscribe, UnsubscribeSendsFrameAndOkReportsUnsubscribed) {
  open_with_subscription(7, 3);
  std::uint32_t request_id = unsubscribe(7);
  SentFrame frame = transport.last_control_frame();
  EXPECT_EQ(frame.type, FrameType::unsubscribe);
  EXPECT_EQ(frame.prop(PropertyId::subscription_id), 7u);
  feed(0, ok_to(request_id, 7));
  auto done = events.of(Ev::unsubscribed);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].id, 7u);
  EXPECT_EQ(done[0].code, ErrorCode::no_error);
}

TEST_F(ClientSubscribe, UnknownSubscriptionAnswerToUnsubscribeCountsAsSuccess) {
  open_with_subscription(7, 3);
  std::uint32_t request_id = unsubscribe(7);
  feed(0, error_frame(request_id, 7, ErrorCode::unknown_subscription, "not live"));
  auto done = events.of(Ev::unsubscribed);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].code, ErrorCode::no_error);
  EXPECT_TRUE(transport.closes.empty());
}

TEST_F(ClientSubscribe, RefusedUnsubscribeStopsTheStreamInstead) {
  open_with_subscription(7, 3);
  std::uint32_t request_id = unsubscribe(7);
  feed(0, error_frame(request_id, 7, ErrorCode::internal_error, "router busy"));
  auto done = events.of(Ev::unsubscribed);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].code, ErrorCode::internal_error);
  EXPECT_THAT(done[0].message, HasSubstr("router busy"));
  EXPECT_THAT(done[0].message, HasSubstr("STOP_SENDING"));
  ASSERT_EQ(transport.stop_sendings.size(), 1u);
  EXPECT_EQ(transport.stop_sendings[0].first, 3);
  EXPECT_TRUE(session.subscribe(7, "again"));  // nothing of the old subscription remains
  EXPECT_TRUE(session.ready());
}

TEST_F(ClientSubscribe, UnsubscribeBeforeTheOkToSubscribeResolvesBoth) {
  open();
  std::uint32_t subscribe_request = subscribe(7, "a.*");
  std::uint32_t unsubscribe_request = unsubscribe(7);
  feed(0, concat_bytes({ok_to(subscribe_request, 7, 16), ok_to(unsubscribe_request, 7)}));
  ASSERT_EQ(events.of(Ev::subscribe_result).size(), 1u);
  ASSERT_EQ(events.of(Ev::unsubscribed).size(), 1u);
  // The stream was opened by then and arrives late: it is read to its end, not delivered.
  feed(3, concat_bytes({subscription_frame(7), message_frame("a.b", "x")}), /*fin=*/true);
  EXPECT_TRUE(events.of(Ev::message).empty());
  EXPECT_EQ(transport.stop_sendings.size(), 1u);  // id no longer held: stopped, per 6.3
  EXPECT_TRUE(session.subscribe(7, "a.*"));
}

TEST_F(ClientSubscribe, UnsubscribeOfAnIdNotHeldIsRefusedLocally) {
  open();
  Result result = session.unsubscribe(42);
  EXPECT_EQ(result.code(), ClientErrc::unknown_subscription);
  EXPECT_THAT(result.message(), HasSubstr("42"));
  subscribe(5, "a");
  unsubscribe(5);
  EXPECT_EQ(session.unsubscribe(5).code(), ClientErrc::unknown_subscription);
}

TEST_F(ClientSubscribe, IdStaysInUseUntilTheOldStreamEnds) {
  open_with_subscription(7, 3);
  std::uint32_t request_id = unsubscribe(7);
  feed(0, ok_to(request_id, 7));
  Result early = session.subscribe(7, "b.*");
  EXPECT_EQ(early.code(), ClientErrc::subscription_id_in_use);
  feed(3, message_frame("orders.late", "late"), /*fin=*/true);
  EXPECT_TRUE(session.subscribe(7, "b.*"));
  EXPECT_TRUE(events.of(Ev::message).empty());
}

}  // namespace
}  // namespace flume::client_engine::test
