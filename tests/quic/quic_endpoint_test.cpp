// Endpoint behaviour over real QUIC on 127.0.0.1: trust, failures a client must tell apart,
// stateless packets, timeouts and many connections on one socket.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "quic_fixture.hpp"
#include "tls/certificate.hpp"

namespace flume::quic::test {
namespace {

using QuicEndpoint = QuicFixture;

std::shared_ptr<tls::ClientTrust> pinned(const std::string &fingerprint) {
  std::string error;
  auto trust = tls::ClientTrust::from_fingerprint(fingerprint, error);
  EXPECT_TRUE(trust) << error;
  return trust;
}

// Connects a client with `trust` to `server_name` and returns how it ended (or connected).
class QuicTrust : public QuicEndpoint {
 protected:
  const CloseInfo *connect_expecting_failure(std::shared_ptr<const tls::ClientTrust> trust,
                                             std::string_view server_name) {
    start_client(client_config(std::move(trust)));
    connect(server_name);
    if (!wait_client_closed()) return nullptr;
    EXPECT_TRUE(client_handler.connected.empty());
    return &client_handler.closes[0];
  }
};

TEST_F(QuicTrust, ca_file_of_the_self_signed_certificate_connects) {
  start_server();
  start_client(client_config(test_pki().trust));
  connect("localhost");
  EXPECT_TRUE(wait_client_connected());
}

TEST_F(QuicTrust, ca_file_verifies_an_ip_address_too) {
  start_server();
  start_client(client_config(test_pki().trust));
  connect("127.0.0.1");
  EXPECT_TRUE(wait_client_connected());
}

TEST_F(QuicTrust, ipv6_loopback_connects_and_verifies_the_ipv6_address) {
  EndpointConfig sc = server_config();
  sc.bind_address = parse_address("::1", 0).value_or(SocketAddress{});
  server = std::make_unique<Endpoint>(loop, sc, server_handler);
  std::string message;
  if (server->open(&message)) GTEST_SKIP() << "no IPv6 loopback here: " << message;
  start_client(client_config(test_pki().trust));
  connect("::1");
  EXPECT_TRUE(wait_client_connected());
}

TEST_F(QuicTrust, without_trust_in_the_self_signed_certificate_fails_with_the_reason) {
  start_server();
  std::string error;
  auto system = tls::ClientTrust::from_system_store(error);
  ASSERT_TRUE(system) << error;
  const CloseInfo *info = connect_expecting_failure(system, "localhost");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->reason, CloseReason::certificate_rejected);
  EXPECT_FALSE(info->by_peer);
  EXPECT_NE(info->message.find("certificate verification failed: signer not found (self-signed "
                               "certificate not trusted; pass the broker's CA file or its "
                               "fingerprint)"),
            std::string::npos)
      << info->message;
  EXPECT_TRUE(server_handler.connected.empty());
  EXPECT_TRUE(wait([&] { return server->connection_count() == 0; }));
}

TEST_F(QuicTrust, wrong_server_name_is_a_name_mismatch) {
  start_server();
  const CloseInfo *info = connect_expecting_failure(test_pki().trust, "broker.example.com");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->reason, CloseReason::certificate_rejected);
  EXPECT_NE(info->message.find("name mismatch"), std::string::npos) << info->message;
  EXPECT_NE(info->message.find("broker.example.com"), std::string::npos) << info->message;
}

TEST_F(QuicTrust, expired_certificate_is_reported_as_expired) {
  TempDir dir;
  std::string error;
  tls::SelfSignedRequest request = tls::default_self_signed_request();
  request.validity = std::chrono::seconds(-60);
  auto pair = tls::generate_self_signed(request, error);
  ASSERT_TRUE(pair) << error;
  std::string ca = dir.path() + "/expired.pem";
  std::ofstream(ca) << pair->certificate;
  auto credentials = tls::ServerCredentials::from_pem(pair->certificate, pair->private_key, error);
  ASSERT_TRUE(credentials) << error;
  EndpointConfig sc = server_config();
  sc.server_credentials = credentials;
  start_server(sc);
  auto trust = tls::ClientTrust::from_ca_file(ca, error);
  ASSERT_TRUE(trust) << error;
  const CloseInfo *info = connect_expecting_failure(trust, "localhost");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->reason, CloseReason::certificate_rejected);
  EXPECT_NE(info->message.find("expired"), std::string::npos) << info->message;
}

TEST_F(QuicTrust, right_pin_connects_under_any_name) {
  start_server();
  start_client(client_config(pinned(test_pki().server->fingerprint())));
  connect("whatever.invalid");  // the pin names the exact certificate; names do not matter
  EXPECT_TRUE(wait_client_connected());
}

TEST_F(QuicTrust, wrong_pin_fails_saying_expected_and_got) {
  start_server();
  std::string wrong(test_pki().server->fingerprint());
  wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
  const CloseInfo *info = connect_expecting_failure(pinned(wrong), "localhost");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->reason, CloseReason::certificate_rejected);
  EXPECT_NE(info->message.find("fingerprint mismatch: expected " + wrong + " got " +
                               test_pki().server->fingerprint()),
            std::string::npos)
      << info->message;
}

TEST_F(QuicTrust, insecure_mode_connects_and_still_reports_the_fingerprint) {
  start_server();
  start_client(client_config(tls::ClientTrust::insecure()));
  Connection *conn = connect("not-the-name");
  ASSERT_TRUE(wait_client_connected());
  EXPECT_EQ(conn->peer_certificate_fingerprint(), test_pki().server->fingerprint());
}

TEST_F(QuicEndpoint, alpn_mismatch_gives_a_specific_error) {
  EndpointConfig sc = server_config();
  sc.alpn = "other/1";
  start_server(sc);
  start_client();
  connect();
  ASSERT_TRUE(wait_client_closed());
  const CloseInfo &info = client_handler.closes[0];
  EXPECT_EQ(info.reason, CloseReason::alpn_mismatch);
  EXPECT_TRUE(info.by_peer);
  EXPECT_EQ(info.tls_alert, 120);
  EXPECT_EQ(info.error_code, 0x178u);
  EXPECT_NE(info.message.find("flume/1"), std::string::npos) << info.message;
  EXPECT_TRUE(wait([&] { return server->stats().handshake_failures == 1; }));
}

TEST_F(QuicEndpoint, connecting_where_nobody_listens_fails_fast_as_unreachable) {
  std::uint16_t port;
  {
    UdpSocket probe;
    ASSERT_FALSE(probe.bind(loopback(0)));
    port = probe.local_address().port();
  }  // closed again: nothing listens on `port` now
  EndpointConfig cc = client_config();
  cc.handshake_timeout = 2s;
  start_client(cc);
  std::string error;
  ASSERT_NE(client->connect(loopback(port), "localhost", &error), nullptr) << error;
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_client_closed(1));
  auto took = std::chrono::steady_clock::now() - started;
  const CloseInfo &info = client_handler.closes[0];
  EXPECT_EQ(info.reason, CloseReason::unreachable) << info.message;
  EXPECT_NE(info.message.find("refused"), std::string::npos) << info.message;
  EXPECT_LT(took, 1s) << "ICMP port unreachable should end it well before the handshake timeout";
  EXPECT_EQ(client->connection_count(), 0u);
}

TEST_F(QuicEndpoint, silent_peer_hits_the_handshake_timeout) {
  UdpSocket silent;  // bound, never answers: no ICMP either
  ASSERT_FALSE(silent.bind(loopback(0)));
  EndpointConfig cc = client_config();
  cc.handshake_timeout = 500ms;
  start_client(cc);
  ASSERT_NE(client->connect(silent.local_address(), "localhost"), nullptr);
  ASSERT_TRUE(wait_client_closed(1, 3s));
  EXPECT_EQ(client_handler.closes[0].reason, CloseReason::handshake_timeout)
      << client_handler.closes[0].message;
}

TEST_F(QuicEndpoint, stateless_reset_after_the_server_forgets_the_connection) {
  std::array<std::uint8_t, 32> secret{};
  secret.fill(0x5a);
  EndpointConfig sc = server_config();
  sc.static_secret = secret;
  start_server(sc);
  start_client();
  Connection *conn = connect();
  ASSERT_TRUE(wait_client_connected());
  ASSERT_TRUE(wait([&] { return server_handler.connected.size() == 1; }));

  // The broker restarts: same port, same secret, no memory of the connection.
  std::uint16_t port = server->local_address().port();
  server.reset();
  sc.bind_address = loopback(port);
  start_server(sc);

  std::int64_t sid = conn->open_bidi_stream();
  ASSERT_GE(sid, 0);
  ASSERT_TRUE(conn->send(sid, bytes_of("anyone there?")));
  ASSERT_TRUE(wait_client_closed());
  EXPECT_EQ(client_handler.closes[0].reason, CloseReason::stateless_reset)
      << client_handler.closes[0].message;
  EXPECT_TRUE(client_handler.closes[0].by_peer);
  EXPECT_GE(server->stats().stateless_resets_sent, 1u);
}

TEST_F(QuicEndpoint, forced_retry_still_connects) {
  EndpointConfig sc = server_config();
  sc.retry_threshold = 0;  // every new client proves its address first
  start_server(sc);
  start_client();
  server_handler.on_data_hook = [](Connection &c, std::int64_t sid,
                                   std::span<const std::uint8_t> data,
                                   bool fin) { c.send(sid, SharedBuffer::copy_of(data), fin); };
  Connection *conn = connect();
  ASSERT_TRUE(wait_client_connected());
  EXPECT_EQ(server->stats().retries_sent, 1u);
  std::int64_t sid = conn->open_bidi_stream();
  ASSERT_TRUE(conn->send(sid, bytes_of("after retry"), true));
  ASSERT_TRUE(wait([&] { return client_handler.stream(conn, sid).fin; }));
  EXPECT_EQ(client_handler.stream(conn, sid).data, "after retry");
}

TEST_F(QuicEndpoint, idle_timeout_closes_both_ends) {
  EndpointConfig sc = server_config();
  sc.idle_timeout = 300ms;
  start_server(sc);
  EndpointConfig cc = client_config();
  cc.idle_timeout = 300ms;
  cc.keep_alive = 0ms;
  start_client(cc);
  connect();
  ASSERT_TRUE(wait_client_connected());
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_client_closed(1, 3s));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 250ms);
  EXPECT_EQ(client_handler.closes[0].reason, CloseReason::idle_timeout)
      << client_handler.closes[0].message;
  ASSERT_TRUE(wait([&] { return server_handler.closes.size() == 1; }, 3s));
  EXPECT_EQ(server_handler.closes[0].reason, CloseReason::idle_timeout);
}

TEST_F(QuicEndpoint, keep_alive_holds_an_idle_connection_open) {
  EndpointConfig sc = server_config();
  sc.idle_timeout = 400ms;
  start_server(sc);
  EndpointConfig cc = client_config();
  cc.idle_timeout = 400ms;
  cc.keep_alive = 100ms;
  start_client(cc);
  connect();
  ASSERT_TRUE(wait_client_connected());
  run_for(loop, 1500ms);
  EXPECT_TRUE(client_handler.closes.empty());
  EXPECT_EQ(server->connection_count(), 1u);
}

TEST_F(QuicEndpoint, two_hundred_connections_share_one_server_socket) {
  constexpr std::size_t kConnections = 200;
  start_server();
  start_client();
  server_handler.on_data_hook = [](Connection &c, std::int64_t sid,
                                   std::span<const std::uint8_t> data,
                                   bool fin) { c.send(sid, SharedBuffer::copy_of(data), fin); };
  client_handler.on_connected_hook = [](Connection &c) {
    std::int64_t sid = c.open_bidi_stream();
    c.send(sid, bytes_of("ping from " + c.local_address().to_string()), true);
  };
  std::vector<Connection *> conns;
  for (std::size_t i = 0; i < kConnections; ++i)
    conns.push_back(connect());
  ASSERT_TRUE(wait(
      [&] {
        std::size_t echoed = 0;
        for (Connection *c : conns)
          echoed += client_handler.stream(c, 0).fin ? 1 : 0;
        return echoed == kConnections;
      },
      15s));
  EXPECT_EQ(server->connection_count(), kConnections);
  for (Connection *c : conns) {
    EXPECT_EQ(client_handler.stream(c, 0).data, "ping from " + c->local_address().to_string());
  }
  client->close_all(0, "done");
  ASSERT_TRUE(wait([&] { return server_handler.closes.size() == kConnections; }, 10s));
  EXPECT_EQ(server->connection_count(), 0u);
  EXPECT_EQ(server_handler.closes[0].reason, CloseReason::application);
  EXPECT_TRUE(server_handler.closes[0].by_peer);
}

TEST_F(QuicEndpoint, connections_beyond_the_limit_are_refused) {
  EndpointConfig sc = server_config();
  sc.max_connections = 2;
  start_server(sc);
  start_client();
  connect();
  connect();
  ASSERT_TRUE(wait_client_connected(2));
  connect();
  ASSERT_TRUE(wait_client_closed());
  EXPECT_EQ(client_handler.closes[0].reason, CloseReason::refused)
      << client_handler.closes[0].message;
  EXPECT_EQ(server->stats().connections_refused, 1u);
}

TEST_F(QuicEndpoint, an_address_at_its_connection_limit_is_refused_and_admitted_after_one_ends) {
  EndpointConfig sc = server_config();
  sc.address_limits.max_connections_per_address = 2;
  sc.address_limits.limit_loopback = true;  // the test's clients are all on 127.0.0.1
  start_server(sc);
  start_client();
  Connection *first = connect();
  connect();
  ASSERT_TRUE(wait_client_connected(2));
  connect();
  ASSERT_TRUE(wait_client_closed());
  EXPECT_EQ(client_handler.closes[0].reason, CloseReason::refused)
      << client_handler.closes[0].message;
  EXPECT_NE(client_handler.closes[0].message.find("too many connections from this address"),
            std::string::npos)
      << client_handler.closes[0].message;
  EXPECT_EQ(server->stats().refused_address_connections, 1u);
  first->close(0, "making room");
  ASSERT_TRUE(wait([&] { return server->connection_count() == 1; }));
  connect();
  ASSERT_TRUE(wait_client_connected(3));
}

TEST_F(QuicEndpoint, an_address_over_its_handshake_rate_proves_itself_then_waits_for_the_rate) {
  EndpointConfig sc = server_config();
  sc.address_limits.handshakes_per_second = 1;
  sc.address_limits.handshake_burst = 2;
  sc.address_limits.limit_loopback = true;
  start_server(sc);
  start_client();
  // Two straight in; the next two only after a Retry (the address proves itself and has a
  // bucket of its own as a proven one), one after another so the buckets are used in order.
  for (std::size_t i = 1; i <= 4; ++i) {
    connect();
    ASSERT_TRUE(wait_client_connected(i)) << i;
  }
  EXPECT_EQ(server->stats().retries_for_address_rate, 2u);
  // Past the Retry rate too: no answer at all (answering a flood would cost more than it does)
  // until the buckets refill at 1 a second; the client's Initial retransmissions then get in.
  const auto asked = std::chrono::steady_clock::now();
  connect();
  ASSERT_TRUE(wait([&] { return server->stats().dropped_address_rate >= 1; }));
  EXPECT_EQ(server->connection_count(), 4u);
  ASSERT_TRUE(wait_client_connected(5));
  EXPECT_GE(std::chrono::steady_clock::now() - asked, 500ms);
  EXPECT_TRUE(client_handler.closes.empty());
}

TEST_F(QuicEndpoint, unknown_version_is_answered_with_version_negotiation) {
  start_server();
  // A long-header packet of a version nobody speaks, padded to the 1200 bytes a server
  // requires before it answers (anti-amplification).
  std::vector<std::uint8_t> packet(1200, 0);
  const std::array<std::uint8_t, 8> dcid{1, 2, 3, 4, 5, 6, 7, 8};
  const std::array<std::uint8_t, 5> scid{9, 10, 11, 12, 13};
  std::size_t at = 0;
  packet[at++] = 0xc0;
  for (std::uint8_t b : {0x1a, 0x2a, 0x3a, 0x4a})
    packet[at++] = b;
  packet[at++] = dcid.size();
  for (std::uint8_t b : dcid)
    packet[at++] = b;
  packet[at++] = scid.size();
  for (std::uint8_t b : scid)
    packet[at++] = b;

  UdpSocket probe;
  ASSERT_FALSE(probe.connect(server->local_address()));
  OutgoingDatagram datagram{packet.data(), packet.size(), nullptr, nullptr};
  ASSERT_EQ(probe.send_batch({&datagram, 1}).count, 1u);

  RecvBatch batch;
  std::vector<std::uint8_t> reply;
  ASSERT_TRUE(wait([&] {
    IoResult r = probe.recv_batch(batch);
    if (r.count > 0) reply.assign(batch[0].data, batch[0].data + batch[0].size);
    return !reply.empty();
  }));
  ASSERT_GE(reply.size(), 7u + scid.size() + dcid.size() + 4);
  EXPECT_TRUE(reply[0] & 0x80);
  EXPECT_EQ(std::memcmp(&reply[1], "\0\0\0\0", 4), 0) << "version 0 marks Version Negotiation";
  // Connection IDs come back swapped: ours (the SCID we sent) is its DCID.
  ASSERT_EQ(reply[5], scid.size());
  EXPECT_EQ(std::memcmp(&reply[6], scid.data(), scid.size()), 0);
  std::size_t versions_at = 6 + scid.size() + 1 + dcid.size();
  ASSERT_EQ(reply[6 + scid.size()], dcid.size());
  bool offers_v1 = false;
  for (std::size_t i = versions_at; i + 4 <= reply.size(); i += 4) {
    offers_v1 =
        offers_v1 || (reply[i] == 0 && reply[i + 1] == 0 && reply[i + 2] == 0 && reply[i + 3] == 1);
  }
  EXPECT_TRUE(offers_v1);
  EXPECT_EQ(server->stats().version_negotiations_sent, 1u);
  EXPECT_EQ(server->connection_count(), 0u);
}

TEST_F(QuicEndpoint, close_all_reaches_every_peer_with_the_code) {
  start_server();
  start_client();
  connect();
  connect();
  ASSERT_TRUE(wait([&] { return server_handler.connected.size() == 2; }));
  server->close_all(0x0F, "bye");
  ASSERT_TRUE(wait_client_closed(2));
  for (const CloseInfo &info : client_handler.closes) {
    EXPECT_EQ(info.reason, CloseReason::application);
    EXPECT_EQ(info.error_code, 0x0Fu);
    EXPECT_EQ(info.reason_phrase, "bye");
  }
  EXPECT_TRUE(wait([&] { return server->connection_count() == 0; }));
}

TEST_F(QuicEndpoint, config_that_would_trip_ngtcp2_asserts_is_refused_at_open) {
  EndpointConfig sc = server_config();
  sc.initial_rtt = std::chrono::microseconds(0);
  Endpoint endpoint(loop, sc, server_handler);
  std::string message;
  EXPECT_TRUE(endpoint.open(&message));
  EXPECT_NE(message.find("initial_rtt"), std::string::npos) << message;
}

}  // namespace
}  // namespace flume::quic::test
