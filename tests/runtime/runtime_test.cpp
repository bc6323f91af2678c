// The broker server and the threaded client together, over real QUIC on 127.0.0.1.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "runtime/broker_server.hpp"
#include "runtime/client.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define FLUME_HAS_SANITIZER 1
#endif
#endif
#ifndef FLUME_HAS_SANITIZER
#define FLUME_HAS_SANITIZER 0
#endif

namespace flume {
namespace {

using namespace std::chrono_literals;

std::span<const std::uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t *>(text.data()), text.size()};
}

std::string text(const Message &message) {
  auto payload = message.payload();
  return {reinterpret_cast<const char *>(payload.data()), payload.size()};
}

// A broker on its own loop thread, listening on an ephemeral port of 127.0.0.1.
class RunningBroker {
 public:
  explicit RunningBroker(BrokerServerConfig config = {}) {
    dir_ = std::filesystem::temp_directory_path() /
           ("flume-runtime-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    config.listen = "127.0.0.1:0";
    config.data_dir = dir_.string();
    server_ = std::make_unique<BrokerServer>(thread_.loop(), config);
    std::string message;
    if (server_->open(message)) throw std::runtime_error(message);
    thread_.start();
  }
  ~RunningBroker() {
    thread_.stop();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string url() const { return "flume://" + server_->local_address().to_string(); }
  // Stops the broker's loop without closing anything: its socket stays open and silent, a dead
  // path as the client sees it (nothing acknowledged, nothing refused).
  void freeze() { thread_.stop(); }
  std::string cert() const { return server_->credentials().certificate_path(); }
  broker::BrokerStats stats() {
    broker::BrokerStats stats;
    std::atomic<bool> done{false};
    thread_.loop().post([&] {
      stats = server_->stats();
      done = true;
    });
    while (!done)
      std::this_thread::sleep_for(1ms);
    return stats;
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  LoopThread thread_{"test-broker"};
  std::unique_ptr<BrokerServer> server_;
};

ClientConfig trusting(const RunningBroker &broker) {
  ClientConfig config;
  config.ca_file = broker.cert();
  config.connect_timeout = 3000ms;
  return config;
}

TEST(Runtime, PublishedMessageReachesSubscriber) {
  RunningBroker broker;
  ClientResult result;
  auto client = Client::connect(broker.url(), trusting(broker), result);
  ASSERT_TRUE(client) << result.message;
  auto subscription = client->subscribe("orders.*", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(client->flush(2000ms).ok());
  ASSERT_TRUE(client->publish("orders.eu", bytes("hello")).ok());
  Message message;
  result = subscription->recv(message, 2000ms);
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_EQ(message.subject(), "orders.eu");
  EXPECT_EQ(text(message), "hello");
}

// Holds every file descriptor the process may still open (under a lowered limit) but `spare`,
// then gives them back and restores the limit.
class DescriptorsExhausted {
 public:
  explicit DescriptorsExhausted(std::size_t spare = 0) {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = std::min<rlim_t>(saved_.rlim_cur, 4096);
    setrlimit(RLIMIT_NOFILE, &low);
    for (int i = 0; i < 4096; ++i) {  // bounded: the limit is at most 4096
      const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (fd < 0) break;
      held_.push_back(fd);
    }
    for (std::size_t i = 0; i < spare && !held_.empty(); ++i) {  // the lowest free ones go first
      ::close(held_.back());
      held_.pop_back();
    }
  }
  ~DescriptorsExhausted() {
    for (int fd : held_)
      ::close(fd);
    setrlimit(RLIMIT_NOFILE, &saved_);
  }

 private:
  rlimit saved_{};
  std::vector<int> held_;
};

TEST(Runtime, SubscribingWithoutAFileDescriptorLeftFailsAndSaysWhy) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || FLUME_HAS_SANITIZER
  // The sanitizers' runtimes need descriptors of their own (UBSan's vptr check probes memory
  // through a pipe and reports "invalid vptr" when it cannot make one): with none left they
  // report errors that are not there. The GCC dev-release build runs this test.
  GTEST_SKIP() << "needs free file descriptors under the sanitizers";
#endif
  RunningBroker broker;
  ClientResult result;
  auto client = Client::connect(broker.url(), trusting(broker), result);
  ASSERT_TRUE(client) << result.message;
  {
    DescriptorsExhausted exhausted;
    auto subscription = client->subscribe("orders.*", {}, nullptr, result);
    EXPECT_FALSE(subscription) << "a subscription without its eventfd could never signal";
    EXPECT_EQ(result.status, ClientStatus::os_error);
    EXPECT_NE(result.message.find("out of file descriptors"), std::string::npos) << result.message;
  }
  // With descriptors back, the same client subscribes and delivers: nothing was left broken.
  auto subscription = client->subscribe("orders.*", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(client->flush(2000ms).ok());
  ASSERT_TRUE(client->publish("orders.eu", bytes("after")).ok());
  Message message;
  ASSERT_TRUE(subscription->recv(message, 2000ms).ok());
  EXPECT_EQ(text(message), "after");
}

// Out of descriptors, connect() reports it as such (ClientStatus::os_error, "out of file
// descriptors") whichever descriptor it could not get: the event loop's (epoll, eventfd,
// timerfd) or the UDP socket's. Never an exception, and never blamed on the broker.
TEST(Runtime, ConnectingWithoutAFileDescriptorLeftFailsAndSaysWhy) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || FLUME_HAS_SANITIZER
  GTEST_SKIP() << "needs free file descriptors under the sanitizers (see above)";
#endif
  RunningBroker broker;
  ClientConfig nobody_there;
  nobody_there.insecure = true;
  nobody_there.connect_timeout = 2000ms;
  nobody_there.reconnect = false;
  bool saw_event_loop = false;
  bool saw_socket = false;
  // One more spare descriptor each time, until connect() gets as far as the network (port 9:
  // refused). Bounded: the client needs four descriptors to get there.
  for (std::size_t spare = 0; spare <= 6; ++spare) {
    ClientResult result;
    std::unique_ptr<Client> client;
    {
      DescriptorsExhausted exhausted(spare);
      client = Client::connect("flume://127.0.0.1:9", nobody_there, result);
    }
    EXPECT_FALSE(client);
    if (result.status != ClientStatus::os_error) {
      EXPECT_EQ(result.status, ClientStatus::unreachable) << spare << ": " << result.message;
      break;
    }
    EXPECT_NE(result.message.find("out of file descriptors (EMFILE)"), std::string::npos)
        << result.message;
    EXPECT_NE(result.message.find("ulimit -n"), std::string::npos) << result.message;
    saw_event_loop |= result.message.find("event loop") != std::string::npos;
    saw_socket |= result.message.find("UDP socket") != std::string::npos;
  }
  EXPECT_TRUE(saw_event_loop);
  EXPECT_TRUE(saw_socket);
  // With descriptors back, connecting works: nothing was left broken.
  ClientResult result;
  auto client = Client::connect(broker.url(), trusting(broker), result);
  ASSERT_TRUE(client) << result.message;
  EXPECT_TRUE(client->flush(2000ms).ok());
}

TEST(Runtime, ManyMessagesArriveInOrderThroughBatchReceive) {
  RunningBroker broker;
  ClientResult result;
  auto client = Client::connect(broker.url(), trusting(broker), result);
  ASSERT_TRUE(client) << result.message;
  auto subscription = client->subscribe("seq", {}, nullptr, result);
  ASSERT_TRUE(client->flush(2000ms).ok());
  constexpr int kCount = 5000;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(client->publish("seq", bytes(std::to_string(i))).ok());
  }
  std::vector<Message> received;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (received.size() < kCount && std::chrono::steady_clock::now() < deadline) {
    (void)subscription->recv_batch(received, 1024, 500ms);
  }
  ASSERT_EQ(received.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i)
    ASSERT_EQ(text(received[i]), std::to_string(i));
}

TEST(Runtime, CallbackSubscriptionGetsMessagesOnTheLoopThread) {
  RunningBroker broker;
  ClientResult result;
  auto client = Client::connect(broker.url(), trusting(broker), result);
  ASSERT_TRUE(client) << result.message;
  std::atomic<int> seen{0};
  auto subscription = client->subscribe(
      "a.>", {}, [&](const MessageView &message) { seen += message.subject == "a.b.c"; }, result);
  ASSERT_TRUE(client->flush(2000ms).ok());
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(client->publish("a.b.c", bytes("x")).ok());
  ASSERT_TRUE(client->flush(2000ms).ok());
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (seen < 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_EQ(seen, 10);
}

TEST(Runtime, ClientWithoutTrustGetsAClearCertificateError) {
  RunningBroker broker;
  ClientConfig config;
  config.connect_timeout = 3000ms;
  config.ca_file = "/etc/ssl/certs/ca-certificates.crt";  // trusts public CAs, not this broker
  ClientResult result;
  auto client = Client::connect(broker.url(), config, result);
  EXPECT_FALSE(client);
  EXPECT_EQ(result.status, ClientStatus::tls) << result.message;
  EXPECT_NE(result.message.find("certificate"), std::string::npos) << result.message;
}

TEST(Runtime, ConnectingWhereNobodyListensFailsFast) {
  ClientConfig config;
  config.insecure = true;
  config.connect_timeout = 2000ms;
  ClientResult result;
  const auto start = std::chrono::steady_clock::now();
  auto client = Client::connect("flume://127.0.0.1:9", config, result);
  EXPECT_FALSE(client);
  EXPECT_EQ(result.status, ClientStatus::unreachable) << result.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
}

TEST(Runtime, PublishValidationErrorsAreImmediate) {
  RunningBroker broker;
  ClientResult result;
  auto client = Client::connect(broker.url(), trusting(broker), result);
  ASSERT_TRUE(client) << result.message;
  EXPECT_EQ(client->publish("a..b", bytes("x")).status, ClientStatus::invalid_subject);
  std::vector<std::uint8_t> big(client->max_payload() + 1);
  EXPECT_EQ(client->publish("a", big).status, ClientStatus::payload_too_large);
  EXPECT_FALSE(client->subscribe("a.>.b", {}, nullptr, result));
  EXPECT_EQ(result.status, ClientStatus::invalid_pattern);
}

TEST(Runtime, ClosedClientEndsItsSubscriptions) {
  RunningBroker broker;
  ClientResult result;
  auto client = Client::connect(broker.url(), trusting(broker), result);
  ASSERT_TRUE(client) << result.message;
  auto subscription = client->subscribe("x", {}, nullptr, result);
  client->close();
  Message message;
  result = subscription->recv(message, 1000ms);
  EXPECT_EQ(result.status, ClientStatus::closed) << result.message;
  EXPECT_EQ(client->publish("x", bytes("y")).status, ClientStatus::closed);
}

// Back-pressure: a publisher faster than the path waits for room and, past publish_timeout, gets
// a clear error instead of growing the client's memory without end.

// A client whose broker then goes silent (frozen): nothing it sends is acknowledged any more.
std::unique_ptr<Client> connect_then_freeze(RunningBroker &broker, std::size_t max_pending_bytes,
                                            std::chrono::milliseconds publish_timeout) {
  ClientConfig config = trusting(broker);
  config.reconnect = false;
  config.max_pending_bytes = max_pending_bytes;
  config.publish_timeout = publish_timeout;
  ClientResult result;
  auto client = Client::connect(broker.url(), config, result);
  EXPECT_TRUE(client) << result.message;
  broker.freeze();
  return client;
}

TEST(Runtime, PublishToADeadPathStopsAtMaxPendingBytesWithATimeout) {
  RunningBroker broker;
  constexpr std::size_t kLimit = 256 * 1024;
  auto client = connect_then_freeze(broker, kLimit, 200ms);
  ASSERT_TRUE(client);
  ClientResult result;
  const std::vector<std::uint8_t> payload(16 * 1024, 0x5a);
  std::size_t accepted = 0;
  for (int i = 0; i < 256 && result.ok(); ++i) {  // 4 MiB offered, 16x the limit
    const auto start = std::chrono::steady_clock::now();
    result = client->publish("bulk", payload);
    if (result.ok()) {
      accepted += payload.size();
    } else {
      EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms) << "it gave up without waiting";
    }
  }
  ASSERT_EQ(result.status, ClientStatus::timeout) << result.message;
  EXPECT_NE(result.message.find("max_pending_bytes"), std::string::npos) << result.message;
  // The limit, plus what congestion control let into flight before the path went quiet.
  EXPECT_LE(accepted, kLimit + 128 * 1024);
  EXPECT_GE(accepted, kLimit - payload.size());
}

TEST(Runtime, PublishWithZeroTimeoutFailsAtOnceWhenFull) {
  RunningBroker broker;
  auto client = connect_then_freeze(broker, 64 * 1024, 0ms);
  ASSERT_TRUE(client);
  ClientResult result;
  const std::vector<std::uint8_t> payload(16 * 1024, 1);
  for (int i = 0; i < 64 && result.ok(); ++i)
    result = client->publish("bulk", payload);
  ASSERT_EQ(result.status, ClientStatus::timeout) << result.message;
  EXPECT_NE(result.message.find("cannot wait"), std::string::npos) << result.message;
}

TEST(Runtime, PublishingFarMoreThanMaxPendingBytesDeliversEverythingInOrder) {
  RunningBroker broker;
  ClientConfig config = trusting(broker);
  config.max_pending_bytes = 64 * 1024;  // 4 messages: nearly every publish waits for room
  ClientResult result;
  auto client = Client::connect(broker.url(), config, result);
  ASSERT_TRUE(client) << result.message;
  SubscribeOptions options;
  options.queue_limit = 1024;
  auto subscription = client->subscribe("bulk", options, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(client->flush(2000ms).ok());
  constexpr int kCount = 512;  // 8 MiB, 128x the limit
  std::vector<std::uint8_t> payload(16 * 1024);
  for (int i = 0; i < kCount; ++i) {
    std::memcpy(payload.data(), &i, sizeof i);
    result = client->publish("bulk", payload);
    ASSERT_TRUE(result.ok()) << "message " << i << ": " << result.message;
  }
  std::vector<Message> received;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (received.size() < kCount && std::chrono::steady_clock::now() < deadline)
    (void)subscription->recv_batch(received, 64, 500ms);
  ASSERT_EQ(received.size(), static_cast<std::size_t>(kCount));
  for (int i = 0; i < kCount; ++i) {
    int seq = -1;
    std::memcpy(&seq, received[i].payload().data(), sizeof seq);
    ASSERT_EQ(seq, i);
  }
  EXPECT_EQ(subscription->stats().dropped_by_broker, 0u);
}

}  // namespace
}  // namespace flume
