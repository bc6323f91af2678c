#include "codec/properties.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace flume {
namespace {

TEST(Properties, RoundTripIntegersAndStrings) {
  std::vector<std::uint8_t> buffer(128);
  PropertyWriter writer(buffer);
  writer.put_u32(PropertyId::subscription_id, 0xDEADBEEF)
      .put_u8(PropertyId::overflow_policy, 2)
      .put_u16(PropertyId::error_code, 0x0102)
      .put_u64(PropertyId::dropped_count, 0x0102030405060708ULL)
      .put_string(PropertyId::client_name, "sensor-7");
  ASSERT_TRUE(writer.ok());

  Properties properties;
  ASSERT_EQ(properties.parse(writer.bytes()), FrameError::ok);
  EXPECT_EQ(properties.integer(PropertyId::subscription_id), 0xDEADBEEFu);
  EXPECT_EQ(properties.integer(PropertyId::overflow_policy), 2u);
  EXPECT_EQ(properties.integer(PropertyId::error_code), 0x0102u);
  EXPECT_EQ(properties.integer(PropertyId::dropped_count), 0x0102030405060708ULL);
  EXPECT_EQ(properties.string(PropertyId::client_name), "sensor-7");
  EXPECT_FALSE(properties.has(PropertyId::token));
  EXPECT_EQ(properties.integer(PropertyId::queue_limit, 1024), 1024u) << "fallback when absent";
}

TEST(Properties, WriterStopsCleanlyWhenTheBufferIsFull) {
  std::vector<std::uint8_t> buffer(10);
  PropertyWriter writer(buffer);
  writer.put_u32(PropertyId::request_id, 1);  // 7 bytes
  EXPECT_TRUE(writer.ok());
  writer.put_u32(PropertyId::subscription_id, 2);  // would need 14
  EXPECT_FALSE(writer.ok());
  EXPECT_EQ(writer.size(), 7u);
}

TEST(Properties, UnknownIdsAreSkipped) {
  const std::vector<std::uint8_t> payload = {0x7F, 0, 2, 'x', 'y', 0x06, 0, 4, 0, 0, 0, 9};
  Properties properties;
  ASSERT_EQ(properties.parse(payload), FrameError::ok);
  EXPECT_EQ(properties.integer(PropertyId::subscription_id), 9u);
}

TEST(Properties, MalformedPayloadsHaveDistinctErrors) {
  Properties properties;
  EXPECT_EQ(properties.parse(std::vector<std::uint8_t>{0x06, 0}), FrameError::property_truncated);
  EXPECT_EQ(properties.parse(std::vector<std::uint8_t>{0x0A, 0, 5, 'a'}),
            FrameError::property_truncated);
  EXPECT_EQ(properties.parse(std::vector<std::uint8_t>{0x0A, 0, 1, 'a', 0x0A, 0, 1, 'b'}),
            FrameError::property_duplicate);
  EXPECT_EQ(properties.parse(std::vector<std::uint8_t>{0x06, 0, 2, 0, 1}),
            FrameError::property_bad_length);
}

TEST(Properties, EmptyPayloadHasNoProperties) {
  Properties properties;
  ASSERT_EQ(properties.parse({}), FrameError::ok);
  EXPECT_FALSE(properties.has(PropertyId::request_id));
}

}  // namespace
}  // namespace flume
