// The frame: Flume's one unit on the wire. docs/protocol.md is the normative description.
//
//   +--------+-------------+----------------------------+-------------------+-------------------+
//   | type   | subject len | payload length             | subject           | payload           |
//   | 1 byte | 1 byte      | 4 bytes, unsigned, big-end | subject len bytes | payload len bytes |
//   +--------+-------------+----------------------------+-------------------+-------------------+
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace flume {

inline constexpr std::size_t kFrameHeaderSize = 6;
// Payload limit a peer uses unless configured otherwise.
inline constexpr std::uint32_t kDefaultMaxPayload = 64 * 1024;
// No configuration may raise the payload limit above this (16 MiB): it bounds what one frame can
// make a peer buffer.
inline constexpr std::uint32_t kHardMaxPayload = 16 * 1024 * 1024;

enum class FrameType : std::uint8_t {
#define FLUME_FRAME_TYPE(name, value, subject_rule) name = value,
#include "codec/frame_types.def"
#undef FLUME_FRAME_TYPE
};

// Where a frame type puts its subject field.
enum class SubjectRule : std::uint8_t {
  none,     // subject length must be 0
  subject,  // required: a valid subject (no wildcards)
  pattern,  // required: a valid subscription pattern
};

// Returns false for a byte that is not a known frame type.
bool is_known_frame_type(std::uint8_t type) noexcept;
SubjectRule subject_rule(FrameType type) noexcept;
// Lower-case wire name ("publish"), or "unknown".
const char *frame_type_name(FrameType type) noexcept;

// One decoded frame. Views point into the decoder's input or its buffer, valid until the next
// call on the decoder.
struct Frame {
  FrameType type;
  std::string_view subject;
  std::span<const std::uint8_t> payload;
};

// Everything that can be wrong with bytes on the wire. Each has its own message (describe()).
enum class FrameError {
  ok = 0,
  unknown_type,         // type byte is not a known frame type
  missing_subject,      // a type that needs a subject has subject length 0
  unexpected_subject,   // a type that takes no subject has subject length > 0
  invalid_subject,      // subject bytes are not a valid subject / pattern for this type
  payload_too_large,    // payload length over the configured limit
  truncated,            // stream ended in the middle of a frame
  buffer_too_small,     // encoder: the output buffer cannot hold the frame
  invalid_limit,        // a payload limit of 0 or above kHardMaxPayload was configured
  property_truncated,   // a property runs past the end of the payload
  property_duplicate,   // a property id appears twice in one payload
  property_bad_length,  // an integer property has the wrong length
};

const char *describe(FrameError error) noexcept;

// Header fields exactly as read from the six bytes, before any check.
struct FrameHeader {
  std::uint8_t type;
  std::uint8_t subject_length;
  std::uint32_t payload_length;
};

inline FrameHeader read_header(const std::uint8_t *bytes) noexcept {
  return FrameHeader{bytes[0], bytes[1],
                     (std::uint32_t{bytes[2]} << 24) | (std::uint32_t{bytes[3]} << 16) |
                         (std::uint32_t{bytes[4]} << 8) | std::uint32_t{bytes[5]}};
}

inline void write_header(std::uint8_t *bytes, FrameType type, std::uint8_t subject_length,
                         std::uint32_t payload_length) noexcept {
  bytes[0] = static_cast<std::uint8_t>(type);
  bytes[1] = subject_length;
  bytes[2] = static_cast<std::uint8_t>(payload_length >> 24);
  bytes[3] = static_cast<std::uint8_t>(payload_length >> 16);
  bytes[4] = static_cast<std::uint8_t>(payload_length >> 8);
  bytes[5] = static_cast<std::uint8_t>(payload_length);
}

// Checks a header against the type table and the payload limit (not the subject bytes).
FrameError check_header(const FrameHeader &header, std::uint32_t max_payload) noexcept;
// Checks subject bytes against what `type` requires.
FrameError check_subject(FrameType type, std::string_view subject) noexcept;

}  // namespace flume
