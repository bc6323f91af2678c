// Streams over a real QUIC connection: echo, many streams, flow control, batching, resets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "quic_fixture.hpp"

namespace flume::quic::test {
namespace {

using QuicStream = QuicFixture;

SharedBuffer pattern_buffer(std::uint64_t seed, std::size_t size) {
  SharedBuffer buffer = SharedBuffer::allocate(size);
  for (std::size_t i = 0; i < size; ++i)
    buffer.mutable_data()[i] = pattern_byte(seed, i);
  return buffer;
}

bool matches_pattern(const std::string &data, std::uint64_t seed) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (static_cast<std::uint8_t>(data[i]) != pattern_byte(seed, i)) return false;
  }
  return true;
}

TEST_F(QuicStream, handshake_then_bidi_echo) {
  start_server();
  start_client();
  server_handler.on_data_hook = [](Connection &c, std::int64_t sid,
                                   std::span<const std::uint8_t> data,
                                   bool fin) { c.send(sid, SharedBuffer::copy_of(data), fin); };
  Connection *conn = connect();
  ASSERT_TRUE(wait_client_connected());
  EXPECT_TRUE(conn->is_established());
  EXPECT_EQ(conn->negotiated_alpn(), "flume/1");
  EXPECT_EQ(conn->peer_certificate_fingerprint(), test_pki().server->fingerprint());

  std::int64_t sid = conn->open_bidi_stream();
  ASSERT_EQ(sid, 0);  // the control stream of docs/protocol.md §6.1
  ASSERT_TRUE(conn->send(sid, bytes_of("hello, flume"), true));
  ASSERT_TRUE(wait([&] {
    auto &record = client_handler.stream(conn, sid);
    return record.fin && record.closed;
  }));
  EXPECT_EQ(client_handler.stream(conn, sid).data, "hello, flume");
  ASSERT_EQ(server_handler.connected.size(), 1u);
  EXPECT_EQ(server_handler.connected[0]->server_name(), "localhost");  // the SNI it got
  EXPECT_EQ(conn->buffered_bytes(sid), 0u);
}

TEST_F(QuicStream, server_opens_50_uni_streams_and_each_arrives_in_order) {
  constexpr int kStreams = 50;
  constexpr std::size_t kBytes = 20'000;
  start_server();
  start_client();
  server_handler.on_connected_hook = [&](Connection &c) {
    for (int i = 0; i < kStreams; ++i) {
      std::int64_t sid = c.open_uni_stream();
      ASSERT_GE(sid, 0);
      SharedBuffer data = pattern_buffer(static_cast<std::uint64_t>(sid), kBytes);
      // Uneven slices of one buffer, so frames cross slice boundaries.
      std::size_t offset = 0;
      for (std::size_t piece : {1u, 700u, 1500u, 3000u, 5000u}) {
        ASSERT_TRUE(c.send(sid, data, offset, piece));
        offset += piece;
      }
      ASSERT_TRUE(c.send(sid, data, offset, kBytes - offset, true));
    }
  };
  Connection *conn = connect();
  ASSERT_TRUE(wait([&] {
    auto &streams = client_handler.per_connection[conn].streams;
    return std::count_if(streams.begin(), streams.end(),
                         [](auto &entry) { return entry.second.fin; }) == kStreams;
  }));
  for (auto &[sid, record] : client_handler.per_connection[conn].streams) {
    EXPECT_EQ(sid % 4, 3) << "server-initiated uni stream ids";
    EXPECT_EQ(record.data.size(), kBytes) << sid;
    EXPECT_TRUE(matches_pattern(record.data, static_cast<std::uint64_t>(sid))) << sid;
  }
  EndpointStats stats = server->stats();
  std::printf("50 streams x 20 kB: server sent %llu datagrams in %llu send syscalls (%llu GSO)\n",
              static_cast<unsigned long long>(stats.datagrams_sent),
              static_cast<unsigned long long>(stats.send_syscalls),
              static_cast<unsigned long long>(stats.gso_sends));
}

// A sender shaped like the broker's subscription streams: it hands QUIC at most kUnsentLimit
// unsent bytes and keeps the rest itself, refilling only on on_stream_writable.
struct BoundedSender {
  static constexpr std::size_t kChunk = 16 * 1024;
  static constexpr std::size_t kUnsentLimit = 128 * 1024;
  SharedBuffer data;
  std::size_t offset = 0;
  std::size_t max_unsent = 0;
  std::size_t max_buffered = 0;

  void feed(Connection &c, std::int64_t sid) {
    while (offset < data.size() && c.unsent_bytes(sid) < kUnsentLimit) {
      std::size_t n = std::min(kChunk, data.size() - offset);
      bool last = offset + n == data.size();
      if (!c.send(sid, data, offset, n, last)) return;
      offset += n;
      max_unsent = std::max(max_unsent, c.unsent_bytes(sid));
      max_buffered = std::max(max_buffered, c.buffered_bytes(sid));
    }
  }
};

TEST_F(QuicStream, large_transfer_through_small_windows_is_intact_and_bounded) {
  constexpr std::size_t kTotal = 4 * 1024 * 1024;
  constexpr std::size_t kWindow = 64 * 1024;
  start_server();
  EndpointConfig cc = client_config();
  cc.stream_receive_window = kWindow;
  cc.max_stream_receive_window = kWindow;  // no auto-tuning: the window stays small
  cc.connection_receive_window = 2 * kWindow;
  cc.max_connection_receive_window = 2 * kWindow;
  start_client(cc);

  BoundedSender sender{pattern_buffer(7, kTotal)};
  std::int64_t sid = -1;
  server_handler.on_connected_hook = [&](Connection &c) {
    sid = c.open_uni_stream();
    sender.feed(c, sid);
  };
  server_handler.on_writable_hook = [&](Connection &c, std::int64_t s) { sender.feed(c, s); };

  // A slow reader: consumes at most 32 KiB per millisecond, later than delivery. The sender is
  // driven by on_stream_writable alone.
  client_handler.auto_consume = false;
  std::size_t unconsumed = 0, max_unconsumed = 0;
  Connection *conn = nullptr;
  client_handler.on_data_hook = [&](Connection &c, std::int64_t, std::span<const std::uint8_t> d,
                                    bool) {
    conn = &c;
    unconsumed += d.size();
    max_unconsumed = std::max(max_unconsumed, unconsumed);
  };
  TimerId pump;
  std::function<void()> tick = [&] {
    if (conn != nullptr && unconsumed > 0) {
      std::size_t n = std::min<std::size_t>(unconsumed, 32 * 1024);
      unconsumed -= n;
      conn->consume(sid, n);
    }
    loop.arm_after(pump, 1ms);
  };
  pump = loop.add_timer([&] { tick(); });
  loop.arm_after(pump, 1ms);

  connect();
  ASSERT_TRUE(wait([&] { return conn != nullptr && client_handler.stream(conn, sid).fin; }, 20s));
  loop.remove_timer(pump);
  const std::string &got = client_handler.stream(conn, sid).data;
  ASSERT_EQ(got.size(), kTotal);
  EXPECT_TRUE(matches_pattern(got, 7));
  EXPECT_LE(max_unconsumed, kWindow) << "flow control must bound what the reader holds";
  EXPECT_LE(sender.max_unsent, BoundedSender::kUnsentLimit + BoundedSender::kChunk);
  // Sent but unacknowledged bytes cannot exceed the receiver's stream window.
  EXPECT_LE(sender.max_buffered, BoundedSender::kUnsentLimit + BoundedSender::kChunk + kWindow);
}

TEST_F(QuicStream, transfer_survives_ten_percent_loss_each_way_intact) {
  // Retransmissions re-read queued bytes long after send(): this fails loudly if they moved.
  constexpr std::size_t kBytes = 1024 * 1024;
  start_server();
  start_client();
  LossyRelay relay(loop, server->local_address(), 0.10, 42);
  std::int64_t sid = -1;
  server_handler.on_connected_hook = [&](Connection &c) {
    sid = c.open_uni_stream();
    ASSERT_TRUE(c.send(sid, pattern_buffer(6, kBytes), true));
  };
  std::string error;
  Connection *conn = client->connect(relay.address(), "localhost", &error);
  ASSERT_NE(conn, nullptr) << error;
  ASSERT_TRUE(wait([&] { return sid >= 0 && client_handler.stream(conn, sid).fin; }, 20s));
  EXPECT_EQ(client_handler.stream(conn, sid).data.size(), kBytes);
  EXPECT_TRUE(matches_pattern(client_handler.stream(conn, sid).data, 6));
  EXPECT_GT(relay.dropped(), 50u);
  // Once everything is acknowledged the stream closes and its buffer is released.
  Connection *server_conn = server_handler.connected.at(0);
  ASSERT_TRUE(wait([&] { return server_handler.stream(server_conn, sid).closed; }));
  EXPECT_EQ(server_conn->buffered_bytes(sid), 0u);
  EXPECT_GT(server_conn->stats().packets_lost, 0u);
}

TEST_F(QuicStream, stalled_stream_does_not_block_another_on_the_same_connection) {
  constexpr std::size_t kBytes = 512 * 1024;
  constexpr std::size_t kWindow = 32 * 1024;
  start_server();
  EndpointConfig cc = client_config();
  // The connection window is no larger than one stream's: if stalled bytes held connection
  // credit, the second stream would starve completely.
  cc.stream_receive_window = kWindow;
  cc.max_stream_receive_window = kWindow;
  cc.connection_receive_window = kWindow;
  cc.max_connection_receive_window = kWindow;
  start_client(cc);

  std::int64_t stalled = -1, flowing = -1;
  server_handler.on_connected_hook = [&](Connection &c) {
    stalled = c.open_uni_stream();
    flowing = c.open_uni_stream();
    ASSERT_TRUE(c.send(stalled, pattern_buffer(1, kBytes), true));
    ASSERT_TRUE(c.send(flowing, pattern_buffer(2, kBytes), true));
  };
  client_handler.auto_consume = false;
  client_handler.on_data_hook = [&](Connection &c, std::int64_t s, std::span<const std::uint8_t> d,
                                    bool) {
    if (s == flowing) c.consume(s, d.size());  // the other stream's reader never reads
  };
  Connection *conn = connect();
  ASSERT_TRUE(wait([&] { return flowing >= 0 && client_handler.stream(conn, flowing).fin; }));
  EXPECT_EQ(client_handler.stream(conn, flowing).data.size(), kBytes);
  EXPECT_TRUE(matches_pattern(client_handler.stream(conn, flowing).data, 2));
  EXPECT_LE(client_handler.stream(conn, stalled).data.size(), kWindow);
  EXPECT_FALSE(client_handler.stream(conn, stalled).fin);
}

TEST_F(QuicStream, bulk_transfer_sends_many_packets_per_syscall) {
  constexpr std::size_t kBytes = 4 * 1024 * 1024;
  start_server();
  start_client();
  std::int64_t sid = -1;
  server_handler.on_connected_hook = [&](Connection &c) {
    sid = c.open_uni_stream();
    ASSERT_TRUE(c.send(sid, pattern_buffer(3, kBytes), true));
  };
  Connection *conn = connect();
  ASSERT_TRUE(wait([&] { return sid >= 0 && client_handler.stream(conn, sid).fin; }, 20s));
  EXPECT_EQ(client_handler.stream(conn, sid).data.size(), kBytes);
  EndpointStats stats = server->stats();
  double per_syscall = static_cast<double>(stats.datagrams_sent) /
                       static_cast<double>(std::max<std::uint64_t>(stats.send_syscalls, 1));
  std::printf(
      "4 MiB: server sent %llu datagrams in %llu send syscalls (%llu GSO), %.1f per call;"
      " client received %llu datagrams in %llu recvmmsg calls\n",
      static_cast<unsigned long long>(stats.datagrams_sent),
      static_cast<unsigned long long>(stats.send_syscalls),
      static_cast<unsigned long long>(stats.gso_sends), per_syscall,
      static_cast<unsigned long long>(client->stats().datagrams_received),
      static_cast<unsigned long long>(client->stats().recv_syscalls));
  EndpointStats receiver = client->stats();
  std::printf("    client (mostly ACKs) sent %llu datagrams in %llu send syscalls\n",
              static_cast<unsigned long long>(receiver.datagrams_sent),
              static_cast<unsigned long long>(receiver.send_syscalls));
  EXPECT_GE(per_syscall, 4.0) << "steady-state sending must not cost one syscall per packet";
}

TEST_F(QuicStream, stop_sending_from_receiver_closes_the_senders_stream_with_its_code) {
  start_server();
  start_client();
  std::int64_t sid = -1;
  server_handler.on_connected_hook = [&](Connection &c) {
    sid = c.open_uni_stream();
    ASSERT_TRUE(c.send(sid, pattern_buffer(4, 10'000)));  // no FIN: the stream stays open
  };
  client_handler.on_data_hook = [](Connection &c, std::int64_t s, std::span<const std::uint8_t>,
                                   bool) { c.stop_sending(s, 0x0E); };
  connect();
  ASSERT_TRUE(wait([&] {
    return !server_handler.connected.empty() &&
           server_handler.stream(server_handler.connected[0], sid).closed;
  }));
  EXPECT_EQ(server_handler.stream(server_handler.connected[0], sid).close_code, 0x0Eu);
}

TEST_F(QuicStream, reset_before_any_data_still_returns_the_stream_credit) {
  // ngtcp2 1.11 bug #2193: a uni stream whose first frame is RESET_STREAM never closes on the
  // receiver, which would leak the peer's stream credit for good.
  start_server();
  EndpointConfig cc = client_config();
  cc.max_peer_uni_streams = 1;
  start_client(cc);
  std::int64_t second = -1;
  server_handler.on_connected_hook = [&](Connection &c) {
    std::int64_t first = c.open_uni_stream();
    ASSERT_GE(first, 0);
    c.reset_stream(first, 5);
    EXPECT_EQ(c.open_uni_stream(), Connection::kStreamsBlocked);
  };
  server_handler.on_streams_available_hook = [&](Connection &c) {
    if (second >= 0) return;
    second = c.open_uni_stream();
    if (second >= 0) c.send(second, bytes_of("second"), true);
  };
  Connection *conn = connect();
  ASSERT_TRUE(wait([&] { return second >= 0 && client_handler.stream(conn, second).fin; }));
  EXPECT_EQ(client_handler.stream(conn, second).data, "second");
  EXPECT_TRUE(client_handler.stream(conn, 3).closed);
  EXPECT_EQ(client_handler.stream(conn, 3).close_code, 5u);
}

TEST_F(QuicStream, close_with_flush_delivers_queued_data_then_the_app_code) {
  constexpr std::size_t kBytes = 200'000;
  start_server();
  start_client();
  std::int64_t sid = -1;
  server_handler.on_connected_hook = [&](Connection &c) {
    sid = c.open_uni_stream();
    ASSERT_TRUE(c.send(sid, pattern_buffer(5, kBytes)));
    c.close(0x0F, "shutting down for maintenance");
  };
  Connection *conn = connect();
  ASSERT_TRUE(wait_client_closed());
  EXPECT_EQ(client_handler.stream(conn, sid).data.size(), kBytes);
  const CloseInfo &info = client_handler.closes[0];
  EXPECT_EQ(info.reason, CloseReason::application);
  EXPECT_TRUE(info.by_peer);
  EXPECT_TRUE(info.handshake_completed);
  EXPECT_EQ(info.error_code, 0x0Fu);
  EXPECT_EQ(info.reason_phrase, "shutting down for maintenance");
  EXPECT_NE(info.message.find("SHUTTING_DOWN"), std::string::npos) << info.message;
  ASSERT_TRUE(wait([&] { return server_handler.closes.size() == 1; }));
  EXPECT_FALSE(server_handler.closes[0].by_peer);
  ASSERT_TRUE(wait([&] { return server->connection_count() == 0; }));
}

}  // namespace
}  // namespace flume::quic::test
