// A broker on the network: the sans-I/O broker engine (core/broker) driven by a QUIC server
// endpoint (core/quic) on one event loop. flume-broker and flume_broker_start() both run this.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <unordered_set>

#include "broker/broker.hpp"
#include "loop/event_loop.hpp"
#include "net/udp_socket.hpp"
#include "quic/endpoint.hpp"
#include "runtime/memory_release.hpp"
#include "tls/server_credentials.hpp"

namespace flume {

struct BrokerServerConfig {
  // Where to listen: "host:port", "[v6]:port", ":port" or "host" (port 7337). "[::]" (and an
  // empty host) is dual stack: IPv6 and IPv4 on one socket; "0.0.0.0" is IPv4 only. Where the
  // machine has no IPv6, "[::]" falls back to 0.0.0.0 (listen_note() says so).
  std::string listen = "[::]:7337";
  // Certificate and key (PEM). Both empty: the self-signed pair in `data_dir`, made on first
  // start and reused afterwards.
  std::string certificate_file;
  std::string key_file;
  // Where the self-signed certificate and the transport secret live; empty:
  // storage::default_data_dir().
  std::string data_dir;
  // Make a new self-signed certificate even though one exists (the old files are kept as
  // *.bak); without it a damaged one stops open() with a message saying what is wrong.
  bool regenerate_certificate = false;
  // The engine's limits; engine.max_memory_bytes is the broker-wide memory budget (0: a
  // quarter of the machine's memory or cgroup limit, broker/memory_budget.hpp).
  broker::BrokerConfig engine;
  // Transport-level connection cap (beyond it: CONNECTION_REFUSED without any state); kept
  // above the engine's max_connections so clients normally get the friendlier
  // TOO_MANY_CONNECTIONS.
  std::size_t transport_max_connections = 0;  // 0: engine.max_connections + 64
  std::size_t retry_threshold = 64;
  // Connections and handshake rate per source address (quic/address_limits.hpp).
  quic::AddressLimitsConfig address_limits;
  // How long a graceful shutdown waits for clients to take their SHUTTING_DOWN.
  std::chrono::milliseconds shutdown_grace{2000};
};

// Parses "host:port", "[v6]:port", ":port" (all addresses: [::], dual stack) or "host" (default
// port).
std::optional<SocketAddress> parse_listen_address(const std::string &text, std::string &error);

class BrokerServer final : public quic::ConnectionHandler {
 public:
  // Not thread-safe: everything runs on `loop`'s thread.
  BrokerServer(EventLoop &loop, BrokerServerConfig config);
  ~BrokerServer() override;
  BrokerServer(const BrokerServer &) = delete;
  BrokerServer &operator=(const BrokerServer &) = delete;

  // Loads or creates the certificate and starts listening. `message` explains a failure.
  std::error_code open(std::string &message);

  // Graceful shutdown: stop admitting, tell every client SHUTTING_DOWN, give them
  // config.shutdown_grace to receive it, then close what is left. `done` runs on the loop
  // thread once no connection remains.
  void shutdown(std::function<void()> done);

  const SocketAddress &local_address() const noexcept;
  // Which IP versions the socket takes ("IPv4 and IPv6", "IPv6", "IPv4"), and why when it is not
  // what was asked for: "IPv4 only: this machine has no IPv6 (...)". For the start-up line.
  const std::string &listen_note() const noexcept { return listen_note_; }
  const tls::ServerCredentials &credentials() const noexcept { return *credentials_; }
  broker::BrokerStats stats() const { return engine_.stats(); }
  // The engine itself, for what joins it on this loop (an overlay node's hooks).
  broker::Broker &engine() noexcept { return engine_; }
  quic::EndpointStats transport_stats() const;
  std::size_t connection_count() const noexcept;
  // How often freed memory was given back to the system (runtime/memory_release.hpp).
  std::uint64_t memory_releases() const noexcept { return memory_releases_; }

 private:
  class Link;  // one connection: the engine's SessionTransport over a quic::Connection
  std::string listen_note_;

  // quic::ConnectionHandler: the endpoint's events, forwarded to the engine.
  void on_connected(quic::Connection &connection) override;
  void on_stream_data(quic::Connection &connection, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_stream_reset(quic::Connection &connection, std::int64_t stream_id,
                       std::uint64_t app_error_code) override;
  void on_stream_stopped(quic::Connection &connection, std::int64_t stream_id) override;
  void on_stream_closed(quic::Connection &connection, std::int64_t stream_id,
                        std::uint64_t app_error_code) override;
  void on_stream_writable(quic::Connection &connection, std::int64_t stream_id) override;
  void on_streams_available(quic::Connection &connection) override;
  void on_closed(quic::Connection &connection, const quic::CloseInfo &info) override;
  void on_handshake_abandoned() override { check_shutdown_done(); }

  static broker::Session *session_of(quic::Connection &connection) noexcept;
  void arm_engine_timer();
  void check_memory();
  void check_shutdown_done();

  EventLoop &loop_;
  BrokerServerConfig config_;
  broker::Broker engine_;
  std::shared_ptr<tls::ServerCredentials> credentials_;
  std::unique_ptr<quic::Endpoint> endpoint_;
  // Every live Link, also reachable through its connection's user_data; kept here too so the
  // destructor can free them when the endpoint drops connections without callbacks.
  std::unordered_set<Link *> links_;
  TimerId engine_timer_;
  TimerId shutdown_timer_;
  TimerId memory_timer_;  // once a second: whether to give freed memory back
  MemoryReleaser memory_releaser_;
  std::uint64_t memory_releases_ = 0;
  std::function<void()> shutdown_done_;
  bool shutting_down_ = false;
};

}  // namespace flume
