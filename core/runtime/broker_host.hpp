// The addresses a client tries for a broker's host name, in order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "net/udp_socket.hpp"

namespace flume {

// A numeric address: itself. "localhost": [::1] then 127.0.0.1, whatever /etc/hosts says, so a
// broker on [::], [::1] or 127.0.0.1 is found. Any other name: every IPv4 and IPv6 address
// getaddrinfo gives (in its order, RFC 6724; without AI_ADDRCONFIG, so both loopbacks of a name
// come back; an address this machine cannot use fails at once and the next is tried), without
// duplicates. Blocks on DNS. Empty, with `error` saying why, when the name does not resolve.
std::vector<SocketAddress> resolve_broker_host(const std::string &host, std::uint16_t port,
                                               std::string &error);

}  // namespace flume
