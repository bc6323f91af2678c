// Test harness for clusters of embedded brokers (BrokerServer + ClusterNode, each on its own
// loop thread) linked over real HTTP/3 with mutual TLS on 127.0.0.1. Every wait is bounded.
#pragma once

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

namespace flume::overlay::testing {

using namespace std::chrono_literals;

inline std::span<const std::uint8_t> bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t *>(text.data()), text.size()};
}

inline std::string text(const Message &message) {
  auto payload = message.payload();
  return {reinterpret_cast<const char *>(payload.data()), payload.size()};
}

// Waits up to `limit` for `condition`, polling every 10 ms.
inline bool eventually(const std::function<bool()> &condition,
                       std::chrono::milliseconds limit = 5000ms) {
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
              std::vector<std::string> peers,
              const std::function<void(ClusterConfig &)> &adjust = nullptr) {
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
    if (adjust) adjust(cluster);
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

  // The node itself: touch it only inside on_loop.
  ClusterNode &node() { return *node_; }
  // The other nodes this node's link-state map holds, each with the peers its advert lists.
  std::map<std::string, std::vector<std::string>> link_state() {
    return on_loop([this] {
      std::map<std::string, std::vector<std::string>> out;
      for (const auto &[name, entry] : node_->link_state().entries()) {
        auto &peers = out[name];
        for (const AdvertLink &link : entry.advert.links)
          peers.push_back(link.peer);
      }
      return out;
    });
  }
  std::size_t links_up() { return static_cast<std::size_t>(stats().links_up); }

  // The node stops dead, as a SIGKILLed process looks from outside except that its socket
  // stays open (so not even an ICMP error reaches its peers): its loop runs no more.
  void freeze() { thread_.stop(); }
  bool frozen() const { return !thread_.running(); }

  // Runs `f` on the node's loop thread and returns its result (waits at most 5 s; a frozen
  // node's: the default value at once).
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

 private:
  LoopThread thread_{"test-node"};
  std::unique_ptr<BrokerServer> server_;
  std::unique_ptr<ClusterNode> node_;
};

}  // namespace flume::overlay::testing
