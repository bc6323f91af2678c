// A link's resend log on its own: it keeps what was sent within its time, at most its bytes
// (oldest pushed out first, counted), and hands everything over once.
#include <gtest/gtest.h>

#include "overlay/sent_log.hpp"

namespace flume::overlay {
namespace {

constexpr std::uint64_t kMs = 1'000'000;

RouteHeader to(std::uint64_t sequence) {
  return {1, 7, sequence, 8, {{2, sequence}}};
}

TEST(SentLog, KeepsTheLastSecondAndHandsItOverOnce) {
  SentLog log(1000 * kMs, 1 << 20);
  const SharedBuffer message = SharedBuffer::allocate(100);
  log.record(0, to(1), "a.b", message);
  log.record(500 * kMs, to(2), "a.b", message);
  log.record(1200 * kMs, to(3), "a.b", message);  // 1 is older than a second now
  auto copies = log.take(1300 * kMs);
  ASSERT_EQ(copies.size(), 2u);
  EXPECT_EQ(copies[0].route.sequence, 2u);
  EXPECT_EQ(copies[1].route.sequence, 3u);
  EXPECT_EQ(copies[1].subject, "a.b");
  EXPECT_EQ(copies[1].route.destinations, (std::vector<RouteDestination>{{2, 3}}));
  EXPECT_EQ(log.size(), 0u);
  EXPECT_EQ(log.bytes(), 0u);
  EXPECT_TRUE(log.take(1300 * kMs).empty());
  EXPECT_EQ(log.evicted(), 0u);
}

TEST(SentLog, TheByteBoundPushesOutTheOldestAndCountsThem) {
  const SharedBuffer message = SharedBuffer::allocate(1000);
  SentLog log(1000 * kMs, 3000);  // room for two copies with their overhead, not three
  for (std::uint64_t i = 0; i < 5; ++i)
    log.record(i * kMs, to(i), "a.b", message);
  EXPECT_LE(log.bytes(), 3000u);
  EXPECT_EQ(log.size() + log.evicted(), 5u);
  EXPECT_GT(log.evicted(), 0u);
  auto copies = log.take(10 * kMs);
  ASSERT_FALSE(copies.empty());
  EXPECT_EQ(copies.back().route.sequence, 4u) << "the newest copy is kept";
  SentLog too_small(1000 * kMs, 500);
  too_small.record(0, to(0), "a.b", message);
  EXPECT_EQ(too_small.size(), 0u);
  EXPECT_EQ(too_small.evicted(), 1u);
}

}  // namespace
}  // namespace flume::overlay
