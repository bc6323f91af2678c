// Building the sentences in errors and events. Internal to core/client_engine.
#pragma once

#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/protocol.hpp"

namespace flume::client_engine::text {

inline void append(std::string &out, std::string_view part) {
  out.append(part);
}
inline void append(std::string &out, const char *part) {
  out.append(part);
}
inline void append(std::string &out, const std::string &part) {
  out.append(part);
}
template <std::integral Integer>
void append(std::string &out, Integer value) {
  out.append(std::to_string(value));
}
inline void append(std::string &out, ErrorCode code) {
  out.append(error_code_name(static_cast<std::uint64_t>(code)));
}

// May throw std::bad_alloc; the Session's entry points catch it.
template <typename... Parts>
std::string concat(const Parts &...parts) {
  std::string out;
  (append(out, parts), ...);
  return out;
}

// "the control stream" or "subscription stream 7".
std::string stream_name(std::int64_t stream_id);

// Upper-case wire name of a frame type ("SUBSCRIPTION"), as the specification writes them.
std::string frame_name(FrameType type);

// Name of an error code as received: "SLOW_CONSUMER", or "error code 4660 (unknown, treated as
// INTERNAL_ERROR)".
std::string code_text(std::uint64_t code);

// `text` in double quotes, with bytes outside printable ASCII, '"' and '\' as \xNN, so a subject
// with a control byte is readable in a message. Long texts are cut after 80 bytes ("...").
std::string quoted(std::string_view text);

}  // namespace flume::client_engine::text
