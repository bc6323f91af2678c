// Bytes in: one FrameDecoder per client stream, the checks of docs/protocol.md 3.4 that depend on
// the stream and the session state, and dispatch of each frame. Framing errors close the
// connection; INVALID_TOPIC is answered and decoding goes on.
#include <utility>

#include "broker/broker.hpp"
#include "broker/broker_frames.hpp"
#include "broker/session.hpp"

namespace flume::broker {

void Broker::feed_control(Session &s, std::span<const std::uint8_t> data, bool fin) {
  s.control_opened = true;
  std::span<const std::uint8_t> input = data;
  while (!input.empty() && s.state != SessionState::closed) {
    Frame frame{};
    const DecodeStatus status = s.control.next(input, frame);
    if (status == DecodeStatus::need_more) break;
    if (status == DecodeStatus::error) {
      on_decode_error(s, StreamKind::control, s.control, frame);
    } else {
      on_control_frame(s, frame);
    }
  }
  if (!fin || s.state == SessionState::closed) return;
  const FrameError end = s.control.finish();
  if (end != FrameError::ok) {
    fatal(s, error_code_for(end), describe(end));
    return;
  }
  // Ending the control stream ends the session (6.1).
  fatal(s, ErrorCode::no_error, "the client ended the control stream", std::nullopt, false);
}

void Broker::feed_publish(Session &s, std::int64_t stream_id, std::span<const std::uint8_t> data,
                          bool fin) {
  auto it = s.publish_streams.find(stream_id);
  if (it == s.publish_streams.end()) {
    if (data.empty() && !fin) return;
    it = s.publish_streams.try_emplace(stream_id, config_.max_payload).first;
  }
  if (s.state == SessionState::awaiting_hello) {
    // Held, not routed, until HELLO is accepted (6.2); bounded like any pending bytes.
    if (data.size() > pending_room(s)) {
      fatal(s, ErrorCode::pending_limit, "publish streams sent more than is held before HELLO");
      return;
    }
    PublishStream &stream = it->second;
    stream.held.insert(stream.held.end(), data.begin(), data.end());
    s.held_bytes += data.size();
    stats_.held_publish_bytes += data.size();
    stream.held_fin = stream.held_fin || fin;
    return;
  }
  decode_publish(s, stream_id, data, fin);
}

void Broker::decode_publish(Session &s, std::int64_t stream_id, std::span<const std::uint8_t> data,
                            bool fin) {
  auto it = s.publish_streams.find(stream_id);
  if (it == s.publish_streams.end()) return;
  // Routing never adds or removes publish streams, so the reference stays valid in the loop.
  FrameDecoder &decoder = it->second.decoder;
  std::span<const std::uint8_t> input = data;
  while (!input.empty() && s.state != SessionState::closed) {
    Frame frame{};
    const DecodeStatus status = decoder.next(input, frame);
    if (status == DecodeStatus::need_more) break;
    if (status == DecodeStatus::error) {
      on_decode_error(s, StreamKind::publish, decoder, frame);
      continue;
    }
    const char *why = nullptr;
    if (!frame_allowed(s, StreamKind::publish, frame.type, why)) {
      fatal(s, ErrorCode::protocol_error, why);
      return;
    }
    route_publish(s, frame.topic, frame.payload);
  }
  if (!fin || s.state == SessionState::closed) return;
  const FrameError end = decoder.finish();
  if (end != FrameError::ok) {
    fatal(s, error_code_for(end), describe(end));
    return;
  }
  s.publish_streams.erase(stream_id);
}

void Broker::replay_held_publishes(Session &s) {
  std::vector<std::int64_t> ids;
  ids.reserve(s.publish_streams.size());
  for (const auto &entry : s.publish_streams)
    ids.push_back(entry.first);
  for (std::int64_t id : ids) {
    if (s.state == SessionState::closed) return;
    auto it = s.publish_streams.find(id);
    if (it == s.publish_streams.end()) continue;
    std::vector<std::uint8_t> held = std::exchange(it->second.held, {});
    const bool fin = std::exchange(it->second.held_fin, false);
    s.held_bytes -= held.size();
    stats_.held_publish_bytes -= held.size();
    decode_publish(s, id, held, fin);
  }
}

bool Broker::frame_allowed(const Session &s, StreamKind kind, FrameType type,
                           const char *&why) const noexcept {
  if (kind == StreamKind::publish) {
    why = "only PUBLISH frames are allowed on a publish stream";
    return type == FrameType::publish;
  }
  if (s.state == SessionState::awaiting_hello) {
    why = "the first frame on the control stream must be HELLO";
    return type == FrameType::hello;
  }
  switch (type) {
    case FrameType::subscribe:
    case FrameType::unsubscribe:
    case FrameType::publish:
    case FrameType::ping:
    case FrameType::pong:
      return true;
    case FrameType::hello:
      why = "a second HELLO on the control stream";
      return false;
    default:
      why = "a frame type the client may not send on the control stream";
      return false;
  }
}

void Broker::on_decode_error(Session &s, StreamKind kind, const FrameDecoder &decoder,
                             const Frame &frame) {
  const FrameError error = decoder.error();
  if (error != FrameError::invalid_topic) {
    fatal(s, error_code_for(error), describe(error));
    return;
  }
  // The frame is intact; where it may appear is checked before its topic (3.4, steps 4 and 5).
  const char *why = nullptr;
  if (!frame_allowed(s, kind, frame.type, why)) {
    fatal(s, ErrorCode::protocol_error, why);
    return;
  }
  answer_invalid_topic(s, frame);
}

void Broker::on_control_frame(Session &s, const Frame &frame) {
  const char *why = nullptr;
  if (!frame_allowed(s, StreamKind::control, frame.type, why)) {
    fatal(s, ErrorCode::protocol_error, why);
    return;
  }
  switch (frame.type) {
    case FrameType::hello:
      handle_hello(s, frame);
      break;
    case FrameType::subscribe:
      handle_subscribe(s, frame);
      break;
    case FrameType::unsubscribe:
      handle_unsubscribe(s, frame);
      break;
    case FrameType::publish:
      route_publish(s, frame.topic, frame.payload);
      break;
    case FrameType::ping:
      if (frame.payload.size() > kMaxPingPayload) {
        fatal(s, ErrorCode::protocol_error, "PING payload is longer than 64 bytes");
        break;
      }
      // Everything before the PING has been processed already: this is the flush of 6.1.
      send_control(s, pong_frame(frame.payload));
      break;
    case FrameType::pong:
      if (frame.payload.size() > kMaxPingPayload) {
        fatal(s, ErrorCode::protocol_error, "PONG payload is longer than 64 bytes");
      }
      break;  // unsolicited PONGs are ignored
    default:
      break;
  }
}

}  // namespace flume::broker
