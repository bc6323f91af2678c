// AddressLimits with numbers alone: the clock is passed in.
#include "quic/address_limits.hpp"

#include <gtest/gtest.h>

#include <string>

namespace flume::quic {
namespace {

constexpr std::uint64_t kSecond = 1'000'000'000;

SocketAddress at(const std::string &host, std::uint16_t port = 5000) {
  return parse_address(host, port).value();
}

AddressLimitsConfig limits(std::size_t connections, std::uint32_t rate, std::uint32_t burst) {
  AddressLimitsConfig config;
  config.max_connections_per_address = connections;
  config.handshakes_per_second = rate;
  config.handshake_burst = burst;
  return config;
}

TEST(AddressLimits, an_address_at_its_connection_limit_is_refused_until_one_closes) {
  AddressLimits limits_(limits(2, 0, 0));
  const auto key = AddressLimits::key_of(at("10.0.0.1"));
  ASSERT_EQ(limits_.check(key, false, 0), AddressLimits::Verdict::admit);
  limits_.opened(key, false, 0);
  limits_.opened(key, false, 0);
  EXPECT_EQ(limits_.check(key, true, 0), AddressLimits::Verdict::refuse_connections);
  EXPECT_EQ(limits_.check(AddressLimits::key_of(at("10.0.0.2")), false, 0),
            AddressLimits::Verdict::admit);  // another address is not affected
  limits_.closed(key);
  EXPECT_EQ(limits_.check(key, false, 0), AddressLimits::Verdict::admit);
}

TEST(AddressLimits, over_the_rate_an_unproven_address_gets_retries_then_silence) {
  AddressLimits limits_(limits(0, 2, 3));  // 2 a second, 3 at once
  const auto key = AddressLimits::key_of(at("10.0.0.1"));
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(limits_.check(key, false, 0), AddressLimits::Verdict::admit) << i;
    limits_.opened(key, false, 0);
  }
  // The Retry bucket is as deep: three Retries, then the flood gets no answer at all.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(limits_.check(key, false, 0), AddressLimits::Verdict::retry) << i;
  EXPECT_EQ(limits_.check(key, false, 0), AddressLimits::Verdict::drop);
  // Half a second later one handshake's worth has come back, not two.
  EXPECT_EQ(limits_.check(key, false, kSecond / 2), AddressLimits::Verdict::admit);
  limits_.opened(key, false, kSecond / 2);
  EXPECT_EQ(limits_.check(key, false, kSecond / 2 + 1), AddressLimits::Verdict::retry);
  // Long idle refills to the burst, no further.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(limits_.check(key, false, 100 * kSecond), AddressLimits::Verdict::admit) << i;
    limits_.opened(key, false, 100 * kSecond);
  }
  EXPECT_EQ(limits_.check(key, false, 100 * kSecond), AddressLimits::Verdict::retry);
}

TEST(AddressLimits, a_proven_address_has_its_own_bucket_so_a_spoofed_flood_cannot_lock_it_out) {
  AddressLimits limits_(limits(0, 1, 2));
  const auto key = AddressLimits::key_of(at("10.0.0.1"));
  // A flood spoofing 10.0.0.1 empties the unproven bucket and never sees the Retries.
  for (int i = 0; i < 2; ++i)
    limits_.opened(key, false, 0);
  EXPECT_NE(limits_.check(key, false, 0), AddressLimits::Verdict::admit);
  // The real 10.0.0.1 came back with its Retry token: admitted, twice (the bucket's depth).
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(limits_.check(key, true, 0), AddressLimits::Verdict::admit) << i;
    limits_.opened(key, true, 0);
  }
  // A sender flooding from its real address gets through both buckets, and is then refused.
  EXPECT_EQ(limits_.check(key, true, 0), AddressLimits::Verdict::refuse_rate);
}

TEST(AddressLimits, ipv6_addresses_of_one_slash_64_count_as_one_and_v4_mapped_as_ipv4) {
  EXPECT_EQ(AddressLimits::key_of(at("2001:db8:1:2::1")),
            AddressLimits::key_of(at("2001:db8:1:2:ffff::7")));
  EXPECT_NE(AddressLimits::key_of(at("2001:db8:1:2::1")),
            AddressLimits::key_of(at("2001:db8:1:3::1")));
  EXPECT_EQ(AddressLimits::key_of(at("::ffff:10.1.2.3")), AddressLimits::key_of(at("10.1.2.3")));
  EXPECT_NE(AddressLimits::key_of(at("10.1.2.3")), AddressLimits::key_of(at("10.1.2.4")));
  EXPECT_EQ(AddressLimits::key_of(at("10.1.2.3", 1)), AddressLimits::key_of(at("10.1.2.3", 2)));
}

TEST(AddressLimits, loopback_is_exempt_unless_asked) {
  AddressLimits exempt(limits(1, 1, 1));
  EXPECT_FALSE(exempt.applies_to(at("127.0.0.1")));
  EXPECT_FALSE(exempt.applies_to(at("127.8.9.10")));
  EXPECT_FALSE(exempt.applies_to(at("::1")));
  EXPECT_TRUE(exempt.applies_to(at("10.77.0.1")));
  EXPECT_TRUE(exempt.applies_to(at("2001:db8::1")));
  AddressLimitsConfig config = limits(1, 1, 1);
  config.limit_loopback = true;
  EXPECT_TRUE(AddressLimits(config).applies_to(at("127.0.0.1")));
}

TEST(AddressLimits, the_table_stays_bounded_and_a_full_table_admits_untracked) {
  AddressLimitsConfig config = limits(1, 1, 1);
  config.max_tracked_addresses = 4;
  AddressLimits limits_(config);
  for (int i = 1; i <= 4; ++i)
    ASSERT_TRUE(limits_.opened(AddressLimits::key_of(at("10.0.0." + std::to_string(i))), false, 0));
  EXPECT_EQ(limits_.tracked(), 4u);
  // Every entry holds a connection: nothing can be dropped, the fifth is admitted untracked.
  const auto fifth = AddressLimits::key_of(at("10.0.0.5"));
  EXPECT_EQ(limits_.check(fifth, false, 0), AddressLimits::Verdict::admit);
  EXPECT_FALSE(limits_.opened(fifth, false, 0));
  EXPECT_EQ(limits_.tracked(), 4u);
  EXPECT_EQ(limits_.untracked_admissions(), 1u);
  // Once one closed and its bucket refilled, its entry makes room (after the sweep back-off).
  limits_.closed(AddressLimits::key_of(at("10.0.0.1")));
  EXPECT_TRUE(limits_.opened(fifth, false, 2 * kSecond));
  EXPECT_EQ(limits_.tracked(), 4u);
}

}  // namespace
}  // namespace flume::quic
