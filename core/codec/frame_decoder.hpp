// Incremental frame decoder: bytes in, in any split, complete frames out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "codec/frame.hpp"

namespace flume {

enum class DecodeStatus {
  frame,      // `frame` holds a complete frame
  need_more,  // every input byte was consumed; no complete frame yet
  error,      // see error(); `frame` is filled in too when the error is invalid_subject
};

// Reads a stream of frames. A frame that arrives whole in one input is returned as views into that
// input (no copy); a frame split across inputs is assembled in an internal buffer that grows to
// the largest frame seen (at most 6 + 255 + max_payload bytes) and is then reused.
//
// Errors: invalid_subject leaves framing intact, so the frame is still returned (the receiver can
// answer it) and decoding may continue. Every other error means the byte stream can no longer be
// trusted: the decoder stays failed and returns the same error until reset().
//
// Not thread-safe; one decoder per stream.
class FrameDecoder {
 public:
  // `max_payload` must be in [1, kHardMaxPayload]; create() reports a bad value, the constructor
  // clamps it.
  explicit FrameDecoder(std::uint32_t max_payload = kDefaultMaxPayload) noexcept;
  FrameDecoder(FrameDecoder &&) noexcept = default;
  FrameDecoder &operator=(FrameDecoder &&) noexcept = default;
  static FrameError create(std::uint32_t max_payload, FrameDecoder &out) noexcept;

  // Consumes bytes from the front of `input` (advancing it) until a frame is complete, the input
  // is used up, or an error is found. Views in `frame` stay valid until the next call.
  DecodeStatus next(std::span<const std::uint8_t> &input, Frame &frame) noexcept;

  // The error behind the last DecodeStatus::error.
  FrameError error() const noexcept { return error_; }

  // To call when the stream ends (FIN): ok between frames, truncated in the middle of one.
  FrameError finish() const noexcept;

  // Bytes of an incomplete frame held so far.
  std::size_t buffered() const noexcept { return header_have_ + body_have_; }
  std::uint32_t max_payload() const noexcept { return max_payload_; }
  // Changes the limit (clamped like the constructor's) from the next frame header on; a header
  // already read keeps the limit it was checked against.
  void set_max_payload(std::uint32_t max_payload) noexcept;

  // Forgets any partial frame and a sticky error.
  void reset() noexcept;

 private:
  DecodeStatus fail(FrameError error) noexcept;
  DecodeStatus emit(std::span<const std::uint8_t> body, Frame &frame) noexcept;

  std::uint32_t max_payload_;
  FrameError error_ = FrameError::ok;
  std::uint8_t header_[kFrameHeaderSize] = {};
  std::size_t header_have_ = 0;
  FrameHeader parsed_{};
  std::size_t body_length_ = 0;  // subject + payload of the frame being read
  // A body that spans inputs is assembled here. Grows to the largest such frame, then is reused.
  std::unique_ptr<std::uint8_t[]> body_;
  std::size_t body_capacity_ = 0;
  std::size_t body_have_ = 0;
};

}  // namespace flume
