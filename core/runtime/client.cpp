// Client: URL parsing and the choice of trust, then everything else in ClientCore.
#include "runtime/client.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include "log/log.hpp"
#include "net/host_port.hpp"
#include "runtime/broker_host.hpp"
#include "runtime/broker_server.hpp"
#include "runtime/client_core.hpp"
#include "runtime/descriptor_shortage.hpp"
#include "storage/data_dir.hpp"

namespace flume {
namespace {

struct Target {
  std::string host;
  std::uint16_t port = kDefaultPort;
};

// "flume://host:port", "host:port" or "host"; the host:port part as a broker's --listen reads it.
bool parse_url(const std::string &url, Target &out, std::string &error) {
  std::string_view rest = url;
  if (const auto scheme = rest.find("://"); scheme != std::string_view::npos) {
    if (rest.substr(0, scheme) != "flume") {
      error = "unsupported URL scheme '" + std::string(rest.substr(0, scheme)) +
              "' (use flume://host:port)";
      return false;
    }
    rest.remove_prefix(scheme + 3);
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  HostPort parsed;
  if (!parse_host_port(rest, 1, parsed, error)) return false;
  if (parsed.host.empty()) {
    error = "'" + url + "' names no host (expected flume://host:port)";
    return false;
  }
  out.host = std::move(parsed.host);
  out.port = parsed.port.value_or(kDefaultPort);
  return true;
}

// The most brokers one client may be given: each costs a handshake on every connection attempt.
constexpr std::size_t kMaxBrokers = 16;

// "URL[,URL...]": one broker, or several to race (ClientConnection). Spaces around commas are
// allowed; an empty entry is not.
bool parse_url_list(const std::string &list, std::vector<Target> &out, std::string &error) {
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = list.find(',', start);
    std::string entry =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = entry.find_first_not_of(" \t");
    const auto last = entry.find_last_not_of(" \t");
    entry = first == std::string::npos ? "" : entry.substr(first, last - first + 1);
    if (entry.empty()) {
      error = list.empty() ? "no broker URL given (expected flume://host:port)"
                           : "'" + list +
                                 "' has an empty entry (expected flume://host:port, "
                                 "or several separated by commas)";
      return false;
    }
    Target target;
    if (!parse_url(entry, target, error)) return false;
    out.push_back(std::move(target));
    if (out.size() > kMaxBrokers) {
      error = "too many brokers in '" + list.substr(0, 200) + "': at most " +
              std::to_string(kMaxBrokers);
      return false;
    }
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

bool is_loopback(const SocketAddress &address) {
  const std::string text = address.to_string();  // v4-mapped addresses print as IPv4
  return text.rfind("127.", 0) == 0 || text.rfind("[::1]", 0) == 0;
}

bool all_loopback(const std::vector<SocketAddress> &addresses) {
  return std::all_of(addresses.begin(), addresses.end(), is_loopback);
}

std::shared_ptr<const tls::ClientTrust> choose_trust(const ClientConfig &config,
                                                     const std::vector<SocketAddress> &servers,
                                                     std::string &error) {
  const int chosen = !config.ca_file.empty() + !config.pin_sha256.empty() + config.insecure;
  if (chosen > 1) {
    error = "choose one way to trust the broker: a CA file, a pinned fingerprint, or insecure";
    return nullptr;
  }
  if (config.insecure) return tls::ClientTrust::insecure();
  if (!config.ca_file.empty()) return tls::ClientTrust::from_ca_file(config.ca_file, error);
  if (!config.pin_sha256.empty()) {
    return tls::ClientTrust::from_fingerprint(config.pin_sha256, error);
  }
  // A broker on this machine made its self-signed certificate in the shared data directory:
  // trusting that file verifies it properly (chain and name), with no flags.
  if (all_loopback(servers)) {
    const std::string local_cert = storage::DataDir().certificate_file();
    struct stat info {};
    if (stat(local_cert.c_str(), &info) == 0)
      return tls::ClientTrust::from_ca_file(local_cert, error);
  }
  return tls::ClientTrust::from_system_store(error);
}

}  // namespace

std::unique_ptr<Client> Client::connect(const std::string &url, const ClientConfig &config,
                                        ClientResult &result) {
  std::vector<Target> targets;
  std::string error;
  if (!parse_url_list(url, targets, error)) {
    result = ClientResult{ClientStatus::invalid_argument, error};
    return nullptr;
  }
  if (config.connect_timeout.count() <= 0) {
    result = ClientResult{ClientStatus::invalid_argument, "connect_timeout must be positive"};
    return nullptr;
  }
  std::vector<BrokerAddress> servers;
  std::vector<SocketAddress> addresses;
  std::string unresolved;  // the first name that did not resolve, when some others did
  for (std::size_t broker = 0; broker < targets.size(); ++broker) {
    const Target &target = targets[broker];
    std::string resolve_error;
    const std::vector<SocketAddress> resolved =
        resolve_broker_host(target.host, target.port, resolve_error);
    if (resolved.empty()) {
      if (unresolved.empty()) unresolved = resolve_error;
      if (targets.size() > 1) {
        FLUME_LOG(log::Level::warn, "client", "leaving out broker %s: %s", target.host.c_str(),
                  resolve_error.c_str());
      }
    }
    // The certificate must name what the user typed (a DNS name or an IP literal).
    const std::string &server_name = config.server_name.empty() ? target.host : config.server_name;
    for (const SocketAddress &address : resolved) {
      servers.push_back(BrokerAddress{address, server_name, broker});
      addresses.push_back(address);
    }
  }
  // A name that does not resolve among several is one broker fewer to race, not a failure;
  // with none left (or only one given), it is.
  if (servers.empty()) {
    result = ClientResult{ClientStatus::unreachable, unresolved};
    return nullptr;
  }
  auto trust = choose_trust(config, addresses, error);
  if (!trust) {
    result = ClientResult{ClientStatus::tls, error};
    return nullptr;
  }
  std::shared_ptr<ClientCore> core;
  try {
    core = std::make_shared<ClientCore>(config, std::move(servers), trust);
    result = core->start();
  } catch (const std::system_error &e) {
    // The event loop's descriptors (epoll, eventfd, timerfd) or its thread could not be made;
    // the message is "epoll_create1: Too many open files" and the like.
    const std::string_view what = e.what();
    const std::size_t colon = what.find(':');
    const std::string call =
        colon == std::string_view::npos ? "" : " (" + std::string(what.substr(0, colon)) + ")";
    result =
        ClientResult{ClientStatus::os_error,
                     describe_creation_failure("the client's event loop" + call, e.code().value())};
    return nullptr;
  }
  if (!result.ok()) return nullptr;
  return std::unique_ptr<Client>(new Client(std::move(core)));
}

Client::~Client() {
  close();
}

ClientResult Client::publish(std::string_view subject, std::span<const std::uint8_t> payload) {
  return core_->publish(subject, payload);
}

ClientResult Client::flush(std::chrono::milliseconds timeout) {
  return core_->flush(timeout);
}

std::shared_ptr<Subscription> Client::subscribe(std::string_view pattern,
                                                const SubscribeOptions &options,
                                                MessageCallback callback, ClientResult &result) {
  return core_->subscribe(pattern, options, std::move(callback), result);
}

void Client::close() {
  core_->close();
}

ClientStats Client::stats() const {
  return core_->stats();
}

std::uint32_t Client::max_payload() const {
  return core_->max_payload();
}

}  // namespace flume
