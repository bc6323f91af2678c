#include "runtime/broker_server.hpp"

#include <netinet/in.h>

#include <cstdlib>

#include "log/log.hpp"
#include "net/host_port.hpp"
#include "quic/connection.hpp"
#include "storage/data_dir.hpp"

namespace flume {

namespace {

bool is_ipv6_any(const SocketAddress &address) {
  return address.family() == AF_INET6 &&
         IN6_IS_ADDR_UNSPECIFIED(
             &reinterpret_cast<const sockaddr_in6 &>(address.storage).sin6_addr);
}

// Errors that mean "this machine has no IPv6" rather than "this port is taken": IPv6 disabled
// in the kernel (no AF_INET6 sockets) or by sysctl (no address to bind [::] to).
bool is_no_ipv6(std::error_code ec) {
  return ec == std::errc::address_family_not_supported || ec == std::errc::address_not_available ||
         ec == std::errc::protocol_not_supported;
}

}  // namespace

std::optional<SocketAddress> parse_listen_address(const std::string &text, std::string &error) {
  HostPort parsed;
  if (!parse_host_port(text, 0, parsed, error)) return std::nullopt;  // port 0: any free port
  if (parsed.host.empty()) parsed.host = "::";  // every address, IPv6 and IPv4 (dual stack)
  auto address = parse_address(parsed.host, parsed.port.value_or(kDefaultPort));
  if (!address) {
    error = "'" + text + "': '" + parsed.host +
            "' is not a numeric IPv4 or IPv6 address (or localhost); host names are not resolved";
  }
  return address;
}

// One connection as the engine sees it. Owned by the BrokerServer through the connection's
// user_data; freed in on_closed.
class BrokerServer::Link final : public broker::SessionTransport {
 public:
  explicit Link(quic::Connection &connection) : connection_(connection) {}

  std::int64_t open_uni_stream() override {
    const std::int64_t id = connection_.open_uni_stream();
    return id >= 0 ? id : -1;
  }
  void send(std::int64_t stream_id, SharedBuffer bytes, bool fin) override {
    connection_.send(stream_id, std::move(bytes), fin);
  }
  std::size_t unsent_bytes(std::int64_t stream_id) const override {
    return connection_.unsent_bytes(stream_id);
  }
  void reset_stream(std::int64_t stream_id, std::uint64_t code) override {
    connection_.reset_stream(stream_id, code);
  }
  void close(std::uint64_t code, std::string_view reason) override {
    // flush: the ERROR frame the engine just queued explains the close; let it arrive.
    connection_.close(code, reason, quic::CloseMode::flush);
  }

  broker::Session *session = nullptr;

 private:
  quic::Connection &connection_;
};

BrokerServer::BrokerServer(EventLoop &loop, BrokerServerConfig config)
    : loop_(loop), config_(std::move(config)), engine_(config_.engine) {}

BrokerServer::~BrokerServer() {
  if (engine_timer_.valid()) loop_.remove_timer(engine_timer_);
  if (shutdown_timer_.valid()) loop_.remove_timer(shutdown_timer_);
  if (memory_timer_.valid()) loop_.remove_timer(memory_timer_);
  // The endpoint goes first: it drops connections without callbacks, then the links are freed.
  endpoint_.reset();
  for (Link *link : links_) {
    if (link->session != nullptr) engine_.close_session(link->session);
    delete link;
  }
}

std::error_code BrokerServer::open(std::string &message) {
  std::string error;
  const storage::DataDir dir(config_.data_dir);
  if (config_.certificate_file.empty() != config_.key_file.empty()) {
    message = "give both a certificate file and a key file, or neither (for a self-signed one)";
    return std::make_error_code(std::errc::invalid_argument);
  }
  if (config_.certificate_file.empty()) {
    credentials_ = tls::ServerCredentials::load_or_create_self_signed(
        dir.path(), error,
        config_.regenerate_certificate ? tls::SelfSignedPolicy::regenerate
                                       : tls::SelfSignedPolicy::keep);
  } else {
    credentials_ =
        tls::ServerCredentials::load_files(config_.certificate_file, config_.key_file, error);
  }
  if (!credentials_) {
    message = error;
    return std::make_error_code(std::errc::invalid_argument);
  }

  auto bind = parse_listen_address(config_.listen, error);
  if (!bind) {
    message = "cannot listen on " + error;
    return std::make_error_code(std::errc::invalid_argument);
  }
  quic::EndpointConfig quic_config = quic::EndpointConfig::server(credentials_);
  quic_config.bind_address = *bind;
  quic_config.max_connections = config_.transport_max_connections != 0
                                    ? config_.transport_max_connections
                                    : config_.engine.max_connections + 64;
  quic_config.retry_threshold = config_.retry_threshold;
  quic_config.address_limits = config_.address_limits;
  quic_config.static_secret = storage::load_or_create_transport_secret(dir, error);
  if (!quic_config.static_secret) {
    message = error;
    return std::make_error_code(std::errc::io_error);
  }
  endpoint_ = std::make_unique<quic::Endpoint>(loop_, quic_config, *this);
  std::error_code ec = endpoint_->open(&message);
  if (ec && is_ipv6_any(*bind) && is_no_ipv6(ec)) {
    // [::] asked for every address; without IPv6, every IPv4 address is the closest there is.
    const std::string why = ec.message();
    quic_config.bind_address = parse_address("0.0.0.0", bind->port()).value_or(SocketAddress{});
    endpoint_ = std::make_unique<quic::Endpoint>(loop_, quic_config, *this);
    ec = endpoint_->open(&message);
    if (!ec) {
      listen_note_ = "IPv4 only: this machine has no IPv6 (" + why + ")";
      FLUME_LOG(log::Level::warn, "broker", "cannot listen on %s (%s): listening on %s instead",
                bind->to_string().c_str(), why.c_str(),
                endpoint_->local_address().to_string().c_str());
    }
  } else if (!ec) {
    listen_note_ = is_ipv6_any(*bind)           ? "IPv4 and IPv6"
                   : bind->family() == AF_INET6 ? "IPv6"
                                                : "IPv4";
  }
  if (ec) {
    endpoint_.reset();
    return ec;
  }
  engine_timer_ = loop_.add_timer([this] {
    engine_.on_timer(EventLoop::now_ns());
    arm_engine_timer();
  });
  memory_timer_ = loop_.add_timer([this] {
    check_memory();
    loop_.arm_after(memory_timer_, std::chrono::seconds(1));
  });
  loop_.arm_after(memory_timer_, std::chrono::seconds(1));
  return {};
}

const SocketAddress &BrokerServer::local_address() const noexcept {
  return endpoint_->local_address();
}

quic::EndpointStats BrokerServer::transport_stats() const {
  return endpoint_ ? endpoint_->stats() : quic::EndpointStats{};
}

std::size_t BrokerServer::connection_count() const noexcept {
  return endpoint_ ? endpoint_->connection_count() : 0;
}

void BrokerServer::arm_engine_timer() {
  if (!engine_timer_.valid()) return;
  const auto next = engine_.next_timer();
  loop_.arm_at(engine_timer_, next ? *next : EventLoop::kNoDeadline);
}

void BrokerServer::check_memory() {
  const std::size_t now = engine_.memory_queued_bytes();
  const std::size_t peak = engine_.take_memory_recent_peak();
  if (!memory_releaser_.tick(peak, now)) return;
  const bool released = release_free_memory();
  ++memory_releases_;
  FLUME_LOG(log::Level::debug, "broker",
            "queues shrank to %zu bytes (peak %zu): gave freed memory back to the system%s", now,
            peak, released ? "" : " (nothing to give)");
}

broker::Session *BrokerServer::session_of(quic::Connection &connection) noexcept {
  auto *link = static_cast<Link *>(connection.user_data);
  return link != nullptr ? link->session : nullptr;
}

void BrokerServer::on_connected(quic::Connection &connection) {
  FLUME_LOG(log::Level::debug, "broker", "connection from %s accepted",
            connection.peer_address().to_string().c_str());
  auto link = std::make_unique<Link>(connection);
  connection.user_data = link.get();
  link->session =
      engine_.open_session(*link, EventLoop::now_ns(), connection.peer_address().to_string());
  if (link->session == nullptr) {
    connection.user_data = nullptr;
    connection.close(static_cast<std::uint64_t>(ErrorCode::internal_error), "out of memory",
                     quic::CloseMode::immediate);
    return;
  }
  links_.insert(link.release());  // freed in on_closed (or the destructor)
  arm_engine_timer();
}

void BrokerServer::on_stream_data(quic::Connection &connection, std::int64_t stream_id,
                                  std::span<const std::uint8_t> data, bool fin) {
  broker::Session *session = session_of(connection);
  if (session == nullptr) return;
  engine_.on_stream_data(session, stream_id, data, fin);
  // The engine decodes and routes synchronously: nothing is left to hold, so the publisher's
  // stream credit comes back at once. Slow subscribers are handled by their own queues.
  connection.consume(stream_id, data.size());
  arm_engine_timer();
}

void BrokerServer::on_stream_reset(quic::Connection &connection, std::int64_t stream_id,
                                   std::uint64_t app_error_code) {
  // Told apart from on_stream_closed because a FIN and a reset with code 0 close a stream alike,
  // and the control stream's close never comes while the broker's own half stays open.
  if (broker::Session *session = session_of(connection)) {
    engine_.on_stream_reset(session, stream_id, app_error_code);
  }
  arm_engine_timer();
}

void BrokerServer::on_stream_stopped(quic::Connection &connection, std::int64_t stream_id) {
  // ngtcp2 has already answered the STOP_SENDING with RESET_STREAM carrying the client's code
  // and does not tell us that code; the engine's own reset of the stream changes nothing then.
  if (broker::Session *session = session_of(connection)) {
    engine_.on_stream_stopped(session, stream_id, 0);
  }
  arm_engine_timer();
}

void BrokerServer::on_stream_closed(quic::Connection &connection, std::int64_t stream_id,
                                    std::uint64_t app_error_code) {
  if (broker::Session *session = session_of(connection)) {
    engine_.on_stream_closed(session, stream_id, app_error_code);
  }
}

void BrokerServer::on_stream_writable(quic::Connection &connection, std::int64_t stream_id) {
  if (broker::Session *session = session_of(connection)) {
    engine_.on_stream_writable(session, stream_id);
  }
}

void BrokerServer::on_streams_available(quic::Connection &connection) {
  if (broker::Session *session = session_of(connection)) engine_.on_streams_available(session);
}

void BrokerServer::on_closed(quic::Connection &connection, const quic::CloseInfo &info) {
  // Debug: one line per client that comes and goes. What the broker itself held against a
  // client (refusals, protocol errors, slow consumers) is logged at info by the engine.
  FLUME_LOG(log::Level::debug, "broker", "connection from %s closed: %s",
            connection.peer_address().to_string().c_str(), info.message.c_str());
  auto *link = static_cast<Link *>(connection.user_data);
  connection.user_data = nullptr;
  if (link != nullptr) {
    if (link->session != nullptr) engine_.close_session(link->session);
    links_.erase(link);
    delete link;
  }
  arm_engine_timer();
  check_shutdown_done();
}

void BrokerServer::shutdown(std::function<void()> done) {
  shutdown_done_ = std::move(done);
  if (!shutting_down_) {
    shutting_down_ = true;
    engine_.begin_shutdown();
    shutdown_timer_ = loop_.add_timer([this] {
      // Whoever has not gone by now is closed without waiting further.
      if (endpoint_) {
        endpoint_->close_all(static_cast<std::uint64_t>(ErrorCode::shutting_down),
                             "broker shutting down", quic::CloseMode::immediate);
      }
    });
    loop_.arm_after(shutdown_timer_, config_.shutdown_grace);
    // Clients still in their handshake have no session to say goodbye to: close them now
    // rather than wait the grace period for a client that may be gone.
    if (endpoint_) {
      endpoint_->close_handshaking(static_cast<std::uint64_t>(ErrorCode::shutting_down),
                                   "broker shutting down");
    }
  }
  check_shutdown_done();
}

void BrokerServer::check_shutdown_done() {
  if (!shutting_down_ || !shutdown_done_ || connection_count() != 0) return;
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  loop_.post(std::move(done));
}

}  // namespace flume
