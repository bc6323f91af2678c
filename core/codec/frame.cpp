#include "codec/frame.hpp"

#include "subject/subject.hpp"

namespace flume {

bool is_known_frame_type(std::uint8_t type) noexcept {
  switch (type) {
#define FLUME_FRAME_TYPE(name, value, subject_rule) case value:
#include "codec/frame_types.def"
#undef FLUME_FRAME_TYPE
    return true;
  }
  return false;
}

SubjectRule subject_rule(FrameType type) noexcept {
  switch (type) {
#define FLUME_FRAME_TYPE(name, value, rule) \
  case FrameType::name:                     \
    return SubjectRule::rule;
#include "codec/frame_types.def"
#undef FLUME_FRAME_TYPE
  }
  return SubjectRule::none;
}

const char *frame_type_name(FrameType type) noexcept {
  switch (type) {
#define FLUME_FRAME_TYPE(name, value, subject_rule) \
  case FrameType::name:                             \
    return #name;
#include "codec/frame_types.def"
#undef FLUME_FRAME_TYPE
  }
  return "unknown";
}

const char *describe(FrameError error) noexcept {
  switch (error) {
    case FrameError::ok:
      return "ok";
    case FrameError::unknown_type:
      return "unknown frame type";
    case FrameError::missing_subject:
      return "frame type requires a subject but the subject length is 0";
    case FrameError::unexpected_subject:
      return "frame type takes no subject but the subject length is not 0";
    case FrameError::invalid_subject:
      return "subject is not a valid subject or pattern for this frame type";
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
  const SubjectRule rule = subject_rule(static_cast<FrameType>(header.type));
  if (rule == SubjectRule::none && header.subject_length != 0)
    return FrameError::unexpected_subject;
  if (rule != SubjectRule::none && header.subject_length == 0) return FrameError::missing_subject;
  return FrameError::ok;
}

FrameError check_subject(FrameType type, std::string_view subject) noexcept {
  switch (subject_rule(type)) {
    case SubjectRule::none:
      return subject.empty() ? FrameError::ok : FrameError::unexpected_subject;
    case SubjectRule::subject:
      if (subject.empty()) return FrameError::missing_subject;
      return validate_subject(subject) == SubjectError::ok ? FrameError::ok
                                                           : FrameError::invalid_subject;
    case SubjectRule::pattern:
      if (subject.empty()) return FrameError::missing_subject;
      return validate_pattern(subject) == SubjectError::ok ? FrameError::ok
                                                           : FrameError::invalid_subject;
  }
  return FrameError::unknown_type;
}

}  // namespace flume
