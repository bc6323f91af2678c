// What an overlay node is configured with (flume-broker --node-name, --cluster-listen, --peer,
// ...; docs/overlay.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace flume::overlay {

struct ClusterConfig {
  std::string node_name;  // must be the common name of certificate_file
  // Node links have a UDP port of their own (not the clients' port): they need mutual TLS,
  // ALPN h3 and other limits, which GnuTLS must know before the ALPN is chosen.
  std::string listen = "[::]:7338";
  std::string ca_file;           // the cluster CA (PEM): the only trust anchor of node links
  std::string certificate_file;  // this node's certificate, issued by that CA
  std::string key_file;
  std::vector<std::string> peers;  // "host:port" of seed nodes to dial
  std::uint8_t lanes = 8;          // lane streams per link this node dials (1..64)
  std::uint8_t hop_limit = 8;      // in the ROUTE of each message this node originates
  std::size_t max_lane_backlog = std::size_t{4} << 20;  // bytes unsent per lane before dropping
  std::size_t max_links = 64;
  std::size_t max_patterns_per_link = 100000;
  std::chrono::milliseconds redial_interval{1000};
  // Probes a second on each link this node dials (0..10, 0 = none): RTT, loss and liveness
  // (docs/overlay.md, "Measuring links").
  unsigned probe_rate = 2;
};

}  // namespace flume::overlay
