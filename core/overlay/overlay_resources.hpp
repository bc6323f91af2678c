// The short HTTP/3 exchanges on the cluster port beside the node links' long-lived streams
// (docs/protocol.md 17.9): probes that measure a link and keep it alive, and the node's state
// document (what `flume overlay` prints).
#pragma once

#include <string_view>

namespace flume::overlay {

// GET, answered at once with 200 and no body; both sides carry kMeasurementField.
inline constexpr std::string_view kPingPath = "/.well-known/flume/overlay/1/ping";
// GET, answered with 200 and a JSON document (application/json).
inline constexpr std::string_view kStatePath = "/.well-known/flume/overlay/1/state";
// The sender's numbers for the link: format_link_estimate() (overlay/link_measurement.hpp).
inline constexpr std::string_view kMeasurementField = "flume-link-measurement";
// A state document longer than this is cut short of its per-link pattern lists.
inline constexpr std::size_t kMaxPatternsInState = 1000;

}  // namespace flume::overlay
