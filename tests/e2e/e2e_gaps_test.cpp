// Nothing lost without a word: every message carries its sequence in the subscription, drops
// show as jumps (and, asked for, as gap items in their place), and a subscription made again
// after a lost connection says so. Against the real flume-broker process, killed, stopped and
// restarted while messages flow; what arrived and what was reported missing must add up to
// what was published.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "broker_process.hpp"

namespace flume::e2e {
namespace {

SubscribeOptions reporting_gaps() {
  SubscribeOptions options;
  options.report_gaps = true;
  return options;
}

// What a subscription's items say, checked against the publisher's own numbering (the u64 at
// the front of each payload, from 0).
struct Account {
  std::uint64_t messages = 0;         // data items received
  std::uint64_t counted_missing = 0;  // the gap items' dropped_by_broker + dropped_locally
  std::uint64_t resubscribed_gaps = 0;
  std::uint64_t last_published = 0;  // payload number of the last message received
  std::chrono::milliseconds disconnected{0};
};

// Walks `items` (in order) and checks every rule a subscription's order promises: payload
// numbers only grow; a gap follows a gap only where recv took the first (then it stands after
// what the first counts); between two messages with no gap item between
// them the sequence grows by exactly 1 and the payload number too (nothing vanished unreported);
// a gap that counts n drops (and no resubscription) stands for exactly n missing messages.
// Without gap items (`gap_items` false) a jump in the sequence must be the jump in the numbers.
Account check_order(const std::vector<Message> &items, bool gap_items = true) {
  Account account;
  std::optional<Gap> pending;      // a gap item since the last message
  std::uint64_t last_gap_end = 0;  // the last gap item's sequence plus what it counts
  std::optional<std::uint64_t> previous_sequence, previous_number;
  for (const Message &item : items) {
    if (item.is_gap()) {
      Gap gap = item.gap();
      EXPECT_TRUE(gap.resubscribed || gap.counted() > 0) << "a gap item that reports nothing";
      // A gap's sequence is that of the message before it; a gap straight after another (one
      // recv already took is not merged into) stands after what the first counts.
      const std::uint64_t before = pending ? last_gap_end : previous_sequence.value_or(0);
      EXPECT_EQ(item.sequence(), before) << "a gap's sequence is that of the message before it";
      last_gap_end = item.sequence() + gap.counted();
      EXPECT_TRUE(item.subject().empty());
      account.counted_missing += gap.counted();
      account.resubscribed_gaps += gap.resubscribed ? 1 : 0;
      account.disconnected += gap.disconnected;
      // A gap already taken by recv is not merged into: the next may follow it directly.
      if (pending) gap.merge(*pending);
      pending = gap;
      continue;
    }
    const std::uint64_t number = payload_sequence(item.payload());
    if (previous_sequence && !gap_items) {
      EXPECT_EQ(item.sequence() - *previous_sequence, number - *previous_number)
          << "message " << number << " after message " << *previous_number;
    } else if (previous_sequence) {
      const Gap gap = pending.value_or(Gap{});
      // The broker counted its drops: the sequence jumps by exactly that many, resubscribed or not
      // (a new connection's messages go on counting where the old one stopped).
      EXPECT_EQ(item.sequence(), *previous_sequence + 1 + gap.counted())
          << "message " << number << " after message " << *previous_number;
      if (gap.resubscribed) {
        EXPECT_GT(number, *previous_number) << "out of order across a resubscription";
      } else {
        EXPECT_EQ(number, *previous_number + 1 + gap.counted())
            << "messages vanished (or were counted wrongly) after message " << *previous_number;
      }
    }
    previous_sequence = item.sequence();
    previous_number = number;
    account.last_published = number;
    ++account.messages;
    pending.reset();
  }
  return account;
}

// Receives until `done` holds for the items so far or nothing came for `quiet`, at most `limit`.
std::vector<Message> drain(Subscription &subscription, std::chrono::milliseconds quiet,
                           std::chrono::milliseconds limit) {
  std::vector<Message> items;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::size_t before = items.size();
    const ClientResult result = subscription.recv_batch(items, 4096, quiet);
    if (result.status == ClientStatus::closed || items.size() == before) break;
  }
  return items;
}

ClientConfig quick_reconnect(const BrokerProcess &broker) {
  ClientConfig config = trusting(broker);
  config.reconnect_min = 50ms;
  config.reconnect_max = 250ms;
  return config;
}

class E2eGaps : public BrokerTest {};

TEST_F(E2eGaps, EveryMessageIsNumberedFromOneInItsSubscription) {
  auto client = connect();
  ASSERT_TRUE(client);
  ClientResult result;
  auto subscription = client->subscribe("numbered.>", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(client->flush(5s).ok());
  for (std::uint64_t i = 0; i < 300; ++i)
    ASSERT_TRUE(client->publish("numbered.x", make_payload(i)).ok());
  const auto items = receive(*subscription, 300, 10s);
  ASSERT_EQ(items.size(), 300u);
  for (std::size_t i = 0; i < items.size(); ++i) {
    ASSERT_FALSE(items[i].is_gap());
    ASSERT_EQ(items[i].sequence(), i + 1);
  }
  EXPECT_EQ(subscription->stats().last_sequence, 300u);
}

TEST_F(E2eGaps, CallbackMessagesAreNumberedToo) {
  auto client = connect();
  ASSERT_TRUE(client);
  std::atomic<std::uint64_t> in_order{0};
  std::atomic<bool> wrong{false};
  ClientResult result;
  auto subscription = client->subscribe(
      "numbered.cb", {},
      [&](const MessageView &message) {
        if (message.gap != nullptr || message.sequence != in_order + 1) wrong = true;
        ++in_order;
      },
      result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(client->flush(5s).ok());
  for (std::uint64_t i = 0; i < 200; ++i)
    ASSERT_TRUE(client->publish("numbered.cb", make_payload(i)).ok());
  EXPECT_TRUE(wait_until([&] { return in_order == 200; }, 10s));
  EXPECT_FALSE(wrong);
}

// The broker drops for a subscriber that stopped reading. Without report_gaps the drops show only
// as jumps in the sequence; with it, as gap items exactly where the messages are missing.
void broker_drops_add_up(Client &client, bool report_gaps, OverflowPolicy policy) {
  SubscribeOptions options;
  options.report_gaps = report_gaps;
  options.overflow = policy;
  options.queue_limit = 16;
  options.local_queue_limit = 16;
  ClientResult result;
  auto subscription = client.subscribe("drops.x", options, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(client.flush(5s).ok());
  constexpr std::uint64_t kPublished = 3000;
  for (std::uint64_t i = 0; i < kPublished; ++i)
    ASSERT_TRUE(client.publish("drops.x", make_payload(i, 1024)).ok());
  ASSERT_TRUE(client.flush(10s).ok());

  const auto items = drain(*subscription, 500ms, 20s);
  const Account account = check_order(items, report_gaps);
  const SubscriptionStats stats = subscription->stats();
  EXPECT_GT(stats.dropped_by_broker + stats.dropped_locally, 0u)
      << "nothing dropped: nothing tested";
  EXPECT_EQ(stats.resubscribed, 0u);
  if (report_gaps) {
    EXPECT_EQ(account.counted_missing, stats.dropped_by_broker + stats.dropped_locally);
  } else {
    for (const Message &item : items)
      ASSERT_FALSE(item.is_gap()) << "a gap item nobody asked for";
  }
  // Every published message was routed to this subscription: the last sequence number, plus
  // drops after the last message received (drop_newest), is what was published.
  const std::uint64_t after_last = kPublished - 1 - account.last_published;
  EXPECT_EQ(stats.last_sequence + after_last, kPublished);
  EXPECT_EQ(account.messages + stats.dropped_by_broker + stats.dropped_locally, kPublished)
      << "received " << account.messages << ", dropped " << stats.dropped_by_broker << " + "
      << stats.dropped_locally;
}

TEST_F(E2eGaps, BrokerDropsShowAsSequenceJumpsThatAddUpToWhatWasPublished) {
  auto client = connect();
  ASSERT_TRUE(client);
  broker_drops_add_up(*client, false, OverflowPolicy::drop_oldest);
}

TEST_F(E2eGaps, BrokerDropsComeAsGapItemsWhereTheMessagesAreMissing) {
  auto client = connect();
  ASSERT_TRUE(client);
  broker_drops_add_up(*client, true, OverflowPolicy::drop_oldest);
}

TEST_F(E2eGaps, DropNewestGapsStandAfterTheMessagesKept) {
  auto client = connect();
  ASSERT_TRUE(client);
  broker_drops_add_up(*client, true, OverflowPolicy::drop_newest);
}

// Publishes numbered messages on its own thread until stopped, riding out a lost connection:
// a publish refused while reconnecting is retried (it was never sent), so the numbers the
// subscriber misses are only those lost with the connection.
class NumberedPublisher {
 public:
  NumberedPublisher(Client &client, std::string subject)
      : client_(client), subject_(std::move(subject)), thread_([this] { run(); }) {}
  ~NumberedPublisher() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::uint64_t published() const { return next_; }
  std::uint64_t refused_while_down() const { return refused_; }

 private:
  void run() {
    while (!stop_) {
      const ClientResult result = client_.publish(subject_, make_payload(next_));
      if (result.ok()) {
        ++next_;
      } else {
        ++refused_;
        std::this_thread::sleep_for(5ms);  // reconnecting: the same number again shortly
        continue;
      }
      if (next_ % 64 == 0) std::this_thread::sleep_for(1ms);  // ~50k msg/s, not flat out
    }
  }

  Client &client_;
  std::string subject_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> next_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::thread thread_;
};

// The broker goes away while messages flow (`crash`: SIGKILL, else SIGTERM) and comes back on
// the same port and data directory. The subscriber's items: every message before and after, in
// order, and one resubscribed gap (with the time it was without a connection) where the rest
// went; the messages missing are exactly those published around the outage.
void outage_is_one_reported_gap(bool crash) {
  TempDir data;
  auto first = std::make_unique<BrokerProcess>(std::vector<std::string>{}, 0, data.path());
  std::string error;
  ASSERT_TRUE(first->start(error)) << error;
  const ClientConfig config = quick_reconnect(*first);
  auto subscriber = connect_client(*first, error, &config);
  auto publisher = connect_client(*first, error, &config);
  ASSERT_TRUE(subscriber && publisher) << error;
  ClientResult result;
  auto subscription = subscriber->subscribe("flow.>", reporting_gaps(), nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(subscriber->flush(5s).ok());

  std::vector<Message> items;
  NumberedPublisher flow(*publisher, "flow.numbered");
  ASSERT_TRUE(wait_until([&] { return flow.published() > 5000; }, 10s));
  if (crash) {
    first->kill();
  } else {
    const BrokerExit exit = first->stop();
    EXPECT_TRUE(exit.exited && exit.code == 0) << first->output();
  }
  BrokerProcess second({}, first->port(), data.path());
  ASSERT_TRUE(second.start(error)) << error;
  const bool back = wait_until(
      [&] {
        (void)subscription->recv_batch(items, 4096, 0ms);  // keep reading meanwhile
        return subscription->stats().resubscribed >= 1 && publisher->stats().connected;
      },
      10s);
  ASSERT_TRUE(back) << "no resubscription within 10 s";
  const std::uint64_t at_resubscribe = flow.published();
  ASSERT_TRUE(wait_until([&] { return flow.published() > at_resubscribe + 5000; }, 10s));
  flow.stop();
  ASSERT_TRUE(publisher->flush(5s).ok());
  const auto rest = drain(*subscription, 500ms, 20s);
  items.insert(items.end(), rest.begin(), rest.end());

  const Account account = check_order(items);
  const SubscriptionStats stats = subscription->stats();
  std::cout << "[ outage ] " << (crash ? "SIGKILL" : "SIGTERM") << ": published "
            << flow.published() << ", received " << account.messages << ", counted drops "
            << account.counted_missing << ", missed around the outage "
            << flow.published() - account.messages - account.counted_missing << ", disconnected "
            << account.disconnected.count() << " ms, publishes refused while down "
            << flow.refused_while_down() << "\n";
  EXPECT_EQ(stats.resubscribed, 1u);
  EXPECT_EQ(account.resubscribed_gaps, 1u) << "the resubscription was not reported as a gap";
  EXPECT_GT(account.disconnected.count(), 0);
  EXPECT_LT(account.disconnected.count(), 10000);
  // Everything published after the subscription was back arrived, up to the last number.
  EXPECT_EQ(account.last_published + 1, flow.published());
  EXPECT_EQ(account.counted_missing, stats.dropped_by_broker + stats.dropped_locally);
}

TEST(E2eGapsOutage, BrokerKilledAndRestartedWhileMessagesFlowIsOneReportedGap) {
  raise_fd_limit();
  outage_is_one_reported_gap(true);
}

TEST(E2eGapsOutage, BrokerRestartedGracefullyWhileMessagesFlowIsOneReportedGap) {
  raise_fd_limit();
  outage_is_one_reported_gap(false);
}

// A broker paused (SIGSTOP) for longer than the keep-alive but less than the idle timeout keeps
// its connections: no resubscription, QUIC sends again what went unacknowledged, and whatever the
// broker's queue could not hold once it woke up is counted, so the numbers add up.
TEST_F(E2eGaps, BrokerPausedForTwoSecondsLosesNothingUncounted) {
  auto subscriber = connect();
  auto publisher = connect();
  ASSERT_TRUE(subscriber && publisher);
  ClientResult result;
  auto subscription = subscriber->subscribe("paused.>", reporting_gaps(), nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(subscriber->flush(5s).ok());

  std::vector<Message> items;
  NumberedPublisher flow(*publisher, "paused.numbered");
  ASSERT_TRUE(wait_until([&] { return flow.published() > 2000; }, 10s));
  broker.signal(SIGSTOP);
  const auto stopped_at = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < stopped_at + 2s) {
    (void)subscription->recv_batch(items, 4096, 100ms);
  }
  broker.signal(SIGCONT);
  const std::uint64_t at_resume = flow.published();
  ASSERT_TRUE(wait_until([&] { return flow.published() > at_resume + 2000; }, 20s));
  flow.stop();
  ASSERT_TRUE(publisher->flush(10s).ok());
  const auto rest = drain(*subscription, 500ms, 20s);
  items.insert(items.end(), rest.begin(), rest.end());

  const Account account = check_order(items);
  const SubscriptionStats stats = subscription->stats();
  const std::uint64_t dropped = stats.dropped_by_broker + stats.dropped_locally;
  std::cout << "[ paused ] published " << flow.published() << ", received " << account.messages
            << ", dropped " << dropped << "\n";
  EXPECT_EQ(stats.resubscribed, 0u);
  EXPECT_EQ(account.resubscribed_gaps, 0u);
  // Drops are allowed (the broker's queue may fill while it catches up) but must be counted.
  EXPECT_EQ(account.messages + dropped, flow.published());
}

}  // namespace
}  // namespace flume::e2e
