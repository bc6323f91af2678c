// Limits against the real flume-broker process: the connection limit under a burst of clients,
// and subscription churn that must leave memory (the broker's and the client's) where it was.
#include <gtest/gtest.h>

#include <iostream>
#include <thread>

#include "broker_process.hpp"

namespace flume::e2e {
namespace {

constexpr int kMaxConnections = 50;

class E2eConnectionLimit : public ::testing::Test {
 protected:
  void SetUp() override {
    raise_fd_limit();
    std::string error;
    ASSERT_TRUE(broker.start(error)) << error;
  }
  BrokerProcess broker{{"--max-connections", std::to_string(kMaxConnections)}};
};

TEST_F(E2eConnectionLimit, BurstUpToTheLimitSucceedsAndOnePastItIsRejectedUntilOneLeaves) {
  std::vector<std::unique_ptr<Client>> clients(kMaxConnections);
  std::vector<std::string> errors(kMaxConnections);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kMaxConnections; ++i) {
      threads.emplace_back([&, i] { clients[i] = connect_client(broker, errors[i]); });
    }
    for (auto &thread : threads)
      thread.join();
  }
  for (int i = 0; i < kMaxConnections; ++i) {
    ASSERT_TRUE(clients[i]) << "client " << i << " of " << kMaxConnections << ": " << errors[i];
  }

  ClientConfig config = trusting(broker);
  ClientResult result;
  auto extra = Client::connect(broker.url(), config, result);
  EXPECT_FALSE(extra);
  EXPECT_EQ(result.status, ClientStatus::rejected) << result.message;
  EXPECT_NE(result.message.find("TOO_MANY_CONNECTIONS"), std::string::npos) << result.message;

  // Everyone admitted is fully served while the broker is full.
  auto subscription = clients[1]->subscribe("limit.check", {}, nullptr, result);
  ASSERT_TRUE(subscription);
  ASSERT_TRUE(clients[1]->flush(5s).ok());
  ASSERT_TRUE(clients[2]->publish("limit.check", bytes("full house")).ok());
  EXPECT_EQ(receive(*subscription, 1, 5s).size(), 1u);

  // One leaves: its place is free again (the broker learns of the close within a round trip;
  // a few attempts cover that).
  clients[0]->close();
  clients[0].reset();
  std::unique_ptr<Client> replacement;
  int attempts = 0;
  const bool admitted = wait_until(
      [&] {
        ++attempts;
        replacement = Client::connect(broker.url(), config, result);
        if (!replacement) std::this_thread::sleep_for(50ms);
        return replacement != nullptr;
      },
      10s);
  EXPECT_TRUE(admitted) << result.message;
  EXPECT_LE(attempts, 3) << "the freed place took long to become available";
}

class E2eChurn : public BrokerTest {};

TEST_F(E2eChurn, SubscribeUnsubscribeChurnLeavesBrokerAndClientMemoryWhereItStarted) {
  // 100,000 subscribe/unsubscribe cycles in batches: subscribe kBatch, flush, drop them all
  // (each destructor unsubscribes), flush. Every cycle costs the broker a router entry and a
  // QUIC stream, and the client a Subscription and an eventfd.
  constexpr int kCycles = 100000;
  constexpr int kBatch = 500;
  constexpr int kWarmup = 4 * kBatch;
  constexpr long kMarginKib = 20 * 1024;

  std::string error;
  auto client = connect_client(broker, error);
  ASSERT_TRUE(client) << error;
  auto run_batch = [&] {
    std::vector<std::shared_ptr<Subscription>> batch;
    batch.reserve(kBatch);
    ClientResult result;
    for (int j = 0; j < kBatch; ++j) {
      batch.push_back(client->subscribe("churn." + std::to_string(j) + ".x", {}, nullptr, result));
      if (!batch.back()) return false;
    }
    if (!client->flush(10s).ok()) return false;
    batch.clear();
    return client->flush(10s).ok();
  };

  for (int done = 0; done < kWarmup; done += kBatch)
    ASSERT_TRUE(run_batch());
  std::this_thread::sleep_for(200ms);
  const std::size_t broker_before = broker.rss_kib();
  const std::size_t self_before = self_rss_kib();

  const auto start = std::chrono::steady_clock::now();
  for (int done = kWarmup; done < kCycles; done += kBatch)
    ASSERT_TRUE(run_batch()) << "batch at cycle " << done;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::this_thread::sleep_for(300ms);
  const std::size_t broker_after = broker.rss_kib();
  const std::size_t self_after = self_rss_kib();
  const long broker_growth = static_cast<long>(broker_after) - static_cast<long>(broker_before);
  const long self_growth = static_cast<long>(self_after) - static_cast<long>(self_before);
  std::cout << "[ churn   ] " << kCycles - kWarmup << " cycles in " << took.count()
            << " ms; broker VmRSS " << broker_before / 1024 << " -> " << broker_after / 1024
            << " MiB (" << broker_growth << " KiB), client VmRSS " << self_before / 1024 << " -> "
            << self_after / 1024 << " MiB (" << self_growth << " KiB)\n";
  RecordProperty("churn_ms", static_cast<int>(took.count()));
  RecordProperty("broker_growth_kib", static_cast<int>(broker_growth));
  RecordProperty("client_growth_kib", static_cast<int>(self_growth));
  EXPECT_LT(broker_growth, kMarginKib);
  EXPECT_LT(self_growth, kMarginKib);

  // The broker still serves, on the churned connection too.
  ClientResult result;
  auto subscription = client->subscribe("churn.after", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(client->flush(5s).ok());
  auto other = connect_client(broker, error);
  ASSERT_TRUE(other) << error;
  ASSERT_TRUE(other->publish("churn.after", bytes("still serving")).ok());
  const auto messages = receive(*subscription, 1, 5s);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(text(messages[0]), "still serving");
}

}  // namespace
}  // namespace flume::e2e
