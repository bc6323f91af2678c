#include "runtime/client_core.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>

#include "flume/version.hpp"
#include "quic/connection.hpp"
#include "subject/subject.hpp"

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

}  // namespace

ClientCore::ClientCore(ClientConfig config, SocketAddress server, std::string server_name,
                       std::shared_ptr<const tls::ClientTrust> trust)
    : config_(std::move(config)),
      server_(server),
      server_name_(std::move(server_name)),
      trust_(std::move(trust)),
      thread_("flume-client") {}

ClientCore::~ClientCore() {
  close();
}

ClientResult ClientCore::start() {
  quic::EndpointConfig quic_config = quic::EndpointConfig::client(trust_);
  quic_config.handshake_timeout = config_.connect_timeout;
  // An idle subscriber learns that its broker crashed only when it next sends: with a PING every
  // 5 s the restarted broker's stateless reset (or the silence) is noticed within seconds.
  quic_config.keep_alive = std::chrono::seconds(5);
  // The endpoint is made and used on the loop thread only; it is created here, before the
  // thread runs, when this thread still counts as the loop's.
  endpoint_ = std::make_unique<quic::Endpoint>(thread_.loop(), quic_config, *this);
  std::string message;
  if (endpoint_->open(&message)) return failed(ClientStatus::invalid_argument, message);
  reconnect_timer_ = thread_.loop().add_timer([this] { begin_connect(); });
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

void ClientCore::close() {
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::closed && !thread_.running()) return;
    if (state_ != State::closed) {
      state_ = State::closed;
      if (failure_.ok()) failure_ = failed(ClientStatus::closed, "the client was closed");
    }
  }
  changed_.notify_all();
  if (thread_.running() && !thread_.loop().is_loop_thread()) {
    thread_.loop().post([this] {
      if (connection_ != nullptr && session_ && session_->ready()) {
        (void)session_->close();  // FIN on the control stream: a clean goodbye
        connection_->close(static_cast<std::uint64_t>(ErrorCode::no_error), "client closed",
                           quic::CloseMode::flush);
        // Bounded: the broker may be gone.
        close_timer_ = thread_.loop().add_timer([this] { thread_.loop().stop(); });
        thread_.loop().arm_after(close_timer_, std::chrono::milliseconds(500));
      } else {
        thread_.loop().stop();
      }
    });
    thread_.join();
    // Tasks posted after the loop stopped would keep this object alive (they hold a reference):
    // run them now, on this thread, which is the loop's thread from here on.
    thread_.loop().run_once(std::chrono::milliseconds(0));
  }
  // The loop no longer runs: its objects may be torn down from this thread.
  session_.reset();
  endpoint_.reset();
  connection_ = nullptr;

  std::vector<std::shared_ptr<Subscription>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto &[id, weak] : subscriptions_) {
      if (auto subscription = weak.lock()) live.push_back(std::move(subscription));
    }
    subscriptions_.clear();
  }
  for (auto &subscription : live)
    subscription->end(ClientStatus::closed, "the client was closed");
  changed_.notify_all();
}

// --- connecting (loop thread) ---

void ClientCore::begin_connect() {
  if (connection_ != nullptr || !endpoint_) return;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::closed) return;
  }
  std::string error;
  connection_ = endpoint_->connect(server_, server_name_, &error);
  if (connection_ == nullptr) {
    std::lock_guard lock(mutex_);
    failure_ = failed(ClientStatus::unreachable, error);
    if (state_ == State::connecting) {
      state_ = State::closed;
      changed_.notify_all();
    }
  }
}

void ClientCore::on_connected(quic::Connection &connection) {
  if (&connection != connection_) return;
  if (trust_->mode() == tls::ClientTrust::Mode::insecure) {
    std::fprintf(stderr,
                 "flume: WARNING: connected to %s WITHOUT verifying its certificate (insecure "
                 "mode): anyone on the path can read and change this traffic. Trust this broker "
                 "with --pin %s instead.\n",
                 server_.to_string().c_str(), connection.peer_certificate_fingerprint().c_str());
  }
  control_open_ = false;
  ready_once_ = false;
  session_failure_.reset();
  client_engine::SessionConfig session_config;
  session_config.client_name = config_.client_name;
  session_config.client_library = "flume-c/" + std::string(kVersion);
  session_config.token = config_.token;
  session_ = std::make_unique<client_engine::Session>(std::move(session_config), *this, *this);
  if (client_engine::Result result = session_->start(); !result) {
    session_failure_ = failed(ClientStatus::invalid_argument, result.message());
    connection.close(static_cast<std::uint64_t>(ErrorCode::no_error), "client configuration",
                     quic::CloseMode::immediate);
  }
}

void ClientCore::on_ready(const client_engine::ServerInfo &server) {
  max_payload_.store(server.max_payload);
  ready_once_ = true;
  backoff_ = std::chrono::milliseconds(0);
  resubscribe_all();
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::reconnecting) ++stats_.reconnects;
    if (state_ != State::closed) state_ = State::ready;
    stats_.connected = true;
  }
  changed_.notify_all();
  run_ops();
}

void ClientCore::resubscribe_all() {
  std::vector<std::shared_ptr<Subscription>> live;
  {
    std::lock_guard lock(mutex_);
    for (auto &[id, weak] : subscriptions_) {
      if (auto subscription = weak.lock()) live.push_back(std::move(subscription));
    }
  }
  for (auto &subscription : live) {
    if (subscription->ended()) continue;
    client_engine::Result result =
        session_->subscribe(subscription->id(), subscription->pattern(),
                            subscription->options_.overflow, subscription->options_.queue_limit);
    if (!result) refuse_locally(subscription->id(), result.message());
  }
}

void ClientCore::on_closed(quic::Connection &connection, const quic::CloseInfo &info) {
  if (&connection != connection_) return;
  if (session_) {
    session_->on_connection_closed(info.error_code, info.message);
    session_.reset();
  }
  connection_ = nullptr;
  stream_of_.clear();
  owed_credit_.clear();
  ClientResult why = session_failure_ ? *session_failure_ : describe_close(info);
  session_failure_.reset();
  finish_flushes(ClientStatus::not_connected, "the connection was lost: " + why.message);

  bool reconnect = false;
  {
    std::lock_guard lock(mutex_);
    stats_.connected = false;
    unsent_bytes_ = 0;  // gone with the connection
    if (state_ == State::closed) {
      // close() is waiting for this.
    } else if (state_ == State::connecting) {
      failure_ = why;
      state_ = State::closed;  // start() reports it and closes
    } else if (config_.reconnect) {
      state_ = State::reconnecting;
      reconnect = true;
    } else {
      failure_ = failed(ClientStatus::closed, "connection lost: " + why.message);
      state_ = State::closed;
    }
  }
  changed_.notify_all();
  bool closed = false;
  {
    std::lock_guard lock(mutex_);
    closed = state_ == State::closed;
  }
  if (closed && thread_.loop().is_loop_thread()) {
    // Nothing will reconnect: end the subscriptions now (close() does it too, harmlessly), with
    // the client's own reason when the application closed it.
    std::vector<std::uint32_t> ids;
    std::string reason;
    {
      std::lock_guard lock(mutex_);
      for (auto &[id, weak] : subscriptions_)
        ids.push_back(id);
      reason = failure_.ok() ? why.message : failure_.message;
    }
    for (std::uint32_t id : ids)
      end_subscription(id, ClientStatus::closed, reason);
    thread_.loop().stop();
  }
  if (reconnect) schedule_reconnect();
}

void ClientCore::schedule_reconnect() {
  // Exponential back-off with jitter, so a restarted broker is not hit by every client at once.
  backoff_ =
      backoff_.count() == 0 ? config_.reconnect_min : std::min(backoff_ * 2, config_.reconnect_max);
  thread_local std::minstd_rand random{std::random_device{}()};
  const auto jitter = std::chrono::milliseconds(random() % (backoff_.count() / 2 + 1));
  thread_.loop().arm_after(reconnect_timer_, backoff_ / 2 + jitter);
}

// --- the session's transport (loop thread) ---

void ClientCore::send(std::int64_t stream_id, SharedBuffer bytes, bool fin) {
  if (connection_ == nullptr) return;
  if (stream_id == kControlStreamId && !control_open_) {
    if (connection_->open_bidi_stream() != kControlStreamId) return;
    control_open_ = true;
  }
  connection_->send(stream_id, std::move(bytes), fin);
}

void ClientCore::stop_sending(std::int64_t stream_id, std::uint64_t code) {
  if (connection_ != nullptr) connection_->stop_sending(stream_id, code);
}

void ClientCore::close(std::uint64_t code, std::string_view reason) {
  if (connection_ != nullptr) connection_->close(code, reason, quic::CloseMode::flush);
}

// --- incoming data and the session's events (loop thread) ---

void ClientCore::on_stream_data(quic::Connection &connection, std::int64_t stream_id,
                                std::span<const std::uint8_t> data, bool fin) {
  if (&connection != connection_ || !session_) return;
  delivering_stream_ = stream_id;
  session_->on_stream_data(stream_id, data, fin);
  delivering_stream_ = -1;
  if (connection_ == nullptr) return;
  // Back-pressure: while the stream's subscription has a full local queue, its stream credit
  // is held back, so the broker's queue (and its overflow policy) takes the excess.
  auto owed = owed_credit_.find(stream_id);
  if (owed != owed_credit_.end()) {
    owed->second += data.size();
  } else {
    connection.consume(stream_id, data.size());
  }
}

void ClientCore::on_stream_closed(quic::Connection &connection, std::int64_t stream_id,
                                  std::uint64_t app_error_code) {
  if (&connection != connection_ || !session_) return;
  owed_credit_.erase(stream_id);
  session_->on_stream_closed(stream_id, app_error_code);
}

void ClientCore::on_message(const client_engine::Delivery &delivery) {
  {
    std::lock_guard lock(mutex_);
    ++stats_.messages_in;
    stats_.bytes_in += delivery.payload.size();
  }
  auto subscription = find(delivery.subscription_id);
  if (!subscription) return;
  if (delivering_stream_ >= 0) stream_of_[delivery.subscription_id] = delivering_stream_;
  subscription->deliver(MessageView{delivery.subject, delivery.payload, delivery.subscription_id});
  if (!subscription->callback_ && delivering_stream_ >= 0) {
    std::lock_guard lock(subscription->mutex_);
    if (subscription->queue_.size() >= subscription->options_.local_queue_limit) {
      owed_credit_.try_emplace(delivering_stream_, 0);
    }
  }
}

void ClientCore::return_credit(std::uint32_t id) {
  // From recv() once a full queue drained: give the held-back credit back (loop thread).
  push(Op{Op::Kind::credit, {}, 0, id});
}

void ClientCore::on_dropped(std::uint32_t subscription_id, std::uint64_t count) {
  {
    std::lock_guard lock(mutex_);
    stats_.dropped_by_broker += count;
  }
  if (auto subscription = find(subscription_id)) subscription->dropped_by_broker(count);
}

void ClientCore::on_subscribe_result(std::uint32_t subscription_id, ErrorCode code,
                                     std::string_view message,
                                     std::uint32_t effective_queue_limit) {
  if (code == ErrorCode::no_error) {
    if (auto subscription = find(subscription_id)) subscription->accepted(effective_queue_limit);
    return;
  }
  end_subscription(subscription_id, ClientStatus::closed,
                   "the broker refused the subscription: " +
                       std::string(error_code_name(static_cast<std::uint16_t>(code))) + ": " +
                       std::string(message),
                   /*refused=*/true);
}

void ClientCore::on_unsubscribed(std::uint32_t, ErrorCode, std::string_view) {}

void ClientCore::on_subscription_ended(std::uint32_t subscription_id, ErrorCode code,
                                       std::string_view message) {
  end_subscription(subscription_id, ClientStatus::closed,
                   "the broker ended the subscription: " +
                       std::string(error_code_name(static_cast<std::uint16_t>(code))) +
                       (message.empty() ? "" : ": " + std::string(message)));
}

void ClientCore::on_pong(std::uint64_t token) {
  auto it = pings_.find(token);
  if (it == pings_.end()) return;
  const std::uint64_t flush_id = it->second;
  pings_.erase(it);
  {
    std::lock_guard lock(mutex_);
    store_flush_result(flush_id, ClientResult{});
  }
  changed_.notify_all();
}

void ClientCore::on_error(ErrorCode, std::string_view) {
  std::lock_guard lock(mutex_);
  ++stats_.publish_errors;
}

void ClientCore::on_session_failed(ErrorCode code, std::string_view message) {
  const std::string text = std::string(error_code_name(static_cast<std::uint16_t>(code))) +
                           (message.empty() ? "" : ": " + std::string(message));
  const bool refused_hello = !ready_once_;
  session_failure_ =
      failed(refused_hello ? ClientStatus::rejected : ClientStatus::protocol,
             (refused_hello ? "the broker refused the connection: " : "session failed: ") + text);
}

// --- requests from the application (any thread) and their execution (loop thread) ---

void ClientCore::push(Op op) {
  bool post = false;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::closed) return;  // the loop is stopping or gone: nothing would run it
    ops_.push_back(std::move(op));
    post = !ops_posted_;
    ops_posted_ = true;
  }
  // One wake-up for a burst of requests: the loop drains them all in one go.
  if (post) thread_.loop().post([self = shared_from_this()] { self->run_ops(); });
}

void ClientCore::run_ops() {
  std::vector<Op> ops;
  {
    std::lock_guard lock(mutex_);
    ops.swap(ops_);
    ops_posted_ = false;
    // The publishes move from the queue to the connection; update_unsent() below makes it exact.
    unsent_bytes_ += queued_publish_bytes_;
    queued_publish_bytes_ = 0;
  }
  const bool ready = session_ && session_->ready();
  for (Op &op : ops) {
    switch (op.kind) {
      case Op::Kind::publish:
        if (ready) {
          const auto bytes = op.bytes.span();
          (void)session_->publish(
              std::string_view(reinterpret_cast<const char *>(bytes.data()), op.subject_length),
              bytes.subspan(op.subject_length));
        }
        break;
      case Op::Kind::subscribe:
        if (ready) {
          if (auto subscription = find(op.id)) {
            client_engine::Result result =
                session_->subscribe(op.id, subscription->pattern(), subscription->options_.overflow,
                                    subscription->options_.queue_limit);
            if (!result) refuse_locally(op.id, result.message());
          }
        }
        break;
      case Op::Kind::unsubscribe:
        if (ready) (void)session_->unsubscribe(op.id);
        stream_of_.erase(op.id);
        break;
      case Op::Kind::flush: {
        std::uint64_t token = 0;
        if (ready && session_->ping(token)) {
          pings_[token] = op.id;
        } else {
          std::lock_guard lock(mutex_);
          store_flush_result(op.id, failed(ClientStatus::not_connected,
                                           "the connection is down; nothing could be flushed"));
          changed_.notify_all();
        }
        break;
      }
      case Op::Kind::credit: {
        auto stream = stream_of_.find(op.id);
        if (stream == stream_of_.end() || connection_ == nullptr) break;
        auto owed = owed_credit_.find(stream->second);
        if (owed == owed_credit_.end()) break;
        connection_->consume(stream->second, owed->second);
        owed_credit_.erase(owed);
        break;
      }
    }
  }
  update_unsent();
}

ClientResult ClientCore::publish(std::string_view subject, std::span<const std::uint8_t> payload) {
  if (SubjectError error = validate_subject(subject); error != SubjectError::ok) {
    std::string shown(subject.substr(0, 64));
    return failed(ClientStatus::invalid_subject,
                  "cannot publish to '" + shown + "': " + describe(error));
  }
  const std::uint32_t limit = max_payload_.load();
  if (payload.size() > limit) {
    return failed(ClientStatus::payload_too_large,
                  "cannot publish " + std::to_string(payload.size()) +
                      " bytes: the broker's limit (max_payload) is " + std::to_string(limit) +
                      " bytes");
  }
  const std::size_t size = subject.size() + payload.size();
  {
    std::unique_lock lock(mutex_);
    const auto has_room = [&] {
      const std::size_t pending = queued_publish_bytes_ + unsent_bytes_;
      return state_ != State::ready || pending == 0 || pending + size <= config_.max_pending_bytes;
    };
    if (!has_room()) {
      // A message callback runs on the loop thread, the one that makes room: it cannot wait.
      const bool can_wait = config_.publish_timeout.count() > 0 && !thread_.loop().is_loop_thread();
      if (!can_wait || !changed_.wait_for(lock, config_.publish_timeout, has_room)) {
        return failed(ClientStatus::timeout,
                      "cannot publish: " + std::to_string(queued_publish_bytes_ + unsent_bytes_) +
                          " bytes already wait for the network (max_pending_bytes is " +
                          std::to_string(config_.max_pending_bytes) + ") and " +
                          (can_wait ? "no room came within " +
                                          std::to_string(config_.publish_timeout.count()) + " ms"
                                    : std::string("this call cannot wait for room")) +
                          "; the path is slower than the publisher");
      }
    }
    if (state_ == State::closed) return failed(ClientStatus::closed, "the client is closed");
    if (state_ != State::ready) {
      return failed(ClientStatus::not_connected,
                    "not connected to the broker (reconnecting); the message was not sent");
    }
    ++stats_.messages_out;
    stats_.bytes_out += payload.size();
    queued_publish_bytes_ += size;
  }
  SharedBuffer bytes = SharedBuffer::allocate(size);
  if (!bytes) {
    std::lock_guard lock(mutex_);
    queued_publish_bytes_ -= std::min(queued_publish_bytes_, size);
    return failed(ClientStatus::no_memory, "out of memory");
  }
  std::memcpy(bytes.mutable_data(), subject.data(), subject.size());
  if (!payload.empty()) {
    std::memcpy(bytes.mutable_data() + subject.size(), payload.data(), payload.size());
  }
  push(Op{Op::Kind::publish, std::move(bytes), static_cast<std::uint32_t>(subject.size()), 0});
  return {};
}

void ClientCore::update_unsent() {
  const std::size_t unsent =
      connection_ != nullptr && control_open_ ? connection_->unsent_bytes(kControlStreamId) : 0;
  bool fell = false;
  {
    std::lock_guard lock(mutex_);
    fell = unsent < unsent_bytes_;
    unsent_bytes_ = unsent;
  }
  if (fell) changed_.notify_all();
}

void ClientCore::on_stream_writable(quic::Connection &connection, std::int64_t stream_id) {
  if (&connection == connection_ && stream_id == kControlStreamId) update_unsent();
}

ClientResult ClientCore::flush(std::chrono::milliseconds timeout) {
  std::uint32_t id = 0;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::closed) return failed(ClientStatus::closed, "the client is closed");
    id = next_flush_id_++;
  }
  push(Op{Op::Kind::flush, {}, 0, id});
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout,
                    [&] { return flush_results_.count(id) != 0 || state_ == State::closed; });
  auto it = flush_results_.find(id);
  if (it != flush_results_.end()) {
    ClientResult result = std::move(it->second);
    flush_results_.erase(it);
    return result;
  }
  abandoned_flushes_.insert(id);  // its result may still come: not kept for anyone
  if (state_ == State::closed) return failed(ClientStatus::closed, "the client is closed");
  return failed(ClientStatus::timeout, "the broker did not confirm the flush within " +
                                           std::to_string(timeout.count()) + " ms");
}

void ClientCore::store_flush_result(std::uint32_t id, ClientResult result) {
  if (abandoned_flushes_.erase(id) == 0) flush_results_[id] = std::move(result);
}

void ClientCore::finish_flushes(ClientStatus status, const std::string &message) {
  {
    std::lock_guard lock(mutex_);
    for (auto &[token, flush_id] : pings_)
      store_flush_result(flush_id, failed(status, message));
  }
  pings_.clear();
  changed_.notify_all();
}

std::shared_ptr<Subscription> ClientCore::subscribe(std::string_view pattern,
                                                    const SubscribeOptions &options,
                                                    MessageCallback callback,
                                                    ClientResult &result) {
  if (SubjectError error = validate_pattern(pattern); error != SubjectError::ok) {
    result = failed(
        ClientStatus::invalid_pattern,
        "cannot subscribe to '" + std::string(pattern.substr(0, 64)) + "': " + describe(error));
    return nullptr;
  }
  if (options.local_queue_limit == 0) {
    result = failed(ClientStatus::invalid_argument, "local_queue_limit must be at least 1");
    return nullptr;
  }
  std::shared_ptr<Subscription> subscription;
  {
    std::lock_guard lock(mutex_);
    if (state_ == State::closed) {
      result = failed(ClientStatus::closed, "the client is closed");
      return nullptr;
    }
    // Ids are never reused within a client, so a late stream of an old subscription can never
    // be mistaken for a new one.
    const std::uint32_t id = next_subscription_id_++;
    subscription = std::shared_ptr<Subscription>(new Subscription(
        shared_from_this(), id, std::string(pattern), options, std::move(callback)));
    subscriptions_[id] = subscription;
  }
  push(Op{Op::Kind::subscribe, {}, 0, subscription->id()});
  result = {};
  return subscription;
}

void ClientCore::unsubscribe(std::uint32_t id) {
  {
    std::lock_guard lock(mutex_);
    if (subscriptions_.erase(id) == 0 || state_ == State::closed) return;
  }
  push(Op{Op::Kind::unsubscribe, {}, 0, id});
}

std::shared_ptr<Subscription> ClientCore::find(std::uint32_t id) {
  std::lock_guard lock(mutex_);
  auto it = subscriptions_.find(id);
  return it == subscriptions_.end() ? nullptr : it->second.lock();
}

void ClientCore::refuse_locally(std::uint32_t id, std::string_view why) {
  // The session checks what the broker would refuse (its announced max_subscriptions, for one)
  // before sending: for the application that is the broker's refusal, reported as one.
  end_subscription(id, ClientStatus::closed,
                   "the subscription was refused before it was sent: " + std::string(why),
                   /*refused=*/true);
}

void ClientCore::end_subscription(std::uint32_t id, ClientStatus status, std::string message,
                                  bool refused) {
  std::shared_ptr<Subscription> subscription;
  {
    std::lock_guard lock(mutex_);
    auto it = subscriptions_.find(id);
    if (it == subscriptions_.end()) return;
    subscription = it->second.lock();
    subscriptions_.erase(it);
  }
  stream_of_.erase(id);
  if (subscription) subscription->end(status, std::move(message), refused);
}

ClientStats ClientCore::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace flume
