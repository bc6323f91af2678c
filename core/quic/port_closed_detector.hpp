// Decides when "port unreachable" reports on a client's connected UDP socket (ECONNREFUSED, from
// ICMP) prove that nothing listens at the peer's port any more, so a broker killed on a live host
// is noticed in about a second instead of at the 30 s idle timeout.
//
// ICMP is not authenticated and can be stale (an error for a packet sent while a broker was
// restarting), so one refusal is only a suspicion: the connection sends a probe at once, and
// only a second refusal within the window, with no packet from the peer in between, is taken as
// proof. A lost packet never draws a refusal, so loss alone can never close a connection here; a
// lost probe or a rate-limited ICMP only lets the suspicion lapse (the next refusal starts over,
// and the idle timeout stays the backstop). What it does not cover: a host that is down or cut
// off sends no ICMP at all, and only the idle timeout notices that.
#pragma once

#include <cstdint>

namespace flume::quic {

class PortClosedDetector {
 public:
  enum class Verdict : std::uint8_t {
    probe,        // a suspicion: send a probe now and see whether it is refused too
    port_closed,  // refused again within the window with nothing heard in between: gone
  };

  // A refusal at `now` (ns on the monotonic clock). `window` (ns): how long a first refusal
  // stays a suspicion.
  Verdict on_refusal(std::uint64_t now, std::uint64_t window) noexcept;
  // Any packet from the peer: it is alive, whatever ICMP said.
  void on_peer_packet() noexcept { suspected_since_ = kNotSuspected; }

  bool suspected() const noexcept { return suspected_since_ != kNotSuspected; }
  // When the pending suspicion began (valid while suspected()).
  std::uint64_t suspected_since() const noexcept { return suspected_since_; }

 private:
  static constexpr std::uint64_t kNotSuspected = UINT64_MAX;
  std::uint64_t suspected_since_ = kNotSuspected;
};

}  // namespace flume::quic
