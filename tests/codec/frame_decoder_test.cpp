#include "codec/frame_decoder.hpp"

#include <gtest/gtest.h>

#include "codec_test_util.hpp"

namespace flume {
namespace {

using test::bytes_of;
using test::decode_in_chunks;
using test::encode;
using test::OwnedFrame;

std::vector<std::uint8_t> three_frame_stream() {
  std::vector<std::uint8_t> stream;
  for (auto part :
       {encode(FrameType::publish, "a.b", bytes_of("hello")), encode(FrameType::ping, "", {}),
        encode(FrameType::message, "x.y.z", std::vector<std::uint8_t>(300, 0x5A))}) {
    stream.insert(stream.end(), part.begin(), part.end());
  }
  return stream;
}

const std::vector<OwnedFrame> kThreeFrames = {
    {FrameType::publish, "a.b", bytes_of("hello")},
    {FrameType::ping, "", {}},
    {FrameType::message, "x.y.z", std::vector<std::uint8_t>(300, 0x5A)},
};

TEST(FrameDecoder, DecodesWholeStreamInOneCall) {
  auto result = decode_in_chunks(three_frame_stream(), 1 << 20);
  EXPECT_EQ(result.error, FrameError::ok);
  EXPECT_EQ(result.frames, kThreeFrames);
}

TEST(FrameDecoder, DecodesOneByteAtATime) {
  auto result = decode_in_chunks(three_frame_stream(), 1);
  EXPECT_EQ(result.error, FrameError::ok);
  EXPECT_EQ(result.frames, kThreeFrames);
}

TEST(FrameDecoder, DecodesEveryTwoWaySplit) {
  const auto stream = three_frame_stream();
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    FrameDecoder decoder;
    std::vector<OwnedFrame> frames;
    for (auto [from, to] : {std::pair{std::size_t{0}, split}, std::pair{split, stream.size()}}) {
      std::span<const std::uint8_t> input(stream.data() + from, to - from);
      Frame frame{};
      while (decoder.next(input, frame) == DecodeStatus::frame)
        frames.push_back(test::own(frame));
      ASSERT_TRUE(input.empty()) << "split " << split;
    }
    EXPECT_EQ(frames, kThreeFrames) << "split " << split;
    EXPECT_EQ(decoder.finish(), FrameError::ok) << "split " << split;
  }
}

TEST(FrameDecoder, DecodesEveryChunkSize) {
  const auto stream = three_frame_stream();
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    auto result = decode_in_chunks(stream, chunk);
    EXPECT_EQ(result.error, FrameError::ok) << "chunk " << chunk;
    EXPECT_EQ(result.frames, kThreeFrames) << "chunk " << chunk;
  }
}

TEST(FrameDecoder, WholeFrameInInputIsNotCopied) {
  const auto stream = encode(FrameType::publish, "a", bytes_of("payload"));
  FrameDecoder decoder;
  std::span<const std::uint8_t> input(stream);
  Frame frame{};
  ASSERT_EQ(decoder.next(input, frame), DecodeStatus::frame);
  EXPECT_EQ(frame.payload.data(), stream.data() + kFrameHeaderSize + 1);
}

TEST(FrameDecoder, StopsAfterEachFrameLeavingTheRestOfTheInput) {
  const auto stream = three_frame_stream();
  FrameDecoder decoder;
  std::span<const std::uint8_t> input(stream);
  Frame frame{};
  ASSERT_EQ(decoder.next(input, frame), DecodeStatus::frame);
  EXPECT_EQ(input.size(), stream.size() - (kFrameHeaderSize + 3 + 5));
}

TEST(FrameDecoder, EmptyInputNeedsMore) {
  FrameDecoder decoder;
  std::span<const std::uint8_t> input;
  Frame frame{};
  EXPECT_EQ(decoder.next(input, frame), DecodeStatus::need_more);
  EXPECT_EQ(decoder.finish(), FrameError::ok);
}

TEST(FrameDecoder, UnknownTypeIsRejectedAndSticky) {
  const std::vector<std::uint8_t> stream = {0x42, 0, 0, 0, 0, 0};
  FrameDecoder decoder;
  std::span<const std::uint8_t> input(stream);
  Frame frame{};
  EXPECT_EQ(decoder.next(input, frame), DecodeStatus::error);
  EXPECT_EQ(decoder.error(), FrameError::unknown_type);
  const auto good = encode(FrameType::ping, "", {});
  std::span<const std::uint8_t> more(good);
  EXPECT_EQ(decoder.next(more, frame), DecodeStatus::error) << "a failed stream stays failed";
  EXPECT_EQ(decoder.finish(), FrameError::unknown_type);
  decoder.reset();
  EXPECT_EQ(decoder.next(more, frame), DecodeStatus::frame) << "reset() recovers";
}

TEST(FrameDecoder, OversizedPayloadIsRejectedFromTheHeaderAlone) {
  FrameDecoder decoder(1024);
  std::vector<std::uint8_t> header(kFrameHeaderSize);
  write_header(header.data(), FrameType::publish, 1, 1025);
  std::span<const std::uint8_t> input(header);
  Frame frame{};
  EXPECT_EQ(decoder.next(input, frame), DecodeStatus::error);
  EXPECT_EQ(decoder.error(), FrameError::payload_too_large);
  EXPECT_EQ(decoder.buffered(), kFrameHeaderSize) << "nothing past the header is buffered";
}

TEST(FrameDecoder, PayloadAtTheLimitIsAccepted) {
  std::vector<std::uint8_t> payload(1024, 7);
  auto result = decode_in_chunks(encode(FrameType::publish, "t", payload, 1024), 100, 1024);
  EXPECT_EQ(result.error, FrameError::ok);
  ASSERT_EQ(result.frames.size(), 1u);
  EXPECT_EQ(result.frames[0].payload, payload);
}

TEST(FrameDecoder, InvalidSubjectIsReportedWithTheFrameAndDecodingContinues) {
  std::vector<std::uint8_t> stream = {0x08, 4, 0, 0, 0, 1, 'a', '.', '.', 'b', '!'};
  const auto good = encode(FrameType::publish, "ok", bytes_of("y"));
  stream.insert(stream.end(), good.begin(), good.end());
  FrameDecoder decoder;
  std::span<const std::uint8_t> input(stream);
  Frame frame{};
  ASSERT_EQ(decoder.next(input, frame), DecodeStatus::error);
  EXPECT_EQ(decoder.error(), FrameError::invalid_subject);
  EXPECT_EQ(frame.subject, "a..b");
  ASSERT_EQ(decoder.next(input, frame), DecodeStatus::frame);
  EXPECT_EQ(frame.subject, "ok");
  EXPECT_EQ(decoder.finish(), FrameError::ok);
}

TEST(FrameDecoder, EndOfStreamInsideAFrameIsTruncated) {
  const auto whole = encode(FrameType::publish, "a.b", bytes_of("hello"));
  for (std::size_t cut = 1; cut < whole.size(); ++cut) {
    auto result = decode_in_chunks({whole.begin(), whole.begin() + cut}, 3);
    EXPECT_TRUE(result.frames.empty()) << "cut " << cut;
    EXPECT_EQ(result.error, FrameError::truncated) << "cut " << cut;
  }
}

TEST(FrameDecoder, CreateRefusesLimitsOutsideTheDocumentedRange) {
  FrameDecoder decoder;
  EXPECT_EQ(FrameDecoder::create(0, decoder), FrameError::invalid_limit);
  EXPECT_EQ(FrameDecoder::create(kHardMaxPayload + 1, decoder), FrameError::invalid_limit);
  EXPECT_EQ(FrameDecoder::create(kHardMaxPayload, decoder), FrameError::ok);
  EXPECT_EQ(decoder.max_payload(), kHardMaxPayload);
}

TEST(FrameDecoder, SplitBufferIsReusedAcrossFrames) {
  // Two large frames split in the middle: the second must not see bytes of the first.
  auto first = encode(FrameType::message, "a", std::vector<std::uint8_t>(5000, 1));
  auto second = encode(FrameType::message, "b", std::vector<std::uint8_t>(4000, 2));
  std::vector<std::uint8_t> stream = first;
  stream.insert(stream.end(), second.begin(), second.end());
  auto result = decode_in_chunks(stream, 777);
  ASSERT_EQ(result.frames.size(), 2u);
  EXPECT_EQ(result.frames[0].payload, std::vector<std::uint8_t>(5000, 1));
  EXPECT_EQ(result.frames[1].payload, std::vector<std::uint8_t>(4000, 2));
}

}  // namespace
}  // namespace flume
