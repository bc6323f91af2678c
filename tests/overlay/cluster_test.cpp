// Clusters of embedded brokers (BrokerServer + ClusterNode, each on its own loop thread) linked
// over real HTTP/3 with mutual TLS on 127.0.0.1, and threaded clients publishing and
// subscribing through them. Every wait is bounded in time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "overlay/cluster_node.hpp"
#include "runtime/broker_server.hpp"
#include "runtime/client.hpp"
#include "tls/cluster_certificates.hpp"

namespace flume::overlay {
namespace {

using namespace std::chrono_literals;

std::span<const std::uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t *>(text.data()), text.size()};
}

std::string text(const Message &message) {
  auto payload = message.payload();
  return {reinterpret_cast<const char *>(payload.data()), payload.size()};
}

// Waits up to `limit` for `condition`, polling every 10 ms.
bool eventually(const std::function<bool()> &condition, std::chrono::milliseconds limit = 5000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

// A directory with a cluster CA and certificates for the nodes asked for.
class ClusterFiles {
 public:
  ClusterFiles() {
    dir_ = std::filesystem::temp_directory_path() /
           ("flume-overlay-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
  }
  ~ClusterFiles() { std::filesystem::remove_all(dir_); }

  // A CA named `ca` (made on first use) and a node certificate from it.
  void issue(const std::string &ca, const std::string &node) {
    std::string error;
    if (cas_.count(ca) == 0) {
      auto pair = tls::generate_cluster_ca(ca, error);
      if (!pair) throw std::runtime_error(error);
      cas_[ca] = *pair;
      write(ca + "-ca.pem", pair->certificate);
    }
    tls::NodeCertificateRequest request;
    request.node_name = node;
    auto pair = tls::issue_node_certificate(cas_[ca], request, error);
    if (!pair) throw std::runtime_error(error);
    write(node + ".pem", pair->certificate);
    write(node + ".key", pair->private_key);
  }
  std::string path(const std::string &name) const { return (dir_ / name).string(); }

 private:
  void write(const std::string &name, const std::string &content) {
    std::ofstream(dir_ / name) << content;
  }
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  std::map<std::string, tls::PemKeyPair> cas_;
};

// One node: a broker with its overlay node on its own loop thread.
class RunningNode {
 public:
  RunningNode(const ClusterFiles &files, const std::string &name, const std::string &ca,
              std::vector<std::string> peers) {
    BrokerServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data_dir = files.path("data-" + name);
    server_ = std::make_unique<BrokerServer>(thread_.loop(), config);
    std::string message;
    if (server_->open(message)) throw std::runtime_error(message);
    ClusterConfig cluster;
    cluster.node_name = name;
    cluster.listen = "127.0.0.1:0";
    cluster.ca_file = files.path(ca + "-ca.pem");
    cluster.certificate_file = files.path(name + ".pem");
    cluster.key_file = files.path(name + ".key");
    cluster.peers = std::move(peers);
    cluster.redial_interval = 200ms;
    node_ = std::make_unique<ClusterNode>(thread_.loop(), server_->engine(), cluster);
    if (node_->open(message)) throw std::runtime_error(message);
    thread_.start();
  }
  ~RunningNode() {
    thread_.stop();
    node_.reset();
    server_.reset();
  }

  std::string url() const { return "flume://" + server_->local_address().to_string(); }
  std::string cluster_address() const { return node_->local_address().to_string(); }
  ClientConfig trusting() const {
    ClientConfig config;
    config.ca_file = server_->credentials().certificate_path();
    config.connect_timeout = 3000ms;
    return config;
  }
  ClusterStats stats() {
    return on_loop([this] { return node_->stats(); });
  }
  std::vector<LinkInfo> links() {
    return on_loop([this] { return node_->links(); });
  }
  // Patterns the peer `name` advertised to this node.
  std::size_t patterns_from(const std::string &name) {
    for (const LinkInfo &link : links()) {
      if (link.peer_name == name) return link.peer_patterns;
    }
    return 0;
  }

 private:
  template <class F>
  auto on_loop(F f) -> decltype(f()) {
    decltype(f()) out{};
    std::atomic<bool> done{false};
    thread_.loop().post([&] {
      out = f();
      done = true;
    });
    for (int i = 0; i < 5000 && !done; ++i)
      std::this_thread::sleep_for(1ms);
    return out;
  }

  LoopThread thread_{"test-node"};
  std::unique_ptr<BrokerServer> server_;
  std::unique_ptr<ClusterNode> node_;
};

TEST(Cluster, MessagesPublishedAtOneNodeReachASubscriberAtAnotherOnceInOrder) {
  ClusterFiles files;
  for (const char *name : {"a", "b", "c"})
    files.issue("one", name);
  RunningNode a(files, "a", "one", {});
  RunningNode b(files, "b", "one", {a.cluster_address()});
  RunningNode c(files, "c", "one", {a.cluster_address(), b.cluster_address()});
  ASSERT_TRUE(eventually([&] {
    return a.stats().links_up == 2 && b.stats().links_up == 2 && c.stats().links_up == 2;
  })) << "the full mesh did not come up";

  ClientResult result;
  auto subscriber = Client::connect(c.url(), c.trusting(), result);
  ASSERT_TRUE(subscriber) << result.message;
  auto subscription = subscriber->subscribe("orders.>", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  // b's subscribers want something else: b must get no data at all.
  auto other = Client::connect(b.url(), b.trusting(), result);
  ASSERT_TRUE(other) << result.message;
  auto elsewhere = other->subscribe("inventory.>", {}, nullptr, result);
  ASSERT_TRUE(elsewhere) << result.message;
  ASSERT_TRUE(eventually([&] { return a.patterns_from("c") == 1 && a.patterns_from("b") == 1; }));

  auto publisher = Client::connect(a.url(), a.trusting(), result);
  ASSERT_TRUE(publisher) << result.message;
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(
        publisher->publish(i % 2 ? "orders.eu" : "orders.us", bytes(std::to_string(i))).ok());
  }
  ASSERT_TRUE(publisher->flush(3000ms).ok());

  std::vector<int> eu, us;
  for (int i = 0; i < kCount; ++i) {
    Message message;
    result = subscription->recv(message, 3000ms);
    ASSERT_TRUE(result.ok()) << "after " << i << " messages: " << result.message;
    (message.subject() == "orders.eu" ? eu : us).push_back(std::stoi(text(message)));
  }
  // In publish order per subject (the publisher's order), and nothing twice.
  for (std::size_t i = 0; i < eu.size(); ++i)
    EXPECT_EQ(eu[i], static_cast<int>(2 * i + 1));
  for (std::size_t i = 0; i < us.size(); ++i)
    EXPECT_EQ(us[i], static_cast<int>(2 * i));
  Message extra;
  EXPECT_FALSE(subscription->recv(extra, 300ms).ok()) << "a message arrived twice";

  EXPECT_EQ(a.stats().messages_forwarded, static_cast<std::uint64_t>(kCount));
  EXPECT_EQ(c.stats().messages_delivered, static_cast<std::uint64_t>(kCount));
  EXPECT_EQ(b.stats().messages_received, 0u) << "a node without interest got data";
}

TEST(Cluster, WithdrawnInterestStopsForwarding) {
  ClusterFiles files;
  files.issue("one", "a");
  files.issue("one", "b");
  RunningNode a(files, "a", "one", {});
  RunningNode b(files, "b", "one", {a.cluster_address()});
  ASSERT_TRUE(eventually([&] { return a.stats().links_up == 1 && b.stats().links_up == 1; }));
  ClientResult result;
  auto subscriber = Client::connect(b.url(), b.trusting(), result);
  ASSERT_TRUE(subscriber) << result.message;
  auto subscription = subscriber->subscribe("x", {}, nullptr, result);
  ASSERT_TRUE(subscription) << result.message;
  ASSERT_TRUE(eventually([&] { return a.patterns_from("b") == 1; }));
  subscription.reset();  // unsubscribes
  ASSERT_TRUE(eventually([&] { return a.patterns_from("b") == 0; }));
  auto publisher = Client::connect(a.url(), a.trusting(), result);
  ASSERT_TRUE(publisher) << result.message;
  ASSERT_TRUE(publisher->publish("x", bytes("late")).ok());
  ASSERT_TRUE(publisher->flush(3000ms).ok());
  EXPECT_EQ(a.stats().messages_forwarded, 0u);
}

TEST(Cluster, NodeWithACertificateFromAnotherCaIsRefused) {
  ClusterFiles files;
  files.issue("one", "a");
  files.issue("other", "rogue");
  RunningNode a(files, "a", "one", {});
  RunningNode rogue(files, "rogue", "other", {a.cluster_address()});
  ASSERT_TRUE(eventually([&] {
    return rogue.stats().handshakes_failed >= 1 && a.stats().inbound_handshakes_failed >= 1;
  })) << "the rogue's dial was not refused";
  EXPECT_EQ(a.stats().links_up, 0u);
  EXPECT_EQ(rogue.stats().links_up, 0u);
}

}  // namespace
}  // namespace flume::overlay
