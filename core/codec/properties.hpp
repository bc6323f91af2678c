// Properties: the payload of control frames (HELLO, OK, ERROR, SUBSCRIBE, UNSUBSCRIBE,
// SUBSCRIPTION, DROPPED). A sequence of `id (u8) | length (u16, big-endian) | value`.
// Unknown ids are skipped, so new properties never break old peers (docs/protocol.md).
#pragma once

#include <array>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "codec/frame.hpp"

namespace flume {

enum class PropertyId : std::uint8_t {
  request_id = 0x01,         // u32
  protocol_version = 0x02,   // u16
  client_name = 0x03,        // UTF-8
  client_library = 0x04,     // UTF-8
  token = 0x05,              // bytes
  subscription_id = 0x06,    // u32
  overflow_policy = 0x07,    // u8
  queue_limit = 0x08,        // u32
  error_code = 0x09,         // u16
  error_message = 0x0A,      // UTF-8
  server_name = 0x0B,        // UTF-8
  max_payload = 0x0C,        // u32
  dropped_count = 0x0D,      // u64
  max_subscriptions = 0x0E,  // u32
};

// Byte width of an integer property, or 0 for a byte-string property (or an unknown id).
std::size_t property_integer_width(std::uint8_t id) noexcept;

// Appends properties to a caller-provided buffer. After the first write that does not fit,
// ok() is false and nothing more is written.
class PropertyWriter {
 public:
  explicit PropertyWriter(std::span<std::uint8_t> out) noexcept : out_(out) {}

  PropertyWriter &put_u8(PropertyId id, std::uint8_t value) noexcept;
  PropertyWriter &put_u16(PropertyId id, std::uint16_t value) noexcept;
  PropertyWriter &put_u32(PropertyId id, std::uint32_t value) noexcept;
  PropertyWriter &put_u64(PropertyId id, std::uint64_t value) noexcept;
  PropertyWriter &put_bytes(PropertyId id, std::span<const std::uint8_t> value) noexcept;
  PropertyWriter &put_string(PropertyId id, std::string_view value) noexcept;

  bool ok() const noexcept { return ok_; }
  std::size_t size() const noexcept { return used_; }
  std::span<const std::uint8_t> bytes() const noexcept { return out_.first(used_); }

 private:
  PropertyWriter &put(PropertyId id, const std::uint8_t *value, std::size_t length) noexcept;
  PropertyWriter &put_integer(PropertyId id, std::uint64_t value, std::size_t width) noexcept;

  std::span<std::uint8_t> out_;
  std::size_t used_ = 0;
  bool ok_ = true;
};

// The known properties of one payload, as views into it.
class Properties {
 public:
  // Parses `payload`; the views stay valid as long as the payload does.
  FrameError parse(std::span<const std::uint8_t> payload) noexcept;

  bool has(PropertyId id) const noexcept { return present_.test(index(id)); }
  std::span<const std::uint8_t> bytes(PropertyId id) const noexcept { return values_[index(id)]; }
  std::string_view string(PropertyId id) const noexcept;
  // Integer properties; `fallback` when absent.
  std::uint64_t integer(PropertyId id, std::uint64_t fallback = 0) const noexcept;

 private:
  static constexpr std::size_t kKnown = 0x0F;
  static std::size_t index(PropertyId id) noexcept { return static_cast<std::uint8_t>(id); }

  std::bitset<kKnown> present_;
  std::array<std::span<const std::uint8_t>, kKnown> values_{};
};

}  // namespace flume
