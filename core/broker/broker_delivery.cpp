// The path of a message from PUBLISH to the subscription streams: route, encode once, hand the
// same SharedBuffer to every match; write it at once while the stream has room, else queue it
// under the subscription's overflow policy. Also how subscription streams open and end.
#include <utility>

#include "broker/broker.hpp"
#include "broker/broker_frames.hpp"
#include "broker/session.hpp"
#include "log/log.hpp"

namespace flume::broker {

std::size_t Broker::pending_room(const Session &s) const noexcept {
  const std::size_t held = s.queued_bytes + s.held_bytes;
  const std::size_t limit = config_.max_pending_bytes_per_connection;
  return held < limit ? limit - held : 0;
}

void Broker::route_publish(Session &s, CheckedSubject subject,
                           std::span<const std::uint8_t> payload) {
  ++stats_.messages_in;
  stats_.bytes_in += payload.size();
  ++s.messages_in;
  // Collect first: delivering may end subscriptions, which must not happen inside the walk.
  matched_.clear();
  // A tenant's publishes reach its own subscribers only, and never the overlay (whose frames
  // carry no tenant: docs/security.md).
  ClusterHooks *cluster = s.tenant.empty() ? cluster_ : nullptr;
  if (SubjectTrie<Subscription *> *router = router_of(s.tenant)) {
    router->match(subject.view(), [this](Subscription *sub) { matched_.push_back(sub); });
  }
  if (matched_.empty()) {
    ++stats_.messages_unmatched;
    if (cluster != nullptr) cluster->on_local_publish(subject, payload, SharedBuffer());
    return;
  }
  const SharedBuffer frame = message_frame(subject, payload);  // the one copy of the payload
  if (!frame) {
    stats_.deliveries += matched_.size();
    stats_.dropped_no_memory += matched_.size();
    ++stats_.internal_errors;
    matched_.clear();
    return;
  }
  if (cluster != nullptr) cluster->on_local_publish(subject, payload, frame);
  fan_out(frame);
}

void Broker::route_forwarded(CheckedSubject subject, const SharedBuffer &message_frame) {
  ++stats_.messages_from_cluster;
  matched_.clear();
  router_.match(subject.view(), [this](Subscription *sub) { matched_.push_back(sub); });
  if (matched_.empty()) return;  // interest changed while the message was on its way
  fan_out(message_frame);
}

// Hands one encoded MESSAGE to every subscription in matched_.
void Broker::fan_out(const SharedBuffer &frame) {
  // Ended subscriptions stay allocated (graveyard_) until the outer call returns, so every
  // pointer here stays valid even if delivering closes a subscription or a whole session.
  for (Subscription *sub : matched_) {
    try {
      deliver(*sub, frame);
    } catch (...) {
      // Only the subscriber's own transport can throw here: close that connection, not ours.
      internal_failure(sub->session);
    }
  }
  matched_.clear();
}

void Broker::interest_added(Subscription &sub, std::string_view pattern) {
  // Kept for the grant checks after a renewal (AUTH), and for the cluster hooks.
  if (cluster_ == nullptr && config_.auth_keys.empty()) return;
  sub.pattern = std::string(pattern);
  if (cluster_ == nullptr || sub.router != &router_) return;  // tenants stay on this node
  sub.announced = true;
  if (++interest_[sub.pattern] == 1) cluster_->on_interest_added(sub.pattern);
}

void Broker::interest_removed(Subscription &sub) noexcept {
  if (cluster_ == nullptr || !sub.announced) return;
  sub.announced = false;
  auto it = interest_.find(sub.pattern);
  if (it == interest_.end()) return;
  if (--it->second == 0) {
    interest_.erase(it);
    cluster_->on_interest_removed(sub.pattern);
  }
}

void Broker::deliver(Subscription &sub, const SharedBuffer &frame) {
  if (sub.state != SubscriptionState::live) return;  // ended earlier in this fan-out
  Session &s = sub.session;
  ++stats_.deliveries;
  if (sub.stream_id >= 0 && sub.queue.empty() &&
      s.transport.unsent_bytes(sub.stream_id) < config_.stream_window_bytes) {
    if (sub.queue.tail_drops() > 0) send_dropped(sub, sub.queue.take_tail_drops());
    ++stats_.messages_out;
    stats_.bytes_out += frame.size();
    ++s.messages_out;
    s.transport.send(sub.stream_id, frame, false);
    return;
  }

  // The broker-wide budget first: the largest queues give way, or this one does (make_room).
  if (memory_.bytes + DeliveryQueue::cost_of(frame) > config_.max_memory_bytes &&
      !make_room(sub, frame)) {
    return;
  }
  const std::size_t count_before = sub.queue.size();
  const std::size_t bytes_before = sub.queue.bytes();
  const DeliveryQueue::PushResult result = sub.queue.push(frame, pending_room(s));
  account_queue(sub, count_before, bytes_before);
  if (result.close) {
    // Policy close: the queue is discarded (not reported with DROPPED) and so is this message.
    stats_.dropped_slow_consumer += 1 + discard_queue(sub);
    end_slow_consumer(sub);
    return;
  }
  if (result.no_memory) {
    ++stats_.dropped_no_memory;
    ++stats_.internal_errors;
  }
  if (result.dropped > 0) {
    if (sub.queue.policy() == OverflowPolicy::drop_oldest) {
      stats_.dropped_oldest += result.dropped;
    } else {
      stats_.dropped_newest += result.dropped;
    }
    sub.dropped += result.dropped;
    s.dropped += result.dropped;
  }
  pump(sub);
}

// Queuing `frame` for `sub` would take the queues of all connections past the memory budget.
// Until it fits, the subscription holding the most bytes takes its overflow policy, one frame at
// a time: another subscription (overflow_victim) as long as one holds at least as much as `sub`
// would with the frame (to QueueRanking's precision), else `sub` itself (overflow_self). Frames
// shared with other queues free nothing until the last queue lets go, so among equals the victims
// take turns (QueueRanking's to_back). Every step drops a queued frame, refuses the new one or ends
// a subscription, so the loop ends; its cost is paid by frames that were queued before. True: queue
// the frame now.
bool Broker::make_room(Subscription &sub, const SharedBuffer &frame) {
  while (true) {
    if (sub.state != SubscriptionState::live) {
      // Its connection was closed by a victim's ending (they can share one): the message is
      // lost with the subscription, as if it had been queued when that happened.
      ++stats_.discarded_on_close;
      return false;
    }
    if (memory_.bytes + DeliveryQueue::cost_of(frame) <= config_.max_memory_bytes) return true;
    Subscription *victim = ranking_.largest();
    const int own = QueueRanking::bucket_of(sub.queue.bytes() + frame.size());
    if (victim == nullptr || victim == &sub ||
        QueueRanking::bucket_of(victim->queue.bytes()) < own) {
      if (!overflow_self(sub)) return false;
      continue;
    }
    try {
      overflow_victim(*victim);
    } catch (...) {
      // The victim's transport failed while told of its end: close that connection, not ours.
      internal_failure(victim->session);
    }
  }
}

// `sub` is among the largest: its own policy applies to the new frame as if its queue were full.
// True when it dropped its oldest and the new frame may still fit.
bool Broker::overflow_self(Subscription &sub) {
  const OverflowPolicy policy = sub.queue.policy();
  if (policy == OverflowPolicy::close) {
    const std::size_t lost = 1 + discard_queue(sub);
    stats_.dropped_slow_consumer += lost;
    stats_.dropped_memory_budget += lost;
    end_slow_consumer(sub);
    return false;
  }
  if (policy == OverflowPolicy::drop_oldest && !sub.queue.empty()) {
    const std::size_t count_before = sub.queue.size();
    const std::size_t bytes_before = sub.queue.bytes();
    sub.queue.drop_oldest_one();
    account_queue(sub, count_before, bytes_before, /*to_back=*/true);
    count_budget_drop(sub, policy);
    return true;
  }
  // drop_newest, or drop_oldest with nothing older left: the new frame is the one lost.
  sub.queue.refuse_one();
  count_budget_drop(sub, policy);
  pump(sub);  // reports the gap now if the stream has room
  return false;
}

// A subscription holding more than the one being delivered to gives up one queued frame (or,
// with policy close, its subscription). One that is already draining after UNSUBSCRIBE drops its
// oldest whatever its policy: it takes no new messages, and its DROPPED still precedes its FIN.
void Broker::overflow_victim(Subscription &victim) {
  OverflowPolicy policy = victim.queue.policy();
  if (victim.state != SubscriptionState::live) policy = OverflowPolicy::drop_oldest;
  if (policy == OverflowPolicy::close) {
    const std::size_t discarded = discard_queue(victim);
    stats_.dropped_slow_consumer += discarded;
    stats_.dropped_memory_budget += discarded;
    end_slow_consumer(victim);
    return;
  }
  const std::size_t count_before = victim.queue.size();
  const std::size_t bytes_before = victim.queue.bytes();
  if (policy == OverflowPolicy::drop_oldest) {
    victim.queue.drop_oldest_one();
  } else {
    victim.queue.drop_newest_one();
  }
  account_queue(victim, count_before, bytes_before, /*to_back=*/true);
  count_budget_drop(victim, policy);
}

void Broker::count_budget_drop(Subscription &sub, OverflowPolicy policy) noexcept {
  ++stats_.dropped_memory_budget;
  ++(policy == OverflowPolicy::drop_oldest ? stats_.dropped_oldest : stats_.dropped_newest);
  ++sub.dropped;
  ++sub.session.dropped;
}

void Broker::account_queue(Subscription &sub, std::size_t count_before, std::size_t bytes_before,
                           bool to_back) noexcept {
  ranking_.update(sub, to_back);
  Session &s = sub.session;
  s.queued_messages = s.queued_messages - count_before + sub.queue.size();
  s.queued_bytes = s.queued_bytes - bytes_before + sub.queue.bytes();
  stats_.queued_messages = stats_.queued_messages - count_before + sub.queue.size();
  stats_.queued_bytes = stats_.queued_bytes - bytes_before + sub.queue.bytes();
}

std::size_t Broker::discard_queue(Subscription &sub) noexcept {
  const std::size_t count_before = sub.queue.size();
  const std::size_t bytes_before = sub.queue.bytes();
  sub.queue.clear();
  account_queue(sub, count_before, bytes_before);
  return count_before;
}

bool Broker::send_dropped(Subscription &sub, std::uint64_t count) {
  SharedBuffer frame = dropped_frame(count);
  if (!frame) {
    ++stats_.internal_errors;  // the report is lost; the drops are still counted in stats
    return false;
  }
  sub.session.transport.send(sub.stream_id, std::move(frame), false);
  return true;
}

void Broker::pump(Subscription &sub) {
  if (sub.stream_id < 0 || sub.state == SubscriptionState::done) return;
  Session &s = sub.session;
  SessionTransport &transport = s.transport;
  const std::int64_t stream = sub.stream_id;
  while (!sub.queue.empty()) {
    if (transport.unsent_bytes(stream) >= config_.stream_window_bytes) return;
    if (sub.queue.front().dropped_before > 0) {
      send_dropped(sub, std::exchange(sub.queue.front().dropped_before, 0));
    }
    DeliveryQueue::Entry entry = sub.queue.take_front();
    ranking_.update(sub);
    const std::size_t size = entry.frame.size();
    --s.queued_messages;
    s.queued_bytes -= size;
    --stats_.queued_messages;
    stats_.queued_bytes -= size;
    ++stats_.messages_out;
    stats_.bytes_out += size;
    ++s.messages_out;
    transport.send(stream, std::move(entry.frame), false);
  }
  const bool draining = sub.state == SubscriptionState::draining;
  // Drops after the last message are reported as soon as the stream takes data, and always
  // before FIN (8.3).
  if (sub.queue.tail_drops() > 0 &&
      (draining || transport.unsent_bytes(stream) < config_.stream_window_bytes)) {
    send_dropped(sub, sub.queue.take_tail_drops());
  }
  if (draining) finish_stream(sub);
}

void Broker::request_stream(Subscription &sub) {
  Session &s = sub.session;
  // Streams open in subscribe order: nobody overtakes a subscription already waiting.
  if (s.waiting_for_stream.empty()) {
    const std::int64_t stream = s.transport.open_uni_stream();
    if (stream >= 0) {
      stream_opened(sub, stream);
      return;
    }
  }
  s.waiting_for_stream.push_back(&sub);
  sub.waiting_for_stream = true;
  ++stats_.streams_waiting;
}

void Broker::open_waiting_streams(Session &s) {
  while (!s.waiting_for_stream.empty() && s.state != SessionState::closed) {
    const std::int64_t stream = s.transport.open_uni_stream();
    if (stream < 0) return;
    Subscription &sub = *s.waiting_for_stream.front();
    s.waiting_for_stream.pop_front();
    sub.waiting_for_stream = false;
    --stats_.streams_waiting;
    if (sub.state != SubscriptionState::live) --s.ending_without_stream;
    stream_opened(sub, stream);
  }
}

void Broker::stream_opened(Subscription &sub, std::int64_t stream_id) {
  Session &s = sub.session;
  sub.stream_id = stream_id;
  s.by_stream.emplace(stream_id, &sub);
  SharedBuffer first = subscription_frame(sub.id);
  if (!first) {
    internal_failure(s);
    return;
  }
  s.transport.send(stream_id, std::move(first), false);
  if (sub.state == SubscriptionState::slow_consumer) {
    write_slow_consumer_end(sub);
  } else {
    pump(sub);  // live: what queued while waiting; draining: that, then DROPPED and FIN
  }
}

void Broker::stop_routing(Subscription &sub) noexcept {
  if (sub.state != SubscriptionState::live) return;
  try {
    if (sub.router != nullptr) sub.router->unsubscribe(sub.route);
  } catch (...) {
    // Only the router's shrinking can fail; the entry is gone either way.
    ++stats_.internal_errors;
  }
  if (sub.router != &router_) forget_tenant_router_if_empty(sub.session.tenant);
  sub.router = nullptr;
  interest_removed(sub);
  sub.session.by_id.erase(sub.id);
  sub.state = SubscriptionState::draining;  // callers set the precise ending state
}

void Broker::end_slow_consumer(Subscription &sub) {
  ++stats_.slow_consumer_closes;
  end_with_error(sub, ErrorCode::slow_consumer, {});
}

void Broker::end_with_error(Subscription &sub, ErrorCode code, std::string_view message) {
  stop_routing(sub);
  sub.state = SubscriptionState::slow_consumer;
  sub.end_code = code;
  sub.end_message.assign(message);
  sub.queue.take_tail_drops();  // nothing to report: the ERROR says more
  FLUME_LOG(log::Level::info, "broker", "ended subscription %u of %s%s%s%s: %.*s", sub.id,
            sub.session.peer.c_str(), sub.session.client_name.empty() ? "" : " (",
            sub.session.client_name.c_str(), sub.session.client_name.empty() ? "" : ")",
            static_cast<int>(error_code_name(static_cast<std::uint64_t>(code)).size()),
            error_code_name(static_cast<std::uint64_t>(code)).data());
  if (sub.stream_id >= 0) {
    write_slow_consumer_end(sub);
  } else {
    note_ended_without_stream(sub);  // ERROR and FIN go out once the stream can be opened
  }
}

void Broker::write_slow_consumer_end(Subscription &sub) {
  SharedBuffer error = error_frame(sub.end_code, sub.end_message, std::nullopt, sub.id);
  if (!error) {
    // 6.3 allows this when the ERROR cannot go.
    reset_stream(sub, static_cast<std::uint64_t>(sub.end_code));
    return;
  }
  sub.session.transport.send(sub.stream_id, std::move(error), false);
  finish_stream(sub);
}

void Broker::finish_stream(Subscription &sub) {
  Session &s = sub.session;
  const std::int64_t stream = sub.stream_id;
  s.by_stream.erase(stream);
  retire(sub);
  s.transport.send(stream, SharedBuffer(), true);
}

void Broker::reset_stream(Subscription &sub, std::uint64_t code) {
  Session &s = sub.session;
  const std::int64_t stream = sub.stream_id;
  s.by_stream.erase(stream);
  retire(sub);
  s.transport.reset_stream(stream, code);
}

void Broker::note_ended_without_stream(Subscription &sub) {
  // An ended subscription still gets its stream (SUBSCRIPTION, then FIN or ERROR) when credit
  // comes; a client that never grants it must not make us hold such records without bound.
  Session &s = sub.session;
  if (++s.ending_without_stream > config_.max_subscriptions_per_connection) {
    fatal(s, ErrorCode::pending_limit, "too many ended subscriptions wait for stream credit");
  }
}

void Broker::retire(Subscription &sub) noexcept {
  ranking_.remove(sub);
  sub.state = SubscriptionState::done;
  graveyard_.splice(graveyard_.end(), sub.session.subscriptions, sub.self);
}

}  // namespace flume::broker
