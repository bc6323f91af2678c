// A node link's probes and the state resource (docs/protocol.md 17.9): the NodeLink methods
// that speak the short GET exchanges beside the link's long-lived streams. The numbers
// themselves are LinkMeasurement's.
#include <string>

#include "log/log.hpp"
#include "loop/event_loop.hpp"
#include "overlay/node_link.hpp"
#include "overlay/overlay_resources.hpp"

namespace flume::overlay {

namespace {

void take_peer_estimate(const H3Session &h3, std::int64_t stream_id, LinkMeasurement &m) {
  const std::string *field = h3.received_field(stream_id, kMeasurementField);
  if (field == nullptr) return;
  if (auto peer = parse_link_estimate(*field)) m.set_peer_estimate(*peer);
}

}  // namespace

void NodeLink::tick(std::uint64_t now) {
  if (!up_ || closed_ || !h3_) return;
  send_drop_notices();
  measurement_.expire(now);
  // Usability first: a blocked link turns unusable well before it counts as dead (the owner
  // sees the change after this tick, ClusterNode::tick_links).
  measurement_.update_usable(now, dialer());
  if (measurement_.dead(now, dialer())) {
    const auto silence =
        std::chrono::duration_cast<std::chrono::milliseconds>(LinkMeasurement::dead_after_for(
            dialer() ? measurement_.rate() : measurement_.peer_estimate()->rate));
    const std::string reason =
        dialer() ? "no probe answered for " + std::to_string(silence.count()) + " ms"
                 : "no probe arrived for " + std::to_string(silence.count()) + " ms";
    FLUME_LOG(log::Level::warn, "overlay", "link_dead: %s (%s): %s", peer_name_.c_str(),
              connection_.peer_address().to_string().c_str(), reason.c_str());
    dead_ = true;
    closed_ = true;
    // Nothing queued can reach a dead peer: no point waiting for acknowledgements.
    connection_.close(kH3NoError, "link_dead: " + reason, quic::CloseMode::immediate);
    return;
  }
  if (!dialer() || !measurement_.probe_due(now)) return;
  const H3Session::Fields fields = {
      {std::string(kMeasurementField), format_link_estimate(measurement_.estimate())}};
  const std::int64_t stream_id = h3_->open_get(settings_.node_name, kPingPath, fields);
  // A probe that could not even be sent (no stream credit) still counts as unanswered.
  const std::uint64_t id =
      stream_id >= 0 ? static_cast<std::uint64_t>(stream_id) : ~measurement_.estimate().probes_sent;
  measurement_.on_probe_sent(now, id, stream_id >= 0 ? h3_->stream_bytes(stream_id).sent : 0);
}

bool NodeLink::on_probe_response(std::int64_t stream_id, unsigned) {
  // The dialer opens only the control stream, the lanes and probes.
  if (!dialer() || streams_.count(stream_id) != 0 || !h3_) return false;
  // Any answer shows the peer alive; the RTT is the request's until its response headers.
  take_peer_estimate(*h3_, stream_id, measurement_);
  measurement_.on_probe_answered(EventLoop::now_ns(), static_cast<std::uint64_t>(stream_id),
                                 h3_->stream_bytes(stream_id).received);
  return true;
}

bool NodeLink::on_resource_request(std::int64_t stream_id, std::string_view path) {
  if (dialer() || !h3_) return false;
  if (path == kPingPath) {
    take_peer_estimate(*h3_, stream_id, measurement_);
    // The request's bytes only: the response leaves after this read (the dialer's cost, which
    // it reports, counts both).
    measurement_.on_probe_received(EventLoop::now_ns(), h3_->stream_bytes(stream_id).received);
    h3_->respond_complete(
        stream_id, 200,
        {{std::string(kMeasurementField), format_link_estimate(measurement_.estimate())}},
        SharedBuffer());
    return true;
  }
  if (path == kStatePath) {
    const std::string document = owner_.link_state_document();
    SharedBuffer body = SharedBuffer::copy_of(
        {reinterpret_cast<const std::uint8_t *>(document.data()), document.size()});
    if (!body) {
      h3_->respond_complete(stream_id, 503, {}, SharedBuffer());
      return true;
    }
    h3_->respond_complete(stream_id, 200, {{"content-type", "application/json"}}, std::move(body));
    return true;
  }
  return false;
}

}  // namespace flume::overlay
