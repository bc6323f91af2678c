#include "client_engine/inbound_frames.hpp"

#include <cstddef>

#include "codec/properties.hpp"

namespace flume::client_engine {
namespace {

// Section 5.2 / 12 length caps, checked for these ids in every frame type.
struct LengthCap {
  PropertyId id;
  std::size_t max;
  const char *message;
};
constexpr LengthCap kLengthCaps[] = {
    {PropertyId::client_name, 255, "client_name property is longer than 255 bytes"},
    {PropertyId::client_library, 255, "client_library property is longer than 255 bytes"},
    {PropertyId::token, 4096, "token property is longer than 4096 bytes"},
    {PropertyId::error_message, 1024, "error_message property is longer than 1024 bytes"},
    {PropertyId::server_name, 255, "server_name property is longer than 255 bytes"},
};

// Parses and applies the checks every properties payload gets, whatever its frame type.
const char *parse_common(std::span<const std::uint8_t> payload, Properties &props) noexcept {
  FrameError error = props.parse(payload);
  if (error != FrameError::ok) return describe(error);
  for (const LengthCap &cap : kLengthCaps) {
    if (props.bytes(cap.id).size() > cap.max) return cap.message;
  }
  return nullptr;
}

std::optional<std::uint32_t> optional_u32(const Properties &props, PropertyId id) noexcept {
  if (!props.has(id)) return std::nullopt;
  return static_cast<std::uint32_t>(props.integer(id));
}

}  // namespace

const char *parse_hello_answer(std::span<const std::uint8_t> payload, HelloAnswer &out) noexcept {
  Properties props;
  if (const char *problem = parse_common(payload, props)) return problem;
  if (!props.has(PropertyId::protocol_version))
    return "OK to HELLO lacks the required protocol_version property";
  if (!props.has(PropertyId::max_payload))
    return "OK to HELLO lacks the required max_payload property";
  if (!props.has(PropertyId::max_subscriptions))
    return "OK to HELLO lacks the required max_subscriptions property";
  out.request_id = optional_u32(props, PropertyId::request_id);
  out.protocol_version = static_cast<std::uint16_t>(props.integer(PropertyId::protocol_version));
  out.server_name = props.string(PropertyId::server_name);
  out.max_payload = static_cast<std::uint32_t>(props.integer(PropertyId::max_payload));
  out.max_subscriptions = static_cast<std::uint32_t>(props.integer(PropertyId::max_subscriptions));
  if (out.protocol_version == 0)
    return "OK to HELLO names protocol_version 0, which does not exist";
  // Section 7.4: the broker may only pick a version at most the one the client offered.
  if (out.protocol_version > kProtocolVersion)
    return "OK to HELLO names a protocol_version higher than the client offered (1)";
  if (out.max_payload == 0 || out.max_payload > kHardMaxPayload)
    return "OK to HELLO announces a max_payload outside 1..16777216 bytes";
  return nullptr;
}

const char *parse_request_answer(std::span<const std::uint8_t> payload,
                                 RequestAnswer &out) noexcept {
  Properties props;
  if (const char *problem = parse_common(payload, props)) return problem;
  out.request_id = optional_u32(props, PropertyId::request_id);
  out.subscription_id = optional_u32(props, PropertyId::subscription_id);
  out.queue_limit = optional_u32(props, PropertyId::queue_limit);
  if (!out.subscription_id) return "OK to SUBSCRIBE/UNSUBSCRIBE lacks the subscription_id property";
  if (*out.subscription_id == 0) return "OK carries subscription_id 0, which is reserved";
  if (out.queue_limit && *out.queue_limit == 0) return "OK carries queue_limit 0, which is invalid";
  return nullptr;
}

const char *parse_error(std::span<const std::uint8_t> payload, ErrorReport &out) noexcept {
  Properties props;
  if (const char *problem = parse_common(payload, props)) return problem;
  if (!props.has(PropertyId::error_code)) return "ERROR lacks the required error_code property";
  out.request_id = optional_u32(props, PropertyId::request_id);
  out.subscription_id = optional_u32(props, PropertyId::subscription_id);
  out.wire_code = static_cast<std::uint16_t>(props.integer(PropertyId::error_code));
  out.code = known_error_code(out.wire_code);
  out.message = props.string(PropertyId::error_message);
  if (out.subscription_id && *out.subscription_id == 0)
    return "ERROR carries subscription_id 0, which is reserved";
  return nullptr;
}

const char *parse_subscription(std::span<const std::uint8_t> payload,
                               std::uint32_t &subscription_id) noexcept {
  Properties props;
  if (const char *problem = parse_common(payload, props)) return problem;
  if (!props.has(PropertyId::subscription_id))
    return "SUBSCRIPTION lacks the required subscription_id property";
  subscription_id = static_cast<std::uint32_t>(props.integer(PropertyId::subscription_id));
  if (subscription_id == 0) return "SUBSCRIPTION carries subscription_id 0, which is reserved";
  return nullptr;
}

const char *parse_dropped(std::span<const std::uint8_t> payload, std::uint64_t &count) noexcept {
  Properties props;
  if (const char *problem = parse_common(payload, props)) return problem;
  if (!props.has(PropertyId::dropped_count))
    return "DROPPED lacks the required dropped_count property";
  count = props.integer(PropertyId::dropped_count);
  if (count == 0) return "DROPPED carries dropped_count 0, which is invalid";
  return nullptr;
}

ErrorCode known_error_code(std::uint64_t code) noexcept {
  if (code > static_cast<std::uint64_t>(ErrorCode::pending_limit)) return ErrorCode::internal_error;
  return static_cast<ErrorCode>(code);
}

bool is_connection_error(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::protocol_error:
    case ErrorCode::unknown_frame_type:
    case ErrorCode::missing_subject:
    case ErrorCode::unexpected_subject:
    case ErrorCode::payload_too_large:
    case ErrorCode::truncated_frame:
    case ErrorCode::unsupported_version:
    case ErrorCode::authentication_failed:
    case ErrorCode::too_many_connections:
    case ErrorCode::shutting_down:
    case ErrorCode::pending_limit:
      return true;
    default:
      return false;
  }
}

}  // namespace flume::client_engine
