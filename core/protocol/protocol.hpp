// Protocol constants from docs/protocol.md that both the broker and the client engines use.
#pragma once

#include <cstdint>
#include <string_view>

#include "codec/frame.hpp"

namespace flume {

inline constexpr std::string_view kAlpn = "flume/1";
inline constexpr std::uint16_t kDefaultPort = 7337;
// Version 2 adds the AUTH frame (token renewal) and the error codes PERMISSION_DENIED and
// TOKEN_EXPIRED (docs/protocol.md section 19); everything else is version 1.
inline constexpr std::uint16_t kProtocolVersion = 2;
// The first version in which a client may send AUTH.
inline constexpr std::uint16_t kAuthFrameVersion = 2;
inline constexpr std::size_t kMaxPingPayload = 64;
inline constexpr std::int64_t kControlStreamId = 0;

// docs/protocol.md section 11.1. Used in ERROR frames and as QUIC application error codes.
enum class ErrorCode : std::uint16_t {
#define FLUME_WIRE_ERROR(enumerator, value, name) enumerator = value,
#include "protocol/wire_errors.def"
#undef FLUME_WIRE_ERROR
};

// docs/protocol.md section 8.3.
enum class OverflowPolicy : std::uint8_t { drop_oldest = 1, drop_newest = 2, close = 3 };

// Upper-case wire name ("SLOW_CONSUMER"); "INTERNAL_ERROR" for codes this version does not know
// (section 11.1: unknown codes are treated like INTERNAL_ERROR).
std::string_view error_code_name(std::uint64_t code) noexcept;

// The protocol error for a codec error found while decoding a stream.
ErrorCode error_code_for(FrameError error) noexcept;

}  // namespace flume
