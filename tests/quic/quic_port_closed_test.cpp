// Noticing that the peer's port closed after the handshake (a broker killed on a host that is
// still up): the rule that turns ICMP port-unreachable reports into a verdict, then the real
// thing over QUIC on 127.0.0.1.
#include <gtest/gtest.h>

#include "quic/port_closed_detector.hpp"
#include "quic_fixture.hpp"

namespace flume::quic::test {
namespace {

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kWindow = 2000 * kMs;

TEST(PortClosedDetector, FirstRefusalIsOnlyASuspicionThatAsksForAProbe) {
  PortClosedDetector detector;
  EXPECT_FALSE(detector.suspected());
  EXPECT_EQ(detector.on_refusal(1000 * kMs, kWindow), PortClosedDetector::Verdict::probe);
  EXPECT_TRUE(detector.suspected());
}

TEST(PortClosedDetector, SecondRefusalWithinTheWindowProvesThePortClosed) {
  PortClosedDetector detector;
  ASSERT_EQ(detector.on_refusal(1000 * kMs, kWindow), PortClosedDetector::Verdict::probe);
  EXPECT_EQ(detector.on_refusal(1001 * kMs, kWindow), PortClosedDetector::Verdict::port_closed);
}

TEST(PortClosedDetector, PacketFromThePeerInBetweenClearsTheSuspicion) {
  PortClosedDetector detector;
  ASSERT_EQ(detector.on_refusal(1000 * kMs, kWindow), PortClosedDetector::Verdict::probe);
  detector.on_peer_packet();  // a stale or forged ICMP: the peer is alive
  EXPECT_FALSE(detector.suspected());
  EXPECT_EQ(detector.on_refusal(1001 * kMs, kWindow), PortClosedDetector::Verdict::probe);
}

TEST(PortClosedDetector, RefusalsFurtherApartThanTheWindowNeverPair) {
  PortClosedDetector detector;
  ASSERT_EQ(detector.on_refusal(1000 * kMs, kWindow), PortClosedDetector::Verdict::probe);
  // The probe was lost or its ICMP rate-limited: the late refusal starts a new suspicion...
  EXPECT_EQ(detector.on_refusal(3001 * kMs, kWindow), PortClosedDetector::Verdict::probe);
  EXPECT_EQ(detector.suspected_since(), 3001 * kMs);
  // ...which the next refusal within the window confirms.
  EXPECT_EQ(detector.on_refusal(3100 * kMs, kWindow), PortClosedDetector::Verdict::port_closed);
}

TEST(PortClosedDetector, LossAloneNeverClosesBecauseOnlyRefusalsCount) {
  // Lost packets draw no ICMP; with the peer answering now and then, refusals never pair.
  PortClosedDetector detector;
  for (std::uint64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(detector.on_refusal((1000 + 10 * i) * kMs, kWindow),
              PortClosedDetector::Verdict::probe);
    detector.on_peer_packet();
  }
}

using QuicPortClosed = QuicFixture;

// The server's socket closes without a word (a process killed on a host that stays up): the
// client's next packet (here its keep-alive) draws ICMP port unreachable, its probe draws a
// second one, and the connection ends as unreachable long before the 30 s idle timeout.
TEST_F(QuicPortClosed, ServerGoneWithoutAWordIsNoticedWithinSecondsAsPortClosed) {
  start_server();
  EndpointConfig cc = client_config();
  cc.keep_alive = 500ms;
  cc.idle_timeout = 30s;
  start_client(cc);
  connect();
  ASSERT_TRUE(wait_client_connected());
  ASSERT_TRUE(wait([&] { return server_handler.connected.size() == 1; }));

  server.reset();  // the port closes; no CONNECTION_CLOSE, no stateless reset
  const auto gone_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_client_closed(1, 5s)) << "not noticed within 5 s";
  const auto took = std::chrono::steady_clock::now() - gone_at;
  const CloseInfo &info = client_handler.closes[0];
  EXPECT_EQ(info.reason, CloseReason::unreachable) << info.message;
  EXPECT_TRUE(info.handshake_completed);
  EXPECT_FALSE(info.by_peer);
  EXPECT_NE(info.message.find("port closed"), std::string::npos) << info.message;
  EXPECT_LT(took, 5s);
  EXPECT_EQ(client->connection_count(), 0u);
}

}  // namespace
}  // namespace flume::quic::test
