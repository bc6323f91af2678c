// A server and a client endpoint on one event loop, for tests that drive real QUIC over
// 127.0.0.1 through ngtcp2 and GnuTLS.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "quic_test_util.hpp"

namespace flume::quic::test {

class QuicFixture : public ::testing::Test {
 protected:
  void start_server(EndpointConfig config = server_config()) {
    server = std::make_unique<Endpoint>(loop, std::move(config), server_handler);
    std::string message;
    ASSERT_FALSE(server->open(&message)) << message;
  }
  void start_client(EndpointConfig config = client_config()) {
    client = std::make_unique<Endpoint>(loop, std::move(config), client_handler);
    std::string message;
    ASSERT_FALSE(client->open(&message)) << message;
  }
  Connection *connect(std::string_view server_name = "localhost") {
    std::string error;
    Connection *connection = client->connect(server->local_address(), server_name, &error);
    EXPECT_NE(connection, nullptr) << error;
    return connection;
  }
  bool wait(const std::function<bool()> &done, std::chrono::milliseconds limit = kWaitLimit) {
    return run_until(loop, done, limit);
  }
  bool wait_client_connected(std::size_t count = 1) {
    return wait([&] { return client_handler.connected.size() >= count; });
  }
  bool wait_client_closed(std::size_t count = 1, std::chrono::milliseconds limit = kWaitLimit) {
    return wait([&] { return client_handler.closes.size() >= count; }, limit);
  }

  // Declared first, destroyed last: the endpoints use the loop and the handlers.
  EventLoop loop;
  RecordingHandler server_handler;
  RecordingHandler client_handler;
  std::unique_ptr<Endpoint> server;
  std::unique_ptr<Endpoint> client;
};

}  // namespace flume::quic::test
