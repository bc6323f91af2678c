// The control stream (docs/protocol.md 6.1): answers to HELLO, SUBSCRIBE and UNSUBSCRIBE in request
// order, errors about publishes, and PING/PONG.
#include <algorithm>
#include <new>
#include <string>

#include "client_engine/inbound_frames.hpp"
#include "client_engine/outbound_frames.hpp"
#include "client_engine/session.hpp"
#include "client_engine/text.hpp"

namespace flume::client_engine {

using text::code_text;
using text::concat;
using text::quoted;

namespace {

std::string_view request_name(std::uint8_t kind) noexcept {
  constexpr std::string_view kNames[] = {"HELLO", "SUBSCRIBE", "UNSUBSCRIBE"};
  return kNames[kind];
}

std::string_view or_none(std::string_view broker_message) noexcept {
  return broker_message.empty() ? std::string_view("(no error_message)") : broker_message;
}

}  // namespace

// ---- Control stream
// ------------------------------------------------------------------------------

void Session::on_control_frame(const Frame &frame) {
  if (frame.type == FrameType::ok) return on_ok(frame);
  if (frame.type == FrameType::error) return on_error_frame(frame);
  if (state_ == SessionState::handshaking) {
    protocol_error(concat("broker sent ", text::frame_name(frame.type),
                          " on the control stream before answering HELLO; only OK or ERROR may "
                          "come first"));
    return;
  }
  if (frame.type == FrameType::ping) {
    if (frame.payload.size() > kMaxPingPayload) {
      protocol_error(concat("broker sent a PING with ", frame.payload.size(),
                            " payload bytes; PING and PONG carry at most ", kMaxPingPayload));
      return;
    }
    SharedBuffer pong = encode_ping(FrameType::pong, frame.payload);
    if (!pong) throw std::bad_alloc();
    send_control(std::move(pong));
    return;
  }
  if (frame.type == FrameType::pong) return on_pong_frame(frame);
  protocol_error(concat("broker sent ", text::frame_name(frame.type),
                        " on the control stream, where it may send only OK, ERROR, PING and PONG"));
}

bool Session::answers_oldest(std::optional<std::uint32_t> request_id,
                             const PendingRequest &request) noexcept {
  if (!request_id || *request_id == request.request_id) return true;
  std::string message;
  try {
    message = concat("broker answered request_id ", *request_id,
                     ", but the oldest unanswered request is ",
                     request_name(static_cast<std::uint8_t>(request.kind)), " with request_id ",
                     request.request_id, "; answers must come in request order (6.1)");
  } catch (...) {
  }
  protocol_error(message.empty() ? std::string_view("answer out of request order") : message);
  return false;
}

void Session::on_ok(const Frame &frame) {
  if (pending_.empty()) {
    protocol_error("broker sent OK on the control stream, but no request awaits an answer");
    return;
  }
  const PendingRequest request = pending_.front();
  if (request.kind == PendingRequest::Kind::hello) {
    HelloAnswer answer;
    if (const char *problem = parse_hello_answer(frame.payload, answer)) {
      protocol_error(concat("malformed OK to HELLO: ", problem));
      return;
    }
    if (!answers_oldest(answer.request_id, request)) return;
    pending_.pop_front();
    server_.protocol_version = answer.protocol_version;
    server_.server_name = std::string(answer.server_name);
    server_.max_payload = answer.max_payload;
    server_.max_subscriptions = answer.max_subscriptions;
    state_ = SessionState::open;
    events_.on_ready(server_);
    return;
  }
  const std::string_view kind = request_name(static_cast<std::uint8_t>(request.kind));
  RequestAnswer answer;
  if (const char *problem = parse_request_answer(frame.payload, answer)) {
    protocol_error(concat("malformed OK to ", kind, ": ", problem));
    return;
  }
  if (!answers_oldest(answer.request_id, request)) return;
  if (*answer.subscription_id != request.subscription_id) {
    protocol_error(concat("OK names subscription_id ", *answer.subscription_id,
                          ", but the oldest unanswered request is ", kind, " of subscription ",
                          request.subscription_id, "; answers must come in request order (6.1)"));
    return;
  }
  pending_.pop_front();
  if (request.kind == PendingRequest::Kind::subscribe) {
    finish_subscribe(request, ErrorCode::no_error, {}, answer.queue_limit.value_or(0));
  } else {
    finish_unsubscribe(request, ErrorCode::no_error, {});
  }
}

void Session::on_error_frame(const Frame &frame) {
  ErrorReport report;
  if (const char *problem = parse_error(frame.payload, report)) {
    protocol_error(concat("malformed ERROR on the control stream: ", problem));
    return;
  }
  const std::string code = code_text(report.wire_code);
  const std::string_view detail = or_none(report.message);
  if (report.request_id) {
    if (pending_.empty()) {
      protocol_error(concat("broker sent ERROR for request_id ", *report.request_id,
                            ", but no request awaits an answer"));
      return;
    }
    const PendingRequest request = pending_.front();
    if (!answers_oldest(report.request_id, request)) return;
    if (request.kind != PendingRequest::Kind::hello && report.subscription_id &&
        *report.subscription_id != request.subscription_id) {
      protocol_error(concat("ERROR names subscription_id ", *report.subscription_id,
                            ", but the request with request_id ", request.request_id,
                            " is about subscription ", request.subscription_id));
      return;
    }
    pending_.pop_front();
    if (request.kind == PendingRequest::Kind::hello) {
      fail(report.code, concat("broker refused the session (HELLO) with ", code, ": ", detail));
      return;
    }
    if (is_connection_error(report.code)) {
      fail(report.code,
           concat("broker ended the session with ", code, " while answering ",
                  request_name(static_cast<std::uint8_t>(request.kind)), ": ", detail));
      return;
    }
    if (request.kind == PendingRequest::Kind::subscribe) {
      finish_subscribe(request, report.code, report.message, 0);
    } else {
      finish_unsubscribe(request, report.code, report.message);
    }
    return;
  }
  // Every request of this Session carries a request_id, so this ERROR answers none of them.
  if (state_ == SessionState::handshaking) {
    fail(report.code, concat("broker refused the session with ", code, ": ", detail));
    return;
  }
  if (is_connection_error(report.code)) {
    fail(report.code, concat("broker ended the session with ", code, ": ", detail));
    return;
  }
  if (report.code == ErrorCode::invalid_subject) {
    events_.on_error(report.code, concat("broker refused a PUBLISH with ", code, ": ", detail));
  } else {
    events_.on_error(report.code, concat("broker reported ", code, ": ", detail));
  }
}

void Session::on_pong_frame(const Frame &frame) {
  if (frame.payload.size() > kMaxPingPayload) {
    protocol_error(concat("broker sent a PONG with ", frame.payload.size(),
                          " payload bytes; PING and PONG carry at most ", kMaxPingPayload));
    return;
  }
  if (frame.payload.size() != 8) return;  // not one of ours: unsolicited PONGs are ignored (4)
  std::uint64_t token = 0;
  for (std::uint8_t byte : frame.payload)
    token = (token << 8) | byte;
  auto found = std::find(pings_.begin(), pings_.end(), token);
  if (found == pings_.end()) return;
  pings_.erase(found);
  events_.on_pong(token);
}

void Session::finish_subscribe(const PendingRequest &request, ErrorCode code,
                               std::string_view message, std::uint32_t effective_queue_limit) {
  auto found = subscriptions_.find(request.subscription_id);
  Subscription *sub = found != subscriptions_.end() && found->second.serial == request.serial
                          ? &found->second
                          : nullptr;
  std::string text;
  if (code == ErrorCode::no_error) {
    if (sub != nullptr) {
      if (sub->phase == Subscription::Phase::pending) sub->phase = Subscription::Phase::active;
    }
  } else {
    text = concat("broker refused SUBSCRIBE",
                  sub != nullptr ? concat(" to ", quoted(sub->pattern)) : std::string(), " with ",
                  code, ": ", or_none(message));
    // While an UNSUBSCRIBE is on its way the entry stays until that answer (UNKNOWN_SUBSCRIPTION).
    if (sub != nullptr && sub->phase == Subscription::Phase::pending) {
      if (auto stream = streams_.find(sub->stream_id); stream != streams_.end())
        discard_stream(stream->first, stream->second);
      subscriptions_.erase(found);
    }
  }
  events_.on_subscribe_result(request.subscription_id, code, text, effective_queue_limit);
}

void Session::finish_unsubscribe(const PendingRequest &request, ErrorCode code,
                                 std::string_view message) {
  // 6.3: UNKNOWN_SUBSCRIPTION means the broker had already ended it, as the caller wanted.
  if (code == ErrorCode::unknown_subscription) code = ErrorCode::no_error;
  std::string text;
  if (code != ErrorCode::no_error) {
    text = concat("broker refused UNSUBSCRIBE with ", code, ": ", or_none(message),
                  "; the subscription's stream is stopped with STOP_SENDING instead");
  }
  auto found = subscriptions_.find(request.subscription_id);
  if (found != subscriptions_.end() && found->second.serial == request.serial) {
    Subscription &sub = found->second;
    sub.unsubscribe_answered = true;
    if (code != ErrorCode::no_error && sub.stream_id >= 0 && !sub.stream_ended) {
      // STOP_SENDING is an UNSUBSCRIBE the broker cannot refuse (6.3).
      if (auto stream = streams_.find(sub.stream_id); stream != streams_.end())
        discard_stream(stream->first, stream->second);
      sub.stream_ended = true;
    }
    if (sub.stream_id < 0 || sub.stream_ended) subscriptions_.erase(found);
  }
  events_.on_unsubscribed(request.subscription_id, code, text);
}

}  // namespace flume::client_engine
