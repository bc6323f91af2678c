// Helpers shared by the codec tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "codec/frame_decoder.hpp"
#include "codec/frame_encoder.hpp"

namespace flume::test {

inline std::vector<std::uint8_t> bytes_of(std::string_view text) {
  return {text.begin(), text.end()};
}

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(
        static_cast<std::uint8_t>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// A frame copied out of the decoder's views, to compare after the views expire.
struct OwnedFrame {
  FrameType type;
  std::string subject;
  std::vector<std::uint8_t> payload;
  bool operator==(const OwnedFrame &) const = default;
};

inline OwnedFrame own(const Frame &frame) {
  return {frame.type, std::string(frame.subject), {frame.payload.begin(), frame.payload.end()}};
}

inline std::vector<std::uint8_t> encode(FrameType type, std::string_view subject,
                                        const std::vector<std::uint8_t> &payload,
                                        std::uint32_t max_payload = kDefaultMaxPayload) {
  std::vector<std::uint8_t> out(frame_size(subject.size(), payload.size()));
  std::size_t written = 0;
  FrameError error = encode_frame(type, subject, payload, out, written, max_payload);
  if (error != FrameError::ok) throw std::runtime_error(describe(error));
  out.resize(written);
  return out;
}

// Decodes `stream` fed in pieces of `chunk` bytes; stops at the first error.
struct DecodeResult {
  std::vector<OwnedFrame> frames;
  FrameError error = FrameError::ok;  // first error, or what finish() said
};

inline DecodeResult decode_in_chunks(const std::vector<std::uint8_t> &stream, std::size_t chunk,
                                     std::uint32_t max_payload = kDefaultMaxPayload) {
  FrameDecoder decoder(max_payload);
  DecodeResult result;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    std::span<const std::uint8_t> input(stream.data() + at, std::min(chunk, stream.size() - at));
    while (true) {
      Frame frame{};
      DecodeStatus status = decoder.next(input, frame);
      if (status == DecodeStatus::need_more) break;
      if (status == DecodeStatus::error) {
        result.error = decoder.error();
        return result;
      }
      result.frames.push_back(own(frame));
      if (input.empty()) break;
    }
  }
  result.error = decoder.finish();
  return result;
}

}  // namespace flume::test
