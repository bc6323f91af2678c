#include "client_engine/outbound_frames.hpp"

#include <array>

#include "codec/frame_encoder.hpp"
#include "codec/properties.hpp"

namespace flume::client_engine {
namespace {

// The largest properties payload a client sends: HELLO with every property at its maximum
// (request_id, protocol_version, client_name, client_library, token).
constexpr std::size_t kMaxRequestProperties =
    (3 + 4) + (3 + 2) + (3 + 255) + (3 + 255) + (3 + 4096);

SharedBuffer encode(FrameType type, std::string_view subject, std::span<const std::uint8_t> payload,
                    std::uint32_t max_payload = kDefaultMaxPayload) noexcept {
  SharedBuffer frame = SharedBuffer::allocate(frame_size(subject.size(), payload.size()));
  if (!frame) return {};
  std::size_t written = 0;
  if (encode_frame(type, subject, payload, {frame.mutable_data(), frame.size()}, written,
                   max_payload) != FrameError::ok) {
    return {};
  }
  return frame;
}

}  // namespace

SharedBuffer encode_hello(const HelloFields &fields) noexcept {
  std::array<std::uint8_t, kMaxRequestProperties> properties;
  PropertyWriter writer(properties);
  writer.put_u32(PropertyId::request_id, fields.request_id)
      .put_u16(PropertyId::protocol_version, kProtocolVersion);
  if (!fields.client_name.empty()) writer.put_string(PropertyId::client_name, fields.client_name);
  if (!fields.client_library.empty())
    writer.put_string(PropertyId::client_library, fields.client_library);
  if (!fields.token.empty()) writer.put_bytes(PropertyId::token, fields.token);
  if (!writer.ok()) return {};
  return encode(FrameType::hello, {}, writer.bytes());
}

SharedBuffer encode_subscribe(const SubscribeFields &fields) noexcept {
  std::array<std::uint8_t, 32> properties;
  PropertyWriter writer(properties);
  writer.put_u32(PropertyId::request_id, fields.request_id)
      .put_u32(PropertyId::subscription_id, fields.subscription_id);
  // Sent even when it is the default, so the broker's logs show what the client asked for.
  writer.put_u8(PropertyId::overflow_policy, static_cast<std::uint8_t>(fields.policy));
  if (fields.queue_limit != 0) writer.put_u32(PropertyId::queue_limit, fields.queue_limit);
  if (!writer.ok()) return {};
  return encode(FrameType::subscribe, fields.pattern, writer.bytes());
}

SharedBuffer encode_unsubscribe(std::uint32_t request_id, std::uint32_t subscription_id) noexcept {
  std::array<std::uint8_t, 14> properties;
  PropertyWriter writer(properties);
  writer.put_u32(PropertyId::request_id, request_id)
      .put_u32(PropertyId::subscription_id, subscription_id);
  if (!writer.ok()) return {};
  return encode(FrameType::unsubscribe, {}, writer.bytes());
}

EncodedPublish encode_publish(CheckedSubject subject, std::span<const std::uint8_t> payload,
                              std::uint32_t max_payload) noexcept {
  EncodedPublish out;
  SharedBuffer frame = SharedBuffer::allocate(frame_size(subject.view().size(), payload.size()));
  if (!frame) return out;
  std::size_t written = 0;
  if (encode_frame(FrameType::publish, subject, payload, {frame.mutable_data(), frame.size()},
                   written, max_payload) != FrameError::ok) {
    return out;
  }
  out.frame_ = std::move(frame);
  out.payload_size_ = static_cast<std::uint32_t>(payload.size());
  return out;
}

SharedBuffer encode_ping(FrameType type, std::span<const std::uint8_t> payload) noexcept {
  if (payload.size() > kMaxPingPayload) return {};
  return encode(type, {}, payload);
}

}  // namespace flume::client_engine
