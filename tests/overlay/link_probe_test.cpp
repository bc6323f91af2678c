// Probes on real node links: two embedded brokers (BrokerServer + ClusterNode, each on its own
// loop thread) linked over real HTTP/3 with mutual TLS on 127.0.0.1. The dialer's probes see a
// plausible loopback RTT and no loss, the listener learns the dialer's numbers, and a node whose
// loop stops dead (its socket stays open, so no ICMP error tells anyone) is noticed by the other
// end within 2 s on either side of the link. Every wait is bounded in time.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
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
#include "tls/cluster_certificates.hpp"

namespace flume::overlay {
namespace {

using namespace std::chrono_literals;

bool eventually(const std::function<bool()> &condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

class ClusterFiles {
 public:
  explicit ClusterFiles(const std::vector<std::string> &nodes) {
    dir_ = std::filesystem::temp_directory_path() /
           ("flume-probe-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    std::string error;
    auto ca = tls::generate_cluster_ca("probe-ca", error);
    if (!ca) throw std::runtime_error(error);
    write("ca.pem", ca->certificate);
    for (const std::string &node : nodes) {
      tls::NodeCertificateRequest request;
      request.node_name = node;
      auto pair = tls::issue_node_certificate(*ca, request, error);
      if (!pair) throw std::runtime_error(error);
      write(node + ".pem", pair->certificate);
      write(node + ".key", pair->private_key);
    }
  }
  ~ClusterFiles() { std::filesystem::remove_all(dir_); }
  std::string path(const std::string &name) const { return (dir_ / name).string(); }

 private:
  void write(const std::string &name, const std::string &content) {
    std::ofstream(dir_ / name) << content;
  }
  static inline int counter_ = 0;
  std::filesystem::path dir_;
};

class RunningNode {
 public:
  RunningNode(const ClusterFiles &files, const std::string &name, std::vector<std::string> peers,
              unsigned probe_rate = 2) {
    BrokerServerConfig config;
    config.listen = "127.0.0.1:0";
    config.data_dir = files.path("data-" + name);
    server_ = std::make_unique<BrokerServer>(thread_.loop(), config);
    std::string message;
    if (server_->open(message)) throw std::runtime_error(message);
    ClusterConfig cluster;
    cluster.node_name = name;
    cluster.listen = "127.0.0.1:0";
    cluster.ca_file = files.path("ca.pem");
    cluster.certificate_file = files.path(name + ".pem");
    cluster.key_file = files.path(name + ".key");
    cluster.peers = std::move(peers);
    cluster.redial_interval = 200ms;
    cluster.probe_rate = probe_rate;
    node_ = std::make_unique<ClusterNode>(thread_.loop(), server_->engine(), cluster);
    if (node_->open(message)) throw std::runtime_error(message);
    thread_.start();
  }
  ~RunningNode() {
    thread_.stop();
    node_.reset();
    server_.reset();
  }

  std::string cluster_address() const { return node_->local_address().to_string(); }
  ClusterStats stats() {
    return on_loop([this] { return node_->stats(); });
  }
  std::vector<LinkInfo> links() {
    return on_loop([this] { return node_->links(); });
  }
  // The node stops dead, as a SIGKILLed process looks from outside except that its socket
  // stays open (so not even an ICMP error reaches the peer): its loop runs no more.
  void freeze() { thread_.stop(); }
  bool frozen() const { return !thread_.running(); }

 private:
  template <class F>
  auto on_loop(F f) -> decltype(f()) {
    decltype(f()) out{};
    if (frozen()) return out;
    std::atomic<bool> done{false};
    thread_.loop().post([&] {
      out = f();
      done = true;
    });
    for (int i = 0; i < 5000 && !done; ++i)
      std::this_thread::sleep_for(1ms);
    return out;
  }

  LoopThread thread_{"probe-node"};
  std::unique_ptr<BrokerServer> server_;
  std::unique_ptr<ClusterNode> node_;
};

TEST(LinkProbes, DialerMeasuresAPlausibleLoopbackRttAndTheListenerLearnsIt) {
  ClusterFiles files({"a", "b"});
  RunningNode a(files, "a", {});
  RunningNode b(files, "b", {a.cluster_address()}, 10);  // b dials a, 10 probes a second
  ASSERT_TRUE(eventually([&] { return a.stats().links_up == 1 && b.stats().links_up == 1; }, 5s));
  // 10/s: after ~1.5 s, a dozen answered and a full cost window.
  ASSERT_TRUE(eventually(
      [&] {
        auto links = b.links();
        return links.size() == 1 && links[0].measured.probes_answered >= 12 &&
               links[0].measured.cost_bytes_per_second > 0;
      },
      5s));
  const LinkInfo dialed = b.links().at(0);
  EXPECT_TRUE(dialed.dialer);
  EXPECT_EQ(dialed.peer_name, "a");
  // Loopback through two event loops: above zero, far below the 1 s probe timeout (ASan builds
  // on a shared machine included).
  EXPECT_GT(dialed.measured.srtt_us, 0u);
  EXPECT_LT(dialed.measured.srtt_us, 200'000u);
  EXPECT_EQ(dialed.measured.lost, 0u);
  EXPECT_GT(dialed.quic.smoothed_rtt.count(), 0);
  // Each probe is an HTTP/3 GET and its answer, a few dozen bytes each way: at 10/s the cost
  // must be hundreds of bytes a second, not zero and not kilobytes.
  EXPECT_GT(dialed.measured.cost_bytes_per_second, 10u * 20u);
  EXPECT_LT(dialed.measured.cost_bytes_per_second, 10u * 1000u);
  // The listener sees the same link through the dialer's header.
  ASSERT_TRUE(eventually(
      [&] {
        auto links = a.links();
        return links.size() == 1 && links[0].peer_measured && links[0].peer_measured->settled >= 10;
      },
      3s));
  const LinkInfo accepted = a.links().at(0);
  EXPECT_FALSE(accepted.dialer);
  EXPECT_EQ(accepted.peer_measured->rate, 10u);
  EXPECT_GT(accepted.peer_measured->srtt_us, 0u);
  EXPECT_LT(accepted.peer_measured->srtt_us, 200'000u);
  EXPECT_GE(accepted.measured.probes_sent, 12u);  // requests the listener received
  EXPECT_EQ(a.stats().links_dead, 0u);
  EXPECT_EQ(b.stats().links_dead, 0u);
}

TEST(LinkProbes, ListenerClosesTheLinkWithinTwoSecondsOfTheDialerStoppingDead) {
  ClusterFiles files({"a", "b"});
  RunningNode a(files, "a", {});
  RunningNode b(files, "b", {a.cluster_address()});  // b dials a, 2 probes a second
  ASSERT_TRUE(eventually([&] { return a.stats().links_up == 1 && b.stats().links_up == 1; }, 5s));
  ASSERT_TRUE(eventually(
      [&] {
        auto links = a.links();
        return links.size() == 1 && links[0].peer_measured.has_value();
      },
      3s));
  const auto stopped = std::chrono::steady_clock::now();
  b.freeze();
  ASSERT_TRUE(eventually([&] { return a.stats().links_dead == 1; }, 3s));
  const auto noticed = std::chrono::steady_clock::now() - stopped;
  std::printf("noticed after %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(noticed).count()));
  EXPECT_LT(noticed, 2s) << std::chrono::duration_cast<std::chrono::milliseconds>(noticed).count()
                         << " ms";
  EXPECT_EQ(a.stats().links_up, 0u);
}

TEST(LinkProbes, DialerClosesTheLinkWithinTwoSecondsOfTheListenerStoppingDead) {
  ClusterFiles files({"a", "b"});
  RunningNode a(files, "a", {});
  RunningNode b(files, "b", {a.cluster_address()});
  ASSERT_TRUE(eventually([&] { return a.stats().links_up == 1 && b.stats().links_up == 1; }, 5s));
  ASSERT_TRUE(eventually([&] { return b.links().at(0).measured.probes_answered >= 2; }, 3s));
  const auto stopped = std::chrono::steady_clock::now();
  a.freeze();
  ASSERT_TRUE(eventually([&] { return b.stats().links_dead == 1; }, 3s));
  const auto noticed = std::chrono::steady_clock::now() - stopped;
  std::printf("noticed after %lld ms\n",
              static_cast<long long>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(noticed).count()));
  EXPECT_LT(noticed, 2s) << std::chrono::duration_cast<std::chrono::milliseconds>(noticed).count()
                         << " ms";
}

TEST(LinkProbes, WithProbesOffNeitherEndDeclaresAQuietLinkDead) {
  ClusterFiles files({"a", "b"});
  RunningNode a(files, "a", {});
  RunningNode b(files, "b", {a.cluster_address()}, 0);
  ASSERT_TRUE(eventually([&] { return a.stats().links_up == 1 && b.stats().links_up == 1; }, 5s));
  std::this_thread::sleep_for(2500ms);
  EXPECT_EQ(a.stats().links_dead, 0u);
  EXPECT_EQ(b.stats().links_dead, 0u);
  EXPECT_EQ(a.stats().links_up, 1u);
  EXPECT_EQ(b.links().at(0).measured.probes_sent, 0u);
}

}  // namespace
}  // namespace flume::overlay
