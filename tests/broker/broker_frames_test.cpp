// The bytes the broker writes, compared with the worked examples of docs/protocol.md section 14.
#include "broker/broker_frames.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "broker_test_util.hpp"

namespace flume::broker::test {
namespace {

std::vector<std::uint8_t> bytes_of_buffer(const SharedBuffer &buffer) {
  return {buffer.data(), buffer.data() + buffer.size()};
}

BrokerConfig spec_example_config() {
  BrokerConfig config;
  config.server_name = "flume-broker";
  return config;
}

TEST(BrokerFrames, HelloExampleIsAnsweredWithTheSpecOkBytes) {
  Broker broker(spec_example_config());
  Client client(broker);
  client.control(
      from_hex("01 00 00 00 00 28 01 00 04 00 00 00 01 02 00 02 00 01 03 00 04 64 65 6d"
               "6f 04 00 12 66 6c 75 6d 65 2d 70 79 74 68 6f 6e 2f 30 2e 31 2e 30"));
  EXPECT_EQ(client.transport.stream_bytes(kControlStreamId),
            from_hex("02 00 00 00 00 29 01 00 04 00 00 00 01 02 00 02 00 01 0b 00 0c 66 6c 75 6d"
                     "65 2d 62 72 6f 6b 65 72 0c 00 04 00 01 00 00 0e 00 04 00 00 27 10"));
}

TEST(BrokerFrames, SubscribeExampleGivesTheSpecOkAndSubscriptionBytes) {
  Broker broker(spec_example_config());
  Client client(broker);
  client.hello();
  const std::size_t before = client.transport.stream_bytes(kControlStreamId).size();
  client.control(
      from_hex("06 03 00 00 00 19 61 2e 2a 01 00 04 00 00 00 02 06 00 04 00 00 00 07 07"
               "00 01 02 08 00 04 00 00 01 00"));
  std::vector<std::uint8_t> control = client.transport.stream_bytes(kControlStreamId);
  EXPECT_EQ(std::vector<std::uint8_t>(control.begin() + static_cast<std::ptrdiff_t>(before),
                                      control.end()),
            from_hex("02 00 00 00 00 15 01 00 04 00 00 00 02 06 00 04 00 00 00 07 08 00 04 00 00"
                     "01 00"));
  ASSERT_EQ(client.transport.opened.size(), 1u);
  EXPECT_EQ(client.transport.stream_bytes(client.transport.opened[0]),
            from_hex("0a 00 00 00 00 07 06 00 04 00 00 00 07"));
}

TEST(BrokerFrames, PublishExampleIsDeliveredAsTheSpecMessageBytes) {
  Broker broker(spec_example_config());
  Client client(broker);
  client.hello();
  client.subscribe("a.b", 1);
  client.control(from_hex("08 03 00 00 00 02 61 2e 62 68 69"));
  const std::vector<std::uint8_t> stream = client.transport.stream_bytes(client.stream(1));
  const std::vector<std::uint8_t> expected = from_hex("09 03 00 00 00 02 61 2e 62 68 69");
  ASSERT_GE(stream.size(), expected.size());
  EXPECT_EQ(std::vector<std::uint8_t>(stream.end() - static_cast<std::ptrdiff_t>(expected.size()),
                                      stream.end()),
            expected);
}

TEST(BrokerFrames, PingExampleIsAnsweredWithTheSpecPongBytes) {
  Broker broker(spec_example_config());
  Client client(broker);
  client.hello();
  client.control(from_hex("04 00 00 00 00 08 00 00 00 00 00 00 00 2a"));
  const std::vector<std::uint8_t> control = client.transport.stream_bytes(kControlStreamId);
  const std::vector<std::uint8_t> pong = from_hex("05 00 00 00 00 08 00 00 00 00 00 00 00 2a");
  EXPECT_EQ(std::vector<std::uint8_t>(control.end() - static_cast<std::ptrdiff_t>(pong.size()),
                                      control.end()),
            pong);
}

TEST(BrokerFrames, SlowConsumerErrorAndDroppedMatchTheSpecBytes) {
  EXPECT_EQ(bytes_of_buffer(error_frame(ErrorCode::slow_consumer, {}, std::nullopt, 7)),
            from_hex("03 00 00 00 00 0c 06 00 04 00 00 00 07 09 00 02 00 0e"));
  EXPECT_EQ(bytes_of_buffer(dropped_frame(5)),
            from_hex("0b 00 00 00 00 0b 0d 00 08 00 00 00 00 00 00 00 05"));
}

TEST(BrokerFrames, InvalidPatternErrorMatchesTheSpecLayout) {
  EXPECT_EQ(
      bytes_of_buffer(error_frame(ErrorCode::invalid_subject, "subject has an empty token", 3, 8)),
      from_hex("03 00 00 00 00 30 01 00 04 00 00 00 03 06 00 04 00 00 00 08 09 00 02 00 05"
               "0a 00 1a 73 75 62 6a 65 63 74 20 68 61 73 20 61 6e 20 65 6d 70 74 79 20 74"
               "6f 6b 65 6e"));
}

TEST(BrokerFrames, LongErrorMessagesAreCutAtACharacterBoundary) {
  std::string message(1023, 'x');
  message += "\xc3\xa9";  // a two-byte character straddling the 1024-byte cap
  const auto frames = decode_all(bytes_of_buffer(error_frame(ErrorCode::internal_error, message)));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].string(PropertyId::error_message), std::string(1023, 'x'));
  EXPECT_EQ(truncate_utf8("ab\xc3\xa9", 3), "ab");
  EXPECT_EQ(truncate_utf8("abc", 3), "abc");
}

TEST(BrokerFrames, DefaultServerNameCarriesTheVersionFile) {
  std::ifstream file(std::string(FLUME_TEST_VECTORS_DIR) + "/../../VERSION");
  ASSERT_TRUE(file.good());
  std::stringstream text;
  text << file.rdbuf();
  std::string version = text.str();
  while (!version.empty() && (version.back() == '\n' || version.back() == ' '))
    version.pop_back();
  EXPECT_EQ(kDefaultServerName, "flume-broker/" + version);
}

}  // namespace
}  // namespace flume::broker::test
