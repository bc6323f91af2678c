// A broker on [::] (IPv6 and IPv4 on one socket) and a client that tries every address of a
// name, over real QUIC on the loopbacks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "runtime/broker_host.hpp"
#include "runtime/broker_server.hpp"
#include "runtime/client.hpp"
#include "runtime/client_core.hpp"

namespace flume {
namespace {

using namespace std::chrono_literals;

bool has_ipv6_loopback() {
  UdpSocket probe;
  auto loopback = parse_address("::1", 0);
  return loopback && !probe.bind(*loopback);
}

class ListeningBroker {
 public:
  explicit ListeningBroker(const std::string &listen) {
    dir_ = std::filesystem::temp_directory_path() /
           ("flume-dual-stack-test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    BrokerServerConfig config;
    config.listen = listen;
    config.data_dir = dir_.string();
    server_ = std::make_unique<BrokerServer>(thread_.loop(), config);
    std::string message;
    if (server_->open(message)) throw std::runtime_error(message);
    thread_.start();
  }
  ~ListeningBroker() {
    thread_.stop();
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::uint16_t port() const { return server_->local_address().port(); }
  const BrokerServer &server() const { return *server_; }
  ClientConfig trusting() const {
    ClientConfig config;
    config.ca_file = server_->credentials().certificate_path();
    config.connect_timeout = 3000ms;
    return config;
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  LoopThread thread_{"test-broker"};
  std::unique_ptr<BrokerServer> server_;
};

std::vector<std::string> texts(const std::vector<SocketAddress> &addresses) {
  std::vector<std::string> out;
  for (const SocketAddress &a : addresses)
    out.push_back(a.to_string());
  return out;
}

TEST(RuntimeDualStack, LocalhostResolvesToBothLoopbacksAndANumericAddressToItself) {
  std::string error;
  EXPECT_EQ(texts(resolve_broker_host("localhost", 7337, error)),
            (std::vector<std::string>{"[::1]:7337", "127.0.0.1:7337"}));
  EXPECT_EQ(texts(resolve_broker_host("127.0.0.1", 7, error)),
            std::vector<std::string>{"127.0.0.1:7"});
  EXPECT_EQ(texts(resolve_broker_host("::1", 7, error)), std::vector<std::string>{"[::1]:7"});
  EXPECT_TRUE(error.empty()) << error;
}

TEST(RuntimeDualStack, BrokerOnAllAddressesIsReachedOverIpv4Ipv6AndLocalhost) {
  if (!has_ipv6_loopback()) GTEST_SKIP() << "no IPv6 loopback on this machine";
  ListeningBroker broker("[::]:0");
  EXPECT_EQ(broker.server().listen_note(), "IPv4 and IPv6");
  EXPECT_EQ(broker.server().local_address().to_string(), "[::]:" + std::to_string(broker.port()));
  const std::string port = std::to_string(broker.port());
  for (const std::string &url :
       {"flume://127.0.0.1:" + port, "flume://[::1]:" + port, "flume://localhost:" + port}) {
    ClientResult result;
    auto client = Client::connect(url, broker.trusting(), result);
    ASSERT_TRUE(client) << url << ": " << result.message;
    EXPECT_TRUE(client->flush(2000ms).ok()) << url;
    client->close();
  }
}

TEST(RuntimeDualStack, EmptyListenHostMeansEveryAddress) {
  std::string error;
  auto address = parse_listen_address(":7337", error);
  ASSERT_TRUE(address) << error;
  EXPECT_EQ(address->to_string(), "[::]:7337");
  address = parse_listen_address("0.0.0.0:7337", error);
  ASSERT_TRUE(address) << error;
  EXPECT_EQ(address->to_string(), "0.0.0.0:7337");
  EXPECT_EQ(BrokerServerConfig{}.listen, "[::]:7337");
}

// `addresses` as one broker's (one URL's), or each a broker of its own (a list of URLs).
std::vector<BrokerAddress> as_brokers(const std::vector<SocketAddress> &addresses,
                                      bool one_broker = true) {
  std::vector<BrokerAddress> servers;
  for (std::size_t index = 0; index < addresses.size(); ++index) {
    servers.push_back(BrokerAddress{addresses[index], "localhost", one_broker ? 0 : index});
  }
  return servers;
}

// The client is given the addresses a name would resolve to; the first is dead.
ClientResult connect_through(const std::vector<SocketAddress> &addresses,
                             const ClientConfig &config, bool one_broker = true) {
  std::string error;
  auto trust = tls::ClientTrust::from_ca_file(config.ca_file, error);
  if (!trust) return ClientResult{ClientStatus::tls, error};
  auto core = std::make_shared<ClientCore>(config, as_brokers(addresses, one_broker), trust);
  ClientResult result = core->start();
  core->close();
  return result;
}

TEST(RuntimeDualStack, ClientPassesOverARefusingAddressToTheNextOne) {
  ListeningBroker broker("127.0.0.1:0");
  UdpSocket closed;  // bound, then closed: its port refuses (ICMP port unreachable)
  ASSERT_FALSE(closed.bind(*parse_address("127.0.0.1", 0)));
  const SocketAddress dead = closed.local_address();
  closed.close();
  const auto start = std::chrono::steady_clock::now();
  ClientResult result =
      connect_through({dead, *parse_address("127.0.0.1", broker.port())}, broker.trusting());
  EXPECT_TRUE(result.ok()) << result.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);  // refused at once, not waited for
}

TEST(RuntimeDualStack, ClientPassesOverASilentAddressAfterItsShareOfTheConnectTimeout) {
  ListeningBroker broker("127.0.0.1:0");
  UdpSocket silent;  // bound and never read: a path where nothing answers
  ASSERT_FALSE(silent.bind(*parse_address("127.0.0.1", 0)));
  ClientConfig config = broker.trusting();
  config.connect_timeout = 2000ms;
  const auto start = std::chrono::steady_clock::now();
  ClientResult result =
      connect_through({silent.local_address(), *parse_address("127.0.0.1", broker.port())}, config);
  EXPECT_TRUE(result.ok()) << result.message;
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 900ms);   // the silent address had half of the 2 s
  EXPECT_LT(took, 2000ms);  // and the live one the rest
}

// Several brokers race: the silent one costs nothing, not its share of the connect timeout.
TEST(RuntimeDualStack, ClientGivenSeveralBrokersTakesTheOneThatAnswersWithoutWaiting) {
  ListeningBroker broker("127.0.0.1:0");
  UdpSocket silent;
  ASSERT_FALSE(silent.bind(*parse_address("127.0.0.1", 0)));
  ClientConfig config = broker.trusting();
  config.connect_timeout = 2000ms;
  const auto start = std::chrono::steady_clock::now();
  ClientResult result = connect_through(
      {silent.local_address(), *parse_address("127.0.0.1", broker.port())}, config, false);
  EXPECT_TRUE(result.ok()) << result.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms);
}

TEST(RuntimeDualStack, EveryAddressFailingReportsTheLastFailure) {
  UdpSocket silent;
  ASSERT_FALSE(silent.bind(*parse_address("127.0.0.1", 0)));
  UdpSocket closed;
  ASSERT_FALSE(closed.bind(*parse_address("127.0.0.1", 0)));
  const SocketAddress dead = closed.local_address();
  closed.close();
  ClientConfig config;
  config.insecure = true;
  config.connect_timeout = 1000ms;
  auto core = std::make_shared<ClientCore>(config, as_brokers({dead, silent.local_address()}),
                                           tls::ClientTrust::insecure());
  const auto start = std::chrono::steady_clock::now();
  ClientResult result = core->start();
  core->close();
  EXPECT_EQ(result.status, ClientStatus::unreachable) << result.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1800ms);
}

}  // namespace
}  // namespace flume
