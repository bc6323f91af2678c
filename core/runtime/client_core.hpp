// The inside of a Client: the state shared between the application's threads and the client's
// loop thread. Internal to core/runtime; the public face is client.hpp.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "client_engine/session.hpp"
#include "loop/event_loop.hpp"
#include "net/udp_socket.hpp"
#include "quic/endpoint.hpp"
#include "runtime/client.hpp"
#include "tls/client_trust.hpp"

namespace flume {

class ClientCore final : public std::enable_shared_from_this<ClientCore>,
                         public quic::ConnectionHandler,
                         public client_engine::SessionTransport,
                         public client_engine::SessionEvents {
 public:
  ClientCore(ClientConfig config, SocketAddress server, std::string server_name,
             std::shared_ptr<const tls::ClientTrust> trust);
  ~ClientCore() override;

  // Starts the loop thread and the first connection; waits for the outcome.
  ClientResult start();
  void close();

  ClientResult publish(std::string_view subject, std::span<const std::uint8_t> payload);
  ClientResult flush(std::chrono::milliseconds timeout);
  std::shared_ptr<Subscription> subscribe(std::string_view pattern, const SubscribeOptions &options,
                                          MessageCallback callback, ClientResult &result);
  ClientStats stats() const;
  std::uint32_t max_payload() const noexcept { return max_payload_.load(); }

  // From Subscription (any thread).
  void unsubscribe(std::uint32_t id);
  void return_credit(std::uint32_t id);

 private:
  enum class State : std::uint8_t { connecting, ready, reconnecting, closed };
  struct Op {
    enum class Kind : std::uint8_t { publish, subscribe, unsubscribe, flush, credit } kind;
    SharedBuffer bytes;  // publish: subject then payload
    std::uint32_t subject_length = 0;
    std::uint32_t id = 0;  // subscription id or flush id
  };

  // quic::ConnectionHandler (loop thread).
  void on_connected(quic::Connection &connection) override;
  void on_stream_data(quic::Connection &connection, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_stream_closed(quic::Connection &connection, std::int64_t stream_id,
                        std::uint64_t app_error_code) override;
  void on_stream_writable(quic::Connection &connection, std::int64_t stream_id) override;
  void on_closed(quic::Connection &connection, const quic::CloseInfo &info) override;

  // client_engine::SessionTransport (loop thread).
  void send(std::int64_t stream_id, SharedBuffer bytes, bool fin) override;
  void stop_sending(std::int64_t stream_id, std::uint64_t code) override;
  void close(std::uint64_t code, std::string_view reason) override;

  // client_engine::SessionEvents (loop thread).
  void on_ready(const client_engine::ServerInfo &server) override;
  void on_message(const client_engine::Delivery &delivery) override;
  void on_dropped(std::uint32_t subscription_id, std::uint64_t count) override;
  void on_subscribe_result(std::uint32_t subscription_id, ErrorCode code, std::string_view message,
                           std::uint32_t effective_queue_limit) override;
  void on_unsubscribed(std::uint32_t subscription_id, ErrorCode code,
                       std::string_view message) override;
  void on_subscription_ended(std::uint32_t subscription_id, ErrorCode code,
                             std::string_view message) override;
  void on_pong(std::uint64_t token) override;
  void on_error(ErrorCode code, std::string_view message) override;
  void on_session_failed(ErrorCode code, std::string_view message) override;

  // Loop thread.
  void begin_connect();
  void run_ops();
  void resubscribe_all();
  void schedule_reconnect();
  void finish_flushes(ClientStatus status, const std::string &message);
  // Under mutex_: keeps a flush's result for its waiter, or drops it if the waiter gave up.
  void store_flush_result(std::uint32_t id, ClientResult result);
  // Re-reads how many published bytes QUIC has not taken yet; wakes publishers waiting for room.
  void update_unsent();
  std::shared_ptr<Subscription> find(std::uint32_t id);
  void end_subscription(std::uint32_t id, ClientStatus status, std::string message,
                        bool refused = false);
  // Ends a subscription the session refused to send (a limit the broker announced, ...).
  void refuse_locally(std::uint32_t id, std::string_view why);

  // Any thread.
  void push(Op op);

  const ClientConfig config_;
  const SocketAddress server_;
  const std::string server_name_;
  const std::shared_ptr<const tls::ClientTrust> trust_;

  LoopThread thread_;
  // Loop thread only.
  std::unique_ptr<quic::Endpoint> endpoint_;
  quic::Connection *connection_ = nullptr;
  std::unique_ptr<client_engine::Session> session_;
  bool control_open_ = false;
  std::optional<ClientResult> session_failure_;  // why the broker or the engine ended it
  TimerId reconnect_timer_;
  TimerId close_timer_;
  std::chrono::milliseconds backoff_{0};
  std::int64_t delivering_stream_ = -1;           // the stream on_stream_data is feeding
  std::map<std::uint64_t, std::uint32_t> pings_;  // session ping token -> flush id
  bool ready_once_ = false;                       // this connection's HELLO was accepted
  // Stream credit held back while a subscription's local queue is full (back-pressure).
  std::unordered_map<std::uint32_t, std::int64_t> stream_of_;  // subscription -> stream
  std::unordered_map<std::int64_t, std::size_t> owed_credit_;  // stream -> bytes not consumed

  // Shared, under mutex_.
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  State state_ = State::connecting;
  ClientResult failure_;  // why connecting failed, or why the client is closed
  std::vector<Op> ops_;
  bool ops_posted_ = false;
  // publish() back-pressure: bytes of publish ops in ops_, and bytes the loop handed to the
  // connection that QUIC has not sent yet (every client frame travels on the control stream).
  std::size_t queued_publish_bytes_ = 0;
  std::size_t unsent_bytes_ = 0;
  std::unordered_map<std::uint32_t, std::weak_ptr<Subscription>> subscriptions_;
  std::uint32_t next_subscription_id_ = 1;
  std::uint32_t next_flush_id_ = 1;
  std::map<std::uint32_t, ClientResult> flush_results_;  // finished flushes, by id
  std::set<std::uint32_t> abandoned_flushes_;            // timed out: their results are not kept
  ClientStats stats_;
  std::atomic<std::uint32_t> max_payload_{kDefaultMaxPayload};
};

}  // namespace flume
