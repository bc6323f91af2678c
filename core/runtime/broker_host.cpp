#include "runtime/broker_host.hpp"

#include <netdb.h>

#include <algorithm>

namespace flume {

std::vector<SocketAddress> resolve_broker_host(const std::string &host, std::uint16_t port,
                                               std::string &error) {
  std::vector<SocketAddress> out;
  const auto add = [&](SocketAddress address) {
    address.set_port(port);
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  };
  if (host == "localhost") {
    // Both loopbacks, whatever /etc/hosts says (RFC 6761): a broker on [::] or [::1] answers
    // on the first, one on 127.0.0.1 on the second.
    add(*parse_address("::1", port));
    add(*parse_address("127.0.0.1", port));
    return out;
  }
  if (auto numeric = parse_address(host, port)) {
    out.push_back(*numeric);
    return out;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = 0;  // no AI_ADDRCONFIG: an address this machine cannot use fails fast anyway
  addrinfo *found = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (rc != 0 || found == nullptr) {
    error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    return out;
  }
  for (const addrinfo *a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_family == AF_INET || a->ai_family == AF_INET6) {
      add(SocketAddress::from(a->ai_addr, a->ai_addrlen));
    }
  }
  freeaddrinfo(found);
  if (out.empty()) error = "'" + host + "' has no IPv4 or IPv6 address";
  return out;
}

}  // namespace flume
