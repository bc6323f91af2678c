#include "codec/frame_encoder.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "codec_test_util.hpp"

namespace flume {
namespace {

using test::bytes_of;

TEST(FrameEncoder, WritesHeaderBigEndianThenSubjectThenPayload) {
  std::vector<std::uint8_t> payload(0x010203, 0xEE);
  auto bytes = test::encode(FrameType::publish, "a.b", payload, kHardMaxPayload);
  ASSERT_EQ(bytes.size(), 6 + 3 + payload.size());
  EXPECT_EQ(bytes[0], 0x08);
  EXPECT_EQ(bytes[1], 3);
  EXPECT_EQ(bytes[2], 0x00);
  EXPECT_EQ(bytes[3], 0x01);
  EXPECT_EQ(bytes[4], 0x02);
  EXPECT_EQ(bytes[5], 0x03);
  EXPECT_EQ(std::string(bytes.begin() + 6, bytes.begin() + 9), "a.b");
  EXPECT_EQ(bytes.back(), 0xEE);
}

TEST(FrameEncoder, RoundTripsEveryFrameType) {
  for (std::uint8_t type = 0x01; type <= 0x0B; ++type) {
    const auto frame_type = static_cast<FrameType>(type);
    std::string subject;
    if (subject_rule(frame_type) == SubjectRule::subject) subject = "s.t";
    if (subject_rule(frame_type) == SubjectRule::pattern) subject = "s.*.>";
    const auto payload = bytes_of("payload-" + std::to_string(type));
    auto result = test::decode_in_chunks(test::encode(frame_type, subject, payload), 1);
    ASSERT_EQ(result.error, FrameError::ok) << frame_type_name(frame_type);
    ASSERT_EQ(result.frames.size(), 1u);
    EXPECT_EQ(result.frames[0], (test::OwnedFrame{frame_type, subject, payload}));
  }
}

TEST(FrameEncoder, RoundTripsPayloadSizesUpToTheLimit) {
  for (std::size_t size : {0u, 1u, 16u, 128u, 1024u, 65535u, 65536u}) {
    std::vector<std::uint8_t> payload(size);
    for (std::size_t i = 0; i < size; ++i)
      payload[i] = static_cast<std::uint8_t>(i * 31);
    auto result = test::decode_in_chunks(test::encode(FrameType::message, "m", payload), 1000);
    ASSERT_EQ(result.frames.size(), 1u) << size;
    EXPECT_EQ(result.frames[0].payload, payload) << size;
  }
}

TEST(FrameEncoder, RefusesABufferThatIsTooSmall) {
  std::vector<std::uint8_t> out(8);
  std::size_t written = 99;
  EXPECT_EQ(encode_frame(FrameType::publish, "a.b", bytes_of("hi"), out, written),
            FrameError::buffer_too_small);
  EXPECT_EQ(written, 0u);
}

TEST(FrameEncoder, ReportsAFrameErrorBeforeASmallBuffer) {
  std::vector<std::uint8_t> out(2);
  std::size_t written = 0;
  EXPECT_EQ(encode_frame(FrameType::publish, "a..b", bytes_of("hi"), out, written),
            FrameError::invalid_subject);
}

TEST(FrameEncoder, RefusesSubjectsTheTypeDoesNotAllow) {
  std::vector<std::uint8_t> out(64);
  std::size_t written = 0;
  EXPECT_EQ(encode_frame(FrameType::publish, "", {}, out, written), FrameError::missing_subject);
  EXPECT_EQ(encode_frame(FrameType::ping, "a", {}, out, written), FrameError::unexpected_subject);
  EXPECT_EQ(encode_frame(FrameType::publish, "a.*", {}, out, written), FrameError::invalid_subject);
  EXPECT_EQ(encode_frame(FrameType::subscribe, "a.*", {}, out, written), FrameError::ok);
  EXPECT_EQ(encode_frame(static_cast<FrameType>(0x33), "", {}, out, written),
            FrameError::unknown_type);
}

TEST(FrameEncoder, RefusesPayloadOverTheLimit) {
  std::vector<std::uint8_t> payload(17);
  std::vector<std::uint8_t> out(100);
  std::size_t written = 0;
  EXPECT_EQ(encode_frame(FrameType::publish, "a", payload, out, written, 16),
            FrameError::payload_too_large);
}

TEST(FrameEncoder, CheckedSubjectEncodesTheSameFrame) {
  SubjectError error = SubjectError::ok;
  auto subject = CheckedSubject::check("orders.eu", error);
  ASSERT_TRUE(subject);
  EXPECT_FALSE(CheckedSubject::check("orders.*", error));
  EXPECT_EQ(error, SubjectError::wildcard_in_subject);
  const auto payload = bytes_of("hello");
  std::uint8_t checked[64];
  std::uint8_t plain[64];
  std::size_t checked_size = 0;
  std::size_t plain_size = 0;
  ASSERT_EQ(encode_frame(FrameType::publish, *subject, payload, checked, checked_size),
            FrameError::ok);
  ASSERT_EQ(encode_frame(FrameType::publish, "orders.eu", payload, plain, plain_size),
            FrameError::ok);
  ASSERT_EQ(checked_size, plain_size);
  EXPECT_EQ(std::memcmp(checked, plain, plain_size), 0);
  // A type that carries no subject is still refused one.
  EXPECT_EQ(encode_frame(FrameType::ping, *subject, payload, checked, checked_size),
            FrameError::unexpected_subject);
}

TEST(FrameEncoder, PrefixLeavesThePayloadToTheCaller) {
  std::vector<std::uint8_t> out(6 + 3);
  std::size_t written = 0;
  ASSERT_EQ(encode_frame_prefix(FrameType::message, "a.b", 5, out, written), FrameError::ok);
  EXPECT_EQ(written, 9u);
  FrameHeader header = read_header(out.data());
  EXPECT_EQ(header.type, 0x09);
  EXPECT_EQ(header.subject_length, 3);
  EXPECT_EQ(header.payload_length, 5u);
}

}  // namespace
}  // namespace flume
