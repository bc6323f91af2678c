#include "codec/frame_decoder.hpp"

#include <algorithm>
#include <new>
#include <string_view>

namespace flume {

FrameDecoder::FrameDecoder(std::uint32_t max_payload) noexcept
    : max_payload_(std::clamp<std::uint32_t>(max_payload, 1, kHardMaxPayload)) {}

FrameError FrameDecoder::create(std::uint32_t max_payload, FrameDecoder &out) noexcept {
  if (max_payload == 0 || max_payload > kHardMaxPayload) return FrameError::invalid_limit;
  out = FrameDecoder(max_payload);
  return FrameError::ok;
}

void FrameDecoder::set_max_payload(std::uint32_t max_payload) noexcept {
  max_payload_ = std::clamp<std::uint32_t>(max_payload, 1, kHardMaxPayload);
}

void FrameDecoder::reset() noexcept {
  error_ = FrameError::ok;
  header_have_ = 0;
  body_length_ = 0;
  body_have_ = 0;
}

FrameError FrameDecoder::finish() const noexcept {
  if (error_ != FrameError::ok && error_ != FrameError::invalid_subject) return error_;
  return buffered() == 0 ? FrameError::ok : FrameError::truncated;
}

DecodeStatus FrameDecoder::fail(FrameError error) noexcept {
  error_ = error;
  return DecodeStatus::error;
}

DecodeStatus FrameDecoder::emit(std::span<const std::uint8_t> body, Frame &frame) noexcept {
  const auto type = static_cast<FrameType>(parsed_.type);
  frame.type = type;
  frame.subject =
      std::string_view(reinterpret_cast<const char *>(body.data()), parsed_.subject_length);
  frame.payload = body.subspan(parsed_.subject_length);
  header_have_ = 0;
  body_length_ = 0;
  body_have_ = 0;  // body_ keeps its bytes (the views) and capacity until the next frame needs it
  FrameError subject_error = check_subject(type, frame.subject);
  if (subject_error != FrameError::ok) {
    error_ = subject_error;  // recoverable: framing is intact
    return DecodeStatus::error;
  }
  error_ = FrameError::ok;
  return DecodeStatus::frame;
}

DecodeStatus FrameDecoder::next(std::span<const std::uint8_t> &input, Frame &frame) noexcept {
  if (error_ != FrameError::ok && error_ != FrameError::invalid_subject) return DecodeStatus::error;

  if (header_have_ < kFrameHeaderSize) {
    // Fast path: a whole header at the front of the input needs no copy.
    if (header_have_ == 0 && input.size() >= kFrameHeaderSize) {
      parsed_ = read_header(input.data());
      input = input.subspan(kFrameHeaderSize);
      header_have_ = kFrameHeaderSize;
    } else {
      std::size_t take = std::min(kFrameHeaderSize - header_have_, input.size());
      std::copy_n(input.data(), take, header_ + header_have_);
      header_have_ += take;
      input = input.subspan(take);
      if (header_have_ < kFrameHeaderSize) return DecodeStatus::need_more;
      parsed_ = read_header(header_);
    }
    FrameError header_error = check_header(parsed_, max_payload_);
    if (header_error != FrameError::ok) return fail(header_error);
    body_length_ = std::size_t{parsed_.subject_length} + parsed_.payload_length;
  }

  if (body_have_ == 0 && input.size() >= body_length_) {
    std::span<const std::uint8_t> body = input.first(body_length_);
    input = input.subspan(body_length_);
    return emit(body, frame);
  }

  if (body_have_ == 0 && body_capacity_ < body_length_) {
    // new (std::nothrow): a peer must not be able to crash us; failing here is an error instead.
    body_.reset(new (std::nothrow) std::uint8_t[body_length_]);
    body_capacity_ = body_ ? body_length_ : 0;
    if (!body_) return fail(FrameError::payload_too_large);
  }
  std::size_t take = std::min(body_length_ - body_have_, input.size());
  std::copy_n(input.data(), take, body_.get() + body_have_);
  body_have_ += take;
  input = input.subspan(take);
  if (body_have_ < body_length_) return DecodeStatus::need_more;
  return emit(std::span<const std::uint8_t>(body_.get(), body_length_), frame);
}

}  // namespace flume
