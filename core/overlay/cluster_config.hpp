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
  // The address other nodes dial this one at, in its NODE_ADVERT (--cluster-advertise).
  // "" = the listen address once bound, unless that is a wildcard (then none is advertised and
  // only nodes that know this one as a seed dial it).
  std::string advertise;
  // A NODE_ADVERT is sent on every change of this node's links and at least this often; one not
  // refreshed within 3 intervals ages out.
  std::chrono::milliseconds advert_interval{10000};
  // Nodes learnt from adverts are dialled while this node has fewer links than this
  // (--cluster-max-links). Seeds (--peer) are always dialled.
  std::size_t learnt_dial_limit = 16;
  // Test aid only (no flag, no TOML key): node names this node never links with (it closes
  // their links and does not dial them), to build topologies that are not a full mesh on one
  // machine.
  std::vector<std::string> refuse_peers;
  // Probes a second on each link this node dials (0..10, 0 = none): RTT, loss and liveness
  // (docs/overlay.md, "Measuring links").
  unsigned probe_rate = 2;
  // In-order delivery across path switches (docs/overlay.md, "Path switches"): how long a
  // message that came ahead of a missing one waits for it (--cluster-reorder-ms; then the gap
  // is counted lost), and how many bytes may wait so, for all origins together.
  std::chrono::milliseconds reorder_window{150};
  std::size_t reorder_max_bytes = std::size_t{4} << 20;
  // What each link keeps of what it sent, to re-send along other routes when it fails.
  std::chrono::milliseconds resend_keep{1000};
  std::size_t resend_max_bytes = std::size_t{2} << 20;
};

}  // namespace flume::overlay
