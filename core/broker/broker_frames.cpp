#include "broker/broker_frames.hpp"

#include <cstring>

#include "broker/requests.hpp"
#include "codec/frame_encoder.hpp"
#include "codec/properties.hpp"

namespace flume::broker {
namespace {

// Room for the largest properties payload written here: an ERROR with a 1024-byte message.
constexpr std::size_t kPropertiesScratch = 1200;

SharedBuffer frame_of(FrameType type, std::string_view subject,
                      std::span<const std::uint8_t> payload) noexcept {
  SharedBuffer buffer = SharedBuffer::allocate(frame_size(subject.size(), payload.size()));
  if (!buffer) return buffer;
  std::size_t written = 0;
  const FrameError error = encode_frame(
      type, subject, payload, std::span<std::uint8_t>(buffer.mutable_data(), buffer.size()),
      written, kHardMaxPayload);
  if (error != FrameError::ok) return {};
  return buffer;
}

SharedBuffer properties_frame(FrameType type, const PropertyWriter &properties) noexcept {
  if (!properties.ok()) return {};
  return frame_of(type, {}, properties.bytes());
}

}  // namespace

std::string_view truncate_utf8(std::string_view text, std::size_t limit) noexcept {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  // Step back over continuation bytes (10xxxxxx) so the cut lands before a lead byte.
  while (end > 0 && (static_cast<std::uint8_t>(text[end]) & 0xC0) == 0x80)
    --end;
  return text.substr(0, end);
}

SharedBuffer message_frame(CheckedSubject subject, std::span<const std::uint8_t> payload) noexcept {
  SharedBuffer buffer = SharedBuffer::allocate(frame_size(subject.view().size(), payload.size()));
  if (!buffer) return buffer;
  std::size_t written = 0;
  const FrameError error = encode_frame(
      FrameType::message, subject, payload,
      std::span<std::uint8_t>(buffer.mutable_data(), buffer.size()), written, kHardMaxPayload);
  if (error != FrameError::ok) return {};
  return buffer;
}

SharedBuffer pong_frame(std::span<const std::uint8_t> payload) noexcept {
  return frame_of(FrameType::pong, {}, payload);
}

SharedBuffer ok_to_hello(std::optional<std::uint32_t> request_id, std::uint16_t protocol_version,
                         std::string_view server_name, std::uint32_t max_payload,
                         std::uint32_t max_subscriptions) noexcept {
  std::uint8_t scratch[kPropertiesScratch];
  PropertyWriter properties(scratch);
  if (request_id) properties.put_u32(PropertyId::request_id, *request_id);
  properties.put_u16(PropertyId::protocol_version, protocol_version);
  server_name = truncate_utf8(server_name, kMaxServerName);
  if (!server_name.empty()) properties.put_string(PropertyId::server_name, server_name);
  properties.put_u32(PropertyId::max_payload, max_payload);
  properties.put_u32(PropertyId::max_subscriptions, max_subscriptions);
  return properties_frame(FrameType::ok, properties);
}

SharedBuffer ok_to_subscribe(std::optional<std::uint32_t> request_id, std::uint32_t subscription_id,
                             std::uint32_t queue_limit) noexcept {
  std::uint8_t scratch[32];
  PropertyWriter properties(scratch);
  if (request_id) properties.put_u32(PropertyId::request_id, *request_id);
  properties.put_u32(PropertyId::subscription_id, subscription_id);
  properties.put_u32(PropertyId::queue_limit, queue_limit);
  return properties_frame(FrameType::ok, properties);
}

SharedBuffer ok_to_unsubscribe(std::optional<std::uint32_t> request_id,
                               std::uint32_t subscription_id) noexcept {
  std::uint8_t scratch[32];
  PropertyWriter properties(scratch);
  if (request_id) properties.put_u32(PropertyId::request_id, *request_id);
  properties.put_u32(PropertyId::subscription_id, subscription_id);
  return properties_frame(FrameType::ok, properties);
}

SharedBuffer ok_to_auth(std::optional<std::uint32_t> request_id) noexcept {
  std::uint8_t scratch[16];
  PropertyWriter properties(scratch);
  if (request_id) properties.put_u32(PropertyId::request_id, *request_id);
  return properties_frame(FrameType::ok, properties);
}

SharedBuffer error_frame(ErrorCode code, std::string_view message,
                         std::optional<std::uint32_t> request_id,
                         std::optional<std::uint32_t> subscription_id) noexcept {
  std::uint8_t scratch[kPropertiesScratch];
  PropertyWriter properties(scratch);
  if (request_id) properties.put_u32(PropertyId::request_id, *request_id);
  if (subscription_id) properties.put_u32(PropertyId::subscription_id, *subscription_id);
  properties.put_u16(PropertyId::error_code, static_cast<std::uint16_t>(code));
  message = truncate_utf8(message, kMaxErrorMessage);
  if (!message.empty()) properties.put_string(PropertyId::error_message, message);
  return properties_frame(FrameType::error, properties);
}

SharedBuffer subscription_frame(std::uint32_t subscription_id) noexcept {
  std::uint8_t scratch[8];
  PropertyWriter properties(scratch);
  properties.put_u32(PropertyId::subscription_id, subscription_id);
  return properties_frame(FrameType::subscription, properties);
}

SharedBuffer dropped_frame(std::uint64_t dropped_count) noexcept {
  std::uint8_t scratch[12];
  PropertyWriter properties(scratch);
  properties.put_u64(PropertyId::dropped_count, dropped_count);
  return properties_frame(FrameType::dropped, properties);
}

}  // namespace flume::broker
