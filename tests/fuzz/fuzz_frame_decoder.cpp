// Fuzzes the frame decoder. The first input byte picks how the rest is split into reads, so the
// fuzzer explores split points as well as contents. Invariants (any violation traps):
//   - no crash, no out-of-bounds read (ASan), no undefined behaviour (UBSan);
//   - every input byte is consumed or the decoder has failed;
//   - every frame decoded obeys the header rules and re-encodes to the bytes it came from;
//   - decoding the same bytes in one piece gives the same frames and the same end result.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "codec/frame_decoder.hpp"
#include "codec/frame_encoder.hpp"
#include "codec/properties.hpp"

namespace {

struct Outcome {
  std::vector<std::uint8_t> reencoded;  // all decoded frames, encoded again
  flume::FrameError end = flume::FrameError::ok;
};

void check(bool condition) {
  if (!condition) __builtin_trap();
}

Outcome decode(std::span<const std::uint8_t> stream, std::size_t chunk, std::uint32_t limit) {
  flume::FrameDecoder decoder(limit);
  Outcome outcome;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    std::span<const std::uint8_t> input = stream.subspan(at, std::min(chunk, stream.size() - at));
    while (!input.empty()) {
      flume::Frame frame{};
      flume::DecodeStatus status = decoder.next(input, frame);
      if (status == flume::DecodeStatus::need_more) {
        check(input.empty());
        break;
      }
      if (status == flume::DecodeStatus::error &&
          decoder.error() != flume::FrameError::invalid_subject) {
        outcome.end = decoder.error();
        return outcome;
      }
      check(frame.subject.size() <= 255 && frame.payload.size() <= limit);
      std::vector<std::uint8_t> bytes(
          flume::frame_size(frame.subject.size(), frame.payload.size()));
      std::size_t prefix = 0;
      if (status == flume::DecodeStatus::frame) {
        check(flume::encode_frame(frame.type, frame.subject, frame.payload, bytes, prefix, limit) ==
              flume::FrameError::ok);
        flume::Properties properties;
        (void)properties.parse(frame.payload);  // must be safe on any bytes
      } else {
        flume::write_header(bytes.data(), frame.type,
                            static_cast<std::uint8_t>(frame.subject.size()),
                            static_cast<std::uint32_t>(frame.payload.size()));
        std::memcpy(bytes.data() + 6, frame.subject.data(), frame.subject.size());
        if (!frame.payload.empty()) {
          std::memcpy(bytes.data() + 6 + frame.subject.size(), frame.payload.data(),
                      frame.payload.size());
        }
      }
      outcome.reencoded.insert(outcome.reencoded.end(), bytes.begin(), bytes.end());
    }
  }
  outcome.end = decoder.finish();
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = static_cast<std::size_t>(data[0] % 16) + 1;
  // A small limit keeps inputs small while still reaching payload_too_large.
  const std::uint32_t limit = data[0] & 0x80 ? 64 : 4096;
  std::span<const std::uint8_t> stream(data + 1, size - 1);

  Outcome split = decode(stream, chunk, limit);
  Outcome whole = decode(stream, stream.size() + 1, limit);
  check(split.end == whole.end);
  check(split.reencoded == whole.reencoded);
  // Decoded frames are a prefix of the input, byte for byte.
  check(split.reencoded.size() <= stream.size());
  check(std::equal(split.reencoded.begin(), split.reencoded.end(), stream.begin()));
  return 0;
}
