// A client on the network: the sans-I/O client engine (core/client_engine) driven by a QUIC client
// endpoint (core/quic) on the client's own loop thread. The C ABI's flume_client is this.
//
// Threads: every public call may come from any thread. Calls hand their work to the loop thread
// through a queue and one wake-up; none of them waits for the network except connect() (bounded
// by the connect timeout), flush() and the receive calls (bounded by their timeouts).
// Callbacks (message callbacks, subscription ends) run on the loop thread, never while the
// client holds its own lock; they must not block for long, since they hold up every other
// subscription of the client.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "codec/shared_buffer.hpp"
#include "protocol/protocol.hpp"

namespace flume {

// What a client call can report. The C ABI maps each to a FLUME_E* code.
enum class ClientStatus : std::uint8_t {
  ok = 0,
  invalid_argument,   // a bad option or argument; the message says which
  invalid_subject,    // publish: not a valid subject
  invalid_pattern,    // subscribe: not a valid pattern
  payload_too_large,  // publish: over the broker's max_payload
  timeout,            // the wait ran out (connect, flush, recv; publish: no room in time)
  unreachable,        // nobody answered: refused, unreachable, or no handshake in time
  tls,                // certificate verification failed, or another TLS failure (the reason)
  alpn,               // the server does not speak flume/1
  rejected,           // the broker refused the client (HELLO error: auth, limits, version)
  not_connected,      // the connection is down and being re-established
  closed,             // the client or subscription is closed (the message says why)
  protocol,           // the broker broke the protocol
  no_memory,
  os_error,  // an operating-system call failed, e.g. no file descriptor left (the message says)
};

struct ClientResult {
  ClientStatus status = ClientStatus::ok;
  std::string message;
  bool ok() const noexcept { return status == ClientStatus::ok; }
};

struct ClientConfig {
  std::string client_name = "flume-c";
  std::vector<std::uint8_t> token;
  // Whom to trust (at most one of ca_file and pin; insecure alone). None given: the system
  // store, except for a broker on this machine (localhost, 127.0.0.0/8, ::1), where the
  // self-signed cert.pem in storage::default_data_dir() is trusted if present, so the quick
  // start needs no certificate flags without ever turning verification off.
  std::string ca_file;
  std::string pin_sha256;   // "AB:CD:..." as flume-broker prints it
  bool insecure = false;    // no verification at all; connect() prints a warning to stderr
  std::string server_name;  // the name the certificate must carry; empty: the host from the URL
  std::chrono::milliseconds connect_timeout{5000};
  bool reconnect = true;  // after a lost connection: back off, reconnect, resubscribe
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  // A QUIC PING after this long without sending anything. It is how an idle subscriber finds
  // out that its broker crashed and restarted: the restarted broker answers with a stateless
  // reset, so the loss is noticed within about this long (tests/bench/failover/kill_restart.sh).
  // A broker that died for good on a host that is up is noticed as quickly: the host answers
  // with ICMP port unreachable, confirmed by one probe (kill_no_restart.sh). A host that is down
  // answers nothing: the 30 s idle timeout.
  // The cost: one PING and its ACK per interval on an idle connection (two packets of about
  // 50 bytes of UDP payload each).
  std::chrono::milliseconds keep_alive{1000};
  // Back-pressure for publish(): at most this many bytes of published messages wait inside the
  // client for the network (queued for the loop thread, or for QUIC's congestion and flow-control
  // windows). A publish that would go over waits up to publish_timeout for room, then fails with
  // ClientStatus::timeout (0 ms: fails at once). A single message bigger than the limit is taken
  // when nothing else waits. Without a bound, a publisher faster than the path grows memory
  // without end.
  std::size_t max_pending_bytes = 8 * 1024 * 1024;
  std::chrono::milliseconds publish_timeout{5000};
};

// Where a subscription's messages stop being complete: what was missed between the item before a
// gap and the item after it. Gaps queued together merge into one, so a queue never holds two in a
// row; a gap already taken by recv can be followed by a new one (add up their counts).
struct Gap {
  std::uint64_t dropped_by_broker = 0;  // counted by the broker (its queue was full)
  std::uint64_t dropped_locally = 0;    // counted here (the local queue was full, or no memory)
  // The connection was lost and the subscription made again on a new one: whatever was
  // published to it meanwhile was missed, and nobody counted it.
  bool resubscribed = false;
  std::chrono::milliseconds disconnected{0};  // from noticing the loss to subscribing again

  std::uint64_t counted() const noexcept { return dropped_by_broker + dropped_locally; }
  void merge(const Gap &later) noexcept {
    dropped_by_broker += later.dropped_by_broker;
    dropped_locally += later.dropped_locally;
    resubscribed = resubscribed || later.resubscribed;
    disconnected += later.disconnected;
  }
};
static_assert(std::is_trivially_copyable_v<Gap>, "a gap item keeps its Gap as bytes");

// A received item: a message (subject and payload in one shared allocation, cheap to move), or,
// for a subscription that asked for them (SubscribeOptions::report_gaps), a gap in its place in
// the order. Every message carries its sequence in the subscription: 1, 2, 3, ... counting
// every message the broker routed to it, also those dropped on the way, so a jump says exactly
// how many were dropped. A gap's sequence is that of the last message before it (0: none).
class Message {
 public:
  Message() = default;
  Message(SharedBuffer bytes, std::uint32_t subject_length, std::uint32_t subscription_id,
          std::uint64_t sequence = 0)
      : bytes_(std::move(bytes)),
        subject_length_(subject_length),
        subscription_id_(subscription_id),
        sequence_(sequence) {}
  // A gap item; empty (operator bool false) when memory is exhausted.
  static Message gap(const Gap &gap, std::uint32_t subscription_id, std::uint64_t sequence);

  explicit operator bool() const noexcept { return static_cast<bool>(bytes_); }
  bool is_gap() const noexcept { return subject_length_ == kGapMarker; }
  // The gap's record (zeros for a message).
  Gap gap() const noexcept;
  // Only while this item is not shared (in the subscription's queue).
  void merge_gap(const Gap &later) noexcept;

  std::string_view subject() const noexcept {
    if (is_gap()) return {};
    return {reinterpret_cast<const char *>(bytes_.data()), subject_length_};
  }
  std::span<const std::uint8_t> payload() const noexcept {
    if (is_gap()) return {};
    return bytes_.span().subspan(subject_length_);
  }
  std::uint32_t subscription_id() const noexcept { return subscription_id_; }
  std::uint64_t sequence() const noexcept { return sequence_; }

 private:
  // A gap keeps its Gap in the bytes a message keeps its subject and payload in, so an item in
  // a queue of a hundred thousand stays 24 bytes.
  static constexpr std::uint32_t kGapMarker = UINT32_MAX;

  SharedBuffer bytes_;
  std::uint32_t subject_length_ = 0;
  std::uint32_t subscription_id_ = 0;
  std::uint64_t sequence_ = 0;
};

struct SubscribeOptions {
  OverflowPolicy overflow = OverflowPolicy::drop_oldest;
  std::uint32_t queue_limit = 0;  // the broker's queue; 0: the broker's default
  // Messages held on this side for recv(); when full the oldest is dropped and counted.
  std::size_t local_queue_limit = 65536;
  // Gaps (drops, resubscribing after a lost connection) come in the order of messages, to
  // recv() or the callback, as items of their own (Message::is_gap(), MessageView::gap).
  bool report_gaps = false;
};

// Views valid only during the callback.
struct MessageView {
  std::string_view subject;
  std::span<const std::uint8_t> payload;
  std::uint32_t subscription_id;
  std::uint64_t sequence = 0;  // as Message::sequence()
  const Gap *gap = nullptr;    // a gap item (report_gaps): what was missed; subject is empty
};
using MessageCallback = std::function<void(const MessageView &)>;

struct SubscriptionStats {
  std::uint64_t received = 0;           // delivered to recv() or the callback
  std::uint64_t dropped_by_broker = 0;  // reported by the broker (DROPPED frames)
  std::uint64_t dropped_locally = 0;    // local queue full (recv() not keeping up)
  std::size_t queued = 0;               // waiting for recv()
  std::size_t queued_high_water = 0;    // the most that ever waited for recv() at once
  std::uint32_t queue_limit = 0;        // the broker's queue limit as granted; 0 until known
  bool accepted = false;                // the broker accepted it (at least once)
  // Made again on a new connection after the old one was lost (each time, messages published
  // meanwhile were missed uncounted).
  std::uint64_t resubscribed = 0;
  std::uint64_t last_sequence = 0;  // of the last message received (or dropped here)
};

class ClientCore;
class SubscriptionRegistry;

class Subscription {
 public:
  ~Subscription();  // unsubscribes if still live
  Subscription(const Subscription &) = delete;
  Subscription &operator=(const Subscription &) = delete;

  std::uint32_t id() const noexcept { return id_; }
  const std::string &pattern() const noexcept { return pattern_; }

  // Waits up to `timeout` (negative: forever) for a message. timeout status when none came;
  // closed once the subscription has ended and its queue is empty (the message says why).
  ClientResult recv(Message &out, std::chrono::milliseconds timeout);
  // Up to `max` messages into `out` (appended), waiting up to `timeout` for the first one only.
  ClientResult recv_batch(std::vector<Message> &out, std::size_t max,
                          std::chrono::milliseconds timeout);
  // An eventfd that is readable while messages wait or once the subscription has ended.
  int fd() const noexcept { return event_fd_; }
  // The errno of the failed eventfd() when fd() is -1 (the process was out of descriptors).
  int fd_error() const noexcept { return event_fd_errno_; }
  // Waits up to `timeout` (negative: forever) for the broker's answer: ok once accepted,
  // `rejected` with the broker's reason if it refused, the end reason if it ended unanswered,
  // `timeout` if no answer came in time.
  ClientResult wait_ready(std::chrono::milliseconds timeout);

  // Stops delivery now (queued messages stay readable) and tells the broker.
  ClientResult unsubscribe();
  bool ended() const;
  SubscriptionStats stats() const;
  const SubscribeOptions &options() const noexcept { return options_; }

 private:
  friend class SubscriptionRegistry;  // makes them and feeds them (core/runtime)
  Subscription(std::shared_ptr<ClientCore> client, std::uint32_t id, std::string pattern,
               SubscribeOptions options, MessageCallback callback);

  // Loop thread. True when the local queue is full after this message: the caller then holds
  // back the stream's credit until recv() drains it (back-pressure to the broker's queue).
  bool deliver(const MessageView &message);
  void dropped_by_broker(std::uint64_t count);  // loop thread
  void accepted(std::uint32_t queue_limit);     // loop thread
  // Loop thread. Subscribed again on a new connection, `disconnected` after the old one was lost.
  void resubscribed(std::chrono::milliseconds disconnected);
  // Loop thread, report_gaps only. Hands `gap`, which follows the message numbered
  // `last_sequence`, to the callback, or queues it (merged into a gap at the tail).
  void report_gap(const Gap &gap, std::uint64_t last_sequence);
  // Under mutex_. Queues a gap (merged into a gap at the tail).
  void queue_gap_locked(const Gap &gap, std::uint64_t last_sequence);
  // Under mutex_: the local queue is over its hard limit; drops its oldest message (a gap
  // in front of it takes the count).
  void drop_oldest_locked();
  // Any thread. `refused`: the broker refused it (wait_ready() reports `rejected`); recv() reports
  // `status` either way.
  void end(ClientStatus status, std::string message, bool refused = false);
  void signal_locked();

  std::shared_ptr<ClientCore> client_;
  const std::uint32_t id_;
  const std::string pattern_;
  const SubscribeOptions options_;
  const MessageCallback callback_;
  int event_fd_ = -1;
  int event_fd_errno_ = 0;  // why eventfd() failed, if it did

  mutable std::mutex mutex_;
  std::condition_variable ready_;     // a message or the end, for recv()
  std::condition_variable answered_;  // the broker's answer or the end, for wait_ready()
  std::deque<Message> queue_;
  std::uint64_t next_sequence_ = 1;  // of the next message routed to it (loop thread writes)
  bool ended_ = false;
  bool refused_ = false;
  ClientResult end_reason_;
  bool event_signalled_ = false;
  SubscriptionStats stats_;
};

struct ClientStats {
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t messages_in = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t dropped_by_broker = 0;
  std::uint64_t reconnects = 0;
  std::uint64_t publish_errors = 0;  // PUBLISH refused by the broker (INVALID_SUBJECT...)
  bool connected = false;
  // Accepted by publish() but never sent: the connection was lost (or the session refused it)
  // before the loop thread could hand it to the network. Counted in messages_out too.
  std::uint64_t publishes_unsent = 0;
};

class Client {
 public:
  // Connects to `url` ("flume://host:port", "host:port", "host"; port 7337 by default) and
  // waits until the broker accepted the HELLO or connecting failed (a specific status and
  // message: unreachable, tls with the reason, alpn, rejected with the broker's error, timeout).
  // Several URLs separated by commas (at most 16: nodes of one cluster) are raced: the client
  // keeps the first broker to complete a handshake, the nearest, and races them again on every
  // reconnect, so it moves to the nearest one still answering (ClientConnection).
  static std::unique_ptr<Client> connect(const std::string &url, const ClientConfig &config,
                                         ClientResult &result);
  ~Client();  // close()

  // Fire-and-forget; the payload is copied. Errors found locally (subject, size, closed, not
  // connected) come back at once; the broker's later refusals are counted in stats().
  ClientResult publish(std::string_view subject, std::span<const std::uint8_t> payload);
  // Waits until the broker has processed everything published (and every subscribe and
  // unsubscribe made) before the call.
  ClientResult flush(std::chrono::milliseconds timeout);
  // Subscribes; returns at once (the broker's answer arrives later: a refusal ends the
  // subscription with its reason, and flush() waits for it). With a callback, messages go to it
  // on the loop thread; without, they queue for recv().
  std::shared_ptr<Subscription> subscribe(std::string_view pattern, const SubscribeOptions &options,
                                          MessageCallback callback, ClientResult &result);
  // Ends the session and the loop thread. Subscriptions end (recv() drains them, then reports
  // closed). Idempotent.
  void close();
  ClientStats stats() const;
  // The broker's payload limit (65536 until known).
  std::uint32_t max_payload() const;

 private:
  explicit Client(std::shared_ptr<ClientCore> core) : core_(std::move(core)) {}
  std::shared_ptr<ClientCore> core_;
};

}  // namespace flume
