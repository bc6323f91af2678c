// Sequences and gap items through flume.h: flume_message_view.sequence on every message,
// FLUME_MESSAGE_GAP items with their counts for a subscription with report_gaps on, to recv and
// to the handler; callers built against an older header see none of it.
#include <atomic>
#include <cstddef>

#include "capi_client_fixtures.hpp"

namespace {

// A subscriber that does not read: its local queue of 16 fills, the client holds back stream
// credit, and the broker's queue of 16 overflows while `count` messages are published.
flume_subscription_options stalled(int report_gaps) {
  flume_subscription_options options = FLUME_SUBSCRIPTION_OPTIONS_INIT;
  options.queue_limit = 16;
  options.local_queue_limit = 16;
  options.report_gaps = report_gaps;
  return options;
}

void publish_numbered(flume_client *client, const char *subject, int count) {
  const std::string filler(1000, '.');
  for (int i = 0; i < count; ++i) {
    const std::string payload = std::to_string(i) + filler;
    ASSERT_EQ(
        flume_client_publish(client, subject, std::strlen(subject), payload.data(), payload.size()),
        FLUME_OK)
        << flume_last_error();
  }
  ASSERT_EQ(flume_client_flush(client, 10000), FLUME_OK) << flume_last_error();
}

// The items of a subscription in order, as views copied out of the library's messages.
struct Item {
  int kind = FLUME_MESSAGE_DATA;
  uint64_t sequence = 0;
  long number = -1;  // the publisher's number (data)
  uint64_t dropped = 0;
  int resubscribed = 0;
};

Item item_of(const flume_message_view &view) {
  Item item;
  item.kind = view.kind;
  item.sequence = view.sequence;
  if (view.kind == FLUME_MESSAGE_DATA) {
    item.number = std::strtol(static_cast<const char *>(view.payload), nullptr, 10);
  } else {
    item.dropped = view.gap_dropped_by_broker + view.gap_dropped_locally;
    item.resubscribed = view.gap_resubscribed;
  }
  return item;
}

std::vector<Item> drain(flume_subscription *subscription) {
  std::vector<Item> items;
  flume_message *batch[256];
  flume_message_view views[256];
  size_t count = 0;
  for (int round = 0; round < 1000; ++round) {
    const int rc = flume_subscription_recv_batch(batch, 256, &count, subscription, 500);
    if (rc != FLUME_OK) break;
    EXPECT_EQ(flume_message_views(views, sizeof(flume_message_view), batch, count), FLUME_OK);
    for (size_t i = 0; i < count; ++i) {
      EXPECT_EQ(flume_message_kind(batch[i]), views[i].kind);
      EXPECT_EQ(flume_message_sequence(batch[i]), views[i].sequence);
      items.push_back(item_of(views[i]));
    }
    flume_message_free_batch(batch, count);
  }
  return items;
}

// Published `published` messages numbered from 0; checks that the items account for each.
void expect_items_add_up(const std::vector<Item> &items, int published, uint64_t dropped) {
  uint64_t messages = 0, counted = 0;
  const Item *previous = nullptr;
  uint64_t pending = 0;
  for (const Item &item : items) {
    if (item.kind == FLUME_MESSAGE_GAP) {
      pending += item.dropped;  // a gap already taken is not merged into: two may follow

      counted += item.dropped;
      continue;
    }
    if (previous != nullptr) {
      EXPECT_EQ(item.sequence, previous->sequence + 1 + pending);
      EXPECT_EQ(item.number, previous->number + 1 + static_cast<long>(pending));
    }
    ++messages;
    previous = &item;
    pending = 0;
  }
  EXPECT_EQ(messages + dropped, static_cast<uint64_t>(published));
  EXPECT_EQ(counted, dropped);  // report_gaps is on wherever this is used
}

TEST(CApiGaps, RecvGetsGapItemsWhereTheBrokerDroppedAndTheyAddUp) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  const flume_subscription_options options = stalled(FLUME_ON);
  flume_subscription *subscription = subscribe(client, "gaps.x", nullptr, &options);
  publish_numbered(client, "gaps.x", 2000);
  const std::vector<Item> items = drain(subscription);

  flume_subscription_stats stats = FLUME_SUBSCRIPTION_STATS_INIT;
  ASSERT_EQ(flume_subscription_get_stats(&stats, subscription), FLUME_OK) << flume_last_error();
  ASSERT_GT(stats.dropped_by_broker + stats.dropped_locally, 0u)
      << "nothing dropped: nothing tested";
  EXPECT_EQ(stats.resubscribed, 0u);
  EXPECT_EQ(stats.last_sequence, items.back().kind == FLUME_MESSAGE_DATA
                                     ? items.back().sequence
                                     : items.back().sequence + items.back().dropped);
  std::size_t gaps = 0;
  for (const Item &item : items)
    gaps += item.kind == FLUME_MESSAGE_GAP;
  EXPECT_GT(gaps, 0u);
  expect_items_add_up(items, 2000, stats.dropped_by_broker + stats.dropped_locally);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

TEST(CApiGaps, WithoutReportGapsDropsAreOnlySequenceJumps) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  const flume_subscription_options options = stalled(FLUME_OFF);
  flume_subscription *subscription = subscribe(client, "gaps.x", nullptr, &options);
  publish_numbered(client, "gaps.x", 2000);
  const std::vector<Item> items = drain(subscription);
  flume_subscription_stats stats = FLUME_SUBSCRIPTION_STATS_INIT;
  ASSERT_EQ(flume_subscription_get_stats(&stats, subscription), FLUME_OK);
  ASSERT_GT(stats.dropped_by_broker + stats.dropped_locally, 0u);
  for (const Item &item : items)
    ASSERT_EQ(item.kind, FLUME_MESSAGE_DATA);
  // No gap items: the jumps still account for every drop.
  uint64_t jumps = 0;
  for (std::size_t i = 1; i < items.size(); ++i)
    jumps += items[i].sequence - items[i - 1].sequence - 1;
  const uint64_t dropped = stats.dropped_by_broker + stats.dropped_locally;
  EXPECT_EQ(items.size() + dropped, 2000u)
      << "received " << items.size() << ", dropped " << stats.dropped_by_broker
      << " by the broker, " << stats.dropped_locally << " here";
  EXPECT_LE(jumps, dropped);  // drops before the first message are no jump
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

// A handler that is slow on purpose (it holds the client's loop thread, so the broker's queue
// overflows) sees the gaps in its calls, and a gap view copied with flume_message_copy stays one.
struct GapRecorder {
  std::mutex mutex;
  std::vector<Item> items;
  flume_message *copied_gap = nullptr;

  static void call(void *context, const flume_message_view *view) {
    auto *self = static_cast<GapRecorder *>(context);
    std::lock_guard lock(self->mutex);
    self->items.push_back(item_of(*view));
    if (view->kind == FLUME_MESSAGE_GAP && self->copied_gap == nullptr) {
      EXPECT_EQ(view->subject_length, 0u);
      EXPECT_EQ(view->payload_length, 0u);
      EXPECT_EQ(flume_message_copy(&self->copied_gap, view), FLUME_OK) << flume_last_error();
    }
    if (self->items.size() < 64) std::this_thread::sleep_for(2ms);
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return items.size();
  }
};

TEST(CApiGaps, TheHandlerGetsGapCallsInTheirPlace) {
  Broker broker;
  flume_client *subscriber = connect(broker);
  flume_client *publisher = connect(broker);
  ASSERT_TRUE(subscriber && publisher);
  GapRecorder recorder;
  const flume_message_handler handler{&recorder, &GapRecorder::call, nullptr};
  const flume_subscription_options options = stalled(FLUME_ON);
  flume_subscription *subscription = subscribe(subscriber, "gaps.cb", &handler, &options);
  publish_numbered(publisher, "gaps.cb", 2000);
  // Calls stop coming once everything that survived was handled.
  std::size_t seen = 0;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(100ms);
    const std::size_t now = recorder.count();
    if (now == seen && now > 0) break;
    seen = now;
  }
  flume_subscription_stats stats = FLUME_SUBSCRIPTION_STATS_INIT;
  ASSERT_EQ(flume_subscription_get_stats(&stats, subscription), FLUME_OK);
  flume_subscription_free(subscription);  // no calls after this returns
  ASSERT_GT(stats.dropped_by_broker + stats.dropped_locally, 0u)
      << "the handler kept up: nothing tested";
  expect_items_add_up(recorder.items, 2000, stats.dropped_by_broker + stats.dropped_locally);

  ASSERT_NE(recorder.copied_gap, nullptr);
  EXPECT_EQ(flume_message_kind(recorder.copied_gap), FLUME_MESSAGE_GAP);
  flume_message_view view{};
  ASSERT_EQ(flume_message_views(&view, sizeof view, &recorder.copied_gap, 1), FLUME_OK);
  EXPECT_EQ(view.kind, FLUME_MESSAGE_GAP);
  EXPECT_GT(view.gap_dropped_by_broker + view.gap_dropped_locally, 0u);
  EXPECT_EQ(flume_message_subject_length(recorder.copied_gap), 0u);
  flume_message_free(recorder.copied_gap);
  EXPECT_EQ(flume_client_close(subscriber), FLUME_OK);
  EXPECT_EQ(flume_client_close(publisher), FLUME_OK);
}

TEST(CApiGaps, ACallerBuiltAgainst1_1_0GetsNoGapsAndNothingWrittenPastItsStructs) {
  Broker broker;
  flume_client *client = connect(broker);
  ASSERT_NE(client, nullptr);
  // Its options end at local_queue_limit: whatever lies beyond is not read.
  flume_subscription_options options = stalled(FLUME_ON);
  options.struct_size = offsetof(flume_subscription_options, local_queue_limit) + sizeof(size_t);
  flume_subscription *subscription = subscribe(client, "gaps.old", nullptr, &options);
  publish_numbered(client, "gaps.old", 1000);

  flume_message *batch[64];
  size_t count = 0;
  std::size_t received = 0;
  // 1.1.0's view, as its header declared it; one more at the end as a canary.
  struct OldView {
    size_t struct_size;
    const char *subject;
    size_t subject_length;
    const void *payload;
    size_t payload_length;
    uint32_t subscription_id;
  } views[65];
  while (flume_subscription_recv_batch(batch, 64, &count, subscription, 500) == FLUME_OK) {
    std::memset(views, 0xAB, sizeof views);
    ASSERT_EQ(flume_message_views(reinterpret_cast<flume_message_view *>(views), sizeof(OldView),
                                  batch, count),
              FLUME_OK);
    for (size_t i = 0; i < count; ++i) {
      ASSERT_EQ(views[i].struct_size, sizeof(OldView));
      ASSERT_EQ(flume_message_kind(batch[i]), FLUME_MESSAGE_DATA);
    }
    ASSERT_EQ(views[count].struct_size, 0xABABABABABABABABu) << "written past the caller's views";
    received += count;
    flume_message_free_batch(batch, count);
  }
  flume_subscription_stats stats = FLUME_SUBSCRIPTION_STATS_INIT;
  stats.struct_size = offsetof(flume_subscription_stats, state) + sizeof(int);
  stats.resubscribed = 0xABAB;  // beyond the old struct: left alone
  ASSERT_EQ(flume_subscription_get_stats(&stats, subscription), FLUME_OK);
  EXPECT_EQ(stats.resubscribed, 0xABABu);
  EXPECT_GT(stats.dropped_by_broker + stats.dropped_locally, 0u);
  EXPECT_EQ(received + stats.dropped_by_broker + stats.dropped_locally, 1000u);
  flume_subscription_free(subscription);
  EXPECT_EQ(flume_client_close(client), FLUME_OK);
}

}  // namespace
