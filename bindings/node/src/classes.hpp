// The three native classes behind lib/index.js: Client, Subscription, Broker. JavaScript never
// sees them directly; lib/ wraps each in the public class of the same name.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "addon.hpp"

namespace flume_node {

// A libuv handle that does nothing but keep the event loop alive while an object is open (a
// connected client, a running broker), like a socket does; unref() lets the process exit anyway.
class KeepAlive {
 public:
  explicit KeepAlive(uv_loop_t *loop);
  ~KeepAlive();
  void ref(bool on);
  void close();

 private:
  uv_async_t *handle_ = nullptr;
};

class Client : public Napi::ObjectWrap<Client> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit Client(const Napi::CallbackInfo &info);
  ~Client() override;

  flume_client *handle() const { return client_; }
  // Closes at once on this thread (the environment is going away).
  void close_now();

 private:
  struct Pending {
    std::string subject;
    std::vector<uint8_t> payload;
  };

  Napi::Value publish(const Napi::CallbackInfo &info);
  Napi::Value backlog(const Napi::CallbackInfo &info);
  Napi::Value set_drain_callback(const Napi::CallbackInfo &info);
  Napi::Value subscribe(const Napi::CallbackInfo &info);
  Napi::Value flush(const Napi::CallbackInfo &info);
  Napi::Value close(const Napi::CallbackInfo &info);
  Napi::Value stats(const Napi::CallbackInfo &info);
  Napi::Value max_payload(const Napi::CallbackInfo &info);
  Napi::Value ref(const Napi::CallbackInfo &info);
  Napi::Value is_closed(const Napi::CallbackInfo &info);

  void start_backlog_worker(Napi::Env env);
  // The backlog worker's loop, on a pool thread: publishes what waits, in order, and waits for
  // room with flush() when libflume's own queue is full. Returns 0 or the error that ended it.
  int drain_backlog(std::string &error);
  // Waits until no backlog worker runs (on a pool thread, before flume_client_close()).
  void wait_backlog_idle();

  friend class BacklogWorker;

  flume_client *client_ = nullptr;  // null once close() was called: what JavaScript calls see
  flume_client *handle_ = nullptr;  // the handle until it is freed: what the backlog worker uses
  KeepAlive *keep_alive_ = nullptr;
  int publish_timeout_ms_ = FLUME_DEFAULT_PUBLISH_TIMEOUT_MS;
  size_t max_backlog_bytes_ = FLUME_DEFAULT_MAX_PENDING_BYTES;
  Napi::FunctionReference on_drain_;

  std::mutex mu_;
  std::condition_variable idle_;
  std::deque<Pending> backlog_;
  size_t backlog_bytes_ = 0;
  bool worker_running_ = false;
  bool closing_ = false;
};

class Subscription : public Napi::ObjectWrap<Subscription> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit Subscription(const Napi::CallbackInfo &info);
  ~Subscription() override;

  // Frees everything at once on this thread (close(), the finalizer, the environment's end).
  void free_now();

 private:
  Napi::Value start(const Napi::CallbackInfo &info);
  Napi::Value pause(const Napi::CallbackInfo &info);
  Napi::Value resume(const Napi::CallbackInfo &info);
  Napi::Value unsubscribe(const Napi::CallbackInfo &info);
  Napi::Value close(const Napi::CallbackInfo &info);
  Napi::Value wait_ready(const Napi::CallbackInfo &info);
  Napi::Value stats(const Napi::CallbackInfo &info);
  Napi::Value id(const Napi::CallbackInfo &info);
  Napi::Value ref(const Napi::CallbackInfo &info);

  static void on_readable(uv_poll_t *handle, int status, int events);
  // One wake-up: takes one batch and hands it to JavaScript, or reports the end.
  void deliver();
  void end(int code, const std::string &why);
  void stop_polling();
  void set_polling(bool on);

  flume_subscription *sub_ = nullptr;
  Napi::ObjectReference client_;  // the client object stays alive while this one is open
  Napi::FunctionReference on_batch_;
  Napi::AsyncContext *async_context_ = nullptr;
  uv_poll_t *poll_ = nullptr;
  bool polling_ = false;  // the poll handle is started
  bool paused_ = false;   // JavaScript asked for no more batches for now
  bool ended_ = false;
  bool self_ref_ = false;  // this object holds a reference to itself while it polls
  bool unref_ = false;
};

class Broker : public Napi::ObjectWrap<Broker> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit Broker(const Napi::CallbackInfo &info);
  ~Broker() override;
  void stop_now();

 private:
  Napi::Value stop(const Napi::CallbackInfo &info);
  Napi::Value stats(const Napi::CallbackInfo &info);
  Napi::Value info(const Napi::CallbackInfo &info);
  Napi::Value ref(const Napi::CallbackInfo &info);

  flume_broker *broker_ = nullptr;
  KeepAlive *keep_alive_ = nullptr;
  bool stopping_ = false;
};

}  // namespace flume_node
