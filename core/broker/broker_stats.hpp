// What a Broker counts. Every message accepted from a publisher and matched to a subscription
// ends up in exactly one of: written, dropped (by cause), discarded, or still queued; so
//   deliveries == messages_out + dropped_oldest + dropped_newest + dropped_slow_consumer
//                 + dropped_no_memory + discarded_on_close + queued_messages
// holds between any two calls.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace flume::broker {

// One slot per error code of docs/protocol.md 11.1 (0x00 .. 0x13).
inline constexpr std::size_t kErrorCodeSlots = 0x14;
using ErrorCounts = std::array<std::uint64_t, kErrorCodeSlots>;

struct BrokerStats {
  // Connections.
  std::uint64_t connections = 0;           // sessions counted against max_connections, now
  std::uint64_t connections_refusing = 0;  // over-limit sessions waiting to be refused, now
  std::uint64_t sessions_opened = 0;       // open_session calls that made a session
  std::uint64_t hellos_accepted = 0;       // OK to HELLO sent
  std::uint64_t hellos_refused = 0;        // HELLO answered with ERROR (version, limit, auth)
  std::uint64_t refused_at_open = 0;       // closed at open_session (refusal backlog, shutdown)
  std::uint64_t hello_timeouts = 0;        // closed for not sending HELLO in time
  ErrorCounts connection_closes{};         // connections the broker closed, by code (0 = FIN)

  // Subscriptions.
  std::uint64_t subscriptions = 0;  // live now (= router entries)
  std::uint64_t subscribes_accepted = 0;
  std::uint64_t unsubscribes = 0;          // answered with OK
  std::uint64_t stop_sendings = 0;         // ended by the client's STOP_SENDING
  std::uint64_t slow_consumer_closes = 0;  // ended by overflow policy `close`
  std::uint64_t streams_waiting = 0;       // subscriptions waiting for stream credit, now
  ErrorCounts request_errors{};            // ERROR answers that kept the connection, by code

  // Traffic.
  std::uint64_t messages_in = 0;                // PUBLISH frames routed (valid subject)
  std::uint64_t bytes_in = 0;                   // their payload bytes
  std::uint64_t publishes_invalid_subject = 0;  // PUBLISH refused with INVALID_SUBJECT
  std::uint64_t messages_unmatched = 0;         // PUBLISH that matched no subscription
  std::uint64_t messages_from_cluster = 0;      // forwarded by other overlay nodes (not in _in)
  std::uint64_t deliveries = 0;                 // (message, subscription) pairs matched
  std::uint64_t messages_out = 0;               // MESSAGE frames handed to the transport
  std::uint64_t bytes_out = 0;                  // their frame bytes (header + subject + payload)

  // Losses, per delivery.
  std::uint64_t dropped_oldest = 0;         // policy drop_oldest (incl. pending-bytes overflow)
  std::uint64_t dropped_newest = 0;         // policy drop_newest (incl. pending-bytes overflow)
  std::uint64_t dropped_slow_consumer = 0;  // queue discarded by policy close, and its trigger
  std::uint64_t dropped_no_memory = 0;      // could not be encoded or queued
  std::uint64_t discarded_on_close = 0;     // still queued when a subscription or session ended
  // Of the drops above (dropped_oldest, dropped_newest, dropped_slow_consumer), those the
  // broker-wide memory budget made: a subscription among the largest took its policy because
  // the queues of all connections together were full. Not a separate cause in the sum below.
  std::uint64_t dropped_memory_budget = 0;
  // (message, subscription) pairs a node link dropped before the message reached this node,
  // counted from LINK_DROPPED: reported to the clients like drops, but never matched here, so
  // not in the sum below.
  std::uint64_t dropped_in_cluster = 0;

  // Held now.
  std::uint64_t queued_messages = 0;
  std::uint64_t queued_bytes = 0;
  std::uint64_t held_publish_bytes = 0;  // publish-stream bytes waiting for HELLO
  // What the memory budget counts (memory_budget.hpp: each shared buffer once, plus the queue
  // entries), now and at most since the start, and the budget itself (max_memory_bytes resolved).
  std::uint64_t memory_queued_bytes = 0;
  std::uint64_t memory_queued_peak_bytes = 0;
  std::uint64_t memory_budget_bytes = 0;

  // Access tokens (brokers with auth keys): HELLOs refused, per reason; renewals (AUTH);
  // connections closed at expiry; requests the grants refused, per reason.
  std::uint64_t token_missing = 0;
  std::uint64_t token_malformed = 0;  // oversized included
  std::uint64_t token_unknown_key = 0;
  std::uint64_t token_bad_signature = 0;
  std::uint64_t token_expired = 0;
  std::uint64_t token_not_yet_valid = 0;
  std::uint64_t token_renewals = 0;          // AUTH answered with OK
  std::uint64_t token_renewals_refused = 0;  // AUTH answered with ERROR
  std::uint64_t token_expiry_closes = 0;     // closed with TOKEN_EXPIRED while connected
  std::uint64_t publish_not_granted = 0;     // PUBLISH refused: no allow pattern matches
  std::uint64_t publish_denied = 0;          // PUBLISH refused: a deny pattern matches
  std::uint64_t subscribe_not_granted = 0;   // SUBSCRIBE refused: no allow pattern covers it
  std::uint64_t subscribe_denied = 0;        // SUBSCRIBE refused: a deny pattern overlaps it
  std::uint64_t subscriptions_revoked = 0;   // ended because a renewed token no longer grants them
  std::uint64_t tenants = 0;                 // tenants with live subscriptions, now

  // Faults.
  std::uint64_t internal_errors = 0;          // allocation failures, exceptions from hooks
  std::uint64_t reentrant_calls_refused = 0;  // Broker calls made from inside a transport call

  // Router.
  std::uint64_t router_patterns = 0;
  std::uint64_t router_nodes = 0;
};

enum class SessionState : std::uint8_t {
  awaiting_hello,  // open_session done, no accepted HELLO yet
  open,            // HELLO accepted
  closed,          // the broker closed it, or it ended; waiting for close_session
};

struct SessionStats {
  SessionState state = SessionState::closed;
  bool over_limit = false;          // will be refused with TOO_MANY_CONNECTIONS
  std::size_t subscriptions = 0;    // live
  std::size_t ending = 0;           // unsubscribed or slow-consumer, stream not ended yet
  std::size_t streams_waiting = 0;  // subscriptions waiting for stream credit
  std::size_t publish_streams = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t dropped = 0;  // policy drops on this session's subscriptions
  std::size_t queued_messages = 0;
  std::size_t queued_bytes = 0;
  std::size_t held_publish_bytes = 0;
  std::string_view peer;  // valid while the session lives
  std::string_view client_name;
};

}  // namespace flume::broker
