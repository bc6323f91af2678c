// Clients, subscriptions, messages and the embedded broker through libflume.so, over real QUIC
// on 127.0.0.1. Built with the sanitizers, these also prove the ownership rules: no leak and no
// use after free when a client is closed before its subscriptions, or a handler is dropped while
// a call runs.
#include <fcntl.h>
#include <flume/flume.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "capi_client_fixtures.hpp"

namespace {

using namespace std::chrono_literals;

// --- round trips ---

TEST(CApiClient, PolledMessageArrivesWithSubjectPayloadAndId) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription *subscription = subscribe(client, "orders.*");
  ASSERT_EQ(publish(client, "orders.eu", "hello"), FLUME_OK) << flume_last_error();
  flume_message *message = nullptr;
  ASSERT_EQ(flume_subscription_recv(&message, subscription, 3000), FLUME_OK) << flume_last_error();
  EXPECT_EQ(subject_of(message), "orders.eu");
  EXPECT_EQ(payload_of(message), "hello");
  EXPECT_NE(flume_subscription_id(subscription), 0u);
  EXPECT_EQ(flume_message_subscription_id(message), flume_subscription_id(subscription));
  flume_message_free(message);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClient, HandlerGetsMessagesOnTheLoopThreadAndIsDroppedOnceOnFree) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  Recorder recorder;
  const flume_message_handler handler = recorder.handler();
  flume_subscription *subscription = subscribe(client, "a.>", &handler);
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(publish(client, "a.b", std::to_string(i).c_str()), FLUME_OK);
  ASSERT_TRUE(recorder.wait_for_calls(10));
  EXPECT_NE(recorder.call_thread, std::this_thread::get_id());
  EXPECT_EQ(recorder.payloads.front(), "0");
  EXPECT_EQ(recorder.payloads.back(), "9");
  EXPECT_EQ(recorder.dropped(), 0);
  flume_subscription_free(subscription);
  EXPECT_EQ(recorder.wait_for_drop(), 1);
  ASSERT_EQ(publish(client, "a.b", "late"), FLUME_OK);
  ASSERT_EQ(flume_client_flush(client, 3000), FLUME_OK);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
  EXPECT_EQ(recorder.dropped(), 1);
  EXPECT_EQ(recorder.calls(), 10u);
  EXPECT_FALSE(recorder.call_after_drop);
}

TEST(CApiClient, DropWaitsForTheCallThatIsRunning) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  struct Blocking {
    std::mutex mutex;
    std::condition_variable changed;
    bool in_call = false, release = false, returned = false, dropped = false;
    bool dropped_before_return = false;
  } state;
  flume_message_handler handler{&state,
                                [](void *context, const flume_message_view *) {
                                  auto *s = static_cast<Blocking *>(context);
                                  std::unique_lock lock(s->mutex);
                                  s->in_call = true;
                                  s->changed.notify_all();
                                  s->changed.wait(lock, [&] { return s->release; });
                                  s->returned = true;
                                },
                                [](void *context) {
                                  auto *s = static_cast<Blocking *>(context);
                                  std::lock_guard lock(s->mutex);
                                  s->dropped_before_return = !s->returned;
                                  s->dropped = true;
                                  s->changed.notify_all();
                                }};
  flume_subscription *subscription = subscribe(client, "slow", &handler);
  ASSERT_EQ(publish(client, "slow", "x"), FLUME_OK);
  {
    std::unique_lock lock(state.mutex);
    ASSERT_TRUE(state.changed.wait_for(lock, 5s, [&] { return state.in_call; }));
  }
  flume_subscription_free(subscription);  // returns while the call still runs
  {
    std::unique_lock lock(state.mutex);
    EXPECT_FALSE(state.dropped);
    state.release = true;
    state.changed.notify_all();
    ASSERT_TRUE(state.changed.wait_for(lock, 5s, [&] { return state.dropped; }));
    EXPECT_FALSE(state.dropped_before_return);
  }
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClient, HandlerMayFreeItsOwnSubscriptionAndDropFollowsTheCall) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  struct Self {
    std::atomic<flume_subscription *> subscription{nullptr};
    std::atomic<int> calls{0}, drops{0};
    std::atomic<bool> dropped_on_loop_thread{false};
    std::thread::id main_thread = std::this_thread::get_id();
  } self;
  flume_message_handler handler{&self,
                                [](void *context, const flume_message_view *) {
                                  auto *s = static_cast<Self *>(context);
                                  ++s->calls;
                                  flume_subscription_free(s->subscription.exchange(nullptr));
                                },
                                [](void *context) {
                                  auto *s = static_cast<Self *>(context);
                                  s->dropped_on_loop_thread =
                                      std::this_thread::get_id() != s->main_thread;
                                  ++s->drops;
                                }};
  flume_subscription *subscription = nullptr;
  ASSERT_EQ(flume_client_subscribe(&subscription, client, "once", 4, nullptr, &handler), FLUME_OK);
  self.subscription = subscription;
  ASSERT_EQ(flume_client_flush(client, 3000), FLUME_OK);
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(publish(client, "once", "x"), FLUME_OK);
  ASSERT_EQ(flume_client_flush(client, 3000), FLUME_OK);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (self.drops == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(self.calls, 1);
  EXPECT_EQ(self.drops, 1);
  EXPECT_TRUE(self.dropped_on_loop_thread);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
  EXPECT_EQ(self.drops, 1);
}

TEST(CApiClient, HandlerCopiesAMessageToKeepIt) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  struct Keeper {
    std::atomic<flume_message *> kept{nullptr};
  } keeper;
  flume_message_handler handler{&keeper,
                                [](void *context, const flume_message_view *view) {
                                  flume_message *copy = nullptr;
                                  if (flume_message_copy(&copy, view) == FLUME_OK) {
                                    static_cast<Keeper *>(context)->kept = copy;
                                  }
                                },
                                nullptr};
  flume_subscription *subscription = subscribe(client, "keep", &handler);
  ASSERT_EQ(publish(client, "keep", "this"), FLUME_OK);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (keeper.kept == nullptr && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_NE(keeper.kept.load(), nullptr);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
  EXPECT_EQ(subject_of(keeper.kept), "keep");
  EXPECT_EQ(payload_of(keeper.kept), "this");
  flume_message_free(keeper.kept);
}

TEST(CApiClient, BatchReceiveTakesManyInOrderAndFreesThemTogether) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription *subscription = subscribe(client, "seq");
  constexpr int kCount = 500;
  for (int i = 0; i < kCount; ++i)
    ASSERT_EQ(publish(client, "seq", std::to_string(i).c_str()), FLUME_OK);
  std::vector<std::string> received;
  flume_message *batch[64];
  std::size_t batches = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (received.size() < kCount && std::chrono::steady_clock::now() < deadline) {
    size_t count = 0;
    int rc = flume_subscription_recv_batch(batch, 64, &count, subscription, 1000);
    if (rc != FLUME_OK) continue;
    ++batches;
    ASSERT_GE(count, 1u);
    ASSERT_LE(count, 64u);
    flume_message_view views[64];
    ASSERT_EQ(flume_message_views(views, sizeof(flume_message_view), batch, count), FLUME_OK);
    for (size_t i = 0; i < count; ++i) {
      ASSERT_EQ(std::string(views[i].subject, views[i].subject_length), "seq");
      received.emplace_back(reinterpret_cast<const char *>(views[i].payload),
                            views[i].payload_length);
    }
    // Freed out of order: the first now, the rest with the batch call.
    flume_message_free(batch[0]);
    batch[0] = nullptr;
    flume_message_free_batch(batch, count);
  }
  ASSERT_EQ(received.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i)
    ASSERT_EQ(received[static_cast<std::size_t>(i)], std::to_string(i));
  EXPECT_LT(batches, static_cast<std::size_t>(kCount));  // several per call at least once
  size_t count = 99;
  EXPECT_EQ(flume_subscription_recv_batch(batch, 0, &count, subscription, 0), FLUME_EINVAL);
  EXPECT_EQ(count, 0u);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClient, FdIsReadableWhileMessagesWaitAndAfterTheEnd) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription *subscription = subscribe(client, "fd");
  const int fd = flume_subscription_fd(subscription);
  ASSERT_GE(fd, 0) << flume_last_error();
  EXPECT_FALSE(readable(fd, 0));
  ASSERT_EQ(publish(client, "fd", "1"), FLUME_OK);
  ASSERT_EQ(publish(client, "fd", "2"), FLUME_OK);
  ASSERT_TRUE(readable(fd, 3000));
  ASSERT_EQ(flume_client_flush(client, 3000), FLUME_OK);
  std::this_thread::sleep_for(50ms);  // both delivered
  flume_message *message = nullptr;
  ASSERT_EQ(flume_subscription_recv(&message, subscription, 0), FLUME_OK);
  flume_message_free(message);
  EXPECT_TRUE(readable(fd, 0)) << "one message still waits";
  ASSERT_EQ(flume_subscription_recv(&message, subscription, 0), FLUME_OK);
  flume_message_free(message);
  EXPECT_FALSE(readable(fd, 0)) << "drained";
  ASSERT_EQ(flume_subscription_unsubscribe(subscription), FLUME_OK);
  EXPECT_TRUE(readable(fd, 0)) << "ended";
  EXPECT_EQ(flume_subscription_fd(nullptr), FLUME_EINVAL);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClient, NoMessageYetIsEagainWhateverTheTimeout) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription *subscription = subscribe(client, "quiet");
  flume_message *message = reinterpret_cast<flume_message *>(0x1);
  EXPECT_EQ(flume_subscription_recv(&message, subscription, 0), FLUME_EAGAIN);
  EXPECT_EQ(message, nullptr);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(flume_subscription_recv(&message, subscription, 100), FLUME_EAGAIN);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 90ms);
  EXPECT_STRNE(flume_last_error(), "");
  EXPECT_EQ(flume_subscription_recv(&message, subscription, FLUME_NO_WAIT), FLUME_EAGAIN);
  flume_message *batch[4];
  size_t count = 9;
  EXPECT_EQ(flume_subscription_recv_batch(batch, 4, &count, subscription, 50), FLUME_EAGAIN);
  EXPECT_EQ(count, 0u);
  // Negative timeouts other than FLUME_WAIT_FOREVER and FLUME_NO_WAIT are a caller's mistake.
  EXPECT_EQ(flume_subscription_recv(&message, subscription, -3), FLUME_EINVAL);
  EXPECT_EQ(flume_client_flush(client, -3), FLUME_EINVAL);
  EXPECT_EQ(flume_subscription_wait_ready(subscription, -3), FLUME_EINVAL);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClient, UnsubscribeStopsDeliveryAndDropsTheHandler) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription *polled = subscribe(client, "u");
  Recorder recorder;
  const flume_message_handler handler = recorder.handler();
  flume_subscription *called = subscribe(client, "u", &handler);
  ASSERT_EQ(publish(client, "u", "before"), FLUME_OK);
  ASSERT_TRUE(recorder.wait_for_calls(1));

  ASSERT_EQ(flume_subscription_unsubscribe(polled), FLUME_OK);
  ASSERT_EQ(flume_subscription_unsubscribe(called), FLUME_OK);
  EXPECT_EQ(recorder.wait_for_drop(), 1);
  EXPECT_EQ(flume_subscription_unsubscribe(called), FLUME_OK);  // idempotent
  ASSERT_EQ(publish(client, "u", "after"), FLUME_OK);
  ASSERT_EQ(flume_client_flush(client, 3000), FLUME_OK);
  std::this_thread::sleep_for(50ms);

  flume_message *message = nullptr;
  ASSERT_EQ(flume_subscription_recv(&message, polled, 1000), FLUME_OK) << "queued before";
  EXPECT_EQ(payload_of(message), "before");
  flume_message_free(message);
  EXPECT_EQ(flume_subscription_recv(&message, polled, 1000), FLUME_ECLOSED);
  EXPECT_TRUE(contains(flume_last_error(), "unsubscribed")) << flume_last_error();
  flume_subscription_stats stats = FLUME_SUBSCRIPTION_STATS_INIT;
  ASSERT_EQ(flume_subscription_get_stats(&stats, polled), FLUME_OK);
  EXPECT_EQ(stats.received, 1u);
  EXPECT_EQ(stats.state, FLUME_SUBSCRIPTION_ENDED);
  EXPECT_EQ(recorder.calls(), 1u);

  flume_subscription_free(polled);
  flume_subscription_free(called);
  EXPECT_EQ(recorder.dropped(), 1);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClient, SlowConsumerWithPolicyCloseEndsWithTheBrokersReason) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription_options options = FLUME_SUBSCRIPTION_OPTIONS_INIT;
  options.overflow_policy = FLUME_OVERFLOW_CLOSE;
  options.queue_limit = 1;
  options.local_queue_limit = 1;
  flume_subscription *subscription = subscribe(client, "flood", nullptr, &options);
  // Nobody receives: the local queue fills, its stream credit is held back, the broker's queue
  // of 1 overflows and policy close ends the subscription. The broker's ERROR travels behind the
  // messages already on the stream, so the client learns the reason once it reads its backlog.
  const std::string payload(4096, 'x');
  int rc = FLUME_OK;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (broker.stats().dropped_slow_consumer == 0 && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 256; ++i)
      ASSERT_EQ(publish(client, "flood", payload.c_str()), FLUME_OK);
    ASSERT_EQ(flume_client_flush(client, 3000), FLUME_OK);
  }
  ASSERT_GT(broker.stats().dropped_slow_consumer, 0u);
  std::size_t drained = 0;
  flume_message *batch[64];
  size_t count = 0;
  while ((rc = flume_subscription_recv_batch(batch, 64, &count, subscription, 1000)) == FLUME_OK) {
    drained += count;
    flume_message_free_batch(batch, count);
  }
  EXPECT_EQ(rc, FLUME_ECLOSED);
  EXPECT_TRUE(contains(flume_last_error(), "SLOW_CONSUMER")) << flume_last_error();
  EXPECT_GT(drained, 0u);
  EXPECT_GT(broker.stats().dropped_slow_consumer, 0u);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClient, EveryDropRunsOnceAfterTheLastCallUnderConcurrentDelivery) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  constexpr int kSubscriptions = 16;
  std::vector<std::unique_ptr<Recorder>> recorders;
  std::vector<flume_subscription *> subscriptions;
  for (int i = 0; i < kSubscriptions; ++i) {
    recorders.push_back(std::make_unique<Recorder>());
    const flume_message_handler handler = recorders.back()->handler();
    subscriptions.push_back(subscribe(client, "busy", &handler));
  }
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    while (!stop)
      (void)publish(client, "busy", "m");
  });
  for (int i = 0; i < kSubscriptions; ++i) {
    ASSERT_TRUE(recorders[static_cast<std::size_t>(i)]->wait_for_calls(1));
    // Half are unsubscribed first, half freed directly, all while messages keep coming.
    if (i % 2 == 0) {
      EXPECT_EQ(flume_subscription_unsubscribe(subscriptions[static_cast<std::size_t>(i)]),
                FLUME_OK);
    }
    flume_subscription_free(subscriptions[static_cast<std::size_t>(i)]);
  }
  stop = true;
  publisher.join();
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
  for (auto &recorder : recorders) {
    EXPECT_EQ(recorder->wait_for_drop(), 1);
    EXPECT_FALSE(recorder->call_after_drop);
  }
}

// --- validation ---

TEST(CApiClient, ValidationErrorsSayWhatIsWrong) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(publish(client, "a..b", "x"), FLUME_EINVALID_SUBJECT);
  EXPECT_TRUE(contains(flume_last_error(), "a..b")) << flume_last_error();
  EXPECT_EQ(publish(client, "a.*", "x"), FLUME_EINVALID_SUBJECT);

  const uint32_t limit = flume_client_max_payload(client);
  EXPECT_EQ(limit, FLUME_DEFAULT_MAX_PAYLOAD);
  std::vector<uint8_t> big(limit + 1);
  EXPECT_EQ(flume_client_publish(client, "a", 1, big.data(), big.size()), FLUME_EPAYLOAD_TOO_LARGE);
  EXPECT_TRUE(contains(flume_last_error(), "max_payload")) << flume_last_error();
  EXPECT_EQ(flume_client_publish(client, "a", 1, big.data(), limit), FLUME_OK);
  EXPECT_EQ(flume_client_publish(client, "a", 1, nullptr, 3), FLUME_EINVAL);
  EXPECT_EQ(flume_client_publish(nullptr, "a", 1, nullptr, 0), FLUME_EINVAL);

  flume_subscription *subscription = reinterpret_cast<flume_subscription *>(0x1);
  EXPECT_EQ(flume_client_subscribe(&subscription, client, "a.>.b", 5, nullptr, nullptr),
            FLUME_EINVALID_PATTERN);
  EXPECT_EQ(subscription, nullptr);
  EXPECT_TRUE(contains(flume_last_error(), "'>' must be the last token")) << flume_last_error();
  EXPECT_EQ(flume_client_subscribe(&subscription, client, "", 0, nullptr, nullptr),
            FLUME_EINVALID_PATTERN);

  int drops = 0;
  flume_message_handler no_call{&drops, nullptr, [](void *c) { ++*static_cast<int *>(c); }};
  EXPECT_EQ(flume_client_subscribe(&subscription, client, "a", 1, nullptr, &no_call), FLUME_EINVAL);
  flume_message_handler refused{&drops, [](void *, const flume_message_view *) {},
                                [](void *c) { ++*static_cast<int *>(c); }};
  EXPECT_EQ(flume_client_subscribe(&subscription, client, "a..b", 4, nullptr, &refused),
            FLUME_EINVALID_PATTERN);
  EXPECT_EQ(drops, 0) << "a failed subscribe never calls drop: the caller keeps its context";

  flume_subscription_options options = FLUME_SUBSCRIPTION_OPTIONS_INIT;
  options.overflow_policy = 9;
  EXPECT_EQ(flume_client_subscribe(&subscription, client, "a", 1, &options, nullptr), FLUME_EINVAL);
  EXPECT_TRUE(contains(flume_last_error(), "overflow_policy")) << flume_last_error();

  // A handler subscription cannot be polled.
  flume_message_handler handler{&drops, [](void *, const flume_message_view *) {}, nullptr};
  ASSERT_EQ(flume_client_subscribe(&subscription, client, "h", 1, nullptr, &handler), FLUME_OK);
  flume_message *message = nullptr;
  EXPECT_EQ(flume_subscription_recv(&message, subscription, 0), FLUME_EINVAL);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

// --- subscribing: the broker's answer ---

TEST(CApiClient, WaitReadyReportsAcceptanceAndTheGrantedQueueLimit) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription_options options = FLUME_SUBSCRIPTION_OPTIONS_INIT;
  options.queue_limit = 10;
  flume_subscription *asked = nullptr;
  ASSERT_EQ(flume_client_subscribe(&asked, client, "ready.a", 7, &options, nullptr), FLUME_OK);
  flume_subscription *plain = nullptr;
  ASSERT_EQ(flume_client_subscribe(&plain, client, "ready.b", 7, nullptr, nullptr), FLUME_OK);
  options.queue_limit = 10000000;  // more than the broker allows (65536)
  flume_subscription *greedy = nullptr;
  ASSERT_EQ(flume_client_subscribe(&greedy, client, "ready.c", 7, &options, nullptr), FLUME_OK);

  EXPECT_EQ(flume_subscription_wait_ready(asked, 3000), FLUME_OK) << flume_last_error();
  EXPECT_EQ(flume_subscription_wait_ready(plain, FLUME_WAIT_FOREVER), FLUME_OK);
  EXPECT_EQ(flume_subscription_wait_ready(greedy, 3000), FLUME_OK);
  EXPECT_EQ(flume_subscription_wait_ready(asked, FLUME_NO_WAIT), FLUME_OK) << "answered already";
  flume_subscription_stats stats;
  ASSERT_EQ(flume_subscription_stats_init(&stats, sizeof stats), FLUME_OK);
  ASSERT_EQ(flume_subscription_get_stats(&stats, asked), FLUME_OK);
  EXPECT_EQ(stats.state, FLUME_SUBSCRIPTION_ACTIVE);
  EXPECT_EQ(stats.queue_limit, 10u);
  ASSERT_EQ(flume_subscription_get_stats(&stats, plain), FLUME_OK);
  EXPECT_EQ(stats.queue_limit, 1024u) << "the embedded broker's default queue_limit";
  ASSERT_EQ(flume_subscription_get_stats(&stats, greedy), FLUME_OK);
  EXPECT_EQ(stats.queue_limit, 65536u) << "granted less than asked";

  ASSERT_EQ(flume_subscription_unsubscribe(asked), FLUME_OK);
  ASSERT_EQ(flume_subscription_get_stats(&stats, asked), FLUME_OK);
  EXPECT_EQ(stats.state, FLUME_SUBSCRIPTION_ENDED);
  EXPECT_EQ(flume_subscription_wait_ready(asked, 0), FLUME_OK) << "it was accepted, then ended";
  flume_subscription_free(asked);
  flume_subscription_free(plain);
  flume_subscription_free(greedy);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClient, RefusedSubscriptionIsRejectedWithTheBrokersReason) {
  flume_broker_options broker_options = FLUME_BROKER_OPTIONS_INIT;
  broker_options.max_subscriptions = 1;
  Broker broker(broker_options);
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription *first = subscribe(client, "one");
  flume_subscription *second = nullptr;
  ASSERT_EQ(flume_client_subscribe(&second, client, "two", 3, nullptr, nullptr), FLUME_OK);
  EXPECT_EQ(flume_subscription_wait_ready(second, 3000), FLUME_EREJECTED);
  EXPECT_TRUE(contains(flume_last_error(), "refused")) << flume_last_error();
  EXPECT_TRUE(contains(flume_last_error(), "max_subscriptions")) << flume_last_error();
  flume_subscription_stats stats = FLUME_SUBSCRIPTION_STATS_INIT;
  ASSERT_EQ(flume_subscription_get_stats(&stats, second), FLUME_OK);
  EXPECT_EQ(stats.state, FLUME_SUBSCRIPTION_ENDED);
  EXPECT_EQ(stats.queue_limit, 0u);
  flume_message *message = nullptr;
  EXPECT_EQ(flume_subscription_recv(&message, second, 0), FLUME_ECLOSED);
  EXPECT_TRUE(contains(flume_last_error(), "refused")) << flume_last_error();
  EXPECT_EQ(flume_subscription_wait_ready(first, 0), FLUME_OK);
  flume_subscription_free(second);

  // Unsubscribed before any answer could come: it ended unanswered, or the answer (here a
  // refusal: the limit is still 1) won the race with the unsubscribe. Never left waiting.
  flume_subscription *third = nullptr;
  ASSERT_EQ(flume_client_subscribe(&third, client, "three", 5, nullptr, nullptr), FLUME_OK);
  ASSERT_EQ(flume_subscription_unsubscribe(third), FLUME_OK);
  const int rc = flume_subscription_wait_ready(third, 3000);
  EXPECT_TRUE(rc == FLUME_ECLOSED || rc == FLUME_OK || rc == FLUME_EREJECTED)
      << flume_error_name(rc);
  flume_subscription_free(third);
  flume_subscription_free(first);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClient, StatsKeepTheHighWaterMarkOfTheLocalQueue) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription *subscription = subscribe(client, "hw");
  for (int i = 0; i < 5; ++i)
    ASSERT_EQ(publish(client, "hw", "x"), FLUME_OK);
  ASSERT_EQ(flume_client_flush(client, 3000), FLUME_OK);
  flume_subscription_stats stats = FLUME_SUBSCRIPTION_STATS_INIT;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  do {
    ASSERT_EQ(flume_subscription_get_stats(&stats, subscription), FLUME_OK);
  } while (stats.queued < 5 && std::chrono::steady_clock::now() < deadline);
  flume_message *batch[8];
  size_t count = 0;
  ASSERT_EQ(flume_subscription_recv_batch(batch, 8, &count, subscription, 0), FLUME_OK);
  EXPECT_EQ(count, 5u);
  flume_message_free_batch(batch, count);
  ASSERT_EQ(flume_subscription_get_stats(&stats, subscription), FLUME_OK);
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.queued_high_water, 5u);
  EXPECT_EQ(stats.received, 5u);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

// --- option structs: zero means the default ---

// A zeroed struct (struct_size set) is the default configuration, reconnecting included: before
// 1.0.0 a zeroed `reconnect` turned reconnecting off.
TEST(CApiClient, ZeroedClientOptionsReconnectAfterTheBrokerComesBack) {
  std::string templ = (std::filesystem::temp_directory_path() / "flume-capi-XXXXXX").string();
  const std::string dir = mkdtemp(templ.data());
  flume_broker_options broker_options = FLUME_BROKER_OPTIONS_INIT;
  broker_options.data_dir = dir.c_str();
  flume_broker *broker = nullptr;
  ASSERT_EQ(flume_broker_start(&broker, &broker_options), FLUME_OK) << flume_last_error();
  const std::string address = flume_broker_address(broker);
  const std::string cert = flume_broker_certificate_path(broker);

  flume_client_options options;
  std::memset(&options, 0, sizeof options);
  options.struct_size = sizeof options;
  options.ca_file = cert.c_str();
  options.reconnect_max_ms = 200;  // keep the test short; everything else is zero
  flume_client *client = nullptr;
  ASSERT_EQ(flume_client_connect(&client, ("flume://" + address).c_str(), &options), FLUME_OK)
      << flume_last_error();
  flume_subscription *subscription = subscribe(client, "back");

  flume_broker_stop(broker);
  broker_options.listen = address.c_str();  // the same port, the same certificate
  ASSERT_EQ(flume_broker_start(&broker, &broker_options), FLUME_OK) << flume_last_error();
  flume_client_stats stats = FLUME_CLIENT_STATS_INIT;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    std::this_thread::sleep_for(20ms);
    ASSERT_EQ(flume_client_get_stats(&stats, client), FLUME_OK);
  } while ((stats.reconnects == 0 || stats.connected == 0) &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(stats.reconnects, 1u);
  ASSERT_EQ(flume_client_flush(client, 3000), FLUME_OK) << flume_last_error();
  ASSERT_EQ(publish(client, "back", "again"), FLUME_OK) << flume_last_error();
  flume_message *message = nullptr;
  ASSERT_EQ(flume_subscription_recv(&message, subscription, 3000), FLUME_OK)
      << "subscribed again: " << flume_last_error();
  EXPECT_EQ(payload_of(message), "again");
  flume_message_free(message);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
  flume_broker_stop(broker);
  std::filesystem::remove_all(dir);
}

TEST(CApiClient, OptionValuesOutsideTheirConventionAreEinval) {
  Broker broker;
  flume_client *client = nullptr;
  flume_client_options options = trusting(broker);
  options.connect_timeout_ms = FLUME_NO_WAIT;
  EXPECT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_EINVAL);
  options = trusting(broker);
  options.publish_timeout_ms = -3;
  EXPECT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_EINVAL);
  options = trusting(broker);
  options.reconnect_min_ms = -1;
  EXPECT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_EINVAL);
  options = trusting(broker);
  options.keep_alive_ms = 99;  // a PING more often than every 100 ms is a mistake
  EXPECT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_EINVAL);
  options.keep_alive_ms = FLUME_NO_WAIT;
  EXPECT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_EINVAL);
  EXPECT_EQ(client, nullptr);
  options.keep_alive_ms = FLUME_WAIT_FOREVER;  // none: valid
  ASSERT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_OK)
      << flume_last_error();
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
  client = nullptr;
  flume_broker_options broker_options = FLUME_BROKER_OPTIONS_INIT;
  broker_options.shutdown_grace_ms = -3;
  flume_broker *other = nullptr;
  EXPECT_EQ(flume_broker_start(&other, &broker_options), FLUME_EINVAL);
  EXPECT_EQ(other, nullptr);
}

TEST(CApiClient, StructSizeTooSmallIsEoptions) {
  Broker broker;
  flume_client *client = reinterpret_cast<flume_client *>(0x1);
  flume_client_options client_options = trusting(broker);
  client_options.struct_size = sizeof(size_t);
  EXPECT_EQ(flume_client_connect(&client, broker.url().c_str(), &client_options), FLUME_EOPTIONS);
  EXPECT_EQ(client, nullptr);
  EXPECT_TRUE(contains(flume_last_error(), "flume_client_options")) << flume_last_error();

  flume_broker_options broker_options = FLUME_BROKER_OPTIONS_INIT;
  broker_options.struct_size = offsetof(flume_broker_options, max_pending_bytes);
  flume_broker *other = nullptr;
  EXPECT_EQ(flume_broker_start(&other, &broker_options), FLUME_EOPTIONS);
  EXPECT_EQ(other, nullptr);

  client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription_options options = FLUME_SUBSCRIPTION_OPTIONS_INIT;
  options.struct_size = 4;
  flume_subscription *subscription = nullptr;
  EXPECT_EQ(flume_client_subscribe(&subscription, client, "a", 1, &options, nullptr),
            FLUME_EOPTIONS);

  flume_client_stats client_stats = FLUME_CLIENT_STATS_INIT;
  client_stats.struct_size = 8;
  EXPECT_EQ(flume_client_get_stats(&client_stats, client), FLUME_EOPTIONS);
  flume_broker_stats broker_stats = FLUME_BROKER_STATS_INIT;
  broker_stats.struct_size = offsetof(flume_broker_stats, queued_bytes);
  EXPECT_EQ(flume_broker_get_stats(&broker_stats, broker.get()), FLUME_EOPTIONS);
  subscription = subscribe(client, "s");
  flume_subscription_stats subscription_stats = FLUME_SUBSCRIPTION_STATS_INIT;
  subscription_stats.struct_size = 0;
  EXPECT_EQ(flume_subscription_get_stats(&subscription_stats, subscription), FLUME_EOPTIONS);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClient, StatsStructOfVersion1_0_0GetsItsFieldsAndNothingAppendedAfter) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(publish(client, "s", "x"), FLUME_OK);
  // A caller built against 1.0.0's header: its struct ends after `connected`.
  flume_client_stats stats = FLUME_CLIENT_STATS_INIT;
  stats.struct_size = offsetof(flume_client_stats, connected) + sizeof stats.connected;
  stats.publishes_unsent = 0xABABABABu;  // stands for memory the caller does not own
  ASSERT_EQ(flume_client_get_stats(&stats, client), FLUME_OK) << flume_last_error();
  EXPECT_EQ(stats.messages_out, 1u);
  EXPECT_EQ(stats.publishes_unsent, 0xABABABABu);
  // The current struct gets the appended counter: nothing was left unsent.
  flume_client_stats current = FLUME_CLIENT_STATS_INIT;
  current.publishes_unsent = 7;
  ASSERT_EQ(flume_client_get_stats(&current, client), FLUME_OK) << flume_last_error();
  EXPECT_EQ(current.publishes_unsent, 0u);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

// --- connecting ---

TEST(CApiConnect, NobodyListeningIsUnreachableAndFast) {
  flume_client_options options = FLUME_CLIENT_OPTIONS_INIT;
  options.insecure = 1;
  options.connect_timeout_ms = 2000;
  flume_client *client = reinterpret_cast<flume_client *>(0x1);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(flume_client_connect(&client, "flume://127.0.0.1:9", &options), FLUME_EUNREACHABLE)
      << flume_last_error();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
  EXPECT_EQ(client, nullptr);
  EXPECT_STRNE(flume_last_error(), "");
}

// Out of file descriptors, connecting fails with FLUME_EIO and a message that says so, whether
// the event loop or the UDP socket could not be made (never FLUME_EUNREACHABLE: the broker is not
// to blame). The sanitizers' runtimes need descriptors of their own, so this runs in the GCC
// dev-release build only (as Runtime.SubscribingWithoutAFileDescriptorLeftFailsAndSaysWhy).
TEST(CApiConnect, OutOfFileDescriptorsIsEioAndSaysSo) {
#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
  GTEST_SKIP() << "needs free file descriptors under the sanitizers";
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "needs free file descriptors under the sanitizers";
#endif
  flume_client_options options = FLUME_CLIENT_OPTIONS_INIT;
  options.insecure = 1;
  options.connect_timeout_ms = 2000;
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  for (int spare = 0; spare <= 6; ++spare) {
    rlimit low = saved;
    low.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 4096);
    setrlimit(RLIMIT_NOFILE, &low);
    std::vector<int> held;
    for (int i = 0; i < 4096; ++i) {  // bounded: the limit is at most 4096
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      held.push_back(fd);
    }
    for (int i = 0; i < spare && !held.empty(); ++i) {
      ::close(held.back());
      held.pop_back();
    }
    flume_client *client = nullptr;
    const int rc = flume_client_connect(&client, "flume://127.0.0.1:9", &options);
    const std::string message = flume_last_error();
    for (int fd : held)
      ::close(fd);
    setrlimit(RLIMIT_NOFILE, &saved);
    EXPECT_EQ(client, nullptr);
    if (rc != FLUME_EIO) {  // got as far as the network: nobody listens on port 9
      EXPECT_EQ(rc, FLUME_EUNREACHABLE) << spare << ": " << message;
      EXPECT_GT(spare, 0);
      break;
    }
    EXPECT_TRUE(contains(message.c_str(), "out of file descriptors")) << message;
  }
}

TEST(CApiConnect, BadUrlIsEinval) {
  flume_client *client = nullptr;
  EXPECT_EQ(flume_client_connect(&client, "http://example.com", nullptr), FLUME_EINVAL);
  EXPECT_TRUE(contains(flume_last_error(), "scheme")) << flume_last_error();
  EXPECT_EQ(flume_client_connect(&client, nullptr, nullptr), FLUME_EINVAL);
  EXPECT_EQ(flume_client_connect(nullptr, "flume://127.0.0.1", nullptr), FLUME_EINVAL);
}

TEST(CApiConnect, UntrustedBrokerIsEtlsAndTheMessageNamesTheCertificate) {
  Broker broker;
  flume_client_options options = FLUME_CLIENT_OPTIONS_INIT;
  options.ca_file = "/etc/ssl/certs/ca-certificates.crt";  // public CAs, not this broker
  options.connect_timeout_ms = 3000;
  flume_client *client = nullptr;
  EXPECT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_ETLS);
  EXPECT_TRUE(contains(flume_last_error(), "certificate")) << flume_last_error();
  EXPECT_EQ(client, nullptr);
}

TEST(CApiConnect, PinnedFingerprintConnectsOnlyWhenItMatches) {
  Broker broker;
  const std::string right = flume_broker_fingerprint(broker.get());
  ASSERT_GT(right.size(), 64u) << right;
  flume_client_options options = FLUME_CLIENT_OPTIONS_INIT;
  options.pin_sha256 = right.c_str();
  options.connect_timeout_ms = 3000;
  flume_client *client = nullptr;
  ASSERT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_OK)
      << flume_last_error();
  EXPECT_EQ(flume_client_close(client), FLUME_OK);

  std::string wrong = right;
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  options.pin_sha256 = wrong.c_str();
  client = nullptr;
  EXPECT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_ETLS);
  EXPECT_STRNE(flume_last_error(), "");
  EXPECT_EQ(client, nullptr);
}

TEST(CApiConnect, TwoWaysToTrustAreRefused) {
  Broker broker;
  flume_client_options options = trusting(broker);
  options.insecure = 1;
  flume_client *client = nullptr;
  EXPECT_EQ(flume_client_connect(&client, broker.url().c_str(), &options), FLUME_EINVAL);
  EXPECT_TRUE(contains(flume_last_error(), "choose one")) << flume_last_error();
  EXPECT_EQ(client, nullptr);
}

// --- closing ---

TEST(CApiClose, SubscriptionsOutliveTheirClosedClient) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription *polled = subscribe(client, "c");
  Recorder recorder;
  const flume_message_handler handler = recorder.handler();
  flume_subscription *called = subscribe(client, "c", &handler);
  ASSERT_EQ(publish(client, "c", "queued"), FLUME_OK);
  ASSERT_TRUE(recorder.wait_for_calls(1));
  ASSERT_EQ(flume_client_flush(client, 3000), FLUME_OK);
  std::this_thread::sleep_for(50ms);

  EXPECT_EQ(flume_client_close(client), FLUME_OK);
  EXPECT_EQ(recorder.dropped(), 1) << "every drop has run when close returns";

  flume_message *message = nullptr;
  ASSERT_EQ(flume_subscription_recv(&message, polled, 1000), FLUME_OK) << flume_last_error();
  EXPECT_EQ(payload_of(message), "queued");
  flume_message *none = reinterpret_cast<flume_message *>(0x1);
  EXPECT_EQ(flume_subscription_recv(&none, polled, -1), FLUME_ECLOSED);
  EXPECT_EQ(none, nullptr);
  EXPECT_TRUE(contains(flume_last_error(), "the client was closed")) << flume_last_error();
  EXPECT_TRUE(readable(flume_subscription_fd(polled), 0));
  EXPECT_EQ(flume_subscription_unsubscribe(polled), FLUME_OK);
  flume_subscription_stats stats = FLUME_SUBSCRIPTION_STATS_INIT;
  EXPECT_EQ(flume_subscription_get_stats(&stats, polled), FLUME_OK);
  EXPECT_EQ(stats.state, FLUME_SUBSCRIPTION_ENDED);

  // The message outlives everything it came through.
  flume_subscription_free(polled);
  flume_subscription_free(called);
  EXPECT_EQ(recorder.dropped(), 1);
  EXPECT_EQ(subject_of(message), "c");
  flume_message_free(message);
  EXPECT_EQ(flume_client_close(nullptr), FLUME_OK);
}

TEST(CApiClose, HandlerCannotCloseFlushOrWaitOnItsOwnClient) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  flume_subscription *polled = subscribe(client, "other");
  struct Probe {
    flume_client *client = nullptr;
    flume_subscription *polled = nullptr;
    std::atomic<int> close_rc{1}, flush_rc{1}, wait_rc{1}, try_rc{1}, publish_rc{1};
  } probe;
  probe.client = client;
  probe.polled = polled;
  flume_message_handler handler{&probe,
                                [](void *context, const flume_message_view *) {
                                  auto *p = static_cast<Probe *>(context);
                                  if (p->close_rc != 1) return;
                                  flume_message *message = nullptr;
                                  p->flush_rc = flume_client_flush(p->client, 100);
                                  p->wait_rc = flume_subscription_recv(&message, p->polled, 100);
                                  p->try_rc = flume_subscription_recv(&message, p->polled, 0);
                                  p->publish_rc = publish(p->client, "other", "from handler");
                                  p->close_rc = flume_client_close(p->client);
                                },
                                nullptr};
  flume_subscription *called = subscribe(client, "probe", &handler);
  ASSERT_EQ(publish(client, "probe", "go"), FLUME_OK);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (probe.close_rc == 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(probe.close_rc, FLUME_EINVAL);
  EXPECT_EQ(probe.flush_rc, FLUME_EINVAL);
  EXPECT_EQ(probe.wait_rc, FLUME_EINVAL);
  EXPECT_EQ(probe.try_rc, FLUME_EAGAIN);
  EXPECT_EQ(probe.publish_rc, FLUME_OK);
  flume_message *message = nullptr;
  ASSERT_EQ(flume_subscription_recv(&message, polled, 3000), FLUME_OK) << "the client still works";
  EXPECT_EQ(payload_of(message), "from handler");
  flume_message_free(message);
  flume_subscription_free(called);
  flume_subscription_free(polled);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiClose, BrokerStopEndsTheClientsConnection) {
  auto broker = std::make_unique<Broker>();
  flume_client_options options = trusting(*broker);
  options.reconnect = FLUME_OFF;
  flume_client *client = nullptr;
  ASSERT_EQ(flume_client_connect(&client, broker->url().c_str(), &options), FLUME_OK)
      << flume_last_error();
  flume_subscription *subscription = subscribe(client, "x");
  const auto start = std::chrono::steady_clock::now();
  broker.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms) << "graceful, not the full grace";
  flume_message *message = nullptr;
  EXPECT_EQ(flume_subscription_recv(&message, subscription, 3000), FLUME_ECLOSED);
  EXPECT_EQ(publish(client, "x", "y"), FLUME_ECLOSED);
  flume_client_stats stats = FLUME_CLIENT_STATS_INIT;
  ASSERT_EQ(flume_client_get_stats(&stats, client), FLUME_OK);
  EXPECT_EQ(stats.connected, 0);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

// --- the broker ---

TEST(CApiBroker, ReportsWhereItListensAndHowToTrustIt) {
  Broker broker;
  EXPECT_NE(flume_broker_port(broker.get()), 0);
  const std::string address = flume_broker_address(broker.get());
  EXPECT_EQ(address, "127.0.0.1:" + std::to_string(flume_broker_port(broker.get())));
  EXPECT_TRUE(std::filesystem::exists(broker.cert())) << broker.cert();
  EXPECT_EQ(flume_broker_port(nullptr), 0);
  EXPECT_STREQ(flume_broker_address(nullptr), "");
  flume_broker_stop(nullptr);
}

TEST(CApiBroker, StartErrorsSayWhy) {
  Broker broker;
  // Never the user's default data directory: a scratch one for the certificate.
  std::string templ = (std::filesystem::temp_directory_path() / "flume-capi-XXXXXX").string();
  const std::string dir = mkdtemp(templ.data());
  flume_broker_options options = FLUME_BROKER_OPTIONS_INIT;
  options.data_dir = dir.c_str();
  flume_broker *other = nullptr;
  options.listen = "not an address";
  EXPECT_EQ(flume_broker_start(&other, &options), FLUME_EINVAL);
  EXPECT_TRUE(contains(flume_last_error(), "not an address")) << flume_last_error();
  options.listen = "127.0.0.1:0";
  options.cert_file = "/nonexistent/cert.pem";
  EXPECT_EQ(flume_broker_start(&other, &options), FLUME_EINVAL);
  EXPECT_STRNE(flume_last_error(), "");
  options = FLUME_BROKER_OPTIONS_INIT;
  options.data_dir = dir.c_str();
  options.max_payload = FLUME_HARD_MAX_PAYLOAD + 1;
  EXPECT_EQ(flume_broker_start(&other, &options), FLUME_EINVAL);

  // The port is taken.
  const std::string taken = flume_broker_address(broker.get());
  options = FLUME_BROKER_OPTIONS_INIT;
  options.listen = taken.c_str();
  options.data_dir = dir.c_str();
  EXPECT_EQ(flume_broker_start(&other, &options), FLUME_EIO) << flume_last_error();
  EXPECT_EQ(other, nullptr);
  std::filesystem::remove_all(dir);
}

TEST(CApiBroker, StatsCountConnectionsSubscriptionsAndMessages) {
  flume_broker_options options = FLUME_BROKER_OPTIONS_INIT;
  options.max_payload = 1024;
  Broker broker(options);
  flume_broker_stats stats = broker.stats();
  EXPECT_EQ(stats.connections, 0u);
  EXPECT_EQ(stats.messages_in, 0u);

  flume_client *publisher = connect(broker);
  flume_client *subscriber = connect(broker);
  ASSERT_NE(publisher, nullptr);
  ASSERT_NE(subscriber, nullptr);
  EXPECT_EQ(flume_client_max_payload(publisher), 1024u) << "announced by the broker";
  flume_subscription *subscription = subscribe(subscriber, "m.*");
  constexpr int kCount = 20;
  for (int i = 0; i < kCount; ++i)
    ASSERT_EQ(publish(publisher, "m.x", "12345"), FLUME_OK);
  ASSERT_EQ(publish(publisher, "nobody.listens", "z"), FLUME_OK);
  ASSERT_EQ(flume_client_flush(publisher, 3000), FLUME_OK);
  for (int i = 0; i < kCount; ++i) {
    flume_message *message = nullptr;
    ASSERT_EQ(flume_subscription_recv(&message, subscription, 3000), FLUME_OK);
    flume_message_free(message);
  }

  stats = broker.stats();
  EXPECT_EQ(stats.connections, 2u);
  EXPECT_EQ(stats.subscriptions, 1u);
  EXPECT_EQ(stats.hellos_accepted, 2u);
  EXPECT_EQ(stats.messages_in, static_cast<uint64_t>(kCount + 1));
  EXPECT_EQ(stats.bytes_in, static_cast<uint64_t>(kCount * 5 + 1));
  EXPECT_EQ(stats.messages_unmatched, 1u);
  EXPECT_EQ(stats.messages_out, static_cast<uint64_t>(kCount));
  EXPECT_GT(stats.bytes_out, static_cast<uint64_t>(kCount * 5));
  EXPECT_EQ(stats.dropped_oldest + stats.dropped_newest + stats.dropped_slow_consumer, 0u);
  EXPECT_EQ(stats.queued_messages, 0u);

  flume_client_stats client_stats = FLUME_CLIENT_STATS_INIT;
  ASSERT_EQ(flume_client_get_stats(&client_stats, publisher), FLUME_OK);
  EXPECT_EQ(client_stats.messages_out, static_cast<uint64_t>(kCount + 1));
  EXPECT_EQ(client_stats.bytes_out, static_cast<uint64_t>(kCount * 5 + 1));
  EXPECT_NE(client_stats.connected, 0);
  ASSERT_EQ(flume_client_get_stats(&client_stats, subscriber), FLUME_OK);
  EXPECT_EQ(client_stats.messages_in, static_cast<uint64_t>(kCount));

  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(subscriber), FLUME_OK);
  EXPECT_EQ(flume_client_close(publisher), FLUME_OK);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (broker.stats().connections != 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  stats = broker.stats();
  EXPECT_EQ(stats.connections, 0u);
  EXPECT_EQ(stats.subscriptions, 0u);
}

}  // namespace

TEST(CApiBroker, MaxMemoryBytesIsTheBudgetAndTheStatsReportIt) {
  flume_broker_options options = FLUME_BROKER_OPTIONS_INIT;
  options.max_memory_bytes = std::uint64_t{32} << 20;
  Broker broker(options);
  const flume_broker_stats stats = broker.stats();
  EXPECT_EQ(stats.memory_budget_bytes, std::uint64_t{32} << 20);
  EXPECT_EQ(stats.memory_queued_bytes, 0u);
  EXPECT_EQ(stats.dropped_memory_budget, 0u);
}

TEST(CApiBroker, ACallerBuiltAgainst100IsNeitherReadNorWrittenPastItsStructs) {
  // A 1.0.0 caller's option struct ends at shutdown_grace_ms: what follows is not read, so the
  // default budget applies whatever lies there.
  flume_broker_options options = FLUME_BROKER_OPTIONS_INIT;
  options.struct_size = offsetof(flume_broker_options, shutdown_grace_ms) + sizeof(int);
  options.max_memory_bytes = 12345;  // garbage beyond the caller's struct
  Broker broker(options);
  ASSERT_NE(broker.get(), nullptr);
  flume_broker_stats stats = FLUME_BROKER_STATS_INIT;
  stats.struct_size = offsetof(flume_broker_stats, queued_bytes) + sizeof(uint64_t);
  stats.memory_budget_bytes = 777;  // beyond the caller's struct: left alone
  ASSERT_EQ(flume_broker_get_stats(&stats, broker.get()), FLUME_OK) << flume_last_error();
  EXPECT_EQ(stats.memory_budget_bytes, 777u);
  EXPECT_GT(broker.stats().memory_budget_bytes, 12345u);
}
