// flume_facade.cpp: the C++ facade the Java binding is generated from (see flume_facade.hpp).
#include "flume_facade.hpp"

#include <algorithm>
#include <mutex>

namespace flume_java {

std::atomic<int64_t> LiveCounts::clients{0};
std::atomic<int64_t> LiveCounts::subscriptions{0};
std::atomic<int64_t> LiveCounts::brokers{0};
std::atomic<int64_t> LiveCounts::messages{0};

namespace {

// Throws for a negative result, with this thread's flume_last_error() read before anything else
// can overwrite it.
int check(int result) {
  if (result < 0) throw Error(result, flume_last_error());
  return result;
}

[[noreturn]] void throwClosed(const char *what) {
  throw Error(FLUME_ECLOSED, std::string(what) + " is closed");
}

const char *orNull(const std::string &s) {
  return s.empty() ? nullptr : s.c_str();
}

}  // namespace

int versionNumber() {
  return flume_version_number();
}
std::string version() {
  return flume_version();
}
std::string errorName(int code) {
  return flume_error_name(code);
}
void validateSubject(const char *subject, size_t subject_length) {
  check(flume_subject_validate(subject, subject_length));
}
void validatePattern(const char *pattern, size_t pattern_length) {
  check(flume_pattern_validate(pattern, pattern_length));
}

Message::Message(flume_message *message) : message_(message) {
  LiveCounts::messages++;
  flume_message *one[1] = {message_};
  view_.struct_size = sizeof view_;
  check(flume_message_views(&view_, sizeof view_, one, 1));
}

Message::~Message() {
  flume_message_free(message_);
  LiveCounts::messages--;
}

Bytes Message::subject() const {
  return {view_.subject, view_.subject_length};
}
Bytes Message::payload() const {
  return {view_.payload, view_.payload_length};
}

namespace {

constexpr size_t kMaxBatch = 64;
constexpr size_t kBatchBytes = size_t{4} << 20;

template <typename T>
void put(std::string &out, T value) {
  // Little-endian on every platform Flume builds for (x86-64, aarch64); Java reads it so.
  out.append(reinterpret_cast<const char *>(&value), sizeof value);
}

void pack(std::string &out, const flume_message_view &v) {
  put<int32_t>(out, v.kind);
  put<int64_t>(out, static_cast<int64_t>(v.sequence));
  put<int32_t>(out, static_cast<int32_t>(v.subject_length));
  put<int32_t>(out, static_cast<int32_t>(v.payload_length));
  if (v.kind == FLUME_MESSAGE_GAP) {
    put<int64_t>(out, static_cast<int64_t>(v.gap_dropped_by_broker));
    put<int64_t>(out, static_cast<int64_t>(v.gap_dropped_locally));
    put<int32_t>(out, v.gap_resubscribed != 0 ? 1 : 0);
    put<int64_t>(out, static_cast<int64_t>(v.gap_disconnected_ms));
  }
  out.append(v.subject, v.subject_length);
  if (v.payload_length) out.append(static_cast<const char *>(v.payload), v.payload_length);
}

}  // namespace

Subscription::Subscription(flume_subscription *handle, uint32_t max_payload)
    : handle_(handle),
      batch_capacity_(
          std::clamp<size_t>(kBatchBytes / std::max<size_t>(max_payload, 1), 1, kMaxBatch)) {
  LiveCounts::subscriptions++;
}

Subscription::~Subscription() {
  close();
}

int64_t Subscription::id() {
  std::shared_lock lock(mutex_);
  return handle_ ? flume_subscription_id(handle_) : 0;
}

bool Subscription::waitReady(int timeout_ms) {
  std::shared_lock lock(mutex_);
  if (!handle_) throwClosed("the subscription");
  int result = flume_subscription_wait_ready(handle_, timeout_ms);
  if (result == FLUME_EAGAIN) return false;
  check(result);
  return true;
}

Message *Subscription::recv(int timeout_ms) {
  std::shared_lock lock(mutex_);
  if (!handle_) throwClosed("the subscription");
  flume_message *message = nullptr;
  int result = flume_subscription_recv(&message, handle_, timeout_ms);
  if (result == FLUME_EAGAIN) return nullptr;
  check(result);
  return new Message(message);
}

Packed Subscription::recvPacked(int timeout_ms) {
  std::shared_lock lock(mutex_);
  if (!handle_) throwClosed("the subscription");
  flume_message *messages[kMaxBatch] = {};
  size_t count = 0;
  int result =
      flume_subscription_recv_batch(messages, batch_capacity_, &count, handle_, timeout_ms);
  Packed packed;
  if (result == FLUME_EAGAIN) return packed;
  check(result);
  flume_message_view views[kMaxBatch];
  for (size_t i = 0; i < count; i++)
    views[i].struct_size = sizeof views[i];
  int viewed = flume_message_views(views, sizeof views[0], messages, count);
  if (viewed < 0) {
    flume_message_free_batch(messages, count);
    check(viewed);
  }
  size_t bytes = 0;
  for (size_t i = 0; i < count; i++)
    bytes += 64 + views[i].subject_length + views[i].payload_length;
  try {
    packed.data.reserve(bytes);
    for (size_t i = 0; i < count; i++)
      pack(packed.data, views[i]);
  } catch (...) {
    flume_message_free_batch(messages, count);
    throw;
  }
  flume_message_free_batch(messages, count);
  return packed;
}

void Subscription::unsubscribe() {
  std::shared_lock lock(mutex_);
  if (handle_) check(flume_subscription_unsubscribe(handle_));
}

SubscriptionStats Subscription::stats() {
  std::shared_lock lock(mutex_);
  if (!handle_) throwClosed("the subscription");
  flume_subscription_stats s = FLUME_SUBSCRIPTION_STATS_INIT;
  check(flume_subscription_get_stats(&s, handle_));
  SubscriptionStats out;
  out.received = static_cast<int64_t>(s.received);
  out.droppedByBroker = static_cast<int64_t>(s.dropped_by_broker);
  out.droppedLocally = static_cast<int64_t>(s.dropped_locally);
  out.queued = static_cast<int64_t>(s.queued);
  out.resubscribed = static_cast<int64_t>(s.resubscribed);
  out.state = s.state;
  return out;
}

void Subscription::close() {
  {
    // Wakes a recv blocked on another thread (it returns FLUME_ECLOSED once the queue is empty),
    // so the exclusive lock below is not held up by a wait of unbounded length.
    std::shared_lock lock(mutex_);
    if (!handle_) return;
    flume_subscription_unsubscribe(handle_);
  }
  std::unique_lock lock(mutex_);
  if (!handle_) return;
  flume_subscription_free(handle_);
  handle_ = nullptr;
  LiveCounts::subscriptions--;
}

Client::Client(const std::string &url, const ClientOptions &options) {
  flume_client_options o = FLUME_CLIENT_OPTIONS_INIT;
  o.client_name = options.clientName.empty() ? "flume-java" : options.clientName.c_str();
  o.server_name = orNull(options.serverName);
  o.ca_file = orNull(options.caFile);
  o.pin_sha256 = orNull(options.pinSha256);
  o.insecure = options.insecure ? FLUME_ON : 0;
  if (!options.token.empty()) {
    o.token = options.token.data();
    o.token_length = options.token.size();
  }
  o.reconnect = options.reconnect ? FLUME_ON : FLUME_OFF;
  if (options.connectTimeoutMs != 0) o.connect_timeout_ms = options.connectTimeoutMs;
  if (options.publishTimeoutMs != 0) o.publish_timeout_ms = options.publishTimeoutMs;
  if (options.keepAliveMs != 0) o.keep_alive_ms = options.keepAliveMs;
  if (options.maxPendingBytes < 0)
    throw Error(FLUME_EINVAL, "maxPendingBytes must not be negative");
  if (options.maxPendingBytes != 0)
    o.max_pending_bytes = static_cast<size_t>(options.maxPendingBytes);
  check(flume_client_connect(&handle_, url.c_str(), &o));
  LiveCounts::clients++;
}

Client::~Client() {
  close();
}

void Client::publish(const char *subject, size_t subject_length, const char *data, size_t length) {
  std::shared_lock lock(mutex_);
  if (!handle_) throwClosed("the client");
  check(flume_client_publish(handle_, subject, subject_length, data, length));
}

void Client::flush(int timeout_ms) {
  std::shared_lock lock(mutex_);
  if (!handle_) throwClosed("the client");
  check(flume_client_flush(handle_, timeout_ms));
}

namespace {

// flume_message_handler.call: hands the view, copied into a Message, to the Java handler.
// Nothing may leave it: an exception would unwind into libflume's loop thread. The Java side
// catches what a handler throws; this catches what could come from SWIG's director upcall.
void callHandler(void *context, const flume_message_view *view) noexcept {
  flume_message *copy = nullptr;
  if (flume_message_copy(&copy, view) < 0) return;  // out of memory: counted nowhere, as in C
  try {
    Message message(copy);
    static_cast<MessageHandler *>(context)->onMessage(message);
  } catch (...) {
  }
}

// flume_message_handler.drop: after the last call; the director's Java object may go now.
void dropHandler(void *context) noexcept {
  delete static_cast<MessageHandler *>(context);
}

}  // namespace

Subscription *Client::subscribe(const char *pattern, size_t pattern_length,
                                const SubscriptionOptions &options) {
  return subscribeWithHandler(pattern, pattern_length, options, nullptr);
}

Subscription *Client::subscribeWithHandler(const char *pattern, size_t pattern_length,
                                           const SubscriptionOptions &options,
                                           MessageHandler *handler) {
  std::shared_lock lock(mutex_);
  if (!handle_) throwClosed("the client");
  flume_subscription_options o = FLUME_SUBSCRIPTION_OPTIONS_INIT;
  o.overflow_policy = options.overflowPolicy;
  if (options.queueLimit < 0 || options.localQueueLimit < 0) {
    throw Error(FLUME_EINVAL, "queue limits must not be negative");
  }
  o.queue_limit = static_cast<uint32_t>(options.queueLimit);
  if (options.localQueueLimit != 0)
    o.local_queue_limit = static_cast<size_t>(options.localQueueLimit);
  o.report_gaps = options.reportGaps ? FLUME_ON : 0;
  flume_subscription *handle = nullptr;
  flume_message_handler h{handler, callHandler, dropHandler};
  check(flume_client_subscribe(&handle, handle_, pattern, pattern_length, &o,
                               handler ? &h : nullptr));
  return new Subscription(handle, flume_client_max_payload(handle_));
}

int64_t Client::maxPayload() {
  std::shared_lock lock(mutex_);
  return handle_ ? flume_client_max_payload(handle_) : 0;
}

ClientStats Client::stats() {
  std::shared_lock lock(mutex_);
  if (!handle_) throwClosed("the client");
  flume_client_stats s = FLUME_CLIENT_STATS_INIT;
  check(flume_client_get_stats(&s, handle_));
  ClientStats out;
  out.messagesOut = static_cast<int64_t>(s.messages_out);
  out.bytesOut = static_cast<int64_t>(s.bytes_out);
  out.messagesIn = static_cast<int64_t>(s.messages_in);
  out.bytesIn = static_cast<int64_t>(s.bytes_in);
  out.droppedByBroker = static_cast<int64_t>(s.dropped_by_broker);
  out.reconnects = static_cast<int64_t>(s.reconnects);
  out.publishErrors = static_cast<int64_t>(s.publish_errors);
  out.connected = s.connected != 0;
  return out;
}

void Client::close() {
  // Calls in progress on other threads finish first; a publish waits at most publish_timeout_ms.
  // Subscriptions blocked in recv are not behind this lock: closing the client ends them.
  std::unique_lock lock(mutex_);
  if (!handle_) return;
  flume_client_close(handle_);
  handle_ = nullptr;
  LiveCounts::clients--;
}

Broker::Broker(const BrokerOptions &options) {
  flume_broker_options o = FLUME_BROKER_OPTIONS_INIT;
  if (!options.listen.empty()) o.listen = options.listen.c_str();
  o.cert_file = orNull(options.certFile);
  o.key_file = orNull(options.keyFile);
  o.data_dir = orNull(options.dataDir);
  if (options.maxPayload < 0 || options.maxConnections < 0 || options.maxSubscriptions < 0 ||
      options.queueLimit < 0) {
    throw Error(FLUME_EINVAL, "broker limits must not be negative");
  }
  if (options.maxPayload) o.max_payload = static_cast<uint32_t>(options.maxPayload);
  if (options.maxConnections) o.max_connections = static_cast<uint32_t>(options.maxConnections);
  if (options.maxSubscriptions) {
    o.max_subscriptions = static_cast<uint32_t>(options.maxSubscriptions);
  }
  if (options.queueLimit) o.queue_limit = static_cast<uint32_t>(options.queueLimit);
  if (options.shutdownGraceMs) o.shutdown_grace_ms = options.shutdownGraceMs;
  check(flume_broker_start(&handle_, &o));
  LiveCounts::brokers++;
}

Broker::~Broker() {
  stop();
}

int Broker::port() {
  std::shared_lock lock(mutex_);
  return handle_ ? flume_broker_port(handle_) : 0;
}

std::string Broker::address() {
  std::shared_lock lock(mutex_);
  return handle_ ? flume_broker_address(handle_) : "";
}

std::string Broker::certificatePath() {
  std::shared_lock lock(mutex_);
  return handle_ ? flume_broker_certificate_path(handle_) : "";
}

std::string Broker::fingerprint() {
  std::shared_lock lock(mutex_);
  return handle_ ? flume_broker_fingerprint(handle_) : "";
}

void Broker::stop() {
  std::unique_lock lock(mutex_);
  if (!handle_) return;
  flume_broker_stop(handle_);
  handle_ = nullptr;
  LiveCounts::brokers--;
}

}  // namespace flume_java
