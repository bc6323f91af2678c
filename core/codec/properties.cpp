#include "codec/properties.hpp"

#include <algorithm>

namespace flume {

std::size_t property_integer_width(std::uint8_t id) noexcept {
  switch (static_cast<PropertyId>(id)) {
    case PropertyId::overflow_policy:
      return 1;
    case PropertyId::protocol_version:
    case PropertyId::error_code:
      return 2;
    case PropertyId::request_id:
    case PropertyId::subscription_id:
    case PropertyId::queue_limit:
    case PropertyId::max_payload:
    case PropertyId::max_subscriptions:
      return 4;
    case PropertyId::dropped_count:
      return 8;
    default:
      return 0;
  }
}

PropertyWriter &PropertyWriter::put(PropertyId id, const std::uint8_t *value,
                                    std::size_t length) noexcept {
  if (!ok_ || length > 0xFFFF || out_.size() - used_ < 3 + length) {
    ok_ = false;
    return *this;
  }
  std::uint8_t *at = out_.data() + used_;
  at[0] = static_cast<std::uint8_t>(id);
  at[1] = static_cast<std::uint8_t>(length >> 8);
  at[2] = static_cast<std::uint8_t>(length);
  if (length > 0) std::copy_n(value, length, at + 3);
  used_ += 3 + length;
  return *this;
}

PropertyWriter &PropertyWriter::put_integer(PropertyId id, std::uint64_t value,
                                            std::size_t width) noexcept {
  std::uint8_t bytes[8];
  for (std::size_t i = 0; i < width; ++i) {
    bytes[i] = static_cast<std::uint8_t>(value >> (8 * (width - 1 - i)));
  }
  return put(id, bytes, width);
}

PropertyWriter &PropertyWriter::put_u8(PropertyId id, std::uint8_t value) noexcept {
  return put_integer(id, value, 1);
}
PropertyWriter &PropertyWriter::put_u16(PropertyId id, std::uint16_t value) noexcept {
  return put_integer(id, value, 2);
}
PropertyWriter &PropertyWriter::put_u32(PropertyId id, std::uint32_t value) noexcept {
  return put_integer(id, value, 4);
}
PropertyWriter &PropertyWriter::put_u64(PropertyId id, std::uint64_t value) noexcept {
  return put_integer(id, value, 8);
}
PropertyWriter &PropertyWriter::put_bytes(PropertyId id,
                                          std::span<const std::uint8_t> value) noexcept {
  return put(id, value.data(), value.size());
}
PropertyWriter &PropertyWriter::put_string(PropertyId id, std::string_view value) noexcept {
  return put(id, reinterpret_cast<const std::uint8_t *>(value.data()), value.size());
}

FrameError Properties::parse(std::span<const std::uint8_t> payload) noexcept {
  present_.reset();
  std::bitset<256> seen;
  while (!payload.empty()) {
    if (payload.size() < 3) return FrameError::property_truncated;
    const std::uint8_t id = payload[0];
    const std::size_t length = (std::size_t{payload[1]} << 8) | payload[2];
    if (payload.size() - 3 < length) return FrameError::property_truncated;
    if (seen.test(id)) return FrameError::property_duplicate;
    seen.set(id);
    const std::size_t width = property_integer_width(id);
    if (width != 0 && length != width) return FrameError::property_bad_length;
    if (id < kKnown) {
      present_.set(id);
      values_[id] = payload.subspan(3, length);
    }
    payload = payload.subspan(3 + length);
  }
  return FrameError::ok;
}

std::string_view Properties::string(PropertyId id) const noexcept {
  std::span<const std::uint8_t> value = bytes(id);
  return {reinterpret_cast<const char *>(value.data()), value.size()};
}

std::uint64_t Properties::integer(PropertyId id, std::uint64_t fallback) const noexcept {
  if (!has(id)) return fallback;
  std::uint64_t value = 0;
  for (std::uint8_t byte : bytes(id))
    value = (value << 8) | byte;
  return value;
}

}  // namespace flume
