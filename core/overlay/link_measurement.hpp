// What one node link measures with its probes (docs/overlay.md, "Measuring links";
// docs/protocol.md 17.9): a few small HTTP/3 GET requests a second from the dialer, answered at
// once by the listener.
//
// Sans-I/O like the rest of the overlay's state: probe events and a `now` (nanoseconds on any
// monotonic clock) in, estimates and a liveness verdict out. No socket, timer or clock here, so
// the estimator is tested with numbers alone.
//
// - RTT: RFC 6298's smoothing (alpha 1/8, beta 1/4; the first sample sets SRTT = R and
//   RTTVAR = R/2), and beside it the routing RTT (route_rtt_us): the mean of the last 5 probe
//   RTTs without the highest of them. SRTT is too slow for routing (7+ samples to move 60% of a
//   step); a short mean follows a real change within 4 samples (1 s at 4/s), dropping the highest
//   sample ignores a single spike (RTT noise is one-sided: queues, scheduling and retransmission
//   add delay, nothing removes it), and unlike a median it does not jump between the two levels
//   of a link that alternates faster than the window (a median of such a link swings by the
//   whole amplitude, a mean by a fraction of it, which the route hysteresis absorbs). Probe RTT
//   includes both nodes' loop latency, which QUIC's own estimate (taken from the connection and
//   kept alongside) leaves out by design; the two together say whether a slow link is the network
//   or a busy node.
// - Loss: of the last 64 probes settled (answered, or unanswered after the timeout).
// - Cost: probe bytes (requests and responses as seen by HTTP/3) per second, over 1 s windows.
// - Usability: a link is unusable (kept open, left out of routes) when a probe has been
//   unanswered for longer than max(250 ms, 2 SRTT + 4 RTTVAR) (dialer), or no probe arrived for
//   one period plus that (listener, by the dialer's numbers); usable again after kUsableAfter
//   probes answered (received) in a row. A blocked link (a firewall dropping everything) is so
//   noticed well within 1 s at 4 probes a second, long before it counts as dead.
// - Liveness: the dialer calls a link dead when the probes of at least `dead_after` went
//   unanswered (and at least kDeadProbes were sent in that time); the listener when no probe
//   arrived for `dead_after`. QUIC's idle timeout (30 s) is far too slow to notice a node killed
//   with SIGKILL, and a listener shares its socket with every link, so no ICMP error reaches it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace flume::overlay {

// Numbers a node reports about a link (its own, or the peer's as carried by the
// flume-link-measurement header).
struct LinkEstimate {
  std::uint64_t srtt_us = 0;    // smoothed probe RTT, microseconds (0: no sample yet)
  std::uint64_t rttvar_us = 0;  // its variance (RFC 6298's RTTVAR)
  std::uint32_t lost = 0;       // probes lost among the last `settled`
  std::uint32_t settled = 0;    // probes answered or timed out, at most 64
  std::uint64_t cost_bytes_per_second = 0;
  std::uint64_t probes_sent = 0;      // dialer: requests sent; listener: requests received
  std::uint64_t probes_answered = 0;  // dialer: responses received; listener: responses sent
  unsigned rate = 0;                  // the dialer's probes per second (the listener's liveness)
  std::uint64_t route_rtt_us = 0;     // the routing RTT: recent probes (0: none yet)

  double loss() const noexcept { return settled == 0 ? 0.0 : double(lost) / double(settled); }
};

// The flume-link-measurement header value:
// "rate=N;srtt=US;rttvar=US;lost=N;settled=N;cost=B;recent=US" (recent: route_rtt_us).
std::string format_link_estimate(const LinkEstimate &estimate);
// Unknown keys are skipped (later versions may add some); nullopt when the text is malformed.
std::optional<LinkEstimate> parse_link_estimate(std::string_view text);

class LinkMeasurement {
 public:
  static constexpr std::size_t kLossWindow = 64;
  static constexpr std::uint32_t kDeadProbes = 3;
  static constexpr std::chrono::milliseconds kMinDeadAfter{1500};
  static constexpr std::size_t kRecentRtts = 5;
  static constexpr std::chrono::milliseconds kMinUnusableAfter{250};
  static constexpr std::uint32_t kUsableAfter = 3;

  // `rate` probes a second (0..10; 0 turns probing and probe liveness off). A probe unanswered
  // after `timeout` counts as lost: max(1 s, 2 periods) unless given.
  explicit LinkMeasurement(unsigned rate, std::chrono::nanoseconds timeout = {});

  unsigned rate() const noexcept { return rate_; }
  std::chrono::nanoseconds period() const noexcept { return period_; }
  // max(1.5 s, 3 periods): how long silence lasts before the link counts as dead.
  std::chrono::nanoseconds dead_after() const noexcept { return dead_after_for(rate_); }

  // Measurement starts (the link is up): the liveness clock starts here.
  void start(std::uint64_t now);
  // Dialer: whether a probe is due now; when the next one is due.
  bool probe_due(std::uint64_t now) const noexcept;
  std::uint64_t next_probe_at() const noexcept { return next_probe_; }
  // Dialer: a probe with this id left (`bytes`: its request as sent).
  void on_probe_sent(std::uint64_t now, std::uint64_t id, std::size_t bytes);
  // Dialer: its response arrived (`bytes`: the response as received). Unknown or timed-out ids
  // are ignored (a late answer after the timeout stays lost, as in RFC 6298's Karn rule).
  void on_probe_answered(std::uint64_t now, std::uint64_t id, std::size_t bytes);
  // Listener: a probe request arrived and was answered (`bytes` both ways).
  void on_probe_received(std::uint64_t now, std::size_t bytes);
  // Settles probes past the timeout as lost and rolls the cost window. Call before reading.
  void expire(std::uint64_t now);

  // Whether the link is dead by its probes at `now`: always false before start() and with rate
  // 0; the listener goes by the rate the dialer reported, so not before its first probe.
  bool dead(std::uint64_t now, bool dialer) const noexcept;
  static std::chrono::nanoseconds dead_after_for(unsigned rate) noexcept;

  // Dialer: how long a probe may stay unanswered before the link is unusable:
  // max(250 ms, 2 SRTT + 4 RTTVAR). Listener: one period of the dialer's rate plus the same
  // bound from the dialer's numbers.
  std::chrono::nanoseconds unusable_after(bool dialer) const noexcept;
  // Re-evaluates usability at `now` (call after expire()); true when it changed.
  bool update_usable(std::uint64_t now, bool dialer);
  bool usable() const noexcept { return usable_; }

  LinkEstimate estimate() const noexcept;
  // What the peer reported about the same link (listener: the dialer's numbers).
  void set_peer_estimate(const LinkEstimate &peer) { peer_ = peer; }
  const std::optional<LinkEstimate> &peer_estimate() const noexcept { return peer_; }

 private:
  struct Outstanding {
    std::uint64_t id;
    std::uint64_t sent_at;
  };
  void settle(bool lost);
  void add_cost(std::uint64_t now, std::size_t bytes);

  unsigned rate_;
  std::chrono::nanoseconds period_{0};
  std::chrono::nanoseconds timeout_{0};
  bool started_ = false;
  std::uint64_t next_probe_ = 0;
  std::deque<Outstanding> outstanding_;  // sent, unanswered, not yet timed out; oldest first
  std::uint64_t last_heard_ = 0;         // start, or the last answer (dialer) / request (listener)
  std::uint32_t unanswered_since_heard_ = 0;
  std::uint64_t history_ = 0;  // bit i: the i-th most recent settled probe was lost
  std::uint32_t settled_ = 0;
  std::uint64_t srtt_ns_ = 0;
  std::uint64_t rttvar_ns_ = 0;
  bool has_rtt_ = false;
  std::uint64_t window_start_ = 0;
  std::uint64_t window_bytes_ = 0;
  std::uint64_t cost_ = 0;
  std::uint64_t sent_ = 0;
  std::uint64_t answered_ = 0;
  std::optional<LinkEstimate> peer_;
  std::uint64_t recent_[kRecentRtts] = {};  // the last probe RTTs, ns (a ring)
  std::size_t recent_count_ = 0;            // samples ever taken
  bool usable_ = true;
  std::uint32_t in_row_ = 0;     // probes answered (received) in a row while unusable
  std::uint64_t row_start_ = 0;  // dialer: when the first probe of that row was sent
};

}  // namespace flume::overlay
