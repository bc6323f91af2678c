// Connection: noticing that the peer's port closed after the handshake (the broker process died
// on a host that is still up), from ICMP port unreachable confirmed by a probe.
// Why a suspicion and a probe rather than the first ICMP: port_closed_detector.hpp.
#include <ngtcp2/ngtcp2.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "log/log.hpp"
#include "quic/connection.hpp"
#include "quic/endpoint.hpp"

namespace flume::quic {

namespace {

// How long a first refusal waits for its confirmation. The probe's refusal normally returns
// within one round trip, but the peer host's kernel rate-limits port unreachable (Linux: one per
// second per destination after a burst of 6), so the confirming one may come with the next
// keep-alive a second later; and a long path needs a few PTOs.
constexpr std::uint64_t kMinConfirmWindowNs = 2'000'000'000;

std::uint64_t nanoseconds(std::chrono::milliseconds d) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

}  // namespace

void Connection::on_refused_after_handshake() {
  const std::uint64_t now = EventLoop::now_ns();
  const std::uint64_t window = std::max(kMinConfirmWindowNs, 3 * ngtcp2_conn_get_pto(conn_));
  const std::uint64_t since = port_closed_.suspected_since();
  if (port_closed_.on_refusal(now, window) == PortClosedDetector::Verdict::probe) {
    FLUME_LOG(log::Level::debug, "quic",
              "%s: port unreachable (ICMP); probing to confirm before giving up the connection",
              peer_.to_string().c_str());
    request_probe();
    return;
  }
  CloseInfo info;
  info.reason = CloseReason::unreachable;
  info.by_peer = false;
  // error_code stays 0 as for the other silent ends (idle timeout, stateless reset): the layer
  // above reads a nonzero code on an established connection as the peer's application error.
  info.message = "port closed: nothing listens on " + peer_.to_string() +
                 " any more (ICMP port unreachable twice, " +
                 std::to_string((now - since) / 1'000'000) + " ms apart, nothing heard in between)";
  // No CONNECTION_CLOSE: nobody is there to read it.
  finish(std::move(info));
  retire();
}

void Connection::request_probe() {
  probe_pending_ = true;
  endpoint_.schedule_write(*this);
}

// ngtcp2 1.11 has no call that sends a PING on demand, but its write path adds one to a packet
// whenever the keep-alive timeout has elapsed since the last packet sent or received. A
// keep-alive of 1 ns for the duration of a write pass therefore makes that pass send one
// ack-eliciting packet; the configured keep-alive comes back once a packet went out. (With the
// congestion window full nothing goes out now, but then the PTO's probes are on their way and
// draw the same refusal.)
void Connection::begin_probe_write() noexcept {
  if (probe_pending_) ngtcp2_conn_set_keep_alive_timeout(conn_, 1);
}

void Connection::end_probe_write(std::uint64_t packets_before) noexcept {
  if (!probe_pending_ || packets_sent_ == packets_before) return;
  probe_pending_ = false;
  const auto keep_alive = endpoint_.config().keep_alive;
  ngtcp2_conn_set_keep_alive_timeout(conn_,
                                     keep_alive.count() > 0 ? nanoseconds(keep_alive) : UINT64_MAX);
}

}  // namespace flume::quic
