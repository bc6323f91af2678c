// Reading and checking the properties of the frames a broker sends (OK, ERROR, SUBSCRIPTION,
// DROPPED) as docs/protocol.md section 5 requires. Each parse_* returns nullptr when the payload
// is valid, else a sentence for the connection error PROTOCOL_ERROR. Views point into the payload.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "protocol/protocol.hpp"

namespace flume::client_engine {

// OK answering HELLO (section 7).
struct HelloAnswer {
  std::optional<std::uint32_t> request_id;
  std::uint16_t protocol_version = 0;
  std::string_view server_name;
  std::uint32_t max_payload = 0;
  std::uint32_t max_subscriptions = 0;
};

// OK answering SUBSCRIBE or UNSUBSCRIBE (sections 8.1, 8.2).
struct RequestAnswer {
  std::optional<std::uint32_t> request_id;
  std::optional<std::uint32_t> subscription_id;
  std::optional<std::uint32_t> queue_limit;
};

// ERROR, on the control stream or ending a subscription stream.
struct ErrorReport {
  std::optional<std::uint32_t> request_id;
  std::optional<std::uint32_t> subscription_id;
  std::uint16_t wire_code = 0;                 // as sent
  ErrorCode code = ErrorCode::internal_error;  // wire_code, or INTERNAL_ERROR if unknown (11.1)
  std::string_view message;
};

const char *parse_hello_answer(std::span<const std::uint8_t> payload, HelloAnswer &out) noexcept;
const char *parse_request_answer(std::span<const std::uint8_t> payload,
                                 RequestAnswer &out) noexcept;
const char *parse_error(std::span<const std::uint8_t> payload, ErrorReport &out) noexcept;
const char *parse_subscription(std::span<const std::uint8_t> payload,
                               std::uint32_t &subscription_id) noexcept;
const char *parse_dropped(std::span<const std::uint8_t> payload, std::uint64_t &count) noexcept;

// Section 11.1: a code this version does not define is treated as INTERNAL_ERROR.
ErrorCode known_error_code(std::uint64_t code) noexcept;

// Whether a code always ends the connection (scope C in section 11.1). INTERNAL_ERROR is "C or R";
// it counts as a request error here, and the connection's close says if it was more.
bool is_connection_error(ErrorCode code) noexcept;

}  // namespace flume::client_engine
