// Encoding the frames a client sends, each into its own SharedBuffer that the transport keeps until
// QUIC has it acknowledged. The caller has validated subjects and sizes; these return an empty
// buffer only when memory is exhausted or a frame would break the codec's rules.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "codec/shared_buffer.hpp"
#include "protocol/protocol.hpp"

namespace flume::client_engine {

struct HelloFields {
  std::uint32_t request_id = 0;
  std::string_view client_name;         // omitted when empty
  std::string_view client_library;      // omitted when empty
  std::span<const std::uint8_t> token;  // omitted when empty
};

struct SubscribeFields {
  std::uint32_t request_id = 0;
  std::uint32_t subscription_id = 0;
  std::string_view pattern;
  OverflowPolicy policy = OverflowPolicy::drop_oldest;
  std::uint32_t queue_limit = 0;  // omitted when 0 (broker default)
};

SharedBuffer encode_hello(const HelloFields &fields) noexcept;
SharedBuffer encode_subscribe(const SubscribeFields &fields) noexcept;
SharedBuffer encode_unsubscribe(std::uint32_t request_id, std::uint32_t subscription_id) noexcept;
SharedBuffer encode_publish(std::string_view subject, std::span<const std::uint8_t> payload,
                            std::uint32_t max_payload) noexcept;
// PING or PONG; `payload` at most kMaxPingPayload bytes.
SharedBuffer encode_ping(FrameType type, std::span<const std::uint8_t> payload) noexcept;

}  // namespace flume::client_engine
