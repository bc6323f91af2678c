#include "overlay/node_link.hpp"

#include "codec/frame.hpp"
#include "log/log.hpp"
#include "loop/event_loop.hpp"

namespace flume::overlay {

namespace {

std::optional<std::size_t> lane_number(std::string_view path) {
  if (path.substr(0, kLanePathPrefix.size()) != kLanePathPrefix) return std::nullopt;
  std::string_view digits = path.substr(kLanePathPrefix.size());
  if (digits.empty() || digits.size() > 2) return std::nullopt;
  std::size_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  if (n >= kMaxLanes || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  return n;
}

}  // namespace

NodeLink::NodeLink(LinkId id, quic::Connection &connection, LinkOwner &owner, Settings settings)
    : id_(id),
      connection_(connection),
      owner_(owner),
      settings_(std::move(settings)),
      measurement_(settings_.probe_rate),
      sent_log_(settings_.resend_keep_ns, settings_.resend_max_bytes) {}

NodeLink::~NodeLink() = default;

bool NodeLink::start() {
  std::string error;
  h3_ = H3Session::create(connection_, *this, error);
  if (!h3_) {
    close(kH3GeneralProtocolError, "HTTP/3 setup failed: " + error);
    return false;
  }
  if (!dialer()) return true;  // the listener waits for the requests
  control_stream_ = h3_->open_request(settings_.node_name, kControlPath);
  if (control_stream_ >= 0)
    streams_.try_emplace(control_stream_, StreamKind::control, control_limit());
  lanes_.assign(settings_.lanes, -1);
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    lanes_[i] =
        h3_->open_request(settings_.node_name, std::string(kLanePathPrefix) + std::to_string(i));
    if (lanes_[i] < 0) break;
    streams_.try_emplace(lanes_[i], StreamKind::lane, settings_.max_payload);
  }
  if (control_stream_ < 0 || (!lanes_.empty() && lanes_.back() < 0)) {
    close(kH3GeneralProtocolError, "the peer does not allow enough request streams");
    return false;
  }
  h3_->send_body(control_stream_,
                 encode_node_hello(settings_.node_name, settings_.lanes, settings_.epoch));
  return true;
}

void NodeLink::close(std::uint64_t code, const std::string &reason) {
  if (closed_) return;
  send_drop_notices();  // with a flush close they may still get there
  closed_ = true;
  for (const auto &[subject, count] : unreported_drops_)
    counters_.drops_unreported += count;
  unreported_drops_.clear();
  FLUME_LOG(code == kH3NoError ? log::Level::debug : log::Level::warn, "overlay",
            "closing the link with %s (%s): %s", peer_name_.empty() ? "?" : peer_name_.c_str(),
            connection_.peer_address().to_string().c_str(), reason.c_str());
  connection_.close(code, reason,
                    code == kH3NoError ? quic::CloseMode::flush : quic::CloseMode::immediate);
  if (up_) owner_.link_closing(*this);
}

void NodeLink::send_control(const SharedBuffer &frame) {
  if (!up_ || closed_ || !frame) return;
  h3_->send_body(control_stream_, frame);
}

bool NodeLink::forward(std::string_view subject, const SharedBuffer &route,
                       const SharedBuffer &message) {
  if (!up_ || closed_ || lanes_.empty()) return false;
  const std::int64_t lane = lanes_[subject_hash(subject) % lanes_.size()];
  if (h3_->unsent_body_bytes(lane) >= settings_.max_lane_backlog) {
    ++counters_.dropped_backlog;
    note_drop(subject);
    return false;
  }
  h3_->send_body(lane, route, false);
  h3_->send_body(lane, message);
  ++counters_.messages_forwarded;
  counters_.bytes_forwarded += message.size();
  return true;
}

void NodeLink::on_stream_data(std::int64_t stream_id, std::span<const std::uint8_t> data,
                              bool fin) {
  if (h3_) h3_->on_stream_data(stream_id, data, fin);
}

void NodeLink::on_stream_reset(std::int64_t stream_id, std::uint64_t code) {
  if (h3_) h3_->on_stream_reset(stream_id, code);
}

void NodeLink::on_stream_closed(std::int64_t stream_id, std::uint64_t code) {
  if (h3_) h3_->on_stream_closed(stream_id, code);
  streams_.erase(stream_id);
}

void NodeLink::on_request(std::int64_t stream_id, std::string_view path) {
  if (on_resource_request(stream_id, path)) return;
  if (path == kControlPath && control_stream_ < 0) {
    control_stream_ = stream_id;
    streams_.try_emplace(stream_id, StreamKind::control, control_limit());
    h3_->respond(stream_id, 200);
    h3_->send_body(stream_id, encode_node_hello(settings_.node_name, 0, settings_.epoch));
  } else if (auto lane = lane_number(path)) {
    if (lanes_.size() <= *lane) lanes_.resize(*lane + 1, -1);
    if (lanes_[*lane] >= 0) {
      close(kH3GeneralProtocolError, "lane " + std::to_string(*lane) + " opened twice");
      return;
    }
    lanes_[*lane] = stream_id;
    streams_.try_emplace(stream_id, StreamKind::lane, settings_.max_payload);
    h3_->respond(stream_id, 200);
  } else {
    // Not a node-link resource (or a second control stream): refused, the link stays.
    h3_->respond(stream_id, 404);
    return;
  }
  check_up();
}

void NodeLink::on_response(std::int64_t stream_id, unsigned status) {
  if (on_probe_response(stream_id, status)) return;
  if (status != 200) {
    close(kH3GeneralProtocolError, "the peer answered " + std::to_string(status) + " on stream " +
                                       std::to_string(stream_id));
  }
}

void NodeLink::on_body(std::int64_t stream_id, std::span<const std::uint8_t> data) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end() || closed_) return;
  StreamState &stream = it->second;
  OverlayFrame frame{};
  while (!closed_) {
    const auto status = stream.reader.next(data, frame);
    if (status == OverlayFrameReader::Status::need_more) break;
    if (status == OverlayFrameReader::Status::error) {
      close(kH3GeneralProtocolError,
            "stream " + std::to_string(stream_id) + ": " + stream.reader.error());
      break;
    }
    on_frame(stream_id, stream, frame);
  }
}

void NodeLink::on_body_end(std::int64_t stream_id) {
  // Control and lane bodies are open-ended: they end only with the connection.
  if (streams_.count(stream_id) != 0) {
    close(kH3GeneralProtocolError, "the peer ended stream " + std::to_string(stream_id));
  }
}

void NodeLink::on_frame(std::int64_t, StreamState &stream, const OverlayFrame &frame) {
  if (stream.kind == StreamKind::control) {
    on_control_frame(frame);
  } else {
    on_lane_frame(stream, frame);
  }
}

void NodeLink::on_control_frame(const OverlayFrame &frame) {
  if (!hello_received_) {
    if (frame.type != OverlayFrameType::node_hello) {
      close(kH3GeneralProtocolError, "the first control frame is not NODE_HELLO");
      return;
    }
    std::string error;
    auto hello = parse_node_hello(frame.payload, error);
    if (!hello) {
      close(kH3GeneralProtocolError, error);
      return;
    }
    const std::string certified = connection_.peer_certificate_name();
    if (hello->node_name != certified) {
      close(kH3GeneralProtocolError, "NODE_HELLO names '" + hello->node_name +
                                         "' but the certificate names '" + certified + "'");
      return;
    }
    if (dialer() ? hello->lanes != 0 : (hello->lanes == 0 || lanes_.size() > hello->lanes)) {
      close(kH3GeneralProtocolError, "NODE_HELLO with a wrong lane count");
      return;
    }
    if (!dialer()) lanes_.resize(hello->lanes, -1);
    peer_name_ = hello->node_name;
    peer_epoch_ = hello->epoch;
    hello_received_ = true;
    check_up();
    return;
  }
  switch (frame.type) {
    case OverlayFrameType::node_advert:
      owner_.link_advert(*this, frame.payload, frame.whole);
      return;
    case OverlayFrameType::node_interest:
      owner_.link_node_interest(*this, frame.payload, frame.whole);
      return;
    case OverlayFrameType::link_dropped:
      if (const auto dropped = parse_link_dropped(frame.payload)) {
        counters_.drops_received += dropped->count;
        owner_.link_dropped(*this, frame.subject, *dropped);
      } else {
        close(kH3GeneralProtocolError, "malformed LINK_DROPPED");
      }
      return;
    default:
      close(kH3GeneralProtocolError, "a lane frame on the control stream");
  }
}

void NodeLink::on_lane_frame(StreamState &stream, const OverlayFrame &frame) {
  if (frame.type == OverlayFrameType::route) {
    std::string error;
    auto route = parse_route(frame.payload, error);
    if (!route || stream.route) {
      close(kH3GeneralProtocolError, route ? "two ROUTE frames in a row" : error);
      return;
    }
    stream.route = std::move(*route);
    return;
  }
  if (frame.type != OverlayFrameType::message || !stream.route) {
    close(kH3GeneralProtocolError, frame.type == OverlayFrameType::message
                                       ? "MESSAGE without ROUTE"
                                       : "a control frame on a lane");
    return;
  }
  if (check_subject(FrameType::message, frame.subject) != FrameError::ok) {
    close(kH3GeneralProtocolError, "MESSAGE with an invalid subject");
    return;
  }
  const RouteHeader route = std::move(*stream.route);
  stream.route.reset();
  ++counters_.messages_received;
  owner_.link_message(*this, route, frame.subject, frame.whole);
}

void NodeLink::check_up() {
  if (up_ || closed_ || !hello_received_ || control_stream_ < 0) return;
  for (std::int64_t lane : lanes_) {
    if (lane < 0) return;
  }
  up_ = true;
  measurement_.start(EventLoop::now_ns());
  owner_.link_up(*this);
}

}  // namespace flume::overlay
