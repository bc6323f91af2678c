// Frame encoder: writes frames into memory the caller provides.
// Nothing here allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "codec/frame.hpp"
#include "subject/subject.hpp"

namespace flume {

// Bytes a frame with this subject and payload occupies on the wire.
constexpr std::size_t frame_size(std::size_t subject_length, std::size_t payload_length) noexcept {
  return kFrameHeaderSize + subject_length + payload_length;
}

// The largest frame a peer with this payload limit can send or receive.
constexpr std::size_t max_frame_size(std::uint32_t max_payload) noexcept {
  return frame_size(255, max_payload);
}

// Writes a complete frame (header, subject, payload) into `out` after checking the subject against
// the frame type and the payload against `max_payload`. On success `written` is the frame size.
FrameError encode_frame(FrameType type, std::string_view subject,
                        std::span<const std::uint8_t> payload, std::span<std::uint8_t> out,
                        std::size_t &written,
                        std::uint32_t max_payload = kDefaultMaxPayload) noexcept;

// The same for a PUBLISH or MESSAGE whose subject was checked already: the subject is not
// validated again (other frame types are checked as above).
FrameError encode_frame(FrameType type, CheckedSubject subject,
                        std::span<const std::uint8_t> payload, std::span<std::uint8_t> out,
                        std::size_t &written,
                        std::uint32_t max_payload = kDefaultMaxPayload) noexcept;

// Writes only the header and subject of a frame whose payload the caller sends separately (for
// example by scatter/gather from a shared buffer, so a fan-out never copies the payload).
FrameError encode_frame_prefix(FrameType type, std::string_view subject,
                               std::uint32_t payload_length, std::span<std::uint8_t> out,
                               std::size_t &written,
                               std::uint32_t max_payload = kDefaultMaxPayload) noexcept;

}  // namespace flume
