// Client-side WebSocket frames for the tests, built by hand (RFC 6455 5.2), so the tests say
// exactly which bytes the broker gets, including the ones no real client library would send.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "websocket/stream_message.hpp"

namespace flume::websocket::test {

// One frame; `masked` false makes the frame a client must never send.
inline std::vector<std::uint8_t> ws_frame(std::uint8_t opcode,
                                          const std::vector<std::uint8_t> &payload, bool fin = true,
                                          bool masked = true) {
  std::vector<std::uint8_t> out;
  out.push_back(static_cast<std::uint8_t>((fin ? 0x80 : 0x00) | opcode));
  const std::uint8_t mask_bit = masked ? 0x80 : 0x00;
  if (payload.size() < 126) {
    out.push_back(static_cast<std::uint8_t>(mask_bit | payload.size()));
  } else if (payload.size() < 65536) {
    out.push_back(mask_bit | 126);
    out.push_back(static_cast<std::uint8_t>(payload.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(payload.size()));
  } else {
    out.push_back(mask_bit | 127);
    for (int i = 7; i >= 0; --i)
      out.push_back(static_cast<std::uint8_t>(payload.size() >> (8 * i)));
  }
  const std::uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) out.insert(out.end(), mask, mask + 4);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    out.push_back(masked ? static_cast<std::uint8_t>(payload[i] ^ mask[i % 4]) : payload[i]);
  }
  return out;
}

// A binary frame carrying one flume.v1 message.
inline std::vector<std::uint8_t> stream_frame(std::int64_t stream_id, StreamOp op,
                                              const std::vector<std::uint8_t> &bytes) {
  std::vector<std::uint8_t> message(kMaxStreamHeader);
  message.resize(write_stream_header(message.data(), stream_id, op));
  message.insert(message.end(), bytes.begin(), bytes.end());
  return ws_frame(0x2, message);
}

// A server frame (unmasked) parsed back: opcode and payload; `used` is its length, 0 if
// incomplete.
struct ServerFrame {
  std::uint8_t opcode = 0;
  std::vector<std::uint8_t> payload;
};

inline std::vector<ServerFrame> parse_server_frames(const std::vector<std::uint8_t> &bytes) {
  std::vector<ServerFrame> frames;
  std::size_t at = 0;
  while (at + 2 <= bytes.size()) {
    std::uint64_t length = bytes[at + 1] & 0x7f;
    std::size_t header = 2;
    if (length == 126) {
      if (at + 4 > bytes.size()) break;
      length = (std::uint64_t{bytes[at + 2]} << 8) | bytes[at + 3];
      header = 4;
    } else if (length == 127) {
      if (at + 10 > bytes.size()) break;
      length = 0;
      for (int i = 0; i < 8; ++i)
        length = (length << 8) | bytes[at + 2 + i];
      header = 10;
    }
    if (at + header + length > bytes.size()) break;
    frames.push_back({static_cast<std::uint8_t>(bytes[at] & 0x0f),
                      {bytes.begin() + static_cast<std::ptrdiff_t>(at + header),
                       bytes.begin() + static_cast<std::ptrdiff_t>(at + header + length)}});
    at += header + length;
  }
  return frames;
}

}  // namespace flume::websocket::test
