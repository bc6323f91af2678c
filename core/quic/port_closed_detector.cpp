#include "quic/port_closed_detector.hpp"

namespace flume::quic {

PortClosedDetector::Verdict PortClosedDetector::on_refusal(std::uint64_t now,
                                                           std::uint64_t window) noexcept {
  if (suspected() && now >= suspected_since_ && now - suspected_since_ <= window) {
    return Verdict::port_closed;
  }
  // No suspicion yet, or one too old to pair with this refusal: this one starts a new one.
  suspected_since_ = now;
  return Verdict::probe;
}

}  // namespace flume::quic
