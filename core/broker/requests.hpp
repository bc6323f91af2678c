// Reading the properties of the requests a client sends (HELLO, AUTH, SUBSCRIBE, UNSUBSCRIBE) and
// checking them as docs/protocol.md section 5 requires. Each parse_* returns nullptr when the
// payload is valid, else a message for the connection error PROTOCOL_ERROR.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/protocol.hpp"

namespace flume::broker {

// Length caps of section 5.2 / 12, applied to these ids in every frame type.
inline constexpr std::size_t kMaxClientName = 255;
inline constexpr std::size_t kMaxClientLibrary = 255;
inline constexpr std::size_t kMaxToken = 4096;
inline constexpr std::size_t kMaxErrorMessage = 1024;
inline constexpr std::size_t kMaxServerName = 255;

struct HelloRequest {
  std::optional<std::uint32_t> request_id;
  std::uint16_t protocol_version = 0;
  // Views into the frame's payload.
  std::string_view client_name;
  std::string_view client_library;
  std::span<const std::uint8_t> token;
};

// AUTH (protocol_version 2): a renewed token for the connection.
struct AuthRequest {
  std::optional<std::uint32_t> request_id;
  std::span<const std::uint8_t> token;  // a view into the frame's payload
};

struct SubscribeRequest {
  std::optional<std::uint32_t> request_id;
  std::uint32_t subscription_id = 0;
  OverflowPolicy policy = OverflowPolicy::drop_oldest;
  std::optional<std::uint32_t> queue_limit;
};

struct UnsubscribeRequest {
  std::optional<std::uint32_t> request_id;
  std::uint32_t subscription_id = 0;
};

const char *parse_hello(std::span<const std::uint8_t> payload, HelloRequest &out) noexcept;
const char *parse_auth(std::span<const std::uint8_t> payload, AuthRequest &out) noexcept;
const char *parse_subscribe(std::span<const std::uint8_t> payload, SubscribeRequest &out) noexcept;
const char *parse_unsubscribe(std::span<const std::uint8_t> payload,
                              UnsubscribeRequest &out) noexcept;

// The ids an ERROR answering a request echoes (11.2: INVALID_SUBJECT carries request_id and
// subscription_id if present). Both stay empty when the payload does not parse.
struct EchoedIds {
  std::optional<std::uint32_t> request_id;
  std::optional<std::uint32_t> subscription_id;
};
EchoedIds echoed_ids(std::span<const std::uint8_t> payload) noexcept;

}  // namespace flume::broker
