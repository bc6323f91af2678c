#include "net/udp_socket.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <unordered_set>
#include <vector>

namespace flume {
namespace {

using namespace std::chrono_literals;

constexpr auto kWaitLimit = 5s;  // every wait is bounded

SocketAddress address(const char *host, std::uint16_t port) {
  auto parsed = parse_address(host, port);
  EXPECT_TRUE(parsed.has_value()) << host;
  return parsed.value_or(SocketAddress{});
}

// A received datagram, copied out of the batch so it survives the next recv_batch().
struct Copy {
  std::vector<std::uint8_t> bytes;
  SocketAddress peer;
  SocketAddress local;
  std::uint8_t ecn;
};

// Receives until `want` datagrams arrived or kWaitLimit passed, waiting with poll() in between.
std::vector<Copy> receive(UdpSocket &socket, std::size_t want) {
  RecvBatch batch;
  std::vector<Copy> out;
  auto limit = std::chrono::steady_clock::now() + kWaitLimit;
  while (out.size() < want && std::chrono::steady_clock::now() < limit) {
    IoResult r = socket.recv_batch(batch);
    EXPECT_EQ(r.error, 0);
    for (const ReceivedDatagram &d : batch.datagrams()) {
      EXPECT_FALSE(d.truncated);
      out.push_back({{d.data, d.data + d.size}, d.peer, d.local, d.ecn});
    }
    if (r.would_block) {
      pollfd p{socket.fd(), POLLIN, 0};
      poll(&p, 1, 50);
    }
  }
  return out;
}

std::vector<std::uint8_t> pattern(std::size_t size, std::size_t seed) {
  std::vector<std::uint8_t> bytes(size);
  for (std::size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<std::uint8_t>(seed * 31 + i);
  return bytes;
}

// Sends 64 datagrams of different sizes in one send_batch() from `sender_host` to a receiver
// bound to the wildcard of that family, and checks what recv_batch() reports.
void check_batch_round_trip(const char *loopback, const char *wildcard) {
  UdpSocket sender;
  if (auto ec = sender.bind(address(loopback, 0))) GTEST_SKIP() << loopback << ": " << ec.message();
  UdpSocket receiver;
  ASSERT_FALSE(receiver.bind(address(wildcard, 0)));
  const SocketAddress destination = address(loopback, receiver.local_address().port());

  std::vector<std::vector<std::uint8_t>> payloads;
  std::vector<OutgoingDatagram> datagrams;
  for (std::size_t i = 0; i < 64; ++i)
    payloads.push_back(pattern(100 + i * 21, i));
  for (const auto &p : payloads)
    datagrams.push_back({p.data(), p.size(), &destination, nullptr});

  IoResult sent = sender.send_batch(datagrams);
  EXPECT_EQ(sent.count, 64u);
  EXPECT_EQ(sent.dropped, 0u);
  EXPECT_FALSE(sent.would_block);
  EXPECT_EQ(sender.counters().send_syscalls, 1u);  // one sendmmsg for all 64

  std::vector<Copy> got = receive(receiver, 64);
  ASSERT_EQ(got.size(), 64u);
  EXPECT_LE(receiver.counters().recv_syscalls, 8u);  // batched, not one per datagram
  for (std::size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(got[i].bytes, payloads[i]) << i;  // loopback keeps order
    EXPECT_EQ(got[i].peer, sender.local_address());
    // Bound to the wildcard, yet each datagram knows which address it was sent to.
    EXPECT_EQ(got[i].local, destination) << got[i].local.to_string();
  }
}

TEST(UdpSocket, batch_of_64_datagrams_arrives_intact_with_addresses_ipv4) {
  check_batch_round_trip("127.0.0.1", "0.0.0.0");
}

TEST(UdpSocket, batch_of_64_datagrams_arrives_intact_with_addresses_ipv6) {
  check_batch_round_trip("::1", "::");
}

// Sends `segments` segments of `segment` bytes (the last `last` bytes) with send_gso().
void check_gso(bool force_fallback, std::size_t segments, std::size_t segment, std::size_t last) {
  UdpSocket receiver;
  ASSERT_FALSE(receiver.bind(address("127.0.0.1", 0)));
  UdpSocket sender;
  ASSERT_FALSE(sender.bind(address("127.0.0.1", 0)));
  const bool kernel_gso = sender.gso_enabled();
  if (force_fallback) sender.disable_gso();

  const std::size_t total = (segments - 1) * segment + last;
  std::vector<std::uint8_t> buffer = pattern(total, 3);
  const SocketAddress &to = receiver.local_address();
  IoResult sent = sender.send_gso(&to, buffer.data(), total, segment);
  EXPECT_EQ(sent.count, segments);
  EXPECT_EQ(sent.dropped, 0u);
  EXPECT_FALSE(sent.would_block);

  const UdpSocketCounters &c = sender.counters();
  if (force_fallback || !kernel_gso) {
    EXPECT_EQ(c.gso_sends, 0u);
    EXPECT_EQ(c.send_syscalls, (segments + UdpSocket::kMaxBatch - 1) / UdpSocket::kMaxBatch);
  } else if (sender.gso_enabled()) {
    EXPECT_EQ(c.gso_sends,
              (segments + UdpSocket::kMaxGsoSegments - 1) / UdpSocket::kMaxGsoSegments);
  }  // else: the kernel refused GSO on first use and send_gso fell back, which is also fine

  std::vector<Copy> got = receive(receiver, segments);
  ASSERT_EQ(got.size(), segments);
  for (std::size_t i = 0; i < segments; ++i) {
    std::size_t size = i + 1 == segments ? last : segment;
    ASSERT_EQ(got[i].bytes.size(), size) << i;
    EXPECT_TRUE(std::equal(got[i].bytes.begin(), got[i].bytes.end(),
                           buffer.begin() + static_cast<std::ptrdiff_t>(i * segment)));
    EXPECT_EQ(got[i].peer, sender.local_address());
  }
}

TEST(UdpSocket, gso_send_arrives_as_separate_datagrams) {
  check_gso(false, 10, 1200, 500);
}

TEST(UdpSocket, gso_send_falls_back_to_one_sendmmsg_of_segments) {
  check_gso(true, 10, 1200, 500);
}

TEST(UdpSocket, gso_send_larger_than_one_kernel_send_is_split) {
  check_gso(false, 100, 1000, 1000);  // 100 KB: over 64 segments and over 64 KiB
}

TEST(UdpSocket, gso_fallback_larger_than_one_batch_is_split) {
  check_gso(true, 100, 1000, 1);
}

TEST(UdpSocket, empty_receive_reports_would_block) {
  UdpSocket socket;
  ASSERT_FALSE(socket.bind(address("127.0.0.1", 0)));
  RecvBatch batch(4, 2048);
  IoResult r = socket.recv_batch(batch);
  EXPECT_TRUE(r.would_block);
  EXPECT_EQ(r.error, 0);
  EXPECT_EQ(r.count, 0u);
  EXPECT_EQ(batch.size(), 0u);
}

TEST(UdpSocket, oversized_datagram_is_marked_truncated) {
  UdpSocket receiver;
  ASSERT_FALSE(receiver.bind(address("127.0.0.1", 0)));
  UdpSocket sender;
  ASSERT_FALSE(sender.connect(receiver.local_address()));
  std::vector<std::uint8_t> big(3000, 7);
  OutgoingDatagram d{big.data(), big.size(), nullptr, nullptr};  // to the connected peer
  ASSERT_EQ(sender.send_batch({&d, 1}).count, 1u);
  RecvBatch batch(2, 2048);
  pollfd p{receiver.fd(), POLLIN, 0};
  ASSERT_EQ(poll(&p, 1, 5000), 1);
  ASSERT_EQ(receiver.recv_batch(batch).count, 1u);
  EXPECT_TRUE(batch[0].truncated);
}

TEST(UdpSocket, reply_leaves_from_the_chosen_local_address) {
  // A server bound to the wildcard must answer from the address the client used.
  UdpSocket server;
  ASSERT_FALSE(server.bind(address("0.0.0.0", 0)));
  UdpSocket client;
  ASSERT_FALSE(client.bind(address("127.0.0.1", 0)));
  const SocketAddress source = address("127.0.0.2", server.local_address().port());
  std::uint8_t byte = 1;
  OutgoingDatagram d{&byte, 1, &client.local_address(), &source};
  ASSERT_EQ(server.send_batch({&d, 1}).count, 1u);
  std::vector<Copy> got = receive(client, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].peer.to_string(), source.to_string());
}

TEST(UdpSocket, ecn_bits_set_on_send_are_read_on_receive) {
  UdpSocket receiver;
  ASSERT_FALSE(receiver.bind(address("127.0.0.1", 0)));
  UdpSocket sender;
  ASSERT_FALSE(sender.bind(address("127.0.0.1", 0)));
  ASSERT_FALSE(sender.set_ecn(2));  // ECT(0), as ngtcp2 asks for once ECN is validated
  std::uint8_t byte = 1;
  OutgoingDatagram d{&byte, 1, &receiver.local_address(), nullptr};
  ASSERT_EQ(sender.send_batch({&d, 1}).count, 1u);
  std::vector<Copy> got = receive(receiver, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ecn, 2);
}

TEST(UdpSocket, dual_stack_socket_takes_ipv4_as_v4_mapped_with_ecn_and_answers_from_it) {
  UdpSocket server;
  if (server.bind(address("::", 0))) GTEST_SKIP() << "no IPv6 on this machine";
  UdpSocket client;
  ASSERT_FALSE(client.bind(address("127.0.0.1", 0)));
  ASSERT_FALSE(client.set_ecn(2));
  const SocketAddress server_v4 = address("127.0.0.1", server.local_address().port());
  std::uint8_t byte = 1;
  OutgoingDatagram hello{&byte, 1, &server_v4, nullptr};
  ASSERT_EQ(client.send_batch({&hello, 1}).count, 1u);
  std::vector<Copy> got = receive(server, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].peer.family(), AF_INET6);  // v4-mapped, so one family for QUIC's paths
  EXPECT_EQ(got[0].peer.to_string(), client.local_address().to_string());
  EXPECT_EQ(got[0].local.to_string(), server_v4.to_string());
  EXPECT_EQ(got[0].ecn, 2);

  ASSERT_FALSE(server.set_ecn(2));
  OutgoingDatagram reply{&byte, 1, &got[0].peer, &got[0].local};
  ASSERT_EQ(server.send_batch({&reply, 1}).count, 1u);
  std::vector<Copy> back = receive(client, 1);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].peer.to_string(), server_v4.to_string());
  EXPECT_EQ(back[0].ecn, 2);
}

TEST(UdpSocket, socket_buffers_are_enlarged) {
  UdpSocket socket;
  ASSERT_FALSE(socket.open(AF_INET));
  // Linux reports twice what it grants; the default is 208 KiB. Best effort, so only check
  // that the request did something where the system limit allows it.
  EXPECT_GT(socket.receive_buffer_size(), 0);
  EXPECT_GT(socket.send_buffer_size(), 0);
}

// ---------------------------------------------------------------------------------------------
// Addresses

TEST(UdpSocketAddress, numeric_addresses_parse_and_print) {
  EXPECT_EQ(address("127.0.0.1", 7337).to_string(), "127.0.0.1:7337");
  EXPECT_EQ(address("::1", 7337).to_string(), "[::1]:7337");
  EXPECT_EQ(address("[::1]", 7337).to_string(), "[::1]:7337");
  EXPECT_EQ(address("0.0.0.0", 0).to_string(), "0.0.0.0:0");
  EXPECT_EQ(address("2001:db8::42", 443).to_string(), "[2001:db8::42]:443");
  EXPECT_EQ(address("fe80::1%1", 7337).to_string(), "[fe80::1%1]:7337");
  EXPECT_EQ(address("localhost", 7337).to_string(), "127.0.0.1:7337");
  EXPECT_EQ(address("::ffff:192.0.2.7", 7337).to_string(), "192.0.2.7:7337");
  EXPECT_EQ(address("127.0.0.1", 7337).family(), AF_INET);
  EXPECT_EQ(address("::1", 7337).family(), AF_INET6);
  EXPECT_EQ(address("::1", 7337).port(), 7337);
}

TEST(UdpSocketAddress, names_and_malformed_addresses_are_refused_without_dns) {
  for (const char *bad : {"", "example.com", "127.1", "1.2.3.4.5", "256.0.0.1", "[127.0.0.1]",
                          "::1::", "[::1", "fe80::1%", "fe80::1%no-such-interface", " 127.0.0.1"}) {
    EXPECT_FALSE(parse_address(bad, 1).has_value()) << bad;
  }
}

TEST(UdpSocketAddress, equal_addresses_compare_and_hash_equal) {
  SocketAddress a = address("127.0.0.1", 1000);
  SocketAddress b = address("127.0.0.1", 1000);
  b.storage.__ss_padding[100] = 42;  // garbage past the address itself is ignored
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_NE(a, address("127.0.0.1", 1001));
  EXPECT_NE(a, address("127.0.0.2", 1000));
  EXPECT_NE(address("::1", 1000), address("::2", 1000));
  EXPECT_NE(address("fe80::1%1", 1000), address("fe80::1%2", 1000));
  EXPECT_NE(a, SocketAddress{});

  std::unordered_set<SocketAddress> set{a, b, address("::1", 1000), address("::1", 1000)};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_EQ(set.count(address("::1", 1000)), 1u);
}

TEST(UdpSocketAddress, set_port_changes_only_the_port) {
  SocketAddress a = address("::1", 1);
  a.set_port(9);
  EXPECT_EQ(a, address("::1", 9));
}

}  // namespace
}  // namespace flume
