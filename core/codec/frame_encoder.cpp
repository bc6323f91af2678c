#include "codec/frame_encoder.hpp"

#include <algorithm>

namespace flume {

FrameError encode_frame_prefix(FrameType type, std::string_view subject,
                               std::uint32_t payload_length, std::span<std::uint8_t> out,
                               std::size_t &written, std::uint32_t max_payload) noexcept {
  written = 0;
  if (!is_known_frame_type(static_cast<std::uint8_t>(type))) return FrameError::unknown_type;
  if (subject.size() > 255) return FrameError::invalid_subject;
  if (payload_length > std::min(max_payload, kHardMaxPayload)) return FrameError::payload_too_large;
  FrameError subject_error = check_subject(type, subject);
  if (subject_error != FrameError::ok) return subject_error;
  const std::size_t prefix = kFrameHeaderSize + subject.size();
  if (out.size() < prefix) return FrameError::buffer_too_small;

  write_header(out.data(), type, static_cast<std::uint8_t>(subject.size()), payload_length);
  std::copy(subject.begin(), subject.end(), out.data() + kFrameHeaderSize);
  written = prefix;
  return FrameError::ok;
}

FrameError encode_frame(FrameType type, std::string_view subject,
                        std::span<const std::uint8_t> payload, std::span<std::uint8_t> out,
                        std::size_t &written, std::uint32_t max_payload) noexcept {
  written = 0;
  if (payload.size() > std::min(max_payload, kHardMaxPayload)) return FrameError::payload_too_large;
  if (out.size() < frame_size(subject.size(), payload.size())) {
    // Report a bad frame before a small buffer: the frame error is the one the caller must fix.
    std::size_t ignored = 0;
    std::uint8_t scratch[kFrameHeaderSize + 255];
    FrameError error = encode_frame_prefix(
        type, subject, static_cast<std::uint32_t>(payload.size()), scratch, ignored, max_payload);
    return error != FrameError::ok ? error : FrameError::buffer_too_small;
  }
  std::size_t prefix = 0;
  FrameError error = encode_frame_prefix(type, subject, static_cast<std::uint32_t>(payload.size()),
                                         out, prefix, max_payload);
  if (error != FrameError::ok) return error;
  std::copy(payload.begin(), payload.end(), out.data() + prefix);
  written = prefix + payload.size();
  return FrameError::ok;
}

}  // namespace flume
