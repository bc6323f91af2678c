// Subscriptions and the path of a message: SUBSCRIBE/UNSUBSCRIBE answers, one stream per
// subscription, fan-out from one shared buffer, publish streams, stream credit, STOP_SENDING.
#include <gtest/gtest.h>

#include "broker/session.hpp"
#include "broker_test_util.hpp"

namespace flume::broker::test {
namespace {

TEST(BrokerDelivery, SubscribeIsAnsweredOkAndOpensAStreamStartingWithSubscription) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.subscribe("a.*", 7, {.request_id = 2});
  const OwnedFrame ok = client.last_control();
  EXPECT_EQ(ok.type, FrameType::ok);
  EXPECT_EQ(ok.integer(PropertyId::request_id), 2u);
  EXPECT_EQ(ok.integer(PropertyId::subscription_id), 7u);
  EXPECT_EQ(ok.integer(PropertyId::queue_limit), 1024u);
  ASSERT_EQ(client.transport.opened.size(), 1u);
  auto frames = client.transport.frames(client.transport.opened[0]);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, FrameType::subscription);
  EXPECT_EQ(frames[0].integer(PropertyId::subscription_id), 7u);
  EXPECT_EQ(broker.stats().subscriptions, 1u);
}

TEST(BrokerDelivery, PublishReachesExactlyTheMatchingPatterns) {
  Broker broker({});
  Client sub(broker), pub(broker);
  sub.hello();
  pub.hello();
  sub.subscribe("a.b", 1);
  sub.subscribe("a.*", 2);
  sub.subscribe("*.b", 3);
  sub.subscribe("a.>", 4);
  sub.subscribe(">", 5);
  for (const char *subject : {"a.b", "a.x", "x.b", "a.b.c", "a", "A.b"})
    pub.publish(subject, subject);
  EXPECT_EQ(sub.messages(1), (std::vector<std::string>{"a.b"}));
  EXPECT_EQ(sub.messages(2), (std::vector<std::string>{"a.b", "a.x"}));
  EXPECT_EQ(sub.messages(3), (std::vector<std::string>{"a.b", "x.b", "A.b"}));
  EXPECT_EQ(sub.messages(4), (std::vector<std::string>{"a.b", "a.x", "a.b.c"}));
  EXPECT_EQ(sub.messages(5), (std::vector<std::string>{"a.b", "a.x", "x.b", "a.b.c", "a", "A.b"}));
  // MESSAGE carries the concrete subject, never the pattern.
  for (const OwnedFrame &f : sub.frames(4)) {
    if (f.type == FrameType::message) {
      EXPECT_EQ(f.subject, f.payload_text());
    }
  }
  EXPECT_TRUE(pub.transport.opened.empty());
  const BrokerStats stats = broker.stats();
  EXPECT_EQ(stats.messages_in, 6u);
  EXPECT_EQ(stats.deliveries, 1u + 2 + 3 + 3 + 6);
  EXPECT_EQ(stats.messages_out, stats.deliveries);
  expect_all_accounted(stats);
}

TEST(BrokerDelivery, PublishMatchingNothingIsCountedAndDiscarded) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.publish("nobody.listens", "x");
  EXPECT_EQ(broker.stats().messages_unmatched, 1u);
  EXPECT_EQ(broker.stats().deliveries, 0u);
}

TEST(BrokerDelivery, ManySubscribersGetEveryMessageInOrderFromOneSharedBuffer) {
  constexpr int kSubscribers = 40;
  constexpr int kMessages = 50;
  Broker broker({});
  std::vector<std::unique_ptr<Client>> subscribers;
  for (int i = 0; i < kSubscribers; ++i) {
    subscribers.push_back(std::make_unique<Client>(broker));
    subscribers.back()->hello();
    subscribers.back()->subscribe("ticks.>", 1);
  }
  Client publisher(broker);
  publisher.hello();
  for (int m = 0; m < kMessages; ++m)
    publisher.publish("ticks.eu", "tick" + std::to_string(m));

  const std::vector<std::string> expected = numbered("tick", 0, kMessages - 1);
  for (const auto &subscriber : subscribers)
    EXPECT_EQ(subscriber->messages(1), expected);

  // Zero-copy: for each message every subscriber holds the same bytes (one allocation), and
  // nothing else does: the broker kept no reference and made no copy.
  for (int m = 0; m < kMessages; ++m) {
    const std::uint8_t *first = nullptr;
    for (const auto &subscriber : subscribers) {
      auto buffers = subscriber->transport.buffers(subscriber->stream(1));
      ASSERT_EQ(buffers.size(), static_cast<std::size_t>(kMessages) + 1);  // SUBSCRIPTION first
      const SharedBuffer &message = buffers[static_cast<std::size_t>(m) + 1];
      if (first == nullptr) first = message.data();
      EXPECT_EQ(message.data(), first);
      // Held by each subscriber's transport, plus the local copy `buffers` holds.
      EXPECT_EQ(message.use_count(), static_cast<std::size_t>(kSubscribers) + 1);
    }
  }
}

TEST(BrokerDelivery, OverlappingSubscriptionsOfOneConnectionEachGetTheirOwnCopy) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.subscribe("a.>", 1);
  client.subscribe("a.b", 2);
  client.publish("a.b", "self");  // a connection receives what it publishes
  EXPECT_NE(client.stream(1), client.stream(2));
  EXPECT_EQ(client.messages(1), std::vector<std::string>{"self"});
  EXPECT_EQ(client.messages(2), std::vector<std::string>{"self"});
}

TEST(BrokerDelivery, UnsubscribeAnswersOkThenFinishesTheStreamAndDeliversNoMore) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.subscribe("a", 1);
  client.publish("a", "before");
  client.control(unsubscribe_frame(1, 9));
  const OwnedFrame ok = client.last_control();
  EXPECT_EQ(ok.type, FrameType::ok);
  EXPECT_EQ(ok.integer(PropertyId::request_id), 9u);
  EXPECT_EQ(ok.integer(PropertyId::subscription_id), 1u);
  EXPECT_TRUE(client.transport.fin_sent(client.stream(1)));
  client.publish("a", "after");  // would fail the fake's send-after-FIN check if delivered
  EXPECT_EQ(client.messages(1), std::vector<std::string>{"before"});
  EXPECT_EQ(broker.stats().subscriptions, 0u);
  EXPECT_EQ(broker.stats().router_patterns, 0u);
}

TEST(BrokerDelivery, UnsubscribeWritesQueuedMessagesBeforeFin) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.subscribe("a", 1);
  client.stall(1);
  client.publish("a", "q1");
  client.publish("a", "q2");
  client.unsubscribe(1);
  EXPECT_EQ(client.last_control().type, FrameType::ok);
  EXPECT_FALSE(client.transport.fin_sent(client.stream(1)));
  EXPECT_EQ(broker.session_stats(client.session).ending, 1u);
  client.unstall(1);
  EXPECT_EQ(client.messages(1), (std::vector<std::string>{"q1", "q2"}));
  EXPECT_TRUE(client.transport.fin_sent(client.stream(1)));
  EXPECT_EQ(broker.session_stats(client.session).ending, 0u);
  expect_all_accounted(broker.stats());
}

TEST(BrokerDelivery, UnsubscribeOfAnUnknownIdIsUnknownSubscription) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.control(unsubscribe_frame(5, 1));
  const OwnedFrame error = client.last_control();
  EXPECT_EQ(error.error_code(), code(ErrorCode::unknown_subscription));
  EXPECT_EQ(error.integer(PropertyId::request_id), 1u);
  EXPECT_EQ(error.integer(PropertyId::subscription_id), 5u);
  EXPECT_FALSE(client.transport.closed);
  EXPECT_EQ(broker.stats().request_errors[code(ErrorCode::unknown_subscription)], 1u);
}

TEST(BrokerDelivery, DuplicateSubscriptionIdIsRefusedAndTheLiveOneKeepsWorking) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.subscribe("a", 1);
  client.subscribe("b", 1, {.request_id = 4});
  const OwnedFrame error = client.last_control();
  EXPECT_EQ(error.error_code(), code(ErrorCode::duplicate_subscription));
  EXPECT_EQ(error.integer(PropertyId::request_id), 4u);
  EXPECT_EQ(error.integer(PropertyId::subscription_id), 1u);
  EXPECT_EQ(client.transport.opened.size(), 1u);
  client.publish("a", "to a");
  client.publish("b", "to b");
  EXPECT_EQ(client.messages(1), std::vector<std::string>{"to a"});
  EXPECT_EQ(broker.stats().subscriptions, 1u);
}

TEST(BrokerDelivery, SubscriptionsBeyondTheMaximumAreRefusedAndAFreedSlotIsReusable) {
  BrokerConfig config;
  config.max_subscriptions_per_connection = 2;
  Broker broker(config);
  Client client(broker);
  client.hello();
  client.subscribe("a", 1);
  client.subscribe("b", 2);
  client.subscribe("c", 3, {.request_id = 8});
  EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::too_many_subscriptions));
  EXPECT_EQ(client.last_control().integer(PropertyId::subscription_id), 3u);
  EXPECT_FALSE(client.transport.closed);
  client.unsubscribe(1);
  client.subscribe("c", 3);
  EXPECT_EQ(client.last_control().type, FrameType::ok);
  EXPECT_EQ(broker.stats().subscriptions, 2u);
}

TEST(BrokerDelivery, QueueLimitIsClampedToTheMaximumAndReported) {
  BrokerConfig config;
  config.default_queue_limit = 10;
  config.max_queue_limit = 100;
  Broker broker(config);
  Client client(broker);
  client.hello();
  client.subscribe("a", 1, {.queue_limit = 1000000});
  EXPECT_EQ(client.last_control().integer(PropertyId::queue_limit), 100u);
  client.subscribe("a", 2, {.queue_limit = 5});
  EXPECT_EQ(client.last_control().integer(PropertyId::queue_limit), 5u);
  client.subscribe("a", 3);
  EXPECT_EQ(client.last_control().integer(PropertyId::queue_limit), 10u);
}

TEST(BrokerDelivery, AnswersLeaveInRequestOrderAndPongFollowsEverythingBeforeIt) {
  Broker broker({});
  Client client(broker);
  client.control(concat({hello_frame(1, 1), subscribe_frame("a", 1, {.request_id = 2}),
                         subscribe_frame("a..b", 2, {.request_id = 3}), publish_frame("a", "m"),
                         unsubscribe_frame(1, 4), unsubscribe_frame(1, 5), ping_frame("flush")}));
  auto frames = client.control_frames();
  ASSERT_EQ(frames.size(), 6u);
  EXPECT_EQ(frames[0].type, FrameType::ok);
  EXPECT_EQ(frames[1].integer(PropertyId::request_id), 2u);
  EXPECT_EQ(frames[1].type, FrameType::ok);
  EXPECT_EQ(frames[2].integer(PropertyId::request_id), 3u);
  EXPECT_EQ(frames[2].error_code(), code(ErrorCode::invalid_subject));
  EXPECT_EQ(frames[3].integer(PropertyId::request_id), 4u);
  EXPECT_EQ(frames[3].type, FrameType::ok);
  EXPECT_EQ(frames[4].integer(PropertyId::request_id), 5u);
  EXPECT_EQ(frames[4].error_code(), code(ErrorCode::unknown_subscription));
  EXPECT_EQ(frames[5].type, FrameType::pong);
  EXPECT_EQ(frames[5].payload_text(), "flush");
  // The publish before the PING was routed before the PONG was written.
  EXPECT_EQ(client.messages(1), std::vector<std::string>{"m"});
}

TEST(BrokerDelivery, UnsolicitedPongIsIgnored) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.control(frame(FrameType::pong, {}, bytes_of("x")));
  EXPECT_EQ(client.control_frames().size(), 1u);
  EXPECT_FALSE(client.transport.closed);
}

TEST(BrokerDelivery, InvalidSubjectPublishIsAnsweredAndTheSessionContinues) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.subscribe("a.>", 1);
  client.control(from_hex("08 04 00 00 00 00 61 2e 2e 62"));  // subject a..b (section 14)
  const OwnedFrame error = client.last_control();
  EXPECT_EQ(error.error_code(), code(ErrorCode::invalid_subject));
  EXPECT_FALSE(error.integer(PropertyId::request_id).has_value());
  EXPECT_TRUE(error.string(PropertyId::error_message).has_value());
  EXPECT_FALSE(client.transport.closed);
  client.publish("a.ok", "fine");
  EXPECT_EQ(client.messages(1), std::vector<std::string>{"fine"});
  EXPECT_EQ(broker.stats().publishes_invalid_subject, 1u);
}

TEST(BrokerDelivery, PublishToAPatternIsInvalidSubject) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.control(raw_frame(0x08, "a.*", bytes_of("x")));
  EXPECT_EQ(client.last_control().error_code(), code(ErrorCode::invalid_subject));
  EXPECT_FALSE(client.transport.closed);
}

TEST(BrokerDelivery, InvalidPatternSubscribeEchoesIdsOpensNoStreamAndContinues) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.subscribe("a.>.b", 8, {.request_id = 3});
  const OwnedFrame error = client.last_control();
  EXPECT_EQ(error.error_code(), code(ErrorCode::invalid_subject));
  EXPECT_EQ(error.integer(PropertyId::request_id), 3u);
  EXPECT_EQ(error.integer(PropertyId::subscription_id), 8u);
  EXPECT_TRUE(client.transport.opened.empty());
  client.subscribe("a.b", 8);  // the id was never taken
  EXPECT_EQ(client.last_control().type, FrameType::ok);
}

TEST(BrokerDelivery, PublishStreamFramesAreRoutedEvenWhenSplitAcrossCalls) {
  Broker broker({});
  Client sub(broker), pub(broker);
  sub.hello();
  sub.subscribe("p.>", 1);
  pub.hello();
  const std::vector<std::uint8_t> bytes =
      concat({publish_frame("p.1", "one"), publish_frame("p.2", "two")});
  for (std::uint8_t byte : bytes)
    pub.on_stream(2, {byte});
  pub.on_stream(2, {}, true);
  EXPECT_EQ(sub.messages(1), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(broker.session_stats(pub.session).publish_streams, 0u);  // ended at FIN
}

TEST(BrokerDelivery, PublishStreamBytesBeforeHelloAreHeldUntilItIsAccepted) {
  Broker broker({});
  Client sub(broker), pub(broker);
  sub.hello();
  sub.subscribe("early", 1);
  pub.on_stream(2, publish_frame("early", "bird"));
  pub.on_stream(6, publish_frame("early", "worm"), true);
  EXPECT_TRUE(sub.messages(1).empty());
  EXPECT_GT(broker.stats().held_publish_bytes, 0u);
  pub.hello();
  auto got = sub.messages(1);
  std::sort(got.begin(), got.end());  // no order is defined between publish streams
  EXPECT_EQ(got, (std::vector<std::string>{"bird", "worm"}));
  EXPECT_EQ(broker.stats().held_publish_bytes, 0u);
  EXPECT_EQ(broker.session_stats(pub.session).publish_streams, 1u);  // stream 2 has no FIN yet
}

TEST(BrokerDelivery, PublishStreamEndedWithFinBeforeHelloIsDeliveredOnceHelloIsAccepted) {
  // What QUIC does with a pipelining client: the whole publish stream, FIN included, arrives
  // before the HELLO, and the stream's QUIC state is closed (the glue says so) right after.
  Broker broker({});
  Client sub(broker), pub(broker);
  sub.hello();
  sub.subscribe("early", 1);
  pub.on_stream(2,
                concat({publish_frame("early", "1"), publish_frame("early", "2"),
                        publish_frame("early", "3")}),
                true);
  broker.on_stream_closed(pub.session, 2, 0);
  EXPECT_TRUE(sub.messages(1).empty());
  pub.hello();
  EXPECT_EQ(sub.messages(1), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_FALSE(pub.transport.closed);
  EXPECT_EQ(broker.stats().held_publish_bytes, 0u);
  EXPECT_EQ(broker.session_stats(pub.session).publish_streams, 0u);
  EXPECT_EQ(broker.stats().messages_in, 3u);
}

TEST(BrokerDelivery, PublishStreamEndedInsideAFrameBeforeHelloIsTruncatedFrameAtHello) {
  Broker broker({});
  Client pub(broker);
  std::vector<std::uint8_t> partial = publish_frame("early", "cut");
  partial.resize(partial.size() - 1);
  pub.on_stream(2, partial, true);
  broker.on_stream_closed(pub.session, 2, 0);
  EXPECT_FALSE(pub.transport.closed);  // nothing is decoded before HELLO
  pub.control(hello_frame());
  EXPECT_TRUE(pub.transport.closed);
  EXPECT_EQ(pub.transport.close_code, code(ErrorCode::truncated_frame));
}

TEST(BrokerDelivery, PublishStreamResetBeforeHelloKeepsItsCompleteFramesAndDropsThePartialOne) {
  Broker broker({});
  Client sub(broker), pub(broker);
  sub.hello();
  sub.subscribe("early", 1);
  std::vector<std::uint8_t> partial = publish_frame("early", "cut");
  partial.resize(partial.size() - 1);
  pub.on_stream(2, concat({publish_frame("early", "whole"), partial}));
  broker.on_stream_reset(pub.session, 2, 0x77);
  broker.on_stream_closed(pub.session, 2, 0x77);
  pub.hello();
  EXPECT_EQ(sub.messages(1), std::vector<std::string>{"whole"});
  EXPECT_FALSE(pub.transport.closed);
  EXPECT_EQ(broker.stats().held_publish_bytes, 0u);
  EXPECT_EQ(broker.session_stats(pub.session).publish_streams, 0u);
}

TEST(BrokerDelivery, PublishStreamsEndedBeforeHelloCountAgainstThePendingLimit) {
  // Each ended stream gives the client its QUIC stream credit back, so what the broker keeps
  // for them must be bounded by something else: the connection's pending bytes.
  BrokerConfig config;
  config.max_pending_bytes_per_connection = 10 * kEndedPublishStreamCost;
  Broker broker(config);
  Client pub(broker);
  for (std::int64_t stream = 2; stream < 2 + 4 * 20 && !pub.transport.closed; stream += 4) {
    pub.on_stream(stream, {}, true);
    if (!pub.transport.closed) broker.on_stream_closed(pub.session, stream, 0);
  }
  EXPECT_TRUE(pub.transport.closed);
  EXPECT_EQ(pub.transport.close_code, code(ErrorCode::pending_limit));
  EXPECT_EQ(broker.stats().held_publish_bytes, 0u);
}

TEST(BrokerDelivery, PublishStreamBytesHeldForARefusedHelloAreNeverRouted) {
  Broker broker({});
  Client sub(broker), pub(broker);
  sub.hello();
  sub.subscribe("early", 1);
  pub.on_stream(2, publish_frame("early", "bird"));
  pub.control(hello_frame(0));
  EXPECT_TRUE(pub.transport.closed);
  EXPECT_TRUE(sub.messages(1).empty());
  EXPECT_EQ(broker.stats().held_publish_bytes, 0u);
}

TEST(BrokerDelivery, PublishStreamResetDiscardsAPartialFrameWithoutError) {
  Broker broker({});
  Client sub(broker), pub(broker);
  sub.hello();
  sub.subscribe("a", 1);
  pub.hello();
  std::vector<std::uint8_t> partial = publish_frame("a", "lost");
  partial.resize(partial.size() - 1);
  pub.on_stream(2, partial);
  broker.on_stream_closed(pub.session, 2, 0);
  EXPECT_FALSE(pub.transport.closed);
  EXPECT_EQ(broker.session_stats(pub.session).publish_streams, 0u);
  pub.on_stream(6, publish_frame("a", "kept"));
  EXPECT_EQ(sub.messages(1), std::vector<std::string>{"kept"});
}

TEST(BrokerDelivery, PublishStreamResetAfterHelloDiscardsOnlyThePartialFrame) {
  Broker broker({});
  Client sub(broker), pub(broker);
  sub.hello();
  sub.subscribe("a", 1);
  pub.hello();
  std::vector<std::uint8_t> partial = publish_frame("a", "lost");
  partial.resize(partial.size() - 1);
  pub.on_stream(2, concat({publish_frame("a", "routed"), partial}));
  broker.on_stream_reset(pub.session, 2, 0x99);
  EXPECT_FALSE(pub.transport.closed);
  EXPECT_EQ(broker.session_stats(pub.session).publish_streams, 0u);
  broker.on_stream_closed(pub.session, 2, 0x99);  // what QUIC says next changes nothing
  EXPECT_EQ(sub.messages(1), std::vector<std::string>{"routed"});
  EXPECT_FALSE(pub.transport.closed);
}

TEST(BrokerDelivery, StopSendingUnsubscribesWithoutAnswerAndResetsTheStreamWithTheClientsCode) {
  Broker broker({});
  Client client(broker);
  client.hello();
  client.subscribe("a", 1);
  client.stall(1);
  client.publish("a", "queued");
  const std::size_t control_frames = client.control_frames().size();
  const std::int64_t stream = client.stream(1);
  broker.on_stream_closed(client.session, stream, 0x1234);
  EXPECT_EQ(client.control_frames().size(), control_frames);  // no OK
  ASSERT_EQ(client.transport.resets.count(stream), 1u);
  EXPECT_EQ(client.transport.resets.find(stream)->second, 0x1234u);  // 6.3: the code is copied
  EXPECT_EQ(broker.stats().subscriptions, 0u);
  EXPECT_EQ(broker.stats().stop_sendings, 1u);
  EXPECT_EQ(broker.stats().discarded_on_close, 1u);
  client.publish("a", "after");
  EXPECT_EQ(broker.stats().messages_unmatched, 1u);
  client.subscribe("a", 1);  // the id is free again
  EXPECT_EQ(client.last_control().type, FrameType::ok);
  expect_all_accounted(broker.stats());
}

TEST(BrokerDelivery, StopSendingSeenOnAWriteAndThenAtCloseUnsubscribesOnce) {
  // The glue may learn of a STOP_SENDING twice: when a write finds the stream shut, then when
  // QUIC closes the stream.
  Broker broker({});
  Client client(broker);
  client.hello();
  client.subscribe("a", 1);
  const std::int64_t stream = client.stream(1);
  broker.on_stream_stopped(client.session, stream, 0);
  broker.on_stream_closed(client.session, stream, 5);
  EXPECT_EQ(client.transport.resets.count(stream), 1u);
  EXPECT_EQ(broker.stats().stop_sendings, 1u);
  EXPECT_EQ(broker.stats().subscriptions, 0u);
  EXPECT_FALSE(client.transport.closed);
}

TEST(BrokerDelivery, SubscriptionWithoutStreamCreditQueuesUntilCreditArrives) {
  Broker broker({});
  Client client(broker);
  client.transport.credit = 0;
  client.hello();
  client.subscribe("a", 1);
  client.subscribe("b", 2);
  EXPECT_EQ(client.last_control().type, FrameType::ok);  // accepted regardless
  client.publish("a", "a1");
  client.publish("b", "b1");
  client.publish("a", "a2");
  EXPECT_TRUE(client.transport.opened.empty());
  EXPECT_EQ(broker.stats().streams_waiting, 2u);
  EXPECT_EQ(broker.stats().queued_messages, 3u);

  client.transport.credit = 1;
  broker.on_streams_available(client.session);
  ASSERT_EQ(client.transport.opened.size(), 1u);
  EXPECT_EQ(client.stream(1), client.transport.opened[0]);  // subscribe order
  EXPECT_EQ(client.messages(1), (std::vector<std::string>{"a1", "a2"}));

  client.transport.credit = 5;
  broker.on_streams_available(client.session);
  EXPECT_EQ(client.messages(2), std::vector<std::string>{"b1"});
  EXPECT_EQ(broker.stats().streams_waiting, 0u);
  EXPECT_EQ(broker.stats().queued_messages, 0u);
  expect_all_accounted(broker.stats());
}

TEST(BrokerDelivery, UnsubscribeBeforeTheStreamOpensStillDeliversWhatWasQueuedThenFin) {
  Broker broker({});
  Client client(broker);
  client.transport.credit = 0;
  client.hello();
  client.subscribe("a", 1);
  client.publish("a", "queued");
  client.unsubscribe(1);
  EXPECT_EQ(client.last_control().type, FrameType::ok);
  client.publish("a", "after");
  client.transport.credit = 1;
  broker.on_streams_available(client.session);
  EXPECT_EQ(client.messages(1), std::vector<std::string>{"queued"});
  EXPECT_TRUE(client.transport.fin_sent(client.stream(1)));
  EXPECT_EQ(broker.session_stats(client.session).ending, 0u);
}

TEST(BrokerDelivery, CloseSessionFreesSubscriptionsQueuesAndRouterEntries) {
  Broker broker({});
  {
    Client client(broker);
    client.hello();
    client.subscribe("a.b.c", 1);
    client.subscribe("x.*", 2);
    client.stall(1);
    client.publish("a.b.c", "stuck");
    EXPECT_EQ(broker.stats().queued_messages, 1u);
  }
  const BrokerStats stats = broker.stats();
  EXPECT_EQ(stats.subscriptions, 0u);
  EXPECT_EQ(stats.router_patterns, 0u);
  EXPECT_EQ(stats.router_nodes, 1u);
  EXPECT_EQ(stats.queued_messages, 0u);
  EXPECT_EQ(stats.queued_bytes, 0u);
  EXPECT_EQ(stats.connections, 0u);
  EXPECT_EQ(stats.discarded_on_close, 1u);
  expect_all_accounted(stats);
}

}  // namespace
}  // namespace flume::broker::test
