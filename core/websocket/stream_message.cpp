#include "websocket/stream_message.hpp"

namespace flume::websocket {

namespace {

// RFC 9000 16: the two top bits of the first byte give the length (1, 2, 4, 8).
bool read_varint(std::span<const std::uint8_t> &in, std::uint64_t &value) noexcept {
  if (in.empty()) return false;
  const std::size_t length = std::size_t{1} << (in[0] >> 6);
  if (in.size() < length) return false;
  value = in[0] & 0x3f;
  for (std::size_t i = 1; i < length; ++i)
    value = (value << 8) | in[i];
  in = in.subspan(length);
  return true;
}

std::size_t write_varint(std::uint8_t *out, std::uint64_t value) noexcept {
  std::size_t length = 8;
  std::uint8_t prefix = 0xc0;
  if (value < (1u << 6)) {
    length = 1;
    prefix = 0x00;
  } else if (value < (1u << 14)) {
    length = 2;
    prefix = 0x40;
  } else if (value < (1u << 30)) {
    length = 4;
    prefix = 0x80;
  }
  for (std::size_t i = 0; i < length; ++i) {
    out[length - 1 - i] = static_cast<std::uint8_t>(value >> (8 * i));
  }
  out[0] |= prefix;
  return length;
}

}  // namespace

bool parse_stream_message(std::span<const std::uint8_t> message, StreamMessage &out,
                          const char *&why) noexcept {
  std::uint64_t id = 0;
  if (!read_varint(message, id) || message.empty()) {
    why = "message shorter than its stream id and op";
    return false;
  }
  out.stream_id = static_cast<std::int64_t>(id);  // < 2^62: always fits
  const std::uint8_t op = message[0];
  message = message.subspan(1);
  switch (op) {
    case 0x00:
    case 0x01:
      out.op = static_cast<StreamOp>(op);
      out.data = message;
      out.code = 0;
      return true;
    case 0x02:
    case 0x03:
      out.op = static_cast<StreamOp>(op);
      out.data = {};
      if (!read_varint(message, out.code) || !message.empty()) {
        why = "RESET or STOP must carry exactly one varint error code";
        return false;
      }
      return true;
    default:
      why = "unknown op";
      return false;
  }
}

std::size_t write_stream_header(std::uint8_t *out, std::int64_t stream_id, StreamOp op) noexcept {
  const std::size_t n = write_varint(out, static_cast<std::uint64_t>(stream_id));
  out[n] = static_cast<std::uint8_t>(op);
  return n + 1;
}

std::vector<std::uint8_t> encode_stream_signal(std::int64_t stream_id, StreamOp op,
                                               std::uint64_t code) {
  std::vector<std::uint8_t> out(kMaxStreamHeader + 8);
  std::size_t n = write_stream_header(out.data(), stream_id, op);
  n += write_varint(out.data() + n, code);
  out.resize(n);
  return out;
}

}  // namespace flume::websocket
