// ClientConnection: keeps the client connected. It owns the loop thread, the QUIC endpoint and
// the session of the current connection; it connects, reports the outcome of the first attempt
// to start(), reconnects with back-off after a loss (a new session, every live subscription sent
// again), and closes. It is the endpoint's quic::ConnectionHandler, feeding received bytes to the
// session, and drains the RequestQueue into the session through the RequestRunner. The other
// parts of the client (queue, flushes, subscriptions, counters) belong to ClientCore, which
// outlives this object; this one tells them when the client is ready, reconnecting or closed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client_engine/session.hpp"
#include "loop/event_loop.hpp"
#include "net/udp_socket.hpp"
#include "quic/endpoint.hpp"
#include "runtime/client.hpp"
#include "runtime/client_counters.hpp"
#include "runtime/client_flushes.hpp"
#include "runtime/client_request_runner.hpp"
#include "runtime/client_requests.hpp"
#include "runtime/client_session_events.hpp"
#include "runtime/client_session_link.hpp"
#include "runtime/client_subscriptions.hpp"
#include "tls/client_trust.hpp"

namespace flume {

// One address to connect to: where, the name its certificate must carry, and which broker of the
// client's list (its URLs, in order) it belongs to.
struct BrokerAddress {
  SocketAddress address;
  std::string server_name;
  std::size_t broker = 0;
};

class ClientConnection final : public quic::ConnectionHandler, private ClientSessionEvents::Owner {
 public:
  // The parts it drives; all outlive it.
  struct Parts {
    RequestQueue &requests;
    FlushTracker &flushes;
    SubscriptionRegistry &subscriptions;
    ClientCounters &counters;
  };

  // `servers`: every address to try (at least one). With one broker (one URL), each connection
  // attempt, the first and every reconnect, goes through its addresses in order until one
  // answers: an address that refuses, is unreachable or stays silent for its share of
  // connect_timeout (what is left of it, split evenly among the addresses not yet tried) passes
  // the turn to the next. A certificate or protocol failure ends the attempt at once.
  // With several brokers, each attempt races them: a handshake starts with every address at
  // once, the first to complete is kept (the nearest: its handshake took the fewest round trips'
  // time) and the others are closed. The attempt fails only when every one has failed or
  // connect_timeout passed; it reports the most telling failure (certificate, protocol, then
  // unreachable). A reconnect races them again, so a lost broker is replaced by the nearest
  // one still answering.
  ClientConnection(const ClientConfig &config, std::vector<BrokerAddress> servers,
                   std::shared_ptr<const tls::ClientTrust> trust, Parts parts);
  ~ClientConnection() override;
  ClientConnection(const ClientConnection &) = delete;
  ClientConnection &operator=(const ClientConnection &) = delete;

  // Starts the loop thread and the first connection; waits for the outcome.
  ClientResult start();
  // Says goodbye to the broker (bounded), stops the loop thread and ends every subscription.
  // Idempotent; not from the loop thread's callbacks.
  void close();
  bool closed() const;

  EventLoop &loop() noexcept { return thread_.loop(); }
  bool on_loop_thread() noexcept { return thread_.loop().is_loop_thread(); }
  // The broker's payload limit (the protocol's default until its OK to HELLO).
  std::uint32_t max_payload() const noexcept { return max_payload_.load(); }

  // Loop thread: carries out every queued request (posted once per burst by ClientCore).
  void run_requests();

 private:
  enum class State : std::uint8_t { connecting, ready, reconnecting, closed };

  // quic::ConnectionHandler (loop thread).
  void on_connected(quic::Connection &connection) override;
  void on_stream_data(quic::Connection &connection, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_stream_closed(quic::Connection &connection, std::int64_t stream_id,
                        std::uint64_t app_error_code) override;
  void on_stream_writable(quic::Connection &connection, std::int64_t stream_id) override;
  void on_closed(quic::Connection &connection, const quic::CloseInfo &info) override;

  // ClientSessionEvents::Owner (loop thread).
  void on_session_ready(const client_engine::ServerInfo &server) override;
  void on_session_failed(ErrorCode code, std::string_view message) override;

  // Loop thread.
  void begin_connect();       // a new attempt: from the first address, connect_timeout to share
  void connect_current();     // to servers_[address_index_], or on to the next if it cannot start
  void connect_race();        // to every address at once (several brokers)
  void on_attempt_timeout();  // the current address had its share of the time
  bool try_next_address();    // false when none is left
  // A handshake of the race completed: it becomes the connection; the others are closed.
  void adopt_racer(quic::Connection &connection);
  // A connection of the race closed before winning; the last one ends the attempt.
  void on_racer_closed(quic::Connection &connection, const quic::CloseInfo &info);
  // The connection (or the whole attempt) ended: reconnect, or report and close.
  void connection_ended(ClientResult why);
  // The attempt could not even start a connection.
  void attempt_could_not_start(ClientResult why);
  const SocketAddress &server() const noexcept { return servers_[address_index_].address; }
  std::chrono::milliseconds schedule_reconnect();  // returns the delay it chose
  bool is_current(const quic::Connection &connection) const noexcept {
    return &connection == link_.connection();
  }

  const ClientConfig &config_;
  const std::vector<BrokerAddress> servers_;
  const bool race_;  // several brokers: race them (else try the addresses in turn)
  const std::shared_ptr<const tls::ClientTrust> trust_;
  RequestQueue &requests_;
  FlushTracker &flushes_;
  SubscriptionRegistry &subscriptions_;
  ClientCounters &counters_;

  LoopThread thread_;
  // Loop thread only.
  std::unique_ptr<quic::Endpoint> endpoint_;
  SessionLink link_;  // the current connection, as the session's transport
  ClientSessionEvents events_;
  RequestRunner runner_;
  std::unique_ptr<client_engine::Session> session_;
  std::optional<ClientResult> session_failure_;  // why the broker or the engine ended it
  bool ready_once_ = false;                      // this connection's HELLO was accepted
  TimerId reconnect_timer_;
  TimerId attempt_timer_;
  TimerId next_address_timer_;
  std::size_t address_index_ = 0;  // into servers_: the one being tried
  // When this attempt's time is up, and the current address's part of what was left.
  std::chrono::steady_clock::time_point attempt_deadline_;
  // When the last working connection was lost, until the subscriptions are made again.
  std::optional<std::chrono::steady_clock::time_point> lost_at_;
  std::chrono::milliseconds attempt_share_{0};
  bool handshake_done_ = false;                  // the current connection got past the handshake
  std::optional<ClientResult> address_failure_;  // why the address before failed (timer, connect)
  TimerId close_timer_;
  // The race's connections still handshaking, with their index into servers_.
  std::vector<std::pair<quic::Connection *, std::size_t>> racers_;
  std::optional<ClientResult> race_failure_;  // the most telling failure of the race so far
  std::chrono::milliseconds backoff_{0};

  // Shared, under mutex_: start() and close() wait on it.
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  State state_ = State::connecting;
  ClientResult failure_;  // why connecting failed, or why the client is closed
  std::atomic<std::uint32_t> max_payload_{kDefaultMaxPayload};
};

}  // namespace flume
