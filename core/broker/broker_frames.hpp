// The frames a broker writes, each encoded into its own SharedBuffer. None throws: an empty
// buffer means memory ran out. Properties are written in ascending id order (section 5.1).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "codec/shared_buffer.hpp"
#include "protocol/protocol.hpp"
#include "subject/subject.hpp"

namespace flume::broker {

// A MESSAGE for `subject`: encoded once, then shared by every subscription it goes to.
SharedBuffer message_frame(CheckedSubject subject, std::span<const std::uint8_t> payload) noexcept;

SharedBuffer pong_frame(std::span<const std::uint8_t> payload) noexcept;

SharedBuffer ok_to_hello(std::optional<std::uint32_t> request_id, std::uint16_t protocol_version,
                         std::string_view server_name, std::uint32_t max_payload,
                         std::uint32_t max_subscriptions) noexcept;

SharedBuffer ok_to_subscribe(std::optional<std::uint32_t> request_id, std::uint32_t subscription_id,
                             std::uint32_t queue_limit) noexcept;

SharedBuffer ok_to_unsubscribe(std::optional<std::uint32_t> request_id,
                               std::uint32_t subscription_id) noexcept;

SharedBuffer ok_to_auth(std::optional<std::uint32_t> request_id) noexcept;

// ERROR {request_id?, subscription_id?, error_code, error_message?}; an empty message is left out
// and a long one is cut to 1024 bytes at a UTF-8 character boundary.
SharedBuffer error_frame(ErrorCode code, std::string_view message,
                         std::optional<std::uint32_t> request_id = std::nullopt,
                         std::optional<std::uint32_t> subscription_id = std::nullopt) noexcept;

SharedBuffer subscription_frame(std::uint32_t subscription_id) noexcept;

SharedBuffer dropped_frame(std::uint64_t dropped_count) noexcept;

// The longest prefix of `text` of at most `limit` bytes that does not split a UTF-8 character.
std::string_view truncate_utf8(std::string_view text, std::size_t limit) noexcept;

}  // namespace flume::broker
