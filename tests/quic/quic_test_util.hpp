// Shared pieces of the QUIC tests: a throw-away PKI, a handler that records what happened, and
// bounded waiting on one event loop that runs both ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "loop/event_loop.hpp"
#include "quic/connection.hpp"
#include "quic/connection_handler.hpp"
#include "quic/endpoint.hpp"
#include "tls/client_trust.hpp"
#include "tls/server_credentials.hpp"

namespace flume::quic::test {

using namespace std::chrono_literals;

// Every wait in these tests is bounded by this (or less).
inline constexpr std::chrono::milliseconds kWaitLimit = 5s;

// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string &path() const { return path_; }

 private:
  std::string path_;
};

// The broker's self-signed credentials, made once per test program (in its own TempDir).
struct TestPki {
  std::shared_ptr<tls::ServerCredentials> server;
  std::shared_ptr<tls::ClientTrust> trust;  // CA file = the server's cert.pem
  std::string certificate_path;
};
const TestPki &test_pki();

// Runs `loop` until `done()` or `limit`; returns done().
bool run_until(EventLoop &loop, const std::function<bool()> &done,
               std::chrono::milliseconds limit = kWaitLimit);
// Runs `loop` for `duration` regardless.
void run_for(EventLoop &loop, std::chrono::milliseconds duration);

// Records everything; each hook, when set, runs after the recording.
class RecordingHandler : public ConnectionHandler {
 public:
  struct StreamRecord {
    std::string data;
    bool fin = false;
    bool closed = false;
    std::uint64_t close_code = 0;
    bool reset = false;
    std::uint64_t reset_code = 0;
  };
  struct PerConnection {
    std::map<std::int64_t, StreamRecord> streams;
  };

  bool auto_consume = true;  // return stream credit at once

  std::function<void(Connection &)> on_connected_hook;
  std::function<void(Connection &, std::int64_t, std::span<const std::uint8_t>, bool)> on_data_hook;
  std::function<void(Connection &, std::int64_t)> on_writable_hook;
  std::function<void(Connection &)> on_streams_available_hook;
  std::function<void(Connection &, const CloseInfo &)> on_closed_hook;

  std::vector<Connection *> connected;  // in order; entries stay after close (do not use then)
  std::vector<CloseInfo> closes;
  std::map<Connection *, PerConnection> per_connection;
  std::size_t streams_available_calls = 0;
  std::size_t writable_calls = 0;

  bool is_open(Connection *connection) const;
  StreamRecord &stream(Connection *connection, std::int64_t stream_id) {
    return per_connection[connection].streams[stream_id];
  }

  void on_connected(Connection &connection) override;
  void on_stream_data(Connection &connection, std::int64_t stream_id,
                      std::span<const std::uint8_t> data, bool fin) override;
  void on_stream_reset(Connection &connection, std::int64_t stream_id,
                       std::uint64_t app_error_code) override;
  void on_stream_closed(Connection &connection, std::int64_t stream_id,
                        std::uint64_t app_error_code) override;
  void on_stream_writable(Connection &connection, std::int64_t stream_id) override;
  void on_streams_available(Connection &connection) override;
  void on_closed(Connection &connection, const CloseInfo &info) override;

 private:
  std::vector<Connection *> open_;
};

// A UDP relay between one client and a server that drops a share of the datagrams in each
// direction (seeded, so a failure can be replayed): loss without root or netfilter.
class LossyRelay {
 public:
  LossyRelay(EventLoop &loop, const SocketAddress &server, double loss, std::uint32_t seed);
  ~LossyRelay();
  const SocketAddress &address() const { return front_.local_address(); }  // connect here
  std::size_t forwarded() const { return forwarded_; }
  std::size_t dropped() const { return dropped_; }

 private:
  void pump(UdpSocket &from, UdpSocket &to, bool toward_server);

  EventLoop &loop_;
  UdpSocket front_;  // faces the client
  UdpSocket back_;   // connected to the server
  SocketAddress client_;
  double loss_;
  std::uint64_t rng_;
  RecvBatch batch_;
  std::size_t forwarded_ = 0;
  std::size_t dropped_ = 0;
};

// Configs for a server on 127.0.0.1 (ephemeral port) and a client trusting it, with short
// timeouts so failures show quickly.
EndpointConfig server_config();
EndpointConfig client_config(std::shared_ptr<const tls::ClientTrust> trust = nullptr);

SocketAddress loopback(std::uint16_t port);
SharedBuffer bytes_of(std::string_view text);
// Deterministic content: byte i of stream `seed` (to check order and integrity).
std::uint8_t pattern_byte(std::uint64_t seed, std::uint64_t index);

}  // namespace flume::quic::test
