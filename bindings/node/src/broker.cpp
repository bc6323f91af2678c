// Broker: the embedded broker (flume_broker_start), on its own loop thread. Starting and stopping
// wait, so they run on libuv's thread pool behind promises.
#include <thread>

#include "classes.hpp"

namespace flume_node {

Broker::Broker(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Broker>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(env, "flume: Broker is made by Broker.start()");
  }
  broker_ = info[0].As<Napi::External<flume_broker>>().Data();
  Instance &in = instance(env);
  keep_alive_ = new KeepAlive(in.loop);
  in.brokers.insert(this);
}

Broker::~Broker() {
  instance(Env()).brokers.erase(this);
  if (broker_ != nullptr) {
    flume_broker *b = broker_;
    broker_ = nullptr;
    std::thread([b] { flume_broker_stop(b); }).detach();
  }
  delete keep_alive_;
}

void Broker::stop_now() {
  if (broker_ != nullptr) {
    flume_broker_stop(broker_);
    broker_ = nullptr;
  }
  if (keep_alive_ != nullptr) {
    keep_alive_->close();
  }
}

void cleanup_brokers(Instance &in) {
  std::set<Broker *> all = in.brokers;
  for (Broker *b : all) {
    b->stop_now();
  }
}

static flume_broker *checked(Napi::Env env, flume_broker *b, bool stopping) {
  if (b == nullptr || stopping) {
    throw_error(env, FLUME_ECLOSED, "the broker is stopped");
  }
  return b;
}

Napi::Value Broker::info(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  flume_broker *b = checked(env, broker_, stopping_);
  Napi::Object o = Napi::Object::New(env);
  o.Set("port", Napi::Number::New(env, flume_broker_port(b)));
  o.Set("address", Napi::String::New(env, flume_broker_address(b)));
  o.Set("certificatePath", Napi::String::New(env, flume_broker_certificate_path(b)));
  o.Set("fingerprint", Napi::String::New(env, flume_broker_fingerprint(b)));
  return o;
}

Napi::Value Broker::stop(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (broker_ == nullptr || stopping_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  stopping_ = true;
  flume_broker *b = broker_;
  return PromiseWorker::run(
      env, "flume.broker.stop", Value(),
      [b]() {
        flume_broker_stop(b);
        return 0;
      },
      [this](Napi::Env e) {
        broker_ = nullptr;
        if (keep_alive_ != nullptr) {
          keep_alive_->close();
        }
        return e.Undefined();
      });
}

Napi::Value Broker::stats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  flume_broker *b = checked(env, broker_, stopping_);
  auto s = std::make_shared<flume_broker_stats>();
  flume_broker_stats_init(s.get(), sizeof *s);
  return PromiseWorker::run(
      env, "flume.broker.stats", Value(), [b, s]() { return flume_broker_get_stats(s.get(), b); },
      [s](Napi::Env e) -> Napi::Value {
        Napi::Object o = Napi::Object::New(e);
        set_u64(o, "connections", s->connections);
        set_u64(o, "subscriptions", s->subscriptions);
        set_u64(o, "messagesIn", s->messages_in);
        set_u64(o, "bytesIn", s->bytes_in);
        set_u64(o, "messagesOut", s->messages_out);
        set_u64(o, "bytesOut", s->bytes_out);
        set_u64(o, "messagesUnmatched", s->messages_unmatched);
        set_u64(o, "publishesInvalid", s->publishes_invalid);
        set_u64(o, "droppedOldest", s->dropped_oldest);
        set_u64(o, "droppedNewest", s->dropped_newest);
        set_u64(o, "droppedSlowConsumer", s->dropped_slow_consumer);
        set_u64(o, "queuedMessages", s->queued_messages);
        set_u64(o, "queuedBytes", s->queued_bytes);
        set_u64(o, "memoryBudgetBytes", s->memory_budget_bytes);
        return o;
      });
}

Napi::Value Broker::ref(const Napi::CallbackInfo &info) {
  if (keep_alive_ != nullptr) {
    keep_alive_->ref(info.Length() > 0 && info[0].ToBoolean().Value());
  }
  return info.Env().Undefined();
}

Napi::Function Broker::define(Napi::Env env) {
  return DefineClass(env, "NativeBroker",
                     {
                         InstanceMethod<&Broker::stop>("stop"),
                         InstanceMethod<&Broker::stats>("stats"),
                         InstanceMethod<&Broker::info>("info"),
                         InstanceMethod<&Broker::ref>("ref"),
                     });
}

// startBroker(options) -> Promise<NativeBroker>
static Napi::Value start(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  Napi::Object opts =
      info.Length() > 0 && info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object();
  struct Strings {
    std::string listen, cert, key, data_dir;
  };
  auto st = std::make_shared<Strings>();
  st->listen = string_option(opts, "listen");
  st->cert = string_option(opts, "certFile");
  st->key = string_option(opts, "keyFile");
  st->data_dir = string_option(opts, "dataDir");
  auto o = std::make_shared<flume_broker_options>();
  flume_broker_options_init(o.get(), sizeof *o);
  o->max_payload =
      static_cast<uint32_t>(number_option(opts, "maxPayload", 0, 0, FLUME_HARD_MAX_PAYLOAD));
  o->max_connections =
      static_cast<uint32_t>(number_option(opts, "maxConnections", 0, 0, 4294967295.0));
  o->max_subscriptions =
      static_cast<uint32_t>(number_option(opts, "maxSubscriptions", 0, 0, 4294967295.0));
  o->queue_limit = static_cast<uint32_t>(number_option(opts, "queueLimit", 0, 0, 4294967295.0));
  o->max_pending_bytes =
      static_cast<uint64_t>(number_option(opts, "maxPendingBytes", 0, 0, 9007199254740991.0));
  o->shutdown_grace_ms = int_option(opts, "shutdownGrace", 0, -2, 1 << 30);
  o->max_memory_bytes =
      static_cast<uint64_t>(number_option(opts, "maxMemoryBytes", 0, 0, 9007199254740991.0));
  auto out = std::make_shared<flume_broker *>(nullptr);
  return PromiseWorker::run(
      env, "flume.broker.start", env.Undefined(),
      [st, o, out]() {
        if (!st->listen.empty()) o->listen = st->listen.c_str();
        o->cert_file = st->cert.empty() ? nullptr : st->cert.c_str();
        o->key_file = st->key.empty() ? nullptr : st->key.c_str();
        o->data_dir = st->data_dir.empty() ? nullptr : st->data_dir.c_str();
        return flume_broker_start(out.get(), o.get());
      },
      [out](Napi::Env e) -> Napi::Value {
        Instance &in = instance(e);
        if (in.shutting_down) {
          flume_broker_stop(*out);
          return e.Undefined();
        }
        return in.broker_ctor.New({Napi::External<flume_broker>::New(e, *out)});
      });
}

void init_broker(Napi::Env env, Napi::Object exports) {
  instance(env).broker_ctor = Napi::Persistent(Broker::define(env));
  exports.Set("startBroker", Napi::Function::New(env, start, "startBroker"));
}

}  // namespace flume_node
