// The broker process coming and going: a crash and restart that clients ride out with their
// subscriptions, and a graceful SIGTERM shutdown.
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include "broker_process.hpp"

namespace flume::e2e {
namespace {

ClientConfig quick_reconnect(const BrokerProcess &broker) {
  ClientConfig config = trusting(broker);
  config.reconnect_min = 100ms;
  config.reconnect_max = 500ms;
  return config;
}

// The client reconnects to a broker restarted on the same port and data directory (the same
// certificate), subscribes again, and messages published after the restart reach the
// subscription made before it. `crash`: SIGKILL, so clients hear nothing; else SIGTERM.
void restart_and_expect_subscription_back(bool crash, std::chrono::milliseconds limit) {
  TempDir data;
  auto first = std::make_unique<BrokerProcess>(std::vector<std::string>{}, 0, data.path());
  std::string error;
  ASSERT_TRUE(first->start(error)) << error;
  const std::uint16_t port = first->port();

  const ClientConfig config = quick_reconnect(*first);
  auto subscriber = connect_client(*first, error, &config);
  ASSERT_TRUE(subscriber) << error;
  ClientResult result;
  auto subscription = subscriber->subscribe("restart.subject", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(subscriber->flush(5s).ok());
  ASSERT_TRUE(subscriber->publish("restart.subject", bytes("before")).ok());
  auto before = receive(*subscription, 1, 5s);
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(text(before[0]), "before");

  if (crash) {
    first->kill();
  } else {
    const BrokerExit exit = first->stop();
    EXPECT_TRUE(exit.exited && exit.code == 0) << first->output();
  }
  const auto down_at = std::chrono::steady_clock::now();
  BrokerProcess second({}, port, data.path());
  ASSERT_TRUE(second.start(error)) << error;
  EXPECT_EQ(second.certificate(), first->certificate());

  const bool reconnected = wait_until(
      [&] {
        const ClientStats stats = subscriber->stats();
        return stats.reconnects >= 1 && stats.connected;
      },
      limit);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - down_at);
  std::cout << "[ restart ] " << (crash ? "SIGKILL" : "SIGTERM") << ": reconnected=" << reconnected
            << " after " << took.count() << " ms\n";
  ASSERT_TRUE(reconnected) << "no reconnect within " << limit.count() << " ms";
  // flush() returns once the broker processed everything before it, resubscription included.
  ASSERT_TRUE(subscriber->flush(5s).ok());

  auto publisher = connect_client(second, error);
  ASSERT_TRUE(publisher) << error;
  ASSERT_TRUE(publisher->publish("restart.subject", bytes("after")).ok());
  const auto after = receive(*subscription, 1, 5s);
  ASSERT_EQ(after.size(), 1u) << "the old subscription got nothing after the restart";
  EXPECT_EQ(text(after[0]), "after");
  EXPECT_FALSE(subscription->ended());
}

TEST(E2eLifecycle, ClientReconnectsAfterGracefulRestartAndItsSubscriptionResumes) {
  restart_and_expect_subscription_back(false, 10s);
}

// After a SIGKILL the restarted broker must still be able to tell the client that its old
// connection is gone: it keys stateless resets with the secret kept in its data directory
// (transport.secret), so the client's next packet draws a reset it can verify. Without that the
// client noticed only at the 30 s idle timeout.
TEST(E2eLifecycle, ClientReconnectsAfterBrokerCrashAndItsSubscriptionResumes) {
  restart_and_expect_subscription_back(true, 10s);
}

// A broker killed (SIGKILL) and not restarted, on a host that stays up: the client's next packet
// (its 1 s keep-alive at the latest) draws ICMP port unreachable, the probe it sends at once
// draws a second one, and the client reports the connection lost saying that the port is
// closed: within seconds, not at the 30 s idle timeout.
TEST(E2eLifecycle, BrokerKilledAndNotRestartedIsNoticedWithinSecondsAsPortClosed) {
  BrokerProcess broker;
  std::string error;
  ASSERT_TRUE(broker.start(error)) << error;
  // One client that gives up when the broker goes, one that keeps trying.
  const ClientConfig no_reconnect = trusting(broker, false);
  auto leaving = connect_client(broker, error, &no_reconnect);
  ASSERT_TRUE(leaving) << error;
  auto staying = connect_client(broker, error);
  ASSERT_TRUE(staying) << error;
  ClientResult result;
  auto subscription = leaving->subscribe("gone.subject", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(leaving->flush(5s).ok());
  ASSERT_TRUE(staying->flush(5s).ok());

  broker.kill();
  const auto killed_at = std::chrono::steady_clock::now();
  Message message;
  result = subscription->recv(message, 10000ms);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - killed_at);
  std::cout << "[ killed  ] SIGKILL, no restart: the subscription ended after " << took.count()
            << " ms: " << result.message << "\n";
  EXPECT_EQ(result.status, ClientStatus::closed) << result.message;
  EXPECT_NE(result.message.find("port closed"), std::string::npos) << result.message;
  EXPECT_LT(took, 5s) << "noticed only after " << took.count() << " ms";
  // The reconnecting client noticed too and is trying again.
  EXPECT_TRUE(wait_until([&] { return !staying->stats().connected; }, 5s));
}

TEST(E2eLifecycle, SigtermTellsClientsShuttingDownAndExitsZeroWithinTheGracePeriod) {
  constexpr auto kGrace = 1500ms;
  BrokerProcess broker({"--shutdown-grace", std::to_string(kGrace.count())});
  std::string error;
  ASSERT_TRUE(broker.start(error)) << error;

  // One client that gives up when the broker goes, one that keeps trying.
  const ClientConfig no_reconnect = trusting(broker, false);
  auto leaving = connect_client(broker, error, &no_reconnect);
  ASSERT_TRUE(leaving) << error;
  auto staying = connect_client(broker, error);
  ASSERT_TRUE(staying) << error;
  ClientResult result;
  auto subscription = leaving->subscribe("shutdown.subject", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(leaving->flush(5s).ok());
  ASSERT_TRUE(staying->flush(5s).ok());

  broker.signal(SIGTERM);
  const auto exit = broker.wait_exit(kGrace + 5s);
  ASSERT_TRUE(exit.has_value()) << "flume-broker still runs well past its grace period";
  EXPECT_TRUE(exit->exited) << "signal " << exit->signal << "\n" << broker.output();
  EXPECT_EQ(exit->code, 0) << broker.output();
  EXPECT_LE(exit->took, kGrace + 1000ms) << "exit took " << exit->took.count() << " ms";
  std::cout << "[ shutdown] exit " << exit->code << " after " << exit->took.count() << " ms\n";

  // The subscription ends, saying why.
  Message message;
  result = subscription->recv(message, 5000ms);
  EXPECT_EQ(result.status, ClientStatus::closed) << result.message;
  EXPECT_NE(result.message.find("SHUTTING_DOWN"), std::string::npos) << result.message;
  // The reconnecting client noticed and is trying again.
  EXPECT_TRUE(wait_until([&] { return !staying->stats().connected; }, 5s));
  EXPECT_EQ(staying->publish("shutdown.subject", bytes("x")).status, ClientStatus::not_connected);

  const std::string output = broker.output();
  EXPECT_NE(output.find("shutting down"), std::string::npos) << output;
  EXPECT_NE(output.find("flume-broker stopped"), std::string::npos) << output;
}

}  // namespace
}  // namespace flume::e2e
