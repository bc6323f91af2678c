#include "protocol/protocol.hpp"

namespace flume {

std::string_view error_code_name(std::uint64_t code) noexcept {
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::no_error:
      return "NO_ERROR";
    case ErrorCode::protocol_error:
      return "PROTOCOL_ERROR";
    case ErrorCode::unknown_frame_type:
      return "UNKNOWN_FRAME_TYPE";
    case ErrorCode::missing_subject:
      return "MISSING_SUBJECT";
    case ErrorCode::unexpected_subject:
      return "UNEXPECTED_SUBJECT";
    case ErrorCode::invalid_subject:
      return "INVALID_SUBJECT";
    case ErrorCode::payload_too_large:
      return "PAYLOAD_TOO_LARGE";
    case ErrorCode::truncated_frame:
      return "TRUNCATED_FRAME";
    case ErrorCode::unsupported_version:
      return "UNSUPPORTED_VERSION";
    case ErrorCode::authentication_failed:
      return "AUTHENTICATION_FAILED";
    case ErrorCode::too_many_connections:
      return "TOO_MANY_CONNECTIONS";
    case ErrorCode::too_many_subscriptions:
      return "TOO_MANY_SUBSCRIPTIONS";
    case ErrorCode::duplicate_subscription:
      return "DUPLICATE_SUBSCRIPTION";
    case ErrorCode::unknown_subscription:
      return "UNKNOWN_SUBSCRIPTION";
    case ErrorCode::slow_consumer:
      return "SLOW_CONSUMER";
    case ErrorCode::shutting_down:
      return "SHUTTING_DOWN";
    case ErrorCode::internal_error:
      return "INTERNAL_ERROR";
    case ErrorCode::pending_limit:
      return "PENDING_LIMIT";
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
