// The broker engine: a sans-I/O state machine in the manner of ngtcp2. Bytes and events come in
// through the methods below, actions go out through each session's SessionTransport; there are
// no sockets, threads or clocks here (time is passed in), so it can be driven by a QUIC glue or
// by a test with bytes alone.
//
// The path of one message: on_stream_data() decodes a PUBLISH (control or publish stream), the
// router finds the matching subscriptions, the MESSAGE frame is encoded once into a SharedBuffer,
// and every subscription gets a reference to that same buffer: written straight to its stream
// when the stream has room, else queued in its DeliveryQueue where its overflow policy applies;
// on_stream_writable() moves queued frames on as the stream drains.
//
// Not thread-safe: one Broker per loop thread. Nothing here throws; allocation failure closes the
// affected connection with INTERNAL_ERROR and is counted.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/broker_config.hpp"
#include "broker/broker_stats.hpp"
#include "broker/cluster_hooks.hpp"
#include "broker/memory_budget.hpp"
#include "broker/queue_ranking.hpp"
#include "broker/session_transport.hpp"
#include "codec/frame.hpp"
#include "codec/frame_decoder.hpp"
#include "codec/shared_buffer.hpp"
#include "protocol/protocol.hpp"
#include "router/subject_trie.hpp"

namespace flume::broker {

class Session;
struct PublishStream;
struct Subscription;

class Broker {
 public:
  // Out-of-range settings are clamped (payload limit to [1, 16 MiB], queue limits to >= 1).
  explicit Broker(BrokerConfig config);
  ~Broker();
  Broker(const Broker &) = delete;
  Broker &operator=(const Broker &) = delete;

  // A connection finished its handshake at `now_ns`. The returned session must be passed to
  // close_session() once the connection is gone, even if the broker has closed it already (over
  // the connection limit beyond the refusal backlog, or shutting down). nullptr only when memory
  // ran out; the connection has then been closed with INTERNAL_ERROR.
  Session *open_session(SessionTransport &transport, std::uint64_t now_ns, std::string peer);

  // The connection is gone: frees its subscriptions, queues, router entries and the session.
  void close_session(Session *session);

  // Bytes from the client on the control stream (id 0) or on a publish stream (2, 6, 10, ...).
  void on_stream_data(Session *session, std::int64_t stream_id, std::span<const std::uint8_t> data,
                      bool fin);

  // The client reset its sending half of a stream (RESET_STREAM): on the control stream a
  // connection error (6.1, answered with ERROR on our half, which still works); on a publish
  // stream a partial frame is discarded, complete ones before it are kept (6.2).
  void on_stream_reset(Session *session, std::int64_t stream_id, std::uint64_t app_error);

  // The client sent STOP_SENDING: on the control stream a connection error (6.1, no ERROR: our
  // half is gone); on a subscription stream an unsubscribe without answer (6.3).
  void on_stream_stopped(Session *session, std::int64_t stream_id, std::uint64_t app_error);

  // QUIC is done with a stream in both directions. A subscription stream still live here was
  // stopped by the client (STOP_SENDING, 6.3); the control stream was reset or stopped (6.1). A
  // publish stream that ended with FIN before HELLO keeps its held bytes for the replay (6.2);
  // one that ended without FIN or reset being reported was reset.
  void on_stream_closed(Session *session, std::int64_t stream_id, std::uint64_t app_error);

  // The transport has room on a stream again: move queued frames into it.
  void on_stream_writable(Session *session, std::int64_t stream_id);

  // The peer granted stream credit: open the subscription streams that were waiting for it.
  void on_streams_available(Session *session);

  // Closes sessions whose HELLO deadline has passed, and those whose token has expired.
  void on_timer(std::uint64_t now_ns);
  // When on_timer() next has work, if ever.
  std::optional<std::uint64_t> next_timer() const;

  // ERROR{SHUTTING_DOWN} on each control stream, then close; later sessions are closed at once.
  void begin_shutdown();

  // Makes this broker one node of an overlay (docs/overlay.md): `hooks` hears of local interest
  // and local publishes. Set before the first session opens; nullptr detaches. The patterns
  // already held are not replayed.
  void set_cluster_hooks(ClusterHooks *hooks) noexcept { cluster_ = hooks; }
  // A message another node forwarded: delivered to the matching local subscriptions exactly as a
  // local publish would be, but never handed to the cluster hooks again (the overlay decides
  // where forwarded messages go). `message_frame` is a complete MESSAGE frame for `subject`.
  void deliver_forwarded(CheckedSubject subject, const SharedBuffer &message_frame);
  // `count` messages of `subject` that a node link dropped before they reached this node (its
  // lane was full): each matching local subscription counts them as drops, reported to its
  // client with DROPPED where its stream stands now, so the client sees the gap.
  void count_cluster_drops(CheckedSubject subject, std::uint64_t count);

  BrokerStats stats() const;
  // Zeroed stats (state closed) for a session the broker does not know.
  SessionStats session_stats(const Session *session) const;

  const BrokerConfig &config() const noexcept { return config_; }

  // The memory budget's count now, and its high-water mark since the previous call (which
  // starts the next interval at the count now): the runtime returns freed memory to the system
  // when the queues have shrunk well below what they held (runtime/memory_release.hpp).
  std::size_t memory_queued_bytes() const noexcept { return memory_.bytes; }
  std::size_t take_memory_recent_peak() noexcept { return memory_.take_recent_peak(); }

 private:
  enum class StreamKind : std::uint8_t { control, publish };
  class CallScope;

  Session *find(const Session *session) const noexcept;

  // Input (broker_input.cpp).
  void feed_control(Session &s, std::span<const std::uint8_t> data, bool fin);
  void feed_publish(Session &s, std::int64_t stream_id, std::span<const std::uint8_t> data,
                    bool fin);
  void decode_publish(Session &s, std::int64_t stream_id, std::span<const std::uint8_t> data,
                      bool fin);
  void replay_held_publishes(Session &s);
  void publish_stream_reset(Session &s, std::int64_t stream_id);
  void charge_held(Session &s, PublishStream &stream, std::size_t bytes) noexcept;
  void release_held(Session &s, PublishStream &stream) noexcept;
  void subscription_stream_stopped(Session &s, std::int64_t stream_id, std::uint64_t code);
  bool frame_allowed(const Session &s, StreamKind kind, FrameType type,
                     const char *&why) const noexcept;
  void on_decode_error(Session &s, StreamKind kind, std::int64_t stream_id,
                       const FrameDecoder &decoder, const Frame &frame);
  void on_control_frame(Session &s, const Frame &frame);

  // Requests on the control stream (broker_requests.cpp).
  void handle_hello(Session &s, const Frame &frame);
  void handle_subscribe(Session &s, const Frame &frame);
  void handle_unsubscribe(Session &s, const Frame &frame);
  void answer_invalid_subject(Session &s, const Frame &frame, std::int64_t stream_id);

  // Access tokens (broker_auth.cpp). Each returns false after refusing (and answering) the
  // request; the HELLO and AUTH checks fill `s` with the token's tenant, grants and expiry.
  bool admit_token(Session &s, std::span<const std::uint8_t> token,
                   std::optional<std::uint32_t> request_id);
  void handle_auth(Session &s, const Frame &frame);
  bool subscribe_granted(Session &s, std::string_view pattern,
                         std::optional<std::uint32_t> request_id, std::uint32_t subscription_id);
  bool publish_granted(Session &s, std::string_view subject, std::int64_t stream_id);
  void revoke_ungranted_subscriptions(Session &s);
  void arm_expiry(Session &s, std::uint64_t expires_unix_seconds);
  void disarm_expiry(Session &s) noexcept;
  std::uint64_t unix_now_ms() const;
  // The router of a tenant's subject space ("" is the default tenant's, router_): nullptr when
  // the tenant has no subscription; router_for makes one.
  SubjectTrie<Subscription *> *router_of(const std::string &tenant) noexcept;
  SubjectTrie<Subscription *> &router_for(const std::string &tenant);
  void forget_tenant_router_if_empty(const std::string &tenant) noexcept;
  void request_error(Session &s, ErrorCode code, std::string_view message,
                     std::optional<std::uint32_t> request_id,
                     std::optional<std::uint32_t> subscription_id);
  void send_control(Session &s, SharedBuffer frame);

  // Fan-out and subscription streams (broker_delivery.cpp).
  // `subject` comes from a decoded PUBLISH: validated once, by the decoder.
  void route_publish(Session &s, CheckedSubject subject, std::span<const std::uint8_t> payload);
  void route_forwarded(CheckedSubject subject, const SharedBuffer &message_frame);
  void fan_out(const SharedBuffer &frame);
  void interest_added(Subscription &sub, std::string_view pattern);
  void interest_removed(Subscription &sub) noexcept;
  void deliver(Subscription &sub, const SharedBuffer &frame);
  void pump(Subscription &sub);
  bool send_dropped(Subscription &sub, std::uint64_t count);
  void request_stream(Subscription &sub);
  void open_waiting_streams(Session &s);
  void stream_opened(Subscription &sub, std::int64_t stream_id);
  void end_slow_consumer(Subscription &sub);
  void end_with_error(Subscription &sub, ErrorCode code, std::string_view message);
  void write_slow_consumer_end(Subscription &sub);
  void finish_stream(Subscription &sub);
  void reset_stream(Subscription &sub, std::uint64_t code);
  void stop_routing(Subscription &sub) noexcept;
  void account_queue(Subscription &sub, std::size_t count_before, std::size_t bytes_before,
                     bool to_back = false) noexcept;
  bool make_room(Subscription &sub, const SharedBuffer &frame);
  bool overflow_self(Subscription &sub);
  void overflow_victim(Subscription &victim);
  void count_budget_drop(Subscription &sub, OverflowPolicy policy) noexcept;
  void note_ended_without_stream(Subscription &sub);
  std::size_t discard_queue(Subscription &sub) noexcept;
  void retire(Subscription &sub) noexcept;
  std::size_t pending_room(const Session &s) const noexcept;

  // Lifecycle (broker.cpp).
  void fatal(Session &s, ErrorCode code, std::string_view message,
             std::optional<std::uint32_t> request_id = std::nullopt,
             bool send_error = true) noexcept;
  void teardown(Session &s) noexcept;
  void internal_failure(Session &s) noexcept;
  void destroy(Session *session) noexcept;
  void end_call() noexcept;

  BrokerConfig config_;
  // Before the sessions: queues release their buffers into it when they go.
  MemoryAccount memory_;
  QueueRanking ranking_;                // subscriptions with queued bytes, largest first
  SubjectTrie<Subscription *> router_;  // the default tenant's subject space
  // The other tenants' subject spaces, each a router of its own so no pattern can reach across;
  // present while the tenant has a subscription.
  std::unordered_map<std::string, std::unique_ptr<SubjectTrie<Subscription *>>> tenant_routers_;
  std::multimap<std::uint64_t, Session *> expiry_deadlines_;  // tokens running out
  std::unordered_map<const Session *, std::unique_ptr<Session>> sessions_;
  std::multimap<std::uint64_t, Session *> hello_deadlines_;
  std::vector<Subscription *> matched_;    // fan-out scratch, reused so routing does not allocate
  std::list<Subscription> graveyard_;      // ended subscriptions, freed when the outer call ends
  std::vector<Session *> deferred_close_;  // close_session() called from inside a transport call
  int depth_ = 0;
  bool shutting_down_ = false;
  std::size_t active_ = 0;    // sessions counted against max_connections
  std::size_t refusing_ = 0;  // over-limit sessions waiting to be refused
  BrokerStats stats_;
  ClusterHooks *cluster_ = nullptr;
  // Live local subscriptions per pattern, kept only with cluster hooks: the hooks hear of a
  // pattern's first and last subscription, not of each one.
  std::unordered_map<std::string, std::size_t> interest_;
};

}  // namespace flume::broker
