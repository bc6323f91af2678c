// Bytes in: one FrameDecoder per client stream, the checks of docs/protocol.md 3.4 that depend on
// the stream and the session state, and dispatch of each frame. Framing errors close the
// connection; INVALID_SUBJECT is answered and decoding goes on.
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
    if (!s.first_control_frame_read) {
      // Only the first frame (the HELLO) had the larger limit of 3.3.
      s.first_control_frame_read = true;
      s.control.set_max_payload(s.max_payload_after_first);
    }
    if (status == DecodeStatus::error) {
      on_decode_error(s, StreamKind::control, kControlStreamId, s.control, frame);
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
    PublishStream &stream = it->second;
    const std::size_t cost = data.size() + (fin ? kEndedPublishStreamCost : 0);
    if (cost > pending_room(s)) {
      fatal(s, ErrorCode::pending_limit, "publish streams sent more than is held before HELLO");
      return;
    }
    stream.held.insert(stream.held.end(), data.begin(), data.end());
    stream.held_fin = stream.held_fin || fin;
    charge_held(s, stream, cost);
    return;
  }
  decode_publish(s, stream_id, data, fin);
}

void Broker::charge_held(Session &s, PublishStream &stream, std::size_t bytes) noexcept {
  stream.charged += bytes;
  s.held_bytes += bytes;
  stats_.held_publish_bytes += bytes;
}

void Broker::release_held(Session &s, PublishStream &stream) noexcept {
  s.held_bytes -= stream.charged;
  stats_.held_publish_bytes -= stream.charged;
  stream.charged = 0;
}

void Broker::publish_stream_reset(Session &s, std::int64_t stream_id) {
  auto it = s.publish_streams.find(stream_id);
  if (it == s.publish_streams.end()) return;
  PublishStream &stream = it->second;
  if (s.state != SessionState::awaiting_hello) {
    // Complete frames were routed as they came; only a partial one is left, and a client reset
    // discards it without error (6.2).
    s.publish_streams.erase(it);
    return;
  }
  if (stream.held_fin || stream.held_reset) return;  // ended already; nothing more can come
  if (stream.held.empty() || kEndedPublishStreamCost > pending_room(s)) {
    // Nothing complete to keep (or no room to keep it): the reset discards it all, as it would
    // discard a partial frame after HELLO. The client chose to abandon the stream.
    release_held(s, stream);
    s.publish_streams.erase(it);
    return;
  }
  // The complete frames before the reset are processed once HELLO is accepted, like those of a
  // stream that is still open; a partial frame at the end is dropped then.
  stream.held_reset = true;
  charge_held(s, stream, kEndedPublishStreamCost);
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
      on_decode_error(s, StreamKind::publish, stream_id, decoder, frame);
      continue;
    }
    const char *why = nullptr;
    if (!frame_allowed(s, StreamKind::publish, frame.type, why)) {
      fatal(s, ErrorCode::protocol_error, why);
      return;
    }
    if (s.token_checked && !publish_granted(s, frame.subject, stream_id)) continue;
    route_publish(s, CheckedSubject::from_decoded_frame(frame.subject), frame.payload);
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
    PublishStream &stream = it->second;
    release_held(s, stream);
    std::vector<std::uint8_t> held = std::exchange(stream.held, {});
    const bool fin = std::exchange(stream.held_fin, false);
    const bool reset = std::exchange(stream.held_reset, false);
    decode_publish(s, id, held, fin);
    // A reset stream's complete frames are routed now; a partial one is dropped with it.
    if (reset) s.publish_streams.erase(id);
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
    case FrameType::auth:
      why = "AUTH needs protocol_version 2 or later";
      return s.protocol_version >= kAuthFrameVersion;
    case FrameType::hello:
      why = "a second HELLO on the control stream";
      return false;
    default:
      why = "a frame type the client may not send on the control stream";
      return false;
  }
}

void Broker::on_decode_error(Session &s, StreamKind kind, std::int64_t stream_id,
                             const FrameDecoder &decoder, const Frame &frame) {
  const FrameError error = decoder.error();
  if (error != FrameError::invalid_subject) {
    fatal(s, error_code_for(error), describe(error));
    return;
  }
  // The frame is intact; where it may appear is checked before its subject (3.4, steps 4 and 5).
  const char *why = nullptr;
  if (!frame_allowed(s, kind, frame.type, why)) {
    fatal(s, ErrorCode::protocol_error, why);
    return;
  }
  answer_invalid_subject(s, frame, stream_id);
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
      if (s.token_checked && !publish_granted(s, frame.subject, kControlStreamId)) break;
      route_publish(s, CheckedSubject::from_decoded_frame(frame.subject), frame.payload);
      break;
    case FrameType::auth:
      handle_auth(s, frame);
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
