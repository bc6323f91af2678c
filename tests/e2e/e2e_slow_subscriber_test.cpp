// A subscriber that stops reading, against the real flume-broker process: it must not delay anyone
// else (DESIGN.md, "A subscriber that cannot keep up hurts only itself"), the broker's memory must
// stay bounded however much is published at it, and each overflow policy must act as
// docs/protocol.md 8.3 says.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

#include "broker_process.hpp"

namespace flume::e2e {
namespace {

// Latency samples (ms) taken in a message callback: receive time minus the send time in the
// payload, both on this machine's steady clock.
class LatencyRecorder {
 public:
  MessageCallback callback() {
    return [this](const MessageView &message) {
      const double ms = static_cast<double>(now_ns() - payload_sent_ns(message.payload)) / 1e6;
      std::lock_guard lock(mutex_);
      samples_.push_back(ms);
    };
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return samples_.size();
  }
  std::vector<double> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(samples_, {});
  }

 private:
  mutable std::mutex mutex_;
  std::vector<double> samples_;
};

class E2eSlowSubscriber : public BrokerTest {
 protected:
  // A polling subscription whose owner never calls recv(): its local queue fills at once, the
  // client stops returning stream credit, and the rest piles up in the broker.
  static SubscribeOptions stalled(OverflowPolicy policy, std::uint32_t queue_limit,
                                  std::size_t local_queue_limit) {
    SubscribeOptions options;
    options.overflow = policy;
    options.queue_limit = queue_limit;
    options.local_queue_limit = local_queue_limit;
    return options;
  }

  // The broker's total drops from the stats line it prints when it stops.
  static std::uint64_t dropped_in_final_stats(const std::string &output) {
    const auto at = output.rfind("dropped=");
    return at == std::string::npos ? 0 : std::strtoull(output.c_str() + at + 8, nullptr, 10);
  }
};

TEST_F(E2eSlowSubscriber, StalledSubscriberDoesNotDelayOtherSubscribers) {
  constexpr int kMessages = 600;
  constexpr std::size_t kPayload = 4096;
  constexpr auto kInterval = 1500us;

  auto publisher = connect();
  auto fast_a = connect();
  auto fast_b = connect();
  // The stalled subscription shares its connection with a fast one: connection-level flow
  // control must not let the stalled stream starve its neighbour.
  auto shared = connect();
  ASSERT_TRUE(publisher && fast_a && fast_b && shared);
  LatencyRecorder recorders[3];
  std::vector<std::shared_ptr<Subscription>> fast;
  Client *fast_clients[3] = {fast_a.get(), fast_b.get(), shared.get()};
  for (int i = 0; i < 3; ++i) {
    ClientResult result;
    fast.push_back(fast_clients[i]->subscribe("latency.tick", {}, recorders[i].callback(), result));
    ASSERT_TRUE(fast.back()) << result.message;
    ASSERT_TRUE(fast_clients[i]->flush(5s).ok());
  }

  // Publishes at a steady rate and returns every fast subscriber's latency samples.
  auto run_phase = [&](const char *name) {
    auto next = std::chrono::steady_clock::now();
    for (int seq = 0; seq < kMessages; ++seq) {
      std::this_thread::sleep_until(next);
      next += kInterval;
      EXPECT_TRUE(publisher->publish("latency.tick", make_payload(seq, kPayload)).ok());
    }
    EXPECT_TRUE(publisher->flush(10s).ok());
    const bool all = wait_until(
        [&] {
          for (auto &r : recorders) {
            if (r.count() < static_cast<std::size_t>(kMessages)) return false;
          }
          return true;
        },
        10s);
    std::vector<double> samples;
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(recorders[i].count(), static_cast<std::size_t>(kMessages))
          << name << ": fast subscriber " << i << " lost messages";
      auto taken = recorders[i].take();
      samples.insert(samples.end(), taken.begin(), taken.end());
    }
    EXPECT_TRUE(all) << name;
    return samples;
  };

  auto baseline = run_phase("baseline");
  ClientResult result;
  auto stalled_subscription = shared->subscribe(
      "latency.tick", stalled(OverflowPolicy::drop_oldest, 16, 1), nullptr, result);
  ASSERT_TRUE(stalled_subscription) << result.message;
  ASSERT_TRUE(shared->flush(5s).ok());
  auto with_stalled = run_phase("with a stalled subscriber");

  const double base_p50 = quantile(baseline, 0.5);
  const double base_p99 = quantile(baseline, 0.99);
  const double stalled_p50 = quantile(with_stalled, 0.5);
  const double stalled_p99 = quantile(with_stalled, 0.99);
  std::cout << "[ latency ] baseline p50 " << base_p50 << " ms, p99 " << base_p99
            << " ms; with stalled subscriber p50 " << stalled_p50 << " ms, p99 " << stalled_p99
            << " ms; stalled one got " << stalled_subscription->stats().received << " of "
            << kMessages << "\n";
  RecordProperty("baseline_p99_us", static_cast<int>(base_p99 * 1000));
  RecordProperty("stalled_p99_us", static_cast<int>(stalled_p99 * 1000));
  // The stalled subscriber really was stalled (else this test proves nothing)...
  EXPECT_LT(stalled_subscription->stats().received, static_cast<std::uint64_t>(kMessages / 2));
  // ...and the others did not feel it.
  EXPECT_LE(stalled_p99, 3 * base_p99 + 20.0);
}

TEST_F(E2eSlowSubscriber, StalledSubscriberKeepsBrokerMemoryBounded) {
  constexpr std::size_t kPayload = 32 * 1024;
  constexpr std::size_t kPushed = 50u << 20;  // 50 MiB at the stalled subscriber
  constexpr std::size_t kCount = kPushed / kPayload;

  auto publisher = connect();
  auto subscriber = connect();
  ASSERT_TRUE(publisher && subscriber);
  ClientResult result;
  auto subscription = subscriber->subscribe("bulk.data", stalled(OverflowPolicy::drop_oldest, 8, 1),
                                            nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(subscriber->flush(5s).ok());

  // Warm up with 10 MiB (the stream stalls, the allocator has its size classes, ASan's 8 MiB
  // quarantine of freed blocks is full), then measure.
  for (std::size_t i = 0; i < kCount / 5; ++i) {
    ASSERT_TRUE(publisher->publish("bulk.data", make_payload(i, kPayload)).ok());
  }
  ASSERT_TRUE(publisher->flush(10s).ok());
  std::this_thread::sleep_for(300ms);
  const std::size_t before = broker.rss_kib();
  ASSERT_GT(before, 0u);

  const auto start = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < kCount; ++i) {
    ASSERT_TRUE(publisher->publish("bulk.data", make_payload(i, kPayload)).ok());
    // Keep the publisher's own backlog modest; the broker sees the same stream of bytes.
    if (i % 256 == 255) {
      ASSERT_TRUE(publisher->flush(20s).ok());
    }
  }
  ASSERT_TRUE(publisher->flush(20s).ok());
  const auto took = std::chrono::steady_clock::now() - start;
  std::this_thread::sleep_for(300ms);
  const std::size_t after = broker.rss_kib();
  const long growth_kib = static_cast<long>(after) - static_cast<long>(before);
  std::cout << "[ memory  ] broker VmRSS " << before / 1024 << " MiB -> " << after / 1024
            << " MiB (growth " << growth_kib << " KiB) after " << kPushed / (1 << 20)
            << " MiB at a stalled subscriber in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms\n";
  RecordProperty("rss_growth_kib", static_cast<int>(growth_kib));
  EXPECT_LT(growth_kib, static_cast<long>(kPushed / 1024 / 10))
      << "the broker held on to what it could not deliver";
  EXPECT_LT(subscription->stats().received, kCount / 4);

  // Still serving.
  auto probe = connect();
  ASSERT_TRUE(probe);
  auto probe_subscription = probe->subscribe("probe", {}, nullptr, result);
  ASSERT_TRUE(probe_subscription);
  ASSERT_TRUE(probe->flush(5s).ok());
  ASSERT_TRUE(publisher->publish("probe", bytes("alive")).ok());
  EXPECT_EQ(receive(*probe_subscription, 1, 5s).size(), 1u);

  probe.reset();
  publisher.reset();
  subscriber.reset();
  const BrokerExit exit = broker.stop();
  EXPECT_TRUE(exit.exited && exit.code == 0)
      << "exited " << exit.exited << " code " << exit.code << " signal " << exit.signal
      << " needed_kill " << exit.needed_kill << "\n"
      << broker.output();
  EXPECT_GT(dropped_in_final_stats(broker.output()), kCount / 2) << broker.output();
}

// docs/protocol.md 8.3 end to end: 1000 messages of 8 KiB at a subscriber that reads nothing
// until the publisher is done. Its local queue takes 300 (then the client withholds stream
// credit; what is in flight, at most the 2 MiB stream window = ~256 messages, still lands below
// the local cap of 600), 64 KiB waits in the transport, 16 in the broker's queue; the policy
// decides about the rest. Then the subscriber reads everything.
class E2eOverflowPolicy : public E2eSlowSubscriber {
 protected:
  static constexpr std::uint64_t kMessages = 1000;
  static constexpr std::size_t kPayload = 8 * 1024;
  static constexpr std::uint32_t kQueueLimit = 16;
  static constexpr std::size_t kLocalQueue = 300;
  static constexpr std::uint64_t kPrime = 600;

  // First kPrime messages, paced so that nothing overflows yet, until the subscriber's local
  // queue is full and the stall is certain; then the rest as a burst, where the policy decides.
  void publish_all(Subscription &subscription) {
    std::uint64_t seq = 0;
    // Up to the local queue's size, one at a time: each waits until the subscriber has it, so a
    // loaded machine that delays the client's credit cannot overflow the broker's 16 yet.
    for (; seq < kLocalQueue; ++seq) {
      ASSERT_TRUE(publisher->publish("policy.test", make_payload(seq, kPayload)).ok());
      ASSERT_TRUE(wait_until([&] { return subscription.stats().queued > seq; }, 10s))
          << "message " << seq << " did not reach the subscriber";
    }
    for (; seq < kPrime; ++seq) {
      ASSERT_TRUE(publisher->publish("policy.test", make_payload(seq, kPayload)).ok());
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_TRUE(publisher->flush(20s).ok());
    ASSERT_TRUE(wait_until([&] { return subscription.stats().queued >= kLocalQueue; }, 10s))
        << "the subscriber never stalled: " << subscription.stats().queued << " queued";
    std::this_thread::sleep_for(200ms);  // what was in flight lands; the broker's queue fills
    for (; seq < kMessages; ++seq) {
      ASSERT_TRUE(publisher->publish("policy.test", make_payload(seq, kPayload)).ok());
    }
    ASSERT_TRUE(publisher->flush(20s).ok());
    std::this_thread::sleep_for(200ms);
  }

  // Reads until nothing came for `idle` or the subscription ended; returns the sequence numbers.
  std::vector<std::uint64_t> drain(Subscription &subscription, ClientResult &last,
                                   std::chrono::milliseconds idle = 1000ms) {
    std::vector<std::uint64_t> sequences;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::vector<Message> batch;
      last = subscription.recv_batch(batch, 256, idle);
      for (const auto &m : batch)
        sequences.push_back(payload_sequence(m.payload()));
      if (!last.ok()) break;
    }
    return sequences;
  }

  void SetUp() override {
    E2eSlowSubscriber::SetUp();
    if (HasFatalFailure()) return;
    publisher = connect();
    subscriber = connect();
    ASSERT_TRUE(publisher && subscriber);
  }

  std::unique_ptr<Client> publisher;
  std::unique_ptr<Client> subscriber;
};

TEST_F(E2eOverflowPolicy, DropOldestReportsDropsAndKeepsTheNewestMessage) {
  ClientResult result;
  auto subscription = subscriber->subscribe(
      "policy.test", stalled(OverflowPolicy::drop_oldest, kQueueLimit, kLocalQueue), nullptr,
      result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(subscriber->flush(5s).ok());
  publish_all(*subscription);

  const auto sequences = drain(*subscription, result);
  EXPECT_EQ(result.status, ClientStatus::timeout) << result.message;
  ASSERT_FALSE(sequences.empty());
  EXPECT_TRUE(std::is_sorted(sequences.begin(), sequences.end()));
  EXPECT_EQ(std::adjacent_find(sequences.begin(), sequences.end()), sequences.end());
  // The broker's queue holds the newest kQueueLimit when the publisher stops: all of them arrive.
  ASSERT_GE(sequences.size(), kQueueLimit);
  for (std::uint64_t i = 0; i < kQueueLimit; ++i) {
    EXPECT_EQ(sequences[sequences.size() - kQueueLimit + i], kMessages - kQueueLimit + i)
        << "drop_oldest must keep the newest messages";
  }
  EXPECT_EQ(sequences.front(), 0u) << "the first message went out before anything stalled";
  const SubscriptionStats stats = subscription->stats();
  EXPECT_GT(stats.dropped_by_broker, 0u);
  EXPECT_EQ(stats.dropped_locally, 0u);
  // Every message was either delivered or reported dropped by the broker: no silent loss.
  EXPECT_EQ(sequences.size() + stats.dropped_by_broker, kMessages);
  std::cout << "[ policy  ] drop_oldest: received " << sequences.size() << ", broker dropped "
            << stats.dropped_by_broker << "\n";
}

TEST_F(E2eOverflowPolicy, DropNewestReportsDropsAndKeepsTheOldestMessages) {
  ClientResult result;
  auto subscription = subscriber->subscribe(
      "policy.test", stalled(OverflowPolicy::drop_newest, kQueueLimit, kLocalQueue), nullptr,
      result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(subscriber->flush(5s).ok());
  publish_all(*subscription);

  const auto sequences = drain(*subscription, result);
  EXPECT_EQ(result.status, ClientStatus::timeout) << result.message;
  ASSERT_FALSE(sequences.empty());
  EXPECT_TRUE(std::is_sorted(sequences.begin(), sequences.end()));
  EXPECT_EQ(std::adjacent_find(sequences.begin(), sequences.end()), sequences.end());
  // The oldest survive and the newest are refused. (A gap in the middle is allowed: while the
  // subscriber still read, the publisher could briefly outrun it and fill the queue.)
  EXPECT_EQ(sequences.front(), 0u) << "drop_newest must keep the oldest message";
  EXPECT_LT(sequences.back(), kMessages - kQueueLimit)
      << "drop_newest must refuse the newest messages once the subscriber stalls";
  const SubscriptionStats stats = subscription->stats();
  EXPECT_GT(stats.dropped_by_broker, 0u);
  EXPECT_EQ(stats.dropped_locally, 0u);
  EXPECT_EQ(sequences.size() + stats.dropped_by_broker, kMessages);
  std::cout << "[ policy  ] drop_newest: received " << sequences.size() << ", broker dropped "
            << stats.dropped_by_broker << "\n";
}

TEST_F(E2eOverflowPolicy, CloseEndsTheSubscriptionWithSlowConsumerAndSparesTheConnection) {
  ClientResult result;
  auto subscription = subscriber->subscribe(
      "policy.test", stalled(OverflowPolicy::close, kQueueLimit, kLocalQueue), nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  auto neighbour = subscriber->subscribe("policy.neighbour", {}, nullptr, result);
  ASSERT_TRUE(neighbour) << result.message;
  ASSERT_TRUE(subscriber->flush(5s).ok());
  publish_all(*subscription);

  const auto sequences = drain(*subscription, result, 5000ms);
  EXPECT_EQ(result.status, ClientStatus::closed) << result.message;
  EXPECT_NE(result.message.find("SLOW_CONSUMER"), std::string::npos) << result.message;
  EXPECT_TRUE(subscription->ended());
  EXPECT_LT(sequences.size(), kMessages);
  EXPECT_TRUE(std::is_sorted(sequences.begin(), sequences.end()));

  // Only that subscription ended: the connection and its other subscription carry on.
  ASSERT_TRUE(publisher->publish("policy.neighbour", bytes("still here")).ok());
  const auto messages = receive(*neighbour, 1, 5s);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(text(messages[0]), "still here");
  EXPECT_TRUE(subscriber->stats().connected);
}

}  // namespace
}  // namespace flume::e2e
