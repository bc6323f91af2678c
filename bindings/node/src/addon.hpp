// The Node addon's shared pieces: per-environment state (each worker thread has its own) and the
// one way errors cross into JavaScript. The addon speaks only flume.h.
#pragma once

#include <flume/flume.h>
#include <napi.h>
#include <uv.h>

#include <functional>
#include <set>
#include <string>

namespace flume_node {

class Client;
class Subscription;
class Broker;

// What one Node environment (the main thread or a worker) holds: the constructors, the JavaScript
// factory that turns a FLUME_E* code into the right FlumeError subclass, and the live native
// objects, closed by the environment's clean-up hook if JavaScript did not close them.
struct Instance {
  Napi::FunctionReference client_ctor;
  Napi::FunctionReference subscription_ctor;
  Napi::FunctionReference broker_ctor;
  Napi::FunctionReference make_error;  // (code: number, message: string) => FlumeError
  std::set<Client *> clients;
  std::set<Subscription *> subscriptions;
  std::set<Broker *> brokers;
  uv_loop_t *loop = nullptr;
  bool shutting_down = false;
};

Instance &instance(Napi::Env env);

// A FlumeError (the subclass for `code`) carrying `message`, as a JavaScript value.
Napi::Value make_error(Napi::Env env, int code, const std::string &message);
// Throws the FlumeError for `code` with flume_last_error() (call it on the thread that failed).
[[noreturn]] void throw_last(Napi::Env env, int code);
[[noreturn]] void throw_error(Napi::Env env, int code, const std::string &message);

// A stats counter as a JavaScript number (exact up to 2^53, far beyond any counter's reach).
void set_u64(Napi::Object object, const char *name, uint64_t value);

// Arguments from JavaScript: anything of the wrong type is a FlumeError with FLUME_EINVAL.
std::string string_arg(const Napi::CallbackInfo &info, size_t i, const char *what);
// Bytes of a Uint8Array/Buffer/ArrayBuffer/DataView argument, or of a string as UTF-8 (in `keep`).
struct Bytes {
  const void *data = nullptr;
  size_t size = 0;
  std::string keep;
};
Bytes bytes_arg(Napi::Env env, Napi::Value value, const char *what);

// Options objects: missing or undefined fields are the default (0 in the C structs).
int int_option(Napi::Object options, const char *name, int fallback, int min, int max);
double number_option(Napi::Object options, const char *name, double fallback, double min,
                     double max);
bool bool_option(Napi::Object options, const char *name, bool fallback);
// A string option (empty if absent).
std::string string_option(Napi::Object options, const char *name);

// A promise settled from an AsyncWorker: the call runs on libuv's thread pool and returns a
// flume code; after a failure its flume_last_error() is read on that same thread.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<int()>;
  using Done = std::function<Napi::Value(Napi::Env)>;
  PromiseWorker(Napi::Env env, const char *name, Work work, Done done);
  Napi::Promise promise() { return deferred_.Promise(); }
  // Queues the work and returns its promise; `owner` (the object whose handle the work uses, if
  // any) is kept from being collected until the work is done.
  static Napi::Promise run(Napi::Env env, const char *name, Napi::Value owner, Work work,
                           Done done = nullptr);
  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error &) override {}

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;
  Work work_;
  Done done_;
  int code_ = 0;
  std::string error_;
};

void init_client(Napi::Env env, Napi::Object exports);
void init_subscription(Napi::Env env, Napi::Object exports);
void init_broker(Napi::Env env, Napi::Object exports);

}  // namespace flume_node
