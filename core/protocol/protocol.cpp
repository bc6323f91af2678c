#include "protocol/protocol.hpp"

namespace flume {

std::string_view error_code_name(std::uint64_t code) noexcept {
  switch (code) {
#define FLUME_WIRE_ERROR(enumerator, value, name) \
  case value:                                     \
    return #name;
#include "protocol/wire_errors.def"
#undef FLUME_WIRE_ERROR
  }
  return "INTERNAL_ERROR";
}

ErrorCode error_code_for(FrameError error) noexcept {
  switch (error) {
    case FrameError::unknown_type:
      return ErrorCode::unknown_frame_type;
    case FrameError::missing_subject:
      return ErrorCode::missing_subject;
    case FrameError::unexpected_subject:
      return ErrorCode::unexpected_subject;
    case FrameError::invalid_subject:
      return ErrorCode::invalid_subject;
    case FrameError::payload_too_large:
      return ErrorCode::payload_too_large;
    case FrameError::truncated:
      return ErrorCode::truncated_frame;
    case FrameError::property_truncated:
    case FrameError::property_duplicate:
    case FrameError::property_bad_length:
      return ErrorCode::protocol_error;
    case FrameError::ok:
      return ErrorCode::no_error;
    case FrameError::buffer_too_small:
    case FrameError::invalid_limit:
      return ErrorCode::internal_error;
  }
  return ErrorCode::internal_error;
}

}  // namespace flume
