// Encoding the frames a client sends, each into its own SharedBuffer that the transport keeps until
// QUIC has it acknowledged. The caller has validated subjects and sizes; these return an empty
// buffer only when memory is exhausted or a frame would break the codec's rules.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "codec/shared_buffer.hpp"
#include "protocol/protocol.hpp"
#include "subject/subject.hpp"

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

// A PUBLISH frame encoded before Session::publish is called, possibly on another thread: the
// threaded client encodes it on the application's thread, so a message costs one allocation and
// one subject check. Only encode_publish() makes one, from a CheckedSubject.
class EncodedPublish {
 public:
  EncodedPublish() = default;
  explicit operator bool() const noexcept { return static_cast<bool>(frame_); }
  std::size_t size() const noexcept { return frame_.size(); }  // bytes on the wire
  std::uint32_t payload_size() const noexcept { return payload_size_; }
  SharedBuffer take_frame() noexcept { return std::move(frame_); }

 private:
  friend EncodedPublish encode_publish(CheckedSubject subject,
                                       std::span<const std::uint8_t> payload,
                                       std::uint32_t max_payload) noexcept;
  SharedBuffer frame_;
  std::uint32_t payload_size_ = 0;
};

SharedBuffer encode_hello(const HelloFields &fields) noexcept;
SharedBuffer encode_subscribe(const SubscribeFields &fields) noexcept;
SharedBuffer encode_unsubscribe(std::uint32_t request_id, std::uint32_t subscription_id) noexcept;
// Empty when memory runs out or the payload is over `max_payload`.
EncodedPublish encode_publish(CheckedSubject subject, std::span<const std::uint8_t> payload,
                              std::uint32_t max_payload) noexcept;
// PING or PONG; `payload` at most kMaxPingPayload bytes.
SharedBuffer encode_ping(FrameType type, std::span<const std::uint8_t> payload) noexcept;

}  // namespace flume::client_engine
