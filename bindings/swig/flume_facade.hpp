// flume_facade.hpp: a thin C++ layer over flume.h for SWIG, so that the generated Java is a few
// plain classes (handles with close(), plain option records, exceptions) and no SWIGTYPE_p_*.
//
// What it adds to the C ABI, and why:
//   - RAII: each handle is freed by its destructor, so a Java object the program forgot to close
//     is still freed (SWIG's finalizer path), and a close()d one is freed at once.
//   - Exceptions: a negative FLUME_E* code becomes flume_java::Error (code and flume_last_error()),
//     which the .i turns into io.flume.FlumeException on the calling thread.
//   - A guard against "a call racing the call that frees the handle", which flume.h forbids but a
//     Java program does as a matter of course (close() on one thread, next() blocking on another):
//     calls hold a shared lock, close() takes it exclusively after waking every blocked call.
//   - Counts of live native objects, so the tests can prove that nothing leaks.
#pragma once

#include <flume/flume.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <shared_mutex>
#include <string>

namespace flume_java {

// A failed flume_ call: the FLUME_E* code and what flume_last_error() said on the failing thread.
class Error : public std::exception {
 public:
  Error(int code, std::string message) : code_(code), message_(std::move(message)) {}
  int code() const { return code_; }
  const char *what() const noexcept override { return message_.c_str(); }

 private:
  int code_;
  std::string message_;
};

// Borrowed bytes handed to Java, which copies them into a byte[] at once (see the .i typemap).
struct Bytes {
  const void *data = nullptr;
  size_t size = 0;
};

// Several messages packed into one buffer that Java copies into one byte[] (see the .i typemap and
// io.flume.Subscription), so that a burst costs one JNI crossing, not one per message and field.
// Per message, little-endian: int32 kind, int64 sequence, int32 subject length, int32 payload
// length, for a gap item int64 dropped by broker, int64 dropped locally, int32 resubscribed,
// int64 disconnected ms; then the subject and payload bytes. Empty: no message came in time.
struct Packed {
  std::string data;
};

// Live native objects of each kind, for leak tests: each constructor adds one, each free takes it.
struct LiveCounts {
  static std::atomic<int64_t> clients, subscriptions, brokers, messages;
};
inline int64_t liveClients() {
  return LiveCounts::clients.load();
}
inline int64_t liveSubscriptions() {
  return LiveCounts::subscriptions.load();
}
inline int64_t liveBrokers() {
  return LiveCounts::brokers.load();
}
inline int64_t liveMessages() {
  return LiveCounts::messages.load();
}

int versionNumber();
std::string version();
std::string errorName(int code);
void validateSubject(const char *subject, size_t subject_length);
void validatePattern(const char *pattern, size_t pattern_length);

// Client options, as flume_client_options with strings owned. Zero means the default throughout,
// as in the C struct (flume.h: "Option structs").
struct ClientOptions {
  std::string clientName, serverName, caFile, pinSha256, token;
  void setTokenBytes(const char *data, size_t length) { token.assign(data, length); }
  bool insecure = false;
  bool reconnect = true;
  int connectTimeoutMs = 0;
  int publishTimeoutMs = 0;
  int keepAliveMs = 0;
  int64_t maxPendingBytes = 0;
};

struct SubscriptionOptions {
  int overflowPolicy = 0;  // FLUME_OVERFLOW_*
  int queueLimit = 0;
  int64_t localQueueLimit = 0;
  bool reportGaps = false;
};

struct BrokerOptions {
  std::string listen, certFile, keyFile, dataDir;
  int maxPayload = 0;
  int maxConnections = 0;
  int maxSubscriptions = 0;
  int queueLimit = 0;
  int shutdownGraceMs = 0;
};

// One received message or gap item, owning its flume_message.
class Message {
 public:
  explicit Message(flume_message *message);
  ~Message();
  Message(const Message &) = delete;
  Message &operator=(const Message &) = delete;

  Bytes subject() const;
  Bytes payload() const;
  int64_t sequence() const { return static_cast<int64_t>(view_.sequence); }
  int64_t subscriptionId() const { return view_.subscription_id; }
  bool isGap() const { return view_.kind == FLUME_MESSAGE_GAP; }
  int64_t gapDroppedByBroker() const { return static_cast<int64_t>(view_.gap_dropped_by_broker); }
  int64_t gapDroppedLocally() const { return static_cast<int64_t>(view_.gap_dropped_locally); }
  bool gapResubscribed() const { return view_.gap_resubscribed != 0; }
  int64_t gapDisconnectedMs() const { return static_cast<int64_t>(view_.gap_disconnected_ms); }

 private:
  flume_message *message_;
  flume_message_view view_{};
};

// The callback form: a SWIG director, so Java subclasses it (io.flume.Client.subscribe with a
// handler). onMessage runs on the client's loop thread, one call at a time for all of the client's
// subscriptions; the message is the handler's only during the call. The subscription owns its
// handler from subscribe() on and deletes it in flume.h's drop, after the last call.
class MessageHandler {
 public:
  virtual ~MessageHandler() = default;
  virtual void onMessage(Message &message) = 0;
};

struct SubscriptionStats {
  int64_t received = 0, droppedByBroker = 0, droppedLocally = 0, queued = 0, resubscribed = 0;
  int state = 0;
};

class Subscription {
 public:
  // `max_payload`: the client's payload limit, which bounds a packed batch.
  Subscription(flume_subscription *handle, uint32_t max_payload);
  ~Subscription();
  Subscription(const Subscription &) = delete;
  Subscription &operator=(const Subscription &) = delete;

  int64_t id();
  // Waits for the broker's answer: true once accepted, false if none came in time; throws for a
  // refusal (FLUME_EREJECTED) or an end (FLUME_ECLOSED).
  bool waitReady(int timeout_ms);
  // The next message, or nullptr if none came within timeout_ms; throws FLUME_ECLOSED once the
  // subscription has ended and everything queued was taken.
  Message *recv(int timeout_ms);
  // Like recv, but takes every message already queued too, up to what fits a bounded batch
  // (about 4 MiB at the broker's payload limit), packed (see Packed); empty if none came in time.
  Packed recvPacked(int timeout_ms);
  void unsubscribe();
  SubscriptionStats stats();
  void close();

 private:
  std::shared_mutex mutex_;
  flume_subscription *handle_;
  size_t batch_capacity_;
};

struct ClientStats {
  int64_t messagesOut = 0, bytesOut = 0, messagesIn = 0, bytesIn = 0, droppedByBroker = 0,
          reconnects = 0, publishErrors = 0;
  bool connected = false;
};

class Client {
 public:
  Client(const std::string &url, const ClientOptions &options);
  ~Client();
  Client(const Client &) = delete;
  Client &operator=(const Client &) = delete;

  void publish(const char *subject, size_t subject_length, const char *data, size_t length);
  void flush(int timeout_ms);
  Subscription *subscribe(const char *pattern, size_t pattern_length,
                          const SubscriptionOptions &options);
  // A handler subscription; takes ownership of `handler` if it succeeds (not if it throws).
  Subscription *subscribeWithHandler(const char *pattern, size_t pattern_length,
                                     const SubscriptionOptions &options, MessageHandler *handler);
  int64_t maxPayload();
  ClientStats stats();
  void close();

 private:
  std::shared_mutex mutex_;
  flume_client *handle_ = nullptr;
};

class Broker {
 public:
  explicit Broker(const BrokerOptions &options);
  ~Broker();
  Broker(const Broker &) = delete;
  Broker &operator=(const Broker &) = delete;

  int port();
  std::string address();
  std::string certificatePath();
  std::string fingerprint();
  void stop();

 private:
  std::shared_mutex mutex_;
  flume_broker *handle_ = nullptr;
};

}  // namespace flume_java
