// Delivery through the real flume-broker process: round trips, wildcard matching, fan-out to many
// connections, and many subscriptions on one connection.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "broker_process.hpp"

namespace flume::e2e {
namespace {

class E2eDelivery : public BrokerTest {};

TEST_F(E2eDelivery, PublishedMessageReachesSubscriberOnAnotherConnection) {
  auto subscriber = connect();
  auto publisher = connect();
  ASSERT_TRUE(subscriber && publisher);
  ClientResult result;
  auto subscription = subscriber->subscribe("orders.eu", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(subscriber->flush(5s).ok());

  ASSERT_TRUE(publisher->publish("orders.eu", bytes("hello over quic")).ok());
  Message message;
  result = subscription->recv(message, 5000ms);
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(message.subject(), "orders.eu");
  EXPECT_EQ(text(message), "hello over quic");
  EXPECT_EQ(message.subscription_id(), subscription->id());
}

TEST_F(E2eDelivery, WildcardSubscriptionsReceiveExactlyTheSubjectsTheyMatch) {
  auto subscriber = connect();
  auto publisher = connect();
  ASSERT_TRUE(subscriber && publisher);
  // docs/protocol.md section 10: `*` is one token, `>` one or more trailing tokens.
  const std::map<std::string, std::vector<std::string>> expected = {
      {"a.*", {"a.b"}},        {"a.>", {"a.b", "a.b.c"}},
      {"*.b", {"a.b", "x.b"}}, {">", {"a.b", "a.b.c", "a", "x.b", "z"}},
      {"a.b", {"a.b"}},        {"a.b.c", {"a.b.c"}},
      {"x.*", {"x.b"}},        {"nothing.>", {}},
  };
  std::map<std::string, std::shared_ptr<Subscription>> subscriptions;
  for (const auto &[pattern, subjects] : expected) {
    ClientResult result;
    subscriptions[pattern] = subscriber->subscribe(pattern, {}, nullptr, result);
    ASSERT_TRUE(subscriptions[pattern]) << pattern << ": " << result.message;
  }
  ASSERT_TRUE(subscriber->flush(5s).ok());

  for (const char *subject : {"a.b", "a.b.c", "a", "x.b", "z"}) {
    ASSERT_TRUE(publisher->publish(subject, bytes(subject)).ok());
  }
  ASSERT_TRUE(publisher->flush(5s).ok());

  for (const auto &[pattern, subjects] : expected) {
    const auto messages = receive(*subscriptions[pattern], subjects.size(), 5s);
    std::vector<std::string> got;
    for (const auto &m : messages) {
      got.emplace_back(m.subject());
      EXPECT_EQ(text(m), m.subject());
    }
    EXPECT_EQ(got, subjects) << "pattern " << pattern;
  }
  // Nothing beyond the matches trickles in later.
  std::this_thread::sleep_for(300ms);
  for (const auto &[pattern, subscription] : subscriptions) {
    EXPECT_EQ(subscription->stats().queued, 0u) << "pattern " << pattern << " got extra messages";
    EXPECT_EQ(subscription->stats().received, expected.at(pattern).size()) << pattern;
  }
}

TEST_F(E2eDelivery, HundredSubscribersOnSeparateConnectionsEachReceiveEveryMessageInOrder) {
  constexpr int kSubscribers = 100;
  constexpr int kMessages = 200;
  std::vector<std::unique_ptr<Client>> clients(kSubscribers);
  std::vector<std::shared_ptr<Subscription>> subscriptions(kSubscribers);
  std::vector<std::string> errors(kSubscribers);
  // Connect in parallel: a burst of handshakes, as when many clients start together.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kSubscribers; i += 4) {
        clients[i] = connect_client(broker, errors[i]);
        if (!clients[i]) continue;
        ClientResult result;
        subscriptions[i] = clients[i]->subscribe("fanout.orders", {}, nullptr, result);
        if (!subscriptions[i]) errors[i] = result.message;
        if (!clients[i]->flush(10s).ok()) errors[i] = "flush failed";
      }
    });
  }
  for (auto &thread : threads)
    thread.join();
  for (int i = 0; i < kSubscribers; ++i) {
    ASSERT_TRUE(clients[i] && subscriptions[i]) << "subscriber " << i << ": " << errors[i];
  }

  auto publisher = connect();
  ASSERT_TRUE(publisher);
  for (int seq = 0; seq < kMessages; ++seq) {
    ASSERT_TRUE(publisher->publish("fanout.orders", make_payload(seq, 64)).ok());
  }
  ASSERT_TRUE(publisher->flush(10s).ok());

  for (int i = 0; i < kSubscribers; ++i) {
    const auto messages = receive(*subscriptions[i], kMessages, 10s);
    ASSERT_EQ(messages.size(), static_cast<std::size_t>(kMessages)) << "subscriber " << i;
    for (int seq = 0; seq < kMessages; ++seq) {
      ASSERT_EQ(payload_sequence(messages[seq].payload()), static_cast<std::uint64_t>(seq))
          << "subscriber " << i << " out of order at " << seq;
    }
    EXPECT_EQ(subscriptions[i]->stats().dropped_by_broker, 0u);
  }
}

TEST_F(E2eDelivery, FiveHundredSubscriptionsOnOneConnectionEachGetOnlyTheirOwnMessages) {
  constexpr int kSubscriptions = 500;
  constexpr int kPerSubject = 3;
  auto subscriber = connect();
  auto publisher = connect();
  ASSERT_TRUE(subscriber && publisher);
  std::vector<std::shared_ptr<Subscription>> subscriptions;
  for (int i = 0; i < kSubscriptions; ++i) {
    ClientResult result;
    subscriptions.push_back(
        subscriber->subscribe("many." + std::to_string(i), {}, nullptr, result));
    ASSERT_TRUE(subscriptions.back()) << result.message;
  }
  ASSERT_TRUE(subscriber->flush(10s).ok());

  for (int round = 0; round < kPerSubject; ++round) {
    for (int i = 0; i < kSubscriptions; ++i) {
      const std::string body = std::to_string(i) + ":" + std::to_string(round);
      ASSERT_TRUE(publisher->publish("many." + std::to_string(i), bytes(body)).ok());
    }
  }
  ASSERT_TRUE(publisher->flush(10s).ok());

  for (int i = 0; i < kSubscriptions; ++i) {
    const auto messages = receive(*subscriptions[i], kPerSubject, 10s);
    ASSERT_EQ(messages.size(), static_cast<std::size_t>(kPerSubject)) << "subscription " << i;
    for (int round = 0; round < kPerSubject; ++round) {
      EXPECT_EQ(messages[round].subject(), "many." + std::to_string(i));
      EXPECT_EQ(text(messages[round]), std::to_string(i) + ":" + std::to_string(round));
    }
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(subscriber->stats().messages_in,
            static_cast<std::uint64_t>(kSubscriptions * kPerSubject));
}

}  // namespace
}  // namespace flume::e2e
