// LinkMeasurement with numbers alone: RFC 6298 smoothing, loss over the last 64 probes, probe
// cost per second, liveness on both ends, and the flume-link-measurement header text.
#include "overlay/link_measurement.hpp"

#include <gtest/gtest.h>

namespace flume::overlay {
namespace {

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kT0 = 1'000'000'000'000;  // an arbitrary monotonic start

TEST(LinkMeasurement, FirstSampleSetsSrttAndHalfOfItAsVariance) {
  LinkMeasurement m(2);
  m.start(kT0);
  m.on_probe_sent(kT0, 1, 50);
  m.on_probe_answered(kT0 + 40 * kMs, 1, 40);
  const LinkEstimate e = m.estimate();
  EXPECT_EQ(e.srtt_us, 40'000u);
  EXPECT_EQ(e.rttvar_us, 20'000u);
  EXPECT_EQ(e.probes_sent, 1u);
  EXPECT_EQ(e.probes_answered, 1u);
}

TEST(LinkMeasurement, LaterSamplesFollowRfc6298WithAlphaOneEighthBetaOneQuarter) {
  LinkMeasurement m(2);
  m.start(kT0);
  m.on_probe_sent(kT0, 1, 0);
  m.on_probe_answered(kT0 + 40 * kMs, 1, 0);  // SRTT 40 ms, RTTVAR 20 ms
  m.on_probe_sent(kT0 + 500 * kMs, 2, 0);
  m.on_probe_answered(kT0 + 580 * kMs, 2, 0);  // R = 80 ms
  // RTTVAR = 3/4 * 20 + 1/4 * |40 - 80| = 25 ms; SRTT = 7/8 * 40 + 1/8 * 80 = 45 ms.
  EXPECT_EQ(m.estimate().rttvar_us, 25'000u);
  EXPECT_EQ(m.estimate().srtt_us, 45'000u);
}

TEST(LinkMeasurement, UnansweredProbesCountAsLostAfterTheTimeoutAndLateAnswersStayLost) {
  LinkMeasurement m(2, std::chrono::milliseconds(1000));
  m.start(kT0);
  m.on_probe_sent(kT0, 1, 0);
  m.on_probe_sent(kT0 + 500 * kMs, 2, 0);
  m.expire(kT0 + 999 * kMs);
  EXPECT_EQ(m.estimate().settled, 0u);  // not timed out yet
  m.on_probe_answered(kT0 + 990 * kMs, 2, 0);
  m.expire(kT0 + 1000 * kMs);
  EXPECT_EQ(m.estimate().settled, 2u);
  EXPECT_EQ(m.estimate().lost, 1u);
  m.on_probe_answered(kT0 + 1100 * kMs, 1, 0);  // too late: ignored
  EXPECT_EQ(m.estimate().lost, 1u);
  EXPECT_EQ(m.estimate().probes_answered, 1u);
  EXPECT_DOUBLE_EQ(m.estimate().loss(), 0.5);
}

TEST(LinkMeasurement, LossCoversOnlyTheLast64Probes) {
  LinkMeasurement m(10, std::chrono::milliseconds(100));
  m.start(kT0);
  std::uint64_t t = kT0;
  std::uint64_t id = 0;
  for (int i = 0; i < 10; ++i) {  // 10 lost
    m.on_probe_sent(t, ++id, 0);
    t += 200 * kMs;
    m.expire(t);
  }
  EXPECT_EQ(m.estimate().lost, 10u);
  for (int i = 0; i < 60; ++i) {  // then 60 answered: 4 of the lost ones are still in the window
    m.on_probe_sent(t, ++id, 0);
    m.on_probe_answered(t + kMs, id, 0);
    t += 100 * kMs;
  }
  EXPECT_EQ(m.estimate().settled, 64u);
  EXPECT_EQ(m.estimate().lost, 4u);
}

TEST(LinkMeasurement, CostIsProbeBytesPerSecondOverWholeSecondWindows) {
  LinkMeasurement m(2);
  m.start(kT0);
  std::uint64_t id = 0;
  for (std::uint64_t t = kT0; t < kT0 + 2000 * kMs; t += 500 * kMs) {
    m.on_probe_sent(t, ++id, 60);
    m.on_probe_answered(t + 10 * kMs, id, 40);
  }
  m.expire(kT0 + 2000 * kMs);
  // Each window of about a second holds two probes of 100 bytes.
  EXPECT_NEAR(static_cast<double>(m.estimate().cost_bytes_per_second), 200.0, 10.0);
}

TEST(LinkMeasurement, ProbesKeepTheirPeriod) {
  LinkMeasurement m(4);
  m.start(kT0);
  EXPECT_TRUE(m.probe_due(kT0));
  m.on_probe_sent(kT0, 1, 0);
  EXPECT_FALSE(m.probe_due(kT0 + 249 * kMs));
  EXPECT_TRUE(m.probe_due(kT0 + 250 * kMs));
  EXPECT_FALSE(LinkMeasurement(0).probe_due(kT0));
}

TEST(LinkMeasurement, DialerCallsTheLinkDeadAfterThreeUnansweredProbesOverOneAndAHalfSeconds) {
  LinkMeasurement m(2);
  m.start(kT0);
  m.on_probe_sent(kT0, 1, 0);
  m.on_probe_answered(kT0 + kMs, 1, 0);
  std::uint64_t t = kT0 + 500 * kMs;
  for (std::uint64_t id = 2; id <= 4; ++id, t += 500 * kMs)
    m.on_probe_sent(t, id, 0);
  EXPECT_FALSE(m.dead(kT0 + 1500 * kMs, true));  // 1.499 s since the last answer
  EXPECT_TRUE(m.dead(kT0 + 1501 * kMs, true));
  m.on_probe_answered(kT0 + 1502 * kMs, 4, 0);
  EXPECT_FALSE(m.dead(kT0 + 1503 * kMs, true));
}

TEST(LinkMeasurement, DialerNeedsThreeProbesNotJustSilence) {
  LinkMeasurement m(2);
  m.start(kT0);
  m.on_probe_sent(kT0, 1, 0);  // the loop stalled: one probe in 2 s
  EXPECT_FALSE(m.dead(kT0 + 2000 * kMs, true));
}

TEST(LinkMeasurement, ListenerGoesByTheDialersRate) {
  LinkMeasurement m(2);
  m.start(kT0);
  EXPECT_FALSE(m.dead(kT0 + 10'000 * kMs, false));  // the dialer never said it probes
  LinkEstimate peer;
  peer.rate = 1;  // 3 periods = 3 s > 1.5 s
  m.set_peer_estimate(peer);
  m.on_probe_received(kT0, 80);
  EXPECT_FALSE(m.dead(kT0 + 2999 * kMs, false));
  EXPECT_TRUE(m.dead(kT0 + 3000 * kMs, false));
  peer.rate = 10;  // 3 periods = 0.3 s < 1.5 s
  m.set_peer_estimate(peer);
  EXPECT_FALSE(m.dead(kT0 + 1499 * kMs, false));
  EXPECT_TRUE(m.dead(kT0 + 1500 * kMs, false));
}

TEST(LinkMeasurement, RoutingRttIsTheMeanOfTheLastFiveWithoutTheHighest) {
  LinkMeasurement m(4);
  m.start(kT0);
  std::uint64_t t = kT0;
  std::uint64_t id = 0;
  auto sample = [&](std::uint64_t rtt_ms) {
    m.on_probe_sent(t, ++id, 0);
    m.on_probe_answered(t + rtt_ms * kMs, id, 0);
    t += 250 * kMs;
  };
  sample(40);
  sample(50);
  EXPECT_EQ(m.estimate().route_rtt_us, 45'000u);  // fewer than 3: the plain mean
  sample(40);
  sample(40);
  sample(500);  // one spike: ignored
  EXPECT_EQ(m.estimate().route_rtt_us, 42'500u);
  // A real rise to 200 ms shows after a few samples, where SRTT has hardly moved.
  sample(200);
  sample(200);
  sample(200);
  sample(200);
  EXPECT_EQ(m.estimate().route_rtt_us, 200'000u);  // 200 x 4 (the 500 left the window)
  EXPECT_LT(m.estimate().srtt_us, 170'000u);
}

TEST(LinkMeasurement, DialerCallsTheLinkUnusableWhenAProbeWaitsPastTheBound) {
  LinkMeasurement m(4);
  m.start(kT0);
  m.on_probe_sent(kT0, 1, 0);
  m.on_probe_answered(kT0 + 20 * kMs, 1, 0);  // SRTT 20, RTTVAR 10: 2*20 + 4*10 = 80 < 250
  EXPECT_EQ(m.unusable_after(true), std::chrono::milliseconds(250));
  m.on_probe_sent(kT0 + 250 * kMs, 2, 0);
  EXPECT_FALSE(m.update_usable(kT0 + 500 * kMs, true));  // 250 ms: not past it
  EXPECT_TRUE(m.usable());
  EXPECT_TRUE(m.update_usable(kT0 + 501 * kMs, true));
  EXPECT_FALSE(m.usable());
  EXPECT_FALSE(m.dead(kT0 + 501 * kMs, true));  // unusable long before dead
  // Usable again after 3 answered in a row, not before; a probe lost in the row restarts it,
  // one sent before the row began (while blocked) does not.
  m.on_probe_sent(kT0 + 600 * kMs, 3, 0);
  m.on_probe_answered(kT0 + 610 * kMs, 3, 0);
  m.on_probe_sent(kT0 + 850 * kMs, 4, 0);
  m.on_probe_answered(kT0 + 860 * kMs, 4, 0);
  m.expire(kT0 + 1300 * kMs);  // probe 2 times out: sent before the row
  EXPECT_FALSE(m.update_usable(kT0 + 1300 * kMs, true));
  m.on_probe_sent(kT0 + 1350 * kMs, 5, 0);
  m.on_probe_answered(kT0 + 1360 * kMs, 5, 0);
  EXPECT_TRUE(m.update_usable(kT0 + 1400 * kMs, true));
  EXPECT_TRUE(m.usable());
  // A slow link's bound grows with it: SRTT 300 ms -> well over 600 ms.
  LinkMeasurement slow(4);
  slow.start(kT0);
  slow.on_probe_sent(kT0, 1, 0);
  slow.on_probe_answered(kT0 + 300 * kMs, 1, 0);
  EXPECT_EQ(slow.unusable_after(true), std::chrono::milliseconds(1200));  // 600 + 4 x 150
}

TEST(LinkMeasurement, ListenerCallsTheLinkUnusableAfterAPeriodPlusTheBoundWithoutAProbe) {
  LinkMeasurement m(4);
  m.start(kT0);
  EXPECT_FALSE(m.update_usable(kT0 + 10'000 * kMs, false));  // no dialer numbers: never
  LinkEstimate peer;
  peer.rate = 4;
  peer.srtt_us = 20'000;
  peer.rttvar_us = 5'000;
  m.set_peer_estimate(peer);
  m.on_probe_received(kT0 + 10'000 * kMs, 80);
  EXPECT_EQ(m.unusable_after(false), std::chrono::milliseconds(500));  // 250 + 250
  EXPECT_FALSE(m.update_usable(kT0 + 10'500 * kMs, false));
  EXPECT_TRUE(m.update_usable(kT0 + 10'501 * kMs, false));
  for (int i = 1; i <= 2; ++i) {
    m.on_probe_received(kT0 + (11'000 + 250 * i) * kMs, 80);
    EXPECT_FALSE(m.update_usable(kT0 + (11'000 + 250 * i) * kMs, false));
  }
  m.on_probe_received(kT0 + 11'750 * kMs, 80);
  EXPECT_TRUE(m.update_usable(kT0 + 11'750 * kMs, false));
  EXPECT_TRUE(m.usable());
}

TEST(LinkMeasurement, RateZeroNeverProbesNorDies) {
  LinkMeasurement m(0);
  m.start(kT0);
  EXPECT_FALSE(m.dead(kT0 + 100'000 * kMs, true));
  EXPECT_FALSE(m.dead(kT0 + 100'000 * kMs, false));
}

TEST(LinkEstimateHeader, RoundTripsAndSkipsUnknownKeys) {
  LinkEstimate e;
  e.rate = 2;
  e.srtt_us = 312;
  e.rttvar_us = 90;
  e.lost = 3;
  e.settled = 64;
  e.cost_bytes_per_second = 215;
  e.route_rtt_us = 301;
  const std::string text = format_link_estimate(e);
  EXPECT_EQ(text, "rate=2;srtt=312;rttvar=90;lost=3;settled=64;cost=215;recent=301");
  auto back = parse_link_estimate(text + ";future=7");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->rate, 2u);
  EXPECT_EQ(back->srtt_us, 312u);
  EXPECT_EQ(back->rttvar_us, 90u);
  EXPECT_EQ(back->lost, 3u);
  EXPECT_EQ(back->settled, 64u);
  EXPECT_EQ(back->cost_bytes_per_second, 215u);
}

TEST(LinkEstimateHeader, RefusesMalformedText) {
  for (const char *bad : {"srtt", "=5", "srtt=", "srtt=x", "srtt=5x", "lost=65", "lost=2;settled=1",
                          "rate=100000", "srtt=99999999999999999999999"}) {
    EXPECT_FALSE(parse_link_estimate(bad)) << bad;
  }
  EXPECT_FALSE(parse_link_estimate(std::string(600, '1')));
  EXPECT_TRUE(parse_link_estimate(""));
}

}  // namespace
}  // namespace flume::overlay
