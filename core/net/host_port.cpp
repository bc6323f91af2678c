#include "net/host_port.hpp"

#include <charconv>

namespace flume {

bool parse_host_port(std::string_view text, std::uint16_t min_port, HostPort &out,
                     std::string &error) {
  // Built with append, not operator+: GCC 12 warns falsely (-Wrestrict) on "'" + std::string.
  const auto fail = [&](std::string_view why) {
    error.assign(1, '\'').append(text).append("': ").append(why);
    return false;
  };
  out = HostPort{};
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return fail("missing ']' after an IPv6 address");
    }
    out.host = std::string(text.substr(1, close - 1));
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') {
        return fail("expected ':port' after ']'");
      }
      port = text.substr(close + 2);
      has_port = true;
    }
  } else if (const auto colon = text.rfind(':');
             colon != std::string_view::npos && text.find(':') == colon) {
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    has_port = true;
  } else {
    out.host = std::string(text);  // no colon, or a bare IPv6 address (several colons)
  }
  if (has_port && !port.empty()) {  // "host:" is "host": the default port
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value < min_port ||
        value > 65535) {
      return fail("the port must be a number from " + std::to_string(min_port) + " to 65535");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return true;
}

}  // namespace flume
