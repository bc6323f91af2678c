#include "overlay/link_cost.hpp"

#include <algorithm>

namespace flume::overlay {

namespace {

constexpr std::uint64_t kMinMarginUs = 2000;

}  // namespace

std::uint64_t link_cost_us(std::uint64_t latency_rtt_us, std::uint64_t rttvar_us,
                           std::uint32_t loss_permille) noexcept {
  const std::uint64_t loss = std::min<std::uint32_t>(loss_permille, 1000);
  // Bounded inputs (a u32 RTT at most) keep the products far from overflow.
  const std::uint64_t rtt = std::min<std::uint64_t>(latency_rtt_us, UINT32_MAX);
  const std::uint64_t var = std::min<std::uint64_t>(rttvar_us, UINT32_MAX);
  return rtt / 2 + loss * (rtt + 4 * var) / 1000 + kHopCostUs;
}

std::uint64_t link_cost_us(const LinkEstimate &e, std::uint64_t quic_srtt_us,
                           std::uint64_t quic_rttvar_us) noexcept {
  const std::uint64_t rtt = e.route_rtt_us != 0 ? e.route_rtt_us : e.srtt_us;
  if (rtt == 0) return link_cost_us(quic_srtt_us, quic_rttvar_us, 0);
  const std::uint32_t loss =
      e.settled == 0 ? 0 : static_cast<std::uint32_t>(std::uint64_t{e.lost} * 1000 / e.settled);
  return link_cost_us(rtt, e.rttvar_us, loss);
}

std::uint16_t advert_cost(std::uint64_t cost_us) noexcept {
  const std::uint64_t units = (cost_us + kAdvertCostUnitUs - 1) / kAdvertCostUnitUs;
  return static_cast<std::uint16_t>(std::clamp<std::uint64_t>(units, 1, kMaxAdvertCost));
}

std::uint64_t margin_us(std::uint64_t from_us) noexcept {
  return std::max(kMinMarginUs, from_us / 10);
}

bool differs_by_margin(std::uint64_t from_us, std::uint64_t to_us) noexcept {
  const std::uint64_t diff = from_us > to_us ? from_us - to_us : to_us - from_us;
  return diff > margin_us(from_us);
}

}  // namespace flume::overlay
