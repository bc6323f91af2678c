// Requests on the control stream: HELLO, SUBSCRIBE, UNSUBSCRIBE. Each is answered before the next
// frame is read, so answers leave in request order (6.1).
#include <algorithm>
#include <string>
#include <utility>

#include "broker/broker.hpp"
#include "broker/broker_frames.hpp"
#include "broker/requests.hpp"
#include "broker/session.hpp"
#include "subject/subject.hpp"

namespace flume::broker {
namespace {

std::size_t code_slot(ErrorCode code) noexcept {
  return static_cast<std::size_t>(code);
}

}  // namespace

void Broker::send_control(Session &s, SharedBuffer frame) {
  if (!frame) {
    internal_failure(s);
    return;
  }
  s.transport.send(kControlStreamId, std::move(frame), false);
  // Answers cannot be dropped, so a client that never reads them is closed instead (8.3).
  if (s.transport.unsent_bytes(kControlStreamId) > config_.max_pending_bytes_per_connection) {
    fatal(s, ErrorCode::pending_limit, "the client does not read its control stream", std::nullopt,
          false);
  }
}

void Broker::request_error(Session &s, ErrorCode code, std::string_view message,
                           std::optional<std::uint32_t> request_id,
                           std::optional<std::uint32_t> subscription_id) {
  ++stats_.request_errors[code_slot(code)];
  send_control(s, error_frame(code, message, request_id, subscription_id));
}

void Broker::handle_hello(Session &s, const Frame &frame) {
  HelloRequest hello;
  if (const char *why = parse_hello(frame.payload, hello)) {
    fatal(s, ErrorCode::protocol_error, why);
    return;
  }
  // Section 7: version, then the connection limit, then the token.
  auto refuse = [&](ErrorCode code, std::string_view message) {
    ++stats_.hellos_refused;
    fatal(s, code, message, hello.request_id);
  };
  const std::uint16_t version = std::min(hello.protocol_version, kProtocolVersion);
  if (version == 0) {
    refuse(ErrorCode::unsupported_version, "the broker speaks protocol_versions 1 and 2");
    return;
  }
  if (s.over_limit) {
    refuse(ErrorCode::too_many_connections, "broker is at its connection limit");
    return;
  }
  s.protocol_version = version;
  if (!config_.auth_keys.empty() && !admit_token(s, hello.token, hello.request_id)) return;
  if (config_.authenticate) {
    bool admitted = false;
    try {
      admitted = config_.authenticate(hello.token, hello.client_name);
    } catch (...) {
      ++stats_.internal_errors;
      fatal(s, ErrorCode::internal_error, "authentication hook failed", hello.request_id);
      return;
    }
    if (!admitted) {
      refuse(ErrorCode::authentication_failed, "authentication failed");
      return;
    }
  }
  s.client_name.assign(hello.client_name);
  s.state = SessionState::open;
  if (s.has_deadline) {
    hello_deadlines_.erase(s.deadline);
    s.has_deadline = false;
  }
  ++stats_.hellos_accepted;
  send_control(s, ok_to_hello(hello.request_id, version, config_.server_name, config_.max_payload,
                              config_.max_subscriptions_per_connection));
  if (s.state == SessionState::closed) return;
  replay_held_publishes(s);
}

void Broker::handle_subscribe(Session &s, const Frame &frame) {
  SubscribeRequest request;
  if (const char *why = parse_subscribe(frame.payload, request)) {
    fatal(s, ErrorCode::protocol_error, why);
    return;
  }
  const std::uint32_t id = request.subscription_id;
  if (s.token_checked && !subscribe_granted(s, frame.subject, request.request_id, id)) return;
  if (s.by_id.contains(id)) {
    request_error(s, ErrorCode::duplicate_subscription, "subscription_id is already live",
                  request.request_id, id);
    return;
  }
  if (s.by_id.size() >= config_.max_subscriptions_per_connection) {
    request_error(s, ErrorCode::too_many_subscriptions,
                  "the connection holds max_subscriptions already", request.request_id, id);
    return;
  }
  const std::uint32_t limit = request.queue_limit
                                  ? std::min(*request.queue_limit, config_.max_queue_limit)
                                  : config_.default_queue_limit;

  // Each step either completes or is undone, so an allocation failure leaves nothing half-made.
  s.subscriptions.emplace_back(s, id, request.policy, limit, &memory_);
  Subscription &sub = s.subscriptions.back();
  sub.self = std::prev(s.subscriptions.end());
  SubjectError routed = SubjectError::ok;
  try {
    s.by_id.emplace(id, &sub);
    try {
      SubjectTrie<Subscription *> &router = router_for(s.tenant);
      routed = router.subscribe(frame.subject, &sub, sub.route);
      if (routed == SubjectError::ok) sub.router = &router;
    } catch (...) {
      s.by_id.erase(id);
      forget_tenant_router_if_empty(s.tenant);
      throw;
    }
  } catch (...) {
    s.subscriptions.pop_back();
    throw;
  }
  if (routed != SubjectError::ok) {  // the decoder validated the pattern; kept for safety
    s.by_id.erase(id);
    forget_tenant_router_if_empty(s.tenant);
    s.subscriptions.pop_back();
    request_error(s, ErrorCode::invalid_subject, describe(routed), request.request_id, id);
    return;
  }
  ++stats_.subscribes_accepted;
  interest_added(sub, frame.subject);
  send_control(s, ok_to_subscribe(request.request_id, id, limit));
  if (s.state == SessionState::closed) return;
  request_stream(sub);
}

void Broker::handle_unsubscribe(Session &s, const Frame &frame) {
  UnsubscribeRequest request;
  if (const char *why = parse_unsubscribe(frame.payload, request)) {
    fatal(s, ErrorCode::protocol_error, why);
    return;
  }
  auto it = s.by_id.find(request.subscription_id);
  if (it == s.by_id.end()) {
    request_error(s, ErrorCode::unknown_subscription, "no live subscription has this id",
                  request.request_id, request.subscription_id);
    return;
  }
  Subscription &sub = *it->second;
  stop_routing(sub);
  sub.state = SubscriptionState::draining;
  ++stats_.unsubscribes;
  send_control(s, ok_to_unsubscribe(request.request_id, request.subscription_id));
  if (s.state == SessionState::closed) return;
  // What is queued still goes out, then FIN (6.3).
  if (sub.stream_id >= 0) {
    pump(sub);
  } else {
    note_ended_without_stream(sub);
  }
}

void Broker::answer_invalid_subject(Session &s, const Frame &frame, std::int64_t stream_id) {
  if (frame.type == FrameType::publish) {
    // PUBLISH has no properties: nothing to echo. On the control stream the client locates the
    // error with PING; a publish stream has no order with the control stream, so the message
    // names the stream (for people: 11.2 says a client cannot tie it to one frame).
    ++stats_.publishes_invalid_subject;
    std::string message(describe(validate_subject(frame.subject)));
    if (stream_id != kControlStreamId) {
      message = "PUBLISH on stream " + std::to_string(stream_id) + ": " + message;
    }
    request_error(s, ErrorCode::invalid_subject, message, std::nullopt, std::nullopt);
    return;
  }
  const EchoedIds ids = echoed_ids(frame.payload);
  request_error(s, ErrorCode::invalid_subject, describe(validate_pattern(frame.subject)),
                ids.request_id, ids.subscription_id);
}

}  // namespace flume::broker
