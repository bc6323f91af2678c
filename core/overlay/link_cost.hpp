// What a link costs for routing: the expected one-way time, in microseconds, for a message to
// cross it (docs/overlay.md, "Routes"). The same function on every node, so nodes that hold
// the same map compute the same paths.
//
//   cost = latency / 2                          one way, from a round-trip estimate
//        + loss x (latency + 4 x RTTVAR)        a lost packet costs about one more round trip,
//                                               plus the slack a sender waits to detect it
//        + kHopCostUs                           relaying costs a node's processing, and it
//                                               makes equal paths prefer fewer hops
//
// Sans-I/O: numbers in, a number out.
#pragma once

#include <cstdint>
#include <optional>

#include "overlay/link_measurement.hpp"

namespace flume::overlay {

inline constexpr std::uint64_t kHopCostUs = 500;
// NODE_ADVERT's per-link `cost` is this cost in units of 100 us (docs/protocol.md 17.7).
inline constexpr std::uint64_t kAdvertCostUnitUs = 100;
inline constexpr std::uint16_t kMaxAdvertCost = 65535;
// NODE_ADVERT's `loss_permille` = 1000: the link is up but unusable (probes unanswered).
inline constexpr std::uint16_t kUnusableLossPermille = 1000;

std::uint64_t link_cost_us(std::uint64_t latency_rtt_us, std::uint64_t rttvar_us,
                           std::uint32_t loss_permille) noexcept;

// A link's cost from one end's probe numbers: the routing RTT (LinkEstimate::route_rtt_us),
// RTTVAR and loss. With no probe answered yet, `quic_srtt_us`/`quic_rttvar_us` (QUIC's own
// smoothed RTT) stand in and the loss counts as 0.
std::uint64_t link_cost_us(const LinkEstimate &estimate, std::uint64_t quic_srtt_us,
                           std::uint64_t quic_rttvar_us) noexcept;

// To and from the advert's u16 (rounded up, at least 1, saturating).
std::uint16_t advert_cost(std::uint64_t cost_us) noexcept;
inline std::uint64_t cost_from_advert(std::uint16_t cost) noexcept {
  return std::uint64_t{cost} * kAdvertCostUnitUs;
}

// Whether two costs differ enough to matter: by more than max(10%, 2 ms) of `from`. The same
// margin decides when a route moves (RouteTable) and when a link's new cost is advertised at
// once (ClusterNode): smaller changes are noise for routing.
bool differs_by_margin(std::uint64_t from_us, std::uint64_t to_us) noexcept;
std::uint64_t margin_us(std::uint64_t from_us) noexcept;

}  // namespace flume::overlay
