// The output formats of flume sub: payload lines, "subject: payload" lines, JSON lines, and
// length-prefixed raw bytes.
#include <nlohmann/json.hpp>

#include "flume_cli.hpp"
#include "text/encoding.hpp"

namespace flume::cli {
namespace {

// Strict UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF): what JSON text may
// carry as is. Anything else goes out as base64.
bool is_utf8(std::span<const std::uint8_t> bytes) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const std::uint8_t c = bytes[i];
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= bytes.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((bytes[i + k] & 0xC0) != 0x80) return false;
      code = (code << 6) | (bytes[i + k] & 0x3F);
    }
    if ((extra == 2 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
        (extra == 3 && (code < 0x10000 || code > 0x10FFFF))) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

std::string_view as_text(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char *>(bytes.data()), bytes.size()};
}

}  // namespace

std::optional<OutputFormat> parse_output_format(std::string_view name) {
  if (name == "payload") return OutputFormat::payload;
  if (name == "line") return OutputFormat::line;
  if (name == "json") return OutputFormat::json;
  if (name == "raw") return OutputFormat::raw;
  return std::nullopt;
}

void format_message(OutputFormat format, std::string_view subject,
                    std::span<const std::uint8_t> payload, std::string &out) {
  switch (format) {
    case OutputFormat::payload:
      out += as_text(payload);
      out += '\n';
      break;
    case OutputFormat::line:
      out += subject;
      out += ": ";
      out += as_text(payload);
      out += '\n';
      break;
    case OutputFormat::json: {
      // Subjects are valid UTF-8 by the protocol's rules; a payload that is not goes as base64.
      nlohmann::ordered_json line = {{"subject", subject}};
      if (is_utf8(payload)) {
        line["payload"] = as_text(payload);
      } else {
        line["payload"] = text::to_base64(payload);
        line["base64"] = true;
      }
      line["size"] = payload.size();
      out += line.dump();
      out += '\n';
      break;
    }
    case OutputFormat::raw: {
      const auto n = static_cast<std::uint32_t>(payload.size());
      const char length[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                              static_cast<char>(n >> 8), static_cast<char>(n)};
      out.append(length, 4);
      out += as_text(payload);
      break;
    }
  }
}

}  // namespace flume::cli
