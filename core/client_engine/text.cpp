#include "client_engine/text.hpp"

namespace flume::client_engine::text {

std::string stream_name(std::int64_t stream_id) {
  if (stream_id == kControlStreamId) return "the control stream";
  return concat("subscription stream ", stream_id);
}

std::string frame_name(FrameType type) {
  std::string name = frame_type_name(type);
  for (char &c : name) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return name;
}

std::string code_text(std::uint64_t code) {
  if (code > static_cast<std::uint64_t>(ErrorCode::pending_limit))
    return concat("error code ", code, " (unknown, treated as INTERNAL_ERROR)");
  return std::string(error_code_name(code));
}

std::string quoted(std::string_view text) {
  constexpr std::size_t kShown = 80;
  constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kShown; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte > 0x20 && byte < 0x7f && byte != '"' && byte != '\\') {
      out.push_back(static_cast<char>(byte));
    } else {
      out.append("\\x");
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xf]);
    }
  }
  out.append(text.size() > kShown ? "\"..." : "\"");
  return out;
}

}  // namespace flume::client_engine::text
