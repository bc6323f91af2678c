#include "codec/frame.hpp"

#include "subject/subject.hpp"

namespace flume {

bool is_known_frame_type(std::uint8_t type) noexcept {
  return type >= static_cast<std::uint8_t>(FrameType::hello) &&
         type <= static_cast<std::uint8_t>(FrameType::dropped);
}

TopicRule topic_rule(FrameType type) noexcept {
  switch (type) {
    case FrameType::publish:
    case FrameType::message:
      return TopicRule::subject;
    case FrameType::subscribe:
      return TopicRule::pattern;
    default:
      return TopicRule::none;
  }
}

const char *frame_type_name(FrameType type) noexcept {
  switch (type) {
    case FrameType::hello:
      return "hello";
    case FrameType::ok:
      return "ok";
    case FrameType::error:
      return "error";
    case FrameType::ping:
      return "ping";
    case FrameType::pong:
      return "pong";
    case FrameType::subscribe:
      return "subscribe";
    case FrameType::unsubscribe:
      return "unsubscribe";
    case FrameType::publish:
      return "publish";
    case FrameType::message:
      return "message";
    case FrameType::subscription:
      return "subscription";
    case FrameType::dropped:
      return "dropped";
  }
  return "unknown";
}

const char *describe(FrameError error) noexcept {
  switch (error) {
    case FrameError::ok:
      return "ok";
    case FrameError::unknown_type:
      return "unknown frame type";
    case FrameError::missing_topic:
      return "frame type requires a topic but the topic length is 0";
    case FrameError::unexpected_topic:
      return "frame type takes no topic but the topic length is not 0";
    case FrameError::invalid_topic:
      return "topic is not a valid subject or pattern for this frame type";
    case FrameError::payload_too_large:
      return "payload length exceeds the configured limit";
    case FrameError::truncated:
      return "stream ended in the middle of a frame";
    case FrameError::buffer_too_small:
      return "output buffer is too small for the frame";
    case FrameError::invalid_limit:
      return "payload limit must be between 1 byte and 16 MiB";
    case FrameError::property_truncated:
      return "a property runs past the end of the payload";
    case FrameError::property_duplicate:
      return "a property id appears twice in one payload";
    case FrameError::property_bad_length:
      return "an integer property has the wrong length";
  }
  return "unknown frame error";
}

FrameError check_header(const FrameHeader &header, std::uint32_t max_payload) noexcept {
  if (!is_known_frame_type(header.type)) return FrameError::unknown_type;
  if (header.payload_length > max_payload) return FrameError::payload_too_large;
  const TopicRule rule = topic_rule(static_cast<FrameType>(header.type));
  if (rule == TopicRule::none && header.topic_length != 0) return FrameError::unexpected_topic;
  if (rule != TopicRule::none && header.topic_length == 0) return FrameError::missing_topic;
  return FrameError::ok;
}

FrameError check_topic(FrameType type, std::string_view topic) noexcept {
  switch (topic_rule(type)) {
    case TopicRule::none:
      return topic.empty() ? FrameError::ok : FrameError::unexpected_topic;
    case TopicRule::subject:
      if (topic.empty()) return FrameError::missing_topic;
      return validate_subject(topic) == SubjectError::ok ? FrameError::ok
                                                         : FrameError::invalid_topic;
    case TopicRule::pattern:
      if (topic.empty()) return FrameError::missing_topic;
      return validate_pattern(topic) == SubjectError::ok ? FrameError::ok
                                                         : FrameError::invalid_topic;
  }
  return FrameError::unknown_type;
}

}  // namespace flume
