// The one parser for "host:port" text, shared by what a broker listens on (--listen) and what a
// client connects to (the host and port of its URL): "host:port", "[v6]:port", "host", and a
// bare IPv6 address without brackets (then without a port). Each caller applies its own rules
// afterwards (an empty host, port 0, the default port).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flume {

struct HostPort {
  std::string host;                   // without brackets; empty if the text had none
  std::optional<std::uint16_t> port;  // none if the text had none
};

// False with `error` saying what is wrong (quoting `text`): a missing ']', something other than
// ":port" after ']', or a port that is not a number from `min_port` to 65535. An empty port
// ("host:") is no port.
bool parse_host_port(std::string_view text, std::uint16_t min_port, HostPort &out,
                     std::string &error);

}  // namespace flume
