#include "runtime/client_connection.hpp"

#include <algorithm>
#include <random>

#include "flume/version.hpp"
#include "log/log.hpp"
#include "quic/connection.hpp"
#include "runtime/descriptor_shortage.hpp"

namespace flume {
namespace {

ClientResult failed(ClientStatus status, std::string message) {
  return ClientResult{status, std::move(message)};
}

// How a closed connection reads to the application.
ClientResult describe_close(const quic::CloseInfo &info) {
  using quic::CloseReason;
  switch (info.reason) {
    case CloseReason::unreachable:
    case CloseReason::refused:
    case CloseReason::handshake_timeout:
    case CloseReason::version_mismatch:
      return failed(ClientStatus::unreachable, info.message);
    case CloseReason::certificate_rejected:
    case CloseReason::tls_failure:
      return failed(ClientStatus::tls, info.message);
    case CloseReason::alpn_mismatch:
      return failed(ClientStatus::alpn, info.message);
    case CloseReason::idle_timeout:
    case CloseReason::stateless_reset:
    case CloseReason::transport_error:
    case CloseReason::local_error:
      return failed(ClientStatus::not_connected, info.message);
    case CloseReason::application:
      return failed(info.by_peer ? ClientStatus::rejected : ClientStatus::closed, info.message);
  }
  return failed(ClientStatus::not_connected, info.message);
}

// Several brokers in the list: their addresses race (ClientConnection's constructor).
bool names_several_brokers(const std::vector<BrokerAddress> &servers) {
  return std::any_of(servers.begin(), servers.end(),
                     [&](const BrokerAddress &each) { return each.broker != servers[0].broker; });
}

// Of two reasons a race's connections failed, the one that says more: a certificate, ALPN or a
// refusal by the broker is a configuration to fix; unreachable only says nobody answered.
bool more_telling(const ClientResult &candidate, const ClientResult &current) {
  const auto rank = [](ClientStatus status) {
    return status == ClientStatus::unreachable ? 0 : status == ClientStatus::not_connected ? 1 : 2;
  };
  return rank(candidate.status) > rank(current.status);
}

}  // namespace

ClientConnection::ClientConnection(const ClientConfig &config, std::vector<BrokerAddress> servers,
                                   std::shared_ptr<const tls::ClientTrust> trust, Parts parts)
    : config_(config),
      servers_(std::move(servers)),
      race_(names_several_brokers(servers_)),
      trust_(std::move(trust)),
      requests_(parts.requests),
      flushes_(parts.flushes),
      subscriptions_(parts.subscriptions),
      counters_(parts.counters),
      thread_("flume-client"),
      events_(*this, parts.subscriptions, parts.flushes, parts.counters),
      runner_(parts.subscriptions, parts.flushes, parts.counters, link_) {}

ClientConnection::~ClientConnection() {
  close();
}

ClientResult ClientConnection::start() {
  quic::EndpointConfig quic_config = quic::EndpointConfig::client(trust_);
  quic_config.handshake_timeout = config_.connect_timeout;
  // An idle subscriber learns that its broker crashed only when it next sends (ClientConfig).
  quic_config.keep_alive = config_.keep_alive;
  // The endpoint is made and used on the loop thread only; it is created here, before the
  // thread runs, when this thread still counts as the loop's.
  endpoint_ = std::make_unique<quic::Endpoint>(thread_.loop(), quic_config, *this);
  std::string message;
  if (endpoint_->open(&message)) return failed(ClientStatus::invalid_argument, message);
  reconnect_timer_ = thread_.loop().add_timer([this] { begin_connect(); });
  attempt_timer_ = thread_.loop().add_timer([this] { on_attempt_timeout(); });
  next_address_timer_ = thread_.loop().add_timer([this] {
    if (link_.connection() == nullptr && endpoint_) connect_current();
  });
  thread_.start();
  thread_.loop().post([this] { begin_connect(); });

  std::unique_lock lock(mutex_);
  // The transport's handshake timeout bounds this; the extra second covers HELLO and OK.
  const auto deadline =
      std::chrono::steady_clock::now() + config_.connect_timeout + std::chrono::seconds(1);
  changed_.wait_until(lock, deadline, [this] { return state_ != State::connecting; });
  if (state_ == State::ready) return {};
  ClientResult result =
      state_ == State::connecting
          ? failed(ClientStatus::timeout, "no answer from the broker within the connect timeout")
          : failure_;
  lock.unlock();
  close();
  return result;
}

bool ClientConnection::closed() const {
  std::lock_guard lock(mutex_);
  return state_ == State::closed;
}

void ClientConnection::close() {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::closed && !thread_.running()) return;
    if (state_ != State::closed) {
      state_ = State::closed;
      if (failure_.ok()) failure_ = failed(ClientStatus::closed, "the client was closed");
    }
  }
  FLUME_LOG(log::Level::debug, "client", "closing the client of %s", server().to_string().c_str());
  changed_.notify_all();
  requests_.close();
  flushes_.close();
  if (thread_.running() && !thread_.loop().is_loop_thread()) {
    thread_.loop().post([this] {
      if (link_.connection() != nullptr && session_ && session_->ready()) {
        (void)session_->close();  // FIN on the control stream: a clean goodbye
        link_.connection()->close(static_cast<std::uint64_t>(ErrorCode::no_error), "client closed",
                                  quic::CloseMode::flush);
        // Bounded: the broker may be gone.
        close_timer_ = thread_.loop().add_timer([this] { thread_.loop().stop(); });
        thread_.loop().arm_after(close_timer_, std::chrono::milliseconds(500));
      } else {
        thread_.loop().stop();
      }
    });
    thread_.join();
    // Tasks posted after the loop stopped would keep the client alive (they hold a reference):
    // run them now, on this thread, which is the loop's thread from here on.
    thread_.loop().run_once(std::chrono::milliseconds(0));
  }
  // The loop no longer runs: its objects may be torn down from this thread.
  session_.reset();
  endpoint_.reset();
  link_.attach(nullptr);
  subscriptions_.end_all(ClientStatus::closed, "the client was closed");
  changed_.notify_all();
}

// --- connecting (loop thread) ---

void ClientConnection::begin_connect() {
  if (link_.connection() != nullptr || !racers_.empty() || !endpoint_) return;
  address_index_ = 0;
  attempt_deadline_ = std::chrono::steady_clock::now() + config_.connect_timeout;
  if (race_) {
    connect_race();
  } else {
    connect_current();
  }
}

void ClientConnection::connect_race() {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::closed) return;
  }
  handshake_done_ = false;
  race_failure_.reset();
  std::optional<ClientResult> start_failure;
  for (std::size_t index = 0; index < servers_.size(); ++index) {
    std::string error;
    int socket_error = 0;
    quic::Connection *connection = endpoint_->connect(
        servers_[index].address, servers_[index].server_name, &error, &socket_error);
    if (connection != nullptr) {
      racers_.emplace_back(connection, index);
      continue;
    }
    FLUME_LOG(log::Level::debug, "client", "cannot connect to %s: %s",
              servers_[index].address.to_string().c_str(), error.c_str());
    if (is_out_of_descriptors(socket_error)) {
      start_failure = failed(ClientStatus::os_error,
                             describe_creation_failure("the client's UDP socket", socket_error));
    } else if (!start_failure) {
      start_failure = failed(ClientStatus::unreachable, error);
    }
  }
  if (racers_.empty()) {
    attempt_could_not_start(start_failure ? *start_failure
                                          : failed(ClientStatus::unreachable, "no address"));
    return;
  }
  if (start_failure) race_failure_ = start_failure;
  attempt_share_ = config_.connect_timeout;
  thread_.loop().arm_after(attempt_timer_, config_.connect_timeout);
}

void ClientConnection::adopt_racer(quic::Connection &connection) {
  const auto winner = std::find_if(racers_.begin(), racers_.end(),
                                   [&](const auto &racer) { return racer.first == &connection; });
  if (winner == racers_.end()) return;
  address_index_ = winner->second;
  std::vector<std::pair<quic::Connection *, std::size_t>> losers;
  losers.swap(racers_);
  race_failure_.reset();
  link_.attach(&connection);
  FLUME_LOG(log::Level::debug, "client", "%s answered first of %zu addresses",
            server().to_string().c_str(), losers.size());
  for (const auto &[racer, index] : losers) {
    if (racer != &connection) {
      racer->close(static_cast<std::uint64_t>(ErrorCode::no_error), "another broker answered first",
                   quic::CloseMode::immediate);
    }
  }
}

void ClientConnection::on_racer_closed(quic::Connection &connection, const quic::CloseInfo &info) {
  const auto racer = std::find_if(racers_.begin(), racers_.end(),
                                  [&](const auto &each) { return each.first == &connection; });
  if (racer == racers_.end()) return;  // a loser closed after the race was won
  const ClientResult why = address_failure_ ? *address_failure_ : describe_close(info);
  FLUME_LOG(log::Level::debug, "client", "connecting to %s failed: %s",
            servers_[racer->second].address.to_string().c_str(), why.message.c_str());
  racers_.erase(racer);
  if (!race_failure_ || more_telling(why, *race_failure_)) race_failure_ = why;
  if (!racers_.empty()) return;
  // Every address failed: the attempt failed, as a single address's would have.
  address_failure_.reset();
  thread_.loop().arm_at(attempt_timer_, EventLoop::kNoDeadline);
  ClientResult reason = *race_failure_;
  race_failure_.reset();
  if (servers_.size() > 1 && reason.status == ClientStatus::unreachable) {
    reason.message = "none of the " + std::to_string(servers_.size()) +
                     " broker addresses answered; the last: " + reason.message;
  }
  connection_ended(std::move(reason));
}

void ClientConnection::connect_current() {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::closed) return;
  }
  handshake_done_ = false;
  std::string error;
  int socket_error = 0;
  quic::Connection *connection =
      endpoint_->connect(server(), servers_[address_index_].server_name, &error, &socket_error);
  const bool no_descriptor = is_out_of_descriptors(socket_error);  // our shortage, not the broker
  if (no_descriptor) error = describe_creation_failure("the client's UDP socket", socket_error);
  link_.attach(connection);
  if (connection != nullptr) {
    // This address's share: what is left of connect_timeout over the addresses still to try.
    // The last one has all that is left (the transport's handshake timeout bounds it too).
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        attempt_deadline_ - std::chrono::steady_clock::now());
    const auto share = std::max(std::chrono::milliseconds(1),
                                left / static_cast<long>(servers_.size() - address_index_));
    attempt_share_ = share;
    thread_.loop().arm_after(attempt_timer_, share);
    return;
  }
  // Cannot even start (say, an IPv6 address on a machine without IPv6): on to the next.
  FLUME_LOG(log::Level::debug, "client", "cannot connect to %s: %s", server().to_string().c_str(),
            error.c_str());
  if (try_next_address()) return;
  attempt_could_not_start(
      failed(no_descriptor ? ClientStatus::os_error : ClientStatus::unreachable, error));
}

void ClientConnection::attempt_could_not_start(ClientResult why) {
  bool closed_now = false;
  bool reconnect = false;
  {
    std::lock_guard lock(mutex_);
    failure_ = std::move(why);
    if (state_ == State::connecting) {
      state_ = State::closed;
      closed_now = true;
    } else if (state_ == State::reconnecting) {
      reconnect = true;
    }
  }
  if (closed_now) {
    changed_.notify_all();
    requests_.close();
    flushes_.close();
  }
  if (reconnect) schedule_reconnect();
}

bool ClientConnection::try_next_address() {
  if (address_index_ + 1 >= servers_.size()) return false;
  ++address_index_;
  // From the loop, not from inside the endpoint's callback that reported the failure.
  thread_.loop().arm_after(next_address_timer_, std::chrono::nanoseconds(0));
  return true;
}

void ClientConnection::on_attempt_timeout() {
  if (!racers_.empty()) {
    // Nobody completed a handshake in time: close them all; the last one's on_closed ends the
    // attempt with the most telling failure seen.
    address_failure_ = failed(ClientStatus::unreachable,
                              "no handshake with any of " + std::to_string(servers_.size()) +
                                  " broker addresses within " +
                                  std::to_string(config_.connect_timeout.count()) + " ms");
    const auto racers = racers_;
    for (const auto &[racer, index] : racers) {
      racer->close(static_cast<std::uint64_t>(ErrorCode::no_error), "no answer",
                   quic::CloseMode::immediate);
    }
    return;
  }
  quic::Connection *connection = link_.connection();
  if (connection == nullptr || handshake_done_) return;
  // Silent so far: give the next address its turn (the last one fails as a handshake timeout
  // would). on_closed carries on from here.
  address_failure_ =
      failed(ClientStatus::unreachable, "no handshake with " + server().to_string() + " within " +
                                            std::to_string(attempt_share_.count()) + " ms");
  connection->close(static_cast<std::uint64_t>(ErrorCode::no_error), "no answer",
                    quic::CloseMode::immediate);
}

void ClientConnection::on_connected(quic::Connection &connection) {
  if (!racers_.empty()) adopt_racer(connection);
  if (!is_current(connection)) return;
  if (trust_->mode() == tls::ClientTrust::Mode::insecure) {
    FLUME_LOG(log::Level::warn, "client",
              "connected to %s WITHOUT verifying its certificate (insecure mode): anyone on the "
              "path can read and change this traffic. Trust this broker by its fingerprint "
              "instead (pin_sha256, flume --pin): %s",
              server().to_string().c_str(), connection.peer_certificate_fingerprint().c_str());
  }
  link_.attach(&connection);
  handshake_done_ = true;
  thread_.loop().arm_at(attempt_timer_, EventLoop::kNoDeadline);
  ready_once_ = false;
  session_failure_.reset();
  client_engine::SessionConfig session_config;
  session_config.client_name = config_.client_name;
  session_config.client_library = "flume-c/" + std::string(kVersion);
  session_config.token = config_.token;
  session_ = std::make_unique<client_engine::Session>(std::move(session_config), link_, events_);
  if (client_engine::Result result = session_->start(); !result) {
    session_failure_ = failed(ClientStatus::invalid_argument, result.message());
    connection.close(static_cast<std::uint64_t>(ErrorCode::no_error), "client configuration",
                     quic::CloseMode::immediate);
  }
}

void ClientConnection::on_session_ready(const client_engine::ServerInfo &server) {
  max_payload_.store(server.max_payload);
  ready_once_ = true;
  backoff_ = std::chrono::milliseconds(0);
  std::optional<std::chrono::milliseconds> disconnected;
  if (lost_at_) {
    disconnected = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - *lost_at_);
    lost_at_.reset();
  }
  runner_.resubscribe(*session_, disconnected);
  requests_.set_open(true);  // before start() can return: its caller may publish at once
  bool reconnected = false;
  {
    std::lock_guard lock(mutex_);
    reconnected = state_ == State::reconnecting;
    if (state_ == State::reconnecting) ClientCounters::add(counters_.reconnects);
    if (state_ != State::closed) state_ = State::ready;
    counters_.connected = true;
  }
  changed_.notify_all();
  // Never with mutex_ held: a handler may wait for a thread (a binding's GIL) that waits for it.
  FLUME_LOG(log::Level::info, "client", "%s %s (%s)",
            reconnected ? "reconnected to" : "connected to", this->server().to_string().c_str(),
            server.server_name.c_str());
  run_requests();
}

void ClientConnection::on_session_failed(ErrorCode code, std::string_view message) {
  const std::string text = std::string(error_code_name(static_cast<std::uint16_t>(code))) +
                           (message.empty() ? "" : ": " + std::string(message));
  const bool refused_hello = !ready_once_;
  session_failure_ =
      failed(refused_hello ? ClientStatus::rejected : ClientStatus::protocol,
             (refused_hello ? "the broker refused the connection: " : "session failed: ") + text);
}

void ClientConnection::on_closed(quic::Connection &connection, const quic::CloseInfo &info) {
  if (!is_current(connection)) {
    on_racer_closed(connection, info);
    return;
  }
  if (session_) {
    const bool failed_before = session_failure_.has_value();
    session_->on_connection_closed(info.error_code, info.message);
    // The session reads the close as an application code; when the transport ended it (port
    // closed, idle timeout, reset) that code means nothing ("NO_ERROR"), and the transport's own
    // account (describe_close) is the one to report.
    if (!failed_before && info.reason != quic::CloseReason::application) session_failure_.reset();
    session_.reset();
  }
  link_.attach(nullptr);
  subscriptions_.credit().clear();
  requests_.set_open(false);  // publishes fail at once until the next session is ready
  ClientResult why = session_failure_   ? *session_failure_
                     : address_failure_ ? *address_failure_
                                        : describe_close(info);
  session_failure_.reset();
  address_failure_.reset();
  thread_.loop().arm_at(attempt_timer_, EventLoop::kNoDeadline);
  if (!handshake_done_ && why.status == ClientStatus::unreachable) {
    bool attempting = false;
    {
      std::lock_guard lock(mutex_);
      attempting = state_ == State::connecting || state_ == State::reconnecting;
    }
    FLUME_LOG(log::Level::debug, "client", "connecting to %s failed: %s",
              server().to_string().c_str(), why.message.c_str());
    if (attempting && !race_ && try_next_address()) return;
  }
  connection_ended(std::move(why));
}

void ClientConnection::connection_ended(ClientResult why) {
  flushes_.fail_all(failed(ClientStatus::not_connected, "the connection was lost: " + why.message));

  bool reconnect = false;
  bool closed = false;
  bool was_ready = false;  // a working connection was lost (else an attempt failed)
  bool connect_failed = false;
  bool lost_for_good = false;
  std::string reason;
  {
    std::lock_guard lock(mutex_);
    was_ready = state_ == State::ready;
    counters_.connected = false;
    if (state_ == State::closed) {
      // close() is waiting for this.
    } else if (state_ == State::connecting) {
      failure_ = why;
      state_ = State::closed;  // start() reports it and closes
      connect_failed = true;
    } else if (config_.reconnect) {
      state_ = State::reconnecting;
      reconnect = true;
      // A working connection was lost: the subscriptions report how long they were without it
      // once they are made again (a failed reconnect attempt keeps the first loss's time).
      if (was_ready && !lost_at_) lost_at_ = std::chrono::steady_clock::now();
    } else {
      failure_ = failed(ClientStatus::closed, "connection lost: " + why.message);
      state_ = State::closed;
      lost_for_good = true;
    }
    closed = state_ == State::closed;
    reason = failure_.ok() ? why.message : failure_.message;
  }
  // The log, outside mutex_ (see on_session_ready).
  if (connect_failed) {
    FLUME_LOG(log::Level::debug, "client", "connecting to %s failed: %s",
              server().to_string().c_str(), why.message.c_str());
  } else if (lost_for_good) {
    FLUME_LOG(log::Level::warn, "client", "connection to %s lost: %s (not reconnecting)",
              server().to_string().c_str(), why.message.c_str());
  }
  changed_.notify_all();
  if (closed) {
    requests_.close();
    flushes_.close();
  }
  if (closed && thread_.loop().is_loop_thread()) {
    // Nothing will reconnect: end the subscriptions now (close() does it too, harmlessly), with
    // the client's own reason when the application closed it.
    subscriptions_.end_all(ClientStatus::closed, reason);
    thread_.loop().stop();
  }
  if (reconnect) {
    const long long delay_ms = schedule_reconnect().count();
    // A lost connection is worth a warning; each failed attempt after it only an info line.
    if (was_ready) {
      FLUME_LOG(log::Level::warn, "client", "connection to %s lost: %s; reconnecting in %lld ms",
                server().to_string().c_str(), why.message.c_str(), delay_ms);
    } else {
      FLUME_LOG(log::Level::info, "client",
                "reconnecting to %s failed: %s; next attempt in %lld ms",
                server().to_string().c_str(), why.message.c_str(), delay_ms);
    }
  }
}

std::chrono::milliseconds ClientConnection::schedule_reconnect() {
  // Exponential back-off with jitter, so a restarted broker is not hit by every client at once.
  backoff_ =
      backoff_.count() == 0 ? config_.reconnect_min : std::min(backoff_ * 2, config_.reconnect_max);
  thread_local std::minstd_rand random{std::random_device{}()};
  const auto jitter = std::chrono::milliseconds(random() % (backoff_.count() / 2 + 1));
  const std::chrono::milliseconds delay = backoff_ / 2 + jitter;
  thread_.loop().arm_after(reconnect_timer_, delay);
  return delay;
}

// --- data from the broker (loop thread) ---

void ClientConnection::on_stream_data(quic::Connection &connection, std::int64_t stream_id,
                                      std::span<const std::uint8_t> data, bool fin) {
  if (!is_current(connection) || !session_) return;
  events_.set_delivering_stream(stream_id);
  session_->on_stream_data(stream_id, data, fin);
  events_.set_delivering_stream(-1);
  if (link_.connection() == nullptr) return;
  // Back-pressure: while the stream's subscription has a full local queue, its stream credit
  // is held back, so the broker's queue (and its overflow policy) takes the excess.
  const std::size_t consumed = subscriptions_.credit().received(stream_id, data.size());
  if (consumed != 0) connection.consume(stream_id, consumed);
}

void ClientConnection::on_stream_closed(quic::Connection &connection, std::int64_t stream_id,
                                        std::uint64_t app_error_code) {
  if (!is_current(connection) || !session_) return;
  subscriptions_.credit().stream_closed(stream_id);
  session_->on_stream_closed(stream_id, app_error_code);
}

void ClientConnection::on_stream_writable(quic::Connection &connection, std::int64_t stream_id) {
  if (is_current(connection) && stream_id == kControlStreamId) {
    requests_.set_unsent(link_.unsent_control_bytes());
  }
}

// --- the application's requests (loop thread) ---

void ClientConnection::run_requests() {
  std::vector<ClientRequest> requests = requests_.take();
  client_engine::Session *ready = session_ && session_->ready() ? session_.get() : nullptr;
  runner_.run(requests, ready);
  requests_.set_unsent(link_.unsent_control_bytes());
}

}  // namespace flume
