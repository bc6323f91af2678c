// Endpoint: lifetime, client connects, and the bookkeeping that runs at the end of every loop
// callback (write passes, one flush, handler events, reaping dead connections).
#include "quic/endpoint.hpp"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "log/log.hpp"
#include "quic/quic_socket.hpp"

namespace flume::quic {

namespace {

// Two independent keys from one configured secret, so a Retry token can never be mistaken for
// a reset token's input and vice versa.
void derive(const std::array<std::uint8_t, 32> &base, std::string_view label,
            std::array<std::uint8_t, 32> &out) {
  gnutls_hmac_fast(GNUTLS_MAC_SHA256, base.data(), base.size(), label.data(), label.size(),
                   out.data());
}

std::string ip_text(const SocketAddress &address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in &>(address.storage).sin_addr, text,
              sizeof text);
  } else if (address.family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6 &>(address.storage).sin6_addr, text,
              sizeof text);
  }
  return text;
}

bool is_unreachable_error(int error) {
  return error == ECONNREFUSED || error == EHOSTUNREACH || error == ENETUNREACH ||
         error == EHOSTDOWN;
}

void add(UdpSocketCounters &into, const UdpSocketCounters &more) {
  into.recv_syscalls += more.recv_syscalls;
  into.send_syscalls += more.send_syscalls;
  into.gso_sends += more.gso_sends;
}

}  // namespace

Endpoint::Endpoint(EventLoop &loop, EndpointConfig config, ConnectionHandler &handler)
    : loop_(loop),
      config_(std::move(config)),
      handler_(handler),
      address_limits_(config_.address_limits) {
  flush_timer_ = loop_.add_timer([this] { settle(/*reap_now=*/true); });
  std::array<std::uint8_t, 32> base{};
  if (config_.static_secret) {
    base = *config_.static_secret;
  } else {
    gnutls_rnd(GNUTLS_RND_KEY, base.data(), base.size());
  }
  derive(base, "flume quic stateless reset", reset_secret_);
  derive(base, "flume quic retry token", token_secret_);
  reset_tokens_ = static_cast<double>(config_.stateless_reset_burst);
  reset_refilled_at_ = EventLoop::now_ns();
}

Endpoint::~Endpoint() {
  // Connections first: their destructors use the loop (timers, client sockets' watches).
  connections_.clear();
  cids_.clear();
  listen_socket_.reset();
  loop_.remove_timer(flush_timer_);
}

std::error_code Endpoint::open(std::string *message) {
  if (open_) return {};
  auto fail = [&](std::error_code ec, std::string text) {
    if (message != nullptr) *message = std::move(text);
    return ec;
  };
  if (std::string problem = config_.validate(); !problem.empty()) {
    return fail(std::make_error_code(std::errc::invalid_argument), problem);
  }
  if (config_.role == Role::server) {
    UdpSocket udp;
    if (auto ec = udp.bind(config_.bind_address)) {
      return fail(ec, "cannot listen on " + config_.bind_address.to_string() + ": " + ec.message());
    }
    local_address_ = udp.local_address();
    listen_socket_ = std::make_unique<QuicSocket>(loop_, std::move(udp));
    QuicSocket *socket = listen_socket_.get();
    if (auto ec = socket->start([this] { on_listen_readable(); },
                                [this, socket] { on_socket_drained(*socket); })) {
      listen_socket_.reset();
      return fail(ec, "cannot watch the listening socket: " + ec.message());
    }
  }
  open_ = true;
  return {};
}

Connection *Endpoint::connect(const SocketAddress &server, std::string_view server_name,
                              std::string *error, int *socket_error) {
  if (socket_error != nullptr) *socket_error = 0;
  auto fail = [&](std::string text) -> Connection * {
    if (error != nullptr) *error = std::move(text);
    return nullptr;
  };
  if (!open_) return fail("endpoint is not open");
  if (config_.role != Role::client) return fail("connect() needs an endpoint in the client role");
  if (server.empty()) return fail("no server address");

  // A connected socket of its own: ICMP errors (port unreachable) then reach exactly this
  // connection, as ECONNREFUSED on its next receive or send.
  UdpSocket udp;
  if (auto ec = udp.open(server.family())) {
    // Our own failure (out of descriptors, no IPv6 here…), not the server's.
    if (socket_error != nullptr) *socket_error = ec.value();
    return fail("cannot create a UDP socket for " + server.to_string() + ": " + ec.message());
  }
  if (auto ec = udp.connect(server)) {
    return fail("cannot reach " + server.to_string() + ": " + ec.message());
  }
  auto socket = std::make_unique<QuicSocket>(loop_, std::move(udp));
  QuicSocket *raw_socket = socket.get();
  std::unique_ptr<Connection> connection(new Connection(*this, Role::client));
  std::string name = server_name.empty() ? ip_text(server) : std::string(server_name);
  std::string problem;
  if (!connection->init_client(server, name, std::move(socket), EventLoop::now_ns(), problem)) {
    return fail(problem);
  }
  Connection *raw = connection.get();
  if (auto ec = raw_socket->start([this, raw] { on_client_readable(*raw); },
                                  [this, raw_socket] { on_socket_drained(*raw_socket); })) {
    return fail("cannot watch the socket: " + ec.message());
  }
  connections_.emplace(raw, std::move(connection));
  ++live_connections_;
  schedule_write(*raw);  // the first flight leaves from the loop, never from inside connect()
  return raw;
}

void Endpoint::close_all(std::uint64_t app_error, std::string_view reason, CloseMode mode) {
  for (auto &[raw, connection] : connections_)
    connection->close(app_error, reason, mode);
}

void Endpoint::close_handshaking(std::uint64_t app_error, std::string_view reason) {
  for (auto &[raw, connection] : connections_) {
    if (!connection->handshake_done_) connection->close(app_error, reason, CloseMode::immediate);
  }
}

EndpointStats Endpoint::stats() const noexcept {
  EndpointStats out = stats_;
  UdpSocketCounters counters = retired_socket_counters_;
  std::uint64_t sent = retired_socket_datagrams_;
  if (listen_socket_) {
    add(counters, listen_socket_->udp().counters());
    sent += listen_socket_->datagrams_sent();
  }
  for (const auto &[raw, connection] : connections_) {
    if (connection->own_socket_) {
      add(counters, connection->own_socket_->udp().counters());
      sent += connection->own_socket_->datagrams_sent();
    }
  }
  out.recv_syscalls = counters.recv_syscalls;
  out.send_syscalls = counters.send_syscalls;
  out.gso_sends = counters.gso_sends;
  out.datagrams_sent = sent;
  out.write_flushes = tx_.flushes();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Client receive path

void Endpoint::on_client_readable(Connection &connection) {
  QuicSocket *socket = connection.own_socket_.get();
  for (int i = 0; i < kMaxReadBatches && socket != nullptr; ++i) {
    IoResult result = socket->udp().recv_batch(rx_);
    if (result.error != 0) {
      // ICMP error queued on the connected socket (ECONNREFUSED: nobody listens there).
      if (is_unreachable_error(result.error)) connection.on_socket_error(result.error);
      break;
    }
    std::uint64_t now = EventLoop::now_ns();
    for (const ReceivedDatagram &datagram : rx_.datagrams()) {
      ++stats_.datagrams_received;
      if (datagram.truncated || datagram.size == 0) {
        ++stats_.datagrams_dropped;
        continue;
      }
      connection.on_datagram(datagram, now);
    }
    if (result.would_block || result.count < rx_.capacity()) break;
  }
  settle();
}

// ---------------------------------------------------------------------------------------------
// Services for connections

void Endpoint::on_connection_timer(Connection &connection) {
  connection.on_timer(EventLoop::now_ns());
  // The pass and the flush wait for the next loop iteration, so every connection whose timer
  // fired in this one shares a single flush.
  loop_.arm_at(flush_timer_, 0);
}

void Endpoint::schedule_write(Connection &connection) {
  if (connection.write_scheduled_ || connection.state_ == Connection::State::dead) return;
  connection.write_scheduled_ = true;
  write_queue_.push_back(&connection);
  if (!settling_) loop_.arm_at(flush_timer_, 0);
}

void Endpoint::wait_for_socket(Connection &connection) {
  if (std::find(waiting_for_socket_.begin(), waiting_for_socket_.end(), &connection) ==
      waiting_for_socket_.end()) {
    waiting_for_socket_.push_back(&connection);
  }
}

void Endpoint::on_socket_drained(QuicSocket &socket) {
  std::vector<Connection *> waiting;
  waiting.swap(waiting_for_socket_);
  for (Connection *connection : waiting) {
    if (connection->socket_ == &socket) {
      schedule_write(*connection);
    } else {
      waiting_for_socket_.push_back(connection);
    }
  }
  settle();
}

void Endpoint::queue_event(Connection &connection) {
  event_queue_.push_back(&connection);
  if (!settling_) loop_.arm_at(flush_timer_, 0);
}

void Endpoint::handshake_completed(Connection &connection) {
  if (connection.role_ == Role::server && handshakes_in_flight_ > 0) --handshakes_in_flight_;
}

void Endpoint::connection_finished(Connection &connection) {
  if (connection.role_ == Role::server && !connection.handshake_done_ &&
      handshakes_in_flight_ > 0) {
    --handshakes_in_flight_;
  }
  if (live_connections_ > 0) --live_connections_;
  release_address(connection);
  finished_queue_.push_back(&connection);
  if (!settling_) loop_.arm_at(flush_timer_, 0);
}

void Endpoint::release_address(Connection &connection) noexcept {
  if (!connection.limited_address_) return;
  address_limits_.closed(*connection.limited_address_);
  connection.limited_address_.reset();
}

void Endpoint::connection_retired(Connection &connection) {
  if (!connection.finished_) {  // ended without a report (cannot happen today; stay balanced)
    connection.finished_ = true;
    if (live_connections_ > 0) --live_connections_;
  }
  release_address(connection);
  for (const CidKey &key : connection.cids_)
    remove_cid(key);
  connection.cids_.clear();
  retired_.push_back(&connection);
  if (!settling_) loop_.arm_at(flush_timer_, 0);
}

void Endpoint::add_cid(const CidKey &key, Connection &connection) {
  cids_[key] = &connection;
}

void Endpoint::remove_cid(const CidKey &key) {
  cids_.erase(key);
}

void Endpoint::stateless_reset_token(const ngtcp2_cid &cid, std::uint8_t *token) const {
  ngtcp2_crypto_generate_stateless_reset_token(token, reset_secret_.data(), reset_secret_.size(),
                                               &cid);
}

// ---------------------------------------------------------------------------------------------
// Settling: the end of every loop callback

void Endpoint::settle(bool reap_now) {
  if (settling_) return;
  settling_ = true;
  // A few rounds, because handler callbacks may queue more writes (a reply to what arrived);
  // bounded, so a handler that always queues more cannot hold the loop.
  for (int round = 0; round < 4; ++round) {
    run_write_passes();
    tx_.flush();
    if (config_.role == Role::client) {
      for (auto &[raw, connection] : connections_) {
        if (!connection->own_socket_) continue;
        int error = connection->own_socket_->take_send_error();
        if (is_unreachable_error(error)) connection->on_socket_error(error);
      }
    }
    deliver_events();
    if (write_queue_.empty() && event_queue_.empty() && finished_queue_.empty()) break;
  }
  // Deleting a connection deletes a client's socket, whose fd callback may be the one running
  // now; so dead connections go only from the endpoint's own timer.
  if (reap_now) reap();
  settling_ = false;
  if (!write_queue_.empty() || !event_queue_.empty() || !finished_queue_.empty() ||
      !retired_.empty()) {
    loop_.arm_at(flush_timer_, 0);
  } else {
    loop_.disarm(flush_timer_);
  }
}

void Endpoint::run_write_passes() {
  if (write_queue_.empty()) return;
  std::vector<Connection *> work;
  work.swap(write_queue_);
  std::uint64_t now = EventLoop::now_ns();
  for (Connection *connection : work) {
    connection->write_scheduled_ = false;
    connection->write(now);
  }
}

void Endpoint::deliver_events() {
  if (!event_queue_.empty()) {
    std::vector<Connection *> work;
    work.swap(event_queue_);
    for (Connection *connection : work)
      connection->deliver_events();
  }
  if (!finished_queue_.empty()) {
    std::vector<Connection *> work;
    work.swap(finished_queue_);
    for (Connection *connection : work) {
      // Server connections the handler never saw (failed handshakes) end silently.
      if (connection->role_ == Role::client || connection->connected_notified_) {
        handler_.on_closed(*connection, connection->close_info_);
      } else {
        ++stats_.handshake_failures;
        log_failed_handshake(*connection);
        handler_.on_handshake_abandoned();
      }
    }
  }
}

void Endpoint::log_failed_handshake(const Connection &connection) const {
  // TLS failures (a client that does not trust us, or speaks another ALPN) are worth a warning;
  // handshakes that merely stopped (timeouts, probes, resets) happen all the time on the internet.
  const CloseInfo &info = connection.close_info_;
  const bool tls = info.reason == CloseReason::certificate_rejected ||
                   info.reason == CloseReason::alpn_mismatch ||
                   info.reason == CloseReason::tls_failure;
  const log::Level level = tls ? log::Level::warn : log::Level::debug;
  FLUME_LOG(level, "quic", "handshake with %s failed: %s", connection.peer_.to_string().c_str(),
            info.message.c_str());
}

void Endpoint::reap() {
  if (retired_.empty()) return;
  tx_.flush();  // nothing queued may point at a socket about to close
  std::vector<Connection *> keep;
  for (Connection *connection : retired_) {
    auto queued = [&](const std::vector<Connection *> &queue) {
      return std::find(queue.begin(), queue.end(), connection) != queue.end();
    };
    if (queued(finished_queue_) || queued(event_queue_)) {  // report first, delete later
      keep.push_back(connection);
      continue;
    }
    std::erase(write_queue_, connection);
    std::erase(waiting_for_socket_, connection);
    if (connection->own_socket_) {
      add(retired_socket_counters_, connection->own_socket_->udp().counters());
      retired_socket_datagrams_ += connection->own_socket_->datagrams_sent();
    }
    connections_.erase(connection);
  }
  retired_.swap(keep);
}

}  // namespace flume::quic
