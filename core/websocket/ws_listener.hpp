// The broker's WebSocket port (flume-broker --ws-listen): a non-blocking TCP listener on the
// broker's event loop that reads each connection's HTTP request head, answers it (the 101 of a
// flume.v1 WebSocket, a refusal, the demo page at / or the browser client at /flume.js) and then
// runs a WsSession on the same engine as the QUIC clients, so both kinds see each other's
// messages. Plain ws:// only (docs/websocket.md says what is not done).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "broker/broker.hpp"
#include "loop/event_loop.hpp"
#include "net/udp_socket.hpp"
#include "websocket/ws_session.hpp"

namespace flume::websocket {

struct WsListenerConfig {
  std::string listen;                        // "host:port", "[v6]:port", ":port"
  std::vector<std::string> allowed_origins;  // empty: any Origin
  // TCP connections at once, handshaking ones included; beyond it new ones are closed at once.
  // (The engine's own max_connections refuses sessions beyond it with TOO_MANY_CONNECTIONS.)
  std::size_t max_connections = 10000 + 64;
  std::size_t max_head_bytes = 8192;
  std::chrono::milliseconds handshake_timeout{10000};
  WsSessionConfig session;
  std::string page_html;  // GET /
  std::string client_js;  // GET /flume.js (404 when empty)
};

class WsListener {
 public:
  // `engine_touched` runs after the engine was called (the owner re-arms its engine timer).
  WsListener(EventLoop &loop, broker::Broker &engine, WsListenerConfig config,
             std::function<void()> engine_touched);
  ~WsListener();
  WsListener(const WsListener &) = delete;
  WsListener &operator=(const WsListener &) = delete;

  std::error_code open(std::string &message);
  const SocketAddress &local_address() const noexcept { return local_; }
  std::size_t connection_count() const noexcept { return connections_.size(); }
  std::uint64_t refused_connections() const noexcept { return refused_; }

 private:
  struct Connection;
  void on_accept();
  void on_io(std::uint64_t id, std::uint32_t events);
  void on_head(Connection &c);
  // Writes what is waiting; false when the connection was closed (c is gone then).
  bool drive(Connection &c);
  void close_connection(std::uint64_t id);
  void on_tick();
  void flush_pending();

  EventLoop &loop_;
  broker::Broker &engine_;
  WsListenerConfig config_;
  std::function<void()> engine_touched_;
  int fd_ = -1;
  SocketAddress local_;
  std::map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::uint64_t next_id_ = 1;
  std::vector<std::uint64_t> dirty_;  // sessions the engine queued bytes for from outside
  bool flush_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  TimerId tick_timer_;
  std::uint64_t refused_ = 0;
};

}  // namespace flume::websocket
