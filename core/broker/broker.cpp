// Broker lifecycle: sessions opening and closing, the entry points that dispatch to the input,
// request and delivery code, timers, shutdown and statistics.
#include "broker/broker.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "broker/broker_frames.hpp"
#include "broker/requests.hpp"
#include "broker/session.hpp"
#include "broker/subscription.hpp"
#include "log/log.hpp"

namespace flume::broker {
namespace {

BrokerConfig clamped(BrokerConfig config) {
  config.max_payload = std::clamp<std::uint32_t>(config.max_payload, 1, kHardMaxPayload);
  config.default_queue_limit = std::max<std::uint32_t>(config.default_queue_limit, 1);
  config.max_queue_limit = std::max(config.max_queue_limit, config.default_queue_limit);
  config.stream_window_bytes = std::max<std::size_t>(config.stream_window_bytes, 1);
  if (config.max_memory_bytes == 0) config.max_memory_bytes = default_memory_budget();
  config.hello_timeout = std::max(config.hello_timeout, std::chrono::nanoseconds::zero());
  config.server_name = std::string(truncate_utf8(config.server_name, kMaxServerName));
  return config;
}

std::string_view code_name(ErrorCode code) noexcept {
  return error_code_name(static_cast<std::uint64_t>(code));
}

std::size_t code_slot(ErrorCode code) noexcept {
  const auto slot = static_cast<std::size_t>(code);
  return slot < kErrorCodeSlots ? slot : static_cast<std::size_t>(ErrorCode::internal_error);
}

bool is_client_uni(std::int64_t stream_id) noexcept {
  return (stream_id & 0x3) == 0x2;
}
bool is_server_uni(std::int64_t stream_id) noexcept {
  return (stream_id & 0x3) == 0x3;
}

}  // namespace

// Marks one entry into the Broker from outside. Calls made while one is running come from inside
// a transport or hook call and are refused; the outermost one frees what ended during it.
class Broker::CallScope {
 public:
  explicit CallScope(Broker &broker) noexcept : broker_(broker), entered_(broker.depth_ == 0) {
    if (entered_) {
      ++broker_.depth_;
    } else {
      ++broker_.stats_.reentrant_calls_refused;
    }
  }
  ~CallScope() {
    if (entered_) broker_.end_call();
  }
  CallScope(const CallScope &) = delete;
  CallScope &operator=(const CallScope &) = delete;
  bool entered() const noexcept { return entered_; }

 private:
  Broker &broker_;
  bool entered_;
};

Broker::Broker(BrokerConfig config) : config_(clamped(std::move(config))) {
  // close_session() from inside a transport call must not need to allocate to be deferred.
  deferred_close_.reserve(16);
}

Broker::~Broker() {
  // Tear down before members go: sessions' subscriptions point into the router and graveyard.
  for (auto &entry : sessions_)
    teardown(*entry.second);
  sessions_.clear();
  graveyard_.clear();
}

Session *Broker::find(const Session *session) const noexcept {
  if (session == nullptr) return nullptr;
  auto it = sessions_.find(session);
  return it == sessions_.end() ? nullptr : it->second.get();
}

void Broker::end_call() noexcept {
  // depth_ stays 1 while freeing, so anything the frees trigger is still refused.
  while (!deferred_close_.empty()) {
    Session *session = deferred_close_.back();
    deferred_close_.pop_back();
    destroy(session);
  }
  graveyard_.clear();
  depth_ = 0;
}

Session *Broker::open_session(SessionTransport &transport, std::uint64_t now_ns, std::string peer) {
  CallScope scope(*this);
  if (!scope.entered()) return nullptr;
  Session *raw = nullptr;
  try {
    // The first frame on the control stream may be as large as the default limit (3.3): the
    // client cannot know ours before the OK, and a HELLO with a long token must not fail on a
    // broker configured small. feed_control applies config_.max_payload after that frame.
    auto session = std::make_unique<Session>(transport, std::move(peer), config_.max_payload,
                                             std::max(config_.max_payload, kDefaultMaxPayload));
    raw = session.get();
    sessions_.emplace(raw, std::move(session));
  } catch (...) {
    ++stats_.internal_errors;
    ++stats_.connection_closes[code_slot(ErrorCode::internal_error)];
    try {
      transport.close(static_cast<std::uint64_t>(ErrorCode::internal_error),
                      "broker out of memory");
    } catch (...) {
    }
    return nullptr;
  }
  ++stats_.sessions_opened;

  auto refuse_now = [&](ErrorCode code, std::string_view reason) {
    FLUME_LOG(code == ErrorCode::shutting_down ? log::Level::debug : log::Level::info, "broker",
              "refused %s: %.*s (%.*s)", raw->peer.c_str(),
              static_cast<int>(code_name(code).size()), code_name(code).data(),
              static_cast<int>(reason.size()), reason.data());
    raw->state = SessionState::closed;
    ++stats_.refused_at_open;
    ++stats_.connection_closes[code_slot(code)];
    try {
      transport.close(static_cast<std::uint64_t>(code), reason);
    } catch (...) {
      ++stats_.internal_errors;
    }
    return raw;
  };
  if (shutting_down_) return refuse_now(ErrorCode::shutting_down, "broker is shutting down");
  const bool over_limit = active_ >= config_.max_connections;
  if (over_limit && refusing_ >= config_.max_refusing_connections) {
    return refuse_now(ErrorCode::too_many_connections, "broker is at its connection limit");
  }
  const std::uint64_t timeout = static_cast<std::uint64_t>(config_.hello_timeout.count());
  const std::uint64_t deadline = now_ns > UINT64_MAX - timeout ? UINT64_MAX : now_ns + timeout;
  try {
    raw->deadline = hello_deadlines_.emplace(deadline, raw);
  } catch (...) {
    ++stats_.internal_errors;
    return refuse_now(ErrorCode::internal_error, "broker out of memory");
  }
  raw->has_deadline = true;
  raw->over_limit = over_limit;
  raw->opened_ns = now_ns;
  if (!config_.auth_keys.empty()) raw->opened_unix_ms = unix_now_ms();
  ++(over_limit ? refusing_ : active_);
  return raw;
}

void Broker::close_session(Session *session) {
  if (depth_ > 0) {
    // From inside a transport call (typically close()): free it when the outer call ends.
    if (find(session) != nullptr && std::find(deferred_close_.begin(), deferred_close_.end(),
                                              session) == deferred_close_.end()) {
      try {
        deferred_close_.push_back(session);
      } catch (...) {
        ++stats_.internal_errors;  // stays allocated until the Broker goes; nothing dangles
      }
    }
    return;
  }
  CallScope scope(*this);
  destroy(session);
}

void Broker::destroy(Session *session) noexcept {
  Session *s = find(session);
  if (s == nullptr) return;
  teardown(*s);  // no transport calls: the connection is gone
  sessions_.erase(s);
}

void Broker::deliver_forwarded(CheckedSubject subject, const SharedBuffer &message_frame) {
  CallScope scope(*this);
  if (!scope.entered()) return;
  route_forwarded(subject, message_frame);
}

void Broker::count_cluster_drops(CheckedSubject subject, std::uint64_t count) {
  CallScope scope(*this);
  if (!scope.entered() || count == 0) return;
  matched_.clear();
  router_.match(subject.view(), [this](Subscription *sub) { matched_.push_back(sub); });
  for (Subscription *sub : matched_) {
    if (sub->state != SubscriptionState::live) continue;
    try {
      sub->queue.add_tail_drops(count);
      sub->dropped += count;
      sub->session.dropped += count;
      stats_.dropped_in_cluster += count;
      pump(*sub);
    } catch (...) {
      internal_failure(sub->session);  // only the subscriber's own transport can throw
    }
  }
  matched_.clear();
}

void Broker::on_stream_data(Session *session, std::int64_t stream_id,
                            std::span<const std::uint8_t> data, bool fin) {
  CallScope scope(*this);
  if (!scope.entered()) return;
  Session *s = find(session);
  if (s == nullptr || s->state == SessionState::closed) return;
  try {
    if (stream_id == kControlStreamId) {
      feed_control(*s, data, fin);
    } else if (is_client_uni(stream_id)) {
      feed_publish(*s, stream_id, data, fin);
    } else {
      // Another client bidirectional stream (never granted) or a stream only we may send on.
      fatal(*s, ErrorCode::protocol_error, "data on a stream the client may not send on");
    }
  } catch (...) {
    internal_failure(*s);
  }
  if (s->state == SessionState::closed) s->publish_streams.clear();  // decoders are idle now
}

void Broker::on_stream_reset(Session *session, std::int64_t stream_id, std::uint64_t) {
  CallScope scope(*this);
  if (!scope.entered()) return;
  Session *s = find(session);
  if (s == nullptr || s->state == SessionState::closed) return;
  try {
    if (stream_id == kControlStreamId) {
      // Only the client's half is gone: ours still carries the ERROR explaining the close.
      fatal(*s, ErrorCode::protocol_error, "the client reset the control stream");
    } else if (is_client_uni(stream_id)) {
      publish_stream_reset(*s, stream_id);
    }
  } catch (...) {
    internal_failure(*s);
  }
}

void Broker::on_stream_stopped(Session *session, std::int64_t stream_id, std::uint64_t app_error) {
  CallScope scope(*this);
  if (!scope.entered()) return;
  Session *s = find(session);
  if (s == nullptr || s->state == SessionState::closed) return;
  try {
    if (stream_id == kControlStreamId) {
      s->control_writable = false;  // nothing more can be written on it, not even an ERROR
      fatal(*s, ErrorCode::protocol_error, "the client stopped the control stream (STOP_SENDING)");
    } else if (is_server_uni(stream_id)) {
      subscription_stream_stopped(*s, stream_id, app_error);
    }
  } catch (...) {
    internal_failure(*s);
  }
}

void Broker::on_stream_closed(Session *session, std::int64_t stream_id, std::uint64_t app_error) {
  CallScope scope(*this);
  if (!scope.entered()) return;
  Session *s = find(session);
  if (s == nullptr || s->state == SessionState::closed) return;
  try {
    if (stream_id == kControlStreamId) {
      // The broker never ends its half with FIN, so a closed control stream was reset or
      // stopped by the client (6.1); which half went first is not known here.
      s->control_writable = false;
      fatal(*s, ErrorCode::protocol_error, "the control stream was reset", std::nullopt, false);
    } else if (is_client_uni(stream_id)) {
      auto it = s->publish_streams.find(stream_id);
      // Ended with FIN or reset before HELLO: kept for the replay (6.2). Anything else still
      // here ended without a FIN the engine saw, so it was reset.
      if (it != s->publish_streams.end() && !it->second.held_fin && !it->second.held_reset) {
        publish_stream_reset(*s, stream_id);
      }
    } else if (is_server_uni(stream_id)) {
      subscription_stream_stopped(*s, stream_id, app_error);
    }
  } catch (...) {
    internal_failure(*s);
  }
}

void Broker::subscription_stream_stopped(Session &s, std::int64_t stream_id, std::uint64_t code) {
  auto it = s.by_stream.find(stream_id);
  if (it == s.by_stream.end()) return;  // already ended by us
  Subscription &sub = *it->second;
  // STOP_SENDING: unsubscribe without an answer, then reset the stream with the client's own
  // code (6.3, as RFC 9000 3.5 recommends). A QUIC stack answers STOP_SENDING with that reset by
  // itself (ngtcp2 does, before we hear of it); then this one changes nothing.
  if (sub.state == SubscriptionState::live) ++stats_.stop_sendings;
  stop_routing(sub);
  stats_.discarded_on_close += discard_queue(sub);
  reset_stream(sub, code);
}

void Broker::on_stream_writable(Session *session, std::int64_t stream_id) {
  CallScope scope(*this);
  if (!scope.entered()) return;
  Session *s = find(session);
  if (s == nullptr || s->state == SessionState::closed) return;
  try {
    auto it = s->by_stream.find(stream_id);
    if (it != s->by_stream.end()) pump(*it->second);
  } catch (...) {
    internal_failure(*s);
  }
}

void Broker::on_streams_available(Session *session) {
  CallScope scope(*this);
  if (!scope.entered()) return;
  Session *s = find(session);
  if (s == nullptr || s->state == SessionState::closed) return;
  try {
    open_waiting_streams(*s);
  } catch (...) {
    internal_failure(*s);
  }
}

void Broker::on_timer(std::uint64_t now_ns) {
  CallScope scope(*this);
  if (!scope.entered()) return;
  while (!hello_deadlines_.empty() && hello_deadlines_.begin()->first <= now_ns) {
    Session &s = *hello_deadlines_.begin()->second;
    hello_deadlines_.erase(hello_deadlines_.begin());
    s.has_deadline = false;
    ++stats_.hello_timeouts;
    fatal(s, ErrorCode::protocol_error, "no HELLO within the HELLO timeout");
  }
  while (!expiry_deadlines_.empty() && expiry_deadlines_.begin()->first <= now_ns) {
    Session &s = *expiry_deadlines_.begin()->second;
    disarm_expiry(s);
    ++stats_.token_expiry_closes;
    fatal(s, ErrorCode::token_expired, "the access token expired");
  }
}

std::optional<std::uint64_t> Broker::next_timer() const {
  std::optional<std::uint64_t> next;
  if (!hello_deadlines_.empty()) next = hello_deadlines_.begin()->first;
  if (!expiry_deadlines_.empty() && (!next || expiry_deadlines_.begin()->first < *next)) {
    next = expiry_deadlines_.begin()->first;
  }
  return next;
}

void Broker::begin_shutdown() {
  CallScope scope(*this);
  if (!scope.entered()) return;
  shutting_down_ = true;
  // fatal() does not change sessions_ (close_session from inside it is deferred).
  for (auto &entry : sessions_)
    fatal(*entry.second, ErrorCode::shutting_down, "broker is shutting down");
}

void Broker::fatal(Session &s, ErrorCode code, std::string_view message,
                   std::optional<std::uint32_t> request_id, bool send_error) noexcept {
  if (s.state == SessionState::closed) return;
  const bool can_answer = send_error && s.control_opened && s.control_writable;
  // What the broker holds against a client (refusals, protocol errors, limits) is what an
  // operator looks for; everyone being told about a shutdown is not.
  FLUME_LOG(code == ErrorCode::shutting_down ? log::Level::debug : log::Level::info, "broker",
            "closing %s%s%s%s: %.*s (%.*s)", s.peer.c_str(), s.client_name.empty() ? "" : " (",
            s.client_name.c_str(), s.client_name.empty() ? "" : ")",
            static_cast<int>(code_name(code).size()), code_name(code).data(),
            static_cast<int>(message.size()), message.data());
  teardown(s);  // first, so the transport sees a broker that is already consistent
  ++stats_.connection_closes[code_slot(code)];
  // A transport that throws must not stop the close itself.
  if (can_answer) {
    SharedBuffer error = error_frame(code, message, request_id);
    try {
      if (error) s.transport.send(kControlStreamId, std::move(error), false);
    } catch (...) {
      ++stats_.internal_errors;
    }
  }
  try {
    s.transport.close(static_cast<std::uint64_t>(code), message);
  } catch (...) {
    ++stats_.internal_errors;
  }
}

void Broker::internal_failure(Session &s) noexcept {
  ++stats_.internal_errors;
  fatal(s, ErrorCode::internal_error, "broker out of memory");
}

void Broker::teardown(Session &s) noexcept {
  if (s.state == SessionState::closed) return;
  if (s.has_deadline) {
    hello_deadlines_.erase(s.deadline);
    s.has_deadline = false;
  }
  disarm_expiry(s);
  --(s.over_limit ? refusing_ : active_);
  s.state = SessionState::closed;
  for (Subscription &sub : s.subscriptions) {
    stop_routing(sub);
    stats_.discarded_on_close += discard_queue(sub);
    sub.state = SubscriptionState::done;
  }
  graveyard_.splice(graveyard_.end(), s.subscriptions);
  stats_.streams_waiting -= s.waiting_for_stream.size();
  s.waiting_for_stream.clear();
  s.by_id.clear();
  s.by_stream.clear();
  s.ending_without_stream = 0;
  stats_.held_publish_bytes -= s.held_bytes;
  s.held_bytes = 0;  // the bytes themselves go with the publish streams once decoding is idle
}

BrokerStats Broker::stats() const {
  BrokerStats out = stats_;
  out.connections = active_;
  out.connections_refusing = refusing_;
  out.subscriptions = router_.size();
  out.router_patterns = router_.pattern_count();
  out.router_nodes = router_.node_count();
  for (const auto &[tenant, router] : tenant_routers_) {
    out.subscriptions += router->size();
    out.router_patterns += router->pattern_count();
    out.router_nodes += router->node_count();
  }
  out.tenants = tenant_routers_.size();
  out.memory_queued_bytes = memory_.bytes;
  out.memory_queued_peak_bytes = memory_.peak;
  out.memory_budget_bytes = config_.max_memory_bytes;
  return out;
}

SessionStats Broker::session_stats(const Session *session) const {
  SessionStats out;
  const Session *s = find(session);
  if (s == nullptr) return out;
  out.state = s->state;
  out.over_limit = s->over_limit;
  out.subscriptions = s->by_id.size();
  out.ending = s->subscriptions.size() - s->by_id.size();
  out.streams_waiting = s->waiting_for_stream.size();
  out.publish_streams = s->publish_streams.size();
  out.messages_in = s->messages_in;
  out.messages_out = s->messages_out;
  out.dropped = s->dropped;
  out.queued_messages = s->queued_messages;
  out.queued_bytes = s->queued_bytes;
  out.held_publish_bytes = s->held_bytes;
  out.peer = s->peer;
  out.client_name = s->client_name;
  return out;
}

}  // namespace flume::broker
