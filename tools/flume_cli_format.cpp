// The output formats of flume sub: payload lines, "subject: payload" lines, JSON lines, and
// length-prefixed raw bytes.
#include <cstdio>

#include "flume_cli.hpp"

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

void append_json_string(std::string_view text, std::string &out) {
  out += '"';
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void append_base64(std::span<const std::uint8_t> bytes, std::string &out) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest > 0) {
    const std::uint32_t v = (bytes[i] << 16) | (rest == 2 ? bytes[i + 1] << 8 : 0);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
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
      out += "{\"subject\":";
      append_json_string(subject, out);  // subjects are valid UTF-8 by the protocol's rules
      out += ",\"payload\":";
      if (is_utf8(payload)) {
        append_json_string(as_text(payload), out);
      } else {
        out += '"';
        append_base64(payload, out);
        out += "\",\"base64\":true";
      }
      out += ",\"size\":" + std::to_string(payload.size()) + "}\n";
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
