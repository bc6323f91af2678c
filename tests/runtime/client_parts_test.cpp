// The threaded client's parts on their own, without a network: the request queue and its
// back-pressure, the flush tracker, stream credit, and the runner that carries requests into a
// session (an in-memory one here).
#include <gtest/gtest.h>

#include <thread>

#include "client_engine/outbound_frames.hpp"
#include "client_engine/session.hpp"
#include "runtime/client_flushes.hpp"
#include "runtime/client_request_runner.hpp"
#include "runtime/client_requests.hpp"
#include "runtime/client_stream_credit.hpp"
#include "runtime/client_subscriptions.hpp"

namespace flume {
namespace {

using namespace std::chrono_literals;

client_engine::EncodedPublish publish_frame(std::size_t payload_size) {
  SubjectError error = SubjectError::ok;
  auto subject = CheckedSubject::check("bulk", error);
  EXPECT_TRUE(subject.has_value());
  const std::vector<std::uint8_t> payload(payload_size, 0x5a);
  return client_engine::encode_publish(*subject, payload, kHardMaxPayload);
}

// --- RequestQueue ---

TEST(RequestQueue, BurstOfRequestsAsksForOneWakeUpUntilTheLoopTakesThem) {
  RequestQueue queue(1 << 20);
  queue.set_open(true);
  bool wake = false;
  ASSERT_TRUE(queue.push_publish(publish_frame(10), 0ms, false, wake).ok());
  EXPECT_TRUE(wake);
  ASSERT_TRUE(queue.push({ClientRequest::Kind::flush, {}, 1}, wake));
  EXPECT_FALSE(wake);
  ASSERT_TRUE(queue.push_publish(publish_frame(10), 0ms, false, wake).ok());
  EXPECT_FALSE(wake);
  const auto taken = queue.take();
  ASSERT_EQ(taken.size(), 3u);
  EXPECT_EQ(taken[1].kind, ClientRequest::Kind::flush);  // in call order
  ASSERT_TRUE(queue.push({ClientRequest::Kind::flush, {}, 2}, wake));
  EXPECT_TRUE(wake);
}

TEST(RequestQueue, PublishBeyondMaxPendingBytesFailsAtOnceWhenItCannotWait) {
  RequestQueue queue(100);
  queue.set_open(true);
  bool wake = false;
  ASSERT_TRUE(queue.push_publish(publish_frame(80), 0ms, false, wake).ok());
  ClientResult full = queue.push_publish(publish_frame(80), 0ms, false, wake);
  EXPECT_EQ(full.status, ClientStatus::timeout);
  EXPECT_NE(full.message.find("max_pending_bytes is 100"), std::string::npos) << full.message;
  // On the loop thread (a message callback) it never waits, whatever the timeout.
  const auto start = std::chrono::steady_clock::now();
  ClientResult on_loop = queue.push_publish(publish_frame(80), 5000ms, true, wake);
  EXPECT_EQ(on_loop.status, ClientStatus::timeout);
  EXPECT_NE(on_loop.message.find("cannot wait"), std::string::npos) << on_loop.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
}

TEST(RequestQueue, MessageBiggerThanTheLimitIsTakenWhenNothingElseWaits) {
  RequestQueue queue(100);
  queue.set_open(true);
  bool wake = false;
  EXPECT_TRUE(queue.push_publish(publish_frame(500), 0ms, false, wake).ok());
}

TEST(RequestQueue, WaitingPublisherGetsInOnceQuicHasSentTheBytes) {
  RequestQueue queue(100);
  queue.set_open(true);
  bool wake = false;
  ASSERT_TRUE(queue.push_publish(publish_frame(80), 0ms, false, wake).ok());
  (void)queue.take();    // on the connection now, unsent
  queue.set_unsent(90);  // QUIC still holds them
  std::thread loop([&] {
    std::this_thread::sleep_for(50ms);
    queue.set_unsent(0);  // acknowledged
  });
  ClientResult result = queue.push_publish(publish_frame(80), 5000ms, false, wake);
  loop.join();
  EXPECT_TRUE(result.ok()) << result.message;
}

TEST(RequestQueue, PublishWhileReconnectingOrClosedIsRefusedWithTheReason) {
  RequestQueue queue(1 << 20);
  bool wake = false;
  EXPECT_EQ(queue.push_publish(publish_frame(1), 0ms, false, wake).status,
            ClientStatus::not_connected);
  queue.set_open(true);
  queue.close();
  EXPECT_EQ(queue.push_publish(publish_frame(1), 0ms, false, wake).status, ClientStatus::closed);
  EXPECT_FALSE(queue.push({ClientRequest::Kind::flush, {}, 1}, wake));
  EXPECT_TRUE(queue.take().empty());
}

TEST(RequestQueue, ClosingWakesAPublisherWaitingForRoom) {
  RequestQueue queue(100);
  queue.set_open(true);
  bool wake = false;
  ASSERT_TRUE(queue.push_publish(publish_frame(80), 0ms, false, wake).ok());
  std::thread closer([&] {
    std::this_thread::sleep_for(50ms);
    queue.close();
  });
  const auto start = std::chrono::steady_clock::now();
  ClientResult result = queue.push_publish(publish_frame(80), 10000ms, false, wake);
  closer.join();
  EXPECT_EQ(result.status, ClientStatus::closed) << result.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5000ms);
}

// --- FlushTracker ---

TEST(FlushTracker, PongFinishesTheFlushItsPingCarried) {
  FlushTracker flushes;
  const auto id = flushes.begin();
  ASSERT_TRUE(id);
  flushes.sent(42, *id);
  flushes.answered(41);  // someone else's
  flushes.answered(42);
  EXPECT_TRUE(flushes.wait(*id, 0ms).ok());
}

TEST(FlushTracker, FlushesInFlightFailWhenTheConnectionIsLost) {
  FlushTracker flushes;
  const auto id = flushes.begin();
  flushes.sent(1, *id);
  flushes.fail_all({ClientStatus::not_connected, "the connection was lost"});
  EXPECT_EQ(flushes.wait(*id, 0ms).status, ClientStatus::not_connected);
  flushes.answered(1);  // a late PONG finds nothing
}

TEST(FlushTracker, ResultOfAnAbandonedFlushIsNotKept) {
  FlushTracker flushes;
  const auto id = flushes.begin();
  flushes.sent(1, *id);
  EXPECT_EQ(flushes.wait(*id, 1ms).status, ClientStatus::timeout);
  flushes.answered(1);
  EXPECT_EQ(flushes.wait(*id, 0ms).status, ClientStatus::timeout);  // nothing was stored
}

TEST(FlushTracker, ClosedTrackerRefusesNewFlushesAndWakesWaiters) {
  FlushTracker flushes;
  const auto id = flushes.begin();
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    flushes.close();
  });
  EXPECT_EQ(flushes.wait(*id, 10000ms).status, ClientStatus::closed);
  closer.join();
  EXPECT_FALSE(flushes.begin());
}

// --- StreamCredit ---

TEST(StreamCredit, CreditIsHeldWhileTheQueueIsFullAndReturnedOnRelease) {
  StreamCredit credit;
  credit.delivered_on(7, 3);
  EXPECT_EQ(credit.received(3, 100), 100u);  // not held: consumed at once
  credit.hold(3);
  EXPECT_EQ(credit.received(3, 40), 0u);
  EXPECT_EQ(credit.received(3, 60), 0u);
  EXPECT_EQ(credit.received(11, 5), 5u);  // another stream is not affected
  const auto owed = credit.release(7);
  ASSERT_TRUE(owed);
  EXPECT_EQ(owed->stream_id, 3);
  EXPECT_EQ(owed->bytes, 100u);
  EXPECT_FALSE(credit.release(7));  // given back once
  EXPECT_EQ(credit.received(3, 10), 10u);
}

TEST(StreamCredit, ClosedStreamOwesNothing) {
  StreamCredit credit;
  credit.delivered_on(7, 3);
  credit.hold(3);
  (void)credit.received(3, 50);
  credit.stream_closed(3);
  EXPECT_FALSE(credit.release(7));
}

// --- RequestRunner ---

struct RecordingTransport final : client_engine::SessionTransport {
  std::vector<SharedBuffer> sent;
  void send(std::int64_t, SharedBuffer bytes, bool) override { sent.push_back(std::move(bytes)); }
  void stop_sending(std::int64_t, std::uint64_t) override {}
  void close(std::uint64_t, std::string_view) override {}
};

struct IgnoringEvents final : client_engine::SessionEvents {
  void on_ready(const client_engine::ServerInfo &) override {}
  void on_message(const client_engine::Delivery &) override {}
  void on_dropped(std::uint32_t, std::uint64_t) override {}
  void on_subscribe_result(std::uint32_t, ErrorCode, std::string_view, std::uint32_t) override {}
  void on_unsubscribed(std::uint32_t, ErrorCode, std::string_view) override {}
  void on_subscription_ended(std::uint32_t, ErrorCode, std::string_view) override {}
  void on_pong(std::uint64_t) override {}
  void on_error(ErrorCode, std::string_view) override {}
  void on_session_failed(ErrorCode, std::string_view) override {}
};

class RequestRunnerTest : public ::testing::Test {
 protected:
  std::vector<ClientRequest> publishes(int n) {
    std::vector<ClientRequest> requests;
    for (int i = 0; i < n; ++i)
      requests.push_back({ClientRequest::Kind::publish, publish_frame(16), 0});
    return requests;
  }

  SubscriptionRegistry subscriptions;
  FlushTracker flushes;
  ClientCounters counters;
  SessionLink link;  // no connection
  RequestRunner runner{subscriptions, flushes, counters, link};
  RecordingTransport transport;
  IgnoringEvents events;
  client_engine::Session session{{}, transport, events};
};

TEST_F(RequestRunnerTest, PublishesSentThroughTheSessionAreNotCountedAsUnsent) {
  ASSERT_TRUE(session.start());
  transport.sent.clear();
  auto requests = publishes(2);
  runner.run(requests, &session);
  EXPECT_EQ(transport.sent.size(), 2u);
  EXPECT_EQ(counters.snapshot().publishes_unsent, 0u);
}

TEST_F(RequestRunnerTest, PublishesWithoutASessionAreCountedAsUnsent) {
  auto requests = publishes(3);
  runner.run(requests, nullptr);  // the connection was lost after publish() accepted them
  EXPECT_EQ(counters.snapshot().publishes_unsent, 3u);
}

TEST_F(RequestRunnerTest, PublishTheSessionRefusesIsCountedAsUnsent) {
  ASSERT_TRUE(session.start());
  ASSERT_TRUE(session.close());  // closing: the session refuses to send
  const std::size_t sent = transport.sent.size();
  auto requests = publishes(1);
  runner.run(requests, &session);
  EXPECT_EQ(transport.sent.size(), sent);
  EXPECT_EQ(counters.snapshot().publishes_unsent, 1u);
}

TEST_F(RequestRunnerTest, SubscribeAlreadySentByResubscribeIsNotARefusal) {
  std::shared_ptr<ClientCore> no_client;  // the registry only stores it for the subscription
  auto subscription = subscriptions.add(no_client, "orders.>", SubscribeOptions{}, nullptr);
  ASSERT_TRUE(subscription);
  ASSERT_TRUE(session.start());
  runner.resubscribe(session,
                     std::nullopt);  // the session became ready while the request was queued
  std::vector<ClientRequest> requests{{ClientRequest::Kind::subscribe, {}, subscription->id()}};
  runner.run(requests, &session);
  EXPECT_FALSE(subscription->ended());
  subscriptions.end_all(ClientStatus::closed, "test over");  // before ~Subscription unsubscribes
}

TEST_F(RequestRunnerTest, FlushWithoutASessionFailsAtOnceAsNotConnected) {
  const auto id = flushes.begin();
  std::vector<ClientRequest> requests{{ClientRequest::Kind::flush, {}, *id}};
  runner.run(requests, nullptr);
  EXPECT_EQ(flushes.wait(*id, 0ms).status, ClientStatus::not_connected);
}

}  // namespace
}  // namespace flume
