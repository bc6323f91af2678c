// One binary WebSocket message of the flume.v1 subprotocol (docs/protocol.md 20.2): a stream id
// (QUIC varint), an op (DATA, DATA_FIN, RESET, STOP) and the stream bytes or an error code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace flume::websocket {

enum class StreamOp : std::uint8_t { data = 0x00, data_fin = 0x01, reset = 0x02, stop = 0x03 };

struct StreamMessage {
  std::int64_t stream_id = 0;
  StreamOp op = StreamOp::data;
  std::span<const std::uint8_t> data;  // DATA, DATA_FIN
  std::uint64_t code = 0;              // RESET, STOP
};

// The longest header: an 8-byte varint and the op.
inline constexpr std::size_t kMaxStreamHeader = 9;

// Parses `message`; false (with `why`) when it is shorter than its header, has an unknown op, or
// a RESET/STOP that is not exactly one varint.
bool parse_stream_message(std::span<const std::uint8_t> message, StreamMessage &out,
                          const char *&why) noexcept;

// Writes the header (stream id and op) into `out`; returns its length (2 to 9).
std::size_t write_stream_header(std::uint8_t *out, std::int64_t stream_id, StreamOp op) noexcept;

// A complete RESET or STOP message.
std::vector<std::uint8_t> encode_stream_signal(std::int64_t stream_id, StreamOp op,
                                               std::uint64_t code);

}  // namespace flume::websocket
