#include "codec/frame_encoder.hpp"

#include <algorithm>

namespace flume {
namespace {

// `subject_checked`: the caller holds a CheckedSubject for a frame type that carries a subject,
// so validate_subject() already accepted it.
FrameError write_prefix(FrameType type, std::string_view subject, std::uint32_t payload_length,
                        std::span<std::uint8_t> out, std::size_t &written,
                        std::uint32_t max_payload, bool subject_checked) noexcept {
  written = 0;
  if (!is_known_frame_type(static_cast<std::uint8_t>(type))) return FrameError::unknown_type;
  if (subject.size() > 255) return FrameError::invalid_subject;
  if (payload_length > std::min(max_payload, kHardMaxPayload)) return FrameError::payload_too_large;
  if (!subject_checked) {
    FrameError subject_error = check_subject(type, subject);
    if (subject_error != FrameError::ok) return subject_error;
  }
  const std::size_t prefix = kFrameHeaderSize + subject.size();
  if (out.size() < prefix) return FrameError::buffer_too_small;

  write_header(out.data(), type, static_cast<std::uint8_t>(subject.size()), payload_length);
  std::copy(subject.begin(), subject.end(), out.data() + kFrameHeaderSize);
  written = prefix;
  return FrameError::ok;
}

FrameError write_frame(FrameType type, std::string_view subject,
                       std::span<const std::uint8_t> payload, std::span<std::uint8_t> out,
                       std::size_t &written, std::uint32_t max_payload,
                       bool subject_checked) noexcept {
  written = 0;
  if (payload.size() > std::min(max_payload, kHardMaxPayload)) return FrameError::payload_too_large;
  if (out.size() < frame_size(subject.size(), payload.size())) {
    // Report a bad frame before a small buffer: the frame error is the one the caller must fix.
    std::size_t ignored = 0;
    std::uint8_t scratch[kFrameHeaderSize + 255];
    FrameError error = write_prefix(type, subject, static_cast<std::uint32_t>(payload.size()),
                                    scratch, ignored, max_payload, subject_checked);
    return error != FrameError::ok ? error : FrameError::buffer_too_small;
  }
  std::size_t prefix = 0;
  FrameError error = write_prefix(type, subject, static_cast<std::uint32_t>(payload.size()), out,
                                  prefix, max_payload, subject_checked);
  if (error != FrameError::ok) return error;
  std::copy(payload.begin(), payload.end(), out.data() + prefix);
  written = prefix + payload.size();
  return FrameError::ok;
}

}  // namespace

FrameError encode_frame_prefix(FrameType type, std::string_view subject,
                               std::uint32_t payload_length, std::span<std::uint8_t> out,
                               std::size_t &written, std::uint32_t max_payload) noexcept {
  return write_prefix(type, subject, payload_length, out, written, max_payload, false);
}

FrameError encode_frame(FrameType type, std::string_view subject,
                        std::span<const std::uint8_t> payload, std::span<std::uint8_t> out,
                        std::size_t &written, std::uint32_t max_payload) noexcept {
  return write_frame(type, subject, payload, out, written, max_payload, false);
}

FrameError encode_frame(FrameType type, CheckedSubject subject,
                        std::span<const std::uint8_t> payload, std::span<std::uint8_t> out,
                        std::size_t &written, std::uint32_t max_payload) noexcept {
  // A checked subject is a valid subject, which is what these types carry; any other type gets
  // the full check (a subject where none belongs, for one).
  const bool carries_subject = subject_rule(type) == SubjectRule::subject;
  return write_frame(type, subject.view(), payload, out, written, max_payload, carries_subject);
}

}  // namespace flume
