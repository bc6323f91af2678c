#include "broker/requests.hpp"

#include "codec/properties.hpp"

namespace flume::broker {
namespace {

// Parsing plus the checks that hold for a known id whatever frame carries it: the codec already
// refuses duplicates, overruns and wrong integer widths; string and bytes caps are added here.
const char *parse_common(std::span<const std::uint8_t> payload, Properties &out) noexcept {
  const FrameError error = out.parse(payload);
  if (error != FrameError::ok) return describe(error);
  struct Cap {
    PropertyId id;
    std::size_t max;
    const char *message;
  };
  static constexpr Cap kCaps[] = {
      {PropertyId::client_name, kMaxClientName, "client_name is longer than 255 bytes"},
      {PropertyId::client_library, kMaxClientLibrary, "client_library is longer than 255 bytes"},
      {PropertyId::token, kMaxToken, "token is longer than 4096 bytes"},
      {PropertyId::error_message, kMaxErrorMessage, "error_message is longer than 1024 bytes"},
      {PropertyId::server_name, kMaxServerName, "server_name is longer than 255 bytes"},
  };
  for (const Cap &cap : kCaps) {
    if (out.has(cap.id) && out.bytes(cap.id).size() > cap.max) return cap.message;
  }
  return nullptr;
}

std::optional<std::uint32_t> optional_u32(const Properties &properties, PropertyId id) noexcept {
  if (!properties.has(id)) return std::nullopt;
  return static_cast<std::uint32_t>(properties.integer(id));
}

}  // namespace

const char *parse_hello(std::span<const std::uint8_t> payload, HelloRequest &out) noexcept {
  Properties properties;
  if (const char *error = parse_common(payload, properties)) return error;
  if (!properties.has(PropertyId::protocol_version)) return "HELLO without protocol_version";
  out.request_id = optional_u32(properties, PropertyId::request_id);
  out.protocol_version =
      static_cast<std::uint16_t>(properties.integer(PropertyId::protocol_version));
  out.client_name = properties.string(PropertyId::client_name);
  out.client_library = properties.string(PropertyId::client_library);
  out.token = properties.bytes(PropertyId::token);
  return nullptr;
}

const char *parse_auth(std::span<const std::uint8_t> payload, AuthRequest &out) noexcept {
  Properties properties;
  if (const char *error = parse_common(payload, properties)) return error;
  if (!properties.has(PropertyId::token)) return "AUTH without token";
  out.request_id = optional_u32(properties, PropertyId::request_id);
  out.token = properties.bytes(PropertyId::token);
  return nullptr;
}

const char *parse_subscribe(std::span<const std::uint8_t> payload, SubscribeRequest &out) noexcept {
  Properties properties;
  if (const char *error = parse_common(payload, properties)) return error;
  if (!properties.has(PropertyId::subscription_id)) return "SUBSCRIBE without subscription_id";
  out.request_id = optional_u32(properties, PropertyId::request_id);
  out.subscription_id = static_cast<std::uint32_t>(properties.integer(PropertyId::subscription_id));
  if (out.subscription_id == 0) return "subscription_id 0 is not allowed";
  const std::uint64_t policy = properties.integer(
      PropertyId::overflow_policy, static_cast<std::uint8_t>(OverflowPolicy::drop_oldest));
  if (policy < static_cast<std::uint8_t>(OverflowPolicy::drop_oldest) ||
      policy > static_cast<std::uint8_t>(OverflowPolicy::close)) {
    return "overflow_policy must be 1, 2 or 3";
  }
  out.policy = static_cast<OverflowPolicy>(policy);
  out.queue_limit = optional_u32(properties, PropertyId::queue_limit);
  if (out.queue_limit && *out.queue_limit == 0) return "queue_limit 0 is not allowed";
  return nullptr;
}

const char *parse_unsubscribe(std::span<const std::uint8_t> payload,
                              UnsubscribeRequest &out) noexcept {
  Properties properties;
  if (const char *error = parse_common(payload, properties)) return error;
  if (!properties.has(PropertyId::subscription_id)) return "UNSUBSCRIBE without subscription_id";
  out.request_id = optional_u32(properties, PropertyId::request_id);
  out.subscription_id = static_cast<std::uint32_t>(properties.integer(PropertyId::subscription_id));
  if (out.subscription_id == 0) return "subscription_id 0 is not allowed";
  return nullptr;
}

EchoedIds echoed_ids(std::span<const std::uint8_t> payload) noexcept {
  Properties properties;
  EchoedIds ids;
  if (parse_common(payload, properties) != nullptr) return ids;
  ids.request_id = optional_u32(properties, PropertyId::request_id);
  ids.subscription_id = optional_u32(properties, PropertyId::subscription_id);
  if (ids.subscription_id == 0u) ids.subscription_id.reset();  // ERROR may not carry id 0
  return ids;
}

}  // namespace flume::broker
